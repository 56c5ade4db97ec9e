#include "compute/device.hpp"

#include <chrono>
#include <cstdlib>
#include <utility>

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/kernels/sgemm.hpp"

namespace nexus::compute {

std::vector<opencl::context::layer> opencl_layers(const nn::model_spec& spec) {
  std::vector<opencl::context::layer> out;
  for (const auto& l : spec.layers)
    out.push_back({l.in, l.out, l.act == nn::activation::relu});
  return out;
}

error check_device_spec(const std::string& spec) {
  if (spec == "auto" || spec == "cpu" || spec == "opencl")
    return {};
  if (spec.starts_with("opencl:") && spec.size() > 7
      && spec.find_first_not_of("0123456789", 7) == std::string::npos && spec.size() < 12)
    return {};
  return make_error(errc::invalid_input,
                    "unknown device '" + spec + "' (auto, cpu, opencl, opencl:N)");
}

expected<std::unique_ptr<gemm_device>> gemm_device::open(const std::string& spec) {
  if (auto err = check_device_spec(spec))
    return err;
  auto out = std::make_unique<gemm_device>();
  const char* env = std::getenv("NEXUS_OPENCL_OPTIONS");
  std::string options = env ? env : "";
  if (spec == "cpu")
    return out;
  if (spec == "auto") {
    for (const auto& d : opencl::list_devices())
      if (d.gpu) {
        auto ctx = opencl::context::open_best(options);
        if (ctx)
          out->cl_ = std::move(*ctx);
        else
          out->note_ = "the GPU could not be used: " + describe(ctx.error());
        break;
      }
    return out;
  }
  if (spec == "opencl" || spec.starts_with("opencl:")) {
    expected<std::unique_ptr<opencl::context>> ctx{nullptr};
    if (spec == "opencl") {
      ctx = opencl::context::open_best(options);
    } else {
      ctx = opencl::context::open(std::strtoul(spec.c_str() + 7, nullptr, 10), options);
    }
    if (ctx)
      out->cl_ = std::move(*ctx);
    else
      out->note_ = describe(ctx.error()) + "; computing on the CPU";
    return out;
  }
  return out;
}

std::string gemm_device::name() const {
  if (cl_)
    return "opencl:" + cl_->device().name;
  return "cpu:" + std::string{kernels::isa()};
}

std::string gemm_device::fall_back(const error& err) {
  if (err == errc::exhausted)
    return describe(err) + "; this one runs on the CPU";
  note_ = describe(err) + "; this and later work runs on the CPU";
  cl_.reset();
  return note_;
}

error gemm_device::injected() {
  if (injected_.empty())
    return {};
  return make_error(errc::unavailable, std::exchange(injected_, {}));
}

std::string gemm_device::gemm(const float* a, const float* b, float* c, std::size_t m,
                              std::size_t k, std::size_t n) {
  std::string why;
  if (cl_) {
    auto err = injected();
    if (!err)
      err = cl_->gemm(a, b, c, m, k, n);
    if (!err)
      return {};
    why = fall_back(err);
  }
  compute::gemm(a, b, c, m, k, n);
  return why;
}

nn::batch_stats gemm_device::mlp_gradient(const nn::mlp& model, const float* x,
                                          const int32_t* y, std::size_t rows,
                                          std::span<float> grad, float scale,
                                          std::string* fallback) {
  if (cl_) {
    auto layers = opencl_layers(model.spec());
    expected<std::pair<double, std::size_t>> got{errc::failed};
    if (auto err = injected())
      got = std::move(err);
    else
      got = cl_->mlp_gradient(layers, model.parameters().data(), x, y, rows, grad.data(),
                              scale);
    if (got)
      return {got->first, got->second, rows};
    auto why = fall_back(got.error());
    if (fallback)
      *fallback = why;
  }
  return model.gradient(x, y, rows, grad, scale);
}

tensor gemm_device::mlp_probabilities(const nn::mlp& model, const float* x,
                                      std::size_t rows, std::string* fallback) {
  if (cl_) {
    auto layers = opencl_layers(model.spec());
    tensor out{rows, model.spec().outputs()};
    auto err = injected();
    if (!err)
      err = cl_->mlp_probabilities(layers, model.parameters().data(), x, rows, out.data());
    if (!err)
      return out;
    auto why = fall_back(err);
    if (fallback)
      *fallback = why;
  }
  return model.probabilities(x, rows);
}

double gemm_device::calibrate() {
  constexpr std::size_t n = 384;
  auto a = random_tensor({n, n}, 1);
  auto b = random_tensor({n, n}, 2);
  tensor c{n, n};
  // The best of as many runs as fit in 60 ms (3 at least).
  auto best_of = [&](auto&& run) {
    constexpr auto span = std::chrono::milliseconds{60};
    double best = 1e30;
    auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 3 || (std::chrono::steady_clock::now() - begin < span && i < 200);
         ++i) {
      auto start = std::chrono::steady_clock::now();
      run();
      best = std::min(
          best,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return gemm_flops(n, n, n) / best / 1e9;
  };
  if (cl_)
    return best_of([&] { gemm(a.data(), b.data(), c.data(), n, n, n); });
  // On the CPU: one core's speed times the cores this process may use. Measured on all
  // of them at once, nodes that start together on one host measured identical workers
  // 2x apart (one ran while the others waited, or not), enough to give one a larger
  // window (task_table::window_of); one thread mostly has a core to itself.
  tbb::task_arena one{1};
  double per_core = one.execute(
      [&] { return best_of([&] { gemm(a.data(), b.data(), c.data(), n, n, n); }); });
  auto cores = std::min<std::size_t>(
      static_cast<std::size_t>(tbb::info::default_concurrency()),
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  return per_core * static_cast<double>(std::max<std::size_t>(cores, 1));
}

} // namespace nexus::compute
