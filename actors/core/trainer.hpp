// A training run, as the orchestrator drives it: data parallelism, in rounds of local
// steps (the default) or in synchronous steps.
//
// Rounds of local steps (local SGD; train_options::local_steps batches per round): a
// round is a task (workload train_step) whose shards are lanes, one per micro-batch of a
// batch; each lane takes an optimizer step per batch of the round on its micro-batch,
// from the round's weights and optimizer state, and returns its micro-batch gradients
// (compute/workloads/model.hpp). The aggregator replays each validated lane's optimizer
// over its rows and averages the lanes' weights and optimizer states; that mean is the
// run's next starting point. The workers exchange nothing between the
// batches of a round, so a round costs one round trip instead of one per batch.
//
// Synchronous steps (local_steps 0): each step is a task over the same weights: its
// shards are micro-batches of the step's batch, and the aggregator sums their gradients.
// When a step's sum arrives the run applies the optimizer (Adam or SGD, the learning
// rate from its schedule), stores the new weights as a blob and issues the next step.
//
// Either way, each task's shards are computed by workers and checked by validators like
// any shard. After each epoch, if a test set was
// given, an inference task over it (verified as well) gives the test accuracy. A worker
// lost mid-run loses only its shards in flight, which the task table re-issues.
// Not thread-safe: the orchestrator actor owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/core/blob_store.hpp"
#include "compute/errc.hpp"
#include "compute/nn/train.hpp"
#include "messages/types.hpp"

namespace nexus {

class training_run {
public:
  using clock = std::chrono::steady_clock;

  /// Checks the request (model, data, settings) and draws the initial weights from the
  /// seed; `store` holds the data and will hold each step's weights.
  static expected<std::unique_ptr<training_run>> start(uint64_t id, const task_request& req,
                                                       std::shared_ptr<blob_store> store,
                                                       clock::time_point now);

  uint64_t id() const noexcept {
    return id_;
  }

  /// The id of its task of `kind` (0: a step, 1: a test) at `epoch` and `step`: derived
  /// from the run's id, so that a run that moved to another hub and started over gives its
  /// steps the ids they had, and the ledger pays no step's shards twice.
  uint64_t task_of(uint8_t kind, uint64_t epoch, uint64_t step) const;

  /// The requests to submit now (the next step; the epoch's test inference), each to be
  /// added to the task table and reported back with `issued`.
  std::vector<task_request> take_requests();

  /// Says which task id a request from take_requests() got, in order.
  void issued(uint64_t task_id);

  /// Steps in the whole run.
  std::size_t total_steps() const noexcept {
    return steps_per_epoch_ * config_.epochs;
  }

  /// Its tasks under way (to fail with it).
  std::vector<uint64_t> open_tasks() const;

  /// True if `task_id` is one of this run's tasks.
  bool owns(uint64_t task_id) const noexcept;

  /// Counts the rejected results and re-issued shards of one of its tasks.
  void add_rework(uint32_t rejected, uint32_t reissued) noexcept {
    rejected_ += rejected;
    reissued_ += reissued;
  }

  /// One of its tasks finished with `output`.
  void on_output(uint64_t task_id, const compute::tensor& output, clock::time_point now);

  /// One of its tasks failed: the run fails.
  void on_failure(uint64_t task_id, const std::string& reason, clock::time_point now);

  /// Fails the run (a step the table refused).
  void abort(const std::string& reason, clock::time_point now) {
    if (!finished())
      fail(reason, now);
  }

  /// Ends the run as cancelled (its submitter asked), unless it already ended.
  void cancel(const std::string& reason, clock::time_point now) {
    if (!finished()) {
      reason_ = reason;
      end(task_state::cancelled, now);
    }
  }

  /// Fails the run past its time-out; true if it did.
  bool expire(clock::time_point now);

  task_report report(clock::time_point now) const;

  const task_request& request() const noexcept {
    return request_;
  }

  task_state state() const noexcept {
    return state_;
  }

  bool finished() const noexcept {
    return state_ == task_state::done || state_ == task_state::failed
           || state_ == task_state::cancelled;
  }

  /// The trained weights (1 x parameters), once done.
  const compute::tensor& weights() const noexcept {
    return weights_;
  }

private:
  training_run() = default;

  void next_step();
  void publish_weights();
  // The run's index of the batch under way (for the schedule and Adam's bias correction).
  std::size_t run_step() const noexcept {
    return (epoch_ - 1) * steps_per_epoch_ + step_;
  }
  // Applies a synchronous step's summed gradient, or a round's rows; false (and the run
  // failed) if the output is malformed. `stats` receives the batches' loss and counts.
  bool apply_step(const compute::tensor& output, compute::nn::batch_stats& stats,
                  clock::time_point now);
  bool apply_round(const compute::tensor& output, compute::nn::batch_stats& stats,
                   clock::time_point now);
  void finish_epoch(clock::time_point now);
  void fail(std::string reason, clock::time_point now);
  void end(task_state state, clock::time_point now);

  uint64_t id_ = 0;
  task_request request_;
  compute::nn::train_config config_;
  compute::nn::model_spec spec_;
  std::shared_ptr<blob_store> store_;
  std::unique_ptr<compute::nn::optimizer> optimizer_; // synchronous steps
  compute::tensor weights_;
  blob_ref weights_ref_;
  compute::tensor opt_state_; // rounds: the optimizer state the lanes start from
  blob_ref opt_state_ref_;
  uint32_t local_steps_ = 0;
  uint32_t round_steps_ = 0; // batches in the round under way
  blob_ref eval_weights_;    // kept in the store until the test inference is done
  std::vector<float> grad_;  // synchronous steps
  std::size_t samples_ = 0;
  std::size_t steps_per_epoch_ = 0;
  std::size_t epoch_ = 1; // the one under way, from 1
  std::size_t step_ = 0;  // its next step
  uint64_t step_task_ = 0;
  uint64_t eval_task_ = 0;
  std::vector<task_request> pending_; // to submit
  std::vector<uint64_t*> pending_ids_;
  compute::nn::batch_stats epoch_stats_;
  std::vector<epoch_stats> epochs_;
  std::vector<float> loss_curve_;
  compute::nn::batch_stats curve_stats_;
  clock::time_point started_, epoch_started_, finished_at_;
  task_state state_ = task_state::running;
  std::string reason_;
  std::size_t steps_done_ = 0;
  uint32_t rejected_ = 0;
  uint32_t reissued_ = 0;
};

} // namespace nexus
