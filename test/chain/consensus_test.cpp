// Tendermint's state machine over a simulated network: delays, drops, duplicates,
// reordering, partitions that heal, crashes and restarts, and f Byzantine validators
// (silent, equivocating, proposing invalid blocks). Safety (no two honest nodes decide
// different values at one height; every decided value valid) is checked after every event;
// liveness (every honest node reaches the target height once the network is stable) at the
// end. A failing seed is printed and replays exactly: everything is drawn from it.
//
// NEXUS_CONSENSUS_SEEDS sets the seeds per scenario (24 here; the consensus-soak benchmark
// runs 1000).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <queue>
#include <random>
#include <sstream>

#include "chain/consensus.hpp"

using namespace nexus;
using namespace nexus::chain;
using namespace nexus::chain::consensus;

namespace {

enum class fault { none, silent, equivocate, invalid };

std::string text(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

struct scenario {
  std::size_t n = 4;
  std::vector<fault> faults; // per node (missing: none)
  uint64_t gst_ms = 5000;    // before: drops, long delays, the partition
  double drop = 0.2;
  double duplicate = 0.05;
  bool partition = false; // node 1 cut off from the others for a while before GST
  bool crash = false;     // node 2 crashes, then restarts from its decided height
  // ... and restarts as a process does: a new state machine at its decided height, which
  // knows only the highest round it signed there (ledger_node keeps it), not its lock.
  bool restart = false;
  uint64_t target = 4; // heights every honest node must reach
  uint64_t limit_ms = 120000;
};

struct outcome {
  bool safe = true;
  std::string problem;
  std::size_t evidence = 0;
  std::vector<uint64_t> heights; // each honest node's decided heights
};

class simulation {
public:
  simulation(uint64_t seed, scenario s)
      : rng_(seed)
      , s_(std::move(s)) {
    s_.faults.resize(s_.n, fault::none);
    for (std::size_t i = 0; i < s_.n; ++i) {
      keys_.push_back(node_key::generate().value());
      validators_.push_back(keys_.back().public_bytes());
    }
    nodes_.resize(s_.n);
    for (std::size_t i = 0; i < s_.n; ++i)
      boot(i, 0);
  }

  outcome run() {
    for (std::size_t i = 0; i < s_.n; ++i)
      apply(i, nodes_[i].sm->start());
    for (uint64_t t = 500; t < s_.limit_ms; t += 500)
      push(t, -1, tick{});
    while (!queue_.empty() && out_.safe) {
      auto e = queue_.top();
      queue_.pop();
      now_ = e.at;
      if (now_ > s_.limit_ms || done())
        break;
      step(e);
    }
    for (std::size_t i = 0; i < s_.n; ++i)
      if (s_.faults[i] == fault::none)
        out_.heights.push_back(nodes_[i].decided.size());
    if (std::getenv("NEXUS_CONSENSUS_DEBUG"))
      for (std::size_t i = 0; i < s_.n; ++i)
        std::printf(
            "node %zu: height %llu round %u step %d locked %d valid %d decided %zu\n", i,
            static_cast<unsigned long long>(nodes_[i].sm->height()), nodes_[i].sm->round(),
            static_cast<int>(nodes_[i].sm->step()), nodes_[i].sm->locked_round(),
            nodes_[i].sm->valid_round(), nodes_[i].decided.size());
    return out_;
  }

private:
  struct tick {};
  using payload = std::variant<message, timer, decision, tick>;
  struct event {
    uint64_t at;
    uint64_t seq;
    int to;
    payload what;
    bool operator>(const event& o) const {
      return std::tie(at, seq) > std::tie(o.at, o.seq);
    }
  };
  struct node {
    std::unique_ptr<tendermint> sm;
    std::map<uint64_t, std::vector<uint8_t>> decided;
    bool crashed = false;
    std::map<uint64_t, int64_t> signed_round; // the highest round it signed, by height
    std::map<std::tuple<uint64_t, uint32_t, uint8_t>, std::vector<uint8_t>> signatures;
    tendermint::lock_state lock; // as ledger_node keeps it before it sends
  };

  void boot(std::size_t i, uint64_t height) {
    hooks h;
    h.get_value = [this, i](uint64_t height) {
      auto v = "block " + std::to_string(height) + " by node " + std::to_string(i);
      return bytes(s_.faults[i] == fault::invalid ? "bad " + v : v);
    };
    h.valid = [](uint64_t, const std::vector<uint8_t>& v, const digest&) {
      return !text(v).starts_with("bad");
    };
    timeouts t{std::chrono::milliseconds{300}, std::chrono::milliseconds{100},
               std::chrono::milliseconds{100}, std::chrono::milliseconds{100}};
    nodes_[i].sm = std::make_unique<tendermint>(validators_, keys_[i], height, h, t);
  }

  bool honest(std::size_t i) const {
    return s_.faults[i] == fault::none;
  }

  bool done() const {
    if (now_ < s_.gst_ms)
      return false;
    for (std::size_t i = 0; i < s_.n; ++i)
      if (honest(i) && nodes_[i].decided.size() < s_.target)
        return false;
    return true;
  }

  bool cut(std::size_t a, std::size_t b) const {
    bool window = s_.partition && now_ >= 1000 && now_ < s_.gst_ms;
    return window && (a == 1) != (b == 1);
  }

  void push(uint64_t at, int to, payload p) {
    queue_.push({at, seq_++, to, std::move(p)});
  }

  void send(std::size_t from, std::size_t to, payload p) {
    if (cut(from, to))
      return;
    bool early = now_ < s_.gst_ms;
    std::uniform_real_distribution<double> coin{0, 1};
    if (early && coin(rng_) < s_.drop)
      return;
    std::uniform_int_distribution<uint64_t> delay{1, early ? 300u : 30u};
    if (coin(rng_) < s_.duplicate)
      push(now_ + delay(rng_), static_cast<int>(to), p);
    push(now_ + delay(rng_), static_cast<int>(to), std::move(p));
  }

  // A conflicting twin of `m`, signed by the same (equivocating) node.
  message twin(const message& m, std::size_t i) {
    auto other = m;
    if (auto* p = std::get_if<proposal>(&other))
      p->value = bytes("other " + text(p->value));
    else if (auto* v = std::get_if<vote>(&other))
      v->value = v->value ? std::nullopt : std::optional<digest>{sha256(bytes("x"))};
    sign(other, keys_[i]);
    return other;
  }

  void broadcast(std::size_t i, const std::vector<message>& ms) {
    if (s_.faults[i] == fault::silent)
      return;
    for (const auto& m : ms)
      for (std::size_t to = 0; to < s_.n; ++to) {
        if (to == i)
          continue;
        if (s_.faults[i] == fault::equivocate && (to % 2 == 0 || to == 1)) {
          send(i, to, twin(m, i)); // half get another message; node 1 gets both
          if (to != 1)
            continue;
        }
        send(i, to, m);
      }
  }

  void apply(std::size_t i, effects e) {
    nodes_[i].lock = nodes_[i].sm->lock();
    for (const auto& m : e.broadcast) { // an honest node never signs two of one round
      auto [height, round, kind, bytes] = std::visit(
          [](const auto& x) {
            uint8_t kind = 0;
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, vote>)
              kind = static_cast<uint8_t>(x.kind);
            return std::tuple{x.height, x.round, kind, x.signed_bytes()};
          },
          m);
      if (std::visit([](const auto& x) { return x.signer; }, m) != validators_[i])
        continue;
      auto& r = nodes_[i].signed_round.try_emplace(height, -1).first->second;
      r = std::max<int64_t>(r, round);
      auto [it, fresh] = nodes_[i].signatures.try_emplace({height, round, kind}, bytes);
      if (!fresh && it->second != bytes && honest(i))
        fail("node " + std::to_string(i) + " signed two messages of one kind at height "
             + std::to_string(height) + " round " + std::to_string(round));
    }
    broadcast(i, e.broadcast);
    for (const auto& t : e.timers)
      push(now_ + static_cast<uint64_t>(t.after.count()), static_cast<int>(i), t);
    for (const auto& [key, d] : e.replies) {
      auto to =
          std::find(validators_.begin(), validators_.end(), key) - validators_.begin();
      send(i, static_cast<std::size_t>(to), d);
    }
    out_.evidence += e.equivocations.size();
    for (const auto& d : e.decided) {
      nodes_[i].decided[d.height] = d.value;
      if (!honest(i))
        continue;
      if (text(d.value).starts_with("bad"))
        fail("node " + std::to_string(i) + " decided an invalid value at height "
             + std::to_string(d.height));
      if (!certifies(d.cert, validators_))
        fail("node " + std::to_string(i) + " decided without a certificate");
      for (std::size_t j = 0; j < s_.n; ++j)
        if (honest(j) && nodes_[j].decided.contains(d.height)
            && nodes_[j].decided[d.height] != d.value)
          fail("nodes " + std::to_string(i) + " and " + std::to_string(j)
               + " decided different values at height " + std::to_string(d.height));
    }
  }

  void fail(const std::string& why) {
    if (out_.safe) {
      out_.safe = false;
      out_.problem = "at " + std::to_string(now_) + " ms: " + why;
    }
  }

  void step(const event& e) {
    if (e.to < 0) { // every 500 ms: crashes and restarts, and each node resends
      if (s_.crash && now_ == 1500)
        nodes_[2].crashed = true;
      if (s_.crash && now_ == 4000) // back with what it had stored (its blocks and its
        nodes_[2].crashed = false;  // signed messages), and everything sent meanwhile lost
      if (s_.crash && s_.restart && now_ == 4000) {
        auto height = nodes_[2].decided.size(); // heights run from 0
        boot(2, height);
        nodes_[2].sm->restore(nodes_[2].lock);
        auto at = nodes_[2].signed_round.find(height);
        apply(2, nodes_[2].sm->start(
                     at == nodes_[2].signed_round.end()
                         ? 0
                         : static_cast<uint32_t>(at->second + 1))); // never a round twice
      }
      for (std::size_t i = 0; i < s_.n; ++i)
        if (!nodes_[i].crashed)
          broadcast(i, nodes_[i].sm->resend());
      return;
    }
    auto i = static_cast<std::size_t>(e.to);
    if (nodes_[i].crashed)
      return;
    auto& sm = *nodes_[i].sm;
    if (const auto* m = std::get_if<message>(&e.what))
      apply(i, sm.on_message(*m));
    else if (const auto* t = std::get_if<timer>(&e.what))
      apply(i, sm.on_timeout(*t));
    else if (const auto* d = std::get_if<decision>(&e.what))
      apply(i, sm.on_decision(*d));
  }

  std::mt19937_64 rng_;
  scenario s_;
  std::vector<node_key> keys_;
  std::vector<public_key> validators_;
  std::vector<node> nodes_;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  outcome out_;
};

// n fresh validator keys, and their public keys in order.
std::pair<std::vector<node_key>, std::vector<public_key>> validator_keys(std::size_t n) {
  std::vector<node_key> keys;
  std::vector<public_key> validators;
  for (std::size_t i = 0; i < n; ++i) {
    keys.push_back(node_key::generate().value());
    validators.push_back(keys.back().public_bytes());
  }
  return {keys, validators};
}

uint64_t seeds() {
  const char* s = std::getenv("NEXUS_CONSENSUS_SEEDS");
  return s ? std::strtoull(s, nullptr, 10) : 24;
}

void check_all(const std::string& name, const scenario& s) {
  for (uint64_t seed = 1; seed <= seeds(); ++seed) {
    auto out = simulation{seed, s}.run();
    INFO(name << ", seed " << seed << ": " << out.problem);
    REQUIRE(out.safe);
    for (auto h : out.heights)
      REQUIRE(h >= s.target);
  }
}

} // namespace

TEST_CASE("four validators agree through drops, duplicates and delays", "[consensus]") {
  check_all("n=4 honest", {});
}

TEST_CASE("one silent, equivocating or invalid-proposing validator of four changes "
          "nothing",
          "[consensus]") {
  for (auto f : {fault::silent, fault::equivocate, fault::invalid}) {
    scenario s;
    s.faults = {fault::none, fault::none, fault::none, f};
    check_all("n=4, node 3 faulty " + std::to_string(static_cast<int>(f)), s);
  }
}

TEST_CASE("seven validators with two Byzantine, a partition and a crash", "[consensus]") {
  scenario s;
  s.n = 7;
  s.faults = {fault::none, fault::none,       fault::none,   fault::none,
              fault::none, fault::equivocate, fault::invalid};
  s.partition = true;
  s.crash = true;
  check_all("n=7", s);
}

TEST_CASE("a partitioned node and a crashed one catch up from their peers' certificates",
          "[consensus]") {
  scenario s;
  s.partition = true;
  s.crash = true;
  s.target = 6;
  check_all("n=4 partition and crash", s);
}

TEST_CASE("a node restarted with only its decided blocks, signed rounds and lock rejoins "
          "without signing a round twice",
          "[consensus]") {
  scenario s;
  s.crash = true;
  s.restart = true;
  s.partition = true;
  s.target = 6;
  check_all("n=4 restart", s);
  s.faults = {fault::none, fault::none, fault::none, fault::equivocate};
  s.partition = false;
  check_all("n=4 restart with an equivocating node", s);
}

TEST_CASE("a validator that signs two votes leaves evidence", "[consensus]") {
  scenario s;
  s.faults = {fault::none, fault::none, fault::none, fault::equivocate};
  s.drop = 0;
  auto out = simulation{7, s}.run();
  REQUIRE(out.safe);
  CHECK(out.evidence > 0);
}

TEST_CASE("a certificate needs a quorum of validators' precommits for its value",
          "[consensus]") {
  auto network = validator_keys(4);
  const auto& keys = network.first;
  const auto& validators = network.second;
  auto value = sha256(bytes("block"));
  certificate c{5, 1, value, {}};
  auto precommit = [&](const node_key& k, digest v) {
    message m = vote{vote_kind::precommit, 5, 1, v};
    sign(m, k);
    return std::get<vote>(m);
  };
  c.precommits = {precommit(keys[0], value), precommit(keys[1], value)};
  CHECK_FALSE(certifies(c, validators)); // 2 of 4: not more than two thirds
  c.precommits.push_back(precommit(keys[2], value));
  CHECK(certifies(c, validators));
  auto twice = c;
  twice.precommits[2] = precommit(keys[1], value); // one signer counted once
  CHECK_FALSE(certifies(twice, validators));
  auto outsider = c;
  outsider.precommits[2] = precommit(node_key::generate().value(), value);
  CHECK_FALSE(certifies(outsider, validators));
  auto other = c;
  other.precommits[2] = precommit(keys[2], sha256(bytes("another block")));
  CHECK_FALSE(certifies(other, validators));
  auto forged = c;
  forged.precommits[0].sig[0] ^= 1;
  CHECK_FALSE(certifies(forged, validators));
  CHECK(quorum(1) == 1);
  CHECK(quorum(4) == 3);
  CHECK(quorum(7) == 5);
  CHECK(third(4) == 2);
  CHECK(third(7) == 3);
}

TEST_CASE("a node locked on a value does not help decide another one (line 22's lock)",
          "[consensus]") {
  // The schedule of a Byzantine proposer that omits messages (n = 4, f = 1): P proposes v
  // in round 0 and decides it with A and the Byzantine B; C never sees v backed; in
  // round 1 B proposes w. Without the lock A would prevote w, and A and C would decide w.
  auto network = validator_keys(4);
  const auto& keys = network.first;
  const auto& validators = network.second;
  hooks h;
  h.get_value = [](uint64_t) { return bytes("v"); };
  h.valid = [](uint64_t, const std::vector<uint8_t>&, const digest&) { return true; };
  // Node 0 proposes in round 0, node 1 (Byzantine, driven by hand) in round 1.
  tendermint p{validators, keys[0], 0, h}, a{validators, keys[2], 0, h},
      c{validators, keys[3], 0, h};
  auto votes_of = [](const effects& e, vote_kind kind) {
    std::vector<vote> out;
    for (const auto& m : e.broadcast)
      if (const auto* v = std::get_if<vote>(&m); v && v->kind == kind)
        out.push_back(*v);
    return out;
  };
  auto by_b = [&](message m) {
    sign(m, keys[1]);
    return m;
  };
  auto p_start = p.start();
  REQUIRE(p_start.broadcast.size() == 2); // its proposal of v and its prevote for it
  auto proposal_v = p_start.broadcast[0];
  auto p_prevote = p_start.broadcast[1];
  auto v_id = std::get<proposal>(proposal_v).id();
  a.start();
  c.start();
  // A hears the proposal and prevotes v; C's propose time-out runs out: it prevotes nil.
  auto a_prevote = votes_of(a.on_message(proposal_v), vote_kind::prevote).at(0);
  CHECK(a_prevote.value == v_id);
  auto c_prevote =
      votes_of(c.on_timeout({step_kind::propose, 0, 0}), vote_kind::prevote).at(0);
  CHECK_FALSE(c_prevote.value);
  // B prevotes v to P and A only: both lock v and precommit it.
  auto b_prevote = by_b(vote{vote_kind::prevote, 0, 0, v_id});
  p.on_message(a_prevote);
  auto p_precommit = votes_of(p.on_message(b_prevote), vote_kind::precommit).at(0);
  a.on_message(p_prevote);
  auto a_precommit = votes_of(a.on_message(b_prevote), vote_kind::precommit).at(0);
  CHECK(a.locked_round() == 0);
  // C sees P's and A's prevotes, and its prevote time-out: it precommits nil.
  c.on_message(proposal_v);
  c.on_message(p_prevote);
  c.on_message(a_prevote);
  auto c_precommit =
      votes_of(c.on_timeout({step_kind::prevote, 0, 0}), vote_kind::precommit).at(0);
  CHECK_FALSE(c_precommit.value);
  // P decides v with A's and B's precommits.
  auto b_precommit = by_b(vote{vote_kind::precommit, 0, 0, v_id});
  p.on_message(a_precommit);
  auto decided = p.on_message(b_precommit).decided;
  REQUIRE(decided.size() == 1);
  CHECK(text(decided[0].value) == "v");
  // A and C hear P v, A v, C nil: no quorum for v; their precommit time-outs take them to
  // round 1.
  for (auto* node : {&a, &c}) {
    node->on_message(p_precommit);
    node->on_message(a_precommit);
    node->on_message(c_precommit);
    node->on_timeout({step_kind::precommit, 0, 0});
    CHECK(node->round() == 1);
  }
  // Round 1: B proposes w. A, locked on v, prevotes nil; so w cannot gather a quorum.
  proposal w;
  w.round = 1;
  w.value = bytes("w");
  auto proposal_w = by_b(w);
  auto a_round1 = votes_of(a.on_message(proposal_w), vote_kind::prevote);
  REQUIRE(a_round1.size() == 1);
  CHECK_FALSE(a_round1[0].value); // the lock at work
  auto c_round1 = votes_of(c.on_message(proposal_w), vote_kind::prevote).at(0);
  auto b_round1 = by_b(vote{vote_kind::prevote, 0, 1, std::get<proposal>(proposal_w).id()});
  for (auto* node : {&a, &c}) {
    node->on_message(a_round1[0]);
    node->on_message(c_round1);
    auto e = node->on_message(b_round1);
    CHECK(e.decided.empty());
  }
}
