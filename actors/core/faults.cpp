#include "actors/core/faults.hpp"

#include <cstdlib>

namespace nexus {

std::string to_string(worker_fault x) {
  switch (x) {
  case worker_fault::none:
    return "none";
  case worker_fault::corrupt:
    return "corrupt";
  case worker_fault::device_lost:
    return "device-lost";
  case worker_fault::device_full:
    return "device-full";
  case worker_fault::late:
    return "late";
  case worker_fault::crash:
    return "crash";
  case worker_fault::garbage:
    return "garbage";
  }
  return "unknown";
}

expected<std::pair<worker_fault, double>> parse_worker_fault(const std::string& text) {
  auto colon = text.find(':');
  auto name = text.substr(0, colon);
  double rate = 1.0;
  if (colon != std::string::npos) {
    char* end = nullptr;
    rate = std::strtod(text.c_str() + colon + 1, &end);
    if (end == text.c_str() + colon + 1 || *end != '\0' || !(rate > 0.0 && rate <= 1.0))
      return make_error(errc::invalid_input,
                        "fault rate in '" + text + "' must be a number in (0, 1]");
  }
  for (auto f : {worker_fault::none, worker_fault::corrupt, worker_fault::device_lost,
                 worker_fault::device_full, worker_fault::late, worker_fault::crash,
                 worker_fault::garbage})
    if (to_string(f) == name)
      return std::pair{f, rate};
  return make_error(
      errc::invalid_input,
      "unknown fault '" + name
          + "' (none, corrupt, late, crash, garbage, device-lost, device-full; "
            "a rate may follow, as in corrupt:0.3)");
}

expected<double> parse_lie(const std::string& text) {
  if (text == "lie")
    return 1.0;
  if (text.starts_with("lie:")) {
    char* end = nullptr;
    auto rate = std::strtod(text.c_str() + 4, &end);
    if (end != text.c_str() + 4 && *end == '\0' && rate > 0.0 && rate <= 1.0)
      return rate;
  }
  return make_error(errc::invalid_input, "unknown validator fault '" + text
                                             + "' (lie, or lie:RATE with RATE in (0, 1])");
}

fault_plan::fault_plan(worker_fault fault, double rate, uint64_t seed)
    : fault_(fault)
    , rate_(rate)
    , seed_(seed)
    , rng_(seed) {}

bool fault_plan::strikes(worker_fault f) {
  if (fault_ != f)
    return false;
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng_) < rate_;
}

void fault_plan::corrupt(compute::tensor& block) {
  if (block.empty())
    return;
  std::mt19937_64 rng{seed_ + corruptions_++};
  std::uniform_int_distribution<std::size_t> pick{0, block.size() - 1};
  for (int i = 0; i < 3; ++i) {
    auto& x = block.data()[pick(rng)];
    x = x * 1.5f + 1.0f;
  }
}

std::vector<uint8_t> fault_plan::garbage() {
  std::vector<uint8_t> junk(64 + rng_() % 512);
  for (auto& b : junk)
    b = static_cast<uint8_t>(rng_());
  return junk;
}

} // namespace nexus
