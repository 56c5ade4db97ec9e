// The reward contract: a pure, versioned function from the chain to payments.
//
// Its rules and the membership (who may sign what, chain/membership.hpp) come from the
// chain itself: the first block starts with a rules record and the first members, and
// later rules and member records change them from the next record on. Every input is
// admitted first, or refused with why (and then changes nothing):
//
//   submission   signed by the key its account is bound to (the first one binds an
//                unbound account to its signer, as a submitter); a nonce counts once, a
//                task is submitted once, budgets are not negative
//   step         signed by an orchestrator: one of the network's own tasks (a training
//                run's step) is paid for by the submission of the run it belongs to
//   contribution signed by an orchestrator, for a task a submission pays for (its own or
//                its run's); its worker is a member with the worker role; at most
//                max_work_units
//   verdict      signed by its validator's bound key, on another node's work (not the
//                worker's name or key); "quorum" and "network" verdicts by an orchestrator;
//                after the contribution it judges (so is an acceptance)
//   acceptance, audit, member (after the first block)  signed by an orchestrator
//   evidence     signed by a ledger node: two different votes of one kind, height and
//                round, both signed by the key its account (a ledger node) is bound to;
//                once per such kind, height and round
//   governance   signed by whoever hands it in: the chain's next rules change (by its
//                sequence number), for this chain, from a height still ahead, approved by
//                more than two thirds of the ledger nodes, one change per height
//                (chain/governance.hpp)
//   rules        the proposer's, in the first block only: later rules come by governance
//   payments     never inputs
//
// and amounts that would overflow (a price, a budget, a balance, the supply) refuse the
// input. For each block the contract derives what the admitted inputs earn:
//
//   submission of task T by account X with budget B (0: no limit)
//       -> nothing yet
//   valid verdict on a contribution of (T, S) not yet paid, within T's budget
//       -> reward the worker W * rate * (1 - validator_share),
//          reward the validator W * rate * validator_share,
//          charge the submitter W * rate (when T has a submission)
//       ("quorum" and "network" verdicts: no validator judged, the worker is paid W * rate)
//   a further valid verdict on that attempt by another validator (an audit of the first:
//   judging work too), within the budget
//       -> reward it W * rate * audit_share, charge the submitter as much
//   invalid verdict on a contribution
//       -> penalty of `penalty` on the worker
//   acceptance of a contribution of (T, S) not yet paid (the orchestrator accepted it
//   unchecked, on the worker's record), within T's budget
//       -> reward the worker W * rate, charge the submitter W * rate
//   audit of validator V on (T, S, A) (an audit overturned V's verdict), once
//       -> penalty of `penalty` on V
//   evidence that ledger node L signed twice
//       -> penalty of `penalty` on L
//   anything else (a second verdict by the same validator, a verdict on another worker
//   or result than the contribution's, a shard past its task's budget) -> nothing
//
// so each (task, shard) is paid once however often it is re-issued, reported or
// replayed, what providers earn for a submitted task is what its submitter is charged,
// and replaying the chain from height 0 reproduces every balance. Every reward is charged
// to a submitter, and penalties leave the supply: the balances add up to
// paid - charged - penalized, which is -penalized (docs/LEDGER.md).
//
// Rules a governance record scheduled hold from their height on: settle() puts them in
// force before the first input of that block.
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
#include "chain/layered.hpp"
#include "chain/membership.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct contract_rules {
  uint32_t version = 2;
  int64_t micro_mcc_per_work_unit = 1000; // per MFLOP; 1 MCC = 1,000,000 micro-MCC
  uint32_t validator_share_permille = 100;
  int64_t penalty_micro_mcc = 1'000'000;
  uint32_t audit_share_permille = 50; // an auditing validator's fee, of the shard's price

  friend bool operator==(const contract_rules&, const contract_rules&) = default;
};

/// The most work units one contribution may claim (2^33 MFLOP, ~8.6 PFLOP), and the
/// highest rate (10^9 micro-MCC per work unit): their product fits in 63 bits.
constexpr uint64_t max_work_units = uint64_t{1} << 33;
constexpr int64_t max_rate = 1'000'000'000;

/// errc::invalid_input unless 0 < rate <= max_rate, shares <= 1000 permille and
/// 0 <= penalty <= 10^15.
error check(const contract_rules& rules);

/// "v2: 0.001000 MCC per work unit, validators 10.0%, audits 5.0%, penalty 1 MCC".
std::string describe_rules(const contract_rules& rules);

/// The proposer's record of `rules`, and back (errc::corrupted for other bytes).
transaction rules_record(const contract_rules& rules);
expected<contract_rules> rules_of(const transaction& t);

/// A member record binding `m` (unsigned), and back.
transaction member_record(const member_entry& m);
expected<member_entry> member_of(const transaction& t);

/// A submission's nonce, or the task a step belongs to, as a record's data; and back.
std::vector<uint8_t> u64_data(uint64_t x);
expected<uint64_t> nonce_of(const transaction& t);
expected<uint64_t> task_of(const transaction& t);

/// What a submitter signs in a submission's data: its nonce, the work it agrees to pay
/// for: `rows` rows of `flops_per_row` FLOP each, and the hubs it lets record the task's
/// work (NONCE u64 | ROWS u64 | FLOPS_PER_ROW u64 | HUB KEY 32 bytes ...). The older forms,
/// the nonce alone (no work bound: its contributions are capped by the budget alone) and
/// nonce, rows and FLOP per row (any hub), stay valid.
struct submission_terms {
  uint64_t nonce = 0;
  uint64_t rows = 0; // 0: no work bound (both 0: a training run)
  uint64_t flops_per_row = 0;
  std::vector<public_key> hubs; // keys whose records of its work count; empty: any hub's
};

/// Hubs a submission may name, at most.
constexpr std::size_t max_submission_hubs = 64;
std::vector<uint8_t> terms_data(const submission_terms& terms);
expected<submission_terms> terms_of(const transaction& t);

/// The rows [begin, end) of its task a contribution computed, as its data (BEGIN u64 |
/// END u64), and back.
std::vector<uint8_t> rows_data(uint64_t begin, uint64_t end);
expected<std::pair<uint64_t, uint64_t>> rows_of(const transaction& t);

/// The same, naming also the request digest of the submission whose rows they are (BEGIN
/// u64 | END u64 | DIGEST 32 bytes): a task whose submission names its hubs has it in each
/// contribution, so that another submission under the same id pays for no work of its own.
std::vector<uint8_t> rows_data(uint64_t begin, uint64_t end, const digest& request);
std::optional<digest> request_of_rows(const transaction& t);

/// The work units of rows [begin, end) of a task of `flops_per_row` FLOP per row:
/// ceil(end * F / 10^6) - ceil(begin * F / 10^6), the MFLOP up to `end` rounded up less
/// those up to `begin`. Shards of any cut add up to the whole task's MFLOP rounded up:
/// cutting a task finer never earns more (a shard of a few rows may earn 0). UINT64_MAX
/// past 2^64. Submitters, orchestrators and the contract all count by it.
uint64_t work_units(uint64_t begin, uint64_t end, uint64_t flops_per_row);

/// Where MCC went, in micro-MCC: the balances add up to paid - charged - penalized.
/// Totals that only grow are kept in 128 bits: they never overflow (in 64 bits they would
/// after ~10^22 FLOP of paid work, and refuse every payment after that).
using mcc_total = __int128;

struct supply_totals {
  mcc_total paid = 0;      // rewards
  mcc_total charged = 0;   // charges to submitters
  mcc_total penalized = 0; // penalties: they leave the supply

  /// What the network issued for work no submitter paid for.
  mcc_total issued() const noexcept {
    return paid - charged;
  }
};

/// format_mcc of a total (128 bits).
std::string format_total(mcc_total micro);

/// Where a block goes and who proposes it, for the records the contract derives.
struct block_context {
  uint64_t height = 0;
  public_key proposer{};
  uint64_t time_ms = 0;
};

/// What settle() makes of a block's inputs.
struct settlement {
  std::vector<transaction> payments; // stamped with the proposer and the block's time
  std::vector<std::pair<std::size_t, std::string>> refused; // input index, why
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
  /// The rules in force (the defaults before the first block sets them).
  const contract_rules& rules() const noexcept {
    return rules_;
  }

  /// Rules governance records scheduled and not yet in force, by the height they hold
  /// from.
  const std::map<uint64_t, contract_rules>& scheduled() const noexcept {
    return scheduled_;
  }

  /// How many rules changes the chain recorded: the next one's sequence number.
  uint64_t rules_changes() const noexcept {
    return rules_changes_;
  }

  /// The chain's name: the hash of its first block (zero before replay() applied it).
  const digest& chain_id() const noexcept {
    return chain_;
  }

  /// The first block was applied.
  bool started() const noexcept {
    return started_;
  }

  /// Admits each of `inputs` in order (refusing what breaks the rules above) and derives
  /// the payments the admitted ones earn. Takes note of them: call once per block, with
  /// the inputs that will be stored (the refused ones change nothing, so the block of the
  /// others replays the same).
  settlement settle(const std::vector<transaction>& inputs, const block_context& at);

  /// Folds what blocks changed into the history copies share (chain/layered.hpp), so that
  /// the next copy costs little. The state reads the same before and after.
  void flatten();

  /// Checks that `b` is proposed by a ledger member and holds admissible inputs followed
  /// by exactly the payments settle() derives for them, and applies it; returns the
  /// balance changes. errc::corrupted otherwise.
  expected<balance_deltas> replay(const block& b);

  const class membership& members() const noexcept {
    return members_;
  }

  const supply_totals& supply() const noexcept {
    return supply_;
  }

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
    uint64_t rows = 0; // the work its submission binds (0: none)
    uint64_t flops_per_row = 0;
    std::vector<public_key> hubs; // whose records of its work count (empty: any hub's)
    digest request{};             // the submission's request digest
  };

  // An attempt once judged: what its first verdict said, for the audits that follow.
  struct judged_attempt {
    std::string worker;
    digest result{};
    bool valid = false;
    int64_t price = 0; // what the shard was paid (0: not paid)
    std::set<std::string> validators;
    std::set<public_key> judges; // their keys: one key earns one audit, whatever its names
  };

  std::string refusal(const transaction& t, const block_context& at) const;
  // Why a verdict or acceptance has nothing to judge (no contribution of its attempt on
  // the chain before it), or nothing. Refused rather than admitted for nothing: ledger
  // nodes propose records in the order they heard them, and a verdict admitted before
  // its contribution would leave the shard unpaid for good.
  std::string judges_nothing(const transaction& t) const;
  // Derives what admitted input `t` earns into `out`; false (nothing changed) if an
  // amount would overflow.
  bool apply(const transaction& t, std::vector<transaction>& out);
  bool pay(const std::vector<transaction>& payments);
  // True if `amount` more fits the budget of `f` (none, or 0: no limit).
  static bool affordable(const funding* f, int64_t amount);
  // The submission paying for `task` (its own, or its run's for a step), or null.
  const funding* funds(uint64_t task) const;
  funding* funds(uint64_t task);

  contract_rules rules_;
  std::map<uint64_t, contract_rules> scheduled_; // by the height they hold from
  uint64_t rules_changes_ = 0;
  digest chain_{};
  bool started_ = false;
  class membership members_;
  supply_totals supply_;
  // What grows with the chain is layered (chain/layered.hpp): a copy of the state costs
  // what changed since the last flatten(), not the chain's history.
  layered_set<std::pair<std::string, uint64_t>> nonces_; // (account, nonce) used
  layered_map<uint64_t, funding> submissions_;           // by task
  layered_map<uint64_t, uint64_t> steps_;                // a run's step -> the run
  std::map<attempt_key, transaction> contributions_;     // not yet judged
  layered_set<std::pair<uint64_t, uint32_t>> paid_;
  // Rows paid for, of tasks whose submissions bind their work: (task, begin) -> end,
  // never overlapping, so that no row is paid twice whatever shards a hub plans.
  layered_map<std::pair<uint64_t, uint64_t>, uint64_t> paid_rows_;
  // True if rows [begin, end) of `task` overlap rows paid for.
  bool rows_paid(uint64_t task, uint64_t begin, uint64_t end) const;
  layered_map<attempt_key, judged_attempt> judged_;
  std::map<std::string, int64_t> balances_;
  std::map<std::string, uint32_t> streaks_;
  layered_set<std::tuple<uint64_t, uint32_t, uint32_t, std::string>> audited_;
  // Double signing penalized: signer, kind, height, round.
  layered_set<std::tuple<public_key, uint8_t, uint64_t, uint32_t>> evidenced_;
  uint64_t last_task_ = 0;
  uint64_t last_internal_ = 0;
};

} // namespace nexus::chain
