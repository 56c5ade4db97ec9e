#include "apps/nexus-shell/detail.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "actors/core/workload.hpp"
#include "compute/errc.hpp"

namespace nexus::shell::detail {

error fail(std::string what) {
  return make_error(errc::invalid_input, std::move(what));
}

expected<uint64_t> to_uint(std::string_view what, const std::string& text, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max)
    return fail(std::string{what} + " expects a whole number up to " + std::to_string(max)
                + ", got '" + text + "'");
  return value;
}

expected<uint64_t> flag_uint(const command_line& cmd, const std::string& flag,
                             uint64_t fallback, uint64_t max) {
  auto i = cmd.flags.find(flag);
  if (i == cmd.flags.end())
    return fallback;
  return to_uint("--" + flag, i->second, max);
}

expected<uint64_t> task_arg(const command_line& cmd, std::string_view name, uint64_t last) {
  if (cmd.words.size() != 2)
    return fail(std::string{name} + ": expects one task id, or last (e.g. "
                + std::string{name} + " last)");
  if (cmd.words[1] == "last") {
    if (last == 0)
      return fail(std::string{name} + ": no task submitted yet in this shell");
    return last;
  }
  return to_uint(std::string{name} + ": task id", cmd.words[1], UINT64_MAX);
}

std::string seconds(uint64_t ns) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(ns < 10'000'000'000 ? 2 : 1) << ns / 1e9 << " s";
  return out.str();
}

std::string summary(const task_report& r) {
  std::ostringstream out;
  out << "task " << r.task_id << " " << to_string(r.state) << " in "
      << seconds(r.elapsed_ns) << ": " << r.shards_validated << "/" << r.shard_count
      << (workload_of(r.workload).is_run() ? " steps done" : " shards validated");
  if (r.results_rejected > 0 || r.shards_reissued > 0)
    out << ", " << r.results_rejected << " results rejected, " << r.shards_reissued
        << " shards re-issued";
  if (r.state == task_state::done && r.elapsed_ns > 0)
    out << " (" << std::fixed << std::setprecision(1) << r.flops / r.elapsed_ns
        << " GFLOP/s)";
  if (!r.reason.empty() && r.finished())
    out << "\n  reason: " << r.reason;
  return out.str();
}

std::string progress_bar(const task_report& r) {
  constexpr int width = 30;
  auto total = std::max<uint32_t>(1, r.shard_count);
  int filled = static_cast<int>(width * r.shards_validated / total);
  std::ostringstream out;
  out << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
      << r.shards_validated << "/" << r.shard_count << " validated, " << r.shards_in_flight
      << " in flight";
  if (r.results_rejected > 0)
    out << ", " << r.results_rejected << " rejected";
  out << ", " << seconds(r.elapsed_ns);
  if (r.elapsed_ns > 0)
    out << ", " << std::fixed << std::setprecision(1)
        << r.shards_validated / (r.elapsed_ns / 1e9) << " shards/s";
  if (!r.reason.empty())
    out << " (" << r.reason << ")";
  out << "\033[K" << std::flush; // clear what a longer line left
  return out.str();
}

error common_options(const command_line& cmd, task_request& req, std::string label) {
  auto priority = flag_uint(cmd, "priority", 0, 1000);
  auto timeout = flag_uint(cmd, "timeout", 0, 7 * 24 * 3600);
  auto attempts = flag_uint(cmd, "attempts", 0, 100);
  for (auto* x : {&priority, &timeout, &attempts})
    if (!*x)
      return x->error();
  req.priority = static_cast<uint32_t>(*priority);
  req.timeout_s = static_cast<uint32_t>(*timeout);
  req.max_attempts = static_cast<uint32_t>(*attempts);
  req.label = cmd.flags.contains("label") ? cmd.flags.at("label") : std::move(label);
  if (auto v = cmd.flags.find("verify"); v != cmd.flags.end()) {
    const auto& how = v->second;
    auto k = how.starts_with("replicate:") ? to_uint("--verify", how.substr(10), 9)
                                           : expected<uint64_t>{errc::failed};
    if (how == "validators")
      req.replicas = 0;
    else if (k && *k >= 2)
      req.replicas = static_cast<uint32_t>(*k);
    else
      return fail("--verify takes validators or replicate:K with K from 2 to 9, not '" + how
                  + "'");
  }
  return {};
}

std::string submitter_name() {
  const char* user = std::getenv("USER");
  return user && *user ? user : "nexus-shell";
}

} // namespace nexus::shell::detail
