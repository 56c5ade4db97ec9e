#include "actors/api/identity.hpp"

#include "actors/api/detail.hpp"
#include "chain/hash.hpp"

namespace nexus::api {

namespace {

error check_name(const std::string& name) {
  if (name.empty() || name.size() > 256 || name.find('\0') != std::string::npos)
    return make_error(errc::invalid_input, "an account name is 1 to 256 bytes without NUL");
  if (chain::reserved_name(name))
    return make_error(errc::invalid_input, "'" + name + "' is a name the network reserves");
  return {};
}

} // namespace

expected<identity> identity::load_or_create(std::string name,
                                            const std::filesystem::path& dir) {
  if (auto err = check_name(name))
    return err;
  auto key = chain::node_key::load_or_create(dir);
  if (!key)
    return key.error();
  return identity{std::make_shared<impl>(impl{std::move(name), std::move(*key)})};
}

expected<identity> identity::generate(std::string name) {
  if (auto err = check_name(name))
    return err;
  auto key = chain::node_key::generate();
  if (!key)
    return key.error();
  return identity{std::make_shared<impl>(impl{std::move(name), std::move(*key)})};
}

const std::string& identity::name() const noexcept {
  return impl_->name;
}

std::string identity::public_key_hex() const {
  return chain::to_hex(impl_->key.public_bytes());
}

} // namespace nexus::api
