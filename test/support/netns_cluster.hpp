// A network of nexus-node processes as separate hosts: each node a process in a network
// namespace of its own (test/support/netns.hpp), with the topology written for their
// addresses (test/support/cluster.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test/support/cluster.hpp"
#include "test/support/netns.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace nexus::test {

struct netns_cluster {
  std::unique_ptr<netns::lab> lab; // null: no namespaces here, for the reason in `why`
  std::string why;
  std::string file; // the topology; empty if it could not be written
  std::map<std::string, std::unique_ptr<process>> nodes;

  /// Makes a host for each of `lines`, writes their topology in `dir` (see
  /// write_topology for `window` and `heartbeat`) and starts every node.
  netns_cluster(const temp_dir& dir, std::vector<node_line> lines, unsigned window = 2,
                const std::string& heartbeat = "{interval_ms: 200, timeout_ms: 2500}")
      : dir_(dir) {
    std::vector<std::string> names;
    for (const auto& l : lines)
      names.push_back(l.name);
    std::tie(lab, why) = netns::lab::make(names);
    if (!lab)
      return;
    for (auto& l : lines)
      l.host = lab->address(l.name);
    auto written =
        write_topology(dir, "net.yaml", node_binary(), lines, window, true, "", heartbeat);
    if (!written)
      return;
    file = *written;
    for (const auto& name : names)
      start(name);
  }

  /// Starts node `name` (again) inside its host.
  void start(const std::string& name) {
    nodes[name] = std::make_unique<process>(
        lab->inside(name, {node_binary(), "--topology", file, "--node", name}),
        dir_.file(name + ".log"));
  }

private:
  const temp_dir& dir_;
};

} // namespace nexus::test
