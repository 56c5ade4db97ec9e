// Attacks on the ledger, each as an outsider would build it, and the audit that must catch
// it from the chain alone: a foreign proposer, an impostor's record, the small-order key,
// changed bytes anywhere in the store, re-signed and replayed submissions, overflowing
// amounts, other rules, a validator judging its own work, entries nothing made, and an
// audit that would change what it audits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <leveldb/db.h>

#include "chain/audit.hpp"
#include "chain/ledger.hpp"
#include "compute/errc.hpp"
#include "test/support/chain.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;

namespace {

const contract_rules rules{2, 2, 100, 500, 50};

// A ledger of three blocks: the first block, alice's submission of task 1, and one shard
// computed by w1, judged by v1 and paid (two rewards and a charge).
std::filesystem::path paid_ledger(const test::chain_keys& k, const test::temp_dir& dir) {
  auto path = dir.path() / "ledger";
  auto l = ledger::open(path, k.start(rules), k.hub);
  REQUIRE(l);
  REQUIRE((*l)->commit({k.submission(1)}, 10));
  auto c = k.contribution(1, 0, 1, "w1");
  auto b = (*l)->commit({c, k.verdict(c, true)}, 20);
  REQUIRE(b);
  REQUIRE(b->stored);
  REQUIRE(b->stored->txs.size() == 5);
  return path;
}

std::string audit_of(const std::filesystem::path& path) {
  auto s = store::open_read_only(path);
  if (!s)
    return "cannot open: " + describe(s.error());
  return describe_audit(audit(**s));
}

// Raw access to the store's LevelDB, as anyone with write access to the directory has.
struct raw_db {
  explicit raw_db(const std::filesystem::path& path) {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options{}, path.string(), &raw).ok());
    db.reset(raw);
  }
  std::string get(const std::string& key) {
    std::string value;
    REQUIRE(db->Get(leveldb::ReadOptions{}, key, &value).ok());
    return value;
  }
  void put(const std::string& key, const std::string& value) {
    REQUIRE(db->Put(leveldb::WriteOptions{}, key, value).ok());
  }
  void erase(const std::string& key) {
    REQUIRE(db->Delete(leveldb::WriteOptions{}, key).ok());
  }
  std::map<std::string, std::string> all() {
    std::map<std::string, std::string> out;
    std::unique_ptr<leveldb::Iterator> it{db->NewIterator(leveldb::ReadOptions{})};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out[it->key().ToString()] = it->value().ToString();
    return out;
  }
  std::unique_ptr<leveldb::DB> db;
};

std::string block_key(uint64_t height) {
  std::string key(9, '\0');
  key[0] = 'b';
  for (int i = 0; i < 8; ++i)
    key[1 + i] = static_cast<char>(height >> (8 * (7 - i)));
  return key;
}

// Every file of a directory, by name, with its bytes.
std::map<std::string, std::string> files_of(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    std::ifstream in{e.path(), std::ios::binary};
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out[e.path().filename().string()] = bytes.str();
  }
  return out;
}

} // namespace

TEST_CASE("a block proposed by a key the chain does not name fails the audit",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  {
    // Mallory can write the directory, but has only a key of her own: she signs a
    // contribution of 10^9 work units, a "valid" verdict in v1's name, and a payment of
    // 900,000 MCC to herself.
    auto s = store::open(path);
    REQUIRE(s);
    auto mallory = node_key::generate().value();
    auto c = k.contribution(1, 5, 1, "w1", 1, 1'000'000'000);
    c.sign_with(mallory);
    auto v = k.verdict(c, true);
    v.sign_with(mallory);
    transaction pay;
    pay.kind = tx_kind::reward;
    pay.account = "mallory";
    pay.amount = 900'000'000'000;
    pay.signer = mallory.public_bytes();
    pay.time_ms = 30;
    auto b = seal(3, (*s)->head().hash, {c, v, pay}, 30, digest{}, mallory);
    // Every signature is valid, the certificate's too.
    REQUIRE_FALSE((*s)->append(b, {{"mallory", pay.amount}},
                               consensus::encode(certify_alone(b, 0, mallory))));
  }
  CHECK_THAT(audit_of(path),
             Catch::Contains("BAD at height 3: the certificate does not hold precommits"));
  {
    // With the ledger node's certificate stolen... it certifies another block.
    raw_db db{path};
    auto hub_block = seal(3, digest{}, {}, 30, digest{}, k.hub);
    auto cert = consensus::encode(certify_alone(hub_block, 0, k.hub));
    db.put(std::string{"c"} + std::string(7, '\0') + "\x03",
           std::string(cert.begin(), cert.end()));
  }
  CHECK_THAT(audit_of(path),
             Catch::Contains("BAD at height 3: the certificate is for another block"));
}

TEST_CASE("a record in a member's name signed by another key is refused and fails the "
          "audit",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto impostor = node_key::generate().value();
  auto c = k.contribution(1, 1, 1, "w1");
  auto v = k.verdict(c, true, "v1");
  v.sign_with(impostor);
  {
    auto l = ledger::open(path, k.start(rules), k.hub);
    REQUIRE(l);
    auto made = (*l)->commit({c, v}, 30);
    REQUIRE(made);
    REQUIRE(made->refused.size() == 1);
    CHECK(made->refused[0].first == 1);
    CHECK_THAT(made->refused[0].second,
               Catch::Contains("not signed by the key validator v1 is bound to"));
    CHECK_FALSE((*l)->contract().paid(1, 1));
  }
  {
    // Even in a block the ledger's own key signs, the audit finds the impostor.
    auto s = store::open(path);
    REQUIRE(s);
    auto b = seal(4, (*s)->head().hash, {v}, 40, digest{}, k.hub);
    REQUIRE_FALSE((*s)->append(b, {}, consensus::encode(certify_alone(b, 0, k.hub))));
  }
  CHECK_THAT(audit_of(path),
             Catch::Contains("BAD at height 4")
                 && Catch::Contains("not signed by the key validator v1 is bound to"));
}

TEST_CASE("the small-order key signs nothing", "[ledger][attack]") {
  public_key small{};
  small[0] = 1; // the identity point: OpenSSL alone verifies 01 00..00 for any message
  signature sig{};
  sig[0] = 1;
  std::string text = "a node validating its own work";
  std::span<const uint8_t> message{reinterpret_cast<const uint8_t*>(text.data()),
                                   text.size()};
  CHECK_FALSE(verify(small, message, sig));
  CHECK_FALSE(key_acceptable(small));
  // Nor does any other small-order or non-canonical key.
  public_key order2{};
  order2[0] = 0xec;
  for (int i = 1; i < 31; ++i)
    order2[i] = 0xff;
  order2[31] = 0x7f; // -1: of order 2
  CHECK_FALSE(key_acceptable(order2));
  public_key noncanonical{};
  noncanonical.fill(0xff);
  noncanonical[31] = 0x7f; // y = 2^255 - 1 > p
  CHECK_FALSE(key_acceptable(noncanonical));
  // A real key passes, and its signature with S + L (the same point, non-canonical) fails.
  auto key = node_key::generate().value();
  CHECK(key_acceptable(key.public_bytes()));
  auto good = key.sign(message);
  CHECK(verify(key.public_bytes(), message, good));
  auto malleable = good;
  static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                0,    0,    0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    unsigned sum = malleable[32 + i] + L[i] + carry;
    malleable[32 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  CHECK_FALSE(verify(key.public_bytes(), message, malleable));

  // A block "signed" by the small-order key fails the check, and a member record binding
  // it is refused.
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto s = store::open(path);
  REQUIRE(s);
  auto b = seal(3, (*s)->head().hash, {}, 30, digest{}, k.hub);
  b.header.proposer = small;
  b.header.sig = sig;
  CHECK_THAT(describe(check(b)), Catch::Contains("proposer's signature does not match"));
  s->reset();
  auto l = ledger::open(path, k.start(rules), k.hub);
  REQUIRE(l);
  auto join = member_record({"sneaky", small, bit(role::validator)});
  join.sign_with(k.hub);
  auto made = (*l)->commit({join}, 40);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 1);
  CHECK_THAT(made->refused[0].second, Catch::Contains("not a canonical Ed25519 point"));
}

TEST_CASE("a change to any byte of a stored block fails the audit", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto key = block_key(2); // the paid block: its inputs, two rewards and a charge
  std::string original;
  {
    raw_db db{path};
    original = db.get(key);
  }
  REQUIRE(original.size() > 1000);
  std::size_t unnoticed = 0;
  std::string first_unnoticed;
  for (std::size_t at = 0; at < original.size(); ++at) {
    auto changed = original;
    changed[at] = static_cast<char>(changed[at] ^ 0x01);
    {
      raw_db db{path};
      db.put(key, changed);
    }
    auto result = audit_of(path);
    if (result.starts_with("ledger OK")) {
      if (unnoticed++ == 0)
        first_unnoticed = "byte " + std::to_string(at);
    }
  }
  {
    raw_db db{path};
    db.put(key, original);
  }
  INFO(first_unnoticed);
  CHECK(unnoticed == 0);
  CHECK_THAT(audit_of(path), Catch::StartsWith("ledger OK"));
}

TEST_CASE("a payment's signature bytes are covered", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  {
    raw_db db{path};
    auto bytes = db.get(block_key(2));
    auto b = decode_block({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    REQUIRE(b);
    auto& reward = b->txs[2];
    REQUIRE(reward.kind == tx_kind::reward);
    std::string text = "arbitrary text in the 64 signature bytes of a payment, unchecked";
    std::copy_n(text.begin(), 64, reward.sig.begin());
    auto forged = encode(*b);
    db.put(block_key(2), {forged.begin(), forged.end()});
  }
  CHECK_THAT(audit_of(path),
             Catch::Contains("BAD at height 2") && Catch::Contains("carries a signature"));
}

TEST_CASE("every index entry, balance and block is accounted for", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  std::map<std::string, std::string> entries;
  {
    raw_db db{path};
    entries = db.all();
  }
  auto attack = [&](auto&& change) {
    {
      raw_db db{path};
      change(db);
    }
    auto result = audit_of(path);
    {
      raw_db db{path};
      for (const auto& [key, value] : db.all())
        if (!entries.contains(key))
          db.erase(key);
      for (const auto& [key, value] : entries)
        db.put(key, value);
    }
    return result;
  };
  // Each entry's value changed in one byte, then each entry removed.
  std::size_t unnoticed = 0;
  for (const auto& [key, value] : entries) {
    if (key[0] == 'b')
      continue; // blocks: the test above
    if (!value.empty() && attack([&](raw_db& db) {
                            auto changed = value;
                            changed[changed.size() / 2] ^= 0x04;
                            db.put(key, changed);
                          }).starts_with("ledger OK"))
      ++unnoticed;
    if (attack([&](raw_db& db) { db.erase(key); }).starts_with("ledger OK"))
      ++unnoticed;
  }
  CHECK(unnoticed == 0);
  CHECK_THAT(attack([](raw_db& db) {
               db.put(std::string{"hmallory"} + '\0' + std::string(8, '\0'),
                      std::string(4, '\0'));
             }),
             Catch::Contains("the history entry of mallory at height 0 is stored, "
                             "but nothing on the chain made it"));
  // An entry in the form earlier builds wrote is not mistaken for a store to rewrite.
  CHECK_THAT(attack([](raw_db& db) {
               db.put(std::string{"h"} + '\0' + std::string(16, '\0'), "");
             }),
             Catch::Contains("a malformed history key is stored"));
  CHECK_THAT(attack([](raw_db& db) { db.put("amallory", std::string(8, '\0')); }),
             Catch::Contains("the balance of mallory is stored, but nothing"));
  CHECK_THAT(attack([&](raw_db& db) { db.put(block_key(3), entries.at(block_key(2))); }),
             Catch::Contains("block 3 is stored beyond the head"));
  CHECK_THAT(audit_of(path), Catch::StartsWith("ledger OK"));
}

TEST_CASE("a submission counts only as its submitter signed it, once", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir); // alice's first submission bound her name to her key
  auto l = ledger::open(path, k.start(rules), k.hub);
  REQUIRE(l);
  // The orchestrator re-signs a submission in alice's name with a larger budget.
  auto resigned = k.submission(2, 1'000'000'000);
  resigned.sign_with(k.hub);
  // It replays alice's own signed submission for another task: she signed its id.
  auto first = (*l)->chain().get(1);
  REQUIRE(first);
  auto replayed = first->txs[0];
  REQUIRE(replayed.kind == tx_kind::submission);
  replayed.task_id = 3;
  CHECK_FALSE(replayed.signature_valid());
  // Submissions signed before submitters chose ids (task id 0, numbered by the hub) still
  // verify under any id: their nonce makes them count once.
  replayed.task_id = 0;
  replayed.sign_with(k.alice);
  replayed.task_id = 3;
  CHECK(replayed.signature_valid());
  // A submission nobody signed.
  auto unsigned_ = k.submission(4);
  unsigned_.sig = {};
  auto made = (*l)->commit({resigned, replayed}, 30);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 2);
  CHECK_THAT(made->refused[0].second, Catch::Contains("not by the key alice is bound to"));
  CHECK_THAT(made->refused[1].second, Catch::Contains("replayed submission"));
  auto refused = (*l)->commit({unsigned_}, 31);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("bad signature"));
  // Work on those tasks is paid by nobody: refused too.
  auto c = k.contribution(3, 0, 1, "w1");
  made = (*l)->commit({c}, 32);
  REQUIRE(made);
  CHECK(made->refused.size() == 1);
}

TEST_CASE("amounts that would overflow are refused", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  contract_rules dear = rules;
  dear.micro_mcc_per_work_unit = max_rate;
  auto l = ledger::open(dir.path() / "ledger", k.start(dear), k.hub);
  REQUIRE(l);
  REQUIRE((*l)->commit({k.submission(1)}, 1));
  // 2^63 + 10^6 work units: as int64, negative; times the rate, undefined.
  auto huge = k.contribution(1, 0, 1, "w1", 1, (uint64_t{1} << 63) + 1'000'000);
  auto made = (*l)->commit({huge, k.verdict(huge, true)}, 2);
  REQUIRE(made);
  REQUIRE_FALSE(made->refused.empty());
  CHECK_THAT(made->refused[0].second, Catch::Contains("work units, above"));
  CHECK((*l)->chain().balance("w1") == 0);
  // The most one contribution may claim, at the highest rate, fits; the second such
  // payment to the same account would not, and is refused.
  for (uint32_t shard = 1; shard <= 2; ++shard) {
    auto c = k.contribution(1, shard, 1, "w1", 1, max_work_units);
    made = (*l)->commit({c, k.verdict(c, true)}, 2 + shard);
    REQUIRE(made);
    CHECK(made->refused.size() == (shard == 1 ? 0u : 1u));
  }
  CHECK((*l)->chain().balance("w1") > 0);
  CHECK(audit((*l)->chain()));
}

TEST_CASE("the rules in force come from the chain", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  CHECK_THAT(audit_of(path), Catch::Contains("validators 10.0%"));
  // Another validator share: the ledger records the change, and pays by it from then on.
  auto other = rules;
  other.validator_share_permille = 500;
  {
    auto l = ledger::open(path, k.start(other), k.hub);
    REQUIRE(l);
    CHECK((*l)->chain().head().blocks == 3); // the rules come from the chain
    REQUIRE_FALSE((*l)->adopt_rules(other));
    CHECK((*l)->chain().head().blocks == 4); // the governance record has a block of its own
    CHECK((*l)->contract().scheduled().at(4) == other); // from the next block on
    auto c = k.contribution(1, 1, 1, "w1");
    REQUIRE((*l)->commit({c, k.verdict(c, true)}, 30));
    CHECK((*l)->chain().balance("v1") == 200 + 1000);
  }
  CHECK_THAT(audit_of(path), Catch::StartsWith("ledger OK") && Catch::Contains("50.0%"));
  // A proposer who pays by other rules than the chain's is found out.
  {
    auto s = store::open(path);
    REQUIRE(s);
    auto c = k.contribution(1, 2, 1, "w1");
    auto v = k.verdict(c, true);
    auto at_ten_percent = [&](const std::string& who, int64_t amount) {
      transaction p;
      p.kind = tx_kind::reward;
      p.task_id = 1;
      p.shard_id = 2;
      p.attempt = 1;
      p.worker = "w1";
      p.validator = "v1";
      p.account = who;
      p.amount = amount;
      p.signer = k.hub.public_bytes();
      p.time_ms = 50;
      return p;
    };
    auto charge = at_ten_percent("alice", 2000);
    charge.kind = tx_kind::charge;
    auto b = seal(5, (*s)->head().hash,
                  {c, v, at_ten_percent("w1", 1800), at_ten_percent("v1", 200), charge}, 50,
                  digest{}, k.hub);
    REQUIRE_FALSE((*s)->append(b, {{"w1", 1800}, {"v1", 200}, {"alice", -2000}},
                               consensus::encode(certify_alone(b, 0, k.hub))));
  }
  CHECK_THAT(audit_of(path), Catch::Contains("BAD at height 5")
                                 && Catch::Contains("is not what the contract derives"));
}

TEST_CASE("a validator may not judge its own node's work", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto start = k.start(rules);
  // One node that computes and validates under one key, and one that shares w2's key.
  auto both = node_key::generate().value();
  start.members.push_back(
      {"node-a", both.public_bytes(), bit(role::worker) | bit(role::validator)});
  start.members.push_back({"v3", k.w2.public_bytes(), bit(role::validator)});
  auto l = ledger::open(dir.path() / "ledger", start, k.hub);
  REQUIRE(l);
  REQUIRE((*l)->commit({k.submission(1)}, 1));
  auto own = k.contribution(1, 0, 1, "node-a");
  auto self_verdict = k.verdict(own, true, "v1");
  self_verdict.validator = "node-a";
  self_verdict.sign_with(both);
  auto w2_work = k.contribution(1, 1, 1, "w2");
  auto same_key = k.verdict(w2_work, true, "v1");
  same_key.validator = "v3";
  same_key.sign_with(k.w2);
  auto made = (*l)->commit({own, self_verdict, w2_work, same_key}, 2);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 2);
  CHECK_THAT(made->refused[0].second, Catch::Contains("judged its own node's work"));
  CHECK_THAT(made->refused[1].second, Catch::Contains("judged its own node's work"));
  CHECK((*l)->chain().balance("node-a") == 0);
}

TEST_CASE("an audit leaves the store byte-identical", "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto copies = [] {
    std::set<std::string> out;
    for (const auto& e :
         std::filesystem::directory_iterator{std::filesystem::temp_directory_path()})
      if (e.path().filename().string().starts_with("nexus-audit-"))
        out.insert(e.path().filename().string());
    return out;
  };
  auto before = files_of(path);
  auto copies_before = copies();
  CHECK_THAT(audit_of(path), Catch::StartsWith("ledger OK"));
  CHECK_THAT(audit_of(path), Catch::StartsWith("ledger OK"));
  CHECK(files_of(path) == before);
  CHECK(copies() == copies_before); // nothing left behind in the temporary directory
}

TEST_CASE("a record that carries bytes its kind does not use is refused",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto l = ledger::open(path, k.start(rules), k.hub);
  REQUIRE(l);
  auto c = k.contribution(1, 1, 1, "w1");
  auto v = k.verdict(c, true);
  v.account = "victim"; // would put the verdict in the victim's history
  v.data.assign(4000, 'x');
  v.sign_with(k.v1);
  auto made = (*l)->commit({c, v}, 30);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 1);
  CHECK_THAT(made->refused[0].second, Catch::Contains("does not use"));
  CHECK((*l)->chain().history("victim").empty());
}

TEST_CASE("one key earns one audit, and no validator judges its own submission",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto start = k.start(rules);
  start.members.push_back({"v1-again", k.v1.public_bytes(), bit(role::validator)});
  start.members.push_back(
      {"alice-validates", k.alice.public_bytes(), bit(role::validator)});
  auto l = ledger::open(dir.path() / "ledger", start, k.hub);
  REQUIRE(l);
  auto c = k.contribution(1, 0, 1, "w1");
  auto again = k.verdict(c, true, "v1");
  again.validator = "v1-again";
  again.sign_with(k.v1);
  auto own = k.verdict(c, true, "v1");
  own.validator = "alice-validates";
  own.sign_with(k.alice);
  auto made = (*l)->commit({k.submission(1), c, k.verdict(c, true), again, own}, 1);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 1);
  CHECK(made->refused[0].first == 4);
  CHECK_THAT(made->refused[0].second, Catch::Contains("judged work on its own submission"));
  CHECK((*l)->chain().balance("v1-again") == 0); // v1's key judged already
  CHECK((*l)->chain().balance("alice") == -2000);
}

TEST_CASE("a block never holds more records than a reader takes, and a bad record alone "
          "is refused alone",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto l = ledger::open(dir.path() / "ledger", k.start(rules), k.hub);
  REQUIRE(l);
  std::vector<transaction> flood(max_block_inputs + 1, k.contribution(1, 0, 1, "w1"));
  auto refused = (*l)->commit(std::move(flood), 1);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::invalid_input));
  // A submission signed in a batch fails every block it is in: the ledger refuses it
  // alone, before the block is sealed.
  std::vector<transaction> batch{k.submission(1), k.submission(2)};
  sign_batch(batch, k.alice);
  auto made = (*l)->commit({batch[0], k.submission(3)}, 2);
  REQUIRE(made);
  REQUIRE(made->refused.size() == 1);
  CHECK_THAT(made->refused[0].second, Catch::Contains("a submitter signs alone"));
  CHECK(made->stored);
}

TEST_CASE("a block whose state root is not its balances' fails the audit, and ledger "
          "nodes refuse it",
          "[ledger][attack]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  auto c = k.contribution(1, 1, 1, "w2");
  auto v = k.verdict(c, true);
  block lying;
  {
    auto l = ledger::open(path, k.start(rules), k.hub);
    REQUIRE(l);
    auto made = (*l)->propose({c, v}, 30);
    REQUIRE(made);
    REQUIRE(made->stored);
    CHECK_FALSE((*l)->check_next(*made->stored));
    // The same header over a record whose signature was changed: ids leave signatures
    // out, so only a check of every byte tells the two apart.
    auto resigned = *made->stored;
    resigned.txs[0].sig[5] ^= 1;
    REQUIRE(resigned.header.hash() == made->stored->header.hash());
    CHECK_THAT(describe((*l)->check_next(resigned)), Catch::Contains("bad signature"));
    // The proposer claims the balances of before: a root that hides the payments.
    lying = *made->stored;
    lying.header.state_root = state_root((*l)->contract().balances());
    lying.header.sig = k.hub.sign(lying.header.body());
    CHECK_THAT(describe((*l)->check_next(lying)), Catch::Contains("state root"));
    CHECK(is((*l)->commit(lying, certify_alone(lying, 0, k.hub)), errc::rejected));
    // A block with a record already on the chain is refused too.
    auto again =
        seal(3, lying.header.prev, {(*l)->chain().get(1)->txs[0]}, 30, digest{}, k.hub);
    CHECK_THAT(describe((*l)->check_next(again)), Catch::Contains("already on the chain"));
    // A proposal's time never goes back before the head's.
    auto early = (*l)->propose({c, v}, 1);
    REQUIRE(early);
    REQUIRE(early->stored);
    CHECK(early->stored->header.time_ms == 20);
  }
  {
    auto s = store::open(path);
    REQUIRE(s);
    REQUIRE_FALSE(
        (*s)->append(lying, {}, consensus::encode(certify_alone(lying, 0, k.hub))));
  }
  CHECK_THAT(audit_of(path),
             Catch::Contains("BAD at height 3") && Catch::Contains("state root"));
}

TEST_CASE("a store with one history entry per record, as earlier builds wrote it, is "
          "rewritten per block when it opens, and verifies",
          "[ledger]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto path = paid_ledger(k, dir);
  std::vector<std::pair<uint64_t, uint32_t>> w1_history;
  {
    auto s = store::open(path);
    REQUIRE(s);
    w1_history = (*s)->history("w1");
  }
  // w1's member record in the first block, and block 2's records of its shard.
  REQUIRE(w1_history.size() > 2);
  CHECK(std::find(w1_history.begin(), w1_history.end(), std::pair<uint64_t, uint32_t>{2, 0})
        != w1_history.end());
  {
    raw_db db{path};
    auto be64 = [](uint64_t x) {
      std::string out(8, '\0');
      for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>(x >> (8 * (7 - i)));
      return out;
    };
    for (const auto& [key, value] : db.all())
      if (key.starts_with("h"))
        db.erase(key);
    for (auto [height, index] : w1_history)
      db.put(std::string{"hw1"} + '\0' + be64(height) + be64(index), "");
  }
  // Its copy is rewritten as it opens, and the report says so.
  CHECK_THAT(audit_of(path),
             Catch::StartsWith("ledger OK") && Catch::Contains("earlier form made again"));
  auto s = store::open(path);
  REQUIRE(s);
  CHECK((*s)->history("w1") == w1_history);
  CHECK_FALSE((*s)->history("v1").empty()); // made again for every account
}
