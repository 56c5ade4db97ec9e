#include "actors/aggregator.hpp"

#include <optional>

#include <caf/all.hpp>

#include "compute/workloads/matmul.hpp"

namespace nexus {

namespace {

// Merges one validated result; returns the finished output once every shard is in.
caf::expected<std::optional<compute::tensor>>
merge_result(aggregator_state& st, const shard_task& task, const shard_output& result) {
  const auto& a = task.matmul.a.shape;
  const auto& b = task.matmul.b.shape;
  if (a.size() != 2 || b.size() != 2 || task.shard_count == 0)
    return make_error(errc::corrupted, "assignment without matrix shapes");
  auto [it, fresh] = st.tasks.try_emplace(task.task_id);
  auto& p = it->second;
  if (fresh) {
    p.output = compute::tensor{a[0], b[1]};
    p.merged.assign(task.shard_count, false);
    p.remaining = task.shard_count;
  }
  if (task.shard_id >= p.merged.size() || p.merged[task.shard_id])
    return std::optional<compute::tensor>{}; // a duplicate of a re-issued shard
  compute::matmul::shard_range range{task.shard_id, task.row_begin, task.row_end};
  if (result.output.rows() != range.rows() || result.output.cols() != b[1])
    return make_error(errc::corrupted, "validated block has the wrong shape");
  compute::matmul::merge(p.output, range, result.output);
  p.merged[task.shard_id] = true;
  if (--p.remaining > 0)
    return std::optional<compute::tensor>{};
  auto out = std::move(p.output);
  st.tasks.erase(it);
  return std::optional<compute::tensor>{std::move(out)};
}

} // namespace

aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self,
           orchestrator_actor orchestrator) {
  self->state.orchestrator = std::move(orchestrator);
  return {
    [self](merge_atom, const wire::shard_assignment& assignment,
           const wire::shard_result& result, const wire::verdict&) {
      auto task = wire::decode(assignment);
      auto output = task ? wire::decode(result) : caf::expected<shard_output>{task.error()};
      if (!output) {
        caf::aout(self) << "aggregator: dropped a result: " << describe(output.error())
                        << "\n";
        return;
      }
      auto merged = merge_result(self->state, *task, *output);
      if (!merged) {
        caf::aout(self) << "aggregator: task " << task->task_id << ": "
                        << describe(merged.error()) << "\n";
        return;
      }
      if (*merged)
        self->send(self->state.orchestrator, output_atom::value,
                   wire::encode(task_output{task->task_id, std::move(**merged)}));
    },
    [self](drop_atom, uint64_t task_id) { self->state.tasks.erase(task_id); },
  };
}

} // namespace nexus
