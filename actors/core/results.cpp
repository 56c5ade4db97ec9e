#include "actors/core/results.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include <tbb/parallel_for.h>

#include "chain/encoding.hpp"
#include "chain/hash.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"
#include "compute/kernels/half.hpp"

namespace nexus {

chain::digest row_commitment(std::span<const float> row) {
  auto bytes_of = [](const auto* p, std::size_t n) {
    return std::span{reinterpret_cast<const uint8_t*>(p), n * sizeof(*p)};
  };
  chain::sha256_stream out;
  std::array<uint16_t, row_commitment_piece> half;
  // Piece by piece, while the piece is in the core's cache.
  for (std::size_t i = 0; i < row.size(); i += row_commitment_piece) {
    auto n = std::min(row_commitment_piece, row.size() - i);
    const float* piece = row.data() + i;
    auto largest = compute::kernels::largest_magnitude_bits(piece, n);
    if (largest >= 0x7f800000u) { // an infinity or NaN: the values as they are
      out.update(bytes_of("f", 1));
      out.update(bytes_of(piece, n));
      continue;
    }
    // Scale by 2^k so that the largest magnitude lies in [2^14, 2^15): with the biased
    // exponent e it is below 2^(e - 126). Pieces below 2^-113 scale by 2^127.
    auto exponent = static_cast<int>(largest >> 23);
    auto k = static_cast<int8_t>(exponent >= 14 ? 141 - exponent : 127);
    compute::kernels::to_half(piece, n, std::ldexp(1.0f, k), half.data());
    out.update(bytes_of("h", 1));
    out.update(bytes_of(&k, 1));
    out.update(bytes_of(half.data(), n));
  }
  return out.finish();
}

chain::digest output_digest(const compute::tensor& t) {
  constexpr std::size_t merkle_row_bytes = std::size_t{64} << 10;
  auto cols = t.cols();
  if (t.shape().size() != 2 || t.rows() < 2 || cols * sizeof(float) < merkle_row_bytes)
    return chain::sha256(
        {reinterpret_cast<const uint8_t*>(t.data()), t.size() * sizeof(float)});
  std::vector<chain::digest> rows(t.rows());
  tbb::parallel_for(std::size_t{0}, rows.size(), [&](std::size_t i) {
    rows[i] = row_commitment({t.data() + i * cols, cols});
  });
  return chain::merkle_root(rows);
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

error authenticate(const shard_output& r, const chain::digest& output,
                   const expectation& expected, chain::statement_verifier& verify) {
  if (r.worker != expected.worker)
    return make_error(errc::rejected, "the result names worker " + r.worker
                                          + " but the shard was assigned to "
                                          + expected.worker);
  if (!expected.worker_key)
    return {}; // an open network's worker that joined without a key signs nothing
  if (!verify(*expected.worker_key, result_statement(r, output), r.signature))
    return make_error(errc::rejected, "the result's signature is not " + expected.worker
                                          + "'s for this task, shard and attempt");
  return {};
}

chain::digest output_digest(const wire::shard_output& raw, const shard_output& decoded) {
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
