// Models and data as a program holds them: labelled data sets by spec, and a model's
// weights as named tensors, under the names PyTorch's nn.Sequential gives them, read from
// and written to safetensors files. Part of NexusChain's public API (actors/api/nexus.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus::api {

/// Samples and their class labels.
struct labelled_data {
  std::string name;
  compute::tensor x;       // N x features
  std::vector<int32_t> y;  // N labels in [0, classes)
  std::size_t classes = 0; // 1 + the largest label
  // How the samples were standardized, x = (raw - input_mean) / input_std, raw being what
  // the files hold (Fashion-MNIST's: pixels / 255, as torchvision's ToTensor gives them);
  // 0 and 1: they were not.
  float input_mean = 0;
  float input_std = 1;
};

/// "fashion-mnist" (its 60,000 training images), "fashion-mnist:test" (its 10,000 test
/// images), or "X.npy,y.npy". Errors name the file and what is wrong with it.
expected<labelled_data> load_data(const std::string& spec);

/// A multi-layer perceptron's weights.
struct model_weights {
  std::string spec; // "mlp:784-256-128-10"
  // nn.Sequential's names and shapes, in order: "0.weight" (out x in), "0.bias" (out),
  // "2.weight", ... (the ReLUs between the Linear layers have no parameters).
  std::vector<std::pair<std::string, compute::tensor>> tensors;
  // Kept in a safetensors file: "nexus.model" (the spec), "nexus.input_mean" and
  // "nexus.input_std" (how its inputs must be standardized, when they must).
  std::map<std::string, std::string> metadata;
};

/// The spec text of `spec_or_path`: "mlp:784-256-128-10", or a YAML model file's path.
expected<std::string> model_text(const std::string& spec_or_path);

/// The weights of model `spec` from its flat parameter vector (a training run's output).
expected<model_weights> unflatten(const std::string& spec, const compute::tensor& flat);

/// The flat parameter vector (1 x parameters) of `w`, whose spec it infers from its
/// tensors when `w.spec` is empty; errors say which tensor is missing or misshapen.
expected<std::pair<std::string, compute::tensor>> flatten(const model_weights& w);

/// Reads a safetensors file written by nexus-shell, this API or PyTorch (an nn.Sequential
/// of Linear and ReLU layers).
expected<model_weights> read_weights(const std::string& path);

/// Writes `w` as safetensors, atomically.
error write_weights(const std::string& path, const model_weights& w);

/// Records in `w.metadata` how `data`'s samples were standardized, if they were.
void note_standardization(model_weights& w, const labelled_data& data);

} // namespace nexus::api
