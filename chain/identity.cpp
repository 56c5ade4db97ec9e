#include "chain/identity.hpp"

#include <cstdio>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "chain/hash.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

struct node_key::impl {
  EVP_PKEY* key = nullptr;
  ~impl() {
    EVP_PKEY_free(key);
  }
};

namespace {

expected<node_key> failed(const std::string& what) {
  return make_error(errc::failed, what);
}

} // namespace

node_key node_key::adopt(EVP_PKEY* pkey) {
  node_key out;
  out.impl_ = std::make_shared<impl>();
  out.impl_->key = pkey;
  std::size_t len = out.public_.size();
  EVP_PKEY_get_raw_public_key(pkey, out.public_.data(), &len);
  return out;
}

expected<node_key> node_key::generate() {
  auto* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok)
    return failed("cannot generate an Ed25519 key");
  return adopt(pkey);
}

expected<node_key> node_key::load_or_create(const std::filesystem::path& dir) {
  auto path = dir / "node.key";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return failed("cannot create " + dir.string() + ": " + ec.message());
    auto key = generate();
    if (!key)
      return key;
    auto old = umask(077);
    FILE* f = std::fopen(path.c_str(), "wx");
    umask(old);
    if (!f)
      return failed("cannot write " + path.string());
    bool ok =
        PEM_write_PrivateKey(f, key->impl_->key, nullptr, nullptr, 0, nullptr, nullptr)
        == 1;
    ok &= std::fclose(f) == 0;
    if (!ok)
      return failed("cannot write the node key to " + path.string());
    return key;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return make_error(errc::invalid_input, path.string() + " may be read by others (mode "
                                               + std::to_string(st.st_mode & 0777)
                                               + "); chmod 600 it");
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f)
    return failed("cannot read " + path.string());
  EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return make_error(errc::corrupted, path.string() + " is not an Ed25519 private key");
  }
  return adopt(pkey);
}

std::string node_key::id() const {
  return to_hex(sha256(public_)).substr(0, 32);
}

signature node_key::sign(std::span<const uint8_t> message) const {
  signature sig{};
  auto* ctx = EVP_MD_CTX_new();
  std::size_t len = sig.size();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, impl_->key);
  EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size());
  EVP_MD_CTX_free(ctx);
  return sig;
}

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0; // thread-safe once; idempotent
  return ready;
}

} // namespace

bool verify(const public_key& key, std::span<const uint8_t> message, const signature& sig) {
  return sodium_ready()
         && crypto_sign_ed25519_verify_detached(sig.data(), message.data(), message.size(),
                                                key.data())
                == 0;
}

bool key_acceptable(const public_key& key) {
  return sodium_ready() && crypto_core_ed25519_is_valid_point(key.data()) == 1;
}

expected<public_key> public_key_from_hex(std::string_view hex) {
  public_key out{};
  if (hex.size() != 64)
    return make_error(errc::invalid_input, "a public key is 64 hex digits, not "
                                               + std::to_string(hex.size())
                                               + " characters");
  if (!from_hex(hex, out))
    return make_error(errc::invalid_input, "not a hex digit in a public key");
  return out;
}

} // namespace nexus::chain
