// Training pieces shared by the local trainer and the network's data-parallel one:
// optimizers over flat parameter vectors, learning-rate schedules, the order in which an
// epoch visits the samples, and gathering a batch's rows.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/nn/dataset.hpp"
#include "compute/nn/model.hpp"

namespace nexus::compute::nn {

enum class optimizer_kind : uint8_t { sgd, adam };
enum class lr_schedule : uint8_t { constant, cosine };

expected<optimizer_kind> parse_optimizer(const std::string& name); // sgd, adam
expected<lr_schedule> parse_schedule(const std::string& name);     // constant, cosine
std::string to_string(optimizer_kind x);
std::string to_string(lr_schedule x);

struct train_config {
  std::size_t epochs = 10;
  std::size_t batch = 128;
  double lr = 1e-3;
  optimizer_kind optimizer = optimizer_kind::adam;
  lr_schedule schedule = lr_schedule::constant;
  double momentum = 0.9; // SGD
  double beta1 = 0.9;    // Adam
  double beta2 = 0.999;
  double eps = 1e-8;
  uint64_t seed = 1;
};

/// The learning rate of step `step` (from 0) of `total`: constant, or cosine annealing
/// from `base` down to 0 over the run.
double scheduled_lr(lr_schedule schedule, double base, uint64_t step, uint64_t total);

/// SGD with momentum, or Adam (with bias correction), over a flat parameter vector.
/// Its state is state_rows() vectors of the parameters' length, one after the other:
/// the momentum (SGD), or Adam's first and second moments.
class optimizer {
public:
  optimizer(const train_config& config, std::size_t parameters);

  /// Resumes from `state` (state_rows() x parameters values) after `steps` updates.
  optimizer(const train_config& config, std::span<const float> state, uint64_t steps);

  /// One update of `params` by `grad_scale` times the gradient `grad`, at learning rate
  /// `lr`.
  void step(std::span<float> params, std::span<const float> grad, double lr,
            float grad_scale = 1.0f);

  uint64_t steps() const noexcept {
    return t_;
  }

  std::span<const float> state() const noexcept {
    return state_;
  }

  /// Vectors in the state of `kind`: 1 (SGD) or 2 (Adam).
  static std::size_t state_rows(optimizer_kind kind) noexcept {
    return kind == optimizer_kind::adam ? 2 : 1;
  }

private:
  train_config config_;
  std::size_t parameters_ = 0;
  std::vector<float> state_;
  uint64_t t_ = 0;
};

/// The order in which epoch `epoch` visits `n` samples: a permutation drawn from the
/// seed and the epoch alone, so that any node derives the same one.
std::vector<uint32_t> epoch_order(std::size_t n, uint64_t seed, std::size_t epoch);

/// Copies rows `order[begin, end)` of `d` into `x` (rows x features) and `y`.
void gather(const dataset& d, std::span<const uint32_t> rows, std::vector<float>& x,
            std::vector<int32_t>& y);

/// Steps per epoch: ceil(n / batch).
std::size_t steps_per_epoch(std::size_t n, std::size_t batch);

struct epoch_report {
  std::size_t epoch = 0; // from 1
  double loss = 0;       // mean training loss over the epoch
  double train_accuracy = 0;
  double test_accuracy = -1; // -1: no test set
  double seconds = 0;
};

/// Trains `model` in this process: each batch's gradient computed in micro-batches on
/// every core. Calls `on_epoch` after each epoch.
void train_local(mlp& model, const dataset& train, const dataset* test,
                 const train_config& config,
                 const std::function<void(const epoch_report&)>& on_epoch = {});

} // namespace nexus::compute::nn
