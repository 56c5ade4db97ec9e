#include "actors/worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

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

std::string to_string(worker_fault x) {
  switch (x) {
    case worker_fault::none: return "none";
    case worker_fault::corrupt: return "corrupt";
    case worker_fault::device_lost: return "device-lost";
    case worker_fault::device_full: return "device-full";
    case worker_fault::late: return "late";
    case worker_fault::crash: return "crash";
    case worker_fault::garbage: return "garbage";
  }
  return "unknown";
}

caf::expected<std::pair<worker_fault, double>> parse_worker_fault(const std::string& text) {
  auto colon = text.find(':');
  auto name = text.substr(0, colon);
  double rate = 1.0;
  if (colon != std::string::npos) {
    char* end = nullptr;
    rate = std::strtod(text.c_str() + colon + 1, &end);
    if (end == text.c_str() + colon + 1 || *end != '\0' || !(rate > 0.0 && rate <= 1.0))
      return make_error(errc::invalid_input, "fault rate in '" + text
                                               + "' must be a number in (0, 1]");
  }
  for (auto f : {worker_fault::none, worker_fault::corrupt, worker_fault::device_lost,
                 worker_fault::device_full, worker_fault::late, worker_fault::crash,
                 worker_fault::garbage})
    if (to_string(f) == name)
      return std::pair{f, rate};
  return make_error(errc::invalid_input,
                    "unknown fault '" + name
                      + "' (none, corrupt, late, crash, garbage, device-lost, device-full; "
                        "a rate may follow, as in corrupt:0.3)");
}

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

namespace {

using self_pointer = worker_actor::stateful_pointer<worker_state>;

// Sends a result of attempt (task, shard, attempt) to `aggregator` (through the relay
// across processes).
void deliver(self_pointer self, uint64_t task, uint32_t shard, uint32_t attempt,
             wire::shard_result msg, const aggregator_actor& aggregator) {
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

bool strikes(worker_state& st, worker_fault fault) {
  if (st.config.fault != fault)
    return false;
  return std::uniform_real_distribution<double>{0.0, 1.0}(st.fault_rng) < st.config.fault_rate;
}

} // namespace

worker_actor::behavior_type worker(self_pointer self, worker_config config) {
  self->state.config = std::move(config);
  self->state.fault_rng.seed(self->state.config.seed);
  if (self->state.config.fault == worker_fault::device_full && self->state.config.gemm)
    self->state.config.gemm->limit_memory(16 * 1024);
  return {
    [self](assign_atom, const wire::shard_assignment& msg, const aggregator_actor& aggregator) {
      auto& st = self->state;
      auto task = wire::decode(msg);
      if (!task) {
        // Without ids there is no one to answer; the shard's deadline re-issues it.
        caf::aout(self) << st.config.name << ": dropped a malformed assignment: "
                        << describe(task.error()) << "\n";
        return;
      }
      if (strikes(st, worker_fault::crash)) {
        caf::aout(self) << st.config.name << ": injected fault: crashing\n";
        if (st.config.crash_process)
          std::_Exit(70);
        self->quit(caf::exit_reason::kill);
        return;
      }
      if (strikes(st, worker_fault::garbage)) {
        std::vector<uint8_t> junk(64 + st.fault_rng() % 512);
        for (auto& b : junk)
          b = static_cast<uint8_t>(st.fault_rng());
        deliver(self, task->task_id, task->shard_id, task->attempt,
                wire::shard_result{std::move(junk)}, aggregator);
        return;
      }
      if (st.config.fault == worker_fault::device_lost && st.config.gemm)
        st.config.gemm->inject_failure("injected fault: the device was lost");
      std::string fallback;
      auto out = run_shard(*task, *st.config.store, st.config.gemm.get(), &fallback);
      if (!fallback.empty())
        caf::aout(self) << st.config.name << ": " << fallback << "\n";
      out.worker = st.config.name;
      if (strikes(st, worker_fault::corrupt) && out.error.empty())
        corrupt(out.output, st.config.seed + st.corruptions++);
      if (strikes(st, worker_fault::late))
        std::this_thread::sleep_for(st.config.late_by);
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
