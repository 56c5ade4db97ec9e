// A submitter's view of a network: submit tasks, follow them, fetch their outputs.
//
// Wraps request/reply with the orchestrator behind blocking calls with time-outs, for
// programs that are not actors themselves (nexus-shell, tests, benchmarks). Operands go
// into the local blob store and, for a remote network, up to the hub's store through its
// gateway; tasks carry only their digests. Not thread-safe: one client per thread.
//
// Every request watches its hub: one lost while it waits (its node died, or its link went
// silent past the heartbeat time-out) fails it at once rather than after the time-out.
// With set_failover, the client then moves to another hub of the network by itself and
// submits there again every task of its own not finished and fetched: the same signed
// submissions, under the same task ids, so that the ledger pays each row once and charges
// once. The call that noticed goes on there.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/interfaces.hpp"
#include "actors/transport/bulk.hpp"
#include "chain/governance.hpp"
#include "chain/identity.hpp"
#include "compute/nn/dataset.hpp"

namespace nexus {

/// A hub as a client reaches it.
struct hub_link {
  std::string name; // the topology's name for its node; empty: unknown
  orchestrator_actor orchestrator;
  gateway_actor gateway; // operands go up through it (null: an embedded network)
  bulk_endpoint bulk;    // outputs come through it (empty: through CAF)
};

class client {
public:
  using progress_fn = std::function<void(const task_report&)>;
  using say_fn = std::function<void(const std::string&)>;
  /// Finds another hub when `lost` (a name) was lost: blocks until one answers, or gives
  /// up with an error.
  using relink_fn = std::function<expected<hub_link>(const std::string& lost)>;

  /// Signs its submissions with a fresh key, as account "key-" and the key id's first
  /// 12 digits, until sign_as() names another.
  client(caf::actor_system& sys, orchestrator_actor orchestrator,
         std::shared_ptr<blob_store> store,
         std::chrono::milliseconds timeout = std::chrono::seconds{30});

  /// Signs every submission with `key` as account `name`, which the ledger charges (the
  /// first submission binds the name to the key for good).
  void sign_as(std::string name, chain::node_key key) {
    name_ = std::move(name);
    key_ = std::move(key);
  }

  /// The account its submissions are charged to.
  const std::string& account() const noexcept {
    return name_;
  }

  /// Names these hubs in every submission as the only ones whose records of its work the
  /// ledger counts (the topology's hubs: any of them may take a task that moves); none:
  /// any hub's.
  void set_hub_keys(std::vector<chain::public_key> keys) {
    hub_keys_ = std::move(keys);
  }

  /// The id of the task this client submitted last (0: none yet).
  uint64_t last_task() const noexcept {
    return last_task_;
  }

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Talks to `hub` from now on: its orchestrator, its gateway for operands (a network in
  /// other processes) and its bulk channel for outputs; says through the failover's `say`
  /// at once if it is lost.
  void set_hub(hub_link hub);

  /// Moves to the hub `relink` finds when this one is lost, saying what it does through
  /// `say` (another thread may call it, when a hub is lost between calls).
  void set_failover(relink_fn relink, say_fn say);

  /// The hub it talks to (its name empty for an embedded network).
  const std::string& hub() const noexcept {
    return hub_.name;
  }

  /// Sends operands to this gateway's store too (a network in other processes).
  void set_upstream(gateway_actor gateway) {
    hub_.gateway = std::move(gateway);
    uploaded_.clear();
  }

  /// Fetches large outputs through this bulk channel (the orchestrator node's; see
  /// bulk_endpoint_of), falling back to CAF's way if it fails.
  void set_bulk(bulk_endpoint where) {
    hub_.bulk = std::move(where);
  }

  /// Puts A and B in the store (and upstream) and submits their product.
  expected<task_ack> submit_matmul(compute::tensor a, compute::tensor b,
                                   task_request options = {});

  /// The product of blobs already in the network (from upload()): nothing is hashed or
  /// sent again.
  expected<task_ack> submit_matmul(const blob_ref& a, const blob_ref& b,
                                   task_request options = {});

  /// Puts the training set (and the test set, if any) in the store and starts a
  /// training run; `options` names the model (options.model.spec) and the settings
  /// (options.train).
  expected<task_ack> submit_train(const compute::nn::dataset& train,
                                  const compute::nn::dataset* test, task_request options);

  /// Puts the weights (1 x parameters) and samples in the store and submits inference.
  expected<task_ack> submit_infer(compute::tensor weights, compute::tensor x,
                                  task_request options);

  /// Inference over blobs already in the network (from upload()): nothing is hashed or
  /// sent again.
  expected<task_ack> submit_infer(const blob_ref& weights, const blob_ref& x,
                                  task_request options);

  /// Puts a tensor in the store (and upstream) once; the reference names it in later
  /// submissions.
  expected<blob_ref> upload(compute::tensor x) {
    return put(std::move(x));
  }

  expected<task_ack> submit(const task_request& req);

  expected<task_report> status(uint64_t task_id);

  /// Cancels a task of this client's (signed with its key: no other may): no more of its
  /// shards run, and what was validated stays paid. The report afterwards (a task that
  /// had already finished keeps its state).
  expected<task_report> cancel(uint64_t task_id);

  expected<std::vector<task_report>> tasks();

  expected<std::vector<node_report>> nodes();

  /// Asks the network's ledger.
  expected<ledger_answer> ledger(const ledger_query& q);

  /// Hands the ledger a rules change with its approvals (chain/governance.hpp), signed by
  /// this client as its sender; the receipt comes once it is in a committed block, or
  /// says why the contract refused it.
  expected<ledger_receipt> govern(const chain::governance& change);

  /// The output of a finished task.
  expected<compute::tensor> result(uint64_t task_id);

  /// Polls until the task finishes (or `limit` passes: errc::timeout), calling
  /// `progress` after every poll. Returns the final report.
  expected<task_report> wait(uint64_t task_id, const progress_fn& progress = {},
                             std::optional<std::chrono::milliseconds> limit = {},
                             std::chrono::milliseconds poll = std::chrono::milliseconds{
                                 50});

  blob_store& store() noexcept {
    return *store_;
  }

private:
  template <class Reply, class... Ts>
  expected<Reply> ask(Ts&&... xs);
  template <class Reply, class Handle, class... Ts>
  expected<Reply> call(const Handle& to, std::chrono::milliseconds limit, Ts... xs);
  template <class F>
  auto failing_over(F&& f) -> decltype(f());
  error move_on(); // to another hub, with this client's open tasks
  void watch();    // the hub, to say at once that it was lost
  void note_finished(const task_report& r);
  // A hub's report of a task: decoded, noted (note_finished) and annotated.
  expected<task_report> take_report(expected<wire::task_report> reply);
  void annotate(task_report& r) const;

  expected<blob_ref> put(compute::tensor x);
  expected<std::pair<blob_ref, blob_ref>> put_pair(compute::tensor x, compute::tensor y);
  error send_up(const blob_ref& ref); // to upstream_, which then holds it
  expected<task_ack> submit_signed(const task_request& req); // uploads what the hub lacks
  expected<task_ack> submit_once(const task_request& req);

  caf::scoped_actor self_;
  hub_link hub_;
  std::set<chain::digest> uploaded_; // blobs the hub's gateway already holds
  std::shared_ptr<blob_store> store_;
  relink_fn relink_; // none: no failover
  std::shared_ptr<const say_fn> say_;
  caf::actor watcher_; // of the hub (null: none)
  std::shared_ptr<std::atomic<bool>> lost_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> announced_ =
      std::make_shared<std::atomic<bool>>(false);
  std::map<uint64_t, task_request> open_; // signed, submitted, output not fetched yet
  std::deque<uint64_t> open_order_;       // to forget the oldest beyond open_kept
  std::map<uint64_t, std::string> moved_; // task id -> the hub it moved from
  std::chrono::milliseconds timeout_;
  chain::node_key key_; // signs submissions
  std::string name_;    // as this account
  uint64_t last_task_ = 0;
  std::vector<chain::public_key> hub_keys_;
};

} // namespace nexus
