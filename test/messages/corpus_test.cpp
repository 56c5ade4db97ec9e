// The fuzz corpus of message decoders decodes as it did before messages were renamed and
// the codec split by family: each file's outcome (decoded, or the error code) as the
// decoders of f70da3b gave it. Cap'n Proto encodes no names, so renaming a schema changes
// no byte; a changed outcome here means a decoder's checks changed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>

#include "messages/codec.hpp"

using namespace nexus;

namespace {

template <class Envelope>
std::string outcome(std::vector<uint8_t> bytes) {
  auto decoded = wire::decode(Envelope{std::move(bytes)});
  return decoded ? "ok" : to_string(decoded.error().code());
}

// The fuzz target's choice: the first byte picks the message (test/fuzz/envelopes.cpp).
std::string decode_as_fuzzed(const std::vector<uint8_t>& file) {
  if (file.empty())
    return "empty";
  std::vector<uint8_t> b(file.begin() + 1, file.end());
  switch (file[0] % 21) {
  case 0:
    return outcome<wire::task_request>(b);
  case 1:
    return outcome<wire::task_ack>(b);
  case 2:
    return outcome<wire::shard_task>(b);
  case 3:
    return outcome<wire::shard_output>(b);
  case 4:
    return outcome<wire::verdict>(b);
  case 5:
    return outcome<wire::task_output>(b);
  case 6:
    return outcome<wire::task_report>(b);
  case 7:
    return outcome<wire::task_reports>(b);
  case 8:
    return outcome<wire::node_info>(b);
  case 9:
    return outcome<wire::node_reports>(b);
  case 10:
    return outcome<wire::blob_ref>(b);
  case 11:
    return outcome<wire::blob_payload>(b);
  case 12:
    return outcome<wire::challenge>(b);
  case 13:
    return outcome<wire::ledger_records>(b);
  case 14:
    return outcome<wire::ledger_query>(b);
  case 15:
    return outcome<wire::ledger_answer>(b);
  case 16:
    return outcome<wire::ledger_receipt>(b);
  case 17:
    return outcome<wire::fingerprint_query>(b);
  case 18:
    return outcome<wire::expectation>(b);
  case 19:
    return outcome<wire::judgment>(b);
  default:
    return outcome<wire::cancel_request>(b);
  }
}

// What the decoders of f70da3b made of each file of test/fuzz/corpus/envelopes.
const std::map<std::string, std::string> before{
    {"empty-0", "corrupted"},  {"empty-1", "corrupted"},  {"empty-10", "corrupted"},
    {"empty-11", "corrupted"}, {"empty-12", "corrupted"}, {"empty-13", "corrupted"},
    {"empty-14", "corrupted"}, {"empty-15", "corrupted"}, {"empty-16", "corrupted"},
    {"empty-17", "corrupted"}, {"empty-18", "corrupted"}, {"empty-19", "corrupted"},
    {"empty-2", "corrupted"},  {"empty-3", "corrupted"},  {"empty-4", "corrupted"},
    {"empty-5", "corrupted"},  {"empty-6", "corrupted"},  {"empty-7", "corrupted"},
    {"empty-8", "corrupted"},  {"empty-9", "corrupted"},  {"word-0", "corrupted"},
    {"word-1", "ok"},          {"word-10", "corrupted"},  {"word-11", "corrupted"},
    {"word-12", "corrupted"},  {"word-13", "ok"},         {"word-14", "ok"},
    {"word-15", "ok"},         {"word-16", "corrupted"},  {"word-17", "ok"},
    {"word-18", "corrupted"},  {"word-19", "ok"},         {"word-2", "corrupted"},
    {"word-3", "ok"},          {"word-4", "ok"},          {"word-5", "ok"},
    {"word-6", "ok"},          {"word-7", "ok"},          {"word-8", "corrupted"},
    {"word-9", "ok"}};

} // namespace

TEST_CASE("the envelope fuzz corpus decodes as it did before the renames", "[messages]") {
  const char* root = std::getenv("NEXUS_SOURCE_ROOT");
  REQUIRE(root);
  for (const auto& [name, expected] : before) {
    std::ifstream in{std::string{root} + "/test/fuzz/corpus/envelopes/" + name,
                     std::ios::binary};
    REQUIRE(in);
    std::vector<uint8_t> file{std::istreambuf_iterator<char>{in}, {}};
    INFO(name);
    CHECK(decode_as_fuzzed(file) == expected);
  }
}
