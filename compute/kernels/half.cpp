#include "compute/kernels/half.hpp"

#include <cstring>

namespace nexus::compute::kernels {

namespace {

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

} // namespace

// Selects are written as masks, not ?:, which GCC would keep as branches around the
// float addition (it may not speculate a float operation) and not vectorize.

__attribute__((target_clones("avx512f", "avx2", "default"))) uint32_t
largest_magnitude_bits(const float* x, std::size_t n) {
  uint32_t largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto u = bits_of(x[i]) & 0x7fffffffu;
    largest = u > largest ? u : largest;
  }
  return largest;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void
to_half(const float* x, std::size_t n, float scale, uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    auto u = bits_of(x[i] * scale);
    auto sign = (u >> 16) & 0x8000u;
    auto a = u & 0x7fffffffu;
    // A normal half (|v| >= 2^-14): rebias the exponent by 127 - 15 and round the 13
    // mantissa bits that go, to nearest, ties to the even one.
    auto normal = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
    // A subnormal half counts units of 2^-24: adding 0.5 (whose ulp is 2^-24) leaves
    // them, rounded to nearest even by the addition itself, in the low mantissa bits.
    auto subnormal = bits_of(float_of(a) + 0.5f) - 0x3f000000u;
    auto is_normal = 0u - static_cast<uint32_t>(a >= 0x38800000u);
    out[i] = static_cast<uint16_t>(sign | (normal & is_normal) | (subnormal & ~is_normal));
  }
}

} // namespace nexus::compute::kernels
