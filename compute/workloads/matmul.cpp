#include "compute/workloads/matmul.hpp"

#include <cassert>
#include <cmath>
#include <cstring>
#include <random>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/kernels/sgemm.hpp"

namespace nexus::compute::matmul {

error check_operands(const shape_t& a, const shape_t& b) {
  if (a.size() != 2 || b.size() != 2)
    return make_error(errc::invalid_input, "A is " + to_string(a) + " and B is "
                                               + to_string(b) + " (both must be matrices)");
  if (a[0] == 0 || a[1] == 0 || b[1] == 0)
    return make_error(errc::invalid_input, "A is " + to_string(a) + " and B is "
                                               + to_string(b) + " (empty operand)");
  if (a[1] != b[0])
    return make_error(errc::invalid_input, "A is " + to_string(a) + " but B is "
                                               + to_string(b)
                                               + " (inner dimensions differ)");
  // Doubles: the products of two dimensions may overflow 64 bits.
  auto too_large = [](double rows, double cols) {
    return rows * cols > static_cast<double>(max_elements);
  };
  auto gib = [](double rows, double cols) {
    return std::to_string(static_cast<uint64_t>(std::ceil(rows * cols * 4 / (1 << 30))));
  };
  for (auto [name, rows, cols] : {std::tuple{"A", a[0], a[1]}, std::tuple{"B", b[0], b[1]},
                                  std::tuple{"C = A * B", a[0], b[1]}})
    if (too_large(static_cast<double>(rows), static_cast<double>(cols)))
      return make_error(
          errc::exhausted,
          std::string{name} + " would be " + std::to_string(rows) + "x"
              + std::to_string(cols) + " (" + gib(rows, cols)
              + " GiB), above the 1 GiB (2^28 values) a matrix may have here");
  return {};
}

expected<plan> make_plan(const shape_t& a, const shape_t& b, std::size_t workers,
                         std::size_t requested) {
  if (auto err = check_operands(a, b))
    return err;
  plan out{a[0], a[1], b[1], {}};
  std::size_t count = requested;
  if (count == 0) {
    count = std::max<std::size_t>(1, workers) * shards_per_worker;
    count = std::min(count, std::max<std::size_t>(1, out.m / min_rows_per_shard));
  }
  count = std::min(count, out.m);
  auto base = out.m / count;
  auto extra = out.m % count;
  std::size_t row = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto rows = base + (i < extra ? 1 : 0);
    out.shards.push_back({static_cast<uint32_t>(i), row, row + rows});
    row += rows;
  }
  assert(row == out.m);
  return out;
}

tensor execute(const tensor& a, const tensor& b, shard_range r) {
  assert(r.row_end <= a.rows() && a.cols() == b.rows());
  tensor c{r.rows(), b.cols()};
  gemm(a.data() + r.row_begin * a.cols(), b.data(), c.data(), r.rows(), a.cols(), b.cols());
  return c;
}

freivalds_probe::freivalds_probe(const tensor& b, unsigned rounds, uint64_t seed) {
  auto n = static_cast<Eigen::Index>(b.cols());
  x_.resize(n, std::max(1u, rounds));
  std::mt19937_64 rng{seed};
  for (Eigen::Index i = 0; i < x_.size(); ++i)
    x_.data()[i] = (rng() & 1) ? 1.0f : -1.0f;
  auto bm = b.as_matrix();
  bx_.resize(bm.rows(), x_.cols());
  kernels::sgemm(false, false, b.rows(), static_cast<std::size_t>(x_.cols()), b.cols(),
                 1.0f, b.data(), b.cols(), x_.data(), static_cast<std::size_t>(x_.cols()),
                 0.0f, bx_.data(), static_cast<std::size_t>(x_.cols()));
  b_row_abs_ = bm.cwiseAbs().rowwise().sum();
}

tensor freivalds_probe::probe_matrix() const {
  tensor x{static_cast<std::size_t>(x_.rows()), static_cast<std::size_t>(x_.cols())};
  std::memcpy(x.data(), x_.data(), x.size() * sizeof(float));
  return x;
}

expected<tensor> fingerprint(const tensor& c_block, const tensor& x) {
  if (c_block.rank() != 2 || x.rank() != 2 || c_block.cols() != x.rows()
      || c_block.rows() == 0)
    return make_error(errc::rejected, "block is " + to_string(c_block.shape())
                                          + ", expected rows x "
                                          + std::to_string(x.rows()));
  tensor cx{c_block.rows(), x.cols()};
  kernels::sgemm(false, false, c_block.rows(), x.cols(), c_block.cols(), 1.0f,
                 c_block.data(), c_block.cols(), x.data(), x.cols(), 0.0f, cx.data(),
                 x.cols());
  return cx;
}

error freivalds_probe::verify(const tensor& a, shard_range r, const tensor& c_block,
                              double tolerance) const {
  if (c_block.rank() != 2 || c_block.rows() != r.rows()
      || static_cast<Eigen::Index>(c_block.cols()) != x_.rows())
    return make_error(errc::rejected, "block is " + to_string(c_block.shape())
                                          + ", expected " + std::to_string(r.rows()) + "x"
                                          + std::to_string(x_.rows()));
  auto cx = fingerprint(c_block, probe_matrix());
  if (!cx)
    return cx.error();
  return verify_fingerprint(a, r, *cx, tolerance);
}

error freivalds_probe::verify_fingerprint(const tensor& a, shard_range r, const tensor& cx,
                                          double tolerance) const {
  auto n = x_.rows();
  if (cx.rank() != 2 || cx.rows() != r.rows()
      || static_cast<Eigen::Index>(cx.cols()) != x_.cols())
    return make_error(errc::rejected, "fingerprint is " + to_string(cx.shape())
                                          + ", expected " + std::to_string(r.rows()) + "x"
                                          + std::to_string(x_.cols()));
  auto rows = static_cast<Eigen::Index>(r.rows());
  auto k = static_cast<Eigen::Index>(a.cols());
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      a_block{a.data() + r.row_begin * a.cols(), rows, k};
  // float products: their rounding error is of the order of the honest error, far
  // below the bound (see the header).
  auto rounds = static_cast<std::size_t>(x_.cols());
  auto urows = static_cast<std::size_t>(rows);
  fmatrix axb(rows, x_.cols());
  kernels::sgemm(false, false, urows, rounds, a.cols(), 1.0f, a_block.data(), a.cols(),
                 bx_.data(), rounds, 0.0f, axb.data(), rounds);
  Eigen::VectorXf bound = a_block.cwiseAbs() * b_row_abs_;
  auto scale = tolerance / std::sqrt(static_cast<double>(n));
  for (Eigen::Index i = 0; i < rows; ++i) {
    auto limit = scale * bound(i);
    for (Eigen::Index j = 0; j < axb.cols(); ++j) {
      auto d = std::abs(double{axb(i, j)} - double{cx.data()[i * x_.cols() + j]});
      if (!(d <= limit)) // also rejects NaN and infinity
        return make_error(errc::rejected,
                          "Freivalds check failed at row "
                              + std::to_string(r.row_begin + static_cast<std::size_t>(i))
                              + " (deviation " + std::to_string(d) + " > bound "
                              + std::to_string(limit) + ")");
    }
  }
  return {};
}

void merge(tensor& c, shard_range r, const tensor& c_block) {
  assert(c_block.rows() == r.rows() && c_block.cols() == c.cols());
  std::memcpy(c.data() + r.row_begin * c.cols(), c_block.data(),
              c_block.size() * sizeof(float));
}

} // namespace nexus::compute::matmul
