// Fresh memory for large buffers.
//
// On the 2-core VMs this runs on, the first touch of a 4 KiB page costs several
// microseconds (a trap through the hypervisor, then zeroing): a fresh 64 MiB buffer costs
// ~40 ms before a byte of it is used, more than copying into it. Transparent huge pages
// cut that ~4x, and kernels set to `madvise` (Debian's default) give them only to memory
// that asks. resize_fresh asks for a buffer of 4 MiB or more before its first touch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/mman.h>

namespace nexus::compute {

/// Buffers at least this large ask for huge pages.
constexpr std::size_t huge_page_threshold = std::size_t{4} << 20;

/// Asks for huge pages over the 2 MiB-aligned part of [p, p + bytes); a hint only.
inline void advise_huge_pages(const void* p, std::size_t bytes) {
  constexpr uintptr_t huge = uintptr_t{2} << 20;
  auto begin = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  auto end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
  if (end > begin)
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

/// Resizes `v` to `n` value-initialized elements; when that needs a new buffer of
/// huge_page_threshold bytes or more, asks for huge pages before touching it.
template <class T>
void resize_fresh(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity() && n * sizeof(T) >= huge_page_threshold) {
    std::vector<T> fresh;
    fresh.reserve(n);
    advise_huge_pages(fresh.data(), n * sizeof(T));
    fresh.assign(v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

} // namespace nexus::compute
