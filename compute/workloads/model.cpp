#include "compute/workloads/model.hpp"

#include <algorithm>
#include <cmath>

#include "compute/errc.hpp"
#include "compute/nn/train.hpp"

namespace nexus::compute::model_workload {

namespace {

// The epoch's order, computed once per thread for the epoch at hand: every shard of a
// step, and every step of an epoch, reads the same one.
const std::vector<uint32_t>& order_of(std::size_t n, uint64_t seed, uint32_t epoch) {
  thread_local std::vector<uint32_t> order;
  thread_local std::tuple<std::size_t, uint64_t, uint32_t> key{0, 0, 0};
  if (key != std::tuple{n, seed, epoch} || order.size() != n) {
    order = nn::epoch_order(n, seed, epoch);
    key = {n, seed, epoch};
  }
  return order;
}

// One micro-batch's row: gradient, loss sum, correct count.
void micro_batch(const nn::mlp& model, const tensor& x, const tensor& labels,
                 const batch_ref& batch, std::size_t index, float* row,
                 gemm_device* device = nullptr, std::string* fallback = nullptr) {
  const auto& order = order_of(x.rows(), batch.seed, batch.epoch);
  auto first = batch.batch_begin + index * batch.micro_rows;
  auto last = std::min<std::size_t>({batch.batch_begin + batch.batch_rows,
                                     first + batch.micro_rows, order.size()});
  auto rows = last > first ? last - first : 0;
  auto cols = x.cols();
  std::vector<float> xs(rows * cols);
  std::vector<int32_t> ys(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    auto r = order[first + i];
    std::copy_n(x.data() + std::size_t{r} * cols, cols, xs.data() + i * cols);
    ys[i] = static_cast<int32_t>(labels.values()[r]);
  }
  auto params = model.parameters().size();
  std::fill_n(row, params + 2, 0.0f);
  auto stats = device ? device->mlp_gradient(model, xs.data(), ys.data(), rows, {row, params},
                                             1.0f, fallback)
                      : model.gradient(xs.data(), ys.data(), rows, {row, params});
  row[params] = static_cast<float>(stats.loss_sum);
  row[params + 1] = static_cast<float>(stats.correct);
}

// Which of `count` rows a validator recomputes: each with probability `rate`, and at
// least `floor` of them.
std::vector<std::size_t> sample(std::size_t count, double rate, std::size_t floor,
                                std::mt19937_64& rng) {
  std::vector<std::size_t> out;
  std::bernoulli_distribution pick{std::clamp(rate, 0.0, 1.0)};
  for (std::size_t i = 0; i < count; ++i)
    if (pick(rng))
      out.push_back(i);
  if (out.size() < std::min(floor, count)) {
    std::uniform_int_distribution<std::size_t> any{0, count - 1};
    out.push_back(any(rng));
  }
  return out;
}

// Largest |a - b| over a row, against tolerance * max(scale, largest |b|).
bool row_matches(const float* a, const float* b, std::size_t n, double tolerance,
                 double scale) {
  double largest = scale;
  double diff = 0;
  for (std::size_t i = 0; i < n; ++i) {
    largest = std::max(largest, static_cast<double>(std::fabs(b[i])));
    auto d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= diff)) // NaN-safe: a NaN makes diff NaN and fails below
      diff = d;
  }
  return diff <= tolerance * largest;
}

} // namespace

std::size_t batch_ref::micro_batches() const noexcept {
  return micro_rows == 0 ? 0 : (batch_rows + micro_rows - 1) / micro_rows;
}

caf::expected<nn::mlp> with_weights(const nn::model_spec& spec, const tensor& weights) {
  nn::mlp m{spec};
  if (weights.size() != m.parameters().size())
    return make_error(errc::invalid_input,
                      "weights hold " + std::to_string(weights.size()) + " values; "
                        + spec.text() + " has " + std::to_string(m.parameters().size())
                        + " parameters");
  std::copy(weights.values().begin(), weights.values().end(), m.parameters().begin());
  return m;
}

tensor infer(const nn::mlp& model, const tensor& x, std::size_t begin, std::size_t end) {
  return model.probabilities(x.data() + begin * x.cols(), end - begin);
}

tensor train_step(const nn::mlp& model, const tensor& x, const tensor& labels,
                  const batch_ref& batch, std::size_t begin, std::size_t end,
                  gemm_device* device, std::string* fallback) {
  auto width = model.parameters().size() + 2;
  tensor out{end - begin, width};
  for (auto i = begin; i < end; ++i)
    micro_batch(model, x, labels, batch, i, out.data() + (i - begin) * width, device, fallback);
  return out;
}

caf::error check_infer(const nn::mlp& model, const tensor& x, std::size_t begin,
                       std::size_t end, const tensor& output, double sample_rate,
                       double tolerance, std::mt19937_64& rng) {
  auto classes = model.spec().outputs();
  if (output.rows() != end - begin || output.cols() != classes)
    return make_error(errc::rejected, "result has shape " + to_string(output.shape())
                                        + ", expected " + std::to_string(end - begin) + "x"
                                        + std::to_string(classes));
  // Every row must be a probability distribution: cheap, and it catches any change that
  // is not a careful exchange of values within a row, which the sample is there for.
  for (std::size_t i = 0; i < output.rows(); ++i) {
    const float* row = output.data() + i * classes;
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      if (!(row[c] >= 0.0f && row[c] <= 1.0f)) // also NaN
        return make_error(errc::rejected, "row " + std::to_string(begin + i)
                                            + " holds a value that is no probability");
      sum += row[c];
    }
    if (!(std::abs(sum - 1.0) <= 1e-3))
      return make_error(errc::rejected, "row " + std::to_string(begin + i) + " sums to "
                                          + std::to_string(sum) + ", not 1");
  }
  for (auto i : sample(end - begin, sample_rate, 1, rng)) {
    auto mine = model.probabilities(x.data() + (begin + i) * x.cols(), 1);
    if (!row_matches(output.data() + i * classes, mine.data(), classes, tolerance, 1.0))
      return make_error(errc::rejected, "row " + std::to_string(begin + i)
                                          + " differs from its recomputation");
  }
  return caf::none;
}

caf::error check_train(const nn::mlp& model, const tensor& x, const tensor& labels,
                       const batch_ref& batch, std::size_t begin, std::size_t end,
                       const tensor& output, double sample_rate, double tolerance,
                       std::mt19937_64& rng) {
  auto width = model.parameters().size() + 2;
  if (output.rows() != end - begin || output.cols() != width)
    return make_error(errc::rejected, "result has shape " + to_string(output.shape())
                                        + ", expected " + std::to_string(end - begin) + "x"
                                        + std::to_string(width));
  std::vector<float> mine(width);
  for (auto i : sample(end - begin, sample_rate, 0, rng)) {
    micro_batch(model, x, labels, batch, begin + i, mine.data());
    const float* theirs = output.data() + i * width;
    auto params = width - 2;
    if (!row_matches(theirs, mine.data(), params, tolerance, 1e-3)
        || !row_matches(theirs + params, mine.data() + params, 2, tolerance, 1.0))
      return make_error(errc::rejected, "the gradient of micro-batch "
                                          + std::to_string(begin + i)
                                          + " differs from its recomputation");
  }
  return caf::none;
}

} // namespace nexus::compute::model_workload
