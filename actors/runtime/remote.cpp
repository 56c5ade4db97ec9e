#include "actors/runtime/remote.hpp"

#include <cstdlib>
#include <thread>

#include "config/topology.hpp"

namespace nexus {

expected<hub_address> hub_of(const std::string& topology_path) {
  auto topo = load_topology(topology_path);
  if (!topo)
    return topo.error();
  if (topo->tls && topo->client.cert.empty())
    return make_error(errc::invalid_input,
                      topology_path + ": tls needs a client certificate for the shell");
  const auto& hub = topo->orchestrator();
  return hub_address{.host = hub.host,
                     .port = hub.port,
                     .settings = settings_for(*topo, nullptr),
                     .network = topo->network};
}

expected<hub_address> hub_at(const std::string& host_port, hub_address base) {
  auto colon = host_port.rfind(':');
  char* end = nullptr;
  auto port = colon == std::string::npos
                  ? 0
                  : std::strtoul(host_port.c_str() + colon + 1, &end, 10);
  if (port == 0 || port > 65535 || *end != '\0' || colon == 0)
    return make_error(errc::invalid_input, "expected HOST:PORT, got '" + host_port + "'");
  base.host = host_port.substr(0, colon);
  base.port = static_cast<uint16_t>(port);
  return base;
}

std::string hub_address::description() const {
  auto at = host + ":" + std::to_string(port);
  return network.empty() ? at : "network " + network + " at " + at;
}

namespace {

// Errors of attaching that time can heal: nothing listens yet, or the answer was slow.
bool may_heal(const error& err) {
  return err == errc::unavailable || err == errc::timeout;
}

} // namespace

expected<std::unique_ptr<client>> attach(caf::actor_system& sys, const hub_address& where,
                                         const std::function<void(const std::string&)>& say,
                                         std::chrono::milliseconds timeout) {
  auto give_up = std::chrono::steady_clock::now() + attach_for;
  for (bool said = false;; said = true) {
    auto gateway = connect_gateway(sys, where.host, where.port, where.settings.tls);
    auto orchestrator = gateway ? lookup_orchestrator(sys, *gateway)
                                : expected<orchestrator_actor>{gateway.error()};
    if (orchestrator) {
      auto c = std::make_unique<client>(sys, *orchestrator, std::make_shared<blob_store>(),
                                        timeout);
      c->set_upstream(*gateway);
      c->set_bulk(bulk_endpoint_of(sys, *gateway, where.host, where.settings));
      return c;
    }
    if (!may_heal(orchestrator.error()) || std::chrono::steady_clock::now() >= give_up)
      return orchestrator.error();
    if (!said && say)
      say(where.description() + " does not answer yet (" + describe(orchestrator.error())
          + "); trying again for " + std::to_string(attach_for.count()) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
  }
}

} // namespace nexus
