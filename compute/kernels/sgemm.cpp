#include "compute/kernels/sgemm.hpp"

#include <cstdlib>
#include <string>

#include "compute/kernels/sgemm_variants.hpp"

namespace nexus::compute::kernels {

namespace {

using kernel = decltype(&nexus_sgemm_generic);

struct variant {
  kernel fn;
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
  if (want == "generic")
    return {nexus_sgemm_generic, "generic"};
  if (want == "avx2" && avx2)
    return {nexus_sgemm_avx2, "avx2+fma"};
  if (avx512 && (want.empty() || want == "avx512"))
    return {nexus_sgemm_avx512, "avx512"};
  if (avx2)
    return {nexus_sgemm_avx2, "avx2+fma"};
  return {nexus_sgemm_generic, "generic"};
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

std::string_view isa() {
  return chosen().name;
}

} // namespace nexus::compute::kernels
