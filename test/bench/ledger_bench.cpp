// Contributions settled per second: signed contributions and verdicts, their signatures
// checked, sealed into blocks of BATCH with the payments they earn, and stored (synced)
// in LevelDB. Measured twice in one run: every record signed alone, and records signed in
// batches of SIGN_BATCH (one Ed25519 signature over a Merkle root, as validators and the
// orchestrator sign what arrives together). Baseline: Ed25519 verifications alone.
//
// usage: ledger_bench [CONTRIBUTIONS] [BATCH] [SIGN_BATCH]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "chain/ledger.hpp"
#include "test/support/bench_records.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::chain;
using clock_type_ = std::chrono::steady_clock;

namespace {

double since(clock_type_::time_point start) {
  return std::chrono::duration<double>(clock_type_::now() - start).count();
}

// The network of the records: the orchestrator (which proposes too), validator-1 and
// eight workers, whose keys only the first block needs.
genesis network(const node_key& orchestrator, const node_key& validator) {
  genesis g;
  g.members.push_back(
      {"hub", orchestrator.public_bytes(), bit(role::orchestrator) | bit(role::ledger)});
  g.members.push_back({"validator-1", validator.public_bytes(), bit(role::validator)});
  for (int i = 0; i < 8; ++i)
    g.members.push_back({"worker-" + std::to_string(i),
                         node_key::generate().value().public_bytes(), bit(role::worker)});
  return g;
}

// Seconds to commit `inputs` in blocks of `batch` contributions, or a negative number.
// The tasks' submissions go first, in a block of their own, untimed.
double settle(const std::vector<transaction>& inputs, std::size_t batch,
              const node_key& key, const node_key& validator) {
  test::temp_dir dir;
  auto ledger = ledger::open(dir.path() / "ledger", network(key, validator), key);
  if (!ledger)
    return -1;
  auto submitter = node_key::generate().value();
  std::vector<transaction> submissions;
  for (uint64_t task = 1; task <= inputs.back().task_id; ++task) {
    transaction t;
    t.kind = tx_kind::submission;
    t.task_id = task;
    t.account = "alice";
    t.data = u64_data(task);
    t.sign_with(submitter);
    submissions.push_back(std::move(t));
  }
  if (!(*ledger)->commit(std::move(submissions), 0))
    return -1;
  auto start = clock_type_::now();
  for (std::size_t i = 0; i < inputs.size(); i += 2 * batch) {
    auto end = std::min(inputs.size(), i + 2 * batch);
    std::vector<transaction> chunk(inputs.begin() + static_cast<long>(i),
                                   inputs.begin() + static_cast<long>(end));
    auto made = (*ledger)->commit(std::move(chunk), 0);
    if (!made || !made->refused.empty())
      return -1;
  }
  auto t = since(start);
  auto paid = (*ledger)->chain().balance("worker-0");
  return paid > 0 ? t : -1;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  std::size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  std::size_t sign_batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 250;
  if (n == 0 || batch == 0 || sign_batch == 0) {
    std::fprintf(stderr, "usage: ledger_bench [CONTRIBUTIONS] [BATCH] [SIGN_BATCH]\n");
    return 2;
  }
  auto orchestrator = node_key::generate().value();
  auto validator = node_key::generate().value();
  auto alone = test::make_inputs(n, 1, orchestrator, validator);
  auto batched = test::make_inputs(n, sign_batch, orchestrator, validator);

  auto start = clock_type_::now();
  std::size_t ok = 0;
  for (const auto& t : alone)
    ok += t.signature_valid();
  auto verify_s = since(start);
  if (ok != alone.size()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  auto alone_s = settle(alone, batch, orchestrator, validator);
  auto batched_s = settle(batched, batch, orchestrator, validator);
  if (alone_s < 0 || batched_s < 0) {
    std::fprintf(stderr, "commit failed\n");
    return 1;
  }
  std::printf("ledger: %zu contributions (+ %zu verdicts), blocks of %zu contributions\n",
              n, n, batch);
  std::printf("  Ed25519 verifications alone, one core: %.0f/s\n", alone.size() / verify_s);
  std::printf("  settled, each record signed alone:        %.3f s, %7.0f contributions/s\n",
              alone_s, n / alone_s);
  std::printf("  settled, records signed in batches of %zu: %.3f s, %7.0f contributions/s "
              "(target >= 20000); ratio %.1fx\n",
              sign_batch, batched_s, n / batched_s, alone_s / batched_s);
  return 0;
}
