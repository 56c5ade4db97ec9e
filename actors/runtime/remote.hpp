// Attaching to a running network: where its hubs are (from a topology, or HOST:PORT), and
// a client joined to one, with operands uploaded to the hub's store and large outputs
// fetched over its bulk channel; given several hubs, the client moves to another when its
// own is lost (client::set_failover).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/runtime/client.hpp"
#include "actors/runtime/node.hpp"
#include "compute/errc.hpp"

namespace nexus {

/// Where a running network's hub is and how this process reaches it.
struct hub_address {
  std::string host;
  uint16_t port = 0;
  network_settings settings; // a client's: the topology's client certificate
  std::string network;       // the topology's name for it; empty: unknown
  std::string name;          // the topology's name for the hub's node; empty: unknown
  std::optional<chain::public_key> key; // the hub's node key, where the topology lists it

  /// "network local at 127.0.0.1:47100", or "127.0.0.1:47100".
  std::string description() const;
};

/// The hub of the topology at `path`, reached as a client. errc::invalid_input if the
/// topology uses TLS but names no client certificate.
expected<hub_address> hub_of(const std::string& topology_path);

/// Every hub of the topology at `path`, in its order, reached as a client.
expected<std::vector<hub_address>> hubs_of(const std::string& topology_path);

/// How long a client that lost its hub tries the network's hubs before it gives up.
constexpr std::chrono::minutes failover_for{5};

/// The hub at "HOST:PORT", with `base`'s settings (TLS material) if given.
expected<hub_address> hub_at(const std::string& host_port, hub_address base = {});

/// How long attach() tries a hub that does not answer yet.
constexpr std::chrono::seconds attach_for{10};

/// A client of the hub at `where`. A hub that is still starting, or too busy to finish
/// the handshake within CAF's connection time-out, is tried again for attach_for (said
/// once through `say`); one that hangs up during the handshake (it refused our
/// certificate) is not. Requests then wait up to `timeout`.
expected<std::unique_ptr<client>>
attach(caf::actor_system& sys, const hub_address& where,
       const std::function<void(const std::string&)>& say = {},
       std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// A client of the first of `hubs` that answers (each tried as attach() tries one), which
/// moves to another of them, by itself, when its hub is lost: it tries the others in
/// turn, then all of them again every second for failover_for, saying what it does
/// through `say`, and submits its open tasks there again. Where every hub's key is known,
/// its submissions name them (client::set_hub_keys): no other hub's records count.
expected<std::unique_ptr<client>>
attach_any(caf::actor_system& sys, std::vector<hub_address> hubs,
           std::function<void(const std::string&)> say,
           std::chrono::milliseconds timeout = std::chrono::seconds{30});

} // namespace nexus
