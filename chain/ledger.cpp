#include "chain/ledger.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_set>

#include "chain/governance.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

error rejected(const std::string& what) {
  return make_error(errc::rejected, what);
}

// What a block's payments change, by account.
balance_deltas deltas_of(const block& b) {
  balance_deltas out;
  for (const auto& t : b.txs)
    if (is_payment(t))
      out[t.account] += balance_change(t);
  return out;
}

// Keeps at most this many states ahead (a Byzantine proposer may offer many blocks).
constexpr std::size_t max_ahead = 8;

} // namespace

digest value_id(const block& b) {
  return sha256(encode(b));
}

consensus::certificate certify_alone(const block& b, uint32_t round, const node_key& key) {
  return certify_alone(b.header.height, value_id(b), round, key);
}

consensus::certificate certify_alone(uint64_t height, const digest& value, uint32_t round,
                                     const node_key& key) {
  consensus::message m =
      consensus::vote{consensus::vote_kind::precommit, height, round, value, {}, {}};
  consensus::sign(m, key);
  const auto& v = std::get<consensus::vote>(m);
  return {height, round, *v.value, {v}};
}

expected<std::unique_ptr<ledger>> ledger::open(const std::filesystem::path& dir,
                                               const genesis& start, node_key key) {
  if (auto err = check(start.rules))
    return err;
  auto s = store::open(dir);
  if (!s)
    return s.error();
  std::unique_ptr<ledger> out{new ledger{std::move(*s), std::move(key)}};
  if (auto err = out->replay())
    return err;
  if (out->store_->head().blocks == 0) {
    // The first block: the same bytes at every ledger node, signed by nobody.
    std::vector<transaction> first{rules_record(start.rules)};
    for (const auto& m : start.members)
      first.push_back(member_record(m));
    for (auto& t : first)
      t.time_ms = start.time_ms;
    contract_state after;
    auto settled = after.settle(first, {0, public_key{}, start.time_ms});
    if (!settled.refused.empty())
      return make_error(errc::invalid_input, "the first block: record "
                                                 + std::to_string(settled.refused[0].first)
                                                 + ": " + settled.refused[0].second);
    auto b = first_block(std::move(first), start.time_ms, state_root(after.balances()));
    if (auto deltas = out->contract_.replay(b); !deltas)
      return deltas.error();
    if (auto err = out->store_->append(b, {}))
      return err;
    out->last_time_ = start.time_ms;
  }
  if (!out->contract_.members().key_holds(out->key_.public_bytes(), role::ledger))
    return rejected("this node's key (" + to_hex(out->key_.public_bytes()).substr(0, 16)
                    + "...) is not a ledger key of the chain in " + dir.string()
                    + ": its blocks would not verify");
  return out;
}

error ledger::adopt_rules(const contract_rules& rules) {
  // The change holds after any change scheduled before (so a restart never records it
  // twice), from the block after the one recording it.
  const auto& scheduled = contract_.scheduled();
  const auto& last = scheduled.empty() ? contract_.rules() : scheduled.rbegin()->second;
  if (last == rules || validators() != std::vector{key_.public_bytes()})
    return {};
  auto height = store_->head().height + 2;
  if (!scheduled.empty())
    height = std::max(height, scheduled.rbegin()->first + 1);
  governance g{{contract_.chain_id(), contract_.rules_changes(), height, rules}, {}};
  g.approvals.push_back(approve(g.change, key_));
  auto t = governance_record(g);
  t.time_ms = now_ms();
  t.sign_with(key_);
  auto made = commit({std::move(t)}, now_ms());
  if (!made)
    return made.error();
  if (!made->refused.empty())
    return make_error(errc::invalid_input, "the rules change: " + made->refused[0].second);
  return {};
}

error ledger::replay() {
  contract_ = contract_state{};
  ahead_.clear();
  last_time_ = 0;
  for (uint64_t h = 0; h < store_->head().blocks; ++h) {
    auto b = store_->get(h);
    if (!b)
      return b.error();
    if (auto deltas = contract_.replay(*b); !deltas)
      return deltas.error();
    contract_.flatten();
    last_time_ = b->header.time_ms;
  }
  return {};
}

expected<committed> ledger::propose(std::vector<transaction> inputs, uint64_t time_ms,
                                    bool empty_ok, bool from_pool) {
  if (inputs.size() > max_block_inputs)
    return make_error(errc::invalid_input,
                      std::to_string(inputs.size()) + " records for one block, above the "
                          + std::to_string(max_block_inputs) + " it may take");
  auto head = store_->head();
  auto height = head.blocks == 0 ? 0 : head.height + 1;
  if (!contract_.members().key_holds(key_.public_bytes(), role::ledger))
    return rejected("this node's key holds no ledger role on the chain");
  committed out;
  std::vector<transaction> admitted;
  std::vector<digest> admitted_ids;
  std::vector<std::size_t> position; // of admitted[i] in inputs
  std::unordered_set<digest, digest_hash> ids;
  time_ms = std::max(time_ms, last_time_); // a block's time never goes back
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto& t = inputs[i];
    if (is_proposers(t)) {
      out.refused.emplace_back(i, "a " + to_string(t.kind)
                                      + " record is the contract's or the proposer's");
      continue;
    }
    if (auto why = form_problem(t); !why.empty()) {
      out.refused.emplace_back(i, why);
      continue;
    }
    auto id = t.id();
    bool held = (!from_pool || t.kind == tx_kind::member) && holds(t, id);
    if (held || !ids.insert(id).second) {
      out.already.push_back(i); // stored once however often it is offered
      continue;
    }
    admitted.push_back(std::move(t));
    admitted_ids.push_back(id);
    position.push_back(i);
  }
  auto next = contract_; // the contract moves on only once the block is decided
  auto settled = next.settle(admitted, {height, key_.public_bytes(), time_ms});
  std::vector<transaction> kept;
  std::vector<digest> kept_ids;
  std::size_t r = 0;
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    if (r < settled.refused.size() && settled.refused[r].first == i) {
      out.refused.emplace_back(position[i], std::move(settled.refused[r].second));
      ++r;
      continue;
    }
    kept.push_back(std::move(admitted[i]));
    kept_ids.push_back(admitted_ids[i]);
  }
  std::sort(out.refused.begin(), out.refused.end());
  if (kept.empty() && !empty_ok)
    return out;
  auto payment_ids = ids_of(settled.payments);
  kept.insert(kept.end(), settled.payments.begin(), settled.payments.end());
  kept_ids.insert(kept_ids.end(), payment_ids.begin(), payment_ids.end());
  auto b = seal(height, head.blocks == 0 ? digest{} : head.hash, std::move(kept), kept_ids,
                time_ms, state_root(next.balances()), key_);
  std::vector<bool> known(b.txs.size(), from_pool);
  if (auto err = check(b, kept_ids, known)) // a bad signature refuses the whole batch
    return make_error(errc::rejected, describe(err));
  out.value = value_id(b);
  keep_ahead(out.value, {std::move(next), b, std::move(kept_ids)});
  out.stored = std::move(b);
  return out;
}

void ledger::keep_ahead(const digest& value, ahead a) {
  if (ahead_.size() >= max_ahead)
    ahead_.clear();
  ahead_.insert_or_assign(value, std::move(a));
}

bool ledger::holds(const transaction& t, const digest& id) const {
  if (t.kind == tx_kind::member) // a node joining again changes nothing
    if (auto m = member_of(t); m)
      if (auto same = contract_.members().already(*m); same && *same)
        return true;
  return store_->find(id).has_value();
}

error ledger::check_next(const block& b) {
  // By every byte, not the header's hash: records' ids leave out their signatures, so
  // one header fits blocks whose signatures differ.
  return check_next(received_block{b, value_id(b), ids_of(b.txs)});
}

error ledger::check_next(received_block r) {
  const auto& b = r.b;
  auto head = store_->head();
  auto at = "block " + std::to_string(b.header.height) + ": ";
  if (head.blocks == 0 || b.header.height != head.height + 1 || b.header.prev != head.hash)
    return rejected(at + "does not extend the head at height "
                    + std::to_string(head.height));
  if (b.header.time_ms < last_time_)
    return rejected(at + "its time goes back");
  if (ahead_.contains(r.value))
    return {};
  if (r.ids.size() != b.txs.size())
    r.ids = ids_of(b.txs);
  if (auto err = check(b, r.ids, r.known))
    return rejected(describe(err));
  std::unordered_set<digest, digest_hash> ids;
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    const auto& t = b.txs[i];
    if (is_proposers(t)) // payments may repeat: the same penalty, twice in a block
      continue;
    bool stored = (r.known.empty() || !r.known[i]) && store_->find(r.ids[i]);
    if (stored || !ids.insert(r.ids[i]).second)
      return rejected(
          at + "holds a record twice, or one already on the chain: " + describe_tx(t));
  }
  auto next = contract_;
  if (auto deltas = next.replay(b); !deltas)
    return rejected(describe(deltas.error()));
  keep_ahead(r.value, {std::move(next), std::move(r.b), std::move(r.ids)});
  return {};
}

error ledger::check_certificate(uint64_t height, const consensus::certificate& cert,
                                bool signatures_verified) const {
  auto at = "block " + std::to_string(height) + ": ";
  if (cert.height != height)
    return rejected(at + "the certificate is for another block");
  if (!consensus::certifies(cert, validators(), !signatures_verified))
    return rejected(at
                    + "the certificate does not hold precommits of more than two "
                      "thirds of the ledger nodes");
  return {};
}

error ledger::commit(const block& b, const consensus::certificate& cert) {
  if (cert.value != value_id(b))
    return rejected("block " + std::to_string(b.header.height)
                    + ": the certificate is for another block");
  if (auto err = check_certificate(b.header.height, cert))
    return err;
  if (auto err = check_next(received_block{b, cert.value, ids_of(b.txs)}))
    return err;
  auto stored = store_ahead(cert);
  return stored ? error{} : stored.error();
}

expected<stored_block> ledger::commit(std::span<const uint8_t> value,
                                      const consensus::certificate& cert,
                                      bool certificate_verified) {
  if (sha256(value) != cert.value)
    return rejected("block " + std::to_string(cert.height)
                    + ": the certificate is for another block");
  if (auto it = ahead_.find(cert.value); it != ahead_.end()) {
    if (auto err =
            check_certificate(it->second.b.header.height, cert, certificate_verified))
      return err;
    return store_ahead(cert);
  }
  auto b = decode_block(value);
  if (!b)
    return rejected(describe(b.error()));
  if (auto err = check_certificate(b->header.height, cert, certificate_verified))
    return err;
  auto ids = ids_of(b->txs);
  if (auto err = check_next(received_block{std::move(*b), cert.value, std::move(ids)}))
    return err;
  return store_ahead(cert);
}

expected<stored_block> ledger::store_ahead(const consensus::certificate& cert) {
  auto it = ahead_.find(cert.value); // made or checked by this node: no check again
  if (it == ahead_.end())
    return rejected("block " + std::to_string(cert.height) + " was not checked");
  const auto& b = it->second.b;
  if (auto err =
          store_->append(b, deltas_of(b), consensus::encode(cert), true, it->second.ids))
    return err; // the state ahead stays, for the next try
  stored_block out{b.header.height, b.header.hash(), std::move(it->second.ids)};
  last_time_ = b.header.time_ms;
  contract_ = std::move(it->second.state);
  ahead_.clear();
  contract_.flatten(); // in place: no state ahead shares its history any longer
  return out;
}

expected<committed> ledger::commit(std::vector<transaction> inputs, uint64_t time_ms) {
  if (validators() != std::vector{key_.public_bytes()})
    return rejected("this node is one of " + std::to_string(validators().size())
                    + " ledger nodes: its blocks are decided by consensus");
  if (auto err = store_->ready(inputs.size() * 512)) // a full disk: nothing moves
    return err;
  auto made = propose(std::move(inputs), time_ms);
  if (!made || !made->stored)
    return made;
  auto cert = certify_alone(made->stored->header.height, made->value, 0, key_);
  if (auto err = check_certificate(made->stored->header.height, cert, true)) // signed here
    return err;
  if (auto stored = store_ahead(cert); !stored)
    return stored.error();
  return made;
}

} // namespace nexus::chain
