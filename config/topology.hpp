// A network's topology: which node runs which roles where, and the TLS material they use.
//
// Loaded from YAML (docs/topology.md describes the format). The loader checks every field
// and reports the first problem as `FILE:LINE:COLUMN: what`, e.g.
// `config/local.yaml:14:9: node "w2": unknown role "wroker"`. Relative paths in the file
// are taken from the file's own directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/core/blob_store.hpp"
#include "actors/core/faults.hpp"
#include "actors/core/membership.hpp"
#include "actors/core/task_table.hpp"
#include "chain/contract.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

struct tls_files {
  std::string cert; // PEM certificate signed by the network's CA
  std::string key;  // its PEM private key
};

struct node_spec {
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::vector<node_role> roles;
  uint32_t threads = 0;        // 0: every core
  std::string device = "auto"; // auto (a GPU if there is one), cpu, opencl[:N]
  std::string data_dir;
  tls_files tls;                           // empty without TLS
  worker_fault fault = worker_fault::none; // for tests and demonstrations
  std::string key;          // its Ed25519 public key: 64 hex digits, or a file of them
  double fault_rate = 1.0;  // share of shards the worker's fault strikes
  double lie_rate = 0;      // a validator's share of verdicts it turns around
  std::string ledger_fault; // a ledger node's: silent, equivocate, invalid-votes, ...
  std::vector<std::string> hub_faults; // a hub's, in turn: inflate-units, pay-self, ...
  // Bytes of fetched and uploaded blobs its store keeps beyond those in use (blob_store).
  uint64_t blob_cache = blob_store::default_budget;
  std::chrono::milliseconds upload_grace = blob_store::default_grace; // see blob_store
  // A hub's web endpoint (actors/web/server.hpp): the dashboard and browser workers on
  // this port of `host`, over HTTPS with the node's certificate when the network has TLS;
  // 0: none.
  uint16_t web_port = 0;

  bool has(node_role r) const;

  /// True if `key` names a file rather than holding the key itself.
  bool key_is_file() const;
};

struct heartbeat_settings {
  std::chrono::milliseconds interval{500};
  std::chrono::milliseconds timeout{2000}; // a silent peer is dropped after this
};

struct topology {
  std::string file; // where it was loaded from
  std::string network;
  bool tls = false;
  std::string ca;     // CA certificate every node trusts
  std::string ca_key; // the CA's key; only `nexus-node certs` uses it
  tls_files client;   // what a shell presents
  scheduler_limits limits;
  heartbeat_settings heartbeat;
  chain::contract_rules rules; // the ledger's reward contract
  std::vector<node_spec> nodes;

  /// The node called `name`, or null.
  const node_spec* find(const std::string& name) const;

  /// The nodes that run an orchestrator, the hubs, in the file's order (a valid topology
  /// has at least one; with several, each is also its tasks' aggregator).
  std::vector<const node_spec*> hubs() const;

  /// The first hub.
  const node_spec& orchestrator() const;
};

/// The public key a node entry lists (read from its file if it names one).
expected<chain::public_key> listed_key(const node_spec& spec);

/// Every node the topology admits with its key and roles, for the orchestrator; empty
/// when the topology lists no keys (then any node with a certificate may join).
expected<std::vector<member>> members_of(const topology& t);

/// Reads and checks a topology file.
expected<topology> load_topology(const std::string& path);

/// Checks a topology given as text; `path` names it in errors and anchors relative paths.
expected<topology> parse_topology(const std::string& text, const std::string& path);

/// Parses a role name ("worker", ...).
std::optional<node_role> parse_role(const std::string& name);

} // namespace nexus
