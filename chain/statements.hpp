// Statements signed in batches: one Ed25519 signature over the Merkle root of many
// 32-byte statements, each carrying its inclusion proof, so that every statement still
// stands alone while a batch of N costs one signature and, for a verifier that remembers
// the roots it checked, one verification.
//
// What is signed is `tag` followed by the root, so a batch of one kind of statement can
// never pass for another kind (or for a transaction batch, chain/block.hpp).
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string_view>
#include <tuple>
#include <vector>

#include "chain/identity.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct statement_signature {
  signature sig{};
  merkle_proof proof; // from the statement to the signed root

  friend bool operator==(const statement_signature&, const statement_signature&) = default;
};

/// Signs `statements` at once: one signature each, over their common root.
std::vector<statement_signature> sign_statements(std::span<const digest> statements,
                                                 std::string_view tag, const node_key& key);

/// True if `s` is `key`'s signature, under `tag`, of a batch holding `statement`.
bool statement_signed(const public_key& key, const digest& statement,
                      const statement_signature& s, std::string_view tag);

/// statement_signed, remembering the last `capacity` (key, root, signature) it verified,
/// so that the statements of one batch cost one Ed25519 verification. One owner.
class statement_verifier {
public:
  explicit statement_verifier(std::string_view tag, std::size_t capacity = 256)
      : tag_(tag)
      , capacity_(capacity) {}

  bool operator()(const public_key& key, const digest& statement,
                  const statement_signature& s);

private:
  using entry = std::tuple<public_key, digest, signature>;
  std::string tag_;
  std::size_t capacity_;
  std::deque<entry> verified_; // most recent last
};

/// Proofs as bytes (33 per step: the sibling, then 1 if it sits on the left), and back;
/// errc::corrupted for a length that is no whole number of steps or above 32 steps.
std::vector<uint8_t> encode_proof(const merkle_proof& proof);
expected<merkle_proof> decode_proof(std::span<const uint8_t> bytes);

} // namespace nexus::chain
