#include "chain/audit.hpp"

#include <map>

#include "chain/consensus.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

expected<audit_report> audit(const store& s) {
  audit_report report;
  report.history_rewritten = s.history_rewritten();
  contract_state contract;
  auto head = s.head();
  digest prev{};
  // Every entry but the blocks that the chain makes, as append() writes them.
  std::map<std::string, std::string> made;
  auto put = [&](std::string key, std::string value) {
    made[std::move(key)] = std::move(value);
  };
  for (uint64_t h = 0; h < head.blocks; ++h) {
    auto bad = [&](const std::string& what) {
      return make_error(errc::corrupted, "height " + std::to_string(h) + ": " + what);
    };
    auto bytes = s.raw_block(h);
    if (!bytes)
      return bad(describe(bytes.error()));
    auto b = decode_block(*bytes);
    if (!b)
      return bad(describe(b.error()));
    if (b->header.height != h)
      return bad("the block says it is at height " + std::to_string(b->header.height));
    if (encode(*b) != *bytes)
      return bad("the stored bytes are not the block's canonical encoding");
    if (b->header.prev != prev)
      return bad("does not link to the block before it");
    if (auto err = check(*b))
      return bad(describe(err));
    if (h > 0) { // decided by the ledger nodes in force before it
      auto raw = s.raw_certificate(h);
      if (!raw)
        return bad(describe(raw.error()));
      auto cert = consensus::decode_certificate(*raw);
      if (!cert)
        return bad(describe(cert.error()));
      if (consensus::encode(*cert) != *raw)
        return bad("the stored certificate is not its canonical encoding");
      if (cert->height != h || cert->value != sha256(*bytes))
        return bad("the certificate is for another block");
      if (!consensus::certifies(*cert, contract.members().keys_holding(role::ledger)))
        return bad("the certificate does not hold precommits of more than two thirds of "
                   "the ledger nodes in force");
    }
    if (auto deltas = contract.replay(*b); !deltas)
      return bad(describe(deltas.error()));
    store::index_entries(*b, put);
    prev = b->header.hash();
    if (h == 0)
      report.first_block = prev;
    ++report.blocks;
    report.transactions += b->txs.size();
  }
  if (head.blocks > 0 && prev != head.hash)
    return make_error(errc::corrupted, "height " + std::to_string(head.height)
                                           + ": the recorded head hash differs");
  for (const auto& [account, balance] : contract.balances()) {
    auto [key, value] = store::balance_entry(account, balance);
    made[key] = value;
  }
  if (head.blocks > 0) {
    auto [key, value] = store::head_entry(head);
    made[key] = value;
  }
  // Every stored entry must be one the chain made, with the value it made.
  std::string problem;
  s.scan([&](std::string_view key, std::string_view value) {
    if (!key.empty() && (key[0] == 'b' || key[0] == 'c')) {
      auto height =
          key[0] == 'b' ? store::block_height_of(key) : store::certificate_height_of(key);
      if (height && *height < head.blocks && (key[0] == 'b' || *height > 0))
        return true; // checked above
      problem = store::describe_key(key) + " is stored beyond the head";
      return false;
    }
    auto it = made.find(std::string{key});
    if (it == made.end()) {
      problem = store::describe_key(key) + " is stored, but nothing on the chain made it";
      return false;
    }
    if (it->second != value) {
      problem = store::describe_key(key) + " differs from what the chain makes";
      return false;
    }
    made.erase(it);
    return true;
  });
  if (problem.empty() && !made.empty())
    problem = store::describe_key(made.begin()->first) + " is missing";
  if (!problem.empty())
    return make_error(errc::corrupted, "index: " + problem);
  __int128 sum = 0;
  for (const auto& [account, balance] : contract.balances())
    sum += balance;
  const auto& supply = contract.supply();
  if (sum != supply.paid - supply.charged - supply.penalized)
    return make_error(errc::corrupted, "supply: the balances do not add up to paid - "
                                       "charged - penalized");
  report.members = contract.members().entries().size();
  report.rules = contract.rules();
  report.scheduled = contract.scheduled();
  report.supply = supply;
  return report;
}

std::string describe_audit(const expected<audit_report>& result) {
  if (!result)
    return "ledger BAD at " + describe(result.error());
  const auto& r = *result;
  auto out = "ledger OK: " + std::to_string(r.blocks) + " blocks, "
             + std::to_string(r.transactions) + " transactions";
  if (r.blocks == 0)
    return out;
  const auto& s = r.supply;
  auto rules = "\n  rules " + describe_rules(r.rules);
  for (const auto& [height, next] : r.scheduled)
    rules += "\n  rules from height " + std::to_string(height) + " " + describe_rules(next);
  return out + ", " + std::to_string(r.members) + " members\n  first block "
         + to_hex(r.first_block) + rules + "\n  supply "
         + format_total(s.paid - s.charged - s.penalized)
         + " in balances = " + format_total(s.paid) + " paid - " + format_total(s.charged)
         + " charged - " + format_total(s.penalized) + " penalized ("
         + format_total(s.issued()) + " issued for unpaid work)"
         + (r.history_rewritten ? "\n  history entries of an earlier form made again from "
                                  "the blocks as the store opened (not checked)"
                                : "");
}

} // namespace nexus::chain
