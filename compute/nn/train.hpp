// Training pieces shared by the local trainer and the network's data-parallel one:
// optimizers over flat parameter vectors, learning-rate schedules, the order in which an
// epoch visits the samples, and gathering a batch's rows.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "compute/nn/dataset.hpp"
#include "compute/nn/model.hpp"

namespace nexus::compute::nn {

enum class optimizer_kind : uint8_t { sgd, adam };
enum class lr_schedule : uint8_t { constant, cosine };

caf::expected<optimizer_kind> parse_optimizer(const std::string& name); // sgd, adam
caf::expected<lr_schedule> parse_schedule(const std::string& name);    // constant, cosine
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
class optimizer {
public:
  optimizer(const train_config& config, std::size_t parameters);

  /// One update of `params` by the gradient `grad` at learning rate `lr`.
  void step(std::span<float> params, std::span<const float> grad, double lr);

  uint64_t steps() const noexcept {
    return t_;
  }

private:
  train_config config_;
  std::vector<float> m_; // momentum, or Adam's first moment
  std::vector<float> v_; // Adam's second moment
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
