// Memory that a long-running network would otherwise fill: the orchestrator's finished
// outputs (past their budget the oldest go to files in the data directory and come back
// intact, or, without a directory, are dropped with a reason the submitter sees), and the
// blobs a store keeps (fetched and uploaded ones within a budget, unless an open task
// pins them).
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/core/output_shelf.hpp"
#include "actors/gateway.hpp"
#include "compute/gemm.hpp"
#include "test/support/embedded.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

// An output of `rows` x 16 values particular to `task_id`.
output_shelf::output make_output(uint64_t task_id, std::size_t rows = 64) {
  return std::make_shared<const wire::task_output>(
      wire::encode(task_output{task_id, compute::random_tensor({rows, 16}, task_id)}));
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator{dir})
    ++n;
  return n;
}

} // namespace

TEST_CASE("outputs: within the budget they stay in memory", "[bounded]") {
  test::temp_dir dir;
  output_shelf shelf{std::size_t{1} << 20, dir.path() / "outputs"};
  auto x = make_output(1);
  shelf.put(1, x);
  auto got = shelf.get(1);
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == x); // the same bytes, not a copy
  CHECK(shelf.on_disk() == 0);
  CHECK(shelf.memory_bytes() == x->bytes().size());
  CHECK_FALSE(shelf.get(2)); // never had it: the caller says why
}

TEST_CASE("outputs: past the budget the oldest go to files and come back intact",
          "[bounded]") {
  test::temp_dir dir;
  auto one = make_output(1)->bytes().size();
  output_shelf shelf{3 * one, dir.path() / "outputs"};
  std::vector<output_shelf::output> kept;
  for (uint64_t id = 1; id <= 10; ++id) {
    kept.push_back(make_output(id));
    shelf.put(id, kept.back());
    CHECK(shelf.memory_bytes() <= 3 * one);
  }
  CHECK(shelf.on_disk() == 7);
  CHECK(shelf.dropped() == 0);
  CHECK(files_in(dir.path() / "outputs") == 7);
  for (uint64_t id = 1; id <= 10; ++id) {
    auto got = shelf.get(id);
    REQUIRE(got);
    REQUIRE(*got);
    CHECK((**got)->bytes() == kept[id - 1]->bytes());
    auto decoded = wire::decode(***got);
    REQUIRE(decoded);
    CHECK(decoded->task_id == id);
  }

  // A damaged file is reported, not handed on as an output.
  std::filesystem::resize_file(dir.path() / "outputs" / "2.out", 100);
  auto damaged = shelf.get(2);
  REQUIRE(damaged);
  REQUIRE_FALSE(*damaged);
  CHECK(damaged->error() == errc::corrupted);
  CHECK_THAT(describe(damaged->error()), Catch::Contains("2.out"));
}

TEST_CASE("outputs: without a directory the oldest are dropped, and asking says why",
          "[bounded]") {
  auto one = make_output(1)->bytes().size();
  output_shelf shelf{2 * one, {}};
  for (uint64_t id = 1; id <= 5; ++id)
    shelf.put(id, make_output(id));
  CHECK(shelf.dropped() == 3);
  for (uint64_t id = 1; id <= 3; ++id) {
    auto got = shelf.get(id);
    REQUIRE(got);
    REQUIRE_FALSE(*got);
    CHECK(got->error() == errc::exhausted);
    CHECK_THAT(describe(got->error()), Catch::Contains("outputs_in_memory_mib")
                                           && Catch::Contains("data directory"));
  }
  for (uint64_t id = 4; id <= 5; ++id) {
    auto got = shelf.get(id);
    REQUIRE(got);
    CHECK(*got);
  }
  // The newest output stays even when it alone is above the budget.
  output_shelf tiny{1, {}};
  tiny.put(7, make_output(7));
  CHECK(tiny.get(7).value());
}

TEST_CASE("outputs: a directory that cannot be used is said, and outputs are dropped",
          "[bounded]") {
  test::temp_dir dir;
  std::ofstream{dir.file("taken")} << "a file where the directory should be";
  auto one = make_output(1)->bytes().size();
  output_shelf shelf{one, dir.path() / "taken" / "outputs"};
  CHECK_THAT(shelf.problem(), Catch::Contains("taken"));
  shelf.put(1, make_output(1));
  shelf.put(2, make_output(2));
  auto got = shelf.get(1);
  REQUIRE(got);
  REQUIRE_FALSE(*got);
  CHECK(got->error() == errc::exhausted);
}

TEST_CASE("outputs: files of an earlier process are removed at start", "[bounded]") {
  test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "outputs");
  std::ofstream{dir.path() / "outputs" / "1.out"} << "stale";
  output_shelf shelf{1, dir.path() / "outputs"};
  CHECK(files_in(dir.path() / "outputs") == 0);
  CHECK_FALSE(shelf.get(1));
}

TEST_CASE("outputs: an embedded network keeps every output past its memory budget",
          "[bounded]") {
  test::temp_dir dir;
  embedded_options opts;
  opts.data_dir = dir.path();
  opts.device = "cpu";
  opts.limits.outputs_in_memory = 64 << 10; // four of the 16 KiB outputs below
  test::fixture f{opts};
  auto b = compute::random_tensor({32, 64}, 3);
  std::vector<compute::tensor> as;
  std::vector<uint64_t> ids;
  for (uint64_t i = 0; i < 12; ++i) {
    as.push_back(compute::random_tensor({64, 32}, 50 + i));
    auto ack = f.api->submit_matmul(as.back(), b);
    REQUIRE(ack);
    ids.push_back(ack->task_id);
  }
  for (auto id : ids) {
    auto report = f.api->wait(id, {}, 60s);
    REQUIRE(report);
    REQUIRE(report->state == task_state::done);
  }
  CHECK(files_in(dir.path() / "outputs") >= 8);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto out = f.api->result(ids[i]);
    REQUIRE(out);
    CHECK(compute::max_relative_difference(*out, compute::multiply(as[i], b)) <= 1e-5);
  }
}

namespace {

compute::tensor filled(std::size_t n, float v) {
  return compute::tensor{compute::shape_t{1, n}, std::vector<float>(n, v)};
}

} // namespace

TEST_CASE("blobs: uploads and fetched blobs stay within the budget unless pinned",
          "[bounded]") {
  blob_store store;
  constexpr std::size_t kib = 256;      // floats in 1 KiB
  store.set_budget(3 << 10, 0ms);       // no grace: every upload counts at once
  auto own = store.put(filled(kib, 0)); // the node's own: never dropped
  std::vector<blob_ref> up;
  for (int i = 1; i <= 3; ++i)
    up.push_back(store.put_upload(filled(kib, static_cast<float>(i))));
  CHECK(store.kept_bytes() == 3 << 10);
  store.pin(up[0].id);
  up.push_back(store.put_upload(filled(kib, 4))); // over: the oldest unpinned goes
  CHECK(store.contains(up[0]));
  CHECK_FALSE(store.contains(up[1]));
  CHECK(store.contains(up[2]));
  CHECK(store.contains(up[3]));
  CHECK(store.contains(own));
  CHECK(store.kept_bytes() == 3 << 10);
  store.unpin(up[0].id); // within the budget: stays
  CHECK(store.contains(up[0]));
  up.push_back(store.put_upload(filled(kib, 5)));
  CHECK_FALSE(store.contains(up[0])); // now the oldest
  CHECK(store.contains(up[4]));
  auto missing = store.get(up[0]);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == errc::not_found);

  // A pin that comes before its blob holds it as well.
  store.set_budget(0, 0ms);
  CHECK(store.size() == 1); // its own
  auto early = blob_store::id_of(filled(kib, 9));
  store.pin(early);
  auto nine = store.put_upload(filled(kib, 9));
  CHECK(store.contains(nine));
  store.unpin(early);
  CHECK_FALSE(store.contains(nine));
  CHECK(store.contains(own));

  // Within its grace time an upload stays whatever the budget.
  store.set_budget(0, 60s);
  auto ten = store.put_upload(filled(kib, 10));
  auto eleven = store.put_upload(filled(kib, 11));
  CHECK(store.contains(ten));
  CHECK(store.contains(eleven));
  CHECK(store.kept_bytes() == 2 << 10);
}

TEST_CASE("blobs: a submission naming a blob the hub dropped is refused, and a client "
          "with an upstream uploads it again",
          "[bounded]") {
  // The embedded network's store stands for the hub's: its orchestrator checks it.
  embedded_options opts;
  opts.device = "cpu";
  test::fixture f{opts};
  f.net.store->set_budget(0, 0ms);
  auto a = compute::random_tensor({16, 8}, 1);
  auto b = compute::random_tensor({8, 4}, 2);
  auto a_ref = f.api->upload(a);
  auto b_ref = f.api->upload(b);
  REQUIRE(a_ref);
  REQUIRE(b_ref);
  CHECK_FALSE(f.net.store->contains(*a_ref)); // dropped at once: no grace
  task_request req;
  req.workload = workload_kind::matmul;
  req.matmul = {*a_ref, *b_ref};
  auto refused = f.api->submit(req);
  REQUIRE_FALSE(refused); // no upstream to send it again to: the reason reaches the user
  CHECK(refused.error() == errc::not_found);
  CHECK_THAT(describe(refused.error()), Catch::Contains("upload it again"));
  // With the grace time the operands stay until the submission pins them, however small
  // the budget.
  f.net.store->set_budget(0);
  auto [report, out] = f.run(a, b);
  CHECK(report.state == task_state::done);
  CHECK(compute::max_relative_difference(out, compute::multiply(a, b)) <= 1e-5);

  // A remote client (its own store, uploading through the hub's gateway) whose uploads
  // the hub dropped sends them again when its submission is refused.
  auto gateway = f.sys.spawn(nexus::gateway, f.net.store, f.net.orchestrator, uint16_t{0});
  client remote{f.sys, f.net.orchestrator, std::make_shared<blob_store>(), 10s};
  remote.set_upstream(gateway);
  auto c = compute::random_tensor({16, 8}, 3);
  f.net.store->set_budget(0, 0ms);
  auto c_ref = remote.upload(c);
  REQUIRE(c_ref);
  CHECK_FALSE(f.net.store->contains(*c_ref));
  f.net.store->set_budget(0);
  auto ack = remote.submit_matmul(c, b);
  REQUIRE(ack);
  auto done = remote.wait(ack->task_id, {}, 60s);
  REQUIRE(done);
  CHECK(done->state == task_state::done);
  auto product = remote.result(ack->task_id);
  REQUIRE(product);
  CHECK(compute::max_relative_difference(*product, compute::multiply(c, b)) <= 1e-5);
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
}
