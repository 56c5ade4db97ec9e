// The YAML topology loader: the shipped config/local.yaml, and one clear error with file,
// line and column for each kind of mistake.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/topology.hpp"

using namespace nexus;

namespace {

constexpr const char* valid = R"(network: t
nodes:
  - name: hub
    port: 5000
    roles: [orchestrator, aggregator]
  - name: w1
    port: 5001
    roles: [worker, validator]
    resources: {threads: 2, device: opencl:1}
)";

std::string error_of(const std::string& text) {
  auto t = parse_topology(text, "t.yaml");
  REQUIRE_FALSE(t);
  return describe(t.error());
}

} // namespace

TEST_CASE("config/local.yaml loads", "[topology]") {
  const char* root = std::getenv("NEXUS_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  auto t = load_topology(std::string{root} + "/config/local.yaml");
  REQUIRE(t);
  CHECK(t->tls);
  CHECK(t->nodes.size() == 9);
  CHECK(std::count_if(t->nodes.begin(), t->nodes.end(),
                      [](const node_spec& n) { return n.has(node_role::ledger); })
        == 4);
  CHECK(t->orchestrator().name == "hub");
  CHECK(t->heartbeat.timeout == std::chrono::milliseconds{2000});
  CHECK(t->rules.micro_mcc_per_work_unit == 1000);
  CHECK(t->nodes[0].has(node_role::ledger));
  const auto* w1 = t->find("w1");
  REQUIRE(w1 != nullptr);
  CHECK(w1->has(node_role::worker));
  CHECK(w1->tls.cert.ends_with("config/certs/w1.pem"));
  CHECK(t->orchestrator().web_port == 47180);
  CHECK(w1->web_port == 0);
}

TEST_CASE("a valid topology gives every field", "[topology]") {
  auto t = parse_topology(valid, "dir/t.yaml");
  REQUIRE(t);
  CHECK_FALSE(t->tls);
  REQUIRE(t->nodes.size() == 2);
  CHECK(t->nodes[1].host == "127.0.0.1");
  CHECK(t->nodes[1].device == "opencl:1");
  CHECK(t->nodes[1].threads == 2);
  CHECK(t->nodes[1].has(node_role::validator));
  CHECK(t->nodes[1].data_dir == "dir/data/w1");
}

TEST_CASE("topology errors name the file, line and column", "[topology]") {
  std::string text = valid;
  SECTION("unknown role") {
    text.replace(text.find("[worker, validator]"), 19, "[worker, wroker]");
    CHECK(error_of(text)
          == "t.yaml:8:21: node \"w1\": unknown role \"wroker\" (expected "
             "orchestrator, worker, validator, aggregator or ledger)");
  }
  SECTION("unknown key") {
    text.replace(text.find("port: 5001"), 10, "prot: 5001");
    CHECK_THAT(error_of(text),
               Catch::StartsWith("t.yaml:7:5: node \"w1\": unknown key \"prot\""));
  }
  SECTION("port out of range") {
    text.replace(text.find("5001"), 4, "70000");
    CHECK_THAT(error_of(text), Catch::StartsWith("t.yaml:7:11: 70000 is out of range"));
  }
  SECTION("taken endpoint") {
    text.replace(text.find("5001"), 4, "5000");
    CHECK_THAT(error_of(text), Catch::Contains("127.0.0.1:5000 is taken by node \"hub\""));
  }
  SECTION("duplicate name") {
    text.replace(text.find("name: w1"), 8, "name: hub");
    CHECK_THAT(error_of(text), Catch::Contains("node \"hub\" is defined twice"));
  }
  SECTION("no orchestrator") {
    text.replace(text.find("orchestrator, "), 14, "");
    CHECK_THAT(error_of(text), Catch::Contains("no node has the orchestrator role"));
  }
  SECTION("several hubs") {
    text += "  - name: hub2\n    port: 5002\n    roles: [orchestrator, aggregator]\n";
    auto t = parse_topology(text, "t.yaml");
    REQUIRE(t);
    REQUIRE(t->hubs().size() == 2);
    CHECK(t->hubs()[1]->name == "hub2");
    CHECK(t->orchestrator().name == "hub");
    text += "  - name: agg\n    port: 5003\n    roles: [aggregator]\n";
    CHECK_THAT(error_of(text), Catch::Contains("node \"agg\": with several orchestrators"));
  }
  SECTION("bad device") {
    text.replace(text.find("opencl:1"), 8, "tpu");
    CHECK_THAT(error_of(text), Catch::Contains("unknown device \"tpu\""));
  }
  SECTION("node certificates without a CA") {
    text += "    tls: {cert: a.pem, key: a.key}\n";
    CHECK_THAT(error_of(text), Catch::Contains("no top-level tls section"));
  }
  SECTION("TLS without a node's certificate") {
    text = "tls: {ca: ca.pem}\n" + text;
    CHECK_THAT(error_of(text), Catch::Contains("node \"hub\": missing \"tls\""));
  }
  SECTION("malformed YAML") {
    text += "  - name: [unclosed\n";
    CHECK_THAT(error_of(text),
               Catch::StartsWith("t.yaml:11:1: end of sequence flow not found"));
  }
  SECTION("not a mapping") {
    CHECK_THAT(error_of("- a\n- b\n"), Catch::Contains("expected a mapping"));
  }
  SECTION("a share out of range") {
    text = "scheduler: {check_floor: 1.5}\n" + text;
    CHECK_THAT(error_of(text), Catch::Contains("\"1.5\" is not a number from 0 to 1"));
  }
  SECTION("a web port on a node that is no hub") {
    text += "    web: 8080\n";
    CHECK_THAT(error_of(text), Catch::Contains("only a hub"));
  }
  SECTION("a browser node's name") {
    text.replace(text.find("name: w1"), 8, "name: browser-0123456789abcdef");
    CHECK_THAT(error_of(text), Catch::Contains("are the browser nodes'"));
  }
  SECTION("a fault a worker cannot have") {
    text += "    fault: corupt\n";
    CHECK_THAT(error_of(text), Catch::Contains("unknown fault 'corupt'"));
  }
}

TEST_CASE("the topology sets how workers and validators are trusted, and their faults",
          "[topology]") {
  std::string text =
      std::string{"scheduler: {trust_after: 5, check_floor: 1, audit_rate: 0.25,"
                  " max_queued: 50, outputs_in_memory_mib: 3}\n"}
      + valid + "    fault: corrupt:0.3\n";
  auto t = parse_topology(text, "t.yaml");
  REQUIRE(t);
  CHECK(t->limits.trust_after == 5);
  CHECK(t->limits.check_floor == 1.0);
  CHECK(t->limits.audit_rate == 0.25);
  CHECK(t->limits.max_queued_tasks == 50);
  CHECK(t->limits.outputs_in_memory == 3 << 20);
  CHECK(t->nodes[1].fault == worker_fault::corrupt);
  CHECK(t->nodes[1].fault_rate == Approx(0.3));
}

TEST_CASE("a missing topology file is a clear error", "[topology]") {
  auto t = load_topology("/nonexistent/net.yaml");
  REQUIRE_FALSE(t);
  CHECK(describe(t.error()) == "/nonexistent/net.yaml: cannot open the topology file");
}
