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
#include "test/support/chain.hpp"

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
  // Keys are kept beside the ledger: a restarted appender is the same network.
  auto k = nexus::test::chain_keys::in(std::string{argv[1]} + "/keys");
  auto ledger = ledger::open(std::string{argv[1]} + "/ledger", k.start(), k.hub);
  if (!ledger) {
    std::fprintf(stderr, "cannot open the ledger: %s\n",
                 nexus::describe(ledger.error()).c_str());
    return 1;
  }
  auto task = (*ledger)->contract().last_task() + 1;
  for (;; ++task) {
    std::vector<transaction> inputs{k.submission(task)};
    for (uint32_t shard = 0; shard < 50; ++shard) {
      auto c = k.contribution(task, shard, 1, shard % 3 == 0 ? "faulty" : "w1", 1, 100);
      inputs.push_back(c);
      inputs.push_back(k.verdict(c, shard % 7 != 0));
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
    if (!b->refused.empty() || !b->stored) {
      std::fprintf(stderr, "the contract refused a record: %s\n",
                   b->refused.empty() ? "?" : b->refused[0].second.c_str());
      return 1;
    }
    std::printf("acked %llu\n", static_cast<unsigned long long>(b->stored->header.height));
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
