// `ledger verify`: an audit anyone can run over a store.
//
// Re-reads every block from height 0, re-hashes it and checks its link to the previous
// one, its Merkle root, every signature and every transaction's index entry, replays the
// reward contract, and compares every balance the contract yields with the stored one.
#pragma once

#include <cstdint>
#include <string>

#include "chain/contract.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct audit_report {
  uint64_t blocks = 0;
  uint64_t transactions = 0;
};

/// The report, or errc::corrupted naming the first bad height and what is wrong.
expected<audit_report> audit(const store& s, const contract_rules& rules);

/// "ledger OK: H blocks, T transactions" or "ledger BAD at height H: what".
std::string describe_audit(const expected<audit_report>& result);

} // namespace nexus::chain
