// Four ledger nodes in one process agreeing on every block by Tendermint, with one of them
// misbehaving as nexus-shell --ledger-fault makes it: the products stay exact, every
// honest node stores the same chain, which pays every shard once and passes the audit,
// and no block of the faulty node's making that breaks the rules is ever committed.
#include <catch2/catch.hpp>

#include <thread>

#include "chain/audit.hpp"
#include "chain/ledger.hpp"
#include "compute/gemm.hpp"
#include "test/support/embedded.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::test;
using namespace std::chrono_literals;

namespace {

// The head each node states (height and hash), asked through its actor.
std::vector<std::pair<uint64_t, chain::digest>>
heads(caf::actor_system& sys, const std::vector<ledger_actor>& nodes) {
  caf::scoped_actor self{sys};
  std::vector<std::pair<uint64_t, chain::digest>> out;
  for (const auto& n : nodes) {
    ledger_query q;
    q.question = ledger_question::tail;
    q.count = 1;
    std::pair<uint64_t, chain::digest> head{};
    self->request(n, 5s, ledger_atom::value, wire::encode(q))
        .receive(
            [&](const wire::ledger_answer& msg) {
              if (auto a = wire::decode(msg); a && !a->blocks.empty())
                head = {a->blocks.back().height, a->blocks.back().hash};
            },
            [](const caf::error&) {});
    out.push_back(head);
  }
  return out;
}

// Waits (at most 30 s) until `honest` nodes state one head that stays for 1.5 s.
bool settled(caf::actor_system& sys, const std::vector<ledger_actor>& honest) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::pair<uint64_t, chain::digest> last{};
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = heads(sys, honest);
    bool same = std::all_of(h.begin(), h.end(), [&](const auto& x) { return x == h[0]; });
    if (!same || h[0] != last) {
      last = h[0];
      since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - since > 1500ms) {
      return true;
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::string audit_of(const std::filesystem::path& dir) {
  auto s = chain::store::open_read_only(dir);
  if (!s)
    return describe(s.error());
  return chain::describe_audit(chain::audit(**s));
}

} // namespace

TEST_CASE("four ledger nodes commit the same valid chain with one of them faulty",
          "[replicated]") {
  for (std::string fault :
       {"", "silent", "equivocate", "invalid-votes", "pay-self", "drop-records"}) {
    DYNAMIC_SECTION("fault: " << (fault.empty() ? "none" : fault)) {
      temp_dir dir;
      std::vector<std::pair<uint64_t, uint32_t>> shards; // (task, shard) validated
      {
        embedded_options opts{3, 2, 0, {}};
        opts.data_dir = dir.path();
        opts.ledgers = 4;
        opts.ledger_fault = fault;
        fixture f{opts};
        REQUIRE(f.net.ledgers.size() == 4);
        for (std::size_t m : {96, 130, 64}) {
          auto a = compute::random_tensor({m, 40}, m);
          auto b = compute::random_tensor({40, 50}, m + 1);
          auto [report, c] = f.run(a, b);
          REQUIRE(report.state == task_state::done);
          CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-6);
          for (uint32_t s = 0; s < report.shard_count; ++s)
            shards.emplace_back(report.task_id, s);
        }
        std::vector<ledger_actor> honest(f.net.ledgers.begin(), f.net.ledgers.end() - 1);
        if (fault.empty())
          honest = f.net.ledgers;
        CHECK(settled(f.sys, honest));
      }
      // Every honest store: the same blocks, every shard paid once, the audit passes.
      std::vector<std::filesystem::path> stores{dir.path() / "ledger"};
      for (int k = 2; k <= 4; ++k)
        stores.push_back(dir.path() / "ledgers" / ("ledger-" + std::to_string(k))
                         / "ledger");
      auto honest_stores = fault.empty() ? 4u : 3u;
      std::vector<chain::digest> head_hashes;
      for (std::size_t i = 0; i < stores.size(); ++i) {
        INFO("store " << stores[i]);
        auto report = audit_of(stores[i]);
        CHECK_THAT(report, Catch::StartsWith("ledger OK"));
        if (i >= honest_stores)
          continue;
        auto s = chain::store::open_read_only(stores[i]);
        REQUIRE(s);
        head_hashes.push_back((*s)->head().hash);
        chain::contract_state contract;
        for (uint64_t h = 0; h < (*s)->head().blocks; ++h) {
          auto b = (*s)->get(h);
          REQUIRE(b);
          REQUIRE(contract.replay(*b));
          for (const auto& t : b->txs) // the faulty node is never paid for nothing
            if (t.kind == chain::tx_kind::reward)
              CHECK(t.account != "ledger-4");
        }
        for (auto [task, shard] : shards)
          CHECK(contract.paid(task, shard));
        // Double signing is penalized, on the evidence the honest nodes recorded.
        auto penalty = contract.rules().penalty_micro_mcc;
        auto balance = contract.balances().contains("ledger-4")
                           ? contract.balances().at("ledger-4")
                           : 0;
        if (fault == "equivocate") {
          CHECK(balance < 0);
          CHECK(balance % penalty == 0);
        } else {
          CHECK(balance == 0);
        }
      }
      for (const auto& h : head_hashes)
        CHECK(h == head_hashes[0]);
    }
  }
}
