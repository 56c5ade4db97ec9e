#include "chain/hash.hpp"

#include <cstring>
#include <new>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace nexus::chain {

namespace {

// SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again on every
// call, under a global read lock, which was a fifth of a ledger node's time.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
}

} // namespace

digest sha256(std::span<const uint8_t> bytes) {
  // One context per thread, set up again for each digest: EVP_Digest would make and free
  // one per call, taking a reference to the algorithm each time. OpenSSL 3 picks the
  // fastest implementation (SHA-NI, AVX2).
  struct context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~context() {
      EVP_MD_CTX_free(ctx);
    }
  };
  thread_local context local;
  digest out{};
  unsigned len = 0;
  if (!local.ctx || EVP_DigestInit_ex(local.ctx, sha256_md(), nullptr) != 1
      || EVP_DigestUpdate(local.ctx, bytes.data(), bytes.size()) != 1
      || EVP_DigestFinal_ex(local.ctx, out.data(), &len) != 1)
    throw std::bad_alloc{};
  return out;
}

std::size_t digest_hash::operator()(const digest& d) const noexcept {
  static const uint64_t key = [] {
    uint64_t k = 0x9e3779b97f4a7c15ull;
    RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof k); // left as is if it fails
    return k;
  }();
  // Every bit of the result depends on every bit of both words and of the key
  // (SplitMix64's finalizer on each word), whatever the table's bucket count.
  auto mix = [](uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t a = 0, b = 0;
  std::memcpy(&a, d.data(), sizeof a);
  std::memcpy(&b, d.data() + sizeof a, sizeof b);
  return static_cast<std::size_t>(mix(a ^ key) ^ mix(b + key));
}

sha256_stream::sha256_stream()
    : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) != 1)
    throw std::bad_alloc{};
}

sha256_stream::~sha256_stream() {
  EVP_MD_CTX_free(ctx_);
}

void sha256_stream::update(std::span<const uint8_t> bytes) {
  EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

digest sha256_stream::finish() {
  digest out{};
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
  return out;
}

std::string to_hex(const digest& d) {
  return to_hex(std::span<const uint8_t>{d});
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (auto byte : bytes) {
    out += hex[byte >> 4];
    out += hex[byte & 0xf];
  }
  return out;
}

bool from_hex(std::string_view hex, std::span<uint8_t> out) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 2 * out.size())
    return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = value(hex[2 * i]);
    int lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

} // namespace nexus::chain
