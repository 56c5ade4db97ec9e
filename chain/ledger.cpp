#include "chain/ledger.hpp"

#include "compute/errc.hpp"

namespace nexus::chain {

expected<std::unique_ptr<ledger>> ledger::open(const std::filesystem::path& dir,
                                               contract_rules rules, node_key proposer) {
  auto s = store::open(dir);
  if (!s)
    return s.error();
  std::unique_ptr<ledger> out{new ledger{std::move(*s), rules, std::move(proposer)}};
  if (auto err = out->replay())
    return err;
  return out;
}

error ledger::replay() {
  contract_ = contract_state{contract_.rules()};
  for (uint64_t h = 0; h < store_->head().blocks; ++h) {
    auto b = store_->get(h);
    if (!b)
      return b.error();
    if (auto deltas = contract_.replay(*b); !deltas)
      return deltas.error();
  }
  return {};
}

expected<block> ledger::commit(std::vector<transaction> inputs, uint64_t time_ms) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (is_payment(inputs[i]))
      return make_error(errc::rejected,
                        "input " + std::to_string(i)
                            + " is a payment; only the contract makes those");
  // A full disk is found before the contract moves (no replay for every retry).
  if (auto err = store_->ready(inputs.size() * 512))
    return err;
  if (stale_) { // a failed write left the contract ahead of the store
    if (auto err = replay())
      return err;
    stale_ = false;
  }
  // The contract moves on first; if storing fails, it is rebuilt from the store (rare,
  // and O(chain), where copying the contract for every block would be O(chain) always).
  auto payments = contract_.settle(inputs);
  balance_deltas deltas;
  for (auto& p : payments) {
    p.time_ms = time_ms;
    p.signer = key_.public_bytes(); // signed through the header: see chain::check
    deltas[p.account] += balance_change(p);
  }
  inputs.insert(inputs.end(), payments.begin(), payments.end());
  auto head = store_->head();
  auto height = head.blocks == 0 ? 0 : head.height + 1;
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
  return b;
}

} // namespace nexus::chain
