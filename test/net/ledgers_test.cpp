// Four ledger nodes as processes of their own, with mutual TLS, agreeing on every block by
// Tendermint while a stream of tasks runs: one is killed and restarted, another frozen and
// resumed. Every output is exact, and afterwards every store holds the same chain, which
// passes the audit and pays every shard. Every loop is bounded; every process is reaped.
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <thread>

#include "actors/runtime/client.hpp"
#include "chain/audit.hpp"
#include "chain/contract.hpp"
#include "compute/gemm.hpp"
#include "test/support/cluster.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

TEST_CASE("four ledger nodes in separate processes: one killed and restarted, one frozen "
          "and resumed; every store the same valid chain",
          "[ledgers]") {
  test::temp_dir dir;
  auto file = test::write_topology(dir, "net.yaml", test::node_binary(),
                                   {{"hub", "orchestrator, aggregator, ledger"},
                                    {"l2", "ledger"},
                                    {"l3", "ledger"},
                                    {"l4", "ledger"},
                                    {"w1", "worker"},
                                    {"w2", "worker"},
                                    {"v1", "validator"}},
                                   2, true);
  REQUIRE(file);
  auto topo = load_topology(*file);
  REQUIRE(topo);
  std::map<std::string, std::unique_ptr<test::process>> nodes;
  for (auto name : {"hub", "l2", "l3", "l4", "w1", "w2", "v1"})
    nodes[name] = test::start_node(test::node_binary(), dir, *file, name);
  for (auto name : {"l2", "l3", "l4"})
    REQUIRE(nodes[name]->wait_output("joined as ledger", 15s));
  test::submitter s{*topo};
  REQUIRE(s.api);
  REQUIRE(s.wait_nodes(2, 1));

  std::vector<std::pair<uint64_t, compute::tensor>> tasks;
  std::vector<std::pair<uint64_t, uint32_t>> shards;
  auto submit = [&](std::size_t i) {
    auto a = compute::random_tensor({300 + 20 * i, 200}, 80 + i);
    auto b = compute::random_tensor({200, 150}, 90 + i);
    task_request req;
    req.shards = 6;
    auto ack = s.api->submit_matmul(a, b, req);
    REQUIRE(ack);
    tasks.emplace_back(ack->task_id, compute::multiply(a, b));
    for (uint32_t k = 0; k < ack->shard_count; ++k)
      shards.emplace_back(ack->task_id, k);
  };
  auto finish = [&](std::size_t from) {
    for (std::size_t i = from; i < tasks.size(); ++i) {
      auto report = s.api->wait(tasks[i].first, {}, 120s);
      REQUIRE(report);
      INFO("task " << tasks[i].first << ": " << report->reason);
      CHECK(report->state == task_state::done);
      auto out = s.api->result(tasks[i].first);
      REQUIRE(out);
      CHECK(compute::max_relative_difference(*out, tasks[i].second) <= 1e-5);
    }
  };
  for (std::size_t i = 0; i < 3; ++i)
    submit(i);
  finish(0);
  // l2 is killed (it loses nothing committed), l3 frozen: two of four would stop the
  // chain, so l2 comes back before l3 freezes.
  nodes["l2"]->signal(SIGKILL);
  CHECK(nodes["l2"]->wait_for(5s).has_value());
  for (std::size_t i = 3; i < 6; ++i)
    submit(i);
  finish(3);
  nodes["l2"] = test::start_node(test::node_binary(), dir, *file, "l2");
  REQUIRE(nodes["l2"]->wait_output("joined as ledger", 15s));
  nodes["l3"]->signal(SIGSTOP);
  for (std::size_t i = 6; i < 9; ++i)
    submit(i);
  finish(6);
  std::this_thread::sleep_for(2s);
  nodes["l3"]->signal(SIGCONT);
  for (std::size_t i = 9; i < 11; ++i)
    submit(i);
  finish(9);
  auto verified = s.api->ledger(ledger_query{.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
  std::this_thread::sleep_for(3s); // the frozen node catches up
  s.api.reset();
  for (auto& [name, p] : nodes)
    p->signal(SIGTERM);
  for (auto& [name, p] : nodes) {
    INFO(name << ":\n" << p->output());
    CHECK(p->wait_for(15s).has_value());
  }

  // Every store: the same head, the audit passes, every shard paid once.
  std::vector<chain::digest> heads;
  for (auto name : {"hub", "l2", "l3", "l4"}) {
    auto path = dir.path() / "data" / name / "ledger";
    INFO(name << ": " << nodes[name]->output());
    auto st = chain::store::open_read_only(path);
    REQUIRE(st);
    CHECK_THAT(chain::describe_audit(chain::audit(**st)), Catch::StartsWith("ledger OK"));
    heads.push_back((*st)->head().hash);
    chain::contract_state contract;
    for (uint64_t h = 0; h < (*st)->head().blocks; ++h) {
      auto b = (*st)->get(h);
      REQUIRE(b);
      REQUIRE(contract.replay(*b));
    }
    for (auto [task, shard] : shards) {
      INFO("task " << task << " shard " << shard);
      CHECK(contract.paid(task, shard));
    }
  }
  for (const auto& h : heads)
    CHECK(h == heads[0]);
}
