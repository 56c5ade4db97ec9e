// A dense, row-major float32 tensor that owns its values.
//
// Rank 1 or 2 in practice (vectors, matrices, batches of rows); rows() is the first
// dimension and cols() the product of the others. A plain value type: copying copies the
// data, moving is cheap. Not synchronized: share it read-only (e.g. as
// std::shared_ptr<const tensor>) or give each thread its own.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "compute/errc.hpp"

namespace nexus::compute {

using shape_t = std::vector<std::size_t>;

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<matrix>;
using const_matrix_map = Eigen::Map<const matrix>;

class tensor {
public:
  tensor() = default;

  /// Zero-filled tensor of the given shape.
  explicit tensor(shape_t shape);

  /// Zero-filled rows x cols matrix.
  tensor(std::size_t rows, std::size_t cols)
      : tensor(shape_t{rows, cols}) {}

  /// Takes `values`, which must hold exactly the product of `shape` elements.
  tensor(shape_t shape, std::vector<float> values);

  const shape_t& shape() const noexcept {
    return shape_;
  }

  std::size_t rank() const noexcept {
    return shape_.size();
  }

  std::size_t rows() const noexcept {
    return shape_.empty() ? 0 : shape_[0];
  }

  /// Product of every dimension after the first (1 for a vector).
  std::size_t cols() const noexcept;

  std::size_t size() const noexcept {
    return data_.size();
  }

  bool empty() const noexcept {
    return data_.empty();
  }

  float* data() noexcept {
    return data_.data();
  }

  const float* data() const noexcept {
    return data_.data();
  }

  std::span<float> values() noexcept {
    return data_;
  }

  std::span<const float> values() const noexcept {
    return data_;
  }

  float& operator()(std::size_t row, std::size_t col) noexcept {
    return data_[row * cols() + col];
  }

  float operator()(std::size_t row, std::size_t col) const noexcept {
    return data_[row * cols() + col];
  }

  /// Views as a rows() x cols() Eigen matrix.
  matrix_map as_matrix() noexcept {
    return {data_.data(), static_cast<Eigen::Index>(rows()),
            static_cast<Eigen::Index>(cols())};
  }

  const_matrix_map as_matrix() const noexcept {
    return {data_.data(), static_cast<Eigen::Index>(rows()),
            static_cast<Eigen::Index>(cols())};
  }

  friend bool operator==(const tensor&, const tensor&) = default;

private:
  shape_t shape_;
  std::vector<float> data_;
};

/// "512x300", as used in error messages.
std::string to_string(const shape_t& shape);

/// Number of elements of a shape; 0 for an empty shape.
std::size_t element_count(const shape_t& shape) noexcept;

/// Uniform values in [-1, 1) from a fixed seed: the same seed gives the same tensor.
tensor random_tensor(shape_t shape, uint64_t seed);

/// Errors (errc::invalid_input, naming `what` and the first bad element) if `x` holds a
/// NaN or an infinity: work on such operands cannot be checked, and would cost honest
/// workers penalties.
error check_finite(const tensor& x, const std::string& what);

/// Largest |a - b| over all elements, relative to max(1, largest |b|). Shapes must match.
double max_relative_difference(const tensor& a, const tensor& b);

} // namespace nexus::compute
