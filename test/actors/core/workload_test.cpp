// The workload interface, driven directly: each kind plans its rows into shards that cover
// them once, computes a shard its judge accepts and catches a changed one, and merges
// validated shards into the output; and only the kinds that may say so are judged by
// fingerprint or always checked.
#include <catch2/catch.hpp>

#include "actors/core/workload.hpp"
#include "compute/gemm.hpp"
#include "compute/nn/model.hpp"

using namespace nexus;

namespace {

// A checked matmul request over operands in `store`.
task_request matmul_request(blob_store& store, std::size_t m, std::size_t k,
                            std::size_t n) {
  task_request req;
  req.workload = workload_kind::matmul;
  req.matmul.a = store.put(compute::random_tensor({m, k}, 1));
  req.matmul.b = store.put(compute::random_tensor({k, n}, 2));
  REQUIRE_FALSE(complete_request(req));
  return req;
}

shard_task shard_of(const task_request& req, const work_plan& plan, std::size_t i) {
  shard_task t;
  t.task_id = 1;
  t.shard_id = plan.shards[i].id;
  t.shard_count = static_cast<uint32_t>(plan.shards.size());
  t.row_begin = plan.shards[i].row_begin;
  t.row_end = plan.shards[i].row_end;
  t.tolerance = req.tolerance;
  t.verify_rounds = req.verify_rounds;
  t.workload = req.workload;
  t.matmul = req.matmul;
  t.model = req.model;
  return t;
}

void check_cover(const work_plan& plan) {
  std::size_t next = 0;
  for (const auto& s : plan.shards) {
    CHECK(s.row_begin == next);
    CHECK(s.row_end > s.row_begin);
    next = s.row_end;
  }
  CHECK(next == plan.rows);
}

} // namespace

TEST_CASE("a matmul shard is computed, judged and merged through its workload",
          "[core][workload]") {
  blob_store store;
  auto req = matmul_request(store, 97, 40, 33);
  const auto& w = workload_of(req);
  auto plan = plan_work(req, 3);
  REQUIRE(plan);
  check_cover(*plan);
  CHECK(plan->output_shape == compute::shape_t{97, 33});

  std::mt19937_64 rng{7};
  probe_cache probes;
  judge_context ctx{store, rng, probes};
  auto merge = w.merge(shard_of(req, *plan, 0), &store);
  REQUIRE(merge);
  for (std::size_t i = 0; i < plan->shards.size(); ++i) {
    auto task = shard_of(req, *plan, i);
    auto out = run_shard(task, store);
    REQUIRE(out.error.empty());
    CHECK_FALSE(w.judge(task, out, ctx));
    // The aggregator's fingerprint of the block passes the same check.
    auto check = w.fingerprint(task, ctx);
    REQUIRE(check);
    auto fp = compute::matmul::fingerprint(out.output, (*check)->probe());
    REQUIRE(fp);
    CHECK_FALSE((*check)->verify(*fp));
    auto changed = out;
    changed.output.data()[0] += 1.0f;
    CHECK(w.judge(task, changed, ctx) == errc::rejected);
    auto added = (*merge)->add(task, out.output);
    REQUIRE(added);
    CHECK(*added);
    CHECK_FALSE(*(*merge)->add(task, out.output)); // a duplicate is merged once
  }
  CHECK((*merge)->complete());
  CHECK((*merge)->revoke(0)); // placed rows can be taken back out
  CHECK_FALSE((*merge)->complete());
}

TEST_CASE("each kind says how it is judged and merged", "[core][workload]") {
  CHECK(workload_of(workload_kind::matmul).held_by_aggregator());
  CHECK_FALSE(workload_of(workload_kind::infer).held_by_aggregator());
  CHECK_FALSE(workload_of(workload_kind::matmul).always_checked());
  CHECK_FALSE(workload_of(workload_kind::infer).always_checked());
  CHECK(workload_of(workload_kind::train_step).always_checked());
  CHECK(workload_of(workload_kind::train_step, 4).always_checked());
  CHECK(&workload_of(workload_kind::train_step, 4)
        != &workload_of(workload_kind::train_step));

  blob_store store;
  std::mt19937_64 rng{1};
  probe_cache probes;
  judge_context ctx{store, rng, probes};
  shard_task infer;
  infer.workload = workload_kind::infer;
  auto check = workload_of(infer).fingerprint(infer, ctx);
  REQUIRE_FALSE(check);
  CHECK(check.error() == errc::rejected);
}

TEST_CASE("inference shards cover the samples and their rows are recomputed",
          "[core][workload]") {
  blob_store store;
  auto spec = compute::nn::parse_model_spec("mlp:8-6-3").value();
  auto model = compute::nn::mlp::initialized(spec, 3);
  task_request req;
  req.workload = workload_kind::infer;
  req.model.spec = spec.text();
  req.model.weights = store.put(compute::tensor{
      {1, model.parameters().size()},
      std::vector<float>(model.parameters().begin(), model.parameters().end())});
  req.model.x = store.put(compute::random_tensor({600, 8}, 4));
  req.model.sample_rate = 1.0;
  REQUIRE_FALSE(complete_request(req));
  auto plan = plan_work(req, 2);
  REQUIRE(plan);
  check_cover(*plan);
  CHECK(plan->rows == 600);
  std::mt19937_64 rng{5};
  probe_cache probes;
  judge_context ctx{store, rng, probes};
  auto task = shard_of(req, *plan, plan->shards.size() - 1);
  auto out = run_shard(task, store);
  REQUIRE(out.error.empty());
  CHECK(out.output.rows() == task.row_end - task.row_begin);
  CHECK_FALSE(workload_of(task).judge(task, out, ctx));
  std::swap(out.output.data()[0], out.output.data()[1]);
  CHECK(workload_of(task).judge(task, out, ctx) == errc::rejected);
}

TEST_CASE("a training run has no shards of its own", "[core][workload]") {
  task_request req;
  req.workload = workload_kind::train;
  auto plan = workload_of(req).plan(req, 4);
  REQUIRE_FALSE(plan);
  CHECK(plan.error() == errc::invalid_input);
}
