// The orchestrator's bookkeeping, kept out of the actor so tests can drive it directly.
//
// Owns every task and shard the orchestrator knows: their state machine
// (pending -> in flight -> validated, per shard; planned -> running -> done / failed,
// per task), the nodes that joined, which shard runs where, retries and deadlines.
// It decides; the orchestrator actor only carries the decisions out as messages.
// Not thread-safe: one owner (the orchestrator actor) calls it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/core/workload.hpp"
#include "chain/contract.hpp"
#include "compute/errc.hpp"
#include "compute/workloads/matmul.hpp"
#include "messages/types.hpp"

namespace nexus {

using node_id = uint32_t;
using clock_type = std::chrono::steady_clock;

struct scheduler_limits {
  uint32_t max_attempts = 5;      // issues of one shard before its task fails
  uint32_t window_per_worker = 2; // shards in flight on one worker at once
  std::chrono::milliseconds shard_deadline{120'000}; // before a shard is re-issued
  int64_t micro_mcc_per_work_unit = 0; // the ledger's price, to refuse tasks over budget;
                                       // 0: tasks are not priced
  // Adaptive verification: a worker is checked on every result until its streak of valid
  // checked results reaches `trust_after`; then each result is checked with probability
  // max(check_floor, trust_after / streak). Training steps are always checked.
  uint32_t trust_after = 20;
  double check_floor = 0.1;
  // Audits: a checked result goes to a second validator (and a third if they disagree)
  // always while its first validator's streak is below trust_after, else at this rate.
  double audit_rate = 0.1;
  uint64_t seed = 0; // of the secret draws above; 0: from std::random_device
  // Tasks submitted and not finished, at most; more are refused (errc::exhausted) until
  // some finish. A training run counts as one.
  uint32_t max_queued_tasks = 10'000;
  // Finished tasks' outputs kept in memory, in bytes; older ones go to the orchestrator
  // node's data directory (actors/output_shelf.hpp).
  uint64_t outputs_in_memory = uint64_t{1} << 30;
  // Finished tasks' reports kept, at most (older ones are forgotten); a finished task
  // keeps its whole state only for a shard deadline (or a minute, if longer), then just
  // its report.
  uint32_t reports_kept = 100'000;
};

/// One decision of the table: send shard `shard_id` of `task_id` to `worker`, and have its
/// result judged as `mode` says by `validators` (none for trust; the first checks, the
/// second audits, the third decides a disagreement).
struct shard_dispatch {
  uint64_t task_id = 0;
  shard_task shard;
  node_id worker = 0;
  std::vector<node_id> validators;
  check_mode mode = check_mode::check;
  uint32_t round = 0; // replicate: the first attempt of the shard's round
};

/// What a verdict did.
enum class verdict_effect {
  accepted,      // the shard is validated
  reissue,       // rejected; the shard goes back to the queue
  task_failed,   // rejected past the bound; the task failed
  stale,         // the shard or task was already settled, or the verdict is unknown
  rejected_late, // a replica outvoted after its shard was decided: blamed all the same
};

class task_table {
public:
  explicit task_table(scheduler_limits limits = {})
      : limits_(limits)
      , rng_(limits.seed != 0 ? limits.seed : std::random_device{}()) {}

  // -- nodes --------------------------------------------------------------------------

  node_id add_node(node_info info);

  /// Marks a node dead; its shards in flight go back to the queue.
  void remove_node(node_id id);

  std::vector<node_report> node_reports() const;

  std::size_t alive_workers() const;

  /// How many workers compute each shard of a task (replicate:K), 0 if validators judge.
  uint32_t replicas(uint64_t task_id) const {
    auto t = tasks_.find(task_id);
    return t == tasks_.end() ? 0 : t->second.request.replicas;
  }

  /// The name a node joined with; empty for an unknown id.
  std::string node_name(node_id id) const {
    return id < nodes_.size() ? nodes_[id].info.name : std::string{};
  }

  // -- tasks --------------------------------------------------------------------------

  /// Forgets a finished task (a training run's step, whose run keeps what matters).
  void erase(uint64_t task_id) {
    auto t = tasks_.find(task_id);
    if (t == tasks_.end())
      return;
    if (open(t->second) && !t->second.request.internal)
      --queued_;
    tasks_.erase(t);
  }

  /// True while the task is known and not finished.
  bool is_open(uint64_t task_id) const;

  /// Tasks submitted (not a training run's steps) and not finished.
  std::size_t queued_tasks() const noexcept {
    return queued_;
  }

  /// A task id no task of the table has: at random below chain::internal_task_base (for
  /// a task kept outside the table, a training run whose submitter chose none), or above
  /// it for the network's own. Random, so that hubs never give the same one.
  uint64_t fresh_task_id(bool internal);

  /// True if a task of the table has `task_id`, running or finished (or forgotten).
  bool has_task(uint64_t task_id) const;

  /// Plans and queues a task as req.task_id (the submitter's choice, which the caller
  /// checked is free), or a fresh id. Checks the request (shapes, limits) first.
  expected<task_ack> add_task(task_request req, clock_type::time_point now);

  /// Fills every worker's window with queued shards, across tasks by weighted
  /// round-robin (a task's priority, else its remaining shards).
  std::vector<shard_dispatch> schedule(clock_type::time_point now);

  /// Applies the aggregator's judgment of an attempt: the shard's state, and the trust of
  /// its worker and validators. A worker whose checked result was invalid starts over, and
  /// its unchecked results in running tasks are revoked (see take_revoked); so does a
  /// validator an audit overturned, and the results it alone approved are revoked. On
  /// task_failed, the task is in take_failed().
  verdict_effect on_judgment(const judgment& j);

  /// Shards whose unchecked results were revoked since the last call: they run again, and
  /// the aggregator must take them out of their outputs.
  std::vector<std::pair<uint64_t, uint32_t>> take_revoked();

  /// Streaks recorded on the ledger, by node name: nodes that join (or joined) take them.
  void set_streaks(const std::map<std::string, uint32_t>& streaks);

  /// A node's streak (see set_streaks), 0 if unknown.
  uint32_t streak(const std::string& name) const;

  /// Re-queues shards past their deadline and fails tasks past their time-out; returns
  /// how many shards it re-queued. Reduces tasks finished long enough ago to their
  /// reports (scheduler_limits::reports_kept).
  std::size_t expire(clock_type::time_point now);

  /// True if task `task_id` finished long enough ago that its report is forgotten
  /// (scheduler_limits::reports_kept; remembered for that many more).
  bool forgotten(uint64_t task_id) const {
    return forgotten_.contains(task_id);
  }

  /// The aggregator holding the partial outputs was lost: every validated shard of a
  /// running task goes back to the queue.
  void unmerge_running();

  /// The aggregator delivered the whole output: the task is done.
  void on_output(uint64_t task_id, clock_type::time_point now);

  /// Fails a task with `reason` (e.g. its operands could not be read).
  void fail(uint64_t task_id, std::string reason, clock_type::time_point now);

  /// Cancels a task its submitter no longer wants: no more of its shards run, and its
  /// partial output goes (take_failed). Nothing if it already finished.
  void cancel(uint64_t task_id, std::string reason, clock_type::time_point now);

  /// The request of a task the table still holds whole; null if none.
  const task_request* request(uint64_t task_id) const;

  std::optional<task_report> report(uint64_t task_id, clock_type::time_point now) const;

  std::vector<task_report> reports(clock_type::time_point now) const;

  /// Tasks that failed or were cancelled since the last call, for whoever holds their
  /// partial state.
  std::vector<uint64_t> take_failed();

  /// A shard's rows and their work units, from the planner: its MFLOP, at least 1 (all 0
  /// if unknown).
  shard_work work_of(uint64_t task_id, uint32_t shard_id) const;

  /// True once every shard of the task is validated.
  bool all_validated(uint64_t task_id) const;

  const scheduler_limits& limits() const noexcept {
    return limits_;
  }

private:
  enum class shard_state : uint8_t { pending, in_flight, validated };

  struct placement {
    node_id worker = 0;
    std::vector<node_id> validators;
  };

  struct shard_entry {
    compute::matmul::shard_range range;
    shard_state state = shard_state::pending;
    uint32_t attempts = 0; // issues so far
    uint32_t browser_attempts =
        0; // of them, to a browser node (at most one, never counted)
    std::map<uint32_t, placement> running;    // by attempt
    std::set<node_id> failed_on;              // workers whose result was rejected
    std::optional<node_id> unchecked_from;    // its result was accepted unchecked from
    std::optional<node_id> approved_alone_by; // or on this one validator's word
    uint32_t round = 0; // replicated tasks: the first attempt of the current round
    clock_type::time_point deadline;
  };

  struct task_entry {
    uint64_t id = 0;
    task_request request;
    work_plan plan;
    std::vector<shard_entry> shards;
    task_state state = task_state::planned;
    uint32_t validated = 0;
    uint32_t rejected = 0;
    uint32_t reissued = 0;
    uint32_t unchecked = 0;  // results accepted unchecked
    uint32_t overturned = 0; // validators' verdicts overturned
    uint64_t verify_ns = 0;
    std::string reason;
    clock_type::time_point started;
    clock_type::time_point finished;
    uint64_t seq = 0;               // in order of acceptance: older tasks are served first
    chain::digest request_digest{}; // of a submitted task's request (wire::request_digest)
  };

  static bool open(const task_entry& t) {
    return t.state != task_state::done && t.state != task_state::failed
           && t.state != task_state::cancelled;
  }

  struct node_entry {
    node_info info;
    bool alive = true;
    bool suspect = false; // missed a shard deadline; cleared by its next answer
    uint32_t in_flight = 0;
    uint32_t peak_in_flight = 0;
    uint32_t done = 0;
    uint32_t rejected = 0;
    uint32_t streak = 0; // see scheduler_limits::trust_after
  };

  std::optional<shard_dispatch> place_one(task_entry& task, clock_type::time_point now);
  std::optional<node_id> pick_worker(const shard_entry& shard,
                                     const task_request& req) const;
  uint32_t window_of(const node_entry& n) const;
  std::vector<node_id> pick_validators(node_id worker, std::size_t count) const;
  bool trusted(const task_entry& task, node_id worker); // may go unchecked this time
  bool chance(double p);
  std::size_t eligible_workers(const shard_entry& shard) const;
  // Takes back the accepted results of running tasks that rest on `node`'s word alone:
  // a worker's unchecked results, or a validator's unaudited approvals.
  void revoke_resting_on(node_id node);
  node_entry* node_named(const std::string& name, node_role role);
  void release(node_id node);
  void settle_attempt(shard_entry& shard, uint32_t attempt);
  std::string waiting_reason() const;
  task_report make_report(const task_entry& task, clock_type::time_point now) const;
  void finish(task_entry& task, task_state state, std::string reason,
              clock_type::time_point now);
  void reduce_finished(clock_type::time_point now);

  scheduler_limits limits_;
  std::vector<node_entry> nodes_;
  std::map<uint64_t, task_entry> tasks_;
  std::map<uint64_t, task_report> finished_; // reduced to their reports, by id
  std::deque<uint64_t> finished_order_;      // their ids, oldest first
  std::deque<std::pair<clock_type::time_point, uint64_t>> finishing_; // in order of finish
  std::set<uint64_t> forgotten_; // ids of reports dropped, the last ones
  std::deque<uint64_t> forgotten_order_;
  std::size_t queued_ = 0;       // see queued_tasks()
  std::vector<uint64_t> failed_; // since the last take_failed()
  uint64_t next_seq_ = 0;
  std::mt19937_64 rng_;
  std::map<std::string, uint32_t> streaks_; // by name: what joining nodes start from
  std::vector<std::pair<uint64_t, uint32_t>> revoked_;
};

} // namespace nexus
