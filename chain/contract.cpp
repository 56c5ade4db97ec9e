#include "chain/contract.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "compute/errc.hpp"

namespace nexus::chain {

std::string task_name(uint64_t task_id) {
  return task_id >= internal_task_base
             ? "internal task " + std::to_string(task_id - internal_task_base)
             : "task " + std::to_string(task_id);
}

std::string format_mcc(int64_t micro) {
  char buf[64];
  auto magnitude = micro < 0 ? -static_cast<uint64_t>(micro) : static_cast<uint64_t>(micro);
  std::snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%06" PRIu64 " MCC", micro < 0 ? "-" : "",
                magnitude / 1'000'000, magnitude % 1'000'000);
  return buf;
}

expected<int64_t> parse_mcc(const std::string& text) {
  auto bad = [&] {
    return make_error(errc::invalid_input, "expected an amount of MCC such as 2 or 0.25 "
                                           "(at most six decimals), got '"
                                               + text + "'");
  };
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto frac = dot == std::string::npos ? std::string{} : text.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 12 || frac.size() > 6 || !digits(whole)
      || !digits(frac) || (dot != std::string::npos && frac.empty()))
    return bad();
  frac.resize(6, '0');
  return std::stoll(whole) * 1'000'000 + std::stoll(frac);
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
    auto& last = t.task_id >= internal_task_base ? last_internal_ : last_task_;
    last = std::max(last, t.task_id);
    attempt_key key{t.task_id, t.shard_id, t.attempt};
    if (t.kind == tx_kind::submission) {
      submissions_.try_emplace(t.task_id, funding{t.account, t.amount, 0}); // first wins
      continue;
    }
    if (t.kind == tx_kind::contribution) {
      if (!judged_.contains(key))
        contributions_.try_emplace(key, t);
      continue;
    }
    if (t.kind == tx_kind::audit) {
      if (audited_.insert({t.task_id, t.shard_id, t.attempt, t.validator}).second) {
        streaks_[t.validator] = 0;
        out.push_back(payment(tx_kind::penalty, t, t.validator, rules_.penalty_micro_mcc));
      }
      continue;
    }
    bool accepted = t.kind == tx_kind::acceptance;
    if ((t.kind != tx_kind::verdict && !accepted) || judged_.contains(key))
      continue; // a replayed verdict counts once
    auto c = contributions_.find(key);
    if (c == contributions_.end() || c->second.worker != t.worker
        || c->second.result != t.result)
      continue; // no contribution for what was judged
    judged_.insert(key);
    if (!accepted) {
      auto& streak = streaks_[t.worker];
      streak = t.valid ? streak + 1 : 0;
      ++streaks_[t.validator];
    }
    auto units = static_cast<int64_t>(c->second.work_units);
    if (t.valid || accepted) {
      auto total = units * rules_.micro_mcc_per_work_unit;
      auto funds = submissions_.find(t.task_id);
      bool affordable = funds == submissions_.end() || funds->second.budget == 0
                        || funds->second.spent + total <= funds->second.budget;
      if (affordable && paid_.insert({t.task_id, t.shard_id}).second) {
        auto to_validator = accepted ? 0 : total * rules_.validator_share_permille / 1000;
        out.push_back(payment(tx_kind::reward, t, t.worker, total - to_validator));
        if (!accepted)
          out.push_back(payment(tx_kind::reward, t, t.validator, to_validator));
        if (funds != submissions_.end()) {
          funds->second.spent += total;
          out.push_back(payment(tx_kind::charge, t, funds->second.submitter, total));
        }
      }
    } else {
      out.push_back(payment(tx_kind::penalty, t, t.worker, rules_.penalty_micro_mcc));
    }
    contributions_.erase(c);
  }
  for (const auto& p : out)
    balances_[p.account] += balance_change(p);
  return out;
}

expected<balance_deltas> contract_state::replay(const block& b) {
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
    return make_error(errc::corrupted, "block " + std::to_string(b.header.height)
                                           + ": holds " + std::to_string(payments.size())
                                           + " payments, the contract (v"
                                           + std::to_string(rules_.version) + ") derives "
                                           + std::to_string(derived.size()));
  balance_deltas deltas;
  for (std::size_t i = 0; i < derived.size(); ++i) {
    if (!same_payment(derived[i], payments[i]))
      return make_error(errc::corrupted, "block " + std::to_string(b.header.height)
                                             + ": payment " + std::to_string(i) + " to "
                                             + payments[i].account
                                             + " is not what the contract derives");
    deltas[derived[i].account] += balance_change(derived[i]);
  }
  return deltas;
}

std::string describe_tx(const transaction& t) {
  auto where = task_name(t.task_id) + " shard " + std::to_string(t.shard_id) + " attempt "
               + std::to_string(t.attempt);
  switch (t.kind) {
  case tx_kind::contribution:
    return "contribution  " + where + "  by " + t.worker + ", "
           + std::to_string(t.work_units) + " work units";
  case tx_kind::verdict:
    return "verdict       " + where + "  " + (t.valid ? "valid" : "INVALID") + ", "
           + t.worker + " judged by " + t.validator;
  case tx_kind::reward:
    return "reward        " + where + "  " + format_mcc(t.amount) + " to " + t.account;
  case tx_kind::penalty:
    return "penalty       " + where + "  " + format_mcc(t.amount) + " from " + t.account;
  case tx_kind::charge:
    return "charge        " + where + "  " + format_mcc(t.amount) + " from " + t.account;
  case tx_kind::acceptance:
    return "acceptance    " + where + "  " + t.worker + ", unchecked on its record";
  case tx_kind::audit:
    return "audit         " + where + "  " + t.validator + "'s verdict overturned";
  case tx_kind::submission:
    return "submission    " + task_name(t.task_id) + " by " + t.account + ", budget "
           + (t.amount == 0 ? std::string{"unlimited"} : format_mcc(t.amount));
  }
  return "unknown";
}

} // namespace nexus::chain
