// The GEMM kernel of every instruction set this processor runs: transposes, strides,
// alpha and beta, against a plain triple loop; the half-precision conversion against the
// table of every half.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "compute/kernels/half.hpp"
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
      {"avx2", nexus_sgemm_avx2,
       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
      {"avx512", nexus_sgemm_avx512,
       __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")},
  };
  const std::size_t m = 37, n = 29, k = 53, pad = 3;      // odd sizes, padded rows
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

namespace {

// The value of half bit pattern h (finite, non-negative).
double half_value(uint16_t h) {
  int exponent = h >> 10;
  int mantissa = h & 0x3ff;
  return exponent == 0 ? std::ldexp(mantissa, -24)
                       : std::ldexp(1024 + mantissa, exponent - 25);
}

// The half nearest |x| by search over every finite half, ties to the even pattern.
uint16_t nearest_half(double x) {
  static const std::vector<double> table = [] {
    std::vector<double> t;
    for (uint16_t h = 0; h < 0x7c00; ++h)
      t.push_back(half_value(h));
    return t;
  }();
  x = std::abs(x);
  auto above = std::lower_bound(table.begin(), table.end(), x) - table.begin();
  if (above == 0)
    return 0;
  auto below = above - 1;
  if (above == static_cast<std::ptrdiff_t>(table.size()))
    return static_cast<uint16_t>(below);
  double up = table[above] - x, down = x - table[below];
  if (up != down)
    return static_cast<uint16_t>(up < down ? above : below);
  return static_cast<uint16_t>(above % 2 == 0 ? above : below);
}

} // namespace

TEST_CASE("floats become the nearest half, ties to even, with any scale", "[gemm]") {
  std::vector<float> x;
  // Every midpoint between neighbouring halves (an exact tie), and the floats beside it.
  for (uint16_t h = 0; h + 1 < 0x7c00; h += 7) {
    auto mid = static_cast<float>((half_value(h) + half_value(h + 1)) / 2);
    x.insert(x.end(), {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)});
  }
  // Random values over every binade a half has, and below it; both signs; zeros.
  std::mt19937 rng{3};
  std::uniform_real_distribution<float> mantissa{1.0f, 2.0f};
  std::uniform_int_distribution<int> binade{-30, 14}; // below 2^15: no overflow
  for (int i = 0; i < 20000; ++i)
    x.push_back((i % 2 ? -1.0f : 1.0f) * std::ldexp(mantissa(rng), binade(rng)));
  x.insert(x.end(), {0.0f, -0.0f, 65504.0f, 6.1035156e-5f, 5.9604645e-8f, 2.9802322e-8f});
  for (float scale : {1.0f, 0.25f}) {
    // Every length up to a few vectors, so that each loop's tail runs too.
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{33}, x.size()}) {
      std::vector<uint16_t> out(n);
      compute::kernels::to_half(x.data(), n, scale, out.data());
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < n; ++i) {
        double v = static_cast<double>(x[i]) * scale;
        auto want = static_cast<uint16_t>(nearest_half(v) | (std::signbit(v) ? 0x8000 : 0));
        if (out[i] != want && wrong++ < 5)
          FAIL_CHECK("x " << x[i] << " scale " << scale << ": " << out[i] << " not "
                          << want);
      }
      CHECK(wrong == 0);
    }
  }
  std::vector<float> row{1.0f, -3.5f, 2.0f, 0.0f};
  CHECK(compute::kernels::largest_magnitude_bits(row.data(), row.size()) == 0x40600000u);
  row[2] = std::nanf("");
  CHECK(compute::kernels::largest_magnitude_bits(row.data(), row.size()) >= 0x7f800000u);
  row[2] = -INFINITY;
  CHECK(compute::kernels::largest_magnitude_bits(row.data(), row.size()) == 0x7f800000u);
}

TEST_CASE("Adam's update is the same bits at any alignment and in every variant",
          "[gemm]") {
  // Which values a vector loop takes in its body and which in its scalar head and tail
  // follows the arrays' alignment, so any difference between the two paths made the same
  // training run come out differently from one process to the next.
  __builtin_cpu_init();
  struct variant {
    decltype(&nexus_adam_generic) fn;
    bool runs;
  };
  std::vector<variant> variants{
      {nexus_adam_generic, true},
      {nexus_adam_avx2, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
      {nexus_adam_avx512,
       __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")},
  };
  const std::size_t n = 1000;
  auto p0 = compute::random_tensor({n}, 4), g = compute::random_tensor({n}, 5);
  auto m0 = compute::random_tensor({n}, 6), v0 = compute::random_tensor({n}, 7);
  for (auto& x : v0.values())
    x = x * x; // second moments are not negative
  std::vector<float> want;
  for (const auto& v : variants) {
    if (!v.runs)
      continue;
    for (std::size_t offset = 0; offset < 16; ++offset) {
      std::vector<float> p(offset + n), m(offset + n), s(offset + n), grad(offset + n);
      std::copy_n(p0.data(), n, p.data() + offset);
      std::copy_n(m0.data(), n, m.data() + offset);
      std::copy_n(v0.data(), n, s.data() + offset);
      std::copy_n(g.data(), n, grad.data() + offset);
      for (int step = 0; step < 3; ++step)
        v.fn(p.data() + offset, m.data() + offset, s.data() + offset, grad.data() + offset,
             n, 0.5f, 0.9f, 0.999f, 1e-3f, 0.05f, 1e-8f);
      std::vector<float> got(p.begin() + static_cast<std::ptrdiff_t>(offset), p.end());
      got.insert(got.end(), m.begin() + static_cast<std::ptrdiff_t>(offset), m.end());
      got.insert(got.end(), s.begin() + static_cast<std::ptrdiff_t>(offset), s.end());
      if (want.empty())
        want = got;
      INFO("offset " << offset);
      CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
    }
  }
}
