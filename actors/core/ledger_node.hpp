// A ledger node: its chain, its records waiting for a block, and Tendermint consensus
// with the other ledger nodes (chain/consensus.hpp), as plain C++. The ledger actor only
// carries what goes in and out: records from a sender waiting for a receipt, records and
// consensus messages from peers, timer events; messages to every peer, timers to set,
// decided blocks for a peer behind, receipts.
//
// Records. A record handed to any ledger node is checked (its signature), kept once in
// the node's pool and passed on to every peer, so that whichever node proposes next can
// include it. The sender's receipt waits until every record of its batch is in a
// committed block, or refused by the contract when this node proposed it; a record
// already on the chain counts as recorded (offered twice, stored once).
//
// Blocks. The proposer's value is its next block (chain::ledger::propose) of at most
// `batch` pooled records; a node votes for a proposal only if chain::ledger::check_next
// accepts it (signatures, the contract replayed, the state root); a decided block is
// stored with its commit certificate before the next height begins. A node with nothing
// to propose waits at a new height: no empty blocks.
//
// Restarts. Before this node sends a message it signed, the highest round it signed at
// each recent height is synced to `signed_path` (a line appended; the file is written
// anew from time to time; if that fails, it sends nothing it signed); a node that restarts
// at such a height begins at the next round, so it never signs two messages of one round.
// Its lock and valid value (Tendermint's lines 36-43) are kept before a precommit goes out
// (`signed_path` with the extension .lock, in two slots: actors/core/synced_slots.hpp) and
// restored, so a restarted node is an honest one that was slow.
//
// Faults, for tests: "silent" (takes part in nothing), "equivocate" (signs a second,
// conflicting vote for every vote), "invalid-votes" (votes for any proposal), "pay-self"
// (proposes blocks that pay it 1000 MCC), "drop-records" (proposes empty blocks).
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "actors/core/synced_slots.hpp"
#include "chain/consensus.hpp"
#include "chain/ledger.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

struct ledger_node_config {
  std::size_t batch = 2000; // records per block at most
  chain::consensus::timeouts timeouts{};
  std::string fault;                 // empty: honest
  std::filesystem::path signed_path; // empty: not kept (tests)
};

/// What handling one event gives the carrier to do.
struct ledger_node_output {
  std::vector<chain::consensus::message> broadcast; // to every peer
  std::vector<chain::consensus::timer> timers;
  std::vector<chain::consensus::decision> to_sender; // for the peer that sent the event
  std::vector<chain::transaction> gossip;            // new records, to every peer
  std::vector<std::pair<uint64_t, ledger_receipt>> receipts; // by ticket, complete
  std::vector<std::string> log;                              // lines for the node's log
};

class ledger_node {
public:
  ledger_node(std::shared_ptr<chain::ledger> ledger, ledger_node_config config);
  ~ledger_node();

  ledger_node(const ledger_node&) = delete;
  ledger_node& operator=(const ledger_node&) = delete;

  ledger_node_output start();

  /// Records (canonical bytes) from a sender that waits for receipt `ticket`.
  ledger_node_output offer(uint64_t ticket,
                           const std::vector<std::vector<uint8_t>>& records);

  /// Records a peer passed on.
  ledger_node_output gossip(const std::vector<std::vector<uint8_t>>& records);

  ledger_node_output on_message(const chain::consensus::message& m);
  ledger_node_output on_decision(const chain::consensus::decision& d);
  ledger_node_output on_timeout(const chain::consensus::timer& t);

  /// Every message of the current height again (for a lossy network), or nothing while
  /// the height waits for records.
  ledger_node_output resend();

  /// Decided blocks from `height` on with their certificates, from the store (at most
  /// `limit`), for a peer that fell behind.
  std::vector<chain::consensus::decision> decided_from(uint64_t height,
                                                       std::size_t limit) const;

  /// The height consensus is at: the next block's.
  uint64_t height() const;

  std::size_t pooled() const noexcept {
    return pooled_.size();
  }

  /// The records waiting for a block, in the order this node heard them.
  std::vector<chain::transaction> pool() const;

  const chain::ledger& ledger() const noexcept {
    return *ledger_;
  }

  /// Its lock and valid value at the current height (Tendermint's lines 36-43).
  chain::consensus::tendermint::lock_state lock() const {
    return machine_->lock();
  }

  /// Whether this node takes part in nothing (fault "silent", or it cannot read what it
  /// signed before).
  bool silent() const noexcept {
    return config_.fault == "silent" || !problem_.empty();
  }

private:
  struct ticket_state {
    ledger_receipt receipt;
    uint32_t remaining = 0;
  };

  // Whether the pool holds records other than evidence, which alone begins no height.
  bool has_records() const;
  std::vector<uint8_t> value(uint64_t height);
  bool valid(uint64_t height, const std::vector<uint8_t>& value, const chain::digest& id);
  void commit(const chain::consensus::decision& d);
  // Calls the machine with out_ set for its hooks, then takes its effects.
  template <class F>
  void drive(F&& call, ledger_node_output& out);
  void take(chain::consensus::effects e, ledger_node_output& out);
  void pool(chain::transaction t, const chain::digest& id, bool pass_on,
            ledger_node_output& out);
  // Takes the records with these ids out of the pool.
  void drop(const std::vector<chain::digest>& ids);
  // Begins a height that waited, now that there are records.
  void wake_if_ready(ledger_node_output& out);
  // The machine's answer to one event, unless this node takes part in nothing.
  template <class F>
  ledger_node_output step(F&& call);
  void settle(const chain::digest& id, const std::string& refusal, uint64_t height,
              const chain::digest& hash, ledger_node_output& out);
  // Keeps (synced, at once) that this node signed at each (height, round); false if it
  // could not (and then it remembers them as not signed).
  bool remember_signed(const std::vector<std::pair<uint64_t, uint32_t>>& rounds);
  // Writes `lines` (or the whole file from `rounds`) to signed_path, synced.
  bool keep_signed(const std::map<uint64_t, int64_t>& rounds, const std::string& lines);
  // Keeps the lock and what this node signed among `broadcast`, or takes its own
  // messages out (false): nothing it signed goes out unkept.
  bool keep_before_sending(std::vector<chain::consensus::message>& broadcast,
                           ledger_node_output& out);
  // Takes out of the pool what the chain holds (after a failed write was retried).
  void recheck_pool(ledger_node_output& out);
  // The height of the block holding record `id`, which the chain holds (the head's for a
  // member record that binds nothing new).
  uint64_t height_holding(const chain::digest& id) const;
  // Keeps (synced) the machine's lock and valid value when they changed; false if it
  // could not.
  bool remember_lock();
  // Beside signed_path: NAME.lock, the base of the lock's slots (NAME.lock.0 and .1), and
  // the file an earlier version kept it in whole.
  std::filesystem::path lock_path() const;

  std::shared_ptr<chain::ledger> ledger_;
  ledger_node_config config_;
  std::unique_ptr<chain::consensus::tendermint> machine_;
  ledger_node_output* out_ = nullptr; // the output the machine's hooks add to
  // The pool: each record by id, with the number it was pooled under, and the ids in the
  // order this node heard them (an entry whose number is not its record's any longer
  // was taken out: pool_ is compacted when such entries are many).
  struct pooled_record {
    chain::transaction tx;
    uint64_t number = 0;
  };
  std::unordered_map<chain::digest, pooled_record, chain::digest_hash> pooled_;
  std::deque<std::pair<uint64_t, chain::digest>> pool_;
  uint64_t pooled_count_ = 0;
  // Whether pool_'s entry `e` is a record still pooled (and so the record, or null).
  const pooled_record* live(const std::pair<uint64_t, chain::digest>& e) const;
  std::size_t evidence_ = 0; // evidence records in pool_
  std::map<uint64_t, ticket_state> tickets_;
  std::unordered_map<chain::digest, std::vector<std::pair<uint64_t, uint32_t>>,
                     chain::digest_hash>
      waiting_;
  std::map<uint64_t, int64_t> signed_; // the highest round signed, by recent height
  int signed_fd_ = -1;                 // signed_path, open to append once written whole
  std::size_t appended_ = 0;           // lines appended since
  std::string problem_;                // why this node may sign nothing
  std::unique_ptr<synced_slots> lock_file_; // with a signed_path
  bool legacy_lock_ = false; // lock_path() itself holds a lock, to remove once slots do
  std::tuple<uint64_t, int32_t, int32_t> saved_lock_{0, -1, -1}; // height, rounds kept
  std::vector<chain::consensus::decision> unstored_; // decided, for a disk to take
};

} // namespace nexus
