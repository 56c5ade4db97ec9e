// The field readers and writers every message family's codec shares (tensors, blobs,
// operands, enums, text, digests), each checking what it reads. Only messages/*.cpp
// include this.
#pragma once

#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <capnp/message.h>

#include "compute/errc.hpp"
#include "messages/codec.hpp"
#include "messages/task.capnp.h"
#include "messages/types.hpp"

namespace nexus::wire {

// An optional SHA-256: empty leaves `out` zero.
error get_result_digest(capnp::Data::Reader in, chain::digest& out, const char* what);

error corrupted(std::string what);

void set_shape(capnp::List<uint64_t>::Builder out, const compute::shape_t& shape);

expected<compute::shape_t> get_shape(capnp::List<uint64_t>::Reader in);

// The values are referenced, not copied: `x` must outlive the message builder (every
// encode() flattens its builder before returning). Odd sizes are copied, since a
// referenced blob_payload is written out to its next 8-byte boundary.
void set_tensor(schema::Tensor::Builder out, const compute::tensor& x);

expected<compute::tensor> get_tensor(schema::Tensor::Reader in);

void set_blob(schema::BlobRef::Builder out, const nexus::blob_ref& x);

expected<nexus::blob_ref> get_blob(schema::BlobRef::Reader in);

void set_operands(schema::MatmulOperands::Builder out, const matmul_operands& x);

expected<matmul_operands> get_operands(schema::MatmulOperands::Reader in);

void set_model(schema::ModelOperands::Builder out, const model_operands& x);

// A blob_payload reference that may be unset (no id at all).
expected<nexus::blob_ref> get_optional_blob(schema::BlobRef::Reader in);

expected<model_operands> get_model(schema::ModelOperands::Reader in);

void set_train(schema::TrainOptions::Builder out, const train_options& x);

expected<train_options> get_train(schema::TrainOptions::Reader in);

expected<workload_kind> get_workload(schema::Workload in);

std::string get_text(capnp::Text::Reader in);

void set_report(schema::TaskReport::Builder out, const nexus::task_report& x);

expected<nexus::task_report> get_report(schema::TaskReport::Reader in);

void set_node(schema::NodeInfo::Builder out, const nexus::node_info& x);

expected<nexus::node_info> get_node(schema::NodeInfo::Reader in);

void set_verdict(schema::Verdict::Builder out, const nexus::verdict& x);

expected<nexus::verdict> get_verdict(schema::Verdict::Reader in);

std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader in);

void set_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& in);

capnp::Data::Reader data_of(std::span<const uint8_t> x);

template <class Enum>
expected<Enum> get_enum(uint16_t raw, uint16_t last, const char* what) {
  if (raw > last)
    return corrupted(std::string{"unknown "} + what + " " + std::to_string(raw));
  return static_cast<Enum>(raw);
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

template <class Array>
error get_bytes(capnp::Data::Reader in, Array& out, const char* what) {
  if (in.size() != out.size())
    return corrupted(std::string{what} + " of " + std::to_string(in.size())
                     + " bytes (expected " + std::to_string(out.size()) + ")");
  std::copy(in.begin(), in.end(), out.begin());
  return {};
}

} // namespace nexus::wire
