#include "messages/fields.hpp"

#include <cstring>
#include <limits>

#include "compute/pages.hpp"

namespace nexus::wire {

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
// referenced blob_payload is written out to its next 8-byte boundary.
void set_tensor(schema::Tensor::Builder out, const compute::tensor& x) {
  set_shape(out.initShape(static_cast<unsigned>(x.rank())), x.shape());
  auto bytes = x.size() * sizeof(float);
  auto ptr = reinterpret_cast<const capnp::byte*>(x.data());
  if (bytes % sizeof(capnp::word) == 0
      && reinterpret_cast<uintptr_t>(ptr) % sizeof(capnp::word) == 0) {
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

void set_blob(schema::BlobRef::Builder out, const nexus::blob_ref& x) {
  out.setId(capnp::Data::Reader{x.id.data(), x.id.size()});
  set_shape(out.initShape(static_cast<unsigned>(x.shape.size())), x.shape);
}

expected<nexus::blob_ref> get_blob(schema::BlobRef::Reader in) {
  nexus::blob_ref out;
  auto id = in.getId();
  if (id.size() != out.id.size())
    return corrupted("blob_payload id of " + std::to_string(id.size())
                     + " bytes (expected 32)");
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

// A blob_payload reference that may be unset (no id at all).
expected<nexus::blob_ref> get_optional_blob(schema::BlobRef::Reader in) {
  if (in.getId().size() == 0 && in.getShape().size() == 0)
    return nexus::blob_ref{};
  return get_blob(in);
}

expected<model_operands> get_model(schema::ModelOperands::Reader in) {
  model_operands out;
  out.spec = std::string{in.getSpec().begin(), in.getSpec().size()};
  if (out.spec.size() > 4096)
    return corrupted("model spec of " + std::to_string(out.spec.size()) + " bytes");
  for (auto [to, from] :
       {std::pair{&out.weights, in.getWeights()}, std::pair{&out.x, in.getX()},
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
  case schema::Workload::MATMUL:
    return workload_kind::matmul;
  case schema::Workload::INFER:
    return workload_kind::infer;
  case schema::Workload::TRAIN_STEP:
    return workload_kind::train_step;
  case schema::Workload::TRAIN:
    return workload_kind::train;
  }
  return corrupted("unknown workload " + std::to_string(static_cast<int>(in)));
}

std::string get_text(capnp::Text::Reader in) {
  return {in.begin(), in.size()};
}

void set_report(schema::TaskReport::Builder out, const nexus::task_report& x) {
  out.setTaskId(x.task_id);
  out.setLabel(x.label);
  out.setState(static_cast<schema::TaskState>(x.state));
  out.setShardCount(x.shard_count);
  out.setShardsValidated(x.shards_validated);
  out.setShardsInFlight(x.shards_in_flight);
  out.setResultsRejected(x.results_rejected);
  out.setResultsUnchecked(x.results_unchecked);
  out.setVerdictsOverturned(x.verdicts_overturned);
  out.setSubmissionNonce(x.submission_nonce);
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

expected<nexus::task_report> get_report(schema::TaskReport::Reader in) {
  nexus::task_report out;
  auto state =
      get_enum<task_state>(static_cast<uint16_t>(in.getState()),
                           static_cast<uint16_t>(task_state::cancelled), "task state");
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
  out.submission_nonce = in.getSubmissionNonce();
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
    out.epochs.push_back({e.getEpoch(), e.getLoss(), e.getTrainAccuracy(),
                          e.getTestAccuracy(), e.getSeconds()});
  for (auto v : in.getLossCurve())
    out.loss_curve.push_back(v);
  return out;
}

void set_node(schema::NodeInfo::Builder out, const nexus::node_info& x) {
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

expected<nexus::node_info> get_node(schema::NodeInfo::Reader in) {
  auto role = get_enum<node_role>(static_cast<uint16_t>(in.getRole()),
                                  static_cast<uint16_t>(node_role::ledger), "role");
  if (!role)
    return role.error();
  if (in.getName().size() == 0 || in.getName().size() > 256)
    return corrupted("node name of " + std::to_string(in.getName().size()) + " bytes");
  auto bytes = [](capnp::Data::Reader d) {
    return std::vector<uint8_t>(d.begin(), d.end());
  };
  nexus::node_info out{get_text(in.getName()),   *role,
                       get_text(in.getDevice()), in.getThreads(),
                       in.getGflops(),           in.getSlots(),
                       bytes(in.getPublicKey()), bytes(in.getNonce()),
                       bytes(in.getSignature())};
  if ((!out.public_key.empty() && out.public_key.size() != 32) || out.nonce.size() > 64
      || (!out.signature.empty() && out.signature.size() != 64))
    return corrupted("node " + out.name + ": malformed key, challenge or signature");
  return out;
}

void set_verdict(schema::Verdict::Builder out, const nexus::verdict& x) {
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

expected<nexus::verdict> get_verdict(schema::Verdict::Reader in) {
  nexus::verdict out{in.getTaskId(),
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

capnp::Data::Reader data_of(std::span<const uint8_t> x) {
  return {x.data(), x.size()};
}

} // namespace nexus::wire
