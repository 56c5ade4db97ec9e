// The orchestrator actor: the one owner of every task's state.
//
// It plans tasks into shards, assigns them to workers within a bounded window per
// worker, decides how each result is judged (task_table: a validator, an audit by two or
// three, or none for a worker whose record earned it) and tells the aggregator before the
// worker can answer, re-issues shards
// whose results were rejected, whose worker or validator died, or that missed their
// deadline, and fails a task only past its retry bound, with the reason. The decisions
// live in task_table; this actor turns them into messages. It keeps each finished
// task's output for `result` requests. It drives training runs (actors/trainer.hpp):
// each step, and each epoch's test, is a task of the table like any other.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/core/ledger_recorder.hpp"
#include "actors/core/membership.hpp"
#include "actors/core/output_shelf.hpp"
#include "actors/core/task_table.hpp"
#include "actors/core/trainer.hpp"
#include "actors/interfaces.hpp"
#include "actors/transport/bulk.hpp"
#include "chain/block.hpp"
#include "chain/identity.hpp"

namespace nexus {

/// How often the orchestrator looks for shards past their deadline.
constexpr std::chrono::milliseconds orchestrator_tick{500};

/// How long a submission waits for the topology's ledger to join before it is refused.
constexpr std::chrono::seconds ledger_wait{30};

/// How long the orchestrator gathers records before it signs and sends them, unless a task
/// finishes first (its records then go at once, see outbox_gap): a task's records then
/// mostly go in one block rather than one for each few shards judged (each block costs
/// every ledger node three signed, synced steps and a store write). No one waits on their
/// receipt: a task's output does not.
constexpr std::chrono::milliseconds outbox_delay{100};

/// Records gathered that go at once: a block's worth (actors/core/ledger_node.hpp).
constexpr std::size_t outbox_full = 2000;

/// A finished task's records go at once, or this long after the last batch if that was
/// sooner: many small tasks then share batches, some fifty a second, as when records were
/// gathered for 20 ms.
constexpr std::chrono::milliseconds outbox_gap{20};

struct orchestrator_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  orchestrator_state() = default;

  task_table table;
  aggregator_actor aggregator; // the one that joined last
  std::map<node_id, worker_actor> workers;
  std::map<node_id, validator_actor> validators;
  std::map<caf::actor_addr, node_id> node_of;
  // Finished tasks' outputs; shared with the bulk service while a client fetches one.
  output_shelf outputs;
  std::string output_problem;                          // the last one said
  std::map<uint64_t, wire::task_output> early_outputs; // before the table saw every verdict
  std::map<uint64_t, std::unique_ptr<training_run>> runs;
  std::shared_ptr<blob_store> store;
  // The blobs each open task or training run names, pinned in `store` until it ends.
  std::map<uint64_t, std::vector<chain::digest>> pinned;
  std::shared_ptr<bulk_service> bulk; // null: outputs go through CAF only
  membership members;                 // who may join, and the keys they proved
  ledger_actor ledger;                // where records go; null: no ledger joined
  std::vector<ledger_actor>
      ledgers;                  // every ledger node that joined, introduced to the others
  ledger_recorder recorder;     // what goes to the ledger, in which order
  bool flush_scheduled = false; // a flush of the recorder is on its way
  clock_type::time_point last_flush{}; // when records last went to the ledger
  std::string ledger_problem;          // the last failure to record, said once
  bool ledger_ready = false;           // it joined and task ids go on from its last one
  // Submissions that wait for the expected ledger, so that no task id is used twice.
  struct held_submission {
    caf::typed_response_promise<wire::task_ack> promise;
    wire::task_request msg;
    clock_type::time_point since;
  };
  std::vector<held_submission> held;
  // The key each name is bound to on the chain, as the ledger said when it joined or for an
  // account asked about, or as a join or an accepted submission set it: a submission
  // signed by another key, or a worker or validator joining with one, is refused at once.
  std::map<std::string, chain::public_key> bindings;
  std::set<std::pair<std::string, uint64_t>> nonces; // (account, nonce) accepted so far
  // Tasks accepted, by id, as their submitters signed them: the same submission offered
  // again (a client that lost the answer, or moved back) is the same task.
  struct accepted_task {
    std::string submitter;
    uint64_t nonce = 0;
    chain::digest request; // wire::request_digest
    task_ack ack;
  };
  std::map<uint64_t, accepted_task> accepted;
  std::optional<chain::public_key> key; // what it signs records with (none: no ledger)
  static inline const char* name = "nexus.orchestrator";
};

/// What an orchestrator starts with.
struct orchestrator_config {
  scheduler_limits limits;
  std::vector<member> members;        // empty: anyone with a certificate may join
  std::optional<chain::node_key> key; // signs what it records on the ledger
  std::shared_ptr<blob_store> store;  // its node's: training runs keep their weights there
  std::shared_ptr<bulk_service> bulk; // offers outputs to remote clients (null: none)
  // Where finished outputs beyond limits.outputs_in_memory go (emptied at start); empty:
  // they are dropped, oldest first.
  std::filesystem::path outputs_dir;
  // For tests: records it states that the ledger nodes refuse
  // (ledger_recorder::set_faults), naming `name` as its own node.
  std::vector<std::string> faults;
  std::string name;
  bool browser_workers = false; // admits browser nodes as workers (membership.hpp)
};

orchestrator_actor::behavior_type
orchestrator(orchestrator_actor::stateful_pointer<orchestrator_state> self,
             orchestrator_config config);

} // namespace nexus
