// The aggregator actor: takes workers' results, has them judged, and compiles the valid
// ones into each task's output.
//
// A worker's result comes here first (stage) and stays until the validator the
// orchestrator chose has judged it: the aggregator asks that validator, passing the result
// itself when it is small or the validator shares this process, and otherwise only its
// header, in which case the validator asks for the fingerprint its check needs
// (compute/workloads/matmul.hpp). So a large result crosses the network once, worker to
// aggregator, whatever validator judges it. Valid results are merged, each shard once (a
// late duplicate of a re-issued shard is ignored), as their workload says (rows placed,
// or training gradients summed); the whole output goes to the orchestrator when the last
// shard is in. Its memory is one output tensor per task in progress and the results
// awaiting a verdict, which it forgets when their task ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <tuple>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "actors/workloads.hpp"

namespace nexus {

/// Results of at most this many bytes travel to a validator in another process; larger
/// matmul results stay here and are judged by fingerprint.
constexpr std::size_t held_result_bytes = 256 * 1024;

/// How long a result waits for its verdict before it is forgotten (the orchestrator
/// re-issues a shard long before).
constexpr std::chrono::minutes verdict_wait{10};

struct aggregator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  aggregator_state() = default;

  using result_key = std::tuple<uint64_t, uint32_t, uint32_t>; // task, shard, attempt

  struct staged_result {
    shard_task task;
    shard_output output;
  };

  orchestrator_actor orchestrator;
  std::map<uint64_t, output_builder> tasks;
  std::map<result_key, staged_result> staged; // awaiting their verdicts
  std::deque<uint64_t> finished; // the last tasks sent, whose late duplicates are ignored
  static inline const char* name = "nexus.aggregator";

  /// Forgets the results of `task_id` that await verdicts.
  void unstage(uint64_t task_id);
};

aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self,
           orchestrator_actor orchestrator);

} // namespace nexus
