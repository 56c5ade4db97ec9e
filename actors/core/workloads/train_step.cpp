// train_step: one synchronous training step. Shards are ranges of the batch's
// micro-batches; each returns one gradient row per micro-batch (gradient, loss, correct
// count); a validator recomputes a sample of them; every row is summed into the step's
// one row. Sums cannot be taken back, so steps are always checked.
#include "actors/core/workload.hpp"
#include "actors/core/workloads/kinds.hpp"
#include "actors/core/workloads/model_operands.hpp"

namespace nexus {

namespace {

using namespace workloads;

class train_step final : public workload {
public:
  error complete(task_request& req) const override {
    auto spec = complete_model(req, {.sample_rate = mw::default_train_sample});
    if (!spec)
      return spec.error();
    auto& m = req.model;
    if (m.micro_rows == 0)
      m.micro_rows = mw::default_micro_rows;
    if (m.batch_rows == 0 || m.batch_begin + m.batch_rows > m.x.shape[0])
      return invalid("the batch lies outside the samples");
    return {};
  }

  expected<work_plan> plan(const task_request& req, std::size_t workers) const override {
    auto spec = compute::nn::parse_model_spec(req.model.spec);
    if (!spec)
      return spec.error();
    auto rows = shardable_rows(req.workload, req.matmul, req.model); // micro-batches
    // Forward and backward: about three forward passes.
    return work_plan{.rows = rows,
                     .flops_per_row = 3.0 * spec->forward_flops() * req.model.micro_rows,
                     .output_shape = {1, spec->parameter_count() + 2},
                     .shards = split(rows, req.shards ? req.shards : workers)};
  }

  expected<compute::tensor> run(const shard_task& task, blob_store& store,
                                compute::gemm_device* device,
                                std::string* fallback) const override {
    auto in = read_inputs(task.model, store, reader::worker, true);
    if (!in)
      return in.error();
    auto model = mw::with_weights(in->spec, *in->weights);
    if (!model)
      return model.error();
    return mw::train_step(*model, *in->x, *in->y, batch_of(task.model), task.row_begin,
                          task.row_end, device, fallback);
  }

  error judge(const shard_task& task, const shard_output& result,
              judge_context& ctx) const override {
    auto in = read_inputs(task.model, ctx.store, reader::validator, true);
    if (!in)
      return in.error();
    auto model = mw::with_weights(in->spec, *in->weights);
    if (!model)
      return model.error();
    return mw::check_train(*model, *in->x, *in->y, batch_of(task.model), task.row_begin,
                           task.row_end, result.output, task.model.sample_rate,
                           task.tolerance, ctx.rng);
  }

  expected<std::unique_ptr<output_merge>> merge(const shard_task& task,
                                                blob_store*) const override {
    auto spec = compute::nn::parse_model_spec(task.model.spec);
    if (!spec)
      return spec.error();
    return std::make_unique<summed_rows>(task.task_id, spec->parameter_count() + 2,
                                         task.shard_count);
  }

  bool always_checked() const override {
    return true;
  }

  bool internal_only() const override {
    return true;
  }
};

} // namespace

const workload& train_step_workload() {
  static const train_step instance;
  return instance;
}

} // namespace nexus
