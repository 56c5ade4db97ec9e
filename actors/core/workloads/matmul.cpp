// matmul: rows of C = A * B. Shards are row ranges of A; a result is judged by Freivalds'
// check with the validator's secret probe, or, when the aggregator holds a large result,
// by the fingerprint C_R X the aggregator computes for that probe; rows are placed into C.
#include "actors/core/workloads/kinds.hpp"

#include "actors/core/workload.hpp"

namespace nexus {

std::shared_ptr<const compute::matmul::freivalds_probe>
probe_cache::probe_for(uint64_t task_id, const chain::digest& b_id,
                       const compute::tensor& b, unsigned rounds, std::mt19937_64& rng) {
  for (const auto& c : probes_)
    if (c.task_id == task_id && c.b == b_id && c.probe->rounds() == rounds)
      return c.probe;
  auto probe = std::make_shared<const compute::matmul::freivalds_probe>(b, rounds, rng());
  probes_.push_front({task_id, b_id, probe});
  if (probes_.size() > kept)
    probes_.pop_back();
  return probe;
}

namespace {

namespace mm = compute::matmul;

// A shard's operand A and the validator's probe for it.
class freivalds_check final : public fingerprint_check {
public:
  freivalds_check(std::shared_ptr<const compute::tensor> a,
                  std::shared_ptr<const mm::freivalds_probe> probe, mm::shard_range range,
                  double tolerance)
      : a_(std::move(a))
      , probe_(std::move(probe))
      , range_(range)
      , tolerance_(tolerance)
      , x_(probe_->probe_matrix()) {}

  const compute::tensor& probe() const override {
    return x_;
  }

  error verify(const compute::tensor& product) const override {
    return probe_->verify_fingerprint(*a_, range_, product, tolerance_);
  }

  error verify_block(const compute::tensor& block) const {
    return probe_->verify(*a_, range_, block, tolerance_);
  }

private:
  std::shared_ptr<const compute::tensor> a_;
  std::shared_ptr<const mm::freivalds_probe> probe_;
  mm::shard_range range_;
  double tolerance_;
  compute::tensor x_;
};

expected<std::shared_ptr<const freivalds_check>> prepare(const shard_task& task,
                                                         judge_context& ctx) {
  auto a = ctx.store.get(task.matmul.a);
  auto b = ctx.store.get(task.matmul.b);
  if (!a || !b)
    return make_error(errc::unavailable,
                      "validator lacks operands: " + describe(!a ? a.error() : b.error()));
  if (auto err = mm::check_operands((*a)->shape(), (*b)->shape()))
    return err;
  auto probe = ctx.probes.probe_for(task.task_id, task.matmul.b.id, **b, task.verify_rounds,
                                    ctx.rng);
  return std::make_shared<const freivalds_check>(
      *a, std::move(probe), mm::shard_range{task.shard_id, task.row_begin, task.row_end},
      task.tolerance);
}

class matmul final : public workload {
public:
  error complete(task_request& req) const override {
    if (auto err = mm::check_operands(req.matmul.a.shape, req.matmul.b.shape))
      return err;
    if (req.verify_rounds == 0)
      req.verify_rounds = mm::default_rounds;
    if (req.tolerance == 0)
      req.tolerance = mm::default_tolerance;
    return {};
  }

  expected<work_plan> plan(const task_request& req, std::size_t workers) const override {
    auto mp = mm::make_plan(req.matmul.a.shape, req.matmul.b.shape, workers, req.shards);
    if (!mp)
      return mp.error();
    return work_plan{.rows = mp->m,
                     .flops_per_row =
                         2.0 * static_cast<double>(mp->k) * static_cast<double>(mp->n),
                     .output_shape = {mp->m, mp->n},
                     .shards = std::move(mp->shards)};
  }

  expected<compute::tensor> run(const shard_task& task, blob_store& store,
                                compute::gemm_device* device,
                                std::string* fallback) const override {
    auto a = store.get(task.matmul.a);
    auto b = store.get(task.matmul.b);
    if (!a || !b)
      return !a ? a.error() : b.error();
    if (auto err = mm::check_operands((*a)->shape(), (*b)->shape()))
      return err;
    mm::shard_range range{task.shard_id, task.row_begin, task.row_end};
    if (!device)
      return mm::execute(**a, **b, range);
    compute::tensor out{range.rows(), (*b)->cols()};
    auto why = device->gemm((*a)->data() + range.row_begin * (*a)->cols(), (*b)->data(),
                            out.data(), range.rows(), (*a)->cols(), (*b)->cols());
    if (fallback)
      *fallback = std::move(why);
    return out;
  }

  error judge(const shard_task& task, const shard_output& result,
              judge_context& ctx) const override {
    auto check = prepare(task, ctx);
    if (!check)
      return check.error();
    return (*check)->verify_block(result.output);
  }

  expected<std::shared_ptr<const fingerprint_check>>
  fingerprint(const shard_task& task, judge_context& ctx) const override {
    auto check = prepare(task, ctx);
    if (!check)
      return check.error();
    return std::shared_ptr<const fingerprint_check>{std::move(*check)};
  }

  expected<std::unique_ptr<output_merge>> merge(const shard_task& task,
                                                blob_store*) const override {
    const auto& a = task.matmul.a.shape;
    const auto& b = task.matmul.b.shape;
    if (a.size() != 2 || b.size() != 2)
      return make_error(errc::corrupted, "assignment without matrix shapes");
    return std::make_unique<placed_rows>(task.task_id, compute::shape_t{a[0], b[1]},
                                         task.shard_count);
  }

  bool held_by_aggregator() const override {
    return true;
  }
};

} // namespace

const workload& matmul_workload() {
  static const matmul instance;
  return instance;
}

} // namespace nexus
