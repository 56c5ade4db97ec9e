// Labelled data sets for the AI workloads: IDX files (MNIST's format, gzip or raw) and
// pairs of .npy files.
//
// A data set is a matrix of float32 samples (one row each) and one integer class label
// per row. Specs, as users write them:
//   fashion-mnist         the 60,000 training images of Debian's dataset-fashion-mnist
//   fashion-mnist:test    its 10,000 test images
//                         (pixels scaled to [0, 1], then standardized with the training
//                         set's mean and deviation: PyTorch's
//                         Normalize((0.2860,), (0.3530,)) after ToTensor())
//   X.npy,y.npy           samples (N x features) and labels (N), any numeric dtype
// Nothing in a file is trusted: magic numbers, dimensions and sizes are checked before
// anything is allocated, and every error names the file and what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute::nn {

struct dataset {
  std::string name;
  tensor x;                // N x features
  std::vector<int32_t> y;  // N labels in [0, classes)
  std::size_t classes = 0; // 1 + the largest label
  // How the samples were standardized, x = (raw - input_mean) / input_std, where raw is
  // what the files hold (Fashion-MNIST's: pixels / 255); 0 and 1: they were not.
  float input_mean = 0;
  float input_std = 1;

  std::size_t size() const noexcept {
    return y.size();
  }
};

constexpr float fashion_mnist_mean = 0.2860f;
constexpr float fashion_mnist_std = 0.3530f;

/// Where Debian's dataset-fashion-mnist puts its files; NEXUS_FASHION_MNIST overrides it.
std::string fashion_mnist_dir();

/// Reads an IDX file (gzip-compressed or not) of unsigned bytes: images (3 dimensions,
/// returned as N x rows*cols) or labels (1 dimension, N x 1). Values are not scaled.
expected<tensor> read_idx(const std::string& path);

/// The same from the uncompressed bytes of an IDX file; errors begin with `name`.
expected<tensor> parse_idx(std::span<const uint8_t> bytes, const std::string& name);

/// Reads images and labels; images are scaled to [0, 1].
expected<dataset> read_idx_pair(const std::string& images, const std::string& labels);

/// Loads a data set from its spec (see above).
expected<dataset> load_dataset(const std::string& spec);

/// Says in a weights file's metadata how the model's inputs were standardized, when they
/// were: "nexus.input_mean" and "nexus.input_std" (docs/python.md applies them in PyTorch).
void note_standardization(std::map<std::string, std::string>& metadata, float input_mean,
                          float input_std);

/// Rows [begin, end) of a data set, copied.
dataset slice(const dataset& d, std::size_t begin, std::size_t end);

} // namespace nexus::compute::nn
