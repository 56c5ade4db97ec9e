// What a cross-process test asks of each ledger node's store once the nodes stopped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "chain/audit.hpp"
#include "chain/contract.hpp"
#include "chain/store.hpp"

namespace nexus::test {

struct store_check {
  std::string problem; // empty: the store passed
  chain::digest head{};
  uint64_t height = 0;
};

/// Opens the store at `path` read-only: the audit must pass, and the contract replayed
/// from height 0 must have paid every (task, shard) of `shards`.
inline store_check check_store(const std::filesystem::path& path,
                               const std::vector<std::pair<uint64_t, uint32_t>>& shards) {
  store_check out;
  auto st = chain::store::open_read_only(path);
  if (!st)
    return {describe(st.error())};
  if (auto report = chain::audit(**st); !report)
    return {chain::describe_audit(report)};
  out.head = (*st)->head().hash;
  out.height = (*st)->head().height;
  chain::contract_state contract;
  for (uint64_t h = 0; h < (*st)->head().blocks; ++h) {
    auto b = (*st)->get(h);
    if (!b)
      return {describe(b.error())};
    if (auto replayed = contract.replay(*b); !replayed)
      return {describe(replayed.error())};
  }
  for (auto [task, shard] : shards)
    if (!contract.paid(task, shard))
      out.problem += "task " + std::to_string(task) + " shard " + std::to_string(shard)
                     + " is not paid; ";
  return out;
}

} // namespace nexus::test
