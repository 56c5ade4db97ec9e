#include "actors/transport/bulk.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "chain/encoding.hpp"
#include "compute/errc.hpp"
#include "compute/pages.hpp"

namespace nexus {

namespace {

// Every transfer: a 24-byte request, then the payload (put) or an answer (get).
//   request: magic, op, ticket, length (put: the payload's; get: the most accepted)
//   answer:  status, length, payload          (put: status only)
constexpr uint32_t magic = 0x3142584e; // "NXB1"
constexpr uint32_t op_put = 1;
constexpr uint32_t op_get = 2;

enum class status : uint32_t {
  ok = 0,
  too_large = 1,
  full = 2,
  unknown_ticket = 3,
  bad = 4,
  ticket_in_use = 5
};

const char* describe(status s) {
  switch (s) {
  case status::ok:
    return "ok";
  case status::too_large:
    return "the payload is larger than the receiver accepts";
  case status::full:
    return "the receiver holds too many payloads";
  case status::unknown_ticket:
    return "nothing is offered under that ticket";
  case status::bad:
    return "malformed request";
  case status::ticket_in_use:
    return "a payload is already held under that ticket";
  }
  return "unknown status";
}

constexpr std::chrono::seconds io_timeout{30};
constexpr std::size_t max_payload = std::size_t{1} << 30; // wire::max_message_bytes

std::string openssl_error() {
  char buf[256] = "unknown TLS error";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

struct ctx_deleter {
  void operator()(SSL_CTX* p) const {
    SSL_CTX_free(p);
  }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

// A TLS context that presents `e`'s certificate and accepts only peers the CA signed.
expected<ctx_ptr> make_context(const bulk_endpoint& e, bool server) {
  ERR_clear_error();
  ctx_ptr ctx{SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())};
  if (!ctx)
    return make_error(errc::unavailable, "bulk channel: " + openssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), e.cert.c_str()) != 1
      || SSL_CTX_use_PrivateKey_file(ctx.get(), e.key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_load_verify_locations(ctx.get(), e.ca.c_str(), nullptr) != 1)
    return make_error(errc::invalid_input,
                      "bulk channel: cannot load the TLS material: " + openssl_error());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

void set_timeouts(int fd) {
  timeval tv{static_cast<time_t>(io_timeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// One connection, plain or TLS; reads and writes whole buffers or fails.
class stream {
public:
  // Closes `fd` at the end when it `owns` it.
  stream(int fd, SSL* ssl, bool owns)
      : fd_(fd)
      , ssl_(ssl)
      , owns_(owns) {}

  ~stream() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (owns_)
      ::close(fd_);
  }

  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  bool write(const void* data, std::size_t n) {
    return move_all(const_cast<void*>(data), n, [this](uint8_t* p, int chunk) -> long {
      return ssl_ ? SSL_write(ssl_, p, chunk) : ::send(fd_, p, chunk, MSG_NOSIGNAL);
    });
  }

  bool read(void* data, std::size_t n) {
    return move_all(data, n, [this](uint8_t* p, int chunk) -> long {
      return ssl_ ? SSL_read(ssl_, p, chunk) : ::recv(fd_, p, chunk, 0);
    });
  }

  template <class T>
  bool write_value(T x) {
    return write(&x, sizeof(x)); // little-endian hosts only (x86-64, arm64)
  }

  template <class T>
  bool read_value(T& x) {
    return read(&x, sizeof(x));
  }

private:
  // Calls `step(at, chunk)`, which moves up to `chunk` bytes and says how many, until `n`
  // bytes have moved; false if it stops short (end of stream, time-out, TLS error).
  template <class Step>
  bool move_all(void* data, std::size_t n, Step step) {
    auto p = static_cast<uint8_t*>(data);
    while (n > 0) {
      long moved = step(p, static_cast<int>(std::min<std::size_t>(n, 1 << 24)));
      if (moved <= 0) {
        if (!ssl_ && moved < 0 && errno == EINTR)
          continue;
        return false;
      }
      p += moved;
      n -= static_cast<std::size_t>(moved);
    }
    return true;
  }

  int fd_;
  SSL* ssl_;
  bool owns_;
};

// Wraps a connected socket (a client's stream owns it; the service closes its own); with
// a context, completes the TLS handshake first.
expected<std::unique_ptr<stream>> open_stream(int fd, SSL_CTX* ctx, bool server) {
  set_timeouts(fd);
  if (!ctx)
    return std::make_unique<stream>(fd, nullptr, !server);
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx);
  if (!ssl) {
    if (!server)
      ::close(fd);
    return make_error(errc::unavailable, "bulk channel: " + openssl_error());
  }
  auto s = std::make_unique<stream>(fd, ssl, !server);
  SSL_set_fd(ssl, fd);
  if ((server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1)
    return make_error(errc::unavailable,
                      "bulk channel: TLS handshake failed: " + openssl_error());
  return s;
}

expected<int> connect_to(const bulk_endpoint& e) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto port = std::to_string(e.port);
  if (int rc = getaddrinfo(e.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return make_error(errc::unavailable,
                      "bulk channel: " + e.host + ": " + gai_strerror(rc));
  std::string problem = "no address";
  for (auto* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    set_timeouts(fd); // also bounds connect()
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    problem = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  return make_error(errc::unavailable,
                    "bulk channel: cannot reach " + e.host + ":" + port + ": " + problem);
}

expected<std::unique_ptr<stream>> dial(const bulk_endpoint& e) {
  ctx_ptr ctx;
  if (e.tls) {
    auto made = make_context(e, false);
    if (!made)
      return made.error();
    ctx = std::move(*made);
  }
  auto fd = connect_to(e);
  if (!fd)
    return fd.error();
  return open_stream(*fd, ctx.get(), false);
}

} // namespace

uint64_t draw_bulk_ticket() {
  uint64_t x = 0;
  while (x == 0)
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&x), sizeof(x)) != 1) {
      std::random_device rd;
      x = (uint64_t{rd()} << 32) | rd();
    }
  return x;
}

struct bulk_service::impl {
  using clock = std::chrono::steady_clock;

  struct held {
    std::vector<uint8_t> bytes;
    clock::time_point since;
  };

  // What a get sends: `head`, then `body` (kept alive by `owner`).
  struct offered {
    std::shared_ptr<const void> owner;
    std::vector<uint8_t> head;
    std::span<const uint8_t> body;
    clock::time_point since;

    std::size_t size() const noexcept {
      return head.size() + body.size();
    }
  };

  struct connection {
    std::thread thread;
    std::atomic<int> fd{-1};
    std::atomic<bool> done{false};
  };

  ctx_ptr ctx;
  int listener = -1;
  int wake[2] = {-1, -1}; // written to on stop
  std::thread acceptor;
  std::mutex mtx;
  std::list<connection> connections;
  std::map<uint64_t, held> inbox;
  std::map<uint64_t, offered> offers;
  std::size_t held_bytes = 0;
  bool stopping = false;

  // Drops what waited too long; the caller holds the lock.
  void expire(clock::time_point now) {
    for (auto i = inbox.begin(); i != inbox.end();)
      if (i->second.since + unclaimed_for < now) {
        held_bytes -= i->second.bytes.size();
        i = inbox.erase(i);
      } else {
        ++i;
      }
    std::erase_if(offers,
                  [now](const auto& kv) { return kv.second.since + unclaimed_for < now; });
  }

  uint64_t add_offer(offered o) {
    auto ticket = draw_bulk_ticket();
    std::lock_guard guard{mtx};
    expire(clock::now());
    offers.emplace(ticket, std::move(o));
    return ticket;
  }

  void serve(stream& s) {
    uint32_t m = 0, op = 0;
    uint64_t ticket = 0, length = 0;
    if (!s.read_value(m) || !s.read_value(op) || !s.read_value(ticket)
        || !s.read_value(length))
      return;
    if (m != magic || (op != op_put && op != op_get)) {
      s.write_value(status::bad);
      return;
    }
    if (op == op_put)
      serve_put(s, ticket, length);
    else
      serve_get(s, ticket, length);
  }

  void serve_put(stream& s, uint64_t ticket, uint64_t length) {
    if (length > max_payload) {
      s.write_value(status::too_large);
      return;
    }
    {
      std::lock_guard guard{mtx};
      expire(clock::now());
      if (inbox.contains(ticket)) {
        s.write_value(status::ticket_in_use);
        return;
      }
      if (held_bytes + length > max_held_bytes) {
        s.write_value(status::full);
        return;
      }
      held_bytes += length; // reserved while it arrives
    }
    std::vector<uint8_t> bytes;
    compute::resize_fresh(bytes, length);
    bool ok = s.read(bytes.data(), bytes.size());
    std::lock_guard guard{mtx};
    if (!ok || inbox.contains(ticket)) {
      held_bytes -= length;
      return;
    }
    inbox.emplace(ticket, held{std::move(bytes), clock::now()});
    s.write_value(status::ok);
  }

  void serve_get(stream& s, uint64_t ticket, uint64_t max_bytes) {
    std::optional<offered> offer;
    {
      std::lock_guard guard{mtx};
      expire(clock::now());
      if (auto i = offers.find(ticket); i != offers.end()) {
        offer = std::move(i->second);
        offers.erase(i);
      }
    }
    if (!offer) {
      s.write_value(status::unknown_ticket);
      return;
    }
    if (offer->size() > max_bytes) {
      s.write_value(status::too_large);
      return;
    }
    if (s.write_value(status::ok) && s.write_value(uint64_t{offer->size()})
        && s.write(offer->head.data(), offer->head.size()))
      s.write(offer->body.data(), offer->body.size());
  }

  void run_connection(connection& c, int fd) {
    if (auto s = open_stream(fd, ctx.get(), true))
      serve(**s);
    {
      std::lock_guard guard{mtx}; // stop() shuts down only fds still open
      c.fd = -1;
    }
    ::close(fd);
    c.done = true;
  }

  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listener, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR)
        return;
      if (fds[1].revents)
        return;
      if (!(fds[0].revents & POLLIN))
        continue;
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      std::lock_guard guard{mtx};
      reap();
      if (stopping || connections.size() >= max_connections) {
        ::close(fd);
        continue;
      }
      auto& c = connections.emplace_back();
      c.fd = fd;
      c.thread = std::thread{[this, &c, fd] { run_connection(c, fd); }};
    }
  }

  // Joins finished connections; the caller holds the lock.
  void reap() {
    for (auto i = connections.begin(); i != connections.end();)
      if (i->done) {
        i->thread.join();
        i = connections.erase(i);
      } else {
        ++i;
      }
  }
};

expected<std::shared_ptr<bulk_service>> bulk_service::start(const bulk_endpoint& where) {
  std::shared_ptr<bulk_service> out{new bulk_service};
  out->impl_ = std::make_unique<impl>();
  auto& d = *out->impl_;
  if (where.tls) {
    auto ctx = make_context(where, true);
    if (!ctx)
      return ctx.error();
    d.ctx = std::move(*ctx);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  auto port = std::to_string(where.port);
  auto host = where.host.empty() ? nullptr : where.host.c_str();
  if (int rc = getaddrinfo(host, port.c_str(), &hints, &found); rc != 0)
    return make_error(errc::unavailable,
                      "bulk channel: " + where.host + ": " + gai_strerror(rc));
  std::string problem = "no address";
  for (auto* a = found; a && d.listener < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      d.listener = fd;
    } else {
      problem = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (d.listener < 0)
    return make_error(errc::unavailable, "bulk channel: cannot listen on " + where.host
                                             + ":" + port + ": " + problem);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(d.listener, reinterpret_cast<sockaddr*>(&addr), &len);
  out->port_ =
      ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                       : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (::pipe2(d.wake, O_CLOEXEC) != 0)
    return make_error(errc::unavailable,
                      "bulk channel: pipe: " + std::string{std::strerror(errno)});
  d.acceptor = std::thread{[&d] { d.accept_loop(); }};
  return out;
}

bulk_service::~bulk_service() {
  stop();
}

void bulk_service::stop() {
  if (!impl_)
    return;
  auto& d = *impl_;
  {
    std::lock_guard guard{d.mtx};
    if (d.stopping)
      return;
    d.stopping = true;
    for (auto& c : d.connections)
      if (int fd = c.fd; fd >= 0)
        ::shutdown(fd, SHUT_RDWR); // a transfer under way fails at once
  }
  [[maybe_unused]] auto n = ::write(d.wake[1], "x", 1);
  if (d.acceptor.joinable())
    d.acceptor.join();
  for (auto& c : d.connections)
    c.thread.join();
  d.connections.clear();
  for (int fd : {d.listener, d.wake[0], d.wake[1]})
    if (fd >= 0)
      ::close(fd);
}

std::optional<std::vector<uint8_t>> bulk_service::take(uint64_t ticket) {
  auto& d = *impl_;
  std::lock_guard guard{d.mtx};
  auto i = d.inbox.find(ticket);
  if (i == d.inbox.end())
    return std::nullopt;
  auto bytes = std::move(i->second.bytes);
  d.held_bytes -= bytes.size();
  d.inbox.erase(i);
  return bytes;
}

uint64_t bulk_service::offer(std::shared_ptr<const std::vector<uint8_t>> bytes) {
  std::span<const uint8_t> body{*bytes};
  return impl_->add_offer({std::move(bytes), {}, body, impl::clock::now()});
}

uint64_t bulk_service::offer_tensor(std::shared_ptr<const void> owner,
                                    const compute::shape_t& shape,
                                    std::span<const uint8_t> values) {
  // The head: the rank and each dimension, as 64-bit little-endian numbers.
  chain::writer head;
  head.u64(shape.size());
  for (auto d : shape)
    head.u64(d);
  return impl_->add_offer(
      {std::move(owner), std::move(head.data()), values, impl::clock::now()});
}

error bulk_put(const bulk_endpoint& to, uint64_t ticket,
               const std::vector<uint8_t>& bytes) {
  auto s = dial(to);
  if (!s)
    return s.error();
  status answer = status::bad;
  if (!(*s)->write_value(magic) || !(*s)->write_value(op_put) || !(*s)->write_value(ticket)
      || !(*s)->write_value(uint64_t{bytes.size()})
      || !(*s)->write(bytes.data(), bytes.size()) || !(*s)->read_value(answer))
    return make_error(errc::unavailable, "bulk channel: the transfer to " + to.host + ":"
                                             + std::to_string(to.port) + " broke off");
  if (answer != status::ok)
    return make_error(answer == status::full ? errc::exhausted : errc::invalid_input,
                      std::string{"bulk channel: "} + describe(answer));
  return {};
}

namespace {

// A get under way: the stream, positioned at the payload, and the payload's length.
struct incoming {
  std::unique_ptr<stream> s;
  uint64_t length = 0;
};

error broke_off(const bulk_endpoint& from) {
  return make_error(errc::unavailable, "bulk channel: the transfer from " + from.host + ":"
                                           + std::to_string(from.port) + " broke off");
}

expected<incoming> start_get(const bulk_endpoint& from, uint64_t ticket,
                             std::size_t max_bytes) {
  auto s = dial(from);
  if (!s)
    return s.error();
  status answer = status::bad;
  incoming in{std::move(*s), 0};
  if (!in.s->write_value(magic) || !in.s->write_value(op_get) || !in.s->write_value(ticket)
      || !in.s->write_value(uint64_t{max_bytes}) || !in.s->read_value(answer))
    return broke_off(from);
  if (answer != status::ok)
    return make_error(answer == status::unknown_ticket ? errc::not_found
                                                       : errc::invalid_input,
                      std::string{"bulk channel: "} + describe(answer));
  if (!in.s->read_value(in.length))
    return broke_off(from);
  if (in.length > max_bytes)
    return make_error(errc::invalid_input,
                      "bulk channel: the payload is larger than asked for");
  return in;
}

} // namespace

expected<std::vector<uint8_t>> bulk_get(const bulk_endpoint& from, uint64_t ticket,
                                        std::size_t max_bytes) {
  auto in = start_get(from, ticket, max_bytes);
  if (!in)
    return in.error();
  std::vector<uint8_t> bytes;
  compute::resize_fresh(bytes, in->length);
  if (!in->s->read(bytes.data(), bytes.size()))
    return broke_off(from);
  return bytes;
}

expected<compute::tensor> bulk_get_tensor(const bulk_endpoint& from, uint64_t ticket,
                                          std::size_t max_bytes) {
  constexpr uint64_t max_rank = 8;
  auto in = start_get(from, ticket, max_bytes + (1 + max_rank) * sizeof(uint64_t));
  if (!in)
    return in.error();
  auto bad = [&](const std::string& why) {
    return make_error(errc::corrupted, "bulk channel: the tensor from " + from.host + ":"
                                           + std::to_string(from.port) + " " + why);
  };
  uint64_t rank = 0;
  if (in->length < sizeof(rank) || !in->s->read_value(rank))
    return broke_off(from);
  if (rank == 0 || rank > max_rank || in->length < (1 + rank) * sizeof(uint64_t))
    return bad("has a rank of " + std::to_string(rank));
  compute::shape_t shape(rank);
  uint64_t count = 1;
  for (auto& d : shape) {
    uint64_t v = 0;
    if (!in->s->read_value(v))
      return broke_off(from);
    d = v;
    if (v != 0 && count > max_bytes / sizeof(float) / v)
      return bad("is larger than asked for");
    count *= v;
  }
  if (in->length != (1 + rank) * sizeof(uint64_t) + count * sizeof(float))
    return bad("of shape " + compute::to_string(shape) + " carries "
               + std::to_string(in->length) + " bytes");
  compute::tensor out{std::move(shape)};
  if (!in->s->read(out.data(), count * sizeof(float)))
    return broke_off(from);
  return out;
}

} // namespace nexus
