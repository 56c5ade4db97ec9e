#include "apps/nexus-node/certs.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "chain/identity.hpp"
#include "compute/errc.hpp"

namespace nexus::node_app {

namespace {

namespace fs = std::filesystem;

struct key_free {
  void operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
  }
};
struct cert_free {
  void operator()(X509* c) const {
    X509_free(c);
  }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

error failed(const std::string& what) {
  return make_error(errc::failed, "certs: " + what);
}

error ensure_dir(const std::string& file) {
  std::error_code ec;
  fs::create_directories(fs::path{file}.parent_path(), ec);
  return ec ? failed("cannot create the directory of " + file + ": " + ec.message())
            : error{};
}

error write_key(const EVP_PKEY* key, const std::string& path) {
  if (auto err = ensure_dir(path))
    return err;
  auto old = umask(077);
  FILE* f = std::fopen(path.c_str(), "w");
  umask(old);
  if (!f)
    return failed("cannot write " + path);
  bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  chmod(path.c_str(), 0600);
  return ok ? error{} : failed("cannot write the key to " + path);
}

error write_cert(X509* cert, const std::string& path) {
  if (auto err = ensure_dir(path))
    return err;
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f)
    return failed("cannot write " + path);
  bool ok = PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  return ok ? error{} : failed("cannot write the certificate to " + path);
}

// A certificate for `subject_key` named `cn`, signed by `issuer_key` (self-signed when
// `issuer` is null), for the hosts `alt_names` lists ("DNS:hub,IP:127.0.0.1": what a
// browser checks the address it opened against, as for a hub's web endpoint).
cert_ptr make_cert(const std::string& cn, EVP_PKEY* subject_key, X509* issuer,
                   EVP_PKEY* issuer_key, long serial, const std::string& alt_names = {}) {
  cert_ptr cert{X509_new()};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 825L * 24 * 3600);
  X509_set_pubkey(cert.get(), subject_key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (!issuer) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    if (auto* ext =
            X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE")) {
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  if (!alt_names.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names.c_str());
    if (!ext)
      return nullptr;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return nullptr;
  return cert;
}

expected<key_ptr> read_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f)
    return failed("cannot read " + path);
  key_ptr key{PEM_read_PrivateKey(f, nullptr, nullptr, nullptr)};
  std::fclose(f);
  if (!key)
    return failed(path + " holds no PEM private key");
  return key;
}

expected<cert_ptr> read_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f)
    return failed("cannot read " + path);
  cert_ptr cert{PEM_read_X509(f, nullptr, nullptr, nullptr)};
  std::fclose(f);
  if (!cert)
    return failed(path + " holds no PEM certificate");
  return cert;
}

} // namespace

namespace {

error make_tls_material(const topology& t, std::ostream& log) {
  if (t.ca_key.empty())
    return failed(t.file + ": tls needs \"ca_key\" to sign certificates");
  key_ptr ca_key;
  cert_ptr ca_cert;
  if (fs::exists(t.ca) && fs::exists(t.ca_key)) {
    auto k = read_key(t.ca_key);
    auto c = k ? read_cert(t.ca) : expected<cert_ptr>{k.error()};
    if (!c)
      return c.error();
    ca_key = std::move(*k);
    ca_cert = std::move(*c);
    log << "kept the CA " << t.ca << "\n";
  } else {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key)
      return failed("cannot generate a key");
    ca_cert = make_cert(t.network + "-ca", ca_key.get(), nullptr, ca_key.get(), 1);
    if (!ca_cert)
      return failed("cannot sign the CA certificate");
    if (auto err = write_key(ca_key.get(), t.ca_key))
      return err;
    if (auto err = write_cert(ca_cert.get(), t.ca))
      return err;
    log << "created the CA " << t.ca << "\n";
  }
  long serial = 2;
  auto issue = [&](const std::string& cn, const tls_files& files,
                   const std::string& alt_names = {}) -> error {
    if (files.cert.empty())
      return error{};
    key_ptr key{EVP_EC_gen("P-256")};
    if (!key)
      return failed("cannot generate a key");
    auto cert = make_cert(cn, key.get(), ca_cert.get(), ca_key.get(), serial++, alt_names);
    if (!cert)
      return failed("cannot sign the certificate of " + cn);
    if (auto err = write_key(key.get(), files.key))
      return err;
    if (auto err = write_cert(cert.get(), files.cert))
      return err;
    log << "created " << files.cert << " and " << files.key << " for " << cn << "\n";
    return error{};
  };
  for (const auto& n : t.nodes) {
    // The node's name, and the host it serves on, as an address or a name.
    unsigned char ip[16];
    bool numeric = inet_pton(AF_INET, n.host.c_str(), ip) == 1
                   || inet_pton(AF_INET6, n.host.c_str(), ip) == 1;
    auto alt = "DNS:" + n.name + "," + (numeric ? "IP:" : "DNS:") + n.host;
    if (auto err = issue(n.name, n.tls, alt))
      return err;
  }
  return issue("shell", t.client);
}

// Node keys: each node's own, in its data directory; its public half where the topology
// looks for it.
error make_node_keys(const topology& t, std::ostream& log) {
  for (const auto& n : t.nodes) {
    if (!n.key_is_file())
      continue;
    auto key = chain::node_key::load_or_create(n.data_dir);
    if (!key)
      return key.error();
    if (auto err = ensure_dir(n.key))
      return err;
    std::ofstream out{n.key};
    out << chain::to_hex(key->public_bytes()) << "\n";
    if (!out)
      return failed("cannot write " + n.key);
    log << "node key of " << n.name << " (id " << key->id() << ") in " << n.data_dir
        << "/node.key, public key in " << n.key << "\n";
  }
  return error{};
}

} // namespace

error make_certificates(const topology& t, std::ostream& log) {
  bool keys =
      std::any_of(t.nodes.begin(), t.nodes.end(), [](auto& n) { return !n.key.empty(); });
  if (!t.tls && !keys)
    return failed(t.file + " has no tls section and lists no node keys; nothing to create");
  if (t.tls)
    if (auto err = make_tls_material(t, log))
      return err;
  return make_node_keys(t, log);
}

} // namespace nexus::node_app
