#include "actors/runtime/client.hpp"

#include <cstdio>
#include <optional>
#include <thread>

#include <caf/all.hpp>

#include "actors/core/submission.hpp"

namespace nexus {

namespace {

// Why a hub went away, as a user reads it.
std::string why_lost(const caf::error& reason) {
  if (reason == caf::exit_reason::remote_link_unreachable)
    return "its connection dropped";
  return describe(from_caf(reason));
}

using relay_atom = caf::atom_constant<caf::atom("relay")>;

// Open tasks a client remembers to move with it, at most; the oldest are forgotten.
constexpr std::size_t open_kept = 4096;

} // namespace

client::client(caf::actor_system& sys, orchestrator_actor orchestrator,
               std::shared_ptr<blob_store> store, std::chrono::milliseconds timeout)
    : self_(sys)
    , hub_{.orchestrator = std::move(orchestrator)}
    , store_(std::move(store))
    , timeout_(timeout)
    , key_(chain::node_key::generate().value())
    , name_("key-" + key_.id().substr(0, 12)) {}

client::~client() {
  if (watcher_)
    caf::anon_send_exit(watcher_, caf::exit_reason::user_shutdown);
}

void client::set_hub(hub_link hub) {
  hub_ = std::move(hub);
  uploaded_.clear();
  lost_ = std::make_shared<std::atomic<bool>>(false); // the old hub's watchers keep theirs
  announced_ = std::make_shared<std::atomic<bool>>(false);
  watch();
}

void client::set_failover(relink_fn relink, say_fn say) {
  relink_ = std::move(relink);
  say_ = std::make_shared<const say_fn>(std::move(say));
  watch();
}

void client::watch() {
  if (watcher_)
    caf::anon_send_exit(watcher_, caf::exit_reason::user_shutdown);
  watcher_ = nullptr;
  if (!say_ || !hub_.orchestrator)
    return;
  // Says at once, from CAF's thread, that the hub was lost: a shell waiting for its user
  // says so before the next command finds out.
  watcher_ = self_->home_system().spawn(
      [hub = hub_.orchestrator, name = hub_.name, say = say_, lost = lost_,
       announced = announced_](caf::event_based_actor* self) -> caf::behavior {
        self->monitor(hub);
        self->set_down_handler([=](const caf::down_msg& msg) {
          lost->store(true);
          if (!announced->exchange(true))
            (*say)("lost hub " + (name.empty() ? std::string{"?"} : name) + " ("
                   + why_lost(msg.reason) + "); moving to another hub of the network");
          self->quit();
        });
        return {[](relay_atom) {}};
      });
}

template <class Reply, class Handle, class... Ts>
expected<Reply> client::call(const Handle& to, std::chrono::milliseconds limit, Ts... xs) {
  // Through a relay that watches the hub: a hub lost while the request waits fails it at
  // once (CAF never answers a request whose receiver's node went away; it times out).
  auto relay =
      self_->home_system().spawn([to, limit, lost = lost_, hub = hub_.orchestrator,
                                  args = std::make_tuple(std::move(xs)...)](
                                     caf::event_based_actor* self) -> caf::behavior {
        return {
            [=](relay_atom) -> caf::result<Reply> {
              auto rp = self->make_response_promise<Reply>();
              self->monitor(hub);
              self->set_down_handler([=](const caf::down_msg& msg) {
                lost->store(true);
                auto promise = rp; // the handler is called as const
                promise.deliver(to_caf(make_error(
                    errc::unavailable, "lost the hub: " + why_lost(msg.reason))));
                self->quit();
              });
              std::apply(
                  [&](const auto&... ys) {
                    self->request(to, limit, ys...)
                        .then(
                            [=](Reply& reply) mutable {
                              rp.deliver(std::move(reply));
                              self->quit();
                            },
                            [=](caf::error& err) mutable {
                              rp.deliver(std::move(err));
                              self->quit();
                            });
                  },
                  args);
              return rp;
            },
        };
      });
  expected<Reply> out{errc::failed};
  self_->request(relay, caf::infinite, relay_atom::value)
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& err) { out = from_caf(err); });
  return out;
}

template <class Reply, class... Ts>
expected<Reply> client::ask(Ts&&... xs) {
  return call<Reply>(hub_.orchestrator, timeout_, std::forward<Ts>(xs)...);
}

template <class F>
auto client::failing_over(F&& f) -> decltype(f()) {
  auto out = f();
  if (out || !relink_ || !lost_->load())
    return out;
  if (auto err = move_on())
    return err;
  return f();
}

error client::move_on() {
  auto from = hub_.name;
  if (!announced_->exchange(true)) // a request noticed before the watcher
    (*say_)("lost hub " + from + "; moving to another hub of the network");
  auto next = relink_(from);
  if (!next)
    return make_error(errc::unavailable, "lost hub " + from + ", and no hub of the network "
                                             + "answers: " + describe(next.error()));
  set_hub(std::move(*next));
  auto moving = open_.size();
  (*say_)("attached to hub " + hub_.name
          + (moving == 0 ? std::string{}
                         : "; submitting " + std::to_string(moving) + " open task"
                               + (moving == 1 ? "" : "s") + " there again"));
  for (const auto& [id, req] : open_) {
    auto ack = submit_signed(req);
    if (!ack) {
      (*say_)("task " + std::to_string(id) + " did not move to hub " + hub_.name + ": "
              + describe(ack.error()));
      continue;
    }
    if (!moved_.contains(id) || moved_[id] == hub_.name)
      moved_[id] = from;
  }
  return {};
}

void client::note_finished(const task_report& r) {
  if (r.finished() && r.state != task_state::done)
    open_.erase(r.task_id); // failed or cancelled: nothing to fetch
}

void client::annotate(task_report& r) const {
  r.hub = hub_.name;
  if (auto m = moved_.find(r.task_id); m != moved_.end())
    r.moved_from = m->second;
}

expected<task_ack> client::submit_matmul(compute::tensor a, compute::tensor b,
                                         task_request options) {
  auto refs = put_pair(std::move(a), std::move(b));
  if (!refs)
    return refs.error();
  return submit_matmul(refs->first, refs->second, std::move(options));
}

expected<task_ack> client::submit_matmul(const blob_ref& a, const blob_ref& b,
                                         task_request options) {
  options.workload = workload_kind::matmul;
  options.matmul.a = a;
  options.matmul.b = b;
  return submit(options);
}

namespace {

compute::tensor labels_of(const compute::nn::dataset& d) {
  return compute::tensor{compute::shape_t{d.size(), 1}, {d.y.begin(), d.y.end()}};
}

} // namespace

expected<task_ack> client::submit_train(const compute::nn::dataset& train,
                                        const compute::nn::dataset* test,
                                        task_request options) {
  options.workload = workload_kind::train;
  auto x = put(train.x);
  auto y = x ? put(labels_of(train)) : expected<blob_ref>{x.error()};
  if (!y)
    return y.error();
  options.model.x = std::move(*x);
  options.model.y = std::move(*y);
  if (test) {
    auto tx = put(test->x);
    auto ty = tx ? put(labels_of(*test)) : expected<blob_ref>{tx.error()};
    if (!ty)
      return ty.error();
    options.train.test_x = std::move(*tx);
    options.train.test_y = std::move(*ty);
  }
  return submit(options);
}

expected<task_ack> client::submit_infer(compute::tensor weights, compute::tensor x,
                                        task_request options) {
  auto refs = put_pair(std::move(weights), std::move(x));
  if (!refs)
    return refs.error();
  return submit_infer(refs->first, refs->second, std::move(options));
}

expected<task_ack> client::submit_infer(const blob_ref& weights, const blob_ref& x,
                                        task_request options) {
  options.workload = workload_kind::infer;
  options.model.weights = weights;
  options.model.x = x;
  return submit(options);
}

expected<std::pair<blob_ref, blob_ref>> client::put_pair(compute::tensor x,
                                                         compute::tensor y) {
  auto first = put(std::move(x));
  if (!first)
    return first.error();
  auto second = put(std::move(y));
  if (!second)
    return second.error();
  return std::pair{std::move(*first), std::move(*second)};
}

expected<blob_ref> client::put(compute::tensor x) {
  if (auto err =
          compute::check_finite(x, "an operand of shape " + compute::to_string(x.shape())))
    return err;
  auto ref = store_->put_upload(std::move(x));
  auto up = failing_over([&]() -> expected<blob_ref> {
    if (!hub_.gateway || uploaded_.contains(ref.id))
      return ref; // content-addressed: the hub keeps what it was given once
    if (auto err = send_up(ref))
      return err;
    return ref;
  });
  return up;
}

error client::send_up(const blob_ref& ref) {
  auto stored = store_->get(ref);
  if (!stored)
    return stored.error();
  // Uploads are large: allow them a minute per 64 MiB on top of the usual time-out.
  auto limit = timeout_ + std::chrono::seconds{60 * (1 + (*stored)->size() / (16u << 20))};
  auto reply = call<wire::blob_ref>(hub_.gateway, limit, store_atom::value,
                                    wire::encode(ref, **stored));
  if (!reply)
    return reply.error();
  if (auto name = wire::decode(*reply); !name)
    return name.error();
  uploaded_.insert(ref.id);
  return {};
}

expected<task_ack> client::submit(const task_request& unsigned_req) {
  auto req = unsigned_req;
  req.submitter = name_;
  if (req.hubs.empty())
    req.hubs = hub_keys_;
  sign_submission(req, key_);
  auto ack = failing_over([&] { return submit_signed(req); });
  if (!ack)
    return ack;
  last_task_ = ack->task_id;
  if (open_.emplace(ack->task_id, req).second)
    open_order_.push_back(ack->task_id);
  while (open_order_.size() > open_kept) {
    open_.erase(open_order_.front());
    open_order_.pop_front();
  }
  return ack;
}

expected<task_ack> client::submit_signed(const task_request& req) {
  auto ack = submit_once(req);
  // The hub keeps uploads while tasks use them and then only within its budget (another
  // hub never had them): what it lacks goes up again, once, if this client's store still
  // has it.
  if (!ack && hub_.gateway && is(ack.error(), errc::not_found)) {
    for (const auto& ref : blobs_of(req)) {
      uploaded_.erase(ref.id);
      if (store_->contains(ref))
        if (auto err = send_up(ref))
          return err;
    }
    ack = submit_once(req);
  }
  return ack;
}

expected<task_ack> client::submit_once(const task_request& req) {
  auto reply = ask<wire::task_ack>(submit_atom::value, wire::encode(req));
  if (!reply)
    return reply.error();
  auto ack = wire::decode(*reply);
  if (ack && req.task_id != 0 && ack->task_id != req.task_id) // it would follow another's
    return make_error(errc::corrupted, "the hub acknowledged task "
                                           + std::to_string(ack->task_id) + " for task "
                                           + std::to_string(req.task_id));
  return ack;
}

expected<task_report> client::take_report(expected<wire::task_report> reply) {
  if (!reply)
    return reply.error();
  auto r = wire::decode(*reply);
  if (!r)
    return r;
  note_finished(*r);
  annotate(*r);
  return r;
}

expected<task_report> client::status(uint64_t task_id) {
  return failing_over([&]() -> expected<task_report> {
    return take_report(ask<wire::task_report>(status_atom::value, task_id));
  });
}

expected<task_report> client::cancel(uint64_t task_id) {
  // The statement names the submission's nonce: this client's own record of it, or what
  // the hub reports (a task submitted by an earlier session with this key).
  uint64_t nonce = 0;
  if (auto open = open_.find(task_id); open != open_.end()) {
    nonce = open->second.nonce;
  } else {
    auto r = status(task_id);
    if (!r || r->finished())
      return r;
    nonce = r->submission_nonce;
  }
  cancel_request req{.task_id = task_id,
                     .signature = key_.sign(wire::cancel_statement(task_id, nonce))};
  return failing_over([&]() -> expected<task_report> {
    return take_report(ask<wire::task_report>(cancel_atom::value, wire::encode(req)));
  });
}

expected<std::vector<task_report>> client::tasks() {
  return failing_over([&]() -> expected<std::vector<task_report>> {
    auto reply = ask<wire::task_reports>(tasks_atom::value);
    if (!reply)
      return reply.error();
    auto list = wire::decode(*reply);
    if (list)
      for (auto& r : *list)
        annotate(r);
    return list;
  });
}

expected<std::vector<node_report>> client::nodes() {
  return failing_over([&]() -> expected<std::vector<node_report>> {
    auto reply = ask<wire::node_reports>(nodes_atom::value);
    if (!reply)
      return reply.error();
    return wire::decode(*reply);
  });
}

expected<ledger_answer> client::ledger(const ledger_query& q) {
  return failing_over([&]() -> expected<ledger_answer> {
    auto reply = ask<wire::ledger_answer>(ledger_atom::value, wire::encode(q));
    if (!reply)
      return reply.error();
    return wire::decode(*reply);
  });
}

expected<ledger_receipt> client::govern(const chain::governance& change) {
  auto t = chain::governance_record(change);
  t.time_ms = chain::now_ms();
  t.sign_with(key_);
  return failing_over([&]() -> expected<ledger_receipt> {
    auto reply = ask<wire::ledger_receipt>(govern_atom::value,
                                           wire::encode_records({chain::encode(t)}));
    if (!reply)
      return reply.error();
    return wire::decode(*reply);
  });
}

expected<compute::tensor> client::result(uint64_t task_id) {
  auto out = failing_over([&]() -> expected<compute::tensor> {
    if (hub_.bulk) {
      auto ticket = ask<uint64_t>(result_atom::value, task_id, bulk_atom::value);
      if (!ticket)
        return ticket.error(); // no such task, not done, failed
      auto out = bulk_get_tensor(hub_.bulk, *ticket, wire::max_message_bytes);
      if (out)
        return out;
      std::fprintf(stderr, "%s; outputs come through the gateway from now on\n",
                   describe(out.error()).c_str());
      hub_.bulk = {};
    }
    auto reply = ask<wire::task_output>(result_atom::value, task_id);
    if (!reply)
      return reply.error();
    auto decoded = wire::decode(*reply);
    if (!decoded)
      return decoded.error();
    return std::move(decoded->output);
  });
  if (out)
    open_.erase(task_id); // in the submitter's hands: nothing left to move
  return out;
}

expected<task_report> client::wait(uint64_t task_id, const progress_fn& progress,
                                   std::optional<std::chrono::milliseconds> limit,
                                   std::chrono::milliseconds poll) {
  auto deadline = limit ? std::chrono::steady_clock::now() + *limit
                        : std::chrono::steady_clock::time_point::max();
  for (;;) {
    auto report = status(task_id);
    if (!report)
      return report.error();
    if (progress)
      progress(*report);
    if (report->finished())
      return report;
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::timeout, "task " + std::to_string(task_id) + " still "
                                           + to_string(report->state));
    std::this_thread::sleep_for(poll);
  }
}

} // namespace nexus
