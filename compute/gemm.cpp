#include "compute/gemm.hpp"

#include <algorithm>
#include <cassert>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "compute/kernels/sgemm.hpp"

namespace nexus::compute {

namespace {

// Rows per block: small enough to spread over every core, large enough that Eigen's
// packing of B (O(k*n) per block, memory-bound, so not faster with wider vectors) stays a
// few percent of the block's O(rows*k*n) work.
constexpr std::size_t min_block_rows = 256;

// Blocks per thread: a few, so that a thread slowed by others can be helped, but no more
// (each block packs all of B again).
constexpr std::size_t blocks_per_thread = 2;

} // namespace

void gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
          std::size_t n) {
  if (m == 0 || n == 0)
    return;
  auto block = [&](std::size_t begin, std::size_t end) {
    kernels::sgemm(false, false, end - begin, n, k, 1.0f, a + begin * k, k, b, n, 0.0f,
                   c + begin * n, n);
  };
  if (gemm_flops(m, k, n) < 4e6) { // too small to be worth a task
    block(0, m);
    return;
  }
  auto threads = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  auto rows = std::max(min_block_rows, (m + blocks_per_thread * threads - 1)
                                         / (blocks_per_thread * threads));
  tbb::parallel_for(tbb::blocked_range<std::size_t>{0, m, rows},
                    [&](const tbb::blocked_range<std::size_t>& r) { block(r.begin(), r.end()); },
                    tbb::simple_partitioner{});
}

tensor multiply(const tensor& a, const tensor& b) {
  assert(a.cols() == b.rows());
  tensor c{a.rows(), b.cols()};
  gemm(a.data(), b.data(), c.data(), a.rows(), a.cols(), b.cols());
  return c;
}

} // namespace nexus::compute
