// Governance: how the contract's rules change after the first block.
//
// The first block states the rules (chain/contract.hpp). Later, a governance record
// changes them: it names the chain (the hash of its first block), its sequence number
// (how many changes the chain recorded before it), the height from which the new rules
// hold and the rules themselves, and carries the approvals (Ed25519 signatures of exactly
// those bytes) of more than two thirds of the ledger nodes in force.
// Anyone may hand it in (signing the record as its sender: the approvals are what
// count, not who carried them); the contract admits
// it only while its height is still ahead of the chain and no other change is scheduled
// for that height, and only as the chain's next change: so an approval counts once, on one
// chain, for one height, and a change approved but not handed in before another was
// recorded can never be (its number is taken). Blocks from that height on are settled and
// replayed under the new rules (docs/LEDGER.md).
//
// A ledger operator approves a change offline with the node's key (`nexus-node
// governance approve`); the text form below is what such operators pass along.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "chain/block.hpp"
#include "chain/contract.hpp"
#include "chain/identity.hpp"

namespace nexus::chain {

struct rules_change {
  digest chain{};        // the first block's hash
  uint64_t sequence = 0; // the changes the chain recorded before this one
  uint64_t height = 0;   // the rules hold for blocks from this height on
  contract_rules rules;

  friend bool operator==(const rules_change&, const rules_change&) = default;
};

struct approval {
  public_key key{};
  signature sig{};

  friend bool operator==(const approval&, const approval&) = default;
};

/// What a ledger node signs to approve `c`: text("nexuschain governance v1"), the chain,
/// u64 sequence, u64 height and the rules record's bytes.
std::vector<uint8_t> approval_message(const rules_change& c);

/// `key`'s approval of `c`.
approval approve(const rules_change& c, const node_key& key);

struct governance {
  rules_change change;
  std::vector<approval> approvals;

  friend bool operator==(const governance&, const governance&) = default;
};

/// The governance record of `g` (unsigned: its sender signs it), and back (errc::corrupted
/// for other bytes, or more approvals than a record holds: 680).
transaction governance_record(const governance& g);
expected<governance> governance_of(const transaction& t);

/// Why the approvals of `g` do not carry it among `ledger_keys` (a key outside the set, a
/// key twice, a signature that does not verify, or not more than two thirds of the set),
/// or nothing.
std::string approval_problem(const governance& g, std::span<const public_key> ledger_keys);

/// The text form, one line each:
///   chain HEX
///   sequence N
///   height N
///   rules VERSION MICRO_MCC_PER_WORK_UNIT VALIDATOR_PERMILLE PENALTY_MICRO_MCC
///   AUDIT_PERMILLE approval KEY_HEX SIGNATURE_HEX        (zero or more)
/// A '#' starts a comment to the end of its line; blank lines are skipped. parse:
/// errc::invalid_input naming the line that is wrong: a word twice (but approvals), a
/// number with a sign, a byte that is not printable ASCII.
std::string to_text(const governance& g);
expected<governance> parse_governance(std::string_view text);

/// parse_governance of the file at `path` (errc::not_found if it cannot be read), its
/// name before each error.
expected<governance> read_governance(const std::filesystem::path& path);

} // namespace nexus::chain
