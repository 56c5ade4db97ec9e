// The finished tasks' outputs an orchestrator keeps until their submitters fetch them.
//
// Outputs stay in memory up to a budget of bytes; past it the oldest move to files in a
// directory (the node's data directory) and come back from there when asked for. Without
// a directory, or when the disk refuses one (full, read-only), the oldest are dropped, and
// asking for one of them says why instead of "no such task". The directory is the
// shelf's alone: files left by an earlier process are removed at start, as task ids may
// be used again when the network has no ledger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "messages/codec.hpp"

namespace nexus {

class output_shelf {
public:
  using output = std::shared_ptr<const wire::task_output>;

  /// Room the disk must keep beyond a file before one is written.
  static constexpr std::size_t keep_free = std::size_t{16} << 20;

  /// Keeps up to `memory_bytes` of outputs in memory and the rest in files under `dir`
  /// (none when empty). A directory that cannot be made or cleared is reported by
  /// problem() and not used.
  output_shelf(std::size_t memory_bytes, std::filesystem::path dir);

  output_shelf();

  /// Keeps the output of `task_id`, moving or dropping the oldest beyond the budget.
  void put(uint64_t task_id, output x);

  /// The output of `task_id`, read back from its file if it was moved there; nullopt if
  /// the shelf never had it; errc::not_found naming the reason if it was dropped, or
  /// errc::corrupted if its file is damaged.
  std::optional<expected<output>> get(uint64_t task_id) const;

  /// Bytes of outputs held in memory (shared with transfers in progress, which may keep
  /// a moved output alive a while longer).
  std::size_t memory_bytes() const noexcept {
    return in_memory_bytes_;
  }

  /// Outputs in files, and outputs dropped, so far.
  std::size_t on_disk() const noexcept {
    return on_disk_;
  }
  std::size_t dropped() const noexcept {
    return dropped_.size();
  }

  /// The last reason the shelf could not use its directory ("" when none), for logs.
  const std::string& problem() const noexcept {
    return problem_;
  }

private:
  struct entry {
    output in_memory; // null once moved to a file
    std::size_t bytes = 0;
  };

  void shed();
  void drop(uint64_t task_id, std::string why);
  bool spill(uint64_t task_id, const wire::task_output& x);
  std::filesystem::path file_of(uint64_t task_id) const;

  std::size_t budget_;
  std::filesystem::path dir_; // empty: outputs past the budget are dropped
  std::map<uint64_t, entry> entries_;
  std::deque<uint64_t> memory_order_; // in memory, oldest first
  std::size_t in_memory_bytes_ = 0;
  std::size_t on_disk_ = 0;
  std::map<uint64_t, uint32_t> dropped_; // task id -> index of its reason in reasons_
  std::vector<std::string> reasons_;     // distinct, in order of first use
  std::string problem_;
};

} // namespace nexus
