// The network as separate hosts: every node a process in a network namespace of its own,
// with its own address, mutual TLS between all of them, four ledger nodes agreeing on every
// block. During a stream of tasks the proposer of the next block is killed and restarted,
// another ledger node frozen and resumed, and a third cut off from every other host (its
// link set down) and healed. Every output is exact, and afterwards every ledger node's
// store holds the same chain, which passes the audit and pays every shard the network
// acknowledged. Skipped, with the reason, where namespaces cannot be made (not root).
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <thread>

#include "compute/gemm.hpp"
#include "test/support/cluster.hpp"
#include "test/support/netns_cluster.hpp"
#include "test/support/process.hpp"
#include "test/support/stores.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

TEST_CASE("separate hosts: the proposer killed, a ledger node frozen, another cut off; "
          "every store the same valid chain",
          "[netns]") {
  const std::vector<std::string> ledgers{"hub", "l2", "l3", "l4"};
  test::temp_dir dir;
  test::netns_cluster net{dir,
                          {{"hub", "orchestrator, aggregator, ledger"},
                           {"l2", "ledger"},
                           {"l3", "ledger"},
                           {"l4", "ledger"},
                           {"w1", "worker"},
                           {"w2", "worker"},
                           {"v1", "validator"}}};
  if (!net.lab) {
    WARN("skipped: " << net.why);
    return;
  }
  REQUIRE(!net.file.empty());
  auto topo = load_topology(net.file);
  REQUIRE(topo);
  auto& nodes = net.nodes;
  auto& lab = net.lab;
  auto start = [&](const std::string& name) { net.start(name); };
  for (auto name : {"l2", "l3", "l4"})
    REQUIRE(nodes[name]->wait_output("joined as ledger", 20s));
  test::submitter s{*topo};
  REQUIRE(s.api);
  REQUIRE(s.wait_nodes(2, 1));

  // Proposers rotate over the ledger keys in key order: (height + round) mod 4.
  std::vector<std::pair<chain::public_key, std::string>> order;
  for (const auto& n : topo->nodes)
    if (std::find(ledgers.begin(), ledgers.end(), n.name) != ledgers.end())
      order.emplace_back(listed_key(n).value(), n.name);
  std::sort(order.begin(), order.end());
  REQUIRE(order.size() == 4);
  auto head = [&]() -> uint64_t {
    auto a = s.api->ledger(ledger_query{.question = ledger_question::tail, .count = 1});
    return a && !a->blocks.empty() ? a->blocks.back().height : 0;
  };
  // Whether the chain grows past height `from` within 30 s.
  auto grows = [&](uint64_t from) {
    for (int i = 0; i < 60; ++i) {
      if (head() > from)
        return true;
      std::this_thread::sleep_for(500ms);
    }
    return false;
  };

  test::matmul_stream stream{*s.api};
  auto more = [&](std::size_t n) { CHECK(stream.submit_more(n) == ""); };
  auto finish = [&](std::size_t from) { CHECK(stream.finish(from) == ""); };
  more(3);
  finish(0);

  // The proposer of the next block (a ledger node other than the hub, which also
  // orchestrates) is killed while tasks run, and restarted: it loses nothing committed.
  std::string killed;
  for (int i = 0; i < 100 && killed.empty(); ++i) {
    auto next = order[(head() + 1) % 4].second;
    if (next != "hub")
      killed = next;
    else
      more(1); // a block or two more
  }
  REQUIRE(!killed.empty());
  auto before = head();
  nodes[killed]->signal(SIGKILL);
  auto streamed = stream.tasks.size();
  more(3);
  CHECK(nodes[killed]->wait_for(5s).has_value());
  finish(0);
  CHECK(grows(before)); // the chain grew without it
  start(killed);
  REQUIRE(nodes[killed]->wait_output("joined as ledger", 20s));

  // Another is frozen (two of four down at once would stop the chain: one at a time).
  auto others = [&](std::vector<std::string> but) {
    for (const auto& l : ledgers)
      if (l != "hub" && std::find(but.begin(), but.end(), l) == but.end())
        return l;
    return std::string{};
  };
  auto frozen = others({killed});
  // Each fault lasts longer than the heartbeat's time-out (2.5 s), so that the node always
  // loses the hub, and is back once it joined again (before the next fault: two of four
  // away at once would stop the chain).
  auto fault_ends = std::chrono::steady_clock::now() + 4s;
  before = head();
  nodes[frozen]->signal(SIGSTOP);
  streamed = stream.tasks.size();
  more(3);
  finish(streamed);
  CHECK(grows(before));
  std::this_thread::sleep_until(fault_ends);
  nodes[frozen]->signal(SIGCONT);
  REQUIRE(nodes[frozen]->wait_output("joined as ledger", 30s, 2));

  // The third is cut off from every host, and healed.
  auto cut = others({killed, frozen});
  fault_ends = std::chrono::steady_clock::now() + 4s;
  before = head();
  REQUIRE(lab->cut(cut));
  streamed = stream.tasks.size();
  more(3);
  finish(streamed);
  CHECK(grows(before));
  std::this_thread::sleep_until(fault_ends);
  REQUIRE(lab->cut(cut, false));
  REQUIRE(nodes[cut]->wait_output("joined as ledger", 30s, 2));
  streamed = stream.tasks.size();
  more(2);
  finish(streamed);

  auto verified = s.api->ledger(ledger_query{.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
  auto last = head();
  std::this_thread::sleep_for(5s); // the healed and resumed nodes catch up
  s.api.reset();
  for (auto& [name, p] : nodes)
    p->signal(SIGTERM);
  for (auto& [name, p] : nodes) {
    INFO(name << ":\n" << p->output());
    CHECK(p->wait_for(20s).has_value());
  }

  // Every ledger node's store: at least the head the hub stated, the same chain, the
  // audit passes, every acknowledged shard paid once.
  std::vector<chain::digest> heads;
  for (const auto& name : ledgers) {
    INFO(name << " (killed " << killed << ", frozen " << frozen << ", cut off " << cut
              << "): " << nodes[name]->output());
    auto c = test::check_store(dir.path() / "data" / name / "ledger", stream.shards);
    CHECK(c.problem == "");
    CHECK(c.height >= last);
    heads.push_back(c.head);
  }
  for (const auto& h : heads)
    CHECK(h == heads[0]);
}
