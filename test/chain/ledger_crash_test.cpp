// A process appending blocks is SIGKILLed again and again: every block it acknowledged is
// still there after reopening, and the audit passes each time.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "chain/audit.hpp"
#include "chain/store.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

TEST_CASE("no acknowledged block is lost when the writer is killed", "[ledger-crash]") {
  const char* appender = std::getenv("NEXUS_LEDGER_APPENDER");
  REQUIRE(appender != nullptr);
  test::temp_dir dir;
  std::mt19937 rng{42};
  std::uniform_int_distribution<int> pause{50, 400};
  uint64_t acked_before = 0;
  for (int round = 0; round < 6; ++round) {
    auto log = dir.file("round" + std::to_string(round) + ".log");
    {
      test::process writer{{appender, dir.path().string()}, log};
      REQUIRE(writer.wait_output("acked", 10s));
      // While the writer has it, an audit refuses to copy a store that is changing.
      auto busy = chain::store::open_read_only(dir.path() / "ledger");
      REQUIRE_FALSE(busy);
      CHECK(is(busy.error(), errc::unavailable));
      std::this_thread::sleep_for(std::chrono::milliseconds{pause(rng)});
      writer.signal(SIGKILL);
      REQUIRE(writer.wait_for(10s));
    }
    // The last height the writer acknowledged.
    std::ifstream in{log};
    std::string word;
    uint64_t height = 0;
    bool any = false;
    while (in >> word)
      if (word == "acked" && in >> height)
        any = true;
    REQUIRE(any);
    auto s = chain::store::open(dir.path() / "ledger");
    REQUIRE(s);
    INFO("round " << round << ": acked up to " << height << ", head "
                  << (*s)->head().height);
    CHECK((*s)->head().height >= height);
    CHECK((*s)->head().height >= acked_before);
    auto report = chain::audit(**s);
    CHECK(report);
    CHECK(report->blocks == (*s)->head().blocks);
    acked_before = height;
  }
}

TEST_CASE("a full disk costs no acknowledged block and leaves a store that opens",
          "[ledger-crash]") {
  const char* appender = std::getenv("NEXUS_LEDGER_APPENDER");
  REQUIRE(appender != nullptr);
  test::temp_dir dir;
  // Files may not grow past 192 KiB: the log fills after a few blocks of ~30 KiB, and the
  // write that hits the limit is cut part-way, as on a full disk.
  auto log = dir.file("appender.log");
  {
    test::process writer{{appender, dir.path().string(), "196608", "5"}, log};
    REQUIRE(writer.wait_for(60s) == 0);
  }
  std::ifstream in{log};
  std::string word;
  uint64_t height = 0, failed_at = 0;
  bool failed = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    words >> word;
    if (word == "acked")
      words >> height;
    if (word == "failed") {
      failed = true;
      words >> failed_at;
    }
  }
  REQUIRE(failed); // the limit was hit
  CHECK(failed_at > 0);
  CHECK(height >= failed_at + 5);
  auto s = chain::store::open(dir.path() / "ledger");
  REQUIRE(s); // no torn record left behind for LevelDB to refuse
  CHECK((*s)->head().height == height);
  auto report = chain::audit(**s);
  REQUIRE(report);
  CHECK(report->blocks == height + 1);
}
