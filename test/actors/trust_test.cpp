// Trust under attack: results bound to their worker and attempt, adaptive verification,
// audits of lying validators, and a chaos run in which a third of the workers and one
// validator misbehave while nothing wrong reaches an output or earns a reward.
#include <catch2/catch.hpp>

#include <set>

#include "actors/results.hpp"
#include "actors/task_table.hpp"
#include "chain/store.hpp"
#include "compute/gemm.hpp"
#include "compute/nn/model.hpp"
#include "test/support/embedded.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::test;
using namespace std::chrono_literals;

namespace {

shard_output result_of(uint32_t attempt, std::string worker, float value) {
  shard_output r;
  r.task_id = 7;
  r.shard_id = 3;
  r.attempt = attempt;
  r.worker = std::move(worker);
  r.output = compute::tensor{2, 2};
  r.output.data()[0] = value;
  return r;
}

} // namespace

TEST_CASE("a result is bound to its worker, task, shard and attempt", "[actors][trust]") {
  auto key = chain::node_key::generate().value();
  auto other = chain::node_key::generate().value();
  result_batch batch;
  batch.add(result_of(1, "w1", 1.0f));
  batch.add(result_of(2, "w1", 2.0f));
  batch.add(result_of(3, "w1", 3.0f));
  auto signed_results = batch.sign(key);
  REQUIRE(signed_results.size() == 3);
  CHECK(batch.empty());
  expectation_info expected{"w1", key.public_bytes(), check_mode::check};
  chain::statement_verifier verify{result_tag};
  for (const auto& r : signed_results)
    CHECK_FALSE(authenticate(r, output_digest(r.output), expected, verify));

  // Replayed for another attempt, claimed by another worker, altered, or signed by
  // another key: each is refused.
  auto replayed = signed_results[0];
  replayed.attempt = 4;
  CHECK(authenticate(replayed, output_digest(replayed.output), expected, verify)
        == errc::rejected);
  auto claimed = signed_results[1];
  claimed.worker = "w2";
  CHECK_THAT(describe(authenticate(claimed, output_digest(claimed.output), expected, verify)),
             Catch::Contains("names worker w2"));
  auto altered = signed_results[2];
  altered.output.data()[1] = 5.0f;
  CHECK(authenticate(altered, output_digest(altered.output), expected, verify)
        == errc::rejected);
  expectation_info impostor{"w1", other.public_bytes(), check_mode::check};
  CHECK(authenticate(signed_results[0], output_digest(signed_results[0].output), impostor,
                     verify)
        == errc::rejected);
  auto unsigned_result = result_of(1, "w1", 1.0f);
  CHECK(authenticate(unsigned_result, output_digest(unsigned_result.output), expected, verify)
        == errc::rejected);
}

TEST_CASE("trust grows with valid checked results, never past the floor, and resets",
          "[actors][trust]") {
  scheduler_limits limits;
  limits.window_per_worker = 1;
  limits.trust_after = 10;
  limits.check_floor = 0.2;
  limits.audit_rate = 0;
  limits.seed = 42;
  task_table table{limits};
  auto now = clock_type::now();
  table.add_node({"w1", node_role::worker, "cpu", 1, 0, 1});
  for (auto v : {"v1", "v2", "v3"})
    table.add_node({v, node_role::validator, "cpu", 1, 0, 1});
  table.set_streaks({{"v1", 100}, {"v2", 100}, {"v3", 100}}); // trusted validators
  task_request req;
  req.shards = 400;
  req.matmul.a.shape = {400, 4};
  req.matmul.b.shape = {4, 4};
  auto ack = table.add_task(req, now).value();
  std::size_t checked = 0, unchecked = 0, checked_before_trust = 0;
  for (int i = 0; i < 400; ++i) {
    auto sent = table.schedule(now);
    REQUIRE(sent.size() == 1);
    const auto& d = sent[0];
    bool trusted = d.mode == check_mode::trust;
    (trusted ? unchecked : checked) += 1;
    if (i < 10)
      checked_before_trust += !trusted;
    verdict_info v{ack.task_id, d.shard.shard_id, d.shard.attempt, "w1",
                   trusted ? "" : "v1", true, "", 0};
    judgment_info j{v, !trusted, {}, trusted ? std::vector<std::string>{}
                                             : std::vector<std::string>{"v1"}};
    table.on_judgment(j);
  }
  CHECK(checked_before_trust == 10); // a new worker: every result checked
  CHECK(unchecked > 200);            // trusted: most go unchecked...
  CHECK(checked >= 0.2 * 390 * 0.8); // ...but never fewer than the floor (with slack)
  INFO("checked " << checked << " unchecked " << unchecked);
  CHECK(table.streak("w1") > 10);
  table.on_output(ack.task_id, now); // delivered: what it accepted stands

  // One invalid checked result: trust starts over, and what it was trusted with in a
  // running task is taken back to run again.
  auto ack2 = table.add_task(req, now).value();
  std::vector<uint32_t> trusted_shards;
  std::optional<shard_dispatch> to_fail;
  for (int i = 0; i < 60 && !to_fail; ++i) {
    auto d = table.schedule(now).at(0);
    bool trusted = d.mode == check_mode::trust;
    if (trusted)
      trusted_shards.push_back(d.shard.shard_id);
    if (!trusted && !trusted_shards.empty()) {
      to_fail = d;
      break;
    }
    verdict_info v{ack2.task_id, d.shard.shard_id, d.shard.attempt, "w1", trusted ? "" : "v1",
                   true, "", 0};
    table.on_judgment({v, !trusted, {}, trusted ? std::vector<std::string>{}
                                                : std::vector<std::string>{"v1"}});
  }
  REQUIRE(to_fail);
  verdict_info bad{ack2.task_id, to_fail->shard.shard_id, to_fail->shard.attempt, "w1", "v1",
                   false, "Freivalds check failed", 0};
  table.on_judgment({bad, true, {}, {"v1"}});
  CHECK(table.streak("w1") == 0);
  auto revoked = table.take_revoked();
  CHECK(revoked.size() == trusted_shards.size());
  for (int i = 0; i < 10; ++i) {
    auto d = table.schedule(now);
    if (d.empty())
      break;
    CHECK(d[0].mode != check_mode::trust); // checked again until trust is earned anew
    verdict_info v{ack2.task_id, d[0].shard.shard_id, d[0].shard.attempt, "w1", "v1", true,
                   "", 0};
    table.on_judgment({v, true, {}, {"v1"}});
  }
}

TEST_CASE("a lying validator is overturned by audits, penalized, and outputs stay exact",
          "[actors][trust]") {
  temp_dir dir;
  embedded_options opts{4, 3};
  opts.faulty_workers = 1;                 // corrupts every result
  opts.lying_validators = 1;               // turns every verdict around
  opts.data_dir = dir.path();
  fixture f{opts};
  auto a = compute::random_tensor({120, 40}, 1);
  auto b = compute::random_tensor({40, 30}, 2);
  auto expected = compute::multiply(a, b);
  uint32_t overturned = 0;
  for (int i = 0; i < 4; ++i) {
    task_request req;
    req.shards = 12;
    req.max_attempts = 12;
    auto [report, c] = f.run(a, b, req);
    INFO(report.reason);
    REQUIRE(report.state == task_state::done);
    CHECK(compute::max_relative_difference(c, expected) <= 1e-5);
    overturned += report.verdicts_overturned;
  }
  CHECK(overturned > 0);
  auto balance = f.api->ledger(ledger_query{"balance", "lying-validator-1"});
  REQUIRE(balance);
  REQUIRE(balance->size() == 1);
  CHECK_THAT(balance->front(), Catch::Contains("-")); // penalties outweigh its earnings
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  for (const auto& n : *nodes)
    if (n.info.name == "lying-validator-1")
      CHECK(n.shards_rejected > 0);
}
