// A 2048x2048x2048 matmul through the embedded pipeline (4 workers, 2 validators,
// Freivalds on) against a direct product on the same cores (Eigen + oneTBB, the same
// kernel the workers use), both measured in this run. Prints the ratio and the share of
// the pipeline's time the validators spent checking.
//
// With a data directory, a second network in the same process records every verdict on
// its ledger (LEDGER_NODES agreeing by consensus), and the two pipelines take turns, task
// by task, so that what the machine's neighbours do falls on both alike; it prints the
// ledger's cost as the ratio of their best and of their median times. Then each runs
// streams of five tasks back to back (REPEATS / 5 streams, at least two), in turn, where
// the ledger's work for one task cannot fall between tasks: the ratio of their medians.
//
// usage: matmul_pipeline_bench [SIZE] [REPEATS] [LEDGER_DATA_DIR] [LEDGER_NODES]
// (the ledgers' stores go in a directory of the run's own inside LEDGER_DATA_DIR)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <vector>

#include <unistd.h>

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

constexpr int stream_length = 5; // tasks back to back

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// One network's pipeline times, best first.
struct pipeline_times {
  std::vector<double> seconds;
  double best = 1e30;
  double verify_share = 0; // of the best run
};

// Submits a * b through `api`, waits for it, fetches and checks the output. Timed from
// the submitter's side: operands hashed into the store, submitted, computed, verified,
// merged, and the output fetched. A submitter hands over operands it owns, so the copies
// are made before the clock starts. Says each run's times unless `label` is null. False
// (said why) if the run failed.
bool run_pipeline(client& api, const compute::tensor& a, const compute::tensor& b,
                  const compute::tensor& reference, const char* label, int i,
                  pipeline_times& times) {
  auto a_copy = a;
  auto b_copy = b;
  auto start = clock_t_::now();
  auto ack = api.submit_matmul(std::move(a_copy), std::move(b_copy));
  auto submitted = seconds_since(start);
  if (!ack) {
    std::fprintf(stderr, "submit failed: %s\n", describe(ack.error()).c_str());
    return false;
  }
  auto report =
      api.wait(ack->task_id, {}, std::chrono::minutes{10}, std::chrono::milliseconds{1});
  auto computed = seconds_since(start);
  auto out = api.result(ack->task_id);
  auto t = seconds_since(start);
  if (label)
    std::printf("  run %d%s: submit %.3f s, done %.3f s, fetched %.3f s\n", i, label,
                submitted, computed, t);
  if (!report || report->state != task_state::done || !out) {
    std::fprintf(stderr, "pipeline run failed\n");
    return false;
  }
  if (compute::max_relative_difference(*out, reference) > 1e-5) {
    std::fprintf(stderr, "pipeline output differs from the direct product\n");
    return false;
  }
  times.seconds.push_back(t);
  if (t < times.best) {
    times.best = t;
    times.verify_share = report->verify_ns / 1e9 / t;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2048;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  if (n == 0 || repeats <= 0) {
    std::fprintf(stderr, "usage: matmul_pipeline_bench [SIZE] [REPEATS] [LEDGER_DATA_DIR] "
                         "[LEDGER_NODES]\n");
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
  auto started = start_embedded(sys, opts);
  std::optional<embedded_network> recorded; // with a ledger recording every verdict
  std::filesystem::path recorded_dir;
  if (started && argc > 3) {
    auto with = opts;
    // A directory of this run's own inside LEDGER_DATA_DIR, removed at the end.
    with.data_dir = std::filesystem::path{argv[3]} / ("run-" + std::to_string(::getpid()));
    if (argc > 4)
      with.ledgers = std::strtoul(argv[4], nullptr, 10); // agreeing by consensus
    recorded_dir = with.data_dir;
    auto second = start_embedded(sys, with);
    if (!second) {
      std::fprintf(stderr, "%s\n", describe(second.error()).c_str());
      started->stop();
      return 1;
    }
    recorded = std::move(*second);
  }
  if (!started) {
    std::fprintf(stderr, "%s\n", describe(started.error()).c_str());
    return 1;
  }
  auto& net = *started;
  client api{sys, net.orchestrator, net.store, std::chrono::seconds{120}};
  std::optional<client> recorded_api;
  if (recorded)
    recorded_api.emplace(sys, recorded->orchestrator, recorded->store,
                         std::chrono::seconds{120});

  compute::multiply(a, b); // warm up caches and oneTBB's threads
  double direct = 1e30;
  auto direct_product = [&] {
    auto start = clock_t_::now();
    auto product = compute::multiply(a, b);
    direct = std::min(direct, seconds_since(start));
    return product;
  };
  pipeline_times plain;
  pipeline_times with_ledger;
  bool ok = true;
  compute::tensor reference;
  for (int i = 0; i < repeats && ok; ++i) {
    reference = direct_product();
    ok = run_pipeline(api, a, b, reference, "", i, plain);
    // The ledger's blocks for a task may outlast it: a direct product comes between its
    // run and the next plain one, so that they fall on neither.
    if (ok && recorded_api) {
      ok = run_pipeline(*recorded_api, a, b, reference, " (ledger)", i, with_ledger);
      direct_product();
    }
  }
  // Streams of tasks back to back, the two networks' in turn.
  std::vector<double> plain_streams;
  std::vector<double> recorded_streams;
  auto stream = [&](client& with, std::vector<double>& seconds) {
    pipeline_times times;
    auto start = clock_t_::now();
    for (int i = 0; i < stream_length && ok; ++i)
      ok = run_pipeline(with, a, b, reference, nullptr, i, times);
    seconds.push_back(seconds_since(start));
    direct_product(); // what the ledger still does falls here
  };
  int streams = std::max(2, repeats / stream_length);
  for (int round = 0; round < streams && ok && recorded_api; ++round) {
    stream(api, plain_streams);
    if (ok)
      stream(*recorded_api, recorded_streams);
  }
  if (recorded) {
    recorded->stop();
    std::error_code ignored;
    std::filesystem::remove_all(recorded_dir, ignored);
  }
  net.stop();
  if (!ok)
    return 1;
  std::printf("matmul %zux%zux%zu, best of %d, %u threads\n", n, n, n, repeats,
              std::thread::hardware_concurrency());
  std::printf("  direct Eigen+oneTBB product: %8.3f s  %7.1f GFLOP/s\n", direct,
              flops / direct / 1e9);
  std::printf("  embedded pipeline (4 workers, 2 validators, Freivalds): %8.3f s  %7.1f "
              "GFLOP/s\n",
              plain.best, flops / plain.best / 1e9);
  std::printf("  ratio pipeline/direct: %.3f (target <= 1.3)\n", plain.best / direct);
  std::printf("  verification: %.1f%% of the pipeline's time (target <= 5%%)\n",
              100 * plain.verify_share);
  if (recorded) {
    std::printf("  with %zu ledger node(s) recording: best %.3f s, median %.3f s (without: "
                "median %.3f s)\n",
                recorded->ledgers.size(), with_ledger.best, median(with_ledger.seconds),
                median(plain.seconds));
    std::printf("  the ledger's cost: %+.1f%% at best, %+.1f%% at the median (target <= "
                "5%%)\n",
                100 * (with_ledger.best / plain.best - 1),
                100 * (median(with_ledger.seconds) / median(plain.seconds) - 1));
    std::printf("  %d streams of %d tasks back to back, in turn: median %.3f s without, "
                "%.3f s with: %+.1f%% (target <= 5%%)\n",
                streams, stream_length, median(plain_streams), median(recorded_streams),
                100 * (median(recorded_streams) / median(plain_streams) - 1));
  }
  return 0;
}
