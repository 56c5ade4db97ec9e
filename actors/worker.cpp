#include "actors/worker.hpp"

#include <chrono>
#include <cstdio>
#include <random>

#include <caf/all.hpp>
#include <tbb/info.h>

#include "actors/workloads.hpp"

namespace nexus {

namespace {

// Changes a few elements by far more than rounding could: what a cheating or broken
// worker might return.
void corrupt(compute::tensor& block, uint64_t seed) {
  if (block.empty())
    return;
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<std::size_t> pick{0, block.size() - 1};
  for (int i = 0; i < 3; ++i) {
    auto& x = block.data()[pick(rng)];
    x = x * 1.5f + 1.0f;
  }
}

} // namespace

caf::expected<node_info> describe_worker(worker_config& config) {
  if (!config.gemm) {
    auto device = compute::gemm_device::open(config.device);
    if (!device)
      return device.error();
    if (!(*device)->note().empty())
      std::printf("%s: %s\n", config.name.c_str(), (*device)->note().c_str());
    config.gemm = std::move(*device);
  }
  auto gflops = config.gemm->calibrate();
  return node_info{config.name, node_role::worker, config.gemm->name(),
                   static_cast<uint32_t>(tbb::info::default_concurrency()), gflops, 2};
}

worker_actor::behavior_type worker(worker_actor::stateful_pointer<worker_state> self,
                                   worker_config config) {
  self->state.config = std::move(config);
  return {
    [self](assign_atom, const wire::shard_assignment& msg, const validator_actor& validator,
           const aggregator_actor& aggregator) {
      auto& st = self->state;
      auto task = wire::decode(msg);
      if (!task) {
        // Without ids there is no one to answer; the shard's deadline re-issues it.
        caf::aout(self) << st.config.name << ": dropped a malformed assignment: "
                        << describe(task.error()) << "\n";
        return;
      }
      if (st.config.fault == worker_fault::device_lost && st.config.gemm)
        st.config.gemm->inject_failure("injected fault: the device was lost");
      if (st.config.fault == worker_fault::device_full && st.config.gemm)
        st.config.gemm->limit_memory(16 * 1024);
      std::string fallback;
      auto out = run_shard(*task, *st.config.store, st.config.gemm.get(), &fallback);
      if (!fallback.empty())
        caf::aout(self) << st.config.name << ": " << fallback << "\n";
      out.worker = st.config.name;
      if (st.config.fault == worker_fault::corrupt && out.error.empty())
        corrupt(out.output, st.config.seed + st.corruptions++);
      if (st.config.relay)
        self->send(st.config.relay, stage_atom::value, msg, wire::encode(out), validator,
                   aggregator);
      else
        self->send(aggregator, stage_atom::value, msg, wire::encode(out), validator);
    },
  };
}

worker_actor spawn_worker(caf::actor_system& sys, worker_config config) {
  return sys.spawn<caf::detached>(worker, std::move(config));
}

} // namespace nexus
