// A process appending blocks is SIGKILLed again and again: every block it acknowledged is
// still there after reopening, and the audit passes each time.
#include <catch2/catch.hpp>

#include <random>

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
    INFO("round " << round << ": acked up to " << height << ", head " << (*s)->head().height);
    CHECK((*s)->head().height >= height);
    CHECK((*s)->head().height >= acked_before);
    auto report = chain::audit(**s, chain::contract_rules{});
    CHECK(report);
    CHECK(report->blocks == (*s)->head().blocks);
    acked_before = height;
  }
}
