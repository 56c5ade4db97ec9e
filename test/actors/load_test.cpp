// Load on an embedded network: a thousand small tasks submitted at once to 32 workers all
// complete with exact results, no worker ever holds more shards than its window, and
// resident memory stays bounded (the queue's limit is tested on the task table). Prints
// tasks/s, time to drain and peak memory (docs/BENCHMARKS.md).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "compute/gemm.hpp"
#include "test/support/embedded.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
std::size_t status_kib(const std::string& field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoul(line.substr(field.size() + 1));
  return 0;
}

} // namespace

TEST_CASE("load: 1,000 small tasks at once on 32 workers", "[load]") {
  constexpr std::size_t tasks = 1000;
  embedded_options opts;
  opts.workers = 32;
  opts.validators = 4;
  opts.device = "cpu";
  test::fixture f{opts};
  auto b = compute::random_tensor({32, 16}, 7);
  std::vector<compute::tensor> as;
  for (std::size_t i = 0; i < tasks; ++i)
    as.push_back(compute::random_tensor({64, 32}, 100 + i));
  auto rss_before = status_kib("VmRSS");
  std::size_t rss_first = 0; // after the first thousand

  for (int round = 0; round < 2; ++round) {
    auto start = std::chrono::steady_clock::now();
    std::vector<uint64_t> ids;
    task_request req;
    req.shards = 4;
    for (const auto& a : as) {
      auto ack = f.api->submit_matmul(a, b, req);
      REQUIRE(ack);
      ids.push_back(ack->task_id);
    }
    auto submitted = std::chrono::steady_clock::now() - start;

    for (std::size_t i = 0; i < tasks; ++i) {
      auto report = f.api->wait(ids[i], {}, 120s, 1ms);
      REQUIRE(report);
      REQUIRE(report->state == task_state::done);
    }
    std::chrono::duration<double> drained = std::chrono::steady_clock::now() - start;
    for (std::size_t i = 0; i < tasks; ++i) {
      auto out = f.api->result(ids[i]);
      REQUIRE(out);
      REQUIRE(compute::max_relative_difference(*out, compute::multiply(as[i], b)) <= 1e-5);
    }
    auto nodes = f.api->nodes();
    INFO((nodes ? "" : describe(nodes.error())));
    REQUIRE(nodes);
    std::size_t busy = 0;
    for (const auto& n : *nodes) {
      if (n.info.role != node_role::worker)
        continue;
      CHECK(n.peak_in_flight <= n.window);
      busy += n.shards_done > 0 ? 1 : 0;
    }
    CHECK(busy >= 24); // the load spread over the workers
    auto rss = status_kib("VmRSS");
    auto peak = status_kib("VmHWM");
    std::printf(
        "load round %d: %zu tasks (4 shards each) on 32 workers: submitted in %.2f s, "
        "drained in %.2f s (%.0f tasks/s); RSS %zu -> %zu MiB, peak %zu MiB\n",
        round + 1, tasks, std::chrono::duration<double>(submitted).count(), drained.count(),
        tasks / drained.count(), rss_before / 1024, rss / 1024, peak / 1024);
    // Each task keeps its 4 KiB output and its report: a second round adds that much
    // (and a sanitizer's quarantine), not the working memory of the first again.
    CHECK(peak < std::size_t{3} << 19); // KiB: under 1.5 GiB (AddressSanitizer: ~0.7)
    if (round == 0)
      rss_first = rss;
    else
      CHECK(rss < rss_first + (rss_first - rss_before) / 2 + (std::size_t{32} << 10));
  }
}
