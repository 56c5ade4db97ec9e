// The ledger-record pipeline without actors: a validator's verdict goes on only when the
// judgment lets it stand, after its contribution and once; forged, altered and unasked
// records are refused; nothing is recorded without a key and a ledger.
#include <catch2/catch.hpp>

#include "actors/core/ledger_recorder.hpp"
#include "chain/contract.hpp"

using namespace nexus;

namespace {

struct fixture {
  chain::node_key hub = chain::node_key::generate().value();
  chain::node_key v1_key = chain::node_key::generate().value();
  node_identity v1{"v1", v1_key.public_bytes()};
  ledger_recorder rec{hub};
  clock_type::time_point now = clock_type::now();

  fixture() {
    rec.set_ledger(true);
  }

  nexus::verdict make_verdict(bool valid = true) {
    nexus::verdict v;
    v.task_id = 3;
    v.shard_id = 1;
    v.attempt = 1;
    v.worker = "w1";
    v.validator = "v1";
    v.valid = valid;
    v.result[0] = 42;
    return v;
  }

  std::vector<uint8_t> signed_record(const nexus::verdict& v, const chain::node_key& key) {
    auto t = ledger_transaction(v, chain::tx_kind::verdict);
    t.valid = v.valid;
    t.sign_with(key);
    return chain::encode(t);
  }

  nexus::judgment make_judgment(const nexus::verdict& v,
                                std::vector<std::string> standing) {
    return nexus::judgment{.verdict = v, .validators = std::move(standing)};
  }

  std::map<uint32_t, uint64_t> submissions; // of the last sent()

  std::vector<chain::transaction> sent() {
    submissions.clear();
    std::vector<chain::transaction> out;
    for (const auto& bytes : rec.flush(&submissions))
      out.push_back(chain::decode_transaction(bytes).value());
    return out;
  }
};

} // namespace

TEST_CASE("a standing verdict goes on after its contribution, whichever came first",
          "[core][ledger-recorder]") {
  for (bool record_first : {false, true}) {
    fixture f;
    auto v = f.make_verdict();
    f.rec.expect(v, 5, "v1", f.now);
    if (record_first) {
      CHECK(f.rec.take({f.signed_record(v, f.v1_key)}, 5, &f.v1).empty());
      CHECK_FALSE(f.rec.pending()); // parked until the judgment says
      f.rec.judged(f.make_judgment(v, {"v1"}), {12, 40, 64}, f.now);
    } else {
      f.rec.judged(f.make_judgment(v, {"v1"}), {12, 40, 64}, f.now);
      CHECK(f.rec.take({f.signed_record(v, f.v1_key)}, 5, &f.v1).empty());
    }
    auto out = f.sent();
    REQUIRE(out.size() == 2);
    CHECK(out[0].kind == chain::tx_kind::contribution);
    CHECK(out[0].work_units == 12);
    CHECK(chain::rows_of(out[0]).value() == std::pair<uint64_t, uint64_t>{40, 64});
    CHECK(out[0].signer == f.hub.public_bytes());
    CHECK(out[1].kind == chain::tx_kind::verdict);
    CHECK(out[1].signer == f.v1_key.public_bytes());
    CHECK(f.sent().empty()); // sent once
  }
}

TEST_CASE("an overturned verdict is not passed on and its validator is audited",
          "[core][ledger-recorder]") {
  fixture f;
  auto v = f.make_verdict(false);
  f.rec.expect(v, 5, "v1", f.now);
  auto j = f.make_judgment(v, {"v2", "v3"});
  j.overturned = {"v1"};
  j.verdict.valid = true;
  f.rec.judged(j, {12, 40, 64}, f.now);
  CHECK(f.rec.take({f.signed_record(v, f.v1_key)}, 5, &f.v1).empty());
  auto out = f.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == chain::tx_kind::audit);
  CHECK(out[0].validator == "v1");
}

TEST_CASE("forged, altered and unasked records are refused with why",
          "[core][ledger-recorder]") {
  fixture f;
  auto v = f.make_verdict();
  auto mallory = chain::node_key::generate().value();
  CHECK_THAT(f.rec.take({f.signed_record(v, f.v1_key)}, 5, &f.v1).front(),
             Catch::Contains("no verdict of this validator"));
  f.rec.expect(v, 5, "v1", f.now);
  CHECK_THAT(f.rec.take({f.signed_record(v, mallory)}, 5, &f.v1).front(),
             Catch::Contains("signed by another key"));
  auto flipped = v;
  flipped.valid = false;
  CHECK_THAT(f.rec.take({f.signed_record(flipped, f.v1_key)}, 5, &f.v1).front(),
             Catch::Contains("differs from the verdict"));
  CHECK_THAT(f.rec.take({f.signed_record(v, f.v1_key)}, 5, nullptr).front(),
             Catch::Contains("joined without a key"));
  CHECK_FALSE(f.rec.take({{1, 2, 3}}, 5, &f.v1).empty()); // not a transaction at all
  CHECK_FALSE(f.rec.pending());
}

TEST_CASE("a result judged without a validator is stated by the hub itself",
          "[core][ledger-recorder]") {
  fixture f;
  auto v = f.make_verdict();
  v.validator.clear();
  f.rec.judged(judgment{.verdict = v, .checked = false}, {7, 0, 8}, f.now);
  auto out = f.sent();
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == chain::tx_kind::contribution);
  CHECK(out[1].kind == chain::tx_kind::acceptance);
  CHECK(out[1].validator == "network");
}

TEST_CASE("nothing is recorded without a ledger, and records wait for one",
          "[core][ledger-recorder]") {
  fixture f;
  f.rec.set_ledger(false);
  f.rec.submitted(9, task_request{.submitter = "alice", .budget = 5});
  CHECK_FALSE(f.rec.pending()); // not kept: no ledger to pay from
  f.rec.set_ledger(true);
  f.rec.submitted(9, task_request{.submitter = "alice", .budget = 5});
  f.rec.set_ledger(false);
  CHECK(f.rec.flush().empty()); // waits
  CHECK(f.rec.pending());
  f.rec.set_ledger(true);
  auto out = f.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == chain::tx_kind::submission);
  CHECK(out[0].account == "alice");
  CHECK(out[0].amount == 5);
  CHECK(f.submissions == std::map<uint32_t, uint64_t>{{0, 9}});
  ledger_recorder keyless;
  keyless.set_ledger(true);
  keyless.submitted(9, task_request{});
  CHECK_FALSE(keyless.pending());
}

TEST_CASE("a joined node's key and a run's steps are the orchestrator's records",
          "[core][ledger-recorder]") {
  fixture f;
  f.rec.joined(f.v1, node_role::validator);
  // Who orchestrates or proposes blocks is the first block's to say, never a join's.
  f.rec.joined({"mallory", f.v1_key.public_bytes()}, node_role::ledger);
  f.rec.joined({"mallory", f.v1_key.public_bytes()}, node_role::orchestrator);
  f.rec.stepped(chain::internal_task_base + 1, 4);
  auto out = f.sent();
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == chain::tx_kind::member);
  auto m = chain::member_of(out[0]);
  REQUIRE(m);
  CHECK(m->name == "v1");
  CHECK(m->key == f.v1_key.public_bytes());
  CHECK(m->roles == chain::bit(chain::role::validator));
  CHECK(out[0].signer == f.hub.public_bytes());
  CHECK(out[0].signature_valid());
  CHECK(out[1].kind == chain::tx_kind::step);
  CHECK(chain::task_of(out[1]).value() == 4);
}
