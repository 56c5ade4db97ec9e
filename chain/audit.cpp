#include "chain/audit.hpp"

#include "compute/errc.hpp"

namespace nexus::chain {

expected<audit_report> audit(const store& s, const contract_rules& rules) {
  audit_report report;
  contract_state contract{rules};
  auto head = s.head();
  digest prev{};
  for (uint64_t h = 0; h < head.blocks; ++h) {
    auto bad = [&](const std::string& what) {
      return make_error(errc::corrupted, "height " + std::to_string(h) + ": " + what);
    };
    auto b = s.get(h);
    if (!b)
      return bad(describe(b.error()));
    if (b->header.prev != prev)
      return bad("does not link to the block before it");
    if (auto err = check(*b))
      return bad(describe(err));
    if (auto deltas = contract.replay(*b); !deltas)
      return bad(describe(deltas.error()));
    for (uint32_t i = 0; i < b->txs.size(); ++i) {
      auto id = b->txs[i].id();
      auto where = s.find(id);
      if (!where)
        return bad("transaction " + std::to_string(i) + " is missing from the index");
      if (*where == std::make_pair(h, i))
        continue;
      // The same bytes recorded again later: the index names the later copy.
      auto other = s.get(where->first);
      if (!other || where->second >= other->txs.size()
          || other->txs[where->second].id() != id)
        return bad("the index entry of transaction " + std::to_string(i)
                   + " points elsewhere");
    }
    prev = b->header.hash();
    ++report.blocks;
    report.transactions += b->txs.size();
  }
  if (head.blocks > 0 && prev != head.hash)
    return make_error(errc::corrupted, "height " + std::to_string(head.height)
                                           + ": the recorded head hash differs");
  auto stored = s.balances();
  for (const auto& [account, balance] : contract.balances())
    if (stored[account] != balance)
      return make_error(errc::corrupted, "balance of " + account + ": stored "
                                             + std::to_string(stored[account])
                                             + ", the contract replays "
                                             + std::to_string(balance));
  for (const auto& [account, balance] : stored)
    if (!contract.balances().contains(account) && balance != 0)
      return make_error(errc::corrupted, "balance of " + account
                                             + ": stored but never paid by the contract");
  return report;
}

std::string describe_audit(const expected<audit_report>& result) {
  if (!result)
    return "ledger BAD at " + describe(result.error());
  return "ledger OK: " + std::to_string(result->blocks) + " blocks, "
         + std::to_string(result->transactions) + " transactions";
}

} // namespace nexus::chain
