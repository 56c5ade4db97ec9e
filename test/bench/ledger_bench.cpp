// Contributions settled per second: signed contributions and verdicts, their signatures
// checked, sealed into blocks of BATCH with the payments they earn, and stored (synced)
// in LevelDB. Baseline in the same run: the Ed25519 verifications alone.
//
// usage: ledger_bench [CONTRIBUTIONS] [BATCH]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "chain/ledger.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;
using clock_type_ = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  std::size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  if (n == 0 || batch == 0) {
    std::fprintf(stderr, "usage: ledger_bench [CONTRIBUTIONS] [BATCH]\n");
    return 2;
  }
  auto orchestrator = node_key::generate().value();
  auto validator = node_key::generate().value();
  std::vector<transaction> inputs;
  inputs.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    transaction c;
    c.kind = tx_kind::contribution;
    c.task_id = 1 + i / 1000;
    c.shard_id = static_cast<uint32_t>(i % 1000);
    c.attempt = 1;
    c.worker = "worker-" + std::to_string(i % 8);
    c.validator = "validator-1";
    c.work_units = 1000;
    c.sign_with(orchestrator);
    transaction v = c;
    v.kind = tx_kind::verdict;
    v.work_units = 0;
    v.valid = true;
    v.sign_with(validator);
    inputs.push_back(std::move(c));
    inputs.push_back(std::move(v));
  }
  auto start = clock_type_::now();
  std::size_t ok = 0;
  for (const auto& t : inputs)
    ok += t.signature_valid();
  auto verify_s = std::chrono::duration<double>(clock_type_::now() - start).count();

  test::temp_dir dir;
  auto ledger = ledger::open(dir.path() / "ledger", contract_rules{}, orchestrator);
  if (!ledger || ok != inputs.size()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  start = clock_type_::now();
  for (std::size_t i = 0; i < inputs.size(); i += 2 * batch) {
    auto end = std::min(inputs.size(), i + 2 * batch);
    std::vector<transaction> chunk(inputs.begin() + static_cast<long>(i),
                                   inputs.begin() + static_cast<long>(end));
    if (!(*ledger)->commit(std::move(chunk), 0)) {
      std::fprintf(stderr, "commit failed\n");
      return 1;
    }
  }
  auto settle_s = std::chrono::duration<double>(clock_type_::now() - start).count();
  std::printf("ledger: %zu contributions (+ %zu verdicts), blocks of %zu contributions\n", n,
              n, batch);
  std::printf("  Ed25519 verifications alone: %.0f/s\n", inputs.size() / verify_s);
  std::printf("  settled (signatures checked on both cores, payments derived, sealed, synced): %.3f s, "
              "%.0f contributions/s (target >= 20000)\n",
              settle_s, n / settle_s);
  return 0;
}
