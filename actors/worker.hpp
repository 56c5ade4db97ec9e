// The worker actor: computes the shards the orchestrator assigns to it.
//
// It reads the operands from its node's blob store, runs the workload on its device (the
// CPU kernels, or an OpenCL device with the CPU as fallback; compute/device.hpp), and
// sends the result, signed with its node key, to the aggregator. A worker
// blocks while it computes, so spawn it detached (spawn_worker does). A worker with a
// fault mode misbehaves on purpose, for tests and demonstrations.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "actors/blob_store.hpp"
#include "actors/bulk.hpp"
#include "actors/interfaces.hpp"
#include "actors/results.hpp"
#include "chain/identity.hpp"
#include "compute/device.hpp"

namespace nexus {

/// Ways a worker misbehaves on purpose, for tests and demonstrations; each strikes a
/// shard with the worker's fault rate.
enum class worker_fault : uint8_t {
  none,
  corrupt,     // returns results with wrong elements
  device_lost, // its OpenCL device fails on the first shard (the CPU takes over)
  device_full, // its OpenCL device has 16 KiB of memory: larger products run on the CPU
  late,        // answers after worker_config::late_by
  crash,       // dies (its process, on a node) instead of answering
  garbage,     // sends bytes that are no result at all
};

std::string to_string(worker_fault x);

/// "corrupt", "corrupt:0.3" (the rate), "late", "crash", "garbage", "device-lost",
/// "device-full", "none"; errc::invalid_input naming the choices otherwise.
caf::expected<std::pair<worker_fault, double>> parse_worker_fault(const std::string& text);

/// Results a worker signs with one signature at most; it signs sooner when its mailbox
/// is empty or a shard took longer than batch_signing_below.
constexpr std::size_t results_per_signature = 64;
constexpr std::chrono::milliseconds batch_signing_below{2};

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
  std::optional<chain::node_key> key; // signs its results; none on an open network
  double fault_rate = 1.0;           // share of shards the fault strikes
  std::chrono::milliseconds late_by{3000};
  bool crash_process = false;        // crash: end the process, not just the actor
  // The relay's node's bulk channel: results above held_result_bytes go there when their
  // aggregator runs on that node. Empty: every result goes through the relay.
  bulk_endpoint bulk;
};

struct worker_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  worker_state() = default;

  worker_config config;
  uint64_t corruptions = 0;
  std::mt19937_64 fault_rng;
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
caf::expected<node_info> describe_worker(worker_config& config);

} // namespace nexus
