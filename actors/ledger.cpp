#include "actors/ledger.hpp"

#include <cinttypes>
#include <cstdio>

#include <caf/all.hpp>

#include "actors/core/ledger_queries.hpp"

namespace nexus {

namespace {

constexpr std::chrono::seconds store_retry{5};

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Seals what is pending into blocks of at most `batch` records each. When the store
// cannot take one (errc::failed: a full or read-only disk), nothing is lost: its records
// and those after stay pending, their senders keep waiting, and the block is tried again
// every store_retry. Receipts go once every record of theirs is stored or refused.
void flush(ledger_actor::stateful_pointer<ledger_state> self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto chunk = std::max<std::size_t>(1, std::min(st.config.batch, chain::max_block_inputs));
  std::size_t stored = 0;
  while (st.pending.size() > 0) {
    auto n = std::min(st.pending.size(), chunk);
    std::vector<chain::transaction> inputs(st.pending.begin(),
                                           st.pending.begin() + static_cast<long>(n));
    auto b = st.ledger->commit(std::move(inputs), now_ms()); // a copy: kept if it fails
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
    auto refuse = [&](std::size_t i, std::string line) {
      caf::aout(self) << "ledger: refused a record: " << line << "\n";
      auto [entry, at] = st.pending_from[i];
      auto& receipt = st.waiting[entry].second;
      --receipt.recorded;
      receipt.refused.push_back(std::move(line));
      receipt.refused_at.push_back(at);
    };
    if (!b) { // the block was refused whole (a record's signature, checked on arrival)
      for (std::size_t i = 0; i < n; ++i)
        refuse(i, "its block was refused (" + describe(b.error())
                      + "): " + chain::describe_tx(st.pending[i]));
    } else {
      for (const auto& [i, why] : b->refused)
        refuse(i, why + ": " + chain::describe_tx(st.pending[i]));
      if (b->stored)
        for (std::size_t i = 0; i < n; ++i) {
          auto& receipt = st.waiting[st.pending_from[i].first].second;
          receipt.height = b->stored->header.height;
          receipt.block_hash = b->stored->header.hash();
        }
    }
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<long>(n));
    st.pending_from.erase(st.pending_from.begin(),
                          st.pending_from.begin() + static_cast<long>(n));
    stored += n;
  }
  if (!st.store_problem.empty())
    caf::aout(self) << "ledger: stored again (" << stored << " records had waited)\n";
  st.store_problem.clear();
  for (auto& [promise, receipt] : st.waiting)
    promise.deliver(wire::encode(receipt));
  st.waiting.clear();
}

} // namespace

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
                        << " records that could not be stored: "
                        << self->state.store_problem << "\n";
      self->quit(msg.reason);
    });
    return {
        [self](record_atom,
               const wire::ledger_records& msg) -> caf::result<wire::ledger_receipt> {
          auto& st = self->state;
          auto records = wire::decode(msg);
          if (!records)
            return to_caf(records.error());
          ledger_receipt receipt;
          auto refuse = [&](uint32_t at, std::string why) {
            receipt.refused.push_back(std::move(why));
            receipt.refused_at.push_back(at);
          };
          std::vector<chain::transaction> txs;
          std::vector<uint32_t> place; // of txs[i] in the batch
          for (uint32_t i = 0; i < records->size(); ++i) {
            auto t = chain::decode_transaction((*records)[i]);
            if (!t || chain::is_payment(*t)) {
              refuse(i, t ? "a payment (only the contract makes those): "
                                + chain::describe_tx(*t)
                          : describe(t.error()));
              continue;
            }
            txs.push_back(std::move(*t));
            place.push_back(i);
          }
          auto good = chain::signatures_valid(txs);
          for (std::size_t i = 0; i < txs.size(); ++i) {
            if (!good[i]) {
              refuse(place[i], "a bad signature: " + chain::describe_tx(txs[i]));
              continue;
            }
            st.pending.push_back(std::move(txs[i]));
            st.pending_from.emplace_back(st.waiting.size(), place[i]);
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
        [self](ledger_atom,
               const wire::ledger_query& msg) -> caf::result<wire::ledger_answer> {
          auto q = wire::decode(msg);
          if (!q)
            return to_caf(q.error());
          if (self->state.store_problem.empty()) // else the retry's timer stores them
            flush(self);                         // answer with everything received so far
          auto a = answer(*self->state.ledger, *q);
          if (!a)
            return to_caf(a.error());
          return wire::encode(*a);
        },
    };
  };
  return sys.spawn<caf::detached>(fn);
}

} // namespace nexus
