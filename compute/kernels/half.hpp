// IEEE half precision, bit for bit on every processor.
//
// Committing to a training round's gradient rows hashes ~900 MB per epoch; hashing them
// in half precision (scaled, see actors/results.hpp) halves that. A commitment must come
// out the same on the worker and on every validator, so the conversion here is IEEE's
// round-to-nearest-even done with integer operations and one exact-or-RNE float addition:
// the same bits whatever the instruction set. Each function is compiled for AVX-512,
// AVX2 and baseline x86-64 (GCC's target_clones) and the loader picks the widest.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nexus::compute::kernels {

/// The largest |x[i]|'s bit pattern (sign cleared): 0x7f800000 or more when some value
/// is infinite or NaN. Bit patterns of non-negative floats order as their values.
uint32_t largest_magnitude_bits(const float* x, std::size_t n);

/// out[i] = the IEEE binary16 bits nearest x[i] * scale, ties to even (as F16C's
/// vcvtps2ph with round-to-nearest). Every x[i] * scale must be below 65520 in magnitude
/// (no overflow to infinity is handled).
void to_half(const float* x, std::size_t n, float scale, uint16_t* out);

} // namespace nexus::compute::kernels
