#include <catch2/catch.hpp>

#include "compute/errc.hpp"
#include "compute/gemm.hpp"
#include "compute/workloads/matmul.hpp"

using namespace nexus;
using namespace nexus::compute;
using namespace nexus::compute::matmul;

namespace {

// The reference product, straight from Eigen in double precision.
tensor reference(const tensor& a, const tensor& b) {
  Eigen::MatrixXd c = a.as_matrix().cast<double>() * b.as_matrix().cast<double>();
  tensor out{a.rows(), b.cols()};
  out.as_matrix() = c.cast<float>();
  return out;
}

} // namespace

TEST_CASE("GEMM matches a double-precision product on odd shapes", "[compute][gemm]") {
  // The last two are split over the cores: a short, wide one by columns (with a ragged
  // last block), a tall one by rows.
  for (auto [m, k, n] : {std::tuple{1, 1, 1},
                         {7, 13, 5},
                         {129, 67, 251},
                         {300, 1, 17},
                         {100, 512, 3001},
                         {1500, 64, 700}}) {
    auto a = random_tensor({std::size_t(m), std::size_t(k)}, 1);
    auto b = random_tensor({std::size_t(k), std::size_t(n)}, 2);
    CHECK(max_relative_difference(multiply(a, b), reference(a, b)) < 1e-5);
  }
}

TEST_CASE("a plan covers every row once, with sizes differing by at most one",
          "[compute][matmul]") {
  auto p = make_plan({1000, 10}, {10, 10}, 3, 7);
  REQUIRE(p);
  REQUIRE(p->shards.size() == 7);
  std::size_t next = 0;
  for (const auto& s : p->shards) {
    CHECK(s.row_begin == next);
    CHECK((s.rows() == 142 || s.rows() == 143));
    next = s.row_end;
  }
  CHECK(next == 1000);
}

TEST_CASE("the default plan gives each worker a few shards of useful size",
          "[compute][matmul]") {
  auto p = make_plan({2048, 8}, {8, 8}, 4, 0);
  REQUIRE(p);
  CHECK(p->shards.size() == 4 * shards_per_worker);
  auto small = make_plan({40, 8}, {8, 8}, 4, 0);
  REQUIRE(small);
  CHECK(small->shards.size() == 1); // 40 rows: not worth splitting below 32 rows a shard
}

TEST_CASE("more workers or shards than rows gives one row per shard", "[compute][matmul]") {
  auto p = make_plan({3, 4}, {4, 5}, 8, 10);
  REQUIRE(p);
  REQUIRE(p->shards.size() == 3);
  for (const auto& s : p->shards)
    CHECK(s.rows() == 1);
}

TEST_CASE("a plan names both shapes when they do not fit", "[compute][matmul]") {
  auto p = make_plan({512, 300}, {200, 512}, 4, 0);
  REQUIRE_FALSE(p);
  CHECK(p.error() == errc::invalid_input);
  CHECK(describe(p.error()) == "A is 512x300 but B is 200x512 (inner dimensions differ)");
  CHECK_FALSE(make_plan({5}, {5, 5}, 1, 0));
}

TEST_CASE("executed and merged shards give the whole product", "[compute][matmul]") {
  auto a = random_tensor({101, 37}, 3);
  auto b = random_tensor({37, 59}, 4);
  auto p = make_plan(a.shape(), b.shape(), 3, 0).value();
  tensor c{101, 59};
  for (const auto& s : p.shards)
    merge(c, s, execute(a, b, s));
  CHECK(max_relative_difference(c, reference(a, b)) < 1e-5);
}

TEST_CASE("Freivalds accepts correct blocks", "[compute][freivalds]") {
  for (auto [m, k, n] : {std::tuple{64, 64, 64}, {33, 257, 129}, {512, 1024, 256}}) {
    auto a = random_tensor({std::size_t(m), std::size_t(k)}, 5);
    auto b = random_tensor({std::size_t(k), std::size_t(n)}, 6);
    freivalds_probe probe{b, default_rounds, 99};
    auto plan = make_plan(a.shape(), b.shape(), 2, 0).value();
    for (const auto& s : plan.shards)
      CHECK_FALSE(probe.verify(a, s, execute(a, b, s), default_tolerance));
  }
}

TEST_CASE("Freivalds accepts a block computed in a different order",
          "[compute][freivalds]") {
  // Honest results from other devices differ in their last bits.
  auto a = random_tensor({128, 2048}, 7);
  auto b = random_tensor({2048, 96}, 8);
  shard_range all{0, 0, 128};
  auto c = reference(a, b); // double accumulation, then rounded
  freivalds_probe probe{b, default_rounds, 1};
  CHECK_FALSE(probe.verify(a, all, c, default_tolerance));
}

TEST_CASE("Freivalds rejects a block with one wrong element", "[compute][freivalds]") {
  auto a = random_tensor({200, 300}, 9);
  auto b = random_tensor({300, 150}, 10);
  shard_range r{1, 50, 150};
  auto c = execute(a, b, r);
  freivalds_probe probe{b, default_rounds, 1234};
  for (std::size_t trial = 0; trial < 20; ++trial) {
    auto bad = c;
    auto i = (trial * 7919) % bad.size();
    bad.data()[i] += 0.01f; // entries are ~10 here: a 0.1% error
    auto err = probe.verify(a, r, bad, default_tolerance);
    REQUIRE(err);
    CHECK(err == errc::rejected);
    CHECK_THAT(describe(err), Catch::Contains("row " + std::to_string(50 + i / 150)));
  }
}

TEST_CASE("Freivalds rejects NaN, infinity and wrong shapes", "[compute][freivalds]") {
  auto a = random_tensor({20, 30}, 1);
  auto b = random_tensor({30, 10}, 2);
  shard_range r{0, 0, 20};
  freivalds_probe probe{b, 4, 5};
  auto c = execute(a, b, r);
  auto nan = c;
  nan(3, 3) = std::numeric_limits<float>::quiet_NaN();
  CHECK(probe.verify(a, r, nan, default_tolerance));
  auto inf = c;
  inf(0, 0) = std::numeric_limits<float>::infinity();
  CHECK(probe.verify(a, r, inf, default_tolerance));
  CHECK(probe.verify(a, r, tensor{19, 10}, default_tolerance));
  CHECK(probe.verify(a, r, tensor{20, 11}, default_tolerance));
}

TEST_CASE("Freivalds judges a block by the fingerprint its holder computes",
          "[compute][freivalds]") {
  // The aggregator holds C_R and computes C_R X for the validator's X; the verdict must
  // be the one the block itself would get.
  auto a = random_tensor({120, 90}, 21);
  auto b = random_tensor({90, 70}, 22);
  shard_range r{2, 40, 100};
  auto c = execute(a, b, r);
  freivalds_probe probe{b, default_rounds, 77};
  auto x = probe.probe_matrix();
  REQUIRE(x.shape() == shape_t{70, default_rounds});
  auto honest = fingerprint(c, x);
  REQUIRE(honest);
  CHECK(honest->shape() == shape_t{60, default_rounds});
  CHECK_FALSE(probe.verify_fingerprint(a, r, *honest, default_tolerance));

  auto bad = c;
  bad(17, 33) += 0.01f;
  auto forged = fingerprint(bad, x);
  REQUIRE(forged);
  auto err = probe.verify_fingerprint(a, r, *forged, default_tolerance);
  CHECK(err == errc::rejected);
  CHECK_THAT(describe(err), Catch::Contains("row 57"));

  // A block of the wrong width has no fingerprint; one of the wrong height fails.
  CHECK(fingerprint(tensor{60, 69}, x).error() == errc::rejected);
  CHECK(probe.verify_fingerprint(a, r, fingerprint(tensor{59, 70}, x).value(),
                                 default_tolerance)
        == errc::rejected);
}
