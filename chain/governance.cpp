#include "chain/governance.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "chain/encoding.hpp"

namespace nexus::chain {

namespace {

const std::string tag = "nexuschain governance v1";

// More approvals than this are no ledger set of ours (and bound what a decoder takes).
constexpr uint32_t max_approvals = 680; // what 65,536 bytes of data hold

void put_change(writer& w, const rules_change& c) {
  w.fixed(c.chain);
  w.u64(c.height);
  w.bytes(rules_record(c.rules).data);
}

} // namespace

std::vector<uint8_t> approval_message(const rules_change& c) {
  writer w;
  w.text(tag);
  put_change(w, c);
  return std::move(w.data());
}

approval approve(const rules_change& c, const node_key& key) {
  return {key.public_bytes(), key.sign(approval_message(c))};
}

transaction governance_record(const governance& g) {
  writer w;
  put_change(w, g.change);
  w.u32(static_cast<uint32_t>(g.approvals.size()));
  for (const auto& a : g.approvals) {
    w.fixed(a.key);
    w.fixed(a.sig);
  }
  transaction t;
  t.kind = tx_kind::governance;
  t.data = std::move(w.data());
  return t;
}

expected<governance> governance_of(const transaction& t) {
  auto bad = [](const std::string& what) {
    return make_error(errc::corrupted, "not a governance record: " + what);
  };
  if (t.kind != tx_kind::governance)
    return bad("a " + to_string(t.kind));
  reader r{t.data};
  governance g;
  r.fixed(g.change.chain);
  g.change.height = r.u64();
  transaction rules;
  rules.kind = tx_kind::rules;
  rules.data = r.bytes(64);
  auto n = r.u32();
  if (!r.ok() || n > max_approvals)
    return bad("its change or its number of approvals");
  auto parsed = rules_of(rules);
  if (!parsed)
    return bad("its rules");
  g.change.rules = *parsed;
  g.approvals.resize(n);
  for (auto& a : g.approvals) {
    r.fixed(a.key);
    r.fixed(a.sig);
  }
  if (!r.ok() || !r.at_end())
    return bad("its approvals");
  return g;
}

std::string approval_problem(const governance& g, std::span<const public_key> ledger_keys) {
  auto message = approval_message(g.change);
  std::set<public_key> seen;
  for (const auto& a : g.approvals) {
    auto who = to_hex(a.key).substr(0, 16) + "...";
    if (std::find(ledger_keys.begin(), ledger_keys.end(), a.key) == ledger_keys.end())
      return "an approval by " + who + ", which is no ledger node";
    if (!seen.insert(a.key).second)
      return "two approvals by " + who;
    if (!verify(a.key, message, a.sig))
      return "the approval by " + who + " does not verify";
  }
  if (3 * seen.size() <= 2 * ledger_keys.size())
    return "approved by " + std::to_string(seen.size()) + " of "
           + std::to_string(ledger_keys.size())
           + " ledger nodes; a change needs more than two thirds";
  return {};
}

std::string to_text(const governance& g) {
  const auto& r = g.change.rules;
  std::ostringstream out;
  out << "chain " << to_hex(g.change.chain) << "\n"
      << "height " << g.change.height << "\n"
      << "rules " << r.version << " " << r.micro_mcc_per_work_unit << " "
      << r.validator_share_permille << " " << r.penalty_micro_mcc << " "
      << r.audit_share_permille << "\n";
  for (const auto& a : g.approvals)
    out << "approval " << to_hex(a.key) << " " << to_hex(a.sig) << "\n";
  return out.str();
}

expected<governance> parse_governance(std::string_view text) {
  governance g;
  bool chain = false;
  bool height = false;
  bool rules = false;
  std::istringstream in{std::string{text}};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto bad = [&](const std::string& what) {
      return make_error(errc::invalid_input, "line " + std::to_string(number) + ": " + what);
    };
    std::istringstream words{line};
    std::string word;
    if (!(words >> word) || word.front() == '#')
      continue;
    std::string rest;
    if (word == "chain") {
      if (!(words >> rest) || !from_hex(rest, g.change.chain))
        return bad("chain takes the first block's hash, 64 hex digits");
      chain = true;
    } else if (word == "height") {
      if (!(words >> g.change.height))
        return bad("height takes a block height");
      height = true;
    } else if (word == "rules") {
      auto& r = g.change.rules;
      if (!(words >> r.version >> r.micro_mcc_per_work_unit >> r.validator_share_permille
            >> r.penalty_micro_mcc >> r.audit_share_permille))
        return bad("rules takes VERSION MICRO_MCC_PER_WORK_UNIT VALIDATOR_PERMILLE "
                   "PENALTY_MICRO_MCC AUDIT_PERMILLE");
      if (auto err = check(r))
        return bad(describe(err));
      rules = true;
    } else if (word == "approval") {
      approval a;
      std::string sig;
      if (!(words >> rest >> sig) || !from_hex(rest, a.key) || !from_hex(sig, a.sig))
        return bad("approval takes a public key (64 hex digits) and a signature (128)");
      g.approvals.push_back(a);
    } else {
      return bad("expected chain, height, rules or approval, got '" + word + "'");
    }
    if (words >> rest)
      return bad("unexpected '" + rest + "'");
  }
  if (!chain || !height || !rules)
    return make_error(errc::invalid_input,
                      "a rules change names its chain, height and rules (one line each)");
  return g;
}

} // namespace nexus::chain
