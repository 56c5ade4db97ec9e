#include "chain/membership.hpp"

#include <algorithm>

#include "compute/errc.hpp"

namespace nexus::chain {

std::string describe_roles(uint32_t roles) {
  static const char* names[] = {"orchestrator", "worker", "validator",
                                "aggregator",   "ledger", "submitter"};
  std::string out;
  for (uint32_t i = 0; i < 6; ++i)
    if (roles & (1u << i))
      out += (out.empty() ? "" : "+") + std::string{names[i]};
  return out.empty() ? "no role" : out;
}

bool reserved_name(const std::string& name) {
  return name == "quorum" || name == "network" || name == "anonymous";
}

std::string browser_name(std::span<const uint8_t> public_key) {
  return "browser-" + to_hex(public_key.first(std::min<std::size_t>(8, public_key.size())));
}

bool browser_named(std::string_view name) {
  return name.starts_with("browser-");
}

expected<bool> membership::already(const member_entry& m) const {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::rejected, "member " + m.name + ": " + why);
  };
  if (m.name.empty() || m.name.size() > 256 || m.name.find('\0') != std::string::npos)
    return refuse("a name of 1 to 256 bytes without NUL");
  if (reserved_name(m.name))
    return refuse("a name the network reserves");
  if (browser_named(m.name) && m.name != browser_name(m.key))
    return refuse("a browser node's name, which belongs to the key it is made from");
  if (m.roles == 0 || (m.roles & ~all_roles) != 0)
    return refuse("roles " + std::to_string(m.roles) + " are not a set of known roles");
  if (!key_acceptable(m.key))
    return refuse("its key is not a canonical Ed25519 point of the main subgroup");
  auto it = by_name_.find(m.name);
  if (it == by_name_.end())
    return false;
  if (it->second.key != m.key)
    return refuse("the name is bound to another key (" + to_hex(it->second.key)
                  + "); a name keeps its key");
  return (it->second.roles | m.roles) == it->second.roles;
}

error membership::bind(const member_entry& m) {
  auto same = already(m);
  if (!same)
    return same.error();
  if (*same)
    return {};
  auto& entry = by_name_[m.name];
  entry.name = m.name;
  entry.key = m.key;
  entry.roles |= m.roles;
  roles_of_key_[m.key] |= m.roles;
  return {};
}

const member_entry* membership::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

bool membership::holds(const std::string& name, const public_key& key, role r) const {
  auto* m = find(name);
  return m && m->key == key && (m->roles & bit(r)) != 0;
}

bool membership::key_holds(const public_key& key, role r) const {
  auto it = roles_of_key_.find(key);
  return it != roles_of_key_.end() && (it->second & bit(r)) != 0;
}

std::vector<public_key> membership::keys_holding(role r) const {
  std::vector<public_key> out;
  for (const auto& [key, roles] : roles_of_key_)
    if (roles & bit(r))
      out.push_back(key);
  return out;
}

} // namespace nexus::chain
