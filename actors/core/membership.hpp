// Who may join a network: the members a topology lists, each with its key and roles.
#pragma once

#include <string>
#include <vector>

#include "chain/identity.hpp"
#include "messages/types.hpp"

namespace nexus {

/// A node the topology admits: its key and the roles it may take. An orchestrator given
/// members admits only them, each proving its key by signing a fresh challenge.
struct member {
  std::string name;
  chain::public_key key{};
  std::vector<node_role> roles;
};

} // namespace nexus
