#include "actors/errors.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace nexus {

namespace {

// What the caller of a request should do about CAF's error: wait longer, try again
// (nothing listens yet, the peer went away), or give up (it refused us).
errc code_of(caf::sec x) {
  switch (x) {
  case caf::sec::request_timeout:
  case caf::sec::connection_timeout:
    return errc::timeout;
  case caf::sec::cannot_connect_to_node:
  case caf::sec::no_route_to_receiving_node:
  case caf::sec::request_receiver_down:
    return errc::unavailable;
  case caf::sec::disconnect_during_handshake:
    return errc::rejected;
  default:
    return errc::failed;
  }
}

} // namespace

caf::error to_caf(const error& err) {
  if (!err)
    return caf::none;
  auto code = static_cast<uint8_t>(err.code());
  if (err.reason().empty())
    return caf::error{code, errc_category};
  return caf::error{code, errc_category, caf::make_message(err.reason())};
}

error from_caf(const caf::error& err) {
  if (!err)
    return {};
  const auto& ctx = err.context();
  if (err.category() == errc_category) {
    auto code = static_cast<errc>(err.code());
    if (ctx.match_elements<std::string>())
      return error{code, ctx.get_as<std::string>(0)};
    return error{code};
  }
  if (err.category() == caf::atom("system")) {
    auto sec = static_cast<caf::sec>(err.code());
    auto text = caf::to_string(sec);
    if (!ctx.empty()) {
      text += ' ';
      text += caf::to_string(ctx);
    }
    return error{code_of(sec), std::move(text)};
  }
  return error{errc::failed, caf::to_string(err)};
}

std::string describe(const caf::error& err) {
  return describe(from_caf(err));
}

} // namespace nexus
