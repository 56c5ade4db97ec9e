// An embedded network: every role in one actor_system, wired exactly as a distributed
// deployment wires them (nodes join the orchestrator; all traffic is envelopes).
// nexus-shell runs one by default; tests and benchmarks use it too.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/aggregator.hpp"
#include "actors/core/blob_store.hpp"
#include "actors/faulty.hpp"
#include "actors/interfaces.hpp"
#include "actors/ledger.hpp"
#include "actors/orchestrator.hpp"
#include "actors/validator.hpp"
#include "actors/worker.hpp"

namespace nexus {

struct embedded_options {
  std::size_t workers = 4; // in all, faulty ones included
  std::size_t validators = 2;
  std::size_t faulty_workers = 0; // of `workers`, these misbehave as `fault` says
  scheduler_limits limits;
  std::filesystem::path data_dir; // the ledger's store and the network's key; empty: none
  worker_fault fault = worker_fault::corrupt;
  // The workers' devices, one spec each in turn ("opencl:0,cpu" alternates): auto, cpu,
  // opencl, opencl:N.
  std::string device = "auto";
  double fault_rate = 1.0; // share of shards a faulty worker's fault strikes
  // Faults and rates of the faulty workers in turn; empty: `fault` at `fault_rate`.
  std::vector<std::pair<worker_fault, double>> fault_mix;
  std::size_t lying_validators = 0; // of `validators`, these turn verdicts around
  double lie_rate = 1.0;            // the share of verdicts they turn around
  // Ledger nodes agreeing on each block by Tendermint (with a data directory): the hub's
  // (DATA/ledger) and ledger-2 ... ledger-N (DATA/ledgers/ledger-K), each with its key.
  std::size_t ledgers = 1;
  std::string ledger_fault; // the last ledger node's fault (actors/core/ledger_node.hpp)
  bool browser_workers = false; // the orchestrator admits browser nodes (actors/web/)
};

struct embedded_network {
  std::shared_ptr<blob_store> store;
  orchestrator_actor orchestrator;
  aggregator_actor aggregator;
  std::vector<worker_actor> workers;
  std::vector<validator_actor> validators;
  ledger_actor ledger;               // the hub's ledger node; null without a data directory
  std::vector<ledger_actor> ledgers; // every ledger node, the hub's first
  std::optional<chain::public_key> hub_key; // what the hub signs records with, if it does

  /// Stops every actor of the network (the actor_system then shuts down cleanly).
  void stop();
};

/// Checks the options (at least one worker and one validator; faulty <= workers).
error check(const embedded_options& opts);

/// Spawns and joins every role. Workers are named worker-K, faulty ones
/// faulty-worker-K, validators validator-K. With a data directory it also runs a ledger
/// there (DATA/ledger, signed with DATA/node.key), and `ledgers` - 1 more ledger nodes;
/// errors if a store cannot be opened, or was made for another number of ledger nodes.
expected<embedded_network> start_embedded(caf::actor_system& sys,
                                          const embedded_options& opts);

} // namespace nexus
