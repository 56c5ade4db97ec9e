#include "actors/orchestrator.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <openssl/rand.h>

#include "actors/ledger.hpp"
#include "chain/block.hpp"

namespace nexus {

namespace {

using self_pointer = orchestrator_actor::stateful_pointer<orchestrator_state>;

// Sends out every shard the table can place now, and lets the aggregator forget the
// partial outputs of tasks that failed.
void issue_run_tasks(self_pointer self, training_run& run);

// A failed run takes its tasks under way with it.
void end_failed_runs(self_pointer self) {
  auto& st = self->state;
  for (auto& [id, run] : st.runs)
    if (run->finished())
      for (auto task_id : run->open_tasks())
        st.table.fail(task_id, "its training run failed", clock_type::now());
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
    expectation_info expected{st.table.node_name(d.worker), std::nullopt, d.mode};
    if (d.mode == check_mode::replicate) {
      expected.replicas = st.table.replicas(d.task_id);
      expected.round = d.round;
    }
    if (auto id = st.identities.find(d.worker); id != st.identities.end())
      expected.worker_key = id->second.second;
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

constexpr std::chrono::seconds challenge_lifetime{60};

// Checks that a joining node is a member of the topology, in a role it may take, and
// proves its key by a signature over a challenge this orchestrator issued.
error check_membership(self_pointer self, const node_info& info) {
  auto& st = self->state;
  auto refuse = [&](const std::string& why) {
    caf::aout(self) << "orchestrator: refused " << info.name << " as " << to_string(info.role)
                    << ": " << why << "\n";
    return make_error(errc::rejected, "join refused: " + why);
  };
  if (st.members.empty() && info.signature.empty())
    return {}; // an open network; a key it names only checks what it signs
  if (info.public_key.size() != 32 || info.signature.size() != 64)
    return refuse("the network requires a node key and a signed challenge");
  chain::digest nonce{};
  if (info.nonce.size() == nonce.size())
    std::copy(info.nonce.begin(), info.nonce.end(), nonce.begin());
  auto challenge = st.challenges.find(nonce);
  if (info.nonce.size() != nonce.size() || challenge == st.challenges.end()
      || challenge->second < clock_type::now())
    return refuse("unknown or expired challenge");
  chain::public_key key{};
  chain::signature sig{};
  std::copy(info.public_key.begin(), info.public_key.end(), key.begin());
  std::copy(info.signature.begin(), info.signature.end(), sig.begin());
  if (!chain::verify(key, wire::join_statement(info), sig))
    return refuse("the signature does not match the node key");
  if (st.members.empty())
    return {};
  auto m = st.members.find(info.name);
  if (m == st.members.end())
    return refuse("no node of that name in the topology");
  if (m->second.key != key)
    return refuse("its key " + chain::to_hex(key).substr(0, 16)
                  + "... is not the one the topology lists");
  if (std::find(m->second.roles.begin(), m->second.roles.end(), info.role)
      == m->second.roles.end())
    return refuse("the topology does not give it that role");
  return {};
}

// Registers a node that joined and watches it: its death re-queues its shards.
template <class Handle>
expected<node_id> admit(self_pointer self, const wire::node_announcement& msg,
                             const Handle& handle, node_role expected) {
  auto info = wire::decode(msg);
  if (!info)
    return info.error();
  if (info->role != expected)
    return make_error(errc::invalid_input, "node " + info->name + " joined as "
                                             + to_string(info->role) + " through the "
                                             + to_string(expected) + " interface");
  if (auto err = check_membership(self, *info))
    return err;
  auto id = self->state.table.add_node(*info);
  self->state.node_of[handle.address()] = id;
  if (info->public_key.size() == 32) {
    chain::public_key key{};
    std::copy(info->public_key.begin(), info->public_key.end(), key.begin());
    self->state.identities[id] = {info->name, key};
  }
  self->monitor(handle);
  return id;
}

// Remembers a validator's verdict until its signed record arrives.
void expect_record(self_pointer self, const verdict_info& v) {
  auto& st = self->state;
  if (!st.ledger || !st.key)
    return;
  auto from = st.node_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (from == st.node_of.end())
    return;
  attempt_key key{v.task_id, v.shard_id, v.attempt};
  auto& entry = st.unrecorded[{key, from->second}];
  entry = unrecorded_verdict{v.worker, v.result, v.valid, std::nullopt, {}, clock_type::now()};
  if (auto j = st.judged.find(key); j != st.judged.end())
    entry.stands = std::find(j->second.standing.begin(), j->second.standing.end(), v.validator)
                   != j->second.standing.end();
}

// Why the orchestrator does not pass `t` on from validator `from`, or empty when it does.
std::string refusal(const orchestrator_state& st, const chain::transaction& t, node_id from) {
  auto id = st.identities.find(from);
  if (id == st.identities.end())
    return "its validator joined without a key";
  if (t.kind != chain::tx_kind::verdict)
    return "a " + to_string(t.kind) + " from a validator";
  if (t.signer != id->second.second || t.validator != id->second.first)
    return "signed by another key or in another validator's name";
  auto v = st.unrecorded.find({{t.task_id, t.shard_id, t.attempt}, from});
  if (v == st.unrecorded.end())
    return "no verdict of this validator on that attempt waits for a record";
  if (v->second.worker != t.worker || v->second.result != t.result
      || v->second.valid != t.valid)
    return "it differs from the verdict the validator sent";
  return {};
}

// Sends records to the ledger and reports what its receipt says was refused.
void send_to_ledger(self_pointer self, std::vector<std::vector<uint8_t>> records) {
  self->request(self->state.ledger, std::chrono::seconds{60}, record_atom::value,
                wire::encode_records(records))
    .then(
      [self](const wire::ledger_receipt& msg) {
        auto receipt = wire::decode(msg);
        if (!receipt)
          return;
        self->state.ledger_problem.clear();
        for (const auto& why : receipt->refused)
          caf::aout(self) << "orchestrator: the ledger refused a record: " << why << "\n";
      },
      [self](const caf::error& err) {
        // Said once while it lasts: the ledger keeps what it could not store yet.
        auto why = describe(err);
        if (why != self->state.ledger_problem)
          caf::aout(self) << "orchestrator: the ledger did not acknowledge records: " << why
                          << "\n";
        self->state.ledger_problem = why;
      });
}

// Queues a record for the ledger: the orchestrator's own, or a validator's signed bytes.
void queue_record(self_pointer self, std::variant<chain::transaction, std::vector<uint8_t>> r) {
  auto& st = self->state;
  st.outbox.push_back(std::move(r));
  if (!st.outbox_scheduled) {
    st.outbox_scheduled = true;
    self->delayed_send(self, outbox_delay, flush_atom::value);
  }
}

// Signs its own queued records with one signature and sends everything queued, in order.
void flush_outbox(self_pointer self) {
  auto& st = self->state;
  st.outbox_scheduled = false;
  if (st.outbox.empty() || !st.ledger || !st.key)
    return; // without a ledger they wait for one (a ledger joins, or the tick flushes)
  std::vector<chain::transaction> mine;
  for (auto& r : st.outbox)
    if (auto* t = std::get_if<chain::transaction>(&r))
      mine.push_back(std::move(*t));
  chain::sign_batch(mine, *st.key);
  std::vector<std::vector<uint8_t>> out;
  out.reserve(st.outbox.size());
  std::size_t next = 0;
  for (auto& r : st.outbox) {
    if (std::holds_alternative<chain::transaction>(r))
      out.push_back(chain::encode(mine[next++]));
    else
      out.push_back(std::move(std::get<std::vector<uint8_t>>(r)));
  }
  st.outbox.clear();
  send_to_ledger(self, std::move(out));
}

// The contribution an attempt's verdicts judge, stated by this orchestrator (once).
void queue_contribution(self_pointer self, const attempt_key& key, const std::string& worker,
                        const chain::digest& result) {
  auto j = self->state.judged.find(key);
  if (j == self->state.judged.end() || j->second.contributed)
    return;
  j->second.contributed = true;
  chain::transaction c;
  c.kind = chain::tx_kind::contribution;
  c.task_id = std::get<0>(key);
  c.shard_id = std::get<1>(key);
  c.attempt = std::get<2>(key);
  c.worker = worker;
  c.result = result;
  c.work_units = j->second.units;
  queue_record(self, std::move(c));
}

// Passes a standing verdict's record to the ledger, after its contribution.
void pass_record(self_pointer self, const attempt_key& key, const unrecorded_verdict& v,
                 std::vector<uint8_t> bytes) {
  queue_contribution(self, key, v.worker, v.result);
  queue_record(self, std::move(bytes));
}

// Passes a validator's signed verdicts to the ledger once the aggregator's judgment lets
// them stand (each after the contribution it judged), and holds them until then.
void record(self_pointer self, const wire::ledger_records& msg) {
  auto& st = self->state;
  auto from = st.node_of.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  auto records = wire::decode(msg);
  if (!st.ledger || !st.key || from == st.node_of.end() || !records)
    return;
  for (auto& bytes : *records) {
    auto t = chain::decode_transaction(bytes);
    auto why = t ? refusal(st, *t, from->second) : describe(t.error());
    if (!why.empty()) {
      caf::aout(self) << "orchestrator: did not record a verdict: " << why << "\n";
      continue;
    }
    attempt_key key{t->task_id, t->shard_id, t->attempt};
    auto it = st.unrecorded.find({key, from->second});
    if (it->second.stands == false)
      continue; // overturned or set aside: what the judgment recorded stands instead
    if (!it->second.stands) {
      it->second.parked = std::move(bytes); // the judgment will say
      continue;
    }
    auto v = std::move(it->second);
    st.unrecorded.erase(it);
    pass_record(self, key, v, std::move(bytes));
  }
}

// Records what the aggregator's judgment decides: the verdicts that stand go on (those
// parked, and those still to come), the others are refused; an overturned validator is
// penalized; a result judged without a validator is stated by the orchestrator itself.
void record_judgment(self_pointer self, const judgment_info& j, uint64_t units) {
  auto& st = self->state;
  if (!st.ledger || !st.key)
    return;
  const auto& v = j.verdict;
  attempt_key key{v.task_id, v.shard_id, v.attempt};
  st.judged[key] = judged_attempt{j.validators, units, false, clock_type::now()};
  for (auto it = st.unrecorded.lower_bound({key, 0});
       it != st.unrecorded.end() && it->first.first == key;) {
    auto name = st.table.node_name(it->first.second);
    bool stands = std::find(j.validators.begin(), j.validators.end(), name) != j.validators.end();
    it->second.stands = stands;
    if (!it->second.parked.empty()) {
      auto entry = std::move(it->second);
      it = st.unrecorded.erase(it);
      if (stands)
        pass_record(self, key, entry, std::move(entry.parked));
      continue;
    }
    ++it;
  }
  for (const auto& name : j.overturned) {
    auto t = ledger_transaction(v, chain::tx_kind::audit);
    t.validator = name;
    queue_record(self, std::move(t));
  }
  if (j.disputed || !j.validators.empty())
    return; // the validators' own records carry the verdicts
  // Judged without a validator: by a quorum of replicas, accepted on the worker's record,
  // or found forged or malformed by the aggregator.
  queue_contribution(self, key, v.worker, v.result);
  bool accepted = v.valid && !j.checked;
  auto t = ledger_transaction(v, accepted ? chain::tx_kind::acceptance : chain::tx_kind::verdict);
  t.validator = j.checked ? "quorum" : "network";
  t.valid = v.valid;
  queue_record(self, std::move(t));
}

// Records that a task was accepted: who submitted it and its budget, which the
// contract charges for the work it pays.
void record_submission(self_pointer self, uint64_t task_id, const task_request& req) {
  auto& st = self->state;
  if (!st.ledger || !st.key)
    return;
  chain::transaction t;
  t.kind = chain::tx_kind::submission;
  t.task_id = task_id;
  t.account = req.submitter.empty() ? std::string{"anonymous"} : req.submitter;
  t.amount = req.budget;
  queue_record(self, std::move(t));
}

// The blobs a submission names, pinned in the node's store so that its budget cannot
// drop them while the task runs; unpinned again on scope exit unless release()d to
// orchestrator_state::pinned.
class submission_pins {
public:
  explicit submission_pins(blob_store& store) : store_(store) {
  }

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
        return make_error(errc::not_found, "blob " + chain::to_hex(b.id).substr(0, 12) + " ("
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
    bool open = run != st.runs.end() ? !run->second->finished() : st.table.is_open(kv.first);
    if (open)
      return false;
    for (const auto& id : kv.second)
      st.store->unpin(id);
    return true;
  });
}

// Accepts a task: plans and queues it, and records its submission on the ledger.
expected<wire::task_accepted> accept(self_pointer self,
                                          const wire::task_submission& msg) {
  auto req = wire::decode(msg);
  if (!req)
    return req.error();
  auto& st = self->state;
  req->internal = false;
  if (req->workload == workload_kind::train_step)
    return make_error(errc::invalid_input, "training steps come from training runs only");
  submission_pins pins{*st.store};
  if (auto err = pins.pin(*req))
    return err;
  if (req->workload == workload_kind::train) {
    auto runs = std::count_if(st.runs.begin(), st.runs.end(),
                              [](const auto& kv) { return !kv.second->finished(); });
    if (st.table.queued_tasks() + runs >= st.table.limits().max_queued_tasks)
      return make_error(errc::exhausted, "the network's queue is full (topology: scheduler: "
                                         "max_queued); submit again when tasks have finished");
    auto id = st.table.reserve_task_id();
    auto run = training_run::start(id, *req, st.store, clock_type::now());
    if (!run)
      return run.error();
    auto steps = static_cast<uint32_t>((*run)->total_steps());
    record_submission(self, id, *req);
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
  record_submission(self, ack->task_id, *req);
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
    record_submission(self, ack->task_id, req); // its submitter pays for each step
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
                   const wire::final_output& msg) {
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
    keep_output(self, run.id(), std::make_shared<const wire::final_output>(
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
      h.promise.deliver(to_caf(make_error(errc::unavailable,
                                          "the network's ledger has not joined the "
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
void take_output(self_pointer self, uint64_t task_id, wire::final_output msg) {
  auto& st = self->state;
  if (!st.table.all_validated(task_id)) {
    if (auto r = st.table.report(task_id, clock_type::now()); r && !r->finished())
      st.early_outputs.insert_or_assign(task_id, std::move(msg));
    return;
  }
  for (auto& [id, run] : st.runs)
    if (run->owns(task_id)) {
      on_run_output(self, *run, task_id, msg);
      dispatch(self);
      return;
    }
  keep_output(self, task_id, std::make_shared<const wire::final_output>(std::move(msg)));
  st.table.on_output(task_id, clock_type::now());
}

// Why the table knows nothing of task `task_id`.
error unknown_task(const orchestrator_state& st, uint64_t task_id) {
  if (task_id <= st.table.forgotten_up_to())
    return make_error(errc::not_found,
                      "task " + std::to_string(task_id) + " finished long ago: only the last "
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
  if (report->state == task_state::failed)
    return make_error(errc::failed, "task " + std::to_string(task_id)
                                      + " failed: " + report->reason);
  return make_error(errc::unavailable, "task " + std::to_string(task_id) + " is "
                                         + to_string(report->state));
}

} // namespace

orchestrator_actor::behavior_type orchestrator(self_pointer self, orchestrator_config config) {
  self->state.key = std::move(config.key);
  self->state.bulk = std::move(config.bulk);
  self->state.outputs = output_shelf{config.limits.outputs_in_memory, config.outputs_dir};
  self->state.store = config.store ? std::move(config.store) : std::make_shared<blob_store>();
  self->state.table = task_table{config.limits};
  self->state.table.skip_task_ids(config.last_task, config.last_internal_task);
  for (auto& m : config.members) {
    if (std::find(m.roles.begin(), m.roles.end(), node_role::ledger) != m.roles.end())
      self->state.ledger_expected = true;
    self->state.members[m.name] = std::move(m);
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.node_of.find(msg.source);
    if (i == st.node_of.end())
      return;
    st.table.remove_node(i->second);
    st.workers.erase(i->second);
    st.validators.erase(i->second);
    st.node_of.erase(i);
    if (st.ledger && msg.source == st.ledger.address()) {
      st.ledger = nullptr; // records wait for it; submissions too, when it is expected
      st.ledger_ready = false;
    }
    if (st.aggregator && msg.source == st.aggregator.address()) {
      // Its partial outputs died with it: validated shards of running tasks run again.
      st.aggregator = nullptr;
      st.table.unmerge_running();
    }
    dispatch(self);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush_outbox(self); // what is queued for the ledger goes before the orchestrator stops
    self->quit(msg.reason);
  });
  self->delayed_send(self, orchestrator_tick, tick_atom::value);
  return {
    [self](submit_atom, const wire::task_submission& msg) -> caf::result<wire::task_accepted> {
      auto& st = self->state;
      if (!st.ledger_expected || st.ledger_ready) {
        auto ack = accept(self, msg);
        if (!ack)
          return to_caf(ack.error());
        return std::move(*ack);
      }
      auto promise = self->make_response_promise<wire::task_accepted>();
      st.held.push_back({promise, msg, clock_type::now()});
      return promise;
    },
    [self](status_atom, uint64_t task_id) -> caf::result<wire::task_status> {
      if (auto run = self->state.runs.find(task_id); run != self->state.runs.end())
        return wire::encode(run->second->report(clock_type::now()));
      auto report = self->state.table.report(task_id, clock_type::now());
      if (!report)
        return to_caf(unknown_task(self->state, task_id));
      return wire::encode(*report);
    },
    [self](tasks_atom) {
      auto now = clock_type::now();
      auto reports = self->state.table.reports(now);
      for (const auto& [id, run] : self->state.runs)
        reports.push_back(run->report(now));
      std::sort(reports.begin(), reports.end(),
                [](const task_report& a, const task_report& b) { return a.task_id < b.task_id; });
      return wire::encode(reports);
    },
    [self](nodes_atom) { return wire::encode(self->state.table.node_reports()); },
    [self](result_atom, uint64_t task_id) -> caf::result<wire::final_output> {
      auto& st = self->state;
      auto out = st.outputs.get(task_id);
      if (!out)
        return to_caf(no_output(st, task_id));
      if (!*out)
        return to_caf(out->error());
      return *(**out); // a copy: CAF sends values
    },
    [self](result_atom, uint64_t task_id, bulk_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (!st.bulk)
        return to_caf(make_error(errc::unavailable, "this node has no bulk channel"));
      auto out = st.outputs.get(task_id);
      if (!out)
        return to_caf(no_output(st, task_id));
      if (!*out)
        return to_caf(out->error());
      // The values go out raw, straight from the stored output's bytes (shared with it
      // until the client has them), so that the client reads them into its tensor.
      auto x = std::move(**out);
      auto where = wire::locate_output(*x);
      if (!where)
        return to_caf(where.error());
      return st.bulk->offer_tensor(x, where->shape, where->values);
    },
    [self](challenge_atom) {
      auto& st = self->state;
      auto now = clock_type::now();
      std::erase_if(st.challenges, [now](auto& kv) { return kv.second < now; });
      chain::digest nonce{};
      RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
      st.challenges[nonce] = now + challenge_lifetime;
      return wire::encode_challenge({nonce.begin(), nonce.end()});
    },
    [self](join_atom, const wire::node_announcement& msg,
           const worker_actor& handle) -> caf::result<uint32_t> {
      auto id = admit(self, msg, handle, node_role::worker);
      if (!id)
        return to_caf(id.error());
      self->state.workers[*id] = handle;
      dispatch(self);
      return *id;
    },
    [self](join_atom, const wire::node_announcement& msg,
           const validator_actor& handle) -> caf::result<uint32_t> {
      auto id = admit(self, msg, handle, node_role::validator);
      if (!id)
        return to_caf(id.error());
      self->state.validators[*id] = handle;
      dispatch(self);
      return *id;
    },
    [self](join_atom, const wire::node_announcement& msg,
           const aggregator_actor& handle) -> caf::result<uint32_t> {
      auto id = admit(self, msg, handle, node_role::aggregator);
      if (!id)
        return to_caf(id.error());
      self->state.aggregator = handle;
      dispatch(self);
      return *id;
    },
    [self](verdict_atom, const wire::verdict& msg) {
      if (auto v = wire::decode(msg))
        expect_record(self, *v); // the aggregator's judgment decides; this is for records
    },
    [self](judged_atom, const wire::judgment& msg) {
      auto& st = self->state;
      auto j = wire::decode(msg);
      if (!j)
        return;
      const auto& v = j->verdict;
      auto units = st.table.work_units(v.task_id, v.shard_id);
      if (st.table.on_judgment(*j) != verdict_effect::stale)
        record_judgment(self, *j, units);
      if (auto early = st.early_outputs.find(v.task_id); early != st.early_outputs.end()) {
        auto out = std::move(early->second);
        st.early_outputs.erase(early);
        take_output(self, v.task_id, std::move(out));
      }
      dispatch(self);
    },
    [self](record_atom, const wire::ledger_records& msg) { record(self, msg); },
    [self](flush_atom) { flush_outbox(self); },
    [self](join_atom, const wire::node_announcement& msg,
           const ledger_actor& handle) -> caf::result<uint32_t> {
      auto id = admit(self, msg, handle, node_role::ledger);
      if (!id)
        return to_caf(id.error());
      self->state.ledger = handle;
      // Task ids go on from the ledger's last one: a shard of "task 1" of an earlier run
      // was paid already, and the contract pays each (task, shard) once.
      self->request(handle, std::chrono::seconds{10}, ledger_atom::value,
                    wire::encode(ledger_query{.question = ledger_question::last_task}))
        .then(
          [self](const wire::ledger_reply& reply) {
            auto a = wire::decode(reply);
            if (!a)
              return;
            self->state.table.skip_task_ids(a->last_task, a->last_internal_task);
            self->state.ledger_ready = true;
            release_held(self, clock_type::now());
          },
          [self](const caf::error& err) {
            caf::aout(self) << "orchestrator: the ledger did not say its last task: "
                            << describe(err) << "\n";
          });
      // Trust survives restarts: each node's streak as the ledger recorded it.
      self->request(handle, std::chrono::seconds{10}, ledger_atom::value,
                    wire::encode(ledger_query{.question = ledger_question::trust}))
        .then(
          [self](const wire::ledger_reply& reply) {
            auto a = wire::decode(reply);
            if (!a)
              return;
            self->state.table.set_streaks({a->streaks.begin(), a->streaks.end()});
          },
          [self](const caf::error& err) {
            caf::aout(self) << "orchestrator: the ledger did not say its nodes' records: "
                            << describe(err) << "\n";
          });
      return *id;
    },
    [self](ledger_atom, const wire::ledger_request& msg) -> caf::result<wire::ledger_reply> {
      if (!self->state.ledger)
        return to_caf(make_error(errc::unavailable, "this network keeps no ledger"));
      flush_outbox(self); // the answer includes every record received so far
      return self->delegate(self->state.ledger, ledger_atom::value, msg);
    },
    [self](output_atom, wire::final_output& msg) {
      auto task_id = msg.read([](schema::FinalOutput::Reader r) -> expected<uint64_t> {
        return r.getTaskId();
      });
      if (task_id)
        take_output(self, *task_id, std::move(msg));
    },
    [self](tick_atom) {
      auto now = clock_type::now();
      std::erase_if(self->state.unrecorded,
                    [now](const auto& kv) { return kv.second.at + record_wait < now; });
      std::erase_if(self->state.judged,
                    [now](const auto& kv) { return kv.second.at + record_wait < now; });
      release_held(self, now);
      if (!self->state.outbox_scheduled)
        flush_outbox(self); // what waited for a ledger to join
      for (auto& [id, run] : self->state.runs)
        run->expire(now);
      end_failed_runs(self);
      self->state.table.expire(now);
      dispatch(self); // re-issued shards, and the partial outputs of timed-out tasks
      release_pins(self->state);
      self->delayed_send(self, orchestrator_tick, tick_atom::value);
    },
  };
}

} // namespace nexus
