#include "actors/core/workload.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "actors/core/workloads/kinds.hpp"
#include "chain/contract.hpp"

namespace nexus {

uint64_t work_units(uint64_t begin, uint64_t end, double flops_per_row) {
  // Every kind's FLOP per row is a whole number.
  return chain::work_units(begin, end, static_cast<uint64_t>(std::llround(flops_per_row)));
}

expected<std::shared_ptr<const fingerprint_check>>
workload::fingerprint(const shard_task& task, judge_context&) const {
  return make_error(errc::rejected,
                    to_string(task.workload) + " results are not judged by fingerprint");
}

const workload& workload_of(workload_kind kind, uint32_t local_steps) {
  switch (kind) {
  case workload_kind::matmul:
    return matmul_workload();
  case workload_kind::infer:
    return infer_workload();
  case workload_kind::train_step:
    return local_steps > 0 ? train_round_workload() : train_step_workload();
  case workload_kind::train:
    return train_run_workload();
  }
  return matmul_workload(); // unreachable: the codec admits only the kinds above
}

error complete_request(task_request& req) {
  if (req.max_attempts > 100 || req.verify_rounds > 64
      || !(req.tolerance >= 0 && req.tolerance < 1))
    return make_error(errc::invalid_input,
                      "attempts, verification rounds or tolerance out of range");
  if (req.replicas == 1)
    req.replicas = 0;
  if (req.replicas > 9)
    return make_error(errc::invalid_input, "replicate:" + std::to_string(req.replicas)
                                               + " is more than 9 replicas");
  return workload_of(req).complete(req);
}

expected<work_plan> plan_work(const task_request& req, std::size_t workers) {
  return workload_of(req).plan(req, std::max<std::size_t>(workers, 1));
}

shard_output run_shard(const shard_task& task, blob_store& store,
                       compute::gemm_device* device, std::string* fallback) {
  shard_output out{
      .task_id = task.task_id, .shard_id = task.shard_id, .attempt = task.attempt};
  auto start = std::chrono::steady_clock::now();
  auto output = workload_of(task).run(task, store, device, fallback);
  if (!output) {
    out.error = describe(output.error());
    return out;
  }
  out.output = std::move(*output);
  out.compute_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  return out;
}

} // namespace nexus
