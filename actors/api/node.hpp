// A node: the roles one process runs, joined to a network deployed from a topology, and
// joining again whenever the network's hub comes back. It runs honest roles only: a
// `fault:` the topology gives the node is for nexus-node's tests and demonstrations. Part
// of NexusChain's public API (actors/api/nexus.hpp); docs/embedding.md shows it in a CAF
// application.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "messages/values.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace nexus::api {

struct node_options {
  std::string topology;         // the topology file the network was deployed from
  std::string name;             // this node: a node of the topology (with its data
                                // directory and key), or a new name, which presents the
                                // topology's client certificate and a fresh key (a
                                // topology that lists keys refuses it)
  std::vector<node_role> roles; // empty: the roles the topology gives `name`
  std::optional<uint16_t> port; // where its gateway listens; none: the topology's port
                                // for a node it lists, any free port for a new name
  std::string join;             // the one hub it joins, by name; empty: every hub
};

class node {
public:
  /// Spawns the roles in `sys` (configured with configure(settings_of(topology, name))),
  /// publishes the node's gateway and starts joining the topology's hub.
  static expected<std::unique_ptr<node>> start(caf::actor_system& sys,
                                               const node_options& opts);

  ~node(); // stops the node
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// The port the node's gateway listens on.
  uint16_t port() const noexcept;

  /// Stops every role of the node; call before the actor_system goes out of scope.
  void stop();

private:
  struct impl;
  explicit node(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

} // namespace nexus::api
