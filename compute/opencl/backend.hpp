// The OpenCL backend: devices through the ICD loader, programs built once per device,
// and the kernels of compute/kernels/*.cl (embedded at build time).
//
// Thread-safety: a context serializes its own calls (one command queue); give each worker
// its own context or share one across threads. Every OpenCL failure (no device, a kernel
// that does not build, a lost device, out of memory) is a error naming the call and
// the OpenCL error code, never an exception or a crash; callers fall back to the CPU.
// Out of memory is errc::exhausted: a call's buffers are counted against the device's
// memory (or limit_memory) before they are made, and the device stays usable for smaller
// work; every other failure is errc::unavailable.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compute/errc.hpp"

namespace nexus::compute::opencl {

struct device_info {
  std::string name;
  std::string platform;
  bool gpu = false;
  std::size_t global_memory = 0;  // bytes
  std::size_t max_allocation = 0; // bytes, the largest single buffer
  unsigned compute_units = 0;
};

/// Every device of every platform the ICD loader knows; empty when there are none.
std::vector<device_info> list_devices();

class context {
public:
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// Device `index` of list_devices(), with its programs built; `build_options` go to
  /// the OpenCL compiler after the kernels' own. errc::unavailable with the compiler's
  /// log when the kernels do not build.
  static expected<std::unique_ptr<context>> open(std::size_t index,
                                                 const std::string& build_options = {});

  /// A GPU if there is one, else the first device.
  static expected<std::unique_ptr<context>>
  open_best(const std::string& build_options = {});

  /// Caps the device memory one call may take (at most the device's own): a provider
  /// leaving memory to others, or a test. Work above the cap fails with errc::exhausted.
  void limit_memory(std::size_t bytes);

  const device_info& device() const noexcept;

  /// C = A * B for row-major A (m x k), B (k x n), C (m x n).
  error gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
             std::size_t n);

  /// Benchmarks: the best of `repeats` runs of the GEMM kernel alone on an m x k by
  /// k x n product already on the device (no transfers), in seconds.
  expected<double> time_gemm_kernel(std::size_t m, std::size_t k, std::size_t n,
                                    unsigned repeats);

  /// One dense layer of an MLP: `in` -> `out`, ReLU after it or not.
  struct layer {
    std::size_t in = 0;
    std::size_t out = 0;
    bool relu = false;
  };

  /// Adds `scale` times the gradient of the summed softmax cross-entropy of an MLP over
  /// `rows` samples into `grad`, as compute::nn::mlp::gradient does on the CPU; `params`
  /// and `grad` are laid out as there (each layer's weight, out x in, then its bias).
  /// Returns the summed loss and the number of correct predictions.
  expected<std::pair<double, std::size_t>> mlp_gradient(const std::vector<layer>& layers,
                                                        const float* params, const float* x,
                                                        const int* labels, std::size_t rows,
                                                        float* grad, float scale);

  /// Class probabilities (rows x classes, into `out`) of an MLP laid out as above.
  error mlp_probabilities(const std::vector<layer>& layers, const float* params,
                          const float* x, std::size_t rows, float* out);

private:
  struct impl;
  explicit context(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace nexus::compute::opencl
