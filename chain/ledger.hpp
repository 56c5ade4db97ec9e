// The ledger's writing side: a store, the contract's state and this ledger node's key.
//
// A block is made in two steps, as consensus needs (chain/consensus.hpp): propose() turns
// a batch of signed inputs into the next block (the contract admits them, refusing with
// why those that break its rules, and derives the payments they earn), and a peer's
// proposal is checked by check_next() (every signature, the contract replayed, the state
// root); both keep the contract's state after the block aside, without storing anything.
// commit() stores a decided block with its commit certificate, checked against the
// ledger nodes in force, in one synced batch. For a network with one ledger node,
// commit(inputs) does all three.
//
// Opening an empty store writes the first block, the same at every ledger node: the
// rules and the first members, unsigned, at the genesis time. Opening a stored chain
// replays it into the contract, so a restarted ledger pays exactly as if it had never
// stopped; a single ledger node records a rules record when the configured rules differ
// from those in force. Not thread-safe: the ledger actor owns it.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "chain/consensus.hpp"
#include "chain/contract.hpp"
#include "chain/identity.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

/// What a network's chain starts with: every ledger node writes the same first block.
struct genesis {
  contract_rules rules;
  std::vector<member_entry> members; // the first members, in this order
  uint64_t time_ms = 0;
};

/// A block a ledger node received, with what it knows of it before checking it.
struct received_block {
  block b;
  digest value;            // value_id(b): SHA-256 of the bytes it came as
  std::vector<digest> ids; // each record's id (ids_of(b.txs))
  // Records the node checked before: their signatures, and that the chain did not hold
  // them (a ledger node's pool holds such records only, each until a block holding it is
  // committed). Empty: none.
  std::vector<bool> known = {};
};

/// What commit() stored.
struct stored_block {
  uint64_t height = 0;
  digest hash{};
  std::vector<digest> ids; // each record's id
};

/// What propose() made: the block (none if every input was refused) and the inputs
/// refused, by index, with why.
struct committed {
  std::optional<block> stored;
  digest value{}; // value_id(*stored)
  std::vector<std::pair<std::size_t, std::string>> refused;
  // Inputs left out as the chain holds them already: stored before, offered twice, or a
  // member record that binds nothing new.
  std::vector<std::size_t> already;
};

class ledger {
public:
  /// Opens the store in `dir`, writing the first block from `start` if it is empty.
  /// errc::rejected if `key` holds no ledger role on the stored chain.
  static expected<std::unique_ptr<ledger>> open(const std::filesystem::path& dir,
                                                const genesis& start, node_key key);

  /// For a network of one ledger node (this one): records a rules change to `rules`,
  /// approved by this node alone, unless they are the rules the chain ends at (those in
  /// force, or the last scheduled). A network of several ledger nodes changes its rules
  /// only by their approval (chain/governance.hpp): nothing is done.
  error adopt_rules(const contract_rules& rules);

  /// The ledger nodes' keys for the next block, in key order: the consensus' validators.
  std::vector<public_key> validators() const {
    return contract_.members().keys_holding(role::ledger);
  }

  /// The next block of the admitted `inputs` and the payments they earn, signed by this
  /// node; nothing is stored. Inputs already on the chain, or repeated, are left out
  /// (not refused: they are stored once). No block if none is admitted, unless
  /// `empty_ok` (a proposer must propose). errc::invalid_input above max_block_inputs.
  /// Every input's signature is checked, and that the chain does not hold it, unless the
  /// caller checked both (`from_pool`: a ledger node's pool holds only records it checked
  /// so, each until a block holding it is committed; a member record is looked up all the
  /// same, as another may have bound its member since).
  expected<committed> propose(std::vector<transaction> inputs, uint64_t time_ms,
                              bool empty_ok = false, bool from_pool = false);

  /// Whether the chain holds `t` already: it is stored, or it is a member record that
  /// binds nothing new (a node joining again). Such a record needs no block.
  bool holds(const transaction& t) const {
    return holds(t, t.id());
  }
  bool holds(const transaction& t, const digest& id) const; // id: t.id()

  /// Whether `b` may be the next block: it extends the head, passes check(), its proposer
  /// holds the ledger role, no input of it is on the chain or in it twice, its
  /// time does not go back, and the contract replayed on it derives exactly its
  /// payments and state root. errc::rejected with why.
  error check_next(const block& b);
  /// The same for a block as a ledger node received it: nothing it knows is computed
  /// again.
  error check_next(received_block r);

  /// Stores decided block `b` with `cert`, which must certify it (precommits of more than
  /// two thirds of validators() for SHA-256 of its encoding). errc::rejected otherwise;
  /// errc::failed if the disk could not take it (nothing is kept; try again).
  error commit(const block& b, const consensus::certificate& cert);
  /// The same for the block whose canonical bytes are `value`, as consensus decided it:
  /// a block check_next() accepted is neither decoded nor checked again, nor the
  /// certificate's signatures if `certificate_verified` (a consensus machine's decision:
  /// consensus::certifies).
  expected<stored_block> commit(std::span<const uint8_t> value,
                                const consensus::certificate& cert,
                                bool certificate_verified = false);

  /// For a network of one ledger node: propose, precommit alone and commit.
  /// errc::rejected unless this node is the only ledger node.
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

  const node_key& key() const noexcept {
    return key_;
  }

private:
  /// Rebuilds the contract's state from the stored chain.
  error replay();

  // The state after a block proposed or checked at the next height, and the block.
  struct ahead {
    contract_state state;
    block b;
    std::vector<digest> ids;
  };

  // errc::rejected unless `cert` certifies a block at `height` by precommits of more than
  // two thirds of validators().
  error check_certificate(uint64_t height, const consensus::certificate& cert,
                          bool signatures_verified = false) const;
  // Keeps `a` aside as the state after the block whose value_id is `value`.
  void keep_ahead(const digest& value, ahead a);
  // Stores the block kept aside under cert.value (certified, checked by check_next()).
  expected<stored_block> store_ahead(const consensus::certificate& cert);

  ledger(std::unique_ptr<store> s, node_key key)
      : store_(std::move(s))
      , key_(std::move(key)) {}

  std::unique_ptr<store> store_;
  contract_state contract_;
  node_key key_;
  // By value_id: each block proposed or checked at the next height.
  std::map<digest, ahead> ahead_;
  uint64_t last_time_ = 0; // the head block's
};

/// SHA-256 of a block's canonical encoding: what consensus decides and certifies.
digest value_id(const block& b);

/// This node's precommit alone, for a network of one ledger node.
consensus::certificate certify_alone(const block& b, uint32_t round, const node_key& key);
consensus::certificate certify_alone(uint64_t height, const digest& value, uint32_t round,
                                     const node_key& key);

} // namespace nexus::chain
