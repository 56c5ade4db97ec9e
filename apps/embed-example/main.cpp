// An application of its own that also lends its CPU to a NexusChain network.
//
// It builds its actor_system as usual, lets nexus::configure add what NexusChain needs,
// runs one of its own actors (here: a ticker that reports what the node has done), and
// starts a worker node that joins the orchestrator named on the command line. See
// docs/embedding.md.
//
//   nexus-embed-example --topology config/local.yaml --join hub [--name NAME] [--seconds N]
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>

#include <caf/all.hpp>

#include "actors/api/node.hpp"

namespace {

using report_atom = caf::atom_constant<caf::atom("report")>;

// The host application's own actor: every few seconds it reports what the store holds.
caf::behavior ticker(caf::event_based_actor* self, std::shared_ptr<nexus::blob_store> store,
                     std::string name) {
  self->delayed_send(self, std::chrono::seconds{2}, report_atom::value);
  return {
    [=](report_atom) {
      caf::aout(self) << name << ": application still running; operands cached: "
                      << store->size() << "\n";
      self->delayed_send(self, std::chrono::seconds{2}, report_atom::value);
    },
  };
}

constexpr const char* usage =
  "usage: nexus-embed-example --topology FILE --join NODE [--name NAME] [--seconds N]\n"
  "Runs a small CAF application with a NexusChain worker embedded in it; the worker\n"
  "joins the orchestrator on node NODE of the topology (with its TLS settings; the\n"
  "worker presents the certificate and node key of node NAME, by default the client's\n"
  "certificate and a fresh key, which a topology that lists keys refuses).\n";

} // namespace

int main(int argc, char** argv) {
  std::string file;
  std::string join;
  std::string name = "embedded-worker";
  int seconds = 0; // 0: until SIGINT/SIGTERM
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << usage;
      return 2;
    }
    std::string value = argv[++i];
    if (arg == "--topology")
      file = value;
    else if (arg == "--join")
      join = value;
    else if (arg == "--name")
      name = value;
    else if (arg == "--seconds")
      seconds = std::atoi(value.c_str());
    else {
      std::cerr << usage;
      return 2;
    }
  }
  if (file.empty() || join.empty()) {
    std::cerr << usage;
    return 2;
  }
  auto topo = nexus::load_topology(file);
  if (!topo) {
    std::cerr << nexus::describe(topo.error()) << "\n";
    return 1;
  }
  const auto* target = topo->find(join);
  if (!target || !target->has(nexus::node_role::orchestrator)) {
    std::cerr << file << ": no orchestrator node \"" << join << "\"\n";
    return 1;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // 1. The application's configuration, plus what NexusChain needs.
  caf::actor_system_config cfg;
  nexus::configure(cfg, nexus::settings_for(*topo, topo->find(name)));
  caf::actor_system sys{cfg};

  // 2. A worker node: roles, and where the orchestrator is.
  nexus::node_options opts;
  opts.spec.name = name;
  opts.spec.roles = {nexus::node_role::worker};
  opts.spec.port = 0; // any free port for its gateway
  opts.orchestrator_host = target->host;
  opts.orchestrator_port = target->port;
  opts.tls = topo->tls;
  opts.ca = topo->ca;
  // Its identity: the key of node NAME of the topology if there is one (a topology that
  // lists keys admits only those), else a fresh one.
  const auto* self_entry = topo->find(name);
  auto key = self_entry ? nexus::chain::node_key::load_or_create(self_entry->data_dir)
                        : nexus::chain::node_key::generate();
  if (!key) {
    std::cerr << nexus::describe(key.error()) << "\n";
    return 1;
  }
  opts.key = *key;
  auto node = nexus::node::start(sys, opts);
  if (!node) {
    std::cerr << nexus::describe(node.error()) << "\n";
    return 1;
  }
  std::cout << name << ": embedded worker, gateway on port " << (*node)->port() << std::endl;

  // 3. The application's own actors run beside it.
  auto app = sys.spawn(ticker, (*node)->store(), name);

  if (seconds > 0) {
    timespec limit{seconds, 0};
    sigtimedwait(&signals, nullptr, &limit);
  } else {
    int sig = 0;
    sigwait(&signals, &sig);
  }
  caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  (*node)->stop();
  return 0;
}
