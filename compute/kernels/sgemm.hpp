// Single-precision GEMM with run-time instruction-set dispatch, as OpenBLAS does.
//
// The kernel is built three times from one source (sgemm_isa.cpp): portable x86-64,
// AVX2 + FMA, and AVX-512. Each build is a shared library of its own whose symbols are
// hidden but its one entry point, because Eigen's templates compiled under different
// -m flags must never meet at link time (the linker would keep one instantiation for all).
// The first call picks the widest variant the processor runs; NEXUS_ISA=generic|avx2|avx512
// forces one (an unsupported choice falls back to what the processor has).
#pragma once

#include <cstddef>
#include <string_view>

namespace nexus::compute::kernels {

/// C = alpha * op(A) * op(B) + beta * C on row-major matrices, as
/// cblas_sgemm(CblasRowMajor, ...): op(A) is m x k, op(B) is k x n, C is m x n; lda, ldb
/// and ldc are row strides. One thread; C must not alias A or B.
void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
           float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
           float beta, float* c, std::size_t ldc);

/// Adam's update of n parameters (PyTorch's form, bias corrections folded into `rate`
/// = lr / (1 - beta1^t) and `root2` = sqrt(1 - beta2^t)), gradient scaled by
/// `grad_scale` first:
///   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= rate m / (sqrt(v) / root2 +
///   eps)
/// One thread; the widest variant, like sgemm. Exact square roots and no contracted
/// multiply-adds: the same bits in every variant and at any alignment of the arrays, so
/// that a worker, its validator and the aggregator replaying a lane agree exactly.
void adam(float* params, float* m, float* v, const float* grad, std::size_t n,
          float grad_scale, float beta1, float beta2, float rate, float root2, float eps);

/// The variant in use: "avx512", "avx2+fma" or "generic".
std::string_view isa();

} // namespace nexus::compute::kernels
