#include "compute/nn/train.hpp"

#include <chrono>
#include <cmath>
#include <numbers>
#include <numeric>
#include <random>

#include <Eigen/Core>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include "compute/errc.hpp"
#include "compute/kernels/sgemm.hpp"

namespace nexus::compute::nn {

expected<optimizer_kind> parse_optimizer(const std::string& name) {
  if (name == "sgd")
    return optimizer_kind::sgd;
  if (name == "adam")
    return optimizer_kind::adam;
  return make_error(errc::invalid_input, "unknown optimizer '" + name + "' (sgd, adam)");
}

expected<lr_schedule> parse_schedule(const std::string& name) {
  if (name == "constant")
    return lr_schedule::constant;
  if (name == "cosine")
    return lr_schedule::cosine;
  return make_error(errc::invalid_input,
                    "unknown schedule '" + name + "' (constant, cosine)");
}

std::string to_string(optimizer_kind x) {
  return x == optimizer_kind::sgd ? "sgd" : "adam";
}

std::string to_string(lr_schedule x) {
  return x == lr_schedule::constant ? "constant" : "cosine";
}

double scheduled_lr(lr_schedule schedule, double base, uint64_t step, uint64_t total) {
  if (schedule == lr_schedule::constant || total == 0)
    return base;
  auto progress = std::min(1.0, static_cast<double>(step) / static_cast<double>(total));
  return base * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

optimizer::optimizer(const train_config& config, std::size_t parameters)
    : config_(config)
    , parameters_(parameters)
    , state_(state_rows(config.optimizer) * parameters, 0.0f) {}

optimizer::optimizer(const train_config& config, std::span<const float> state,
                     uint64_t steps)
    : config_(config)
    , parameters_(state.size() / state_rows(config.optimizer))
    , state_(state.begin(), state.end())
    , t_(steps) {}

void optimizer::step(std::span<float> params, std::span<const float> grad, double lr,
                     float grad_scale) {
  ++t_;
  auto correction1 = 1.0 - std::pow(config_.beta1, static_cast<double>(t_));
  auto correction2 = 1.0 - std::pow(config_.beta2, static_cast<double>(t_));
  // Blocks of parameters on every core: in a training run this step is what the workers
  // wait for. Adam's square roots and divisions run in the widest vectors the processor
  // has (kernels::adam).
  constexpr std::size_t block = std::size_t{1} << 15;
  tbb::parallel_for(
      std::size_t{0}, (params.size() + block - 1) / block, [&](std::size_t b) {
        auto begin = b * block;
        auto n = static_cast<Eigen::Index>(std::min(block, params.size() - begin));
        Eigen::Map<Eigen::ArrayXf> p{params.data() + begin, n};
        Eigen::Map<Eigen::ArrayXf> m{state_.data() + begin, n};
        Eigen::Map<const Eigen::ArrayXf> raw{grad.data() + begin, n};
        auto g = grad_scale * raw;
        if (config_.optimizer
            == optimizer_kind::sgd) { // PyTorch's form: v = mu v + g; p -= lr v
          m = static_cast<float>(config_.momentum) * m + g;
          p -= static_cast<float>(lr) * m;
          return;
        }
        kernels::adam(
            params.data() + begin, state_.data() + begin,
            state_.data() + parameters_ + begin, grad.data() + begin,
            static_cast<std::size_t>(n), grad_scale, static_cast<float>(config_.beta1),
            static_cast<float>(config_.beta2), static_cast<float>(lr / correction1),
            static_cast<float>(std::sqrt(correction2)), static_cast<float>(config_.eps));
      });
}

std::vector<uint32_t> epoch_order(std::size_t n, uint64_t seed, std::size_t epoch) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 rng{seed * 0x9e3779b97f4a7c15ull + epoch};
  // Fisher-Yates with our own draws: std::shuffle's use of the engine is unspecified,
  // and every node must derive the same order.
  for (std::size_t i = n; i > 1; --i) {
    auto j = static_cast<std::size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

void gather(const dataset& d, std::span<const uint32_t> rows, std::vector<float>& x,
            std::vector<int32_t>& y) {
  auto cols = d.x.cols();
  x.resize(rows.size() * cols);
  y.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(d.x.data() + std::size_t{rows[i]} * cols, cols, x.data() + i * cols);
    y[i] = d.y[rows[i]];
  }
}

std::size_t steps_per_epoch(std::size_t n, std::size_t batch) {
  return batch == 0 ? 0 : (n + batch - 1) / batch;
}

void train_local(mlp& model, const dataset& train, const dataset* test,
                 const train_config& config,
                 const std::function<void(const epoch_report&)>& on_epoch) {
  optimizer opt{config, model.parameters().size()};
  auto steps = steps_per_epoch(train.size(), config.batch);
  auto total = steps * config.epochs;
  auto cols = train.x.cols();
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<float> grad(model.parameters().size());
  tbb::combinable<std::vector<float>> partial{
      [&] { return std::vector<float>(model.parameters().size()); }};
  constexpr std::size_t micro = 32; // rows per task
  for (std::size_t epoch = 1; epoch <= config.epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    auto order = epoch_order(train.size(), config.seed, epoch);
    batch_stats stats;
    for (std::size_t s = 0; s < steps; ++s) {
      auto begin = s * config.batch;
      auto rows = std::min(config.batch, train.size() - begin);
      gather(train, std::span{order}.subspan(begin, rows), x, y);
      partial.clear();
      tbb::combinable<batch_stats> part_stats;
      tbb::parallel_for(std::size_t{0}, (rows + micro - 1) / micro, [&](std::size_t t) {
        auto first = t * micro;
        auto count = std::min(micro, rows - first);
        part_stats.local() +=
            model.gradient(x.data() + first * cols, y.data() + first, count,
                           partial.local(), 1.0f / static_cast<float>(rows));
      });
      std::fill(grad.begin(), grad.end(), 0.0f);
      partial.combine_each([&](const std::vector<float>& g) {
        for (std::size_t i = 0; i < grad.size(); ++i)
          grad[i] += g[i];
      });
      part_stats.combine_each([&](const batch_stats& b) { stats += b; });
      opt.step(model.parameters(), grad,
               scheduled_lr(config.schedule, config.lr, (epoch - 1) * steps + s, total));
    }
    epoch_report r;
    r.epoch = epoch;
    r.loss = stats.loss_sum / static_cast<double>(std::max<std::size_t>(stats.rows, 1));
    r.train_accuracy = static_cast<double>(stats.correct)
                       / static_cast<double>(std::max<std::size_t>(stats.rows, 1));
    if (test) {
      auto t = model.evaluate(test->x.data(), test->y.data(), test->size());
      r.test_accuracy = static_cast<double>(t.correct) / static_cast<double>(test->size());
    }
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_epoch)
      on_epoch(r);
  }
}

} // namespace nexus::compute::nn
