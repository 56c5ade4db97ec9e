#include "actors/web/server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include <caf/all.hpp>
#include <civetweb.h>

#include "actors/web/assets.hpp"
#include "actors/web/browser_worker.hpp"
#include "messages/web_frames.hpp"

namespace nexus::web {

namespace {

using clock = std::chrono::steady_clock;

// A line in the hub's log, at once (stdout is a pipe under nexus-node and in tests).
void log_line(const std::string& line) {
  std::fputs(("web: " + line + "\n").c_str(), stdout);
  std::fflush(stdout);
}
using feed_atom = caf::atom_constant<caf::atom("webfeed")>;

// A WebSocket as CivetWeb's threads and the actors share it. CivetWeb frees the
// connection once its close handler returns, so every use of `conn` holds `mutex` and
// checks that the handler has not cleared it.
class socket_link final : public browser_socket {
public:
  socket_link(mg_connection* conn, std::string address)
      : conn_(conn)
      , address_(std::move(address)) {}

  bool send(std::span<const uint8_t> frame) override {
    std::lock_guard lock{mutex_};
    if (!conn_)
      return false;
    return mg_websocket_write(conn_, MG_WEBSOCKET_OPCODE_BINARY,
                              reinterpret_cast<const char*>(frame.data()), frame.size())
           > 0;
  }

  void close(uint16_t code, const std::string& reason) override {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    payload += reason.substr(0, 120); // a control frame holds at most 125 bytes
    std::lock_guard lock{mutex_};
    if (conn_)
      mg_websocket_write(conn_, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload.data(),
                         payload.size());
  }

  void pong(const char* data, std::size_t size) {
    std::lock_guard lock{mutex_};
    if (conn_)
      mg_websocket_write(conn_, MG_WEBSOCKET_OPCODE_PONG, data, size);
  }

  const std::string& address() const override {
    return address_;
  }

  // CivetWeb's close handler: nothing may touch the connection after this.
  void detach() {
    std::lock_guard lock{mutex_};
    conn_ = nullptr;
  }

  std::vector<uint8_t> partial; // a message arriving in fragments (CivetWeb's thread)
  bool dropping = false;        // the rest of an oversized message is ignored
  bool worker = false;
  caf::actor actor; // the browser worker, for worker sockets

private:
  std::mutex mutex_;
  mg_connection* conn_;
  std::string address_;
};

// The dashboard's latest frames, and the sockets that watch them.
struct feed_board {
  std::mutex mutex;
  std::set<std::shared_ptr<socket_link>> watchers;
  std::map<frame, std::vector<uint8_t>> latest;

  void publish(frame kind, std::span<const uint8_t> bytes) {
    auto out = frame_of(kind, bytes);
    std::lock_guard lock{mutex};
    for (const auto& w : watchers)
      w->send(out);
    latest[kind] = std::move(out);
  }

  void watch(const std::shared_ptr<socket_link>& w) {
    std::lock_guard lock{mutex};
    for (const auto& [kind, bytes] : latest)
      w->send(bytes);
    watchers.insert(w);
  }

  void forget(const std::shared_ptr<socket_link>& w) {
    std::lock_guard lock{mutex};
    watchers.erase(w);
  }
};

// Asks the orchestrator for the dashboard's state: nodes and tasks every second, balances
// and the latest blocks every two, the chain's audit every ten.
caf::behavior feed(caf::event_based_actor* self, orchestrator_actor orchestrator,
                   std::shared_ptr<feed_board> board) {
  auto ask_ledger = [=](ledger_query q, frame kind) {
    self->request(orchestrator, std::chrono::seconds{20}, ledger_atom::value,
                  wire::encode(q))
        .then([=](const wire::ledger_answer& a) { board->publish(kind, a.bytes()); },
              [](const caf::error&) {});
  };
  auto round = std::make_shared<uint64_t>(0);
  self->send(self, feed_atom::value);
  return {
      [=](feed_atom) {
        self->request(orchestrator, std::chrono::seconds{5}, nodes_atom::value)
            .then(
                [=](const wire::node_reports& r) {
                  board->publish(frame::nodes, r.bytes());
                },
                [](const caf::error&) {});
        self->request(orchestrator, std::chrono::seconds{5}, tasks_atom::value)
            .then(
                [=](const wire::task_reports& r) {
                  board->publish(frame::tasks, r.bytes());
                },
                [](const caf::error&) {});
        if (*round % 2 == 0) {
          ask_ledger({.question = ledger_question::balance}, frame::balances);
          ask_ledger({.question = ledger_question::tail, .count = 8}, frame::blocks);
        }
        if (*round % 10 == 0)
          ask_ledger({.question = ledger_question::verify}, frame::audit);
        ++*round;
        self->delayed_send(self, std::chrono::seconds{1}, feed_atom::value);
      },
  };
}

std::string_view type_of(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.ends_with(s); };
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".wasm"))
    return "application/wasm";
  return "application/octet-stream";
}

} // namespace

struct endpoint::impl {
  caf::actor_system* sys = nullptr;
  orchestrator_actor orchestrator;
  std::shared_ptr<blob_store> store;
  web_options options;
  std::shared_ptr<feed_board> board = std::make_shared<feed_board>();
  caf::actor feeder;
  mg_context* ctx = nullptr;
  uint16_t port = 0;

  std::mutex mutex; // guards what follows
  std::size_t open = 0;
  std::map<std::string, std::size_t> workers_at; // address -> worker sockets
  std::map<std::string, std::deque<clock::time_point>> joins_at; // address -> recent opens

  // Why a worker socket from `address` may not open now, or empty; counts it if it may.
  std::string admit_worker(const std::string& address) {
    std::lock_guard lock{mutex};
    auto now = clock::now();
    auto& times = joins_at[address];
    while (!times.empty() && now - times.front() > std::chrono::minutes{1})
      times.pop_front();
    if (workers_at[address] >= options.workers_per_address)
      return "too many browser workers from " + address + " at once (the limit is "
             + std::to_string(options.workers_per_address) + ")";
    if (times.size() >= options.joins_per_minute)
      return "too many joins from " + address + " in a minute (the limit is "
             + std::to_string(options.joins_per_minute) + ")";
    times.push_back(now);
    ++workers_at[address];
    return {};
  }

  void worker_left(const std::string& address) {
    std::lock_guard lock{mutex};
    if (auto i = workers_at.find(address); i != workers_at.end() && --i->second == 0)
      workers_at.erase(i);
  }
};

namespace {

using impl = endpoint::impl;

int serve_asset(mg_connection* conn, void*) {
  const auto* info = mg_get_request_info(conn);
  std::string_view path = info->local_uri ? info->local_uri : "/";
  if (path == "/")
    path = "/index.html";
  for (const auto& a : assets()) {
    if (a.path != path)
      continue;
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
              "Connection: close\r\n\r\n",
              static_cast<int>(type_of(path).size()), type_of(path).data(), a.bytes.size());
    if (std::string_view{info->request_method} != "HEAD")
      mg_write(conn, a.bytes.data(), a.bytes.size());
    return 200;
  }
  mg_send_http_error(conn, 404, "%s", "Not found");
  return 404;
}

std::string address_of(const mg_connection* conn) {
  const auto* info = mg_get_request_info(conn);
  return info && info->remote_addr[0] ? info->remote_addr : "unknown";
}

int on_connect(const mg_connection* conn, void* data) {
  auto* self = static_cast<impl*>(data);
  std::lock_guard lock{self->mutex};
  if (self->open >= self->options.max_connections)
    return 1; // refused before the handshake: CivetWeb answers with an HTTP error
  ++self->open;
  return 0;
}

template <bool Worker>
void on_ready(mg_connection* conn, void* data) {
  auto* self = static_cast<impl*>(data);
  auto link = std::make_shared<socket_link>(conn, address_of(conn));
  link->worker = Worker;
  mg_set_user_connection_data(conn, new std::shared_ptr<socket_link>(link));
  if constexpr (Worker) {
    if (auto why = self->admit_worker(link->address()); !why.empty()) {
      log_line("refused a browser worker at " + link->address() + ": " + why
               + " (closing with " + std::to_string(policy) + ")");
      link->worker = false; // not counted
      link->close(policy, why);
      return;
    }
    link->actor = caf::actor_cast<caf::actor>(
        spawn_browser_worker(*self->sys, link, self->orchestrator, self->store));
  } else {
    self->board->watch(link);
  }
}

template <bool Worker>
int on_data(mg_connection* conn, int bits, char* bytes, std::size_t size, void*) {
  auto* holder =
      static_cast<std::shared_ptr<socket_link>*>(mg_get_user_connection_data(conn));
  if (!holder)
    return 0;
  auto& link = **holder;
  int opcode = bits & 0x0f;
  bool fin = (bits & 0x80) != 0;
  switch (opcode) {
  case MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE:
    return 0;
  case MG_WEBSOCKET_OPCODE_PING:
    link.pong(bytes, size);
    return 1;
  case MG_WEBSOCKET_OPCODE_PONG:
    return 1;
  case MG_WEBSOCKET_OPCODE_TEXT:
    log_line(link.address() + " sent a text frame (closing with "
             + std::to_string(unsupported) + ")");
    link.close(unsupported, "frames are binary Cap'n Proto messages");
    return 1;
  default:
    break;
  }
  if (!Worker || !link.actor)
    return 1; // a dashboard only listens
  if (link.partial.size() + size > max_browser_frame) {
    log_line(link.address() + " sent a message above " + std::to_string(max_browser_frame)
             + " bytes (closing with " + std::to_string(too_big) + ")");
    link.partial.clear();
    link.close(too_big, "a message above " + std::to_string(max_browser_frame) + " bytes");
    return 1;
  }
  link.partial.insert(link.partial.end(), bytes, bytes + size);
  if (fin) {
    caf::anon_send(link.actor, frame_atom::value, std::move(link.partial));
    link.partial = {};
  }
  return 1;
}

template <bool Worker>
void on_close(const mg_connection* conn, void* data) {
  auto* self = static_cast<impl*>(data);
  auto* holder =
      static_cast<std::shared_ptr<socket_link>*>(mg_get_user_connection_data(conn));
  {
    std::lock_guard lock{self->mutex};
    --self->open;
  }
  if (!holder)
    return;
  auto link = std::move(*holder);
  delete holder;
  link->detach();
  if (link->actor)
    caf::anon_send(link->actor, closed_atom::value);
  if (Worker && link->worker)
    self->worker_left(link->address());
  if (!Worker)
    self->board->forget(link);
}

} // namespace

expected<std::unique_ptr<endpoint>> endpoint::start(caf::actor_system& sys,
                                                    orchestrator_actor orchestrator,
                                                    std::shared_ptr<blob_store> store,
                                                    web_options options) {
  auto p = std::make_unique<impl>();
  p->sys = &sys;
  p->orchestrator = std::move(orchestrator);
  p->store = std::move(store);
  p->options = std::move(options);
  bool tls = !p->options.certificate.empty();
  if (tls && !std::filesystem::exists(p->options.certificate))
    return make_error(errc::invalid_input,
                      "no certificate at " + p->options.certificate.string());
  mg_init_library(tls ? MG_FEATURES_SSL : 0);
  auto ports = p->options.bind + ":" + std::to_string(p->options.port) + (tls ? "s" : "");
  // Each WebSocket keeps one of CivetWeb's threads while it is open.
  auto threads = std::to_string(p->options.max_connections + 16);
  auto cert = p->options.certificate.string();
  std::vector<const char*> opts{
      "listening_ports",          ports.c_str(), "num_threads",          threads.c_str(),
      "enable_directory_listing", "no",          "websocket_timeout_ms", "3600000"};
  if (tls) {
    opts.insert(opts.end(), {"ssl_certificate", cert.c_str(), "ssl_protocol_version", "4"});
  }
  opts.push_back(nullptr);
  mg_callbacks callbacks{};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = p.get();
  init.configuration_options = opts.data();
  char text[256] = {};
  unsigned code = 0;
  mg_error_data err{&code, text, sizeof(text)};
  p->ctx = mg_start2(&init, &err);
  if (!p->ctx)
    return make_error(errc::unavailable, "the web endpoint cannot serve on " + ports + ": "
                                             + (text[0] ? text : "CivetWeb did not start"));
  mg_server_port bound[4] = {};
  if (mg_get_server_ports(p->ctx, 4, bound) > 0)
    p->port = static_cast<uint16_t>(bound[0].port);
  mg_set_request_handler(p->ctx, "/", serve_asset, nullptr);
  mg_set_websocket_handler(p->ctx, "/live", on_connect, on_ready<false>, on_data<false>,
                           on_close<false>, p.get());
  if (p->options.browser_workers)
    mg_set_websocket_handler(p->ctx, "/worker", on_connect, on_ready<true>, on_data<true>,
                             on_close<true>, p.get());
  p->feeder = sys.spawn(feed, p->orchestrator, p->board);
  return std::unique_ptr<endpoint>{new endpoint{std::move(p)}};
}

endpoint::endpoint(std::unique_ptr<impl> p)
    : impl_(std::move(p)) {}

endpoint::~endpoint() {
  if (!impl_)
    return;
  // mg_stop closes every socket and runs their close handlers: the browser workers quit.
  mg_stop(impl_->ctx);
  caf::anon_send_exit(impl_->feeder, caf::exit_reason::user_shutdown);
}

uint16_t endpoint::port() const noexcept {
  return impl_->port;
}

std::string endpoint::url() const {
  auto host =
      impl_->options.bind == "0.0.0.0" ? std::string{"127.0.0.1"} : impl_->options.bind;
  return std::string{impl_->options.certificate.empty() ? "http" : "https"} + "://" + host
         + ":" + std::to_string(impl_->port) + "/";
}

} // namespace nexus::web
