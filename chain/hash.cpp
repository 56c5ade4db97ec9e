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

} // namespace nexus::chain
