// The orchestrator's ledger-record pipeline, as a plain class: what goes to the ledger, in
// which order, and what is held back. The orchestrator actor feeds it what it hears
// (validators' verdicts and their signed records, the aggregator's judgments,
// submissions) and sends what flush() returns; tests drive it directly.
//
// The rules: a validator's signed verdict goes on only once the aggregator's judgment lets
// it stand, and only after the contribution it judges (stated once per attempt, signed by
// the orchestrator); a record that comes before the judgment waits, parked. An overturned
// validator is penalized by an audit record; a result judged without a validator (by a
// quorum of replicas, on the worker's record, or found forged) is stated by the
// orchestrator itself. A record that differs from the verdict its validator sent, or is
// signed by another key, is refused. Submissions go as their submitters signed them;
// joins and a run's steps are the orchestrator's. Nothing is recorded without a key and a
// ledger (joins wait for the ledger).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "actors/core/membership.hpp"
#include "actors/core/task_table.hpp"
#include "chain/block.hpp"
#include "chain/identity.hpp"
#include "messages/types.hpp"

namespace nexus {

using attempt_key = std::tuple<uint64_t, uint32_t, uint32_t>; // task, shard, attempt

/// How long a verdict waits for its validator's record before it is forgotten.
constexpr std::chrono::minutes record_wait{5};

class ledger_recorder {
public:
  /// Records are signed with `key`; without one nothing is recorded.
  explicit ledger_recorder(std::optional<chain::node_key> key = {});

  /// Whether a ledger is there to take records: without one they wait in the outbox.
  void set_ledger(bool present) noexcept {
    ledger_ = present;
  }

  /// For tests and demonstrations: a hub that states what it cannot prove, for each
  /// contribution it records in turn one of `faults`: "inflate-units" (ten times its work
  /// units), "pay-self" (its own node `own` as the worker), "overcharge" (a charge of the
  /// task's submitter beside it). The ledger nodes refuse each.
  void set_faults(std::vector<std::string> faults, std::string own) {
    faults_ = std::move(faults);
    own_ = std::move(own);
  }

  /// True if it has a key to sign records with (then submissions must be signed).
  bool signs() const noexcept {
    return key_.has_value();
  }

  /// True if records are kept for a ledger (a key and a ledger).
  bool recording() const noexcept {
    return key_ && ledger_;
  }

  /// Validator `from` (called `name`) sent verdict `v`; its signed record should follow.
  void expect(const verdict& v, node_id from, const std::string& name,
              clock_type::time_point now);

  /// Validator `from` (`who`: how it joined; null if it joined without a key) sent these
  /// signed records. Passes on those whose judgment lets them stand, parks those whose
  /// judgment is still to come, and returns why the others were refused.
  std::vector<std::string> take(const std::vector<std::vector<uint8_t>>& records,
                                node_id from, const node_identity* who);

  /// The aggregator's judgment of an attempt of a shard worth `work`.
  void judged(const judgment& j, const shard_work& work, clock_type::time_point now);

  /// Task `task_id` was accepted: its submitter's signed submission (check_submission
  /// passed), which the contract charges for the work it pays.
  void submitted(uint64_t task_id, const task_request& req);

  /// The network's own task `task_id` is a step of run `run`, whose submission pays for it.
  void stepped(uint64_t task_id, uint64_t run);

  /// A node proved its key when it joined in `role`: a member record binds its name to
  /// that key (the ledger drops it when the chain has it already).
  void joined(const node_identity& who, node_role role);

  /// True if records wait to be sent.
  bool pending() const noexcept {
    return !outbox_.empty();
  }

  /// How many records wait to be sent.
  std::size_t pending_count() const noexcept {
    return outbox_.size();
  }

  /// The records to send now, in order: its own signed together with one signature, and
  /// submitters' and validators' as they signed them. Empty without a ledger (they keep
  /// waiting). `submissions`, if given, learns which of them are submissions: place ->
  /// task id.
  std::vector<std::vector<uint8_t>> flush(std::map<uint32_t, uint64_t>* submissions = {});

  /// Forgets verdicts and judgments older than record_wait.
  void expire(clock_type::time_point now);

private:
  // A validator's verdict whose signed record has not yet gone to the ledger: what the
  // record must say to get there, and whether the aggregator's judgment let it stand
  // (unknown until the judgment arrives; a record that comes first waits, parked).
  struct unrecorded_verdict {
    std::string validator; // as it joined
    std::string worker;
    chain::digest result{};
    bool valid = false;
    std::optional<bool> stands;
    std::vector<uint8_t> parked; // its signed record, until the judgment says
    clock_type::time_point at;
  };

  // The aggregator's judgment of an attempt, while its validators' records may still come.
  struct judged_attempt {
    std::vector<std::string> standing; // validators whose verdicts count
    shard_work work;          // the contribution's rows and units, from the planner
    bool contributed = false; // its contribution went to the ledger
    clock_type::time_point at;
  };

  std::string refusal(const chain::transaction& t, node_id from,
                      const node_identity* who) const;
  void contribute(const attempt_key& key, const std::string& worker,
                  const chain::digest& result);
  void pass(const attempt_key& key, const unrecorded_verdict& v,
            std::vector<uint8_t> bytes);

  std::optional<chain::node_key> key_;
  bool ledger_ = false;
  std::map<std::pair<attempt_key, node_id>, unrecorded_verdict> unrecorded_; // by validator
  std::map<attempt_key, judged_attempt> judged_;
  // Records on their way to the ledger, in order: its own (signed together when sent) and
  // validators' signed verdicts.
  std::vector<std::variant<chain::transaction, std::vector<uint8_t>>> outbox_;
  std::map<std::size_t, uint64_t> submission_at_; // outbox place -> its task
  std::vector<std::string> faults_;               // see set_faults
  std::string own_;
  std::size_t faulted_ = 0;
  std::map<uint64_t, std::string> submitters_; // by task, with faults_ only
};

/// The fields a contribution or verdict record shares with the verdict it is about
/// (task, shard, attempt, worker, validator, result digest); unsigned.
chain::transaction ledger_transaction(const verdict& v, chain::tx_kind kind);

} // namespace nexus
