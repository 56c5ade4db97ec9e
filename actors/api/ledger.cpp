#include "actors/api/ledger.hpp"

#include "chain/block.hpp"
#include "chain/contract.hpp"

namespace nexus::api {

std::vector<ledger_event> events_of(const ledger_answer& answer) {
  std::vector<ledger_event> out;
  out.reserve(answer.entries.size());
  for (const auto& e : answer.entries) {
    auto t = chain::decode_transaction(e.transaction);
    if (!t) {
      out.push_back({.height = e.height,
                     .kind = "unreadable",
                     .text = "unreadable transaction: " + describe(t.error())});
      continue;
    }
    out.push_back({.height = e.height,
                   .kind = chain::to_string(t->kind),
                   .task_id = t->task_id,
                   .shard_id = t->shard_id,
                   .account = t->account,
                   .worker = t->worker,
                   .validator = t->validator,
                   .micro_mcc = t->amount,
                   .valid = t->valid,
                   .time_ms = t->time_ms,
                   .text = chain::describe_tx(*t)});
  }
  return out;
}

std::string format_mcc(int64_t micro_mcc) {
  return chain::format_mcc(micro_mcc);
}

expected<int64_t> parse_mcc(const std::string& text) {
  return chain::parse_mcc(text);
}

} // namespace nexus::api
