// train: a training run. It has no shards of its own: the orchestrator drives its steps
// (actors/core/trainer.hpp), each a task of another kind. Its request is checked here.
#include "actors/core/workload.hpp"
#include "actors/core/workloads/kinds.hpp"
#include "actors/core/workloads/model_operands.hpp"

namespace nexus {

namespace {

using namespace workloads;

error no_shards() {
  return make_error(errc::corrupted, "a training run has no shards");
}

class train_run final : public workload {
public:
  error complete(task_request& req) const override {
    auto spec =
        complete_model(req, {.weights = false, .sample_rate = mw::default_train_sample});
    return spec ? error{} : spec.error();
  }

  expected<work_plan> plan(const task_request&, std::size_t) const override {
    return invalid("a training run has no shards of its own");
  }

  expected<compute::tensor> run(const shard_task&, blob_store&, compute::gemm_device*,
                                std::string*) const override {
    return no_shards();
  }

  error judge(const shard_task&, const shard_output&, judge_context&) const override {
    return no_shards();
  }

  expected<std::unique_ptr<output_merge>> merge(const shard_task&,
                                                blob_store*) const override {
    return no_shards();
  }

  bool is_run() const override {
    return true;
  }
};

} // namespace

const workload& train_run_workload() {
  static const train_run instance;
  return instance;
}

} // namespace nexus
