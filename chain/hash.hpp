// SHA-256 digests (OpenSSL), the identity of blocks, transactions and data blobs.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st; // OpenSSL's EVP_MD_CTX

namespace nexus::chain {

using digest = std::array<uint8_t, 32>;

digest sha256(std::span<const uint8_t> bytes);

/// A hash of digests for unordered containers: the digest's first 16 bytes mixed with a
/// number drawn once per process (not a cryptographic function: a peer that grinds ids
/// to crowd one bucket must first learn the number from the timing of lookups).
struct digest_hash {
  std::size_t operator()(const digest& d) const noexcept;
};

/// SHA-256 over bytes given piece by piece.
class sha256_stream {
public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;

  void update(std::span<const uint8_t> bytes);

  /// The digest of everything given; the stream is spent.
  digest finish();

private:
  ::evp_md_ctx_st* ctx_;
};

/// Lowercase hex, 64 characters.
std::string to_hex(const digest& d);

/// Lowercase hex of any bytes (a signature: 128 characters).
std::string to_hex(std::span<const uint8_t> bytes);

/// Fills `out` from exactly 2 * out.size() hex digits (either case); false otherwise.
bool from_hex(std::string_view hex, std::span<uint8_t> out);

} // namespace nexus::chain
