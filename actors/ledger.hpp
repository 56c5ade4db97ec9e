// The ledger actor: one ledger node (actors/core/ledger_node.hpp) on its own thread.
//
// It carries what the node takes and gives: records from the orchestrator (answered with
// a receipt once every record of the batch is in a committed block, or refused by the
// contract, with why), records and Tendermint messages from the other ledger nodes, its
// consensus timers, decided blocks for a peer that fell behind, and the shell's typed
// questions (actors/core/ledger_queries.hpp), which wait (at most 3 s) for the records
// it took to be committed. Peers are introduced with peer_atom; every
// `resend` it sends its current height's messages again and asks its peers for blocks it
// lacks, so lost messages, a cut link or a restart only delay it. It blocks on synced
// writes, so spawn it detached (spawn_ledger does).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/core/ledger_node.hpp"
#include "actors/interfaces.hpp"
#include "chain/ledger.hpp"

namespace nexus {

struct ledger_config {
  std::filesystem::path dir; // the store, e.g. DATA/ledger
  chain::contract_rules rules;
  std::size_t batch = 2000; // records per block at most
  chain::consensus::timeouts timeouts{};
  std::chrono::milliseconds resend{500};
  std::string name = "ledger"; // in its log lines
  std::string fault;           // ledger_node's faults, for tests; empty: honest
  uint64_t keep_free = chain::store::default_keep_free; // bytes the disk keeps free
};

struct ledger_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  ledger_state() = default;

  ledger_config config;
  std::shared_ptr<chain::ledger> ledger;
  std::unique_ptr<ledger_node> node;
  std::vector<ledger_actor> peers;
  std::map<uint64_t, caf::typed_response_promise<wire::ledger_receipt>> waiting;
  uint64_t next_ticket = 1;
  uint64_t ticked_height = 0; // the height at the last resend tick
  // Questions asked while records waited for a block, answered once they are committed.
  struct question {
    caf::typed_response_promise<wire::ledger_answer> promise;
    ledger_query query;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<question> questions;
  bool asked = false; // for blocks, since the last tick
  static inline const char* name = "nexus.ledger";
};

/// Spawns the actor on its own thread over an opened ledger (chain::ledger::open replays
/// the store into the contract).
ledger_actor spawn_ledger(caf::actor_system& sys, ledger_config config,
                          std::shared_ptr<chain::ledger> ledger);

/// Introduces every two of `nodes` to each other.
void introduce_ledgers(const std::vector<ledger_actor>& nodes);

} // namespace nexus
