// The validator actor: checks every shard result before it counts.
//
// For matmul it runs Freivalds' check with a secret random probe drawn per task (kept
// for the last few tasks, so B*X is computed once per task, not once per shard). A matmul
// result held by the aggregator is judged by its fingerprint C_R X, which the validator
// asks the aggregator for. The verdict goes to the orchestrator and, as the reply, to the
// aggregator, which merges the result if it is valid. A validator with a key also sends the
// orchestrator its verdicts as ledger records, signed together (one signature over a Merkle
// root) when they come faster than it signs: whenever its mailbox is empty, or every
// `records_per_signature` verdicts. A validator blocks while it checks, so spawn it
// detached.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/core/probe_cache.hpp"
#include "actors/core/results.hpp"
#include "actors/interfaces.hpp"
#include "chain/block.hpp"
#include "chain/identity.hpp"
#include "compute/workloads/matmul.hpp"

namespace nexus {

struct validator_config {
  std::string name;
  std::shared_ptr<blob_store> store; // must be non-null
  orchestrator_actor orchestrator;
  std::optional<chain::node_key> key; // signs the ledger records of its verdicts
  // Sees each verdict before it is sent and recorded. The one seam for wrappers that
  // misbehave on purpose (actors/faulty.hpp); empty in production.
  std::function<void(verdict&)> before_signing;
};

/// How long a validator waits for a held result's fingerprint before rejecting it.
constexpr std::chrono::seconds fingerprint_wait{60};

/// The most verdicts a validator signs with one signature.
constexpr std::size_t records_per_signature = 256;

struct validator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  validator_state() = default;

  validator_config config;
  std::mt19937_64 rng{std::random_device{}()};
  probe_cache probes;
  std::vector<chain::transaction> unsigned_records;
  chain::statement_verifier verifier{result_tag}; // remembers workers' signed batches
  static inline const char* name = "nexus.validator";
};

validator_actor::behavior_type
validator(validator_actor::stateful_pointer<validator_state> self, validator_config config);

/// Spawns a validator on its own thread.
validator_actor spawn_validator(caf::actor_system& sys, validator_config config);

node_info describe_validator(const validator_config& config);

} // namespace nexus
