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
// Verification: the validator, after the result is in (so the worker's answer is fixed
// before the sample is drawn), recomputes each row with probability `sample_rate`
// (inference: at least one row per shard) from its own secret random draws, and rejects
// the shard if any recomputed row differs beyond rounding. A shard of k rows with c of
// them wrong escapes with probability (1 - sample_rate)^c; see docs/ARCHITECTURE.md.
// Inference results must moreover be probability distributions in every row (each value
// in [0, 1], the row summing to 1), which catches any other change for certain; only a
// reordering of values within rows is left to the sample.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <caf/error.hpp>

#include "compute/device.hpp"
#include "compute/nn/model.hpp"
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

/// The model with `weights` (1 x parameters) as its parameters.
caf::expected<nn::mlp> with_weights(const nn::model_spec& spec, const tensor& weights);

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
caf::error check_infer(const nn::mlp& model, const tensor& x, std::size_t begin,
                       std::size_t end, const tensor& output, double sample_rate,
                       double tolerance, std::mt19937_64& rng);

/// Checks a sample of a training shard's micro-batch rows.
caf::error check_train(const nn::mlp& model, const tensor& x, const tensor& labels,
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
