// Where a worker multiplies: the CPU kernels (kernels/sgemm.hpp over oneTBB), or an
// OpenCL device with the CPU as its fallback.
//
// Specs: "auto" (a GPU through OpenCL if there is one, else the CPU), "cpu", "opencl"
// (the best OpenCL device, GPU first), "opencl:N" (device N of opencl::list_devices()).
// An OpenCL device that cannot be opened leaves the CPU, and note() says why; a device
// that fails later (a lost device, no memory) has that product and every later one run
// on the CPU, and the call says why. Nothing throws. One owner: not thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/nn/model.hpp"
#include "compute/opencl/backend.hpp"

namespace nexus::compute {

/// An MLP's layers as the OpenCL kernels take them.
std::vector<opencl::context::layer> opencl_layers(const nn::model_spec& spec);

/// errc::invalid_input unless `spec` is auto, cpu, opencl or opencl:N.
error check_device_spec(const std::string& spec);

class gemm_device {
public:
  /// errc::invalid_input for a spec that is none of the above.
  static expected<std::unique_ptr<gemm_device>> open(const std::string& spec);

  /// "cpu:avx512", or "opencl:" and the device's name.
  std::string name() const;

  /// Why the device is not the one asked for; empty when it is.
  const std::string& note() const noexcept {
    return note_;
  }

  /// C = A * B, row-major (m x k) * (k x n). Returns why it ran on the CPU instead of the
  /// OpenCL device, or an empty string.
  std::string gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
                   std::size_t n);

  /// As nn::mlp::gradient: adds `scale` times the gradient over `rows` samples into
  /// `grad`, on the OpenCL device when there is one. `fallback`, if given, receives why
  /// the CPU did it instead.
  nn::batch_stats mlp_gradient(const nn::mlp& model, const float* x, const int32_t* y,
                               std::size_t rows, std::span<float> grad, float scale = 1.0f,
                               std::string* fallback = nullptr);

  /// As nn::mlp::probabilities, on the OpenCL device when there is one.
  tensor mlp_probabilities(const nn::mlp& model, const float* x, std::size_t rows,
                           std::string* fallback = nullptr);

  /// GFLOP/s of a short product (a few ms): on an OpenCL device as measured, on the CPU
  /// one core's speed times the cores this process may use.
  double calibrate();

  /// Tests and demonstrations: the next OpenCL call fails with `why`.
  void inject_failure(std::string why) {
    injected_ = std::move(why);
  }

  /// Caps the device memory one call may take (opencl::context::limit_memory).
  void limit_memory(std::size_t bytes) {
    if (cl_)
      cl_->limit_memory(bytes);
  }

private:
  // After a failed OpenCL call: says why the CPU does this call, and drops the device
  // unless the call only lacked memory.
  std::string fall_back(const error& err);

  // The injected failure, once.
  error injected();

  std::unique_ptr<opencl::context> cl_;
  std::string note_;
  std::string injected_;
};

} // namespace nexus::compute
