// Fuzz target: the text users type or write: the YAML topology and the shell's command
// lines. The first byte picks which. Errors must be reported, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "apps/nexus-shell/commands.hpp"
#include "config/topology.hpp"

using namespace nexus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0)
    (void)parse_topology(text, "fuzz.yaml");
  else
    (void)shell::tokenize(text);
  return 0;
}
