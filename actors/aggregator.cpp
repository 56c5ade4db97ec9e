#include "actors/aggregator.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include <caf/all.hpp>

namespace nexus {

namespace {

constexpr std::size_t finished_kept = 1024;

using self_pointer = aggregator_actor::stateful_pointer<aggregator_state>;
using result_key = aggregator_state::result_key;

bool finished(const aggregator_state& st, uint64_t task_id) {
  return std::find(st.finished.begin(), st.finished.end(), task_id) != st.finished.end();
}

// Merges one valid result; returns the finished output once every shard is in.
expected<std::optional<wire::task_output>>
merge_result(aggregator_state& st, const shard_task& task, const compute::tensor& block) {
  auto it = st.tasks.find(task.task_id);
  if (it == st.tasks.end() && finished(st, task.task_id))
    return std::optional<wire::task_output>{}; // a late duplicate of a finished task
  if (it == st.tasks.end()) {
    auto merge = workload_of(task).merge(task, st.store.get());
    if (!merge)
      return merge.error();
    it = st.tasks.emplace(task.task_id, std::move(*merge)).first;
  }
  auto added = it->second->add(task, block);
  if (!added)
    return added.error();
  if (!it->second->complete())
    return std::optional<wire::task_output>{};
  auto out = it->second->take();
  st.tasks.erase(it);
  std::erase_if(st.rounds,
                [&](const auto& kv) { return std::get<0>(kv.first) == task.task_id; });
  // Attempts still under way are judged all the same: the orchestrator may count on one
  // of them for this shard (its first result came from a worker it had given up on).
  st.finished.push_back(task.task_id);
  if (st.finished.size() > finished_kept)
    st.finished.pop_front();
  return std::optional<wire::task_output>{std::move(out)};
}

// Tells the orchestrator, and merges the result if it stands.
void conclude(self_pointer self, const result_key& key, judgment j) {
  auto& st = self->state;
  auto it = st.attempts.find(key);
  if (it == st.attempts.end())
    return; // its task ended meanwhile
  auto a = std::move(it->second);
  st.attempts.erase(it);
  self->send(st.orchestrator, judged_atom::value, wire::encode(j));
  if (!j.verdict.valid || !a.output)
    return;
  auto merged = merge_result(st, a.task, a.output->output);
  if (!merged) {
    caf::aout(self) << "aggregator: task " << a.task.task_id << ": "
                    << describe(merged.error()) << "\n";
    return;
  }
  if (*merged)
    self->send(st.orchestrator, output_atom::value, std::move(**merged));
}

// The judgment of an attempt no validator looked at.
judgment unchecked(const aggregator_state::attempt& a, error err) {
  verdict v{a.task.task_id,
            a.task.shard_id,
            a.task.attempt,
            a.expected.worker,
            {},
            !err,
            err ? describe(err) : std::string{},
            0};
  if (a.output && a.output->error.empty())
    v.result = output_digest(a.raw, *a.output);
  return {std::move(v), false, {}, {}};
}

// Decides once enough verdicts are in: one for a check; for an audit two that agree,
// or the third's, which overturns the one it contradicts.
void decide(self_pointer self, const result_key& key) {
  auto& a = self->state.attempts.at(key);
  const auto& vs = a.verdicts;
  if (vs.size() == 1 && a.validators.size() == 1) {
    conclude(self, key, {vs[0], true, {}, {vs[0].validator}});
    return;
  }
  if (vs.size() == 2 && vs[0].valid == vs[1].valid) {
    conclude(self, key, {vs[0], true, {}, {vs[0].validator, vs[1].validator}});
    return;
  }
  if (vs.size() == 2 && a.validators.size() < 3) {
    // Two disagree and no third can decide: nobody is paid or blamed; it runs again.
    auto v = vs[0];
    v.valid = false;
    v.reason = "its validators disagree and no third was free to decide";
    conclude(self, key, {std::move(v), false, {}, {}, true});
    return;
  }
  if (vs.size() == 3) {
    const auto& referee = vs[2];
    const auto& wrong = vs[0].valid == referee.valid ? vs[1] : vs[0];
    const auto& right = vs[0].valid == referee.valid ? vs[0] : vs[1];
    conclude(self, key,
             {right, true, {wrong.validator}, {right.validator, referee.validator}});
  }
}

// What a validator is sent: the result itself, or its header when the result is a
// large matmul block and the validator is in another process.
wire::shard_output validator_view(self_pointer self, const validator_actor& validator,
                                  const aggregator_state::attempt& a) {
  const auto& out = *a.output;
  if (!workload_of(a.task).held_by_aggregator() || !out.error.empty()
      || a.raw.bytes().size() <= held_result_bytes || validator.node() == self->node())
    return a.raw;
  shard_output header{out.task_id,       out.shard_id,   out.attempt, out.worker,
                      compute::tensor{}, out.compute_ns, out.error,   true,
                      out.signature};
  return wire::encode(header);
}

// Asks validator `index` of the attempt for its verdict.
void ask(self_pointer self, const result_key& key, std::size_t index) {
  auto& a = self->state.attempts.at(key);
  const auto& validator = a.validators.at(index);
  auto holder = caf::actor_cast<result_holder_actor>(self);
  self->request(validator, verdict_wait, check_atom::value, a.assignment,
                validator_view(self, validator, a), a.expected_msg, holder)
      .then(
          [self, key, index](const wire::verdict& msg) {
            auto it = self->state.attempts.find(key);
            auto v = wire::decode(msg);
            if (it == self->state.attempts.end() || !v)
              return;
            auto& a = it->second;
            // Verdicts are kept in the order of the validators asked.
            a.verdicts.resize(std::max(a.verdicts.size(), index + 1));
            a.verdicts[index] = std::move(*v);
            auto answered =
                std::count_if(a.verdicts.begin(), a.verdicts.end(),
                              [](const verdict& x) { return !x.validator.empty(); });
            if (static_cast<std::size_t>(answered) != a.verdicts.size())
              return;
            if (a.verdicts.size() == 2 && a.verdicts[0].valid != a.verdicts[1].valid
                && a.validators.size() == 3) {
              ask(self, key, 2); // the referee
              return;
            }
            decide(self, key);
          },
          [self, key](const caf::error&) {
            // A validator gone or silent: the orchestrator re-issues the shard elsewhere.
            self->state.attempts.erase(key);
          });
}

// True if two results are the same up to the rounding of another summation order.
bool agree(const compute::tensor& x, const compute::tensor& y) {
  if (x.shape() != y.shape())
    return false;
  float scale = 1.0f;
  for (std::size_t i = 0; i < x.size(); ++i)
    scale = std::max(scale, std::abs(x.data()[i]));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x.data()[i] - y.data()[i]) <= 1e-4f * scale)) // also NaN
      return false;
  return true;
}

// Judges the waiting results of a replicated round once a majority agrees, or sets the
// round aside when every replica is in and none does.
void decide_round(self_pointer self, const aggregator_state::round_key& rk) {
  auto& st = self->state;
  auto& round = st.rounds.at(rk);
  auto output_of = [&](const result_key& k) -> const compute::tensor& {
    return st.attempts.at(k).output->output;
  };
  auto needed = round.replicas / 2 + 1;
  if (!round.majority) {
    for (const auto& k : round.waiting) {
      auto votes = std::count_if(
          round.waiting.begin(), round.waiting.end(),
          [&](const result_key& o) { return agree(output_of(k), output_of(o)); });
      if (static_cast<std::size_t>(votes) >= needed) {
        round.majority = output_of(k);
        break;
      }
    }
  }
  if (!round.majority) {
    if (round.waiting.size() < round.replicas)
      return;                             // more replicas to come
    for (const auto& k : round.waiting) { // no majority: nobody is blamed, it runs again
      auto v = unchecked(st.attempts.at(k), make_error(errc::rejected, "no majority"));
      v.verdict.reason =
          "no majority among " + std::to_string(round.replicas) + " replicas";
      conclude(self, k, {std::move(v.verdict), false, {}, {}, true});
    }
    st.rounds.erase(rk);
    return;
  }
  auto waiting = std::exchange(round.waiting, {});
  auto majority = *round.majority; // the round goes when the task completes below
  // The minority first, so that it is blamed before the shard counts as done.
  std::stable_partition(waiting.begin(), waiting.end(), [&](const result_key& k) {
    return !agree(output_of(k), majority);
  });
  for (const auto& k : waiting) {
    if (!st.attempts.contains(k))
      continue;
    bool valid = agree(output_of(k), majority);
    auto j =
        unchecked(st.attempts.at(k),
                  valid ? error{}
                        : make_error(errc::rejected, "it disagrees with the majority of "
                                                         + std::to_string(round.replicas)
                                                         + " replicas"));
    j.checked = true;
    j.verdict.validator = "quorum";
    conclude(self, k, std::move(j));
  }
}

// Judges an attempt whose result arrived.
void judge(self_pointer self, const result_key& key) {
  auto& st = self->state;
  auto& a = st.attempts.at(key);
  if (!a.output) { // bytes that are no result: rejected, and recorded against its worker
    conclude(self, key,
             unchecked(a, make_error(errc::rejected, "the result is malformed")));
    return;
  }
  if (a.expected.mode == check_mode::trust || a.expected.mode == check_mode::replicate) {
    auto err = a.output->error.empty()
                   ? authenticate(*a.output, output_digest(a.raw, *a.output), a.expected,
                                  st.verifier)
                   : make_error(errc::rejected, "worker failed: " + a.output->error);
    if (err || a.expected.mode == check_mode::trust) {
      auto j = unchecked(a, std::move(err));
      j.checked = a.expected.mode == check_mode::replicate;
      conclude(self, key, std::move(j));
      return;
    }
    if (finished(st, a.task.task_id)) {
      st.attempts.erase(key); // a late replica of a task that is done
      return;
    }
    aggregator_state::round_key rk{a.task.task_id, a.task.shard_id, a.expected.round};
    auto& round = st.rounds[rk];
    round.replicas = std::max(a.expected.replicas, 2u);
    round.waiting.push_back(key); // decided already: a late replica agrees or not
    decide_round(self, rk);
    return;
  }
  auto first_round =
      a.expected.mode == check_mode::audit && a.validators.size() >= 2 ? 2u : 1u;
  for (std::size_t i = 0; i < first_round; ++i)
    ask(self, key, i);
}

// A result for an attempt the orchestrator announced, from `sender`.
void take_result(self_pointer self, const result_key& key, const caf::actor_addr& sender,
                 wire::shard_output msg) {
  auto& a = self->state.attempts.at(key);
  auto where = [&] {
    return "task " + std::to_string(std::get<0>(key)) + " shard "
           + std::to_string(std::get<1>(key)) + " attempt "
           + std::to_string(std::get<2>(key));
  };
  if (sender != a.worker) {
    caf::aout(self) << "aggregator: ignored a result of " << where()
                    << " that does not come from its worker " << a.expected.worker << "\n";
    return;
  }
  if (a.output || !a.raw.empty()) {
    caf::aout(self) << "aggregator: ignored a replayed result of " << where() << "\n";
    return;
  }
  a.raw = std::move(msg);
  auto output = wire::decode_shared(a.raw);
  if (output
      && std::tie((*output)->task_id, (*output)->shard_id, (*output)->attempt) == key)
    a.output = std::move(*output);
  judge(self, key); // bytes that are no result of this attempt are rejected there
}

// A result from the current sender, for attempt `key`.
void stage(self_pointer self, const result_key& key, wire::shard_output msg) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (!st.attempts.contains(key)) {
    if (st.early.size() >= early_results_kept)
      st.early.erase(st.early.begin());
    // The orchestrator's word on it is on its way.
    st.early.insert_or_assign(key, aggregator_state::early_result{sender, std::move(msg)});
    return;
  }
  take_result(self, key, sender, std::move(msg));
}

caf::result<wire::fingerprint> answer(aggregator_state& st, const fingerprint_query& q) {
  auto it = st.attempts.find({q.task_id, q.shard_id, q.attempt});
  if (it == st.attempts.end() || !it->second.output)
    return to_caf(make_error(errc::not_found, "the aggregator holds no result of task "
                                                  + std::to_string(q.task_id) + " shard "
                                                  + std::to_string(q.shard_id) + " attempt "
                                                  + std::to_string(q.attempt)));
  const auto& block = it->second.output->output;
  auto product = compute::matmul::fingerprint(block, q.probe);
  if (!product)
    return to_caf(product.error());
  fingerprint out{std::move(*product), {}};
  if (q.digest)
    out.result = output_digest(it->second.raw, *it->second.output);
  return wire::encode(out);
}

} // namespace

void aggregator_state::sweep(clock_type::time_point now) {
  std::erase_if(attempts, [now](const auto& kv) {
    return !kv.second.output && kv.second.since + verdict_wait < now;
  });
}

void aggregator_state::forget(uint64_t task_id) {
  auto in_task = [task_id](const auto& kv) { return std::get<0>(kv.first) == task_id; };
  std::erase_if(attempts, in_task);
  std::erase_if(early, in_task);
  std::erase_if(rounds, in_task);
}

aggregator_actor::behavior_type aggregator(self_pointer self,
                                           orchestrator_actor orchestrator,
                                           std::shared_ptr<bulk_service> bulk,
                                           std::shared_ptr<blob_store> store) {
  self->state.orchestrator = std::move(orchestrator);
  self->state.bulk = std::move(bulk);
  self->state.store = std::move(store);
  return {
      [self](expect_atom, const wire::shard_task& assignment,
             const wire::expectation& expected, const caf::strong_actor_ptr& worker,
             const validator_list& validators) {
        auto& st = self->state;
        auto task = wire::decode(assignment);
        auto who = wire::decode(expected);
        if (!task || !who) {
          caf::aout(self) << "aggregator: dropped a malformed expectation\n";
          return;
        }
        result_key key{task->task_id, task->shard_id, task->attempt};
        if (st.attempts.size() % 1024 == 1023)
          st.sweep(clock_type::now());
        st.attempts[key] =
            aggregator_state::attempt{std::move(*task),
                                      assignment,
                                      std::move(*who),
                                      expected,
                                      caf::actor_cast<caf::actor_addr>(worker),
                                      validators,
                                      {},
                                      {},
                                      {},
                                      clock_type::now()};
        if (auto e = st.early.find(key); e != st.early.end()) {
          auto early = std::move(e->second);
          st.early.erase(e);
          take_result(self, key, early.sender, std::move(early.msg));
        }
      },
      [self](stage_atom, uint64_t task_id, uint32_t shard_id, uint32_t attempt,
             wire::shard_output& msg) {
        stage(self, {task_id, shard_id, attempt}, std::move(msg));
      },
      [self](stage_atom, bulk_atom, uint64_t task_id, uint32_t shard_id, uint32_t attempt,
             uint64_t ticket) {
        // The worker put the bytes before it sent this. Missing bytes (a ticket nobody put,
        // or one taken already) count as a malformed result of that worker.
        std::optional<std::vector<uint8_t>> bytes;
        if (self->state.bulk)
          bytes = self->state.bulk->take(ticket);
        stage(self, {task_id, shard_id, attempt},
              wire::shard_output{bytes ? std::move(*bytes) : std::vector<uint8_t>{}});
      },
      [self](fingerprint_atom,
             const wire::fingerprint_query& msg) -> caf::result<wire::fingerprint> {
        auto q = wire::decode(msg);
        if (!q)
          return to_caf(q.error());
        return answer(self->state, *q);
      },
      [self](revoke_atom, uint64_t task_id, uint32_t shard_id) {
        if (auto it = self->state.tasks.find(task_id); it != self->state.tasks.end())
          it->second->revoke(shard_id);
      },
      [self](drop_atom, uint64_t task_id) {
        self->state.tasks.erase(task_id);
        self->state.forget(task_id);
      },
  };
}

} // namespace nexus
