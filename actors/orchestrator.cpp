#include "actors/orchestrator.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/core/submission.hpp"
#include "actors/core/workload.hpp"
#include "actors/ledger.hpp"
#include "chain/block.hpp"
#include "chain/membership.hpp"

namespace nexus {

namespace {

using self_pointer = orchestrator_actor::stateful_pointer<orchestrator_state>;

// Sends out every shard the table can place now, and lets the aggregator forget the
// partial outputs of tasks that failed.
void issue_run_tasks(self_pointer self, training_run& run);

// A run that failed or was cancelled takes its tasks under way with it.
void end_failed_runs(self_pointer self) {
  auto& st = self->state;
  for (auto& [id, run] : st.runs)
    if (run->finished())
      for (auto task_id : run->open_tasks())
        st.table.fail(task_id, "its training run " + to_string(run->state()),
                      clock_type::now());
}

void dispatch(self_pointer self) {
  auto& st = self->state;
  auto failed = st.table.take_failed();
  for (auto task_id : failed)
    for (auto& [id, run] : st.runs)
      if (run->owns(task_id)) {
        auto r = st.table.report(task_id, clock_type::now());
        run->on_failure(task_id, r ? r->reason : std::string{"failed"}, clock_type::now());
      }
  if (!failed.empty())
    end_failed_runs(self);
  if (!st.aggregator)
    return; // shards wait until an aggregator can take their results
  // Revoked results leave their outputs before their shards run again.
  for (auto [task_id, shard_id] : st.table.take_revoked())
    self->send(st.aggregator, revoke_atom::value, task_id, shard_id);
  for (auto& d : st.table.schedule(clock_type::now())) {
    expectation expected{st.table.node_name(d.worker), std::nullopt, d.mode};
    if (d.mode == check_mode::replicate) {
      expected.replicas = st.table.replicas(d.task_id);
      expected.round = d.round;
    }
    if (const auto* id = st.members.identity(d.worker))
      expected.worker_key = id->key;
    validator_list judges;
    for (auto v : d.validators)
      judges.push_back(st.validators.at(v));
    auto assignment = wire::encode(d.shard);
    // The aggregator hears first what the result must be and who judges it.
    const auto& worker = st.workers.at(d.worker);
    self->send(st.aggregator, expect_atom::value, assignment, wire::encode(expected),
               caf::actor_cast<caf::strong_actor_ptr>(worker), judges);
    self->send(worker, assign_atom::value, assignment, st.aggregator);
  }
  for (auto task_id : failed)
    self->send(st.aggregator, drop_atom::value, task_id);
}

void schedule_flush(self_pointer self);

// Registers a node that joined and watches it: its death re-queues its shards.
template <class Handle>
expected<node_id> admit(self_pointer self, const wire::node_info& msg, const Handle& handle,
                        node_role expected) {
  auto info = wire::decode(msg);
  if (!info)
    return info.error();
  if (info->role != expected)
    return make_error(errc::invalid_input, "node " + info->name + " joined as "
                                               + to_string(info->role) + " through the "
                                               + to_string(expected) + " interface");
  auto err = self->state.members.admit(*info, clock_type::now());
  // Browser nodes come through this hub's web endpoint, whose worker actors live here; a
  // remote process naming itself so would skip the topology's list of members.
  if (!err && chain::browser_named(info->name) && handle.node() != self->node())
    err = make_error(errc::rejected, "browser nodes join through a hub's web endpoint");
  // A name keeps the key the chain bound it to: a node with another key would work unpaid.
  auto bound = self->state.bindings.find(info->name);
  if (!err && bound != self->state.bindings.end()
      && (info->role == node_role::worker || info->role == node_role::validator)
      && !std::equal(info->public_key.begin(), info->public_key.end(),
                     bound->second.begin(), bound->second.end()))
    err = make_error(errc::rejected,
                     "the name " + info->name + " is bound on the ledger to another key ("
                         + chain::to_hex(bound->second).substr(0, 16)
                         + "...); join with that key, or under another name");
  if (err) {
    caf::aout(self) << "orchestrator: refused " << info->name << " as "
                    << to_string(info->role) << ": " << describe(err) << "\n";
    return make_error(errc::rejected, "join refused: " + describe(err));
  }
  auto id = self->state.table.add_node(*info);
  self->state.node_of[handle.address()] = id;
  self->state.members.joined(id, *info);
  // A key the node proved (a signed challenge), or that a node of this process was given,
  // is bound to its name on the chain; on an open network a key a remote node names
  // without proof binds nothing.
  bool proven = !info->signature.empty() || handle.node() == self->node();
  if (auto* who = self->state.members.identity(id); who && proven) {
    self->state.recorder.joined(*who, info->role);
    if (self->state.recorder.signs())
      self->state.bindings.emplace(who->name, who->key);
    schedule_flush(self);
  }
  self->monitor(handle);
  return id;
}

// The node that sent the current message, if it joined.
std::optional<node_id> sender_node(self_pointer self) {
  auto from =
      self->state.node_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (from == self->state.node_of.end())
    return std::nullopt;
  return from->second;
}

// A task whose submission the ledger refused (signed in an account bound to another key,
// a nonce used before): nobody would pay for its work, so it stops.
void refused_submission(self_pointer self, uint64_t task_id, const std::string& why) {
  auto& st = self->state;
  auto reason = "the ledger refused its submission: " + why;
  auto now = clock_type::now();
  if (auto run = st.runs.find(task_id); run != st.runs.end())
    run->second->abort(reason, now);
  else
    st.table.fail(task_id, reason, now);
  dispatch(self);
}

// Sends records to the ledger and reports what its receipt says was refused.
void send_to_ledger(self_pointer self, std::vector<std::vector<uint8_t>> records,
                    std::map<uint32_t, uint64_t> submissions) {
  self->request(self->state.ledger, std::chrono::seconds{60}, record_atom::value,
                wire::encode_records(records))
      .then(
          [self, submissions = std::move(submissions)](const wire::ledger_receipt& msg) {
            auto receipt = wire::decode(msg);
            if (!receipt)
              return;
            self->state.ledger_problem.clear();
            for (std::size_t i = 0; i < receipt->refused.size(); ++i) {
              const auto& why = receipt->refused[i];
              caf::aout(self) << "orchestrator: the ledger refused a record: " << why
                              << "\n";
              if (i < receipt->refused_at.size())
                if (auto s = submissions.find(receipt->refused_at[i]);
                    s != submissions.end())
                  refused_submission(self, s->second, why);
            }
          },
          [self](const caf::error& err) {
            // Said once while it lasts: the ledger keeps what it could not store yet.
            auto why = describe(err);
            if (why != self->state.ledger_problem)
              caf::aout(self) << "orchestrator: the ledger did not acknowledge records: "
                              << why << "\n";
            self->state.ledger_problem = why;
          });
}

// Sends what the recorder has for the ledger (a ledger joined, or nothing goes).
void flush_records(self_pointer self) {
  self->state.flush_scheduled = false;
  self->state.last_flush = clock_type::now();
  std::map<uint32_t, uint64_t> submissions;
  if (auto records = self->state.recorder.flush(&submissions); !records.empty())
    send_to_ledger(self, std::move(records), std::move(submissions));
}

// After the recorder took something: records are gathered for outbox_delay, or until a
// block's worth waits, then sent together under one signature.
void schedule_flush(self_pointer self) {
  auto& st = self->state;
  if (st.recorder.pending_count() >= outbox_full) {
    flush_records(self); // a flush still scheduled sends what came after
  } else if (st.recorder.pending() && !st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, outbox_delay, flush_atom::value);
  }
}

// A validator's signed verdicts: passed on once the aggregator's judgment lets them stand.
void record(self_pointer self, const wire::ledger_records& msg) {
  auto& st = self->state;
  auto from = sender_node(self);
  auto records = wire::decode(msg);
  if (!from || !records)
    return;
  for (const auto& why : st.recorder.take(*records, *from, st.members.identity(*from)))
    caf::aout(self) << "orchestrator: did not record a verdict: " << why << "\n";
  schedule_flush(self);
}

// Records that a task was accepted: its submitter's signed submission, whose key its
// account is then bound to (the ledger binds it when it records the first one).
void record_submission(self_pointer self, const task_ack& ack, const task_request& req) {
  auto& st = self->state;
  auto task_id = ack.task_id;
  st.accepted[task_id] = {req.submitter, req.nonce, wire::request_digest(req), ack};
  st.recorder.submitted(task_id, req);
  if (st.recorder.signs()) {
    st.bindings.emplace(req.submitter, req.submitter_key);
    st.nonces.insert({req.submitter, req.nonce});
  }
  schedule_flush(self);
}

// The blobs a submission names, pinned in the node's store so that its budget cannot
// drop them while the task runs; unpinned again on scope exit unless release()d to
// orchestrator_state::pinned.
class submission_pins {
public:
  explicit submission_pins(blob_store& store)
      : store_(store) {}

  ~submission_pins() {
    for (const auto& id : ids_)
      store_.unpin(id);
  }

  submission_pins(const submission_pins&) = delete;
  submission_pins& operator=(const submission_pins&) = delete;

  // Pins each blob, then checks that the store has it (in that order: an unpinned blob
  // may leave at any moment). Uploads stay only while tasks use them and within the
  // store's budget after that, so a submitter may have to upload one again.
  error pin(const task_request& req) {
    for (const auto& b : blobs_of(req)) {
      store_.pin(b.id);
      ids_.push_back(b.id);
      if (!store_.contains(b))
        return make_error(errc::not_found,
                          "blob " + chain::to_hex(b.id).substr(0, 12) + " ("
                              + compute::to_string(b.shape)
                              + ") is not on the orchestrator's node; upload"
                                " it again");
    }
    return {};
  }

  std::vector<chain::digest> release() {
    return std::exchange(ids_, {});
  }

private:
  blob_store& store_;
  std::vector<chain::digest> ids_;
};

// Unpins the blobs of tasks and runs that ended: the store may drop them past its budget.
void release_pins(orchestrator_state& st) {
  std::erase_if(st.pinned, [&st](const auto& kv) {
    auto run = st.runs.find(kv.first);
    bool open =
        run != st.runs.end() ? !run->second->finished() : st.table.is_open(kv.first);
    if (open)
      return false;
    for (const auto& id : kv.second)
      st.store->unpin(id);
    return true;
  });
}

// Accepts a task: plans and queues it, and records its submission on the ledger.
expected<wire::task_ack> accept(self_pointer self, const wire::task_request& msg) {
  auto req = wire::decode(msg);
  if (!req)
    return req.error();
  auto& st = self->state;
  req->internal = false;
  if (workload_of(*req).internal_only())
    return make_error(errc::invalid_input, "training steps come from training runs only");
  if (st.recorder.signs()) { // the ledger charges the signer: no signature, no task
    if (auto err = check_submission(*req))
      return err;
    auto bound = st.bindings.find(req->submitter);
    if (bound != st.bindings.end() && bound->second != req->submitter_key)
      return make_error(errc::rejected,
                        "account " + req->submitter + " is bound on the ledger to key "
                            + chain::to_hex(bound->second).substr(0, 16)
                            + "...; sign with that key, or submit as another account");
  }
  // The submitter names the hubs whose records of its work count: another hub would only
  // compute for nothing.
  if (!req->hubs.empty() && st.key
      && std::find(req->hubs.begin(), req->hubs.end(), *st.key) == req->hubs.end())
    return make_error(errc::rejected,
                      "the submission names " + std::to_string(req->hubs.size())
                          + " hub(s) that may record its work, and not this one (key "
                          + chain::to_hex(*st.key).substr(0, 16) + "...)");
  // A task id is the submitter's choice, and names one submission on every hub.
  if (req->task_id >= chain::internal_task_base)
    return make_error(errc::invalid_input, "task id " + std::to_string(req->task_id)
                                               + " is in the range of the network's own");
  if (auto a = st.accepted.find(req->task_id);
      req->task_id != 0 && a != st.accepted.end()) {
    if (a->second.submitter == req->submitter && a->second.nonce == req->nonce
        && a->second.request == wire::request_digest(*req))
      return wire::encode(a->second.ack); // offered again: the same task
    return make_error(errc::rejected, "task id " + std::to_string(req->task_id)
                                          + " names another submission; sign it again "
                                            "with another id");
  }
  if (req->task_id != 0
      && (st.table.has_task(req->task_id) || st.runs.contains(req->task_id)))
    return make_error(errc::rejected, "task id " + std::to_string(req->task_id)
                                          + " names another task; sign it again with "
                                            "another id");
  if (st.recorder.signs() && st.nonces.contains({req->submitter, req->nonce}))
    return make_error(errc::rejected, "a replayed submission: " + req->submitter
                                          + " used that nonce before");
  submission_pins pins{*st.store};
  if (auto err = pins.pin(*req))
    return err;
  if (workload_of(*req).is_run()) {
    auto runs = std::count_if(st.runs.begin(), st.runs.end(),
                              [](const auto& kv) { return !kv.second->finished(); });
    if (st.table.queued_tasks() + runs >= st.table.limits().max_queued_tasks)
      return make_error(errc::exhausted,
                        "the network's queue is full (topology: scheduler: "
                        "max_queued); submit again when tasks have finished");
    auto id = req->task_id != 0 ? req->task_id : st.table.fresh_task_id(false);
    auto run = training_run::start(id, *req, st.store, clock_type::now());
    if (!run)
      return run.error();
    auto steps = static_cast<uint32_t>((*run)->total_steps());
    record_submission(self, {id, steps}, *req);
    auto& held = *(st.runs[id] = std::move(*run));
    st.pinned[id] = pins.release();
    issue_run_tasks(self, held);
    dispatch(self);
    return wire::encode(task_ack{id, steps});
  }
  auto ack = st.table.add_task(*req, clock_type::now());
  if (!ack)
    return ack.error();
  st.pinned[ack->task_id] = pins.release();
  record_submission(self, *ack, *req);
  dispatch(self);
  return wire::encode(*ack);
}

// Adds what a training run asks for to the table. A step the table refuses fails the run.
void issue_run_tasks(self_pointer self, training_run& run) {
  auto& st = self->state;
  for (auto& req : run.take_requests()) {
    auto ack = st.table.add_task(req, clock_type::now());
    if (!ack) {
      run.abort("a step was refused: " + describe(ack.error()), clock_type::now());
      run.issued(0);
      continue;
    }
    st.recorder.stepped(ack->task_id, run.id()); // the run's submission pays for it
    schedule_flush(self);
    run.issued(ack->task_id);
  }
}

// Keeps a finished task's output for its submitter; says once when the shelf cannot use
// its directory (outputs past the memory budget are then dropped).
void keep_output(self_pointer self, uint64_t task_id, output_shelf::output out) {
  auto& st = self->state;
  st.outputs.put(task_id, std::move(out));
  if (st.outputs.problem() != st.output_problem) {
    st.output_problem = st.outputs.problem();
    caf::aout(self) << "orchestrator: " << st.output_problem << "\n";
  }
}

// A training run's task finished: the run goes on, and keeps its weights when done.
void on_run_output(self_pointer self, training_run& run, uint64_t task_id,
                   const wire::task_output& msg) {
  auto& st = self->state;
  auto now = clock_type::now();
  st.table.on_output(task_id, now);
  if (auto r = st.table.report(task_id, now))
    run.add_rework(r->results_rejected, r->shards_reissued);
  auto out = wire::decode(msg);
  if (!out)
    run.on_failure(task_id, describe(out.error()), now);
  else
    run.on_output(task_id, out->output, now);
  st.table.erase(task_id);
  issue_run_tasks(self, run);
  if (run.finished() && run.report(now).state == task_state::done)
    keep_output(self, run.id(),
                std::make_shared<const wire::task_output>(
                    wire::encode(task_output{run.id(), run.weights()})));
}

// Answers the submissions held for the ledger: accepted once it is ready, refused when
// they waited too long.
void release_held(self_pointer self, clock_type::time_point now) {
  auto& st = self->state;
  auto held = std::move(st.held);
  st.held.clear();
  for (auto& h : held) {
    if (st.ledger_ready) {
      auto ack = accept(self, h.msg);
      if (ack)
        h.promise.deliver(std::move(*ack));
      else
        h.promise.deliver(to_caf(ack.error()));
    } else if (h.since + ledger_wait < now) {
      h.promise.deliver(
          to_caf(make_error(errc::unavailable, "the network's ledger has not joined the "
                                               "orchestrator; try again later")));
    } else {
      st.held.push_back(std::move(h));
    }
  }
}

// A task's whole output, from the aggregator. It can come before the table counts every
// shard validated: when a worker dies after its result passed, the table re-issues the
// shard while the aggregator already merged the valid result. Such an output waits for
// the table to catch up.
void take_output(self_pointer self, uint64_t task_id, wire::task_output msg) {
  auto& st = self->state;
  if (!st.table.all_validated(task_id)) {
    if (auto r = st.table.report(task_id, clock_type::now()); r && !r->finished())
      st.early_outputs.insert_or_assign(task_id, std::move(msg));
    return;
  }
  // Its records go now rather than after outbox_delay (its validators' own, if they come
  // after the judgment, with the next batch): on their way to the ledger before its
  // submitter hears that it is done.
  if (auto since = clock_type::now() - st.last_flush; since >= outbox_gap)
    flush_records(self);
  else // many small tasks: theirs go together, outbox_gap after the last batch
    self->delayed_send(self, outbox_gap - since, flush_atom::value);
  for (auto& [id, run] : st.runs)
    if (run->owns(task_id)) {
      on_run_output(self, *run, task_id, msg);
      dispatch(self);
      return;
    }
  keep_output(self, task_id, std::make_shared<const wire::task_output>(std::move(msg)));
  st.table.on_output(task_id, clock_type::now());
}

// Why the table knows nothing of task `task_id`.
error unknown_task(const orchestrator_state& st, uint64_t task_id) {
  if (st.table.forgotten(task_id) || st.accepted.contains(task_id))
    return make_error(errc::not_found,
                      "task " + std::to_string(task_id)
                          + " finished long ago: only the last "
                          + std::to_string(st.table.limits().reports_kept)
                          + " finished tasks are kept (topology: scheduler: reports_kept)");
  return make_error(errc::not_found, "no task " + std::to_string(task_id));
}

// Why task `task_id` has no output to give.
error no_output(orchestrator_state& st, uint64_t task_id) {
  auto run = st.runs.find(task_id);
  auto report = run != st.runs.end() ? std::optional{run->second->report(clock_type::now())}
                                     : st.table.report(task_id, clock_type::now());
  if (!report)
    return unknown_task(st, task_id);
  if (report->state == task_state::failed || report->state == task_state::cancelled)
    return make_error(errc::failed, "task " + std::to_string(task_id) + " "
                                        + to_string(report->state) + ": " + report->reason);
  return make_error(errc::unavailable,
                    "task " + std::to_string(task_id) + " is " + to_string(report->state));
}

// A node's handle goes where its role's shards, results or records are sent from.
void place(self_pointer self, node_id id, const worker_actor& h) {
  self->state.workers[id] = h;
}

void place(self_pointer self, node_id id, const validator_actor& h) {
  self->state.validators[id] = h;
}

void place(self_pointer self, node_id, const aggregator_actor& h) {
  self->state.aggregator = h;
}

// Asks a ledger that joined where task ids go on and what trust each node earned.
void on_ledger_joined(self_pointer self, const ledger_actor& handle);

// A ledger node: introduced to those that joined before (they find each other through
// the orchestrator), and where records go if none is in use.
void place(self_pointer self, node_id, const ledger_actor& h) {
  auto& st = self->state;
  for (const auto& other : st.ledgers) {
    self->send(other, peer_atom::value, caf::actor_cast<caf::actor>(h));
    self->send(h, peer_atom::value, caf::actor_cast<caf::actor>(other));
  }
  st.ledgers.push_back(h);
  if (st.ledger)
    return;
  st.ledger = h;
  st.recorder.set_ledger(true);
  on_ledger_joined(self, h);
}

// A node joins in `role` through the interface of its handle's type.
template <class Handle>
caf::result<uint32_t> join(self_pointer self, const wire::node_info& msg,
                           const Handle& handle, node_role role) {
  auto id = admit(self, msg, handle, role);
  if (!id)
    return to_caf(id.error());
  place(self, *id, handle);
  dispatch(self);
  return *id;
}

void on_ledger_joined(self_pointer self, const ledger_actor& handle) {
  // Submissions wait until the ledger answers: its answer says it is there to record them.
  self->request(handle, std::chrono::seconds{10}, ledger_atom::value,
                wire::encode(ledger_query{.question = ledger_question::last_task}))
      .then(
          [self](const wire::ledger_answer& reply) {
            if (!wire::decode(reply))
              return;
            self->state.ledger_ready = true;
            release_held(self, clock_type::now());
          },
          [self](const caf::error& err) {
            caf::aout(self) << "orchestrator: the ledger did not say its last task: "
                            << describe(err) << "\n";
          });
  // Names already bound on the chain: a node or submitter with another key is refused.
  self->request(handle, std::chrono::seconds{10}, ledger_atom::value,
                wire::encode(ledger_query{.question = ledger_question::members}))
      .then(
          [self](const wire::ledger_answer& reply) {
            if (auto a = wire::decode(reply))
              for (const auto& m : a->members)
                self->state.bindings[m.name] = m.key; // the chain's word over a guess
          },
          [self](const caf::error& err) {
            caf::aout(self) << "orchestrator: the ledger did not say its members: "
                            << describe(err) << "\n";
          });
  // Trust survives restarts: each node's streak as the ledger recorded it.
  self->request(handle, std::chrono::seconds{10}, ledger_atom::value,
                wire::encode(ledger_query{.question = ledger_question::trust}))
      .then(
          [self](const wire::ledger_answer& reply) {
            auto a = wire::decode(reply);
            if (!a)
              return;
            self->state.table.set_streaks({a->streaks.begin(), a->streaks.end()});
          },
          [self](const caf::error& err) {
            caf::aout(self) << "orchestrator: the ledger did not say its nodes' records: "
                            << describe(err) << "\n";
          });
}

// A node went away: its shards run again elsewhere; without the ledger, records and
// (when the topology names one) submissions wait; without the aggregator, the validated
// shards of running tasks run again, their partial outputs having died with it.
void on_down(self_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto i = st.node_of.find(msg.source);
  if (i == st.node_of.end())
    return;
  st.table.remove_node(i->second);
  st.members.left(i->second);
  st.workers.erase(i->second);
  st.validators.erase(i->second);
  st.node_of.erase(i);
  std::erase_if(st.ledgers,
                [&](const ledger_actor& l) { return l.address() == msg.source; });
  if (st.ledger && msg.source == st.ledger.address()) { // another ledger node takes over
    st.ledger = nullptr;
    st.recorder.set_ledger(false);
    st.ledger_ready = false;
    if (!st.ledgers.empty()) {
      st.ledger = st.ledgers.front();
      st.recorder.set_ledger(true);
      on_ledger_joined(self, st.ledger);
    }
  }
  if (st.aggregator && msg.source == st.aggregator.address()) {
    st.aggregator = nullptr;
    st.table.unmerge_running();
  }
  dispatch(self);
}

// A submission: accepted now, or held until the topology's ledger has joined.
caf::result<wire::task_ack> submit(self_pointer self, const wire::task_request& msg) {
  auto& st = self->state;
  if (st.members.expects_ledger() && !st.ledger_ready) {
    auto promise = self->make_response_promise<wire::task_ack>();
    st.held.push_back({promise, msg, clock_type::now()});
    return promise;
  }
  // The first submission of an account this orchestrator sees: the ledger says which key
  // the account is bound to before the task is accepted, so that one signed with another
  // key does no work for nothing (the ledger would refuse it, and the task would stop).
  auto req = wire::decode(msg);
  if (req && st.ledger && st.recorder.signs() && !req->submitter.empty()
      && !st.bindings.contains(req->submitter)) {
    auto promise = self->make_response_promise<wire::task_ack>();
    auto deliver = [self, promise, msg]() mutable {
      auto ack = accept(self, msg);
      if (ack)
        promise.deliver(std::move(*ack));
      else
        promise.deliver(to_caf(ack.error()));
    };
    self->request(st.ledger, std::chrono::seconds{10}, ledger_atom::value,
                  wire::encode(ledger_query{.question = ledger_question::members,
                                            .account = req->submitter}))
        .then(
            [self, deliver,
             name = req->submitter](const wire::ledger_answer& reply) mutable {
              if (auto a = wire::decode(reply); a && !a->members.empty())
                self->state.bindings[name] = a->members.front().key;
              deliver();
            },
            [deliver](const caf::error&) mutable { deliver(); }); // the ledger decides
    return promise;
  }
  auto ack = accept(self, msg);
  if (!ack)
    return to_caf(ack.error());
  return std::move(*ack);
}

caf::result<wire::task_report> status_of(self_pointer self, uint64_t task_id) {
  if (auto run = self->state.runs.find(task_id); run != self->state.runs.end())
    return wire::encode(run->second->report(clock_type::now()));
  auto report = self->state.table.report(task_id, clock_type::now());
  if (!report)
    return to_caf(unknown_task(self->state, task_id));
  return wire::encode(*report);
}

// A submitter's cancel: only the key that signed the task's submission may cancel it.
caf::result<wire::task_report> cancel(self_pointer self, const wire::cancel_request& msg) {
  auto& st = self->state;
  auto req = wire::decode(msg);
  if (!req)
    return to_caf(req.error());
  auto now = clock_type::now();
  auto run = st.runs.find(req->task_id);
  const task_request* task =
      run != st.runs.end() ? &run->second->request() : st.table.request(req->task_id);
  if (!task)
    return to_caf(unknown_task(st, req->task_id));
  auto id = std::to_string(req->task_id);
  if (task->internal || task->submitter_key == chain::public_key{})
    return to_caf(
        make_error(errc::invalid_input,
                   "task " + id + " has no submitter's key: nobody can cancel it"));
  if (!chain::verify(task->submitter_key, wire::cancel_statement(req->task_id, task->nonce),
                     req->signature))
    return to_caf(make_error(errc::invalid_input, "a cancel of task " + id
                                                      + " that its submitter's key did not "
                                                        "sign"));
  const std::string why = "cancelled by its submitter";
  if (run != st.runs.end())
    run->second->cancel(why, now);
  else if (!st.table.all_validated(req->task_id)) // else its output is being merged
    st.table.cancel(req->task_id, why, now);
  if (!st.table.is_open(req->task_id))
    st.early_outputs.erase(req->task_id);
  end_failed_runs(self);
  dispatch(self); // the aggregator drops what it holds of the task
  return status_of(self, req->task_id);
}

wire::task_reports task_list(self_pointer self) {
  auto now = clock_type::now();
  auto reports = self->state.table.reports(now);
  for (const auto& [id, run] : self->state.runs)
    reports.push_back(run->report(now));
  std::sort(reports.begin(), reports.end(), [](const task_report& a, const task_report& b) {
    return a.task_id < b.task_id;
  });
  return wire::encode(reports);
}

// A finished task's output, or why there is none.
expected<output_shelf::output> stored_output(orchestrator_state& st, uint64_t task_id) {
  auto out = st.outputs.get(task_id);
  if (!out)
    return no_output(st, task_id);
  return std::move(*out);
}

caf::result<wire::task_output> output_of(self_pointer self, uint64_t task_id) {
  auto out = stored_output(self->state, task_id);
  if (!out)
    return to_caf(out.error());
  return **out; // a copy: CAF sends values
}

// The output offered on the bulk channel. Its values go out raw, straight from the
// stored output's bytes (shared with it until the client has them), so that the client
// reads them into its tensor.
caf::result<uint64_t> offer_output(self_pointer self, uint64_t task_id) {
  auto& st = self->state;
  if (!st.bulk)
    return to_caf(make_error(errc::unavailable, "this node has no bulk channel"));
  auto out = stored_output(st, task_id);
  if (!out)
    return to_caf(out.error());
  auto where = wire::locate_output(**out);
  if (!where)
    return to_caf(where.error());
  return st.bulk->offer_tensor(*out, where->shape, where->values);
}

// A validator's verdict: the aggregator's judgment decides; this is for its record.
void on_verdict(self_pointer self, const wire::verdict& msg) {
  auto v = wire::decode(msg);
  if (auto from = sender_node(self); v && from)
    self->state.recorder.expect(*v, *from, self->state.table.node_name(*from),
                                clock_type::now());
}

// The aggregator's judgment of an attempt: the table counts it, the recorder records it,
// and an output that came early may now be taken.
void on_judged(self_pointer self, const wire::judgment& msg) {
  auto& st = self->state;
  auto j = wire::decode(msg);
  if (!j)
    return;
  const auto& v = j->verdict;
  auto work = st.table.work_of(v.task_id, v.shard_id);
  if (st.table.on_judgment(*j) != verdict_effect::stale) {
    st.recorder.judged(*j, work, clock_type::now());
    schedule_flush(self);
  }
  if (auto early = st.early_outputs.find(v.task_id); early != st.early_outputs.end()) {
    auto out = std::move(early->second);
    st.early_outputs.erase(early);
    take_output(self, v.task_id, std::move(out));
  }
  dispatch(self);
}

caf::result<wire::ledger_answer> ask_ledger(self_pointer self,
                                            const wire::ledger_query& msg) {
  if (!self->state.ledger)
    return to_caf(make_error(errc::unavailable, "this network keeps no ledger"));
  flush_records(self); // the answer includes every record received so far
  return self->delegate(self->state.ledger, ledger_atom::value, msg);
}

// Governance records from a client, handed to the ledger as they are: the contract admits
// a rules change only with the approvals of the ledger nodes, whoever carries it.
caf::result<wire::ledger_receipt> govern(self_pointer self,
                                         const wire::ledger_records& msg) {
  if (!self->state.ledger)
    return to_caf(make_error(errc::unavailable, "this network keeps no ledger"));
  auto records = wire::decode(msg);
  if (!records)
    return to_caf(records.error());
  for (const auto& bytes : *records)
    if (auto t = chain::decode_transaction(bytes);
        !t || t->kind != chain::tx_kind::governance)
      return to_caf(make_error(errc::invalid_input,
                               "a client hands the ledger governance records only"));
  return self->delegate(self->state.ledger, record_atom::value, msg);
}

void on_output(self_pointer self, wire::task_output& msg) {
  auto task_id = msg.read(
      [](schema::TaskOutput::Reader r) -> expected<uint64_t> { return r.getTaskId(); });
  if (task_id)
    take_output(self, *task_id, std::move(msg));
}

// Every orchestrator_tick: what waited too long expires, what waited for a ledger goes.
void tick(self_pointer self) {
  auto now = clock_type::now();
  self->state.recorder.expire(now);
  release_held(self, now);
  if (!self->state.flush_scheduled)
    flush_records(self);
  for (auto& [id, run] : self->state.runs)
    run->expire(now);
  end_failed_runs(self);
  self->state.table.expire(now);
  dispatch(self); // re-issued shards, and the partial outputs of timed-out tasks
  release_pins(self->state);
  self->delayed_send(self, orchestrator_tick, tick_atom::value);
}

} // namespace

orchestrator_actor::behavior_type orchestrator(self_pointer self,
                                               orchestrator_config config) {
  auto& st = self->state;
  if (config.key)
    st.key = config.key->public_bytes();
  st.recorder = ledger_recorder{std::move(config.key)};
  if (!config.faults.empty())
    st.recorder.set_faults(std::move(config.faults), std::move(config.name));
  st.members = membership{std::move(config.members)};
  st.members.allow_browsers(config.browser_workers);
  st.bulk = std::move(config.bulk);
  st.outputs = output_shelf{config.limits.outputs_in_memory, config.outputs_dir};
  st.store = config.store ? std::move(config.store) : std::make_shared<blob_store>();
  st.table = task_table{config.limits};
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush_records(self); // what is queued for the ledger goes before the orchestrator stops
    self->quit(msg.reason);
  });
  self->delayed_send(self, orchestrator_tick, tick_atom::value);
  using announcement = wire::node_info;
  return {
      [self](submit_atom, const wire::task_request& msg) { return submit(self, msg); },
      [self](status_atom, uint64_t task_id) { return status_of(self, task_id); },
      [self](cancel_atom, const wire::cancel_request& msg) { return cancel(self, msg); },
      [self](tasks_atom) { return task_list(self); },
      [self](nodes_atom) { return wire::encode(self->state.table.node_reports()); },
      [self](result_atom, uint64_t task_id) { return output_of(self, task_id); },
      [self](result_atom, uint64_t task_id, bulk_atom) {
        return offer_output(self, task_id);
      },
      [self](challenge_atom) {
        return wire::encode_challenge(self->state.members.challenge(clock_type::now()));
      },
      [self](join_atom, const announcement& msg, const worker_actor& h) {
        return join(self, msg, h, node_role::worker);
      },
      [self](join_atom, const announcement& msg, const validator_actor& h) {
        return join(self, msg, h, node_role::validator);
      },
      [self](join_atom, const announcement& msg, const aggregator_actor& h) {
        return join(self, msg, h, node_role::aggregator);
      },
      [self](join_atom, const announcement& msg, const ledger_actor& h) {
        return join(self, msg, h, node_role::ledger);
      },
      [self](verdict_atom, const wire::verdict& msg) { on_verdict(self, msg); },
      [self](judged_atom, const wire::judgment& msg) { on_judged(self, msg); },
      [self](record_atom, const wire::ledger_records& msg) { record(self, msg); },
      [self](flush_atom) { flush_records(self); },
      [self](ledger_atom, const wire::ledger_query& msg) { return ask_ledger(self, msg); },
      [self](govern_atom, const wire::ledger_records& msg) { return govern(self, msg); },
      [self](output_atom, wire::task_output& msg) { on_output(self, msg); },
      [self](tick_atom) { tick(self); },
  };
}

} // namespace nexus
