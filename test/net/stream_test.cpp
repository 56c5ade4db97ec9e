// A long-running stream of small tasks across processes: every result exact, every
// process's resident memory bounded while the stream goes on, and every process exits
// cleanly at the end (in the sanitized build: no leak reported by LeakSanitizer, whose
// report makes a process exit with a failure status). NEXUS_STREAM_SECONDS sets how long
// it streams (10 s in the default suite; `meson test --benchmark stream-soak` runs 300).
#include <catch2/catch.hpp>

#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <thread>

#include "actors/runtime/client.hpp"
#include "compute/gemm.hpp"
#include "test/support/cluster.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

// Resident memory of process `pid` in KiB (0 once it is gone).
std::size_t rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoul(line.substr(6));
  return 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

int stream_seconds() {
  const char* s = std::getenv("NEXUS_STREAM_SECONDS");
  return s ? std::max(1, std::atoi(s)) : 10;
}

} // namespace

TEST_CASE("a long stream of small tasks across processes keeps memory bounded",
          "[stream]") {
  const char* node_binary = std::getenv("NEXUS_NODE");
  REQUIRE(node_binary != nullptr);
  test::temp_dir dir;
  // Memory budgets of 1 MiB, reached within seconds as the defaults (GiB) would be on a
  // network that runs for days: outputs past it go to the hub's data directory, and
  // operands no open task uses leave the stores.
  const std::string cache = "{blob_cache_mib: 1, upload_grace_ms: 2000}";
  auto file = test::write_topology(dir, "net.yaml", node_binary,
                                   {{"hub", "orchestrator, aggregator", "", cache},
                                    {"l1", "ledger"},
                                    {"w1", "worker", "", cache},
                                    {"w2", "worker", "", cache},
                                    {"v1", "validator", "", cache}},
                                   2, true, "outputs_in_memory_mib: 1, reports_kept: 1000");
  REQUIRE(file);
  auto topo = load_topology(*file);
  REQUIRE(topo);
  std::map<std::string, std::unique_ptr<test::process>> nodes;
  for (auto name : {"hub", "l1", "w1", "w2", "v1"})
    nodes[name] = test::start_node(node_binary, dir, *file, name);
  REQUIRE(nodes["l1"]->wait_output("joined as ledger", 15s));
  test::submitter s{*topo};
  REQUIRE(s.api);
  REQUIRE(s.wait_nodes(2, 1));

  // One B for the whole stream, uploaded once; a new A for every task.
  auto b = compute::random_tensor({32, 16}, 5);
  struct pending {
    uint64_t id;
    compute::tensor expected;
  };
  std::deque<pending> in_flight;
  constexpr std::size_t max_in_flight = 32;
  const auto length = std::chrono::seconds{stream_seconds()};
  const auto start = std::chrono::steady_clock::now();
  const auto stop_submitting = start + length;
  std::map<std::string, std::size_t> first_kib; // after the first quarter of the stream
  std::map<std::string, std::size_t> peak_kib;
  std::size_t submitted = 0;
  std::size_t checked = 0;
  auto next_sample = start;
  uint64_t seed = 1000;
  while (std::chrono::steady_clock::now() < stop_submitting || !in_flight.empty()) {
    REQUIRE(std::chrono::steady_clock::now() < stop_submitting + 120s);
    while (in_flight.size() < max_in_flight
           && std::chrono::steady_clock::now() < stop_submitting) {
      auto a = compute::random_tensor({64, 32}, ++seed);
      auto expected = compute::multiply(a, b);
      task_request req;
      req.shards = 2;
      auto ack = s.api->submit_matmul(std::move(a), b, req);
      REQUIRE(ack);
      in_flight.push_back({ack->task_id, std::move(expected)});
      ++submitted;
    }
    auto [id, expected] = std::move(in_flight.front());
    in_flight.pop_front();
    auto report = s.api->wait(id, {}, 60s, 1ms);
    REQUIRE(report);
    INFO("task " << id << ": " << report->reason);
    REQUIRE(report->state == task_state::done);
    auto out = s.api->result(id);
    REQUIRE(out);
    REQUIRE(compute::max_relative_difference(*out, expected) <= 1e-5);
    ++checked;

    auto now = std::chrono::steady_clock::now();
    if (now >= next_sample) {
      next_sample = now + 500ms;
      for (auto& [name, p] : nodes) {
        auto kib = rss_kib(p->pid());
        peak_kib[name] = std::max(peak_kib[name], kib);
        if (now - start >= length / 4 && first_kib.count(name) == 0)
          first_kib[name] = kib;
      }
    }
  }
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("stream: %zu tasks in %.1f s (%.0f tasks/s), each checked\n", submitted,
              seconds, static_cast<double>(submitted) / seconds);
  CHECK(checked == submitted);
  for (auto& [name, p] : nodes) {
    auto last = rss_kib(p->pid());
    std::printf("  %-4s RSS after a quarter %6zu KiB, peak %6zu KiB, at the end %6zu KiB\n",
                name.c_str(), first_kib[name], peak_kib[name], last);
    // Bounded: the last three quarters of the stream add little (the hub keeps a finished
    // task whole for a minute, then its report, up to reports_kept; LevelDB's write
    // buffer fills up to 4 MiB). AddressSanitizer keeps freed memory in quarantine (up
    // to 256 MiB), so there only LeakSanitizer judges.
    INFO(name << ": " << first_kib[name] << " KiB after a quarter, " << last
              << " at the end");
    if (!sanitized)
      CHECK(last <= first_kib[name] + 8 * 1024);
  }

  auto verified = s.api->ledger(ledger_query{.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
  CHECK(verified->audit_problem.empty());
  s.api.reset();
  for (auto& [name, p] : nodes)
    p->signal(SIGTERM);
  for (auto& [name, p] : nodes) {
    INFO(name << ":\n" << p->output());
    auto status = p->wait_for(30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
  }
}
