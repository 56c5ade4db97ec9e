// SHA-256 digests (OpenSSL), the identity of blocks, transactions and data blobs.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace nexus::chain {

using digest = std::array<uint8_t, 32>;

digest sha256(std::span<const uint8_t> bytes);

/// Lowercase hex, 64 characters.
std::string to_hex(const digest& d);

} // namespace nexus::chain
