#include "chain/contract.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "chain/consensus.hpp"
#include "chain/encoding.hpp"
#include "chain/governance.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

std::string task_name(uint64_t task_id) {
  return task_id >= internal_task_base
             ? "internal task " + std::to_string(task_id - internal_task_base)
             : "task " + std::to_string(task_id);
}

std::string format_mcc(int64_t micro) {
  char buf[64];
  auto magnitude = micro < 0 ? -static_cast<uint64_t>(micro) : static_cast<uint64_t>(micro);
  std::snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%06" PRIu64 " MCC", micro < 0 ? "-" : "",
                magnitude / 1'000'000, magnitude % 1'000'000);
  return buf;
}

std::string format_total(mcc_total micro) {
  bool negative = micro < 0;
  auto magnitude = static_cast<unsigned __int128>(negative ? -micro : micro);
  auto whole = magnitude / 1'000'000;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole != 0);
  char frac[8];
  std::snprintf(frac, sizeof(frac), "%06d", static_cast<int>(magnitude % 1'000'000));
  return (negative ? "-" : "") + digits + "." + frac + " MCC";
}

expected<int64_t> parse_mcc(const std::string& text) {
  auto bad = [&] {
    return make_error(errc::invalid_input, "expected an amount of MCC such as 2 or 0.25 "
                                           "(at most six decimals), got '"
                                               + text + "'");
  };
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto frac = dot == std::string::npos ? std::string{} : text.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 12 || frac.size() > 6 || !digits(whole)
      || !digits(frac) || (dot != std::string::npos && frac.empty()))
    return bad();
  frac.resize(6, '0');
  return std::stoll(whole) * 1'000'000 + std::stoll(frac);
}

error check(const contract_rules& r) {
  auto bad = [](const std::string& what) {
    return make_error(errc::invalid_input, "contract rules: " + what);
  };
  if (r.micro_mcc_per_work_unit <= 0 || r.micro_mcc_per_work_unit > max_rate)
    return bad("micro_mcc_per_work_unit must be 1 to " + std::to_string(max_rate));
  if (r.validator_share_permille > 1000 || r.audit_share_permille > 1000)
    return bad("shares are 0 to 1000 permille");
  if (r.penalty_micro_mcc < 0 || r.penalty_micro_mcc > 1'000'000'000'000'000)
    return bad("penalty_micro_mcc must be 0 to 10^15");
  return {};
}

std::string describe_rules(const contract_rules& r) {
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "v%u: %s per work unit, validators %.1f%%, audits %.1f%%, "
                "penalty %s",
                r.version, format_mcc(r.micro_mcc_per_work_unit).c_str(),
                r.validator_share_permille / 10.0, r.audit_share_permille / 10.0,
                format_mcc(r.penalty_micro_mcc).c_str());
  return buf;
}

transaction rules_record(const contract_rules& r) {
  writer w;
  w.u32(r.version);
  w.i64(r.micro_mcc_per_work_unit);
  w.u32(r.validator_share_permille);
  w.i64(r.penalty_micro_mcc);
  w.u32(r.audit_share_permille);
  transaction t;
  t.kind = tx_kind::rules;
  t.data = std::move(w.data());
  return t;
}

expected<contract_rules> rules_of(const transaction& t) {
  reader r{t.data};
  contract_rules out;
  out.version = r.u32();
  out.micro_mcc_per_work_unit = r.i64();
  out.validator_share_permille = r.u32();
  out.penalty_micro_mcc = r.i64();
  out.audit_share_permille = r.u32();
  if (t.kind != tx_kind::rules || !r.ok() || !r.at_end())
    return make_error(errc::corrupted, "not a rules record");
  return out;
}

transaction member_record(const member_entry& m) {
  writer w;
  w.fixed(m.key);
  w.u32(m.roles);
  transaction t;
  t.kind = tx_kind::member;
  t.account = m.name;
  t.data = std::move(w.data());
  return t;
}

expected<member_entry> member_of(const transaction& t) {
  reader r{t.data};
  member_entry m;
  m.name = t.account;
  r.fixed(m.key);
  m.roles = r.u32();
  if (t.kind != tx_kind::member || !r.ok() || !r.at_end())
    return make_error(errc::corrupted, "not a member record");
  return m;
}

std::vector<uint8_t> u64_data(uint64_t x) {
  writer w;
  w.u64(x);
  return std::move(w.data());
}

namespace {

expected<uint64_t> u64_of(const transaction& t, tx_kind kind, const char* what) {
  reader r{t.data};
  auto x = r.u64();
  if (t.kind != kind || !r.ok() || !r.at_end())
    return make_error(errc::corrupted, std::string{"a "} + to_string(kind) + "'s data is "
                                           + what + " (8 bytes)");
  return x;
}

} // namespace

expected<uint64_t> nonce_of(const transaction& t) {
  auto terms = terms_of(t);
  if (!terms)
    return terms.error();
  return terms->nonce;
}

std::vector<uint8_t> terms_data(const submission_terms& terms) {
  writer w;
  w.u64(terms.nonce);
  if (terms.rows != 0 || !terms.hubs.empty()) {
    w.u64(terms.rows);
    w.u64(terms.flops_per_row);
  }
  for (const auto& hub : terms.hubs)
    w.fixed(hub);
  return std::move(w.data());
}

expected<submission_terms> terms_of(const transaction& t) {
  reader r{t.data};
  submission_terms terms;
  terms.nonce = r.u64();
  auto size = t.data.size();
  auto hubs = size > 24 ? (size - 24) / 32 : 0;
  bool shaped = size == 8 || size == 24
                || (size > 24 && (size - 24) % 32 == 0 && hubs <= max_submission_hubs);
  if (size >= 24) {
    terms.rows = r.u64();
    terms.flops_per_row = r.u64();
  }
  for (std::size_t i = 0; shaped && i < hubs; ++i)
    r.fixed(terms.hubs.emplace_back());
  bool work_ok = size == 24 ? terms.rows != 0 && terms.flops_per_row != 0
                            : (terms.rows == 0) == (terms.flops_per_row == 0);
  if (t.kind != tx_kind::submission || !shaped || !r.ok() || !r.at_end() || !work_ok)
    return make_error(
        errc::corrupted,
        "a submission's data is its nonce (8 bytes); its nonce, rows and FLOP "
        "per row, neither 0 (24 bytes); or those and the keys of up to "
            + std::to_string(max_submission_hubs)
            + " hubs, rows and FLOP per row both 0 (a training run) or neither");
  return terms;
}

std::vector<uint8_t> rows_data(uint64_t begin, uint64_t end) {
  writer w;
  w.u64(begin);
  w.u64(end);
  return std::move(w.data());
}

std::vector<uint8_t> rows_data(uint64_t begin, uint64_t end, const digest& request) {
  auto out = rows_data(begin, end);
  out.insert(out.end(), request.begin(), request.end());
  return out;
}

expected<std::pair<uint64_t, uint64_t>> rows_of(const transaction& t) {
  reader r{t.data};
  auto begin = r.u64();
  auto end = r.u64();
  if (t.data.size() == 48) {
    digest request;
    r.fixed(request);
  }
  if (t.kind != tx_kind::contribution || !r.ok() || !r.at_end() || begin >= end)
    return make_error(errc::corrupted, "a contribution's data is the rows it computed, "
                                       "BEGIN < END (16 bytes), and the request digest of "
                                       "their submission (32 bytes more) or not");
  return std::pair{begin, end};
}

std::optional<digest> request_of_rows(const transaction& t) {
  if (t.kind != tx_kind::contribution || t.data.size() != 48)
    return std::nullopt;
  digest out;
  std::copy(t.data.begin() + 16, t.data.end(), out.begin());
  return out;
}

uint64_t work_units(uint64_t begin, uint64_t end, uint64_t flops_per_row) {
  auto up_to = [&](uint64_t row) {
    return (static_cast<unsigned __int128>(row) * flops_per_row + 999'999) / 1'000'000;
  };
  if (end <= begin)
    return 0;
  auto units = up_to(end) - up_to(begin);
  return units > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(units);
}

expected<uint64_t> task_of(const transaction& t) {
  return u64_of(t, tx_kind::step, "the task whose step it is");
}

namespace {

transaction payment(tx_kind kind, const transaction& cause, std::string account,
                    int64_t amount) {
  transaction t;
  t.kind = kind;
  t.task_id = cause.task_id;
  t.shard_id = cause.shard_id;
  t.attempt = cause.attempt;
  t.worker = cause.worker;
  t.validator = cause.validator;
  t.account = std::move(account);
  t.amount = amount;
  return t;
}

// x * permille / 1000 without overflow (x >= 0, permille <= 1000).
int64_t share_of(int64_t x, uint32_t permille) {
  return static_cast<int64_t>(static_cast<__int128>(x) * permille / 1000);
}

bool add_checked(int64_t& into, int64_t x) {
  return !__builtin_add_overflow(into, x, &into);
}

} // namespace

namespace {

// Why `t` carries a field its kind does not use (so that no record holds bytes nobody
// reads), or nothing.
std::string unused_field(const transaction& t) {
  bool names = !t.worker.empty() || !t.validator.empty();
  bool judged = t.result != digest{} || t.valid;
  bool money = !t.account.empty() || t.amount != 0;
  bool place = t.shard_id != 0 || t.attempt != 0;
  bool bad = false;
  switch (t.kind) {
  case tx_kind::rules:
    bad = t.task_id != 0 || place || names || judged || money || t.work_units != 0;
    break;
  case tx_kind::member:
    bad = t.task_id != 0 || place || names || judged || t.amount != 0 || t.work_units != 0;
    break;
  case tx_kind::step:
    bad = place || names || judged || money || t.work_units != 0;
    break;
  case tx_kind::submission:
    bad = place || names || t.valid || t.work_units != 0;
    break;
  case tx_kind::contribution:
    bad = !t.validator.empty() || t.valid || money;
    break;
  case tx_kind::verdict:
  case tx_kind::acceptance:
  case tx_kind::audit:
    bad = money || t.work_units != 0 || !t.data.empty();
    break;
  case tx_kind::evidence:
    bad = t.task_id != 0 || place || names || judged || t.amount != 0 || t.work_units != 0;
    break;
  case tx_kind::governance:
    bad = t.task_id != 0 || place || names || judged || money || t.work_units != 0;
    break;
  default:
    break;
  }
  return bad ? "a field a " + to_string(t.kind) + " does not use is set" : std::string{};
}

} // namespace

std::string contract_state::refusal(const transaction& t, const block_context& at) const {
  if (!is_payment(t))
    if (auto why = unused_field(t); !why.empty())
      return why;
  auto by_orchestrator = [&]() -> std::string {
    return members_.key_holds(t.signer, role::orchestrator)
               ? std::string{}
               : "signed by " + to_hex(t.signer).substr(0, 16)
                     + "..., which holds no orchestrator role";
  };
  // A hub records a task's work only if its submitter named it (or named none).
  auto by_its_hub = [&](const funding* f, uint64_t task) -> std::string {
    if (auto why = by_orchestrator(); !why.empty())
      return why;
    if (!f || f->hubs.empty()
        || std::find(f->hubs.begin(), f->hubs.end(), t.signer) != f->hubs.end())
      return {};
    return "signed by hub " + to_hex(t.signer).substr(0, 16)
           + "..., which the submitter of " + task_name(task) + " did not name";
  };
  switch (t.kind) {
  case tx_kind::reward:
  case tx_kind::penalty:
  case tx_kind::charge:
    return "a payment; only the contract makes those";
  case tx_kind::rules: {
    if (at.height != 0)
      return "a rules record after the first block; rules change by governance records";
    if (!is_proposers(t) || t.signer != at.proposer)
      return "rules are the proposer's to record";
    auto rules = rules_of(t);
    if (!rules)
      return describe(rules.error());
    if (auto err = check(*rules))
      return describe(err);
    return {};
  }
  case tx_kind::member: {
    if (is_proposers(t)) {
      if (at.height != 0 || t.signer != at.proposer)
        return "an unsigned member outside the first block";
    } else if (auto why = by_orchestrator(); !why.empty()) {
      return why;
    }
    auto m = member_of(t);
    if (!m)
      return describe(m.error());
    // After the first block, an orchestrator binds workers and validators only: who
    // orchestrates, proposes and certifies blocks is the first block's to say.
    if (!is_proposers(t) && (m->roles & ~(bit(role::worker) | bit(role::validator))) != 0)
      return "an orchestrator binds the worker and validator roles only, not "
             + describe_roles(m->roles);
    if (auto same = members_.already(*m); !same)
      return describe(same.error());
    return {};
  }
  default:
    break;
  }
  if (!started_)
    return "the first block holds only rules and members";
  switch (t.kind) {
  case tx_kind::submission: {
    if (reserved_name(t.account) || t.account.empty())
      return "a submission in the reserved name '" + t.account + "'";
    auto bound = members_.find(t.account);
    if (bound && bound->key != t.signer)
      return "signed by " + to_hex(t.signer).substr(0, 16) + "..., not by the key "
             + t.account + " is bound to";
    if (!bound)
      if (auto fresh = members_.already({t.account, t.signer, bit(role::submitter)});
          !fresh)
        return describe(fresh.error());
    auto nonce = nonce_of(t);
    if (!nonce)
      return describe(nonce.error());
    if (nonces_.contains({t.account, *nonce}))
      return "a replayed submission (its nonce was used)";
    if (t.task_id == 0 || t.task_id >= internal_task_base)
      return "a submission of " + task_name(t.task_id)
             + "; the network numbers submitted tasks from 1 up to its own";
    if (submissions_.contains(t.task_id))
      return task_name(t.task_id) + " was submitted before";
    if (t.amount < 0)
      return "a negative budget";
    return {};
  }
  case tx_kind::step: {
    if (auto why = by_orchestrator(); !why.empty())
      return why;
    auto parent = task_of(t);
    if (!parent)
      return describe(parent.error());
    if (t.task_id < internal_task_base)
      return "a step of a run must be one of the network's own tasks";
    const auto* run = submissions_.find(*parent);
    if (!run)
      return task_name(*parent) + ", whose step it would be, has no submission";
    if (auto why = by_its_hub(run, *parent); !why.empty())
      return why;
    // Only a run's submission binds no work: a task whose submission binds it has no
    // steps, whose rows would be paid again under the steps' ids.
    if (run->rows != 0)
      return task_name(*parent) + "'s submission binds its work: it has no steps";
    if (steps_.contains(t.task_id) || submissions_.contains(t.task_id))
      return task_name(t.task_id) + " is paid for already";
    return {};
  }
  case tx_kind::contribution: {
    if (auto why = by_orchestrator(); !why.empty())
      return why;
    const auto* f = funds(t.task_id);
    if (!f)
      return task_name(t.task_id) + " has no submission on the chain to pay for it";
    if (auto why = by_its_hub(f, t.task_id); !why.empty())
      return why;
    const auto* worker = members_.find(t.worker);
    if (!worker || (worker->roles & bit(role::worker)) == 0)
      return "worker " + t.worker + " is no member with the worker role";
    if (worker->key == t.signer)
      return "worker " + t.worker
             + " is the node of the orchestrator that signed it: a hub is never paid "
               "for work it assigned itself";
    if (t.work_units > max_work_units)
      return std::to_string(t.work_units) + " work units, above the "
             + std::to_string(max_work_units) + " one contribution may claim";
    auto rows = rows_of(t);
    if (f->rows == 0) // the submission binds no work: the budget alone caps it
      return t.data.empty() || rows ? std::string{} : describe(rows.error());
    if (!rows)
      return "no rows stated for " + task_name(t.task_id)
             + ", whose submission binds its work: " + describe(rows.error());
    if (!f->hubs.empty() && request_of_rows(t) != f->request)
      return "the contribution to " + task_name(t.task_id)
             + " does not name the request of its submission (a submission that names its "
               "hubs pays only for rows of its own request)";
    auto [begin, end] = *rows;
    if (end > f->rows)
      return "rows " + std::to_string(begin) + ".." + std::to_string(end) + " of "
             + task_name(t.task_id) + ", whose submission has " + std::to_string(f->rows);
    if (auto due = work_units(begin, end, f->flops_per_row); t.work_units != due)
      return std::to_string(t.work_units) + " work units for rows " + std::to_string(begin)
             + ".." + std::to_string(end) + " of " + task_name(t.task_id)
             + ", whose submission's plan gives " + std::to_string(due);
    return {};
  }
  case tx_kind::verdict: {
    if (auto why = judges_nothing(t); !why.empty())
      return why;
    if (reserved_name(t.validator))
      return by_its_hub(funds(t.task_id), t.task_id);
    if (!members_.holds(t.validator, t.signer, role::validator))
      return "not signed by the key validator " + t.validator + " is bound to";
    auto worker = members_.find(t.worker);
    if (t.validator == t.worker || (worker && worker->key == t.signer))
      return "validator " + t.validator + " judged its own node's work";
    if (auto* f = funds(t.task_id))
      if (auto* submitter = members_.find(f->submitter);
          submitter && submitter->key == t.signer)
        return "validator " + t.validator + " judged work on its own submission";
    return {};
  }
  case tx_kind::acceptance:
    if (auto why = judges_nothing(t); !why.empty())
      return why;
    return by_its_hub(funds(t.task_id), t.task_id);
  case tx_kind::audit:
    if (auto why = by_its_hub(funds(t.task_id), t.task_id); !why.empty())
      return why;
    if (!members_.find(t.validator))
      return "validator " + t.validator + " is no member";
    return {};
  case tx_kind::evidence: {
    if (!members_.key_holds(t.signer, role::ledger))
      return "evidence signed by " + to_hex(t.signer).substr(0, 16)
             + "..., which holds no ledger role";
    auto e = consensus::decode_evidence(t.data);
    if (!e)
      return describe(e.error());
    if (auto why = consensus::evidence_problem(*e); !why.empty())
      return "evidence that proves nothing: " + why;
    if (!members_.holds(t.account, e->first.signer, role::ledger))
      return "the votes are not signed by the key of ledger node " + t.account;
    if (evidenced_.contains({e->first.signer, static_cast<uint8_t>(e->first.kind),
                             e->first.height, e->first.round}))
      return "double signing at that height and round is penalized already";
    return {};
  }
  case tx_kind::governance: {
    auto g = governance_of(t);
    if (!g)
      return describe(g.error());
    const auto& c = g->change;
    if (c.chain != chain_)
      return "a rules change for another chain (" + to_hex(c.chain).substr(0, 16) + "...)";
    if (c.sequence != rules_changes_)
      return "rules change number " + std::to_string(c.sequence)
             + ", but the chain's next is " + std::to_string(rules_changes_)
             + " (approvals of a change the chain moved past, or of one to come)";
    if (c.height <= at.height)
      return "a rules change from height " + std::to_string(c.height)
             + ", which is not ahead of this block (" + std::to_string(at.height) + ")";
    if (scheduled_.contains(c.height))
      return "a rules change from height " + std::to_string(c.height)
             + " is scheduled already";
    if (auto err = check(c.rules))
      return describe(err);
    return approval_problem(*g, members_.keys_holding(role::ledger));
  }
  default:
    return "an unknown kind";
  }
}

std::string contract_state::judges_nothing(const transaction& t) const {
  attempt_key key{t.task_id, t.shard_id, t.attempt};
  if (contributions_.contains(key) || judged_.contains(key))
    return {};
  return "no contribution of " + task_name(t.task_id) + " shard "
         + std::to_string(t.shard_id) + " attempt " + std::to_string(t.attempt)
         + " is on the chain before it (a verdict follows the work it judges)";
}

const contract_state::funding* contract_state::funds(uint64_t task) const {
  if (const auto* parent = steps_.find(task))
    task = *parent;
  return submissions_.find(task);
}

contract_state::funding* contract_state::funds(uint64_t task) {
  if (const auto* parent = steps_.find(task))
    task = *parent;
  return submissions_.find_mutable(task);
}

void contract_state::flatten() {
  nonces_.flatten();
  submissions_.flatten();
  steps_.flatten();
  paid_.flatten();
  paid_rows_.flatten();
  judged_.flatten();
  audited_.flatten();
  evidenced_.flatten();
}

bool contract_state::affordable(const funding* f, int64_t amount) {
  if (!f || f->budget == 0)
    return true;
  int64_t after = f->spent;
  return add_checked(after, amount) && after <= f->budget;
}

// Applies `payments` to the balances and the supply, or nothing if a sum would overflow.
bool contract_state::pay(const std::vector<transaction>& payments) {
  std::map<std::string, int64_t> after; // the balances the payments touch
  auto supply = supply_;
  for (const auto& p : payments) {
    auto& tally = p.kind == tx_kind::reward   ? supply.paid
                  : p.kind == tx_kind::charge ? supply.charged
                                              : supply.penalized;
    auto [it, fresh] = after.try_emplace(p.account, 0);
    if (fresh)
      if (auto b = balances_.find(p.account); b != balances_.end())
        it->second = b->second;
    tally += p.amount;
    if (!add_checked(it->second, balance_change(p)))
      return false;
  }
  for (auto& [account, balance] : after)
    balances_[account] = balance;
  supply_ = supply;
  return true;
}

bool contract_state::apply(const transaction& t, std::vector<transaction>& out) {
  std::vector<transaction> earned;
  attempt_key key{t.task_id, t.shard_id, t.attempt};
  switch (t.kind) {
  case tx_kind::rules:
    rules_ = rules_of(t).value();
    return true;
  case tx_kind::member:
    return !members_.bind(member_of(t).value());
  case tx_kind::submission: {
    if (!members_.find(t.account))
      (void)members_.bind({t.account, t.signer, bit(role::submitter)});
    auto terms = terms_of(t).value();
    nonces_.insert({t.account, terms.nonce});
    submissions_.emplace(t.task_id,
                         funding{t.account, t.amount, 0, terms.rows, terms.flops_per_row,
                                 std::move(terms.hubs), t.result});
    return true;
  }
  case tx_kind::step:
    steps_.emplace(t.task_id, task_of(t).value());
    return true;
  case tx_kind::governance: {
    auto g = governance_of(t).value();
    scheduled_.emplace(g.change.height, g.change.rules);
    ++rules_changes_;
    return true;
  }
  case tx_kind::evidence: {
    auto e = consensus::decode_evidence(t.data).value();
    earned.push_back(payment(tx_kind::penalty, t, t.account, rules_.penalty_micro_mcc));
    if (!pay(earned))
      return false;
    evidenced_.insert({e.first.signer, static_cast<uint8_t>(e.first.kind), e.first.height,
                       e.first.round});
    out.insert(out.end(), earned.begin(), earned.end());
    return true;
  }
  case tx_kind::contribution:
    if (!judged_.contains(key))
      contributions_.try_emplace(key, t);
    return true;
  case tx_kind::audit:
    if (audited_.contains({t.task_id, t.shard_id, t.attempt, t.validator}))
      return true;
    earned.push_back(payment(tx_kind::penalty, t, t.validator, rules_.penalty_micro_mcc));
    if (!pay(earned))
      return false;
    audited_.insert({t.task_id, t.shard_id, t.attempt, t.validator});
    streaks_[t.validator] = 0;
    out.insert(out.end(), earned.begin(), earned.end());
    return true;
  default:
    break;
  }
  bool accepted = t.kind == tx_kind::acceptance;
  bool by_network = accepted || reserved_name(t.validator);
  if (auto* j = judged_.find_mutable(key)) {
    // A further verdict on a judged attempt: another validator's audit of the first.
    auto& first = *j;
    if (by_network || first.validators.contains(t.validator)
        || first.judges.contains(t.signer))
      return true; // replayed, stated twice, or the same key under another name
    bool agrees = t.worker == first.worker && t.result == first.result && t.valid
                  && first.valid && first.price > 0;
    int64_t fee = agrees ? share_of(first.price, rules_.audit_share_permille) : 0;
    auto* f = funds(t.task_id);
    if (fee > 0 && affordable(f, fee)) {
      earned.push_back(payment(tx_kind::reward, t, t.validator, fee));
      if (f)
        earned.push_back(payment(tx_kind::charge, t, f->submitter, fee));
    }
    if (!pay(earned))
      return false;
    if (f && !earned.empty())
      f->spent += fee;
    first.validators.insert(t.validator);
    first.judges.insert(t.signer);
    if (t.valid == first.valid)
      ++streaks_[t.validator];
    out.insert(out.end(), earned.begin(), earned.end());
    return true;
  }
  auto c = contributions_.find(key);
  if (c == contributions_.end() || c->second.worker != t.worker
      || c->second.result != t.result)
    return true; // no contribution for what was judged
  int64_t price = 0;
  bool settled = false;       // the shard counts as paid from now on
  auto* f = funds(t.task_id); // the submission paying for it (none: nobody is charged)
  // The rows it computed, where its task's submission binds the work (their work units
  // were checked when it was admitted): no row is paid twice.
  std::optional<std::pair<uint64_t, uint64_t>> rows;
  if (f && f->rows != 0)
    rows = rows_of(c->second).value();
  if (t.valid || accepted) {
    __int128 total =
        static_cast<__int128>(c->second.work_units) * rules_.micro_mcc_per_work_unit;
    if (total > INT64_MAX)
      return false;
    settled = affordable(f, static_cast<int64_t>(total))
              && !paid_.contains({t.task_id, t.shard_id})
              && !(rows && rows_paid(t.task_id, rows->first, rows->second));
    // A shard of a few rows may be worth 0 units (chain::work_units): settled, unpaid.
    if (settled && total > 0) {
      price = static_cast<int64_t>(total);
      auto to_validator = by_network ? 0 : share_of(price, rules_.validator_share_permille);
      earned.push_back(payment(tx_kind::reward, t, t.worker, price - to_validator));
      if (!by_network)
        earned.push_back(payment(tx_kind::reward, t, t.validator, to_validator));
      if (f)
        earned.push_back(payment(tx_kind::charge, t, f->submitter, price));
    }
  } else {
    earned.push_back(payment(tx_kind::penalty, t, t.worker, rules_.penalty_micro_mcc));
  }
  if (!pay(earned))
    return false;
  if (settled) {
    paid_.insert({t.task_id, t.shard_id});
    if (rows)
      paid_rows_.emplace({t.task_id, rows->first}, rows->second);
    if (f)
      f->spent += price;
  }
  judged_.assign(key, judged_attempt{t.worker, t.result, t.valid || accepted, price,
                                     by_network ? std::set<std::string>{}
                                                : std::set<std::string>{t.validator},
                                     by_network ? std::set<public_key>{}
                                                : std::set<public_key>{t.signer}});
  if (!accepted) {
    auto& streak = streaks_[t.worker];
    streak = t.valid ? streak + 1 : 0;
    if (!by_network)
      ++streaks_[t.validator];
  }
  contributions_.erase(c);
  out.insert(out.end(), earned.begin(), earned.end());
  return true;
}

bool contract_state::rows_paid(uint64_t task, uint64_t begin, uint64_t end) const {
  // Paid ranges never overlap: the one starting last before `end` is the only candidate.
  const auto* last = paid_rows_.last_below({task, end});
  return last && last->first.first == task && last->second > begin;
}

settlement contract_state::settle(const std::vector<transaction>& inputs,
                                  const block_context& at) {
  settlement out;
  for (auto due = scheduled_.begin(); due != scheduled_.end() && due->first <= at.height;
       due = scheduled_.erase(due))
    rules_ = due->second;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& t = inputs[i];
    auto why = refusal(t, at);
    if (why.empty() && !apply(t, out.payments))
      why = "an amount would overflow";
    if (why.empty() && t.task_id != 0) {
      auto& last = t.task_id >= internal_task_base ? last_internal_ : last_task_;
      last = std::max(last, t.task_id);
    }
    if (!why.empty())
      out.refused.emplace_back(i, std::move(why));
  }
  if (at.height == 0)
    started_ = true;
  for (auto& p : out.payments) {
    p.signer = at.proposer;
    p.time_ms = at.time_ms;
  }
  return out;
}

expected<balance_deltas> contract_state::replay(const block& b) {
  auto at = "block " + std::to_string(b.header.height) + ": ";
  auto bad = [&](const std::string& what) {
    return make_error(errc::corrupted, at + what);
  };
  if (b.header.height > 0 && !members_.key_holds(b.header.proposer, role::ledger))
    return bad("proposed by " + to_hex(b.header.proposer).substr(0, 16)
               + "..., a key that holds no ledger role");
  std::size_t inputs = 0;
  while (inputs < b.txs.size() && !is_payment(b.txs[inputs]))
    ++inputs;
  std::vector<transaction> in(b.txs.begin(), b.txs.begin() + static_cast<long>(inputs));
  for (auto i = inputs; i < b.txs.size(); ++i)
    if (!is_payment(b.txs[i]))
      return bad("transaction " + std::to_string(i) + " (" + to_string(b.txs[i].kind)
                 + ") comes after the payments");
  if (b.header.height == 0 && (in.empty() || in.front().kind != tx_kind::rules))
    return bad("the first block does not start with the contract's rules");
  if (b.header.height == 0)
    chain_ = b.header.hash();
  auto derived = settle(in, {b.header.height, b.header.proposer, b.header.time_ms});
  if (!derived.refused.empty()) {
    const auto& [i, why] = derived.refused.front();
    return bad("transaction " + std::to_string(i) + " (" + to_string(in[i].kind)
               + ") breaks the contract's rules: " + why);
  }
  if (b.header.height == 0
      && std::none_of(members_.entries().begin(), members_.entries().end(),
                      [](const auto& m) { return m.second.roles & bit(role::ledger); }))
    return bad("the first block names no member with the ledger role");
  auto payments = b.txs.size() - inputs;
  if (derived.payments.size() != payments)
    return bad("holds " + std::to_string(payments) + " payments, the contract ("
               + describe_rules(rules_) + ") derives "
               + std::to_string(derived.payments.size()));
  balance_deltas deltas;
  for (std::size_t i = 0; i < payments; ++i) {
    const auto& stored = b.txs[inputs + i];
    if (derived.payments[i] != stored)
      return bad("payment " + std::to_string(i) + " to " + stored.account
                 + " is not what the contract derives");
    deltas[stored.account] += balance_change(stored);
  }
  if (state_root(balances_) != b.header.state_root)
    return bad("the state root in the header is not that of the balances after the block");
  return deltas;
}

std::string describe_tx(const transaction& t) {
  auto where = task_name(t.task_id) + " shard " + std::to_string(t.shard_id) + " attempt "
               + std::to_string(t.attempt);
  switch (t.kind) {
  case tx_kind::contribution:
    return "contribution  " + where + "  by " + t.worker + ", "
           + std::to_string(t.work_units) + " work units";
  case tx_kind::verdict:
    return "verdict       " + where + "  " + (t.valid ? "valid" : "INVALID") + ", "
           + t.worker + " judged by " + t.validator;
  case tx_kind::reward:
    return "reward        " + where + "  " + format_mcc(t.amount) + " to " + t.account;
  case tx_kind::penalty:
    return "penalty       " + where + "  " + format_mcc(t.amount) + " from " + t.account;
  case tx_kind::charge:
    return "charge        " + where + "  " + format_mcc(t.amount) + " from " + t.account;
  case tx_kind::acceptance:
    return "acceptance    " + where + "  " + t.worker + ", unchecked on its record";
  case tx_kind::audit:
    return "audit         " + where + "  " + t.validator + "'s verdict overturned";
  case tx_kind::submission:
    return "submission    " + task_name(t.task_id) + " by " + t.account + ", budget "
           + (t.amount == 0 ? std::string{"unlimited"} : format_mcc(t.amount));
  case tx_kind::member: {
    auto m = member_of(t);
    return "member        " + t.account + " "
           + (m ? describe_roles(m->roles) + ", key " + to_hex(m->key).substr(0, 16) + "..."
                : std::string{"(malformed)"});
  }
  case tx_kind::rules: {
    auto r = rules_of(t);
    return "rules         " + (r ? describe_rules(*r) : std::string{"(malformed)"});
  }
  case tx_kind::step: {
    auto run = task_of(t);
    return "step          " + task_name(t.task_id) + " of "
           + (run ? task_name(*run) : std::string{"(malformed)"});
  }
  case tx_kind::governance: {
    auto g = governance_of(t);
    return "governance    "
           + (g ? "from height " + std::to_string(g->change.height) + ", "
                      + describe_rules(g->change.rules) + ", "
                      + std::to_string(g->approvals.size()) + " approvals"
                : std::string{"(malformed)"});
  }
  case tx_kind::evidence: {
    auto e = consensus::decode_evidence(t.data);
    return "evidence      " + t.account + " signed two votes"
           + (e ? " at height " + std::to_string(e->first.height) + " round "
                      + std::to_string(e->first.round)
                : std::string{" (malformed)"});
  }
  }
  return "unknown";
}

} // namespace nexus::chain
