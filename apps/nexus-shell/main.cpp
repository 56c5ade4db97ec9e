// nexus-shell: submit tasks to a NexusChain network and follow them.
//
// By default it starts an embedded network (every role in this process, wired exactly
// as a distributed deployment). On a terminal it offers line editing and history
// (libedit); otherwise it reads commands line by line, prints their results, and exits
// with status 1 if any command failed.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>

#include <caf/all.hpp>
#include <editline/readline.h>

#include "actors/client.hpp"
#include "actors/network.hpp"
#include "apps/nexus-shell/commands.hpp"

namespace {

constexpr const char* usage = R"(usage: nexus-shell [options]

Starts an embedded NexusChain network (orchestrator, workers, validators, aggregator in
this process) and reads commands: interactively on a terminal, line by line otherwise.

options:
  --workers N          workers in the embedded network (default 4)
  --validators N       validators (default 2)
  --faulty-workers N   of the workers, N return corrupted results (default 0)
  -c, --command LINE   run LINE (may be repeated), then exit
  -h, --help           this text

Type `help` at the prompt for the commands. Exit status: 0 if every command succeeded,
1 if any failed, 2 for bad options.
)";

struct options {
  nexus::embedded_options network;
  std::vector<std::string> commands;
};

// Parses our own flags; CAF never sees argv.
bool parse(int argc, char** argv, options& opts) {
  auto count = [&](int& i, const std::string& name, std::size_t& out) {
    if (i + 1 >= argc) {
      std::cerr << "nexus-shell: " << name << " needs a number\n";
      return false;
    }
    char* end = nullptr;
    auto value = std::strtoul(argv[++i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0' || value > 1024) {
      std::cerr << "nexus-shell: " << name << " expects a number up to 1024, got '"
                << argv[i] << "'\n";
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

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse(argc, argv, opts))
    return 2;
  caf::actor_system_config cfg;
  nexus::register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto net = nexus::start_embedded(sys, opts.network);
  nexus::client api{sys, net.orchestrator, net.store};
  bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && opts.commands.empty();
  nexus::shell::session session{api, std::cout, isatty(STDOUT_FILENO) != 0};
  bool all_ok = true;
  if (!opts.commands.empty()) {
    for (const auto& line : opts.commands)
      if (!session.finished())
        all_ok &= run_line(session, line);
  } else if (terminal) {
    std::cout << "NexusChain shell: embedded network of " << opts.network.workers
              << " workers (" << opts.network.faulty_workers << " faulty), "
              << opts.network.validators << " validators. Type help.\n";
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
  net.stop();
  return all_ok ? 0 : 1;
}
