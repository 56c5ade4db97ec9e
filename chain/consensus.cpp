#include "chain/consensus.hpp"

#include <algorithm>

#include "chain/encoding.hpp"

namespace nexus::chain::consensus {

namespace {

const std::string tag = "nexuschain consensus v1";

// Messages beyond the next heights are not kept (a node that far behind catches up from
// decisions instead).
constexpr uint64_t future_heights = 2;
constexpr std::size_t future_messages = 4096;
// Bounds on what one Byzantine validator can make a node keep: rounds this far beyond the
// node's own, and two proposals or votes per signer, kind and round (quorums never need a
// faulty validator's votes, so nothing is lost for honest progress).
constexpr uint32_t rounds_ahead = 10000;
constexpr std::size_t kept_per_signer = 4;

// What identifies a message among those heard: its signed bytes and its signature.
digest digest_of(std::vector<uint8_t> signed_bytes, const signature& sig) {
  signed_bytes.insert(signed_bytes.end(), sig.begin(), sig.end());
  return sha256(signed_bytes);
}

} // namespace

digest proposal::id() const {
  return sha256(value);
}

std::vector<uint8_t> proposal::signed_bytes() const {
  return signed_bytes(id());
}

std::vector<uint8_t> proposal::signed_bytes(const digest& id) const {
  writer w;
  w.text(tag);
  w.u8(0);
  w.u64(height);
  w.u32(round);
  w.fixed(id);
  w.u32(static_cast<uint32_t>(valid_round) + 1u); // -1 -> 0; no signed overflow
  w.fixed(signer);
  return std::move(w.data());
}

std::vector<uint8_t> vote::signed_bytes() const {
  writer w;
  w.text(tag);
  w.u8(static_cast<uint8_t>(kind));
  w.u64(height);
  w.u32(round);
  w.u8(value ? 1 : 0);
  w.fixed(value.value_or(digest{}));
  w.fixed(signer);
  return std::move(w.data());
}

void sign(message& m, const node_key& key) {
  std::visit(
      [&](auto& x) {
        x.signer = key.public_bytes();
        x.sig = key.sign(x.signed_bytes());
      },
      m);
}

std::vector<uint8_t> encode(const certificate& c) {
  writer w;
  w.text(tag);
  w.u64(c.height);
  w.u32(c.round);
  w.fixed(c.value);
  w.u32(static_cast<uint32_t>(c.precommits.size()));
  for (const auto& v : c.precommits) {
    w.fixed(v.signer);
    w.fixed(v.sig);
  }
  return std::move(w.data());
}

expected<certificate> decode_certificate(std::span<const uint8_t> bytes) {
  reader r{bytes};
  certificate c;
  auto bad = [] { return make_error(errc::corrupted, "malformed commit certificate"); };
  if (r.text(tag.size()) != tag)
    return bad();
  c.height = r.u64();
  c.round = r.u32();
  r.fixed(c.value);
  auto n = r.u32();
  if (!r.ok() || n > bytes.size() / 96)
    return bad();
  c.precommits.resize(n);
  for (auto& v : c.precommits) {
    v.kind = vote_kind::precommit;
    v.height = c.height;
    v.round = c.round;
    v.value = c.value;
    r.fixed(v.signer);
    r.fixed(v.sig);
  }
  if (!r.ok() || !r.at_end())
    return bad();
  return c;
}

namespace {

void write_vote(writer& w, const vote& v) {
  w.u8(static_cast<uint8_t>(v.kind));
  w.u64(v.height);
  w.u32(v.round);
  w.u8(v.value ? 1 : 0);
  w.fixed(v.value.value_or(digest{}));
  w.fixed(v.signer);
  w.fixed(v.sig);
}

bool read_vote(reader& r, vote& v) {
  auto kind = r.u8();
  if (kind != 1 && kind != 2)
    return false;
  v.kind = static_cast<vote_kind>(kind);
  v.height = r.u64();
  v.round = r.u32();
  auto has = r.u8();
  digest value{};
  r.fixed(value);
  if (has > 1 || (has == 0 && value != digest{}))
    return false;
  if (has)
    v.value = value;
  r.fixed(v.signer);
  r.fixed(v.sig);
  return r.ok();
}

} // namespace

std::vector<uint8_t> encode(const evidence& e) {
  writer w;
  w.text(tag);
  write_vote(w, e.first);
  write_vote(w, e.second);
  return std::move(w.data());
}

expected<evidence> decode_evidence(std::span<const uint8_t> bytes) {
  reader r{bytes};
  evidence e;
  if (r.text(tag.size()) != tag || !read_vote(r, e.first) || !read_vote(r, e.second)
      || !r.at_end())
    return make_error(errc::corrupted, "malformed evidence of double signing");
  return e;
}

std::string evidence_problem(const evidence& e) {
  const auto& a = e.first;
  const auto& b = e.second;
  if (a.signer != b.signer || a.kind != b.kind || a.height != b.height
      || a.round != b.round)
    return "the two votes differ in signer, kind, height or round";
  if (a.value == b.value)
    return "the two votes are for the same value";
  if (!verify(a.signer, a.signed_bytes(), a.sig)
      || !verify(b.signer, b.signed_bytes(), b.sig))
    return "a vote's signature does not verify";
  return {};
}

std::size_t quorum(std::size_t n) {
  return 2 * n / 3 + 1;
}

std::size_t third(std::size_t n) {
  return n / 3 + 1;
}

bool certifies(const certificate& c, const std::vector<public_key>& validators,
               bool check_signatures) {
  std::set<public_key> signers;
  for (const auto& v : c.precommits) {
    if (v.kind != vote_kind::precommit || v.height != c.height || v.round != c.round
        || v.value != c.value
        || std::find(validators.begin(), validators.end(), v.signer) == validators.end()
        || (check_signatures && !verify(v.signer, v.signed_bytes(), v.sig)))
      return false;
    signers.insert(v.signer);
  }
  return signers.size() >= quorum(validators.size());
}

tendermint::tendermint(std::vector<public_key> validators, node_key key, uint64_t height,
                       hooks h, timeouts t)
    : validators_(std::move(validators))
    , key_(std::move(key))
    , hooks_(std::move(h))
    , timeouts_(t)
    , height_(height) {}

const public_key& tendermint::proposer(uint64_t height, uint32_t round) const {
  return validators_[(height + round) % validators_.size()];
}

std::chrono::milliseconds tendermint::after(step_kind s, uint32_t round) const {
  auto base = s == step_kind::propose   ? timeouts_.propose
              : s == step_kind::prevote ? timeouts_.prevote
                                        : timeouts_.precommit;
  return base + timeouts_.growth * round; // time-outs grow with each round
}

effects tendermint::start(uint32_t round) {
  effects out;
  if (hooks_.ready && !hooks_.ready()) {
    waiting_ = true;
    round_ = round;
    return out;
  }
  start_round(round, out); // "upon start do StartRound(0)"
  evaluate(out);
  return out;
}

tendermint::lock_state tendermint::lock() const {
  return {height_, locked_round_, valid_round_, locked_, valid_};
}

void tendermint::restore(const lock_state& s) {
  if (s.height != height_)
    return; // a lock of another height binds nothing here
  locked_round_ = s.locked_round;
  valid_round_ = s.valid_round;
  locked_ = s.locked;
  locked_id_ = locked_ ? locked_->id() : digest{};
  valid_ = s.valid;
}

effects tendermint::wake() {
  effects out;
  if (!waiting_)
    return out;
  waiting_ = false;
  start_round(round_, out);
  evaluate(out);
  return out;
}

// Function StartRound(round) (lines 11-21).
void tendermint::start_round(uint32_t round, effects& out) {
  round_ = round;
  step_ = step_kind::propose;
  if (proposer(height_, round_) == key_.public_bytes()) {
    proposal p;
    p.height = height_;
    p.round = round_;
    if (valid_) { // line 15: proposal <- validValue
      p.value = valid_->value;
    } else { // line 17: proposal <- getValue()
      p.value = hooks_.get_value(height_);
    }
    p.valid_round = valid_round_;
    own(p, out); // line 19: broadcast PROPOSAL
  } else {
    out.timers.push_back({step_kind::propose, height_, round_,
                          after(step_kind::propose, round_)}); // line 21
  }
}

void tendermint::own(message m, effects& out) {
  if (const auto* v = std::get_if<vote>(&m)) { // an honest node never votes twice
    auto& log = rounds_[v->round];
    const auto& votes = v->kind == vote_kind::prevote ? log.prevotes : log.precommits;
    if (auto mine = votes.find(key_.public_bytes());
        mine != votes.end() && !mine->second.empty())
      return;
  }
  sign(m, key_);
  out.broadcast.push_back(m);
  take(m, out); // a node counts its own messages
}

bool tendermint::is_valid(const proposal& p, const digest& id) {
  auto it = validity_.find(id);
  if (it == validity_.end())
    it = validity_.emplace(id, hooks_.valid(p.height, p.value, id)).first;
  return it->second;
}

std::size_t tendermint::count(const std::map<public_key, std::vector<vote>>& votes,
                              const std::optional<digest>& value) const {
  return static_cast<std::size_t>(
      std::count_if(votes.begin(), votes.end(), [&](const auto& kv) {
        return std::any_of(kv.second.begin(), kv.second.end(),
                           [&](const vote& v) { return v.value == value; });
      }));
}

bool tendermint::take(const message& m, effects& out) {
  auto height = std::visit([](const auto& x) { return x.height; }, m);
  const auto& signer =
      std::visit([](const auto& x) -> const public_key& { return x.signer; }, m);
  auto round = std::visit([](const auto& x) { return x.round; }, m);
  if (std::find(validators_.begin(), validators_.end(), signer) == validators_.end())
    return false;
  if (height > height_ + future_heights || round > round_ + rounds_ahead)
    return false; // too far ahead to keep
  // A proposal's value is hashed once here (it may be a large block).
  const auto* p = std::get_if<proposal>(&m);
  auto pid = p ? p->id() : digest{};
  auto bytes = p ? p->signed_bytes(pid) : std::get<vote>(m).signed_bytes();
  const auto& sig = std::visit([](const auto& x) -> const signature& { return x.sig; }, m);
  auto id = digest_of(bytes, sig);
  if ((height == height_ && seen_.contains(id))
      || (height > height_ && future_seen_.contains(id)))
    return false; // a duplicate, checked before
  if (!verify(signer, bytes, sig))
    return false;
  if (height < height_) {
    // A node behind: answer with the decision of that height (each time: the answer may
    // be lost too; the carrier limits how often).
    if (auto d = decisions_.find(height); d != decisions_.end())
      out.replies.emplace_back(signer, d->second);
    return false;
  }
  if (height > height_) {
    auto& later = future_[height];
    if (later.size() < future_messages && future_seen_.insert(id).second)
      later.push_back(m);
    return false;
  }
  if (p) {
    if (p->signer != proposer(p->height, p->round))
      return false;
    auto& r = rounds_[p->round];
    // One proposal per value and round (the first): the same value signed again with
    // another valid round would only cost memory.
    if (r.offered.contains(pid) || r.offered.size() >= kept_per_signer)
      return false;
    seen_.insert(id);
    heard_.push_back(m);
    r.senders.insert(p->signer);
    r.offered.emplace(pid, *p);
    if (!r.first)
      r.first = pid;
    return true;
  }
  const auto& v = std::get<vote>(m);
  auto& r = rounds_[v.round];
  auto& mine = (v.kind == vote_kind::prevote ? r.prevotes : r.precommits)[v.signer];
  if (std::find(mine.begin(), mine.end(), v) != mine.end()
      || mine.size() >= kept_per_signer)
    return false;
  seen_.insert(id);
  heard_.push_back(m);
  r.senders.insert(v.signer);
  if (!mine.empty()) // two votes of one kind, height and round
    out.equivocations.push_back({mine.front(), v});
  mine.push_back(v);
  return true;
}

void tendermint::decide(const proposal& p, digest id, uint32_t round, effects& out) {
  decision d{height_, p.value, {height_, round, id, {}}};
  for (const auto& [signer, votes] : rounds_[round].precommits)
    for (const auto& v : votes)
      if (v.value == id) {
        d.cert.precommits.push_back(v);
        break;
      }
  decisions_[height_] = d;
  out.decided.push_back(d);
  if (hooks_.commit)
    hooks_.commit(d);
  // Lines 51-54: next height, locks and valid values reset, StartRound(0).
  ++height_;
  locked_.reset();
  locked_id_ = {};
  valid_.reset();
  locked_round_ = valid_round_ = -1;
  rounds_.clear();
  validity_.clear();
  seen_.clear();
  heard_.clear();
  future_seen_.clear();
  decisions_.erase(decisions_.begin(),
                   decisions_.lower_bound(height_ > 64 ? height_ - 64 : 0)); // keep recent
  auto later = std::move(future_[height_]);
  future_.erase(future_.begin(), future_.upper_bound(height_));
  round_ = 0;
  step_ = step_kind::propose;
  // A node with nothing to propose waits, unless others began the height already.
  waiting_ = later.empty() && hooks_.ready && !hooks_.ready();
  if (!waiting_)
    start_round(0, out);
  for (const auto& m : later)
    take(m, out);
}

// Lines 24-27 and 30-33: prevote the proposal's value, or nil; step <- prevote.
void tendermint::prevote(const digest& id, bool yes, effects& out) {
  own(vote{vote_kind::prevote, height_, round_,
           yes ? std::optional<digest>{id} : std::nullopt},
      out);
  step_ = step_kind::prevote;
}

void tendermint::evaluate(effects& out) {
  auto n = validators_.size();
  for (bool changed = true; changed;) {
    changed = false;
    // Line 49: a proposal and precommits of a quorum for it, in any round: decide.
    for (auto& [r, log] : rounds_) {
      for (auto& [pid, offer] : log.offered)
        if (count(log.precommits, pid) >= quorum(n) && is_valid(offer, pid)) {
          auto p = offer;
          auto round = r;
          decide(p, pid, round, out);
          changed = true;
          break;
        }
      if (changed)
        break;
    }
    if (changed)
      continue;
    // Line 55: more than a third heard at a higher round: StartRound(round).
    for (auto& [r, log] : rounds_)
      if (r > round_ && log.senders.size() >= third(n)) {
        start_round(r, out);
        changed = true;
        break;
      }
    if (changed)
      continue;
    auto& log = rounds_[round_];
    const auto* p = log.first ? &log.offered.at(*log.first) : nullptr;
    // Line 22: a proposal without a valid round, while propose.
    if (step_ == step_kind::propose && p && p->valid_round == -1) {
      const auto& id = *log.first;
      prevote(id, is_valid(*p, id) && (locked_round_ == -1 || locked_id_ == id), out);
      changed = true;
      continue;
    }
    // Line 28: a proposal with a valid round vr < round and a quorum of prevotes for it
    // at vr, while propose.
    if (step_ == step_kind::propose && p && p->valid_round >= 0
        && static_cast<uint32_t>(p->valid_round) < round_
        && count(rounds_[static_cast<uint32_t>(p->valid_round)].prevotes, *log.first)
               >= quorum(n)) {
      const auto& id = *log.first;
      prevote(id, is_valid(*p, id) && (locked_round_ <= p->valid_round || locked_id_ == id),
              out);
      changed = true;
      continue;
    }
    // Line 34: prevotes of a quorum (any values), while prevote, the first time.
    if (step_ == step_kind::prevote && !log.prevote_timer
        && log.prevotes.size() >= quorum(n)) {
      log.prevote_timer = true;
      out.timers.push_back(
          {step_kind::prevote, height_, round_, after(step_kind::prevote, round_)});
      changed = true;
    }
    // Line 36: a valid proposal and prevotes of a quorum for it, while step >= prevote,
    // the first time (any proposal of the round's proposer).
    const proposal* backed = nullptr;
    const digest* backed_id = nullptr;
    for (auto& [pid, offer] : log.offered)
      if (count(log.prevotes, pid) >= quorum(n) && is_valid(offer, pid)) {
        backed = &offer;
        backed_id = &pid;
      }
    if (step_ != step_kind::propose && !log.l36_done && backed) {
      p = backed;
      log.l36_done = true;
      if (step_ == step_kind::prevote) {
        locked_ = *p;
        locked_id_ = *backed_id;
        locked_round_ = static_cast<int32_t>(round_);
        own(vote{vote_kind::precommit, height_, round_, *backed_id}, out);
        step_ = step_kind::precommit;
      }
      valid_ = *p;
      valid_round_ = static_cast<int32_t>(round_);
      changed = true;
      continue;
    }
    // Line 44: prevotes of a quorum for nil, while prevote.
    if (step_ == step_kind::prevote && count(log.prevotes, std::nullopt) >= quorum(n)) {
      own(vote{vote_kind::precommit, height_, round_, std::nullopt}, out);
      step_ = step_kind::precommit;
      changed = true;
      continue;
    }
    // Line 47: precommits of a quorum (any values), the first time.
    if (!log.precommit_timer && log.precommits.size() >= quorum(n)) {
      log.precommit_timer = true;
      out.timers.push_back(
          {step_kind::precommit, height_, round_, after(step_kind::precommit, round_)});
      changed = true;
    }
  }
}

effects tendermint::on_message(const message& m) {
  effects out;
  if (!take(m, out))
    return out;
  if (waiting_) { // another node began this height: so does this one
    waiting_ = false;
    start_round(round_, out);
  }
  evaluate(out);
  return out;
}

effects tendermint::on_timeout(const timer& t) {
  effects out;
  if (t.height != height_ || t.round != round_)
    return out;
  if (t.step == step_kind::propose && step_ == step_kind::propose) { // OnTimeoutPropose
    own(vote{vote_kind::prevote, height_, round_, std::nullopt}, out);
    step_ = step_kind::prevote;
  } else if (t.step == step_kind::prevote
             && step_ == step_kind::prevote) { // OnTimeoutPrevote
    own(vote{vote_kind::precommit, height_, round_, std::nullopt}, out);
    step_ = step_kind::precommit;
  } else if (t.step == step_kind::precommit) { // OnTimeoutPrecommit
    start_round(round_ + 1, out);
  }
  evaluate(out);
  return out;
}

effects tendermint::on_decision(const decision& d) {
  effects out;
  if (d.height != height_ || d.cert.height != d.height || sha256(d.value) != d.cert.value
      || !certifies(d.cert, validators_))
    return out;
  proposal p;
  p.height = d.height;
  p.round = d.cert.round;
  p.value = d.value;
  if (!is_valid(p, d.cert.value)) // d.cert.value is SHA-256 of the value, checked above
    return out;
  rounds_[d.cert.round].precommits.clear();
  for (const auto& v : d.cert.precommits)
    rounds_[d.cert.round].precommits[v.signer] = {v};
  decide(p, d.cert.value, d.cert.round, out);
  evaluate(out);
  return out;
}

std::vector<message> tendermint::resend() const {
  return heard_;
}

} // namespace nexus::chain::consensus
