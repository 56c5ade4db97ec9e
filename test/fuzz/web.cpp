// Fuzz target: the web endpoint's one decoder of what browsers send (a frame's kind, then
// a join or a signed result; messages/web_frames.hpp), on arbitrary bytes. It must never
// crash, read out of bounds or leak: bad frames give errc::invalid_input or corrupted.
#include <cstddef>
#include <cstdint>

#include "messages/web_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto frame = nexus::web::read_browser_frame({data, size});
  if (!frame && frame.error().code() != nexus::errc::invalid_input
      && frame.error().code() != nexus::errc::corrupted)
    __builtin_trap(); // an error a browser's bytes should never cause
  return 0;
}
