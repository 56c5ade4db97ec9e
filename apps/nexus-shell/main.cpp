// nexus-shell: submit tasks to a NexusChain network and follow them.
//
// By default it starts an embedded network (every role in this process, wired exactly
// as a distributed deployment); with --topology or --connect it attaches to a running
// network of nexus-node processes instead. On a terminal it offers line editing and history
// (libedit); otherwise it reads commands line by line, prints their results, and exits
// with status 1 if any command failed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <editline/readline.h>

#include "actors/runtime/client.hpp"
#include "actors/runtime/network.hpp"
#include "actors/runtime/node.hpp"
#include "actors/runtime/remote.hpp"
#include "actors/web/server.hpp"
#include "apps/nexus-shell/commands.hpp"
#include "apps/nexus-shell/detail.hpp"
#include "chain/membership.hpp"

namespace {

constexpr const char* usage = R"(usage: nexus-shell [options]

Starts an embedded NexusChain network (orchestrator, workers, validators, aggregator in
this process), or attaches to a running one, and reads commands: interactively on a
terminal, line by line otherwise.

options:
  --topology FILE      attach to the network of this topology (its first hub that
                       answers, with the topology's TLS client certificate); when that
                       hub is lost, move to another with this shell's open tasks
  --connect HOST:PORT  attach to the node at HOST:PORT (with --topology: over its TLS;
                       without: plain TCP)
  --data DIR           the embedded network's ledger and keys, and the submitters' keys
                       (default $XDG_DATA_HOME/nexuschain, else
                       ~/.local/share/nexuschain)
  --as NAME            submit as account NAME (default $USER), signing with the key in
                       DIR/users/NAME/node.key (created on first use); the ledger binds
                       NAME to that key when it first records a submission of NAME's
  --workers N          workers in the embedded network (default 4)
  --validators N       validators (default 2)
  --faulty-workers N   of the workers, N misbehave as --fault says (default 0); they are
                       named faulty-worker-K
  --fault LIST         what faulty workers do, in turn: corrupt, late, crash, garbage,
                       device-lost, device-full, each with an optional rate, as in
                       corrupt:0.3,garbage (default corrupt)
  --lying-validators N of the validators, N turn verdicts around (default 0); they are
                       named lying-validator-K
  --lie-rate R         the share of verdicts they turn around, in (0, 1] (default 1)
  --ledgers N          ledger nodes agreeing on every block by Tendermint consensus, the
                       hub's and ledger-2 ... ledger-N, each with its own store
                       (DIR/ledgers/NAME) and key (default 1); one of four may fail
  --ledger-fault F     the last ledger node misbehaves: silent, equivocate,
                       invalid-votes, pay-self or drop-records (for trying the network)
  --device SPEC        the workers' device: auto (a GPU through OpenCL if there is one,
                       else the CPU), cpu, opencl, opencl:N; a list such as opencl:0,cpu
                       gives the workers those devices in turn (default auto)
  --web PORT           also serve the network's dashboard and browser workers on PORT
                       (0: any free port; the shell says which): open
                       http://127.0.0.1:PORT/ in a browser, /?contribute to lend it
  --web-bind ADDR      the address --web listens on (default 127.0.0.1; 0.0.0.0 for
                       every interface)
  -c, --command LINE   run LINE (may be repeated), then exit
  -h, --help           this text

Type `help` at the prompt for the commands. Exit status: 0 if every command succeeded,
1 if any failed, 2 for bad options.
)";

struct options {
  nexus::embedded_options network;
  std::string account = nexus::shell::detail::submitter_name();
  std::vector<std::string> commands;
  std::string topology;
  std::string connect; // HOST:PORT
  std::optional<uint16_t> web_port;
  std::string web_bind = "127.0.0.1";
};

// Where the embedded network keeps its ledger between runs.
std::filesystem::path default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::filesystem::path{xdg} / "nexuschain";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path{home} / ".local/share/nexuschain";
  return "nexuschain-data";
}

// Parses our own flags; CAF never sees argv.
bool parse(int argc, char** argv, options& opts) {
  auto count = [&](int& i, const std::string& name, std::size_t& out,
                   std::size_t most = 1024) {
    if (i + 1 >= argc) {
      std::cerr << "nexus-shell: " << name << " needs a number\n";
      return false;
    }
    char* end = nullptr;
    auto value = std::strtoul(argv[++i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || value > most) {
      std::cerr << "nexus-shell: " << name << " expects a number up to " << most
                << ", got '" << argv[i] << "'\n";
      return false;
    }
    out = value;
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    } else if (arg == "--workers") {
      if (!count(i, arg, opts.network.workers))
        return false;
    } else if (arg == "--validators") {
      if (!count(i, arg, opts.network.validators))
        return false;
    } else if (arg == "--faulty-workers") {
      if (!count(i, arg, opts.network.faulty_workers))
        return false;
    } else if (arg == "--lying-validators") {
      if (!count(i, arg, opts.network.lying_validators))
        return false;
    } else if (arg == "--ledgers") {
      if (!count(i, arg, opts.network.ledgers))
        return false;
    } else if (arg == "--ledger-fault") {
      static const std::set<std::string> faults{"silent", "equivocate", "invalid-votes",
                                                "pay-self", "drop-records"};
      if (i + 1 >= argc || !faults.contains(argv[i + 1])) {
        std::cerr << "nexus-shell: --ledger-fault expects silent, equivocate, "
                     "invalid-votes, pay-self or drop-records\n";
        return false;
      }
      opts.network.ledger_fault = argv[++i];
    } else if (arg == "--fault") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: --fault needs a list such as corrupt:0.3,garbage\n";
        return false;
      }
      opts.network.fault_mix.clear();
      std::string list = argv[++i];
      for (std::size_t at = 0; at <= list.size();) {
        auto comma = std::min(list.find(',', at), list.size());
        auto fault = nexus::parse_worker_fault(list.substr(at, comma - at));
        if (!fault) {
          std::cerr << "nexus-shell: --fault: " << nexus::describe(fault.error()) << "\n";
          return false;
        }
        opts.network.fault_mix.push_back(*fault);
        at = comma + 1;
      }
    } else if (arg == "--lie-rate") {
      auto rate = i + 1 < argc ? nexus::parse_lie("lie:" + std::string{argv[i + 1]})
                               : nexus::expected<double>{nexus::error{nexus::errc::failed}};
      if (i + 1 >= argc || !rate) {
        std::cerr << "nexus-shell: --lie-rate needs a number in (0, 1]\n";
        return false;
      }
      ++i;
      opts.network.lie_rate = *rate;
    } else if (arg == "--device") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: --device needs a spec (auto, cpu, opencl, opencl:N)\n";
        return false;
      }
      opts.network.device = argv[++i];
    } else if (arg == "--as") {
      if (i + 1 >= argc || !*argv[i + 1]) {
        std::cerr << "nexus-shell: --as needs an account name\n";
        return false;
      }
      opts.account = argv[++i];
    } else if (arg == "--data") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: --data needs a directory\n";
        return false;
      }
      opts.network.data_dir = argv[++i];
    } else if (arg == "--topology" || arg == "--connect") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: " << arg << " needs a value\n";
        return false;
      }
      (arg == "--topology" ? opts.topology : opts.connect) = argv[++i];
    } else if (arg == "--web") {
      std::size_t port = 0;
      if (!count(i, arg, port, 65535))
        return false;
      opts.web_port = static_cast<uint16_t>(port);
      opts.network.browser_workers = true;
    } else if (arg == "--web-bind") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: --web-bind needs an address\n";
        return false;
      }
      opts.web_bind = argv[++i];
    } else if (arg == "-c" || arg == "--command") {
      if (i + 1 >= argc) {
        std::cerr << "nexus-shell: " << arg << " needs a command line\n";
        return false;
      }
      opts.commands.emplace_back(argv[++i]);
    } else {
      std::cerr << "nexus-shell: unknown option '" << arg << "' (try --help)\n";
      return false;
    }
  }
  if (opts.web_port && !(opts.topology.empty() && opts.connect.empty())) {
    std::cerr << "nexus-shell: --web serves the embedded network; a network of processes "
                 "serves its pages from a hub whose topology entry names a web port\n";
    return false;
  }
  if (opts.network.data_dir.empty())
    opts.network.data_dir = default_data_dir();
  if (auto err = nexus::check(opts.network)) {
    std::cerr << "nexus-shell: " << nexus::describe(err) << "\n";
    return false;
  }
  return true;
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  return home ? std::string{home} + "/.nexus_shell_history" : std::string{};
}

// Runs one line; prints any error. Returns false if it failed.
bool run_line(nexus::shell::session& s, const std::string& line) {
  if (auto err = s.execute(line)) {
    std::cout << std::flush;
    std::cerr << "error: " << nexus::describe(err) << std::endl;
    return false;
  }
  return true;
}

// The hubs the options name: the topology's, or --connect's one (with the topology's TLS
// material when both are given).
nexus::expected<std::vector<nexus::hub_address>> find_remote(const options& opts) {
  std::vector<nexus::hub_address> hubs{nexus::hub_address{}};
  if (!opts.topology.empty()) {
    auto all = nexus::hubs_of(opts.topology);
    if (!all)
      return all.error();
    hubs = std::move(*all);
  }
  if (opts.connect.empty())
    return hubs;
  auto base = hubs.front();
  base.name.clear();
  auto hub = nexus::hub_at(opts.connect, std::move(base));
  if (!hub)
    return nexus::make_error(nexus::errc::invalid_input,
                             "--connect: " + nexus::describe(hub.error()));
  return std::vector{std::move(*hub)};
}

// Runs the session until quit, end of input or the last -c command.
bool run_session(nexus::client& api, const options& opts, const std::string& banner);

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse(argc, argv, opts))
    return 2;
  caf::actor_system_config cfg;
  if (opts.topology.empty() && opts.connect.empty()) {
    nexus::configure_local(cfg);
    caf::actor_system sys{cfg};
    auto started = nexus::start_embedded(sys, opts.network);
    if (!started) {
      std::cerr << "nexus-shell: " << nexus::describe(started.error()) << "\n";
      return 1;
    }
    auto& net = *started;
    std::unique_ptr<nexus::web::endpoint> web;
    if (opts.web_port) {
      auto served =
          nexus::web::endpoint::start(sys, net.orchestrator, net.store,
                                      {.port = *opts.web_port, .bind = opts.web_bind});
      if (!served) {
        std::cerr << "nexus-shell: --web: " << nexus::describe(served.error()) << "\n";
        net.stop();
        return 1;
      }
      web = std::move(*served);
      std::cout << "web: the dashboard is at " << web->url() << "; " << web->url()
                << "?contribute lends a browser to the network" << std::endl;
    }
    nexus::client api{sys, net.orchestrator, net.store};
    if (net.hub_key) // the ledger counts this hub's records of its tasks, and no other's
      api.set_hub_keys({*net.hub_key});
    auto ok =
        run_session(api, opts,
                    "embedded network of " + std::to_string(opts.network.workers)
                        + " workers (" + std::to_string(opts.network.faulty_workers)
                        + " faulty), " + std::to_string(opts.network.validators)
                        + " validators (" + std::to_string(opts.network.lying_validators)
                        + " lying), " + std::to_string(opts.network.ledgers)
                        + " ledger node" + (opts.network.ledgers == 1 ? "" : "s"));
    web.reset(); // browser workers leave before the network stops
    net.stop();
    return ok ? 0 : 1;
  }
  auto where = find_remote(opts);
  if (!where) {
    std::cerr << "nexus-shell: " << nexus::describe(where.error()) << "\n";
    return 2;
  }
  nexus::configure(cfg, where->front().settings);
  caf::actor_system sys{cfg};
  auto say = [](const std::string& line) { std::cerr << "nexus-shell: " + line + "\n"; };
  auto api = nexus::attach_any(sys, *where, say);
  if (!api) {
    std::cerr << "nexus-shell: cannot attach to " << where->front().description() << ": "
              << nexus::describe(api.error()) << "\n";
    return 1;
  }
  auto banner = where->front().network.empty() ? std::string{}
                                               : "network " + where->front().network + ", ";
  banner += (*api)->hub().empty()
                ? where->front().description()
                : "hub " + (*api)->hub() + " (of " + std::to_string(where->size()) + ")";
  return run_session(**api, opts, banner) ? 0 : 1;
}

namespace {

bool run_session(nexus::client& api, const options& opts, const std::string& banner) {
  // Submissions are signed with the account's own key, kept beside the data.
  if (nexus::chain::reserved_name(opts.account)) {
    std::cerr << "nexus-shell: --as: '" << opts.account << "' is a name the network "
              << "reserves\n";
    return false;
  }
  auto key = nexus::chain::node_key::load_or_create(opts.network.data_dir / "users"
                                                    / opts.account);
  if (!key) {
    std::cerr << "nexus-shell: the key of " << opts.account << ": "
              << nexus::describe(key.error()) << "\n";
    return false;
  }
  api.sign_as(opts.account, std::move(*key));
  bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && opts.commands.empty();
  nexus::shell::session session{api, std::cout, isatty(STDOUT_FILENO) != 0};
  bool all_ok = true;
  if (!opts.commands.empty()) {
    for (const auto& line : opts.commands)
      if (!session.finished())
        all_ok &= run_line(session, line);
  } else if (terminal) {
    std::cout << "NexusChain shell: " << banner << "; submitting as " << opts.account
              << ". Type help.\n";
    auto history = history_file();
    using_history();
    if (!history.empty())
      read_history(history.c_str());
    while (!session.finished()) {
      char* raw = readline("nexus> ");
      if (!raw) { // Ctrl-D
        std::cout << "\n";
        break;
      }
      std::string line{raw};
      std::free(raw);
      if (line.find_first_not_of(" \t") == std::string::npos)
        continue;
      add_history(line.c_str());
      run_line(session, line);
    }
    if (!history.empty())
      write_history(history.c_str());
  } else {
    std::string line;
    while (!session.finished() && std::getline(std::cin, line))
      all_ok &= run_line(session, line);
  }
  return all_ok;
}

} // namespace
