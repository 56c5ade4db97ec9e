// Each workload's rules in one place, for the actors that carry them out: how a task is
// checked and planned into shards (orchestrator), how a shard runs (worker), how its
// result is judged (validator), and how validated results combine (aggregator).
//
//   matmul      rows of C = A * B; Freivalds' check; rows placed into C
//   infer       rows of class probabilities; sampled rows recomputed; rows placed
//   train_step  micro-batch gradient rows; sampled micro-batches recomputed; rows summed
//               into one (the batch's gradient, loss and correct count). With local
//               steps, a round: each lane's rows, one per step; sampled rows recomputed
//               on the replayed trajectory; each lane's end point replayed from its rows
//               and averaged into the round's output: (1 + optimizer state rows) x
//               (parameters + 2), row 0 the mean weights, then the loss sum and correct
//               count of all the round's samples; rows 1.. the mean optimizer state
//   train       a training run: no shards of its own; the orchestrator drives its steps
//               (actors/trainer.hpp)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>


#include "actors/core/blob_store.hpp"
#include "compute/device.hpp"
#include "compute/errc.hpp"
#include "compute/nn/train.hpp"
#include "compute/workloads/model.hpp"
#include "compute/workloads/matmul.hpp"
#include "messages/codec.hpp"
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

/// Checks a request's operands and fills in the workload's defaults (tolerance,
/// verification rounds or sample rate).
error complete_request(task_request& req);

/// Plans a checked request for `workers` workers.
expected<work_plan> plan_work(const task_request& req, std::size_t workers);

/// Work units of `rows` rows at `flops_per_row`: their MFLOP, at least 1. The ledger
/// pays by them.
uint64_t work_units(std::size_t rows, double flops_per_row);

/// Computes one shard from the operands in `store`, its products on `device` (null: the
/// CPU); the output's error says why not. `fallback`, if given, receives why the device
/// left a product to the CPU.
shard_output run_shard(const shard_task& task, blob_store& store,
                       compute::gemm_device* device = nullptr,
                       std::string* fallback = nullptr);

/// A validator's judgment of a model workload's result (matmul is the validator's own,
/// with its cached probes); `rng` must be secret from workers.
error check_model_shard(const shard_task& task, const shard_output& result,
                             blob_store& store, std::mt19937_64& rng);

/// A task's output as validated shards arrive.
class output_builder {
public:
  /// The output of `task`'s whole task, from one of its shards. A round of local steps
  /// reads its starting point from `store`.
  static expected<output_builder> start(const shard_task& task, blob_store* store = nullptr);

  /// Adds a validated shard once; true if it was new.
  expected<bool> add(const shard_task& task, const compute::tensor& block);

  /// Takes a shard back out, so that its next validated result is merged in its place;
  /// false for workloads whose shards are summed (synchronous train_step), which cannot be.
  bool revoke(uint32_t shard_id);

  bool complete() const noexcept {
    return remaining_ == 0;
  }

  /// The finished output, as the message that carries it.
  wire::final_output take();

private:
  // A round of local steps: where its lanes start, and a scratch model and optimizer
  // for replaying them.
  struct round_merge {
    compute::model_workload::round_ref round;
    std::shared_ptr<const compute::tensor> weights, state;
    std::size_t samples = 0;
    compute::nn::mlp model;
    compute::nn::optimizer opt;
    std::size_t moved = 0; // lanes that took a step
  };

  // The sum of a round shard's lanes' end points (and losses), laid out as the output.
  expected<std::vector<float>> lanes_of(const shard_task& task,
                                             const compute::tensor& block);

  // Adds a shard's part of a summed output in shard order: a part that comes early
  // waits for those before it. Float sums depend on their order, and shards arrive in
  // any order; summed in one order, the same run gives the same bits every time.
  void add_in_order(uint32_t shard_id, std::vector<float> part);

  wire::output_message output_;
  std::map<uint32_t, std::vector<float>> early_; // parts that wait for earlier shards
  uint32_t next_part_ = 0;                       // the shard whose part is added next
  bool summed_ = false;            // shards' rows summed into one (synchronous step)
  std::size_t rows_per_unit_ = 1;  // a shard's rows per unit of its range
  std::shared_ptr<round_merge> round_; // a round of local steps
  std::vector<bool> merged_;
  uint32_t remaining_ = 0;
};

} // namespace nexus
