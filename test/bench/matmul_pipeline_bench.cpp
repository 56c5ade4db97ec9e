// A 2048x2048x2048 matmul through the embedded pipeline (4 workers, 2 validators,
// Freivalds on) against a direct product on the same cores (Eigen + oneTBB, the same
// kernel the workers use), both measured in this run. Prints the ratio and the share of
// the pipeline's time the validators spent checking.
//
// usage: matmul_pipeline_bench [SIZE] [REPEATS] [LEDGER_DATA_DIR] [LEDGER_NODES]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <caf/all.hpp>

#include "actors/runtime/client.hpp"
#include "actors/runtime/network.hpp"
#include "actors/runtime/node.hpp"
#include "compute/gemm.hpp"

using namespace nexus;
using clock_t_ = std::chrono::steady_clock;

namespace {

double seconds_since(clock_t_::time_point start) {
  return std::chrono::duration<double>(clock_t_::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2048;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  if (n == 0 || repeats <= 0) {
    std::fprintf(stderr, "usage: matmul_pipeline_bench [SIZE] [REPEATS]\n");
    return 2;
  }
  auto a = compute::random_tensor({n, n}, 1);
  auto b = compute::random_tensor({n, n}, 2);
  auto flops = compute::gemm_flops(n, n, n);

  caf::actor_system_config cfg;
  configure_local(cfg);
  caf::actor_system sys{cfg};
  embedded_options opts;
  opts.workers = 4;
  opts.validators = 2;
  if (argc > 3)
    opts.data_dir = argv[3]; // with a ledger recording every verdict
  if (argc > 4)
    opts.ledgers = std::strtoul(argv[4], nullptr, 10); // agreeing by consensus
  auto started = start_embedded(sys, opts);
  if (!started) {
    std::fprintf(stderr, "%s\n", describe(started.error()).c_str());
    return 1;
  }
  auto& net = *started;
  client api{sys, net.orchestrator, net.store, std::chrono::seconds{120}};

  compute::multiply(a, b); // warm up caches and oneTBB's threads
  double direct = 1e30;
  double pipeline = 1e30;
  double verify_share = 0;
  compute::tensor reference;
  for (int i = 0; i < repeats; ++i) {
    auto start = clock_t_::now();
    reference = compute::multiply(a, b);
    direct = std::min(direct, seconds_since(start));

    // Timed from the submitter's side: operands hashed into the store, submitted,
    // computed, verified, merged, and the output fetched. A submitter hands over
    // operands it owns, so the copies are made before the clock starts.
    auto a_copy = a;
    auto b_copy = b;
    start = clock_t_::now();
    auto ack = api.submit_matmul(std::move(a_copy), std::move(b_copy));
    auto submitted = seconds_since(start);
    if (!ack) {
      std::fprintf(stderr, "submit failed: %s\n", describe(ack.error()).c_str());
      return 1;
    }
    auto report =
        api.wait(ack->task_id, {}, std::chrono::minutes{10}, std::chrono::milliseconds{1});
    auto computed = seconds_since(start);
    auto out = api.result(ack->task_id);
    auto t = seconds_since(start);
    std::printf("  run %d: submit %.3f s, done %.3f s, fetched %.3f s\n", i, submitted,
                computed, t);
    if (!report || report->state != task_state::done || !out) {
      std::fprintf(stderr, "pipeline run failed\n");
      return 1;
    }
    if (compute::max_relative_difference(*out, reference) > 1e-5) {
      std::fprintf(stderr, "pipeline output differs from the direct product\n");
      return 1;
    }
    if (t < pipeline) {
      pipeline = t;
      verify_share = report->verify_ns / 1e9 / t;
    }
  }
  net.stop();
  std::printf("matmul %zux%zux%zu, best of %d, %u threads\n", n, n, n, repeats,
              std::thread::hardware_concurrency());
  std::printf("  direct Eigen+oneTBB product: %8.3f s  %7.1f GFLOP/s\n", direct,
              flops / direct / 1e9);
  std::printf("  embedded pipeline (4 workers, 2 validators, Freivalds): %8.3f s  %7.1f "
              "GFLOP/s\n",
              pipeline, flops / pipeline / 1e9);
  std::printf("  ratio pipeline/direct: %.3f (target <= 1.3)\n", pipeline / direct);
  std::printf("  verification: %.1f%% of the pipeline's time (target <= 5%%)\n",
              100 * verify_share);
  return 0;
}
