// An embedded network for tests, and data sets that train in a few epochs.
#pragma once

#include <chrono>
#include <memory>
#include <utility>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "actors/runtime/client.hpp"
#include "actors/runtime/network.hpp"
#include "compute/nn/dataset.hpp"
#include "compute/tensor.hpp"

namespace nexus::test {

using namespace std::chrono_literals;

struct fixture {
  explicit fixture(embedded_options opts)
      : sys(init(cfg)) {
    auto started = start_embedded(sys, opts);
    REQUIRE(started);
    net = std::move(*started);
    api = std::make_unique<client>(sys, net.orchestrator, net.store, 10s);
  }

  ~fixture() {
    api.reset();
    net.stop();
  }

  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    register_types(cfg);
    cfg.set("logger.console", caf::atom("none"));
    return cfg;
  }

  // Submits A * B, waits (bounded), and returns the final report and output.
  std::pair<task_report, compute::tensor>
  run(const compute::tensor& a, const compute::tensor& b, task_request opts = {}) {
    auto ack = api->submit_matmul(a, b, opts);
    REQUIRE(ack);
    auto report = api->wait(ack->task_id, {}, 60s);
    REQUIRE(report);
    compute::tensor out;
    if (report->state == task_state::done) {
      auto res = api->result(ack->task_id);
      REQUIRE(res);
      out = std::move(*res);
    }
    return {*report, out};
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  embedded_network net;
  std::unique_ptr<client> api;
};

// Samples whose class is the direction they lean towards: separable, and learned in a
// few epochs.
inline compute::nn::dataset leaning(std::size_t n, std::size_t features,
                                    std::size_t classes, uint64_t seed) {
  compute::nn::dataset d;
  d.classes = classes;
  d.x = compute::random_tensor({n, features}, seed);
  d.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    d.y[i] = static_cast<int32_t>(i % classes);
    for (std::size_t f = 0; f < features; ++f)
      d.x(i, f) *= 0.3f;
    d.x(i, static_cast<std::size_t>(d.y[i])) += 1.0f;
  }
  return d;
}

inline task_request training(uint32_t epochs) {
  task_request req;
  req.model.spec = "mlp:12-16-4";
  req.train.epochs = epochs;
  req.train.batch = 64;
  req.train.lr = 1e-2;
  req.label = "test run";
  return req;
}

} // namespace nexus::test
