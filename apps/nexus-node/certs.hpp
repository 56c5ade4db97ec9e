// Test material for a topology: a CA, a certificate and key for every node and for the
// shell, and every node's Ed25519 key, written where the topology names them.
#pragma once

#include <caf/error.hpp>

#include "config/topology.hpp"

namespace nexus::node_app {

/// Creates the CA (unless its certificate and key exist) and every node's and the
/// client's certificate and key (P-256, signed by the CA, valid 825 days), when the
/// topology has a tls section; then each node's Ed25519 key in its data directory (kept
/// if it exists) with its public half where the topology's `key:` names a file. Private
/// keys are written with mode 0600. Prints one line per file to `log`.
error make_certificates(const topology& t, std::ostream& log);

} // namespace nexus::node_app
