// Roles that misbehave on purpose, for tests and demonstrations: each wraps an honest
// role and follows a fault plan (actors/core/faults.hpp). Production code spawns the
// honest roles; only nexus-shell's fault options, a topology's `fault:` entries and the
// tests spawn these.
#pragma once

#include <chrono>

#include <caf/actor_system.hpp>

#include "actors/core/faults.hpp"
#include "actors/validator.hpp"
#include "actors/worker.hpp"

namespace nexus {

struct faulty_worker_options {
  fault_plan plan;
  std::chrono::milliseconds late_by{3000}; // how late a `late` result comes
  bool crash_process = false;              // crash: end the process, not just the actor
};

/// A worker that misbehaves as `opts.plan` says, wrapped around the honest worker's
/// behaviour made from `config` (after describe_worker, which measured its device): it
/// crashes or sends garbage instead of passing an assignment on, corrupts or delays the
/// honest result before it is signed, or fails the worker's device. One actor, on its own
/// thread, as spawn_worker's.
worker_actor spawn_faulty_worker(caf::actor_system& sys, worker_config config,
                                 faulty_worker_options opts);

/// `config` with verdicts turned around at `rate` (in (0, 1]), each drawn from `seed`.
validator_config lying(validator_config config, double rate, uint64_t seed);

} // namespace nexus
