// Test helper: appends blocks to the ledger in DIR until killed, printing "acked H" after
// each block the store has synced. Used by the crash test in ledger_crash_test.cpp.
//
// usage: ledger_appender DIR
#include <cstdio>
#include <cstdlib>

#include "chain/ledger.hpp"

using namespace nexus::chain;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ledger_appender DIR\n");
    return 2;
  }
  auto key = node_key::load_or_create(std::string{argv[1]} + "/key");
  if (!key)
    return 1;
  auto ledger = ledger::open(std::string{argv[1]} + "/ledger", contract_rules{}, *key);
  if (!ledger) {
    std::fprintf(stderr, "cannot open the ledger\n");
    return 1;
  }
  auto task = (*ledger)->contract().last_task() + 1;
  for (;; ++task) {
    std::vector<transaction> inputs;
    for (uint32_t shard = 0; shard < 50; ++shard) {
      transaction c;
      c.kind = tx_kind::contribution;
      c.task_id = task;
      c.shard_id = shard;
      c.attempt = 1;
      c.worker = "w" + std::to_string(shard % 3);
      c.validator = "v1";
      c.work_units = 100;
      c.sign_with(*key);
      transaction v = c;
      v.kind = tx_kind::verdict;
      v.work_units = 0;
      v.valid = shard % 7 != 0;
      v.sign_with(*key);
      inputs.push_back(c);
      inputs.push_back(v);
    }
    auto b = (*ledger)->commit(std::move(inputs), task);
    if (!b) {
      std::fprintf(stderr, "commit failed\n");
      return 1;
    }
    std::printf("acked %llu\n", static_cast<unsigned long long>(b->header.height));
    std::fflush(stdout);
  }
}
