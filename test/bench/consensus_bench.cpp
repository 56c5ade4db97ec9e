// Records committed per second and commit latency with ledger nodes agreeing by
// Tendermint, against one ledger node (the same protocol with one member) in the same run.
//
// Three runs: one ledger node, NODES ledger nodes as actors of this process, and NODES
// ledger nodes as processes of their own (this program started again with --serve, one
// LevelDB store and key each, reaching each other through CAF's middleman on loopback,
// as nexus-node's ledger nodes do but without TLS). A sender plays the orchestrator:
// batches of contributions and verdicts, signed in batches as the orchestrator and
// validators sign them, WINDOW batches in flight, to the first ledger node; a batch's
// latency is from its sending to its receipt, which comes once every record of it is in
// a committed block.
//
// usage: consensus_bench [CONTRIBUTIONS] [NODES] [BATCH] [WINDOW]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/ledger.hpp"
#include "actors/runtime/node.hpp"
#include "chain/ledger.hpp"
#include "test/support/bench_records.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;
using clock_type_ = std::chrono::steady_clock;

namespace {

std::size_t window = 8; // batches in flight (WINDOW)

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

// Every key of the network, kept in DIR/keys/NAME (so that ledger node processes load
// the same ones), and the first block they make.
struct keys {
  node_key hub;
  node_key validator;
  node_key submitter;
  std::vector<node_key> ledgers;
  genesis start;

  keys(const std::filesystem::path& dir, std::size_t nodes)
      : hub(load(dir, "hub"))
      , validator(load(dir, "validator-1"))
      , submitter(load(dir, "alice")) {
    start.members.push_back(
        {"hub", hub.public_bytes(), bit(role::orchestrator) | bit(role::ledger)});
    for (std::size_t i = 2; i <= nodes; ++i) {
      auto name = "ledger-" + std::to_string(i);
      ledgers.push_back(load(dir, name));
      start.members.push_back({name, ledgers.back().public_bytes(), bit(role::ledger)});
    }
    start.members.push_back(
        {"validator-1", validator.public_bytes(), bit(role::validator)});
    for (int i = 0; i < 8; ++i) {
      auto name = "worker-" + std::to_string(i);
      start.members.push_back({name, load(dir, name).public_bytes(), bit(role::worker)});
    }
  }

  const node_key& of(std::size_t node) const {
    return node == 0 ? hub : ledgers.at(node - 1);
  }

  static node_key load(const std::filesystem::path& dir, const std::string& name) {
    return node_key::load_or_create(dir / "keys" / name).value();
  }
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

// Sends the benchmark's batches to `first` (the tasks' submissions before, untimed).
result drive(caf::actor_system& sys, const ledger_actor& first, std::size_t n,
             std::size_t per_batch, const keys& k) {
  result out;
  caf::scoped_actor self{sys};
  bool ok = true;
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
  self->request(first, std::chrono::seconds{120}, record_atom::value,
                wire::encode_records(submissions))
      .receive(
          [&](const wire::ledger_receipt& msg) {
            auto r = wire::decode(msg);
            ok = r && r->refused.empty();
          },
          [&](const caf::error&) { ok = false; });
  auto batches = make_batches(n, per_batch, k);
  auto start = clock_type_::now();
  std::deque<clock_type_::time_point> sent;
  std::size_t next = 0, received = 0;
  auto fire = [&] {
    self->send(first, record_atom::value, wire::encode_records(batches[next]));
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
  return out;
}

ledger_config config_of(const std::filesystem::path& dir, std::size_t node) {
  ledger_config c{dir / ("l" + std::to_string(node)) / "ledger"};
  c.name = "ledger " + std::to_string(node);
  std::filesystem::create_directories(c.dir.parent_path());
  return c;
}

// `nodes` ledger nodes as actors of this process.
result run(std::size_t n, std::size_t nodes, std::size_t per_batch) {
  test::temp_dir dir;
  keys k{dir.path(), nodes};
  caf::actor_system_config cfg;
  configure_local(cfg);
  caf::actor_system sys{cfg};
  std::vector<ledger_actor> actors;
  for (std::size_t i = 0; i < nodes; ++i) {
    auto c = config_of(dir.path(), i);
    auto l = ledger::open(c.dir, k.start, k.of(i));
    if (!l)
      return {};
    actors.push_back(spawn_ledger(sys, c, std::move(*l)));
  }
  introduce_ledgers(actors);
  auto out = drive(sys, actors[0], n, per_batch, k);
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return out;
}

// Waits (at most 30 s) for `file` and reads the numbers in it.
std::vector<uint16_t> read_ports(const std::filesystem::path& file) {
  for (int i = 0; i < 300 && !std::filesystem::exists(file); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  std::ifstream in{file};
  std::vector<uint16_t> out;
  for (uint16_t p = 0; in >> p;)
    out.push_back(p);
  return out;
}

void write_file(const std::filesystem::path& file, const std::string& text) {
  auto part = file.string() + ".part";
  std::ofstream{part} << text;
  std::filesystem::rename(part, file); // whole, or not there
}

// Ledger node `node` of `nodes` as a process: publishes its actor, writes its port to
// DIR/portK, meets the others once DIR/ports lists them all, and runs until DIR/stop.
int serve(const std::filesystem::path& dir, std::size_t node, std::size_t nodes) {
  keys k{dir, nodes};
  caf::actor_system_config cfg;
  configure(cfg, network_settings{});
  caf::actor_system sys{cfg};
  auto c = config_of(dir, node);
  auto l = ledger::open(c.dir, k.start, k.of(node));
  if (!l) {
    std::fprintf(stderr, "ledger %zu: %s\n", node, describe(l.error()).c_str());
    return 1;
  }
  auto actor = spawn_ledger(sys, c, std::move(*l));
  auto port = sys.middleman().publish(actor, 0, "127.0.0.1");
  if (!port)
    return 1;
  write_file(dir / ("port" + std::to_string(node)), std::to_string(*port));
  auto ports = read_ports(dir / "ports");
  if (ports.size() != nodes)
    return 1;
  for (std::size_t j = 0; j < nodes; ++j) {
    if (j == node)
      continue;
    auto peer = sys.middleman().remote_actor<ledger_actor>("127.0.0.1", ports[j]);
    if (!peer)
      return 1;
    caf::anon_send(actor, peer_atom::value, caf::actor_cast<caf::actor>(*peer));
  }
  for (int i = 0; i < 6000 && !std::filesystem::exists(dir / "stop"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  return 0;
}

// `nodes` ledger nodes as processes of their own.
result run_processes(std::size_t n, std::size_t nodes, std::size_t per_batch) {
  test::temp_dir dir;
  keys k{dir.path(), nodes};
  std::vector<std::unique_ptr<test::process>> children;
  for (std::size_t i = 0; i < nodes; ++i)
    children.push_back(std::make_unique<test::process>(
        std::vector<std::string>{"/proc/self/exe", "--serve", dir.path().string(),
                                 std::to_string(i), std::to_string(nodes)},
        dir.file("l" + std::to_string(i) + ".log")));
  std::string ports;
  for (std::size_t i = 0; i < nodes; ++i) {
    auto p = read_ports(dir.path() / ("port" + std::to_string(i)));
    if (p.size() != 1)
      return {};
    ports += std::to_string(p[0]) + "\n";
  }
  write_file(dir.path() / "ports", ports);
  caf::actor_system_config cfg;
  configure(cfg, network_settings{});
  caf::actor_system sys{cfg};
  auto first = sys.middleman().remote_actor<ledger_actor>(
      "127.0.0.1", read_ports(dir.path() / "ports").at(0));
  result out;
  if (first) {
    std::this_thread::sleep_for(std::chrono::seconds{1}); // the nodes meet
    out = drive(sys, *first, n, per_batch, k);
  }
  write_file(dir.path() / "stop", "");
  for (auto& c : children)
    c->wait_for(std::chrono::seconds{20});
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string{argv[1]} == "--serve")
    return serve(argv[2], std::strtoul(argv[3], nullptr, 10),
                 std::strtoul(argv[4], nullptr, 10));
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 40000;
  std::size_t nodes = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4;
  std::size_t per_batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 250;
  window = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : window;
  if (n == 0 || nodes == 0 || nodes > 16 || per_batch == 0 || window == 0) {
    std::fprintf(stderr,
                 "usage: consensus_bench [CONTRIBUTIONS] [NODES] [BATCH] [WINDOW]\n");
    return 2;
  }
  auto one = run(n, 1, per_batch);
  auto many = run(n, nodes, per_batch);
  auto apart = run_processes(n, nodes, per_batch);
  if (one.seconds < 0 || many.seconds < 0 || apart.seconds < 0) {
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
  auto label = std::to_string(nodes) + " nodes, 1 process:";
  line(label.c_str(), many);
  label = std::to_string(nodes) + " processes:";
  line(label.c_str(), apart);
  std::printf("  ratios to one node's rate: %.2f in one process, %.2f as processes "
              "(targets: >= 20000 records/s, p99 < 1000 ms)\n",
              (many.records / many.seconds) / (one.records / one.seconds),
              (apart.records / apart.seconds) / (one.records / one.seconds));
  return 0;
}
