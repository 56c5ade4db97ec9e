// The record ids a store holds, as a Bloom filter in memory: almost every record offered
// to a ledger node is new, and the filter says so without a LevelDB lookup (memtable and
// every level's table index). No false negatives; about 1 % false positives, which only
// cost the lookup. It grows by segments of 2^18 ids (320 KiB each), never rebuilt.
//
// Ids are SHA-256 digests, so their bytes serve as the hashes. A peer that grinds ids to
// fill the filter's bits gains lookups, nothing more.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "chain/hash.hpp"

namespace nexus::chain {

class id_filter {
public:
  void add(const digest& id) {
    if (segments_.empty() || segments_.back().count == per_segment)
      segments_.emplace_back();
    auto& s = segments_.back();
    probe(id, [&](uint64_t bit) { s.words[bit / 64] |= uint64_t{1} << (bit % 64); });
    ++s.count;
  }

  bool may_contain(const digest& id) const {
    for (const auto& s : segments_) {
      bool all = true;
      probe(id, [&](uint64_t bit) { all = all && (s.words[bit / 64] >> (bit % 64)) & 1; });
      if (all)
        return true;
    }
    return false;
  }

  void clear() noexcept {
    segments_.clear();
  }

private:
  static constexpr uint64_t per_segment = uint64_t{1} << 18;
  static constexpr uint64_t bits = per_segment * 10; // 10 bits an id
  static constexpr int probes = 7;

  struct segment {
    std::vector<uint64_t> words = std::vector<uint64_t>(bits / 64);
    uint64_t count = 0;
  };

  // Double hashing from the digest's first 16 bytes.
  template <class F>
  static void probe(const digest& id, F&& f) {
    uint64_t h1 = 0, h2 = 0;
    std::memcpy(&h1, id.data(), sizeof h1);
    std::memcpy(&h2, id.data() + sizeof h1, sizeof h2);
    h2 |= 1;
    for (int i = 0; i < probes; ++i)
      f((h1 + static_cast<uint64_t>(i) * h2) % bits);
  }

  std::vector<segment> segments_;
};

} // namespace nexus::chain
