// The frames browsers send, as the page builds them with capnp-es (the seeds of
// test/fuzz/corpus/web were written by it), read by the C++ decoders; and every way a
// frame can be wrong.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "messages/web_frames.hpp"

using namespace nexus;

namespace {

std::vector<uint8_t> seed(const std::string& name) {
  const char* root = std::getenv("NEXUS_SOURCE_ROOT");
  auto path = std::filesystem::path{root ? root : "."} / "test/fuzz/corpus/web" / name;
  std::ifstream in{path, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, {}};
}

} // namespace

TEST_CASE("frames capnp-es wrote in JavaScript decode in C++", "[messages][web]") {
  auto join = web::read_browser_frame(seed("join"));
  REQUIRE(join);
  auto& j = std::get<web::join_frame>(*join);
  CHECK(j.info.name == "browser-0123456789abcdef");
  CHECK(j.info.role == node_role::worker);
  CHECK(j.info.public_key == std::vector<uint8_t>(32, 1));
  CHECK(j.info.signature.size() == 64);

  auto result = web::read_browser_frame(seed("result"));
  REQUIRE(result);
  auto& r = std::get<web::result_frame>(*result).result;
  CHECK(r.task_id == 7);
  CHECK(r.output.shape() == compute::shape_t{2, 3});
  CHECK(r.output.data()[5] == 6.0f);
  CHECK(r.signature.sig[0] == 4);

  auto failed = web::read_browser_frame(seed("error-result"));
  REQUIRE(failed);
  CHECK_THAT(std::get<web::result_frame>(*failed).result.error, Catch::Contains("matmul"));
}

TEST_CASE("a frame a browser should not send is refused with why", "[messages][web]") {
  CHECK(web::read_browser_frame({}).error() == errc::invalid_input);
  CHECK(web::read_browser_frame(seed("unknown-kind")).error() == errc::invalid_input);
  // A server's frame sent back is no browser's.
  auto join = seed("join");
  join[0] = static_cast<uint8_t>(web::frame::assign);
  CHECK_THAT(describe(web::read_browser_frame(join).error()),
             Catch::Contains("none a browser sends"));
  // Cut short, or with its bytes flipped: corrupted.
  auto result = seed("result");
  result.resize(result.size() / 2);
  CHECK(web::read_browser_frame(result).error() == errc::corrupted);
  // A result whose data holds fewer bytes than its shape needs.
  auto lying = seed("result");
  lying[lying.size() - 100] ^= 0xff;
  CHECK_FALSE(web::read_browser_frame(lying).has_value());
  // Above the limit before anything is read.
  std::vector<uint8_t> huge(web::max_browser_frame + 1, 0);
  huge[0] = static_cast<uint8_t>(web::frame::result);
  CHECK_THAT(describe(web::read_browser_frame(huge).error()),
             Catch::Contains("above the limit"));
}
