// The ledger's typed answers, read from a real store: each question fills its own fields
// with values a program can use, and a question about a block that does not exist is an
// error, not a line of text.
#include <catch2/catch.hpp>

#include "actors/core/ledger_queries.hpp"
#include "messages/codec.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

struct fixture {
  test::temp_dir dir;
  chain::node_key proposer = chain::node_key::generate().value();
  chain::node_key validator = chain::node_key::generate().value();
  std::unique_ptr<chain::ledger> ledger =
      chain::ledger::open(dir.path() / "ledger", chain::contract_rules{1, 2, 100, 500},
                          proposer)
          .value();

  chain::transaction contribution(uint64_t task, uint32_t shard, const std::string& worker,
                                  uint8_t result) {
    chain::transaction t;
    t.kind = chain::tx_kind::contribution;
    t.task_id = task;
    t.shard_id = shard;
    t.attempt = 1;
    t.worker = worker;
    t.work_units = 1000;
    t.result[0] = result;
    t.sign_with(proposer);
    return t;
  }

  chain::transaction verdict(const chain::transaction& c, bool valid) {
    chain::transaction t;
    t.kind = chain::tx_kind::verdict;
    t.task_id = c.task_id;
    t.shard_id = c.shard_id;
    t.attempt = c.attempt;
    t.worker = c.worker;
    t.validator = "v1";
    t.result = c.result;
    t.valid = valid;
    t.sign_with(validator);
    return t;
  }

  // Task 7: w1's shard 0 is valid, faulty's shard 1 is not; one block.
  void record_task() {
    auto good = contribution(7, 0, "w1", 1);
    auto bad = contribution(7, 1, "faulty", 9);
    REQUIRE(ledger->commit({good, bad, verdict(good, true), verdict(bad, false)}, 1000));
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
    CHECK(e.height == 0);
    auto t = chain::decode_transaction(e.transaction);
    REQUIRE(t);
    CHECK((t->worker == "w1" || t->account == "w1"));
  }

  auto block = f.ask({.question = ledger_question::block, .height = 0});
  REQUIRE(block.blocks.size() == 1);
  CHECK(block.blocks[0].height == 0);
  CHECK(block.blocks[0].proposer == f.proposer.public_bytes());
  CHECK(block.blocks[0].tx_count == block.entries.size());
  CHECK(block.entries.size() >= 4); // the records and the payments they earned

  auto tail = f.ask({.question = ledger_question::tail});
  REQUIRE(tail.blocks.size() == 1);
  CHECK(tail.blocks[0].hash == block.blocks[0].hash);

  auto verified = f.ask({.question = ledger_question::verify});
  CHECK(verified.audit_ok);
  CHECK(verified.audit_blocks == 1);
  CHECK(verified.audit_transactions == block.entries.size());

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
  auto block = f.ask({.question = ledger_question::block, .height = 0});
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
