// A node's content-addressed store of tensors: operands, model weights, data sets.
//
// Shards name the blobs they need by digest instead of carrying them, so a 64 MB operand
// crosses the wire at most once per node, never once per shard. Thread-safe: the shell,
// workers and validators of one process share one store. Blobs are immutable once put.
#pragma once

#include <cstddef>
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

  /// Stores `x` under the digest of its values (id_of) and returns the reference.
  blob_ref put(compute::tensor x);

  /// The blob named by `ref`; errc::not_found if absent, errc::corrupted if the stored
  /// shape differs from the one the reference claims.
  caf::expected<blob> get(const blob_ref& ref) const;

  /// The blob id: SHA-256 over the SHA-256 digests of the raw values' 1 MiB chunks,
  /// computed in parallel.
  static chain::digest id_of(const compute::tensor& x);

private:
  mutable std::mutex mtx_;
  std::map<chain::digest, blob> blobs_;
};

} // namespace nexus
