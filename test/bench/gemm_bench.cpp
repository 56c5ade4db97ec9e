// GFLOP/s of the CPU GEMM backend (every instruction-set variant this processor runs)
// for square float32 products of 1024, 2048 and 4096, against numpy (OpenBLAS) in the
// same run. Target: the dispatched kernel at least 0.8x numpy at 2048 and 4096.
//
// usage: gemm_bench [NUMPY_PEER_SCRIPT]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "compute/gemm.hpp"
#include "compute/errc.hpp"
#include "compute/kernels/sgemm.hpp"
#include "compute/opencl/backend.hpp"

using namespace nexus;

int main(int argc, char** argv) {
  const std::vector<std::size_t> sizes{1024, 2048, 4096};
  std::map<std::size_t, double> numpy;
  if (argc > 1) {
    std::string cmd = "/usr/bin/python3 " + std::string{argv[1]} + " 1024 2048 4096 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    char line[256];
    while (p && std::fgets(line, sizeof(line), p)) {
      std::size_t n = 0;
      double g = 0;
      if (std::sscanf(line, "numpy %zu %lf", &n, &g) == 2)
        numpy[n] = g;
      else
        std::printf("  numpy: %s", line);
    }
    if (p)
      pclose(p);
  }
  std::printf("CPU GEMM (float32, both cores through oneTBB), dispatched kernel: %s\n",
              std::string{compute::kernels::isa()}.c_str());
  for (auto n : sizes) {
    auto a = compute::random_tensor({n, n}, 1);
    auto b = compute::random_tensor({n, n}, 2);
    compute::multiply(a, b); // warm up
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      compute::multiply(a, b);
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    auto gflops = compute::gemm_flops(n, n, n) / best / 1e9;
    std::printf("  %4zu: %7.1f GFLOP/s", n, gflops);
    if (numpy.contains(n))
      std::printf("   numpy %7.1f GFLOP/s   ratio %.2f%s", numpy[n], gflops / numpy[n],
                  n >= 2048 ? " (target >= 0.8)" : "");
    std::printf("\n");
  }
  std::printf("  (other variants: NEXUS_ISA=generic|avx2|avx512 build/test/bench/gemm_bench)\n");

  // The OpenCL backend on every device there is (PoCL's CPU device without a GPU).
  auto devices = compute::opencl::list_devices();
  bool gpu = false;
  for (std::size_t d = 0; d < devices.size(); ++d) {
    gpu = gpu || devices[d].gpu;
    auto ctx = compute::opencl::context::open(d);
    if (!ctx) {
      std::printf("OpenCL %s: %s\n", devices[d].name.c_str(), describe(ctx.error()).c_str());
      continue;
    }
    std::printf("OpenCL GEMM on %s (%s, %s):\n", devices[d].name.c_str(),
                devices[d].platform.c_str(), devices[d].gpu ? "GPU" : "not a GPU");
    for (auto n : sizes) {
      auto a = compute::random_tensor({n, n}, 1);
      auto b = compute::random_tensor({n, n}, 2);
      compute::tensor c{n, n};
      double best = 1e30;
      for (int i = 0; i < 2; ++i) {
        auto start = std::chrono::steady_clock::now();
        if (auto err = (*ctx)->gemm(a.data(), b.data(), c.data(), n, n, n)) {
          std::printf("  %zu: %s\n", n, describe(err).c_str());
          break;
        }
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now()
                                                            - start).count());
      }
      std::printf("  %4zu: %7.1f GFLOP/s (transfers included)\n", n,
                  compute::gemm_flops(n, n, n) / best / 1e9);
    }
  }
  if (!gpu)
    std::printf("GPU: skipped: no OpenCL GPU\n");
  return 0;
}
