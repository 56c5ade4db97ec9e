// The matmul workload: C = A * B split into row blocks of C.
//
// How a task splits (make_plan), how a shard runs (execute), how its result is checked
// without redoing it (freivalds_probe + verify) and how results merge (merge). Pure
// functions over tensors: no actors, no I/O, safe to call from any thread.
//
// Verification is Freivalds' check. The validator draws a secret n x r matrix X of random
// ±1 entries (r = rounds) and precomputes B*X once per task. For a block of rows R it
// accepts C_R only if, for every row i and round j,
//     |(A_R (B X) - C_R X)_ij|  <=  tolerance * (|A_R| |B| 1)_i / sqrt(n).
// The right side bounds the rounding error an honest float32 product accumulates, in any
// summation order, on any device; see docs/ARCHITECTURE.md. A block with one element
// wrong by more than that bound fails every round; errors that could cancel each other
// survive one round with probability at most 1/2, so all r rounds with at most 2^-r.
// Cost: O((rows * k + rows * n) * r) per shard, against O(rows * k * n) to recompute.
//
// The check needs C_R only through its fingerprint C_R X (rows x r numbers), so a node
// that holds a large block can compute the fingerprint for the validator's X and send
// that instead of the block (see actors/aggregator.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute::matmul {

/// Rows [row_begin, row_end) of C.
struct shard_range {
  uint32_t id = 0;
  std::size_t row_begin = 0;
  std::size_t row_end = 0;

  std::size_t rows() const noexcept {
    return row_end - row_begin;
  }

  friend bool operator==(const shard_range&, const shard_range&) = default;
};

struct plan {
  std::size_t m = 0; // rows of A and C
  std::size_t k = 0; // cols of A, rows of B
  std::size_t n = 0; // cols of B and C
  std::vector<shard_range> shards;
};

/// Default number of shards per worker when the submitter does not ask for a count:
/// more than one lets validation of early shards overlap the computation of later ones.
constexpr std::size_t shards_per_worker = 2;

/// Smallest block worth a shard of its own, in rows, unless the submitter asks.
constexpr std::size_t min_rows_per_shard = 32;

/// Most elements of A, B or C: 1 GiB of float32, what one message between nodes carries.
constexpr std::size_t max_elements = std::size_t{1} << 28;

/// Checks that A (m x k) and B (k x n) can be multiplied and that A, B and C each hold
/// at most max_elements, naming the shapes if not.
error check_operands(const shape_t& a, const shape_t& b);

/// Splits the m rows of C into `requested` shards, or into shards_per_worker per worker
/// if `requested` is 0. Never more shards than rows; sizes differ by at most one row.
expected<plan> make_plan(const shape_t& a, const shape_t& b, std::size_t workers,
                         std::size_t requested);

/// Computes rows `r` of A * B.
tensor execute(const tensor& a, const tensor& b, shard_range r);

/// A validator's secret for one task: X and B*X.
class freivalds_probe {
public:
  /// Draws X from `seed`; seeds must be secret from workers and fresh per task.
  freivalds_probe(const tensor& b, unsigned rounds, uint64_t seed);

  unsigned rounds() const noexcept {
    return static_cast<unsigned>(x_.cols());
  }

  /// X, n x rounds: what a holder of C_R needs to compute its fingerprint.
  tensor probe_matrix() const;

  /// Checks the rows `r` of C, given as `c_block`, against A. Returns none when the
  /// block passes, or errc::rejected naming the first row that failed and by how much.
  error verify(const tensor& a, shard_range r, const tensor& c_block,
               double tolerance) const;

  /// The same check given only C_R X (see fingerprint()).
  error verify_fingerprint(const tensor& a, shard_range r, const tensor& cx,
                           double tolerance) const;

private:
  using fmatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  fmatrix x_;                 // n x rounds, entries +-1
  fmatrix bx_;                // k x rounds
  Eigen::VectorXf b_row_abs_; // k: sum_j |B_lj|
};

/// C_R X for a block of C and a probe matrix X (n x rounds); errc::rejected if the
/// block does not have n columns or holds no rows.
expected<tensor> fingerprint(const tensor& c_block, const tensor& x);

/// Copies a verified block into its rows of the output C (m x n).
void merge(tensor& c, shard_range r, const tensor& c_block);

/// Default relative tolerance of verification (see the bound above).
constexpr double default_tolerance = 1e-5;

/// Default number of Freivalds rounds: a cancelling error survives with p <= 2^-8.
constexpr unsigned default_rounds = 8;

} // namespace nexus::compute::matmul
