// An application of its own that also lends its CPU to a NexusChain network.
//
// It builds its actor_system as usual, lets nexus::api::configure add what NexusChain
// needs, runs one of its own actors (here: a ticker that says it is alive), and starts a
// worker node that joins the network's hub. Only NexusChain's public API
// (actors/api/nexus.hpp) is used. See docs/embedding.md.
//
//   nexus-embed-example --topology config/local.yaml [--join hub] [--name NAME] [--seconds
//   N]
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>

#include <caf/all.hpp>

#include "actors/api/nexus.hpp"

namespace {

using report_atom = caf::atom_constant<caf::atom("report")>;

// The host application's own actor: every few seconds it says it is still running.
caf::behavior ticker(caf::event_based_actor* self, std::string name) {
  self->delayed_send(self, std::chrono::seconds{2}, report_atom::value);
  return {
      [=](report_atom) {
        caf::aout(self) << name << ": application still running\n";
        self->delayed_send(self, std::chrono::seconds{2}, report_atom::value);
      },
  };
}

constexpr const char* usage =
    "usage: nexus-embed-example --topology FILE [--join NODE] [--name NAME] [--seconds N]\n"
    "Runs a small CAF application with a NexusChain worker embedded in it; the worker\n"
    "joins the network's hub (NODE, if given, must be it), with the topology's TLS; the\n"
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
  if (file.empty()) {
    std::cerr << usage;
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // 1. Before the actor system exists: NexusChain's types, the middleman, TLS.
  auto settings = nexus::api::settings_of(file, name);
  if (!settings) {
    std::cerr << nexus::describe(settings.error()) << "\n";
    return 1;
  }
  caf::actor_system_config cfg;
  nexus::api::configure(cfg, *settings);
  caf::actor_system sys{cfg};

  // 2. A worker, joined to the network's hub: with the key of node NAME of the topology
  // if there is one (a topology that lists keys admits only those), else a fresh one.
  auto node = nexus::api::node::start(
      sys, {.topology = file,
            .name = name,
            .roles = {nexus::node_role::worker},
            .port = 0, // any free port: the node NAME may be running elsewhere
            .join = join});
  if (!node) {
    std::cerr << nexus::describe(node.error()) << "\n";
    return 1;
  }
  std::cout << name << ": embedded worker, gateway on port " << (*node)->port()
            << std::endl;

  // 3. The application's own actors run beside it.
  auto app = sys.spawn(ticker, name);

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
