// The store's filter of record ids: never says "absent" of an id it holds, rarely
// "present" of one it does not, across segments.
#include <catch2/catch.hpp>

#include <string>

#include "chain/id_filter.hpp"

using namespace nexus::chain;

namespace {

digest id_of(uint64_t i) {
  auto s = "record " + std::to_string(i);
  return sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

} // namespace

TEST_CASE("the id filter holds every id added, over several segments", "[ledger]") {
  id_filter f;
  constexpr uint64_t n = 600'000; // three segments
  CHECK_FALSE(f.may_contain(id_of(0)));
  for (uint64_t i = 0; i < n; ++i)
    f.add(id_of(i));
  uint64_t missed = 0, false_hits = 0;
  for (uint64_t i = 0; i < n; i += 7)
    missed += f.may_contain(id_of(i)) ? 0 : 1;
  for (uint64_t i = n; i < n + 100'000; ++i)
    false_hits += f.may_contain(id_of(i)) ? 1 : 0;
  CHECK(missed == 0);
  CHECK(false_hits < 100'000 * 4 / 100); // about 1 % a segment, three segments
  f.clear();
  CHECK_FALSE(f.may_contain(id_of(1)));
}
