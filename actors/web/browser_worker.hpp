// A browser worker, as the network sees it: a worker actor in the hub's process that
// stands for one browser tab connected to the web endpoint (server.hpp).
//
// It asks the orchestrator for a challenge, which the tab signs with its WebCrypto
// Ed25519 key; it joins with that proof under the name the key gives (browser-XXXX); it
// passes each shard it is assigned to the tab, with the operands the tab lacks, and each
// result the tab signed to the aggregator. It trusts the tab for nothing: a result that
// is not signed by the key the tab joined with, a frame that does not decode, or a second
// join closes the socket (with a WebSocket close code and a line in the hub's log); what
// the result says is for the validators to judge. When the tab goes, so does the actor,
// and the orchestrator hands its shards to other workers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/interfaces.hpp"

namespace nexus::web {

using frame_atom = caf::atom_constant<caf::atom("webframe")>;
using closed_atom = caf::atom_constant<caf::atom("webclosed")>;

/// `text` for one line of the hub's log: control characters (what a page may put in a
/// name or a reason) become '?'.
std::string printable(std::string text);

/// WebSocket close codes the endpoint uses (RFC 6455 section 7.4, and 4000-4999 ours).
enum close_code : uint16_t {
  going_away = 1001,   // the hub stops
  unsupported = 1003,  // a text frame where frames are binary
  bad_payload = 1007,  // a message that does not decode
  policy = 1008,       // not allowed: a second join, too many joins from one address
  too_big = 1009,      // a frame above web::max_browser_frame
  server_error = 1011, // the hub could not go on with this worker
  refused = 4001,      // the orchestrator refused the join (the reason follows)
  forged = 4003,       // a result not signed by the key the worker joined with
};

/// One browser's socket, as a worker actor writes to it; any thread.
class browser_socket {
public:
  virtual ~browser_socket() = default;

  /// Sends one binary frame; false once the socket is closed.
  virtual bool send(std::span<const uint8_t> frame) = 0;

  /// Closes the socket with `code` and `reason` (at most 120 bytes of it are sent).
  virtual void close(uint16_t code, const std::string& reason) = 0;

  /// The browser's address, for the log.
  virtual const std::string& address() const = 0;
};

/// What a browser worker actor also takes: frames from its socket, and its end.
using browser_worker_actor =
    worker_actor::extend<caf::reacts_to<frame_atom, std::vector<uint8_t>>,
                         caf::reacts_to<closed_atom>>;

/// Spawns the actor for a socket that just opened; it sends the challenge at once.
browser_worker_actor spawn_browser_worker(caf::actor_system& sys,
                                          std::shared_ptr<browser_socket> socket,
                                          orchestrator_actor orchestrator,
                                          std::shared_ptr<blob_store> store);

} // namespace nexus::web
