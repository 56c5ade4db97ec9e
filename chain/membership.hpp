// Who may sign what on the chain: each name's key and roles, as the chain itself records
// them.
//
// The first block binds the network's first members (its proposer among them, with the
// ledger role); later member records, signed by a key holding the orchestrator role (which
// checked the joining node's key), bind the nodes that join after. A submitter's name is
// bound by its first signed submission. A name keeps its first key for good: a record
// binding it to another key is refused, so a signature in a name is always that name's
// key's. A name may gain roles (with the same key), never lose its key.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/identity.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

/// Role bits; the first five follow nexus::node_role's order.
enum class role : uint32_t {
  orchestrator = 1u << 0, // signs contributions, acceptances, audits, joins
  worker = 1u << 1,       // is paid for the shards it computed
  validator = 1u << 2,    // signs verdicts
  aggregator = 1u << 3,
  ledger = 1u << 4,    // proposes blocks
  submitter = 1u << 5, // signs submissions and is charged for them
};

constexpr uint32_t all_roles = (1u << 6) - 1;

constexpr uint32_t bit(role r) noexcept {
  return static_cast<uint32_t>(r);
}

/// "orchestrator+ledger".
std::string describe_roles(uint32_t roles);

/// Names the network itself uses in verdicts it states without a validator ("quorum":
/// replicas agreed; "network": accepted on the worker's record or found forged); nobody
/// may hold them.
bool reserved_name(const std::string& name);

/// The name a browser node goes by (actors/web/): "browser-" and the first 16 hex digits
/// of its key. A name that begins so belongs to the key it is made from: bound to any
/// other (a submitter's, a topology's node) it would keep that browser out.
std::string browser_name(std::span<const uint8_t> public_key);

/// True if `name` begins as browser names do.
bool browser_named(std::string_view name);

struct member_entry {
  std::string name;
  public_key key{};
  uint32_t roles = 0;

  friend bool operator==(const member_entry&, const member_entry&) = default;
};

class membership {
public:
  /// Binds `m` (or adds roles to a name bound to the same key). errc::rejected with why
  /// for a name bound to another key, a reserved or empty name, unknown role bits, or a
  /// key that could never sign (not a canonical point of the main subgroup).
  error bind(const member_entry& m);

  /// The same checks as bind, without binding: true if bind would change nothing.
  expected<bool> already(const member_entry& m) const;

  /// The entry of `name`, or null.
  const member_entry* find(const std::string& name) const;

  /// True if `name` is bound to `key` with role `r`.
  bool holds(const std::string& name, const public_key& key, role r) const;

  /// True if some name bound to `key` has role `r`.
  bool key_holds(const public_key& key, role r) const;

  /// Every key holding role `r`, in key order: for the ledger role, the consensus'
  /// validators, whose order decides who proposes when.
  std::vector<public_key> keys_holding(role r) const;

  const std::map<std::string, member_entry>& entries() const noexcept {
    return by_name_;
  }

private:
  std::map<std::string, member_entry> by_name_;
  std::map<public_key, uint32_t> roles_of_key_;
};

} // namespace nexus::chain
