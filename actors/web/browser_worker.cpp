#include "actors/web/browser_worker.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <tuple>

#include <caf/all.hpp>

#include "actors/core/results.hpp"
#include "chain/membership.hpp"
#include "messages/web_frames.hpp"

namespace nexus::web {

namespace {

using status_tick_atom = caf::atom_constant<caf::atom("webstatus")>;
using browser_actor = browser_worker_actor::extend<caf::reacts_to<status_tick_atom>>;

constexpr auto request_timeout = std::chrono::seconds{30};
constexpr auto status_every = std::chrono::seconds{2};
// What a tab keeps of the operands it was sent (apps/web/worker.js keeps the same).
constexpr std::size_t tab_blob_budget = std::size_t{512} << 20;
constexpr std::size_t tab_blobs_kept = 3;

struct browser_state {
  std::shared_ptr<browser_socket> socket;
  orchestrator_actor orchestrator;
  std::shared_ptr<blob_store> store;
  std::string name;        // once it joined
  chain::public_key key{}; // the key it proved
  bool joining = false;    // a join was sent
  bool joined = false;
  bool closed = false;
  // Attempts assigned and not answered: (task, shard, attempt) -> its aggregator.
  std::map<std::tuple<uint64_t, uint32_t, uint32_t>, aggregator_actor> pending;
  // Blobs the tab holds, oldest first, and their bytes: the tab forgets by the same rule
  // (send_operands), so the hub knows what the tab still has.
  std::deque<std::pair<chain::digest, std::size_t>> sent;
  std::size_t sent_bytes = 0;
  chain::statement_verifier verify{result_tag};
};

using self_pointer = browser_actor::stateful_pointer<browser_state>;

std::string who(self_pointer self) {
  auto& st = self->state;
  return "web: " + (st.name.empty() ? std::string{"browser"} : st.name) + " at "
         + st.socket->address();
}

// Ends the worker: says why in the log and to the tab, and lets the orchestrator know
// (its monitor sees the actor go and hands the shards to others).
void end(self_pointer self, uint16_t code, std::string why) {
  auto& st = self->state;
  why = printable(std::move(why)); // what a page chose to send (a name) stays on one line
  if (!st.closed) {
    caf::aout(self) << who(self) << ": " << why << " (closing with " << code << ")\n";
    st.socket->close(code, why);
    st.closed = true;
  }
  self->quit();
}

void send_frame(self_pointer self, frame kind, std::span<const uint8_t> bytes) {
  if (!self->state.socket->send(frame_of(kind, bytes)))
    self->quit(); // the tab is gone; closed_atom will say so too
}

// Sends the operands a shard names that the tab does not hold yet.
error send_operands(self_pointer self, const shard_task& task) {
  auto& st = self->state;
  for (const blob_ref* ref : {&task.matmul.a, &task.matmul.b, &task.model.weights,
                              &task.model.x, &task.model.y}) {
    if (ref->shape.empty()
        || std::any_of(st.sent.begin(), st.sent.end(),
                       [&](const auto& s) { return s.first == ref->id; }))
      continue;
    auto blob = st.store->get(*ref);
    if (!blob)
      return blob.error();
    auto msg = wire::encode(*ref, **blob);
    send_frame(self, frame::blob, msg.bytes());
    st.sent.emplace_back(ref->id, (*blob)->size() * sizeof(float));
    st.sent_bytes += st.sent.back().second;
    // The tab's rule (apps/web/worker.js): past the budget, the oldest go, but never
    // the newest few, which a shard being sent may name.
    while (st.sent_bytes > tab_blob_budget && st.sent.size() > tab_blobs_kept) {
      st.sent_bytes -= st.sent.front().second;
      st.sent.pop_front();
    }
  }
  return {};
}

void on_assign(self_pointer self, const wire::shard_task& msg,
               const aggregator_actor& aggregator) {
  auto& st = self->state;
  auto task = wire::decode(msg);
  if (!task) {
    caf::aout(self) << who(self)
                    << ": dropped a malformed assignment: " << describe(task.error())
                    << "\n";
    return;
  }
  if (auto err = send_operands(self, *task)) {
    // The hub lacks what its own task names: the deadline re-issues the shard.
    caf::aout(self) << who(self) << ": cannot pass shard " << task->shard_id << " of task "
                    << task->task_id << " on: " << describe(err) << "\n";
    return;
  }
  st.pending[{task->task_id, task->shard_id, task->attempt}] = aggregator;
  send_frame(self, frame::assign, msg.bytes());
}

// The tab's own line of `nodes` and its balance, for its page.
void send_status(self_pointer self) {
  auto& st = self->state;
  self->request(st.orchestrator, request_timeout, nodes_atom::value)
      .then(
          [self](const wire::node_reports& reply) {
            auto nodes = wire::decode(reply);
            if (!nodes)
              return;
            std::erase_if(*nodes, [&](const node_report& n) {
              return n.info.name != self->state.name;
            });
            send_frame(self, frame::self, wire::encode(*nodes).bytes());
          },
          [](const caf::error&) {});
  self->request(st.orchestrator, request_timeout, ledger_atom::value,
                wire::encode(
                    ledger_query{.question = ledger_question::balance, .account = st.name}))
      .then(
          [self](const wire::ledger_answer& reply) {
            send_frame(self, frame::balance, reply.bytes());
          },
          [](const caf::error&) {}); // no ledger: no balance to show
}

void on_join(self_pointer self, join_frame join) {
  auto& st = self->state;
  if (st.joining)
    return end(self, policy, "it joined twice on one connection");
  st.joining = true;
  auto& info = join.info;
  if (info.role != node_role::worker)
    return end(self, refused, "a browser node may only be a worker");
  if (info.public_key.size() != st.key.size())
    return end(self, refused, "its join names no Ed25519 key");
  if (info.name != chain::browser_name(info.public_key))
    return end(self, refused,
               "it joined as " + info.name.substr(0, 40) + ", but its key's name is "
                   + chain::browser_name(info.public_key));
  std::copy(info.public_key.begin(), info.public_key.end(), st.key.begin());
  st.name = info.name;
  auto handle = caf::actor_cast<worker_actor>(self);
  self->request(st.orchestrator, request_timeout, join_atom::value, join.raw, handle)
      .then(
          [self](uint32_t) {
            self->state.joined = true;
            caf::aout(self) << who(self) << ": joined as a worker\n";
            send_status(self);
            self->delayed_send(self, status_every, status_tick_atom::value);
          },
          [self](const caf::error& err) { end(self, refused, describe(from_caf(err))); });
}

void on_result(self_pointer self, result_frame in) {
  auto& st = self->state;
  if (!st.joined)
    return end(self, policy, "it sent a result before it joined");
  auto& r = in.result;
  auto at = st.pending.find({r.task_id, r.shard_id, r.attempt});
  if (at == st.pending.end()) {
    // Late (its shard was re-issued and judged) or never assigned: nothing to pass on.
    caf::aout(self) << who(self) << ": dropped a result for shard " << r.shard_id
                    << " of task " << r.task_id << ", attempt " << r.attempt
                    << ", which is not assigned to it\n";
    return;
  }
  auto digest = output_digest(r.output);
  if (r.worker != st.name || !st.verify(st.key, result_statement(r, digest), r.signature))
    return end(self, forged,
               "a result not signed by the key it joined with, for shard "
                   + std::to_string(r.shard_id) + " of task " + std::to_string(r.task_id));
  auto aggregator = at->second;
  st.pending.erase(at);
  in.raw.remember_payload_digest(digest);
  self->send(aggregator, stage_atom::value, r.task_id, r.shard_id, r.attempt,
             std::move(in.raw));
}

void on_frame(self_pointer self, const std::vector<uint8_t>& bytes) {
  auto in = read_browser_frame(bytes);
  if (!in) {
    auto code = bytes.size() > max_browser_frame       ? too_big
                : in.error().code() == errc::corrupted ? bad_payload
                                                       : policy;
    return end(self, code, describe(in.error()));
  }
  if (auto* join = std::get_if<join_frame>(&*in))
    on_join(self, std::move(*join));
  else
    on_result(self, std::move(std::get<result_frame>(*in)));
}

browser_actor::behavior_type browser_worker(self_pointer self,
                                            std::shared_ptr<browser_socket> socket,
                                            orchestrator_actor orchestrator,
                                            std::shared_ptr<blob_store> store) {
  auto& st = self->state;
  st.socket = std::move(socket);
  st.orchestrator = std::move(orchestrator);
  st.store = std::move(store);
  self->monitor(st.orchestrator);
  self->set_down_handler(
      [self](const caf::down_msg&) { end(self, going_away, "the orchestrator is gone"); });
  self->request(st.orchestrator, request_timeout, challenge_atom::value)
      .then(
          [self](const wire::challenge& c) {
            send_frame(self, frame::challenge, c.bytes());
          },
          [self](const caf::error& err) {
            end(self, server_error, "no challenge to sign: " + describe(from_caf(err)));
          });
  return {
      [self](assign_atom, const wire::shard_task& msg, const aggregator_actor& aggregator) {
        on_assign(self, msg, aggregator);
      },
      [self](frame_atom, const std::vector<uint8_t>& bytes) { on_frame(self, bytes); },
      [self](closed_atom) {
        if (!self->state.pending.empty())
          caf::aout(self) << who(self) << ": left with " << self->state.pending.size()
                          << " shards, which go to other workers\n";
        self->state.closed = true;
        self->quit();
      },
      [self](status_tick_atom) {
        send_status(self);
        self->delayed_send(self, status_every, status_tick_atom::value);
      },
  };
}

} // namespace

std::string printable(std::string text) {
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  return text;
}

browser_worker_actor spawn_browser_worker(caf::actor_system& sys,
                                          std::shared_ptr<browser_socket> socket,
                                          orchestrator_actor orchestrator,
                                          std::shared_ptr<blob_store> store) {
  // Detached: the store blocks while it fetches an operand the hub does not hold.
  auto actor = sys.spawn<caf::detached>(browser_worker, std::move(socket),
                                        std::move(orchestrator), std::move(store));
  return caf::actor_cast<browser_worker_actor>(actor);
}

} // namespace nexus::web
