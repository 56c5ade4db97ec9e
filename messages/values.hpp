// The values a submitter and an embedding program deal in: requests, reports, nodes and
// the ledger's answers. Part of the public API (actors/api/nexus.hpp): plain C++ with no
// internal state, reaching only compute/tensor.hpp and compute/errc.hpp. The values
// only roles exchange are in types.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compute/tensor.hpp"

namespace nexus {

/// SHA-256 digests and Ed25519 public keys, as chain/ holds them.
using digest = std::array<uint8_t, 32>;
using public_key_bytes = std::array<uint8_t, 32>;

enum class workload_kind : uint8_t { matmul, infer, train_step, train };

enum class task_state : uint8_t { planned, running, validating, done, failed, cancelled };

enum class node_role : uint8_t { orchestrator, worker, validator, aggregator, ledger };

enum class node_state : uint8_t { alive, suspect, dead };

std::string to_string(workload_kind x);
std::string to_string(task_state x);
std::string to_string(node_role x);
std::string to_string(node_state x);

/// A tensor in a blob store, named by the digest of its raw values.
struct blob_ref {
  digest id{};
  compute::shape_t shape;
};

struct matmul_operands {
  blob_ref a; // m x k
  blob_ref b; // k x n
};

/// An MLP's operands (see compute/workloads/model.hpp).
struct model_operands {
  std::string spec;  // mlp:784-256-128-10
  blob_ref weights;  // 1 x parameters (infer, train_step)
  blob_ref x;        // N x features
  blob_ref y;        // N x 1 labels (train_step, train)
  uint64_t seed = 0; // train_step: the epoch's order
  uint32_t epoch = 0;
  uint64_t batch_begin = 0;
  uint32_t batch_rows = 0;
  uint32_t micro_rows = 0;
  double sample_rate = 0; // 0: the workload's default
  // A round of local steps (train_step with local_steps > 0; see
  // compute/workloads/model.hpp): batch_rows is then a batch's samples, micro_rows a
  // lane's, and the lanes start from `weights` and the optimizer state `state`.
  uint32_t local_steps = 0; // 0: one synchronous step
  blob_ref state;           // optimizer state (1 or 2 x parameters)
  std::string optimizer;    // adam, sgd
  double lr = 0;
  std::string schedule;     // constant, cosine
  uint64_t first_step = 0;  // the run's index of the round's first batch
  uint64_t total_steps = 0; // batches in the run
};

/// Batches per round of local steps in a training run, unless it says otherwise.
constexpr uint32_t default_local_steps = 32;

/// A training run's settings.
struct train_options {
  uint32_t epochs = 10;
  uint32_t batch = 128;
  double lr = 1e-3;
  std::string optimizer = "adam";
  std::string schedule = "constant";
  uint64_t seed = 1;
  blob_ref test_x; // unset (empty shape): no test set
  blob_ref test_y;
  uint32_t local_steps = default_local_steps; // batches per round of local steps (lanes
                                              // train apart, then are averaged); 0:
                                              // synchronous steps (gradients summed)
};

struct epoch_stats {
  uint32_t epoch = 0;
  double loss = 0;
  double train_accuracy = 0;
  double test_accuracy = -1; // -1: no test set
  double seconds = 0;
};

struct task_request {
  std::string label;
  std::string submitter;
  uint32_t shards = 0;        // 0: chosen by the planner
  uint32_t verify_rounds = 0; // 0: the workload's default
  double tolerance = 0;       // 0: the workload's default
  uint32_t max_attempts = 0;  // 0: the orchestrator's default
  uint32_t priority = 0;      // share of the workers; 0: in proportion to remaining work
  uint32_t timeout_s = 0;     // fail if not done by then; 0: never
  int64_t budget = 0;         // most micro-MCC the submitter pays; 0: no limit
  workload_kind workload = workload_kind::matmul;
  matmul_operands matmul;
  model_operands model;  // infer, train
  train_options train;   // train
  bool internal = false; // issued by the orchestrator itself (a training run's steps)
  uint32_t replicas = 0; // --verify replicate:K: K workers compute each shard, a majority
                         // must agree; 0: validators judge
  // Signed by the submitter (nexus::api::client and nexus-shell sign what they submit):
  // its Ed25519 public key, a number it never used before, and its signature of the
  // ledger record of the submission, which commits to everything above.
  // The task's id, which the submitter chose and signed (chain::transaction's task id):
  // every hub knows the task by it, so the same task offered to two hubs is one. 0 in an
  // unsigned request: the hub numbers it.
  std::array<uint8_t, 32> submitter_key{};
  uint64_t nonce = 0;
  std::array<uint8_t, 64> submitter_signature{};
  uint64_t task_id = 0;
  // The hubs whose records of its work count (chain::submission_terms::hubs); empty: any.
  std::vector<std::array<uint8_t, 32>> hubs;
};

struct task_ack {
  uint64_t task_id = 0;
  uint32_t shard_count = 0;
};

/// A submitter cancels its task: signed with the key that signed the submission
/// (wire::cancel_statement).
struct cancel_request {
  uint64_t task_id = 0;
  std::array<uint8_t, 64> signature{};
};

/// What a ledger query asks (messages/task.capnp, LedgerQuestion).
enum class ledger_question : uint8_t {
  balance,
  history,
  block,
  tail,
  verify,
  last_task,
  trust,
  members
};

std::string to_string(ledger_question x);

struct ledger_query {
  ledger_question question = ledger_question::balance;
  std::string account; // balance (empty: every account), history
  uint64_t height = 0; // block
  uint32_t count = 0;  // tail (0: 10)
};

/// A name bound on the chain to a key (chain/membership.hpp).
struct member_binding {
  std::string name;
  std::array<uint8_t, 32> key{};
  uint32_t roles = 0; // 1 << node_role for each role, and 32 for a submitter
};

struct account_balance {
  std::string account;
  int64_t micro_mcc = 0;
};

/// A block's header as the ledger states it.
struct block_summary {
  uint64_t height = 0;
  digest hash{};
  digest prev{};
  digest merkle_root{};
  public_key_bytes proposer{};
  uint32_t tx_count = 0;
};

/// One stored transaction: its block, and its canonical bytes (chain::decode_transaction).
struct ledger_entry {
  uint64_t height = 0;
  std::vector<uint8_t> transaction;
};

/// The ledger's answer; a question fills only its own fields.
struct ledger_answer {
  std::vector<account_balance> balances; // balance
  std::vector<ledger_entry> entries;     // history; block: the block's transactions
  std::vector<block_summary> blocks;     // block (one), tail (oldest first)
  bool audit_ok = false;                 // verify
  uint64_t audit_blocks = 0;
  uint64_t audit_transactions = 0;
  std::string audit_problem; // verify, when not ok: where and what
  std::string audit_report;  // verify: the whole report as a person reads it
  uint64_t last_task = 0;    // last_task
  uint64_t last_internal_task = 0;
  std::vector<std::pair<std::string, uint32_t>> streaks; // trust: node, streak
  std::vector<member_binding> members;                   // members
};

struct task_report {
  uint64_t task_id = 0;
  std::string label;
  task_state state = task_state::planned;
  uint32_t shard_count = 0;
  uint32_t shards_validated = 0;
  uint32_t shards_in_flight = 0;
  uint32_t results_rejected = 0;
  uint32_t shards_reissued = 0;
  std::string reason;
  uint64_t elapsed_ns = 0;
  double flops = 0;
  compute::shape_t output_shape;
  uint64_t verify_ns = 0; // validators' checking time, summed
  workload_kind workload = workload_kind::matmul;
  std::vector<epoch_stats> epochs;  // a training run's finished epochs
  std::vector<float> loss_curve;    // a training run's loss, a point per stretch of steps
  uint32_t results_unchecked = 0;   // accepted unchecked, on their workers' records
  uint32_t verdicts_overturned = 0; // validators' verdicts an audit overturned
  uint64_t submission_nonce = 0; // what its submitter signed it with (and signs a cancel)
  // Filled by the client, not sent: the hub it asked, and the one the task moved from.
  std::string hub;
  std::string moved_from;

  bool finished() const noexcept {
    return state == task_state::done || state == task_state::failed
           || state == task_state::cancelled;
  }
};

struct node_info {
  std::string name;
  node_role role = node_role::worker;
  std::string device;
  uint32_t threads = 0;
  double gflops = 0;
  uint32_t slots = 1;
  // Proof of the node's key, empty when it has none: its Ed25519 public key (32 bytes),
  // the orchestrator's challenge, and the signature of wire::join_statement (64 bytes).
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> signature;
};

struct node_report {
  node_info info;
  node_state state = node_state::alive;
  uint32_t in_flight = 0;
  uint32_t shards_done = 0;
  uint32_t shards_rejected = 0;
  uint32_t peak_in_flight = 0; // the most shards it held at once
  uint32_t window = 0;         // what it may hold at once (workers)
};

} // namespace nexus
