// `ledger verify`: an audit anyone can run over a store, from the chain alone.
//
// Re-reads every block from height 0 and checks that its stored bytes are its canonical
// encoding, its link to the previous one, its Merkle root, every signature and the form
// of the proposer's records, and its commit certificate: precommits of more than two
// thirds of the ledger nodes in force before it, for SHA-256 of its bytes; replays the
// contract, whose rules and membership come from the chain (so every signer and proposer is
// the key its name is bound to, and every payment is what the rules in force derive, and
// the state root in each header commits to the balances after its block); then accounts for
// every other stored entry (each transaction's and each account's index entries, every
// balance, the head): one missing, changed or that nothing on the chain made is reported by
// name. Finally the supply must add up: the balances sum to paid - charged - penalized.
//
// So a change to any stored byte fails the audit. What it cannot tell from the chain
// alone is whether the first block is the network's: compare its hash (in the report)
// with one known from elsewhere.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "chain/contract.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct audit_report {
  uint64_t blocks = 0;
  uint64_t transactions = 0;
  digest first_block{}; // the hash of block 0, which names the network's first members
  std::size_t members = 0;
  contract_rules rules;                         // in force at the head
  std::map<uint64_t, contract_rules> scheduled; // by governance, from a height ahead
  supply_totals supply;
  // The store's history entries were in the form of earlier builds and were made again
  // from the blocks as it opened (what they said before is not checked).
  bool history_rewritten = false;
};

/// The report, or errc::corrupted naming the first bad height or entry and what is wrong.
expected<audit_report> audit(const store& s);

/// "ledger OK: H blocks, T transactions, ..." or "ledger BAD at height H: what".
std::string describe_audit(const expected<audit_report>& result);

} // namespace nexus::chain
