// The gateway actor: the one actor a node process publishes.
//
// Nodes that join ask the orchestrator's node for the orchestrator (`lookup`); workers and
// validators fetch the operands their shards name from there (`fetch`), and a remote
// shell uploads its operands to it (`store`). Blobs that arrive are kept only when their
// contents match their digest. CAF 0.17.6 over TLS cannot keep a second published port of
// a connected node, so every other actor is reached as a handle inside messages.
#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/interfaces.hpp"

namespace nexus {

struct gateway_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  gateway_state() = default;

  std::shared_ptr<blob_store> store;
  orchestrator_actor orchestrator; // null on a node without one
  uint16_t bulk_port = 0;          // the node's bulk channel; 0: none
  static inline const char* name = "nexus.gateway";
};

gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     std::shared_ptr<blob_store> store,
                                     orchestrator_actor orchestrator, uint16_t bulk_port);

} // namespace nexus
