#include "compute/errc.hpp"

#include <caf/sec.hpp>

namespace nexus {

std::string to_string(errc x) {
  switch (x) {
    case errc::unavailable: return "unavailable";
    case errc::invalid_input: return "invalid_input";
    case errc::corrupted: return "corrupted";
    case errc::not_found: return "not_found";
    case errc::rejected: return "rejected";
    case errc::failed: return "failed";
    case errc::timeout: return "timeout";
    case errc::exhausted: return "exhausted";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  const auto& ctx = err.context();
  if (err.category() == errc_category) {
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    return to_string(static_cast<errc>(err.code()));
  }
  if (err.category() == caf::atom("system")) {
    auto text = caf::to_string(static_cast<caf::sec>(err.code()));
    if (!ctx.empty()) {
      text += ' ';
      text += caf::to_string(ctx);
    }
    return text;
  }
  return caf::to_string(err);
}

} // namespace nexus
