// What the public API's classes hold: the runtime's objects. Only actors/api/*.cpp
// include this.
#pragma once

#include <memory>

#include "actors/api/client.hpp"
#include "actors/api/identity.hpp"
#include "actors/runtime/client.hpp"
#include "chain/identity.hpp"
#include "chain/membership.hpp"

namespace nexus::api {

struct identity::impl {
  std::string name;
  chain::node_key key;
};

struct client::impl {
  explicit impl(std::unique_ptr<nexus::client> x)
      : c(std::move(x)) {}

  std::unique_ptr<nexus::client> c;
};

} // namespace nexus::api
