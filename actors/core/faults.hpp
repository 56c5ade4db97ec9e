// Misbehaviour on purpose, for tests and demonstrations: which faults a worker or a
// validator may be given, how they are written, and the plan that decides, shard by shard,
// whether one strikes. Plain C++: the faulty roles (actors/faulty.hpp) wrap honest ones
// and ask a fault_plan what to do; no production handler knows of faults.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus {

/// Ways a worker misbehaves; each strikes a shard with the worker's fault rate.
enum class worker_fault : uint8_t {
  none,
  corrupt,     // returns results with wrong elements
  device_lost, // its OpenCL device fails on the first shard (the CPU takes over)
  device_full, // its OpenCL device has 16 KiB of memory: larger products run on the CPU
  late,        // answers after fault_plan::late_by
  crash,       // dies (its process, on a node) instead of answering
  garbage,     // sends bytes that are no result at all
};

std::string to_string(worker_fault x);

/// "corrupt", "corrupt:0.3" (the rate), "late", "crash", "garbage", "device-lost",
/// "device-full", "none"; errc::invalid_input naming the choices otherwise.
expected<std::pair<worker_fault, double>> parse_worker_fault(const std::string& text);

/// "lie" (every verdict turned around) or "lie:RATE" with RATE in (0, 1]: a lying
/// validator's rate; errc::invalid_input otherwise.
expected<double> parse_lie(const std::string& text);

/// One worker's fault and how often it strikes, with the generator that draws each
/// decision (seeded, so that a test run repeats).
class fault_plan {
public:
  fault_plan() = default;
  fault_plan(worker_fault fault, double rate, uint64_t seed);

  worker_fault fault() const noexcept {
    return fault_;
  }

  /// True if `f` is this plan's fault and it strikes the next shard (one draw per call).
  bool strikes(worker_fault f);

  /// Changes a few elements of `block` by far more than rounding could: what a cheating
  /// or broken worker might return.
  void corrupt(compute::tensor& block);

  /// Bytes that are no result at all.
  std::vector<uint8_t> garbage();

private:
  worker_fault fault_ = worker_fault::none;
  double rate_ = 1.0;
  uint64_t seed_ = 0;
  uint64_t corruptions_ = 0;
  std::mt19937_64 rng_;
};

} // namespace nexus
