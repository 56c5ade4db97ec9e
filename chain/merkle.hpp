// Merkle trees over SHA-256 with inclusion proofs.
//
// Leaves and inner nodes are hashed with different prefixes (0x00 and 0x01), so an inner
// node can never pass for a leaf. A node without a sibling moves up unchanged instead of
// being paired with itself, so no two leaf lists share a root. The root of no leaves is
// SHA-256 of nothing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "chain/hash.hpp"

namespace nexus::chain {

/// One step of a proof: the sibling's hash and whether it sits on the left.
struct proof_step {
  digest sibling{};
  bool left = false;

  friend bool operator==(const proof_step&, const proof_step&) = default;
};

using merkle_proof = std::vector<proof_step>;

/// The leaf hash of an item whose own digest is `item`.
digest merkle_leaf(const digest& item);

/// The root over the items' digests, in order.
digest merkle_root(std::span<const digest> items);

/// The proof that items[index] is in the tree; empty if index is out of range.
merkle_proof merkle_prove(const std::vector<digest>& items, std::size_t index);

/// The proofs of every item, in order: O(n log n), where n calls of merkle_prove are
/// O(n^2).
std::vector<merkle_proof> merkle_prove_all(const std::vector<digest>& items);

/// The whole tree over the items' digests, level by level: the leaf hashes first, the
/// root alone last (none for no items).
std::vector<std::vector<digest>> merkle_levels(std::span<const digest> items);

/// True if `proof` is exactly the proof merkle_prove gives for the item at `index` of the
/// tree `levels` (so it leads from that item to the tree's root).
bool merkle_proof_matches(const std::vector<std::vector<digest>>& levels, std::size_t index,
                          const merkle_proof& proof);

/// The root that `proof` leads to from `item`.
digest merkle_climb(const digest& item, const merkle_proof& proof);

/// True if `proof` leads from `item` to `root`.
bool merkle_verify(const digest& item, const merkle_proof& proof, const digest& root);

} // namespace nexus::chain
