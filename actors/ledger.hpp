// The ledger actor: the single writer of a node's chain store.
//
// It takes signed records (the orchestrator's, submitters' and validators', passed on by
// the orchestrator) as ledger transactions, checks every signature, and seals a block
// every `batch` transactions or `interval`, whichever comes first; the contract admits
// them and adds the payments they earn (chain/ledger.hpp). Each batch of records is
// answered with a receipt once the block holding it is stored: its height and hash, and
// the records refused (a bad signature, or the contract's rules), with why. It answers
// typed questions (actors/core/ledger_queries.hpp). It blocks on synced writes, so spawn it
// detached (spawn_ledger does).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/interfaces.hpp"
#include "chain/ledger.hpp"

namespace nexus {

struct ledger_config {
  std::filesystem::path dir; // the store, e.g. DATA/ledger
  chain::contract_rules rules;
  std::size_t batch = 1000; // transactions per block at most
  std::chrono::milliseconds interval{200};
  uint64_t keep_free = chain::store::default_keep_free; // bytes the disk keeps free
};

struct ledger_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  ledger_state() = default;

  ledger_config config;
  std::shared_ptr<chain::ledger> ledger;
  std::vector<chain::transaction> pending;
  // For each pending record: its entry in `waiting`, and its place in that batch.
  std::vector<std::pair<std::size_t, uint32_t>> pending_from;
  // Who waits for the block holding their records, with what they were told so far.
  std::vector<std::pair<caf::typed_response_promise<wire::ledger_receipt>, ledger_receipt>>
      waiting;
  bool flush_scheduled = false;
  // Storing failed (a full or read-only disk): records wait in `pending` and the block is
  // tried again every store_retry; this says why, once.
  std::string store_problem;
  static inline const char* name = "nexus.ledger";
};

/// Spawns the actor on its own thread over an opened ledger (chain::ledger::open replays
/// the store into the contract).
ledger_actor spawn_ledger(caf::actor_system& sys, ledger_config config,
                          std::shared_ptr<chain::ledger> ledger);

} // namespace nexus
