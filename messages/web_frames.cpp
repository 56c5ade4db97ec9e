#include "messages/web_frames.hpp"

namespace nexus::web {

std::vector<uint8_t> frame_of(frame kind, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out;
  out.reserve(bytes.size() + 1);
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

expected<browser_frame> read_browser_frame(std::span<const uint8_t> bytes) {
  if (bytes.empty())
    return make_error(errc::invalid_input, "an empty frame");
  if (bytes.size() > max_browser_frame)
    return make_error(errc::invalid_input, "a frame of " + std::to_string(bytes.size())
                                               + " bytes, above the limit of "
                                               + std::to_string(max_browser_frame));
  std::vector<uint8_t> body(bytes.begin() + 1, bytes.end());
  switch (static_cast<frame>(bytes[0])) {
  case frame::join: {
    wire::node_info raw{std::move(body)};
    auto info = wire::decode(raw);
    if (!info)
      return info.error();
    return join_frame{std::move(raw), std::move(*info)};
  }
  case frame::result: {
    wire::shard_output raw{std::move(body)};
    auto result = wire::decode(raw);
    if (!result)
      return result.error();
    return result_frame{std::move(raw), std::move(*result)};
  }
  default:
    return make_error(errc::invalid_input, "a frame of kind " + std::to_string(bytes[0])
                                               + ", which is none a browser sends");
  }
}

} // namespace nexus::web
