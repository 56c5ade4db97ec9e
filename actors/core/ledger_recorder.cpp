#include "actors/core/ledger_recorder.hpp"

#include <algorithm>

#include "actors/core/submission.hpp"
#include "chain/contract.hpp"

namespace nexus {

chain::transaction ledger_transaction(const verdict& v, chain::tx_kind kind) {
  chain::transaction t;
  t.kind = kind;
  t.task_id = v.task_id;
  t.shard_id = v.shard_id;
  t.attempt = v.attempt;
  t.worker = v.worker;
  t.validator = v.validator;
  t.result = v.result;
  return t;
}

ledger_recorder::ledger_recorder(std::optional<chain::node_key> key)
    : key_(std::move(key)) {}

void ledger_recorder::expect(const verdict& v, node_id from, const std::string& name,
                             clock_type::time_point now) {
  if (!recording())
    return;
  attempt_key key{v.task_id, v.shard_id, v.attempt};
  auto& entry = unrecorded_[{key, from}];
  entry = unrecorded_verdict{.validator = name,
                             .worker = v.worker,
                             .result = v.result,
                             .valid = v.valid,
                             .at = now};
  if (auto j = judged_.find(key); j != judged_.end())
    entry.stands = std::find(j->second.standing.begin(), j->second.standing.end(), name)
                   != j->second.standing.end();
}

std::string ledger_recorder::refusal(const chain::transaction& t, node_id from,
                                     const node_identity* who) const {
  if (!who)
    return "its validator joined without a key";
  if (t.kind != chain::tx_kind::verdict)
    return "a " + to_string(t.kind) + " from a validator";
  if (t.signer != who->key || t.validator != who->name)
    return "signed by another key or in another validator's name";
  auto v = unrecorded_.find({{t.task_id, t.shard_id, t.attempt}, from});
  if (v == unrecorded_.end())
    return "no verdict of this validator on that attempt waits for a record";
  if (v->second.worker != t.worker || v->second.result != t.result
      || v->second.valid != t.valid)
    return "it differs from the verdict the validator sent";
  return {};
}

std::vector<std::string>
ledger_recorder::take(const std::vector<std::vector<uint8_t>>& records, node_id from,
                      const node_identity* who) {
  std::vector<std::string> refused;
  if (!recording())
    return refused;
  for (const auto& bytes : records) {
    auto t = chain::decode_transaction(bytes);
    auto why = t ? refusal(*t, from, who) : describe(t.error());
    if (!why.empty()) {
      refused.push_back(std::move(why));
      continue;
    }
    attempt_key key{t->task_id, t->shard_id, t->attempt};
    auto it = unrecorded_.find({key, from});
    if (it->second.stands == false)
      continue; // overturned or set aside: what the judgment recorded stands instead
    if (!it->second.stands) {
      it->second.parked = bytes; // the judgment will say
      continue;
    }
    auto v = std::move(it->second);
    unrecorded_.erase(it);
    pass(key, v, bytes);
  }
  return refused;
}

void ledger_recorder::contribute(const attempt_key& key, const std::string& worker,
                                 const chain::digest& result) {
  auto j = judged_.find(key);
  if (j == judged_.end() || j->second.contributed)
    return;
  j->second.contributed = true;
  chain::transaction c;
  c.kind = chain::tx_kind::contribution;
  c.task_id = std::get<0>(key);
  c.shard_id = std::get<1>(key);
  c.attempt = std::get<2>(key);
  c.worker = worker;
  c.result = result;
  c.work_units = j->second.work.units;
  if (j->second.work.row_end > j->second.work.row_begin) // the rows it is paid for
    c.data = j->second.work.request
                 ? chain::rows_data(j->second.work.row_begin, j->second.work.row_end,
                                    *j->second.work.request)
                 : chain::rows_data(j->second.work.row_begin, j->second.work.row_end);
  std::optional<chain::transaction> charge;
  if (!faults_.empty()) {
    const auto& fault = faults_[faulted_++ % faults_.size()];
    if (fault == "inflate-units") {
      c.work_units = c.work_units * 10 + 1;
    } else if (fault == "pay-self") {
      c.worker = own_;
    } else if (fault == "overcharge") {
      charge.emplace();
      charge->kind = chain::tx_kind::charge;
      charge->task_id = c.task_id;
      charge->account = submitters_.contains(c.task_id) ? submitters_[c.task_id] : "nobody";
      charge->amount = 1'000'000'000;
    }
  }
  outbox_.emplace_back(std::move(c));
  if (charge)
    outbox_.emplace_back(std::move(*charge));
}

void ledger_recorder::pass(const attempt_key& key, const unrecorded_verdict& v,
                           std::vector<uint8_t> bytes) {
  contribute(key, v.worker, v.result);
  outbox_.emplace_back(std::move(bytes));
}

void ledger_recorder::judged(const judgment& j, const shard_work& work,
                             clock_type::time_point now) {
  if (!recording())
    return;
  const auto& v = j.verdict;
  attempt_key key{v.task_id, v.shard_id, v.attempt};
  judged_[key] = judged_attempt{.standing = j.validators, .work = work, .at = now};
  for (auto it = unrecorded_.lower_bound({key, 0});
       it != unrecorded_.end() && it->first.first == key;) {
    const auto& name = it->second.validator;
    bool stands =
        std::find(j.validators.begin(), j.validators.end(), name) != j.validators.end();
    it->second.stands = stands;
    if (it->second.parked.empty()) {
      ++it;
      continue;
    }
    auto entry = std::move(it->second);
    it = unrecorded_.erase(it);
    if (stands)
      pass(key, entry, std::move(entry.parked));
  }
  for (const auto& name : j.overturned) {
    auto t = ledger_transaction(v, chain::tx_kind::audit);
    t.validator = name;
    outbox_.emplace_back(std::move(t));
  }
  if (j.disputed || !j.validators.empty())
    return; // the validators' own records carry the verdicts
  // Judged without a validator: by a quorum of replicas, accepted on the worker's record,
  // or found forged or malformed by the aggregator.
  contribute(key, v.worker, v.result);
  bool accepted = v.valid && !j.checked;
  auto t = ledger_transaction(v, accepted ? chain::tx_kind::acceptance
                                          : chain::tx_kind::verdict);
  t.validator = j.checked ? "quorum" : "network";
  t.valid = v.valid;
  outbox_.emplace_back(std::move(t));
}

void ledger_recorder::submitted(uint64_t task_id, const task_request& req) {
  if (!recording())
    return;
  if (!faults_.empty())
    submitters_[task_id] = req.submitter;
  submission_at_[outbox_.size()] = task_id;
  outbox_.emplace_back(chain::encode(submission_record(req, task_id)));
}

void ledger_recorder::stepped(uint64_t task_id, uint64_t run) {
  if (!recording())
    return;
  chain::transaction t;
  t.kind = chain::tx_kind::step;
  t.task_id = task_id;
  t.data = chain::u64_data(run);
  outbox_.emplace_back(std::move(t));
}

void ledger_recorder::joined(const node_identity& who, node_role role) {
  // Only roles records name: who may orchestrate or propose blocks is the first block's
  // to say, never a join's.
  if (!key_ || (role != node_role::worker && role != node_role::validator))
    return;
  outbox_.emplace_back(chain::member_record(
      {who.name, who.key, uint32_t{1} << static_cast<uint32_t>(role)}));
}

std::vector<std::vector<uint8_t>>
ledger_recorder::flush(std::map<uint32_t, uint64_t>* submissions) {
  std::vector<std::vector<uint8_t>> out;
  if (outbox_.empty() || !recording())
    return out; // without a ledger they wait for one
  if (submissions)
    for (const auto& [at, task] : submission_at_)
      (*submissions)[static_cast<uint32_t>(at)] = task;
  submission_at_.clear();
  std::vector<chain::transaction> mine;
  for (auto& r : outbox_)
    if (auto* t = std::get_if<chain::transaction>(&r))
      mine.push_back(std::move(*t));
  chain::sign_batch(mine, *key_);
  out.reserve(outbox_.size());
  std::size_t next = 0;
  for (auto& r : outbox_) {
    if (std::holds_alternative<chain::transaction>(r))
      out.push_back(chain::encode(mine[next++]));
    else
      out.push_back(std::move(std::get<std::vector<uint8_t>>(r)));
  }
  outbox_.clear();
  return out;
}

void ledger_recorder::expire(clock_type::time_point now) {
  std::erase_if(unrecorded_,
                [now](const auto& kv) { return kv.second.at + record_wait < now; });
  std::erase_if(judged_,
                [now](const auto& kv) { return kv.second.at + record_wait < now; });
}

} // namespace nexus
