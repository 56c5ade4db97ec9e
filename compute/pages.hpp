// Fresh memory for large buffers.
//
// On the 2-core VMs this runs on, the first touch of each 4 KiB page traps into the
// kernel: a fresh 64 MiB buffer costs ~35 ms of page faults before a byte of it is used,
// about as much as copying into it. resize_fresh has the kernel fill the page tables of a
// new buffer of 4 MiB or more in one call (MADV_POPULATE_WRITE, Linux 5.14) before its
// first touch: decoding a 64 MiB output went from ~40 to ~25 ms.
//
// Transparent huge pages were asked for here before (MADV_HUGEPAGE). They cut the cost
// ~5x when the kernel has free huge pages, but with Debian's `defrag: madvise` a fault
// with none free compacts memory on the spot, and in a running network that made the
// same decode take 110-150 ms instead of 40.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/mman.h>

namespace nexus::compute {

/// Buffers at least this large are prefaulted.
constexpr std::size_t prefault_threshold = std::size_t{4} << 20;

/// Has the kernel back [p, p + bytes) with writable pages now; a hint only (older
/// kernels refuse it and the pages fault in on first touch as usual).
inline void prefault(void* p, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  constexpr int populate_write = MADV_POPULATE_WRITE;
#else
  constexpr int populate_write = 23; // Linux's value; glibc 2.36's headers lack it
#endif
  constexpr uintptr_t page = 4096;
  auto begin = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  auto end = reinterpret_cast<uintptr_t>(p) + bytes;
  madvise(reinterpret_cast<void*>(begin), end - begin, populate_write);
}

/// Resizes `v` to `n` value-initialized elements; when that needs a new buffer of
/// prefault_threshold bytes or more, prefaults it before touching it.
template <class T>
void resize_fresh(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity() && n * sizeof(T) >= prefault_threshold) {
    std::vector<T> fresh;
    fresh.reserve(n);
    prefault(fresh.data(), n * sizeof(T));
    fresh.assign(v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

} // namespace nexus::compute
