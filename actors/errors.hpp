// Where NexusChain's errors (compute/errc.hpp) meet CAF's: replies that cross between
// actors carry caf::error, everything else carries nexus::error. An error keeps its code
// and reason both ways, so that a user reads the same text on either side of a network.
#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "compute/errc.hpp"

namespace nexus {

/// The CAF error category of our errors.
constexpr caf::atom_value errc_category = caf::atom("nexus");

/// Our error as CAF sends it (none for none).
caf::error to_caf(const error& err);

/// CAF's error as ours: our own keep code and reason; CAF's keep the name CAF gives them
/// as their reason (e.g. "request_timeout") under the code that says what to do:
/// errc::timeout for time-outs, errc::unavailable for a peer that cannot be reached or
/// went away, errc::rejected for a peer that hung up during the handshake (it refused
/// our certificate), errc::failed for the rest.
error from_caf(const caf::error& err);

/// The reason of a CAF error as a user reads it (from_caf's).
std::string describe(const caf::error& err);

} // namespace nexus
