// Four ledger nodes as processes of their own, with mutual TLS, agreeing on every block by
// Tendermint while a stream of tasks runs: one is killed and restarted, another frozen and
// resumed. Every output is exact, and afterwards every store holds the same chain, which
// passes the audit and pays every shard. Every loop is bounded; every process is reaped.
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <thread>

#include "actors/runtime/client.hpp"
#include "compute/gemm.hpp"
#include "test/support/cluster.hpp"
#include "test/support/process.hpp"
#include "test/support/stores.hpp"
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

  test::matmul_stream stream{*s.api};
  CHECK(stream.submit_more(3) == "");
  CHECK(stream.finish() == "");
  // l2 is killed (it loses nothing committed), l3 frozen: two of four would stop the
  // chain, so l2 comes back before l3 freezes.
  nodes["l2"]->signal(SIGKILL);
  CHECK(nodes["l2"]->wait_for(5s).has_value());
  CHECK(stream.submit_more(3) == "");
  CHECK(stream.finish(3) == "");
  nodes["l2"] = test::start_node(test::node_binary(), dir, *file, "l2");
  REQUIRE(nodes["l2"]->wait_output("joined as ledger", 15s));
  nodes["l3"]->signal(SIGSTOP);
  CHECK(stream.submit_more(3) == "");
  CHECK(stream.finish(6) == "");
  std::this_thread::sleep_for(2s);
  nodes["l3"]->signal(SIGCONT);
  CHECK(stream.submit_more(2) == "");
  CHECK(stream.finish(9) == "");
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
    INFO(name << ": " << nodes[name]->output());
    auto c = test::check_store(dir.path() / "data" / name / "ledger", stream.shards);
    CHECK(c.problem == "");
    heads.push_back(c.head);
  }
  for (const auto& h : heads)
    CHECK(h == heads[0]);
}
