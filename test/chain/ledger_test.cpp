// Ledger records: Merkle proofs, transactions and blocks (signatures, forgery, encoding),
// and the LevelDB store (appending, reopening, refusing what does not extend the head).
#include <catch2/catch.hpp>

#include <algorithm>

#include "chain/block.hpp"
#include "chain/merkle.hpp"
#include "chain/store.hpp"
#include "compute/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;

namespace {

digest item(int i) {
  std::string s = "item " + std::to_string(i);
  return sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

node_key make_key() {
  auto key = node_key::generate();
  REQUIRE(key);
  return *key;
}

transaction contribution(const node_key& key, uint32_t shard) {
  transaction t;
  t.kind = tx_kind::contribution;
  t.task_id = 7;
  t.shard_id = shard;
  t.attempt = 1;
  t.worker = "w1";
  t.work_units = 1000 + shard;
  t.result = item(static_cast<int>(shard));
  t.time_ms = 1234;
  t.sign_with(key);
  return t;
}

} // namespace

TEST_CASE("Merkle proofs hold for every leaf and fail for anything else", "[ledger]") {
  for (int n : {1, 2, 3, 4, 5, 7, 8, 13, 16, 17}) {
    std::vector<digest> items;
    for (int i = 0; i < n; ++i)
      items.push_back(item(i));
    auto root = merkle_root(items);
    for (int i = 0; i < n; ++i) {
      auto proof = merkle_prove(items, static_cast<std::size_t>(i));
      CHECK(merkle_verify(items[i], proof, root));
      CHECK_FALSE(merkle_verify(item(n + 1), proof, root));
      if (!proof.empty()) {
        auto bent = proof;
        bent[0].sibling[0] ^= 1;
        CHECK_FALSE(merkle_verify(items[i], bent, root));
      }
    }
    auto all = merkle_prove_all(items);
    REQUIRE(all.size() == items.size());
    for (int i = 0; i < n; ++i)
      CHECK(all[i] == merkle_prove(items, static_cast<std::size_t>(i)));
    auto other = items;
    other.back() = item(99);
    CHECK(merkle_root(other) != root);
  }
  // No two leaf lists share a root: [a, b, c] is not [a, b, c, c].
  std::vector<digest> three{item(0), item(1), item(2)};
  auto four = three;
  four.push_back(item(2));
  CHECK(merkle_root(three) != merkle_root(four));
  CHECK(merkle_prove(three, 3).empty());
}

TEST_CASE("a sealed block checks; forged or altered records do not", "[ledger]") {
  auto proposer = make_key();
  auto worker = make_key();
  std::vector<transaction> txs{contribution(proposer, 0), contribution(proposer, 1)};
  transaction verdict;
  verdict.kind = tx_kind::verdict;
  verdict.task_id = 7;
  verdict.worker = "w1";
  verdict.validator = "v1";
  verdict.valid = true;
  verdict.sign_with(worker);
  txs.push_back(verdict);
  auto b = seal(1, digest{}, txs, 99, digest{}, proposer);
  CHECK_FALSE(check(b));

  SECTION("round trip through bytes") {
    auto bytes = encode(b);
    auto back = decode_block(bytes);
    REQUIRE(back);
    CHECK(*back == b);
    for (std::size_t cut :
         {std::size_t{0}, std::size_t{1}, bytes.size() / 2, bytes.size() - 1})
      CHECK_FALSE(decode_block(std::span{bytes}.first(cut)));
    bytes.push_back(0);
    CHECK_FALSE(decode_block(bytes));
  }
  SECTION("a changed amount breaks the transaction's signature") {
    b.txs[1].work_units += 1;
    auto err = check(b);
    REQUIRE(err);
    CHECK_THAT(describe(err),
               Catch::Contains("transaction 1 (contribution) has a bad signature"));
  }
  SECTION("a re-signed transaction no longer matches the Merkle root") {
    b.txs[1].work_units += 1;
    b.txs[1].sign_with(proposer);
    CHECK_THAT(describe(check(b)), Catch::Contains("Merkle root"));
  }
  SECTION("a header signed by someone else is refused") {
    b.header.sig = worker.sign(b.header.body());
    CHECK_THAT(describe(check(b)), Catch::Contains("proposer's signature"));
  }
  SECTION("a dropped transaction is noticed") {
    b.txs.pop_back();
    CHECK_THAT(describe(check(b)), Catch::Contains("header says 3 transactions"));
  }
  SECTION("transactions round trip alone") {
    auto bytes = encode(txs[0]);
    auto back = decode_transaction(bytes);
    REQUIRE(back);
    CHECK(*back == txs[0]);
    CHECK(back->id() == txs[0].id());
    bytes[1] = 99; // unknown kind
    CHECK_FALSE(decode_transaction(bytes));
  }
}

TEST_CASE("a batch signature covers each of its transactions and nothing else",
          "[ledger]") {
  auto orchestrator = make_key();
  auto other = make_key();
  std::vector<transaction> txs;
  for (uint32_t shard = 0; shard < 37; ++shard)
    txs.push_back(contribution(other, shard));
  sign_batch(txs, orchestrator);
  for (const auto& t : txs) {
    REQUIRE(t.batch);
    CHECK(t.signer == orchestrator.public_bytes());
    CHECK(t.sig == txs[0].sig); // one signature for all
    CHECK(t.signature_valid());
  }
  auto b = seal(1, digest{}, txs, 5, digest{}, orchestrator);
  CHECK_FALSE(check(b));

  SECTION("round trip through bytes, alone and in a block") {
    auto back = decode_transaction(encode(txs[5]));
    REQUIRE(back);
    CHECK(*back == txs[5]);
    CHECK(back->signature_valid());
    auto block_back = decode_block(encode(b));
    REQUIRE(block_back);
    CHECK(*block_back == b);
  }
  SECTION("a changed transaction no longer climbs to the signed root") {
    b.txs[11].work_units += 1;
    CHECK_FALSE(b.txs[11].signature_valid());
    CHECK_THAT(describe(check(b)),
               Catch::Contains("transaction 11 (contribution) has a bad signature"));
  }
  SECTION("a proof taken from another transaction does not fit") {
    b.txs[3].batch = b.txs[4].batch;
    CHECK_FALSE(b.txs[3].signature_valid());
  }
  SECTION("a forged transaction cannot borrow the batch's signature") {
    auto forged = contribution(other, 99);
    forged.signer = orchestrator.public_bytes();
    forged.sig = txs[0].sig;
    forged.batch = txs[0].batch;
    CHECK_FALSE(forged.signature_valid());
    forged.batch.reset();
    CHECK_FALSE(forged.signature_valid());
  }
  SECTION("signatures_valid judges each transaction, sharing one verification per batch") {
    auto mixed = txs;
    mixed.push_back(contribution(other, 200)); // signed alone
    mixed[2].shard_id = 1000;                  // broken
    auto good = signatures_valid(mixed);
    REQUIRE(good.size() == mixed.size());
    for (std::size_t i = 0; i < mixed.size(); ++i)
      CHECK(good[i] == (i != 2));
  }
  SECTION("a batch given whole, in part or in another order checks the same") {
    auto all = signatures_valid(txs);
    CHECK(std::count(all.begin(), all.end(), true) == 37);
    std::vector<transaction> part(txs.begin() + 5, txs.begin() + 20);
    auto some = signatures_valid(part);
    CHECK(std::count(some.begin(), some.end(), true) == 15);
    std::vector<transaction> turned(txs.rbegin(), txs.rend());
    auto back = signatures_valid(turned);
    CHECK(std::count(back.begin(), back.end(), true) == 37);
  }
  SECTION("in a whole batch, two records that swapped proofs are both refused") {
    auto swapped = txs;
    std::swap(swapped[6].batch, swapped[7].batch);
    auto good = signatures_valid(swapped);
    for (std::size_t i = 0; i < swapped.size(); ++i)
      CHECK(good[i] == (i != 6 && i != 7));
  }
}

TEST_CASE("the store appends blocks, keeps balances, and reopens at its head", "[ledger]") {
  test::temp_dir dir;
  auto proposer = make_key();
  digest head_hash{};
  {
    auto s = store::open(dir.path() / "ledger");
    REQUIRE(s);
    CHECK((*s)->head().blocks == 0);
    for (uint64_t h = 0; h < 5; ++h) {
      std::vector<transaction> txs{contribution(proposer, static_cast<uint32_t>(h))};
      auto b = h == 0 ? first_block(txs, 100, digest{})
                      : seal(h, (*s)->head().hash, txs, 100 + h, digest{}, proposer);
      REQUIRE_FALSE((*s)->append(b, {{"w1", 10}, {"v1", 2}}));
    }
    head_hash = (*s)->head().hash;
    // What does not extend the head is refused, and nothing changes.
    auto stale = seal(3, digest{}, {}, 0, digest{}, proposer);
    auto err = (*s)->append(stale, {{"w1", 1000}});
    REQUIRE(err);
    CHECK(is(err, errc::rejected));
    auto forged = seal(5, head_hash, {contribution(proposer, 9)}, 0, digest{}, proposer);
    forged.txs[0].work_units = 1;
    CHECK(is((*s)->append(forged, {}), errc::rejected));
    CHECK((*s)->balance("w1") == 50);
  }
  auto s = store::open(dir.path() / "ledger");
  REQUIRE(s);
  CHECK((*s)->head().blocks == 5);
  CHECK((*s)->head().height == 4);
  CHECK((*s)->head().hash == head_hash);
  CHECK((*s)->balance("w1") == 50);
  CHECK((*s)->balance("v1") == 10);
  CHECK((*s)->balance("nobody") == 0);
  CHECK((*s)->balances().size() == 2);
  auto b2 = (*s)->get(2);
  REQUIRE(b2);
  CHECK(b2->txs[0].shard_id == 2);
  auto where = (*s)->find(b2->txs[0].id());
  REQUIRE(where);
  CHECK(where->first == 2);
  CHECK(where->second == 0);
  CHECK(is((*s)->get(9).error(), errc::not_found));
  // One process at a time.
  auto second = store::open(dir.path() / "ledger");
  REQUIRE_FALSE(second);
  CHECK(is(second.error(), errc::unavailable));
}
