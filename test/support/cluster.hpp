// Networks of real nexus-node processes for tests and benchmarks: a TLS topology with node
// keys on free loopback ports, node processes, and a submitter in the calling process.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/runtime/client.hpp"
#include "actors/runtime/node.hpp"
#include "compute/gemm.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace nexus::test {

/// The nexus-node binary meson's test environment names (NEXUS_NODE); empty if unset,
/// which no process starts from.
inline std::string node_binary() {
  const char* path = std::getenv("NEXUS_NODE");
  return path ? path : "";
}

struct node_line {
  std::string name;
  std::string roles;     // e.g. "orchestrator, aggregator"
  std::string fault;     // a worker's fault mode, e.g. "corrupt"; empty: none
  std::string resources; // e.g. "{blob_cache_mib: 1}"; empty: none
  std::string host;      // its address; empty: 127.0.0.1
};

/// Writes a topology of `nodes` to `dir`/`file` (with TLS unless `tls` is false), with
/// short deadlines and heartbeats so that failures show within seconds, and creates its
/// certificates and node keys with `nexus-node certs`. `scheduler` adds keys to the
/// scheduler's section ("max_queued: 5"); `heartbeat` replaces the short heartbeats
/// ("{}": the defaults). Returns the file's path, or nothing if `certs` failed.
inline std::optional<std::string>
write_topology(const temp_dir& dir, const std::string& file, const std::string& node_binary,
               const std::vector<node_line>& nodes, unsigned window = 2, bool tls = true,
               const std::string& scheduler = "",
               const std::string& heartbeat = "{interval_ms: 200, timeout_ms: 2500}") {
  auto ports = free_ports(nodes.size());
  std::ofstream out{dir.file(file)};
  out << "network: test\n";
  if (tls)
    out << "tls:\n  ca: certs/ca.pem\n  ca_key: certs/ca.key\n"
        << "  client: {cert: certs/ca-shell.pem, key: certs/ca-shell.key}\n";
  out << "scheduler: {shard_deadline_ms: 8000, max_attempts: 8, window: " << window
      << (scheduler.empty() ? "" : ", " + scheduler)
      << "}\n"
      // 2.5 s of silence: on a loaded 2-core CI machine (two such networks at once) a
      // process's multiplexer can be starved for more than a second, and a connection
      // dropped under a blocking request leaves the request to its 60 s time-out.
      << "heartbeat: " << heartbeat << "\n"
      << "nodes:\n";
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i].name;
    auto host = nodes[i].host.empty() ? std::string{"127.0.0.1"} : nodes[i].host;
    out << "  - name: " << n << "\n    host: " << host << "\n    port: " << ports[i]
        << "\n    roles: [" << nodes[i].roles << "]\n    data: data/" << n;
    if (tls)
      out << "\n    tls: {cert: certs/ca-" << n << ".pem, key: certs/ca-" << n << ".key}";
    if (!nodes[i].fault.empty())
      out << "\n    fault: " << nodes[i].fault;
    if (!nodes[i].resources.empty())
      out << "\n    resources: " << nodes[i].resources;
    out << "\n    key: keys/" << n << ".pub\n";
  }
  out.close();
  process certs{{node_binary, "certs", dir.file(file)}, dir.file("certs.log")};
  if (certs.wait_for(std::chrono::seconds{20}) != 0)
    return std::nullopt;
  return dir.file(file);
}

inline std::unique_ptr<process> start_node(const std::string& node_binary,
                                           const temp_dir& dir, const std::string& topo,
                                           const std::string& name) {
  return std::make_unique<process>(
      std::vector<std::string>{node_binary, "--topology", topo, "--node", name},
      dir.file(name + ".log"));
}

/// A submitter in this process, attached to the topology's orchestrator (within 10 s;
/// `api` stays null otherwise).
struct submitter {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<client> api;

  explicit submitter(const topology& t) {
    configure(cfg, settings_for(t, nullptr));
    sys = std::make_unique<caf::actor_system>(cfg);
    const auto& hub = t.orchestrator();
    expected<orchestrator_actor> orchestrator{errc::failed};
    expected<gateway_actor> gateway{errc::failed};
    for (int i = 0; i < 100 && !orchestrator; ++i) {
      gateway = connect_gateway(*sys, hub.host, hub.port, t.tls);
      if (gateway)
        orchestrator = lookup_orchestrator(*sys, *gateway);
      if (!orchestrator)
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    if (!orchestrator)
      return;
    api = std::make_unique<client>(*sys, *orchestrator, std::make_shared<blob_store>(),
                                   std::chrono::seconds{60});
    api->set_upstream(*gateway);
    api->set_bulk(bulk_endpoint_of(*sys, *gateway, hub.host, settings_for(t, nullptr)));
  }

  /// Waits (15 s at most) until `workers` workers and `validators` validators are alive.
  bool wait_nodes(std::size_t workers, std::size_t validators) {
    for (int i = 0; i < 150; ++i) {
      auto list = api->nodes();
      if (list) {
        std::size_t w = 0;
        std::size_t v = 0;
        for (const auto& n : *list) {
          if (n.state == node_state::dead)
            continue;
          w += n.info.role == node_role::worker;
          v += n.info.role == node_role::validator;
        }
        if (w >= workers && v >= validators)
          return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    return false;
  }
};

/// A stream of matmuls through a client, with the product each must give and the shards
/// the ledger must pay.
struct matmul_stream {
  client& api;
  std::vector<std::pair<uint64_t, compute::tensor>> tasks; // id, the exact product
  std::vector<std::pair<uint64_t, uint32_t>> shards;       // (task, shard) submitted

  /// Submits matmul `i` of the stream ((300 + 20i) x 200 times 200 x 150, 6 shards); why
  /// not, or empty.
  std::string submit(std::size_t i) {
    auto a = compute::random_tensor({300 + 20 * i, 200}, 80 + i);
    auto b = compute::random_tensor({200, 150}, 90 + i);
    task_request req;
    req.shards = 6;
    auto ack = api.submit_matmul(a, b, req);
    if (!ack)
      return "submit " + std::to_string(i) + ": " + describe(ack.error());
    tasks.emplace_back(ack->task_id, compute::multiply(a, b));
    for (uint32_t k = 0; k < ack->shard_count; ++k)
      shards.emplace_back(ack->task_id, k);
    return {};
  }

  /// Submits the next `n` matmuls; what went wrong, or empty.
  std::string submit_more(std::size_t n) {
    std::string out;
    for (std::size_t i = 0, first = tasks.size(); i < n; ++i)
      out += submit(first + i);
    return out;
  }

  /// Waits for every task from the `from`th: each done, its output the product; what
  /// went wrong, or empty.
  std::string finish(std::size_t from = 0) {
    std::string out;
    for (auto i = from; i < tasks.size(); ++i) {
      auto id = tasks[i].first;
      auto report = api.wait(id, {}, std::chrono::seconds{120});
      if (!report || report->state != task_state::done) {
        out += "task " + std::to_string(id) + ": "
               + (report ? report->reason : describe(report.error())) + "; ";
        continue;
      }
      auto product = api.result(id);
      if (!product || compute::max_relative_difference(*product, tasks[i].second) > 1e-5)
        out += "task " + std::to_string(id) + ": not the product; ";
    }
    return out;
  }
};

} // namespace nexus::test
