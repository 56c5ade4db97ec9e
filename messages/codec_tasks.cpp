// The codec of one message family: submissions, their acknowledgement, status reports and
// final outputs.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "chain/contract.hpp"
#include "compute/pages.hpp"
#include "messages/codec.hpp"
#include "messages/fields.hpp"

namespace nexus::wire {

namespace {

void set_request(schema::TaskRequest::Builder out, const nexus::task_request& x) {
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
}

} // namespace

task_request encode(const nexus::task_request& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskRequest>();
  set_request(out, x);
  if (x.submitter_key != std::array<uint8_t, 32>{}) {
    out.setSubmitterKey({x.submitter_key.data(), x.submitter_key.size()});
    out.setNonce(x.nonce);
    out.setSubmitterSignature({x.submitter_signature.data(), x.submitter_signature.size()});
    out.setTaskId(x.task_id);
    auto hubs = out.initHubKeys(static_cast<unsigned>(x.hubs.size()));
    for (unsigned i = 0; i < x.hubs.size(); ++i)
      hubs.set(i, {x.hubs[i].data(), x.hubs[i].size()});
  }
  return task_request{builder};
}

chain::digest request_digest(const nexus::task_request& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskRequest>();
  set_request(out, x); // without the signature, which signs this digest
  auto words = capnp::canonicalize(out.asReader());
  auto bytes = words.asBytes();
  return chain::sha256({bytes.begin(), bytes.size()});
}

expected<nexus::task_request> decode(const task_request& x) {
  return x.read([](schema::TaskRequest::Reader in) -> expected<nexus::task_request> {
    nexus::task_request out;
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
    auto key = in.getSubmitterKey();
    auto sig = in.getSubmitterSignature();
    bool unsigned_ = key.size() == 0 && sig.size() == 0;
    if (!unsigned_
        && (key.size() != out.submitter_key.size()
            || sig.size() != out.submitter_signature.size()))
      return corrupted("a submitter key of 32 bytes with a signature of 64, or neither");
    std::copy(key.begin(), key.end(), out.submitter_key.begin());
    std::copy(sig.begin(), sig.end(), out.submitter_signature.begin());
    out.nonce = in.getNonce();
    out.task_id = unsigned_ ? 0 : in.getTaskId();
    auto hubs = in.getHubKeys();
    if (hubs.size() > chain::max_submission_hubs)
      return corrupted("a submission naming more than "
                       + std::to_string(chain::max_submission_hubs) + " hubs");
    for (auto hub : hubs) {
      if (unsigned_ || hub.size() != 32)
        return corrupted("a hub key of 32 bytes in a signed submission");
      std::copy(hub.begin(), hub.end(), out.hubs.emplace_back().begin());
    }
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

task_ack encode(const nexus::task_ack& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskAck>();
  out.setTaskId(x.task_id);
  out.setShardCount(x.shard_count);
  return task_ack{builder};
}

expected<nexus::task_ack> decode(const task_ack& x) {
  return x.read([](schema::TaskAck::Reader in) -> expected<nexus::task_ack> {
    return nexus::task_ack{in.getTaskId(), in.getShardCount()};
  });
}

cancel_request encode(const nexus::cancel_request& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::CancelRequest>();
  out.setTaskId(x.task_id);
  out.setSignature(capnp::Data::Reader{x.signature.data(), x.signature.size()});
  return cancel_request{builder};
}

expected<nexus::cancel_request> decode(const cancel_request& x) {
  return x.read([](schema::CancelRequest::Reader in) -> expected<nexus::cancel_request> {
    nexus::cancel_request out{.task_id = in.getTaskId(), .signature = {}};
    auto sig = in.getSignature();
    if (sig.size() != out.signature.size())
      return corrupted("cancel of task " + std::to_string(out.task_id)
                       + " with a signature of " + std::to_string(sig.size()) + " bytes");
    std::copy(sig.begin(), sig.end(), out.signature.begin());
    return out;
  });
}

std::vector<uint8_t> cancel_statement(uint64_t task_id, uint64_t nonce) {
  static constexpr std::string_view tag = "nexus/cancel/1";
  std::vector<uint8_t> out(tag.begin(), tag.end());
  for (auto x : {task_id, nonce})
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return out;
}

task_output encode(const nexus::task_output& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::TaskOutput>();
  out.setTaskId(x.task_id);
  set_tensor(out.initOutput(), x.output);
  return task_output{builder};
}

output_message::output_message(uint64_t task_id, compute::shape_t shape)
    : shape_(std::move(shape))
    , count_(compute::element_count(shape_)) {
  // One segment of exactly the message's size: the root pointer, the FinalOutput and
  // Tensor structs, the shape list and the values. Everything is zero until written.
  auto data_words =
      (count_ * sizeof(float) + sizeof(capnp::word) - 1) / sizeof(capnp::word);
  auto struct_words = [](auto size) { return std::size_t{size.data} + size.pointers; };
  auto words = 1 + struct_words(capnp::_::structSize<schema::TaskOutput>())
               + struct_words(capnp::_::structSize<schema::Tensor>()) + shape_.size()
               + data_words;
  compute::resize_fresh(bytes_, sizeof(capnp::word) + words * sizeof(capnp::word));
  // The segment table of a one-segment message: segment count - 1, then its size.
  uint32_t table[2] = {0, static_cast<uint32_t>(words)};
  std::memcpy(bytes_.data(), table, sizeof(table));
  capnp::FlatMessageBuilder builder{
      {reinterpret_cast<capnp::word*>(bytes_.data() + sizeof(capnp::word)), words}};
  auto out = builder.initRoot<schema::TaskOutput>();
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

task_output output_message::finish() {
  values_ = nullptr;
  count_ = 0;
  shape_.clear();
  return task_output{std::exchange(bytes_, {})};
}

expected<output_location> locate_output(const task_output& x) {
  auto located = x.read([](schema::TaskOutput::Reader in) -> expected<output_location> {
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
      && (begin < bytes.data()
          || begin + located->values.size() > bytes.data() + bytes.size()))
    return corrupted("an output whose bytes are not word-aligned");
  return located;
}

expected<nexus::task_output> decode(const task_output& x) {
  return x.read([](schema::TaskOutput::Reader in) -> expected<nexus::task_output> {
    auto output = get_tensor(in.getOutput());
    if (!output)
      return output.error();
    return nexus::task_output{in.getTaskId(), std::move(*output)};
  });
}

task_report encode(const nexus::task_report& x) {
  capnp::MallocMessageBuilder builder;
  set_report(builder.initRoot<schema::TaskReport>(), x);
  return task_report{builder};
}

expected<nexus::task_report> decode(const task_report& x) {
  return x.read(get_report);
}

task_reports encode(const std::vector<nexus::task_report>& x) {
  capnp::MallocMessageBuilder builder;
  auto list =
      builder.initRoot<schema::TaskReports>().initTasks(static_cast<unsigned>(x.size()));
  for (unsigned i = 0; i < x.size(); ++i)
    set_report(list[i], x[i]);
  return task_reports{builder};
}

expected<std::vector<nexus::task_report>> decode(const task_reports& x) {
  return x.read(
      [](schema::TaskReports::Reader in) -> expected<std::vector<nexus::task_report>> {
        std::vector<nexus::task_report> out;
        for (auto item : in.getTasks()) {
          auto report = get_report(item);
          if (!report)
            return report.error();
          out.push_back(std::move(*report));
        }
        return out;
      });
}

} // namespace nexus::wire
