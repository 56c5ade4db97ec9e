// Across processes on loopback, with mutual TLS: a hub (orchestrator + aggregator), three
// worker processes and two validator processes.
//
// 1. A SIZE^3 float32 matmul through the network (operands uploaded once to the hub and
//    fetched once by each node that needs them) against a direct Eigen + oneTBB product in
//    this process. Target: ratio at most 1.5. Timed three ways: the first run (operands
//    hashed, uploaded, fetched by the nodes); operands in the network, handed over as
//    tensors (the submitter hashes them again to name them, as nexus-shell does with the
//    files it loads); and operands in the network named by reference (client::upload's,
//    as when a stored data set is used again).
// 2. Small-shard throughput, validation included: a SHARDS-row matmul of 16x16 blocks in
//    one-row shards. Target: at least 10,000 shards/s. Peer: Dask distributed with 2
//    worker processes running trivial tasks (test/bench/dask_peer.py), in the same run.
//
// usage: cluster_bench NEXUS_NODE_BINARY [SIZE] [SHARDS] [DASK_PEER_SCRIPT] [tls|plain]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <unistd.h>

#include "compute/gemm.hpp"
#include "test/support/cluster.hpp"

using namespace nexus;
using clock_type_ = std::chrono::steady_clock;

namespace {

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f)
    return 0;
  char buf[1024] = {};
  auto n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const char* p = std::strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  if (!p
      || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime)
             != 2)
    return 0;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double since(clock_type_::time_point start) {
  return std::chrono::duration<double>(clock_type_::now() - start).count();
}

// The operands of a task: tensors to put in the network, or references to blobs in it.
struct operands {
  const compute::tensor* a = nullptr;
  const compute::tensor* b = nullptr;
  std::optional<blob_ref> a_ref, b_ref;
};

// Submits A*B, waits, fetches; returns the seconds it took, or a negative number.
double run_task(client& api, const operands& x, uint32_t shards,
                const compute::tensor* expected) {
  std::optional<compute::tensor> a_copy, b_copy;
  if (!x.a_ref) {
    a_copy = *x.a;
    b_copy = *x.b;
  }
  task_request req;
  req.shards = shards;
  auto start = clock_type_::now();
  auto ack = x.a_ref ? api.submit_matmul(*x.a_ref, *x.b_ref, req)
                     : api.submit_matmul(std::move(*a_copy), std::move(*b_copy), req);
  if (!ack) {
    std::fprintf(stderr, "submit failed: %s\n", describe(ack.error()).c_str());
    return -1;
  }
  auto submitted = since(start);
  auto report =
      api.wait(ack->task_id, {}, std::chrono::minutes{10}, std::chrono::milliseconds{2});
  auto done = since(start);
  auto out = api.result(ack->task_id);
  auto t = since(start);
  if (shards == 0)
    std::printf("  submitted %.3f s, done %.3f s, fetched %.3f s\n", submitted, done, t);
  if (!report || report->state != task_state::done || !out) {
    std::fprintf(stderr, "task failed\n");
    return -1;
  }
  if (expected && compute::max_relative_difference(*out, *expected) > 1e-5) {
    std::fprintf(stderr, "output differs from the direct product\n");
    return -1;
  }
  return t;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cluster_bench NEXUS_NODE [SIZE] [SHARDS] [DASK_PEER]\n");
    return 2;
  }
  std::string node_binary = argv[1];
  std::size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4096;
  uint32_t small_shards = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 20000;
  std::string peer = argc > 4 ? argv[4] : "";
  bool tls = argc <= 5 || std::string{argv[5]} != "plain";

  test::temp_dir dir;
  auto file = test::write_topology(dir, "bench.yaml", node_binary,
                                   {{"hub", "orchestrator, aggregator"},
                                    {"w1", "worker"},
                                    {"w2", "worker"},
                                    {"w3", "worker"},
                                    {"v1", "validator"},
                                    {"v2", "validator"}},
                                   64, tls);
  if (!file) {
    std::fprintf(stderr, "cannot create the topology's certificates\n");
    return 1;
  }
  auto topo = load_topology(*file);
  if (!topo) {
    std::fprintf(stderr, "%s\n", describe(topo.error()).c_str());
    return 1;
  }
  std::vector<std::unique_ptr<test::process>> nodes;
  for (auto name : {"hub", "w1", "w2", "w3", "v1", "v2"})
    nodes.push_back(test::start_node(node_binary, dir, *file, name));
  test::submitter s{*topo};
  if (!s.api || !s.wait_nodes(3, 2)) {
    std::fprintf(stderr, "the network did not come up\n");
    return 1;
  }

  // 1. Big matmul.
  auto a = compute::random_tensor({n, n}, 1);
  auto b = compute::random_tensor({n, n}, 2);
  compute::tensor expected;
  double direct = 1e30;
  for (int i = 0; i < 2; ++i) {
    auto start = clock_type_::now();
    expected = compute::multiply(a, b);
    direct = std::min(direct, since(start));
  }
  // Runs 0 and 1 hand over tensors (0 uploads them), runs 2 and 3 name them by reference.
  operands by_value{&a, &b, {}, {}};
  operands by_ref = by_value;
  double in_memory = 1e30;
  double network = 1e30;
  const char* names[] = {"hub", "w1", "w2", "w3", "v1", "v2"};
  for (int i = 0; i < 4; ++i) {
    if (i == 2) {
      by_ref.a_ref = s.api->upload(a).value(); // hashed here, already in the network
      by_ref.b_ref = s.api->upload(b).value();
    }
    std::vector<double> cpu_before;
    for (auto& p : nodes)
      cpu_before.push_back(cpu_seconds(p->pid()));
    auto self_before = cpu_seconds(getpid());
    auto t = run_task(*s.api, i < 2 ? by_value : by_ref, 0, &expected);
    if (t < 0)
      return 1;
    std::printf("  run %d: %.3f s%s\n", i, t,
                i == 0   ? " (operands uploaded and fetched)"
                : i == 1 ? " (operands in the network, handed over as tensors)"
                         : " (operands in the network, named by reference)");
    std::printf("    CPU seconds:");
    for (std::size_t k = 0; k < nodes.size(); ++k)
      std::printf(" %s %.2f", names[k], cpu_seconds(nodes[k]->pid()) - cpu_before[k]);
    std::printf(" submitter %.2f\n", cpu_seconds(getpid()) - self_before);
    if (i == 1)
      in_memory = t;
    if (i >= 2)
      network = std::min(network, t);
  }
  // What the scheduler knew of each worker: its calibrated speed sets its window.
  if (auto list = s.api->nodes()) {
    std::printf("  workers:");
    for (const auto& r : *list)
      if (r.info.role == node_role::worker)
        std::printf(" %s %.0f GFLOP/s window %u done %u;", r.info.name.c_str(),
                    r.info.gflops, r.window, r.shards_done);
    std::printf("\n");
  }
  auto flops = compute::gemm_flops(n, n, n);
  std::printf("matmul %zux%zux%zu across processes (3 workers, 2 validators, %s)\n", n, n,
              n, tls ? "mutual TLS" : "plain TCP");
  std::printf("  direct Eigen+oneTBB product: %8.3f s  %7.1f GFLOP/s\n", direct,
              flops / direct / 1e9);
  std::printf("  network, operands as tensors: %8.3f s  %7.1f GFLOP/s  (ratio %.2f: the "
              "submitter hashes 2 x %zu MiB to name them)\n",
              in_memory, flops / in_memory / 1e9, in_memory / direct, n * n * 4 >> 20);
  std::printf("  network, by reference, best of 2: %8.3f s  %7.1f GFLOP/s\n", network,
              flops / network / 1e9);
  std::printf("  ratio network/direct: %.2f (target <= 1.5)\n", network / direct);

  // 2. Small shards.
  auto sa = compute::random_tensor({small_shards, 16}, 3);
  auto sb = compute::random_tensor({16, 16}, 4);
  auto small_expected = compute::multiply(sa, sb);
  double best = 1e30;
  for (int i = 0; i < 2; ++i) {
    auto t = run_task(*s.api, {&sa, &sb, {}, {}}, small_shards, &small_expected);
    if (t < 0)
      return 1;
    best = std::min(best, t);
  }
  double rate = small_shards / best;
  std::printf("small shards: %u one-row shards (16x16), computed and validated across "
              "processes\n",
              small_shards);
  std::printf("  %.3f s, %.0f shards/s (target >= 10000)\n", best, rate);
  if (!peer.empty()) {
    auto cmd = "/usr/bin/python3 " + peer + " 3000 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    char line[256] = {};
    double dask = 0;
    while (p && std::fgets(line, sizeof(line), p))
      std::sscanf(line, "dask tasks/s: %lf", &dask);
    if (p)
      pclose(p);
    if (dask > 0)
      std::printf("  Dask distributed (2 worker processes), same machine: %.0f tasks/s; "
                  "ratio %.1fx\n",
                  dask, rate / dask);
    else
      std::printf(
          "  Dask distributed: unavailable (apt-get install python3-distributed)\n");
  }
  for (auto& p : nodes)
    p->signal(SIGTERM);
  for (auto& p : nodes)
    p->wait_for(std::chrono::seconds{10});
  return 0;
}
