#include "actors/core/membership.hpp"

#include <algorithm>

#include <openssl/rand.h>

#include "chain/membership.hpp"
#include "messages/codec.hpp"

namespace nexus {

namespace {

error refuse(const std::string& why) {
  return make_error(errc::rejected, why);
}

template <class Array>
bool copy_exact(const std::vector<uint8_t>& from, Array& to) {
  if (from.size() != to.size())
    return false;
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

} // namespace

membership::membership(std::vector<member> members) {
  for (auto& m : members) {
    if (std::find(m.roles.begin(), m.roles.end(), node_role::ledger) != m.roles.end())
      expects_ledger_ = true;
    auto name = m.name;
    members_.emplace(std::move(name), std::move(m));
  }
}

std::vector<uint8_t> membership::challenge(clock_type::time_point now) {
  std::erase_if(challenges_, [now](const auto& kv) { return kv.second < now; });
  chain::digest nonce{};
  RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
  challenges_[nonce] = now + challenge_lifetime;
  return {nonce.begin(), nonce.end()};
}

error membership::admit(const node_info& info, clock_type::time_point now) const {
  bool browser = chain::browser_named(info.name);
  if (browser && !browsers_)
    return refuse("this network takes no browser nodes");
  if (members_.empty() && info.signature.empty() && !browser)
    return {}; // an open network; a key it names only checks what it signs
  chain::public_key key{};
  chain::signature sig{};
  if (!copy_exact(info.public_key, key) || !copy_exact(info.signature, sig))
    return refuse("the network requires a node key and a signed challenge");
  chain::digest nonce{};
  auto challenge =
      copy_exact(info.nonce, nonce) ? challenges_.find(nonce) : challenges_.end();
  if (challenge == challenges_.end() || challenge->second < now)
    return refuse("unknown or expired challenge");
  if (!chain::verify(key, wire::join_statement(info), sig))
    return refuse("the signature does not match the node key");
  if (browser) {
    // Anyone may lend a browser, as a worker trusted for nothing, under the name its key
    // gives: paid under that key, and never taking another node's name.
    if (info.name != chain::browser_name(key))
      return refuse("a browser node's name is " + chain::browser_name(key)
                    + ", the one its key gives");
    if (info.role != node_role::worker)
      return refuse("a browser node may only be a worker");
    return {};
  }
  if (members_.empty())
    return {};
  auto m = members_.find(info.name);
  if (m == members_.end())
    return refuse("no node of that name in the topology");
  if (m->second.key != key)
    return refuse("its key " + chain::to_hex(key).substr(0, 16)
                  + "... is not the one the topology lists");
  if (std::find(m->second.roles.begin(), m->second.roles.end(), info.role)
      == m->second.roles.end())
    return refuse("the topology does not give it that role");
  return {};
}

void membership::joined(node_id id, const node_info& info) {
  chain::public_key key{};
  if (copy_exact(info.public_key, key))
    identities_[id] = {info.name, key};
}

void membership::left(node_id id) {
  identities_.erase(id);
}

const node_identity* membership::identity(node_id id) const {
  auto it = identities_.find(id);
  return it == identities_.end() ? nullptr : &it->second;
}

} // namespace nexus
