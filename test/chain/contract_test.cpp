// The reward contract and the audit: each (task, shard) is paid once, rejected work is
// penalized, replaying the chain reproduces every balance, and a changed byte anywhere in
// the store is reported with its height.
#include <catch2/catch.hpp>

#include <leveldb/db.h>

#include "chain/audit.hpp"
#include "chain/ledger.hpp"
#include "compute/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;

namespace {

struct fixture {
  node_key proposer = node_key::generate().value();
  node_key validator = node_key::generate().value();
  contract_rules rules{1, 2, 100, 500};

  transaction contribution(uint64_t task, uint32_t shard, uint32_t attempt,
                           const std::string& worker, uint8_t result = 1) {
    transaction t;
    t.kind = tx_kind::contribution;
    t.task_id = task;
    t.shard_id = shard;
    t.attempt = attempt;
    t.worker = worker;
    t.validator = "v1";
    t.work_units = 1000;
    t.result[0] = result;
    t.sign_with(proposer);
    return t;
  }

  transaction verdict(const transaction& c, bool valid) {
    transaction t;
    t.kind = tx_kind::verdict;
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
};

} // namespace

TEST_CASE("each shard is paid once, rejected work is penalized", "[ledger]") {
  fixture f;
  contract_state contract{f.rules};
  auto c1 = f.contribution(7, 0, 1, "w1");
  auto c2 = f.contribution(7, 0, 2, "w2"); // the same shard, re-issued
  auto bad = f.contribution(7, 1, 1, "faulty", 9);
  auto paid = contract.settle(
      {c1, c2, bad, f.verdict(c1, true), f.verdict(c2, true), f.verdict(bad, false)});
  REQUIRE(paid.size() == 3);
  CHECK(paid[0].account == "w1");
  CHECK(paid[0].amount == 1800); // 1000 units * 2, less the validator's 10 %
  CHECK(paid[1].account == "v1");
  CHECK(paid[1].amount == 200);
  CHECK(paid[2].kind == tx_kind::penalty);
  CHECK(paid[2].account == "faulty");
  CHECK(contract.paid(7, 0));
  CHECK_FALSE(contract.paid(7, 1));
  // Replayed verdicts, and a verdict on a result nobody contributed, pay nothing.
  auto forged = f.verdict(f.contribution(7, 1, 1, "faulty", 3), true);
  CHECK(contract.settle({f.verdict(c1, true), f.verdict(c2, true), forged}).empty());
  CHECK(contract.balances().at("w1") == 1800);
  CHECK_FALSE(contract.balances().contains("w2")); // never paid: its result came second
  CHECK(contract.balances().at("faulty") == -500);
}

TEST_CASE("a submitter is charged what its task pays, within the task's budget",
          "[ledger]") {
  fixture f;
  contract_state contract{f.rules};
  transaction submission;
  submission.kind = tx_kind::submission;
  submission.task_id = 9;
  submission.account = "alice";
  submission.amount = 4500; // two shards of 2000 micro-MCC fit, a third does not
  submission.sign_with(f.proposer);
  auto second = submission;
  second.account = "mallory"; // a later submission of the same task changes nothing
  second.amount = 0;
  std::vector<transaction> inputs{submission, second};
  for (uint32_t shard = 0; shard < 3; ++shard) {
    auto c = f.contribution(9, shard, 1, "w1");
    inputs.push_back(c);
    inputs.push_back(f.verdict(c, true));
  }
  auto paid = contract.settle(inputs);
  REQUIRE(paid.size() == 6); // worker, validator and charge, for two shards
  CHECK(paid[2].kind == tx_kind::charge);
  CHECK(paid[2].account == "alice");
  CHECK(paid[2].amount == 2000);
  CHECK(contract.balances().at("alice") == -4000);
  CHECK(contract.balances().at("w1") + contract.balances().at("v1") == 4000);
  CHECK_FALSE(contract.balances().contains("mallory"));
  CHECK_FALSE(contract.paid(9, 2));
}

TEST_CASE("users' task ids and internal ones are counted apart", "[ledger]") {
  fixture f;
  contract_state contract{f.rules};
  CHECK(contract.last_task() == 0);
  contract.settle(
      {f.contribution(5, 0, 1, "w1"), f.contribution(internal_task_base + 7, 0, 1, "w1")});
  CHECK(contract.last_task() == 5);
  CHECK(contract.last_internal_task() == internal_task_base + 7);
  CHECK(task_name(5) == "task 5");
  CHECK(task_name(internal_task_base + 7) == "internal task 7");
}

TEST_CASE("money amounts are parsed and printed exactly", "[ledger]") {
  CHECK(parse_mcc("2").value() == 2'000'000);
  CHECK(parse_mcc("0.25").value() == 250'000);
  CHECK(parse_mcc("12.000345").value() == 12'000'345);
  for (auto bad :
       {"", "-1", "1.", ".5", "1.0000001", "1e3", "abc", "1.2.3", "9999999999999"})
    CHECK_FALSE(parse_mcc(bad));
  CHECK(format_mcc(12'000'345) == "12.000345 MCC");
  CHECK(format_mcc(-1'500'000) == "-1.500000 MCC");
}

TEST_CASE("the ledger commits blocks that the audit replays to the same balances",
          "[ledger]") {
  fixture f;
  test::temp_dir dir;
  auto path = dir.path() / "ledger";
  {
    auto l = ledger::open(path, f.rules, f.proposer);
    REQUIRE(l);
    for (uint32_t shard = 0; shard < 20; ++shard) {
      auto c = f.contribution(1, shard, 1, shard % 5 == 0 ? "faulty" : "w1");
      auto b = (*l)->commit({c, f.verdict(c, shard % 5 != 0)}, 1000 + shard);
      REQUIRE(b);
    }
    // A forged verdict is refused before anything is stored.
    auto v = f.verdict(f.contribution(1, 99, 1, "w1"), true);
    v.valid = false;
    auto refused = (*l)->commit({v}, 0);
    REQUIRE_FALSE(refused);
    CHECK(is(refused.error(), errc::rejected));
    CHECK((*l)->chain().head().blocks == 20);
    CHECK((*l)->chain().balance("w1") == 16 * 1800);
    CHECK((*l)->chain().balance("faulty") == -4 * 500);
    auto report = audit((*l)->chain(), f.rules);
    REQUIRE(report);
    CHECK(describe_audit(report) == "ledger OK: 20 blocks, 76 transactions");
  }
  // Reopened, it goes on paying exactly once.
  auto l = ledger::open(path, f.rules, f.proposer);
  REQUIRE(l);
  auto again = f.contribution(1, 3, 2, "w2"); // shard 3 was paid already
  REQUIRE((*l)->commit({again, f.verdict(again, true)}, 5000));
  CHECK((*l)->chain().balance("w2") == 0);
  CHECK(audit((*l)->chain(), f.rules));
}

TEST_CASE("a block that pays twice, or a changed stored byte, fails the audit",
          "[ledger]") {
  fixture f;
  test::temp_dir dir;
  auto path = dir.path() / "ledger";
  {
    auto l = ledger::open(path, f.rules, f.proposer);
    REQUIRE(l);
    for (uint32_t shard = 0; shard < 4; ++shard) {
      auto c = f.contribution(1, shard, 1, "w1");
      REQUIRE((*l)->commit({c, f.verdict(c, true)}, 1));
    }
  }
  SECTION("a proposer that pays itself more") {
    {
      auto s = store::open(path);
      REQUIRE(s);
      auto c = f.contribution(1, 9, 1, "w1");
      auto v = f.verdict(c, true);
      transaction extra;
      extra.kind = tx_kind::reward;
      extra.account = "w1";
      extra.amount = 1'000'000;
      extra.sign_with(f.proposer);
      // Signatures and links are all valid; only the contract can tell.
      auto b = seal(4, (*s)->head().hash, {c, v, extra}, 2, f.proposer);
      REQUIRE_FALSE((*s)->append(b, {{"w1", 1'000'000}}));
      auto report = audit(**s, f.rules);
      REQUIRE_FALSE(report);
      CHECK(describe_audit(report)
            == "ledger BAD at height 4: block 4: holds 1 payments, the contract (v1) "
               "derives 2");
    }
  }
  SECTION("a changed byte in a stored block or balance") {
    auto corrupt = [&](const std::string& key, std::size_t offset) {
      leveldb::DB* raw = nullptr;
      REQUIRE(leveldb::DB::Open(leveldb::Options{}, path.string(), &raw).ok());
      std::unique_ptr<leveldb::DB> db{raw};
      std::string value;
      REQUIRE(db->Get(leveldb::ReadOptions{}, key, &value).ok());
      value[offset % value.size()] ^= 0x20;
      REQUIRE(db->Put(leveldb::WriteOptions{}, key, value).ok());
    };
    std::string height2 = std::string{"b"} + std::string(7, '\0') + "\x02";
    for (std::size_t offset : {std::size_t{30}, std::size_t{150}, std::size_t{400}}) {
      test::temp_dir copy;
      std::filesystem::copy(path, copy.path() / "l",
                            std::filesystem::copy_options::recursive);
      path = copy.path() / "l";
      corrupt(height2, offset);
      auto s = store::open(path);
      REQUIRE(s);
      auto report = audit(**s, f.rules);
      REQUIRE_FALSE(report);
      CHECK_THAT(describe_audit(report), Catch::StartsWith("ledger BAD at height 2:"));
      path = dir.path() / "ledger";
    }
    {
      // A changed byte in a transaction's index entry.
      auto s = store::open(path);
      REQUIRE(s);
      auto b1 = (*s)->get(1);
      REQUIRE(b1);
      auto id = b1->txs[0].id();
      s->reset();
      test::temp_dir copy;
      std::filesystem::copy(path, copy.path() / "l",
                            std::filesystem::copy_options::recursive);
      path = copy.path() / "l";
      corrupt("t" + std::string(id.begin(), id.end()), 7);
      auto t = store::open(path);
      REQUIRE(t);
      CHECK_THAT(describe_audit(audit(**t, f.rules)),
                 Catch::StartsWith("ledger BAD at height 1:"));
      path = dir.path() / "ledger";
    }
    corrupt("aw1", 7);
    auto s = store::open(path);
    REQUIRE(s);
    CHECK_THAT(describe_audit(audit(**s, f.rules)),
               Catch::Contains("balance of w1: stored"));
  }
}

TEST_CASE("a disk without room refuses a block and changes nothing; the block goes later",
          "[ledger]") {
  fixture f;
  test::temp_dir dir;
  auto ledger = ledger::open(dir.path() / "ledger", f.rules, f.proposer);
  REQUIRE(ledger);
  auto c = f.contribution(3, 0, 1, "w1");
  std::vector<transaction> inputs{c, f.verdict(c, true)};
  (*ledger)->keep_free(uint64_t{1} << 62); // no disk has that much free
  auto refused = (*ledger)->commit(inputs, 1);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::failed));
  CHECK_THAT(describe(refused.error()), Catch::Contains("free"));
  CHECK((*ledger)->chain().head().blocks == 0);
  CHECK_FALSE((*ledger)->contract().paid(3, 0)); // the contract did not move on
  (*ledger)->keep_free(0);
  auto stored = (*ledger)->commit(inputs, 2);
  REQUIRE(stored);
  CHECK((*ledger)->chain().head().blocks == 1);
  CHECK((*ledger)->contract().balances().at("w1") == 1800);
}
