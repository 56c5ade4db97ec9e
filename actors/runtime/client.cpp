#include "actors/runtime/client.hpp"

#include <cstdio>
#include <optional>
#include <thread>

#include <caf/all.hpp>

#include "actors/core/submission.hpp"

namespace nexus {

client::client(caf::actor_system& sys, orchestrator_actor orchestrator,
               std::shared_ptr<blob_store> store, std::chrono::milliseconds timeout)
    : self_(sys)
    , orchestrator_(std::move(orchestrator))
    , store_(std::move(store))
    , timeout_(timeout)
    , key_(chain::node_key::generate().value())
    , name_("key-" + key_.id().substr(0, 12)) {}

template <class Reply, class... Ts>
expected<Reply> client::ask(Ts&&... xs) {
  expected<Reply> out{errc::failed};
  self_->request(orchestrator_, timeout_, std::forward<Ts>(xs)...)
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& err) { out = from_caf(err); });
  return out;
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
  auto ref = store_->put_upload(std::move(x));
  if (!upstream_ || uploaded_.contains(ref.id))
    return ref; // content-addressed: the hub keeps what it was given once
  if (auto err = send_up(ref))
    return err;
  return ref;
}

error client::send_up(const blob_ref& ref) {
  auto stored = store_->get(ref);
  if (!stored)
    return stored.error();
  error out;
  // Uploads are large: allow them a minute per 64 MiB on top of the usual time-out.
  auto limit = timeout_ + std::chrono::seconds{60 * (1 + (*stored)->size() / (16u << 20))};
  self_->request(upstream_, limit, store_atom::value, wire::encode(ref, **stored))
      .receive(
          [&](wire::blob_ref& reply) {
            if (auto name = wire::decode(reply); !name)
              out = name.error();
            else
              uploaded_.insert(ref.id);
          },
          [&](caf::error& err) { out = from_caf(err); });
  return out;
}

expected<task_ack> client::submit(const task_request& unsigned_req) {
  auto req = unsigned_req;
  req.submitter = name_;
  sign_submission(req, key_);
  auto ack = submit_once(req);
  // The hub keeps uploads while tasks use them and then only within its budget: what it
  // dropped goes up again, once, if this client's store still has it.
  if (!ack && upstream_ && is(ack.error(), errc::not_found)) {
    for (const auto& ref : blobs_of(req)) {
      uploaded_.erase(ref.id);
      if (store_->contains(ref))
        if (auto err = send_up(ref))
          return err;
    }
    ack = submit_once(req);
  }
  if (ack)
    last_task_ = ack->task_id;
  return ack;
}

expected<task_ack> client::submit_once(const task_request& req) {
  auto reply = ask<wire::task_ack>(submit_atom::value, wire::encode(req));
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<task_report> client::status(uint64_t task_id) {
  auto reply = ask<wire::task_report>(status_atom::value, task_id);
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<std::vector<task_report>> client::tasks() {
  auto reply = ask<wire::task_reports>(tasks_atom::value);
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<std::vector<node_report>> client::nodes() {
  auto reply = ask<wire::node_reports>(nodes_atom::value);
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<ledger_answer> client::ledger(const ledger_query& q) {
  auto reply = ask<wire::ledger_answer>(ledger_atom::value, wire::encode(q));
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<ledger_receipt> client::govern(const chain::governance& change) {
  auto t = chain::governance_record(change);
  t.time_ms = chain::now_ms();
  t.sign_with(key_);
  auto reply = ask<wire::ledger_receipt>(govern_atom::value,
                                         wire::encode_records({chain::encode(t)}));
  if (!reply)
    return reply.error();
  return wire::decode(*reply);
}

expected<compute::tensor> client::result(uint64_t task_id) {
  if (bulk_) {
    auto ticket = ask<uint64_t>(result_atom::value, task_id, bulk_atom::value);
    if (!ticket)
      return ticket.error(); // no such task, not done, failed
    auto out = bulk_get_tensor(bulk_, *ticket, wire::max_message_bytes);
    if (out)
      return out;
    std::fprintf(stderr, "%s; outputs come through the gateway from now on\n",
                 describe(out.error()).c_str());
    bulk_ = {};
  }
  auto reply = ask<wire::task_output>(result_atom::value, task_id);
  if (!reply)
    return reply.error();
  auto out = wire::decode(*reply);
  if (!out)
    return out.error();
  return std::move(out->output);
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
