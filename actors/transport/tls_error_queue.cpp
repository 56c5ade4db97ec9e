// Work-around for CAF 0.17.6's caf::openssl, linked into every program that uses nodes.
//
// CAF's TLS sessions all run on the middleman's one thread and never clear OpenSSL's
// per-thread error queue. When one peer goes away (a shell exits, a worker is killed),
// its session leaves an error in the queue, and the next read on every other session
// sees it through SSL_get_error and closes that connection too: one departure dropped
// every node of the network. OpenSSL requires an empty queue before each I/O call
// (SSL_get_error(3)), so these definitions interpose on the calls CAF makes, clear the
// queue, and forward to libssl. An executable's definitions take precedence over
// libssl's for the shared libraries it loads; the anchor below makes sure this object is
// linked wherever configure() is.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace nexus::detail {

bool tls_error_queue_fix = true;

namespace {

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

} // namespace

} // namespace nexus::detail

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = nexus::detail::next<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = nexus::detail::next<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto real = nexus::detail::next<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto real = nexus::detail::next<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
