#include "actors/web/server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <caf/all.hpp>

#include "actors/web/assets.hpp"
#include "actors/web/browser_worker.hpp"
#include "messages/web_frames.hpp"

namespace nexus::web {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;
using feed_atom = caf::atom_constant<caf::atom("webfeed")>;

// A line in the hub's log, at once (stdout is a pipe under nexus-node and in tests), with
// what a browser chose (a name, a reason) cut short and made printable.
void log_line(std::string line) {
  if (line.size() > 400)
    line.resize(400);
  std::fputs(("web: " + printable(std::move(line)) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// The most a socket may have waiting to be written before it counts as not reading: a
// dashboard gets small frames; a browser worker gets operands.
constexpr std::size_t live_backlog = std::size_t{16} << 20;
constexpr std::size_t worker_backlog = std::size_t{1} << 30;
// What a dashboard may send (it sends nothing): a little, then the socket closes.
constexpr std::size_t live_frame = 1024;
// How long a socket being closed may take to write what it queued and close.
constexpr auto close_within = std::chrono::seconds{10};

// One WebSocket, as the actors see it: send() and close() from any thread, each posted to
// the socket's strand; once `stopped` (the socket closed, or the endpoint is going),
// they do nothing, so a worker actor outliving its socket touches nothing that is gone.
class socket_base : public browser_socket,
                    public std::enable_shared_from_this<socket_base> {
public:
  socket_base(std::string address, bool worker)
      : address_(std::move(address))
      , worker_(worker) {}

  const std::string& address() const override {
    return address_;
  }

  bool worker() const noexcept {
    return worker_;
  }

  /// Ends the socket from the endpoint's side: a close frame, then nothing more.
  virtual void stop() = 0;

  /// Drops the connection at once (the endpoint stops and the page did not close).
  virtual void abort() = 0;

  caf::actor actor;     // the browser worker, for worker sockets
  bool counted = false; // counted in its address's worker sockets

protected:
  std::string address_;
  bool worker_;
};

// What a worker actor holds: a way to the socket while it is open, never the socket's
// life. The sockets belong to the endpoint's I/O threads and die with them; an actor may
// outlive them. Each call holds the control's lock, and the endpoint, before it goes,
// marks every control stopped under that lock: no call is then in a socket, and none
// starts.
struct socket_control {
  std::mutex mutex;
  bool stopped = false;
  std::weak_ptr<socket_base> socket;
};

class socket_handle final : public browser_socket {
public:
  socket_handle(std::shared_ptr<socket_control> control, std::string address)
      : control_(std::move(control))
      , address_(std::move(address)) {}

  bool send(std::span<const uint8_t> frame) override {
    std::lock_guard lock{control_->mutex};
    auto s = control_->stopped ? nullptr : control_->socket.lock();
    return s && s->send(frame);
  }

  void close(uint16_t code, const std::string& reason) override {
    std::lock_guard lock{control_->mutex};
    if (auto s = control_->stopped ? nullptr : control_->socket.lock())
      s->close(code, reason);
  }

  const std::string& address() const override {
    return address_;
  }

private:
  std::shared_ptr<socket_control> control_;
  std::string address_;
};

struct feed_board;

// What every socket needs of the endpoint, shared so that a socket's last handler may run
// after the endpoint began to stop.
struct shared_state {
  caf::actor_system* sys = nullptr;
  orchestrator_actor orchestrator;
  std::shared_ptr<blob_store> store;
  web_options options;
  std::shared_ptr<feed_board> board;

  std::mutex mutex; // guards what follows
  bool stopping = false;
  std::set<std::shared_ptr<socket_base>> sockets;
  std::map<std::string, std::size_t> workers_at;                 // address -> sockets
  std::map<std::string, std::size_t> watchers_at;                // address -> dashboards
  std::map<std::string, std::deque<clock::time_point>> joins_at; // address -> recent
  std::vector<std::weak_ptr<socket_control>> controls;           // handed to actors

  // Keeps `c` to be stopped with the endpoint; forgets controls nobody holds.
  void handed(const std::shared_ptr<socket_control>& c) {
    std::lock_guard lock{mutex};
    std::erase_if(controls, [](const auto& w) { return w.expired(); });
    controls.push_back(c);
  }

  // Why a dashboard from `address` may not open now, or empty; counts it if it may.
  std::string admit_watcher(const std::string& address) {
    std::lock_guard lock{mutex};
    auto& n = watchers_at[address];
    if (n >= live_per_address)
      return "too many dashboards from " + address + " at once (the limit is "
             + std::to_string(live_per_address) + ")";
    ++n;
    return {};
  }

  static constexpr std::size_t live_per_address = 16;

  // Why a worker socket from `address` may not open now, or empty; counts it if it may.
  std::string admit_worker(const std::string& address) {
    std::lock_guard lock{mutex};
    auto now = clock::now();
    // Forget addresses whose joins are all over a minute old.
    for (auto i = joins_at.begin(); i != joins_at.end();) {
      auto& times = i->second;
      while (!times.empty() && now - times.front() > std::chrono::minutes{1})
        times.pop_front();
      i = times.empty() && i->first != address ? joins_at.erase(i) : std::next(i);
    }
    auto& times = joins_at[address];
    auto at = workers_at.find(address);
    if (at != workers_at.end() && at->second >= options.workers_per_address)
      return "too many browser workers from " + address + " at once (the limit is "
             + std::to_string(options.workers_per_address) + ")";
    if (times.size() >= options.joins_per_minute)
      return "too many joins from " + address + " in a minute (the limit is "
             + std::to_string(options.joins_per_minute) + ")";
    times.push_back(now);
    ++workers_at[address];
    return {};
  }

  void closed(const std::shared_ptr<socket_base>& s);
};

// The dashboard's latest frames, and the sockets that watch them.
struct feed_board {
  std::mutex mutex;
  std::set<std::shared_ptr<socket_base>> watchers;
  std::map<frame, std::vector<uint8_t>> latest;

  bool watched() {
    std::lock_guard lock{mutex};
    return !watchers.empty();
  }

  void publish(frame kind, std::span<const uint8_t> bytes) {
    auto out = frame_of(kind, bytes);
    std::lock_guard lock{mutex};
    for (const auto& w : watchers)
      w->send(out); // queued: never blocks
    latest[kind] = std::move(out);
  }

  void watch(const std::shared_ptr<socket_base>& w) {
    std::lock_guard lock{mutex};
    for (const auto& [kind, bytes] : latest)
      w->send(bytes);
    watchers.insert(w);
  }

  void forget(const std::shared_ptr<socket_base>& w) {
    std::lock_guard lock{mutex};
    watchers.erase(w);
  }
};

void shared_state::closed(const std::shared_ptr<socket_base>& s) {
  if (s->actor)
    caf::anon_send(s->actor, closed_atom::value);
  if (!s->worker())
    board->forget(s);
  std::lock_guard lock{mutex};
  sockets.erase(s);
  if (s->counted) {
    auto& counts = s->worker() ? workers_at : watchers_at;
    if (auto i = counts.find(s->address()); i != counts.end() && --i->second == 0)
      counts.erase(i);
  }
}

template <class Stream>
class ws_socket final : public socket_base {
public:
  ws_socket(Stream&& stream, std::string address, bool worker,
            std::shared_ptr<shared_state> shared)
      : socket_base(std::move(address), worker)
      , ws_(std::move(stream))
      , shared_(std::move(shared)) {}

  // Completes the handshake of `request`, then reads until the socket closes.
  void start(http::request<http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(worker_ ? max_browser_frame : live_frame);
    ws_.binary(true);
    ws_.async_accept(request, [self = me()](beast::error_code ec) {
      if (ec)
        return self->finish();
      self->opened();
    });
  }

  bool send(std::span<const uint8_t> frame) override {
    std::lock_guard lock{mutex_};
    if (stopped_)
      return false;
    if (backlog_ + frame.size() > (worker_ ? worker_backlog : live_backlog)) {
      close_locked(policy, "the page does not read what it is sent");
      return false;
    }
    backlog_ += frame.size();
    auto bytes = std::make_shared<std::vector<uint8_t>>(frame.begin(), frame.end());
    net::post(ws_.get_executor(), [self = me(), bytes] { self->queue(bytes); });
    return true;
  }

  void close(uint16_t code, const std::string& reason) override {
    std::lock_guard lock{mutex_};
    close_locked(code, reason);
  }

  void stop() override {
    std::lock_guard lock{mutex_};
    if (!stopped_)
      close_locked(going_away, "the hub stops");
  }

  void abort() override {
    net::post(ws_.get_executor(), [self = me()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

private:
  std::shared_ptr<ws_socket> me() {
    return std::static_pointer_cast<ws_socket>(shared_from_this());
  }

  // Under mutex_: stops taking frames, and closes once what is queued was written, within
  // close_within; a socket still in its handshake is dropped.
  void close_locked(uint16_t code, const std::string& reason) {
    if (stopped_)
      return;
    stopped_ = true;
    // At most 120 bytes of the reason (a control frame holds 125), cut where no UTF-8
    // character is cut in two.
    auto cut = std::min<std::size_t>(reason.size(), 120);
    while (cut > 0 && cut < reason.size()
           && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80)
      --cut;
    websocket::close_reason why{static_cast<websocket::close_code>(code),
                                reason.substr(0, cut)};
    net::post(ws_.get_executor(), [self = me(), why] {
      // A page that does not read would hold a write, and so the close, for ever.
      beast::get_lowest_layer(self->ws_).expires_after(close_within);
      self->closing_ = why;
      if (!self->opened_) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
      } else if (!self->writing_) {
        self->write_close();
      }
    });
  }

  void opened() {
    opened_ = true;
    if (closing_) { // the endpoint stops, or the page was refused, during the handshake
      write_close();
      return read();
    }
    auto why = worker_ ? shared_->admit_worker(address_) : shared_->admit_watcher(address_);
    if (!why.empty()) {
      log_line("refused a " + std::string{worker_ ? "browser worker" : "dashboard"} + " at "
               + address_ + ": " + why + " (closing with " + std::to_string(policy) + ")");
      close(policy, why);
    } else if (worker_) {
      counted = true;
      auto control = std::make_shared<socket_control>();
      control->socket = me();
      shared_->handed(control);
      actor = caf::actor_cast<caf::actor>(spawn_browser_worker(
          *shared_->sys, std::make_shared<socket_handle>(control, address_),
          shared_->orchestrator, shared_->store));
    } else {
      counted = true;
      shared_->board->watch(me());
    }
    read();
  }

  void read() {
    ws_.async_read(in_, [self = me()](beast::error_code ec, std::size_t) {
      if (ec) {
        if (ec == websocket::error::message_too_big)
          log_line(self->address_ + " sent a message above "
                   + std::to_string(self->ws_.read_message_max()) + " bytes (closing with "
                   + std::to_string(too_big) + ")");
        return self->finish();
      }
      self->received();
    });
  }

  void received() {
    if (!ws_.got_binary()) {
      log_line(address_ + " sent a text frame (closing with " + std::to_string(unsupported)
               + ")");
      close(unsupported, "frames are binary Cap'n Proto messages");
    } else if (actor) {
      std::vector<uint8_t> bytes(in_.size());
      net::buffer_copy(net::buffer(bytes), in_.data());
      caf::anon_send(actor, frame_atom::value, std::move(bytes));
    }
    in_.consume(in_.size());
    if (in_.capacity() > (std::size_t{1} << 20))
      in_ = beast::flat_buffer{}; // a large result came: its room goes with it
    read();
  }

  void queue(const std::shared_ptr<std::vector<uint8_t>>& bytes) {
    out_.push_back(bytes);
    if (!writing_)
      write();
  }

  void write() {
    if (out_.empty()) {
      writing_ = false;
      if (closing_)
        write_close();
      return;
    }
    writing_ = true;
    auto next = out_.front();
    ws_.async_write(net::buffer(*next),
                    [self = me(), next](beast::error_code ec, std::size_t) {
                      {
                        std::lock_guard lock{self->mutex_};
                        self->backlog_ -= next->size();
                      }
                      self->out_.pop_front();
                      if (ec)
                        return; // the read side sees the socket go
                      self->write();
                    });
  }

  void write_close() {
    if (close_sent_)
      return;
    close_sent_ = true;
    ws_.async_close(*closing_, [self = me()](beast::error_code) {});
  }

  // The socket is gone: nothing may use it from now on.
  void finish() {
    {
      std::lock_guard lock{mutex_};
      stopped_ = true;
    }
    shared_->closed(me());
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<shared_state> shared_;
  beast::flat_buffer in_;
  // On the strand:
  std::deque<std::shared_ptr<std::vector<uint8_t>>> out_;
  bool opened_ = false;
  bool writing_ = false;
  std::optional<websocket::close_reason> closing_;
  bool close_sent_ = false;
  // Any thread, under mutex_:
  std::mutex mutex_;
  bool stopped_ = false;
  std::size_t backlog_ = 0;
};

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

// The answer to a plain HTTP request: a built-in file, or an error.
http::response<http::string_body> answer(const http::request<http::string_body>& req) {
  auto reply = [&](http::status status, std::string_view type, std::string body) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "nexuschain");
    res.set(http::field::content_type, beast::string_view{type.data(), type.size()});
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return reply(http::status::method_not_allowed, "text/plain", "GET or HEAD\n");
  std::string_view path{req.target().data(), req.target().size()};
  path = path.substr(0, path.find('?'));
  if (path == "/")
    path = "/index.html";
  for (const auto& a : assets()) {
    if (a.path != path)
      continue;
    auto res = reply(http::status::ok, type_of(path), std::string{a.bytes});
    if (req.method() == http::verb::head) {
      res.body().clear();
      res.content_length(a.bytes.size());
    }
    return res;
  }
  return reply(http::status::not_found, "text/plain", "Not found\n");
}

// Whether a WebSocket's page comes from this endpoint: a browser names the page's origin,
// which must be the host it asked for (another site's page may not drive a visitor's
// browser against the hub). Programs that name no origin may connect.
bool same_origin(const http::request<http::string_body>& req) {
  auto origin = req[http::field::origin];
  if (origin.empty())
    return true;
  auto host = req[http::field::host];
  auto scheme = origin.find("://");
  return scheme != std::string_view::npos && origin.substr(scheme + 3) == host;
}

// One connection: HTTP requests, one after another, until one asks for a WebSocket.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(Stream&& stream, std::string address, std::shared_ptr<shared_state> shared)
      : stream_(std::move(stream))
      , address_(std::move(address))
      , shared_(std::move(shared)) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{30});
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec)
                         self->handle(self->parser_->release());
                     });
  }

private:
  void handle(http::request<http::string_body> req) {
    if (websocket::is_upgrade(req)) {
      auto target = req.target();
      bool worker = target == "/worker";
      auto refuse = [&](http::status status, const std::string& why) {
        log_line("refused a WebSocket from " + address_ + ": " + why);
        http::response<http::string_body> res{status, req.version()};
        res.set(http::field::content_type, "text/plain");
        res.body() = why + "\n";
        res.keep_alive(false);
        res.prepare_payload();
        respond(std::move(res));
      };
      if ((!worker && target != "/live") || (worker && !shared_->options.browser_workers))
        return refuse(http::status::not_found, "no WebSocket at that address");
      if (!same_origin(req))
        return refuse(http::status::forbidden, "its page is of another origin");
      std::shared_ptr<ws_socket<Stream>> s;
      {
        std::lock_guard lock{shared_->mutex};
        if (!shared_->stopping
            && shared_->sockets.size() < shared_->options.max_connections) {
          beast::get_lowest_layer(stream_).expires_never();
          s = std::make_shared<ws_socket<Stream>>(std::move(stream_), address_, worker,
                                                  shared_);
          shared_->sockets.insert(s);
        }
      }
      if (!s)
        return refuse(http::status::service_unavailable,
                      "the hub holds as many WebSockets as it takes");
      s->start(std::move(req));
      return;
    }
    auto res = answer(req);
    if (served_ + 1 >= 100)
      res.keep_alive(false);
    respond(std::move(res));
  }

  void respond(http::response<http::string_body> res) {
    auto kept = std::make_shared<http::response<http::string_body>>(std::move(res));
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{30});
    http::async_write(
        stream_, *kept,
        [self = this->shared_from_this(), kept](beast::error_code ec, std::size_t) {
          if (!ec && kept->keep_alive() && ++self->served_ < 100)
            self->read();
        });
  }

  Stream stream_;
  std::string address_;
  std::shared_ptr<shared_state> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  int served_ = 0;
};

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Asks the orchestrator for the dashboard's state while someone watches: nodes and tasks
// every second, balances and the latest blocks every two, the chain's audit every ten.
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
        self->delayed_send(self, std::chrono::seconds{1}, feed_atom::value);
        if (!board->watched() && *round > 0)
          return; // nobody to tell; the first round fills what a new watcher gets
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
      },
  };
}

} // namespace

struct endpoint::impl {
  std::shared_ptr<shared_state> shared = std::make_shared<shared_state>();
  net::io_context io{2};
  std::optional<net::ssl::context> tls;
  // The acceptor and its retry timer on one strand: accepting and stopping never race.
  net::strand<net::io_context::executor_type> accepting = net::make_strand(io);
  tcp::acceptor acceptor{accepting};
  net::steady_timer retry{accepting};
  std::vector<std::thread> threads;
  caf::actor feeder;
  uint16_t port = 0;

  void accept() {
    if (!acceptor.is_open())
      return; // the endpoint stops
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec,
                                                       tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open())
        return; // the endpoint stops
      if (ec) {
        // Out of descriptors, say: try again in a moment rather than at once.
        log_line("cannot accept a connection: " + ec.message());
        retry.expires_after(std::chrono::milliseconds{200});
        retry.async_wait([this](beast::error_code e) {
          if (!e)
            accept();
        });
        return;
      }
      {
        beast::error_code ignored;
        auto peer = socket.remote_endpoint(ignored);
        auto address = ignored ? std::string{"unknown"} : peer.address().to_string();
        beast::tcp_stream stream{std::move(socket)};
        if (tls) {
          auto secure = std::make_shared<tls_stream>(std::move(stream), *tls);
          beast::get_lowest_layer(*secure).expires_after(std::chrono::seconds{10});
          secure->async_handshake(net::ssl::stream_base::server,
                                  [secure, address, shared = shared](beast::error_code ec) {
                                    if (!ec)
                                      std::make_shared<http_session<tls_stream>>(
                                          std::move(*secure), address, shared)
                                          ->read();
                                  });
        } else {
          std::make_shared<http_session<plain_stream>>(std::move(stream), address, shared)
              ->read();
        }
      }
      accept();
    });
  }
};

expected<std::unique_ptr<endpoint>> endpoint::start(caf::actor_system& sys,
                                                    orchestrator_actor orchestrator,
                                                    std::shared_ptr<blob_store> store,
                                                    web_options options) {
  auto p = std::make_unique<impl>();
  auto& shared = *p->shared;
  shared.sys = &sys;
  shared.orchestrator = std::move(orchestrator);
  shared.store = std::move(store);
  shared.options = std::move(options);
  shared.board = std::make_shared<feed_board>();
  const auto& opts = shared.options;
  if (!opts.certificate.empty()) {
    try {
      p->tls.emplace(net::ssl::context::tls_server);
      p->tls->set_options(net::ssl::context::default_workarounds
                          | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3
                          | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
      p->tls->use_certificate_chain_file(opts.certificate.string());
      p->tls->use_private_key_file(opts.private_key.string(), net::ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      return make_error(errc::invalid_input, "the web endpoint's certificate "
                                                 + opts.certificate.string() + " and key "
                                                 + opts.private_key.string() + ": "
                                                 + e.code().message());
    }
  }
  beast::error_code ec;
  auto address = net::ip::make_address(opts.bind, ec);
  if (ec)
    return make_error(errc::invalid_input,
                      "the web endpoint's address '" + opts.bind + "' is no IP address");
  tcp::endpoint at{address, opts.port};
  auto where = opts.bind + ":" + std::to_string(opts.port);
  p->acceptor.open(at.protocol(), ec);
  if (!ec)
    p->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    p->acceptor.bind(at, ec);
  if (!ec)
    p->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::unavailable,
                      "the web endpoint cannot serve on " + where + ": " + ec.message());
  p->port = p->acceptor.local_endpoint().port();
  net::post(p->accepting, [q = p.get()] { q->accept(); });
  for (int i = 0; i < 2; ++i)
    p->threads.emplace_back([io = &p->io] { io->run(); });
  p->feeder = sys.spawn(feed, shared.orchestrator, shared.board);
  return std::unique_ptr<endpoint>{new endpoint{std::move(p)}};
}

endpoint::endpoint(std::unique_ptr<impl> p)
    : impl_(std::move(p)) {}

endpoint::~endpoint() {
  if (!impl_)
    return;
  auto& shared = *impl_->shared;
  caf::anon_send_exit(impl_->feeder, caf::exit_reason::user_shutdown);
  // Stop accepting, tell every page the hub goes (their workers give their shards back),
  // give the close frames a moment to leave, then drop what is still open.
  net::post(impl_->accepting, [p = impl_.get()] {
    beast::error_code ignored;
    p->acceptor.close(ignored);
    p->retry.cancel();
  });
  std::set<std::shared_ptr<socket_base>> open;
  {
    std::lock_guard lock{shared.mutex};
    shared.stopping = true;
    open = shared.sockets;
  }
  for (const auto& s : open)
    s->stop();
  auto all_closed = [&] {
    std::lock_guard lock{shared.mutex};
    return shared.sockets.empty();
  };
  for (int i = 0; i < 10 && !all_closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  for (const auto& s : open)
    s->abort();
  open.clear();
  for (int i = 0; i < 40 && !all_closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  // From here no actor reaches a socket: each call holds its control's lock, and every
  // control is marked stopped under it.
  std::vector<std::weak_ptr<socket_control>> controls;
  {
    std::lock_guard lock{shared.mutex};
    controls = shared.controls;
  }
  for (const auto& w : controls)
    if (auto c = w.lock()) {
      std::lock_guard lock{c->mutex};
      c->stopped = true;
    }
  impl_->io.stop();
  for (auto& t : impl_->threads)
    t.join();
  // Sockets that never finished: their workers still learn that they are gone.
  std::set<std::shared_ptr<socket_base>> left;
  {
    std::lock_guard lock{shared.mutex};
    left.swap(shared.sockets);
  }
  for (const auto& s : left)
    if (s->actor)
      caf::anon_send(s->actor, closed_atom::value);
  left.clear();
  std::lock_guard lock{shared.board->mutex};
  shared.board->watchers.clear();
}

uint16_t endpoint::port() const noexcept {
  return impl_->port;
}

std::string endpoint::url() const {
  const auto& opts = impl_->shared->options;
  auto host = opts.bind == "0.0.0.0" ? std::string{"127.0.0.1"} : opts.bind;
  return std::string{opts.certificate.empty() ? "http" : "https"} + "://" + host + ":"
         + std::to_string(impl_->port) + "/";
}

} // namespace nexus::web
