// The bulk channel: large payloads between processes, beside CAF.
//
// CAF 0.17's BASP moves a message through one multiplexer thread per process, with a
// copy into its buffer, TLS, a copy out, and deserialization: ~0.2 CPU-seconds per side
// for 64 MiB. Results of tens of MiB and task outputs go here instead: one TCP
// connection per transfer (mutual TLS with the network's certificates when it uses TLS),
// read and written in place by OpenSSL. The actors still decide everything: a payload is
// named by a random ticket that only travels inside CAF messages, so the bulk channel
// carries bytes and no authority.
//
//   put:  a worker sends a result's bytes under a ticket it drew; the service keeps them
//         until the aggregator takes them (when the worker's `stage` names the ticket).
//   get:  the orchestrator offers an output under a ticket; the client that asked for it
//         fetches it once.
//
// Limits: a payload is at most wire::max_message_bytes; unclaimed payloads are dropped
// after `unclaimed_for`; the bytes held waiting are capped (a put beyond is refused and
// the sender falls back to CAF); at most `max_connections` transfers at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus {

/// Where a process's bulk service listens, and how to reach it.
struct bulk_endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  std::string ca;   // CA certificate (PEM file)
  std::string cert; // this side's certificate and key (PEM files)
  std::string key;

  explicit operator bool() const noexcept {
    return port != 0;
  }
};

/// A fresh random ticket (never 0).
uint64_t draw_bulk_ticket();

class bulk_service {
public:
  static constexpr std::chrono::seconds unclaimed_for{120};
  static constexpr std::size_t max_connections = 64;
  static constexpr std::size_t max_held_bytes = std::size_t{8} << 30;

  /// Listens on `where.host:where.port` (0: any port) with `where`'s TLS material.
  static expected<std::shared_ptr<bulk_service>> start(const bulk_endpoint& where);

  ~bulk_service();

  bulk_service(const bulk_service&) = delete;
  bulk_service& operator=(const bulk_service&) = delete;

  uint16_t port() const noexcept {
    return port_;
  }

  /// The bytes put under `ticket`, once; nothing if none arrived (or they expired).
  std::optional<std::vector<uint8_t>> take(uint64_t ticket);

  /// Offers `bytes` for one get; returns its ticket.
  uint64_t offer(std::shared_ptr<const std::vector<uint8_t>> bytes);

  /// Offers a tensor for one bulk_get_tensor: its shape, then `values` (raw float32,
  /// kept alive by `owner`, never copied); returns its ticket.
  uint64_t offer_tensor(std::shared_ptr<const void> owner, const compute::shape_t& shape,
                        std::span<const uint8_t> values);

  /// Stops listening and ends every transfer under way.
  void stop();

  struct impl;

private:
  bulk_service() = default;

  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

/// Sends `bytes` to the service at `to` under `ticket`; returns once the service holds
/// them.
error bulk_put(const bulk_endpoint& to, uint64_t ticket, const std::vector<uint8_t>& bytes);

/// Fetches what the service at `from` offers under `ticket` (at most `max_bytes`).
expected<std::vector<uint8_t>> bulk_get(const bulk_endpoint& from, uint64_t ticket,
                                        std::size_t max_bytes);

/// Fetches a tensor the service at `from` offers under `ticket` (at most `max_bytes` of
/// values), read straight into the tensor's own storage.
expected<compute::tensor> bulk_get_tensor(const bulk_endpoint& from, uint64_t ticket,
                                          std::size_t max_bytes);

} // namespace nexus
