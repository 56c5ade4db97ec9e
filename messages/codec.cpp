#include "messages/codec.hpp"

#include <functional>
#include <numeric>

#include <cstring>
#include <limits>

#include <capnp/message.h>
#include <capnp/orphan.h>

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

namespace {

// -- helpers shared by several messages ---------------------------------------------

// An optional SHA-256: empty leaves `out` zero.
error get_result_digest(capnp::Data::Reader in, chain::digest& out, const char* what) {
  if (in.size() != 0 && in.size() != out.size())
    return make_error(errc::corrupted, std::string{what} + " with a result digest of "
                                         + std::to_string(in.size()) + " bytes");
  std::copy(in.begin(), in.end(), out.begin());
  return {};
}

error corrupted(std::string what) {
  return make_error(errc::corrupted, std::move(what));
}

void set_shape(capnp::List<uint64_t>::Builder out, const compute::shape_t& shape) {
  for (unsigned i = 0; i < shape.size(); ++i)
    out.set(i, shape[i]);
}

expected<compute::shape_t> get_shape(capnp::List<uint64_t>::Reader in) {
  if (in.size() > 8)
    return corrupted("tensor of rank " + std::to_string(in.size()) + " (at most 8)");
  compute::shape_t shape;
  std::size_t count = 1;
  for (auto dim : in) {
    if (dim > max_tensor_elements || (dim > 0 && count > max_tensor_elements / dim))
      return corrupted("tensor shape too large");
    count *= dim;
    shape.push_back(dim);
  }
  return shape;
}

// The values are referenced, not copied: `x` must outlive the message builder (every
// encode() flattens its builder before returning). Odd sizes are copied, since a
// referenced blob is written out to its next 8-byte boundary.
void set_tensor(schema::Tensor::Builder out, const compute::tensor& x) {
  set_shape(out.initShape(static_cast<unsigned>(x.rank())), x.shape());
  auto bytes = x.size() * sizeof(float);
  auto ptr = reinterpret_cast<const capnp::byte*>(x.data());
  if (bytes % sizeof(capnp::word) == 0 && reinterpret_cast<uintptr_t>(ptr) % sizeof(capnp::word) == 0) {
    auto orphanage = capnp::Orphanage::getForMessageContaining(out);
    out.adoptData(orphanage.referenceExternalData(capnp::Data::Reader{ptr, bytes}));
    return;
  }
  auto data = out.initData(static_cast<unsigned>(bytes));
  if (bytes > 0)
    std::memcpy(data.begin(), x.data(), bytes);
}

expected<compute::tensor> get_tensor(schema::Tensor::Reader in) {
  auto shape = get_shape(in.getShape());
  if (!shape)
    return shape.error();
  auto count = compute::element_count(*shape);
  auto data = in.getData();
  if (data.size() != count * sizeof(float))
    return corrupted("tensor " + compute::to_string(*shape) + " carries "
                     + std::to_string(data.size()) + " bytes, expected "
                     + std::to_string(count * sizeof(float)));
  std::vector<float> values;
  compute::resize_fresh(values, count);
  if (count > 0) // an empty tensor's pointers may be null
    std::memcpy(values.data(), data.begin(), data.size());
  return compute::tensor{std::move(*shape), std::move(values)};
}

void set_blob(schema::BlobRef::Builder out, const blob_ref& x) {
  out.setId(capnp::Data::Reader{x.id.data(), x.id.size()});
  set_shape(out.initShape(static_cast<unsigned>(x.shape.size())), x.shape);
}

expected<blob_ref> get_blob(schema::BlobRef::Reader in) {
  blob_ref out;
  auto id = in.getId();
  if (id.size() != out.id.size())
    return corrupted("blob id of " + std::to_string(id.size()) + " bytes (expected 32)");
  std::memcpy(out.id.data(), id.begin(), id.size());
  auto shape = get_shape(in.getShape());
  if (!shape)
    return shape.error();
  out.shape = std::move(*shape);
  return out;
}

void set_operands(schema::MatmulOperands::Builder out, const matmul_operands& x) {
  set_blob(out.initA(), x.a);
  set_blob(out.initB(), x.b);
}

expected<matmul_operands> get_operands(schema::MatmulOperands::Reader in) {
  auto a = get_blob(in.getA());
  if (!a)
    return a.error();
  auto b = get_blob(in.getB());
  if (!b)
    return b.error();
  return matmul_operands{std::move(*a), std::move(*b)};
}

void set_model(schema::ModelOperands::Builder out, const model_operands& x) {
  out.setSpec(x.spec);
  set_blob(out.initWeights(), x.weights);
  set_blob(out.initX(), x.x);
  set_blob(out.initY(), x.y);
  out.setSeed(x.seed);
  out.setEpoch(x.epoch);
  out.setBatchBegin(x.batch_begin);
  out.setBatchRows(x.batch_rows);
  out.setMicroRows(x.micro_rows);
  out.setSampleRate(x.sample_rate);
  out.setLocalSteps(x.local_steps);
  set_blob(out.initState(), x.state);
  out.setOptimizer(x.optimizer);
  out.setLr(x.lr);
  out.setSchedule(x.schedule);
  out.setFirstStep(x.first_step);
  out.setTotalSteps(x.total_steps);
}

// A blob reference that may be unset (no id at all).
expected<blob_ref> get_optional_blob(schema::BlobRef::Reader in) {
  if (in.getId().size() == 0 && in.getShape().size() == 0)
    return blob_ref{};
  return get_blob(in);
}

expected<model_operands> get_model(schema::ModelOperands::Reader in) {
  model_operands out;
  out.spec = std::string{in.getSpec().begin(), in.getSpec().size()};
  if (out.spec.size() > 4096)
    return corrupted("model spec of " + std::to_string(out.spec.size()) + " bytes");
  for (auto [to, from] : {std::pair{&out.weights, in.getWeights()}, std::pair{&out.x, in.getX()},
                          std::pair{&out.y, in.getY()}, std::pair{&out.state, in.getState()}}) {
    auto ref = get_optional_blob(from);
    if (!ref)
      return ref.error();
    *to = std::move(*ref);
  }
  out.seed = in.getSeed();
  out.epoch = in.getEpoch();
  out.batch_begin = in.getBatchBegin();
  out.batch_rows = in.getBatchRows();
  out.micro_rows = in.getMicroRows();
  out.sample_rate = in.getSampleRate();
  if (!(out.sample_rate >= 0 && out.sample_rate <= 1))
    return corrupted("sample rate out of [0, 1]");
  out.local_steps = in.getLocalSteps();
  out.optimizer = std::string{in.getOptimizer().begin(), in.getOptimizer().size()};
  out.lr = in.getLr();
  out.schedule = std::string{in.getSchedule().begin(), in.getSchedule().size()};
  out.first_step = in.getFirstStep();
  out.total_steps = in.getTotalSteps();
  if (out.optimizer.size() > 64 || out.schedule.size() > 64)
    return corrupted("optimizer or schedule name of over 64 bytes");
  return out;
}

void set_train(schema::TrainOptions::Builder out, const train_options& x) {
  out.setEpochs(x.epochs);
  out.setBatch(x.batch);
  out.setLr(x.lr);
  out.setOptimizer(x.optimizer);
  out.setSchedule(x.schedule);
  out.setSeed(x.seed);
  set_blob(out.initTestX(), x.test_x);
  set_blob(out.initTestY(), x.test_y);
  out.setLocalSteps(x.local_steps);
}

expected<train_options> get_train(schema::TrainOptions::Reader in) {
  train_options out;
  out.epochs = in.getEpochs();
  out.batch = in.getBatch();
  out.lr = in.getLr();
  out.optimizer = std::string{in.getOptimizer().begin(), in.getOptimizer().size()};
  out.schedule = std::string{in.getSchedule().begin(), in.getSchedule().size()};
  out.seed = in.getSeed();
  auto tx = get_optional_blob(in.getTestX());
  auto ty = get_optional_blob(in.getTestY());
  if (!tx || !ty)
    return !tx ? tx.error() : ty.error();
  out.test_x = std::move(*tx);
  out.test_y = std::move(*ty);
  out.local_steps = in.getLocalSteps();
  return out;
}

expected<workload_kind> get_workload(schema::Workload in) {
  switch (in) {
    case schema::Workload::MATMUL: return workload_kind::matmul;
    case schema::Workload::INFER: return workload_kind::infer;
    case schema::Workload::TRAIN_STEP: return workload_kind::train_step;
    case schema::Workload::TRAIN: return workload_kind::train;
  }
  return corrupted("unknown workload " + std::to_string(static_cast<int>(in)));
}

template <class Enum>
expected<Enum> get_enum(uint16_t raw, uint16_t last, const char* what) {
  if (raw > last)
    return corrupted(std::string{"unknown "} + what + " " + std::to_string(raw));
  return static_cast<Enum>(raw);
}

std::string get_text(capnp::Text::Reader in) {
  return {in.begin(), in.size()};
}

void set_report(schema::TaskStatus::Builder out, const task_report& x) {
  out.setTaskId(x.task_id);
  out.setLabel(x.label);
  out.setState(static_cast<schema::TaskState>(x.state));
  out.setShardCount(x.shard_count);
  out.setShardsValidated(x.shards_validated);
  out.setShardsInFlight(x.shards_in_flight);
  out.setResultsRejected(x.results_rejected);
  out.setResultsUnchecked(x.results_unchecked);
  out.setVerdictsOverturned(x.verdicts_overturned);
  out.setShardsReissued(x.shards_reissued);
  out.setReason(x.reason);
  out.setElapsedNanos(x.elapsed_ns);
  out.setFlops(x.flops);
  set_shape(out.initOutputShape(static_cast<unsigned>(x.output_shape.size())),
            x.output_shape);
  out.setVerifyNanos(x.verify_ns);
  out.setWorkload(static_cast<schema::Workload>(x.workload));
  auto epochs = out.initEpochs(static_cast<unsigned>(x.epochs.size()));
  for (unsigned i = 0; i < x.epochs.size(); ++i) {
    const auto& e = x.epochs[i];
    epochs[i].setEpoch(e.epoch);
    epochs[i].setLoss(e.loss);
    epochs[i].setTrainAccuracy(e.train_accuracy);
    epochs[i].setTestAccuracy(e.test_accuracy);
    epochs[i].setSeconds(e.seconds);
  }
  auto curve = out.initLossCurve(static_cast<unsigned>(x.loss_curve.size()));
  for (unsigned i = 0; i < x.loss_curve.size(); ++i)
    curve.set(i, x.loss_curve[i]);
}

expected<task_report> get_report(schema::TaskStatus::Reader in) {
  task_report out;
  auto state = get_enum<task_state>(static_cast<uint16_t>(in.getState()),
                                    static_cast<uint16_t>(task_state::cancelled),
                                    "task state");
  if (!state)
    return state.error();
  auto shape = get_shape(in.getOutputShape());
  if (!shape)
    return shape.error();
  out.task_id = in.getTaskId();
  out.label = get_text(in.getLabel());
  out.state = *state;
  out.shard_count = in.getShardCount();
  out.shards_validated = in.getShardsValidated();
  out.shards_in_flight = in.getShardsInFlight();
  out.results_rejected = in.getResultsRejected();
  out.results_unchecked = in.getResultsUnchecked();
  out.verdicts_overturned = in.getVerdictsOverturned();
  out.shards_reissued = in.getShardsReissued();
  out.reason = get_text(in.getReason());
  out.elapsed_ns = in.getElapsedNanos();
  out.flops = in.getFlops();
  out.output_shape = std::move(*shape);
  out.verify_ns = in.getVerifyNanos();
  auto workload = get_workload(in.getWorkload());
  if (!workload)
    return workload.error();
  out.workload = *workload;
  for (auto e : in.getEpochs())
    out.epochs.push_back({e.getEpoch(), e.getLoss(), e.getTrainAccuracy(), e.getTestAccuracy(),
                          e.getSeconds()});
  for (auto v : in.getLossCurve())
    out.loss_curve.push_back(v);
  return out;
}

void set_node(schema::NodeInfo::Builder out, const node_info& x) {
  out.setName(x.name);
  out.setRole(static_cast<schema::Role>(x.role));
  out.setDevice(x.device);
  out.setThreads(x.threads);
  out.setGflops(x.gflops);
  out.setSlots(x.slots);
  out.setPublicKey(capnp::Data::Reader{x.public_key.data(), x.public_key.size()});
  out.setNonce(capnp::Data::Reader{x.nonce.data(), x.nonce.size()});
  out.setSignature(capnp::Data::Reader{x.signature.data(), x.signature.size()});
}

expected<node_info> get_node(schema::NodeInfo::Reader in) {
  auto role = get_enum<node_role>(static_cast<uint16_t>(in.getRole()),
                                  static_cast<uint16_t>(node_role::ledger), "role");
  if (!role)
    return role.error();
  if (in.getName().size() == 0 || in.getName().size() > 256)
    return corrupted("node name of " + std::to_string(in.getName().size()) + " bytes");
  auto bytes = [](capnp::Data::Reader d) { return std::vector<uint8_t>(d.begin(), d.end()); };
  node_info out{get_text(in.getName()), *role,           get_text(in.getDevice()),
                in.getThreads(),        in.getGflops(), in.getSlots(),
                bytes(in.getPublicKey()), bytes(in.getNonce()), bytes(in.getSignature())};
  if ((!out.public_key.empty() && out.public_key.size() != 32) || out.nonce.size() > 64
      || (!out.signature.empty() && out.signature.size() != 64))
    return corrupted("node " + out.name + ": malformed key, challenge or signature");
  return out;
}

// The workload and its operands, which submissions and assignments share.
template <class Reader>
expected<std::tuple<workload_kind, matmul_operands, model_operands>> get_work(Reader in) {
  auto kind = get_workload(in.getWorkload());
  if (!kind)
    return kind.error();
  matmul_operands matmul;
  model_operands model;
  if (*kind == workload_kind::matmul) {
    auto operands = get_operands(in.getMatmul());
    if (!operands)
      return operands.error();
    matmul = std::move(*operands);
  } else {
    auto operands = get_model(in.getModel());
    if (!operands)
      return operands.error();
    model = std::move(*operands);
  }
  return std::make_tuple(*kind, std::move(matmul), std::move(model));
}

} // namespace

// -- task submission ------------------------------------------------------------------

task_submission encode(const task_request& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskSubmission>();
  out.setLabel(x.label);
  out.setSubmitter(x.submitter);
  out.setShards(x.shards);
  out.setVerifyRounds(x.verify_rounds);
  out.setTolerance(x.tolerance);
  out.setMaxAttempts(x.max_attempts);
  out.setPriority(x.priority);
  out.setTimeoutSeconds(x.timeout_s);
  out.setReplicas(x.replicas);
  out.setBudget(x.budget);
  out.setWorkload(static_cast<schema::Workload>(x.workload));
  if (x.workload == workload_kind::matmul)
    set_operands(out.initMatmul(), x.matmul);
  else
    set_model(out.initModel(), x.model);
  if (x.workload == workload_kind::train)
    set_train(out.initTrain(), x.train);
  return task_submission{builder};
}

expected<task_request> decode(const task_submission& x) {
  return x.read([](schema::TaskSubmission::Reader in) -> expected<task_request> {
    task_request out;
    auto work = get_work(in);
    if (!work)
      return work.error();
    out.label = get_text(in.getLabel());
    out.submitter = get_text(in.getSubmitter());
    out.shards = in.getShards();
    out.verify_rounds = in.getVerifyRounds();
    out.tolerance = in.getTolerance();
    out.max_attempts = in.getMaxAttempts();
    out.priority = in.getPriority();
    out.timeout_s = in.getTimeoutSeconds();
    out.replicas = in.getReplicas();
    out.budget = in.getBudget();
    if (out.budget < 0)
      return corrupted("task submission with a negative budget");
    std::tie(out.workload, out.matmul, out.model) = std::move(*work);
    if (out.workload == workload_kind::train) {
      auto train = get_train(in.getTrain());
      if (!train)
        return train.error();
      out.train = std::move(*train);
    }
    return out;
  });
}

task_accepted encode(const task_ack& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskAccepted>();
  out.setTaskId(x.task_id);
  out.setShardCount(x.shard_count);
  return task_accepted{builder};
}

expected<task_ack> decode(const task_accepted& x) {
  return x.read([](schema::TaskAccepted::Reader in) -> expected<task_ack> {
    return task_ack{in.getTaskId(), in.getShardCount()};
  });
}

// -- shards ---------------------------------------------------------------------------

shard_assignment encode(const shard_task& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ShardAssignment>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  out.setShardCount(x.shard_count);
  out.setRowBegin(x.row_begin);
  out.setRowEnd(x.row_end);
  out.setTolerance(x.tolerance);
  out.setVerifyRounds(x.verify_rounds);
  out.setWorkload(static_cast<schema::Workload>(x.workload));
  if (x.workload == workload_kind::matmul)
    set_operands(out.initMatmul(), x.matmul);
  else
    set_model(out.initModel(), x.model);
  return shard_assignment{builder};
}

expected<shard_task> decode(const shard_assignment& x) {
  return x.read([](schema::ShardAssignment::Reader in) -> expected<shard_task> {
    shard_task out;
    auto work = get_work(in);
    if (!work)
      return work.error();
    out.task_id = in.getTaskId();
    out.shard_id = in.getShardId();
    out.attempt = in.getAttempt();
    out.shard_count = in.getShardCount();
    out.row_begin = in.getRowBegin();
    out.row_end = in.getRowEnd();
    out.tolerance = in.getTolerance();
    out.verify_rounds = in.getVerifyRounds();
    std::tie(out.workload, out.matmul, out.model) = std::move(*work);
    auto rows = shardable_rows(out.workload, out.matmul, out.model);
    if (out.row_begin > out.row_end || out.row_end > rows)
      return corrupted("shard rows [" + std::to_string(out.row_begin) + ", "
                       + std::to_string(out.row_end) + ") outside the "
                       + std::to_string(rows) + " rows of its " + to_string(out.workload)
                       + " task");
    if (out.shard_id >= out.shard_count)
      return corrupted("shard " + std::to_string(out.shard_id) + " of "
                       + std::to_string(out.shard_count));
    if (!(out.tolerance >= 0 && out.tolerance < 1) || out.verify_rounds > 64)
      return corrupted("tolerance or verification rounds out of range");
    return out;
  });
}

shard_result encode(const shard_output& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ShardResult>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  out.setWorker(x.worker);
  set_tensor(out.initOutput(), x.output);
  out.setComputeNanos(x.compute_ns);
  out.setError(x.error);
  out.setHeld(x.held);
  if (!x.signature.proof.empty() || x.signature.sig != chain::signature{}) {
    out.setSignature(capnp::Data::Reader{x.signature.sig.data(), x.signature.sig.size()});
    auto proof = chain::encode_proof(x.signature.proof);
    out.setProof(capnp::Data::Reader{proof.data(), proof.size()});
  }
  return shard_result{builder};
}

expected<shard_output> decode(const shard_result& x) {
  return x.read([](schema::ShardResult::Reader in) -> expected<shard_output> {
    auto output = get_tensor(in.getOutput());
    if (!output)
      return output.error();
    shard_output out{in.getTaskId(),           in.getShardId(),
                     in.getAttempt(),          get_text(in.getWorker()),
                     std::move(*output),       in.getComputeNanos(),
                     get_text(in.getError()),  in.getHeld()};
    auto sig = in.getSignature();
    if (sig.size() != 0 && sig.size() != out.signature.sig.size())
      return corrupted("a result signature of " + std::to_string(sig.size()) + " bytes");
    std::copy(sig.begin(), sig.end(), out.signature.sig.begin());
    auto proof = chain::decode_proof({in.getProof().begin(), in.getProof().size()});
    if (!proof)
      return proof.error();
    out.signature.proof = std::move(*proof);
    return out;
  });
}

expected<std::shared_ptr<const shard_output>> decode_shared(const shard_result& x) {
  if (x.decoded())
    return std::static_pointer_cast<const shard_output>(x.decoded());
  auto out = decode(x);
  if (!out)
    return out.error();
  return std::make_shared<const shard_output>(std::move(*out));
}

shard_result encode_shared(std::shared_ptr<const shard_output> x) {
  auto out = shard_result::deferred([x] { return encode(*x); });
  out.remember_decoded(std::move(x));
  return out;
}

namespace {

void set_verdict(schema::Verdict::Builder out, const verdict_info& x) {
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  out.setWorker(x.worker);
  out.setValidator(x.validator);
  out.setValid(x.valid);
  out.setReason(x.reason);
  out.setCheckNanos(x.check_ns);
  out.setResultDigest(capnp::Data::Reader{x.result.data(), x.result.size()});
}

expected<verdict_info> get_verdict(schema::Verdict::Reader in) {
  verdict_info out{in.getTaskId(),
                   in.getShardId(),
                   in.getAttempt(),
                   get_text(in.getWorker()),
                   get_text(in.getValidator()),
                   in.getValid(),
                   get_text(in.getReason()),
                   in.getCheckNanos()};
  if (auto err = get_result_digest(in.getResultDigest(), out.result, "verdict"))
    return err;
  return out;
}

std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> out;
  for (auto t : in)
    out.push_back(get_text(t));
  return out;
}

void set_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& in) {
  for (unsigned i = 0; i < in.size(); ++i)
    out.set(i, in[i]);
}

} // namespace

verdict encode(const verdict_info& x) {
  capnp::MallocMessageBuilder builder;
  set_verdict(builder.initRoot<schema::Verdict>(), x);
  return verdict{builder};
}

expectation encode(const expectation_info& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Expectation>();
  out.setWorker(x.worker);
  if (x.worker_key)
    out.setWorkerKey(capnp::Data::Reader{x.worker_key->data(), x.worker_key->size()});
  out.setMode(static_cast<schema::CheckMode>(x.mode));
  out.setReplicas(x.replicas);
  out.setRound(x.round);
  return expectation{builder};
}

expected<expectation_info> decode(const expectation& x) {
  return x.read([](schema::Expectation::Reader in) -> expected<expectation_info> {
    expectation_info out;
    out.worker = get_text(in.getWorker());
    auto key = in.getWorkerKey();
    if (key.size() != 0) {
      if (key.size() != sizeof(chain::public_key))
        return corrupted("a worker key of " + std::to_string(key.size()) + " bytes");
      out.worker_key.emplace();
      std::copy(key.begin(), key.end(), out.worker_key->begin());
    }
    auto mode = get_enum<check_mode>(static_cast<uint16_t>(in.getMode()),
                                     static_cast<uint16_t>(check_mode::replicate), "check mode");
    if (!mode)
      return mode.error();
    out.mode = *mode;
    out.replicas = in.getReplicas();
    out.round = in.getRound();
    return out;
  });
}

judgment encode(const judgment_info& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Judgment>();
  set_verdict(out.initVerdict(), x.verdict);
  out.setChecked(x.checked);
  set_texts(out.initOverturned(static_cast<unsigned>(x.overturned.size())), x.overturned);
  set_texts(out.initValidators(static_cast<unsigned>(x.validators.size())), x.validators);
  out.setDisputed(x.disputed);
  return judgment{builder};
}

expected<judgment_info> decode(const judgment& x) {
  return x.read([](schema::Judgment::Reader in) -> expected<judgment_info> {
    auto v = get_verdict(in.getVerdict());
    if (!v)
      return v.error();
    return judgment_info{std::move(*v), in.getChecked(), get_texts(in.getOverturned()),
                         get_texts(in.getValidators()), in.getDisputed()};
  });
}

expected<verdict_info> decode(const verdict& x) {
  return x.read([](schema::Verdict::Reader in) { return get_verdict(in); });
}

fingerprint_request encode(const fingerprint_query& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::FingerprintQuery>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  set_tensor(out.initProbe(), x.probe);
  out.setDigest(x.digest);
  return fingerprint_request{builder};
}

expected<fingerprint_query> decode(const fingerprint_request& x) {
  return x.read([](schema::FingerprintQuery::Reader in) -> expected<fingerprint_query> {
    auto probe = get_tensor(in.getProbe());
    if (!probe)
      return probe.error();
    return fingerprint_query{in.getTaskId(), in.getShardId(), in.getAttempt(),
                             std::move(*probe), in.getDigest()};
  });
}

fingerprint encode(const fingerprint_info& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Fingerprint>();
  set_tensor(out.initProduct(), x.product);
  out.setResultDigest(capnp::Data::Reader{x.result.data(), x.result.size()});
  return fingerprint{builder};
}

expected<fingerprint_info> decode(const fingerprint& x) {
  return x.read([](schema::Fingerprint::Reader in) -> expected<fingerprint_info> {
    auto product = get_tensor(in.getProduct());
    if (!product)
      return product.error();
    fingerprint_info out{std::move(*product), {}};
    if (auto err = get_result_digest(in.getResultDigest(), out.result, "fingerprint"))
      return err;
    return out;
  });
}

final_output encode(const task_output& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::FinalOutput>();
  out.setTaskId(x.task_id);
  set_tensor(out.initOutput(), x.output);
  return final_output{builder};
}

output_message::output_message(uint64_t task_id, compute::shape_t shape)
  : shape_(std::move(shape)), count_(compute::element_count(shape_)) {
  // One segment of exactly the message's size: the root pointer, the FinalOutput and
  // Tensor structs, the shape list and the values. Everything is zero until written.
  auto data_words = (count_ * sizeof(float) + sizeof(capnp::word) - 1) / sizeof(capnp::word);
  auto struct_words = [](auto size) { return std::size_t{size.data} + size.pointers; };
  auto words = 1 + struct_words(capnp::_::structSize<schema::FinalOutput>())
               + struct_words(capnp::_::structSize<schema::Tensor>()) + shape_.size()
               + data_words;
  compute::resize_fresh(bytes_, sizeof(capnp::word) + words * sizeof(capnp::word));
  // The segment table of a one-segment message: segment count - 1, then its size.
  uint32_t table[2] = {0, static_cast<uint32_t>(words)};
  std::memcpy(bytes_.data(), table, sizeof(table));
  capnp::FlatMessageBuilder builder{
    {reinterpret_cast<capnp::word*>(bytes_.data() + sizeof(capnp::word)), words}};
  auto out = builder.initRoot<schema::FinalOutput>();
  out.setTaskId(task_id);
  auto tensor = out.initOutput();
  set_shape(tensor.initShape(static_cast<unsigned>(shape_.size())), shape_);
  auto data = tensor.initData(static_cast<unsigned>(count_ * sizeof(float)));
  builder.requireFilled();
  values_ = reinterpret_cast<float*>(data.begin());
}

std::size_t output_message::cols() const noexcept {
  if (shape_.size() < 2)
    return shape_.empty() ? 0 : 1;
  return std::accumulate(shape_.begin() + 1, shape_.end(), std::size_t{1},
                         std::multiplies<>{});
}

final_output output_message::finish() {
  values_ = nullptr;
  count_ = 0;
  shape_.clear();
  return final_output{std::exchange(bytes_, {})};
}

expected<output_location> locate_output(const final_output& x) {
  auto located = x.read([](schema::FinalOutput::Reader in) -> expected<output_location> {
    auto shape = get_shape(in.getOutput().getShape());
    if (!shape)
      return shape.error();
    auto data = in.getOutput().getData();
    if (data.size() != compute::element_count(*shape) * sizeof(float))
      return corrupted("an output of shape " + compute::to_string(*shape) + " carries "
                       + std::to_string(data.size()) + " bytes");
    return output_location{std::move(*shape), {data.begin(), data.size()}};
  });
  if (!located)
    return located;
  // read() works on a copy of bytes that are not word-aligned: such a span would dangle.
  const auto& bytes = x.bytes();
  auto* begin = located->values.data();
  if (!located->values.empty()
      && (begin < bytes.data() || begin + located->values.size() > bytes.data() + bytes.size()))
    return corrupted("an output whose bytes are not word-aligned");
  return located;
}

expected<task_output> decode(const final_output& x) {
  return x.read([](schema::FinalOutput::Reader in) -> expected<task_output> {
    auto output = get_tensor(in.getOutput());
    if (!output)
      return output.error();
    return task_output{in.getTaskId(), std::move(*output)};
  });
}

// -- status reports -------------------------------------------------------------------

task_status encode(const task_report& x) {
  capnp::MallocMessageBuilder builder;
  set_report(builder.initRoot<schema::TaskStatus>(), x);
  return task_status{builder};
}

expected<task_report> decode(const task_status& x) {
  return x.read(get_report);
}

task_list encode(const std::vector<task_report>& x) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::TaskList>().initTasks(static_cast<unsigned>(x.size()));
  for (unsigned i = 0; i < x.size(); ++i)
    set_report(list[i], x[i]);
  return task_list{builder};
}

expected<std::vector<task_report>> decode(const task_list& x) {
  return x.read([](schema::TaskList::Reader in) -> expected<std::vector<task_report>> {
    std::vector<task_report> out;
    for (auto item : in.getTasks()) {
      auto report = get_report(item);
      if (!report)
        return report.error();
      out.push_back(std::move(*report));
    }
    return out;
  });
}

node_announcement encode(const node_info& x) {
  capnp::MallocMessageBuilder builder;
  set_node(builder.initRoot<schema::NodeInfo>(), x);
  return node_announcement{builder};
}

expected<node_info> decode(const node_announcement& x) {
  return x.read(get_node);
}

node_list encode(const std::vector<node_report>& x) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::NodeList>().initNodes(static_cast<unsigned>(x.size()));
  for (unsigned i = 0; i < x.size(); ++i) {
    set_node(list[i].initInfo(), x[i].info);
    list[i].setAlive(x[i].state != node_state::dead);
    switch (x[i].state) {
      case node_state::alive: list[i].setState(schema::NodeState::ALIVE); break;
      case node_state::suspect: list[i].setState(schema::NodeState::SUSPECT); break;
      case node_state::dead: list[i].setState(schema::NodeState::DEAD); break;
    }
    list[i].setInFlight(x[i].in_flight);
    list[i].setShardsDone(x[i].shards_done);
    list[i].setShardsRejected(x[i].shards_rejected);
    list[i].setPeakInFlight(x[i].peak_in_flight);
    list[i].setWindow(x[i].window);
  }
  return node_list{builder};
}

expected<std::vector<node_report>> decode(const node_list& x) {
  return x.read([](schema::NodeList::Reader in) -> expected<std::vector<node_report>> {
    std::vector<node_report> out;
    for (auto item : in.getNodes()) {
      auto info = get_node(item.getInfo());
      if (!info)
        return info.error();
      node_state state;
      switch (item.getState()) {
        case schema::NodeState::ALIVE: state = node_state::alive; break;
        case schema::NodeState::SUSPECT: state = node_state::suspect; break;
        case schema::NodeState::DEAD: state = node_state::dead; break;
        default: return corrupted("unknown node state");
      }
      out.push_back({std::move(*info), state, item.getInFlight(), item.getShardsDone(),
                     item.getShardsRejected(), item.getPeakInFlight(), item.getWindow()});
    }
    return out;
  });
}

blob_name encode(const blob_ref& x) {
  capnp::MallocMessageBuilder builder;
  set_blob(builder.initRoot<schema::BlobRef>(), x);
  return blob_name{builder};
}

expected<blob_ref> decode(const blob_name& x) {
  return x.read(get_blob);
}

blob encode(const blob_ref& ref, const compute::tensor& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Blob>();
  set_blob(out.initRef(), ref);
  set_tensor(out.initTensor(), x);
  return blob{builder};
}

expected<blob_payload> decode(const blob& x) {
  return x.read([](schema::Blob::Reader in) -> expected<blob_payload> {
    auto ref = get_blob(in.getRef());
    if (!ref)
      return ref.error();
    auto tensor = get_tensor(in.getTensor());
    if (!tensor)
      return tensor.error();
    if (tensor->shape() != ref->shape)
      return corrupted("blob " + chain::to_hex(ref->id).substr(0, 12) + " claims "
                       + compute::to_string(ref->shape) + " but carries "
                       + compute::to_string(tensor->shape()));
    return blob_payload{std::move(*ref), std::move(*tensor)};
  });
}

challenge encode_challenge(const std::vector<uint8_t>& nonce) {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::Challenge>().setNonce(
    capnp::Data::Reader{nonce.data(), nonce.size()});
  return challenge{builder};
}

expected<std::vector<uint8_t>> decode(const challenge& x) {
  return x.read([](schema::Challenge::Reader in) -> expected<std::vector<uint8_t>> {
    auto nonce = in.getNonce();
    if (nonce.size() < 16 || nonce.size() > 64)
      return corrupted("challenge of " + std::to_string(nonce.size()) + " bytes");
    return std::vector<uint8_t>(nonce.begin(), nonce.end());
  });
}

std::vector<uint8_t> join_statement(const node_info& x) {
  std::string text = "nexus-join\n" + x.name + "\n" + to_string(x.role) + "\n";
  std::vector<uint8_t> out(text.begin(), text.end());
  out.insert(out.end(), x.nonce.begin(), x.nonce.end());
  return out;
}

ledger_records encode_records(const std::vector<std::vector<uint8_t>>& records) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::LedgerRecords>().initRecords(
    static_cast<unsigned>(records.size()));
  for (unsigned i = 0; i < records.size(); ++i)
    list.set(i, capnp::Data::Reader{records[i].data(), records[i].size()});
  return ledger_records{builder};
}

expected<std::vector<std::vector<uint8_t>>> decode(const ledger_records& x) {
  return x.read(
    [](schema::LedgerRecords::Reader in) -> expected<std::vector<std::vector<uint8_t>>> {
      std::vector<std::vector<uint8_t>> out;
      for (auto r : in.getRecords()) {
        if (r.size() > 4096)
          return corrupted("ledger record of " + std::to_string(r.size()) + " bytes");
        out.emplace_back(r.begin(), r.end());
      }
      return out;
    });
}

ledger_receipt encode(const ledger_receipt_info& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerReceipt>();
  out.setHeight(x.height);
  out.setBlockHash(capnp::Data::Reader{x.block_hash.data(), x.block_hash.size()});
  out.setRecorded(x.recorded);
  auto refused = out.initRefused(static_cast<unsigned>(x.refused.size()));
  for (unsigned i = 0; i < x.refused.size(); ++i)
    refused.set(i, x.refused[i]);
  return ledger_receipt{builder};
}

expected<ledger_receipt_info> decode(const ledger_receipt& x) {
  return x.read([](schema::LedgerReceipt::Reader in) -> expected<ledger_receipt_info> {
    ledger_receipt_info out;
    out.height = in.getHeight();
    auto hash = in.getBlockHash();
    if (hash.size() != out.block_hash.size())
      return corrupted("ledger receipt with a block hash of " + std::to_string(hash.size())
                       + " bytes");
    std::copy(hash.begin(), hash.end(), out.block_hash.begin());
    out.recorded = in.getRecorded();
    for (auto line : in.getRefused())
      out.refused.push_back(get_text(line));
    return out;
  });
}

ledger_request encode(const ledger_query& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerQuery>();
  out.setQuestion(static_cast<schema::LedgerQuestion>(x.question));
  out.setAccount(x.account);
  out.setHeight(x.height);
  out.setCount(x.count);
  return ledger_request{builder};
}

expected<ledger_query> decode(const ledger_request& x) {
  return x.read([](schema::LedgerQuery::Reader in) -> expected<ledger_query> {
    auto question = get_enum<ledger_question>(static_cast<uint16_t>(in.getQuestion()),
                                              static_cast<uint16_t>(ledger_question::trust),
                                              "ledger question");
    if (!question)
      return question.error();
    return ledger_query{.question = *question,
                        .account = get_text(in.getAccount()),
                        .height = in.getHeight(),
                        .count = in.getCount()};
  });
}

namespace {

template <class Array>
error get_bytes(capnp::Data::Reader in, Array& out, const char* what) {
  if (in.size() != out.size())
    return corrupted(std::string{what} + " of " + std::to_string(in.size()) + " bytes (expected "
                     + std::to_string(out.size()) + ")");
  std::copy(in.begin(), in.end(), out.begin());
  return {};
}

capnp::Data::Reader data_of(std::span<const uint8_t> x) {
  return {x.data(), x.size()};
}

} // namespace

ledger_reply encode(const ledger_answer& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerReply>();
  auto balances = out.initBalances(static_cast<unsigned>(x.balances.size()));
  for (unsigned i = 0; i < x.balances.size(); ++i) {
    balances[i].setAccount(x.balances[i].account);
    balances[i].setMicroMcc(x.balances[i].micro_mcc);
  }
  auto entries = out.initEntries(static_cast<unsigned>(x.entries.size()));
  for (unsigned i = 0; i < x.entries.size(); ++i) {
    entries[i].setHeight(x.entries[i].height);
    entries[i].setTransaction(data_of(x.entries[i].transaction));
  }
  auto blocks = out.initBlocks(static_cast<unsigned>(x.blocks.size()));
  for (unsigned i = 0; i < x.blocks.size(); ++i) {
    const auto& b = x.blocks[i];
    blocks[i].setHeight(b.height);
    blocks[i].setHash(data_of(b.hash));
    blocks[i].setPrev(data_of(b.prev));
    blocks[i].setMerkleRoot(data_of(b.merkle_root));
    blocks[i].setProposer(data_of(b.proposer));
    blocks[i].setTxCount(b.tx_count);
  }
  out.setAuditOk(x.audit_ok);
  out.setAuditBlocks(x.audit_blocks);
  out.setAuditTransactions(x.audit_transactions);
  out.setAuditProblem(x.audit_problem);
  out.setLastTask(x.last_task);
  out.setLastInternalTask(x.last_internal_task);
  auto streaks = out.initStreaks(static_cast<unsigned>(x.streaks.size()));
  for (unsigned i = 0; i < x.streaks.size(); ++i) {
    streaks[i].setNode(x.streaks[i].first);
    streaks[i].setStreak(x.streaks[i].second);
  }
  return ledger_reply{builder};
}

expected<ledger_answer> decode(const ledger_reply& x) {
  return x.read([](schema::LedgerReply::Reader in) -> expected<ledger_answer> {
    ledger_answer out;
    for (auto b : in.getBalances())
      out.balances.push_back({get_text(b.getAccount()), b.getMicroMcc()});
    for (auto e : in.getEntries()) {
      auto tx = e.getTransaction();
      out.entries.push_back({e.getHeight(), {tx.begin(), tx.end()}});
    }
    for (auto b : in.getBlocks()) {
      block_summary summary{.height = b.getHeight(), .tx_count = b.getTxCount()};
      for (auto err : {get_bytes(b.getHash(), summary.hash, "block hash"),
                       get_bytes(b.getPrev(), summary.prev, "previous block hash"),
                       get_bytes(b.getMerkleRoot(), summary.merkle_root, "merkle root"),
                       get_bytes(b.getProposer(), summary.proposer, "proposer key")})
        if (err)
          return err;
      out.blocks.push_back(summary);
    }
    out.audit_ok = in.getAuditOk();
    out.audit_blocks = in.getAuditBlocks();
    out.audit_transactions = in.getAuditTransactions();
    out.audit_problem = get_text(in.getAuditProblem());
    out.last_task = in.getLastTask();
    out.last_internal_task = in.getLastInternalTask();
    for (auto st : in.getStreaks())
      out.streaks.emplace_back(get_text(st.getNode()), st.getStreak());
    return out;
  });
}

} // namespace nexus::wire
