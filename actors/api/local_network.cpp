#include "actors/api/local_network.hpp"

#include "actors/api/detail.hpp"
#include "actors/core/faults.hpp"
#include "actors/runtime/network.hpp"

namespace nexus::api {

struct local_network::impl {
  caf::actor_system& sys;
  embedded_network net;
  bool stopped = false;
};

local_network::local_network(std::unique_ptr<impl> x)
    : impl_(std::move(x)) {}

local_network::~local_network() {
  stop();
}

expected<std::unique_ptr<local_network>> local_network::start(caf::actor_system& sys,
                                                              const local_options& opts) {
  auto fault = parse_worker_fault(opts.fault);
  if (!fault)
    return fault.error();
  embedded_options e{.workers = opts.workers,
                     .validators = opts.validators,
                     .faulty_workers = opts.faulty_workers,
                     .data_dir = opts.data_dir,
                     .fault = fault->first,
                     .device = opts.device,
                     .fault_rate = fault->second,
                     .lying_validators = opts.lying_validators,
                     .lie_rate = opts.lie_rate,
                     .ledgers = opts.ledgers};
  auto net = start_embedded(sys, e);
  if (!net)
    return net.error();
  return std::unique_ptr<local_network>{
      new local_network{std::make_unique<impl>(impl{sys, std::move(*net)})}};
}

std::unique_ptr<client> local_network::connect(std::chrono::milliseconds timeout) {
  auto c = std::make_unique<nexus::client>(impl_->sys, impl_->net.orchestrator,
                                           impl_->net.store, timeout);
  return std::unique_ptr<client>{new client{std::make_unique<client::impl>(std::move(c))}};
}

void local_network::stop() {
  if (!impl_->stopped)
    impl_->net.stop();
  impl_->stopped = true;
}

} // namespace nexus::api
