// Two hubs as separate hosts: every node a process in a network namespace of its own, two
// hubs (each orchestrator, aggregator and ledger node), two more ledger nodes, two workers
// and a validator, joined to both hubs. Two submitters, each attached first to another
// hub, stream matmuls; one hub is killed mid-stream and restarted later. Every task
// completes with the exact product (the submitter whose hub died moves its open tasks to
// the other), and afterwards every ledger node's store holds the same chain, which passes
// the audit, pays every shard once and charges each submitter exactly the plan of each of
// its tasks, once. Skipped, with the reason, where namespaces cannot be made (not root).
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "actors/runtime/remote.hpp"
#include "chain/contract.hpp"
#include "chain/store.hpp"
#include "compute/nn/model.hpp"
#include "compute/npy.hpp"
#include "test/support/cluster.hpp"
#include "test/support/embedded.hpp"
#include "test/support/netns_cluster.hpp"
#include "test/support/process.hpp"
#include "test/support/stores.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

// A submitter attached to the topology's hubs in the order `first`, then the others, that
// moves to another hub when its own is lost; what it said is kept.
struct mover {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<client> api;
  std::shared_ptr<std::string> said = std::make_shared<std::string>();
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();

  mover(const topology& t, const std::string& file, const std::string& first,
        const std::string& account) {
    configure(cfg, settings_for(t, nullptr));
    sys = std::make_unique<caf::actor_system>(cfg);
    auto hubs = hubs_of(file).value();
    std::stable_partition(hubs.begin(), hubs.end(),
                          [&](const hub_address& h) { return h.name == first; });
    auto c = attach_any(
        *sys, hubs,
        [said = said, mutex = mutex](const std::string& line) {
          std::lock_guard lock{*mutex};
          *said += line + "\n";
        },
        std::chrono::seconds{60});
    if (!c)
      return;
    api = std::move(*c);
    api->sign_as(account, chain::node_key::generate().value());
  }

  std::string output() const {
    std::lock_guard lock{*mutex};
    return *said;
  }
};

// Each task's charges on the chain in `path`, and what its submitter's signed plan makes
// due (tasks whose submission binds their work), by task id.
struct task_charges {
  std::map<uint64_t, int64_t> charged;
  std::map<uint64_t, int64_t> due;
};

task_charges charges_of(const std::filesystem::path& path) {
  auto st = chain::store::open_read_only(path).value();
  chain::contract_state contract;
  task_charges out;
  for (uint64_t h = 0; h < st->head().blocks; ++h) {
    auto b = st->get(h).value();
    REQUIRE(contract.replay(b));
    for (const auto& t : b.txs) {
      if (t.kind == chain::tx_kind::charge)
        out.charged[t.task_id] += t.amount;
      if (t.kind != chain::tx_kind::submission)
        continue;
      if (auto terms = chain::terms_of(t); terms && terms->rows > 0)
        out.due[t.task_id] =
            static_cast<int64_t>(chain::work_units(0, terms->rows, terms->flops_per_row))
            * contract.rules().micro_mcc_per_work_unit;
    }
  }
  return out;
}

} // namespace

TEST_CASE("two hubs as separate hosts: one killed mid-stream, its tasks finish at the "
          "other, each paid and charged once",
          "[hubs]") {
  const std::vector<std::string> ledgers{"hub-a", "hub-b", "l3", "l4"};
  test::temp_dir dir;
  test::netns_cluster net{dir,
                          {{"hub-a", "orchestrator, aggregator, ledger"},
                           {"hub-b", "orchestrator, aggregator, ledger"},
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
  auto file = &net.file;
  auto topo = load_topology(net.file);
  REQUIRE(topo);
  auto& nodes = net.nodes;
  auto start = [&](const std::string& name) { net.start(name); };
  // Every node joins both hubs.
  for (auto name : {"w1", "w2"})
    for (auto hub : {"hub-a", "hub-b"})
      REQUIRE(nodes[name]->wait_output(std::string{"joined as worker at hub "} + hub, 30s));
  REQUIRE(nodes["v1"]->wait_output("joined as validator at hub hub-b", 30s));
  REQUIRE(nodes["l4"]->wait_output("joined as ledger at hub hub-b", 30s));

  mover alice{*topo, *file, "hub-a", "alice"};
  mover bob{*topo, *file, "hub-b", "bob"};
  REQUIRE(alice.api);
  REQUIRE(bob.api);
  CHECK(alice.api->hub() == "hub-a");
  CHECK(bob.api->hub() == "hub-b");
  test::matmul_stream a_stream{*alice.api};
  test::matmul_stream b_stream{*bob.api};
  CHECK(a_stream.submit_more(2) == "");
  CHECK(b_stream.submit_more(2) == "");
  CHECK(a_stream.finish() == "");
  CHECK(b_stream.finish() == "");

  // Alice's hub dies with her tasks running, an inference and a training run among them;
  // both go on submitting.
  auto spec = compute::nn::parse_model_spec("mlp:12-16-4").value();
  auto model = compute::nn::mlp::initialized(spec, 5);
  compute::tensor weights{1, model.parameters().size()};
  std::copy(model.parameters().begin(), model.parameters().end(), weights.data());
  auto x = test::leaning(3000, 12, 4, 40).x;
  task_request infer_req;
  infer_req.model.spec = "mlp:12-16-4";
  infer_req.model.sample_rate = 0.5;
  infer_req.shards = 6;
  auto infer = alice.api->submit_infer(weights, x, infer_req);
  REQUIRE(infer);
  auto train = test::leaning(1000, 12, 4, 50);
  auto test_set = test::leaning(300, 12, 4, 51);
  auto run = alice.api->submit_train(train, &test_set, test::training(3));
  REQUIRE(run);
  CHECK(a_stream.submit_more(3) == "");
  CHECK(b_stream.submit_more(1) == "");
  nodes["hub-a"]->signal(SIGKILL);
  CHECK(nodes["hub-a"]->wait_for(5s).has_value());
  CHECK(b_stream.submit_more(2) == "");
  CHECK(a_stream.finish(2) == ""); // every one exact, at hub-b
  CHECK(b_stream.finish(2) == "");
  auto inferred = alice.api->wait(infer->task_id, {}, 120s);
  REQUIRE(inferred);
  CHECK(inferred->state == task_state::done);
  auto probs = alice.api->result(infer->task_id);
  REQUIRE(probs);
  CHECK(compute::max_relative_difference(*probs, model.probabilities(x.data(), x.rows()))
        <= 1e-4);
  auto trained = alice.api->wait(run->task_id, {}, 180s);
  REQUIRE(trained);
  INFO(trained->reason);
  CHECK(trained->state == task_state::done);
  if (!trained->epochs.empty())
    CHECK(trained->epochs.back().test_accuracy > 0.9);
  CHECK(alice.api->hub() == "hub-b");
  INFO("alice said:\n" << alice.output());
  CHECK_THAT(alice.output(), Catch::Contains("lost hub hub-a"));
  CHECK_THAT(alice.output(), Catch::Contains("attached to hub hub-b"));
  auto moved = alice.api->status(a_stream.tasks.back().first);
  REQUIRE(moved);
  CHECK(moved->hub == "hub-b");
  CHECK(moved->moved_from == "hub-a");
  CHECK(a_stream.submit_more(1) == ""); // new work goes to hub-b
  CHECK(a_stream.finish(5) == "");

  // Hub-a comes back; the nodes join it again, and it takes work again.
  start("hub-a");
  for (auto name : {"w1", "w2", "v1"})
    REQUIRE(nodes[name]->wait_output("at hub hub-a\n", 30s, 4)); // reached, joined, twice
  mover carol{*topo, *file, "hub-a", "carol"};
  REQUIRE(carol.api);
  CHECK(carol.api->hub() == "hub-a");
  test::matmul_stream c_stream{*carol.api};
  CHECK(c_stream.submit_more(2) == "");
  CHECK(c_stream.finish() == "");

  auto verified = bob.api->ledger(ledger_query{.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
  std::this_thread::sleep_for(3s); // the restarted hub's ledger catches up
  alice.api.reset();
  bob.api.reset();
  carol.api.reset();
  for (auto& [name, p] : nodes)
    p->signal(SIGTERM);
  for (auto& [name, p] : nodes) {
    INFO(name << ":\n" << p->output());
    CHECK(p->wait_for(20s).has_value());
  }

  std::vector<uint64_t> bound{infer->task_id}; // tasks whose submission binds their work
  std::vector<std::pair<uint64_t, uint32_t>> shards;
  for (const auto* s : {&a_stream, &b_stream, &c_stream}) {
    shards.insert(shards.end(), s->shards.begin(), s->shards.end());
    for (const auto& [id, product] : s->tasks)
      bound.push_back(id);
  }
  std::vector<chain::digest> heads;
  for (const auto& name : ledgers) {
    INFO(name << ": " << nodes[name]->output());
    auto path = dir.path() / "data" / name / "ledger";
    auto c = test::check_store(path, shards);
    CHECK(c.problem == "");
    heads.push_back(c.head);
    // Each task charged its plan, once, wherever it ran (one validator: no audit fees).
    auto charges = charges_of(path);
    for (auto id : bound) {
      INFO("task " << id);
      CHECK(charges.due.contains(id));
      CHECK(charges.charged[id] == charges.due[id]);
    }
  }
  for (const auto& h : heads)
    CHECK(h == heads[0]);
}

TEST_CASE("a hub that states more work, pays its own node or charges a submitter is "
          "refused by the ledger nodes, which say why",
          "[faulty-hub]") {
  test::temp_dir dir;
  // The hub also computes: its own node is a worker the ledger knows, never paid for
  // shards it assigned itself.
  std::vector<test::node_line> lines{{"hub", "orchestrator, aggregator, ledger, worker",
                                      "inflate-units,pay-self,overcharge"},
                                     {"l2", "ledger"},
                                     {"w1", "worker"},
                                     {"v1", "validator"}};
  auto file = test::write_topology(dir, "net.yaml", test::node_binary(), lines);
  REQUIRE(file);
  std::vector<std::unique_ptr<test::process>> nodes;
  for (const auto& l : lines)
    nodes.push_back(test::start_node(test::node_binary(), dir, *file, l.name));
  REQUIRE(nodes[2]->wait_output("joined as worker", 20s));
  REQUIRE(nodes[3]->wait_output("joined as validator", 20s));
  REQUIRE(nodes[1]->wait_output("joined as ledger", 20s));
  const char* shell = std::getenv("NEXUS_SHELL");
  REQUIRE(shell != nullptr);
  test::process run{{shell, "--topology", *file, "--data", dir.file("shell"), "--as",
                     "alice", "-c", "submit matmul --m 600 --k 200 --n 100 --shards 12",
                     "-c", "ledger verify", "-c", "ledger balance"},
                    dir.file("shell.log")};
  auto status = run.wait_for(90s);
  REQUIRE(status);
  INFO(run.output());
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK_THAT(run.output(), Catch::Contains("12/12 shards validated"));
  CHECK_THAT(run.output(), Catch::Contains("ledger OK"));
  // The ledger node the hub records through refused each kind, and said why (the others
  // never see a refused record; their chain is the same).
  auto log = nodes[0]->output();
  INFO(log);
  CHECK_THAT(log, Catch::Contains("refused a record: ") && Catch::Contains("plan gives"));
  CHECK_THAT(log, Catch::Contains("is the node of the orchestrator that signed it"));
  CHECK_THAT(log, Catch::Contains("a payment (only the contract makes those)"));
  // Nobody was paid more than the plan: the hub nothing, alice at most the task's units.
  auto out = "\n" + run.output();
  std::smatch hub;
  if (std::regex_search(out, hub, std::regex{"\nhub  (-?[0-9.]+) MCC"}))
    CHECK(std::stod(hub[1].str()) == 0);
  // 600 x 200 x 100 x 2 FLOP: 24 work units at 0.001 MCC. Alice is charged only for rows
  // whose records the ledger took; when the faults struck every record (they strike at
  // random), she has no balance at all.
  std::smatch charged;
  if (std::regex_search(out, charged, std::regex{"\nalice  (-?[0-9.]+) MCC"}))
    CHECK(
        (std::stod(charged[1].str()) <= 0 && std::stod(charged[1].str()) >= -0.024 - 1e-9));
  else
    CHECK_THAT(run.output(), !Catch::Contains("alice "));
  for (auto& p : nodes)
    p->signal(SIGTERM);
  for (auto& p : nodes)
    CHECK(p->wait_for(15s).has_value());
}

TEST_CASE("a shell whose only hub is cut off says so at once and finishes its task when "
          "the link is back",
          "[hub-cut]") {
  test::temp_dir dir;
  // The default heartbeats: a silent link is dropped after 2 s.
  test::netns_cluster net{dir,
                          {{"hub", "orchestrator, aggregator, ledger"},
                           {"w1", "worker", "", "{threads: 1, device: cpu}"},
                           {"w2", "worker", "", "{threads: 1, device: cpu}"},
                           {"v1", "validator"}},
                          1,
                          "{}"};
  if (!net.lab) {
    WARN("skipped: " << net.why);
    return;
  }
  REQUIRE(!net.file.empty());
  auto file = &net.file;
  auto& nodes = net.nodes;
  auto& lab = net.lab;
  REQUIRE(nodes["w2"]->wait_output("joined as worker", 20s));
  REQUIRE(nodes["v1"]->wait_output("joined as validator", 20s));
  auto a = compute::random_tensor({1200, 800}, 5);
  auto b = compute::random_tensor({800, 1000}, 6);
  REQUIRE_FALSE(compute::write_npy(dir.file("a.npy"), a));
  REQUIRE_FALSE(compute::write_npy(dir.file("b.npy"), b));
  const char* shell = std::getenv("NEXUS_SHELL");
  REQUIRE(shell != nullptr);
  test::process run{{shell, "--topology", *file, "-c",
                     "submit matmul --a " + dir.file("a.npy") + " --b " + dir.file("b.npy")
                         + " --shards 40 --out " + dir.file("c.npy")},
                    dir.file("shell.log")};
  REQUIRE(run.wait_output(" in 40 shards", 30s));
  REQUIRE(lab->cut("hub"));
  auto cut_at = std::chrono::steady_clock::now();
  // Said within the heartbeat's time-out and a little more.
  CHECK(run.wait_output("lost hub hub", 6s));
  CHECK(std::chrono::steady_clock::now() - cut_at < 6s);
  std::this_thread::sleep_until(cut_at + 8s);
  REQUIRE(lab->cut("hub", false));
  auto status = run.wait_for(90s);
  REQUIRE(status);
  INFO(run.output());
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK_THAT(run.output(), Catch::Contains("attached to hub hub"));
  auto c = compute::read_npy(dir.file("c.npy"));
  REQUIRE(c);
  CHECK(compute::max_relative_difference(*c, compute::multiply(a, b)) < 1e-5);
  for (auto& [name, p] : nodes)
    p->signal(SIGTERM);
  for (auto& [name, p] : nodes)
    CHECK(p->wait_for(20s).has_value());
}
