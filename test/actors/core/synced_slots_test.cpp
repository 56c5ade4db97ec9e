// synced_slots: what was kept last survives a torn or spoiled write of the other slot.
#include "actors/core/synced_slots.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "chain/encoding.hpp"
#include "chain/hash.hpp"
#include "compute/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

std::vector<uint8_t> file_bytes(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void put_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

} // namespace

TEST_CASE("synced slots keep what was written last, in turn", "[synced-slots]") {
  test::temp_dir dir;
  auto base = dir.path() / "node.lock";
  {
    synced_slots slots{base};
    CHECK_FALSE(slots.read().value());
    REQUIRE(slots.write(bytes_of("first")));
    REQUIRE(slots.write(bytes_of("second, longer")));
    REQUIRE(slots.write(bytes_of("third"))); // over "first", shorter: stale bytes after
    CHECK(slots.read().value() == bytes_of("third"));
  }
  synced_slots again{base};
  CHECK(again.read().value() == bytes_of("third"));
  // The next write goes over the older slot, never over the last kept.
  REQUIRE(again.write(bytes_of("fourth")));
  synced_slots third{base};
  CHECK(third.read().value() == bytes_of("fourth"));
  auto newest = file_bytes(base.string() + ".1");
  newest[12] ^= 1; // "fourth" -> "gourth"
  put_file(base.string() + ".1", newest);
  CHECK(third.read().value() == bytes_of("third"));
}

TEST_CASE("a torn or spoiled slot yields the one kept before it", "[synced-slots]") {
  test::temp_dir dir;
  auto base = dir.path() / "x";
  synced_slots slots{base};
  REQUIRE(slots.write(bytes_of("kept")));          // slot 0
  REQUIRE(slots.write(bytes_of("then this one"))); // slot 1
  auto whole = file_bytes(base.string() + ".1");

  SECTION("torn: cut anywhere") {
    for (std::size_t cut :
         {std::size_t{0}, std::size_t{5}, std::size_t{12}, whole.size() - 1}) {
      put_file(base.string() + ".1",
               {whole.begin(), whole.begin() + static_cast<long>(cut)});
      CHECK(synced_slots{base}.read().value() == bytes_of("kept"));
    }
  }
  SECTION("a changed content byte") {
    whole[14] ^= 0x20;
    put_file(base.string() + ".1", whole);
    CHECK(synced_slots{base}.read().value() == bytes_of("kept"));
  }
  SECTION("a length claiming more than the file holds") {
    whole[8] = 0xff;
    put_file(base.string() + ".1", whole);
    CHECK(synced_slots{base}.read().value() == bytes_of("kept"));
  }
  SECTION("a higher sequence forged without its checksum") {
    whole[7] = 0x7f;
    put_file(base.string() + ".1", whole);
    CHECK(synced_slots{base}.read().value() == bytes_of("kept"));
  }
  SECTION("both spoiled: an error, never an older or no lock") {
    put_file(base.string() + ".1", {});
    auto first = file_bytes(base.string() + ".0");
    first[first.size() / 2] ^= 1;
    put_file(base.string() + ".0", first);
    auto read = synced_slots{base}.read();
    REQUIRE_FALSE(read);
    CHECK(read.error().code() == errc::corrupted);
  }
  SECTION("a slot that exists but does not read: an error") {
    std::filesystem::remove(base.string() + ".1");
    std::filesystem::create_directory(base.string() + ".1");
    CHECK_FALSE(synced_slots{base}.read());
  }
}

TEST_CASE("a first write torn by a crash leaves nothing kept", "[synced-slots]") {
  test::temp_dir dir;
  auto base = dir.path() / "z";
  synced_slots{base}.write(bytes_of("first"));
  auto whole = file_bytes(base.string() + ".0");
  put_file(base.string() + ".0", {whole.begin(), whole.begin() + 20});
  auto read = synced_slots{base}.read();
  REQUIRE(read);
  CHECK_FALSE(*read);
}

TEST_CASE("a slot whose sequence is spent takes no write after it", "[synced-slots]") {
  test::temp_dir dir;
  auto base = dir.path() / "w";
  // A whole slot at the last sequence, as only someone writing the file could make.
  chain::writer w;
  w.u64(UINT64_MAX);
  w.u32(3);
  auto& bytes = w.data();
  bytes.insert(bytes.end(), {'o', 'l', 'd'});
  w.fixed(chain::sha256(bytes));
  put_file(base.string() + ".0", bytes);
  synced_slots slots{base};
  REQUIRE(slots.read().value() == bytes_of("old"));
  CHECK_FALSE(slots.write(bytes_of("new"))); // would wrap to 0 and never be read
  CHECK(synced_slots{base}.read().value() == bytes_of("old"));
}

TEST_CASE("a slot that cannot be written leaves the last kept", "[synced-slots]") {
  test::temp_dir dir;
  auto base = dir.path() / "y";
  synced_slots slots{base};
  REQUIRE(slots.write(bytes_of("kept")));
  // Slot 1 cannot be made: a directory stands in its place.
  std::filesystem::create_directory(base.string() + ".1");
  CHECK_FALSE(slots.write(bytes_of("lost")));
  CHECK_FALSE(synced_slots{base}.read()); // and a slot that does not read is an error
  std::filesystem::remove(base.string() + ".1");
  CHECK(synced_slots{base}.read().value() == bytes_of("kept"));
}
