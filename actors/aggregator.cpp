#include "actors/aggregator.hpp"

#include <algorithm>
#include <optional>

#include <caf/all.hpp>


namespace nexus {

namespace {

constexpr std::size_t finished_kept = 1024;

// Merges one validated result; returns the finished output once every shard is in.
caf::expected<std::optional<compute::tensor>>
merge_result(aggregator_state& st, const shard_task& task, const shard_output& result) {
  auto it = st.tasks.find(task.task_id);
  if (it == st.tasks.end()
      && std::find(st.finished.begin(), st.finished.end(), task.task_id) != st.finished.end())
    return std::optional<compute::tensor>{}; // a late duplicate of a finished task
  if (it == st.tasks.end()) {
    auto builder = output_builder::start(task);
    if (!builder)
      return builder.error();
    it = st.tasks.emplace(task.task_id, std::move(*builder)).first;
  }
  auto added = it->second.add(task, result.output);
  if (!added)
    return added.error();
  if (!it->second.complete())
    return std::optional<compute::tensor>{};
  auto out = it->second.take();
  st.tasks.erase(it);
  st.finished.push_back(task.task_id);
  if (st.finished.size() > finished_kept)
    st.finished.pop_front();
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
