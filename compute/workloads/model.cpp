#include "compute/workloads/model.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

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

// Where micro-batch `index` of a batch lies in the epoch's order of `n` samples:
// [first, first + rows).
std::pair<std::size_t, std::size_t> micro_span(const batch_ref& batch, std::size_t index,
                                               std::size_t n) {
  auto first = batch.batch_begin + index * batch.micro_rows;
  auto last = std::min<std::size_t>(
      {batch.batch_begin + batch.batch_rows, first + batch.micro_rows, n});
  return {first, last > first ? last - first : 0};
}

// One micro-batch's row: gradient, loss sum, correct count. The row must be all zeros
// (the gradient is added to it): a fresh tensor's are, and a reused buffer must be
// cleared first.
void micro_batch(const nn::mlp& model, const tensor& x, const tensor& labels,
                 const batch_ref& batch, std::size_t index, float* row,
                 gemm_device* device = nullptr, std::string* fallback = nullptr) {
  const auto& order = order_of(x.rows(), batch.seed, batch.epoch);
  auto [first, rows] = micro_span(batch, index, order.size());
  auto cols = x.cols();
  // The gathered samples, in buffers each thread keeps (a fresh 200 KB each time was
  // zeroed only to be overwritten).
  thread_local std::vector<float> xs;
  thread_local std::vector<int32_t> ys;
  xs.resize(std::max(xs.size(), rows * cols));
  ys.resize(std::max(ys.size(), rows));
  for (std::size_t i = 0; i < rows; ++i) {
    auto r = order[first + i];
    std::copy_n(x.data() + std::size_t{r} * cols, cols, xs.data() + i * cols);
    ys[i] = static_cast<int32_t>(labels.values()[r]);
  }
  auto params = model.parameters().size();
  auto stats = device ? device->mlp_gradient(model, xs.data(), ys.data(), rows,
                                             {row, params}, 1.0f, fallback)
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

// Largest |a - b| over a row, against tolerance * max(scale, largest |b|). Rows are a
// model's worth of values and every sampled row is compared: Eigen's packet reductions
// keep this a small part of a validator's time (a scalar loop in double was 3.5 % of a
// training run's CPU).
bool row_matches(const float* a, const float* b, std::size_t n, double tolerance,
                 double scale) {
  if (n == 0)
    return true;
  using values = Eigen::Map<const Eigen::ArrayXf>;
  values theirs{a, static_cast<Eigen::Index>(n)};
  values mine{b, static_cast<Eigen::Index>(n)};
  auto gap = (theirs - mine).abs();
  // The sum of the gaps is NaN exactly when a gap is (they are never negative), which
  // the largest gap's reduction need not report.
  if (std::isnan(gap.sum()))
    return false;
  auto largest = std::max(scale, static_cast<double>(mine.abs().maxCoeff()));
  return static_cast<double>(gap.maxCoeff()) <= tolerance * largest;
}

// Checks a lane's starting point against the model.
error check_start(const nn::model_spec& spec, lane_start start,
                  const nn::train_config& config) {
  auto params = spec.parameter_count();
  auto state = nn::optimizer::state_rows(config.optimizer) * params;
  if (start.weights.size() != params || start.state.size() != state)
    return make_error(errc::invalid_input,
                      "a round starts from " + std::to_string(start.weights.size())
                          + " weights and " + std::to_string(start.state.size())
                          + " optimizer values; " + spec.text() + " with "
                          + nn::to_string(config.optimizer) + " needs "
                          + std::to_string(params) + " and " + std::to_string(state));
  return {};
}

// Walks one lane's steps from `start`: `row_of(j, model)` gives step j's row at the
// lane's model before that step (computed, or read and checked), or an error; the
// optimizer then steps by that row's gradient, averaged over the micro-batch.
// Stops after `steps` steps.
template <class RowOf>
error walk_lane(lane_start start, std::size_t samples, const round_ref& round,
                std::size_t lane, std::size_t steps, nn::mlp& model, nn::optimizer& opt,
                RowOf&& row_of) {
  std::copy(start.weights.values().begin(), start.weights.values().end(),
            model.parameters().begin());
  opt = nn::optimizer{round.optimizer, start.state.values(), round.first_step};
  for (std::size_t j = 0; j < std::min<std::size_t>(steps, round.local_steps); ++j) {
    expected<const float*> row = row_of(j, model);
    if (!row)
      return row.error();
    auto rows = micro_span(round.step_batch(j), lane, samples).second;
    if (rows > 0)
      opt.step(model.parameters(), {*row, model.parameters().size()}, round.step_lr(j),
               1.0f / static_cast<float>(rows));
  }
  return {};
}

} // namespace

batch_ref round_ref::step_batch(std::size_t j) const noexcept {
  auto b = batch;
  b.batch_begin += j * batch.batch_rows;
  return b;
}

double round_ref::step_lr(std::size_t j) const noexcept {
  return nn::scheduled_lr(optimizer.schedule, optimizer.lr, first_step + j, total_steps);
}

expected<tensor> train_round(const nn::model_spec& spec, lane_start start, const tensor& x,
                             const tensor& labels, const round_ref& round,
                             std::size_t begin, std::size_t end, gemm_device* device,
                             std::string* fallback) {
  if (auto err = check_start(spec, start, round.optimizer))
    return err;
  auto width = spec.parameter_count() + 2;
  tensor out{(end - begin) * round.local_steps, width};
  nn::mlp model{spec};
  nn::optimizer opt{round.optimizer, 0};
  for (auto lane = begin; lane < end; ++lane) {
    float* rows = out.data() + (lane - begin) * round.local_steps * width;
    auto err = walk_lane(start, x.rows(), round, lane, round.local_steps, model, opt,
                         [&](std::size_t j, const nn::mlp& at) -> expected<const float*> {
                           float* row = rows + j * width;
                           micro_batch(at, x, labels, round.step_batch(j), lane, row,
                                       device, fallback);
                           return row;
                         });
    if (err)
      return err;
  }
  return out;
}

error replay_lane(lane_start start, std::size_t samples, const round_ref& round,
                  std::size_t lane, const float* rows, nn::mlp& model, nn::optimizer& opt,
                  const step_hook& on_step, std::size_t steps) {
  if (auto err = check_start(model.spec(), start, round.optimizer))
    return err;
  auto width = model.parameters().size() + 2;
  return walk_lane(start, samples, round, lane, steps, model, opt,
                   [&](std::size_t j, const nn::mlp& at) -> expected<const float*> {
                     if (on_step)
                       if (auto err = on_step(j, at))
                         return err;
                     return rows + j * width;
                   });
}

error check_round(const nn::model_spec& spec, lane_start start, const tensor& x,
                  const tensor& labels, const round_ref& round, std::size_t begin,
                  std::size_t end, const tensor& output, double sample_rate,
                  double tolerance, std::mt19937_64& rng) {
  auto width = spec.parameter_count() + 2;
  auto steps = round.local_steps;
  if (output.rows() != (end - begin) * steps || output.cols() != width)
    return make_error(errc::rejected, "result has shape " + to_string(output.shape())
                                          + ", expected "
                                          + std::to_string((end - begin) * steps) + "x"
                                          + std::to_string(width));
  // Which (lane, step) rows to recompute, drawn before any replay.
  auto picked = sample((end - begin) * steps, sample_rate, 0, rng);
  std::vector<float> mine(width);
  nn::mlp model{spec};
  nn::optimizer opt{round.optimizer, 0};
  auto next = picked.begin();
  for (auto lane = begin; lane < end && next != picked.end(); ++lane) {
    const float* rows = output.data() + (lane - begin) * steps * width;
    auto first = (lane - begin) * steps;
    if (*next >= first + steps)
      continue; // nothing picked in this lane
    // Replay only as far as the lane's last picked row.
    auto last =
        *std::prev(std::upper_bound(picked.begin(), picked.end(), first + steps - 1));
    auto err = replay_lane(
        start, x.rows(), round, lane, rows, model, opt,
        [&](std::size_t j, const nn::mlp& at) -> error {
          if (next == picked.end() || *next != first + j)
            return {};
          ++next;
          std::fill(mine.begin(), mine.end(), 0.0f);
          micro_batch(at, x, labels, round.step_batch(j), lane, mine.data());
          const float* theirs = rows + j * width;
          auto params = width - 2;
          if (!row_matches(theirs, mine.data(), params, tolerance, 1e-3)
              || !row_matches(theirs + params, mine.data() + params, 2, tolerance, 1.0))
            return make_error(errc::rejected, "the gradient of lane " + std::to_string(lane)
                                                  + " at step " + std::to_string(j + 1)
                                                  + " differs from its recomputation");
          return {};
        },
        last - first + 1);
    if (err)
      return err;
  }
  return {};
}

std::size_t batch_ref::micro_batches() const noexcept {
  return micro_rows == 0 ? 0 : (batch_rows + micro_rows - 1) / micro_rows;
}

expected<nn::mlp> with_weights(const nn::model_spec& spec, const tensor& weights) {
  nn::mlp m{spec};
  if (weights.size() != m.parameters().size())
    return make_error(errc::invalid_input, "weights hold " + std::to_string(weights.size())
                                               + " values; " + spec.text() + " has "
                                               + std::to_string(m.parameters().size())
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
    micro_batch(model, x, labels, batch, i, out.data() + (i - begin) * width, device,
                fallback);
  return out;
}

error check_infer(const nn::mlp& model, const tensor& x, std::size_t begin, std::size_t end,
                  const tensor& output, double sample_rate, double tolerance,
                  std::mt19937_64& rng) {
  auto classes = model.spec().outputs();
  if (output.rows() != end - begin || output.cols() != classes)
    return make_error(errc::rejected, "result has shape " + to_string(output.shape())
                                          + ", expected " + std::to_string(end - begin)
                                          + "x" + std::to_string(classes));
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
  // The sampled rows are gathered and recomputed in one forward pass: one row at a time
  // is a matrix-vector product per layer: 21 us of CPU a row for mlp:784-256-128-10
  // against 7.5 in a batch, so a 5 % sample of 10,000 rows cost its validator 10.6 ms of
  // CPU, an eighth of the whole inference task's.
  auto picked = sample(end - begin, sample_rate, 1, rng);
  if (picked.empty())
    return {};
  auto inputs = x.cols();
  std::vector<float> rows(picked.size() * inputs);
  for (std::size_t j = 0; j < picked.size(); ++j)
    std::copy_n(x.data() + (begin + picked[j]) * inputs, inputs, rows.data() + j * inputs);
  auto mine = model.probabilities(rows.data(), picked.size());
  for (std::size_t j = 0; j < picked.size(); ++j)
    if (!row_matches(output.data() + picked[j] * classes, mine.data() + j * classes,
                     classes, tolerance, 1.0))
      return make_error(errc::rejected, "row " + std::to_string(begin + picked[j])
                                            + " differs from its recomputation");
  return {};
}

error check_train(const nn::mlp& model, const tensor& x, const tensor& labels,
                  const batch_ref& batch, std::size_t begin, std::size_t end,
                  const tensor& output, double sample_rate, double tolerance,
                  std::mt19937_64& rng) {
  auto width = model.parameters().size() + 2;
  if (output.rows() != end - begin || output.cols() != width)
    return make_error(errc::rejected, "result has shape " + to_string(output.shape())
                                          + ", expected " + std::to_string(end - begin)
                                          + "x" + std::to_string(width));
  std::vector<float> mine(width);
  for (auto i : sample(end - begin, sample_rate, 0, rng)) {
    std::fill(mine.begin(), mine.end(), 0.0f);
    micro_batch(model, x, labels, batch, begin + i, mine.data());
    const float* theirs = output.data() + i * width;
    auto params = width - 2;
    if (!row_matches(theirs, mine.data(), params, tolerance, 1e-3)
        || !row_matches(theirs + params, mine.data() + params, 2, tolerance, 1.0))
      return make_error(errc::rejected, "the gradient of micro-batch "
                                            + std::to_string(begin + i)
                                            + " differs from its recomputation");
  }
  return {};
}

} // namespace nexus::compute::model_workload
