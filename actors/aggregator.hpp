// The aggregator actor: compiles validated shard results into each task's output.
//
// It takes only results a validator approved, each shard once (a late duplicate of a
// re-issued shard is ignored), and sends the whole output to the orchestrator when the
// last shard is in. Its memory is one output tensor per task in progress.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"

namespace nexus {

struct aggregator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  aggregator_state() = default;

  struct partial {
    compute::tensor output;
    std::vector<bool> merged; // per shard
    uint32_t remaining = 0;
  };

  orchestrator_actor orchestrator;
  std::map<uint64_t, partial> tasks;
  static inline const char* name = "nexus.aggregator";
};

aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self,
           orchestrator_actor orchestrator);

} // namespace nexus
