// What every message family shares: names of enums, the envelopes' registration with
// CAF, and the rule for the rows a shard may name. The families' codecs are
// codec_tasks.cpp, codec_shards.cpp, codec_nodes.cpp and codec_ledger.cpp.
#include "messages/codec.hpp"

#include "compute/workloads/model.hpp"

namespace nexus {

std::string to_string(workload_kind x) {
  switch (x) {
  case workload_kind::matmul:
    return "matmul";
  case workload_kind::infer:
    return "infer";
  case workload_kind::train_step:
    return "train step";
  case workload_kind::train:
    return "train";
  }
  return "unknown";
}

std::string to_string(task_state x) {
  switch (x) {
  case task_state::planned:
    return "planned";
  case task_state::running:
    return "running";
  case task_state::validating:
    return "validating";
  case task_state::done:
    return "done";
  case task_state::failed:
    return "failed";
  case task_state::cancelled:
    return "cancelled";
  }
  return "unknown";
}

std::string to_string(node_role x) {
  switch (x) {
  case node_role::orchestrator:
    return "orchestrator";
  case node_role::worker:
    return "worker";
  case node_role::validator:
    return "validator";
  case node_role::aggregator:
    return "aggregator";
  case node_role::ledger:
    return "ledger";
  }
  return "unknown";
}

std::string to_string(check_mode x) {
  switch (x) {
  case check_mode::check:
    return "check";
  case check_mode::audit:
    return "audit";
  case check_mode::trust:
    return "trust";
  case check_mode::replicate:
    return "replicate";
  }
  return "unknown";
}

std::size_t shardable_rows(workload_kind kind, const matmul_operands& matmul,
                           const model_operands& model) {
  switch (kind) {
  case workload_kind::matmul:
    return matmul.a.shape.empty() ? 0 : matmul.a.shape[0];
  case workload_kind::infer:
    return model.x.shape.empty() ? 0 : model.x.shape[0];
  case workload_kind::train_step:
    return compute::model_workload::batch_ref{.batch_rows = model.batch_rows,
                                              .micro_rows = model.micro_rows}
        .micro_batches();
  case workload_kind::train:
    return 0;
  }
  return 0;
}

std::string to_string(ledger_question x) {
  switch (x) {
  case ledger_question::balance:
    return "balance";
  case ledger_question::history:
    return "history";
  case ledger_question::block:
    return "block";
  case ledger_question::tail:
    return "tail";
  case ledger_question::verify:
    return "verify";
  case ledger_question::last_task:
    return "last-task";
  case ledger_question::trust:
    return "trust";
  case ledger_question::members:
    return "members";
  }
  return "unknown";
}

std::string to_string(node_state x) {
  switch (x) {
  case node_state::alive:
    return "alive";
  case node_state::suspect:
    return "suspect";
  case node_state::dead:
    return "dead";
  }
  return "unknown";
}

} // namespace nexus

namespace nexus::wire {

#define NEXUS_ENVELOPE_NAME(alias)                                                         \
  template <>                                                                              \
  const char* alias::type_name() {                                                         \
    return "nexus::" #alias;                                                               \
  }
NEXUS_ENVELOPE_NAME(task_request)
NEXUS_ENVELOPE_NAME(task_ack)
NEXUS_ENVELOPE_NAME(cancel_request)
NEXUS_ENVELOPE_NAME(shard_task)
NEXUS_ENVELOPE_NAME(shard_output)
NEXUS_ENVELOPE_NAME(verdict)
NEXUS_ENVELOPE_NAME(task_output)
NEXUS_ENVELOPE_NAME(task_report)
NEXUS_ENVELOPE_NAME(task_reports)
NEXUS_ENVELOPE_NAME(node_info)
NEXUS_ENVELOPE_NAME(node_reports)
NEXUS_ENVELOPE_NAME(blob_ref)
NEXUS_ENVELOPE_NAME(blob_payload)
NEXUS_ENVELOPE_NAME(challenge)
NEXUS_ENVELOPE_NAME(ledger_records)
NEXUS_ENVELOPE_NAME(ledger_query)
NEXUS_ENVELOPE_NAME(ledger_answer)
NEXUS_ENVELOPE_NAME(ledger_receipt)
NEXUS_ENVELOPE_NAME(fingerprint_query)
NEXUS_ENVELOPE_NAME(fingerprint)
NEXUS_ENVELOPE_NAME(expectation)
NEXUS_ENVELOPE_NAME(judgment)
NEXUS_ENVELOPE_NAME(consensus_message)
#undef NEXUS_ENVELOPE_NAME

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<task_request>(task_request::type_name());
  cfg.add_message_type<task_ack>(task_ack::type_name());
  cfg.add_message_type<cancel_request>(cancel_request::type_name());
  cfg.add_message_type<shard_task>(shard_task::type_name());
  cfg.add_message_type<shard_output>(shard_output::type_name());
  cfg.add_message_type<verdict>(verdict::type_name());
  cfg.add_message_type<task_output>(task_output::type_name());
  cfg.add_message_type<task_report>(task_report::type_name());
  cfg.add_message_type<task_reports>(task_reports::type_name());
  cfg.add_message_type<node_info>(node_info::type_name());
  cfg.add_message_type<node_reports>(node_reports::type_name());
  cfg.add_message_type<blob_ref>(blob_ref::type_name());
  cfg.add_message_type<blob_payload>(blob_payload::type_name());
  cfg.add_message_type<challenge>(challenge::type_name());
  cfg.add_message_type<ledger_records>(ledger_records::type_name());
  cfg.add_message_type<ledger_query>(ledger_query::type_name());
  cfg.add_message_type<ledger_answer>(ledger_answer::type_name());
  cfg.add_message_type<ledger_receipt>(ledger_receipt::type_name());
  cfg.add_message_type<fingerprint_query>(fingerprint_query::type_name());
  cfg.add_message_type<fingerprint>(fingerprint::type_name());
  cfg.add_message_type<expectation>(expectation::type_name());
  cfg.add_message_type<judgment>(judgment::type_name());
  cfg.add_message_type<consensus_message>(consensus_message::type_name());
}

} // namespace nexus::wire
