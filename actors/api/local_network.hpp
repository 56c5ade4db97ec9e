// A whole network inside this process: a hub, workers, validators and (with a data
// directory) a ledger, wired exactly as a deployment wires them. For trying NexusChain,
// tests, and programs that want verified results without running nodes. Part of
// NexusChain's public API (actors/api/nexus.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "actors/api/client.hpp"
#include "compute/errc.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace nexus::api {

struct local_options {
  std::size_t workers = 4;        // in all, faulty ones included
  std::size_t validators = 2;     // in all, lying ones included
  std::size_t faulty_workers = 0; // of `workers`, these misbehave as `fault` says
  std::string fault = "corrupt";  // corrupt[:RATE], late, crash, garbage, device-lost, ...
  std::size_t lying_validators = 0; // of `validators`, these turn verdicts around
  double lie_rate = 1.0;            // the share of verdicts they turn around
  std::string device = "auto";      // the workers' devices: auto, cpu, opencl[:N], lists
  std::string data_dir;             // the ledger's store and the network's key; empty: none
  std::size_t ledgers = 1;          // ledger nodes agreeing on every block (with data_dir)
};

class local_network {
public:
  /// Starts every role in `sys` (configured with configure_local). errc::invalid_input
  /// for options that do not make a network.
  static expected<std::unique_ptr<local_network>> start(caf::actor_system& sys,
                                                        const local_options& opts);

  ~local_network(); // stops the network
  local_network(const local_network&) = delete;
  local_network& operator=(const local_network&) = delete;

  /// A client of this network, for one thread.
  std::unique_ptr<client> connect(std::chrono::milliseconds timeout = std::chrono::seconds{
                                      30});

  /// Stops every role (the actor_system then shuts down cleanly).
  void stop();

private:
  struct impl;
  explicit local_network(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

} // namespace nexus::api
