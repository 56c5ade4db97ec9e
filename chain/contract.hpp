// The reward contract: a pure, versioned function from the chain to payments.
//
// Inputs are contributions (a worker computed shard S of task T, attempt A, with W work
// units from the planner and a result digest) and verdicts (a validator's signed judgment
// of that attempt). For each block the contract derives the reward and penalty
// transactions those inputs earn, given everything before:
//
//   submission of task T by account X with budget B (0: no limit)
//       -> nothing yet; the first submission of T counts
//   valid verdict on a contribution of (T, S) not yet paid, within T's budget
//       -> reward the worker W * rate * (1 - validator_share),
//          reward the validator W * rate * validator_share,
//          charge the submitter W * rate (when T has a submission)
//   invalid verdict on a contribution
//       -> penalty of `penalty` on the worker
//   acceptance of a contribution of (T, S) not yet paid (the orchestrator accepted it
//   unchecked, on the worker's record), within T's budget
//       -> reward the worker W * rate, charge the submitter W * rate
//   audit of validator V on (T, S, A) (an audit overturned V's verdict), once
//       -> penalty of `penalty` on V
//   anything else (a second valid verdict for a paid (T, S), a verdict with no matching
//   contribution, a replayed verdict, a shard past its task's budget) -> nothing
//
// so each (task, shard) is paid once however often it is re-issued, reported or
// replayed, what providers earn for a task is what its submitter is charged, and
// replaying the chain from height 0 reproduces every balance.
//
// It also keeps each node's record, which adaptive verification trusts: a worker's
// streak is its valid checked results since its last invalid one; a validator's, its
// standing verdicts since an audit last overturned one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "chain/block.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct contract_rules {
  uint32_t version = 1;
  int64_t micro_mcc_per_work_unit = 1000; // per MFLOP; 1 MCC = 1,000,000 micro-MCC
  uint32_t validator_share_permille = 100;
  int64_t penalty_micro_mcc = 1'000'000;
};

/// Task ids from here up belong to tasks the network issues itself (a training run's steps
/// and tests), so that they never take numbers from the tasks users submit.
constexpr uint64_t internal_task_base = uint64_t{1} << 48;

/// "task 12", or "internal task 3" for ids from internal_task_base.
std::string task_name(uint64_t task_id);

/// "12.000345 MCC" from micro-MCC.
std::string format_mcc(int64_t micro);

/// A transaction as a person reads it in logs and the shell, e.g.
/// "contribution  task 3 shard 1 attempt 1  by worker-2, 5 work units".
std::string describe_tx(const transaction& t);

/// Micro-MCC from a decimal amount of MCC ("2", "0.5", "12.000345"); errc::invalid_input
/// for anything else, negative amounts, more than six decimals, or above 10^12 MCC.
expected<int64_t> parse_mcc(const std::string& text);

/// What the contract remembers between blocks.
class contract_state {
public:
  explicit contract_state(contract_rules rules = {})
      : rules_(rules) {}

  const contract_rules& rules() const noexcept {
    return rules_;
  }

  /// The reward and penalty transactions that `inputs` (contributions and verdicts, in
  /// order) earn, unsigned and with time 0. Takes note of them: call once per block.
  std::vector<transaction> settle(const std::vector<transaction>& inputs);

  /// Checks that `b` holds its inputs followed by exactly the payments settle() derives
  /// for them, and applies it; returns the balance changes. errc::corrupted otherwise.
  expected<balance_deltas> replay(const block& b);

  const std::map<std::string, int64_t>& balances() const noexcept {
    return balances_;
  }

  /// Each account's streak (see above); absent accounts have none.
  const std::map<std::string, uint32_t>& streaks() const noexcept {
    return streaks_;
  }

  bool paid(uint64_t task, uint32_t shard) const {
    return paid_.contains({task, shard});
  }

  /// The highest task id any input named (0 if none), among users' tasks and among
  /// internal ones: a restarted orchestrator numbers its tasks above them, so that no
  /// task id is paid for twice.
  uint64_t last_task() const noexcept {
    return last_task_;
  }

  uint64_t last_internal_task() const noexcept {
    return last_internal_;
  }

private:
  using attempt_key = std::tuple<uint64_t, uint32_t, uint32_t>; // task, shard, attempt

  struct funding {
    std::string submitter;
    int64_t budget = 0; // 0: no limit
    int64_t spent = 0;
  };

  contract_rules rules_;
  std::map<uint64_t, funding> submissions_;          // by task
  std::map<attempt_key, transaction> contributions_; // not yet judged
  std::set<std::pair<uint64_t, uint32_t>> paid_;
  std::set<attempt_key> judged_;
  std::map<std::string, int64_t> balances_;
  std::map<std::string, uint32_t> streaks_;
  std::set<std::tuple<uint64_t, uint32_t, uint32_t, std::string>> audited_;
  uint64_t last_task_ = 0;
  uint64_t last_internal_ = 0;
};

} // namespace nexus::chain
