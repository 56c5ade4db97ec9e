// The public API, used as an embedding program would: only actors/api/nexus.hpp. A local
// network computes a verified product, answers status, node and ledger questions with
// plain values, and refuses bad input with errors, not crashes.
#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/api/nexus.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

// The product computed directly, to compare with.
compute::tensor multiply(const compute::tensor& a, const compute::tensor& b) {
  compute::tensor c{a.rows(), b.cols()};
  c.as_matrix() = a.as_matrix() * b.as_matrix();
  return c;
}

} // namespace

TEST_CASE("a program embeds a local network and gets a verified product",
          "[api][embedding]") {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  api::configure_local(cfg);
  caf::actor_system sys{cfg};
  auto net = api::local_network::start(sys, {.workers = 3,
                                             .validators = 1,
                                             .faulty_workers = 1,
                                             .data_dir = dir.path().string()});
  REQUIRE(net);
  auto client = (*net)->connect();
  auto a = compute::random_tensor({120, 64}, 1);
  auto b = compute::random_tensor({64, 48}, 2);
  auto task = client->submit_matmul(a, b, task_request{.shards = 6});
  REQUIRE(task);
  CHECK(task->shard_count == 6);
  auto report = client->wait(task->task_id);
  REQUIRE(report);
  CHECK(report->state == task_state::done);
  auto c = client->result(task->task_id);
  REQUIRE(c);
  auto want = multiply(a, b);
  CHECK((c->as_matrix() - want.as_matrix()).cwiseAbs().maxCoeff() < 1e-3f);

  auto nodes = client->nodes();
  REQUIRE(nodes);
  CHECK(nodes->size() >= 4);
  // Without an identity, the client signed as an account of its own key.
  CHECK_THAT(client->account(), Catch::StartsWith("key-"));
  auto charged =
      client->ledger({.question = ledger_question::balance, .account = client->account()});
  REQUIRE(charged);
  REQUIRE(charged->balances.size() == 1);
  CHECK(charged->balances[0].micro_mcc < 0);

  // A submitter's identity, kept in a directory: its account is charged.
  auto alice = api::identity::load_or_create("alice", dir.path() / "alice");
  REQUIRE(alice);
  CHECK(alice->public_key_hex().size() == 64);
  client->sign_as(*alice);
  CHECK(client->account() == "alice");
  auto paid = client->submit_matmul(a, b);
  REQUIRE(paid);
  REQUIRE(client->wait(paid->task_id));
  auto members = client->ledger({.question = ledger_question::members, .account = "alice"});
  REQUIRE(members);
  REQUIRE(members->members.size() == 1);
  auto again = api::identity::load_or_create("alice", dir.path() / "alice");
  REQUIRE(again);
  CHECK(again->public_key_hex() == alice->public_key_hex()); // the same key, kept
  CHECK_FALSE(api::identity::generate("quorum"));            // a name the network keeps
  // Another key in alice's name is refused.
  auto impostor = api::identity::generate("alice");
  REQUIRE(impostor);
  client->sign_as(*impostor);
  auto refused = client->submit_matmul(a, b);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("alice is bound on the ledger"));
  client->sign_as(*alice);
  auto verified = client->ledger({.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
  auto balances = client->ledger({.question = ledger_question::balance});
  REQUIRE(balances);
  CHECK_FALSE(balances->balances.empty());

  auto bad = client->submit_matmul(compute::random_tensor({4, 3}, 3),
                                   compute::random_tensor({5, 2}, 4));
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == errc::invalid_input);
  auto missing = client->status(999);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == errc::not_found);
  (*net)->stop();
}

TEST_CASE("options that make no network are refused clearly", "[api][embedding]") {
  caf::actor_system_config cfg;
  api::configure_local(cfg);
  caf::actor_system sys{cfg};
  auto none = api::local_network::start(sys, {.workers = 0});
  REQUIRE_FALSE(none);
  CHECK(none.error() == errc::invalid_input);
  auto fault = api::local_network::start(sys, {.faulty_workers = 1, .fault = "explode"});
  REQUIRE_FALSE(fault);
  CHECK_THAT(describe(fault.error()), Catch::Contains("unknown fault 'explode'"));
  auto topology = api::settings_of("no/such/topology.yaml");
  REQUIRE_FALSE(topology);
  CHECK(topology.error() == errc::not_found);
}
