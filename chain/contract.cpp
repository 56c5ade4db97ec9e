#include "chain/contract.hpp"

#include "compute/errc.hpp"

namespace nexus::chain {

bool is_payment(const transaction& t) {
  return t.kind == tx_kind::reward || t.kind == tx_kind::penalty;
}

namespace {

transaction payment(tx_kind kind, const transaction& cause, std::string account,
                    int64_t amount) {
  transaction t;
  t.kind = kind;
  t.task_id = cause.task_id;
  t.shard_id = cause.shard_id;
  t.attempt = cause.attempt;
  t.worker = cause.worker;
  t.validator = cause.validator;
  t.account = std::move(account);
  t.amount = amount;
  return t;
}

// A payment as the contract derives it: the fields it decides, without signature, signer
// or time, which the proposer adds.
bool same_payment(const transaction& derived, const transaction& stored) {
  auto strip = stored;
  strip.time_ms = 0;
  strip.signer = {};
  strip.sig = {};
  return strip == derived;
}

} // namespace

std::vector<transaction> contract_state::settle(const std::vector<transaction>& inputs) {
  std::vector<transaction> out;
  for (const auto& t : inputs) {
    last_task_ = std::max(last_task_, t.task_id);
    attempt_key key{t.task_id, t.shard_id, t.attempt};
    if (t.kind == tx_kind::contribution) {
      if (!judged_.contains(key))
        contributions_.try_emplace(key, t);
      continue;
    }
    if (t.kind != tx_kind::verdict || judged_.contains(key))
      continue; // submissions pay nothing here; a replayed verdict counts once
    auto c = contributions_.find(key);
    if (c == contributions_.end() || c->second.worker != t.worker
        || c->second.result != t.result)
      continue; // no contribution for what was judged
    judged_.insert(key);
    auto units = static_cast<int64_t>(c->second.work_units);
    if (t.valid) {
      if (paid_.insert({t.task_id, t.shard_id}).second) {
        auto total = units * rules_.micro_mcc_per_work_unit;
        auto to_validator = total * rules_.validator_share_permille / 1000;
        out.push_back(payment(tx_kind::reward, t, t.worker, total - to_validator));
        out.push_back(payment(tx_kind::reward, t, t.validator, to_validator));
      }
    } else {
      out.push_back(payment(tx_kind::penalty, t, t.worker, rules_.penalty_micro_mcc));
    }
    contributions_.erase(c);
  }
  for (const auto& p : out)
    balances_[p.account] += p.kind == tx_kind::reward ? p.amount : -p.amount;
  return out;
}

caf::expected<balance_deltas> contract_state::replay(const block& b) {
  std::vector<transaction> inputs;
  std::vector<transaction> payments;
  for (const auto& t : b.txs)
    (is_payment(t) ? payments : inputs).push_back(t);
  // Inputs first, then the payments they earn.
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (is_payment(b.txs[i]))
      return make_error(errc::corrupted, "block " + std::to_string(b.header.height)
                                           + ": a payment before the inputs it pays for");
  auto derived = settle(inputs);
  if (derived.size() != payments.size())
    return make_error(errc::corrupted,
                      "block " + std::to_string(b.header.height) + ": holds "
                        + std::to_string(payments.size()) + " payments, the contract (v"
                        + std::to_string(rules_.version) + ") derives "
                        + std::to_string(derived.size()));
  balance_deltas deltas;
  for (std::size_t i = 0; i < derived.size(); ++i) {
    if (!same_payment(derived[i], payments[i]))
      return make_error(errc::corrupted, "block " + std::to_string(b.header.height)
                                           + ": payment " + std::to_string(i) + " to "
                                           + payments[i].account
                                           + " is not what the contract derives");
    deltas[derived[i].account] +=
      derived[i].kind == tx_kind::reward ? derived[i].amount : -derived[i].amount;
  }
  return deltas;
}

} // namespace nexus::chain
