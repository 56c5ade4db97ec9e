// The entry points of the GEMM kernel's and Adam's instruction-set variants (sgemm_isa.cpp,
// one shared library each). Call one only where the processor runs its instructions;
// sgemm.hpp's dispatch does that for you.
#pragma once

#include <cstddef>

extern "C" {
void nexus_sgemm_generic(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                         std::size_t k, float alpha, const float* a, std::size_t lda,
                         const float* b, std::size_t ldb, float beta, float* c,
                         std::size_t ldc);
void nexus_sgemm_avx2(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                      std::size_t k, float alpha, const float* a, std::size_t lda,
                      const float* b, std::size_t ldb, float beta, float* c,
                      std::size_t ldc);
void nexus_sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                        std::size_t k, float alpha, const float* a, std::size_t lda,
                        const float* b, std::size_t ldb, float beta, float* c,
                        std::size_t ldc);

#define NEXUS_ADAM(isa)                                                                    \
  void nexus_adam_##isa(float* params, float* m, float* v, const float* grad,              \
                        std::size_t n, float grad_scale, float beta1, float beta2,         \
                        float rate, float root2, float eps);
NEXUS_ADAM(generic)
NEXUS_ADAM(avx2)
NEXUS_ADAM(avx512)
#undef NEXUS_ADAM
}
