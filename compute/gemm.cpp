#include "compute/gemm.hpp"

#include <algorithm>
#include <cassert>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "compute/kernels/sgemm.hpp"

namespace nexus::compute {

namespace {

// Rows per block: small enough to spread over every core, large enough that Eigen's
// packing of B (O(k*n) per block) stays a few percent of the block's O(rows*k*n) work.
constexpr std::size_t min_block_rows = 64;

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
  tbb::parallel_for(tbb::blocked_range<std::size_t>{0, m, min_block_rows},
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      block(r.begin(), r.end());
                    });
}

tensor multiply(const tensor& a, const tensor& b) {
  assert(a.cols() == b.rows());
  tensor c{a.rows(), b.cols()};
  gemm(a.data(), b.data(), c.data(), a.rows(), a.cols(), b.cols());
  return c;
}

} // namespace nexus::compute
