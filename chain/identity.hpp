// A node's identity: an Ed25519 key pair (OpenSSL), kept in the node's data directory.
//
// The private key lives in DIR/node.key (PEM, mode 0600), created on first start. The
// node id is derived from the public key, so it cannot be claimed without the key: the
// first 16 bytes of SHA-256(public key), in hex. Signatures are 64 bytes over any bytes;
// OpenSSL makes keys and signs, libsodium verifies.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "chain/hash.hpp"
#include "compute/errc.hpp"

struct evp_pkey_st; // OpenSSL's EVP_PKEY

namespace nexus::chain {

using public_key = std::array<uint8_t, 32>;
using signature = std::array<uint8_t, 64>;

class node_key {
public:
  /// A new random key pair (not stored).
  static expected<node_key> generate();

  /// The key in `dir`/node.key, created (with the directory) if absent. A file that is
  /// not an Ed25519 PEM key, or that others may read, is an error, never replaced.
  static expected<node_key> load_or_create(const std::filesystem::path& dir);

  const public_key& public_bytes() const noexcept {
    return public_;
  }

  /// The node id: hex of the first 16 bytes of SHA-256(public key).
  std::string id() const;

  signature sign(std::span<const uint8_t> message) const;

private:
  struct impl;
  static node_key adopt(evp_pkey_st* pkey); // takes ownership

  std::shared_ptr<impl> impl_;
  public_key public_{};
};

/// True if `sig` is `key`'s signature of `message`. Strict, as libsodium (which checks
/// it) is: a small-order or non-canonical public key, a small-order R or an S of L or
/// more is refused, so no signature verifies without its private key (OpenSSL alone takes
/// the small-order key 01 00..00 with the signature 01 00..00 for any message).
bool verify(const public_key& key, std::span<const uint8_t> message, const signature& sig);

/// True if `key` could sign: a canonical encoding of a point of the main subgroup, not
/// of small order.
bool key_acceptable(const public_key& key);

/// A public key from its 64 hex digits (chain::to_hex gives them: a public key has the
/// digest's type).
expected<public_key> public_key_from_hex(std::string_view hex);

} // namespace nexus::chain
