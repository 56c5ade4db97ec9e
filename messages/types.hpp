// The plain C++ values behind the messages of messages/task.capnp.
//
// Actors work with these; codec.hpp turns them into envelopes and back, checking every
// field on the way in. Nothing here knows Cap'n Proto or CAF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <optional>

#include "chain/hash.hpp"
#include "chain/identity.hpp"
#include "chain/statements.hpp"
#include "compute/tensor.hpp"

namespace nexus {

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
  chain::digest id{};
  compute::shape_t shape;
};

/// A blob's contents on their way between two nodes' stores.
struct blob_payload {
  blob_ref ref;
  compute::tensor tensor;
};

struct matmul_operands {
  blob_ref a; // m x k
  blob_ref b; // k x n
};

/// An MLP's operands (see compute/workloads/model.hpp).
struct model_operands {
  std::string spec;       // mlp:784-256-128-10
  blob_ref weights;       // 1 x parameters (infer, train_step)
  blob_ref x;             // N x features
  blob_ref y;             // N x 1 labels (train_step, train)
  uint64_t seed = 0;      // train_step: the epoch's order
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
  model_operands model; // infer, train
  train_options train;  // train
  bool internal = false; // issued by the orchestrator itself (a training run's steps)
  uint32_t replicas = 0;  // --verify replicate:K: K workers compute each shard, a majority
                          // must agree; 0: validators judge
};

/// The units a task's shards divide among them, which a shard's [row_begin, row_end)
/// counts: rows of A (matmul), samples (infer), micro-batches of the batch, or lanes of
/// a round (train_step); none for a training run, which has no shards of its own.
std::size_t shardable_rows(workload_kind kind, const matmul_operands& matmul,
                           const model_operands& model);

/// The blobs a request names (operands, model, data sets), those set only.
inline std::vector<blob_ref> blobs_of(const task_request& req) {
  std::vector<blob_ref> out;
  for (const auto* ref : {&req.matmul.a, &req.matmul.b, &req.model.weights, &req.model.x,
                          &req.model.y, &req.model.state, &req.train.test_x, &req.train.test_y})
    if (!ref->shape.empty())
      out.push_back(*ref);
  return out;
}

struct task_ack {
  uint64_t task_id = 0;
  uint32_t shard_count = 0;
};

struct shard_task {
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 1;
  uint32_t shard_count = 0;
  uint64_t row_begin = 0;
  uint64_t row_end = 0;
  double tolerance = 0;
  uint32_t verify_rounds = 0;
  workload_kind workload = workload_kind::matmul;
  matmul_operands matmul;
  model_operands model; // infer, train_step
};

struct shard_output {
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 0;
  std::string worker;
  compute::tensor output;
  uint64_t compute_ns = 0;
  std::string error; // set when the worker could not compute the shard
  bool held = false;  // output left out: the aggregator holds it (see fingerprint_query)
  chain::statement_signature signature; // the worker's, of its result statement
};

enum class check_mode : uint8_t { check, audit, trust, replicate };

std::string to_string(check_mode x);

/// The orchestrator's word to the aggregator on one attempt.
struct expectation_info {
  std::string worker;
  std::optional<chain::public_key> worker_key; // none: the worker joined without a key
  check_mode mode = check_mode::check;
  uint32_t replicas = 0; // replicate: the round's size
  uint32_t round = 0;    // replicate: the round's first attempt
};

/// A validator's question to the aggregator that holds a result: its fingerprint for
/// the probe matrix X (compute/workloads/matmul.hpp).
struct fingerprint_query {
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 0;
  compute::tensor probe;
  bool digest = false; // also the digest of the result's raw values
};

struct fingerprint_info {
  compute::tensor product;
  chain::digest result{}; // zero unless asked for
};

struct verdict_info {
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 0;
  std::string worker;
  std::string validator;
  bool valid = false;
  std::string reason;
  uint64_t check_ns = 0;
  chain::digest result{}; // of the result's raw values
};

/// The aggregator's decision on one attempt.
struct judgment_info {
  verdict_info verdict; // validator empty when unchecked
  bool checked = true;
  std::vector<std::string> overturned; // validators an audit found wrong
  std::vector<std::string> validators; // whose verdicts stand
  bool disputed = false; // validators disagreed and none could decide: nobody is blamed
};

/// What the ledger stored of one batch of records.
struct ledger_receipt_info {
  uint64_t height = 0; // the block holding the recorded ones
  chain::digest block_hash{};
  uint32_t recorded = 0;
  std::vector<std::string> refused; // why, one line per refused record
};

/// What a ledger query asks (messages/task.capnp, LedgerQuestion).
enum class ledger_question : uint8_t { balance, history, block, tail, verify, last_task, trust };

std::string to_string(ledger_question x);

struct ledger_query {
  ledger_question question = ledger_question::balance;
  std::string account; // balance (empty: every account), history
  uint64_t height = 0; // block
  uint32_t count = 0;  // tail (0: 10)
};

struct account_balance {
  std::string account;
  int64_t micro_mcc = 0;
};

/// A block's header as the ledger states it.
struct block_summary {
  uint64_t height = 0;
  chain::digest hash{};
  chain::digest prev{};
  chain::digest merkle_root{};
  chain::public_key proposer{};
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
  uint64_t last_task = 0;    // last_task
  uint64_t last_internal_task = 0;
  std::vector<std::pair<std::string, uint32_t>> streaks; // trust: node, streak
};

struct task_output {
  uint64_t task_id = 0;
  compute::tensor output;
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
  std::vector<epoch_stats> epochs; // a training run's finished epochs
  std::vector<float> loss_curve;   // a training run's loss, a point per stretch of steps
  uint32_t results_unchecked = 0;  // accepted unchecked, on their workers' records
  uint32_t verdicts_overturned = 0; // validators' verdicts an audit overturned

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
