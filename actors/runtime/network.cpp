#include "actors/runtime/network.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

namespace nexus {

namespace {

// "opencl:0,cpu" -> {"opencl:0", "cpu"}
std::vector<std::string> device_specs(const std::string& list) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= list.size();) {
    auto comma = std::min(list.find(',', at), list.size());
    out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

} // namespace

error check(const embedded_options& opts) {
  if (opts.workers == 0 || opts.validators == 0)
    return make_error(errc::invalid_input, "a network needs at least one worker and one "
                                           "validator");
  if (opts.faulty_workers > opts.workers)
    return make_error(errc::invalid_input, std::to_string(opts.faulty_workers)
                                               + " faulty workers out of "
                                               + std::to_string(opts.workers));
  if (opts.lying_validators > opts.validators)
    return make_error(errc::invalid_input, std::to_string(opts.lying_validators)
                                               + " lying validators out of "
                                               + std::to_string(opts.validators));
  if (opts.workers > 1024 || opts.validators > 1024)
    return make_error(errc::invalid_input, "at most 1024 workers and 1024 validators");
  for (const auto& spec : device_specs(opts.device))
    if (auto err = compute::check_device_spec(spec))
      return err;
  return {};
}

expected<embedded_network> start_embedded(caf::actor_system& sys,
                                          const embedded_options& opts) {
  if (auto err = check(opts)) // before any actor exists: nothing to stop on an error
    return err;
  embedded_network net;
  net.store = std::make_shared<blob_store>();
  std::optional<chain::node_key> key;
  uint64_t last_task = 0;
  uint64_t last_internal = 0;
  auto limits = opts.limits;
  if (!opts.data_dir.empty()) {
    auto k = chain::node_key::load_or_create(opts.data_dir);
    if (!k)
      return k.error();
    key = *k;
    ledger_config config{opts.data_dir / "ledger"};
    auto ledger = chain::ledger::open(config.dir, config.rules, *key);
    if (!ledger)
      return ledger.error();
    last_task = (*ledger)->contract().last_task();
    last_internal = (*ledger)->contract().last_internal_task();
    net.ledger = spawn_ledger(sys, config, std::move(*ledger));
    // Budgets are priced by the ledger's contract rules.
    limits.micro_mcc_per_work_unit = config.rules.micro_mcc_per_work_unit;
  }
  std::filesystem::path outputs;
  if (!opts.data_dir.empty())
    outputs = opts.data_dir / "outputs";
  net.orchestrator =
      sys.spawn(orchestrator, orchestrator_config{.limits = limits,
                                                  .key = key,
                                                  .last_task = last_task,
                                                  .last_internal_task = last_internal,
                                                  .store = net.store,
                                                  .outputs_dir = outputs});
  net.aggregator =
      sys.spawn(aggregator, net.orchestrator, std::shared_ptr<bulk_service>{}, net.store);
  caf::anon_send(net.orchestrator, join_atom::value,
                 wire::encode(hub_role("aggregator-1", node_role::aggregator)),
                 net.aggregator);
  if (net.ledger)
    caf::anon_send(net.orchestrator, join_atom::value,
                   wire::encode(hub_role("ledger-1", node_role::ledger)), net.ledger);
  auto honest_validators = opts.validators - opts.lying_validators;
  for (std::size_t i = 0; i < opts.validators; ++i) {
    validator_config cfg{"validator-" + std::to_string(i + 1), net.store, net.orchestrator};
    if (key)
      cfg.key = chain::node_key::generate().value(); // each validator signs as itself
    if (i >= honest_validators) {
      cfg.name = "lying-validator-" + std::to_string(i - honest_validators + 1);
      cfg = lying(std::move(cfg), opts.lie_rate, std::random_device{}());
    }
    auto info = describe_validator(cfg);
    auto handle = spawn_validator(sys, std::move(cfg));
    caf::anon_send(net.orchestrator, join_atom::value, wire::encode(info), handle);
    net.validators.push_back(handle);
  }
  auto honest = opts.workers - opts.faulty_workers;
  auto devices = device_specs(opts.device);
  for (std::size_t i = 0; i < opts.workers; ++i) {
    worker_config cfg{.name = "worker-" + std::to_string(i + 1), .store = net.store};
    std::optional<fault_plan> plan;
    if (i >= honest) {
      auto k = i - honest;
      cfg.name = "faulty-worker-" + std::to_string(k + 1);
      auto [fault, rate] = opts.fault_mix.empty()
                               ? std::pair{opts.fault, opts.fault_rate}
                               : opts.fault_mix[k % opts.fault_mix.size()];
      plan = fault_plan{fault, rate, i};
    }
    cfg.device = devices[i % devices.size()];
    cfg.key = chain::node_key::generate().value(); // signs its results
    auto info = describe_worker(cfg);
    if (!info)
      return info.error();
    auto pub = cfg.key->public_bytes();
    info->public_key.assign(pub.begin(), pub.end());
    auto handle = plan
                      ? spawn_faulty_worker(sys, std::move(cfg), {.plan = std::move(*plan)})
                      : spawn_worker(sys, std::move(cfg));
    caf::anon_send(net.orchestrator, join_atom::value, wire::encode(*info), handle);
    net.workers.push_back(handle);
  }
  return net;
}

void embedded_network::stop() {
  auto kill = [](const auto& handle) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  };
  for (auto& w : workers)
    kill(w);
  for (auto& v : validators)
    kill(v);
  kill(aggregator);
  if (ledger)
    kill(ledger);
  kill(orchestrator);
}

} // namespace nexus
