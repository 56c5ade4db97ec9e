#include "apps/nexus-shell/ledger_view.hpp"

#include "chain/audit.hpp"
#include "chain/contract.hpp"
#include "chain/hash.hpp"
#include "chain/membership.hpp"

namespace nexus::shell {

namespace {

std::string block_line(const block_summary& b) {
  return "block " + std::to_string(b.height) + "  " + chain::to_hex(b.hash).substr(0, 16)
         + "  " + std::to_string(b.tx_count) + " transactions";
}

std::string entry_line(const ledger_entry& e) {
  auto t = chain::decode_transaction(e.transaction);
  return t ? chain::describe_tx(*t) : "unreadable transaction: " + describe(t.error());
}

} // namespace

std::vector<std::string> ledger_lines(const ledger_query& q, const ledger_answer& a) {
  std::vector<std::string> out;
  switch (q.question) {
  case ledger_question::balance:
    for (const auto& b : a.balances)
      out.push_back(b.account + "  " + chain::format_mcc(b.micro_mcc));
    if (out.empty())
      out.push_back("no balances yet");
    break;
  case ledger_question::history:
    for (const auto& e : a.entries)
      out.push_back("block " + std::to_string(e.height) + "  " + entry_line(e));
    if (out.empty())
      out.push_back("nothing recorded for " + q.account);
    break;
  case ledger_question::block:
    for (const auto& b : a.blocks)
      out.push_back("block " + std::to_string(b.height) + "  hash " + chain::to_hex(b.hash)
                    + "\n  previous " + chain::to_hex(b.prev) + "\n  merkle root "
                    + chain::to_hex(b.merkle_root) + "\n  proposer "
                    + chain::to_hex(b.proposer).substr(0, 16) + "...  "
                    + std::to_string(b.tx_count) + " transactions");
    for (const auto& e : a.entries)
      out.push_back("  " + entry_line(e));
    break;
  case ledger_question::tail:
    for (const auto& b : a.blocks)
      out.push_back(block_line(b));
    if (out.empty())
      out.push_back("the ledger is empty");
    break;
  case ledger_question::verify:
    out.push_back(a.audit_report);
    break;
  case ledger_question::last_task:
    out.push_back("last task " + std::to_string(a.last_task) + ", last internal task "
                  + std::to_string(a.last_internal_task));
    break;
  case ledger_question::trust:
    for (const auto& [node, streak] : a.streaks)
      out.push_back(node + "  " + std::to_string(streak));
    break;
  case ledger_question::members:
    for (const auto& m : a.members)
      out.push_back(m.name + "  " + chain::describe_roles(m.roles) + "  key "
                    + chain::to_hex(m.key));
    if (out.empty())
      out.push_back(q.account.empty() ? "no members" : q.account + " is no member");
    break;
  }
  return out;
}

} // namespace nexus::shell
