// Node identity: Ed25519 keys in a data directory, signatures, and the node id.
#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

#include "chain/identity.hpp"
#include "chain/membership.hpp"
#include "compute/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

TEST_CASE("a node key is created once, kept private, and signs", "[identity]") {
  test::temp_dir dir;
  auto data = dir.path() / "node-a";
  auto key = chain::node_key::load_or_create(data);
  REQUIRE(key);
  struct stat st {};
  REQUIRE(stat((data / "node.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = chain::node_key::load_or_create(data);
  REQUIRE(again);
  CHECK(again->public_bytes() == key->public_bytes());
  CHECK(again->id() == key->id());
  CHECK(key->id().size() == 32);

  std::string text = "nexus-join\nw1\nworker\n";
  std::vector<uint8_t> msg(text.begin(), text.end());
  auto sig = key->sign(msg);
  CHECK(chain::verify(key->public_bytes(), msg, sig));
  auto tampered = msg;
  tampered.back() ^= 1;
  CHECK_FALSE(chain::verify(key->public_bytes(), tampered, sig));
  auto other = chain::node_key::generate();
  REQUIRE(other);
  CHECK_FALSE(chain::verify(other->public_bytes(), msg, sig));
  CHECK(other->public_bytes() != key->public_bytes());
}

TEST_CASE("a node key file that others may read or that is not a key is refused",
          "[identity]") {
  test::temp_dir dir;
  auto data = dir.path() / "node-b";
  REQUIRE(chain::node_key::load_or_create(data));
  chmod((data / "node.key").c_str(), 0644);
  auto open = chain::node_key::load_or_create(data);
  REQUIRE_FALSE(open);
  CHECK_THAT(describe(open.error()), Catch::Contains("chmod 600"));
  {
    std::ofstream out{data / "node.key", std::ios::trunc};
    out << "not a key\n";
  }
  chmod((data / "node.key").c_str(), 0600);
  auto garbage = chain::node_key::load_or_create(data);
  REQUIRE_FALSE(garbage);
  CHECK_THAT(describe(garbage.error()), Catch::Contains("not an Ed25519 private key"));
}

TEST_CASE("public keys round-trip through hex", "[identity]") {
  auto key = chain::node_key::generate();
  REQUIRE(key);
  auto hex = chain::to_hex(key->public_bytes());
  auto back = chain::public_key_from_hex(hex);
  REQUIRE(back);
  CHECK(*back == key->public_bytes());
  CHECK_FALSE(chain::public_key_from_hex(hex.substr(1)));
  CHECK_FALSE(chain::public_key_from_hex(std::string(64, 'g')));
}

TEST_CASE("a browser node's name is bound only to the key it is made from",
          "[chain][membership][web]") {
  using namespace nexus::chain;
  auto browser = node_key::generate().value();
  auto squatter = node_key::generate().value();
  auto name = browser_name(browser.public_bytes());
  CHECK(name.starts_with("browser-"));
  CHECK(name.size() == 8 + 16);
  CHECK(browser_named(name));
  membership m;
  // Someone else binding the name first (as a submitter, say) would keep the browser
  // out for good: refused.
  auto err = m.bind({name, squatter.public_bytes(), chain::bit(chain::role::submitter)});
  CHECK(err == errc::rejected);
  CHECK_THAT(describe(err), Catch::Contains("belongs to the key it is made from"));
  CHECK_FALSE(m.bind({name, browser.public_bytes(), chain::bit(chain::role::worker)}));
}
