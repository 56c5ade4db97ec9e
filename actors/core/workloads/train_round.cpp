// train_round: a round of local steps (a train_step with local_steps > 0). Shards are
// ranges of lanes; each lane trains from the round's start and returns one row per step
// (the micro-batch gradient at the lane's weights before that step, loss, correct count).
// A validator recomputes sampled rows on the trajectory it replays from the rows; the
// aggregator replays each lane's end point and averages them into the round's output:
// (1 + optimizer state rows) x (parameters + 2), row 0 the mean weights, then the loss sum
// and correct count of all the round's samples; rows 1.. the mean optimizer state.
#include <Eigen/Core>

#include "actors/core/workload.hpp"
#include "actors/core/workloads/kinds.hpp"
#include "actors/core/workloads/model_operands.hpp"
#include "compute/nn/train.hpp"

namespace nexus {

namespace {

using namespace workloads;

// Every lane of a round replayed from its rows, summed in shard order, then averaged.
class averaged_lanes final : public ordered_sum {
public:
  averaged_lanes(uint64_t task_id, const compute::nn::model_spec& spec, mw::round_ref round,
                 std::shared_ptr<const compute::tensor> weights,
                 std::shared_ptr<const compute::tensor> state, std::size_t samples,
                 uint32_t shard_count)
      : ordered_sum(task_id,
                    {1 + compute::nn::optimizer::state_rows(round.optimizer.optimizer),
                     spec.parameter_count() + 2},
                    shard_count, round.local_steps)
      , round_(round)
      , weights_(std::move(weights))
      , state_(std::move(state))
      , samples_(samples)
      , model_(spec)
      , opt_(round.optimizer, 0) {}

  wire::task_output take() override {
    auto params = model_.parameters().size();
    auto width = params + 2;
    auto out = output_.values();
    auto rows = out.size() / width;
    for (std::size_t i = 0; i < rows; ++i) {
      Eigen::Map<Eigen::ArrayXf> row{out.data() + i * width,
                                     static_cast<Eigen::Index>(params)};
      if (moved_ > 0)
        row /= static_cast<float>(moved_);
      else // no lane moved: the start stands
        row = Eigen::Map<const Eigen::ArrayXf>{(i == 0 ? weights_ : state_)->data()
                                                   + (i == 0 ? 0 : (i - 1) * params),
                                               static_cast<Eigen::Index>(params)};
    }
    return output_.finish();
  }

private:
  // The sum of the shard's lanes' end points (and losses), laid out as the output.
  error merge(const shard_task& task, const compute::tensor& block) override {
    auto params = model_.parameters().size();
    auto width = params + 2;
    std::vector<float> part(output_.values().size());
    Eigen::Map<Eigen::ArrayXf> weights{part.data(), static_cast<Eigen::Index>(params)};
    for (auto lane = task.row_begin; lane < task.row_end; ++lane) {
      const float* rows = block.data() + (lane - task.row_begin) * rows_per_unit_ * width;
      if (auto err = mw::replay_lane({*weights_, *state_}, samples_, round_, lane, rows,
                                     model_, opt_))
        return make_error(errc::corrupted,
                          "replaying lane " + std::to_string(lane) + ": " + describe(err));
      for (std::size_t j = 0; j < rows_per_unit_; ++j) {
        part[params] += rows[j * width + params];
        part[params + 1] += rows[j * width + params + 1];
      }
      if (opt_.steps() == round_.first_step)
        continue; // a lane without samples (in the epoch's last, short batch)
      ++moved_;
      weights += Eigen::Map<const Eigen::ArrayXf>{model_.parameters().data(),
                                                  static_cast<Eigen::Index>(params)};
      auto state = opt_.state();
      for (std::size_t i = 0; i * params < state.size(); ++i)
        Eigen::Map<Eigen::ArrayXf>{part.data() + (i + 1) * width,
                                   static_cast<Eigen::Index>(params)} +=
            Eigen::Map<const Eigen::ArrayXf>{state.data() + i * params,
                                             static_cast<Eigen::Index>(params)};
    }
    add_in_order(task.shard_id, std::move(part));
    return {};
  }

  mw::round_ref round_;
  std::shared_ptr<const compute::tensor> weights_, state_; // where the lanes start
  std::size_t samples_ = 0;
  compute::nn::mlp model_; // scratch for replaying lanes
  compute::nn::optimizer opt_;
  std::size_t moved_ = 0; // lanes that took a step
};

// Checks a round's settings against the model and the samples.
error check_round(const model_operands& m, const compute::nn::model_spec& spec) {
  auto round = round_of(m);
  if (!round)
    return round.error();
  if (m.local_steps > 1'000'000)
    return invalid("a round of over a million local steps");
  if (!(m.lr > 0 && m.lr < 10))
    return invalid("the learning rate must be in (0, 10)");
  auto rows = compute::nn::optimizer::state_rows(round->optimizer.optimizer);
  if (compute::element_count(m.state.shape) != rows * spec.parameter_count())
    return invalid("the optimizer state holds "
                   + std::to_string(compute::element_count(m.state.shape)) + " values; "
                   + m.optimizer + " for " + spec.text() + " keeps "
                   + std::to_string(rows * spec.parameter_count()));
  if (m.batch_begin + (uint64_t{m.local_steps} - 1) * m.batch_rows >= m.x.shape[0])
    return invalid("the round's batches lie outside the samples");
  return {};
}

class train_round final : public workload {
public:
  error complete(task_request& req) const override {
    auto spec = complete_model(req, {.sample_rate = mw::default_train_sample});
    if (!spec)
      return spec.error();
    auto& m = req.model;
    if (m.micro_rows == 0)
      m.micro_rows = mw::default_micro_rows;
    if (m.batch_rows == 0)
      return invalid("a round's batches have no samples");
    return check_round(m, *spec);
  }

  expected<work_plan> plan(const task_request& req, std::size_t workers) const override {
    auto spec = compute::nn::parse_model_spec(req.model.spec);
    if (!spec)
      return spec.error();
    auto round = round_of(req.model);
    if (!round)
      return round.error();
    auto lanes = shardable_rows(req.workload, req.matmul, req.model);
    // Forward and backward, about three forward passes, for each of the round's steps.
    return work_plan{
        .rows = lanes,
        .flops_per_row = 3.0 * spec->forward_flops() * req.model.micro_rows
                         * static_cast<double>(req.model.local_steps),
        .output_shape = {1 + compute::nn::optimizer::state_rows(round->optimizer.optimizer),
                         spec->parameter_count() + 2},
        .shards = split(lanes, req.shards ? req.shards : workers)};
  }

  expected<compute::tensor> run(const shard_task& task, blob_store& store,
                                compute::gemm_device* device,
                                std::string* fallback) const override {
    auto in = read_inputs(task.model, store, reader::worker, true, true);
    if (!in)
      return in.error();
    auto round = round_of(task.model);
    if (!round)
      return round.error();
    return mw::train_round(in->spec, {*in->weights, *in->state}, *in->x, *in->y, *round,
                           task.row_begin, task.row_end, device, fallback);
  }

  error judge(const shard_task& task, const shard_output& result,
              judge_context& ctx) const override {
    auto in = read_inputs(task.model, ctx.store, reader::validator, true, true);
    if (!in)
      return in.error();
    auto round = round_of(task.model);
    if (!round)
      return round.error();
    return mw::check_round(in->spec, {*in->weights, *in->state}, *in->x, *in->y, *round,
                           task.row_begin, task.row_end, result.output,
                           task.model.sample_rate, task.tolerance, ctx.rng);
  }

  expected<std::unique_ptr<output_merge>> merge(const shard_task& task,
                                                blob_store* store) const override {
    auto spec = compute::nn::parse_model_spec(task.model.spec);
    if (!spec)
      return spec.error();
    auto round = round_of(task.model);
    if (!round)
      return round.error();
    if (!store)
      return make_error(errc::unavailable, "no blob store to replay a round from");
    auto weights = store->get(task.model.weights);
    auto state = store->get(task.model.state);
    if (!weights || !state)
      return !weights ? weights.error() : state.error();
    if (task.model.x.shape.empty())
      return make_error(errc::corrupted, "round assignment without samples");
    return std::make_unique<averaged_lanes>(task.task_id, *spec, *round, *weights, *state,
                                            task.model.x.shape[0], task.shard_count);
  }

  bool always_checked() const override {
    return true;
  }

  bool internal_only() const override {
    return true;
  }
};

} // namespace

const workload& train_round_workload() {
  static const train_round instance;
  return instance;
}

} // namespace nexus
