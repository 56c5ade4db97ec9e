// Test TLS material for a topology: a CA, and a certificate and key for every node and
// for the shell, written where the topology names them.
#pragma once

#include <caf/error.hpp>

#include "actors/topology.hpp"

namespace nexus::node_app {

/// Creates the CA (unless its certificate and key exist) and every node's and the
/// client's certificate and key (P-256, signed by the CA, valid 825 days). Keys are
/// written with mode 0600. Prints one line per file to `log`.
caf::error make_certificates(const topology& t, std::ostream& log);

} // namespace nexus::node_app
