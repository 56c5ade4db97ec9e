// The ledger's store: blocks by height, transactions by id, balances and each account's
// history, in LevelDB.
//
// Keys: b<height> a block's canonical bytes; c<height> its commit certificate (the
// ledger nodes' precommits, chain/consensus.hpp; none for the first block); t<id> where a
// transaction is (the last block holding it); h<account>\0<height><index> each record
// naming an account; a<account> a balance; m:head the head. Nothing else is stored, so an
// audit can account for every entry (chain/audit.hpp).
//
// One writer. Each block and all its effects (its transactions' index entries, the
// balances it changes, the new head) go in one synced WriteBatch, so a crash leaves
// either the whole block or none of it. Opening a store checks that the head it records
// is a block that is there and has that hash.
//
// A full disk must not cost the chain: LevelDB appends a write to its log in pieces, and
// a write cut short by ENOSPC, followed by the next one, leaves a log it refuses to open
// again ("partial record without end"). So a block is written only while the disk keeps
// `keep_free` bytes beyond it, and after a failed write the database is closed at once
// and opened again (LevelDB drops the torn tail of the old log) before the next write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/block.hpp"
#include "chain/id_filter.hpp"
#include "compute/errc.hpp"

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
  static expected<std::unique_ptr<store>> open(const std::filesystem::path& dir);

  /// Opens the store in `dir` for reading, leaving every byte of it as it is: LevelDB
  /// writes when it opens, so this opens a copy (table files hard-linked where the file
  /// system allows), removed when the store closes. errc::not_found if `dir` holds no
  /// store, errc::unavailable while a node has it open.
  static expected<std::unique_ptr<store>> open_read_only(const std::filesystem::path& dir);

  ~store();

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  head_info head() const noexcept {
    return head_;
  }

  /// Bytes the disk keeps free by default (see keep_free).
  static constexpr uint64_t default_keep_free = uint64_t{16} << 20;

  /// Writes only while the disk has this many bytes free beyond a block.
  void keep_free(uint64_t bytes) noexcept {
    keep_free_ = bytes;
  }

  /// Whether a block of about `bytes` can be written now: opens the database again if a
  /// failed write closed it, and checks the disk's free space. errc::failed (the disk is
  /// full or the database cannot be opened again: try later) or none.
  error ready(std::size_t bytes);

  /// Appends the next block with its balance changes and the canonical bytes of its
  /// commit certificate (empty: none, for the first block). The block must extend the
  /// head (height and previous hash) and pass check() (not checked again if `checked`:
  /// the ledger checked it before it voted); errc::rejected otherwise; errc::failed if
  /// it could not be written (nothing of it is kept; the store reopens). `ids` are its
  /// transactions' ids when the caller has them (empty: computed).
  error append(const block& b, const balance_deltas& deltas,
               std::span<const uint8_t> certificate = {}, bool checked = false,
               std::span<const digest> ids = {});

  /// Whether opening it made its history entries again from the blocks, as they had the
  /// form of earlier builds (one entry per record).
  bool history_rewritten() const noexcept {
    return history_rewritten_;
  }

  /// Block `height`'s certificate bytes as stored (errc::not_found if none).
  expected<std::vector<uint8_t>> raw_certificate(uint64_t height) const;

  expected<block> get(uint64_t height) const;

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

  /// A block's stored bytes as they are (errc::not_found if none).
  expected<std::vector<uint8_t>> raw_block(uint64_t height) const;

  /// Calls `fn` with every stored key and value, in key order, until it returns false.
  void
  scan(const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// The index entries (t and h keys) block `b` adds, and the balance and head entries,
  /// as append() writes them. `ids` as for append().
  static void index_entries(const block& b,
                            const std::function<void(std::string, std::string)>& put,
                            std::span<const digest> ids = {});
  static std::pair<std::string, std::string> balance_entry(const std::string& account,
                                                           int64_t balance);
  static std::pair<std::string, std::string> head_entry(const head_info& head);

  /// The height a block key names, or nothing for another key.
  static std::optional<uint64_t> block_height_of(std::string_view key);
  /// The height a certificate key names, or nothing for another key.
  static std::optional<uint64_t> certificate_height_of(std::string_view key);

  /// A key as a person reads it: "block 3", "balance of worker-1", ...
  static std::string describe_key(std::string_view key);

private:
  store() = default;

  // Opens the database in dir_ and reads its head.
  error open_db();

  std::filesystem::path dir_;
  // History entries written one per record (by builds before they were kept per block)
  // are made again per block, once, when the store opens.
  error rewrite_old_history();
  bool history_rewritten_ = false;
  std::unique_ptr<leveldb::DB> db_; // null after a failed write, until ready() reopens it
  id_filter ids_;                   // of every stored record
  head_info head_;
  uint64_t keep_free_ = default_keep_free;
  std::filesystem::path copy_; // open_read_only's copy, removed on close
};

} // namespace nexus::chain
