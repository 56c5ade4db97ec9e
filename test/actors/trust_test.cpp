// Trust under attack: results bound to their worker and attempt, adaptive verification,
// audits of lying validators, and a chaos run in which a third of the workers and one
// validator misbehave while nothing wrong reaches an output or earns a reward.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <set>

#include "actors/core/results.hpp"
#include "actors/core/task_table.hpp"
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
  auto envelopes = batch.sign(key);
  REQUIRE(envelopes.size() == 3);
  CHECK(batch.empty());
  // Each comes encoded with its output's digest, which readers in this process reuse.
  std::vector<shard_output> signed_results;
  for (const auto& sealed : envelopes) {
    const auto& e = sealed.msg;
    auto r = wire::decode(e);
    REQUIRE(r);
    REQUIRE(e.payload_digest());
    CHECK(*e.payload_digest() == output_digest(r->output));
    CHECK(output_digest(e, *r) == output_digest(r->output));
    signed_results.push_back(std::move(*r));
  }
  // Bytes from another process carry no digest: the reader computes its own.
  auto received = wire::shard_output{envelopes[0].msg.bytes()};
  CHECK_FALSE(received.payload_digest());
  CHECK(output_digest(received, signed_results[0])
        == output_digest(signed_results[0].output));
  expectation expected{"w1", key.public_bytes(), check_mode::check};
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
  CHECK_THAT(
      describe(authenticate(claimed, output_digest(claimed.output), expected, verify)),
      Catch::Contains("names worker w2"));
  auto altered = signed_results[2];
  altered.output.data()[1] = 5.0f;
  CHECK(authenticate(altered, output_digest(altered.output), expected, verify)
        == errc::rejected);
  expectation impostor{"w1", other.public_bytes(), check_mode::check};
  CHECK(authenticate(signed_results[0], output_digest(signed_results[0].output), impostor,
                     verify)
        == errc::rejected);
  auto unsigned_result = result_of(1, "w1", 1.0f);
  CHECK(
      authenticate(unsigned_result, output_digest(unsigned_result.output), expected, verify)
      == errc::rejected);
}

TEST_CASE("wide rows are committed finer than any validator tolerance", "[actors][trust]") {
  // A round's gradient rows: 20,000 values each, spread over many binades.
  auto rows = compute::random_tensor({3, 20000}, 11);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows.data()[i] = std::ldexp(rows.data()[i], static_cast<int>(i % 24) - 16);
  auto root = output_digest(rows);
  auto row = [&](std::size_t r) {
    return std::span<const float>{rows.data() + r * 20000, 20000};
  };
  auto commitment = row_commitment(row(1));
  auto changed = [&](std::size_t i, float to) {
    auto copy = rows;
    copy.data()[20000 + i] = to;
    return std::pair{row_commitment({copy.data() + 20000, 20000}), output_digest(copy)};
  };
  // A change of one value by a thousandth of itself, or of the smallest value to
  // zero, changes the row's commitment and the root.
  auto bigger = changed(5, rows.data()[20005] * 1.001f);
  CHECK(bigger.first != commitment);
  CHECK(bigger.second != root);
  std::size_t smallest = 0;
  for (std::size_t i = 1; i < 20000; ++i)
    if (std::abs(row(1)[i]) < std::abs(row(1)[smallest]))
      smallest = i;
  CHECK(changed(smallest, 0.0f).first != commitment);
  // Below half precision's rounding (a float's last bit, away from a tie) nothing changes.
  auto value = rows.data()[20007];
  CHECK(changed(7, std::nextafter(value, 2 * value)).first == commitment);
  // The whole row scaled by two is another row; so is one with a NaN or an infinity.
  std::vector<float> twice(row(1).begin(), row(1).end());
  for (auto& v : twice)
    v *= 2;
  CHECK(row_commitment(twice) != commitment);
  auto nan = changed(3, std::nanf(""));
  auto inf = changed(3, INFINITY);
  CHECK(nan.first != commitment);
  CHECK(inf.first != commitment);
  CHECK(nan.first != inf.first);
  // Rows are committed apart: swapping two rows changes the root.
  auto swapped = rows;
  std::swap_ranges(swapped.data(), swapped.data() + 20000, swapped.data() + 20000);
  CHECK(output_digest(swapped) != root);
  CHECK(output_digest(rows) == root);
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
    verdict v{ack.task_id,
              d.shard.shard_id,
              d.shard.attempt,
              "w1",
              trusted ? "" : "v1",
              true,
              "",
              0};
    judgment j{v,
               !trusted,
               {},
               trusted ? std::vector<std::string>{} : std::vector<std::string>{"v1"}};
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
    verdict v{ack2.task_id,
              d.shard.shard_id,
              d.shard.attempt,
              "w1",
              trusted ? "" : "v1",
              true,
              "",
              0};
    table.on_judgment(
        {v,
         !trusted,
         {},
         trusted ? std::vector<std::string>{} : std::vector<std::string>{"v1"}});
  }
  REQUIRE(to_fail);
  verdict bad{ack2.task_id,
              to_fail->shard.shard_id,
              to_fail->shard.attempt,
              "w1",
              "v1",
              false,
              "Freivalds check failed",
              0};
  table.on_judgment({bad, true, {}, {"v1"}});
  CHECK(table.streak("w1") == 0);
  auto revoked = table.take_revoked();
  CHECK(revoked.size() == trusted_shards.size());
  for (int i = 0; i < 10; ++i) {
    auto d = table.schedule(now);
    if (d.empty())
      break;
    CHECK(d[0].mode != check_mode::trust); // checked again until trust is earned anew
    verdict v{
        ack2.task_id, d[0].shard.shard_id, d[0].shard.attempt, "w1", "v1", true, "", 0};
    table.on_judgment({v, true, {}, {"v1"}});
  }
}

TEST_CASE("a lying validator is overturned by audits, penalized, and outputs stay exact",
          "[actors][trust]") {
  temp_dir dir;
  embedded_options opts{4, 3};
  opts.faulty_workers = 1;   // corrupts every result
  opts.lying_validators = 1; // turns every verdict around
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
  auto balance = f.api->ledger(
      ledger_query{.question = ledger_question::balance, .account = "lying-validator-1"});
  REQUIRE(balance);
  REQUIRE(balance->balances.size() == 1);
  CHECK(balance->balances.front().micro_mcc < 0); // penalties outweigh its earnings
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  for (const auto& n : *nodes)
    if (n.info.name == "lying-validator-1")
      CHECK(n.shards_rejected > 0);
}

TEST_CASE("a worker that crashes mid-task costs only time", "[actors][trust]") {
  embedded_options opts{3, 1};
  opts.faulty_workers = 1;
  opts.fault = worker_fault::crash;
  fixture f{opts};
  auto a = compute::random_tensor({90, 30}, 3);
  auto b = compute::random_tensor({30, 20}, 4);
  task_request req;
  req.shards = 9;
  auto [report, c] = f.run(a, b, req);
  REQUIRE(report.state == task_state::done);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) <= 1e-5);
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  for (const auto& n : *nodes)
    if (n.info.name == "faulty-worker-1")
      CHECK(n.state == node_state::dead);
}

namespace {

struct attempt_record {
  std::string worker;             // whose contribution it is
  std::set<bool> verdicts;        // validity of every verdict or acceptance recorded
  std::set<std::string> credited; // workers and validators those valid ones name
  bool unchecked = false;         // accepted on the worker's record
};

} // namespace

TEST_CASE("chaos: with a third of the workers and a validator misbehaving, every output "
          "is exact and nobody is paid for rejected work",
          "[actors][chaos]") {
  temp_dir dir;
  {
    embedded_options opts{8, 3};
    opts.faulty_workers = 3;
    opts.fault_mix = {{worker_fault::corrupt, 0.5},
                      {worker_fault::garbage, 0.5},
                      {worker_fault::late, 0.3}};
    opts.lying_validators = 1;
    opts.lie_rate = 0.5;
    opts.data_dir = dir.path();
    opts.limits.shard_deadline = 1500ms; // the late worker's shards are re-issued
    opts.limits.max_attempts = 30;
    fixture f{opts};

    // A stream of matmuls, inferences and a training run, all at once.
    std::vector<std::pair<uint64_t, compute::tensor>> matmuls;
    for (std::size_t i = 0; i < 6; ++i) {
      auto a = compute::random_tensor({60 + 17 * i, 33}, 10 + i);
      auto b = compute::random_tensor({33, 21 + 5 * i}, 20 + i);
      task_request req;
      req.shards = 12;
      req.max_attempts = 30;
      auto ack = f.api->submit_matmul(a, b, req);
      REQUIRE(ack);
      matmuls.emplace_back(ack->task_id, compute::multiply(a, b));
    }
    auto spec = compute::nn::parse_model_spec("mlp:12-16-4").value();
    auto model = compute::nn::mlp::initialized(spec, 5);
    compute::tensor weights{1, model.parameters().size()};
    std::copy(model.parameters().begin(), model.parameters().end(), weights.data());
    std::vector<std::pair<uint64_t, compute::tensor>> inferences;
    for (uint64_t i = 0; i < 2; ++i) {
      auto x = leaning(300, 12, 4, 40 + i).x;
      task_request req;
      req.model.spec = "mlp:12-16-4";
      req.model.sample_rate = 0.5;
      req.max_attempts = 30;
      auto ack = f.api->submit_infer(weights, x, req);
      REQUIRE(ack);
      inferences.emplace_back(ack->task_id, model.probabilities(x.data(), x.rows()));
    }
    auto train = leaning(1000, 12, 4, 50);
    auto test_set = leaning(300, 12, 4, 51);
    auto train_req = training(3);
    train_req.max_attempts = 30;
    auto run = f.api->submit_train(train, &test_set, train_req);
    REQUIRE(run);

    for (const auto& [id, expected] : matmuls) {
      auto report = f.api->wait(id, {}, 120s);
      REQUIRE(report);
      INFO("matmul task " << id << ": " << report->reason);
      REQUIRE(report->state == task_state::done);
      auto out = f.api->result(id);
      REQUIRE(out);
      CHECK(compute::max_relative_difference(*out, expected) <= 1e-5);
    }
    for (const auto& [id, expected] : inferences) {
      auto report = f.api->wait(id, {}, 120s);
      REQUIRE(report);
      INFO("infer task " << id << ": " << report->reason);
      REQUIRE(report->state == task_state::done);
      auto out = f.api->result(id);
      REQUIRE(out);
      CHECK(compute::max_relative_difference(*out, expected) <= 1e-4);
    }
    auto trained = f.api->wait(run->task_id, {}, 180s);
    REQUIRE(trained);
    INFO(trained->reason);
    REQUIRE(trained->state == task_state::done);
    CHECK(trained->epochs.back().test_accuracy > 0.95);

    auto verified = f.api->ledger(ledger_query{.question = ledger_question::verify});
    REQUIRE(verified);
    CHECK(verified->audit_ok);
    CHECK(verified->audit_blocks > 0);
  } // the network stops and its ledger is stored

  auto store = chain::store::open(dir.path() / "ledger");
  REQUIRE(store);
  std::map<std::tuple<uint64_t, uint32_t, uint32_t>, attempt_record> attempts;
  std::vector<chain::transaction> rewards;
  std::map<std::string, int> penalties;
  std::map<std::string, int> audits;
  for (uint64_t h = 0; h < (*store)->head().blocks; ++h) {
    auto b = (*store)->get(h);
    REQUIRE(b);
    for (const auto& t : b->txs) {
      auto& rec = attempts[{t.task_id, t.shard_id, t.attempt}];
      if (t.kind == chain::tx_kind::verdict || t.kind == chain::tx_kind::acceptance) {
        bool valid = t.kind == chain::tx_kind::acceptance || t.valid;
        rec.verdicts.insert(valid);
        if (valid) {
          rec.credited.insert(t.worker);
          rec.credited.insert(t.validator);
        }
      }
      if (t.kind == chain::tx_kind::contribution)
        rec.worker = t.worker;
      if (t.kind == chain::tx_kind::acceptance)
        rec.unchecked = true;
      if (t.kind == chain::tx_kind::audit)
        ++audits[t.validator];
      if (t.kind == chain::tx_kind::reward)
        rewards.push_back(t);
      if (t.kind == chain::tx_kind::penalty)
        ++penalties[t.account];
    }
  }
  // The ledger never holds verdicts that contradict each other on one attempt...
  for (const auto& [key, rec] : attempts)
    CHECK(rec.verdicts.size() <= 1);
  // ...and every reward is for an attempt judged valid, to a node that attempt names.
  for (const auto& r : rewards) {
    const auto& rec = attempts[{r.task_id, r.shard_id, r.attempt}];
    INFO(r.account << " rewarded for task " << r.task_id << " shard " << r.shard_id);
    CHECK(rec.verdicts == std::set<bool>{true});
    CHECK(rec.credited.contains(r.account));
  }
  // What docs/SECURITY.md compares with the sampling theory: per worker, its judged
  // attempts, how many were rejected, and how many went unchecked.
  std::map<std::string, std::array<int, 3>> by_worker;
  for (const auto& [key, rec] : attempts)
    if (!rec.worker.empty()) {
      auto& row = by_worker[rec.worker];
      ++row[0];
      row[1] += rec.verdicts.contains(false);
      row[2] += rec.unchecked;
    }
  for (const auto& [who, row] : by_worker)
    std::printf("chaos: %-16s %4d results judged, %3d rejected, %3d accepted unchecked\n",
                who.c_str(), row[0], row[1], row[2]);
  std::printf("chaos: lying-validator-1 overturned %d times\n",
              audits["lying-validator-1"]);
  CHECK(penalties["faulty-worker-1"] > 0);   // corrupted results
  CHECK(penalties["faulty-worker-2"] > 0);   // garbage bytes
  CHECK(penalties["lying-validator-1"] > 0); // overturned by audits
}

TEST_CASE("replicate:K: a quorum of workers agrees, the minority is rejected",
          "[actors][trust]") {
  temp_dir dir;
  embedded_options opts{5, 1};
  opts.faulty_workers = 1;
  opts.data_dir = dir.path();
  fixture f{opts};
  auto a = compute::random_tensor({200, 60}, 8);
  auto b = compute::random_tensor({60, 50}, 9);
  task_request req;
  req.shards = 10;
  // Every worker holds a replica of every shard, so the corrupting one cannot miss the
  // task: with three replicas of five workers it sometimes held none, or only replicas
  // that came in after their shards were decided (one run in fifteen).
  req.replicas = 5;
  auto [report, c] = f.run(a, b, req);
  INFO(report.reason);
  REQUIRE(report.state == task_state::done);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) <= 1e-5);
  CHECK(report.results_rejected > 0); // the corrupting worker was outvoted
  auto balance = f.api->ledger(
      ledger_query{.question = ledger_question::balance, .account = "faulty-worker-1"});
  REQUIRE(balance);
  REQUIRE(balance->balances.size() == 1);
  CHECK(balance->balances.front().micro_mcc < 0);

  // More replicas than workers is refused at once, with both numbers.
  req.replicas = 7;
  auto refused = f.api->submit_matmul(a, b, req);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("replicate:7 needs 7 workers"));
}

TEST_CASE("trust survives a restart: it is read back from the ledger", "[actors][trust]") {
  temp_dir dir;
  embedded_options opts{2, 1};
  opts.data_dir = dir.path();
  auto a = compute::random_tensor({200, 20}, 5);
  auto b = compute::random_tensor({20, 10}, 6);
  task_request req;
  req.shards = 200;
  {
    fixture f{opts};
    auto [report, c] = f.run(a, b, req); // each worker earns a streak well above 20
    REQUIRE(report.state == task_state::done);
  }
  fixture again{opts}; // same names, same ledger
  req.shards = 20;     // 10 each: all would be checked by workers without a record
  auto [report, c] = again.run(a, b, req);
  REQUIRE(report.state == task_state::done);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) <= 1e-5);
  // Had trust started over, the first 20 results of each worker would all be checked.
  auto trusted_at_start = report.results_unchecked;
  INFO("unchecked after the restart: " << trusted_at_start);
  CHECK(trusted_at_start > 0);
}

TEST_CASE("replicate:K verifies a training run's steps by a quorum", "[actors][trust]") {
  embedded_options opts{4, 1};
  opts.faulty_workers = 1; // corrupts every gradient it computes
  fixture f{opts};
  auto train = leaning(1000, 12, 4, 30);
  auto test_set = leaning(300, 12, 4, 31);
  auto req = training(2);
  // Two shards a round, a replica of each on every worker: with three replicas the
  // faulty worker held none of a run's once under load (the three others took them all).
  req.replicas = 4;
  req.model.micro_rows = 32;
  // Rounds of two steps: 16 rounds, so that the faulty worker's rows are caught in many.
  req.train.local_steps = 2;
  auto ack = f.api->submit_train(train, &test_set, req);
  REQUIRE(ack);
  auto report = f.api->wait(ack->task_id, {}, 120s);
  REQUIRE(report);
  INFO(report->reason);
  REQUIRE(report->state == task_state::done);
  CHECK(report->epochs.back().test_accuracy > 0.95);
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  for (const auto& n : *nodes)
    if (n.info.name == "faulty-worker-1")
      CHECK(n.shards_rejected > 0); // outvoted
}
