// The reward contract: each (task, shard) is paid once, rejected work is penalized, the
// submitter is charged what its task pays, audits of verdicts are paid, and the rules and
// the membership come from the chain.
#include <catch2/catch.hpp>

#include "chain/audit.hpp"
#include "chain/consensus.hpp"
#include "chain/ledger.hpp"
#include "compute/errc.hpp"
#include "test/support/chain.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;

namespace {

const contract_rules rules{2, 2, 100, 500, 50};

// A contract past a first block that binds the keys' network (the hub a worker too, if
// asked).
contract_state started(const test::chain_keys& k, const contract_rules& r = rules,
                       bool hub_works = false,
                       const std::vector<chain::member_entry>& more = {}) {
  auto g = k.start(r);
  if (hub_works)
    g.members[0].roles |= bit(role::worker);
  g.members.insert(g.members.end(), more.begin(), more.end());
  std::vector<transaction> first{rules_record(r)};
  for (const auto& m : g.members)
    first.push_back(member_record(m));
  for (auto& t : first)
    t.signer = k.hub.public_bytes();
  contract_state c;
  auto s = c.settle(first, {0, k.hub.public_bytes(), 0});
  REQUIRE(s.refused.empty());
  REQUIRE(c.started());
  return c;
}

block_context at(const test::chain_keys& k, uint64_t height = 1) {
  return {height, k.hub.public_bytes(), 0};
}

} // namespace

TEST_CASE("each shard is paid once, rejected work is penalized", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  auto c1 = k.contribution(7, 0, 1, "w1");
  auto c2 = k.contribution(7, 0, 2, "w2"); // the same shard, re-issued
  auto bad = k.contribution(7, 1, 1, "faulty", 9);
  auto paid = contract.settle({k.submission(7), c1, c2, bad, k.verdict(c1, true),
                               k.verdict(c2, true), k.verdict(bad, false)},
                              at(k));
  CHECK(paid.refused.empty());
  REQUIRE(paid.payments.size() == 4);
  CHECK(paid.payments[0].account == "w1");
  CHECK(paid.payments[0].amount == 1800); // 1000 units * 2, less the validator's 10 %
  CHECK(paid.payments[1].account == "v1");
  CHECK(paid.payments[1].amount == 200);
  CHECK(paid.payments[2].kind == tx_kind::charge);
  CHECK(paid.payments[2].account == "alice");
  CHECK(paid.payments[3].kind == tx_kind::penalty);
  CHECK(paid.payments[3].account == "faulty");
  CHECK(paid.payments[3].signer == k.hub.public_bytes()); // stamped with the proposer
  CHECK(contract.paid(7, 0));
  CHECK_FALSE(contract.paid(7, 1));
  // Replayed verdicts, and a verdict on a result nobody contributed, pay nothing.
  auto forged = k.verdict(k.contribution(7, 1, 1, "faulty", 3), true);
  auto again = contract.settle({k.verdict(c1, true), k.verdict(c2, true), forged}, at(k));
  CHECK(again.payments.empty());
  CHECK(contract.balances().at("w1") == 1800);
  CHECK_FALSE(contract.balances().contains("w2")); // never paid: its result came second
  CHECK(contract.balances().at("faulty") == -500);
  CHECK(contract.supply().paid == 2000);
  CHECK(contract.supply().charged == 2000);
  CHECK(contract.supply().penalized == 500);
}

TEST_CASE("a submitter is charged what its task pays, within the task's budget",
          "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  // Two shards of 2000 micro-MCC fit, a third does not.
  std::vector<transaction> inputs{k.submission(9, 4500)};
  for (uint32_t shard = 0; shard < 3; ++shard) {
    auto c = k.contribution(9, shard, 1, "w1");
    inputs.push_back(c);
    inputs.push_back(k.verdict(c, true));
  }
  auto paid = contract.settle(inputs, at(k));
  CHECK(paid.refused.empty());
  REQUIRE(paid.payments.size() == 6); // worker, validator and charge, for two shards
  CHECK(paid.payments[2].kind == tx_kind::charge);
  CHECK(paid.payments[2].account == "alice");
  CHECK(paid.payments[2].amount == 2000);
  CHECK(contract.balances().at("alice") == -4000);
  CHECK(contract.balances().at("w1") + contract.balances().at("v1") == 4000);
  CHECK_FALSE(contract.paid(9, 2));
  // A second submission of the same task is refused, whoever signs it.
  auto second = contract.settle({k.submission(9, 0)}, at(k));
  REQUIRE(second.refused.size() == 1);
  CHECK_THAT(second.refused[0].second, Catch::Contains("submitted before"));
}

TEST_CASE("a validator's audit of another's verdict is paid as judging work", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  auto c = k.contribution(4, 0, 1, "w1");
  auto paid = contract.settle(
      {k.submission(4), c, k.verdict(c, true, "v1"), k.verdict(c, true, "v2")}, at(k));
  CHECK(paid.refused.empty());
  // The shard: 2000 (w1 1800, v1 200); v2's audit: 5 % of it, charged to alice too.
  CHECK(contract.balances().at("v2") == 100);
  CHECK(contract.balances().at("alice") == -2100);
  CHECK(contract.streaks().at("v2") == 1);
  // Its verdict again pays nothing more.
  CHECK(contract.settle({k.verdict(c, true, "v2")}, at(k)).payments.empty());
}

TEST_CASE("a training run's steps are charged to the run's submitter", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  auto step_task = internal_task_base + 3;
  transaction step;
  step.kind = tx_kind::step;
  step.task_id = step_task;
  step.data = u64_data(5);
  step.sign_with(k.hub);
  auto c = k.contribution(step_task, 0, 1, "w1");
  auto paid =
      contract.settle({k.submission(5, 1'000'000), step, c, k.verdict(c, true)}, at(k));
  CHECK(paid.refused.empty());
  CHECK(contract.balances().at("alice") == -2000);
  // A step of a task nobody submitted is refused, and so is work on a task without one.
  step.task_id = step_task + 1;
  step.data = u64_data(6);
  step.sign_with(k.hub);
  auto orphan = k.contribution(8, 0, 1, "w1");
  auto refused = contract.settle({step, orphan}, at(k));
  REQUIRE(refused.refused.size() == 2);
  CHECK_THAT(refused.refused[0].second, Catch::Contains("has no submission"));
  CHECK_THAT(refused.refused[1].second, Catch::Contains("no submission on the chain"));
}

TEST_CASE("users' task ids and internal ones are counted apart", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  CHECK(contract.last_task() == 0);
  transaction step;
  step.kind = tx_kind::step;
  step.task_id = internal_task_base + 7;
  step.data = u64_data(5);
  step.sign_with(k.hub);
  CHECK(contract.settle({k.submission(5), step}, at(k)).refused.empty());
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
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = dir.path() / "ledger";
  {
    auto l = ledger::open(path, k.start(rules), k.hub);
    REQUIRE(l);
    CHECK((*l)->chain().head().blocks == 1); // the first block: rules and members
    REQUIRE((*l)->commit({k.submission(1)}, 999));
    for (uint32_t shard = 0; shard < 20; ++shard) {
      auto c = k.contribution(1, shard, 1, shard % 5 == 0 ? "faulty" : "w1");
      auto b = (*l)->commit({c, k.verdict(c, shard % 5 != 0)}, 1000 + shard);
      REQUIRE(b);
      CHECK(b->refused.empty());
    }
    // A forged verdict is refused before anything is stored.
    auto v = k.verdict(k.contribution(1, 1, 1, "w1"), true);
    v.valid = false;
    auto refused = (*l)->commit({v}, 0);
    REQUIRE_FALSE(refused);
    CHECK(is(refused.error(), errc::rejected));
    CHECK((*l)->chain().head().blocks == 22);
    CHECK((*l)->chain().balance("w1") == 16 * 1800);
    CHECK((*l)->chain().balance("faulty") == -4 * 500);
    auto report = audit((*l)->chain());
    REQUIRE(report);
    CHECK_THAT(describe_audit(report),
               Catch::StartsWith("ledger OK: 22 blocks, 100 transactions, 7 members"));
    CHECK(report->rules == rules);
    CHECK(report->supply.penalized == 4 * 500);
  }
  // Reopened, it goes on paying exactly once.
  auto l = ledger::open(path, k.start(rules), k.hub);
  REQUIRE(l);
  auto again = k.contribution(1, 3, 2, "w2"); // shard 3 was paid already
  REQUIRE((*l)->commit({again, k.verdict(again, true)}, 5000));
  CHECK((*l)->chain().balance("w2") == 0);
  CHECK(audit((*l)->chain()));
}

TEST_CASE("a disk without room refuses a block and changes nothing; the block goes later",
          "[ledger]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto ledger = ledger::open(dir.path() / "ledger", k.start(rules), k.hub);
  REQUIRE(ledger);
  auto c = k.contribution(3, 0, 1, "w1");
  std::vector<transaction> inputs{k.submission(3), c, k.verdict(c, true)};
  (*ledger)->keep_free(uint64_t{1} << 62); // no disk has that much free
  auto refused = (*ledger)->commit(inputs, 1);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::failed));
  CHECK_THAT(describe(refused.error()), Catch::Contains("free"));
  CHECK((*ledger)->chain().head().blocks == 1);
  CHECK_FALSE((*ledger)->contract().paid(3, 0)); // the contract did not move on
  (*ledger)->keep_free(0);
  auto stored = (*ledger)->commit(inputs, 2);
  REQUIRE(stored);
  CHECK((*ledger)->chain().head().blocks == 2);
  CHECK((*ledger)->contract().balances().at("w1") == 1800);
}

TEST_CASE("double signing by a ledger node is penalized once, on evidence that proves it",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  auto c = started(k);
  auto vote_of = [&](const node_key& key, uint8_t first_byte, uint32_t round = 0) {
    consensus::message m =
        consensus::vote{consensus::vote_kind::prevote, 5, round, digest{}, {}, {}};
    std::get<consensus::vote>(m).value->at(0) = first_byte;
    consensus::sign(m, key);
    return std::get<consensus::vote>(m);
  };
  auto record = [&](const consensus::evidence& e, const std::string& account,
                    const node_key& reporter) {
    transaction t;
    t.kind = tx_kind::evidence;
    t.account = account;
    t.data = consensus::encode(e);
    t.sign_with(reporter);
    return t;
  };
  consensus::evidence real{vote_of(k.hub, 1), vote_of(k.hub, 2)};
  REQUIRE(consensus::evidence_problem(real).empty());
  auto back = consensus::decode_evidence(consensus::encode(real));
  REQUIRE(back);
  CHECK(back->first == real.first);
  CHECK(back->second == real.second);

  // Forgeries and misnamed evidence are refused, each with why.
  auto forged = real;
  forged.second.sig[0] ^= 1;
  consensus::evidence same{real.first, real.first};
  consensus::evidence two_signers{vote_of(k.hub, 1), vote_of(k.v1, 2)};
  consensus::evidence two_rounds{vote_of(k.hub, 1), vote_of(k.hub, 2, 1)};
  auto refused =
      c.settle({record(forged, "hub", k.hub), record(same, "hub", k.hub),
                record(two_signers, "hub", k.hub), record(two_rounds, "hub", k.hub),
                record(real, "v1", k.hub), record(real, "hub", k.v1)},
               at(k));
  REQUIRE(refused.refused.size() == 6);
  CHECK_THAT(refused.refused[0].second, Catch::Contains("signature does not verify"));
  CHECK_THAT(refused.refused[1].second, Catch::Contains("same value"));
  CHECK_THAT(refused.refused[2].second, Catch::Contains("differ in signer"));
  CHECK_THAT(refused.refused[3].second, Catch::Contains("differ in signer, kind, height"));
  CHECK_THAT(refused.refused[4].second, Catch::Contains("not signed by the key of ledger"));
  CHECK_THAT(refused.refused[5].second, Catch::Contains("holds no ledger role"));
  CHECK(refused.payments.empty());

  // The real evidence costs the hub one penalty, however often it is reported.
  auto made = c.settle(
      {record(real, "hub", k.hub), record({real.second, real.first}, "hub", k.hub)},
      at(k, 2));
  REQUIRE(made.payments.size() == 1);
  CHECK(made.payments[0].kind == tx_kind::penalty);
  CHECK(made.payments[0].account == "hub");
  CHECK(made.payments[0].amount == rules.penalty_micro_mcc);
  REQUIRE(made.refused.size() == 1);
  CHECK_THAT(made.refused[0].second, Catch::Contains("penalized already"));
  CHECK(c.balances().at("hub") == -rules.penalty_micro_mcc);
}

TEST_CASE("an orchestrator cannot grant the ledger or orchestrator role",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  auto c = started(k);
  auto mallory = node_key::generate().value();
  auto grant = [&](const std::string& name, const public_key& key, uint32_t roles) {
    auto t = member_record({name, key, roles});
    t.sign_with(k.hub);
    return t;
  };
  auto made = c.settle({grant("mallory", mallory.public_bytes(), bit(role::ledger)),
                        grant("w1", k.w1.public_bytes(), bit(role::orchestrator)),
                        grant("w9", mallory.public_bytes(), bit(role::worker))},
                       at(k));
  REQUIRE(made.refused.size() == 2);
  CHECK_THAT(made.refused[0].second, Catch::Contains("worker and validator roles only"));
  CHECK(made.refused[1].first == 1);
  CHECK(c.members().keys_holding(role::ledger) == std::vector{k.hub.public_bytes()});
  CHECK(c.members().find("w9") != nullptr);
}

TEST_CASE("a hub proves the work it records: units from the submitter's plan, each row "
          "paid once",
          "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  // 100 rows of 2 MFLOP each: 2 work units a row, 4 micro-MCC at rules' 2 a unit.
  auto s = k.submission(5, 0, 100, 2'000'000);
  auto first = k.contribution_of_rows(5, 0, 1, "w1", 0, 50, 100);
  auto inflated = k.contribution_of_rows(5, 1, 1, "w2", 50, 100, 1000);
  auto no_rows = k.contribution(5, 1, 1, "w2", 1, 100);
  auto outside = k.contribution_of_rows(5, 1, 1, "w2", 90, 120, 60);
  auto settled = contract.settle({s, first, inflated, no_rows, outside}, at(k));
  REQUIRE(settled.refused.size() == 3);
  CHECK(settled.refused[0].first == 2);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("submission's plan gives 100"));
  CHECK(settled.refused[1].first == 3);
  CHECK_THAT(settled.refused[1].second, Catch::Contains("no rows stated"));
  CHECK(settled.refused[2].first == 4);
  CHECK_THAT(settled.refused[2].second, Catch::Contains("whose submission has 100"));

  // The same rows again under another shard id, or half of them: admitted (a task that
  // moved is planned anew), paid nothing. The rows not paid yet are.
  auto again = k.contribution_of_rows(5, 2, 1, "w2", 0, 50, 100);
  auto half = k.contribution_of_rows(5, 3, 1, "w2", 40, 60, 40);
  auto rest = k.contribution_of_rows(5, 4, 1, "w2", 50, 100, 100);
  settled =
      contract.settle({k.verdict(first, true), again, half, rest, k.verdict(again, true),
                       k.verdict(half, true), k.verdict(rest, true)},
                      at(k, 2));
  CHECK(settled.refused.empty());
  CHECK(contract.balances().at("w1") == 180);     // 100 units at 2, less 10 % to v1
  CHECK(contract.balances().at("w2") == 180);     // the rest only
  CHECK(contract.balances().at("alice") == -400); // the whole task, once
  CHECK(contract.paid(5, 0));
  CHECK_FALSE(contract.paid(5, 2));
  CHECK_FALSE(contract.paid(5, 3));
  CHECK(contract.paid(5, 4));

  // A submission that binds rows of no work, or no rows, reads as nothing.
  auto empty = k.submission(6, 0, 1, 1);
  empty.data = chain::terms_data({.nonce = 77, .rows = 0, .flops_per_row = 0});
  empty.data.resize(24);
  empty.sign_with(k.alice);
  settled = contract.settle({empty}, at(k, 3));
  REQUIRE(settled.refused.size() == 1);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("neither 0"));
}

TEST_CASE("a hub that cuts a task into one-row shards earns no more than the plan gives",
          "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  // 1,000 rows of 1,000 FLOP: 1 MFLOP in all, 1 work unit whatever the cut. Rounded up
  // shard by shard, one-row shards would earn 1,000.
  auto s = k.submission(5, 0, 1000, 1000);
  std::vector<transaction> records{s};
  for (uint32_t row = 0; row < 1000; ++row) {
    auto c = k.contribution_of_rows(5, row, 1, "w1", row, row + 1, row == 0 ? 1 : 0);
    records.push_back(c);
    records.push_back(k.verdict(c, true));
  }
  auto settled = contract.settle(records, at(k));
  CHECK(settled.refused.empty());
  CHECK(contract.balances().at("w1") == 2);     // 1 unit at 2 (v1's 10 % rounds to 0)
  CHECK(contract.balances().at("alice") == -2); // charged the plan's one unit, once
  auto claims_one = k.contribution_of_rows(5, 1000, 1, "w1", 10, 11, 1);
  settled = contract.settle({claims_one}, at(k, 2));
  REQUIRE(settled.refused.size() == 1);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("plan gives 0"));
}

TEST_CASE("a hub its submitter did not name records nothing of the task", "[ledger]") {
  auto k = test::chain_keys::in();
  auto other = chain::node_key::generate().value();
  auto contract =
      started(k, rules, false, {{"hub2", other.public_bytes(), bit(role::orchestrator)}});
  auto named = [&](uint64_t task, std::vector<public_key> hubs) {
    auto t = k.submission(task, 0, 100, 2'000'000);
    auto terms = chain::terms_of(t).value();
    terms.hubs = std::move(hubs);
    t.data = chain::terms_data(terms);
    t.sign_with(k.alice);
    REQUIRE(chain::terms_of(t));
    CHECK(chain::terms_of(t)->hubs.size() == terms.hubs.size());
    return t;
  };
  auto by = [](transaction t, const chain::node_key& key) {
    t.sign_with(key);
    return t;
  };
  // Task 5 names the hub alone; task 6 both hubs. Each contribution names the request of
  // its submission.
  auto five = named(5, {k.hub.public_bytes()});
  auto six = named(6, {k.hub.public_bytes(), other.public_bytes()});
  auto of_request = [&](transaction c, const transaction& s, const chain::node_key& key) {
    auto rows = chain::rows_of(c).value();
    c.data = chain::rows_data(rows.first, rows.second, s.result);
    return by(c, key);
  };
  auto mine = of_request(k.contribution_of_rows(5, 0, 1, "w1", 0, 50, 100), five, k.hub);
  auto theirs =
      of_request(k.contribution_of_rows(5, 1, 1, "w2", 50, 100, 100), five, other);
  auto accepted = k.verdict(theirs, true);
  accepted.kind = tx_kind::acceptance;
  accepted.validator = "network";
  accepted = by(accepted, other);
  auto shared = of_request(k.contribution_of_rows(6, 0, 1, "w2", 0, 100, 200), six, other);
  // Another request under task 6's id (a squatter's, at a hub the submitter named): no
  // contribution of its work counts, nor one that names no request.
  auto squatted = six;
  squatted.result[0] ^= 1;
  auto foreign =
      of_request(k.contribution_of_rows(6, 1, 1, "w1", 0, 50, 100), squatted, k.hub);
  auto unnamed = by(k.contribution_of_rows(6, 2, 1, "w1", 50, 100, 100), k.hub);
  auto settled =
      contract.settle({five, six, mine, theirs, accepted, shared, foreign, unnamed}, at(k));
  REQUIRE(settled.refused.size() == 4);
  CHECK(settled.refused[0].first == 3);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("which the submitter of task 5 did "
                                                        "not name"));
  CHECK(settled.refused[1].first == 4);
  CHECK(settled.refused[2].first == 6);
  CHECK_THAT(settled.refused[2].second, Catch::Contains("does not name the request"));
  CHECK(settled.refused[3].first == 7);
  // A list of keys that is not whole, or too long, is no submission.
  auto torn = named(7, {k.hub.public_bytes()});
  torn.data.pop_back();
  torn.sign_with(k.alice);
  CHECK_FALSE(chain::terms_of(torn));
  std::vector<public_key> many(chain::max_submission_hubs + 1, k.hub.public_bytes());
  auto crowded = k.submission(8, 0, 100, 2'000'000);
  auto terms = chain::terms_of(crowded).value();
  terms.hubs = many;
  crowded.data = chain::terms_data(terms);
  CHECK_FALSE(chain::terms_of(crowded));
}

TEST_CASE("a task whose submission binds its work has no steps to pay its rows again",
          "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  auto step = [&](uint64_t id, uint64_t parent) {
    transaction t;
    t.kind = tx_kind::step;
    t.task_id = id;
    t.data = u64_data(parent);
    t.sign_with(k.hub);
    return t;
  };
  auto settled =
      contract.settle({k.submission(5, 0, 100, 2'000'000), k.submission(6),
                       step(internal_task_base + 1, 5), step(internal_task_base + 2, 6)},
                      at(k));
  REQUIRE(settled.refused.size() == 1);
  CHECK(settled.refused[0].first == 2);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("binds its work: it has no steps"));
}

TEST_CASE("a contribution to a task that binds no work may state its rows", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k);
  auto stated = k.contribution_of_rows(4, 0, 1, "w1", 0, 8, 1000);
  auto garbled = k.contribution(4, 1, 1, "w2");
  garbled.data = {1, 2, 3};
  garbled.sign_with(k.hub);
  auto settled =
      contract.settle({k.submission(4), stated, garbled, k.verdict(stated, true)}, at(k));
  REQUIRE(settled.refused.size() == 1);
  CHECK(settled.refused[0].first == 2);
  CHECK(contract.balances().at("w1") == 1800); // by its work units: nothing bound them
}

TEST_CASE("a hub is never paid for work it assigned its own node", "[ledger]") {
  auto k = test::chain_keys::in();
  auto contract = started(k, rules, true); // the hub's node holds the worker role too
  auto own = k.contribution(8, 0, 1, "hub");
  auto other = k.contribution(8, 1, 1, "w1");
  auto settled = contract.settle({k.submission(8), own, other}, at(k));
  REQUIRE(settled.refused.size() == 1);
  CHECK(settled.refused[0].first == 1);
  CHECK_THAT(settled.refused[0].second, Catch::Contains("never paid for work it assigned"));
  settled = contract.settle({k.verdict(own, true, "v1")}, at(k, 2));
  CHECK(settled.payments.empty()); // nothing it could judge: the contribution was refused
  CHECK_FALSE(contract.balances().contains("hub"));
}
