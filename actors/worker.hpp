// The worker actor: computes the shards the orchestrator assigns to it.
//
// It reads the operands from its node's blob store, runs the workload on its device (the
// CPU kernels, or an OpenCL device with the CPU as fallback; compute/device.hpp), and
// sends the result, signed with its node key, to the aggregator. A worker
// blocks while it computes, so spawn it detached (spawn_worker does). Workers that
// misbehave on purpose, for tests and demonstrations, wrap this one (actors/faulty.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/core/results.hpp"
#include "actors/interfaces.hpp"
#include "actors/transport/bulk.hpp"
#include "chain/identity.hpp"
#include "compute/device.hpp"

namespace nexus {

/// Results a worker signs with one signature at most; it signs sooner when its mailbox
/// is empty or a shard took longer than batch_signing_below.
constexpr std::size_t results_per_signature = 64;
constexpr std::chrono::milliseconds batch_signing_below{2};

struct worker_config {
  std::string name;
  std::shared_ptr<blob_store> store; // must be non-null
  // Across processes, results go through the orchestrator node's gateway: CAF 0.17 keeps
  // stale routes to third nodes after a reconnect and drops what it sends on them, while
  // the link to the orchestrator's node is always fresh. Null: send straight on.
  gateway_actor relay;
  std::string device = "auto"; // auto, cpu, opencl, opencl:N
  // Opened from `device` by describe_worker, which measures it; the worker owns it.
  std::shared_ptr<compute::gemm_device> gemm;
  std::optional<chain::node_key> key; // signs its results; none on an open network
  // The relay's node's bulk channel: results above held_result_bytes go there when their
  // aggregator runs on that node. Empty: every result goes through the relay.
  bulk_endpoint bulk;
  // Sees each computed result before it is signed. The one seam for wrappers that
  // misbehave on purpose (actors/faulty.hpp); empty in production.
  std::function<void(shard_output&)> before_signing;
};

struct worker_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  worker_state() = default;

  worker_config config;
  result_batch unsent; // computed, to be signed and sent
  aggregator_actor unsent_to;
  static inline const char* name = "nexus.worker";
};

worker_actor::behavior_type worker(worker_actor::stateful_pointer<worker_state> self,
                                   worker_config config);

/// Spawns a worker on its own thread.
worker_actor spawn_worker(caf::actor_system& sys, worker_config config);

/// What the worker says of itself when it joins: its device and measured GFLOP/s. Opens
/// config.device (an OpenCL device that cannot be used leaves the CPU, and says why on
/// standard output). errc::invalid_input for an unknown device spec.
expected<node_info> describe_worker(worker_config& config);

} // namespace nexus
