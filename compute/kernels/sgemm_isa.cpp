// One instruction-set variant of the GEMM kernel and of Adam's update (see sgemm.hpp).
// Built once per variant with its own -m flags and NEXUS_ISA set to its name; exports
// two C functions.
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
                                   std::size_t k, float alpha, const float* a, std::size_t lda,
                                   const float* b, std::size_t ldb, float beta, float* c,
                                   std::size_t ldc) {
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
  using array = Eigen::Map<Eigen::ArrayXf>;
  auto in = static_cast<Eigen::Index>(n);
  array p{params, in}, mm{m, in}, vv{v, in};
  Eigen::Map<const Eigen::ArrayXf> raw{grad, in};
  auto g = grad_scale * raw;
  mm = beta1 * mm + (1.0f - beta1) * g;
  vv = beta2 * vv + (1.0f - beta2) * g.square();
  p -= rate * mm / (vv.sqrt() / root2 + eps);
}
