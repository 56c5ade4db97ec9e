// Neural networks for the AI workloads: multi-layer perceptrons (dense layers with ReLU
// between them, softmax cross-entropy on top), with forward and backward passes on
// Eigen, and their parameters in one flat vector so that gradients can be summed,
// averaged, hashed and sent as one block.
//
// A model is named by a spec, `mlp:784-256-128-10` (inputs, hidden sizes, classes), or
// by a YAML file:
//
//   model: mlp
//   inputs: 784
//   layers:
//     - {units: 256, activation: relu}
//     - {units: 128, activation: relu}
//     - {units: 10}
//
// Weights are kept as PyTorch's nn.Linear keeps them (out x in), and saved under
// nn.Sequential's names ("0.weight", "0.bias", "2.weight", ...), so that
// `torch.nn.Sequential(Linear, ReLU, ..., Linear).load_state_dict(load_file(path))` works.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/nn/safetensors.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute::nn {

enum class activation : uint8_t { none, relu };

struct layer_spec {
  std::size_t in = 0;
  std::size_t out = 0;
  activation act = activation::none;

  friend bool operator==(const layer_spec&, const layer_spec&) = default;
};

struct model_spec {
  std::vector<layer_spec> layers;

  std::size_t inputs() const noexcept {
    return layers.empty() ? 0 : layers.front().in;
  }

  std::size_t outputs() const noexcept {
    return layers.empty() ? 0 : layers.back().out;
  }

  std::size_t parameter_count() const noexcept;

  /// FLOP of one sample's forward pass (multiply-adds count two).
  double forward_flops() const noexcept;

  /// "mlp:784-256-128-10" when every hidden layer is ReLU and the last is linear; a
  /// longer form otherwise.
  std::string text() const;

  friend bool operator==(const model_spec&, const model_spec&) = default;
};

/// An `mlp:A-B-...-Z` spec, or the path of a YAML model file. Layers up to 65,536 wide,
/// at most 64 of them and 2^28 parameters.
expected<model_spec> parse_model_spec(const std::string& text);

/// Loss and accuracy counts of a batch.
struct batch_stats {
  double loss_sum = 0; // summed over the rows
  std::size_t correct = 0;
  std::size_t rows = 0;

  batch_stats& operator+=(const batch_stats& x) {
    loss_sum += x.loss_sum;
    correct += x.correct;
    rows += x.rows;
    return *this;
  }
};

class mlp {
public:
  /// All parameters zero.
  explicit mlp(model_spec spec);

  /// Initialized as PyTorch's nn.Linear does: weights and biases uniform in
  /// +-1/sqrt(inputs of the layer), from a seed.
  static mlp initialized(model_spec spec, uint64_t seed);

  const model_spec& spec() const noexcept {
    return spec_;
  }

  std::span<float> parameters() noexcept {
    return params_;
  }

  std::span<const float> parameters() const noexcept {
    return params_;
  }

  /// Class probabilities (rows x classes) for `rows` samples at `x`; every core.
  tensor probabilities(const float* x, std::size_t rows) const;

  /// Adds `scale` times the gradient of the summed softmax cross-entropy over `rows`
  /// samples into `grad` (parameter_count() values); one thread. Returns the loss and
  /// the number of correct predictions.
  batch_stats gradient(const float* x, const int32_t* y, std::size_t rows,
                       std::span<float> grad, float scale = 1.0f) const;

  /// Loss and accuracy without gradients; every core.
  batch_stats evaluate(const float* x, const int32_t* y, std::size_t rows) const;

  /// As safetensors, under nn.Sequential's names, with the spec in the metadata.
  safetensors_file to_safetensors() const;

  /// From safetensors written by to_safetensors or by PyTorch (an nn.Sequential of
  /// Linear and ReLU layers); errors say which tensor is missing or misshapen.
  static expected<mlp> from_safetensors(const safetensors_file& f);

private:
  struct offsets {
    std::size_t weight, bias;
  };

  model_spec spec_;
  std::vector<offsets> at_;
  std::vector<float> params_;
};

} // namespace nexus::compute::nn
