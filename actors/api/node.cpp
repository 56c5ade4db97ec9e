#include "actors/api/node.hpp"

#include "actors/runtime/node.hpp"

namespace nexus::api {

struct node::impl {
  std::unique_ptr<nexus::node> n;
};

node::node(std::unique_ptr<impl> x)
    : impl_(std::move(x)) {}

node::~node() {
  stop();
}

expected<std::unique_ptr<node>> node::start(caf::actor_system& sys,
                                            const node_options& opts) {
  auto topo = load_topology(opts.topology);
  if (!topo)
    return topo.error();
  const auto* listed = topo->find(opts.name);
  node_spec spec;
  if (listed)
    spec = *listed;
  else
    spec.name = opts.name;
  if (spec.name.empty())
    return make_error(errc::invalid_input, "a node needs a name");
  if (!opts.roles.empty())
    spec.roles = opts.roles;
  if (spec.roles.empty())
    return make_error(errc::invalid_input, "node " + spec.name
                                               + " has no roles: the topology "
                                                 "gives it none and the options name none");
  if (opts.port || !listed)
    spec.port = opts.port.value_or(0);
  spec.fault = worker_fault::none; // misbehaving on purpose is for tests, not embedders
  spec.lie_rate = 0;
  spec.hub_faults.clear();
  auto hubs = topo->hubs();
  if (!opts.join.empty() && std::none_of(hubs.begin(), hubs.end(), [&](auto* h) {
        return h->name == opts.join;
      }))
    return make_error(errc::invalid_input, opts.topology + ": \"" + opts.join
                                               + "\" is not a hub of the network (\""
                                               + topo->orchestrator().name
                                               + "\" runs an orchestrator)");
  auto key =
      listed ? chain::node_key::load_or_create(spec.data_dir) : chain::node_key::generate();
  if (!key)
    return key.error();
  auto options = node_options_for(*topo, std::move(spec), std::move(*key));
  if (!options)
    return options.error();
  if (!opts.join.empty())
    std::erase_if(options->hubs,
                  [&](const hub_endpoint& h) { return h.name != opts.join; });
  auto n = nexus::node::start(sys, std::move(*options));
  if (!n)
    return n.error();
  return std::unique_ptr<node>{new node{std::make_unique<impl>(impl{std::move(*n)})}};
}

uint16_t node::port() const noexcept {
  return impl_->n ? impl_->n->port() : 0;
}

void node::stop() {
  if (impl_->n)
    impl_->n->stop();
}

} // namespace nexus::api
