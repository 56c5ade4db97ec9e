#include "actors/core/trainer.hpp"

#include <algorithm>
#include <cmath>

#include "chain/contract.hpp"
#include "chain/encoding.hpp"
#include "chain/hash.hpp"
#include "compute/errc.hpp"
#include "compute/workloads/model.hpp"

namespace nexus {

namespace {

constexpr double pending_accuracy = -2; // an epoch's test accuracy not yet measured
constexpr std::size_t curve_points_per_epoch = 20;

uint64_t nanos(std::chrono::steady_clock::duration d) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

expected<std::unique_ptr<training_run>>
training_run::start(uint64_t id, const task_request& req, std::shared_ptr<blob_store> store,
                    clock::time_point now) {
  auto bad = [](const std::string& why) { return make_error(errc::invalid_input, why); };
  const auto& t = req.train;
  if (t.epochs == 0 || t.epochs > 10'000)
    return bad("epochs must be 1 to 10000");
  if (t.batch == 0 || t.batch > 65'536)
    return bad("the batch must be 1 to 65536 samples");
  if (!(t.lr > 0 && t.lr < 10))
    return bad("the learning rate must be in (0, 10)");
  if (t.local_steps > 100'000)
    return bad("local steps must be 0 (synchronous steps) to 100000");
  auto optimizer = compute::nn::parse_optimizer(t.optimizer);
  if (!optimizer)
    return optimizer.error();
  auto schedule = compute::nn::parse_schedule(t.schedule);
  if (!schedule)
    return schedule.error();
  auto spec = compute::nn::parse_model_spec(req.model.spec);
  if (!spec)
    return spec.error();
  const auto& m = req.model;
  if (m.x.shape.size() != 2 || m.x.shape[0] == 0 || m.x.shape[1] != spec->inputs())
    return bad(spec->text() + " takes " + std::to_string(spec->inputs())
               + " features; the samples are " + compute::to_string(m.x.shape));
  if (compute::element_count(m.y.shape) != m.x.shape[0])
    return bad("the labels must be one per sample: " + std::to_string(m.x.shape[0])
               + " samples, labels of shape " + compute::to_string(m.y.shape));
  bool test = !t.test_x.shape.empty();
  if (test
      && (t.test_x.shape.size() != 2 || t.test_x.shape[1] != spec->inputs()
          || compute::element_count(t.test_y.shape) != t.test_x.shape[0]))
    return bad("the test set must be samples of " + std::to_string(spec->inputs())
               + " features with one label each");
  // The labels must name classes the model has.
  auto labels = store->get(m.y);
  if (!labels)
    return labels.error();
  for (auto v : (*labels)->values())
    if (!(v >= 0) || v >= static_cast<float>(spec->outputs()) || v != std::floor(v))
      return bad("a label is " + std::to_string(v) + "; " + spec->text()
                 + " has classes 0 to " + std::to_string(spec->outputs() - 1));

  std::unique_ptr<training_run> run{new training_run};
  run->id_ = id;
  run->request_ = req;
  run->config_.epochs = t.epochs;
  run->config_.batch = t.batch;
  run->config_.lr = t.lr;
  run->config_.optimizer = *optimizer;
  run->config_.schedule = *schedule;
  run->config_.seed = t.seed;
  run->spec_ = *spec;
  run->store_ = std::move(store);
  run->local_steps_ = t.local_steps;
  if (run->request_.model.micro_rows == 0)
    run->request_.model.micro_rows = compute::model_workload::default_micro_rows;
  if (run->local_steps_ > 0) {
    run->opt_state_ = compute::tensor{compute::shape_t{
        compute::nn::optimizer::state_rows(*optimizer), spec->parameter_count()}};
  } else {
    run->optimizer_ =
        std::make_unique<compute::nn::optimizer>(run->config_, spec->parameter_count());
    run->grad_.resize(spec->parameter_count());
  }
  auto model = compute::nn::mlp::initialized(*spec, t.seed);
  run->weights_ = compute::tensor{compute::shape_t{1, spec->parameter_count()},
                                  {model.parameters().begin(), model.parameters().end()}};
  run->samples_ = m.x.shape[0];
  run->steps_per_epoch_ = compute::nn::steps_per_epoch(run->samples_, t.batch);
  run->started_ = run->epoch_started_ = now;
  run->publish_weights();
  run->next_step();
  return run;
}

void training_run::publish_weights() {
  weights_ref_ = store_->put(weights_);
  if (local_steps_ > 0)
    opt_state_ref_ = store_->put(opt_state_);
}

void training_run::next_step() {
  task_request step;
  step.label = request_.label + ": epoch " + std::to_string(epoch_) + " step "
               + std::to_string(step_ + 1);
  step.submitter = request_.submitter;
  step.workload = workload_kind::train_step;
  step.tolerance = request_.tolerance;
  step.max_attempts = request_.max_attempts;
  step.priority = request_.priority;
  step.replicas = request_.replicas; // replicate:K verifies each step by a quorum
  step.model = request_.model;
  step.model.weights = weights_ref_;
  step.model.seed = config_.seed;
  step.model.epoch = static_cast<uint32_t>(epoch_);
  step.model.batch_begin = step_ * config_.batch;
  step.model.batch_rows =
      static_cast<uint32_t>(std::min(config_.batch, samples_ - step.model.batch_begin));
  if (local_steps_ > 0) {
    round_steps_ = static_cast<uint32_t>(
        std::min<std::size_t>(local_steps_, steps_per_epoch_ - step_));
    step.label = request_.label + ": epoch " + std::to_string(epoch_) + " steps "
                 + std::to_string(step_ + 1) + "-" + std::to_string(step_ + round_steps_);
    step.model.batch_rows = static_cast<uint32_t>(config_.batch);
    step.model.local_steps = round_steps_;
    step.model.state = opt_state_ref_;
    step.model.optimizer = request_.train.optimizer;
    step.model.lr = config_.lr;
    step.model.schedule = request_.train.schedule;
    step.model.first_step = run_step();
    step.model.total_steps = total_steps();
  }
  step.internal = true;
  step.task_id = task_of(0, epoch_, step_); // the same at any hub the run moves to
  pending_.push_back(std::move(step));
  pending_ids_.push_back(&step_task_);
}

uint64_t training_run::task_of(uint8_t kind, uint64_t epoch, uint64_t step) const {
  chain::writer w;
  w.text("nexuschain run task v1");
  w.u64(id_);
  w.u64(kind);
  w.u64(epoch);
  w.u64(step);
  auto h = chain::sha256(w.data());
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x |= static_cast<uint64_t>(h[i]) << (8 * i);
  constexpr auto base = chain::internal_task_base;
  return base + 1 + x % (UINT64_MAX - base - 1);
}

std::vector<task_request> training_run::take_requests() {
  return std::exchange(pending_, {});
}

void training_run::issued(uint64_t task_id) {
  if (pending_ids_.empty())
    return;
  *pending_ids_.front() = task_id;
  pending_ids_.erase(pending_ids_.begin());
}

std::vector<uint64_t> training_run::open_tasks() const {
  std::vector<uint64_t> out;
  for (auto id : {step_task_, eval_task_})
    if (id > 1)
      out.push_back(id);
  return out;
}

bool training_run::owns(uint64_t task_id) const noexcept {
  return task_id != 0 && (task_id == step_task_ || task_id == eval_task_);
}

void training_run::on_output(uint64_t task_id, const compute::tensor& output,
                             clock::time_point now) {
  if (finished())
    return;
  if (task_id == eval_task_) {
    eval_task_ = 0;
    auto labels = store_->get(request_.train.test_y);
    auto it = std::find_if(epochs_.begin(), epochs_.end(), [](const epoch_stats& e) {
      return e.test_accuracy == pending_accuracy;
    });
    if (labels && it != epochs_.end() && output.rows() == (*labels)->size()) {
      std::size_t correct = 0;
      auto probs = output.as_matrix();
      for (Eigen::Index r = 0; r < probs.rows(); ++r) {
        Eigen::Index best = 0;
        probs.row(r).maxCoeff(&best);
        correct +=
            static_cast<float>(best) == (*labels)->values()[static_cast<std::size_t>(r)];
      }
      it->test_accuracy = static_cast<double>(correct) / static_cast<double>(probs.rows());
    }
    if (eval_weights_.id != weights_ref_.id)
      store_->erase(eval_weights_.id);
    if (epoch_ > config_.epochs && step_task_ == 0)
      end(task_state::done, now);
    return;
  }
  if (task_id != step_task_)
    return;
  step_task_ = 0;
  compute::nn::batch_stats stats;
  auto steps = local_steps_ > 0 ? round_steps_ : 1;
  if (!(local_steps_ > 0 ? apply_round(output, stats, now)
                         : apply_step(output, stats, now)))
    return;
  epoch_stats_ += stats;
  curve_stats_ += stats;
  auto old = weights_ref_;
  auto old_state = opt_state_ref_;
  publish_weights();
  if (old_state.id != opt_state_ref_.id && !old_state.shape.empty())
    store_->erase(old_state.id);
  auto every = std::max<std::size_t>(1, steps_per_epoch_ / curve_points_per_epoch);
  for (uint32_t i = 0; i < steps; ++i) {
    ++steps_done_;
    ++step_;
    if ((steps_done_ % every == 0 || step_ == steps_per_epoch_) && curve_stats_.rows > 0) {
      loss_curve_.push_back(static_cast<float>(
          curve_stats_.loss_sum
          / static_cast<double>(std::max<std::size_t>(curve_stats_.rows, 1))));
      curve_stats_ = {};
    }
  }
  if (step_ == steps_per_epoch_)
    finish_epoch(now);
  if (old.id != weights_ref_.id && (eval_task_ == 0 || old.id != eval_weights_.id))
    store_->erase(old.id);
  if (epoch_ <= config_.epochs)
    next_step();
  else if (eval_task_ == 0)
    end(task_state::done, now);
}

bool training_run::apply_step(const compute::tensor& output,
                              compute::nn::batch_stats& stats, clock::time_point now) {
  auto params = spec_.parameter_count();
  if (output.size() != params + 2) {
    fail("a step's gradient has " + std::to_string(output.size()) + " values, expected "
             + std::to_string(params + 2),
         now);
    return false;
  }
  const float* sum = output.data();
  auto rows = std::min(config_.batch, samples_ - step_ * config_.batch);
  auto scale = 1.0f / static_cast<float>(rows);
  for (std::size_t i = 0; i < params; ++i)
    grad_[i] = sum[i] * scale;
  stats = {sum[params], static_cast<std::size_t>(sum[params + 1]), rows};
  optimizer_->step(
      weights_.values(), grad_,
      compute::nn::scheduled_lr(config_.schedule, config_.lr, run_step(), total_steps()));
  return true;
}

bool training_run::apply_round(const compute::tensor& output,
                               compute::nn::batch_stats& stats, clock::time_point now) {
  // The aggregator replayed each lane from its rows and averaged their end points.
  auto params = spec_.parameter_count();
  auto width = params + 2;
  if (output.rows() != 1 + opt_state_.rows() || output.cols() != width) {
    fail("a round's output has shape " + compute::to_string(output.shape()) + ", expected "
             + std::to_string(1 + opt_state_.rows()) + "x" + std::to_string(width),
         now);
    return false;
  }
  const float* row = output.data();
  std::copy_n(row, params, weights_.data());
  for (std::size_t i = 0; i < opt_state_.rows(); ++i)
    std::copy_n(row + (i + 1) * width, params, opt_state_.data() + i * params);
  stats = {row[params], static_cast<std::size_t>(row[params + 1]),
           std::min(samples_, (step_ + round_steps_) * config_.batch)
               - step_ * config_.batch};
  return true;
}

void training_run::finish_epoch(clock::time_point now) {
  epoch_stats e;
  e.epoch = static_cast<uint32_t>(epoch_);
  auto rows = static_cast<double>(std::max<std::size_t>(epoch_stats_.rows, 1));
  e.loss = epoch_stats_.loss_sum / rows;
  e.train_accuracy = static_cast<double>(epoch_stats_.correct) / rows;
  e.seconds = seconds(now - epoch_started_);
  e.test_accuracy = -1;
  if (!request_.train.test_x.shape.empty()) {
    e.test_accuracy = pending_accuracy;
    if (eval_task_ != 0) // the last epoch's test has not come back: skip it
      for (auto& prev : epochs_)
        if (prev.test_accuracy == pending_accuracy)
          prev.test_accuracy = -1;
    task_request eval;
    eval.label = request_.label + ": test after epoch " + std::to_string(epoch_);
    eval.submitter = request_.submitter;
    eval.workload = workload_kind::infer;
    eval.max_attempts = request_.max_attempts;
    eval.replicas = request_.replicas;
    eval.model.spec = request_.model.spec;
    eval.model.weights = weights_ref_;
    eval.model.x = request_.train.test_x;
    eval.model.sample_rate = request_.model.sample_rate;
    eval.internal = true;
    eval.task_id = task_of(1, epoch_, 0);
    eval_weights_ = weights_ref_;
    pending_.push_back(std::move(eval));
    pending_ids_.push_back(&eval_task_);
    eval_task_ = 1; // issued() gives the real id
  }
  epochs_.push_back(e);
  epoch_stats_ = {};
  ++epoch_;
  step_ = 0;
  epoch_started_ = now;
}

void training_run::on_failure(uint64_t task_id, const std::string& reason,
                              clock::time_point now) {
  if (owns(task_id) && !finished())
    fail((task_id == eval_task_ ? "testing failed: " : "a step failed: ") + reason, now);
}

bool training_run::expire(clock::time_point now) {
  auto limit = std::chrono::seconds{request_.timeout_s};
  if (finished() || request_.timeout_s == 0 || now - started_ < limit)
    return false;
  fail("not done within its time-out of " + std::to_string(request_.timeout_s) + " s", now);
  return true;
}

void training_run::fail(std::string reason, clock::time_point now) {
  reason_ = std::move(reason);
  end(task_state::failed, now);
}

void training_run::end(task_state state, clock::time_point now) {
  state_ = state;
  finished_at_ = now;
  if (!opt_state_ref_.shape.empty()) // the optimizer state is no output; the weights are
    store_->erase(opt_state_ref_.id);
}

task_report training_run::report(clock::time_point now) const {
  task_report r;
  r.task_id = id_;
  r.label = request_.label;
  r.submission_nonce = request_.nonce;
  r.state = state_;
  r.workload = workload_kind::train;
  r.shard_count = static_cast<uint32_t>(total_steps());
  r.shards_validated = static_cast<uint32_t>(steps_done_);
  r.results_rejected = rejected_;
  r.shards_reissued = reissued_;
  r.reason = reason_;
  if (r.reason.empty() && !finished())
    r.reason = "epoch " + std::to_string(std::min(epoch_, config_.epochs)) + " of "
               + std::to_string(config_.epochs);
  r.elapsed_ns = nanos((finished() ? finished_at_ : now) - started_);
  r.flops = 3.0 * spec_.forward_flops() * static_cast<double>(samples_)
            * static_cast<double>(config_.epochs);
  r.output_shape = weights_.shape();
  r.epochs = epochs_;
  r.loss_curve = loss_curve_;
  return r;
}

} // namespace nexus
