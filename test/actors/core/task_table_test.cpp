#include <catch2/catch.hpp>

#include "actors/core/task_table.hpp"
#include "actors/core/trainer.hpp"
#include "compute/errc.hpp"

using namespace nexus;

namespace {

node_info worker(std::string name) {
  return {std::move(name), node_role::worker, "cpu", 1, 0, 2};
}

node_info validator(std::string name) {
  return {std::move(name), node_role::validator, "cpu", 1, 0, 2};
}

task_request matmul_request(std::size_t m, uint32_t shards, uint32_t attempts = 0) {
  task_request req;
  req.shards = shards;
  req.max_attempts = attempts;
  req.matmul.a.shape = {m, 8};
  req.matmul.b.shape = {8, 8};
  return req;
}

// A validator's verdict on a dispatched attempt, as the aggregator's judgment.
judgment verdict_for(const shard_dispatch& d, bool valid) {
  verdict v{
      d.task_id, d.shard.shard_id, d.shard.attempt, "w", "v", valid, valid ? "" : "bad", 0};
  return {v, true, {}, {"v"}};
}

} // namespace

TEST_CASE("shards wait for workers and fill each worker's window", "[actors][table]") {
  task_table table{{5, 2, std::chrono::seconds{60}}};
  auto now = clock_type::now();
  auto ack = table.add_task(matmul_request(100, 10), now);
  REQUIRE(ack);
  CHECK(table.schedule(now).empty());
  CHECK(table.report(ack->task_id, now)->reason == "waiting for a worker to join");
  table.add_node(worker("w1"));
  table.add_node(worker("w2"));
  CHECK(table.schedule(now).empty());
  CHECK(table.report(ack->task_id, now)->reason == "waiting for a validator to join");
  table.add_node(validator("v1"));
  auto sent = table.schedule(now);
  CHECK(sent.size() == 4); // two workers, a window of two each
  for (const auto& d : sent)
    CHECK(table.node_reports()[d.worker].info.role == node_role::worker);
}

TEST_CASE("a rejected shard goes to a different worker", "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  auto w1 = table.add_node(worker("w1"));
  table.add_node(worker("w2"));
  table.add_node(validator("v1"));
  auto ack = table.add_task(matmul_request(10, 1), now).value();
  auto first = table.schedule(now);
  REQUIRE(first.size() == 1);
  CHECK(table.on_judgment(verdict_for(first[0], false)) == verdict_effect::reissue);
  auto second = table.schedule(now);
  REQUIRE(second.size() == 1);
  CHECK(second[0].worker != first[0].worker);
  CHECK(second[0].shard.attempt == 2);
  CHECK(table.on_judgment(verdict_for(second[0], true)) == verdict_effect::accepted);
  CHECK(table.all_validated(ack.task_id));
  auto r = table.report(ack.task_id, now).value();
  CHECK(r.results_rejected == 1);
  CHECK(r.shards_reissued == 1);
  (void)w1;
}

TEST_CASE("a task fails with the reason once a shard's attempts are spent",
          "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  for (int i = 0; i < 5; ++i)
    table.add_node(worker("w" + std::to_string(i)));
  table.add_node(validator("v"));
  auto ack = table.add_task(matmul_request(10, 1, 3), now).value();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto sent = table.schedule(now);
    REQUIRE(sent.size() == 1);
    auto effect = table.on_judgment(verdict_for(sent[0], false));
    CHECK(effect == (attempt < 3 ? verdict_effect::reissue : verdict_effect::task_failed));
  }
  auto r = table.report(ack.task_id, now).value();
  CHECK(r.state == task_state::failed);
  CHECK_THAT(r.reason, Catch::Contains("shard 0 rejected 3 times"));
  CHECK(table.schedule(now).empty());
  CHECK(table.take_failed() == std::vector<uint64_t>{ack.task_id});
  CHECK(table.take_failed().empty());
}

TEST_CASE("a dead worker's shards are re-issued; its late verdicts are stale",
          "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  auto w1 = table.add_node(worker("w1"));
  table.add_node(validator("v"));
  table.add_task(matmul_request(10, 2), now).value();
  auto sent = table.schedule(now);
  REQUIRE(sent.size() == 2);
  table.remove_node(w1);
  CHECK(table.schedule(now).empty()); // nobody left
  table.add_node(worker("w2"));
  auto again = table.schedule(now);
  CHECK(again.size() == 2);
  CHECK(table.on_judgment(verdict_for(sent[0], true)) == verdict_effect::stale);
}

TEST_CASE("a late shard is re-issued speculatively and the first valid result wins",
          "[actors][table]") {
  task_table table{{5, 2, std::chrono::milliseconds{100}}};
  auto now = clock_type::now();
  table.add_node(worker("w1"));
  table.add_node(worker("w2"));
  table.add_node(validator("v"));
  auto ack = table.add_task(matmul_request(10, 1), now).value();
  auto first = table.schedule(now);
  REQUIRE(first.size() == 1);
  CHECK(table.expire(now + std::chrono::milliseconds{50}) == 0);
  CHECK(table.expire(now + std::chrono::milliseconds{150}) == 1);
  auto second = table.schedule(now);
  REQUIRE(second.size() == 1);
  CHECK(second[0].worker != first[0].worker);
  CHECK(table.on_judgment(verdict_for(second[0], true)) == verdict_effect::accepted);
  CHECK(table.on_judgment(verdict_for(first[0], true)) == verdict_effect::stale);
  CHECK(table.report(ack.task_id, now)->shards_validated == 1);
}

TEST_CASE("a task whose shard failed on every worker fails when scheduled",
          "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  table.add_node(worker("w1"));
  table.add_node(validator("v"));
  auto ack = table.add_task(matmul_request(10, 1), now).value();
  auto sent = table.schedule(now);
  REQUIRE(sent.size() == 1);
  CHECK(table.on_judgment(verdict_for(sent[0], false)) == verdict_effect::reissue);
  CHECK(table.schedule(now).empty());
  CHECK(table.report(ack.task_id, now)->state == task_state::failed);
  CHECK(table.take_failed() == std::vector<uint64_t>{ack.task_id});
}

TEST_CASE("a validator never checks its own node's work", "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  table.add_node(worker("node-a"));
  table.add_node(validator("node-a"));
  table.add_task(matmul_request(10, 1), now).value();
  CHECK(table.schedule(now).empty());
  auto other = table.add_node(validator("node-b"));
  auto sent = table.schedule(now);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].validators == std::vector<node_id>{other});
}

TEST_CASE("bad requests are refused before anything is queued", "[actors][table]") {
  task_table table;
  auto bad = matmul_request(10, 1);
  bad.matmul.b.shape = {9, 8};
  CHECK_FALSE(table.add_task(bad, clock_type::now()));
  CHECK(table.reports(clock_type::now()).empty());
}

TEST_CASE("tasks share the workers by priority, else by remaining work",
          "[actors][table]") {
  auto count_for = [](const std::vector<shard_dispatch>& sent, uint64_t task) {
    return std::count_if(sent.begin(), sent.end(),
                         [&](auto& d) { return d.task_id == task; });
  };
  auto now = clock_type::now();
  SECTION("by priority") {
    task_table table{{5, 8, std::chrono::seconds{60}}};
    table.add_node(worker("w1"));
    table.add_node(validator("v1"));
    auto low = matmul_request(400, 20);
    low.priority = 1;
    auto high = matmul_request(400, 20);
    high.priority = 3;
    auto a = table.add_task(low, now).value();
    auto b = table.add_task(high, now).value();
    auto sent = table.schedule(now); // one worker, a window of 8
    REQUIRE(sent.size() == 8);
    CHECK(count_for(sent, a.task_id) == 2);
    CHECK(count_for(sent, b.task_id) == 6);
  }
  SECTION("by remaining shards") {
    task_table table{{5, 6, std::chrono::seconds{60}}};
    table.add_node(worker("w1"));
    table.add_node(validator("v1"));
    auto small = table.add_task(matmul_request(100, 5), now).value();
    auto large = table.add_task(matmul_request(400, 10), now).value();
    auto sent = table.schedule(now);
    REQUIRE(sent.size() == 6);
    CHECK(count_for(sent, small.task_id) == 2);
    CHECK(count_for(sent, large.task_id) == 4);
  }
}

TEST_CASE("a task past its time-out fails with what it waited for", "[actors][table]") {
  task_table table;
  auto now = clock_type::now();
  auto req = matmul_request(100, 4);
  req.timeout_s = 5;
  auto ack = table.add_task(req, now).value();
  table.expire(now + std::chrono::seconds{4});
  CHECK(table.report(ack.task_id, now)->state == task_state::planned);
  table.expire(now + std::chrono::seconds{5});
  auto r = table.report(ack.task_id, now);
  CHECK(r->state == task_state::failed);
  CHECK(r->reason
        == "timed out after 5 s with 0 of 4 shards validated (waiting for a worker "
           "to join)");
  CHECK(table.take_failed() == std::vector<uint64_t>{ack.task_id});
}

TEST_CASE("the queue's limit refuses tasks beyond it until some finish",
          "[actors][table]") {
  scheduler_limits limits;
  limits.max_queued_tasks = 2;
  task_table table{limits};
  auto now = clock_type::now();
  auto first = table.add_task(matmul_request(10, 1), now);
  REQUIRE(first);
  REQUIRE(table.add_task(matmul_request(10, 1), now));
  auto refused = table.add_task(matmul_request(10, 1), now);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::exhausted));
  CHECK_THAT(describe(refused.error()), Catch::Contains("max_queued"));
  // A training run's steps are not the submitter's queue: they go on.
  auto step = matmul_request(10, 1);
  step.internal = true;
  REQUIRE(table.add_task(step, now));
  CHECK(table.queued_tasks() == 2);
  table.fail(first->task_id, "cancelled", now);
  CHECK(table.queued_tasks() == 1);
  REQUIRE(table.add_task(matmul_request(10, 1), now));
  CHECK_FALSE(table.add_task(matmul_request(10, 1), now));
}

TEST_CASE("node reports show each worker's window and the most it held",
          "[actors][table]") {
  task_table table{{5, 2, std::chrono::seconds{60}}};
  auto now = clock_type::now();
  table.add_node(worker("w1"));
  table.add_node(validator("v1"));
  REQUIRE(table.add_task(matmul_request(100, 10), now));
  CHECK(table.schedule(now).size() == 2);
  auto reports = table.node_reports();
  CHECK(reports[0].window == 2);
  CHECK(reports[0].peak_in_flight == 2);
  CHECK(reports[1].window == 0); // validators have none
}

TEST_CASE("a worker twice as fast or more gets a larger window; closer speeds are equal",
          "[actors][table]") {
  task_table table{{5, 2, std::chrono::seconds{60}}};
  auto at = [](std::string name, double gflops) {
    return node_info{std::move(name), node_role::worker, "cpu", 2, gflops, 2};
  };
  table.add_node(at("slow", 50));
  table.add_node(at("noisy", 80)); // 1.6x: measurement noise on a shared host
  table.add_node(at("fast", 150)); // 3x
  auto reports = table.node_reports();
  CHECK(reports[0].window == 2);
  CHECK(reports[1].window == 2);
  CHECK(reports[2].window == 6);
}

TEST_CASE("finished tasks shrink to their reports, and the oldest reports go",
          "[actors][table]") {
  scheduler_limits limits;
  limits.reports_kept = 3;
  task_table table{limits};
  auto now = clock_type::now();
  table.add_node(worker("w1"));
  table.add_node(validator("v1"));
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto ack = table.add_task(matmul_request(10, 1), now).value();
    ids.push_back(ack.task_id);
    auto sent = table.schedule(now);
    REQUIRE(sent.size() == 1);
    CHECK(table.on_judgment(verdict_for(sent[0], true)) == verdict_effect::accepted);
    table.on_output(ack.task_id, now);
    CHECK(table.report(ack.task_id, now)->state == task_state::done);
  }
  // For a shard deadline (120 s) after finishing a task keeps its whole state.
  table.expire(now + std::chrono::seconds{30});
  CHECK(table.all_validated(ids[0]));
  CHECK_FALSE(table.forgotten(ids[0]));
  CHECK(table.reports(now).size() == 5);
  // Later only the last three reports stay; the first two are forgotten.
  table.expire(now + std::chrono::minutes{3});
  CHECK_FALSE(table.all_validated(ids[4])); // its state is gone, its report is not
  auto last = table.report(ids[4], now);
  REQUIRE(last);
  CHECK(last->state == task_state::done);
  CHECK(last->shard_count == 1);
  CHECK_FALSE(table.report(ids[1], now));
  CHECK(table.forgotten(ids[0]));
  CHECK(table.forgotten(ids[1]));
  CHECK_FALSE(table.forgotten(ids[2]));
  CHECK(table.reports(now).size() == 3);
  CHECK(table.queued_tasks() == 0);
}

TEST_CASE("a training run gives its steps the same ids at any hub, and ids already taken "
          "are not reused",
          "[actors][table]") {
  auto store = std::make_shared<blob_store>();
  compute::tensor x{64, 12};
  compute::tensor y{64, 1};
  for (std::size_t i = 0; i < 64; ++i)
    y(i, 0) = static_cast<float>(i % 4);
  task_request req;
  req.workload = workload_kind::train;
  req.model.spec = "mlp:12-16-4";
  req.model.x = store->put_upload(x);
  req.model.y = store->put_upload(y);
  req.train.epochs = 2;
  req.train.batch = 16;
  auto first = training_run::start(77, req, store, clock_type::now());
  auto again = training_run::start(77, req, store, clock_type::now()); // at another hub
  auto other = training_run::start(78, req, store, clock_type::now());
  REQUIRE(first);
  REQUIRE(again);
  REQUIRE(other);
  auto a = (*first)->take_requests();
  auto b = (*again)->take_requests();
  auto c = (*other)->take_requests();
  REQUIRE(!a.empty());
  REQUIRE(a.size() == b.size());
  CHECK(a[0].task_id > chain::internal_task_base);
  CHECK(a[0].task_id == b[0].task_id);
  CHECK(a[0].task_id != c[0].task_id);
  CHECK((*first)->task_of(0, 1, 0) != (*first)->task_of(0, 1, 1));
  CHECK((*first)->task_of(0, 1, 0) != (*first)->task_of(1, 1, 0));

  // The table takes the step's id, once: a second task asking for it gets a fresh one.
  task_table table{scheduler_limits{}};
  table.add_node(worker("w1"));
  auto step = a[0];
  auto ack = table.add_task(step, clock_type::now());
  REQUIRE(ack);
  CHECK(ack->task_id == step.task_id);
  auto twice = table.add_task(step, clock_type::now());
  REQUIRE(twice);
  CHECK(twice->task_id != step.task_id);
}

TEST_CASE("browser nodes cannot spend a shard's attempts, and are never trusted unchecked",
          "[actors][table][web]") {
  task_table table;
  auto now = clock_type::now();
  // Three throwaway browser keys and one native worker; one attempt per shard allowed.
  std::vector<node_id> browsers;
  for (auto name :
       {"browser-00000000000000a1", "browser-00000000000000a2", "browser-00000000000000a3"})
    browsers.push_back(table.add_node(worker(name)));
  table.add_node(validator("v1"));
  auto ack = table.add_task(matmul_request(10, 1, 1), now).value();
  auto first = table.schedule(now);
  REQUIRE(first.size() == 1);
  CHECK(std::count(browsers.begin(), browsers.end(), first[0].worker) == 1);
  // A browser's bad result leaves the task alive with its one attempt unspent ...
  CHECK(table.on_judgment(verdict_for(first[0], false)) == verdict_effect::reissue);
  // ... and the shard goes to no other browser: it waits for a native worker.
  CHECK(table.schedule(now).empty());
  auto native = table.add_node(worker("w1"));
  auto second = table.schedule(now);
  REQUIRE(second.size() == 1);
  CHECK(second[0].worker == native);
  CHECK(table.on_judgment(verdict_for(second[0], true)) == verdict_effect::accepted);
  CHECK(table.all_validated(ack.task_id));

  // A browser with a long streak is still checked every time; a native one is not.
  task_table trust;
  auto browser = trust.add_node(worker("browser-00000000000000b1"));
  auto other = trust.add_node(worker("w2"));
  trust.add_node(validator("v1"));
  trust.set_streaks({{"browser-00000000000000b1", 1000}, {"w2", 1000}});
  std::size_t unchecked_browser = 0, unchecked_native = 0, browser_shards = 0;
  for (int i = 0; i < 40; ++i) {
    trust.add_task(matmul_request(10, 2), now).value();
    for (const auto& d : trust.schedule(now)) {
      bool unchecked = d.mode == check_mode::trust;
      browser_shards += d.worker == browser;
      (d.worker == other ? unchecked_native : unchecked_browser) += unchecked;
      trust.on_judgment(verdict_for(d, true));
    }
  }
  CHECK(browser_shards >= 20);
  CHECK(unchecked_browser == 0);
  CHECK(unchecked_native > 0);
}

TEST_CASE("browser nodes get only what they compute: matmul rows below 64 KiB and plain "
          "MLPs' inference",
          "[actors][table][web]") {
  task_table table;
  auto now = clock_type::now();
  auto browser = table.add_node(worker("browser-00000000000000c1"));
  table.add_node(validator("v1"));
  auto wide = matmul_request(4, 1);
  wide.matmul.b.shape = {8, 16384}; // a row of C is 64 KiB: committed to piece by piece
  table.add_task(wide, now).value();
  CHECK(table.schedule(now).empty()); // waits for a native worker
  auto narrow = matmul_request(4, 1);
  narrow.matmul.b.shape = {8, 16383};
  table.add_task(narrow, now).value();
  auto sent = table.schedule(now);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].worker == browser);
  CHECK(sent[0].shard.matmul.b.shape[1] == 16383);
}
