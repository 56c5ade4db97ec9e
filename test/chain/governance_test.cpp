// Governance: the contract's rules change only by a record that more than two thirds of
// the ledger nodes approved, for this chain, from a height still ahead; blocks from that
// height on are paid by the new rules, and the audit replays each height under the rules
// then in force. Each attack below is a way a node or an outsider could try to change the
// rules alone.
#include <catch2/catch.hpp>

#include "chain/audit.hpp"
#include "chain/governance.hpp"
#include "chain/ledger.hpp"
#include "test/support/chain.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;

namespace {

const contract_rules rules{2, 2, 100, 500, 50};

// The keys' network with four ledger nodes: the hub and l2..l4.
struct four_ledgers {
  test::chain_keys k = test::chain_keys::in();
  std::vector<node_key> others{node_key::generate().value(), node_key::generate().value(),
                               node_key::generate().value()};

  genesis start() const {
    auto g = k.start(rules);
    for (std::size_t i = 0; i < others.size(); ++i)
      g.members.push_back(
          {"l" + std::to_string(i + 2), others[i].public_bytes(), bit(role::ledger)});
    return g;
  }

  // A contract that applied the first block (so it knows the chain's name).
  contract_state started(block& first) const {
    auto g = start();
    std::vector<transaction> records{rules_record(g.rules)};
    for (const auto& m : g.members)
      records.push_back(member_record(m));
    first = first_block(std::move(records), 0, state_root({}));
    contract_state c;
    REQUIRE(c.replay(first));
    return c;
  }

  // The ledger nodes' approvals of `c`: the hub's and the first `n - 1` others'.
  std::vector<approval> approvals(const rules_change& c, std::size_t n) const {
    std::vector<approval> out{approve(c, k.hub)};
    for (std::size_t i = 0; i + 1 < n; ++i)
      out.push_back(approve(c, others[i]));
    return out;
  }

  // The record of `g`, sent (signed) by `sender`.
  static transaction record(const governance& g, const node_key& sender) {
    auto t = governance_record(g);
    t.sign_with(sender);
    return t;
  }
};

block_context at(const four_ledgers& n, uint64_t height) {
  return {height, n.k.hub.public_bytes(), 0};
}

// What worker w1 earns for a 1000-unit shard of task `task` that v1 found valid.
int64_t paid_to_w1(contract_state& c, const four_ledgers& n, uint64_t task,
                   uint64_t height) {
  auto contribution = n.k.contribution(task, 0, 1, "w1");
  auto s = c.settle({n.k.submission(task), contribution, n.k.verdict(contribution, true)},
                    at(n, height));
  REQUIRE(s.refused.empty());
  REQUIRE(!s.payments.empty());
  return s.payments[0].amount;
}

} // namespace

TEST_CASE("a proposer alone cannot change the rules after the first block",
          "[ledger][governance][attack]") {
  four_ledgers n;
  block first;
  auto c = n.started(first);
  auto dear = rules;
  dear.validator_share_permille = 900;
  auto t = rules_record(dear);
  t.signer = n.k.hub.public_bytes(); // the proposer's own record, as in the first block
  auto s = c.settle({t}, at(n, 1));
  REQUIRE(s.refused.size() == 1);
  CHECK_THAT(s.refused[0].second, Catch::Contains("rules change by governance records"));
  CHECK(c.rules() == rules);
}

TEST_CASE("rules change by governance from the stated height on", "[ledger][governance]") {
  four_ledgers n;
  block first;
  auto c = n.started(first);
  CHECK(c.chain_id() == first.header.hash());
  auto dear = rules;
  dear.version = 3;
  dear.micro_mcc_per_work_unit = 5;
  governance g{{first.header.hash(), 0, 3, dear}, {}};
  g.approvals = n.approvals(g.change, 3); // 3 of 4: more than two thirds
  // Handed in by anyone: the approvals are what count.
  auto s = c.settle({four_ledgers::record(g, n.k.alice)}, at(n, 1));
  REQUIRE(s.refused.empty());
  CHECK(c.scheduled() == std::map<uint64_t, contract_rules>{{3, dear}});
  CHECK(c.rules() == rules);
  CHECK(paid_to_w1(c, n, 1, 2) == 1800); // height 2: still 2 per unit, less 10 %
  CHECK(paid_to_w1(c, n, 2, 3) == 4500); // height 3: 5 per unit
  CHECK(c.rules() == dear);
  CHECK(c.scheduled().empty());
}

TEST_CASE("a governance record is refused unless more than two thirds approved it, for "
          "this chain and a height ahead",
          "[ledger][governance][attack]") {
  four_ledgers n;
  block first;
  auto c = n.started(first);
  auto dear = rules;
  dear.penalty_micro_mcc = 0;
  rules_change change{first.header.hash(), 0, 5, dear};
  auto refused = [&](const governance& g, const node_key& sender, uint64_t height = 1) {
    auto copy = c;
    auto s = copy.settle({four_ledgers::record(g, sender)}, at(n, height));
    REQUIRE(s.refused.size() == 1);
    CHECK(copy.scheduled().empty());
    return s.refused[0].second;
  };
  SECTION("two of four") {
    CHECK_THAT(refused({change, n.approvals(change, 2)}, n.k.hub),
               Catch::Contains("approved by 2 of 4"));
  }
  SECTION("one node's approval twice") {
    auto a = n.approvals(change, 2);
    a.push_back(a[1]);
    CHECK_THAT(refused({change, a}, n.k.hub), Catch::Contains("two approvals by"));
  }
  SECTION("an approval by a key without the ledger role") {
    auto a = n.approvals(change, 2);
    a.push_back(approve(change, n.k.v1));
    CHECK_THAT(refused({change, a}, n.k.hub), Catch::Contains("which is no ledger node"));
  }
  SECTION("a forged approval") {
    auto a = n.approvals(change, 3);
    a[2].sig[7] ^= 1;
    CHECK_THAT(refused({change, a}, n.k.hub), Catch::Contains("does not verify"));
  }
  SECTION("approvals of other rules than the record states") {
    auto a = n.approvals(change, 4);
    auto other = change;
    other.rules.penalty_micro_mcc = 1;
    CHECK_THAT(refused({other, a}, n.k.hub), Catch::Contains("does not verify"));
  }
  SECTION("approvals given for another height") {
    auto a = n.approvals(change, 4);
    auto later = change;
    later.height = 9;
    CHECK_THAT(refused({later, a}, n.k.hub), Catch::Contains("does not verify"));
  }
  SECTION("another chain's change, approved by the same keys") {
    auto elsewhere = change;
    elsewhere.chain[0] ^= 1;
    CHECK_THAT(refused({elsewhere, n.approvals(elsewhere, 4)}, n.k.hub),
               Catch::Contains("for another chain"));
  }
  SECTION("a height that is not ahead of the block") {
    CHECK_THAT(refused({change, n.approvals(change, 4)}, n.k.hub, 5),
               Catch::Contains("not ahead of this block"));
  }
  SECTION("the change replayed, a second one for its height, or one it overtook") {
    // R1 is approved for height 9 but kept back; the change is recorded first.
    rules_change r1{first.header.hash(), 0, 9, rules};
    r1.rules.audit_share_permille = 0;
    auto kept_back = four_ledgers::record({r1, n.approvals(r1, 4)}, n.k.hub);
    auto s = c.settle({four_ledgers::record({change, n.approvals(change, 3)}, n.k.hub)},
                      at(n, 1));
    REQUIRE(s.refused.empty());
    CHECK(c.rules_changes() == 1);
    auto replayed = c.settle(
        {four_ledgers::record({change, n.approvals(change, 4)}, n.k.hub)}, at(n, 2));
    REQUIRE(replayed.refused.size() == 1);
    CHECK_THAT(replayed.refused[0].second, Catch::Contains("but the chain's next is 1"));
    auto same_height = change;
    same_height.sequence = 1;
    auto second = c.settle(
        {four_ledgers::record({same_height, n.approvals(same_height, 4)}, n.k.hub)},
        at(n, 2));
    REQUIRE(second.refused.size() == 1);
    CHECK_THAT(second.refused[0].second, Catch::Contains("scheduled already"));
    auto overtaken = c.settle({kept_back}, at(n, 2));
    REQUIRE(overtaken.refused.size() == 1);
    CHECK_THAT(overtaken.refused[0].second, Catch::Contains("but the chain's next is 1"));
    CHECK(c.scheduled() == std::map<uint64_t, contract_rules>{{5, dear}});
  }
  SECTION("a field the record does not use") {
    auto t = governance_record({change, n.approvals(change, 4)});
    t.account = "hub";
    t.sign_with(n.k.hub);
    auto s = c.settle({t}, at(n, 1));
    REQUIRE(s.refused.size() == 1);
    CHECK_THAT(s.refused[0].second, Catch::Contains("does not use"));
  }
}

TEST_CASE("a governance record's text form round-trips and names the bad line",
          "[ledger][governance]") {
  four_ledgers n;
  rules_change change{sha256(std::vector<uint8_t>{1, 2, 3}), 4, 12, rules};
  governance g{change, n.approvals(change, 3)};
  auto back = parse_governance(to_text(g));
  REQUIRE(back);
  CHECK(*back == g);
  auto record = governance_of(governance_record(g));
  REQUIRE(record);
  CHECK(*record == g);
  CHECK_THAT(describe(parse_governance("chain 00\nheight 1\n").error()),
             Catch::Contains("line 1"));
  CHECK_THAT(describe(parse_governance("# a change\nchain " + to_hex(change.chain)
                                       + "\nsequence 0\nheight 4\nrules 2 0 100 500 50\n")
                          .error()),
             Catch::Contains("line 5") && Catch::Contains("micro_mcc_per_work_unit"));
  CHECK_THAT(describe(parse_governance("height 4\n").error()),
             Catch::Contains("names its chain, sequence, height and rules"));
  // What an operator reads is what is signed: no word twice, no sign that wraps an
  // unsigned number around, no bytes that could redraw a line on a terminal.
  auto text = to_text({change, {}});
  CHECK_THAT(describe(parse_governance(text + "height 5\n").error()),
             Catch::Contains("line 5: height a second time"));
  auto minus = text;
  minus.replace(minus.find("height 12"), 9, "height -1");
  CHECK_THAT(describe(parse_governance(minus).error()), Catch::Contains("height takes"));
  CHECK_THAT(describe(parse_governance("# \x1b[1A\n" + text).error()),
             Catch::Contains("line 1: a byte that is not printable"));
  auto commented = parse_governance("# a change\n" + text + "   # and a comment\n");
  REQUIRE(commented);
  CHECK(commented->change == change);
  auto huge = text;
  huge.replace(huge.find("height 12"), 9, "height 99999999999999999999");
  CHECK_THAT(describe(parse_governance(huge).error()), Catch::Contains("height takes"));
  auto truncated = governance_record(g);
  truncated.data.pop_back();
  CHECK(is(governance_of(truncated).error(), errc::corrupted));
}

TEST_CASE("a single ledger node adopting other rules schedules them by governance, "
          "and the audit replays each height under the rules then in force",
          "[ledger][governance]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = dir.path() / "ledger";
  {
    auto l = ledger::open(path, k.start(rules), k.hub);
    REQUIRE(l);
    auto c = k.contribution(1, 0, 1, "w1");
    REQUIRE((*l)->commit({k.submission(1), c, k.verdict(c, true)}, 10));
    CHECK((*l)->chain().balance("w1") == 1800);
  }
  auto cheap = rules;
  cheap.micro_mcc_per_work_unit = 1;
  {
    auto l = ledger::open(path, k.start(cheap), k.hub);
    REQUIRE(l);
    REQUIRE_FALSE((*l)->adopt_rules(cheap));
    CHECK((*l)->chain().head().height == 2); // the governance record's block
    CHECK((*l)->contract().scheduled().at(3) == cheap);
    auto c = k.contribution(1, 1, 1, "w1");
    REQUIRE((*l)->commit({c, k.verdict(c, true)}, 20));
    CHECK((*l)->chain().balance("w1") == 1800 + 900);
  }
  {
    auto l = ledger::open(path, k.start(cheap), k.hub); // nothing to change again
    REQUIRE(l);
    REQUIRE_FALSE((*l)->adopt_rules(cheap));
    CHECK((*l)->chain().head().height == 3);
  }
  // Restarted with other rules twice before the first change holds: each holds after the
  // one before it, and a third start with the same rules records nothing.
  auto dear = rules;
  dear.micro_mcc_per_work_unit = 7;
  {
    auto l = ledger::open(path, k.start(rules), k.hub);
    REQUIRE(l);
    REQUIRE_FALSE((*l)->adopt_rules(rules));
    CHECK((*l)->contract().scheduled().at(5) == rules);
  }
  for (int i = 0; i < 2; ++i) {
    auto l = ledger::open(path, k.start(dear), k.hub);
    REQUIRE(l);
    REQUIRE_FALSE((*l)->adopt_rules(dear));
    CHECK((*l)->chain().head().height == 5);
    CHECK((*l)->contract().scheduled().at(6) == dear);
    CHECK((*l)->contract().rules_changes() == 3);
  }
  auto s = store::open_read_only(path);
  REQUIRE(s);
  auto report = audit(**s);
  REQUIRE(report);
  CHECK(report->rules == rules); // in force at the head (height 5)
  CHECK(report->scheduled == std::map<uint64_t, contract_rules>{{6, dear}});
}
