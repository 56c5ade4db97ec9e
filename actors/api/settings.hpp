// What every process of a network agrees on, and how a CAF program gets ready to join
// one. Part of NexusChain's public API (actors/api/nexus.hpp).
#pragma once

#include <chrono>
#include <string>

#include "compute/errc.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace nexus::api {

/// TLS material (PEM file paths) and heartbeats.
struct network_settings {
  bool tls = false;
  std::string ca;   // the network's CA certificate
  std::string cert; // this process's certificate, signed by the CA
  std::string key;  // its private key
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{2000}; // a silent peer is dropped after this
};

/// The settings node `name` of the topology at `topology_path` runs with; a name the
/// topology does not list (or an empty one) presents the topology's client certificate.
expected<network_settings> settings_of(const std::string& topology_path,
                                       const std::string& name = {});

/// Registers NexusChain's message types and loads CAF's middleman (and caf::openssl with
/// TLS); sets heartbeats and connection time-outs. Call before the actor_system is built.
/// With TLS it also ignores SIGPIPE, unless the program installed a handler of its own.
void configure(caf::actor_system_config& cfg, const network_settings& settings);

/// Registers the message types a local network (every role in this process) needs.
void configure_local(caf::actor_system_config& cfg);

} // namespace nexus::api
