// A submitter's handle on a network: submit tasks, follow them, fetch their outputs, ask
// the ledger. Blocking calls with time-outs, for threads that are not actors; one client
// per thread. Part of NexusChain's public API (actors/api/nexus.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/api/identity.hpp"
#include "actors/api/models.hpp"
#include "compute/errc.hpp"
#include "compute/tensor.hpp"
#include "messages/values.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace nexus::api {

class local_network;

class client {
public:
  using progress_fn = std::function<void(const task_report&)>;

  /// A client of the running network whose topology is at `topology_path` (its first hub
  /// that answers, reached with the topology's client certificate). A hub that is still
  /// starting is tried again for a few seconds. Requests then wait up to `timeout`. When
  /// its hub is lost, the client moves to another hub of the topology by itself, submits
  /// its unfinished tasks there again under their ids, and says so on standard error.
  static expected<std::unique_ptr<client>>
  connect(caf::actor_system& sys, const std::string& topology_path,
          std::chrono::milliseconds timeout = std::chrono::seconds{30});

  /// A client of the node at "HOST:PORT" alone (it does not move to another hub): over
  /// plain TCP, or with `tls_topology`, over that topology's TLS with its client
  /// certificate (configure the actor_system with settings_of(tls_topology) first).
  static expected<std::unique_ptr<client>>
  connect_to(caf::actor_system& sys, const std::string& host_port,
             const std::string& tls_topology = {},
             std::chrono::milliseconds timeout = std::chrono::seconds{30});

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Signs every submission as `who` (the ledger charges its account). Until then a client
  /// signs with a fresh key of its own, as account "key-" and 12 hex digits.
  void sign_as(const identity& who);

  /// The account its submissions are charged to.
  const std::string& account() const;

  /// Puts a tensor in the network once; the reference names it in later submissions.
  expected<blob_ref> upload(compute::tensor x);

  /// The product A * B (float32, A m x k, B k x n); `options` as in nexus-shell's
  /// `submit matmul` (shards, verify_rounds, tolerance, priority, timeout_s, budget,
  /// replicas).
  expected<task_ack> submit_matmul(compute::tensor a, compute::tensor b,
                                   task_request options = {});
  expected<task_ack> submit_matmul(const blob_ref& a, const blob_ref& b,
                                   task_request options = {});

  /// Class probabilities of the MLP `options.model.spec` (weights: 1 x parameters) for
  /// the samples `x` (N x features).
  expected<task_ack> submit_infer(compute::tensor weights, compute::tensor x,
                                  task_request options);

  /// A training run of `options.model.spec` on samples `x` (N x features) and labels `y`
  /// (N, in [0, classes)), settings in `options.train`; its output is the trained weights.
  expected<task_ack> submit_train(compute::tensor x, std::vector<int32_t> y,
                                  task_request options);

  /// The same from data sets (load_data), with a test set whose accuracy each epoch
  /// reports (none: null).
  expected<task_ack> submit_train(labelled_data train, std::optional<labelled_data> test,
                                  task_request options);

  expected<task_report> status(uint64_t task_id);

  /// Cancels a task this client submitted (only the key that signed a submission may):
  /// no more of its shards run, and what was validated stays paid and charged. The report
  /// afterwards; a task that had already finished keeps its state.
  expected<task_report> cancel(uint64_t task_id);

  expected<std::vector<task_report>> tasks();
  expected<std::vector<node_report>> nodes();
  expected<ledger_answer> ledger(const ledger_query& q);

  /// The output of a finished task.
  expected<compute::tensor> result(uint64_t task_id);

  /// Polls until the task finishes (or `limit` passes: errc::timeout), calling
  /// `progress` after every poll. Returns the final report.
  expected<task_report> wait(uint64_t task_id, const progress_fn& progress = {},
                             std::optional<std::chrono::milliseconds> limit = {});

private:
  friend class local_network;
  struct impl;
  explicit client(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

} // namespace nexus::api
