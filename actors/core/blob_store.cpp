#include "actors/core/blob_store.hpp"

#include <algorithm>
#include <vector>

#include <tbb/parallel_for.h>

#include "chain/encoding.hpp"
#include "compute/errc.hpp"

namespace nexus {

using clock = std::chrono::steady_clock;

std::vector<chain::digest> sha256_pieces(std::span<const uint8_t> bytes,
                                         std::size_t piece) {
  auto count = std::max<std::size_t>(1, (bytes.size() + piece - 1) / piece);
  std::vector<chain::digest> out(count);
  tbb::parallel_for(std::size_t{0}, count, [&](std::size_t i) {
    auto begin = i * piece;
    out[i] = chain::sha256(bytes.subspan(begin, std::min(piece, bytes.size() - begin)));
  });
  return out;
}

chain::digest blob_store::id_of(const compute::tensor& x) {
  // A two-level digest so that the chunks hash on every core at once: SHA-256 over the
  // shape (rank, then each dimension, as 64-bit little-endian numbers) and the SHA-256
  // digests of consecutive 128 KiB chunks of the raw values. The shape counts: a 300x1 and
  // a 1x300 matrix of ones are different blobs (once one hid the other). Chunks this small
  // let even a model's weights (~1 MB, stored after every training step while the
  // workers wait for them) hash on both cores.
  constexpr std::size_t chunk = std::size_t{128} << 10;
  auto digests = sha256_pieces(
      {reinterpret_cast<const uint8_t*>(x.data()), x.size() * sizeof(float)}, chunk);
  chain::writer top;
  top.u64(x.shape().size());
  for (auto d : x.shape())
    top.u64(d);
  for (const auto& d : digests)
    top.fixed(d);
  return chain::sha256(top.data());
}

blob_ref blob_store::put(compute::tensor x) {
  blob_ref ref{id_of(x), x.shape()};
  auto ptr = std::make_shared<const compute::tensor>(std::move(x));
  std::lock_guard guard{mtx_};
  blobs_.try_emplace(ref.id, stored{std::move(ptr), false});
  return ref;
}

blob_ref blob_store::put_upload(compute::tensor x) {
  blob_ref ref{id_of(x), x.shape()};
  auto bytes = x.size() * sizeof(float);
  auto ptr = std::make_shared<const compute::tensor>(std::move(x));
  std::lock_guard guard{mtx_};
  if (blobs_.try_emplace(ref.id, stored{std::move(ptr), true, clock::now()}).second)
    keep(ref.id, bytes);
  return ref;
}

void blob_store::keep(const chain::digest& id, std::size_t bytes) {
  kept_.push_back(id);
  kept_bytes_ += bytes;
  shed();
}

void blob_store::shed() {
  // Oldest first; pinned ones and uploads still in their grace time are passed over.
  auto young = clock::now() - grace_;
  std::deque<chain::digest> passed; // in order
  while (kept_bytes_ > budget_ && !kept_.empty()) {
    auto id = kept_.front();
    kept_.pop_front();
    auto i = blobs_.find(id);
    if (i == blobs_.end() || !i->second.kept)
      continue; // erased meanwhile: its bytes were counted off then
    if (pins_.contains(id) || i->second.since > young) {
      passed.push_back(id);
      continue;
    }
    kept_bytes_ -= i->second.value->size() * sizeof(float);
    blobs_.erase(i);
  }
  kept_.insert(kept_.begin(), passed.begin(), passed.end());
}

void blob_store::pin(const chain::digest& id) {
  std::lock_guard guard{mtx_};
  ++pins_[id];
}

void blob_store::unpin(const chain::digest& id) {
  std::lock_guard guard{mtx_};
  auto i = pins_.find(id);
  if (i == pins_.end())
    return;
  if (--i->second == 0) {
    pins_.erase(i);
    shed();
  }
}

void blob_store::set_budget(std::size_t bytes, std::chrono::milliseconds grace) {
  std::lock_guard guard{mtx_};
  budget_ = bytes;
  grace_ = grace;
  shed();
}

std::size_t blob_store::kept_bytes() const {
  std::lock_guard guard{mtx_};
  return kept_bytes_;
}

bool blob_store::contains(const blob_ref& ref) const {
  std::lock_guard guard{mtx_};
  auto i = blobs_.find(ref.id);
  return i != blobs_.end() && i->second.value->shape() == ref.shape;
}

void blob_store::erase(const chain::digest& id) {
  std::lock_guard guard{mtx_};
  auto i = blobs_.find(id);
  if (i == blobs_.end())
    return;
  if (i->second.kept)
    kept_bytes_ -= i->second.value->size() * sizeof(float);
  blobs_.erase(i);
}

std::size_t blob_store::size() const {
  std::lock_guard guard{mtx_};
  return blobs_.size();
}

void blob_store::set_source(source_fn source) {
  std::lock_guard guard{mtx_};
  source_ = std::move(source);
}

expected<blob_store::blob> blob_store::find(const blob_ref& ref) const {
  std::lock_guard guard{mtx_};
  auto i = blobs_.find(ref.id);
  if (i == blobs_.end())
    return make_error(errc::not_found, "blob " + chain::to_hex(ref.id).substr(0, 12)
                                           + " is not in this node's store");
  if (i->second.value->shape() != ref.shape)
    return make_error(errc::corrupted, "blob " + chain::to_hex(ref.id).substr(0, 12)
                                           + " is "
                                           + compute::to_string(i->second.value->shape())
                                           + ", not " + compute::to_string(ref.shape));
  return i->second.value;
}

expected<blob_store::blob> blob_store::get(const blob_ref& ref) {
  auto found = find(ref);
  if (found || !is(found.error(), errc::not_found))
    return found;
  source_fn source;
  {
    std::lock_guard guard{mtx_};
    source = source_;
  }
  if (!source)
    return found;
  std::lock_guard fetching{fetch_mtx_};
  if (auto again = find(ref); again || !is(again.error(), errc::not_found))
    return again; // fetched by another thread meanwhile
  auto fetched = source(ref);
  if (!fetched)
    return fetched.error();
  if (fetched->shape() != ref.shape || id_of(*fetched) != ref.id)
    return make_error(errc::corrupted,
                      "blob " + chain::to_hex(ref.id).substr(0, 12)
                          + " arrived with other contents than its digest");
  auto ptr = std::make_shared<const compute::tensor>(std::move(*fetched));
  std::lock_guard guard{mtx_};
  // No grace: the getter holds what it fetched for as long as it needs it.
  if (blobs_.try_emplace(ref.id, stored{.value = ptr, .kept = true}).second)
    keep(ref.id, ptr->size() * sizeof(float));
  return blob{ptr};
}

} // namespace nexus
