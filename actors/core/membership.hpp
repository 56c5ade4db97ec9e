// Who may join a network, as a plain class: the members a topology lists, the challenges
// a joining node signs to prove its key, and the identities of the nodes that joined. The
// orchestrator actor asks it and sends what it decides; tests drive it directly.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "actors/core/task_table.hpp"
#include "chain/identity.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

/// A node the topology admits: its key and the roles it may take. An orchestrator given
/// members admits only them, each proving its key by signing a fresh challenge.
struct member {
  std::string name;
  chain::public_key key{};
  std::vector<node_role> roles;
};

/// A node as it proved itself when it joined: its name and key.
struct node_identity {
  std::string name;
  chain::public_key key{};
};

/// How long a challenge may be answered.
constexpr std::chrono::seconds challenge_lifetime{60};

class membership {
public:
  /// Admits only `members`; anyone with a certificate when it is empty.
  explicit membership(std::vector<member> members = {});

  /// Admits browser nodes (the web endpoint's, actors/web/): any key, as a worker only,
  /// under the name chain::browser_name gives it. Off by default.
  void allow_browsers(bool on) noexcept {
    browsers_ = on;
  }

  /// True if the topology names a ledger node.
  bool expects_ledger() const noexcept {
    return expects_ledger_;
  }

  /// A fresh 32-byte nonce to sign, valid for challenge_lifetime from `now`.
  std::vector<uint8_t> challenge(clock_type::time_point now);

  /// Why `info` may not join, or none: on a network with members, a node must be one of
  /// them, in a role it may take, and prove the key listed for it by a signature over a
  /// live challenge of this orchestrator's; on an open network, a node that names a key
  /// proves it the same way. errc::rejected with the reason for the node's operator.
  error admit(const node_info& info, clock_type::time_point now) const;

  /// Node `id` joined as `info` (admitted): remembers the key it proved.
  void joined(node_id id, const node_info& info);

  void left(node_id id);

  /// How node `id` joined, or null if it joined without a key.
  const node_identity* identity(node_id id) const;

private:
  std::map<std::string, member> members_; // empty: anyone with a certificate
  bool expects_ledger_ = false;
  bool browsers_ = false;
  std::map<chain::digest, clock_type::time_point> challenges_; // nonce -> expiry
  std::map<node_id, node_identity> identities_;
};

} // namespace nexus
