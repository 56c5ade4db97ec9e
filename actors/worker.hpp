// The worker actor: computes the shards the orchestrator assigns to it.
//
// It reads the operands from its node's blob store, runs the workload on its device (the
// CPU kernels, or an OpenCL device with the CPU as fallback; compute/device.hpp), and
// sends the result to the aggregator, naming the validator that is to judge it. A worker
// blocks while it computes, so spawn it detached (spawn_worker does). A worker with a
// fault mode misbehaves on purpose, for tests and demonstrations.
#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/blob_store.hpp"
#include "actors/interfaces.hpp"
#include "compute/device.hpp"

namespace nexus {

enum class worker_fault : uint8_t {
  none,
  corrupt,     // returns blocks with wrong elements
  device_lost, // its OpenCL device fails on the first shard (the CPU takes over)
  device_full, // its OpenCL device has 16 KiB of memory: larger products run on the CPU
};

struct worker_config {
  std::string name;
  std::shared_ptr<blob_store> store; // must be non-null
  worker_fault fault = worker_fault::none;
  uint64_t seed = 0;                 // drives which elements a faulty worker corrupts
  // Across processes, results go through the orchestrator node's gateway: CAF 0.17 keeps
  // stale routes to third nodes after a reconnect and drops what it sends on them, while
  // the link to the orchestrator's node is always fresh. Null: send straight on.
  gateway_actor relay;
  std::string device = "auto"; // auto, cpu, opencl, opencl:N
  // Opened from `device` by describe_worker, which measures it; the worker owns it.
  std::shared_ptr<compute::gemm_device> gemm;
};

struct worker_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  worker_state() = default;

  worker_config config;
  uint64_t corruptions = 0;
  static inline const char* name = "nexus.worker";
};

worker_actor::behavior_type worker(worker_actor::stateful_pointer<worker_state> self,
                                   worker_config config);

/// Spawns a worker on its own thread.
worker_actor spawn_worker(caf::actor_system& sys, worker_config config);

/// What the worker says of itself when it joins: its device and measured GFLOP/s. Opens
/// config.device (an OpenCL device that cannot be used leaves the CPU, and says why on
/// standard output). errc::invalid_input for an unknown device spec.
caf::expected<node_info> describe_worker(worker_config& config);

} // namespace nexus
