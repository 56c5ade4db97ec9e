// Fuzz target: every decoder of messages that cross processes, on arbitrary bytes. The
// first byte picks the message type; the rest are its bytes. Decoding must never crash,
// read out of bounds or leak: malformed bytes give errc::corrupted.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "messages/codec.hpp"

using namespace nexus;

namespace {

template <class Envelope>
void decode_as(const uint8_t* data, std::size_t size) {
  Envelope msg{std::vector<uint8_t>(data, data + size)};
  (void)wire::decode(msg);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto pick = data[0] % 21;
  ++data;
  --size;
  switch (pick) {
  case 0:
    decode_as<wire::task_request>(data, size);
    break;
  case 1:
    decode_as<wire::task_ack>(data, size);
    break;
  case 2:
    decode_as<wire::shard_task>(data, size);
    break;
  case 3:
    decode_as<wire::shard_output>(data, size);
    break;
  case 4:
    decode_as<wire::verdict>(data, size);
    break;
  case 5:
    decode_as<wire::task_output>(data, size);
    break;
  case 6:
    decode_as<wire::task_report>(data, size);
    break;
  case 7:
    decode_as<wire::task_reports>(data, size);
    break;
  case 8:
    decode_as<wire::node_info>(data, size);
    break;
  case 9:
    decode_as<wire::node_reports>(data, size);
    break;
  case 10:
    decode_as<wire::blob_ref>(data, size);
    break;
  case 11:
    decode_as<wire::blob_payload>(data, size);
    break;
  case 12:
    decode_as<wire::challenge>(data, size);
    break;
  case 13:
    decode_as<wire::ledger_records>(data, size);
    break;
  case 14:
    decode_as<wire::ledger_query>(data, size);
    break;
  case 15:
    decode_as<wire::ledger_answer>(data, size);
    break;
  case 16:
    decode_as<wire::ledger_receipt>(data, size);
    break;
  case 17:
    decode_as<wire::fingerprint_query>(data, size);
    break;
  case 18:
    decode_as<wire::expectation>(data, size);
    break;
  case 19:
    decode_as<wire::judgment>(data, size);
    break;
  default:
    decode_as<wire::cancel_request>(data, size);
    break;
  }
  return 0;
}
