#include "compute/gemm.hpp"

#include <algorithm>
#include <cassert>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "compute/kernels/sgemm.hpp"

namespace nexus::compute {

namespace {

// Rows (or columns) per block: small enough to spread over every core, large enough that
// Eigen's packing (memory-bound, so not faster with wider vectors) stays a few percent of
// the block's work.
constexpr std::size_t min_block_rows = 256;

// Blocks per thread: a few, so that a thread slowed by others can be helped, but no more
// (each block packs its whole share of the operands again).
constexpr std::size_t blocks_per_thread = 2;

// Columns per block are a multiple of this (whole cache lines of C and B).
constexpr std::size_t column_align = 64;

} // namespace

void gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
          std::size_t n) {
  if (m == 0 || n == 0)
    return;
  auto block = [&](std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1) {
    kernels::sgemm(false, false, r1 - r0, c1 - c0, k, 1.0f, a + r0 * k, k, b + c0, n, 0.0f,
                   c + r0 * n + c0, n);
  };
  if (gemm_flops(m, k, n) < 4e6) { // too small to be worth a task
    block(0, m, 0, n);
    return;
  }
  auto threads = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  auto blocks = blocks_per_thread * threads;
  // A block of rows packs all of B again, a block of columns all of A: split the
  // dimension whose blocks pack less. A shard of a large product (683 of 4096 rows) cut
  // into rows packed the 64 MiB B four times; cut into columns it packs B once.
  if (m >= n || (m + blocks - 1) / blocks >= min_block_rows) {
    auto rows = std::max(min_block_rows, (m + blocks - 1) / blocks);
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>{0, m, rows},
        [&](const tbb::blocked_range<std::size_t>& r) { block(r.begin(), r.end(), 0, n); },
        tbb::simple_partitioner{});
    return;
  }
  auto cols = std::max(min_block_rows, (n + blocks - 1) / blocks);
  cols = (cols + column_align - 1) / column_align * column_align;
  tbb::parallel_for(std::size_t{0}, (n + cols - 1) / cols, [&](std::size_t j) {
    block(0, m, j * cols, std::min(n, (j + 1) * cols));
  });
}

tensor multiply(const tensor& a, const tensor& b) {
  assert(a.cols() == b.rows());
  tensor c{a.rows(), b.cols()};
  gemm(a.data(), b.data(), c.data(), a.rows(), a.cols(), b.cols());
  return c;
}

} // namespace nexus::compute
