// The aggregator actor: compiles validated shard results into each task's output.
//
// It takes only results a validator approved, each shard once (a late duplicate of a
// re-issued shard is ignored), combines them as their workload says (rows placed, or
// training gradients summed), and sends the whole output to the orchestrator when the
// last shard is in. Its memory is one output tensor per task in progress.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "actors/workloads.hpp"

namespace nexus {

struct aggregator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  aggregator_state() = default;

  orchestrator_actor orchestrator;
  std::map<uint64_t, output_builder> tasks;
  std::deque<uint64_t> finished; // the last tasks sent, whose late duplicates are ignored
  static inline const char* name = "nexus.aggregator";
};

aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self,
           orchestrator_actor orchestrator);

} // namespace nexus
