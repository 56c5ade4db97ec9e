// Dense float32 GEMM on the CPU: the widest instruction set's kernel (kernels/sgemm.hpp),
// parallel over row blocks with oneTBB.
//
// Thread-safe: any number of threads may call gemm() at once; they share oneTBB's one
// worker pool, so concurrent calls divide the cores instead of oversubscribing them.
#pragma once

#include <cstddef>

#include "compute/tensor.hpp"

namespace nexus::compute {

/// C = A * B for row-major A (m x k), B (k x n), C (m x n). C must not alias A or B.
void gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
          std::size_t n);

/// A * B for matrices whose inner dimensions agree (checked by the caller).
tensor multiply(const tensor& a, const tensor& b);

/// FLOP count of an m x k by k x n product (2mkn).
constexpr double gemm_flops(std::size_t m, std::size_t k, std::size_t n) {
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n);
}

} // namespace nexus::compute
