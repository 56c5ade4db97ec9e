// A ledger node as plain C++: receipts once records are in a committed block, a record
// offered twice stored once, a bad signature refused, and a node that cannot read what it
// signed before taking no part in consensus rather than risk signing twice.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <iterator>

#include "actors/core/ledger_node.hpp"
#include "test/support/chain.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

std::vector<std::vector<uint8_t>> bytes_of(const std::vector<chain::transaction>& txs) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& t : txs)
    out.push_back(chain::encode(t));
  return out;
}

// A small tmpfs mounted on `dir` (as root), unmounted when it goes: a disk that fills up.
struct small_disk {
  std::filesystem::path dir;
  bool mounted = false;
  explicit small_disk(std::filesystem::path d)
      : dir(std::move(d)) {
    std::filesystem::create_directories(dir);
    mounted = geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") == 0;
  }
  ~small_disk() {
    if (mounted)
      ::umount2(dir.c_str(), MNT_DETACH);
  }
  // Writes a file until the disk is full.
  void fill() const {
    std::ofstream out{dir / "filler", std::ios::binary};
    std::string block(4096, 'x');
    for (int i = 0; i < 64 && out; ++i)
      out.write(block.data(), static_cast<std::streamsize>(block.size())).flush();
  }
  void empty() const {
    std::filesystem::remove(dir / "filler");
  }
};

// A network of four ledger nodes (the hub and three more keys), each with its store in
// DIR/lK and what it signs in SIGNED_DIR(K)/lK.signed.
struct four_ledgers {
  chain::genesis g;
  std::vector<chain::node_key> keys;

  explicit four_ledgers(const test::chain_keys& k)
      : g(k.start())
      , keys{k.hub} {
    for (int i = 2; i <= 4; ++i) {
      keys.push_back(chain::node_key::generate().value());
      g.members.push_back({"ledger-" + std::to_string(i), keys.back().public_bytes(),
                           chain::bit(chain::role::ledger)});
    }
  }

  std::unique_ptr<ledger_node> open(const std::filesystem::path& dir, std::size_t i,
                                    const std::filesystem::path& signed_dir) const {
    auto name = "l" + std::to_string(i);
    auto l = chain::ledger::open(dir / name, g, keys[i]);
    REQUIRE(l);
    return std::make_unique<ledger_node>(
        std::shared_ptr<chain::ledger>{std::move(*l)},
        ledger_node_config{.signed_path = signed_dir / (name + ".signed")});
  }
};

bool signed_by(const chain::consensus::message& m, const chain::public_key& key) {
  return std::visit([&](const auto& x) { return x.signer == key; }, m);
}

} // namespace

TEST_CASE("a ledger node answers a batch once its records are committed, each once",
          "[ledger-node]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto l = chain::ledger::open(dir.path() / "ledger", k.start(), k.hub);
  REQUIRE(l);
  std::shared_ptr<chain::ledger> ledger = std::move(*l);
  ledger_node node{ledger, {.signed_path = dir.path() / "ledger.signed"}};
  auto started = node.start();
  CHECK(started.broadcast.empty()); // nothing to propose: it waits

  auto c = k.contribution(1, 0, 1, "w1");
  auto records = bytes_of({k.submission(1), c, k.verdict(c, true)});
  auto out = node.offer(7, records);
  REQUIRE(out.receipts.size() == 1); // one ledger node: decided at once
  CHECK(out.receipts[0].first == 7);
  CHECK(out.receipts[0].second.recorded == 3);
  CHECK(out.receipts[0].second.refused.empty());
  CHECK(out.receipts[0].second.height == 1);
  CHECK(out.receipts[0].second.block_hash == ledger->chain().get(1)->header.hash());
  CHECK(ledger->chain().head().blocks == 2);
  CHECK(node.pooled() == 0);

  // Offered again: recorded, not stored twice.
  auto again = node.offer(8, records);
  REQUIRE(again.receipts.size() == 1);
  CHECK(again.receipts[0].second.recorded == 3);
  CHECK(ledger->chain().head().blocks == 2);

  // A forged signature is refused at once, with where it was in the batch.
  auto forged = k.verdict(c, false);
  forged.sig[0] ^= 1;
  auto refused = node.offer(9, bytes_of({forged}));
  REQUIRE(refused.receipts.size() == 1);
  CHECK(refused.receipts[0].second.recorded == 0);
  REQUIRE(refused.receipts[0].second.refused_at == std::vector<uint32_t>{0});
  CHECK_THAT(refused.receipts[0].second.refused[0], Catch::Contains("bad signature"));

  // What it signed is kept, per height.
  std::ifstream in{dir.path() / "ledger.signed"};
  uint64_t height = 0;
  int64_t round = -1;
  REQUIRE(in >> height >> round);
  CHECK(height >= 1);
  CHECK(round == 0);
}

TEST_CASE("a ledger node that cannot read what it signed signs nothing", "[ledger-node]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto l = chain::ledger::open(dir.path() / "ledger", k.start(), k.hub);
  REQUIRE(l);
  std::ofstream{dir.path() / "ledger.signed"} << "1 0\ngarbage\n";
  ledger_node node{std::move(*l), {.signed_path = dir.path() / "ledger.signed"}};
  auto out = node.start();
  REQUIRE_FALSE(out.log.empty());
  CHECK_THAT(out.log[0], Catch::Contains("takes no part in consensus"));
  auto offered = node.offer(1, bytes_of({k.submission(1)}));
  CHECK(offered.broadcast.empty());
  CHECK(offered.receipts.empty()); // it waits: no block without this node's vote
}

TEST_CASE("a ledger node reads what it signed past a line a crash tore, and goes on "
          "after it",
          "[ledger-node]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  auto l = chain::ledger::open(dir.path() / "ledger", k.start(), k.hub);
  REQUIRE(l);
  auto file = dir.path() / "ledger.signed";
  // Height 1 was signed at round 0; an append of a later round never finished.
  std::ofstream{file, std::ios::binary} << "1 0\n1 1";
  std::shared_ptr<chain::ledger> ledger = std::move(*l);
  ledger_node node{ledger, {.signed_path = file}};
  auto out = node.start();
  CHECK(out.log.empty()); // it takes part
  auto offered = node.offer(1, bytes_of({k.submission(1)}));
  REQUIRE(offered.receipts.size() == 1); // decided at round 1: round 0 was signed before
  CHECK(offered.receipts[0].second.recorded == 1);
  // The file reads whole again, ending with what it signed last.
  std::ifstream in{file};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  CHECK(text.ends_with("\n"));
  CHECK(text.find("1 1") != std::string::npos);
}

TEST_CASE("a ledger node that restarts holds the lock it held, block and all",
          "[ledger-node]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  four_ledgers net{k};
  auto open_node = [&](std::size_t i) { return net.open(dir.path(), i, dir.path()); };
  std::vector<std::unique_ptr<ledger_node>> nodes;
  for (std::size_t i = 0; i < net.keys.size(); ++i)
    nodes.push_back(open_node(i));
  // Every message reaches every other node, but node 0 hears no precommit: it locks on
  // the block the others prevoted and cannot decide it.
  std::deque<std::pair<std::size_t, chain::consensus::message>> wire;
  auto send = [&](std::size_t from, const ledger_node_output& out) {
    for (const auto& m : out.broadcast)
      wire.emplace_back(from, m);
  };
  for (std::size_t i = 0; i < nodes.size(); ++i)
    send(i, nodes[i]->start());
  auto c = k.contribution(1, 0, 1, "w1");
  auto records = bytes_of({k.submission(1), c});
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    send(i, nodes[i]->gossip(records));
  }
  for (int steps = 0; !wire.empty() && steps < 10000; ++steps) {
    auto [from, m] = wire.front();
    wire.pop_front();
    for (std::size_t to = 0; to < nodes.size(); ++to) {
      auto* v = std::get_if<chain::consensus::vote>(&m);
      if (to == from || (to == 0 && v && v->kind == chain::consensus::vote_kind::precommit))
        continue;
      send(to, nodes[to]->on_message(m));
    }
  }
  auto held = nodes[0]->lock();
  REQUIRE(held.locked_round >= 0);
  REQUIRE(held.locked);
  REQUIRE(held.valid == held.locked);
  CHECK(nodes[1]->ledger().chain().head().height == 1); // the others decided it

  nodes[0].reset(); // a crash: what it kept is what it has
  auto again = open_node(0);
  auto restored = again->lock();
  CHECK(restored.height == held.height);
  CHECK(restored.locked_round == held.locked_round);
  CHECK(restored.valid_round == held.valid_round);
  CHECK(restored.locked == held.locked);
  CHECK(restored.valid == held.valid);

  // A lock an earlier version kept whole in NAME.lock, without slots, is restored too.
  again.reset();
  auto base = dir.path() / "l0.lock";
  auto whole = synced_slots{base}.read().value();
  REQUIRE(whole);
  auto put_legacy = [&](const std::vector<uint8_t>& bytes) {
    std::ofstream legacy{base, std::ios::binary | std::ios::trunc};
    legacy.write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
  };
  // Beside the slots, a later one wins: a node taken back to that version and forward
  // again, which kept a later lock in the meantime (its locked and valid rounds, the
  // u32s after the height, one higher).
  auto later = *whole;
  later[8] += 1;
  later[12] += 1;
  put_legacy(later);
  CHECK(open_node(0)->lock().locked_round == held.locked_round + 1);
  put_legacy(*whole);
  std::filesystem::remove(base.string() + ".0");
  std::filesystem::remove(base.string() + ".1");
  auto upgraded = open_node(0);
  CHECK(upgraded->lock().locked == held.locked);
  CHECK(upgraded->lock().locked_round == held.locked_round);

  // Both slots spoiled: the node cannot know its lock and takes no part.
  upgraded.reset();
  std::filesystem::remove(base);
  {
    std::ofstream spoiled0{base.string() + ".0"}, spoiled1{base.string() + ".1"};
    spoiled0 << "not a slot";
    spoiled1 << "nor this";
  }
  auto refused = open_node(0)->start();
  REQUIRE(refused.log.size() == 1);
  CHECK_THAT(refused.log[0], Catch::Contains("takes no part in consensus")
                                 && Catch::Contains("neither holds a whole slot"));
  CHECK(refused.broadcast.empty());
}

TEST_CASE("a ledger node whose disk is full sends nothing it signed, resent or not, until "
          "it kept it",
          "[ledger-node]") {
  auto k = test::chain_keys::in();
  test::temp_dir dir;
  small_disk disk{dir.path() / "small"};
  if (!disk.mounted) {
    WARN("skipped: mounting a small tmpfs needs root");
    return;
  }
  four_ledgers net{k};
  std::vector<std::unique_ptr<ledger_node>> nodes;
  for (std::size_t i = 0; i < net.keys.size(); ++i) // node 0's signing on the small disk
    nodes.push_back(net.open(dir.path(), i, i == 0 ? disk.dir : dir.path()));
  disk.fill();
  const auto& me = net.keys[0].public_bytes();
  std::deque<std::pair<std::size_t, chain::consensus::message>> wire;
  bool unkept_sent = false;
  auto send = [&](std::size_t from, const ledger_node_output& out) {
    for (const auto& m : out.broadcast) {
      unkept_sent = unkept_sent || signed_by(m, me);
      wire.emplace_back(from, m);
    }
  };
  for (std::size_t i = 0; i < nodes.size(); ++i)
    send(i, nodes[i]->start());
  auto records = bytes_of({k.submission(1)});
  for (std::size_t i = 0; i < nodes.size(); ++i)
    send(i, nodes[i]->gossip(records));
  // Node 0 hears only proposals: it signs a prevote (or its own proposal) and cannot
  // keep it (the other three decide without it, unless node 0 proposes: timers are not
  // run here).
  for (int steps = 0; !wire.empty() && steps < 10000; ++steps) {
    auto [from, m] = wire.front();
    wire.pop_front();
    for (std::size_t to = 0; to < nodes.size(); ++to)
      if (to != from && (to != 0 || std::holds_alternative<chain::consensus::proposal>(m)))
        send(to, nodes[to]->on_message(m));
  }
  CHECK_FALSE(unkept_sent);
  send(0, nodes[0]->resend()); // the machine heard its own messages: still unkept
  CHECK_FALSE(unkept_sent);

  disk.empty();
  auto again = nodes[0]->resend();
  CHECK(std::any_of(again.broadcast.begin(), again.broadcast.end(),
                    [&](const auto& m) { return signed_by(m, me); }));
  std::ifstream in{disk.dir / "l0.signed"};
  uint64_t height = 0;
  int64_t round = -1;
  REQUIRE(in >> height >> round); // kept before it went out
  CHECK(height == 1);
}
