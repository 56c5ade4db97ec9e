// The ledger's typed answers, read from a real store: each question fills its own fields
// with values a program can use, and a question about a block that does not exist is an
// error, not a line of text.
#include <catch2/catch.hpp>

#include "actors/core/ledger_queries.hpp"
#include "messages/codec.hpp"
#include "test/support/chain.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

struct fixture {
  test::temp_dir dir;
  test::chain_keys k = test::chain_keys::in();
  std::unique_ptr<chain::ledger> ledger =
      chain::ledger::open(dir.path() / "ledger", k.start({2, 2, 100, 500, 50}), k.hub)
          .value();

  // Task 7: w1's shard 0 is valid, faulty's shard 1 is not; in block 1, after the first.
  void record_task() {
    auto good = k.contribution(7, 0, 1, "w1", 1);
    auto bad = k.contribution(7, 1, 1, "faulty", 9);
    auto made = ledger->commit(
        {k.submission(7), good, bad, k.verdict(good, true), k.verdict(bad, false)}, 1000);
    REQUIRE(made);
    REQUIRE(made->refused.empty());
  }

  ledger_answer ask(ledger_query q) {
    auto a = answer(*ledger, q);
    REQUIRE(a);
    return *a;
  }
};

} // namespace

TEST_CASE("ledger questions are answered with typed values", "[core][ledger-queries]") {
  fixture f;
  f.record_task();

  auto all = f.ask({.question = ledger_question::balance});
  std::map<std::string, int64_t> balance;
  for (const auto& b : all.balances)
    balance[b.account] = b.micro_mcc;
  CHECK(balance["w1"] == 1800);
  CHECK(balance["v1"] == 200);
  CHECK(balance["faulty"] == -500);

  auto one = f.ask({.question = ledger_question::balance, .account = "faulty"});
  REQUIRE(one.balances.size() == 1);
  CHECK(one.balances[0].micro_mcc == -500);

  auto history = f.ask({.question = ledger_question::history, .account = "w1"});
  REQUIRE_FALSE(history.entries.empty());
  for (const auto& e : history.entries) {
    CHECK(e.height <= 1);
    auto t = chain::decode_transaction(e.transaction);
    REQUIRE(t);
    CHECK((t->worker == "w1" || t->account == "w1"));
  }

  auto block = f.ask({.question = ledger_question::block, .height = 1});
  REQUIRE(block.blocks.size() == 1);
  CHECK(block.blocks[0].height == 1);
  CHECK(block.blocks[0].proposer == f.k.hub.public_bytes());
  CHECK(block.blocks[0].tx_count == block.entries.size());
  CHECK(block.entries.size() >= 4); // the records and the payments they earned

  auto tail = f.ask({.question = ledger_question::tail});
  REQUIRE(tail.blocks.size() == 2);
  CHECK(tail.blocks.back().hash == block.blocks[0].hash);

  auto verified = f.ask({.question = ledger_question::verify});
  CHECK(verified.audit_ok);
  CHECK(verified.audit_blocks == 2);
  CHECK(verified.audit_transactions == 7 + block.entries.size()); // the first: 7 records
  CHECK_THAT(verified.audit_report, Catch::StartsWith("ledger OK: 2 blocks"));

  auto last = f.ask({.question = ledger_question::last_task});
  CHECK(last.last_task == 7);

  auto trust = f.ask({.question = ledger_question::trust});
  std::map<std::string, uint32_t> streaks{trust.streaks.begin(), trust.streaks.end()};
  CHECK(streaks["w1"] == 1);
  CHECK(streaks["faulty"] == 0);
}

TEST_CASE("a question about a block above the head is an error", "[core][ledger-queries]") {
  fixture f;
  f.record_task();
  auto missing = answer(*f.ledger, {.question = ledger_question::block, .height = 99});
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == errc::not_found);
  CHECK_THAT(describe(missing.error()), Catch::Contains("99"));
}

TEST_CASE("a ledger answer crosses the wire unchanged", "[core][ledger-queries]") {
  fixture f;
  f.record_task();
  auto block = f.ask({.question = ledger_question::block, .height = 1});
  auto back = wire::decode(wire::encode(block));
  REQUIRE(back);
  REQUIRE(back->blocks.size() == 1);
  CHECK(back->blocks[0].hash == block.blocks[0].hash);
  CHECK(back->blocks[0].merkle_root == block.blocks[0].merkle_root);
  REQUIRE(back->entries.size() == block.entries.size());
  CHECK(back->entries.back().transaction == block.entries.back().transaction);
  auto q = wire::decode(wire::encode(ledger_query{.question = ledger_question::trust}));
  REQUIRE(q);
  CHECK(q->question == ledger_question::trust);
}
