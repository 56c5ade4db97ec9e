#include "actors/blob_store.hpp"

#include "compute/errc.hpp"

namespace nexus {

chain::digest blob_store::id_of(const compute::tensor& x) {
  auto bytes = std::span{reinterpret_cast<const uint8_t*>(x.data()), x.size() * sizeof(float)};
  return chain::sha256(bytes);
}

blob_ref blob_store::put(compute::tensor x) {
  blob_ref ref{id_of(x), x.shape()};
  auto ptr = std::make_shared<const compute::tensor>(std::move(x));
  std::lock_guard guard{mtx_};
  blobs_.try_emplace(ref.id, std::move(ptr));
  return ref;
}

caf::expected<blob_store::blob> blob_store::get(const blob_ref& ref) const {
  std::lock_guard guard{mtx_};
  auto i = blobs_.find(ref.id);
  if (i == blobs_.end())
    return make_error(errc::not_found, "blob " + chain::to_hex(ref.id).substr(0, 12)
                                         + " is not in this node's store");
  if (i->second->shape() != ref.shape)
    return make_error(errc::corrupted, "blob " + chain::to_hex(ref.id).substr(0, 12)
                                         + " is " + compute::to_string(i->second->shape())
                                         + ", not " + compute::to_string(ref.shape));
  return i->second;
}

} // namespace nexus
