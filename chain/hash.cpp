#include "chain/hash.hpp"

#include <openssl/evp.h>

namespace nexus::chain {

digest sha256(std::span<const uint8_t> bytes) {
  digest out{};
  unsigned len = 0;
  // One-shot EVP digest: OpenSSL 3 picks the fastest implementation (SHA-NI, AVX2).
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string to_hex(const digest& d) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto byte : d) {
    out += hex[byte >> 4];
    out += hex[byte & 0xf];
  }
  return out;
}

std::optional<digest> digest_from_hex(std::string_view text) {
  if (text.size() != 64)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  digest out{};
  for (std::size_t i = 0; i < 32; ++i) {
    auto hi = nibble(text[2 * i]);
    auto lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

} // namespace nexus::chain
