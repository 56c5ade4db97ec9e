// GFLOP/s of the native GEMM kernel (compute/kernels/sgemm.hpp, the widest variant this
// processor runs) on one thread, for square float32 products: the baseline the browser
// workers' WebAssembly kernel is compared with (web_bench.mjs runs both in one run).
//
// usage: kernel_thread_bench N...   prints "native N GFLOPS" per size, best of 5
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "compute/kernels/sgemm.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kernel_thread_bench N...\n");
    return 2;
  }
  std::printf("kernel %s\n", std::string{nexus::compute::kernels::isa()}.c_str());
  for (int i = 1; i < argc; ++i) {
    auto n = static_cast<std::size_t>(std::strtoul(argv[i], nullptr, 10));
    if (n == 0 || n > 8192) {
      std::fprintf(stderr, "kernel_thread_bench: sizes are 1 to 8192, got '%s'\n", argv[i]);
      return 2;
    }
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    nexus::compute::kernels::sgemm(false, false, n, n, n, 1, a.data(), n, b.data(), n, 0,
                                   c.data(), n); // warm
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      nexus::compute::kernels::sgemm(false, false, n, n, n, 1, a.data(), n, b.data(), n, 0,
                                     c.data(), n);
      best = std::min(
          best,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("native %zu %.1f\n", n, 2.0 * n * n * n / best / 1e9);
  }
  return 0;
}
