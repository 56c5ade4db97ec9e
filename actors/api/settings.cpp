#include "actors/api/settings.hpp"

#include <caf/all.hpp>

#include "actors/runtime/node.hpp"

namespace nexus::api {

expected<network_settings> settings_of(const std::string& topology_path,
                                       const std::string& name) {
  auto topo = load_topology(topology_path);
  if (!topo)
    return topo.error();
  auto s = settings_for(*topo, topo->find(name));
  return network_settings{.tls = s.tls,
                          .ca = s.ca,
                          .cert = s.identity.cert,
                          .key = s.identity.key,
                          .heartbeat_interval = s.heartbeat.interval,
                          .heartbeat_timeout = s.heartbeat.timeout};
}

void configure(caf::actor_system_config& cfg, const network_settings& s) {
  nexus::configure(cfg, nexus::network_settings{
                            .tls = s.tls,
                            .ca = s.ca,
                            .identity = {s.cert, s.key},
                            .heartbeat = {s.heartbeat_interval, s.heartbeat_timeout}});
}

void configure_local(caf::actor_system_config& cfg) {
  nexus::configure_local(cfg);
}

} // namespace nexus::api
