// The ledger's writing side: a store, the contract's state and the proposer's key.
//
// commit() turns a batch of signed inputs into the next block: the contract admits them
// (refusing, with why, those that break its rules), derives the payments they earn, and
// the block is sealed and appended with its balance changes in one batch. Opening an
// empty store writes the first block (the rules and the first members, the proposer
// among them); opening a stored chain replays it into the contract, so a restarted
// ledger pays exactly as if it had never stopped, and records a rules record when the
// configured rules differ from those in force. Not thread-safe: the ledger actor owns it.
#pragma once

#include <memory>
#include <optional>

#include "chain/contract.hpp"
#include "chain/identity.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

/// What a network's chain starts with.
struct genesis {
  contract_rules rules;
  std::string name = "ledger";        // the proposer's own name...
  uint32_t roles = bit(role::ledger); // ...and roles, bound to its key
  std::vector<member_entry> members;  // the other first members
};

/// What commit() stored: the block (none if every input was refused) and the inputs
/// refused, by index, with why.
struct committed {
  std::optional<block> stored;
  std::vector<std::pair<std::size_t, std::string>> refused;
};

class ledger {
public:
  /// Opens the store in `dir`, writing the first block from `start` if it is empty.
  /// errc::rejected if `proposer` holds no ledger role on the stored chain.
  static expected<std::unique_ptr<ledger>> open(const std::filesystem::path& dir,
                                                const genesis& start, node_key proposer);

  /// Seals the admitted `inputs` and the payments they earn into the next block and
  /// stores it. A bad signature refuses the whole batch (errc::rejected, from the
  /// store's check of the block), and nothing is stored; so does more than
  /// max_block_inputs inputs (errc::invalid_input).
  expected<committed> commit(std::vector<transaction> inputs, uint64_t time_ms);

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

  /// commit() of the proposer's own records too (the first block, a rules change).
  expected<committed> seal_next(std::vector<transaction> inputs, uint64_t time_ms);

  ledger(std::unique_ptr<store> s, node_key key)
      : store_(std::move(s))
      , key_(std::move(key)) {}

  std::unique_ptr<store> store_;
  contract_state contract_;
  node_key key_;
  bool stale_ = false; // the contract moved past a block the store could not take
};

} // namespace nexus::chain
