#include "actors/validator.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <caf/all.hpp>

#include "actors/core/ledger_recorder.hpp"
#include "actors/core/workload.hpp"
#include "chain/block.hpp"

namespace nexus {

namespace {

// CPU time of this thread: what checking costs, whatever else competes for the cores.
uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u
         + static_cast<uint64_t>(ts.tv_nsec);
}

// Measures a check and turns its outcome into the verdict; `reason` says why a result
// was rejected.
class verdict_clock {
public:
  verdict_clock(const validator_state& st, const shard_task& task,
                const std::string& worker)
      : v_{.task_id = task.task_id,
           .shard_id = task.shard_id,
           .attempt = task.attempt,
           .worker = worker,
           .validator = st.config.name}
      , start_(thread_cpu_ns()) {}

  verdict finish(const error& err) {
    v_.valid = !err;
    v_.reason = err ? describe(err) : std::string{};
    v_.check_ns += thread_cpu_ns() - start_;
    return std::move(v_);
  }

  // Stops the clock while the validator waits for a fingerprint.
  void pause() {
    v_.check_ns += thread_cpu_ns() - start_;
  }

  void resume() {
    start_ = thread_cpu_ns();
  }

  void set_digest(const chain::digest& d) {
    v_.result = d;
  }

private:
  verdict v_;
  uint64_t start_;
};

// What any result must satisfy before its contents are looked at.
error admissible(const shard_task& task, const shard_output& result) {
  if (result.task_id != task.task_id || result.shard_id != task.shard_id
      || result.attempt != task.attempt)
    return make_error(errc::rejected, "result does not match its assignment");
  if (!result.error.empty())
    return make_error(errc::rejected, "worker failed: " + result.error);
  if (result.held && !workload_of(task).held_by_aggregator())
    return make_error(errc::rejected,
                      to_string(task.workload) + " results are not judged by fingerprint");
  return {};
}

// Judges a result that came with its output.
error judge(validator_state& st, const shard_task& task, const shard_output& result) {
  judge_context ctx{*st.config.store, st.rng, st.probes};
  return workload_of(task).judge(task, result, ctx);
}

// Signs the verdicts not yet sent to the ledger, together, and sends them on.
void send_records(validator_actor::stateful_pointer<validator_state> self) {
  auto& st = self->state;
  if (st.unsigned_records.empty() || !st.config.key)
    return;
  chain::sign_batch(st.unsigned_records, *st.config.key);
  std::vector<std::vector<uint8_t>> bytes;
  bytes.reserve(st.unsigned_records.size());
  for (const auto& t : st.unsigned_records)
    bytes.push_back(chain::encode(t));
  st.unsigned_records.clear();
  self->send(st.config.orchestrator, record_atom::value, wire::encode_records(bytes));
}

// Sends a verdict to the orchestrator and, with a key, queues its ledger record (when
// `recorded`: a result too malformed to name its worker is not recorded).
wire::verdict announce(validator_actor::stateful_pointer<validator_state> self,
                       verdict honest, bool recorded) {
  auto& st = self->state;
  auto v = std::move(honest);
  if (st.config.before_signing)
    st.config.before_signing(v);
  auto msg = wire::encode(v);
  self->send(st.config.orchestrator, verdict_atom::value, msg);
  if (st.config.key && recorded) {
    auto t = ledger_transaction(v, chain::tx_kind::verdict);
    t.valid = v.valid;
    st.unsigned_records.push_back(std::move(t));
    // Signed when nothing else waits (so a finished task's records are on their way
    // before anyone asks the ledger), or when the batch is full.
    if (self->mailbox().empty() || st.unsigned_records.size() >= records_per_signature)
      send_records(self);
  }
  return msg;
}

} // namespace

node_info describe_validator(const validator_config& config) {
  node_info info{.name = config.name,
                 .role = node_role::validator,
                 .device = "cpu:eigen",
                 .threads = 1,
                 .slots = 4};
  if (config.key) { // the key its records are signed with (proven when it joins remotely)
    auto key = config.key->public_bytes();
    info.public_key.assign(key.begin(), key.end());
  }
  return info;
}

validator_actor::behavior_type
validator(validator_actor::stateful_pointer<validator_state> self,
          validator_config config) {
  self->state.config = std::move(config);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    send_records(self); // no verdict leaves unrecorded when the validator stops
    self->quit(msg.reason);
  });
  return {
      [self](check_atom, const wire::shard_task& assignment,
             const wire::shard_output& result, const wire::expectation& expected_msg,
             const result_holder_actor& holder) -> caf::result<wire::verdict> {
        auto& st = self->state;
        auto task = wire::decode(assignment);
        auto expected = wire::decode(expected_msg);
        if (!task || !expected) {
          auto err = !task ? task.error() : expected.error();
          caf::aout(self) << st.config.name
                          << ": dropped a malformed check: " << describe(err) << "\n";
          return to_caf(err);
        }
        auto shared = wire::decode_shared(result);
        if (!shared) {
          verdict_clock j{st, *task, expected->worker};
          return announce(self, j.finish(shared.error()), true);
        }
        const shard_output* output = shared->get();
        verdict_clock j{st, *task, expected->worker};
        if (auto err = admissible(*task, *output))
          return announce(self, j.finish(err), true);
        if (!output->held) {
          auto digest = output_digest(result, *output);
          j.set_digest(digest);
          if (auto err = authenticate(*output, digest, *expected, st.verifier))
            return announce(self, j.finish(err), true);
          return announce(self, j.finish(judge(st, *task, *output)), true);
        }
        // The aggregator holds the block: ask it for C_R X with this validator's secret X.
        judge_context ctx{*st.config.store, st.rng, st.probes};
        auto check = workload_of(*task).fingerprint(*task, ctx);
        if (!check)
          return announce(self, j.finish(check.error()), true);
        fingerprint_query query{task->task_id, task->shard_id, task->attempt,
                                (*check)->probe(), true};
        j.pause();
        auto rp = self->make_response_promise<wire::verdict>();
        self->request(holder, fingerprint_wait, fingerprint_atom::value,
                      wire::encode(query))
            .then(
                [self, j, check = *check, rp, out = std::move(*output),
                 expected = *expected](const wire::fingerprint& msg) mutable {
                  j.resume();
                  auto fp = wire::decode(msg);
                  if (!fp) {
                    rp.deliver(announce(self, j.finish(fp.error()), false));
                    return;
                  }
                  j.set_digest(fp->result);
                  auto err = authenticate(out, fp->result, expected, self->state.verifier);
                  if (!err)
                    err = check->verify(fp->product);
                  rp.deliver(announce(self, j.finish(err), true));
                },
                [self, j, rp](caf::error& err) mutable {
                  // The holder refused (the block has the wrong shape) or is gone.
                  j.resume();
                  rp.deliver(announce(self, j.finish(from_caf(err)), true));
                });
        return rp;
      },
  };
}

validator_actor spawn_validator(caf::actor_system& sys, validator_config config) {
  return sys.spawn<caf::detached>(validator, std::move(config));
}

} // namespace nexus
