#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "compute/errc.hpp"
#include "compute/npy.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::compute;

namespace {

// An .npy file with a hand-written header, as NumPy would write it.
std::vector<uint8_t> npy_bytes(const std::string& dict, std::size_t payload_bytes,
                               uint8_t version = 1) {
  std::vector<uint8_t> out{0x93, 'N', 'U', 'M', 'P', 'Y', version, 0};
  auto header = dict + std::string(64 - (dict.size() + 11) % 64, ' ') + "\n";
  out.push_back(static_cast<uint8_t>(header.size() & 0xff));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  if (version >= 2) {
    out.push_back(0);
    out.push_back(0);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + payload_bytes, 0);
  return out;
}

std::string reason(const error& err) {
  return describe(err);
}

} // namespace

TEST_CASE("a float32 matrix survives a write and a read", "[compute][npy]") {
  test::temp_dir dir;
  auto x = random_tensor({37, 53}, 7);
  REQUIRE_FALSE(write_npy(dir.file("x.npy"), x));
  auto back = read_npy(dir.file("x.npy"));
  REQUIRE(back);
  CHECK(*back == x);
}

TEST_CASE("vectors and 3-d arrays keep their shape", "[compute][npy]") {
  for (auto shape : {shape_t{5}, shape_t{2, 3, 4}}) {
    auto x = random_tensor(shape, 1);
    auto back = parse_npy(serialize_npy(x));
    REQUIRE(back);
    CHECK(back->shape() == shape);
    CHECK(*back == x);
  }
}

TEST_CASE("the data of a written file starts on a 64-byte boundary", "[compute][npy]") {
  auto bytes = serialize_npy(random_tensor({3, 3}, 1));
  CHECK((bytes.size() - 9 * 4) % 64 == 0);
}

TEST_CASE("float64 files are read as float32", "[compute][npy]") {
  auto bytes = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", 32);
  double values[4] = {1.5, -2.25, 3.0, 1e-3};
  std::memcpy(bytes.data() + bytes.size() - 32, values, 32);
  auto x = parse_npy(bytes);
  REQUIRE(x);
  CHECK(x->shape() == shape_t{2, 2});
  CHECK((*x)(0, 1) == -2.25f);
  CHECK((*x)(1, 1) == Approx(1e-3f));
}

TEST_CASE("version 2 headers are read", "[compute][npy]") {
  auto bytes =
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, 2);
  auto x = parse_npy(bytes);
  REQUIRE(x);
  CHECK(x->shape() == shape_t{3});
}

TEST_CASE("integer arrays (labels) are read as float32", "[compute][npy]") {
  auto bytes = npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 0);
  for (int64_t v : {int64_t{7}, int64_t{-2}, int64_t{1} << 40}) {
    auto p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + 8);
  }
  auto x = parse_npy(bytes);
  REQUIRE(x);
  CHECK(x->values()[0] == 7.0f);
  CHECK(x->values()[1] == -2.0f);
  CHECK(x->values()[2] == static_cast<float>(int64_t{1} << 40));
  auto bytes8 = npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", 0);
  bytes8.push_back(255);
  bytes8.push_back(3);
  auto y = parse_npy(bytes8);
  REQUIRE(y);
  CHECK(y->values()[0] == 255.0f);
}

TEST_CASE("every malformed or unsupported file gets a clear error", "[compute][npy]") {
  auto good = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
  SECTION("other dtypes") {
    auto x = parse_npy(
        npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", 48));
    REQUIRE_FALSE(x);
    CHECK(x.error() == errc::invalid_input);
    CHECK_THAT(reason(x.error()), Catch::Contains("dtype '<c8'"));
  }
  SECTION("big-endian data") {
    auto x = parse_npy(
        npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24));
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("'>f4'"));
  }
  SECTION("Fortran order") {
    auto x = parse_npy(
        npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24));
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("Fortran order"));
  }
  SECTION("truncated data") {
    good.resize(good.size() - 1);
    auto x = parse_npy(good);
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("truncated data"));
  }
  SECTION("trailing bytes") {
    good.push_back(0);
    auto x = parse_npy(good);
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("trailing bytes"));
  }
  SECTION("truncated header") {
    good.resize(20);
    auto x = parse_npy(good);
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("truncated header"));
  }
  SECTION("no magic") {
    good[0] = 'X';
    auto x = parse_npy(good);
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("magic"));
  }
  SECTION("a header without a shape") {
    auto x = parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, }", 0));
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("lacks"));
  }
  SECTION("a garbled shape") {
    auto x = parse_npy(
        npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8));
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("shape"));
  }
  SECTION("an absurd shape") {
    auto x = parse_npy(npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
        8));
    REQUIRE_FALSE(x);
  }
  SECTION("an unknown version") {
    good[6] = 9;
    auto x = parse_npy(good);
    REQUIRE_FALSE(x);
    CHECK_THAT(reason(x.error()), Catch::Contains("version 9"));
  }
}

TEST_CASE("a missing file is not_found and names the path", "[compute][npy]") {
  auto x = read_npy("/nonexistent/a.npy");
  REQUIRE_FALSE(x);
  CHECK(x.error() == errc::not_found);
  CHECK_THAT(describe(x.error()), Catch::Contains("/nonexistent/a.npy"));
}

TEST_CASE("writing into a missing directory fails cleanly", "[compute][npy]") {
  CHECK(write_npy("/nonexistent/dir/c.npy", random_tensor({2, 2}, 1)));
}
