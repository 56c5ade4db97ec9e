#include "actors/worker.hpp"

#include <chrono>
#include <cstdio>

#include <caf/all.hpp>
#include <tbb/info.h>

#include "actors/core/workload.hpp"

namespace nexus {

expected<node_info> describe_worker(worker_config& config) {
  if (!config.gemm) {
    auto device = compute::gemm_device::open(config.device);
    if (!device)
      return device.error();
    if (!(*device)->note().empty())
      std::printf("%s: %s\n", config.name.c_str(), (*device)->note().c_str());
    config.gemm = std::move(*device);
  }
  auto gflops = config.gemm->calibrate();
  return node_info{.name = config.name,
                   .role = node_role::worker,
                   .device = config.gemm->name(),
                   .threads = static_cast<uint32_t>(tbb::info::default_concurrency()),
                   .gflops = gflops,
                   .slots = 2};
}

namespace {

using self_pointer = worker_actor::stateful_pointer<worker_state>;

// Sends a result of attempt (task, shard, attempt) to `aggregator` (through the relay
// across processes).
void deliver(self_pointer self, uint64_t task, uint32_t shard, uint32_t attempt,
             wire::shard_output msg, const aggregator_actor& aggregator) {
  auto& st = self->state;
  if (!st.config.relay) {
    self->send(aggregator, stage_atom::value, task, shard, attempt, std::move(msg));
    return;
  }
  if (st.config.bulk && msg.bytes().size() > held_result_bytes
      && aggregator.node() == st.config.relay.node()) {
    auto ticket = draw_bulk_ticket();
    if (auto err = bulk_put(st.config.bulk, ticket, msg.bytes()); !err) {
      self->send(st.config.relay, stage_atom::value, bulk_atom::value, task, shard, attempt,
                 ticket, aggregator);
      return;
    } else {
      caf::aout(self) << st.config.name << ": " << describe(err)
                      << "; results go through the gateway from now on\n";
      st.config.bulk = {};
    }
  }
  self->send(st.config.relay, stage_atom::value, task, shard, attempt, std::move(msg),
             aggregator);
}

// Signs what waits to be sent and sends it on.
void send_results(self_pointer self) {
  auto& st = self->state;
  for (auto& r : st.unsent.sign(st.config.key))
    deliver(self, r.task_id, r.shard_id, r.attempt, std::move(r.msg), st.unsent_to);
}

} // namespace

worker_actor::behavior_type worker(self_pointer self, worker_config config) {
  self->state.config = std::move(config);
  return {
      [self](assign_atom, const wire::shard_task& msg, const aggregator_actor& aggregator) {
        auto& st = self->state;
        auto task = wire::decode(msg);
        if (!task) {
          // Without ids there is no one to answer; the shard's deadline re-issues it.
          caf::aout(self) << st.config.name
                          << ": dropped a malformed assignment: " << describe(task.error())
                          << "\n";
          return;
        }
        std::string fallback;
        auto out = run_shard(*task, *st.config.store, st.config.gemm.get(), &fallback);
        if (!fallback.empty())
          caf::aout(self) << st.config.name << ": " << fallback << "\n";
        out.worker = st.config.name;
        if (st.config.before_signing)
          st.config.before_signing(out);
        if (st.unsent_to != aggregator)
          send_results(self);
        st.unsent_to = aggregator;
        auto slow = std::chrono::nanoseconds{out.compute_ns} >= batch_signing_below;
        st.unsent.add(std::move(out));
        if (slow || self->mailbox().empty() || st.unsent.size() >= results_per_signature)
          send_results(self);
      },
  };
}

worker_actor spawn_worker(caf::actor_system& sys, worker_config config) {
  return sys.spawn<caf::detached>(worker, std::move(config));
}

} // namespace nexus
