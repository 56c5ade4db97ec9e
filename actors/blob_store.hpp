// A node's content-addressed store of tensors: operands, model weights, data sets.
//
// Shards name the blobs they need by digest instead of carrying them, so a 64 MB operand
// crosses the wire at most once per node, never once per shard. Thread-safe: the shell,
// workers and validators of one process share one store. Blobs are immutable once put.
// A store with a source fetches the blobs it lacks from there (another node's gateway)
// and keeps them only if their contents match their digest, and only so many bytes of
// them (fetched_bytes_kept).
#pragma once

#include <cstddef>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include <caf/expected.hpp>

#include "chain/hash.hpp"
#include "compute/tensor.hpp"
#include "messages/types.hpp"

namespace nexus {

class blob_store {
public:
  using blob = std::shared_ptr<const compute::tensor>;
  using source_fn = std::function<caf::expected<compute::tensor>(const blob_ref&)>;

  /// Where get() fetches blobs this store lacks; called on the getter's thread, one
  /// fetch at a time.
  void set_source(source_fn source);

  /// Stores `x` under the digest of its values (id_of) and returns the reference.
  blob_ref put(compute::tensor x);

  /// The blob named by `ref`, fetched from the source if absent; errc::not_found if it
  /// is absent and there is no source, errc::corrupted if the stored or fetched blob
  /// differs from what the reference claims. Blocks while it fetches.
  caf::expected<blob> get(const blob_ref& ref);

  /// Forgets a blob (those holding it keep their copy).
  void erase(const chain::digest& id);

  /// How many blobs the store holds.
  std::size_t size() const;

  /// Fetched blobs are kept up to this many bytes; past it the least recently fetched
  /// go first (a training run fetches new weights every step). Blobs put here stay.
  static constexpr std::size_t fetched_bytes_kept = std::size_t{2} << 30;

  /// The blob id: SHA-256 over the SHA-256 digests of the raw values' 1 MiB chunks,
  /// computed in parallel.
  static chain::digest id_of(const compute::tensor& x);

private:
  caf::expected<blob> find(const blob_ref& ref) const;

  mutable std::mutex mtx_;
  std::map<chain::digest, blob> blobs_;
  std::deque<chain::digest> fetched_; // oldest first; guarded by mtx_
  std::size_t fetched_bytes_ = 0;
  source_fn source_;                // guarded by mtx_
  std::mutex fetch_mtx_;            // one fetch at a time: no blob comes twice
};

} // namespace nexus
