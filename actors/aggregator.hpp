// The aggregator actor: takes workers' results, has them judged, and compiles the valid
// ones into each task's output.
//
// The orchestrator tells it of every attempt before the worker's result can arrive
// (expect): the assignment, whose result it must be (the worker's name and key) and how
// it is judged (check_mode): by one validator, by two with a third deciding when they
// disagree (an audit of the validators), or not at all when the worker's record earned
// that (adaptive verification). So a worker can neither change its assignment nor pick
// its judge. A result comes here (stage) and stays until judged: the aggregator checks
// that it names its worker and carries that worker's signature for this very attempt,
// then asks the validators, passing the result itself when it is small or the validator
// shares this process, and otherwise only its header, in which case the validator asks
// for the fingerprint its check needs (compute/workloads/matmul.hpp), so a large result
// crosses the network once. Its judgment goes to the orchestrator; valid results are
// merged, each shard once (a late duplicate of a re-issued shard is ignored), as their
// workload says (rows placed, or training gradients summed), and the whole output goes
// to the orchestrator when the last shard is in. Its memory is one output tensor per task
// in progress and the results awaiting a judgment, which it forgets when their task ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/core/results.hpp"
#include "actors/core/task_table.hpp"
#include "actors/core/workload.hpp"
#include "actors/interfaces.hpp"
#include "actors/transport/bulk.hpp"

namespace nexus {

/// How long a result waits for a verdict before it is forgotten (the orchestrator
/// re-issues a shard long before).
constexpr std::chrono::minutes verdict_wait{10};

/// Results that arrive before the orchestrator's word on their attempt, kept at most.
constexpr std::size_t early_results_kept = 4096;

struct aggregator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  aggregator_state() = default;

  using result_key = std::tuple<uint64_t, uint32_t, uint32_t>; // task, shard, attempt

  /// One attempt, from the orchestrator's word until its judgment.
  struct attempt {
    shard_task task;
    wire::shard_task assignment;
    expectation expected;
    wire::expectation expected_msg;
    caf::actor_addr worker;                     // results from anyone else are ignored
    validator_list validators;                  // check: 1; audit: 2, and a third to decide
    std::shared_ptr<const shard_output> output; // shared with its envelope in this process
    wire::shard_output raw;
    std::vector<verdict> verdicts; // in the order of `validators`
    clock_type::time_point since;
  };

  /// The attempts of one round of a replicated shard, judged by their agreement.
  struct replica_round {
    uint32_t replicas = 0;
    std::vector<result_key> waiting;         // results in, not yet judged
    std::optional<compute::tensor> majority; // once a majority agrees: its result
  };
  using round_key = std::tuple<uint64_t, uint32_t, uint32_t>; // task, shard, first attempt

  orchestrator_actor orchestrator;
  std::map<uint64_t, std::unique_ptr<output_merge>> tasks;
  std::map<round_key, replica_round> rounds;
  std::map<result_key, attempt> attempts;
  struct early_result {
    caf::actor_addr sender;
    wire::shard_output msg;
  };
  std::map<result_key, early_result> early; // results before their expectation
  std::deque<uint64_t> finished; // the last tasks sent, whose late duplicates are ignored
  chain::statement_verifier verifier{result_tag};
  std::shared_ptr<bulk_service> bulk; // where large results wait (null: none)
  std::shared_ptr<blob_store> store;  // where rounds of local steps start from
  static inline const char* name = "nexus.aggregator";

  /// Forgets the attempts of `task_id` that await judgment.
  void forget(uint64_t task_id);

  /// Forgets attempts whose result has not come for verdict_wait (their worker is gone).
  void sweep(clock_type::time_point now);
};

/// `bulk`: this process's bulk service, whose results `stage` may name by ticket (null:
/// none).
aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self,
           orchestrator_actor orchestrator, std::shared_ptr<bulk_service> bulk,
           std::shared_ptr<blob_store> store);

} // namespace nexus
