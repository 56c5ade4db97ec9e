// The OpenCL backend on whatever device the ICD loader offers (PoCL's CPU device in CI):
// the GEMM kernel against the CPU product, on odd shapes that cross tile edges.
#include <catch2/catch.hpp>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/opencl/backend.hpp"

using namespace nexus;
using namespace nexus::compute;

TEST_CASE("the OpenCL GEMM kernel matches the CPU product on any shape", "[opencl]") {
  auto devices = opencl::list_devices();
  if (devices.empty()) {
    WARN("skipped: no OpenCL device (install pocl-opencl-icd)");
    return;
  }
  auto ctx = opencl::context::open_best();
  REQUIRE(ctx);
  INFO("device: " << (*ctx)->device().name << " (" << (*ctx)->device().platform << ")");
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, std::tuple{7, 5, 3}, std::tuple{33, 65, 31},
                         std::tuple{64, 64, 64}, std::tuple{100, 37, 129}, std::tuple{257, 300, 95}}) {
    auto a = random_tensor({std::size_t(m), std::size_t(k)}, 1);
    auto b = random_tensor({std::size_t(k), std::size_t(n)}, 2);
    tensor c{std::size_t(m), std::size_t(n)};
    REQUIRE_FALSE((*ctx)->gemm(a.data(), b.data(), c.data(), m, k, n));
    INFO(m << "x" << k << "x" << n);
    CHECK(max_relative_difference(c, multiply(a, b)) < 1e-5);
  }
  CHECK_FALSE(opencl::context::open(devices.size()));
}
