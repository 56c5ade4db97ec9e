// End to end through the actors of an embedded network: every message an envelope,
// every result verified, outputs compared with a direct Eigen product.
#include <catch2/catch.hpp>

#include <cstring>

#include <thread>

#include <caf/all.hpp>

#include "actors/runtime/client.hpp"
#include "actors/runtime/network.hpp"
#include "compute/gemm.hpp"
#include "compute/opencl/backend.hpp"
#include "test/support/embedded.hpp"

using namespace nexus;
using namespace nexus::test;
using namespace std::chrono_literals;

TEST_CASE("matmuls of odd, non-square shapes come back exact", "[actors][e2e]") {
  fixture f{{4, 2, 0, {}}};
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {3, 5, 7}, {257, 131, 67}, {700, 301, 45}}) {
    auto a = compute::random_tensor({std::size_t(m), std::size_t(k)}, m);
    auto b = compute::random_tensor({std::size_t(k), std::size_t(n)}, n);
    auto [report, c] = f.run(a, b);
    CHECK(report.state == task_state::done);
    CHECK(report.results_rejected == 0);
    REQUIRE(c.shape() == compute::shape_t{std::size_t(m), std::size_t(n)});
    CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-6);
  }
}

TEST_CASE("operands with the same values in other shapes are different blobs",
          "[actors][e2e]") {
  // A 300x1 and a 1x300 matrix of ones once had one id: the second hid the first.
  fixture f{{2, 1, 0, {}}};
  compute::tensor a{compute::shape_t{300, 1}, std::vector<float>(300, 1.0f)};
  compute::tensor b{compute::shape_t{1, 300}, std::vector<float>(300, 1.0f)};
  CHECK(blob_store::id_of(a) != blob_store::id_of(b));
  auto [report, c] = f.run(a, b);
  CHECK(report.state == task_state::done);
  REQUIRE(c.shape() == compute::shape_t{300, 300});
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) == 0);
}

TEST_CASE("faulty workers are caught and the product is still exact", "[actors][e2e]") {
  fixture f{{4, 2, 2, {}}};
  auto a = compute::random_tensor({517, 203}, 1);
  auto b = compute::random_tensor({203, 311}, 2);
  task_request opts;
  opts.shards = 12;
  auto [report, c] = f.run(a, b, opts);
  CHECK(report.state == task_state::done);
  CHECK(report.results_rejected > 0);
  CHECK(report.shards_reissued == report.results_rejected);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-6);
  auto nodes = f.api->nodes().value();
  for (const auto& n : nodes) {
    if (n.info.name.starts_with("faulty-worker"))
      CHECK(n.shards_done == 0);
    else if (n.info.role == node_role::worker)
      CHECK(n.shards_rejected == 0);
  }
}

TEST_CASE("with every worker faulty the task fails with a clear reason", "[actors][e2e]") {
  fixture f{{2, 1, 2, {}}};
  auto a = compute::random_tensor({64, 16}, 1);
  auto b = compute::random_tensor({16, 16}, 2);
  task_request opts;
  opts.shards = 2;
  auto [report, c] = f.run(a, b, opts);
  CHECK(report.state == task_state::failed);
  CHECK_THAT(report.reason, Catch::Contains("rejected"));
  auto res = f.api->result(report.task_id);
  REQUIRE_FALSE(res);
  CHECK_THAT(describe(res.error()), Catch::Contains("failed"));
}

TEST_CASE("several tasks at once all complete", "[actors][e2e]") {
  fixture f{{3, 2, 0, {}}};
  std::vector<std::pair<uint64_t, compute::tensor>> expected;
  for (int i = 0; i < 6; ++i) {
    auto a = compute::random_tensor({std::size_t(40 + i * 13), 33}, i);
    auto b = compute::random_tensor({33, std::size_t(20 + i)}, 100 + i);
    auto ack = f.api->submit_matmul(a, b);
    REQUIRE(ack);
    expected.emplace_back(ack->task_id, compute::multiply(a, b));
  }
  for (auto& [id, want] : expected) {
    auto report = f.api->wait(id, {}, 60s);
    REQUIRE(report);
    CHECK(report->state == task_state::done);
    auto got = f.api->result(id);
    REQUIRE(got);
    CHECK(compute::max_relative_difference(*got, want) < 1e-6);
  }
}

TEST_CASE("a submission with unfit operands is refused with both shapes", "[actors][e2e]") {
  fixture f{{1, 1, 0, {}}};
  auto ack = f.api->submit_matmul(compute::tensor{512, 300}, compute::tensor{200, 512});
  REQUIRE_FALSE(ack);
  CHECK(describe(ack.error()) == "A is 512x300 but B is 200x512 (inner dimensions differ)");
  // Small operands whose product would not fit: refused before any worker allocates it
  // (every worker died of bad_alloc before this check).
  auto huge = f.api->submit_matmul(compute::tensor{300000, 1}, compute::tensor{1, 300000});
  REQUIRE_FALSE(huge);
  CHECK(huge.error() == errc::exhausted);
  CHECK_THAT(describe(huge.error()), Catch::Contains("C = A * B would be 300000x300000"));
  auto status = f.api->status(99);
  REQUIRE_FALSE(status);
  CHECK(status.error() == errc::not_found);
}

TEST_CASE("a model trains across the workers and reports each epoch", "[actors][train]") {
  fixture f{embedded_options{4, 2}};
  auto train = leaning(2000, 12, 4, 1);
  auto test = leaning(400, 12, 4, 2);
  auto ack = f.api->submit_train(train, &test, training(3));
  REQUIRE(ack);
  CHECK(ack->shard_count == 3 * 32); // steps: ceil(2000 / 64) per epoch
  auto report = f.api->wait(ack->task_id, {}, 60s);
  REQUIRE(report);
  INFO(report->reason);
  REQUIRE(report->state == task_state::done);
  REQUIRE(report->epochs.size() == 3);
  CHECK(report->epochs.back().loss < report->epochs.front().loss);
  CHECK(report->epochs.back().test_accuracy > 0.97);
  CHECK_FALSE(report->loss_curve.empty());
  auto weights = f.api->result(ack->task_id);
  REQUIRE(weights);
  CHECK(weights->size() == 12 * 16 + 16 + 16 * 4 + 4);

  // The trained weights classify the test set through an inference task too.
  auto infer = f.api->submit_infer(*weights, test.x, [] {
    task_request r;
    r.model.spec = "mlp:12-16-4";
    r.model.sample_rate = 0.5;
    return r;
  }());
  REQUIRE(infer);
  auto done = f.api->wait(infer->task_id, {}, 60s);
  REQUIRE(done);
  REQUIRE(done->state == task_state::done);
  auto probs = f.api->result(infer->task_id);
  REQUIRE(probs);
  CHECK(probs->shape() == compute::shape_t{400, 4});
}

TEST_CASE("synchronous steps train as well as rounds of local steps", "[actors][train]") {
  fixture f{embedded_options{4, 2}};
  auto train = leaning(2000, 12, 4, 7);
  auto test = leaning(400, 12, 4, 8);
  std::vector<double> accuracy;
  for (uint32_t local_steps : {0u, 4u}) {
    auto req = training(3);
    req.train.batch = 128;
    req.model.micro_rows = 32; // four lanes (or micro-batches a step)
    req.train.local_steps = local_steps;
    auto ack = f.api->submit_train(train, &test, req);
    REQUIRE(ack);
    CHECK(ack->shard_count == 3 * 16); // steps either way: ceil(2000 / 128) per epoch
    auto report = f.api->wait(ack->task_id, {}, 60s);
    REQUIRE(report);
    INFO(local_steps << " local steps: " << report->reason);
    REQUIRE(report->state == task_state::done);
    CHECK(report->shards_validated == 3 * 16);
    CHECK(report->epochs.back().loss < report->epochs.front().loss);
    accuracy.push_back(report->epochs.back().test_accuracy);
  }
  CHECK(accuracy[0] > 0.97);
  CHECK(accuracy[1] > 0.97);
}

TEST_CASE("the same training run gives the same weights, bit for bit", "[actors][train]") {
  // Two runs of one request in one network: the workers, validators and aggregator
  // allocate their buffers at other addresses the second time, and shards may fall to
  // other workers. Neither may change a bit (the optimizer once did, by alignment).
  fixture f{embedded_options{4, 2}};
  auto train = leaning(2000, 12, 4, 11);
  std::vector<compute::tensor> weights;
  for (int run = 0; run < 2; ++run) {
    auto req = training(2);
    req.model.spec = "mlp:12-40-30-4"; // sizes that are no multiple of any vector width
    req.model.micro_rows = 32;
    req.train.batch = 128;
    req.train.local_steps = 4;
    auto ack = f.api->submit_train(train, nullptr, req);
    REQUIRE(ack);
    auto report = f.api->wait(ack->task_id, {}, 60s);
    REQUIRE(report);
    INFO(report->reason);
    REQUIRE(report->state == task_state::done);
    auto w = f.api->result(ack->task_id);
    REQUIRE(w);
    weights.push_back(std::move(*w));
  }
  REQUIRE(weights[0].size() == weights[1].size());
  CHECK(std::memcmp(weights[0].data(), weights[1].data(), weights[0].size() * sizeof(float))
        == 0);
}

TEST_CASE("a worker corrupting gradients is caught and training still converges",
          "[actors][train]") {
  embedded_options opts{4, 2};
  opts.faulty_workers = 1;
  fixture f{opts};
  auto train = leaning(2000, 12, 4, 3);
  auto test = leaning(400, 12, 4, 4);
  auto req = training(3);
  req.model.sample_rate = 1.0; // every micro-batch recomputed: each corruption is caught
  req.train.batch = 128;
  req.model.micro_rows = 32; // four micro-batches a step: every worker gets one
  req.train.local_steps = 4; // 12 rounds of four lanes: the faulty worker holds many
  auto ack = f.api->submit_train(train, &test, req);
  REQUIRE(ack);
  auto report = f.api->wait(ack->task_id, {}, 60s);
  REQUIRE(report);
  INFO(report->reason);
  REQUIRE(report->state == task_state::done);
  CHECK(report->results_rejected > 0);
  CHECK(report->epochs.back().test_accuracy > 0.97);
}

TEST_CASE("training requests with unfit data are refused clearly", "[actors][train]") {
  fixture f{embedded_options{2, 1}};
  auto train = leaning(100, 12, 4, 5);
  auto req = training(1);
  req.model.spec = "mlp:10-4";
  auto ack = f.api->submit_train(train, nullptr, req);
  REQUIRE_FALSE(ack);
  CHECK_THAT(describe(ack.error()), Catch::Contains("takes 10 features"));
  req = training(1);
  req.model.spec = "mlp:12-3"; // labels go up to 3
  ack = f.api->submit_train(train, nullptr, req);
  REQUIRE_FALSE(ack);
  CHECK_THAT(describe(ack.error()), Catch::Contains("classes 0 to 2"));
  req = training(1);
  req.train.optimizer = "rmsprop";
  ack = f.api->submit_train(train, nullptr, req);
  REQUIRE_FALSE(ack);
  CHECK_THAT(describe(ack.error()), Catch::Contains("unknown optimizer"));
}

TEST_CASE("a training run survives a worker lost in the middle", "[actors][train]") {
  fixture f{embedded_options{4, 2}};
  auto train = leaning(20000, 12, 4, 6);
  auto req = training(4);
  req.train.batch = 128;
  auto ack = f.api->submit_train(train, nullptr, req);
  REQUIRE(ack);
  // Once the first epoch is done, one worker goes away.
  for (int i = 0; i < 2000; ++i) {
    auto r = f.api->status(ack->task_id);
    REQUIRE(r);
    if (!r->epochs.empty() || r->finished())
      break;
    std::this_thread::sleep_for(5ms);
  }
  caf::anon_send_exit(f.net.workers.front(), caf::exit_reason::kill);
  auto report = f.api->wait(ack->task_id, {}, 120s);
  REQUIRE(report);
  INFO(report->reason);
  CHECK(report->state == task_state::done);
  CHECK(report->epochs.size() == 4);
  CHECK(report->epochs.back().train_accuracy > 0.97);
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  CHECK(std::count_if(nodes->begin(), nodes->end(),
                      [](const node_report& n) { return n.state == node_state::dead; })
        == 1);
}

TEST_CASE("workers on OpenCL and on the CPU share a task; a lost device falls back",
          "[actors][opencl-e2e]") {
  if (compute::opencl::list_devices().empty()) {
    WARN("skipped: no OpenCL device (install pocl-opencl-icd)");
    return;
  }
  embedded_options opts{4, 2};
  opts.device = "opencl:0,cpu";
  fixture f{opts};
  auto nodes = f.api->nodes();
  REQUIRE(nodes);
  std::size_t on_opencl = 0;
  for (const auto& n : *nodes)
    if (n.info.role == node_role::worker) {
      CHECK(n.info.gflops > 0); // measured when it started
      on_opencl += n.info.device.starts_with("opencl:");
    }
  CHECK(on_opencl == 2);
  auto a = compute::random_tensor({300, 129}, 1);
  auto b = compute::random_tensor({129, 77}, 2);
  task_request req;
  req.shards = 16;
  auto [report, c] = f.run(a, b, req);
  CHECK(report.state == task_state::done);
  CHECK(report.results_rejected == 0); // honest results from either device pass
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-5);

  // Every worker's device fails on its first product: the CPU takes over, results exact.
  embedded_options lost{2, 1};
  lost.device = "opencl:0";
  lost.faulty_workers = 2;
  lost.fault = worker_fault::device_lost;
  fixture g{lost};
  auto [report2, c2] = g.run(a, b, req);
  CHECK(report2.state == task_state::done);
  CHECK(compute::max_relative_difference(c2, compute::multiply(a, b)) < 1e-5);

  // Devices too small for the shards: each product runs on the CPU, the device stays.
  embedded_options full{2, 1};
  full.device = "opencl:0";
  full.faulty_workers = 2;
  full.fault = worker_fault::device_full;
  fixture h{full};
  auto [report3, c3] = h.run(a, b, req);
  CHECK(report3.state == task_state::done);
  CHECK(report3.results_rejected == 0);
  CHECK(compute::max_relative_difference(c3, compute::multiply(a, b)) < 1e-5);
  auto after = h.api->nodes();
  REQUIRE(after);
  for (const auto& n : *after)
    if (n.info.role == node_role::worker)
      CHECK(n.info.device.starts_with("opencl:"));
}

TEST_CASE("an unknown device is refused when the network starts", "[actors][opencl-e2e]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  embedded_options opts{1, 1};
  opts.device = "tpu";
  auto net = start_embedded(sys, opts);
  REQUIRE_FALSE(net);
  CHECK_THAT(describe(net.error()), Catch::Contains("unknown device 'tpu'"));
}

TEST_CASE("training steps computed on OpenCL pass the CPU validators' recomputation",
          "[actors][opencl-e2e]") {
  if (compute::opencl::list_devices().empty()) {
    WARN("skipped: no OpenCL device (install pocl-opencl-icd)");
    return;
  }
  embedded_options opts{2, 1};
  opts.device = "opencl:0"; // every worker on the OpenCL device
  fixture f{opts};
  auto train = leaning(1000, 12, 4, 7);
  auto req = training(2);
  req.train.batch = 64;
  req.model.sample_rate = 1.0; // every micro-batch recomputed on the CPU
  auto ack = f.api->submit_train(train, &train, req);
  REQUIRE(ack);
  auto report = f.api->wait(ack->task_id, {}, 120s);
  REQUIRE(report);
  INFO(report->reason);
  CHECK(report->state == task_state::done);
  CHECK(report->results_rejected == 0);
  REQUIRE(report->epochs.size() == 2);
  CHECK(report->epochs.back().test_accuracy > 0.9);
}
