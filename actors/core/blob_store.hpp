// A node's content-addressed store of tensors: operands, model weights, data sets.
//
// Shards name the blobs they need by digest instead of carrying them, so a 64 MB operand
// crosses the wire at most once per node, never once per shard. Thread-safe: the shell,
// workers and validators of one process share one store. Blobs are immutable once put.
// A store with a source fetches the blobs it lacks from there (another node's gateway)
// and keeps them only if their contents match their digest. Fetched and uploaded blobs are
// kept while pinned (the orchestrator pins a task's operands until it finishes) and
// otherwise within a budget of bytes (set_budget).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "chain/hash.hpp"
#include "compute/errc.hpp"
#include "compute/tensor.hpp"
#include "messages/types.hpp"

namespace nexus {

/// SHA-256 of each consecutive `piece` bytes of `bytes` (the last may be shorter; one
/// digest of nothing for no bytes), hashed on every core.
std::vector<chain::digest> sha256_pieces(std::span<const uint8_t> bytes, std::size_t piece);

class blob_store {
public:
  using blob = std::shared_ptr<const compute::tensor>;
  using source_fn = std::function<expected<compute::tensor>(const blob_ref&)>;

  /// Where get() fetches blobs this store lacks; called on the getter's thread, one
  /// fetch at a time.
  void set_source(source_fn source);

  /// Stores `x` under the digest of its values (id_of) and returns the reference. It stays
  /// until erased: the node's own blobs (a training run's weights).
  blob_ref put(compute::tensor x);

  /// Stores `x` as an upload: like a fetched blob, it stays while pinned and otherwise
  /// only within the budget of kept blobs. A blob already stored keeps its kind.
  blob_ref put_upload(compute::tensor x);

  /// The blob named by `ref`, fetched from the source if absent; errc::not_found if it
  /// is absent and there is no source, errc::corrupted if the stored or fetched blob
  /// differs from what the reference claims. Blocks while it fetches.
  expected<blob> get(const blob_ref& ref);

  /// True if the store holds the blob named by `ref` (never fetches).
  bool contains(const blob_ref& ref) const;

  /// Keeps a blob from being dropped for the budget until as many unpin() calls; pins
  /// may come before the blob does.
  void pin(const chain::digest& id);
  void unpin(const chain::digest& id);

  /// Forgets a blob (those holding it keep their copy).
  void erase(const chain::digest& id);

  /// How many blobs the store holds.
  std::size_t size() const;

  /// Fetched and uploaded blobs are kept up to `bytes` beyond those pinned; past it the
  /// least recently stored go first (a training run fetches new weights every step; a
  /// client uploads new operands with every task), but no upload before `grace` has
  /// passed since it came: time for the submission that names it to arrive and pin it,
  /// even when a submission's blobs together exceed the budget. Blobs put() here stay.
  void set_budget(std::size_t bytes, std::chrono::milliseconds grace = default_grace);
  static constexpr std::size_t default_budget = std::size_t{2} << 30;
  static constexpr std::chrono::milliseconds default_grace{30'000};

  /// Bytes of fetched and uploaded blobs held, pinned ones included.
  std::size_t kept_bytes() const;

  /// The blob id: SHA-256 over the shape and the SHA-256 digests of the raw values'
  /// 128 KiB chunks, computed in parallel.
  static chain::digest id_of(const compute::tensor& x);

private:
  expected<blob> find(const blob_ref& ref) const;

  struct stored {
    blob value;
    bool kept = false; // fetched or uploaded: dropped past the budget unless pinned
    std::chrono::steady_clock::time_point since;
  };

  mutable std::mutex mtx_;
  std::map<chain::digest, stored> blobs_;
  void keep(const chain::digest& id, std::size_t bytes); // as fetched or uploaded
  void shed();                                           // to the budget; mtx_ held

  std::deque<chain::digest> kept_; // fetched and uploaded, oldest first; guarded by mtx_
  std::size_t kept_bytes_ = 0;
  std::size_t budget_ = default_budget;
  std::chrono::milliseconds grace_ = default_grace;
  std::map<chain::digest, uint32_t> pins_;
  source_fn source_;     // guarded by mtx_
  std::mutex fetch_mtx_; // one fetch at a time: no blob comes twice
};

} // namespace nexus
