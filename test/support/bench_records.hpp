// Records for the ledger benchmarks: contributions of eight workers and validator-1's
// verdicts on them, as the orchestrator and a validator sign them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "chain/block.hpp"

namespace nexus::test {

// Contributions and their verdicts, interleaved per signing batch: the orchestrator's
// contributions of a batch, then the validator's verdicts on them.
inline std::vector<chain::transaction> make_inputs(std::size_t n, std::size_t sign_batch,
                                                   const chain::node_key& orchestrator,
                                                   const chain::node_key& validator) {
  std::vector<chain::transaction> out;
  out.reserve(2 * n);
  for (std::size_t first = 0; first < n; first += sign_batch) {
    std::vector<chain::transaction> contributions, verdicts;
    for (auto i = first; i < std::min(n, first + sign_batch); ++i) {
      chain::transaction c;
      c.kind = chain::tx_kind::contribution;
      c.task_id = 1 + i / 1000;
      c.shard_id = static_cast<uint32_t>(i % 1000);
      c.attempt = 1;
      c.worker = "worker-" + std::to_string(i % 8);
      c.work_units = 1000;
      chain::transaction v = c;
      v.kind = chain::tx_kind::verdict;
      v.validator = "validator-1";
      v.work_units = 0;
      v.valid = true;
      contributions.push_back(std::move(c));
      verdicts.push_back(std::move(v));
    }
    if (sign_batch == 1) {
      contributions[0].sign_with(orchestrator);
      verdicts[0].sign_with(validator);
    } else {
      chain::sign_batch(contributions, orchestrator);
      chain::sign_batch(verdicts, validator);
    }
    out.insert(out.end(), contributions.begin(), contributions.end());
    out.insert(out.end(), verdicts.begin(), verdicts.end());
  }
  return out;
}

} // namespace nexus::test
