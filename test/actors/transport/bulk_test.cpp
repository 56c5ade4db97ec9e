// The bulk channel on 127.0.0.1: payloads put and taken, offered and fetched, over plain
// TCP and mutual TLS; peers with another CA's certificate refused; tickets used once;
// limits answered with errors; a service stopped with a transfer under way.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/transport/bulk.hpp"
#include "compute/errc.hpp"
#include "test/support/cluster.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> random_bytes(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::vector<uint8_t> out(n);
  for (auto& b : out)
    b = static_cast<uint8_t>(rng());
  return out;
}

// Certificates of a fresh CA in `dir` (certs/ca.pem, certs/ca-NAME.pem and .key).
void make_certs(const test::temp_dir& dir) {
  const char* node = std::getenv("NEXUS_NODE");
  REQUIRE(node != nullptr);
  REQUIRE(test::write_topology(
      dir, "t.yaml", node,
      {{"hub", "orchestrator, aggregator"}, {"w", "worker"}, {"v", "validator"}}));
}

bulk_endpoint tls_endpoint(const test::temp_dir& dir, const std::string& name,
                           uint16_t port) {
  return {"127.0.0.1",
          port,
          true,
          dir.file("certs/ca.pem"),
          dir.file("certs/ca-" + name + ".pem"),
          dir.file("certs/ca-" + name + ".key")};
}

} // namespace

TEST_CASE("bulk: puts are taken once, offers fetched once, over plain TCP", "[bulk]") {
  auto service = bulk_service::start({"127.0.0.1", 0});
  REQUIRE(service);
  bulk_endpoint to{"127.0.0.1", (*service)->port()};
  REQUIRE(to.port != 0);

  auto payload = random_bytes(3 << 20, 1);
  auto ticket = draw_bulk_ticket();
  REQUIRE_FALSE(bulk_put(to, ticket, payload));
  auto taken = (*service)->take(ticket);
  REQUIRE(taken);
  CHECK(*taken == payload);
  CHECK_FALSE((*service)->take(ticket));             // once
  CHECK_FALSE((*service)->take(draw_bulk_ticket())); // never put

  // The same ticket twice while the first is still held: the second is refused.
  REQUIRE_FALSE(bulk_put(to, ticket, payload));
  auto again = bulk_put(to, ticket, random_bytes(16, 2));
  CHECK(is(again, errc::invalid_input));
  CHECK_THAT(describe(again), Catch::Contains("already held"));
  CHECK((*service)->take(ticket) == payload);

  auto shared = std::make_shared<const std::vector<uint8_t>>(random_bytes(5 << 20, 3));
  auto offer = (*service)->offer(shared);
  auto got = bulk_get(to, offer, 16 << 20);
  REQUIRE(got);
  CHECK(*got == *shared);
  auto twice = bulk_get(to, offer, 16 << 20);
  CHECK(is(twice.error(), errc::not_found));

  // A fetch that would exceed what the caller accepts is refused, not truncated.
  auto big = (*service)->offer(shared);
  auto refused = bulk_get(to, big, 1 << 20);
  CHECK(is(refused.error(), errc::invalid_input));

  // An empty payload is a payload.
  auto empty = draw_bulk_ticket();
  REQUIRE_FALSE(bulk_put(to, empty, {}));
  auto none = (*service)->take(empty);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("bulk: a tensor offered in place arrives in its shape, and a tensor fetch of "
          "anything else is refused",
          "[bulk]") {
  auto service = bulk_service::start({"127.0.0.1", 0});
  REQUIRE(service);
  bulk_endpoint to{"127.0.0.1", (*service)->port()};

  // The values are offered from inside a larger buffer (a message), never copied.
  auto t = compute::random_tensor({300, 7, 2}, 9);
  auto bytes = std::make_shared<std::vector<uint8_t>>(64 + t.size() * sizeof(float));
  std::memcpy(bytes->data() + 64, t.data(), t.size() * sizeof(float));
  std::span<const uint8_t> values{bytes->data() + 64, t.size() * sizeof(float)};
  auto offer = (*service)->offer_tensor(bytes, t.shape(), values);
  bytes.reset(); // the offer keeps them alive
  auto got = bulk_get_tensor(to, offer, 16 << 20);
  REQUIRE(got);
  CHECK(*got == t);
  CHECK(is(bulk_get_tensor(to, offer, 16 << 20).error(), errc::not_found)); // once

  // An empty tensor is a tensor.
  auto empty = (*service)->offer_tensor(nullptr, {0, 5}, {});
  auto none = bulk_get_tensor(to, empty, 16 << 20);
  REQUIRE(none);
  CHECK(none->shape() == compute::shape_t{0, 5});

  // Larger than the caller accepts: refused before anything is allocated.
  auto big = (*service)->offer_tensor(nullptr, t.shape(), values.first(0));
  CHECK(bulk_get_tensor(to, big, 100).error());
  // Plain bytes are no tensor: a header that does not match the length is refused.
  auto plain = std::make_shared<const std::vector<uint8_t>>(random_bytes(4096, 4));
  auto not_tensor = bulk_get_tensor(to, (*service)->offer(plain), 16 << 20);
  REQUIRE_FALSE(not_tensor);
  CHECK(is(not_tensor.error(), errc::corrupted));
}

TEST_CASE("bulk: mutual TLS with the network's CA; another CA's certificate is refused",
          "[bulk]") {
  test::temp_dir dir;
  make_certs(dir);
  auto service = bulk_service::start(tls_endpoint(dir, "hub", 0));
  REQUIRE(service);
  auto port = (*service)->port();

  auto payload = random_bytes(9 << 20, 4);
  auto ticket = draw_bulk_ticket();
  REQUIRE_FALSE(bulk_put(tls_endpoint(dir, "w", port), ticket, payload));
  CHECK((*service)->take(ticket) == payload);
  auto offer = (*service)->offer(std::make_shared<const std::vector<uint8_t>>(payload));
  auto got = bulk_get(tls_endpoint(dir, "w", port), offer, 16 << 20);
  REQUIRE(got);
  CHECK(*got == payload);

  test::temp_dir other;
  make_certs(other);
  auto rogue = tls_endpoint(other, "w", port);
  auto stolen = (*service)->offer(std::make_shared<const std::vector<uint8_t>>(payload));
  CHECK(bulk_get(rogue, stolen, 16 << 20).error());
  auto forged = draw_bulk_ticket();
  CHECK(bulk_put(rogue, forged, payload));
  CHECK_FALSE((*service)->take(forged));
  // Without any certificate: refused as well.
  CHECK(bulk_put({"127.0.0.1", port}, forged, payload));
  CHECK_FALSE((*service)->take(forged));
  // The rogue's attempt did not use up the legitimate offer.
  CHECK(bulk_get(tls_endpoint(dir, "w", port), stolen, 16 << 20));
}

TEST_CASE("bulk: missing TLS material and unreachable services are errors", "[bulk]") {
  test::temp_dir dir;
  auto bad = bulk_service::start({"127.0.0.1", 0, true, dir.file("none.pem"),
                                  dir.file("none.pem"), dir.file("none.key")});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_input));

  auto service = bulk_service::start({"127.0.0.1", 0});
  REQUIRE(service);
  auto port = (*service)->port();
  (*service)->stop();
  auto err = bulk_put({"127.0.0.1", port}, draw_bulk_ticket(), random_bytes(64, 5));
  CHECK(is(err, errc::unavailable));
}

TEST_CASE("bulk: stopping ends a transfer under way at once", "[bulk]") {
  auto service = bulk_service::start({"127.0.0.1", 0});
  REQUIRE(service);
  // A sender that announces 64 MiB and then sends nothing more.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*service)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  struct [[gnu::packed]] {
    uint32_t magic = 0x3142584e, op = 1;
    uint64_t ticket = 7, length = 64 << 20;
  } header;
  REQUIRE(::send(fd, &header, sizeof(header), 0) == sizeof(header));
  std::this_thread::sleep_for(100ms);
  auto start = std::chrono::steady_clock::now();
  (*service)->stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE((*service)->take(7));
  ::close(fd);
}
