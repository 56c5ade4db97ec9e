#include "actors/core/ledger_queries.hpp"

#include <algorithm>
#include <optional>

#include "chain/audit.hpp"

namespace nexus {

namespace {

block_summary summary_of(const chain::block& b) {
  return {.height = b.header.height,
          .hash = b.header.hash(),
          .prev = b.header.prev,
          .merkle_root = b.header.merkle_root,
          .proposer = b.header.proposer,
          .tx_count = static_cast<uint32_t>(b.txs.size())};
}

error balances(const chain::store& store, const std::string& account, ledger_answer& out) {
  if (!account.empty())
    out.balances.push_back({account, store.balance(account)});
  else
    for (const auto& [name, micro] : store.balances())
      out.balances.push_back({name, micro});
  return {};
}

error history(const chain::store& store, const std::string& account, ledger_answer& out) {
  std::optional<chain::block> b;
  for (auto [height, index] : store.history(account)) {
    if (!b || b->header.height != height) {
      auto got = store.get(height);
      if (!got)
        return got.error();
      b = std::move(*got);
    }
    if (index < b->txs.size())
      out.entries.push_back({height, chain::encode(b->txs[index])});
  }
  return {};
}

error block(const chain::store& store, uint64_t height, ledger_answer& out) {
  auto b = store.get(height);
  if (!b)
    return b.error();
  out.blocks.push_back(summary_of(*b));
  for (const auto& t : b->txs)
    out.entries.push_back({height, chain::encode(t)});
  return {};
}

error tail(const chain::store& store, uint32_t count, ledger_answer& out) {
  uint64_t n = count == 0 ? default_tail : std::min(count, max_tail);
  auto head = store.head();
  uint64_t first = head.blocks > n ? head.blocks - n : 0;
  for (uint64_t h = first; h < head.blocks; ++h) {
    auto b = store.get(h);
    if (!b)
      return b.error();
    out.blocks.push_back(summary_of(*b));
  }
  return {};
}

void verify(const chain::ledger& ledger, ledger_answer& out) {
  auto report = chain::audit(ledger.chain());
  out.audit_ok = static_cast<bool>(report);
  out.audit_report = chain::describe_audit(report);
  if (report) {
    out.audit_blocks = report->blocks;
    out.audit_transactions = report->transactions;
  } else {
    out.audit_problem = describe(report.error());
  }
}

} // namespace

expected<ledger_answer> answer(const chain::ledger& ledger, const ledger_query& q) {
  const auto& store = ledger.chain();
  ledger_answer out;
  error err;
  switch (q.question) {
  case ledger_question::balance:
    err = balances(store, q.account, out);
    break;
  case ledger_question::history:
    err = history(store, q.account, out);
    break;
  case ledger_question::block:
    err = block(store, q.height, out);
    break;
  case ledger_question::tail:
    err = tail(store, q.count, out);
    break;
  case ledger_question::verify:
    verify(ledger, out);
    break;
  case ledger_question::last_task:
    out.last_task = ledger.contract().last_task();
    out.last_internal_task = ledger.contract().last_internal_task();
    break;
  case ledger_question::trust:
    for (const auto& [name, streak] : ledger.contract().streaks())
      out.streaks.emplace_back(name, streak);
    break;
  case ledger_question::members:
    for (const auto& [name, m] : ledger.contract().members().entries())
      if (q.account.empty() || q.account == name)
        out.members.push_back({name, m.key, m.roles});
    break;
  }
  if (err)
    return err;
  return out;
}

} // namespace nexus
