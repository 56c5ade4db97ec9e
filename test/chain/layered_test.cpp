// A layered map copies in constant time and no copy sees another's changes.
#include <catch2/catch.hpp>

#include "chain/layered.hpp"

using nexus::chain::layered_map;
using nexus::chain::layered_set;

TEST_CASE("a layered map's copies never see each other's changes", "[ledger][layered]") {
  layered_map<int, int> base;
  base.emplace(1, 10);
  base.flatten();
  auto copy = base; // shares the flattened entries
  *copy.find_mutable(1) = 11;
  copy.emplace(2, 20);
  CHECK(*base.find(1) == 10);
  CHECK_FALSE(base.contains(2));
  CHECK(*copy.find(1) == 11);
  CHECK_FALSE(copy.emplace(2, 21)); // an entry is added once
  CHECK(*copy.find(2) == 20);

  copy.flatten(); // shared with `base`: folded into a copy of the entries
  CHECK(*base.find(1) == 10);
  CHECK(*copy.find(1) == 11);
  base.assign(1, 12);
  base.flatten(); // no longer shared: in place
  CHECK(*base.find(1) == 12);
  CHECK(*copy.find(1) == 11);
  CHECK(base.find(3) == nullptr);
  CHECK(base.find_mutable(3) == nullptr);
}

TEST_CASE("a layered set remembers what any layer added", "[ledger][layered]") {
  layered_set<int> s;
  CHECK(s.insert(1));
  s.flatten();
  auto t = s;
  CHECK_FALSE(t.insert(1));
  CHECK(t.insert(2));
  CHECK_FALSE(s.contains(2));
  CHECK(t.contains(1));
  t.flatten();
  CHECK(t.contains(2));
  CHECK_FALSE(s.contains(2));
}
