// Shard results bound to their worker: what a worker signs, and how a judge checks it.
//
// A result statement is SHA-256 over (task, shard, attempt, worker, digest of the output's
// raw values, error text), so a signature covers exactly one attempt of one shard by one
// worker: a result replayed for another attempt, or claimed for another worker, fails.
// Workers sign their results in batches (chain/statements.hpp) when shards come faster
// than signatures: one Ed25519 signature per batch, and one verification per batch for
// a judge that remembers the roots it verified.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chain/identity.hpp"
#include "chain/statements.hpp"
#include "compute/errc.hpp"
#include "messages/codec.hpp"
#include "messages/types.hpp"

namespace nexus {

/// What result signatures sign under (chain::sign_statements' tag).
inline constexpr std::string_view result_tag = "nexus/result-batch/1";

/// The digest of a tensor's raw float32 values: SHA-256 of them, or, for a tensor of
/// rows of at least 64 KiB each (a round's gradients), the Merkle root (chain/merkle.hpp)
/// over each row's row_commitment, the rows on every core. A worker commits to each
/// micro-batch gradient of a training shard that way before any sample is drawn.
chain::digest output_digest(const compute::tensor& t);

/// How many values of a wide row row_commitment scales together.
inline constexpr std::size_t row_commitment_piece = 4096;

/// What a wide row is committed to: SHA-256 over its pieces of row_commitment_piece
/// values, each scaled by the power of two that puts its largest magnitude in
/// [2^14, 2^15) and written in IEEE half precision after that exponent. Every value is
/// bound to within 2^-11 of itself or 2^-39 of its piece's largest, whichever is more:
/// finer than training's default tolerance (1e-3 of a row's largest gradient), for half
/// the bytes to hash. The same bits on every processor (compute/kernels/half.hpp). A
/// piece holding an infinity or NaN is hashed as it is.
chain::digest row_commitment(std::span<const float> row);

/// The statement a worker signs for `r`, whose output has digest `output`.
chain::digest result_statement(const shard_output& r, const chain::digest& output);

/// Why `r` is not the signed result of the expected worker, or none. `output` is the
/// digest of its output; `verify` checks signatures (it may remember batches it checked).
error authenticate(const shard_output& r, const chain::digest& output,
                   const expectation& expected, chain::statement_verifier& verify);

/// The digest of a result's output: the one its envelope carries from its creator in this
/// process, or computed over `decoded` (which `raw` decoded to).
chain::digest output_digest(const wire::shard_output& raw, const shard_output& decoded);

/// A signed result ready to send: which attempt it answers, and its envelope.
struct sealed_result {
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 0;
  wire::shard_output msg;
};

/// Signs results in batches: add each as it is computed, then sign() when it is time to
/// send them (the worker's mailbox is empty, or the batch is large or slow to fill).
class result_batch {
public:
  void add(shard_output r);

  bool empty() const noexcept {
    return results_.empty();
  }

  std::size_t size() const noexcept {
    return results_.size();
  }

  /// The batch's results, signed with `key` if there is one, each encoded with the digest
  /// of its output; leaves the batch empty.
  std::vector<sealed_result> sign(const std::optional<chain::node_key>& key);

private:
  std::vector<shard_output> results_;
  std::vector<chain::digest> outputs_;
  std::vector<chain::digest> statements_;
};

} // namespace nexus
