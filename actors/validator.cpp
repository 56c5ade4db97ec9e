#include "actors/validator.hpp"

#include <chrono>
#include <ctime>

#include <caf/all.hpp>

#include "actors/ledger.hpp"
#include "actors/workloads.hpp"
#include "chain/block.hpp"

namespace nexus {

namespace {

constexpr std::size_t probes_kept = 8;

// CPU time of this thread: what checking costs, whatever else competes for the cores.
uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The verdict on one result; `reason` says why it was rejected.
verdict_info judge(validator_state& st, const shard_task& task, const shard_output& result) {
  verdict_info v{task.task_id, task.shard_id, task.attempt, result.worker,
                 st.config.name, false, {}, 0};
  auto start = thread_cpu_ns();
  auto finish = [&](caf::error err) {
    v.valid = !err;
    v.reason = err ? describe(err) : std::string{};
    v.check_ns = thread_cpu_ns() - start;
    return v;
  };
  if (result.task_id != task.task_id || result.shard_id != task.shard_id
      || result.attempt != task.attempt)
    return finish(make_error(errc::rejected, "result does not match its assignment"));
  if (!result.error.empty())
    return finish(make_error(errc::rejected, "worker failed: " + result.error));
  if (task.workload != workload_kind::matmul)
    return finish(check_model_shard(task, result, *st.config.store, st.rng));
  auto a = st.config.store->get(task.matmul.a);
  auto b = st.config.store->get(task.matmul.b);
  if (!a || !b)
    return finish(make_error(errc::unavailable, "validator lacks operands: "
                                                  + describe(!a ? a.error() : b.error())));
  if (auto err = compute::matmul::check_operands((*a)->shape(), (*b)->shape()))
    return finish(err);
  auto probe = st.probe_for(task.task_id, task.matmul.b, **b, task.verify_rounds);
  compute::matmul::shard_range range{task.shard_id, task.row_begin, task.row_end};
  return finish(probe->verify(**a, range, result.output, task.tolerance));
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

} // namespace

std::shared_ptr<const compute::matmul::freivalds_probe>
validator_state::probe_for(uint64_t task_id, const blob_ref& b_ref, const compute::tensor& b,
                           unsigned rounds) {
  for (const auto& cached : probes)
    if (cached.task_id == task_id && cached.b == b_ref.id && cached.probe->rounds() == rounds)
      return cached.probe;
  auto probe = std::make_shared<const compute::matmul::freivalds_probe>(b, rounds, rng());
  probes.push_front({task_id, b_ref.id, probe});
  if (probes.size() > probes_kept)
    probes.pop_back();
  return probe;
}

node_info describe_validator(const validator_config& config) {
  node_info info{config.name, node_role::validator, "cpu:eigen", 1, 0.0, 4};
  if (config.key) { // the key its records are signed with (proven when it joins remotely)
    auto key = config.key->public_bytes();
    info.public_key.assign(key.begin(), key.end());
  }
  return info;
}

validator_actor::behavior_type
validator(validator_actor::stateful_pointer<validator_state> self, validator_config config) {
  self->state.config = std::move(config);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    send_records(self); // no verdict leaves unrecorded when the validator stops
    self->quit(msg.reason);
  });
  return {
    [self](check_atom, const wire::shard_assignment& assignment,
           const wire::shard_result& result, const aggregator_actor& aggregator) {
      auto& st = self->state;
      auto task = wire::decode(assignment);
      if (!task) {
        caf::aout(self) << st.config.name << ": dropped a malformed assignment: "
                        << describe(task.error()) << "\n";
        return;
      }
      auto output = wire::decode(result);
      verdict_info v;
      if (output) {
        v = judge(st, *task, *output);
      } else {
        v = {task->task_id, task->shard_id, task->attempt, "?", st.config.name, false,
             describe(output.error()), 0};
      }
      if (st.config.key && output) { // the ledger records the result by its digest
        const auto& block = output->output;
        v.result = chain::sha256({reinterpret_cast<const uint8_t*>(block.data()),
                                  block.size() * sizeof(float)});
      }
      auto msg = wire::encode(v);
      // The verdict first: the orchestrator matches the record against it.
      self->send(st.config.orchestrator, verdict_atom::value, msg);
      if (v.valid)
        self->send(aggregator, merge_atom::value, assignment, result, msg);
      if (st.config.key && output) {
        auto t = ledger_transaction(v, chain::tx_kind::verdict);
        t.valid = v.valid;
        st.unsigned_records.push_back(std::move(t));
        // Signed when nothing else waits (so a finished task's records are on their way
        // before anyone asks the ledger), or when the batch is full.
        if (self->mailbox().empty() || st.unsigned_records.size() >= records_per_signature)
          send_records(self);
      }
    },

  };
}

validator_actor spawn_validator(caf::actor_system& sys, validator_config config) {
  return sys.spawn<caf::detached>(validator, std::move(config));
}

} // namespace nexus
