#include "actors/runtime/remote.hpp"

#include <cstdlib>
#include <thread>

#include "config/topology.hpp"

namespace nexus {

expected<std::vector<hub_address>> hubs_of(const std::string& topology_path) {
  auto topo = load_topology(topology_path);
  if (!topo)
    return topo.error();
  if (topo->tls && topo->client.cert.empty())
    return make_error(errc::invalid_input,
                      topology_path + ": tls needs a client certificate for the shell");
  std::vector<hub_address> out;
  for (const auto* hub : topo->hubs()) {
    std::optional<chain::public_key> key;
    if (!hub->key.empty()) {
      auto listed = listed_key(*hub);
      if (!listed)
        return listed.error();
      key = *listed;
    }
    out.push_back({.host = hub->host,
                   .port = hub->port,
                   .settings = settings_for(*topo, nullptr),
                   .network = topo->network,
                   .name = hub->name,
                   .key = key});
  }
  return out;
}

expected<hub_address> hub_of(const std::string& topology_path) {
  auto hubs = hubs_of(topology_path);
  if (!hubs)
    return hubs.error();
  return hubs->front();
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
  if (!name.empty())
    at = "hub " + name + " at " + at;
  return network.empty() ? at : "network " + network + ", " + at;
}

namespace {

// Errors of attaching that time can heal: nothing listens yet, or the answer was slow.
bool may_heal(const error& err) {
  return err == errc::unavailable || err == errc::timeout;
}

// The hub at `where`, once: its orchestrator, gateway and bulk channel.
expected<hub_link> link_to(caf::actor_system& sys, const hub_address& where) {
  auto gateway = connect_gateway(sys, where.host, where.port, where.settings.tls);
  if (!gateway)
    return gateway.error();
  auto orchestrator = lookup_orchestrator(sys, *gateway);
  if (!orchestrator)
    return orchestrator.error();
  return hub_link{.name = where.name,
                  .orchestrator = *orchestrator,
                  .gateway = *gateway,
                  .bulk = bulk_endpoint_of(sys, *gateway, where.host, where.settings)};
}

} // namespace

expected<std::unique_ptr<client>> attach(caf::actor_system& sys, const hub_address& where,
                                         const std::function<void(const std::string&)>& say,
                                         std::chrono::milliseconds timeout) {
  auto give_up = std::chrono::steady_clock::now() + attach_for;
  for (bool said = false;; said = true) {
    auto link = link_to(sys, where);
    if (link) {
      auto c = std::make_unique<client>(sys, link->orchestrator,
                                        std::make_shared<blob_store>(), timeout);
      c->set_hub(std::move(*link));
      return c;
    }
    if (!may_heal(link.error()) || std::chrono::steady_clock::now() >= give_up)
      return link.error();
    if (!said && say)
      say(where.description() + " does not answer yet (" + describe(link.error())
          + "); trying again for " + std::to_string(attach_for.count()) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
  }
}

expected<std::unique_ptr<client>> attach_any(caf::actor_system& sys,
                                             std::vector<hub_address> hubs,
                                             std::function<void(const std::string&)> say,
                                             std::chrono::milliseconds timeout) {
  if (hubs.empty())
    return make_error(errc::invalid_input, "no hub to attach to");
  expected<std::unique_ptr<client>> c{errc::failed};
  for (const auto& where : hubs) {
    c = hubs.size() == 1 ? attach(sys, where, say, timeout) : [&] {
      auto link = link_to(sys, where);
      if (!link)
        return expected<std::unique_ptr<client>>{link.error()};
      auto out = std::make_unique<client>(sys, link->orchestrator,
                                          std::make_shared<blob_store>(), timeout);
      out->set_hub(std::move(*link));
      return expected<std::unique_ptr<client>>{std::move(out)};
    }();
    if (c)
      break;
    if (say && hubs.size() > 1)
      say(where.description() + " does not answer (" + describe(c.error()) + ")");
  }
  if (!c && hubs.size() > 1) // none answers now: wait for any, as for one
    c = attach(sys, hubs.front(), say, timeout);
  if (!c)
    return c;
  // Its submissions name the topology's hubs, whose records alone the ledger then counts.
  std::vector<chain::public_key> keys;
  for (const auto& h : hubs)
    if (h.key)
      keys.push_back(*h.key);
  if (keys.size() == hubs.size())
    (*c)->set_hub_keys(std::move(keys));
  // The other hubs first, from the one after the lost hub on; the lost one last.
  auto relink = [&sys, hubs, say](const std::string& lost) -> expected<hub_link> {
    auto at = std::find_if(hubs.begin(), hubs.end(),
                           [&](const hub_address& h) { return h.name == lost; });
    std::vector<hub_address> order;
    auto start = at == hubs.end() ? 0 : (at - hubs.begin()) + 1;
    for (std::size_t i = 0; i < hubs.size(); ++i)
      order.push_back(hubs[(start + i) % hubs.size()]);
    auto give_up = std::chrono::steady_clock::now() + failover_for;
    error last{errc::unavailable};
    for (bool said = false;; said = true) {
      for (const auto& where : order) {
        auto link = link_to(sys, where);
        if (link)
          return link;
        last = link.error();
      }
      if (std::chrono::steady_clock::now() >= give_up)
        return last;
      if (!said && say)
        say("no hub of the network answers yet (" + describe(last)
            + "); trying them every second for " + std::to_string(failover_for.count())
            + " min");
      std::this_thread::sleep_for(std::chrono::seconds{1});
    }
  };
  (*c)->set_failover(std::move(relink), std::move(say));
  return c;
}

} // namespace nexus
