#include "actors/faulty.hpp"

#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include <caf/all.hpp>

namespace nexus {

namespace {

using worker_pointer = worker_actor::stateful_pointer<worker_state>;

// The honest worker's behaviour on the same actor, behind the plan's crash and garbage:
// the network sees one worker, whose results come from the actor it assigned.
worker_actor::behavior_type faulty_worker(worker_pointer self, worker_config config,
                                          std::shared_ptr<fault_plan> plan,
                                          bool crash_process) {
  auto name = config.name;
  auto relay = config.relay;
  auto honest = worker(self, std::move(config));
  return {
      [self, honest, plan, name, relay,
       crash_process](assign_atom atom, const wire::shard_task& msg,
                      const aggregator_actor& aggregator) mutable {
        if (plan->strikes(worker_fault::crash)) {
          caf::aout(self) << name << ": injected fault: crashing\n";
          if (crash_process)
            std::_Exit(70);
          self->quit(caf::exit_reason::kill);
          return;
        }
        if (plan->strikes(worker_fault::garbage)) {
          auto task = wire::decode(msg);
          if (!task)
            return;
          wire::shard_output junk{plan->garbage()};
          if (relay)
            self->send(relay, stage_atom::value, task->task_id, task->shard_id,
                       task->attempt, std::move(junk), aggregator);
          else
            self->send(aggregator, stage_atom::value, task->task_id, task->shard_id,
                       task->attempt, std::move(junk));
          return;
        }
        auto pass_on = caf::make_message(atom, msg, aggregator);
        honest.unbox()(pass_on);
      },
  };
}

} // namespace

worker_actor spawn_faulty_worker(caf::actor_system& sys, worker_config config,
                                 faulty_worker_options opts) {
  auto plan = std::make_shared<fault_plan>(std::move(opts.plan));
  if (config.gemm && plan->fault() == worker_fault::device_full)
    config.gemm->limit_memory(16 * 1024);
  if (config.gemm && plan->fault() == worker_fault::device_lost)
    config.gemm->inject_failure("injected fault: the device was lost");
  // Runs on the honest worker's thread, which alone draws corrupt and late: the wrapper
  // draws only crash and garbage, each from a plan that holds one fault.
  config.before_signing = [plan, late_by = opts.late_by](shard_output& out) {
    if (plan->strikes(worker_fault::corrupt) && out.error.empty())
      plan->corrupt(out.output);
    if (plan->strikes(worker_fault::late))
      std::this_thread::sleep_for(late_by);
  };
  return sys.spawn<caf::detached>(faulty_worker, std::move(config), std::move(plan),
                                  opts.crash_process);
}

validator_config lying(validator_config config, double rate, uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  config.before_signing = [rng, rate](verdict& v) {
    if (std::uniform_real_distribution<double>{0.0, 1.0}(*rng) >= rate)
      return;
    v.valid = !v.valid;
    v.reason = v.valid ? std::string{} : "Freivalds check failed";
  };
  return config;
}

} // namespace nexus
