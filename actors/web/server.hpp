// The web endpoint: a hub's pages and WebSockets, served with Boost.Beast over Asio
// (Debian's libboost-dev; docs/ARCHITECTURE.md, "Browser nodes", says why that library).
//
//   GET /            the dashboard; `/?contribute` makes the tab a browser worker
//   GET /...         the page's scripts, the WebAssembly kernels, capnp-es (all built in)
//   WS  /live        the dashboard's feed: nodes, tasks, balances, blocks, the audit
//   WS  /worker      a browser worker: challenge, join, shards, results (web_frames.hpp)
//
// Each browser worker is a worker actor of the hub's process (browser_worker.hpp), which
// the orchestrator schedules, and the aggregator and validators judge, like any other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/core/blob_store.hpp"
#include "actors/interfaces.hpp"
#include "compute/errc.hpp"

namespace nexus::web {

struct web_options {
  uint16_t port = 0;                 // 0: one the system picks (port() says which)
  std::string bind = "0.0.0.0";      // the address it listens on
  std::filesystem::path certificate; // PEM certificate (chain): HTTPS and WSS; empty: HTTP
  std::filesystem::path private_key; // its PEM key
  bool browser_workers = true;       // serves /worker
  std::size_t workers_per_address = 8; // browser workers connected at once from one address
  std::size_t joins_per_minute = 30;   // worker connections one address may open a minute
  std::size_t max_connections = 200;   // WebSockets of all kinds at once
};

class endpoint {
public:
  /// Starts serving: the network's state from `orchestrator`, operands for browser
  /// workers from `store` (the hub's, which holds what its tasks name). errc::unavailable
  /// if the port cannot be had, errc::invalid_input for a certificate it cannot use.
  static expected<std::unique_ptr<endpoint>> start(caf::actor_system& sys,
                                                   orchestrator_actor orchestrator,
                                                   std::shared_ptr<blob_store> store,
                                                   web_options options);

  /// Closes every connection (browser workers give their shards back) and stops.
  ~endpoint();

  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  uint16_t port() const noexcept;

  /// http(s)://HOST:PORT/ as a browser on this machine opens it.
  std::string url() const;

  struct impl;

private:
  explicit endpoint(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace nexus::web
