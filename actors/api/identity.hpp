// A submitter's identity: an account name and the Ed25519 key that signs its submissions.
// Part of NexusChain's public API (actors/api/nexus.hpp).
//
// The ledger charges a submission to the account of the key that signed it, and binds an
// account name to the first key that signs in it: keep the key (load_or_create) to keep
// the account.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "compute/errc.hpp"

namespace nexus::api {

class identity {
public:
  /// Account `name` with the key in `dir`/node.key, created (mode 0600) if absent.
  static expected<identity> load_or_create(std::string name,
                                           const std::filesystem::path& dir);

  /// Account `name` with a fresh key, kept nowhere.
  static expected<identity> generate(std::string name);

  const std::string& name() const noexcept;

  /// The public key, 64 hex digits.
  std::string public_key_hex() const;

  struct impl;
  const impl& internals() const noexcept {
    return *impl_;
  }

private:
  explicit identity(std::shared_ptr<const impl> x)
      : impl_(std::move(x)) {}

  std::shared_ptr<const impl> impl_;
};

} // namespace nexus::api
