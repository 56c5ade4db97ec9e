// A node: the roles one process runs, its published gateway, and its membership.
//
// This is the public API for running NexusChain roles inside any CAF application:
//
//   caf::actor_system_config cfg;
//   nexus::configure(cfg, settings);          // types, middleman, TLS, heartbeats
//   caf::actor_system sys{cfg};
//   auto node = nexus::node::start(sys, options);
//
// A node publishes exactly one actor, its gateway. It connects to every hub (a node with
// the orchestrator role: a network may have several), spawns its roles with each hub's
// orchestrator handle, joins, and watches each orchestrator: when one goes away, the roles
// joined to it stop and the node joins it again as soon as it is back, while its roles
// at the other hubs go on. A hub's own aggregator joins that hub alone; a ledger node
// joins every hub, so that each records through it. nexus-node is a thin program over it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/interfaces.hpp"
#include "actors/orchestrator.hpp"
#include "actors/transport/bulk.hpp"
#include "actors/web/server.hpp"
#include "config/topology.hpp"

namespace nexus {

/// What every process of one network agrees on.
struct network_settings {
  bool tls = false;
  std::string ca;     // CA certificate (PEM)
  tls_files identity; // this process's certificate and key
  heartbeat_settings heartbeat;
};

/// The settings of topology `t` for the process that runs `node` (null: a shell, which
/// presents the topology's client certificate).
network_settings settings_for(const topology& t, const node_spec* node);

/// Registers the message types, with the scheduler and logging every process of ours
/// uses; enough for a network inside one process. Call before building the actor_system.
void configure_local(caf::actor_system_config& cfg);

/// configure_local, and loads the middleman (and caf::openssl with TLS);
/// sets heartbeats and connection time-outs. Call before building the actor_system.
/// With TLS it also ignores SIGPIPE process-wide, unless the process installed a handler
/// of its own: OpenSSL's writes to a peer that died would otherwise end the process.
void configure(caf::actor_system_config& cfg, const network_settings& settings);

/// Connects to the gateway a node publishes at host:port (over TLS if `tls`).
expected<gateway_actor> connect_gateway(caf::actor_system& sys, const std::string& host,
                                        uint16_t port, bool tls);

/// Asks a gateway for the orchestrator it knows.
expected<orchestrator_actor> lookup_orchestrator(caf::actor_system& sys,
                                                 const gateway_actor& gateway);

/// The bulk channel of the node whose gateway is at `host` (empty if it has none),
/// reached with `settings`' TLS material.
bulk_endpoint bulk_endpoint_of(caf::actor_system& sys, const gateway_actor& gateway,
                               const std::string& host, const network_settings& settings);

/// A blob store source that fetches from `gateway`.
blob_store::source_fn fetch_from(caf::actor_system& sys, gateway_actor gateway);

/// Where a hub (a node with the orchestrator role) listens.
struct hub_endpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

struct node_options {
  node_spec spec;                     // name, roles, port, device, fault
  std::vector<hub_endpoint> hubs;     // where to join: every hub (this node's own is joined
                                      // in process)
  scheduler_limits limits;            // the orchestrator's, on its node
  chain::contract_rules rules;        // the ledger's, on its node
  std::vector<member> members;        // the orchestrator admits only these (empty: anyone)
  std::optional<chain::node_key> key; // proves this node's name when it joins
  bool tls = false;
  std::string ca; // the network's CA certificate, with `tls`
};

/// The options of node `spec` of topology `t`, which proves itself with `key`: where it
/// joins (every hub of the topology), the scheduler's limits and the ledger's rules,
/// TLS, and, on the orchestrator's node, the members it admits.
expected<node_options> node_options_for(const topology& t, node_spec spec,
                                        chain::node_key key);

class node {
public:
  /// Spawns the roles, publishes the gateway at spec.host:spec.port (0: any port) and
  /// starts joining. Fails if the port cannot be published.
  static expected<std::unique_ptr<node>> start(caf::actor_system& sys, node_options opts);

  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// The port the gateway listens on.
  uint16_t port() const noexcept {
    return port_;
  }

  /// The web endpoint's address (http(s)://HOST:PORT/), or empty without one.
  std::string web_url() const {
    return web_ ? web_->url() : std::string{};
  }

  const std::shared_ptr<blob_store>& store() const noexcept {
    return store_;
  }

  /// The orchestrator, on its own node; null elsewhere.
  const orchestrator_actor& orchestrator() const noexcept {
    return orchestrator_;
  }

  /// Stops every actor of the node.
  void stop();

private:
  node() = default;

  std::shared_ptr<blob_store> store_;
  std::shared_ptr<bulk_service> bulk_; // on the orchestrator's and aggregators' nodes
  std::unique_ptr<web::endpoint> web_; // on a hub whose topology entry names a web port
  orchestrator_actor orchestrator_;
  gateway_actor gateway_;
  caf::actor agent_;
  uint16_t port_ = 0;
};

} // namespace nexus
