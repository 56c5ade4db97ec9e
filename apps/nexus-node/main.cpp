// nexus-node: runs a node of a NexusChain network, or every local node of a topology.
//
//   nexus-node --topology FILE --node NAME   run that node's roles in this process
//   nexus-node up FILE                       start every local node as a child process
//   nexus-node certs FILE                    create test TLS material for the topology
//   nexus-node governance approve FILE --key DIR   approve a rules change
//
// A thin program over actors/node.hpp: everything it does, a CAF application can do.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <tbb/global_control.h>

#include "actors/runtime/node.hpp"
#include "apps/nexus-node/certs.hpp"
#include "chain/audit.hpp"
#include "chain/governance.hpp"

namespace {

constexpr const char* usage = R"(usage:
  nexus-node --topology FILE --node NAME   run node NAME of the topology in this process
  nexus-node up FILE                       start every node of FILE whose host is this
                                           machine, as child processes; Ctrl-C or SIGTERM
                                           stops them all
  nexus-node certs FILE                    create a CA and a certificate and key for every
                                           node (and the shell) where FILE names them
  nexus-node ledger verify --data DIR      audit the ledger of a stopped node (or of
                                           nexus-shell's --data) from the chain alone,
                                           changing none of its bytes: re-hash every
                                           block, check every signature against the key
                                           its name is bound to, replay the contract under
                                           the rules the chain records, account for every
                                           index entry and balance, add up the supply
  nexus-node governance approve FILE --key DIR
                                           approve the rules change in FILE with the
                                           ledger node key in DIR/node.key: appends an
                                           "approval KEY SIGNATURE" line to FILE. A change
                                           FILE holds, one line each:
                                             chain HASH_OF_BLOCK_0   (ledger verify shows it)
                                             sequence N              (changes recorded before)
                                             height H                (the rules hold from H)
                                             rules VERSION MICRO_MCC_PER_WORK_UNIT
                                                   VALIDATOR_PERMILLE PENALTY_MICRO_MCC
                                                   AUDIT_PERMILLE
                                           Approved by more than two thirds of the ledger
                                           nodes, `ledger govern FILE` in nexus-shell hands
                                           it in (docs/LEDGER.md, Governance)
  nexus-node --help

A node prints where it listens and when it joins or loses the orchestrator. The topology
format is described in docs/topology.md. Exit status: 0 after a clean stop, 1 when the
node cannot start, 2 for bad options.
)";

// Blocks the signals we wait for, in every thread started from here on.
sigset_t block_signals(bool children) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (children)
    sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

std::string roles_of(const nexus::node_spec& spec) {
  std::string out;
  for (auto r : spec.roles) {
    if (!out.empty())
      out += ',';
    out += nexus::to_string(r);
  }
  return out;
}

int run_node(const std::string& file, const std::string& name) {
  auto topo = nexus::load_topology(file);
  if (!topo) {
    std::cerr << "nexus-node: " << nexus::describe(topo.error()) << "\n";
    return 1;
  }
  const auto* spec = topo->find(name);
  if (!spec) {
    std::cerr << "nexus-node: " << file << " has no node \"" << name << "\"\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(spec->data_dir, ec);
  if (ec) {
    std::cerr << "nexus-node: " << name << ": cannot create the data directory "
              << spec->data_dir << ": " << ec.message() << "\n";
    return 1;
  }
  // resources.threads: how many cores this node's computations may use.
  std::optional<tbb::global_control> threads;
  if (spec->threads > 0)
    threads.emplace(tbb::global_control::max_allowed_parallelism, spec->threads);
  auto signals = block_signals(false);
  caf::actor_system_config cfg;
  nexus::configure(cfg, nexus::settings_for(*topo, spec));
  caf::actor_system sys{cfg};
  auto key = nexus::chain::node_key::load_or_create(spec->data_dir);
  if (!key) {
    std::cerr << "nexus-node: " << name << ": " << nexus::describe(key.error()) << "\n";
    return 1;
  }
  std::cout << name << ": node id " << key->id() << " (key in " << spec->data_dir
            << "/node.key)" << std::endl;
  if (!spec->key.empty()) {
    auto listed = nexus::listed_key(*spec);
    if (listed && *listed != key->public_bytes())
      std::cout << name << ": warning: the topology lists another key for this node; the "
                << "orchestrator will refuse it" << std::endl;
  }
  auto opts = nexus::node_options_for(*topo, *spec, *key);
  if (!opts) {
    std::cerr << "nexus-node: " << nexus::describe(opts.error()) << "\n";
    return 1;
  }
  auto node = nexus::node::start(sys, std::move(*opts));
  if (!node) {
    std::cerr << "nexus-node: " << nexus::describe(node.error()) << "\n";
    return 1;
  }
  std::cout << name << ": listening on " << spec->host << ":" << (*node)->port() << " ("
            << roles_of(*spec) << (topo->tls ? ", mutual TLS" : ", no TLS") << ")"
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << name << ": stopping (" << strsignal(sig) << ")" << std::endl;
  (*node)->stop();
  // CAF 0.17 can wait forever in the actor_system's destructor for a detached actor whose
  // handle a lost peer still "holds". Nothing is left to save at this point (stores
  // commit their own writes), so the stop is bounded.
  std::thread{[name] {
    std::this_thread::sleep_for(std::chrono::seconds{5});
    std::cout << name << ": stopped (CAF did not finish its shutdown in 5 s)" << std::endl;
    std::_Exit(0);
  }}.detach();
  return 0;
}

bool is_local(const std::string& host) {
  if (host == "localhost" || host.starts_with("127.") || host == "::1" || host == "0.0.0.0")
    return true;
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 && host == name;
}

int up(const std::string& file) {
  auto topo = nexus::load_topology(file);
  if (!topo) {
    std::cerr << "nexus-node: " << nexus::describe(topo.error()) << "\n";
    return 1;
  }
  auto signals = block_signals(true);
  // The orchestrator's node first; the others would wait for it anyway.
  std::vector<const nexus::node_spec*> order;
  order.push_back(&topo->orchestrator());
  for (const auto& n : topo->nodes)
    if (&n != order.front())
      order.push_back(&n);
  std::map<pid_t, std::string> children;
  auto stop_all = [&](int first_signal) {
    for (auto& [pid, name] : children)
      kill(pid, first_signal);
    for (int waited = 0; !children.empty() && waited < 100; ++waited) { // 10 s at most
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        children.erase(pid);
      if (!children.empty())
        usleep(100'000);
    }
    for (auto& [pid, name] : children) {
      std::cerr << "nexus-node: " << name << " did not stop; killing it\n";
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    children.clear();
  };
  for (const auto* spec : order) {
    if (!is_local(spec->host))
      continue;
    pid_t pid = fork();
    if (pid < 0) {
      std::cerr << "nexus-node: fork failed: " << std::strerror(errno) << "\n";
      stop_all(SIGTERM);
      return 1;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive `up`
      sigprocmask(SIG_UNBLOCK, &signals, nullptr);
      execl("/proc/self/exe", "nexus-node", "--topology", file.c_str(), "--node",
            spec->name.c_str(), static_cast<char*>(nullptr));
      std::perror("nexus-node: exec");
      _exit(127);
    }
    children[pid] = spec->name;
    std::cout << "up: started " << spec->name << " (pid " << pid << ") for " << spec->host
              << ":" << spec->port << std::endl;
  }
  if (children.empty()) {
    std::cerr << "nexus-node: no node of " << file << " runs on this host\n";
    return 1;
  }
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGCHLD) {
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        auto name = children[pid];
        children.erase(pid);
        std::cout << "up: " << name << " exited ("
                  << (WIFSIGNALED(status)
                          ? std::string{"signal "} + strsignal(WTERMSIG(status))
                          : "status " + std::to_string(WEXITSTATUS(status)))
                  << "); " << children.size() << " node(s) still running" << std::endl;
      }
      if (children.empty())
        return 1;
      continue;
    }
    std::cout << "up: stopping " << children.size() << " node(s)" << std::endl;
    stop_all(SIGTERM);
    return 0;
  }
}

// Audits the store in DIR/ledger without changing a byte of it (store::open_read_only),
// under the rules and membership the chain itself records.
int verify_ledger(const std::string& dir) {
  auto path = std::filesystem::path{dir} / "ledger";
  if (!std::filesystem::exists(path)) {
    std::cerr << "nexus-node: " << path.string() << " holds no ledger\n";
    return 1;
  }
  auto store = nexus::chain::store::open_read_only(path);
  if (!store) {
    std::cerr << "nexus-node: " << nexus::describe(store.error()) << "\n";
    return 1;
  }
  auto report = nexus::chain::audit(**store);
  std::cout << nexus::chain::describe_audit(report) << std::endl;
  return report ? 0 : 1;
}

// Appends DIR/node.key's approval of the change in FILE to FILE (never creates a key).
int approve_change(const std::string& file, const std::string& key_dir) {
  auto fail = [](const std::string& what) {
    std::cerr << "nexus-node: " << what << "\n";
    return 1;
  };
  auto g = nexus::chain::read_governance(file);
  if (!g)
    return fail(nexus::describe(g.error()));
  if (!std::filesystem::exists(std::filesystem::path{key_dir} / "node.key"))
    return fail(key_dir + " holds no node.key");
  auto key = nexus::chain::node_key::load_or_create(key_dir);
  if (!key)
    return fail(nexus::describe(key.error()));
  for (const auto& a : g->approvals)
    if (a.key == key->public_bytes())
      return fail(file + " holds this key's approval already");
  const auto& c = g->change;
  auto a = nexus::chain::approve(c, *key);
  std::ifstream last{file, std::ios::ate}; // does the file end its last line?
  bool ends_line = last.tellg() <= 0 || (last.seekg(-1, std::ios::end), last.get() == '\n');
  std::ofstream out{file, std::ios::app};
  auto line = "approval " + nexus::chain::to_hex(a.key) + " " + nexus::chain::to_hex(a.sig);
  if (!(out << (ends_line ? "" : "\n") << line << "\n") || !out.flush())
    return fail("cannot write " + file);
  std::cout << "approved with key " << nexus::chain::to_hex(key->public_bytes()) << ":\n"
            << "  chain    " << nexus::chain::to_hex(c.chain) << "\n"
            << "  change   number " << c.sequence << " of the chain\n"
            << "  rules    " << nexus::chain::describe_rules(c.rules) << "\n"
            << "  from     height " << c.height << "\n"
            << "  " << g->approvals.size() + 1 << " approvals in " << file << "\n";
  return 0;
}

int certs(const std::string& file) {
  auto topo = nexus::load_topology(file);
  if (!topo) {
    std::cerr << "nexus-node: " << nexus::describe(topo.error()) << "\n";
    return 1;
  }
  if (auto err = nexus::node_app::make_certificates(*topo, std::cout)) {
    std::cerr << "nexus-node: " << nexus::describe(err) << "\n";
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args)
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return 0;
    }
  if (args.size() == 2 && args[0] == "up")
    return up(args[1]);
  if (args.size() == 2 && args[0] == "certs")
    return certs(args[1]);
  if (args.size() == 4 && args[0] == "ledger" && args[1] == "verify" && args[2] == "--data")
    return verify_ledger(args[3]);
  if (args.size() == 5 && args[0] == "governance" && args[1] == "approve"
      && args[3] == "--key")
    return approve_change(args[2], args[4]);
  if (!args.empty() && args[0] == "governance") {
    std::cerr << "nexus-node: usage: nexus-node governance approve FILE --key DIR\n";
    return 2;
  }
  if (!args.empty() && args[0] == "ledger") {
    bool topology = std::find(args.begin(), args.end(), "--topology") != args.end();
    std::cerr << "nexus-node: usage: nexus-node ledger verify --data DIR"
              << (topology ? " (the rules and keys come from the chain itself: no "
                             "--topology)"
                           : "")
              << "\n";
    return 2;
  }
  std::string file;
  std::string name;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--topology" || args[i] == "--node") && i + 1 < args.size()) {
      (args[i] == "--topology" ? file : name) = args[i + 1];
      ++i;
    } else {
      std::cerr << "nexus-node: unexpected '" << args[i] << "' (try --help)\n";
      return 2;
    }
  }
  if (file.empty() || name.empty()) {
    std::cerr << "nexus-node: needs --topology FILE and --node NAME (try --help)\n";
    return 2;
  }
  return run_node(file, name);
}
