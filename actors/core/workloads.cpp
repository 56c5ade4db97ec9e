#include "actors/core/workloads.hpp"

#include <chrono>
#include <algorithm>
#include <cmath>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/nn/model.hpp"
#include "compute/workloads/matmul.hpp"
#include "compute/workloads/model.hpp"

namespace nexus {

namespace {

namespace mw = compute::model_workload;

constexpr std::size_t min_rows_per_infer_shard = 256;

error invalid(const std::string& why) {
  return make_error(errc::invalid_input, why);
}

mw::batch_ref batch_of(const model_operands& m) {
  return {m.seed, m.epoch, m.batch_begin, m.batch_rows, m.micro_rows};
}

// A round of local steps' description (m.local_steps > 0).
expected<mw::round_ref> round_of(const model_operands& m) {
  mw::round_ref r;
  r.batch = batch_of(m);
  r.local_steps = m.local_steps;
  auto opt = compute::nn::parse_optimizer(m.optimizer);
  if (!opt)
    return opt.error();
  auto schedule = compute::nn::parse_schedule(m.schedule);
  if (!schedule)
    return schedule.error();
  r.optimizer.optimizer = *opt;
  r.optimizer.schedule = *schedule;
  r.optimizer.lr = m.lr;
  r.first_step = m.first_step;
  r.total_steps = m.total_steps;
  return r;
}

// Checks a round of local steps' settings against the model and the samples.
error check_round_operands(const model_operands& m, const compute::nn::model_spec& spec) {
  auto round = round_of(m);
  if (!round)
    return round.error();
  if (m.local_steps > 1'000'000)
    return invalid("a round of over a million local steps");
  if (!(m.lr > 0 && m.lr < 10))
    return invalid("the learning rate must be in (0, 10)");
  auto rows = compute::nn::optimizer::state_rows(round->optimizer.optimizer);
  if (compute::element_count(m.state.shape) != rows * spec.parameter_count())
    return invalid("the optimizer state holds " + std::to_string(compute::element_count(m.state.shape))
                   + " values; " + m.optimizer + " for " + spec.text() + " keeps "
                   + std::to_string(rows * spec.parameter_count()));
  if (m.batch_begin + (uint64_t{m.local_steps} - 1) * m.batch_rows >= m.x.shape[0])
    return invalid("the round's batches lie outside the samples");
  return {};
}

// Rows [0, rows) in `count` shards whose sizes differ by at most one.
std::vector<compute::matmul::shard_range> split(std::size_t rows, std::size_t count) {
  count = std::clamp<std::size_t>(count, 1, std::max<std::size_t>(rows, 1));
  std::vector<compute::matmul::shard_range> out;
  std::size_t row = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto n = rows / count + (i < rows % count ? 1 : 0);
    out.push_back({static_cast<uint32_t>(i), row, row + n});
    row += n;
  }
  return out;
}

error check_model_operands(const task_request& req, const compute::nn::model_spec& spec) {
  const auto& m = req.model;
  if (m.x.shape.size() != 2 || m.x.shape[0] == 0)
    return invalid("the samples must be a non-empty matrix, got " + compute::to_string(m.x.shape));
  if (m.x.shape[1] != spec.inputs())
    return invalid(spec.text() + " takes " + std::to_string(spec.inputs())
                   + " features, the samples have " + std::to_string(m.x.shape[1]));
  bool needs_labels = req.workload != workload_kind::infer;
  if (needs_labels && (m.y.shape.empty() || m.y.shape[0] != m.x.shape[0]
                       || compute::element_count(m.y.shape) != m.x.shape[0]))
    return invalid("the labels must be one per sample: " + std::to_string(m.x.shape[0])
                   + " samples, labels of shape " + compute::to_string(m.y.shape));
  if (req.workload == workload_kind::infer
      && static_cast<double>(m.x.shape[0]) * static_cast<double>(spec.outputs())
           > static_cast<double>(compute::matmul::max_elements))
    return make_error(errc::exhausted,
                      "the output would be " + std::to_string(m.x.shape[0]) + "x"
                        + std::to_string(spec.outputs())
                        + ", above the 2^28 values (1 GiB) a matrix may have here");
  if (req.workload != workload_kind::train
      && compute::element_count(m.weights.shape) != spec.parameter_count())
    return invalid("the weights hold " + std::to_string(compute::element_count(m.weights.shape))
                   + " values; " + spec.text() + " has "
                   + std::to_string(spec.parameter_count()) + " parameters");
  return {};
}

} // namespace

uint64_t work_units(std::size_t rows, double flops_per_row) {
  return std::max<uint64_t>(
    1, static_cast<uint64_t>(std::ceil(static_cast<double>(rows) * flops_per_row / 1e6)));
}

error complete_request(task_request& req) {
  if (req.max_attempts > 100 || req.verify_rounds > 64
      || !(req.tolerance >= 0 && req.tolerance < 1))
    return invalid("attempts, verification rounds or tolerance out of range");
  if (req.replicas == 1)
    req.replicas = 0;
  if (req.replicas > 9)
    return invalid("replicate:" + std::to_string(req.replicas) + " is more than 9 replicas");
  if (req.workload == workload_kind::matmul) {
    if (auto err = compute::matmul::check_operands(req.matmul.a.shape, req.matmul.b.shape))
      return err;
    if (req.verify_rounds == 0)
      req.verify_rounds = compute::matmul::default_rounds;
    if (req.tolerance == 0)
      req.tolerance = compute::matmul::default_tolerance;
    return {};
  }
  auto spec = compute::nn::parse_model_spec(req.model.spec);
  if (!spec)
    return spec.error();
  if (auto err = check_model_operands(req, *spec))
    return err;
  auto& m = req.model;
  if (!(m.sample_rate >= 0 && m.sample_rate <= 1))
    return invalid("the sample rate must be in [0, 1]");
  if (m.sample_rate == 0)
    m.sample_rate = req.workload == workload_kind::infer ? mw::default_infer_sample
                                                         : mw::default_train_sample;
  if (req.tolerance == 0)
    req.tolerance = mw::default_tolerance;
  if (req.workload == workload_kind::train_step) {
    if (m.micro_rows == 0)
      m.micro_rows = mw::default_micro_rows;
    if (m.local_steps > 0)
      return m.batch_rows == 0 ? invalid("a round's batches have no samples")
                               : check_round_operands(m, *spec);
    if (m.batch_rows == 0 || m.batch_begin + m.batch_rows > m.x.shape[0])
      return invalid("the batch lies outside the samples");
  }
  return {};
}

expected<work_plan> plan_work(const task_request& req, std::size_t workers) {
  workers = std::max<std::size_t>(workers, 1);
  work_plan p;
  switch (req.workload) {
    case workload_kind::matmul: {
      auto mp = compute::matmul::make_plan(req.matmul.a.shape, req.matmul.b.shape, workers,
                                           req.shards);
      if (!mp)
        return mp.error();
      p.rows = mp->m;
      p.flops_per_row = 2.0 * static_cast<double>(mp->k) * static_cast<double>(mp->n);
      p.output_shape = {mp->m, mp->n};
      p.shards = std::move(mp->shards);
      return p;
    }
    case workload_kind::infer: {
      auto spec = compute::nn::parse_model_spec(req.model.spec);
      if (!spec)
        return spec.error();
      p.rows = req.model.x.shape[0];
      p.flops_per_row = spec->forward_flops();
      p.output_shape = {p.rows, spec->outputs()};
      auto count = req.shards ? req.shards
                              : std::min(workers * compute::matmul::shards_per_worker,
                                         std::max<std::size_t>(1, p.rows / min_rows_per_infer_shard));
      p.shards = split(p.rows, count);
      return p;
    }
    case workload_kind::train_step: {
      auto spec = compute::nn::parse_model_spec(req.model.spec);
      if (!spec)
        return spec.error();
      p.rows = batch_of(req.model).micro_batches(); // micro-batches, or a round's lanes
      auto steps = std::max<std::size_t>(req.model.local_steps, 1);
      // Forward and backward: about three forward passes.
      p.flops_per_row = 3.0 * spec->forward_flops() * req.model.micro_rows * static_cast<double>(steps);
      p.output_shape = {1, spec->parameter_count() + 2};
      if (req.model.local_steps > 0) {
        auto round = round_of(req.model);
        if (!round)
          return round.error();
        p.output_shape[0] += compute::nn::optimizer::state_rows(round->optimizer.optimizer);
      }
      p.shards = split(p.rows, req.shards ? req.shards : workers);
      return p;
    }
    case workload_kind::train:
      break;
  }
  return invalid("a training run has no shards of its own");
}

namespace {

// The output of an inference or training shard.
expected<compute::tensor> run_model_shard(const shard_task& task, blob_store& store,
                                               compute::gemm_device* device,
                                               std::string* fallback) {
  const auto& m = task.model;
  auto spec = compute::nn::parse_model_spec(m.spec);
  if (!spec)
    return spec.error();
  auto weights = store.get(m.weights);
  auto x = store.get(m.x);
  if (!weights || !x)
    return !weights ? weights.error() : x.error();
  if (task.workload == workload_kind::train_step && m.local_steps > 0) {
    auto y = store.get(m.y);
    auto state = store.get(m.state);
    auto round = round_of(m);
    if (!y || !state || !round)
      return !y ? y.error() : !state ? state.error() : round.error();
    return mw::train_round(*spec, {**weights, **state}, **x, **y, *round, task.row_begin,
                           task.row_end, device, fallback);
  }
  auto model = mw::with_weights(*spec, **weights);
  if (!model)
    return model.error();
  if (task.workload == workload_kind::infer)
    return device ? device->mlp_probabilities(*model, (*x)->data() + task.row_begin * (*x)->cols(),
                                              task.row_end - task.row_begin, fallback)
                  : mw::infer(*model, **x, task.row_begin, task.row_end);
  auto y = store.get(m.y);
  if (!y)
    return y.error();
  return mw::train_step(*model, **x, **y, batch_of(m), task.row_begin, task.row_end, device,
                        fallback);
}

} // namespace

shard_output run_shard(const shard_task& task, blob_store& store, compute::gemm_device* device,
                       std::string* fallback) {
  shard_output out{task.task_id, task.shard_id, task.attempt, {}, {}, 0, {}};
  auto start = std::chrono::steady_clock::now();
  auto fail = [&](const error& err) {
    out.error = describe(err);
    return out;
  };
  if (task.workload == workload_kind::matmul) {
    auto a = store.get(task.matmul.a);
    auto b = store.get(task.matmul.b);
    if (!a || !b)
      return fail(!a ? a.error() : b.error());
    if (auto err = compute::matmul::check_operands((*a)->shape(), (*b)->shape()))
      return fail(err);
    compute::matmul::shard_range range{task.shard_id, task.row_begin, task.row_end};
    if (device) {
      out.output = compute::tensor{range.rows(), (*b)->cols()};
      auto why = device->gemm((*a)->data() + range.row_begin * (*a)->cols(), (*b)->data(),
                              out.output.data(), range.rows(), (*a)->cols(), (*b)->cols());
      if (fallback)
        *fallback = std::move(why);
    } else {
      out.output = compute::matmul::execute(**a, **b, range);
    }
  } else {
    auto output = run_model_shard(task, store, device, fallback);
    if (!output)
      return fail(output.error());
    out.output = std::move(*output);
  }
  out.compute_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count());
  return out;
}

error check_model_shard(const shard_task& task, const shard_output& result,
                             blob_store& store, std::mt19937_64& rng) {
  const auto& m = task.model;
  auto spec = compute::nn::parse_model_spec(m.spec);
  if (!spec)
    return spec.error();
  auto weights = store.get(m.weights);
  auto x = store.get(m.x);
  if (!weights || !x)
    return make_error(errc::unavailable, "validator lacks operands: "
                                           + describe(!weights ? weights.error() : x.error()));
  if (task.workload == workload_kind::infer) {
    auto model = mw::with_weights(*spec, **weights);
    if (!model)
      return model.error();
    return mw::check_infer(*model, **x, task.row_begin, task.row_end, result.output,
                           m.sample_rate, task.tolerance, rng);
  }
  auto y = store.get(m.y);
  if (!y)
    return make_error(errc::unavailable, "validator lacks operands: " + describe(y.error()));
  if (m.local_steps > 0) {
    auto state = store.get(m.state);
    if (!state)
      return make_error(errc::unavailable, "validator lacks operands: " + describe(state.error()));
    auto round = round_of(m);
    if (!round)
      return round.error();
    return mw::check_round(*spec, {**weights, **state}, **x, **y, *round, task.row_begin,
                           task.row_end, result.output, m.sample_rate, task.tolerance, rng);
  }
  auto model = mw::with_weights(*spec, **weights); // a synchronous step's
  if (!model)
    return model.error();
  return mw::check_train(*model, **x, **y, batch_of(m), task.row_begin, task.row_end,
                         result.output, m.sample_rate, task.tolerance, rng);
}

expected<output_builder> output_builder::start(const shard_task& task, blob_store* store) {
  output_builder b;
  if (task.shard_count == 0)
    return make_error(errc::corrupted, "assignment of a task without shards");
  switch (task.workload) {
    case workload_kind::matmul: {
      const auto& a = task.matmul.a.shape;
      const auto& bs = task.matmul.b.shape;
      if (a.size() != 2 || bs.size() != 2)
        return make_error(errc::corrupted, "assignment without matrix shapes");
      b.output_ = wire::output_message{task.task_id, {a[0], bs[1]}};
      break;
    }
    case workload_kind::infer:
    case workload_kind::train_step: {
      auto spec = compute::nn::parse_model_spec(task.model.spec);
      if (!spec)
        return spec.error();
      auto width = spec->parameter_count() + 2;
      b.summed_ = task.workload == workload_kind::train_step;
      if (task.workload == workload_kind::infer) {
        b.output_ = wire::output_message{task.task_id, {task.model.x.shape.at(0), spec->outputs()}};
      } else if (task.model.local_steps == 0) {
        b.output_ = wire::output_message{task.task_id, {1, width}};
      } else {
        auto round = round_of(task.model);
        if (!round)
          return round.error();
        if (!store)
          return make_error(errc::unavailable, "no blob store to replay a round from");
        auto weights = store->get(task.model.weights);
        auto state = store->get(task.model.state);
        if (!weights || !state)
          return !weights ? weights.error() : state.error();
        auto opt = round->optimizer;
        b.round_ = std::make_shared<round_merge>(round_merge{
          *round, *weights, *state, task.model.x.shape.at(0), compute::nn::mlp{*spec},
          compute::nn::optimizer{opt, 0}, 0});
        b.rows_per_unit_ = task.model.local_steps;
        b.output_ = wire::output_message{
          task.task_id, {1 + compute::nn::optimizer::state_rows(opt.optimizer), width}};
      }
      break;
    }
    case workload_kind::train:
      return make_error(errc::corrupted, "a training run has no shards");
  }
  b.merged_.assign(task.shard_count, false);
  b.remaining_ = task.shard_count;
  return b;
}

expected<bool> output_builder::add(const shard_task& task, const compute::tensor& block) {
  if (task.shard_id >= merged_.size() || merged_[task.shard_id])
    return false; // a duplicate of a re-issued shard
  auto rows = (task.row_end - task.row_begin) * rows_per_unit_;
  auto cols = output_.cols();
  if (block.rows() != rows || block.cols() != cols)
    return make_error(errc::corrupted, "validated block has the wrong shape");
  auto out = output_.values();
  if (round_) {
    auto part = lanes_of(task, block);
    if (!part)
      return part.error();
    add_in_order(task.shard_id, std::move(*part));
  } else if (summed_) {
    std::vector<float> part(cols);
    Eigen::Map<Eigen::RowVectorXf> sum{part.data(), static_cast<Eigen::Index>(cols)};
    auto b = block.as_matrix();
    for (Eigen::Index r = 0; r < b.rows(); ++r)
      sum += b.row(r);
    add_in_order(task.shard_id, std::move(part));
  } else {
    auto first = task.row_begin * rows_per_unit_;
    if ((first + rows) * cols > out.size())
      return make_error(errc::corrupted, "validated block lies outside the output");
    std::copy_n(block.data(), block.size(), out.data() + first * cols);
  }
  merged_[task.shard_id] = true;
  --remaining_;
  return true;
}

expected<std::vector<float>> output_builder::lanes_of(const shard_task& task,
                                                          const compute::tensor& block) {
  auto& r = *round_;
  auto params = r.model.parameters().size();
  auto width = params + 2;
  std::vector<float> part(output_.values().size());
  Eigen::Map<Eigen::ArrayXf> weights{part.data(), static_cast<Eigen::Index>(params)};
  for (auto lane = task.row_begin; lane < task.row_end; ++lane) {
    const float* rows = block.data() + (lane - task.row_begin) * rows_per_unit_ * width;
    if (auto err = compute::model_workload::replay_lane({*r.weights, *r.state}, r.samples,
                                                        r.round, lane, rows, r.model, r.opt))
      return make_error(errc::corrupted, "replaying lane " + std::to_string(lane) + ": "
                                           + describe(err));
    for (std::size_t j = 0; j < rows_per_unit_; ++j) {
      part[params] += rows[j * width + params];
      part[params + 1] += rows[j * width + params + 1];
    }
    if (r.opt.steps() == r.round.first_step)
      continue; // a lane without samples (in the epoch's last, short batch)
    ++r.moved;
    weights += Eigen::Map<const Eigen::ArrayXf>{r.model.parameters().data(),
                                                static_cast<Eigen::Index>(params)};
    auto state = r.opt.state();
    for (std::size_t i = 0; i * params < state.size(); ++i)
      Eigen::Map<Eigen::ArrayXf>{part.data() + (i + 1) * width, static_cast<Eigen::Index>(params)} +=
        Eigen::Map<const Eigen::ArrayXf>{state.data() + i * params,
                                         static_cast<Eigen::Index>(params)};
  }
  return part;
}

void output_builder::add_in_order(uint32_t shard_id, std::vector<float> part) {
  early_.emplace(shard_id, std::move(part));
  auto out = output_.values();
  Eigen::Map<Eigen::ArrayXf> sum{out.data(), static_cast<Eigen::Index>(out.size())};
  for (auto next = early_.find(next_part_); next != early_.end(); next = early_.find(next_part_)) {
    sum += Eigen::Map<const Eigen::ArrayXf>{next->second.data(),
                                           static_cast<Eigen::Index>(next->second.size())};
    early_.erase(next);
    ++next_part_;
  }
}

wire::final_output output_builder::take() {
  if (round_) { // the lanes' sums into their mean
    auto& r = *round_;
    auto params = r.model.parameters().size();
    auto width = params + 2;
    auto out = output_.values();
    auto rows = out.size() / width;
    for (std::size_t i = 0; i < rows; ++i) {
      Eigen::Map<Eigen::ArrayXf> row{out.data() + i * width, static_cast<Eigen::Index>(params)};
      if (r.moved > 0)
        row /= static_cast<float>(r.moved);
      else // no lane moved: the start stands
        row = Eigen::Map<const Eigen::ArrayXf>{
          (i == 0 ? r.weights : r.state)->data() + (i == 0 ? 0 : (i - 1) * params),
          static_cast<Eigen::Index>(params)};
    }
  }
  return output_.finish();
}

bool output_builder::revoke(uint32_t shard_id) {
  if (summed_ || shard_id >= merged_.size() || !merged_[shard_id])
    return false;
  merged_[shard_id] = false; // the rows stay until the new result overwrites them
  ++remaining_;
  return true;
}

} // namespace nexus
