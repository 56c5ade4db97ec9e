// Who may join: a member of the topology, in a role it may take, proving its listed key by
// signing a live challenge; and every way of getting that wrong.
#include <catch2/catch.hpp>

#include "actors/core/membership.hpp"
#include "chain/membership.hpp"
#include "messages/codec.hpp"

using namespace nexus;

namespace {

struct candidate {
  chain::node_key key = chain::node_key::generate().value();
  node_info info;

  candidate(std::string name, node_role role) {
    info.name = std::move(name);
    info.role = role;
  }

  // Signs `nonce` with `signer` (its own key unless given another).
  node_info answering(const std::vector<uint8_t>& nonce,
                      const chain::node_key* signer = nullptr) {
    const auto& k = signer ? *signer : key;
    node_info out = info;
    auto pub = key.public_bytes();
    out.public_key.assign(pub.begin(), pub.end());
    out.nonce = nonce;
    auto sig = k.sign(wire::join_statement(out));
    out.signature.assign(sig.begin(), sig.end());
    return out;
  }
};

auto now() {
  return clock_type::now();
}

} // namespace

TEST_CASE("a listed node proving its key with a fresh challenge is admitted",
          "[core][membership]") {
  candidate w{"w1", node_role::worker};
  membership m{{{"w1", w.key.public_bytes(), {node_role::worker}}}};
  auto joined = w.answering(m.challenge(now()));
  CHECK_FALSE(m.admit(joined, now()));
  m.joined(7, joined);
  REQUIRE(m.identity(7));
  CHECK(m.identity(7)->name == "w1");
  CHECK(m.identity(7)->key == w.key.public_bytes());
  m.left(7);
  CHECK(m.identity(7) == nullptr);
}

TEST_CASE("a node is refused for every way its proof or listing is wrong",
          "[core][membership]") {
  candidate w{"w1", node_role::worker};
  candidate stranger{"w1", node_role::worker}; // the right name, another key
  membership m{{{"w1", w.key.public_bytes(), {node_role::worker}},
                {"l1", chain::public_key{}, {node_role::ledger}}}};
  CHECK(m.expects_ledger());
  auto refused = [&](const node_info& info, const std::string& why) {
    auto err = m.admit(info, now());
    CHECK(err == errc::rejected);
    CHECK_THAT(describe(err), Catch::Contains(why));
  };
  refused(w.info, "requires a node key");
  refused(w.answering(std::vector<uint8_t>(32, 7)), "unknown or expired challenge");
  auto nonce = m.challenge(now());
  refused(w.answering(nonce, &stranger.key), "does not match the node key");
  refused(stranger.answering(nonce), "is not the one the topology lists");
  candidate other{"w9", node_role::worker};
  refused(other.answering(nonce), "no node of that name");
  candidate as_validator{"w1", node_role::validator};
  as_validator.key = w.key;
  refused(as_validator.answering(nonce), "does not give it that role");
  // A challenge expires.
  auto later = now() + challenge_lifetime + std::chrono::seconds{1};
  CHECK(m.admit(w.answering(nonce), later) == errc::rejected);
}

TEST_CASE("an open network admits nodes without keys, and checks a key that is named",
          "[core][membership]") {
  membership open;
  CHECK_FALSE(open.expects_ledger());
  candidate w{"anyone", node_role::worker};
  CHECK_FALSE(open.admit(w.info, now()));
  candidate forger{"anyone", node_role::worker};
  auto nonce = open.challenge(now());
  CHECK(open.admit(w.answering(nonce, &forger.key), now()) == errc::rejected);
  CHECK_FALSE(open.admit(w.answering(nonce), now()));
}

TEST_CASE("a browser node joins as a worker under the name its key gives, and only so",
          "[core][membership][web]") {
  membership m{
      {{"w1", chain::node_key::generate().value().public_bytes(), {node_role::worker}}}};
  candidate b{"", node_role::worker};
  b.info.name = chain::browser_name(b.key.public_bytes());
  CHECK(b.info.name.size() == std::string{"browser-"}.size() + 16);
  auto nonce = m.challenge(now());
  // Browsers are off unless the network serves them.
  CHECK_THAT(describe(m.admit(b.answering(nonce), now())),
             Catch::Contains("takes no browser nodes"));
  m.allow_browsers(true);
  CHECK_FALSE(m.admit(b.answering(nonce), now())); // no topology entry needed
  auto refused = [&](const node_info& info, const std::string& why) {
    auto err = m.admit(info, now());
    CHECK(err == errc::rejected);
    CHECK_THAT(describe(err), Catch::Contains(why));
  };
  // Another key's browser name: the name says which key it must prove.
  candidate squatter{b.info.name, node_role::worker};
  refused(squatter.answering(nonce), "the one its key gives");
  // Only as a worker.
  candidate validator{"", node_role::validator};
  validator.info.name = chain::browser_name(validator.key.public_bytes());
  refused(validator.answering(nonce), "may only be a worker");
  // Never without its proof, even on a network open to anyone.
  refused(b.info, "requires a node key");
  membership open;
  open.allow_browsers(true);
  CHECK(open.admit(b.info, now()) == errc::rejected);
  CHECK_FALSE(open.admit(b.answering(open.challenge(now())), now()));
}
