#include "compute/errc.hpp"

namespace nexus {

std::string to_string(errc x) {
  switch (x) {
  case errc::unavailable:
    return "unavailable";
  case errc::invalid_input:
    return "invalid_input";
  case errc::corrupted:
    return "corrupted";
  case errc::not_found:
    return "not_found";
  case errc::rejected:
    return "rejected";
  case errc::failed:
    return "failed";
  case errc::timeout:
    return "timeout";
  case errc::exhausted:
    return "exhausted";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string describe(const error& err) {
  if (!err)
    return "no error";
  if (!err.reason().empty())
    return err.reason();
  return to_string(err.code());
}

} // namespace nexus
