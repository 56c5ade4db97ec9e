#include "actors/runtime/node.hpp"

#include <algorithm>
#include <csignal>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/aggregator.hpp"
#include "actors/faulty.hpp"
#include "actors/gateway.hpp"
#include "actors/ledger.hpp"
#include "actors/orchestrator.hpp"
#include "actors/validator.hpp"
#include "actors/worker.hpp"

namespace nexus {

namespace detail {

extern bool tls_error_queue_fix; // actors/tls_error_queue.cpp

} // namespace detail

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;

constexpr std::chrono::seconds rejoin_interval{1};
constexpr std::chrono::seconds lookup_timeout{10};
constexpr std::chrono::seconds join_timeout{10};
constexpr std::chrono::minutes fetch_timeout{5};

// One hub this node joins: where it is, and what the node has there while joined.
struct hub_link {
  hub_endpoint where;
  bool local = false;              // this node's own orchestrator
  orchestrator_actor orchestrator; // the one the roles joined (null: not joined)
  gateway_actor gateway;           // its node's (null on this node's own)
  bulk_endpoint bulk;              // its node's bulk channel, for the workers' results
  std::vector<caf::actor> roles;   // stopped when its orchestrator is lost
  std::string last_problem;        // printed once until it changes
};

// The gateways of the hubs joined, which the node's store fetches operands from: a task's
// operands are at the hub that runs it. Shared with the store's fetches on other threads.
struct operand_sources {
  std::mutex mutex;
  std::vector<gateway_actor> gateways;
};

struct agent_state {
  // Not an aggregate: CAF would otherwise construct it from the actor pointer.
  agent_state() = default;

  node_options opts;
  std::shared_ptr<blob_store> store;
  std::shared_ptr<bulk_service> bulk; // this node's, for its aggregator (null: none)
  std::vector<hub_link> hubs;         // every hub of the network, this node's among them
  std::shared_ptr<operand_sources> sources = std::make_shared<operand_sources>();
  orchestrator_actor local; // set on a hub's own node
  ledger_actor
      ledger; // kept across rejoins: it holds the store's lock and nothing else's handle
  static inline const char* name = "nexus.node-agent";
};

using agent_pointer = caf::stateful_actor<agent_state>*;

// The bulk channel at host:port as this node reaches it (or listens there).
bulk_endpoint endpoint(const node_options& opts, const std::string& host, uint16_t port) {
  return {host, port, opts.tls, opts.ca, opts.spec.tls.cert, opts.spec.tls.key};
}

void say(agent_pointer self, const std::string& line) {
  caf::aout(self) << self->state.opts.spec.name << ": " << line << "\n";
}

// " at hub NAME" where the network has several hubs, else nothing.
std::string at_hub(agent_pointer self, const hub_link& link) {
  return self->state.hubs.size() > 1 ? " at hub " + link.where.name : std::string{};
}

// "host:port" of a hub.
std::string address(const hub_link& link) {
  return link.where.host + ":" + std::to_string(link.where.port);
}

// Refreshes the gateways the store fetches from.
void update_sources(agent_pointer self) {
  std::vector<gateway_actor> gateways;
  for (const auto& link : self->state.hubs)
    if (link.orchestrator && link.gateway)
      gateways.push_back(link.gateway);
  std::lock_guard lock{self->state.sources->mutex};
  self->state.sources->gateways = std::move(gateways);
}

// A store source that asks each hub joined in turn: the first that holds the blob serves.
blob_store::source_fn fetch_from_hubs(caf::actor_system& sys,
                                      std::shared_ptr<operand_sources> sources) {
  return [&sys, sources](const blob_ref& ref) -> expected<compute::tensor> {
    std::vector<gateway_actor> gateways;
    {
      std::lock_guard lock{sources->mutex};
      gateways = sources->gateways;
    }
    expected<compute::tensor> out =
        make_error(errc::not_found, "blob " + chain::to_hex(ref.id).substr(0, 12)
                                        + " is not here, and no hub is joined to fetch it "
                                          "from");
    for (std::size_t i = 0; i < gateways.size(); ++i) {
      out = fetch_from(sys, gateways[i])(ref);
      // Checked here only where another hub is left to ask: the store checks what the
      // source returns in any case, and an operand is hashed once, not twice.
      bool last = i + 1 == gateways.size();
      if (out && !last && (out->shape() != ref.shape || blob_store::id_of(*out) != ref.id))
        out = make_error(errc::corrupted, "a hub served other contents than blob "
                                              + chain::to_hex(ref.id).substr(0, 12));
      if (out) // else the next hub may hold it, and whole
        break;
    }
    return out;
  };
}

// Joins one role to the hub at `index`, proving the node's key when it has one; says so
// if refused.
template <class Handle>
void join(agent_pointer self, std::size_t index, node_info info, const Handle& handle,
          const std::vector<uint8_t>& nonce) {
  auto& st = self->state;
  auto& link = st.hubs[index];
  if (st.opts.key) {
    const auto& key = st.opts.key->public_bytes();
    info.public_key.assign(key.begin(), key.end());
    info.nonce = nonce;
    auto sig = st.opts.key->sign(wire::join_statement(info));
    info.signature.assign(sig.begin(), sig.end());
  }
  auto role = to_string(info.role) + at_hub(self, link);
  self->request(link.orchestrator, join_timeout, join_atom::value, wire::encode(info),
                handle)
      .then([self, role](uint32_t) { say(self, "joined as " + role); },
            [self, role](const caf::error& err) {
              say(self,
                  "the orchestrator did not take it as " + role + ": " + describe(err));
            });
  if (info.role != node_role::ledger)
    link.roles.push_back(caf::actor_cast<caf::actor>(handle));
}

// Spawns this node's roles for the hub at `index` and joins them to it. A hub's own
// aggregator joins it alone; the ledger joins every hub, so that each records through it.
void spawn_roles(agent_pointer self, std::size_t index, const std::vector<uint8_t>& nonce) {
  auto& st = self->state;
  auto& sys = self->system();
  const auto& link = st.hubs[index];
  const auto& spec = st.opts.spec;
  uint64_t seed = std::hash<std::string>{}(spec.name);
  for (auto role : spec.roles) {
    switch (role) {
    case node_role::worker: {
      worker_config cfg{.name = spec.name,
                        .store = st.store,
                        .relay = link.gateway,
                        .device = spec.device,
                        .key = st.opts.key, // signs its results with the key it joins with
                        .bulk = link.bulk};
      auto info = describe_worker(cfg);
      if (!info) {
        say(self, "cannot start the worker: " + describe(info.error()));
        break;
      }
      if (spec.threads > 0)
        info->threads = spec.threads;
      auto handle =
          spec.fault == worker_fault::none
              ? spawn_worker(sys, std::move(cfg))
              : spawn_faulty_worker(sys, std::move(cfg),
                                    {.plan = fault_plan{spec.fault, spec.fault_rate, seed},
                                     .crash_process = true});
      join(self, index, std::move(*info), handle, nonce);
      break;
    }
    case node_role::validator: {
      validator_config cfg{.name = spec.name,
                           .store = st.store,
                           .orchestrator = link.orchestrator,
                           .key = st.opts.key};
      if (spec.lie_rate > 0)
        cfg = lying(std::move(cfg), spec.lie_rate, seed);
      auto info = describe_validator(cfg);
      join(self, index, std::move(info), spawn_validator(sys, std::move(cfg)), nonce);
      break;
    }
    case node_role::aggregator:
      if (link.local || st.hubs.size() == 1)
        join(self, index, hub_role(spec.name, node_role::aggregator),
             sys.spawn(aggregator, link.orchestrator, st.bulk, st.store), nonce);
      break;
    case node_role::ledger: // opened by node::start, once for every rejoin
      join(self, index, hub_role(spec.name, node_role::ledger), st.ledger, nonce);
      break;
    case node_role::orchestrator: // spawned by node::start
      break;
    }
  }
}

// Takes `orchestrator` as the hub's at `index`, and joins the roles to it (after a
// challenge when the node has a key).
void attach(agent_pointer self, std::size_t index, orchestrator_actor orchestrator,
            gateway_actor gateway) {
  auto& st = self->state;
  auto& link = st.hubs[index];
  link.orchestrator = orchestrator;
  link.gateway = gateway;
  link.last_problem.clear();
  self->monitor(orchestrator);
  update_sources(self);
  if (!st.opts.key) {
    spawn_roles(self, index, {});
    return;
  }
  self->request(orchestrator, join_timeout, challenge_atom::value)
      .then(
          [self, index](const wire::challenge& msg) {
            auto nonce = wire::decode(msg);
            if (!nonce) {
              say(self, "malformed challenge: " + describe(nonce.error()));
              return;
            }
            spawn_roles(self, index, *nonce);
          },
          [self](const caf::error& err) { say(self, "no challenge: " + describe(err)); });
}

// Stops the roles joined to one hub. CAF's registry keeps every actor whose handle went to
// another node until that node says it dropped it, which a lost node never says; a
// detached role left there is never destroyed, and the actor_system's destructor waits
// for it forever.
void stop_roles(agent_pointer self, hub_link& link, const caf::error& reason) {
  for (auto& role : link.roles) {
    self->send_exit(role, reason);
    self->system().registry().erase(role->id());
  }
  link.roles.clear();
}

// Tries to reach the hub at `index`; on failure tries again a second later.
void connect(agent_pointer self, std::size_t index) {
  auto& st = self->state;
  auto& link = st.hubs[index];
  if (link.local) {
    attach(self, index, st.local, gateway_actor{});
    return;
  }
  auto retry = [self, index](const std::string& problem) {
    auto& link = self->state.hubs[index];
    if (problem != link.last_problem)
      say(self, "waiting for the orchestrator at " + address(link) + at_hub(self, link)
                    + " (" + problem + ")");
    link.last_problem = problem;
    self->delayed_send(self, rejoin_interval, reconnect_atom::value, uint64_t{index});
  };
  auto gw = connect_gateway(self->system(), link.where.host, link.where.port, st.opts.tls);
  if (!gw) {
    retry(describe(gw.error()));
    return;
  }
  self->request(*gw, lookup_timeout, lookup_atom::value)
      .then(
          [self, index, gw = *gw](const orchestrator_actor& orchestrator) {
            auto& link = self->state.hubs[index];
            say(self, "reached the orchestrator at " + address(link) + at_hub(self, link));
            self->request(gw, lookup_timeout, bulk_atom::value)
                .then(
                    [self, index, orchestrator, gw](uint16_t port) {
                      auto& st = self->state;
                      auto& link = st.hubs[index];
                      link.bulk = {};
                      if (port != 0)
                        link.bulk = endpoint(st.opts, link.where.host, port);
                      attach(self, index, orchestrator, gw);
                    },
                    [self, index, orchestrator, gw](const caf::error&) {
                      attach(self, index, orchestrator, gw);
                    });
          },
          [retry](const caf::error& err) { retry(describe(err)); });
}

caf::behavior agent(caf::stateful_actor<agent_state>* self, node_options opts,
                    std::shared_ptr<blob_store> store, std::shared_ptr<bulk_service> bulk,
                    orchestrator_actor local, ledger_actor ledger) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.store = std::move(store);
  st.bulk = std::move(bulk);
  st.ledger = std::move(ledger);
  st.local = std::move(local);
  for (const auto& where : st.opts.hubs)
    st.hubs.push_back(
        {.where = where, .local = st.local && where.name == st.opts.spec.name});
  if (std::any_of(st.hubs.begin(), st.hubs.end(), [](auto& h) { return !h.local; }))
    st.store->set_source(fetch_from_hubs(self->system(), st.sources));
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.hubs.size(); ++i) {
      auto& link = st.hubs[i];
      if (!link.orchestrator || msg.source != link.orchestrator.address())
        continue;
      say(self, "lost the orchestrator" + at_hub(self, link) + " (" + describe(msg.reason)
                    + "); joining again");
      stop_roles(self, link, caf::exit_reason::user_shutdown);
      link.orchestrator = nullptr;
      link.gateway = nullptr;
      update_sources(self);
      self->delayed_send(self, rejoin_interval, reconnect_atom::value, uint64_t{i});
    }
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& link : self->state.hubs)
      stop_roles(self, link, msg.reason);
    if (auto& ledger = self->state.ledger) { // stores what it holds, then stops
      self->send_exit(ledger, msg.reason);
      self->system().registry().erase(ledger->id());
    }
    self->system().registry().erase(self->id()); // it sent requests to other nodes
    self->quit(msg.reason);
  });
  for (std::size_t i = 0; i < st.hubs.size(); ++i)
    self->send(self, reconnect_atom::value, uint64_t{i});
  return {
      [self](reconnect_atom, uint64_t index) {
        if (index < self->state.hubs.size() && !self->state.hubs[index].orchestrator)
          connect(self, index);
      },
  };
}

// OpenSSL writes to its sockets with write(2), not send(..., MSG_NOSIGNAL) as CAF's plain
// TCP does: a write to a peer that has just died (SIGKILL, a lost host) raises SIGPIPE,
// whose default action ends the whole process: a hub then dies with the worker it was
// sending a shard to. A handler the host application installed is left alone.
void ignore_sigpipe() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) != 0 || current.sa_handler != SIG_DFL)
    return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
}

} // namespace

expected<node_options> node_options_for(const topology& t, node_spec spec,
                                        chain::node_key key) {
  std::vector<hub_endpoint> hubs;
  for (const auto* hub : t.hubs())
    hubs.push_back({hub->name, hub->host, hub->port});
  node_options opts{.spec = std::move(spec),
                    .hubs = std::move(hubs),
                    .limits = t.limits,
                    .rules = t.rules,
                    .key = std::move(key),
                    .tls = t.tls,
                    .ca = t.ca};
  if (opts.spec.has(node_role::orchestrator) || opts.spec.has(node_role::ledger)) {
    auto members = members_of(t);
    if (!members)
      return members.error();
    opts.members = std::move(*members);
  }
  // Ledger nodes write the same first block only if it names every one of them.
  auto ledgers = std::count_if(t.nodes.begin(), t.nodes.end(),
                               [](const node_spec& n) { return n.has(node_role::ledger); });
  if (ledgers > 1 && opts.spec.has(node_role::ledger)
      && std::none_of(opts.members.begin(), opts.members.end(),
                      [&](const member& m) { return m.name == opts.spec.name; }))
    return make_error(errc::invalid_input,
                      "the topology has " + std::to_string(ledgers) + " ledger nodes: each "
                          + "must list its key (key: of node " + opts.spec.name + ")");
  // The ledger's first block binds each orchestrator's key, which signs what it records.
  for (const auto* hub : t.hubs())
    if (opts.spec.has(node_role::ledger) && hub->name != opts.spec.name
        && std::none_of(opts.members.begin(), opts.members.end(),
                        [&](const member& m) { return m.name == hub->name; }))
      return make_error(errc::invalid_input,
                        "node " + opts.spec.name + " keeps the ledger apart from the "
                            + "orchestrator " + hub->name + ", whose key the topology must "
                            + "then list (key: of node " + hub->name + ")");
  return opts;
}

network_settings settings_for(const topology& t, const node_spec* node) {
  network_settings s;
  s.tls = t.tls;
  s.ca = t.ca;
  s.identity = node ? node->tls : t.client;
  s.heartbeat = t.heartbeat;
  return s;
}

void configure_local(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.console", caf::atom("none"));
}

void configure(caf::actor_system_config& cfg, const network_settings& s) {
  configure_local(cfg);
  cfg.load<caf::io::middleman>();
  if (s.tls) {
    [[maybe_unused]] volatile bool linked = detail::tls_error_queue_fix; // keep the fix in
    cfg.load<caf::openssl::manager>();
    ignore_sigpipe();
    cfg.openssl_certificate = s.identity.cert;
    cfg.openssl_key = s.identity.key;
    cfg.openssl_cafile = s.ca;
  }
  // Off by default in CAF 0.17: without them a frozen peer is never noticed.
  cfg.set("middleman.heartbeat-interval", caf::timespan{s.heartbeat.interval});
  cfg.set("middleman.connection-timeout", caf::timespan{s.heartbeat.timeout});
}

expected<gateway_actor> connect_gateway(caf::actor_system& sys, const std::string& host,
                                        uint16_t port, bool tls) {
  auto gateway = tls ? caf::openssl::remote_actor<gateway_actor>(sys, host, port)
                     : sys.middleman().remote_actor<gateway_actor>(host, port);
  if (!gateway)
    return from_caf(gateway.error());
  return std::move(*gateway);
}

expected<orchestrator_actor> lookup_orchestrator(caf::actor_system& sys,
                                                 const gateway_actor& gateway) {
  caf::scoped_actor self{sys};
  expected<orchestrator_actor> out{errc::failed};
  self->request(gateway, lookup_timeout, lookup_atom::value)
      .receive([&](orchestrator_actor& o) { out = std::move(o); },
               [&](caf::error& err) { out = from_caf(err); });
  return out;
}

bulk_endpoint bulk_endpoint_of(caf::actor_system& sys, const gateway_actor& gateway,
                               const std::string& host, const network_settings& settings) {
  caf::scoped_actor self{sys};
  uint16_t port = 0;
  self->request(gateway, lookup_timeout, bulk_atom::value)
      .receive([&](uint16_t p) { port = p; }, [&](const caf::error&) {});
  if (port == 0)
    return {};
  return {
      host, port, settings.tls, settings.ca, settings.identity.cert, settings.identity.key};
}

blob_store::source_fn fetch_from(caf::actor_system& sys, gateway_actor gateway) {
  return [&sys, gateway](const blob_ref& ref) -> expected<compute::tensor> {
    // Not request(): a request to a node that went away fails only by its time-out,
    // which would hold the store's fetch for minutes. A monitor notices at once.
    caf::scoped_actor self{sys};
    self->monitor(gateway);
    self->send(gateway, fetch_atom::value, wire::encode(ref));
    expected<compute::tensor> out{errc::failed};
    self->receive(
        [&](wire::blob_payload& msg) {
          auto payload = wire::decode(msg);
          if (payload)
            out = std::move(payload->tensor);
          else
            out = payload.error();
        },
        [&](caf::error& err) { out = from_caf(err); },
        [&](caf::down_msg&) {
          out = make_error(errc::unavailable, "the node serving the operands went away");
        },
        caf::after(fetch_timeout) >>
            [&] {
              out = make_error(errc::timeout, "fetching operands took longer than "
                                                  + std::to_string(fetch_timeout.count())
                                                  + " min");
            });
    self->demonitor(gateway.address());
    return out;
  };
}

namespace {

uint32_t role_bits(const std::vector<node_role>& roles) {
  uint32_t out = 0;
  for (auto r : roles)
    out |= uint32_t{1} << static_cast<uint32_t>(r);
  return out;
}

// What a ledger node's chain starts with: the rules and the topology's members, in its
// order, so that every ledger node writes the same first block. A node whose key the
// topology does not list comes first (a network with one ledger node may leave it out).
chain::genesis genesis_of(const node_options& opts, const chain::node_key& key) {
  chain::genesis out{.rules = opts.rules};
  if (std::none_of(opts.members.begin(), opts.members.end(),
                   [&](const member& m) { return m.name == opts.spec.name; }))
    out.members.push_back({opts.spec.name, key.public_bytes(), role_bits(opts.spec.roles)});
  for (const auto& m : opts.members)
    out.members.push_back({m.name, m.key, role_bits(m.roles)});
  return out;
}

} // namespace

namespace {

// The hub's web endpoint on its host and web port: over HTTPS with the node's own
// certificate and key when the network has TLS.
expected<std::unique_ptr<web::endpoint>>
serve_web(caf::actor_system& sys, const node_options& opts,
          const orchestrator_actor& orchestrator,
          const std::shared_ptr<blob_store>& store) {
  web::web_options options{.port = opts.spec.web_port, .bind = opts.spec.host};
  if (opts.tls) {
    options.certificate = opts.spec.tls.cert;
    options.private_key = opts.spec.tls.key;
  }
  auto served = web::endpoint::start(sys, orchestrator, store, std::move(options));
  if (!served)
    return make_error(served.error().code(),
                      "node " + opts.spec.name + ": web: " + describe(served.error()));
  return served;
}

} // namespace

expected<std::unique_ptr<node>> node::start(caf::actor_system& sys, node_options opts) {
  // A ledger that cannot be opened (another process holds it, a format this build does
  // not read) stops the node before it listens: running without its ledger, the network
  // would only time out on every request.
  ledger_actor ledger;
  if (opts.spec.has(node_role::ledger)) {
    auto key = opts.key ? *opts.key : chain::node_key::generate().value();
    ledger_config config{std::filesystem::path{opts.spec.data_dir} / "ledger", opts.rules};
    config.name = "ledger " + opts.spec.name;
    config.fault = opts.spec.ledger_fault;
    auto start = genesis_of(opts, key);
    auto opened = chain::ledger::open(config.dir, start, key);
    if (opened)
      if (auto err = (*opened)->adopt_rules(start.rules))
        opened = err;
    if (!opened)
      return make_error(errc::unavailable,
                        "node " + opts.spec.name + ": cannot open the ledger in "
                            + config.dir.string() + ": " + describe(opened.error()));
    ledger = spawn_ledger(sys, config, std::move(*opened));
  }
  std::unique_ptr<node> n{new node};
  n->store_ = std::make_shared<blob_store>();
  n->store_->set_budget(opts.spec.blob_cache, opts.spec.upload_grace);
  if ((opts.spec.has(node_role::orchestrator) || opts.spec.has(node_role::aggregator))
      && !std::getenv("NEXUS_NO_BULK")) {
    auto bulk = bulk_service::start(endpoint(opts, opts.spec.host, 0));
    if (bulk)
      n->bulk_ = std::move(*bulk);
    else // results and outputs then take CAF's way, only slower
      std::printf("%s: no bulk channel: %s\n", opts.spec.name.c_str(),
                  describe(bulk.error()).c_str());
  }
  if (opts.spec.has(node_role::orchestrator)) {
    auto limits = opts.limits; // budgets are priced by the network's contract rules
    limits.micro_mcc_per_work_unit = opts.rules.micro_mcc_per_work_unit;
    std::filesystem::path outputs;
    if (!opts.spec.data_dir.empty())
      outputs = std::filesystem::path{opts.spec.data_dir} / "outputs";
    n->orchestrator_ =
        sys.spawn(nexus::orchestrator,
                  orchestrator_config{.limits = limits,
                                      .members = opts.members,
                                      .key = opts.key,
                                      .store = n->store_,
                                      .bulk = n->bulk_,
                                      .outputs_dir = outputs,
                                      .faults = opts.spec.hub_faults,
                                      .name = opts.spec.name,
                                      .browser_workers = opts.spec.web_port != 0});
  }
  n->gateway_ = sys.spawn(nexus::gateway, n->store_, n->orchestrator_,
                          n->bulk_ ? n->bulk_->port() : uint16_t{0});
  const char* bind = opts.spec.host.c_str();
  auto port = opts.tls ? caf::openssl::publish(n->gateway_, opts.spec.port, bind, true)
                       : sys.middleman().publish(n->gateway_, opts.spec.port, bind, true);
  if (!port) {
    n->stop();
    if (ledger) // stores what it holds, then stops
      caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    return make_error(errc::unavailable, "node " + opts.spec.name + ": cannot listen on "
                                             + opts.spec.host + ":"
                                             + std::to_string(opts.spec.port) + ": "
                                             + sys.render(port.error()));
  }
  n->port_ = *port;
  if (opts.spec.web_port != 0) {
    auto web = serve_web(sys, opts, n->orchestrator_, n->store_);
    if (!web) {
      n->stop();
      if (ledger)
        caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
      return web.error();
    }
    n->web_ = std::move(*web);
    std::printf("%s: the web dashboard is at %s\n", opts.spec.name.c_str(),
                n->web_->url().c_str());
  }
  n->agent_ = sys.spawn<caf::detached>(agent, std::move(opts), n->store_, n->bulk_,
                                       n->orchestrator_, std::move(ledger));
  return n;
}

node::~node() {
  stop();
}

void node::stop() {
  web_.reset(); // its browser workers leave first
  if (agent_)
    caf::anon_send_exit(agent_, caf::exit_reason::user_shutdown);
  if (gateway_)
    caf::anon_send_exit(gateway_, caf::exit_reason::user_shutdown);
  if (orchestrator_)
    caf::anon_send_exit(orchestrator_, caf::exit_reason::user_shutdown);
  agent_ = nullptr;
  gateway_ = nullptr;
  orchestrator_ = nullptr;
  if (bulk_)
    bulk_->stop(); // the actors may keep their handle a moment longer
}

} // namespace nexus
