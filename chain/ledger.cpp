#include "chain/ledger.hpp"

#include <algorithm>
#include <chrono>

#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

} // namespace

expected<std::unique_ptr<ledger>> ledger::open(const std::filesystem::path& dir,
                                               const genesis& start, node_key proposer) {
  if (auto err = check(start.rules))
    return err;
  auto s = store::open(dir);
  if (!s)
    return s.error();
  std::unique_ptr<ledger> out{new ledger{std::move(*s), std::move(proposer)}};
  if (auto err = out->replay())
    return err;
  if (out->store_->head().blocks == 0) {
    std::vector<transaction> first{rules_record(start.rules)};
    first.push_back(member_record({start.name, out->key_.public_bytes(), start.roles}));
    for (const auto& m : start.members)
      if (m.name != start.name)
        first.push_back(member_record(m));
    auto made = out->seal_next(std::move(first), now_ms());
    if (!made)
      return made.error();
    if (!made->refused.empty())
      return make_error(errc::invalid_input, "the first block: record "
                                                 + std::to_string(made->refused[0].first)
                                                 + ": " + made->refused[0].second);
    return out;
  }
  if (!out->contract_.members().key_holds(out->key_.public_bytes(), role::ledger))
    return make_error(errc::rejected, "this node's key ("
                                          + to_hex(out->key_.public_bytes()).substr(0, 16)
                                          + "...) is not a ledger key of the chain in "
                                          + dir.string() + ": its blocks would not verify");
  if (out->contract_.rules() != start.rules) {
    auto made = out->seal_next({rules_record(start.rules)}, now_ms());
    if (!made)
      return made.error();
  }
  return out;
}

error ledger::replay() {
  contract_ = contract_state{};
  for (uint64_t h = 0; h < store_->head().blocks; ++h) {
    auto b = store_->get(h);
    if (!b)
      return b.error();
    if (auto deltas = contract_.replay(*b); !deltas)
      return deltas.error();
  }
  return {};
}

expected<committed> ledger::commit(std::vector<transaction> inputs, uint64_t time_ms) {
  committed out;
  std::vector<transaction> admitted;
  std::vector<std::size_t> position; // of admitted[i] in inputs
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (is_proposers(inputs[i])) {
      out.refused.emplace_back(i, "a " + to_string(inputs[i].kind)
                                      + " record is the contract's or the proposer's");
      continue;
    }
    if (auto why = form_problem(inputs[i]); !why.empty()) {
      out.refused.emplace_back(i, why);
      continue;
    }
    if (inputs[i].kind == tx_kind::member) // a node joining again changes nothing
      if (auto m = member_of(inputs[i]); m)
        if (auto same = contract_.members().already(*m); same && *same)
          continue;
    admitted.push_back(std::move(inputs[i]));
    position.push_back(i);
  }
  auto made = seal_next(std::move(admitted), time_ms);
  if (!made)
    return made.error();
  for (auto& [i, why] : made->refused)
    out.refused.emplace_back(position[i], std::move(why));
  std::sort(out.refused.begin(), out.refused.end());
  out.stored = std::move(made->stored);
  return out;
}

expected<committed> ledger::seal_next(std::vector<transaction> inputs, uint64_t time_ms) {
  if (inputs.size() > max_block_inputs)
    return make_error(errc::invalid_input,
                      std::to_string(inputs.size()) + " records for one block, above the "
                          + std::to_string(max_block_inputs) + " it may take");
  // A full disk is found before the contract moves (no replay for every retry).
  if (auto err = store_->ready(inputs.size() * 512))
    return err;
  if (stale_) { // a failed write left the contract ahead of the store
    if (auto err = replay())
      return err;
    stale_ = false;
  }
  auto head = store_->head();
  auto height = head.blocks == 0 ? 0 : head.height + 1;
  if (height > 0 && !contract_.members().key_holds(key_.public_bytes(), role::ledger))
    return make_error(errc::rejected, "this node's key holds no ledger role on the chain");
  for (auto& t : inputs) // the proposer's own records (commit() let none else through)
    if (is_proposers(t)) {
      t.signer = key_.public_bytes();
      t.time_ms = time_ms;
    }
  // The contract moves on first; if storing fails, it is rebuilt from the store (rare,
  // and O(chain), where copying the contract for every block would be O(chain) always).
  auto settled = contract_.settle(inputs, {height, key_.public_bytes(), time_ms});
  committed out;
  out.refused = std::move(settled.refused);
  if (!out.refused.empty()) {
    std::vector<transaction> kept;
    std::size_t next = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (next < out.refused.size() && out.refused[next].first == i) {
        ++next;
        continue;
      }
      kept.push_back(std::move(inputs[i]));
    }
    inputs = std::move(kept);
  }
  if (inputs.empty())
    return out; // nothing admitted: the contract did not move
  balance_deltas deltas;
  for (const auto& p : settled.payments)
    deltas[p.account] += balance_change(p);
  inputs.insert(inputs.end(), settled.payments.begin(), settled.payments.end());
  auto b = seal(height, head.blocks == 0 ? digest{} : head.hash, std::move(inputs), time_ms,
                key_);
  if (auto err = store_->append(b, deltas)) {
    if (is(err, errc::failed) && store_->ready(0)) {
      stale_ = true; // the store is closed until the disk has room: replay then
      return err;
    }
    if (auto replay_err = replay())
      return make_error(errc::corrupted,
                        describe(err)
                            + "; then replaying the store failed: " + describe(replay_err));
    return err;
  }
  out.stored = std::move(b);
  return out;
}

} // namespace nexus::chain
