// The frames of the web endpoint's WebSockets (actors/web/): one byte naming the message,
// then the message itself, one of task.capnp's, as every other process reads it. A
// browser worker speaks the same messages as a native worker; the dashboard reads the
// answers the shell reads. Nothing here knows of sockets: the server hands each frame a
// browser sent to read_browser_frame, the one decoder of web input (test/fuzz/web.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "compute/errc.hpp"
#include "messages/codec.hpp"

namespace nexus::web {

/// What a frame's first byte says it carries.
enum class frame : uint8_t {
  // To a browser worker.
  challenge = 1, // Challenge: the nonce its join must sign
  blob = 2,      // BlobPayload: an operand, before the first shard that names it
  assign = 3,    // ShardTask: a shard to compute
  self = 4,      // NodeReports: the worker's own line of `nodes` (joined, shards done)
  balance = 5,   // LedgerAnswer (balance): what the ledger pays it
  // From a browser worker.
  join = 16,   // NodeInfo: its name, device and key, the challenge signed
  result = 17, // ShardOutput: a signed result
  // To a dashboard.
  nodes = 32,    // NodeReports
  tasks = 33,    // TaskReports
  balances = 34, // LedgerAnswer (balance): every account
  blocks = 35,   // LedgerAnswer (tail): the latest blocks
  audit = 36,    // LedgerAnswer (verify): the chain's audit
};

/// The largest frame a browser may send: a result of 64 MiB and its envelope.
inline constexpr std::size_t max_browser_frame = (std::size_t{64} << 20) + 4096;

/// The frame carrying `bytes` (a message's) as `kind`.
std::vector<uint8_t> frame_of(frame kind, std::span<const uint8_t> bytes);

/// A browser worker's join: the node it claims to be, as sent and as read.
struct join_frame {
  wire::node_info raw;
  node_info info;
};

/// A browser worker's result, as sent (what the aggregator gets) and as read.
struct result_frame {
  wire::shard_output raw;
  shard_output result;
};

using browser_frame = std::variant<join_frame, result_frame>;

/// What a browser sent, read and checked as any process reads these messages:
/// errc::invalid_input for an empty, oversized or unknown frame (or one a browser never
/// sends), errc::corrupted for a message that does not decode.
expected<browser_frame> read_browser_frame(std::span<const uint8_t> bytes);

} // namespace nexus::web
