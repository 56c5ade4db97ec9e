// The ledger's writing side: a store, the contract's state and the proposer's key.
//
// commit() turns a batch of inputs (contributions and signed verdicts) into the next
// block: it derives the payments the contract owes, signs them, seals the block and
// appends it with its balance changes in one batch. Opening replays the stored chain into
// the contract, so a restarted ledger pays exactly as if it had never stopped.
// Not thread-safe: the ledger actor owns it.
#pragma once

#include <memory>

#include "chain/contract.hpp"
#include "chain/identity.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

class ledger {
public:
  static expected<std::unique_ptr<ledger>> open(const std::filesystem::path& dir,
                                                contract_rules rules, node_key proposer);

  /// Seals `inputs` and the payments they earn into the next block and stores it.
  /// Inputs with a bad signature are refused (errc::rejected, from the store's check of
  /// the block) and nothing is stored.
  expected<block> commit(std::vector<transaction> inputs, uint64_t time_ms);

  /// Writes blocks only while the disk keeps this many bytes free (store::keep_free).
  void keep_free(uint64_t bytes) noexcept {
    store_->keep_free(bytes);
  }

  const store& chain() const noexcept {
    return *store_;
  }

  const contract_state& contract() const noexcept {
    return contract_;
  }

private:
  /// Rebuilds the contract's state from the stored chain.
  error replay();

  ledger(std::unique_ptr<store> s, contract_rules rules, node_key key)
      : store_(std::move(s))
      , contract_(rules)
      , key_(std::move(key)) {}

  std::unique_ptr<store> store_;
  contract_state contract_;
  node_key key_;
  bool stale_ = false; // the contract moved past a block the store could not take
};

} // namespace nexus::chain
