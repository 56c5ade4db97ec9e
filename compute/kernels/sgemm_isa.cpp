// One instruction-set variant of the GEMM kernel and of Adam's update (see sgemm.hpp).
// Built once per variant with its own -m flags and NEXUS_ISA set to its name; exports
// two C functions.
#include <cmath>
#include <cstddef>

#include <Eigen/Core>

#ifndef NEXUS_ISA
#error "build with -DNEXUS_ISA=<variant>"
#endif
#define NEXUS_CAT2(a, b) a##b
#define NEXUS_CAT(a, b) NEXUS_CAT2(a, b)

namespace {

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using stride = Eigen::OuterStride<>;
using const_map = Eigen::Map<const matrix, 0, stride>;
using map = Eigen::Map<matrix, 0, stride>;

template <class A, class B>
void run(const A& a, const B& b, map& c, float alpha, float beta) {
  if (beta == 0.0f)
    c.noalias() = alpha * a * b;
  else {
    if (beta != 1.0f)
      c *= beta;
    c.noalias() += alpha * a * b;
  }
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
NEXUS_CAT(nexus_sgemm_, NEXUS_ISA)(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                                   std::size_t k, float alpha, const float* a,
                                   std::size_t lda, const float* b, std::size_t ldb,
                                   float beta, float* c, std::size_t ldc) {
  using index = Eigen::Index;
  auto im = static_cast<index>(m), in = static_cast<index>(n), ik = static_cast<index>(k);
  map cm{c, im, in, stride{static_cast<index>(ldc)}};
  // op(A) is m x k: A itself is m x k, or k x m when transposed (and likewise B).
  const_map am{a, trans_a ? ik : im, trans_a ? im : ik, stride{static_cast<index>(lda)}};
  const_map bm{b, trans_b ? in : ik, trans_b ? ik : in, stride{static_cast<index>(ldb)}};
  if (!trans_a && !trans_b)
    run(am, bm, cm, alpha, beta);
  else if (!trans_a)
    run(am, bm.transpose(), cm, alpha, beta);
  else if (!trans_b)
    run(am.transpose(), bm, cm, alpha, beta);
  else
    run(am.transpose(), bm.transpose(), cm, alpha, beta);
}

extern "C" __attribute__((visibility("default"))) void
NEXUS_CAT(nexus_adam_, NEXUS_ISA)(float* params, float* m, float* v, const float* grad,
                                  std::size_t n, float grad_scale, float beta1, float beta2,
                                  float rate, float root2, float eps) {
  // One plain loop, which the compiler vectorizes with exact square roots: every value
  // gets the same operations in the vector body and in the scalar tail, whatever the
  // arrays' alignment. (Eigen's AVX-512 square root is an approximation its scalar
  // path is not, and which values took which path followed the allocator: the same
  // training run came out differently from one process to the next.)
  for (std::size_t i = 0; i < n; ++i) {
    float g = grad_scale * grad[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * (g * g);
    m[i] = mi;
    v[i] = vi;
    params[i] -= rate * mi / (std::sqrt(vi) / root2 + eps);
  }
}
