// End to end through the actors of an embedded network: every message an envelope,
// every result verified, outputs compared with a direct Eigen product.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "actors/client.hpp"
#include "actors/network.hpp"
#include "compute/gemm.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

struct fixture {
  explicit fixture(embedded_options opts) : sys(init(cfg)) {
    auto started = start_embedded(sys, opts);
    REQUIRE(started);
    net = std::move(*started);
    api = std::make_unique<client>(sys, net.orchestrator, net.store, 10s);
  }

  ~fixture() {
    api.reset();
    net.stop();
  }

  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    register_types(cfg);
    cfg.set("logger.console", caf::atom("none"));
    return cfg;
  }

  // Submits A * B, waits (bounded), and returns the final report and output.
  std::pair<task_report, compute::tensor> run(const compute::tensor& a,
                                              const compute::tensor& b,
                                              task_request opts = {}) {
    auto ack = api->submit_matmul(a, b, opts);
    REQUIRE(ack);
    auto report = api->wait(ack->task_id, {}, 60s);
    REQUIRE(report);
    compute::tensor out;
    if (report->state == task_state::done) {
      auto res = api->result(ack->task_id);
      REQUIRE(res);
      out = std::move(*res);
    }
    return {*report, out};
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  embedded_network net;
  std::unique_ptr<client> api;
};

} // namespace

TEST_CASE("matmuls of odd, non-square shapes come back exact", "[actors][e2e]") {
  fixture f{{4, 2, 0, {}}};
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {3, 5, 7}, {257, 131, 67}, {700, 301, 45}}) {
    auto a = compute::random_tensor({std::size_t(m), std::size_t(k)}, m);
    auto b = compute::random_tensor({std::size_t(k), std::size_t(n)}, n);
    auto [report, c] = f.run(a, b);
    CHECK(report.state == task_state::done);
    CHECK(report.results_rejected == 0);
    REQUIRE(c.shape() == compute::shape_t{std::size_t(m), std::size_t(n)});
    CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-6);
  }
}

TEST_CASE("faulty workers are caught and the product is still exact", "[actors][e2e]") {
  fixture f{{4, 2, 2, {}}};
  auto a = compute::random_tensor({517, 203}, 1);
  auto b = compute::random_tensor({203, 311}, 2);
  task_request opts;
  opts.shards = 12;
  auto [report, c] = f.run(a, b, opts);
  CHECK(report.state == task_state::done);
  CHECK(report.results_rejected > 0);
  CHECK(report.shards_reissued == report.results_rejected);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-6);
  auto nodes = f.api->nodes().value();
  for (const auto& n : nodes) {
    if (n.info.name.starts_with("faulty-worker"))
      CHECK(n.shards_done == 0);
    else if (n.info.role == node_role::worker)
      CHECK(n.shards_rejected == 0);
  }
}

TEST_CASE("with every worker faulty the task fails with a clear reason", "[actors][e2e]") {
  fixture f{{2, 1, 2, {}}};
  auto a = compute::random_tensor({64, 16}, 1);
  auto b = compute::random_tensor({16, 16}, 2);
  task_request opts;
  opts.shards = 2;
  auto [report, c] = f.run(a, b, opts);
  CHECK(report.state == task_state::failed);
  CHECK_THAT(report.reason, Catch::Contains("rejected"));
  auto res = f.api->result(report.task_id);
  REQUIRE_FALSE(res);
  CHECK_THAT(describe(res.error()), Catch::Contains("failed"));
}

TEST_CASE("several tasks at once all complete", "[actors][e2e]") {
  fixture f{{3, 2, 0, {}}};
  std::vector<std::pair<uint64_t, compute::tensor>> expected;
  for (int i = 0; i < 6; ++i) {
    auto a = compute::random_tensor({std::size_t(40 + i * 13), 33}, i);
    auto b = compute::random_tensor({33, std::size_t(20 + i)}, 100 + i);
    auto ack = f.api->submit_matmul(a, b);
    REQUIRE(ack);
    expected.emplace_back(ack->task_id, compute::multiply(a, b));
  }
  for (auto& [id, want] : expected) {
    auto report = f.api->wait(id, {}, 60s);
    REQUIRE(report);
    CHECK(report->state == task_state::done);
    auto got = f.api->result(id);
    REQUIRE(got);
    CHECK(compute::max_relative_difference(*got, want) < 1e-6);
  }
}

TEST_CASE("a submission with unfit operands is refused with both shapes", "[actors][e2e]") {
  fixture f{{1, 1, 0, {}}};
  auto ack = f.api->submit_matmul(compute::tensor{512, 300}, compute::tensor{200, 512});
  REQUIRE_FALSE(ack);
  CHECK(describe(ack.error()) == "A is 512x300 but B is 200x512 (inner dimensions differ)");
  auto status = f.api->status(99);
  REQUIRE_FALSE(status);
  CHECK(status.error() == errc::not_found);
}
