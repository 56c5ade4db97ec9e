#include "messages/web_frames.hpp"

namespace nexus::web {

std::vector<uint8_t> frame_of(frame kind, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out;
  out.reserve(bytes.size() + 1);
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

namespace {

// The frame's message read as `Envelope`, kept with what it decodes to, as `Frame`.
template <class Frame, class Envelope>
expected<browser_frame> read_as(std::vector<uint8_t> body) {
  Envelope raw{std::move(body)};
  auto value = wire::decode(raw);
  if (!value)
    return value.error();
  return Frame{std::move(raw), std::move(*value)};
}

} // namespace

expected<browser_frame> read_browser_frame(std::span<const uint8_t> bytes) {
  if (bytes.empty())
    return make_error(errc::invalid_input, "an empty frame");
  if (bytes.size() > max_browser_frame)
    return make_error(errc::invalid_input, "a frame of " + std::to_string(bytes.size())
                                               + " bytes, above the limit of "
                                               + std::to_string(max_browser_frame));
  std::vector<uint8_t> body(bytes.begin() + 1, bytes.end());
  switch (static_cast<frame>(bytes[0])) {
  case frame::join:
    return read_as<join_frame, wire::node_info>(std::move(body));
  case frame::result:
    return read_as<result_frame, wire::shard_output>(std::move(body));
  default:
    return make_error(errc::invalid_input, "a frame of kind " + std::to_string(bytes[0])
                                               + ", which is none a browser sends");
  }
}

} // namespace nexus::web
