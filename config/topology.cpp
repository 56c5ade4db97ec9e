#include "config/topology.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "chain/membership.hpp"
#include "compute/errc.hpp"

namespace nexus {

namespace fs = std::filesystem;

bool node_spec::has(node_role r) const {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

bool node_spec::key_is_file() const {
  return !key.empty()
         && !(key.size() == 64 && std::all_of(key.begin(), key.end(), ::isxdigit));
}

const node_spec* topology::find(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name)
      return &n;
  return nullptr;
}

std::vector<const node_spec*> topology::hubs() const {
  std::vector<const node_spec*> out;
  for (const auto& n : nodes)
    if (n.has(node_role::orchestrator))
      out.push_back(&n);
  return out;
}

const node_spec& topology::orchestrator() const {
  for (const auto& n : nodes)
    if (n.has(node_role::orchestrator))
      return n;
  throw std::logic_error("topology without an orchestrator"); // load_topology rejects it
}

std::optional<node_role> parse_role(const std::string& name) {
  for (auto r : {node_role::orchestrator, node_role::worker, node_role::validator,
                 node_role::aggregator, node_role::ledger})
    if (to_string(r) == name)
      return r;
  return std::nullopt;
}

namespace {

// Thrown inside the loader only; load_topology turns it into errc::invalid_input.
struct bad_topology {
  YAML::Mark mark;
  std::string what;
};

class loader {
public:
  loader(std::string path)
      : path_(std::move(path)) {
    base_ = fs::path{path_}.parent_path();
  }

  topology load(const YAML::Node& root) {
    expect_map(root, "the topology");
    keys(root, {"network", "tls", "scheduler", "heartbeat", "ledger", "nodes"}, "");
    topology t;
    t.file = path_;
    t.network = required(root, "network", "").as<std::string>();
    if (auto tls = root["tls"]) {
      expect_map(tls, "tls");
      keys(tls, {"ca", "ca_key", "client"}, "tls: ");
      t.tls = true;
      t.ca = file(required(tls, "ca", "tls: "));
      if (tls["ca_key"])
        t.ca_key = file(tls["ca_key"]);
      if (auto client = tls["client"])
        t.client = files(client, "tls: client: ");
    }
    if (auto s = root["scheduler"]) {
      expect_map(s, "scheduler");
      keys(s,
           {"shard_deadline_ms", "max_attempts", "window", "trust_after", "check_floor",
            "audit_rate", "max_queued", "outputs_in_memory_mib", "reports_kept"},
           "scheduler: ");
      if (s["shard_deadline_ms"])
        t.limits.shard_deadline =
            std::chrono::milliseconds{number(s["shard_deadline_ms"], 10, 86'400'000)};
      if (s["max_attempts"])
        t.limits.max_attempts = number(s["max_attempts"], 1, 100);
      if (s["window"])
        t.limits.window_per_worker = number(s["window"], 1, 1024);
      if (s["trust_after"])
        t.limits.trust_after = number(s["trust_after"], 1, 1'000'000);
      if (s["check_floor"])
        t.limits.check_floor = share(s["check_floor"]);
      if (s["audit_rate"])
        t.limits.audit_rate = share(s["audit_rate"]);
      if (s["max_queued"])
        t.limits.max_queued_tasks = number(s["max_queued"], 1, 10'000'000);
      if (s["reports_kept"])
        t.limits.reports_kept = number(s["reports_kept"], 1, 100'000'000);
      if (s["outputs_in_memory_mib"])
        t.limits.outputs_in_memory =
            uint64_t{number(s["outputs_in_memory_mib"], 1, 1 << 20)} << 20;
    }
    if (auto h = root["heartbeat"]) {
      expect_map(h, "heartbeat");
      keys(h, {"interval_ms", "timeout_ms"}, "heartbeat: ");
      if (h["interval_ms"])
        t.heartbeat.interval =
            std::chrono::milliseconds{number(h["interval_ms"], 10, 600'000)};
      if (h["timeout_ms"])
        t.heartbeat.timeout =
            std::chrono::milliseconds{number(h["timeout_ms"], 10, 3'600'000)};
      if (t.heartbeat.timeout <= t.heartbeat.interval)
        fail(h, "heartbeat: timeout_ms must exceed interval_ms");
    }
    if (auto l = root["ledger"]) {
      expect_map(l, "ledger");
      keys(l,
           {"micro_mcc_per_work_unit", "validator_share_permille", "audit_share_permille",
            "penalty_micro_mcc"},
           "ledger: ");
      if (l["micro_mcc_per_work_unit"])
        t.rules.micro_mcc_per_work_unit =
            number(l["micro_mcc_per_work_unit"], 1, chain::max_rate);
      if (l["validator_share_permille"])
        t.rules.validator_share_permille = number(l["validator_share_permille"], 0, 1000);
      if (l["audit_share_permille"])
        t.rules.audit_share_permille = number(l["audit_share_permille"], 0, 1000);
      if (l["penalty_micro_mcc"])
        t.rules.penalty_micro_mcc = number(l["penalty_micro_mcc"], 0, 1'000'000'000);
    }
    auto nodes = required(root, "nodes", "");
    if (!nodes.IsSequence() || nodes.size() == 0)
      fail(nodes, "nodes: a list of at least one node");
    std::map<std::string, YAML::Mark> names;
    std::map<std::pair<std::string, uint16_t>, std::string> endpoints;
    for (const auto& n : nodes) {
      auto spec = node(n, t.tls);
      if (names.contains(spec.name))
        fail(n["name"], "node \"" + spec.name + "\" is defined twice (first at line "
                            + std::to_string(names[spec.name].line + 1) + ")");
      names[spec.name] = n.Mark();
      auto endpoint = std::make_pair(spec.host, spec.port);
      if (auto i = endpoints.find(endpoint); i != endpoints.end())
        fail(n["port"], "node \"" + spec.name + "\": " + spec.host + ":"
                            + std::to_string(spec.port) + " is taken by node \"" + i->second
                            + "\"");
      endpoints[endpoint] = spec.name;
      t.nodes.push_back(std::move(spec));
    }
    auto count = [&](node_role r) {
      return std::count_if(t.nodes.begin(), t.nodes.end(),
                           [r](auto& n) { return n.has(r); });
    };
    if (count(node_role::orchestrator) == 0)
      fail(nodes, "nodes: no node has the orchestrator role");
    if (count(node_role::aggregator) == 0)
      fail(nodes, "nodes: no node has the aggregator role");
    // Several hubs: each compiles its own tasks' outputs, so each is orchestrator and
    // aggregator in one, and no aggregator stands apart.
    if (count(node_role::orchestrator) > 1)
      for (std::size_t i = 0; i < t.nodes.size(); ++i)
        if (t.nodes[i].has(node_role::orchestrator)
            != t.nodes[i].has(node_role::aggregator))
          fail(nodes[i], "node \"" + t.nodes[i].name + "\": with several orchestrators, "
                             + "each is a hub with the orchestrator and aggregator roles "
                               "together");
    auto keyed = std::count_if(t.nodes.begin(), t.nodes.end(),
                               [](auto& n) { return !n.key.empty(); });
    if (keyed > 0 && keyed < static_cast<long>(t.nodes.size()))
      for (std::size_t i = 0; i < t.nodes.size(); ++i)
        if (t.nodes[i].key.empty())
          fail(nodes[i], "node \"" + t.nodes[i].name
                             + "\": missing \"key\" (the other nodes list theirs)");
    return t;
  }

private:
  [[noreturn]] void fail(const YAML::Node& at, std::string what) const {
    throw bad_topology{at.Mark(), std::move(what)};
  }

  void expect_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap())
      fail(n, what + ": expected a mapping of keys to values");
  }

  void keys(const YAML::Node& map, std::set<std::string> allowed,
            const std::string& ctx) const {
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (!allowed.contains(key)) {
        std::string list;
        for (const auto& a : allowed)
          list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, ctx + "unknown key \"" + key + "\" (expected " + list + ")");
      }
    }
  }

  YAML::Node required(const YAML::Node& map, const std::string& key,
                      const std::string& ctx) const {
    auto n = map[key];
    if (!n || n.IsNull())
      fail(map, ctx + "missing \"" + key + "\"");
    return n;
  }

  std::string text(const YAML::Node& n, const std::string& ctx) const {
    if (!n.IsScalar() || n.Scalar().empty())
      fail(n, ctx + "expected a non-empty value");
    return n.Scalar();
  }

  uint32_t number(const YAML::Node& n, uint64_t low, uint64_t high) const {
    if (!n.IsScalar())
      fail(n, "expected a number");
    const auto& s = n.Scalar();
    uint64_t v = 0;
    if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), ::isdigit))
      fail(n, "\"" + s + "\" is not a whole number");
    v = std::stoull(s);
    if (v < low || v > high)
      fail(n, s + " is out of range (" + std::to_string(low) + " to " + std::to_string(high)
                  + ")");
    return static_cast<uint32_t>(v);
  }

  // A number from 0 to 1.
  double share(const YAML::Node& n) const {
    if (!n.IsScalar())
      fail(n, "expected a number from 0 to 1");
    const auto& s = n.Scalar();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= 0.0 && v <= 1.0))
      fail(n, "\"" + s + "\" is not a number from 0 to 1");
    return v;
  }

  std::string file(const YAML::Node& n) const {
    auto p = fs::path{text(n, "")};
    return (p.is_absolute() ? p : base_ / p).lexically_normal().string();
  }

  tls_files files(const YAML::Node& n, const std::string& ctx) const {
    expect_map(n, ctx);
    keys(n, {"cert", "key"}, ctx);
    return {file(required(n, "cert", ctx)), file(required(n, "key", ctx))};
  }

  node_spec node(const YAML::Node& n, bool tls) const {
    expect_map(n, "node");
    node_spec spec;
    spec.name = text(required(n, "name", "node: "), "node: name: ");
    auto ctx = "node \"" + spec.name + "\": ";
    if (!std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        }))
      fail(n["name"], ctx + "a name has only letters, digits, '-' and '_'");
    if (chain::browser_named(spec.name))
      fail(n["name"], ctx + "names that begin with \"browser-\" are the browser nodes'");
    keys(n,
         {"name", "host", "port", "roles", "resources", "data", "tls", "fault", "key",
          "web"},
         ctx);
    if (n["host"])
      spec.host = text(n["host"], ctx + "host: ");
    spec.port = static_cast<uint16_t>(number(required(n, "port", ctx), 1, 65535));
    auto roles = required(n, "roles", ctx);
    if (!roles.IsSequence() || roles.size() == 0)
      fail(roles, ctx + "roles: a list such as [worker, validator]");
    for (const auto& r : roles) {
      auto name = text(r, ctx + "roles: ");
      auto role = parse_role(name);
      if (!role)
        fail(r,
             ctx + "unknown role \"" + name
                 + "\" (expected orchestrator, worker, validator, aggregator or ledger)");
      if (spec.has(*role))
        fail(r, ctx + "role \"" + name + "\" is listed twice");
      spec.roles.push_back(*role);
    }
    if (auto res = n["resources"]) {
      expect_map(res, ctx + "resources");
      keys(res, {"threads", "device", "blob_cache_mib", "upload_grace_ms"},
           ctx + "resources: ");
      if (res["threads"])
        spec.threads = number(res["threads"], 1, 4096);
      if (res["blob_cache_mib"])
        spec.blob_cache = uint64_t{number(res["blob_cache_mib"], 1, 1 << 24)} << 20;
      if (res["upload_grace_ms"])
        spec.upload_grace =
            std::chrono::milliseconds{number(res["upload_grace_ms"], 0, 86'400'000)};
      if (res["device"]) {
        spec.device = text(res["device"], ctx + "device: ");
        auto& d = spec.device;
        bool ok = d == "auto" || d == "cpu" || d == "opencl"
                  || (d.starts_with("opencl:") && d.size() > 7
                      && std::all_of(d.begin() + 7, d.end(), ::isdigit));
        if (!ok)
          fail(res["device"],
               ctx + "unknown device \"" + d + "\" (expected auto, cpu or opencl[:N])");
      }
    }
    spec.data_dir = n["data"] ? file(n["data"]) : (base_ / "data" / spec.name).string();
    if (auto t = n["tls"]) {
      if (!tls)
        fail(t, ctx + "tls: the network has no top-level tls section with its CA");
      spec.tls = files(t, ctx + "tls: ");
    } else if (tls) {
      fail(n, ctx + "missing \"tls\" (cert and key), required when the network uses TLS");
    }
    if (auto k = n["key"]) {
      spec.key = text(k, ctx + "key: ");
      if (spec.key_is_file())
        spec.key = file(k); // relative to the topology file
    }
    if (auto w = n["web"]) {
      if (!spec.has(node_role::orchestrator))
        fail(w, ctx
                    + "web: only a hub (a node with the orchestrator role) serves the web "
                      "endpoint");
      spec.web_port = static_cast<uint16_t>(number(w, 1, 65535));
    }
    if (auto f = n["fault"]) {
      // Hubs: what they state falsely; workers: parse_worker_fault's choices; validators:
      // lie, or lie:RATE.
      auto what = text(f, ctx + "fault: ");
      if (spec.has(node_role::orchestrator)) {
        // A hub that records what it cannot prove, for the ledger nodes to refuse.
        static const std::set<std::string> faults{"inflate-units", "pay-self",
                                                  "overcharge"};
        for (std::size_t at = 0; at <= what.size();) {
          auto comma = std::min(what.find(',', at), what.size());
          auto one = what.substr(at, comma - at);
          if (!faults.contains(one))
            fail(f, ctx
                        + "fault: a hub's fault is inflate-units, pay-self or overcharge, "
                          "or a list of them (got \""
                        + one + "\")");
          spec.hub_faults.push_back(one);
          at = comma + 1;
        }
      } else if (spec.has(node_role::worker)) {
        auto fault = parse_worker_fault(what);
        if (!fault)
          fail(f, ctx + "fault: " + describe(fault.error()));
        else
          std::tie(spec.fault, spec.fault_rate) = *fault;
      } else if (spec.has(node_role::validator)) {
        auto rate = parse_lie(what);
        if (!rate)
          fail(f, ctx + "fault: " + describe(rate.error()));
        else
          spec.lie_rate = *rate;
      } else if (spec.has(node_role::ledger) && !spec.has(node_role::orchestrator)) {
        static const std::set<std::string> faults{"silent", "equivocate", "invalid-votes",
                                                  "pay-self", "drop-records"};
        if (!faults.contains(what))
          fail(f, ctx
                      + "fault: a ledger node's fault is silent, equivocate, "
                        "invalid-votes, pay-self or drop-records");
        else
          spec.ledger_fault = what;
      } else {
        fail(f, ctx + "only workers, validators, ledger nodes and hubs can have a fault");
      }
    }
    return spec;
  }

  std::string path_;
  fs::path base_;
};

error located(const std::string& path, const YAML::Mark& mark, const std::string& what) {
  std::string where = path;
  if (!mark.is_null())
    where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  return make_error(errc::invalid_input, where + ": " + what);
}

} // namespace

expected<topology> parse_topology(const std::string& text, const std::string& path) {
  try {
    auto root = YAML::Load(text);
    return loader{path}.load(root);
  } catch (const bad_topology& e) {
    return located(path, e.mark, e.what);
  } catch (const YAML::Exception& e) {
    return located(path, e.mark, e.msg);
  }
}

expected<chain::public_key> listed_key(const node_spec& spec) {
  if (!spec.key_is_file())
    return chain::public_key_from_hex(spec.key);
  std::ifstream in{spec.key};
  std::string hex;
  if (!in || !(in >> hex))
    return make_error(errc::not_found, "node \"" + spec.name
                                           + "\": cannot read its key file " + spec.key
                                           + " (nexus-node certs creates it)");
  auto key = chain::public_key_from_hex(hex);
  if (!key)
    return make_error(errc::invalid_input, spec.key + ": " + describe(key.error()));
  return key;
}

expected<std::vector<member>> members_of(const topology& t) {
  std::vector<member> out;
  for (const auto& n : t.nodes) {
    if (n.key.empty())
      continue;
    auto key = listed_key(n);
    if (!key)
      return key.error();
    out.push_back({n.name, *key, n.roles});
  }
  return out;
}

expected<topology> load_topology(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found, path + ": cannot open the topology file");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (buf.str().size() > (1u << 20))
    return make_error(errc::invalid_input, path + ": larger than 1 MiB; not a topology");
  return parse_topology(buf.str(), path);
}

} // namespace nexus
