// The GEMM kernel of every instruction set this processor runs: transposes, strides,
// alpha and beta, against a plain triple loop.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "compute/kernels/sgemm.hpp"
#include "compute/kernels/sgemm_variants.hpp"
#include "compute/tensor.hpp"


using namespace nexus;

TEST_CASE("every GEMM variant matches a plain product", "[gemm]") {
  __builtin_cpu_init();
  struct variant {
    std::string name;
    decltype(&nexus_sgemm_generic) fn;
    bool runs;
  };
  std::vector<variant> variants{
    {"generic", nexus_sgemm_generic, true},
    {"avx2", nexus_sgemm_avx2, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
    {"avx512", nexus_sgemm_avx512,
     __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
       && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")},
  };
  const std::size_t m = 37, n = 29, k = 53, pad = 3; // odd sizes, padded rows
  auto a = compute::random_tensor({k + pad, k + pad}, 1); // big enough for either layout
  auto b = compute::random_tensor({k + pad, k + pad}, 2);
  auto c0 = compute::random_tensor({m, n + pad}, 3);
  const std::size_t ld = k + pad;
  for (const auto& v : variants) {
    if (!v.runs)
      continue;
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO(v.name << " trans_a " << ta << " trans_b " << tb);
        auto c = c0;
        v.fn(ta, tb, m, n, k, 0.5f, a.data(), ld, b.data(), ld, 2.0f, c.data(), n + pad);
        double worst = 0;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < n; ++j) {
            double sum = 0;
            for (std::size_t p = 0; p < k; ++p) {
              double x = ta ? a.data()[p * ld + i] : a.data()[i * ld + p];
              double y = tb ? b.data()[j * ld + p] : b.data()[p * ld + j];
              sum += x * y;
            }
            double want = 0.5 * sum + 2.0 * c0.data()[i * (n + pad) + j];
            worst = std::max(worst, std::abs(want - c.data()[i * (n + pad) + j]));
          }
        CHECK(worst < 1e-4);
        // The padding past n in each row of C is left alone.
        CHECK(c.data()[n] == c0.data()[n]);
      }
  }
  CHECK_FALSE(compute::kernels::isa().empty());
}
