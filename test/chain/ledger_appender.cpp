// Test helper: appends blocks to the ledger in DIR until killed, printing "acked H" after
// each block the store has synced. Used by the crash test in ledger_crash_test.cpp.
//
// With FILE_LIMIT (bytes), it runs as a process whose disk fills up: no file it writes may
// grow beyond FILE_LIMIT (RLIMIT_FSIZE: writes past it fail with EFBIG, part-way like
// ENOSPC). When a block fails it prints "failed H: WHY", lifts the limit (the disk has
// room again), commits the same block again, appends BLOCKS more, and exits 0.
//
// usage: ledger_appender DIR [FILE_LIMIT BLOCKS]
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <sys/resource.h>

#include "chain/ledger.hpp"
#include "compute/errc.hpp"

using namespace nexus::chain;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: ledger_appender DIR [FILE_LIMIT BLOCKS]\n");
    return 2;
  }
  long more = -1; // blocks still to append after the disk had room again; -1: until killed
  if (argc == 4) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{};
    getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = std::strtoull(argv[2], nullptr, 10);
    setrlimit(RLIMIT_FSIZE, &limit);
    more = std::strtol(argv[3], nullptr, 10);
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
    auto b = (*ledger)->commit(inputs, task);
    if (!b && argc == 4 && nexus::is(b.error(), nexus::errc::failed)) {
      std::printf("failed %llu: %s\n",
                  static_cast<unsigned long long>((*ledger)->chain().head().blocks),
                  nexus::describe(b.error()).c_str());
      rlimit limit{};
      getrlimit(RLIMIT_FSIZE, &limit);
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_FSIZE, &limit);
      b = (*ledger)->commit(inputs, task);
    }
    if (!b) {
      std::fprintf(stderr, "commit failed: %s\n", nexus::describe(b.error()).c_str());
      return 1;
    }
    std::printf("acked %llu\n", static_cast<unsigned long long>(b->header.height));
    std::fflush(stdout);
    if (more == 0)
      return 0;
    if (more > 0 && argc == 4 && (*ledger)->chain().head().blocks > 0) {
      rlimit limit{};
      getrlimit(RLIMIT_FSIZE, &limit);
      if (limit.rlim_cur == limit.rlim_max) // the disk had room again: count down
        --more;
    }
  }
}
