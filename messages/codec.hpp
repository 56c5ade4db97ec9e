// The envelope types of messages/task.capnp and their conversion to and from the plain
// values of types.hpp.
//
// decode() checks every field before handing it on: tensor payloads against their shape,
// digests for their length, enums for known values, sizes against limits. A malformed
// message gives errc::corrupted and never a crash.
#pragma once

#include <span>
#include <variant>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "chain/consensus.hpp"
#include "compute/errc.hpp"
#include "messages/envelope.hpp"
#include "messages/task.capnp.h"
#include "messages/types.hpp"

namespace nexus::wire {

using task_request = envelope<schema::TaskRequest>;
using task_ack = envelope<schema::TaskAck>;
using cancel_request = envelope<schema::CancelRequest>;
using shard_task = envelope<schema::ShardTask>;
using shard_output = envelope<schema::ShardOutput>;
using verdict = envelope<schema::Verdict>;
using task_output = envelope<schema::TaskOutput>;
using task_report = envelope<schema::TaskReport>;
using task_reports = envelope<schema::TaskReports>;
using node_info = envelope<schema::NodeInfo>;
using node_reports = envelope<schema::NodeReports>;
using blob_ref = envelope<schema::BlobRef>;
using blob_payload = envelope<schema::BlobPayload>;
using challenge = envelope<schema::Challenge>;
using ledger_records = envelope<schema::LedgerRecords>;
using ledger_query = envelope<schema::LedgerQuery>;
using ledger_answer = envelope<schema::LedgerAnswer>;
using ledger_receipt = envelope<schema::LedgerReceipt>;
using fingerprint_query = envelope<schema::FingerprintQuery>;
using fingerprint = envelope<schema::Fingerprint>;
using expectation = envelope<schema::Expectation>;
using judgment = envelope<schema::Judgment>;
using consensus_message = envelope<schema::ConsensusMessage>;

/// Largest tensor a message may carry, in elements (2 GiB of float32).
constexpr std::size_t max_tensor_elements = std::size_t{1} << 29;

task_request encode(const nexus::task_request& x);
task_ack encode(const nexus::task_ack& x);
cancel_request encode(const nexus::cancel_request& x);
shard_task encode(const nexus::shard_task& x);
shard_output encode(const nexus::shard_output& x);
verdict encode(const nexus::verdict& x);
task_output encode(const nexus::task_output& x);
task_report encode(const nexus::task_report& x);
task_reports encode(const std::vector<nexus::task_report>& x);
node_info encode(const nexus::node_info& x);
node_reports encode(const std::vector<nexus::node_report>& x);
blob_ref encode(const nexus::blob_ref& x);
blob_payload encode(const nexus::blob_ref& ref,
                    const compute::tensor& x); // decodes to a nexus::blob_payload
fingerprint_query encode(const nexus::fingerprint_query& x);
fingerprint encode(const nexus::fingerprint& x);
expectation encode(const nexus::expectation& x);
judgment encode(const nexus::judgment& x);

expected<nexus::task_request> decode(const task_request& x);

/// What a submitter's signature commits to: SHA-256 of the canonical Cap'n Proto form of
/// the request without its signature fields.
chain::digest request_digest(const nexus::task_request& x);
expected<nexus::task_ack> decode(const task_ack& x);
expected<nexus::cancel_request> decode(const cancel_request& x);
expected<nexus::shard_task> decode(const shard_task& x);
expected<nexus::shard_output> decode(const shard_output& x);

/// A result as shared, read-only value: the one its creator in this process kept with
/// it (encode_shared), or else decoded from its bytes. Saves readers in the same
/// process (aggregator, validator) a copy of the output each.
expected<std::shared_ptr<const nexus::shard_output>> decode_shared(const shard_output& x);

/// A result that keeps `x` for decode_shared in this process, and is flattened into bytes
/// only when they are first needed (to cross to another process): readers here copy
/// nothing, and nothing is copied for them.
shard_output encode_shared(std::shared_ptr<const nexus::shard_output> x);
expected<nexus::verdict> decode(const verdict& x);
expected<nexus::task_output> decode(const task_output& x);
expected<nexus::task_report> decode(const task_report& x);
expected<std::vector<nexus::task_report>> decode(const task_reports& x);
expected<nexus::node_info> decode(const node_info& x);
expected<std::vector<nexus::node_report>> decode(const node_reports& x);
expected<nexus::blob_ref> decode(const blob_ref& x);
expected<nexus::blob_payload> decode(const blob_payload& x);
expected<nexus::fingerprint_query> decode(const fingerprint_query& x);
expected<nexus::fingerprint> decode(const fingerprint& x);
expected<nexus::expectation> decode(const expectation& x);
expected<nexus::judgment> decode(const judgment& x);

challenge encode_challenge(const std::vector<uint8_t>& nonce);
expected<std::vector<uint8_t>> decode(const challenge& x);

/// Ledger transactions as canonical bytes (chain/block.hpp), checked when decoded there.
ledger_records encode_records(const std::vector<std::vector<uint8_t>>& records);
expected<std::vector<std::vector<uint8_t>>> decode(const ledger_records& x);

ledger_receipt encode(const nexus::ledger_receipt& x);
expected<nexus::ledger_receipt> decode(const ledger_receipt& x);

ledger_query encode(const nexus::ledger_query& x);
expected<nexus::ledger_query> decode(const ledger_query& x);

/// A ledger node's proposal or vote, or a decision for a node behind (checked for form
/// only: signatures are the consensus' to check).
using consensus_item = std::variant<chain::consensus::message, chain::consensus::decision>;
consensus_message encode(const consensus_item& x);
expected<consensus_item> decode(const consensus_message& x);

ledger_answer encode(const nexus::ledger_answer& x);
expected<nexus::ledger_answer> decode(const ledger_answer& x);

/// What a submitter signs to cancel its task: "nexus/cancel/1", the task's id and its
/// submission's nonce (8 bytes each, little-endian), so that the signature cancels that
/// submission and nothing else, not even a later one under the same id.
std::vector<uint8_t> cancel_statement(uint64_t task_id, uint64_t nonce);

/// What a node signs with its key to join: its name, the role, and the orchestrator's
/// challenge, so that a signature proves one join and cannot be replayed for another.
std::vector<uint8_t> join_statement(const nexus::node_info& x);

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
  task_output finish();

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
expected<output_location> locate_output(const task_output& x);

/// Registers every envelope type with `cfg`. Call it on every process, before the
/// actor_system is built.
void register_message_types(caf::actor_system_config& cfg);

} // namespace nexus::wire
