// The plain C++ values behind the messages between roles (messages/task.capnp), beside
// the public ones of values.hpp.
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
#include "messages/values.hpp"

namespace nexus {

/// A blob's contents on their way between two nodes' stores.
struct blob_payload {
  blob_ref ref;
  compute::tensor tensor;
};

/// The units a task's shards divide among them, which a shard's [row_begin, row_end)
/// counts: rows of A (matmul), samples (infer), micro-batches of the batch, or lanes of
/// a round (train_step); none for a training run, which has no shards of its own.
std::size_t shardable_rows(workload_kind kind, const matmul_operands& matmul,
                           const model_operands& model);

/// The blobs a request names (operands, model, data sets), those set only.
inline std::vector<blob_ref> blobs_of(const task_request& req) {
  std::vector<blob_ref> out;
  for (const auto* ref :
       {&req.matmul.a, &req.matmul.b, &req.model.weights, &req.model.x, &req.model.y,
        &req.model.state, &req.train.test_x, &req.train.test_y})
    if (!ref->shape.empty())
      out.push_back(*ref);
  return out;
}

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
  bool held = false; // output left out: the aggregator holds it (see fingerprint_query)
  chain::statement_signature signature; // the worker's, of its result statement
};

enum class check_mode : uint8_t { check, audit, trust, replicate };

std::string to_string(check_mode x);

/// The orchestrator's word to the aggregator on one attempt.
struct expectation {
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

struct fingerprint {
  compute::tensor product;
  chain::digest result{}; // zero unless asked for
};

struct verdict {
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
struct judgment {
  nexus::verdict verdict; // validator empty when unchecked
  bool checked = true;
  std::vector<std::string> overturned; // validators an audit found wrong
  std::vector<std::string> validators; // whose verdicts stand
  bool disputed = false; // validators disagreed and none could decide: nobody is blamed
};

/// What the ledger stored of one batch of records.
struct ledger_receipt {
  uint64_t height = 0; // the block holding the recorded ones
  chain::digest block_hash{};
  uint32_t recorded = 0;
  std::vector<std::string> refused; // why, one line per refused record
  std::vector<uint32_t> refused_at; // where each was in the batch
};

struct task_output {
  uint64_t task_id = 0;
  compute::tensor output;
};

} // namespace nexus
