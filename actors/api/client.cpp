#include "actors/api/client.hpp"

#include <cstdio>

#include "actors/api/detail.hpp"
#include "actors/runtime/remote.hpp"

namespace nexus::api {

client::client(std::unique_ptr<impl> x)
    : impl_(std::move(x)) {}

client::~client() = default;

expected<std::unique_ptr<client>> client::connect(caf::actor_system& sys,
                                                  const std::string& topology_path,
                                                  std::chrono::milliseconds timeout) {
  auto hubs = hubs_of(topology_path);
  if (!hubs)
    return hubs.error();
  auto c = attach_any(
      sys, std::move(*hubs),
      [](const std::string& line) { std::fprintf(stderr, "nexus: %s\n", line.c_str()); },
      timeout);
  if (!c)
    return c.error();
  return std::unique_ptr<client>{new client{std::make_unique<impl>(std::move(*c))}};
}

expected<std::unique_ptr<client>> client::connect_to(caf::actor_system& sys,
                                                     const std::string& host_port,
                                                     const std::string& tls_topology,
                                                     std::chrono::milliseconds timeout) {
  hub_address base;
  if (!tls_topology.empty()) {
    auto hub = hub_of(tls_topology);
    if (!hub)
      return hub.error();
    base = std::move(*hub);
    base.name.clear();
    base.key.reset(); // another node's key: this one is not known
  }
  auto where = hub_at(host_port, std::move(base));
  if (!where)
    return where.error();
  auto c = attach(
      sys, *where,
      [](const std::string& line) { std::fprintf(stderr, "nexus: %s\n", line.c_str()); },
      timeout);
  if (!c)
    return c.error();
  return std::unique_ptr<client>{new client{std::make_unique<impl>(std::move(*c))}};
}

void client::sign_as(const identity& who) {
  impl_->c->sign_as(who.name(), who.internals().key);
}

const std::string& client::account() const {
  return impl_->c->account();
}

expected<blob_ref> client::upload(compute::tensor x) {
  return impl_->c->upload(std::move(x));
}

expected<task_ack> client::submit_matmul(compute::tensor a, compute::tensor b,
                                         task_request options) {
  return impl_->c->submit_matmul(std::move(a), std::move(b), std::move(options));
}

expected<task_ack> client::submit_matmul(const blob_ref& a, const blob_ref& b,
                                         task_request options) {
  return impl_->c->submit_matmul(a, b, std::move(options));
}

expected<task_ack> client::submit_infer(compute::tensor weights, compute::tensor x,
                                        task_request options) {
  return impl_->c->submit_infer(std::move(weights), std::move(x), std::move(options));
}

expected<task_ack> client::submit_train(compute::tensor x, std::vector<int32_t> y,
                                        task_request options) {
  return submit_train(
      labelled_data{.name = "samples", .x = std::move(x), .y = std::move(y)}, std::nullopt,
      std::move(options));
}

expected<task_ack> client::submit_train(labelled_data train,
                                        std::optional<labelled_data> test,
                                        task_request options) {
  // Checked here, for every caller: one label per sample, none below 0. The samples move
  // into the runtime's data set: a training set can be hundreds of MiB.
  auto checked = [](labelled_data& d, const char* what) -> expected<compute::nn::dataset> {
    if (d.x.shape().size() != 2 || d.x.rows() != d.y.size())
      return make_error(errc::invalid_input, std::string{what}
                                                 + " needs one label per sample: samples "
                                                 + compute::to_string(d.x.shape()) + ", "
                                                 + std::to_string(d.y.size()) + " labels");
    compute::nn::dataset x{.name = std::move(d.name),
                           .x = std::move(d.x),
                           .y = std::move(d.y),
                           .classes = d.classes};
    for (auto label : x.y) {
      if (label < 0)
        return make_error(errc::invalid_input, std::string{what} + " has a label below 0");
      x.classes = std::max(x.classes, static_cast<std::size_t>(label) + 1);
    }
    x.input_mean = d.input_mean;
    x.input_std = d.input_std;
    return x;
  };
  auto t = checked(train, "training");
  if (!t)
    return t.error();
  std::optional<compute::nn::dataset> tested;
  if (test) {
    auto x = checked(*test, "the test set");
    if (!x)
      return x.error();
    tested = std::move(*x);
  }
  return impl_->c->submit_train(*t, tested ? &*tested : nullptr, std::move(options));
}

expected<task_report> client::status(uint64_t task_id) {
  return impl_->c->status(task_id);
}

expected<task_report> client::cancel(uint64_t task_id) {
  return impl_->c->cancel(task_id);
}

expected<std::vector<task_report>> client::tasks() {
  return impl_->c->tasks();
}

expected<std::vector<node_report>> client::nodes() {
  return impl_->c->nodes();
}

expected<ledger_answer> client::ledger(const ledger_query& q) {
  return impl_->c->ledger(q);
}

expected<compute::tensor> client::result(uint64_t task_id) {
  return impl_->c->result(task_id);
}

expected<task_report> client::wait(uint64_t task_id, const progress_fn& progress,
                                   std::optional<std::chrono::milliseconds> limit) {
  return impl_->c->wait(task_id, progress, limit);
}

} // namespace nexus::api
