#include "chain/governance.hpp"

#include <algorithm>
#include <fstream>
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
  w.u64(c.sequence);
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
  g.change.sequence = r.u64();
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
      << "sequence " << g.change.sequence << "\n"
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
  std::set<std::string> seen;
  std::istringstream in{std::string{text}};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto bad = [&](const std::string& what) {
      return make_error(errc::invalid_input,
                        "line " + std::to_string(number) + ": " + what);
    };
    if (std::any_of(line.begin(), line.end(), [](char c) {
          return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f || (c & 0x80) != 0;
        }))
      return bad("a byte that is not printable ASCII");
    line = line.substr(0, line.find('#'));
    std::istringstream words{line};
    std::string word;
    if (!(words >> word))
      continue;
    if (word != "approval" && !seen.insert(word).second)
      return bad(word + " a second time");
    // Unsigned numbers without a sign: ">>" would wrap "-1" around to the largest.
    auto number_of = [&](auto& x) {
      std::string digits;
      if (!(words >> digits) || digits.find_first_not_of("0123456789") != std::string::npos)
        return false;
      std::istringstream is{digits};
      return static_cast<bool>(is >> x); // fails above the field's range
    };
    std::string rest;
    if (word == "chain") {
      if (!(words >> rest) || !from_hex(rest, g.change.chain))
        return bad("chain takes the first block's hash, 64 hex digits");
    } else if (word == "sequence") {
      if (!number_of(g.change.sequence))
        return bad("sequence takes the number of changes the chain recorded before");
    } else if (word == "height") {
      if (!number_of(g.change.height))
        return bad("height takes a block height");
    } else if (word == "rules") {
      auto& r = g.change.rules;
      if (!number_of(r.version) || !number_of(r.micro_mcc_per_work_unit)
          || !number_of(r.validator_share_permille) || !number_of(r.penalty_micro_mcc)
          || !number_of(r.audit_share_permille))
        return bad("rules takes VERSION MICRO_MCC_PER_WORK_UNIT VALIDATOR_PERMILLE "
                   "PENALTY_MICRO_MCC AUDIT_PERMILLE");
      if (auto err = check(r))
        return bad(describe(err));
    } else if (word == "approval") {
      approval a;
      std::string sig;
      if (!(words >> rest >> sig) || !from_hex(rest, a.key) || !from_hex(sig, a.sig))
        return bad("approval takes a public key (64 hex digits) and a signature (128)");
      g.approvals.push_back(a);
    } else {
      return bad("expected chain, sequence, height, rules or approval, got '" + word + "'");
    }
    if (words >> rest)
      return bad("unexpected '" + rest + "'");
  }
  for (const auto* word : {"chain", "sequence", "height", "rules"})
    if (!seen.contains(word))
      return make_error(errc::invalid_input, "a rules change names its chain, sequence, "
                                             "height and rules (one line each)");
  return g;
}

expected<governance> read_governance(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::ostringstream text;
  if (!in || !(text << in.rdbuf()))
    return make_error(errc::not_found, "cannot read " + path.string());
  auto g = parse_governance(text.str());
  if (!g)
    return make_error(g.error().code(), path.string() + ": " + describe(g.error()));
  return g;
}

} // namespace nexus::chain
