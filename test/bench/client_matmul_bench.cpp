// The C++ side of the Python benchmark (python_bench.py): A * B (N x N float32) through
// the public API's client on an embedded network, submitted, waited for and fetched as a
// program would, RUNS times after one warm-up. Prints one line per run, "run SECONDS",
// then "median SECONDS".
//
// usage: client_matmul_bench N RUNS WORKERS VALIDATORS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/api/nexus.hpp"

using namespace nexus;

namespace {

compute::tensor random_matrix(std::size_t n, unsigned seed) {
  std::mt19937 gen{seed};
  std::uniform_real_distribution<float> u{0.0f, 1.0f};
  std::vector<float> v(n * n);
  for (auto& x : v)
    x = u(gen);
  return compute::tensor{compute::shape_t{n, n}, std::move(v)};
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: client_matmul_bench N RUNS WORKERS VALIDATORS\n");
    return 2;
  }
  auto n = static_cast<std::size_t>(std::atol(argv[1]));
  auto runs = std::atoi(argv[2]);
  api::local_options opts;
  opts.workers = static_cast<std::size_t>(std::atol(argv[3]));
  opts.validators = static_cast<std::size_t>(std::atol(argv[4]));
  caf::actor_system_config cfg;
  api::configure_local(cfg);
  caf::actor_system sys{cfg};
  auto net = api::local_network::start(sys, opts);
  if (!net) {
    std::fprintf(stderr, "client_matmul_bench: %s\n", describe(net.error()).c_str());
    return 1;
  }
  auto client = (*net)->connect();
  auto a = random_matrix(n, 1);
  auto b = random_matrix(n, 2);
  std::vector<double> times;
  for (int i = 0; i <= runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto ack = client->submit_matmul(a, b); // copies, as a caller keeping its operands
    if (!ack) {
      std::fprintf(stderr, "client_matmul_bench: %s\n", describe(ack.error()).c_str());
      return 1;
    }
    auto report = client->wait(ack->task_id);
    auto c = client->result(ack->task_id);
    if (!report || report->state != task_state::done || !c) {
      std::fprintf(stderr, "client_matmul_bench: task %llu did not finish\n",
                   static_cast<unsigned long long>(ack->task_id));
      return 1;
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (i > 0) { // the first warms the workers up
      times.push_back(took.count());
      std::printf("run %.4f\n", took.count());
    }
  }
  std::sort(times.begin(), times.end());
  std::printf("median %.4f\n", times[times.size() / 2]);
  client.reset();
  (*net)->stop();
  return 0;
}
