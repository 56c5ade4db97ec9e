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
  if (opts.ledgers == 0 || opts.ledgers > 64)
    return make_error(errc::invalid_input, "from 1 to 64 ledger nodes");
  if (opts.ledgers > 1 && opts.data_dir.empty())
    return make_error(errc::invalid_input, "ledger nodes need a data directory");
  if (!opts.ledger_fault.empty() && opts.ledgers < 2)
    return make_error(errc::invalid_input,
                      "a faulty ledger node needs --ledgers 2 or more");
  if (opts.workers > 1024 || opts.validators > 1024)
    return make_error(errc::invalid_input, "at most 1024 workers and 1024 validators");
  for (const auto& spec : device_specs(opts.device))
    if (auto err = compute::check_device_spec(spec))
      return err;
  return {};
}

namespace {

// A node's key: kept in DATA/nodes/NAME/node.key with a data directory, so that its name
// keeps the key the ledger bound it to; fresh without one.
expected<chain::node_key> key_of(const embedded_options& opts, const std::string& name) {
  if (opts.data_dir.empty())
    return chain::node_key::generate();
  return chain::node_key::load_or_create(opts.data_dir / "nodes" / name);
}

uint32_t role_bit(node_role r) {
  return uint32_t{1} << static_cast<uint32_t>(r);
}

} // namespace

expected<embedded_network> start_embedded(caf::actor_system& sys,
                                          const embedded_options& opts) {
  if (auto err = check(opts)) // before any actor exists: nothing to stop on an error
    return err;
  embedded_network net;
  net.store = std::make_shared<blob_store>();
  // Every node's name and key first: the ledger's first block binds them.
  std::vector<validator_config> validators;
  auto honest_validators = opts.validators - opts.lying_validators;
  for (std::size_t i = 0; i < opts.validators; ++i) {
    auto name = i < honest_validators
                    ? "validator-" + std::to_string(i + 1)
                    : "lying-validator-" + std::to_string(i - honest_validators + 1);
    validator_config cfg{name, net.store, {}};
    if (!opts.data_dir.empty()) { // with a ledger, each validator signs its verdicts
      auto k = key_of(opts, name);
      if (!k)
        return k.error();
      cfg.key = std::move(*k);
    }
    validators.push_back(std::move(cfg));
  }
  std::vector<worker_config> workers;
  auto honest = opts.workers - opts.faulty_workers;
  for (std::size_t i = 0; i < opts.workers; ++i) {
    auto name = i < honest ? "worker-" + std::to_string(i + 1)
                           : "faulty-worker-" + std::to_string(i - honest + 1);
    auto k = key_of(opts, name); // signs its results
    if (!k)
      return k.error();
    workers.push_back(
        worker_config{.name = name, .store = net.store, .key = std::move(*k)});
  }
  std::optional<chain::node_key> key;
  auto limits = opts.limits;
  if (!opts.data_dir.empty()) {
    auto k = chain::node_key::load_or_create(opts.data_dir);
    if (!k)
      return k.error();
    key = *k;
    net.hub_key = key->public_bytes();
    ledger_config config{opts.data_dir / "ledger"};
    config.name = "ledger hub";
    chain::genesis start{.rules = config.rules};
    start.members.push_back({"hub", key->public_bytes(),
                             role_bit(node_role::orchestrator)
                                 | role_bit(node_role::aggregator)
                                 | role_bit(node_role::ledger)});
    std::vector<std::pair<std::string, chain::node_key>> others;
    for (std::size_t i = 2; i <= opts.ledgers; ++i) {
      auto name = "ledger-" + std::to_string(i);
      auto k = key_of(opts, name);
      if (!k)
        return k.error();
      start.members.push_back({name, k->public_bytes(), role_bit(node_role::ledger)});
      others.emplace_back(name, std::move(*k));
    }
    for (const auto& v : validators)
      start.members.push_back(
          {v.name, v.key->public_bytes(), role_bit(node_role::validator)});
    for (const auto& w : workers)
      start.members.push_back({w.name, w.key->public_bytes(), role_bit(node_role::worker)});
    auto ledger = chain::ledger::open(config.dir, start, *key);
    if (!ledger)
      return ledger.error();
    if (auto n = (*ledger)->validators().size(); n != opts.ledgers)
      return make_error(errc::invalid_input,
                        "the ledger in " + config.dir.string() + " has " + std::to_string(n)
                            + " ledger nodes, not " + std::to_string(opts.ledgers)
                            + ": use --ledgers " + std::to_string(n)
                            + " or another data directory");
    if (auto err = (*ledger)->adopt_rules(start.rules))
      return err;
    net.ledger = spawn_ledger(sys, config, std::move(*ledger));
    net.ledgers.push_back(net.ledger);
    for (std::size_t i = 0; i < others.size(); ++i) {
      auto& [name, k] = others[i];
      ledger_config c{opts.data_dir / "ledgers" / name / "ledger"};
      c.name = "ledger " + name;
      if (i + 1 == others.size())
        c.fault = opts.ledger_fault;
      std::filesystem::create_directories(c.dir.parent_path());
      auto l = chain::ledger::open(c.dir, start, k);
      if (!l) {
        for (auto& started : net.ledgers)
          caf::anon_send_exit(started, caf::exit_reason::user_shutdown);
        return l.error();
      }
      net.ledgers.push_back(spawn_ledger(sys, c, std::move(*l)));
    }
    introduce_ledgers(net.ledgers);
    // Budgets are priced by the ledger's contract rules.
    limits.micro_mcc_per_work_unit = config.rules.micro_mcc_per_work_unit;
  }
  std::filesystem::path outputs;
  if (!opts.data_dir.empty())
    outputs = opts.data_dir / "outputs";
  net.orchestrator =
      sys.spawn(orchestrator, orchestrator_config{.limits = limits,
                                                  .key = key,
                                                  .store = net.store,
                                                  .outputs_dir = outputs,
                                                  .browser_workers = opts.browser_workers});
  net.aggregator =
      sys.spawn(aggregator, net.orchestrator, std::shared_ptr<bulk_service>{}, net.store);
  caf::anon_send(net.orchestrator, join_atom::value,
                 wire::encode(hub_role("aggregator-1", node_role::aggregator)),
                 net.aggregator);
  if (net.ledger)
    caf::anon_send(net.orchestrator, join_atom::value,
                   wire::encode(hub_role("ledger-1", node_role::ledger)), net.ledger);
  for (std::size_t i = 0; i < validators.size(); ++i) {
    auto cfg = std::move(validators[i]);
    cfg.orchestrator = net.orchestrator;
    if (i >= honest_validators)
      cfg = lying(std::move(cfg), opts.lie_rate, std::random_device{}());
    auto info = describe_validator(cfg);
    auto handle = spawn_validator(sys, std::move(cfg));
    caf::anon_send(net.orchestrator, join_atom::value, wire::encode(info), handle);
    net.validators.push_back(handle);
  }
  auto devices = device_specs(opts.device);
  for (std::size_t i = 0; i < workers.size(); ++i) {
    auto cfg = std::move(workers[i]);
    std::optional<fault_plan> plan;
    if (i >= honest) {
      auto k = i - honest;
      auto [fault, rate] = opts.fault_mix.empty()
                               ? std::pair{opts.fault, opts.fault_rate}
                               : opts.fault_mix[k % opts.fault_mix.size()];
      plan = fault_plan{fault, rate, i};
    }
    cfg.device = devices[i % devices.size()];
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
  // What the orchestrator gathered for the ledger goes there first: a question through
  // the orchestrator sends its records ahead of it, and the ledger answers in order.
  if (orchestrator && ledger) {
    caf::scoped_actor self{orchestrator->home_system()};
    self->request(orchestrator, std::chrono::seconds{5}, ledger_atom::value,
                  wire::encode(ledger_query{.question = ledger_question::last_task}))
        .receive([](const wire::ledger_answer&) {}, [](const caf::error&) {});
  }
  auto kill = [](const auto& handle) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  };
  for (auto& w : workers)
    kill(w);
  for (auto& v : validators)
    kill(v);
  kill(aggregator);
  for (auto& l : ledgers)
    kill(l);
  kill(orchestrator);
}

} // namespace nexus
