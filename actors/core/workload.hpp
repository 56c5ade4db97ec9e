// One kind of work, and everything the roles need to know of it: how a request is checked
// and planned into shards (orchestrator), how a shard runs (worker), how its result is
// judged (validator), and how validated results combine (aggregator). One implementation
// per kind, each in a file of its own under actors/core/workloads/, found through
// workload_of(); nothing else tells the kinds apart.
//
//   matmul      rows of C = A * B; Freivalds' check (large results judged by fingerprint
//               where the aggregator holds them); rows placed into C
//   infer       rows of class probabilities; sampled rows recomputed; rows placed
//   train_step  micro-batch gradient rows; sampled micro-batches recomputed; rows summed
//               into one (the batch's gradient, loss and correct count)
//   train_round a train_step with local steps: each lane's rows, one per step; sampled
//               rows recomputed on the replayed trajectory; each lane's end point replayed
//               from its rows and averaged into the round's output: (1 + optimizer state
//               rows) x (parameters + 2), row 0 the mean weights, then the loss sum and
//               correct count of all the round's samples; rows 1.. the mean optimizer state
//   train       a training run: no shards of its own; the orchestrator drives its steps
//               (actors/core/trainer.hpp)
//
// Adding a kind: a file under actors/core/workloads/ that implements `workload`, and its
// line in workload_of().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "actors/core/blob_store.hpp"
#include "actors/core/output_merge.hpp"
#include "actors/core/probe_cache.hpp"
#include "chain/hash.hpp"
#include "compute/device.hpp"
#include "compute/errc.hpp"
#include "compute/workloads/matmul.hpp"
#include "messages/types.hpp"

namespace nexus {

/// How a task splits: `rows` units of `flops_per_row` each, cut into shards.
struct work_plan {
  std::size_t rows = 0;
  double flops_per_row = 0;
  compute::shape_t output_shape;
  std::vector<compute::matmul::shard_range> shards;

  double flops() const noexcept {
    return static_cast<double>(rows) * flops_per_row;
  }
};

/// Work units of rows [begin, end) of a task at `flops_per_row` (chain::work_units: the
/// shards of a task add up to its MFLOP rounded up). The ledger pays by them, and counts
/// them the same way.
uint64_t work_units(uint64_t begin, uint64_t end, double flops_per_row);

/// What one shard is worth to the ledger: its rows of the task and their work units.
struct shard_work {
  uint64_t units = 0;
  uint64_t row_begin = 0;
  uint64_t row_end = 0;
  std::optional<chain::digest> request; // its task's request digest (none: a step's)
};

/// What a validator judges with: its node's operands, a generator workers cannot predict,
/// and the Freivalds probes it keeps between shards of a task.
struct judge_context {
  blob_store& store;
  std::mt19937_64& rng;
  probe_cache& probes;
};

/// A result the aggregator holds, judged by its fingerprint: the probe to send, and the
/// check of the product that comes back.
class fingerprint_check {
public:
  virtual ~fingerprint_check() = default;

  /// The matrix X whose product C_R X the holder computes.
  virtual const compute::tensor& probe() const = 0;

  /// Why `product` shows the held result wrong, or none.
  virtual error verify(const compute::tensor& product) const = 0;
};

class workload {
public:
  virtual ~workload() = default;

  /// Checks a request's operands and fills in the kind's defaults (tolerance,
  /// verification rounds or sample rate).
  virtual error complete(task_request& req) const = 0;

  /// Plans a checked request for `workers` workers.
  virtual expected<work_plan> plan(const task_request& req, std::size_t workers) const = 0;

  /// Computes one shard from the operands in `store`, its products on `device` (null:
  /// the CPU); `fallback`, if given, receives why the device left a product to the CPU.
  virtual expected<compute::tensor> run(const shard_task& task, blob_store& store,
                                        compute::gemm_device* device,
                                        std::string* fallback) const = 0;

  /// Why `result` is not the shard's correct output, or none.
  virtual error judge(const shard_task& task, const shard_output& result,
                      judge_context& ctx) const = 0;

  /// The check of a result the aggregator holds; errc::rejected for kinds whose results
  /// always travel with their verdict's request.
  virtual expected<std::shared_ptr<const fingerprint_check>>
  fingerprint(const shard_task& task, judge_context& ctx) const;

  /// The task's output as its validated shards arrive. A round of local steps reads its
  /// starting point from `store`.
  virtual expected<std::unique_ptr<output_merge>> merge(const shard_task& task,
                                                        blob_store* store) const = 0;

  /// True if large results stay with the aggregator and are judged by fingerprint.
  virtual bool held_by_aggregator() const {
    return false;
  }

  /// True if a request of this kind is a training run, which the orchestrator drives
  /// through tasks of other kinds (actors/core/trainer.hpp) instead of planning shards.
  virtual bool is_run() const {
    return false;
  }

  /// True if only training runs issue tasks of this kind; submitters may not.
  virtual bool internal_only() const {
    return false;
  }

  /// True if validated results cannot be taken back out of the output (they are summed):
  /// such results are never accepted unchecked on a worker's record.
  virtual bool always_checked() const {
    return false;
  }
};

/// The workload of a kind (a train_step with local steps is a round).
const workload& workload_of(workload_kind kind, uint32_t local_steps = 0);

inline const workload& workload_of(const task_request& req) {
  return workload_of(req.workload, req.model.local_steps);
}

inline const workload& workload_of(const shard_task& task) {
  return workload_of(task.workload, task.model.local_steps);
}

/// Checks what every request shares (attempts, tolerance, replicas), then the kind's
/// operands and defaults.
error complete_request(task_request& req);

/// Plans a checked request for `workers` workers.
expected<work_plan> plan_work(const task_request& req, std::size_t workers);

/// Computes one shard (workload::run) and times it; the output's error says why not.
shard_output run_shard(const shard_task& task, blob_store& store,
                       compute::gemm_device* device = nullptr,
                       std::string* fallback = nullptr);

} // namespace nexus
