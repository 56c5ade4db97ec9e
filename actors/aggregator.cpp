#include "actors/aggregator.hpp"

#include <algorithm>
#include <optional>

#include <caf/all.hpp>

#include "chain/hash.hpp"

namespace nexus {

namespace {

constexpr std::size_t finished_kept = 1024;

using self_pointer = aggregator_actor::stateful_pointer<aggregator_state>;

bool finished(const aggregator_state& st, uint64_t task_id) {
  return std::find(st.finished.begin(), st.finished.end(), task_id) != st.finished.end();
}

// Merges one validated result; returns the finished output once every shard is in.
caf::expected<std::optional<compute::tensor>>
merge_result(aggregator_state& st, const shard_task& task, const compute::tensor& block) {
  auto it = st.tasks.find(task.task_id);
  if (it == st.tasks.end() && finished(st, task.task_id))
    return std::optional<compute::tensor>{}; // a late duplicate of a finished task
  if (it == st.tasks.end()) {
    auto builder = output_builder::start(task);
    if (!builder)
      return builder.error();
    it = st.tasks.emplace(task.task_id, std::move(*builder)).first;
  }
  auto added = it->second.add(task, block);
  if (!added)
    return added.error();
  if (!it->second.complete())
    return std::optional<compute::tensor>{};
  auto out = it->second.take();
  st.tasks.erase(it);
  st.unstage(task.task_id);
  st.finished.push_back(task.task_id);
  if (st.finished.size() > finished_kept)
    st.finished.pop_front();
  return std::optional<compute::tensor>{std::move(out)};
}

// The validator's verdict on a staged result: merges it if valid, forgets it either way.
void on_verdict(self_pointer self, const aggregator_state::result_key& key,
                const wire::verdict& msg) {
  auto& st = self->state;
  auto it = st.staged.find(key);
  if (it == st.staged.end())
    return; // its task ended meanwhile
  auto staged = std::move(it->second);
  st.staged.erase(it);
  auto v = wire::decode(msg);
  if (!v || !v->valid || std::tie(v->task_id, v->shard_id, v->attempt) != key)
    return;
  auto merged = merge_result(st, staged.task, staged.output.output);
  if (!merged) {
    caf::aout(self) << "aggregator: task " << staged.task.task_id << ": "
                    << describe(merged.error()) << "\n";
    return;
  }
  if (*merged)
    self->send(st.orchestrator, output_atom::value,
               wire::encode(task_output{staged.task.task_id, std::move(**merged)}));
}

// What the validator is sent: the result itself, or its header when the result is a
// large matmul block and the validator is in another process.
wire::shard_result validator_view(self_pointer self, const validator_actor& validator,
                                  const wire::shard_result& msg, const shard_task& task,
                                  const shard_output& output) {
  if (task.workload != workload_kind::matmul || !output.error.empty()
      || msg.bytes().size() <= held_result_bytes || validator.node() == self->node())
    return msg;
  shard_output header{output.task_id, output.shard_id, output.attempt, output.worker,
                      compute::tensor{}, output.compute_ns, output.error, true};
  return wire::encode(header);
}

caf::result<wire::fingerprint> answer(aggregator_state& st, const fingerprint_query& q) {
  auto it = st.staged.find({q.task_id, q.shard_id, q.attempt});
  if (it == st.staged.end())
    return make_error(errc::not_found, "the aggregator holds no result of task "
                                         + std::to_string(q.task_id) + " shard "
                                         + std::to_string(q.shard_id) + " attempt "
                                         + std::to_string(q.attempt));
  const auto& block = it->second.output.output;
  auto product = compute::matmul::fingerprint(block, q.probe);
  if (!product)
    return product.error();
  fingerprint_info out{std::move(*product), {}};
  if (q.digest)
    out.result = chain::sha256(
      {reinterpret_cast<const uint8_t*>(block.data()), block.size() * sizeof(float)});
  return wire::encode(out);
}

} // namespace

void aggregator_state::unstage(uint64_t task_id) {
  auto first = staged.lower_bound({task_id, 0, 0});
  auto last = staged.lower_bound({task_id + 1, 0, 0});
  staged.erase(first, last);
}

aggregator_actor::behavior_type aggregator(self_pointer self, orchestrator_actor orchestrator) {
  self->state.orchestrator = std::move(orchestrator);
  return {
    [self](stage_atom, const wire::shard_assignment& assignment,
           const wire::shard_result& result, const validator_actor& validator) {
      auto& st = self->state;
      auto task = wire::decode(assignment);
      if (!task) {
        // Without ids there is no one to answer; the shard's deadline re-issues it.
        caf::aout(self) << "aggregator: dropped a result of a malformed assignment: "
                        << describe(task.error()) << "\n";
        return;
      }
      if (finished(st, task->task_id))
        return; // a late duplicate: nothing left to judge it for
      auto output = wire::decode(result);
      aggregator_state::result_key key{task->task_id, task->shard_id, task->attempt};
      auto view = result;
      if (output) { // a malformed one goes to the validator as it is, to be rejected
        view = validator_view(self, validator, result, *task, *output);
        if (output->error.empty())
          st.staged.insert_or_assign(key, aggregator_state::staged_result{*task,
                                                                          std::move(*output)});
      }
      auto holder = caf::actor_cast<result_holder_actor>(self);
      self->request(validator, verdict_wait, check_atom::value, assignment, view, holder)
        .then([self, key](const wire::verdict& v) { on_verdict(self, key, v); },
              [self, key](const caf::error&) {
                self->state.staged.erase(key); // the orchestrator re-issues the shard
              });
    },
    [self](fingerprint_atom, const wire::fingerprint_request& msg)
      -> caf::result<wire::fingerprint> {
      auto q = wire::decode(msg);
      if (!q)
        return q.error();
      return answer(self->state, *q);
    },
    [self](drop_atom, uint64_t task_id) {
      self->state.tasks.erase(task_id);
      self->state.unstage(task_id);
    },
  };
}

} // namespace nexus
