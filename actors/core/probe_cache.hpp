// A validator's Freivalds probes, kept between the shards of a task: drawing a probe
// costs a product with B, so one probe serves every shard of a task that shares B.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>

#include "chain/hash.hpp"
#include "compute/tensor.hpp"
#include "compute/workloads/matmul.hpp"

namespace nexus {

class probe_cache {
public:
  /// The probe for (task, B, rounds), drawn from `rng` (secret from workers) on first use.
  std::shared_ptr<const compute::matmul::freivalds_probe>
  probe_for(uint64_t task_id, const chain::digest& b_id, const compute::tensor& b,
            unsigned rounds, std::mt19937_64& rng);

  /// How many probes are kept, most recent first.
  static constexpr std::size_t kept = 8;

private:
  struct cached {
    uint64_t task_id;
    chain::digest b;
    std::shared_ptr<const compute::matmul::freivalds_probe> probe;
  };
  std::deque<cached> probes_;
};

} // namespace nexus
