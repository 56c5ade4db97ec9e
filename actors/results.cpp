#include "actors/results.hpp"

#include <utility>

#include "actors/blob_store.hpp"
#include "chain/encoding.hpp"
#include "chain/hash.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"

namespace nexus {

chain::digest output_digest(const compute::tensor& t) {
  constexpr std::size_t merkle_row_bytes = std::size_t{64} << 10;
  auto bytes = std::span{reinterpret_cast<const uint8_t*>(t.data()), t.size() * sizeof(float)};
  auto row_bytes = t.cols() * sizeof(float);
  if (t.shape().size() != 2 || t.rows() < 2 || row_bytes < merkle_row_bytes)
    return chain::sha256(bytes);
  return chain::merkle_root(sha256_pieces(bytes, row_bytes));
}

chain::digest result_statement(const shard_output& r, const chain::digest& output) {
  chain::writer w;
  w.text("nexus/result/1");
  w.u64(r.task_id);
  w.u32(r.shard_id);
  w.u32(r.attempt);
  w.text(r.worker);
  w.fixed(output);
  w.text(r.error);
  return chain::sha256(w.data());
}

caf::error authenticate(const shard_output& r, const chain::digest& output,
                        const expectation_info& expected, chain::statement_verifier& verify) {
  if (r.worker != expected.worker)
    return make_error(errc::rejected, "the result names worker " + r.worker
                                        + " but the shard was assigned to " + expected.worker);
  if (!expected.worker_key)
    return caf::none; // an open network's worker that joined without a key signs nothing
  if (!verify(*expected.worker_key, result_statement(r, output), r.signature))
    return make_error(errc::rejected, "the result's signature is not " + expected.worker
                                        + "'s for this task, shard and attempt");
  return caf::none;
}

chain::digest output_digest(const wire::shard_result& raw, const shard_output& decoded) {
  return raw.payload_digest() ? *raw.payload_digest() : output_digest(decoded.output);
}

void result_batch::add(shard_output r) {
  outputs_.push_back(output_digest(r.output));
  statements_.push_back(result_statement(r, outputs_.back()));
  results_.push_back(std::move(r));
}

std::vector<sealed_result> result_batch::sign(const std::optional<chain::node_key>& key) {
  if (key && !results_.empty()) {
    auto sigs = chain::sign_statements(statements_, result_tag, *key);
    for (std::size_t i = 0; i < results_.size(); ++i)
      results_[i].signature = std::move(sigs[i]);
  }
  std::vector<sealed_result> out;
  out.reserve(results_.size());
  for (std::size_t i = 0; i < results_.size(); ++i) {
    auto r = std::make_shared<const shard_output>(std::move(results_[i]));
    out.push_back({r->task_id, r->shard_id, r->attempt, wire::encode_shared(r)});
    out.back().msg.remember_payload_digest(outputs_[i]);
  }
  results_.clear();
  outputs_.clear();
  statements_.clear();
  return out;
}

} // namespace nexus
