#include "compute/tensor.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "compute/pages.hpp"

namespace nexus::compute {

std::size_t element_count(const shape_t& shape) noexcept {
  if (shape.empty())
    return 0;
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>{});
}

tensor::tensor(shape_t shape)
    : shape_(std::move(shape)) {
  resize_fresh(data_, element_count(shape_));
}

tensor::tensor(shape_t shape, std::vector<float> values)
    : shape_(std::move(shape))
    , data_(std::move(values)) {
  assert(data_.size() == element_count(shape_));
}

std::size_t tensor::cols() const noexcept {
  if (shape_.size() < 2)
    return shape_.empty() ? 0 : 1;
  return std::accumulate(shape_.begin() + 1, shape_.end(), std::size_t{1},
                         std::multiplies<>{});
}

std::string to_string(const shape_t& shape) {
  std::string out;
  for (auto dim : shape) {
    if (!out.empty())
      out += 'x';
    out += std::to_string(dim);
  }
  return out.empty() ? "scalar" : out;
}

tensor random_tensor(shape_t shape, uint64_t seed) {
  tensor out{std::move(shape)};
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<float> dist{-1.0f, 1.0f};
  for (auto& x : out.values())
    x = dist(rng);
  return out;
}

double max_relative_difference(const tensor& a, const tensor& b) {
  assert(a.shape() == b.shape());
  double worst = 0;
  double scale = 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto diff = std::abs(double{a.data()[i]} - double{b.data()[i]});
    if (!(diff <= worst)) // NaN propagates instead of being skipped
      worst = diff;
    scale = std::max(scale, std::abs(double{b.data()[i]}));
  }
  return worst / scale;
}

error check_finite(const tensor& x, const std::string& what) {
  auto v = x.values();
  auto bad = std::find_if(v.begin(), v.end(), [](float f) { return !std::isfinite(f); });
  if (bad == v.end())
    return {};
  return make_error(errc::invalid_input,
                    what + " holds " + (std::isnan(*bad) ? "NaN" : "an infinity")
                        + " (element " + std::to_string(bad - v.begin())
                        + "): operands must be finite numbers");
}

} // namespace nexus::compute
