// GFLOP/s of the CPU GEMM backend (every instruction-set variant this processor runs)
// for square float32 products of 1024, 2048 and 4096, against numpy (OpenBLAS) in the
// same run. Target: the dispatched kernel at least 0.8x numpy at 2048 and 4096.
// Then the OpenCL GEMM on every device, with and without transfers; on a GPU, its
// kernel against PyTorch's torch.mm on that GPU (TF32 off). Target: at least 0.5.
//
// usage: gemm_bench [NUMPY_PEER_SCRIPT [TORCH_GPU_PEER_SCRIPT]]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/kernels/sgemm.hpp"
#include "compute/opencl/backend.hpp"

using namespace nexus;

namespace {

// Runs a peer script for the three sizes; its "TAG N GFLOPS" lines become the map, and
// anything else is printed.
std::map<std::size_t, double> run_peer(const char* script, const char* tag) {
  std::map<std::size_t, double> out;
  std::string cmd = "/usr/bin/python3 " + std::string{script} + " 1024 2048 4096 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char line[512];
  auto format = std::string{tag} + " %zu %lf";
  while (p && std::fgets(line, sizeof(line), p)) {
    std::size_t n = 0;
    double g = 0;
    if (std::sscanf(line, format.c_str(), &n, &g) == 2)
      out[n] = g;
    else
      std::printf("  %s: %s", tag, line);
  }
  if (p)
    pclose(p);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  const std::vector<std::size_t> sizes{1024, 2048, 4096};
  std::map<std::size_t, double> numpy;
  if (argc > 1)
    numpy = run_peer(argv[1], "numpy");
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
      best = std::min(
          best,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    auto gflops = compute::gemm_flops(n, n, n) / best / 1e9;
    std::printf("  %4zu: %7.1f GFLOP/s", n, gflops);
    if (numpy.contains(n))
      std::printf("   numpy %7.1f GFLOP/s   ratio %.2f%s", numpy[n], gflops / numpy[n],
                  n >= 2048 ? " (target >= 0.8)" : "");
    std::printf("\n");
  }
  std::printf(
      "  (other variants: NEXUS_ISA=generic|avx2|avx512 build/test/bench/gemm_bench)\n");

  // The OpenCL backend on every device there is (PoCL's CPU device without a GPU).
  auto devices = compute::opencl::list_devices();
  bool gpu = false;
  std::map<std::size_t, double> torch;
  for (std::size_t d = 0; d < devices.size(); ++d) {
    if (devices[d].gpu && !gpu && argc > 2)
      torch = run_peer(argv[2], "torch");
    gpu = gpu || devices[d].gpu;
    auto ctx = compute::opencl::context::open(d);
    if (!ctx) {
      std::printf("OpenCL %s: %s\n", devices[d].name.c_str(),
                  describe(ctx.error()).c_str());
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
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                      .count());
      }
      std::printf("  %4zu: %7.1f GFLOP/s (transfers included)", n,
                  compute::gemm_flops(n, n, n) / best / 1e9);
      auto kernel = (*ctx)->time_gemm_kernel(n, n, n, 3);
      if (!kernel) {
        std::printf("   kernel: %s\n", describe(kernel.error()).c_str());
        continue;
      }
      auto gflops = compute::gemm_flops(n, n, n) / *kernel / 1e9;
      std::printf("   %7.1f GFLOP/s (kernel alone)", gflops);
      if (devices[d].gpu && torch.contains(n))
        std::printf("   torch.mm %7.1f   ratio %.2f (target >= 0.5)", torch[n],
                    gflops / torch[n]);
      std::printf("\n");
    }
  }
  if (!gpu)
    std::printf("GPU: skipped: no OpenCL GPU\n");
  return 0;
}
