#include "compute/kernels/sgemm.hpp"

#include <cstdlib>
#include <string>

#include "compute/kernels/sgemm_variants.hpp"

namespace nexus::compute::kernels {

namespace {

using kernel = decltype(&nexus_sgemm_generic);
using adam_kernel = decltype(&nexus_adam_generic);

struct variant {
  kernel fn;
  adam_kernel adam;
  std::string_view name;
};

variant choose() {
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2")
                && __builtin_cpu_supports("fma");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char* forced = std::getenv("NEXUS_ISA");
  std::string want = forced ? forced : "";
  variant generic{nexus_sgemm_generic, nexus_adam_generic, "generic"};
  variant wide2{nexus_sgemm_avx2, nexus_adam_avx2, "avx2+fma"};
  variant wide512{nexus_sgemm_avx512, nexus_adam_avx512, "avx512"};
  if (want == "generic")
    return generic;
  if (want == "avx2" && avx2)
    return wide2;
  if (avx512 && (want.empty() || want == "avx512"))
    return wide512;
  return avx2 ? wide2 : generic;
}

const variant& chosen() {
  static const variant v = choose();
  return v;
}

} // namespace

void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
           float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
           float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0)
    return;
  chosen().fn(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void adam(float* params, float* m, float* v, const float* grad, std::size_t n,
          float grad_scale, float beta1, float beta2, float rate, float root2, float eps) {
  chosen().adam(params, m, v, grad, n, grad_scale, beta1, beta2, rate, root2, eps);
}

std::string_view isa() {
  return chosen().name;
}

} // namespace nexus::compute::kernels
