// The orchestrator's finished outputs stay bounded in memory: past the budget the oldest
// go to files in the data directory and come back intact, or, without a directory, are
// dropped with a reason the submitter sees.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/output_shelf.hpp"
#include "compute/gemm.hpp"
#include "test/support/embedded.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

// An output of `rows` x 16 values particular to `task_id`.
output_shelf::output make_output(uint64_t task_id, std::size_t rows = 64) {
  return std::make_shared<const wire::final_output>(
    wire::encode(task_output{task_id, compute::random_tensor({rows, 16}, task_id)}));
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator{dir})
    ++n;
  return n;
}

} // namespace

TEST_CASE("outputs: within the budget they stay in memory", "[outputs]") {
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
          "[outputs]") {
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
          "[outputs]") {
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
          "[outputs]") {
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

TEST_CASE("outputs: files of an earlier process are removed at start", "[outputs]") {
  test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "outputs");
  std::ofstream{dir.path() / "outputs" / "1.out"} << "stale";
  output_shelf shelf{1, dir.path() / "outputs"};
  CHECK(files_in(dir.path() / "outputs") == 0);
  CHECK_FALSE(shelf.get(1));
}

TEST_CASE("outputs: an embedded network keeps every output past its memory budget",
          "[outputs]") {
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
