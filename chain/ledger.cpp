#include "chain/ledger.hpp"

#include <algorithm>
#include <chrono>
#include <set>

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
  consensus::message m = consensus::vote{
      consensus::vote_kind::precommit, b.header.height, round, value_id(b), {}, {}};
  consensus::sign(m, key);
  const auto& v = std::get<consensus::vote>(m);
  return {b.header.height, round, *v.value, {v}};
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
    last_time_ = b->header.time_ms;
  }
  return {};
}

expected<committed> ledger::propose(std::vector<transaction> inputs, uint64_t time_ms,
                                    bool empty_ok) {
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
  std::vector<std::size_t> position; // of admitted[i] in inputs
  std::set<digest> ids;
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
    if (auto id = t.id(); holds(t, id) || !ids.insert(id).second) {
      out.already.push_back(i); // stored once however often it is offered
      continue;
    }
    admitted.push_back(std::move(t));
    position.push_back(i);
  }
  auto next = contract_; // the contract moves on only once the block is decided
  auto settled = next.settle(admitted, {height, key_.public_bytes(), time_ms});
  std::vector<transaction> kept;
  std::size_t r = 0;
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    if (r < settled.refused.size() && settled.refused[r].first == i) {
      out.refused.emplace_back(position[i], std::move(settled.refused[r].second));
      ++r;
      continue;
    }
    kept.push_back(std::move(admitted[i]));
  }
  std::sort(out.refused.begin(), out.refused.end());
  if (kept.empty() && !empty_ok)
    return out;
  kept.insert(kept.end(), settled.payments.begin(), settled.payments.end());
  auto b = seal(height, head.blocks == 0 ? digest{} : head.hash, std::move(kept), time_ms,
                state_root(next.balances()), key_);
  if (auto err = check(b)) // every signature: a bad one refuses the whole batch
    return make_error(errc::rejected, describe(err));
  if (ahead_.size() >= max_ahead)
    ahead_.clear();
  ahead_.insert_or_assign(value_id(b), std::move(next));
  out.stored = std::move(b);
  return out;
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
  return check_next(b, value_id(b));
}

error ledger::check_next(const block& b, const digest& id) {
  auto head = store_->head();
  auto at = "block " + std::to_string(b.header.height) + ": ";
  if (head.blocks == 0 || b.header.height != head.height + 1 || b.header.prev != head.hash)
    return rejected(at + "does not extend the head at height "
                    + std::to_string(head.height));
  if (b.header.time_ms < last_time_)
    return rejected(at + "its time goes back");
  if (ahead_.contains(id))
    return {};
  if (auto err = check(b))
    return rejected(describe(err));
  std::set<digest> ids;
  for (const auto& t : b.txs) {
    if (is_proposers(t)) // payments may repeat: the same penalty, twice in a block
      continue;
    auto tx_id = t.id();
    if (store_->find(tx_id) || !ids.insert(tx_id).second)
      return rejected(
          at + "holds a record twice, or one already on the chain: " + describe_tx(t));
  }
  auto next = contract_;
  if (auto deltas = next.replay(b); !deltas)
    return rejected(describe(deltas.error()));
  if (ahead_.size() >= max_ahead)
    ahead_.clear();
  ahead_.insert_or_assign(id, std::move(next));
  return {};
}

error ledger::commit(const block& b, const consensus::certificate& cert) {
  auto at = "block " + std::to_string(b.header.height) + ": ";
  if (cert.height != b.header.height || cert.value != value_id(b))
    return rejected(at + "the certificate is for another block");
  if (!consensus::certifies(cert, validators()))
    return rejected(at
                    + "the certificate does not hold precommits of more than two "
                      "thirds of the ledger nodes");
  if (auto err = check_next(b, cert.value)) // cert.value is value_id(b), checked above
    return err;
  auto it = ahead_.find(cert.value); // made or checked by this node: no check again
  if (auto err = store_->append(b, deltas_of(b), consensus::encode(cert), true))
    return err; // the state ahead stays, for the next try
  contract_ = std::move(it->second);
  ahead_.clear();
  last_time_ = b.header.time_ms;
  return {};
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
  if (auto err = commit(*made->stored, certify_alone(*made->stored, 0, key_)))
    return err;
  return made;
}

} // namespace nexus::chain
