// SHA-256 digests (OpenSSL), the identity of blocks, transactions and data blobs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nexus::chain {

using digest = std::array<uint8_t, 32>;

digest sha256(std::span<const uint8_t> bytes);

/// Lowercase hex, 64 characters.
std::string to_hex(const digest& d);

/// Parses 64 hex characters; nullopt for anything else.
std::optional<digest> digest_from_hex(std::string_view hex);

} // namespace nexus::chain
