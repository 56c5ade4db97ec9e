// Helpers the shell's command files share: errors, number flags, durations and the
// one-line summaries and progress bars of tasks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "apps/nexus-shell/commands.hpp"

namespace nexus::shell::detail {

/// An errc::invalid_input error with `what` as its text.
error fail(std::string what);

/// A whole number up to `max` from `text`; the error names `what`.
expected<uint64_t> to_uint(std::string_view what, const std::string& text,
                           uint64_t max = UINT32_MAX);

/// Flag `flag` as a whole number, or `fallback` when absent.
expected<uint64_t> flag_uint(const command_line& cmd, const std::string& flag,
                             uint64_t fallback, uint64_t max = UINT32_MAX);

/// The one task id argument of `name TASK`: a number, or `last` for `last` (the task this
/// shell submitted last; 0: none yet).
expected<uint64_t> task_arg(const command_line& cmd, std::string_view name, uint64_t last);

/// The account charged for what this shell submits: the login name, or "nexus-shell".
std::string submitter_name();

/// What every submission shares: --priority, --timeout, --attempts, --label (else
/// `label`), and the submitter's account.
error common_options(const command_line& cmd, task_request& req, std::string label);

/// "1.25 s"
std::string seconds(uint64_t ns);

/// "task 3 done in 1.20 s: 8/8 shards validated (52.1 GFLOP/s)"
std::string summary(const task_report& r);

/// A progress bar that redraws itself on a terminal line.
std::string progress_bar(const task_report& r);

} // namespace nexus::shell::detail
