// infer: rows of class probabilities for a block of samples. Shards are sample ranges; a
// validator recomputes a sample of each shard's rows; rows are placed into the output.
#include "actors/core/workload.hpp"
#include "actors/core/workloads/kinds.hpp"
#include "actors/core/workloads/model_operands.hpp"

namespace nexus {

namespace {

using namespace workloads;

// At least this many samples per shard, unless the request asks for more shards.
constexpr std::size_t min_rows_per_shard = 256;

class infer final : public workload {
public:
  error complete(task_request& req) const override {
    auto spec = complete_model(req, {.labels = false,
                                     .weights = true,
                                     .bounded_output = true,
                                     .sample_rate = mw::default_infer_sample});
    return spec ? error{} : spec.error();
  }

  expected<work_plan> plan(const task_request& req, std::size_t workers) const override {
    auto spec = compute::nn::parse_model_spec(req.model.spec);
    if (!spec)
      return spec.error();
    auto rows = shardable_rows(req.workload, req.matmul, req.model);
    auto count = req.shards ? req.shards
                            : std::min(workers * compute::matmul::shards_per_worker,
                                       std::max<std::size_t>(1, rows / min_rows_per_shard));
    return work_plan{.rows = rows,
                     .flops_per_row = spec->forward_flops(),
                     .output_shape = {rows, spec->outputs()},
                     .shards = split(rows, count)};
  }

  expected<compute::tensor> run(const shard_task& task, blob_store& store,
                                compute::gemm_device* device,
                                std::string* fallback) const override {
    auto in = read_inputs(task.model, store, reader::worker, false);
    if (!in)
      return in.error();
    auto model = mw::with_weights(in->spec, *in->weights);
    if (!model)
      return model.error();
    if (!device)
      return mw::infer(*model, *in->x, task.row_begin, task.row_end);
    return device->mlp_probabilities(*model, in->x->data() + task.row_begin * in->x->cols(),
                                     task.row_end - task.row_begin, fallback);
  }

  error judge(const shard_task& task, const shard_output& result,
              judge_context& ctx) const override {
    auto in = read_inputs(task.model, ctx.store, reader::validator, false);
    if (!in)
      return in.error();
    auto model = mw::with_weights(in->spec, *in->weights);
    if (!model)
      return model.error();
    return mw::check_infer(*model, *in->x, task.row_begin, task.row_end, result.output,
                           task.model.sample_rate, task.tolerance, ctx.rng);
  }

  expected<std::unique_ptr<output_merge>> merge(const shard_task& task,
                                                blob_store*) const override {
    auto spec = compute::nn::parse_model_spec(task.model.spec);
    if (!spec)
      return spec.error();
    if (task.model.x.shape.empty())
      return make_error(errc::corrupted, "inference assignment without samples");
    return std::make_unique<placed_rows>(
        task.task_id, compute::shape_t{task.model.x.shape[0], spec->outputs()},
        task.shard_count);
  }
};

} // namespace

const workload& infer_workload() {
  static const infer instance;
  return instance;
}

} // namespace nexus
