// The workloads, one file each; actors/core/workload.hpp's workload_of() picks among them.
#pragma once

namespace nexus {

class workload;

const workload& matmul_workload();
const workload& infer_workload();
const workload& train_step_workload();
const workload& train_round_workload();
const workload& train_run_workload();

} // namespace nexus
