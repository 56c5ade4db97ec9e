#include "actors/ledger.hpp"

#include <cinttypes>
#include <cstdio>

#include <caf/all.hpp>

#include "chain/audit.hpp"

namespace nexus {

namespace {

constexpr std::chrono::seconds store_retry{5};

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}


std::string describe_tx(const chain::transaction& t) {
  auto where = chain::task_name(t.task_id) + " shard " + std::to_string(t.shard_id)
               + " attempt " + std::to_string(t.attempt);
  switch (t.kind) {
    case chain::tx_kind::contribution:
      return "contribution  " + where + "  by " + t.worker + ", "
             + std::to_string(t.work_units) + " work units";
    case chain::tx_kind::verdict:
      return "verdict       " + where + "  " + (t.valid ? "valid" : "INVALID") + ", " + t.worker
             + " judged by " + t.validator;
    case chain::tx_kind::reward:
      return "reward        " + where + "  " + chain::format_mcc(t.amount) + " to " + t.account;
    case chain::tx_kind::penalty:
      return "penalty       " + where + "  " + chain::format_mcc(t.amount) + " from " + t.account;
    case chain::tx_kind::charge:
      return "charge        " + where + "  " + chain::format_mcc(t.amount) + " from " + t.account;
    case chain::tx_kind::acceptance:
      return "acceptance    " + where + "  " + t.worker + ", unchecked on its record";
    case chain::tx_kind::audit:
      return "audit         " + where + "  " + t.validator + "'s verdict overturned";
    case chain::tx_kind::submission:
      return "submission    " + chain::task_name(t.task_id) + " by " + t.account + ", budget "
             + (t.amount == 0 ? std::string{"unlimited"} : chain::format_mcc(t.amount));
  }
  return "unknown";
}

// Seals what is pending into a block. When the store cannot take it (errc::failed: a
// full or read-only disk), nothing is lost: the records stay pending, their senders keep
// waiting, and the block is tried again every store_retry.
void flush(ledger_actor::stateful_pointer<ledger_state> self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.pending.empty()) { // nothing to store: every waiting record was refused
    for (auto& [promise, receipt] : st.waiting)
      promise.deliver(wire::encode(receipt));
    st.waiting.clear();
    return;
  }
  auto b = st.ledger->commit(st.pending, now_ms()); // a copy: kept if storing fails
  if (!b && is(b.error(), errc::failed)) {
    auto why = describe(b.error());
    if (why != st.store_problem)
      caf::aout(self) << "ledger: cannot store a block (" << why << "); its "
                      << st.pending.size() << " records wait and are tried again every "
                      << store_retry.count() << " s\n";
    st.store_problem = why;
    st.flush_scheduled = true;
    self->delayed_send(self, store_retry, tick_atom::value);
    return;
  }
  if (!st.store_problem.empty() && b)
    caf::aout(self) << "ledger: stored again (" << st.pending.size() << " records had waited)\n";
  st.store_problem.clear();
  st.pending.clear();
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  if (!b)
    caf::aout(self) << "ledger: a block was refused: " << describe(b.error()) << "\n";
  for (auto& [promise, receipt] : waiting) {
    if (!b) {
      promise.deliver(to_caf(b.error()));
      continue;
    }
    receipt.height = b->header.height;
    receipt.block_hash = b->header.hash();
    promise.deliver(wire::encode(receipt));
  }
}

} // namespace

chain::transaction ledger_transaction(const verdict_info& v, chain::tx_kind kind) {
  chain::transaction t;
  t.kind = kind;
  t.task_id = v.task_id;
  t.shard_id = v.shard_id;
  t.attempt = v.attempt;
  t.worker = v.worker;
  t.validator = v.validator;
  t.result = v.result;
  return t;
}

std::vector<std::string> answer(const chain::ledger& ledger, const ledger_query& q) {
  const auto& store = ledger.chain();
  std::vector<std::string> out;
  auto head = store.head();
  if (q.kind == "balance") {
    if (!q.account.empty()) {
      out.push_back(q.account + "  " + chain::format_mcc(store.balance(q.account)));
      return out;
    }
    for (const auto& [account, micro] : store.balances())
      out.push_back(account + "  " + chain::format_mcc(micro));
    if (out.empty())
      out.push_back("no balances yet");
    return out;
  }
  if (q.kind == "history") {
    std::optional<chain::block> b;
    for (auto [height, index] : store.history(q.account)) {
      if (!b || b->header.height != height) {
        auto got = store.get(height);
        if (!got)
          return {"error: " + describe(got.error())};
        b = std::move(*got);
      }
      if (index < b->txs.size())
        out.push_back("block " + std::to_string(height) + "  " + describe_tx(b->txs[index]));
    }
    if (out.empty())
      out.push_back("nothing recorded for " + q.account);
    return out;
  }
  if (q.kind == "block") {
    auto b = store.get(q.height);
    if (!b)
      return {"error: " + describe(b.error())};
    out.push_back("block " + std::to_string(q.height) + "  hash "
                  + chain::to_hex(b->header.hash()) + "\n  previous "
                  + chain::to_hex(b->header.prev) + "\n  merkle root "
                  + chain::to_hex(b->header.merkle_root) + "\n  proposer "
                  + chain::to_hex(b->header.proposer).substr(0, 16) + "...  "
                  + std::to_string(b->txs.size()) + " transactions");
    for (const auto& t : b->txs)
      out.push_back("  " + describe_tx(t));
    return out;
  }
  if (q.kind == "tail") {
    uint64_t count = q.count == 0 ? 10 : q.count;
    uint64_t first = head.blocks > count ? head.blocks - count : 0;
    for (uint64_t h = first; h < head.blocks; ++h)
      if (auto b = store.get(h))
        out.push_back("block " + std::to_string(h) + "  "
                      + chain::to_hex(b->header.hash()).substr(0, 16) + "  "
                      + std::to_string(b->txs.size()) + " transactions");
    if (out.empty())
      out.push_back("the ledger is empty");
    return out;
  }
  if (q.kind == "last-task")
    return {std::to_string(ledger.contract().last_task()),
            std::to_string(ledger.contract().last_internal_task())};
  if (q.kind == "trust") { // "NAME STREAK" per node with a record
    for (const auto& [name, streak] : ledger.contract().streaks())
      out.push_back(name + " " + std::to_string(streak));
    return out;
  }
  if (q.kind == "verify")
    return {chain::describe_audit(chain::audit(store, ledger.contract().rules()))};
  return {"error: unknown ledger question \"" + q.kind + "\""};
}

ledger_actor spawn_ledger(caf::actor_system& sys, ledger_config config,
                          std::shared_ptr<chain::ledger> ledger) {
  auto fn = [config, ledger](ledger_actor::stateful_pointer<ledger_state> self) mutable
    -> ledger_actor::behavior_type {
    self->state.config = config;
    self->state.ledger = ledger;
    ledger->keep_free(config.keep_free);
    self->set_exit_handler([self](caf::exit_msg& msg) {
      flush(self); // what was received is stored before the ledger stops
      if (!self->state.store_problem.empty())
        caf::aout(self) << "ledger: stopping with " << self->state.pending.size()
                        << " records that could not be stored: " << self->state.store_problem
                        << "\n";
      self->quit(msg.reason);
    });
    return {
      [self](record_atom,
             const wire::ledger_records& msg) -> caf::result<wire::ledger_receipt> {
        auto& st = self->state;
        auto records = wire::decode(msg);
        if (!records)
          return to_caf(records.error());
        ledger_receipt_info receipt;
        std::vector<chain::transaction> txs;
        for (const auto& bytes : *records) {
          auto t = chain::decode_transaction(bytes);
          if (!t || chain::is_payment(*t)) {
            receipt.refused.push_back(t ? "a payment (only the contract makes those): "
                                            + describe_tx(*t)
                                        : describe(t.error()));
            continue;
          }
          txs.push_back(std::move(*t));
        }
        auto good = chain::signatures_valid(txs);
        for (std::size_t i = 0; i < txs.size(); ++i) {
          if (!good[i]) {
            receipt.refused.push_back("a bad signature: " + describe_tx(txs[i]));
            continue;
          }
          st.pending.push_back(std::move(txs[i]));
          ++receipt.recorded;
        }
        for (const auto& why : receipt.refused)
          caf::aout(self) << "ledger: refused a record: " << why << "\n";
        auto promise = self->make_response_promise<wire::ledger_receipt>();
        st.waiting.emplace_back(promise, std::move(receipt));
        if (st.pending.size() >= st.config.batch && st.store_problem.empty()) {
          flush(self);
        } else if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->delayed_send(self, st.config.interval, tick_atom::value);
        }
        return promise;
      },
      [self](tick_atom) { flush(self); },
      [self](ledger_atom, const wire::ledger_request& msg) -> caf::result<wire::ledger_reply> {
        auto q = wire::decode(msg);
        if (!q)
          return to_caf(q.error());
        if (self->state.store_problem.empty()) // else the retry's timer stores them
          flush(self); // answer with everything received so far
        return wire::encode_lines(answer(*self->state.ledger, *q));
      },
    };
  };
  return sys.spawn<caf::detached>(fn);
}

} // namespace nexus
