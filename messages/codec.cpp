// What every message family shares: names of enums, the envelopes' registration with
// CAF, and the rule for the rows a shard may name. The families' codecs are
// codec_tasks.cpp, codec_shards.cpp, codec_nodes.cpp and codec_ledger.cpp.
#include "messages/codec.hpp"

#include "compute/workloads/model.hpp"

namespace nexus {

std::string to_string(workload_kind x) {
  switch (x) {
    case workload_kind::matmul: return "matmul";
    case workload_kind::infer: return "infer";
    case workload_kind::train_step: return "train step";
    case workload_kind::train: return "train";
  }
  return "unknown";
}

std::string to_string(task_state x) {
  switch (x) {
    case task_state::planned: return "planned";
    case task_state::running: return "running";
    case task_state::validating: return "validating";
    case task_state::done: return "done";
    case task_state::failed: return "failed";
    case task_state::cancelled: return "cancelled";
  }
  return "unknown";
}

std::string to_string(node_role x) {
  switch (x) {
    case node_role::orchestrator: return "orchestrator";
    case node_role::worker: return "worker";
    case node_role::validator: return "validator";
    case node_role::aggregator: return "aggregator";
    case node_role::ledger: return "ledger";
  }
  return "unknown";
}

std::string to_string(check_mode x) {
  switch (x) {
    case check_mode::check: return "check";
    case check_mode::audit: return "audit";
    case check_mode::trust: return "trust";
    case check_mode::replicate: return "replicate";
  }
  return "unknown";
}

std::size_t shardable_rows(workload_kind kind, const matmul_operands& matmul,
                           const model_operands& model) {
  switch (kind) {
    case workload_kind::matmul: return matmul.a.shape.empty() ? 0 : matmul.a.shape[0];
    case workload_kind::infer: return model.x.shape.empty() ? 0 : model.x.shape[0];
    case workload_kind::train_step:
      return compute::model_workload::batch_ref{.batch_rows = model.batch_rows,
                                                .micro_rows = model.micro_rows}
        .micro_batches();
    case workload_kind::train: return 0;
  }
  return 0;
}

std::string to_string(ledger_question x) {
  switch (x) {
    case ledger_question::balance: return "balance";
    case ledger_question::history: return "history";
    case ledger_question::block: return "block";
    case ledger_question::tail: return "tail";
    case ledger_question::verify: return "verify";
    case ledger_question::last_task: return "last-task";
    case ledger_question::trust: return "trust";
  }
  return "unknown";
}

std::string to_string(node_state x) {
  switch (x) {
    case node_state::alive: return "alive";
    case node_state::suspect: return "suspect";
    case node_state::dead: return "dead";
  }
  return "unknown";
}

} // namespace nexus

namespace nexus::wire {

#define NEXUS_ENVELOPE_NAME(alias)                                                     \
  template <>                                                                          \
  const char* alias::type_name() {                                                     \
    return "nexus::" #alias;                                                           \
  }
NEXUS_ENVELOPE_NAME(task_submission)
NEXUS_ENVELOPE_NAME(task_accepted)
NEXUS_ENVELOPE_NAME(shard_assignment)
NEXUS_ENVELOPE_NAME(shard_result)
NEXUS_ENVELOPE_NAME(verdict)
NEXUS_ENVELOPE_NAME(final_output)
NEXUS_ENVELOPE_NAME(task_status)
NEXUS_ENVELOPE_NAME(task_list)
NEXUS_ENVELOPE_NAME(node_announcement)
NEXUS_ENVELOPE_NAME(node_list)
NEXUS_ENVELOPE_NAME(blob_name)
NEXUS_ENVELOPE_NAME(blob)
NEXUS_ENVELOPE_NAME(challenge)
NEXUS_ENVELOPE_NAME(ledger_records)
NEXUS_ENVELOPE_NAME(ledger_request)
NEXUS_ENVELOPE_NAME(ledger_reply)
NEXUS_ENVELOPE_NAME(ledger_receipt)
NEXUS_ENVELOPE_NAME(fingerprint_request)
NEXUS_ENVELOPE_NAME(fingerprint)
NEXUS_ENVELOPE_NAME(expectation)
NEXUS_ENVELOPE_NAME(judgment)
#undef NEXUS_ENVELOPE_NAME

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<task_submission>(task_submission::type_name());
  cfg.add_message_type<task_accepted>(task_accepted::type_name());
  cfg.add_message_type<shard_assignment>(shard_assignment::type_name());
  cfg.add_message_type<shard_result>(shard_result::type_name());
  cfg.add_message_type<verdict>(verdict::type_name());
  cfg.add_message_type<final_output>(final_output::type_name());
  cfg.add_message_type<task_status>(task_status::type_name());
  cfg.add_message_type<task_list>(task_list::type_name());
  cfg.add_message_type<node_announcement>(node_announcement::type_name());
  cfg.add_message_type<node_list>(node_list::type_name());
  cfg.add_message_type<blob_name>(blob_name::type_name());
  cfg.add_message_type<blob>(blob::type_name());
  cfg.add_message_type<challenge>(challenge::type_name());
  cfg.add_message_type<ledger_records>(ledger_records::type_name());
  cfg.add_message_type<ledger_request>(ledger_request::type_name());
  cfg.add_message_type<ledger_reply>(ledger_reply::type_name());
  cfg.add_message_type<ledger_receipt>(ledger_receipt::type_name());
  cfg.add_message_type<fingerprint_request>(fingerprint_request::type_name());
  cfg.add_message_type<fingerprint>(fingerprint::type_name());
  cfg.add_message_type<expectation>(expectation::type_name());
  cfg.add_message_type<judgment>(judgment::type_name());
}

} // namespace nexus::wire
