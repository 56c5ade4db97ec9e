// The envelope types of messages/task.capnp and their conversion to and from the plain
// values of types.hpp.
//
// decode() checks every field before handing it on: tensor payloads against their shape,
// digests for their length, enums for known values, sizes against limits. A malformed
// message gives errc::corrupted and never a crash.
#pragma once

#include <span>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "compute/errc.hpp"
#include "messages/envelope.hpp"
#include "messages/task.capnp.h"
#include "messages/types.hpp"

namespace nexus::wire {

using task_submission = envelope<schema::TaskSubmission>;
using task_accepted = envelope<schema::TaskAccepted>;
using shard_assignment = envelope<schema::ShardAssignment>;
using shard_result = envelope<schema::ShardResult>;
using verdict = envelope<schema::Verdict>;
using final_output = envelope<schema::FinalOutput>;
using task_status = envelope<schema::TaskStatus>;
using task_list = envelope<schema::TaskList>;
using node_announcement = envelope<schema::NodeInfo>;
using node_list = envelope<schema::NodeList>;
using blob_name = envelope<schema::BlobRef>;
using blob = envelope<schema::Blob>;
using challenge = envelope<schema::Challenge>;
using ledger_records = envelope<schema::LedgerRecords>;
using ledger_request = envelope<schema::LedgerQuery>;
using ledger_reply = envelope<schema::LedgerReply>;
using ledger_receipt = envelope<schema::LedgerReceipt>;
using fingerprint_request = envelope<schema::FingerprintQuery>;
using fingerprint = envelope<schema::Fingerprint>;
using expectation = envelope<schema::Expectation>;
using judgment = envelope<schema::Judgment>;

/// Largest tensor a message may carry, in elements (2 GiB of float32).
constexpr std::size_t max_tensor_elements = std::size_t{1} << 29;

task_submission encode(const task_request& x);
task_accepted encode(const task_ack& x);
shard_assignment encode(const shard_task& x);
shard_result encode(const shard_output& x);
verdict encode(const verdict_info& x);
final_output encode(const task_output& x);
task_status encode(const task_report& x);
task_list encode(const std::vector<task_report>& x);
node_announcement encode(const node_info& x);
node_list encode(const std::vector<node_report>& x);
blob_name encode(const blob_ref& x);
blob encode(const blob_ref& ref, const compute::tensor& x); // decodes to a blob_payload
fingerprint_request encode(const fingerprint_query& x);
fingerprint encode(const fingerprint_info& x);
expectation encode(const expectation_info& x);
judgment encode(const judgment_info& x);

expected<task_request> decode(const task_submission& x);
expected<task_ack> decode(const task_accepted& x);
expected<shard_task> decode(const shard_assignment& x);
expected<shard_output> decode(const shard_result& x);

/// A result as shared, read-only value: the one its creator in this process kept with
/// it (encode_shared), or else decoded from its bytes. Saves readers in the same
/// process (aggregator, validator) a copy of the output each.
expected<std::shared_ptr<const shard_output>> decode_shared(const shard_result& x);

/// A result that keeps `x` for decode_shared in this process, and is flattened into bytes
/// only when they are first needed (to cross to another process): readers here copy
/// nothing, and nothing is copied for them.
shard_result encode_shared(std::shared_ptr<const shard_output> x);
expected<verdict_info> decode(const verdict& x);
expected<task_output> decode(const final_output& x);
expected<task_report> decode(const task_status& x);
expected<std::vector<task_report>> decode(const task_list& x);
expected<node_info> decode(const node_announcement& x);
expected<std::vector<node_report>> decode(const node_list& x);
expected<blob_ref> decode(const blob_name& x);
expected<blob_payload> decode(const blob& x);
expected<fingerprint_query> decode(const fingerprint_request& x);
expected<fingerprint_info> decode(const fingerprint& x);
expected<expectation_info> decode(const expectation& x);
expected<judgment_info> decode(const judgment& x);

challenge encode_challenge(const std::vector<uint8_t>& nonce);
expected<std::vector<uint8_t>> decode(const challenge& x);

/// Ledger transactions as canonical bytes (chain/block.hpp), checked when decoded there.
ledger_records encode_records(const std::vector<std::vector<uint8_t>>& records);
expected<std::vector<std::vector<uint8_t>>> decode(const ledger_records& x);

ledger_receipt encode(const ledger_receipt_info& x);
expected<ledger_receipt_info> decode(const ledger_receipt& x);

ledger_request encode(const ledger_query& x);
expected<ledger_query> decode(const ledger_request& x);

ledger_reply encode(const ledger_answer& x);
expected<ledger_answer> decode(const ledger_reply& x);

/// What a node signs with its key to join: its name, the role, and the orchestrator's
/// challenge, so that a signature proves one join and cannot be replayed for another.
std::vector<uint8_t> join_statement(const node_info& x);

/// A task's final output built in place: its values are written straight into the
/// message that will carry them, so finishing it copies nothing (for a 4096x4096 product
/// that was one more fresh 64 MiB buffer and a copy, at the end of the task).
class output_message {
public:
  output_message() = default;

  /// A zero-filled output of `shape` for task `task_id`.
  output_message(uint64_t task_id, compute::shape_t shape);

  const compute::shape_t& shape() const noexcept {
    return shape_;
  }

  /// Product of every dimension after the first (1 for a vector).
  std::size_t cols() const noexcept;

  /// The row-major values, to be written in place. Valid until finish().
  std::span<float> values() noexcept {
    return {values_, count_};
  }

  /// The message; the output is empty afterwards.
  final_output finish();

private:
  compute::shape_t shape_;
  std::vector<uint8_t> bytes_; // segment table, then the one segment
  float* values_ = nullptr;
  std::size_t count_ = 0;
};

/// Where a final output's values lie: its shape, and its raw float32 bytes inside
/// `x.bytes()` (nothing is copied). errc::corrupted if `x` is malformed.
struct output_location {
  compute::shape_t shape;
  std::span<const uint8_t> values;
};
expected<output_location> locate_output(const final_output& x);

/// Registers every envelope type with `cfg`. Call it on every process, before the
/// actor_system is built.
void register_message_types(caf::actor_system_config& cfg);

} // namespace nexus::wire
