// Tendermint consensus as a plain, deterministic state machine: signed messages and timer
// events in; messages to broadcast, timers to set, decisions and evidence out. No clock, no
// sockets, no actors: the ledger node carries its messages (issue 20), and tests drive it
// directly over a simulated network (test/chain/consensus_test.cpp).
//
// It follows Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT
// consensus" (2018); each rule in consensus.cpp is named by the paper's line number. With
// n validators of equal power, a quorum is more than two thirds (2f + 1 when n = 3f + 1)
// and "f + 1" is more than one third. Proposers rotate: validator (height + round) mod n.
//
// Beyond the paper: a node that hears a message of a height it has decided answers its
// sender with that height's decision and commit certificate (the precommits of a quorum),
// which a node that fell behind checks and applies; a validator that signs two different
// votes of one kind, height and round leaves evidence (both signed votes) and counts for
// both; resend() gives every message of its height again, for a network that loses them.
// A node that restarts must restore what it signed at its height (the carrier's log), as
// any Tendermint node must, or it could sign twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <variant>
#include <vector>

#include "chain/hash.hpp"
#include "chain/identity.hpp"
#include "compute/errc.hpp"

namespace nexus::chain::consensus {

enum class vote_kind : uint8_t { prevote = 1, precommit = 2 };

struct proposal {
  uint64_t height = 0;
  uint32_t round = 0;
  std::vector<uint8_t> value;
  int32_t valid_round = -1; // -1: none
  public_key signer{};
  signature sig{};

  digest id() const; // SHA-256 of the value
  std::vector<uint8_t> signed_bytes() const;
  std::vector<uint8_t> signed_bytes(const digest& id) const; // id: this->id()

  friend bool operator==(const proposal&, const proposal&) = default;
};

struct vote {
  vote_kind kind = vote_kind::prevote;
  uint64_t height = 0;
  uint32_t round = 0;
  std::optional<digest> value; // nullopt: nil
  public_key signer{};
  signature sig{};

  std::vector<uint8_t> signed_bytes() const;
  friend bool operator==(const vote&, const vote&) = default;
};

using message = std::variant<proposal, vote>;

/// Signs `m` with `key` (sets signer and signature).
void sign(message& m, const node_key& key);

/// A value's commit certificate: precommits of a quorum for it in one round.
struct certificate {
  uint64_t height = 0;
  uint32_t round = 0;
  digest value{};
  std::vector<vote> precommits;
};

/// A certificate's canonical bytes, as stored beside its block (docs/LEDGER.md): height,
/// round, value, and each precommit's signer and signature; and back (errc::corrupted).
std::vector<uint8_t> encode(const certificate& c);
expected<certificate> decode_certificate(std::span<const uint8_t> bytes);

struct decision {
  uint64_t height = 0;
  std::vector<uint8_t> value;
  certificate cert;
};

/// Two different signed votes of one validator for one kind, height and round.
struct evidence {
  vote first;
  vote second;
};

/// Evidence's canonical bytes (an evidence record's data, docs/LEDGER.md), and back.
std::vector<uint8_t> encode(const evidence& e);
expected<evidence> decode_evidence(std::span<const uint8_t> bytes);

/// Why `e` proves nothing (the votes differ in signer, kind, height or round, are the
/// same vote, or a signature does not verify), or nothing: it proves double signing.
std::string evidence_problem(const evidence& e);

enum class step_kind : uint8_t { propose, prevote, precommit };

struct timer {
  step_kind step = step_kind::propose; // which timeout: OnTimeoutPropose, ...
  uint64_t height = 0;
  uint32_t round = 0;
  std::chrono::milliseconds after{0};
};

struct effects {
  std::vector<message> broadcast;
  std::vector<timer> timers;
  std::vector<decision> decided;
  std::vector<evidence> equivocations;
  std::vector<std::pair<public_key, decision>> replies; // to a node behind
};

struct timeouts {
  std::chrono::milliseconds propose{300}, prevote{100}, precommit{100};
  std::chrono::milliseconds growth{100}; // added per round to each
};

struct hooks {
  /// The value this node proposes at `height` (getValue()).
  std::function<std::vector<uint8_t>(uint64_t height)> get_value;
  /// True if `value` may be decided at `height` (valid(v)); `id` is its SHA-256.
  std::function<bool(uint64_t height, const std::vector<uint8_t>& value, const digest& id)>
      valid;
  /// Optional: called with each decision before the next height begins, so that the
  /// carrier applies it before get_value and valid are asked about the next height.
  std::function<void(const decision&)> commit;
  /// Optional: whether this node has anything to propose. While it has not, a new height
  /// waits (no empty blocks): wake() begins it, and so does any message of that height.
  std::function<bool()> ready;
};

/// Quorum and "more than a third" for n validators of equal power.
std::size_t quorum(std::size_t n);
std::size_t third(std::size_t n);

/// True if `c` holds valid precommits of a quorum of `validators` for its value.
/// `check_signatures` false: for a certificate whose precommits the caller verified
/// already (a machine's decisions: it verifies every message as it takes it, and a peer's
/// decision by this function).
bool certifies(const certificate& c, const std::vector<public_key>& validators,
               bool check_signatures = true);

class tendermint {
public:
  /// Validator `key` among `validators` (the same order at every node), from `height`.
  tendermint(std::vector<public_key> validators, node_key key, uint64_t height, hooks h,
             timeouts t = {});

  /// upon start: StartRound(round), 0 but for a node that restarts at a height where it
  /// signed before (it must never sign two messages of one round).
  effects start(uint32_t round = 0);

  /// Begins a height that waits for a value (hooks::ready), if it does.
  effects wake();

  /// What a node must keep to restart safely at its height: its lock and valid value
  /// (lines 36-43) with their rounds. Call restore() before start() after a restart.
  struct lock_state {
    uint64_t height = 0;
    int32_t locked_round = -1, valid_round = -1;
    std::optional<proposal> locked, valid;
  };
  lock_state lock() const;
  void restore(const lock_state& s);

  bool waiting() const noexcept {
    return waiting_;
  }

  effects on_message(const message& m);
  effects on_timeout(const timer& t);

  /// A decision (with its certificate) from a peer, for a node that fell behind.
  effects on_decision(const decision& d);

  /// Every message this node took at its current height, its own and others', to send
  /// again: the gossip the protocol's liveness rests on (a message a correct node received
  /// reaches every correct node).
  std::vector<message> resend() const;

  uint64_t height() const noexcept {
    return height_;
  }
  uint32_t round() const noexcept {
    return round_;
  }
  step_kind step() const noexcept {
    return step_;
  }
  int32_t locked_round() const noexcept {
    return locked_round_;
  }
  int32_t valid_round() const noexcept {
    return valid_round_;
  }
  const public_key& proposer(uint64_t height, uint32_t round) const;

private:
  struct round_log {
    // What the round's proposer proposed: the first (rules 22 and 28) and every proposal it
    // signed, by value (rules 36 and 49 apply to any; at most two are kept).
    std::optional<digest> first;
    std::map<digest, proposal> offered;
    // Every distinct vote of each signer: a validator that signed two counts for both
    // values, which is safe (two quorums share an honest validator, who votes once) and
    // keeps every honest node's counts converging as messages spread.
    std::map<public_key, std::vector<vote>> prevotes, precommits;
    std::set<public_key> senders; // anyone heard at this round (rule L55)
    bool prevote_timer = false, precommit_timer = false, l36_done = false;
  };

  void start_round(uint32_t round, effects& out);
  void evaluate(effects& out);
  // Proposals' ids (SHA-256 of a whole block) are computed once, where they are taken,
  // and passed along.
  void prevote(const digest& id, bool yes, effects& out);
  bool take(const message& m, effects& out); // false: not for this height, or bad
  void own(message m, effects& out);
  bool is_valid(const proposal& p, const digest& id);
  std::size_t count(const std::map<public_key, std::vector<vote>>& votes,
                    const std::optional<digest>& value) const;
  // `id` by value: deciding clears the rounds its caller's key may live in.
  void decide(const proposal& p, digest id, uint32_t round, effects& out);
  std::chrono::milliseconds after(step_kind s, uint32_t round) const;

  std::vector<public_key> validators_;
  node_key key_;
  hooks hooks_;
  timeouts timeouts_;
  uint64_t height_;
  uint32_t round_ = 0;
  step_kind step_ = step_kind::propose;
  std::optional<proposal> locked_, valid_; // lockedValue, validValue (with their rounds)
  digest locked_id_{};                     // locked_'s id, when there is one
  int32_t locked_round_ = -1, valid_round_ = -1;
  bool waiting_ = false; // for a value at a new height (hooks::ready)
  std::map<uint32_t, round_log> rounds_;
  std::map<digest, bool> validity_;                 // valid(v), asked once per value
  std::map<uint64_t, std::vector<message>> future_; // for the next heights, kept
  std::map<uint64_t, decision> decisions_;          // what this node decided
  std::set<digest> seen_;                           // messages taken at this height
  std::set<digest> future_seen_;                    // kept for the next heights
  std::vector<message> heard_; // taken at this height (its own and others'), for resend
};

} // namespace nexus::chain::consensus
