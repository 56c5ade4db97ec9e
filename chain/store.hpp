// The ledger's store: blocks by height, transactions by id, balances and each account's
// history, in LevelDB.
//
// One writer. Each block and all its effects (its transactions' index entries, the
// balances it changes, the new head) go in one synced WriteBatch, so a crash leaves
// either the whole block or none of it. Opening a store checks that the head it records
// is a block that is there and has that hash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "chain/block.hpp"

namespace leveldb {
class DB;
}

namespace nexus::chain {

/// Balance changes a block makes: account -> delta in micro-MCC.
using balance_deltas = std::map<std::string, int64_t>;

struct head_info {
  uint64_t height = 0; // of the last block; meaningful only if `blocks` > 0
  digest hash{};
  uint64_t blocks = 0;
};

class store {
public:
  /// Opens (creating if absent) the store in `dir`; errc::corrupted if its head is not
  /// a stored block with the recorded hash, errc::unavailable if another process has it.
  static caf::expected<std::unique_ptr<store>> open(const std::filesystem::path& dir);

  ~store();

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  head_info head() const noexcept {
    return head_;
  }

  /// Appends the next block with its balance changes. The block must extend the head
  /// (height and previous hash) and pass check(); errc::rejected otherwise.
  caf::error append(const block& b, const balance_deltas& deltas);

  caf::expected<block> get(uint64_t height) const;

  /// Where a transaction is: (height, index), or nothing.
  std::optional<std::pair<uint64_t, uint32_t>> find(const digest& tx_id) const;

  /// Where the transactions naming `account` (as worker, validator or account) are, in
  /// chain order: (height, index) pairs, the last `limit` of them.
  std::vector<std::pair<uint64_t, uint32_t>> history(const std::string& account,
                                                     std::size_t limit = 1000) const;

  /// An account's stored balance (0 if it never had one).
  int64_t balance(const std::string& account) const;

  /// Every stored balance.
  std::map<std::string, int64_t> balances() const;

private:
  store() = default;

  std::unique_ptr<leveldb::DB> db_;
  head_info head_;
};

} // namespace nexus::chain
