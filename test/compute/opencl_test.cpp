// The OpenCL backend on whatever device the ICD loader offers (PoCL's CPU device in CI):
// the GEMM kernel against the CPU product, on odd shapes that cross tile edges.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "compute/device.hpp"
#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/nn/model.hpp"
#include "compute/opencl/backend.hpp"

using namespace nexus;
using namespace nexus::compute;

namespace {

// False (with a warning) where the ICD loader offers no device.
bool have_device() {
  if (!opencl::list_devices().empty())
    return true;
  WARN("skipped: no OpenCL device (install pocl-opencl-icd)");
  return false;
}

// The best OpenCL device, or null (with a warning) where there is none.
std::unique_ptr<opencl::context> test_device() {
  if (!have_device())
    return nullptr;
  auto ctx = opencl::context::open_best();
  REQUIRE(ctx);
  return std::move(*ctx);
}

} // namespace

TEST_CASE("the OpenCL GEMM kernel matches the CPU product on any shape", "[opencl]") {
  auto ctx = test_device();
  if (!ctx)
    return;
  auto devices = opencl::list_devices();
  INFO("device: " << ctx->device().name << " (" << ctx->device().platform << ")");
  for (auto [m, k, n] :
       {std::tuple{1, 1, 1}, std::tuple{7, 5, 3}, std::tuple{33, 65, 31},
        std::tuple{64, 64, 64}, std::tuple{100, 37, 129}, std::tuple{257, 300, 95}}) {
    auto a = random_tensor({std::size_t(m), std::size_t(k)}, 1);
    auto b = random_tensor({std::size_t(k), std::size_t(n)}, 2);
    tensor c{std::size_t(m), std::size_t(n)};
    REQUIRE_FALSE(ctx->gemm(a.data(), b.data(), c.data(), m, k, n));
    INFO(m << "x" << k << "x" << n);
    CHECK(max_relative_difference(c, multiply(a, b)) < 1e-5);
  }
  CHECK_FALSE(opencl::context::open(devices.size()));
}

TEST_CASE("the OpenCL MLP kernels give the CPU's gradient, loss and accuracy", "[opencl]") {
  auto ctx = test_device();
  if (!ctx)
    return;
  auto spec = nn::parse_model_spec("mlp:37-29-17-5");
  REQUIRE(spec);
  auto model = nn::mlp::initialized(*spec, 3);
  const std::size_t rows = 45;
  auto x = random_tensor({rows, 37}, 4);
  std::vector<int32_t> y(rows);
  for (std::size_t i = 0; i < rows; ++i)
    y[i] = static_cast<int32_t>((i * 7) % 5);
  std::vector<float> cpu(model.parameters().size(),
                         0.25f); // gradients add to what is there
  std::vector<float> gpu = cpu;
  auto want = model.gradient(x.data(), y.data(), rows, cpu, 0.5f);
  auto layers = opencl_layers(*spec);
  auto got = ctx->mlp_gradient(layers, model.parameters().data(), x.data(), y.data(), rows,
                               gpu.data(), 0.5f);
  REQUIRE(got);
  CHECK(got->first == Approx(want.loss_sum).epsilon(1e-4));
  CHECK(got->second == want.correct);
  double worst = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    worst = std::max(worst, std::abs(double{cpu[i]} - double{gpu[i]}));
  CHECK(worst < 1e-4);
}

TEST_CASE("the OpenCL MLP forward pass gives the CPU's probabilities", "[opencl]") {
  auto ctx = test_device();
  if (!ctx)
    return;
  auto spec = nn::parse_model_spec("mlp:37-29-17-5");
  REQUIRE(spec);
  auto model = nn::mlp::initialized(*spec, 5);
  auto x = random_tensor({53, 37}, 6);
  auto layers = opencl_layers(*spec);
  tensor got{53, 5};
  REQUIRE_FALSE(
      ctx->mlp_probabilities(layers, model.parameters().data(), x.data(), 53, got.data()));
  CHECK(max_relative_difference(got, model.probabilities(x.data(), 53)) < 1e-5);
}

TEST_CASE("work too large for the device's memory runs on the CPU; the device stays",
          "[opencl]") {
  auto ctx = test_device();
  if (!ctx)
    return;
  ctx->limit_memory(1 << 20); // 1 MiB
  auto a = random_tensor({300, 400}, 3);
  auto b = random_tensor({400, 300}, 4); // with A and C: 1.3 MiB
  tensor c{300, 300};
  auto err = ctx->gemm(a.data(), b.data(), c.data(), 300, 400, 300);
  CHECK(err == errc::exhausted);
  CHECK_THAT(describe(err), Catch::Contains("MiB of device memory (limit 1.0 MiB)"));
  auto small_a = random_tensor({40, 30}, 5);
  auto small_b = random_tensor({30, 20}, 6);
  tensor small_c{40, 20};
  REQUIRE_FALSE(ctx->gemm(small_a.data(), small_b.data(), small_c.data(), 40, 30, 20));
  CHECK(max_relative_difference(small_c, multiply(small_a, small_b)) < 1e-5);

  // Through a worker's device: the large product on the CPU, exact, the device kept.
  auto device = gemm_device::open("opencl:0");
  REQUIRE(device);
  (*device)->limit_memory(1 << 20);
  auto why = (*device)->gemm(a.data(), b.data(), c.data(), 300, 400, 300);
  CHECK_THAT(why, Catch::Contains("device memory")
                      && Catch::Contains("this one runs on the CPU"));
  CHECK(max_relative_difference(c, multiply(a, b)) < 1e-5);
  CHECK((*device)->name().starts_with("opencl:"));
  CHECK(
      (*device)->gemm(small_a.data(), small_b.data(), small_c.data(), 40, 30, 20).empty());
}

TEST_CASE("kernels that do not build leave the CPU, with the compiler's reason",
          "[opencl]") {
  if (!have_device())
    return;
  auto ctx = opencl::context::open(0, "-cl-no-such-option");
  REQUIRE_FALSE(ctx);
  CHECK(ctx.error() == errc::unavailable);
  CHECK_THAT(describe(ctx.error()), Catch::Contains("OpenCL kernels do not build"));

  // A worker asking for that device computes on the CPU and says why.
  ::setenv("NEXUS_OPENCL_OPTIONS", "-cl-no-such-option", 1);
  auto device = gemm_device::open("opencl:0");
  ::unsetenv("NEXUS_OPENCL_OPTIONS");
  REQUIRE(device);
  CHECK((*device)->name().starts_with("cpu:"));
  CHECK_THAT((*device)->note(), Catch::Contains("do not build") && Catch::Contains("CPU"));
  auto a = random_tensor({50, 60}, 7);
  auto b = random_tensor({60, 70}, 8);
  tensor c{50, 70};
  CHECK((*device)->gemm(a.data(), b.data(), c.data(), 50, 60, 70).empty());
  CHECK(max_relative_difference(c, multiply(a, b)) < 1e-5);
}
