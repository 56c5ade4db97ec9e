// The model workloads: batched inference and one data-parallel training step of an MLP
// (compute/nn), split into shards of rows, checked by recomputing a random sample.
//
// Inference: a shard is rows [begin, end) of the input; its output is their class
// probabilities (rows x classes).
//
// Training step: the batch of `batch_rows` samples at `batch_begin` in the epoch's order
// (nn::epoch_order(seed, epoch), which every node derives alike) is cut into micro-batches
// of `micro_rows`; a shard is micro-batches [begin, end), and its output has one row per
// micro-batch: the gradient of the summed loss over its samples at the given weights,
// then the summed loss and the number of correct predictions. Rows sum to the batch's.
//
// Round of local steps (local SGD): `local_steps` consecutive batches of the epoch, from
// one starting point (weights and optimizer state). A batch's micro-batch k belongs to
// lane k: each lane takes one optimizer step per batch on its own micro-batch, from the
// round's starting point, so the lanes' trajectories run apart for the round; the
// aggregator then averages the lanes' end points (nexus::output_builder). A shard
// is lanes [begin, end); its output has one row per (lane, step), lane by lane, each as
// a training step's row: the gradient of the summed loss over the micro-batch at the
// lane's weights before that step, the loss sum and the correct count. The rows fix the
// trajectory: replaying the optimizer over them from the starting point gives every
// step's weights, which is how the validator recomputes a sampled row and the
// aggregator gets each lane's end point.
//
// Verification: the validator, after the result is in (so the worker's answer is fixed
// before the sample is drawn), recomputes each row with probability `sample_rate`
// (inference: at least one row per shard) from its own secret random draws, and rejects
// the shard if any recomputed row differs beyond rounding. A shard of k rows with c of
// them wrong escapes with probability (1 - sample_rate)^c; see docs/ARCHITECTURE.md.
// Inference results must moreover be probability distributions in every row (each value
// in [0, 1], the row summing to 1), which catches any other change for certain; only a
// reordering of values within rows is left to the sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "compute/device.hpp"
#include "compute/errc.hpp"
#include "compute/nn/model.hpp"
#include "compute/nn/train.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute::model_workload {

/// Where a training step's samples come from.
struct batch_ref {
  uint64_t seed = 0;
  uint32_t epoch = 0;
  uint64_t batch_begin = 0; // offset of the batch in the epoch's order
  uint32_t batch_rows = 0;
  uint32_t micro_rows = 0;

  /// Micro-batches in the batch: ceil(batch_rows / micro_rows).
  std::size_t micro_batches() const noexcept;
};

/// A round of local steps: `batch` describes its first batch (batch_rows: samples per
/// batch; micro_rows: a lane's samples per step).
struct round_ref {
  batch_ref batch;
  uint32_t local_steps = 0; // batches in the round
  nn::train_config optimizer;
  uint64_t first_step = 0;  // the run's index of the round's first batch (for the schedule
                            // and Adam's bias correction)
  uint64_t total_steps = 0; // batches in the whole run

  /// Lanes: micro-batches per batch.
  std::size_t lanes() const noexcept {
    return batch.micro_batches();
  }

  /// The batch of local step `j`.
  batch_ref step_batch(std::size_t j) const noexcept;

  /// The learning rate of local step `j`.
  double step_lr(std::size_t j) const noexcept;
};

/// A lane's starting point: weights and optimizer state (optimizer::state_rows() x
/// parameters).
struct lane_start {
  const tensor& weights;
  const tensor& state;
};

/// Rows of lanes [begin, end) of a round (local_steps rows per lane), each lane trained
/// from `start`; micro-batch gradients on `device` when given.
expected<tensor> train_round(const nn::model_spec& spec, lane_start start, const tensor& x,
                             const tensor& labels, const round_ref& round,
                             std::size_t begin, std::size_t end,
                             gemm_device* device = nullptr,
                             std::string* fallback = nullptr);

/// Replays one lane's `local_steps` rows (at `rows`) from `start` over a data set of
/// `samples` samples: `model` and `opt` end where the lane did. `on_step(j, model)` is
/// called before step j with the lane's model at that point; an error it returns stops
/// the replay. With `steps`, the replay stops after that many steps.
using step_hook = std::function<error(std::size_t, const nn::mlp&)>;
error replay_lane(lane_start start, std::size_t samples, const round_ref& round,
                  std::size_t lane, const float* rows, nn::mlp& model, nn::optimizer& opt,
                  const step_hook& on_step = {}, std::size_t steps = SIZE_MAX);

/// Checks a sample of a round shard's (lane, step) rows, each recomputed at the weights
/// the replay of the lane's earlier rows gives.
error check_round(const nn::model_spec& spec, lane_start start, const tensor& x,
                  const tensor& labels, const round_ref& round, std::size_t begin,
                  std::size_t end, const tensor& output, double sample_rate,
                  double tolerance, std::mt19937_64& rng);

/// The model with `weights` (1 x parameters) as its parameters.
expected<nn::mlp> with_weights(const nn::model_spec& spec, const tensor& weights);

/// Probabilities of rows [begin, end) of x.
tensor infer(const nn::mlp& model, const tensor& x, std::size_t begin, std::size_t end);

/// Gradient rows of micro-batches [begin, end) of a batch: each row is
/// [gradient of the summed loss (parameters values), loss sum, correct count], computed
/// on `device` when given (else the CPU). `fallback` receives why a device left it to
/// the CPU.
tensor train_step(const nn::mlp& model, const tensor& x, const tensor& labels,
                  const batch_ref& batch, std::size_t begin, std::size_t end,
                  gemm_device* device = nullptr, std::string* fallback = nullptr);

/// Checks a sample of an inference shard's rows. errc::rejected names the first row off.
error check_infer(const nn::mlp& model, const tensor& x, std::size_t begin, std::size_t end,
                  const tensor& output, double sample_rate, double tolerance,
                  std::mt19937_64& rng);

/// Checks a sample of a training shard's micro-batch rows.
error check_train(const nn::mlp& model, const tensor& x, const tensor& labels,
                  const batch_ref& batch, std::size_t begin, std::size_t end,
                  const tensor& output, double sample_rate, double tolerance,
                  std::mt19937_64& rng);

/// Default share of rows (inference) or micro-batches (training) a validator recomputes.
constexpr double default_infer_sample = 0.05;
constexpr double default_train_sample = 0.25;

/// Default tolerance: a recomputed value may differ by this much relative to the
/// largest magnitude in its row (inference: absolutely, probabilities are in [0, 1]).
constexpr double default_tolerance = 1e-3;

/// Default rows per training micro-batch.
constexpr uint32_t default_micro_rows = 64;

} // namespace nexus::compute::model_workload
