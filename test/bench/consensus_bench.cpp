// Records committed per second and commit latency with ledger nodes agreeing by
// Tendermint, against one ledger node (the same protocol with one member) in the same run.
//
// The ledger nodes are actors of one process, each with its own LevelDB store and key (the
// cross-process network carries the same messages over TLS, tests/net/ledgers_test.cpp).
// A sender plays the orchestrator: batches of contributions and verdicts, signed in
// batches as the orchestrator and validators sign them, WINDOW batches in flight, to the
// first ledger node; a batch's latency is from its sending to its receipt, which comes
// once every record of it is in a committed block.
//
// usage: consensus_bench [CONTRIBUTIONS] [NODES] [BATCH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include <caf/all.hpp>

#include "actors/ledger.hpp"
#include "actors/runtime/node.hpp"
#include "chain/ledger.hpp"
#include "test/support/bench_records.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;
using clock_type_ = std::chrono::steady_clock;

namespace {

constexpr std::size_t window = 8;

struct result {
  double seconds = -1;
  std::size_t records = 0;
  std::vector<double> latencies_ms;
};

double percentile(std::vector<double> x, double p) {
  if (x.empty())
    return 0;
  std::sort(x.begin(), x.end());
  return x[std::min(x.size() - 1, static_cast<std::size_t>(p * x.size()))];
}

struct keys {
  node_key hub = node_key::generate().value();
  node_key validator = node_key::generate().value();
  node_key submitter = node_key::generate().value();
  std::vector<node_key> ledgers;
};

// Batches of `per_batch` contributions with their verdicts (2 * per_batch records),
// each half signed in one batch signature.
std::vector<std::vector<std::vector<uint8_t>>>
make_batches(std::size_t n, std::size_t per_batch, const keys& k) {
  auto inputs = test::make_inputs(n, per_batch, k.hub, k.validator);
  std::vector<std::vector<std::vector<uint8_t>>> out;
  for (std::size_t first = 0; first < inputs.size(); first += 2 * per_batch) {
    std::vector<std::vector<uint8_t>> batch;
    for (auto i = first; i < std::min(inputs.size(), first + 2 * per_batch); ++i)
      batch.push_back(encode(inputs[i]));
    out.push_back(std::move(batch));
  }
  return out;
}

result run(std::size_t n, std::size_t nodes, std::size_t per_batch, keys& k) {
  result out;
  test::temp_dir dir;
  while (k.ledgers.size() + 1 < nodes)
    k.ledgers.push_back(node_key::generate().value());
  genesis g;
  g.members.push_back(
      {"hub", k.hub.public_bytes(), bit(role::orchestrator) | bit(role::ledger)});
  for (std::size_t i = 0; i + 1 < nodes; ++i)
    g.members.push_back({"ledger-" + std::to_string(i + 2), k.ledgers[i].public_bytes(),
                         bit(role::ledger)});
  g.members.push_back({"validator-1", k.validator.public_bytes(), bit(role::validator)});
  for (int i = 0; i < 8; ++i)
    g.members.push_back({"worker-" + std::to_string(i),
                         node_key::generate().value().public_bytes(), bit(role::worker)});
  caf::actor_system_config cfg;
  configure_local(cfg);
  caf::actor_system sys{cfg};
  std::vector<ledger_actor> actors;
  for (std::size_t i = 0; i < nodes; ++i) {
    auto key = i == 0 ? k.hub : k.ledgers[i - 1];
    ledger_config c{dir.path() / ("l" + std::to_string(i)) / "ledger"};
    c.name = "ledger " + std::to_string(i);
    std::filesystem::create_directories(c.dir.parent_path());
    auto l = ledger::open(c.dir, g, key);
    if (!l)
      return out;
    actors.push_back(spawn_ledger(sys, c, std::move(*l)));
  }
  introduce_ledgers(actors);
  caf::scoped_actor self{sys};
  bool ok = true;
  auto send = [&](const std::vector<std::vector<uint8_t>>& batch, auto&& done) {
    self->request(actors[0], std::chrono::seconds{120}, record_atom::value,
                  wire::encode_records(batch))
        .receive(
            [&](const wire::ledger_receipt& msg) {
              auto r = wire::decode(msg);
              ok = ok && r && r->refused.empty();
              done();
            },
            [&](const caf::error&) { ok = false; });
  };
  // The tasks' submissions first, untimed.
  std::vector<std::vector<uint8_t>> submissions;
  for (uint64_t task = 1; task <= 1 + (n - 1) / 1000; ++task) {
    transaction t;
    t.kind = tx_kind::submission;
    t.task_id = task;
    t.account = "alice";
    t.data = u64_data(task);
    t.sign_with(k.submitter);
    submissions.push_back(encode(t));
  }
  send(submissions, [] {});
  auto batches = make_batches(n, per_batch, k);
  auto start = clock_type_::now();
  std::deque<clock_type_::time_point> sent;
  std::size_t next = 0, received = 0;
  auto fire = [&] {
    self->send(actors[0], record_atom::value, wire::encode_records(batches[next]));
    sent.push_back(clock_type_::now());
    out.records += batches[next].size();
    ++next;
  };
  // Receipts come in order from one ledger node for one sender: WINDOW in flight.
  while (next < batches.size() && next < window)
    fire();
  while (received < batches.size() && ok) {
    self->receive(
        [&](const wire::ledger_receipt& msg) {
          auto r = wire::decode(msg);
          ok = ok && r && r->refused.empty();
          out.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(clock_type_::now() - sent.front())
                  .count());
          sent.pop_front();
          ++received;
          if (next < batches.size())
            fire();
        },
        caf::after(std::chrono::seconds{120}) >> [&] { ok = false; });
  }
  if (ok)
    out.seconds = std::chrono::duration<double>(clock_type_::now() - start).count();
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 40000;
  std::size_t nodes = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4;
  std::size_t per_batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 250;
  if (n == 0 || nodes == 0 || nodes > 16 || per_batch == 0) {
    std::fprintf(stderr, "usage: consensus_bench [CONTRIBUTIONS] [NODES] [BATCH]\n");
    return 2;
  }
  keys k;
  auto one = run(n, 1, per_batch, k);
  auto many = run(n, nodes, per_batch, k);
  if (one.seconds < 0 || many.seconds < 0) {
    std::fprintf(stderr, "a run failed (a batch refused or not acknowledged)\n");
    return 1;
  }
  std::printf("consensus: %zu records in batches of %zu, %zu in flight\n", one.records,
              2 * per_batch, window);
  auto line = [&](const char* what, const result& r) {
    std::printf("  %-18s %7.0f records/s   commit latency median %6.1f ms, p99 %6.1f ms\n",
                what, r.records / r.seconds, percentile(r.latencies_ms, 0.5),
                percentile(r.latencies_ms, 0.99));
  };
  line("1 ledger node:", one);
  auto label = std::to_string(nodes) + " ledger nodes:";
  line(label.c_str(), many);
  std::printf(
      "  ratio %.2f of one node's rate (targets: >= 20000 records/s, p99 < 1000 ms)\n",
      (many.records / many.seconds) / (one.records / one.seconds));
  return 0;
}
