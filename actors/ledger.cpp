#include "actors/ledger.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/core/ledger_queries.hpp"

namespace nexus {

namespace {

namespace cs = chain::consensus;

using self_pointer = ledger_actor::stateful_pointer<ledger_state>;

// Decided blocks sent at once to a peer that asks.
constexpr std::size_t sync_blocks = 16;
// How long a question waits for the records the node took to be committed.
constexpr std::chrono::seconds query_wait{3};

wire::ledger_records records_of(const std::vector<chain::transaction>& txs) {
  std::vector<std::vector<uint8_t>> bytes;
  bytes.reserve(txs.size());
  for (const auto& t : txs)
    bytes.push_back(chain::encode(t));
  return wire::encode_records(bytes);
}

// Answers the questions that waited for pooled records, once none waits or their time
// is up.
void answer_waiting(self_pointer self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  std::erase_if(st.questions, [&](ledger_state::question& q) {
    if (st.node->pooled() > 0 && now < q.deadline)
      return false;
    auto a = answer(*st.ledger, q.query);
    if (a)
      q.promise.deliver(wire::encode(*a));
    else
      q.promise.deliver(to_caf(a.error()));
    return true;
  });
}

// Does what the node asks: messages and records to every peer, timers, decided blocks to
// the sender of the message it handled, receipts to those who wait.
void carry(self_pointer self, ledger_node_output out) {
  auto& st = self->state;
  for (const auto& line : out.log)
    caf::aout(self) << st.config.name << ": " << line << "\n";
  for (const auto& m : out.broadcast) {
    auto msg = wire::encode(wire::consensus_item{m});
    for (const auto& p : st.peers)
      self->send(p, consensus_atom::value, msg);
  }
  if (!out.gossip.empty()) {
    auto msg = records_of(out.gossip);
    for (const auto& p : st.peers)
      self->send(p, gossip_atom::value, msg);
  }
  for (const auto& t : out.timers)
    self->delayed_send(self, t.after, timeout_atom::value, static_cast<uint8_t>(t.step),
                       t.height, t.round);
  if (!out.to_sender.empty())
    if (auto to = caf::actor_cast<ledger_actor>(self->current_sender()))
      for (const auto& d : out.to_sender)
        self->send(to, consensus_atom::value, wire::encode(wire::consensus_item{d}));
  for (auto& [ticket, receipt] : out.receipts)
    if (auto it = st.waiting.find(ticket); it != st.waiting.end()) {
      it->second.deliver(wire::encode(receipt));
      st.waiting.erase(it);
    }
  if (!st.questions.empty() && st.node->pooled() == 0)
    answer_waiting(self);
}

// Timers and ticks are the node's own: a peer may not send them.
bool from_self(self_pointer self) {
  return self->current_sender() == self->ctrl();
}

// Asks the peers (or the one that sent a message of a later height) for what this node
// lacks, once per tick.
void ask_for_blocks(self_pointer self, const ledger_actor& from = {}) {
  auto& st = self->state;
  if (st.asked)
    return;
  st.asked = true;
  if (from) {
    self->send(from, sync_atom::value, st.node->height());
    return;
  }
  for (const auto& p : st.peers)
    self->send(p, sync_atom::value, st.node->height());
}

} // namespace

ledger_actor spawn_ledger(caf::actor_system& sys, ledger_config config,
                          std::shared_ptr<chain::ledger> ledger) {
  auto fn = [config, ledger](self_pointer self) mutable -> ledger_actor::behavior_type {
    auto& st = self->state;
    st.config = config;
    st.ledger = ledger;
    ledger->keep_free(config.keep_free);
    auto signed_path = config.dir;
    signed_path += ".signed";
    st.node = std::make_unique<ledger_node>(
        ledger,
        ledger_node_config{config.batch, config.timeouts, config.fault, signed_path});
    carry(self, st.node->start());
    self->delayed_send(self, config.resend, tick_atom::value);
    self->set_exit_handler([self](caf::exit_msg& msg) {
      if (auto n = self->state.node->pooled())
        caf::aout(self) << self->state.config.name << ": stopping with " << n
                        << " records not in a committed block (its peers have them)\n";
      self->quit(msg.reason);
    });
    return {
        [self](record_atom,
               const wire::ledger_records& msg) -> caf::result<wire::ledger_receipt> {
          auto records = wire::decode(msg);
          if (!records)
            return to_caf(records.error());
          auto& st = self->state;
          auto ticket = st.next_ticket++;
          auto promise = self->make_response_promise<wire::ledger_receipt>();
          st.waiting.emplace(ticket, promise);
          carry(self, st.node->offer(ticket, *records));
          return promise;
        },
        [self](gossip_atom, const wire::ledger_records& msg) {
          if (auto records = wire::decode(msg))
            carry(self, self->state.node->gossip(*records));
        },
        [self](consensus_atom, const wire::consensus_message& msg) {
          auto item = wire::decode(msg);
          if (!item)
            return;
          auto& node = *self->state.node;
          if (auto* d = std::get_if<cs::decision>(&*item)) {
            carry(self, node.on_decision(*d));
            return;
          }
          const auto& m = std::get<cs::message>(*item);
          auto height = std::visit([](const auto& x) { return x.height; }, m);
          if (height > node.height()) // a peer is ahead: this node lacks blocks
            ask_for_blocks(self, caf::actor_cast<ledger_actor>(self->current_sender()));
          carry(self, node.on_message(m));
        },
        [self](sync_atom, uint64_t from) {
          auto to = caf::actor_cast<ledger_actor>(self->current_sender());
          if (!to || self->state.node->silent())
            return;
          for (auto& d : self->state.node->decided_from(from, sync_blocks))
            self->send(to, consensus_atom::value, wire::encode(wire::consensus_item{d}));
        },
        [self](peer_atom, const caf::actor& any) {
          auto& st = self->state;
          auto peer = caf::actor_cast<ledger_actor>(any);
          if (!peer || peer == caf::actor_cast<ledger_actor>(self)
              || std::find(st.peers.begin(), st.peers.end(), peer) != st.peers.end())
            return;
          st.peers.push_back(peer);
          self->send(peer, sync_atom::value, st.node->height());
          // A peer that joins late, or again, gets what waits for a block.
          if (st.node->pooled() > 0 && !st.node->silent())
            self->send(peer, gossip_atom::value, records_of(st.node->pool()));
        },
        [self](timeout_atom, uint8_t step, uint64_t height, uint32_t round) {
          if (step > 2 || !from_self(self)) // a peer's "time-out" is not this node's
            return;
          carry(self, self->state.node->on_timeout(
                          {static_cast<cs::step_kind>(step), height, round, {}}));
        },
        [self](tick_atom) {
          if (!from_self(self)) // else each one would start another loop of ticks
            return;
          auto& st = self->state;
          st.asked = false;                            // once a tick at most
          if (st.node->height() == st.ticked_height) { // no progress: say it all again
            carry(self, st.node->resend());
            ask_for_blocks(self);
          }
          st.ticked_height = st.node->height();
          answer_waiting(self);
          self->delayed_send(self, st.config.resend, tick_atom::value);
        },
        [self](ledger_atom,
               const wire::ledger_query& msg) -> caf::result<wire::ledger_answer> {
          auto q = wire::decode(msg);
          if (!q)
            return to_caf(q.error());
          auto& st = self->state;
          if (st.node->pooled() == 0 || st.node->silent()) {
            auto a = answer(*st.ledger, *q);
            if (!a)
              return to_caf(a.error());
            return wire::encode(*a);
          }
          // Records it took wait for a block: the answer includes them, once they are
          // committed or query_wait has passed.
          auto promise = self->make_response_promise<wire::ledger_answer>();
          st.questions.push_back(
              {promise, *q, std::chrono::steady_clock::now() + query_wait});
          return promise;
        },
    };
  };
  return sys.spawn<caf::detached>(fn);
}

void introduce_ledgers(const std::vector<ledger_actor>& nodes) {
  for (const auto& a : nodes)
    for (const auto& b : nodes)
      if (a != b)
        caf::anon_send(a, peer_atom::value, caf::actor_cast<caf::actor>(b));
}

} // namespace nexus
