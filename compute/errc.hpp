// Expected failures across NexusChain, as one CAF error category ("nexus").
//
// Library code returns caf::expected<T> or caf::error built from these codes, each
// carrying a human-readable reason as its context. Codes name what the caller should
// do next, not what went wrong inside. Plain header + one .cpp: no actor system needed.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace nexus {

enum class errc : uint8_t {
  unavailable = 1, // transient: retry later or elsewhere
  invalid_input,   // the request is wrong: fix it
  corrupted,       // bytes or state failed a check: alert
  not_found,       // the named thing does not exist
  rejected,        // a result failed verification
  failed,          // the work itself failed, past its retries
  timeout,         // nothing came back in time
  exhausted,       // out of memory or another resource: smaller work may still fit
};

constexpr caf::atom_value errc_category = caf::atom("nexus");

std::string to_string(errc x);

/// Error without a reason, used to compare: `err == errc::not_found`.
inline caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), errc_category};
}

/// Error with a reason for the user, e.g. "A is 512x300 but B is 200x512".
inline caf::error make_error(errc x, std::string reason) {
  return caf::error{static_cast<uint8_t>(x), errc_category,
                    caf::make_message(std::move(reason))};
}

/// True if `err` is ours and has code `x`, whatever its reason.
inline bool is(const caf::error& err, errc x) {
  return err.category() == errc_category && err.code() == static_cast<uint8_t>(x);
}

/// The reason of an error as a user reads it: our own errors give their text,
/// CAF's give the name of their code (e.g. "request_timeout").
std::string describe(const caf::error& err);

} // namespace nexus
