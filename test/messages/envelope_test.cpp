#include <algorithm>

#include <catch2/catch.hpp>

#include <array>

#include <caf/all.hpp>

#include "compute/errc.hpp"
#include "messages/codec.hpp"

using namespace nexus;

namespace {

blob_ref some_blob(uint8_t fill, compute::shape_t shape) {
  blob_ref ref;
  ref.id.fill(fill);
  ref.shape = std::move(shape);
  return ref;
}

shard_task some_shard() {
  shard_task x;
  x.task_id = 42;
  x.shard_id = 3;
  x.attempt = 2;
  x.shard_count = 8;
  x.row_begin = 96;
  x.row_end = 128;
  x.tolerance = 1e-5;
  x.verify_rounds = 8;
  x.matmul = {some_blob(1, {256, 64}), some_blob(2, {64, 32})};
  return x;
}

// `env` serialized by CAF and read back, as it crosses to another process.
template <class Envelope>
Envelope through_caf(Envelope env) { // a copy shares the bytes
  caf::actor_system_config cfg;
  wire::register_message_types(cfg);
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(env));
  Envelope back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(back));
  return back;
}

} // namespace

TEST_CASE("a shard assignment survives encoding", "[messages]") {
  auto x = some_shard();
  auto y = wire::decode(wire::encode(x));
  REQUIRE(y);
  CHECK(y->task_id == 42);
  CHECK(y->shard_id == 3);
  CHECK(y->attempt == 2);
  CHECK(y->row_begin == 96);
  CHECK(y->row_end == 128);
  CHECK(y->tolerance == 1e-5);
  CHECK(y->matmul.a.id == x.matmul.a.id);
  CHECK(y->matmul.b.shape == compute::shape_t{64, 32});
}

TEST_CASE("a shard result carries its tensor bit for bit", "[messages]") {
  shard_output x{7, 1, 1, "worker-1", compute::random_tensor({13, 17}, 3), 12345, {}};
  auto y = wire::decode(wire::encode(x));
  REQUIRE(y);
  CHECK(y->worker == "worker-1");
  CHECK(y->output == x.output);
  CHECK(y->compute_ns == 12345);
}

TEST_CASE("an output written in place is the message encoding it would give",
          "[messages]") {
  for (auto shape :
       {compute::shape_t{13, 17}, compute::shape_t{1, 5}, compute::shape_t{3, 2, 4},
        compute::shape_t{0, 7}, compute::shape_t{9}}) {
    INFO(compute::to_string(shape));
    auto expected = compute::random_tensor(shape, 5);
    wire::output_message out{99, shape};
    REQUIRE(out.values().size() == expected.size());
    CHECK(out.cols() == expected.cols());
    CHECK(std::all_of(out.values().begin(), out.values().end(),
                      [](float v) { return v == 0; }));
    std::copy(expected.values().begin(), expected.values().end(), out.values().begin());
    auto msg = out.finish();
    CHECK(out.values().empty());
    auto y = wire::decode(msg);
    REQUIRE(y);
    CHECK(y->task_id == 99);
    CHECK(y->output == expected);
    // One segment, no larger than encoding the finished tensor (which references the
    // values as a segment of their own).
    CHECK(msg.bytes().size() <= wire::encode(task_output{99, expected}).bytes().size());
  }
}

TEST_CASE("submissions, verdicts and reports survive encoding", "[messages]") {
  task_request req;
  req.label = "A * B";
  req.shards = 5;
  req.matmul = {some_blob(3, {4, 5}), some_blob(4, {5, 6})};
  auto req2 = wire::decode(wire::encode(req));
  REQUIRE(req2);
  CHECK(req2->label == "A * B");
  CHECK(req2->shards == 5);

  verdict v{1, 2, 3, "w", "v", false, "Freivalds check failed at row 7", 99};
  auto v2 = wire::decode(wire::encode(v));
  REQUIRE(v2);
  CHECK_FALSE(v2->valid);
  CHECK(v2->reason == v.reason);

  task_report r;
  r.task_id = 9;
  r.state = task_state::failed;
  r.reason = "no";
  r.output_shape = {3, 4};
  auto list = wire::decode(wire::encode(std::vector<task_report>{r, r}));
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[1].state == task_state::failed);
  CHECK((*list)[1].output_shape == compute::shape_t{3, 4});
}

TEST_CASE("every truncation of a message is rejected, never a crash", "[messages]") {
  auto bytes = wire::encode(some_shard()).bytes();
  for (std::size_t len = 0; len < bytes.size(); len += 8) {
    wire::shard_task cut{std::vector<uint8_t>(bytes.begin(), bytes.begin() + len)};
    auto y = wire::decode(cut);
    CHECK_FALSE(y);
  }
  wire::shard_task odd{std::vector<uint8_t>(bytes.begin(), bytes.end() - 3)};
  CHECK(wire::decode(odd).error() == errc::corrupted);
}

TEST_CASE("flipped bytes never crash a decoder", "[messages]") {
  shard_output x{7, 1, 1, "worker-1", compute::random_tensor({4, 4}, 3), 1, {}};
  auto bytes = wire::encode(x).bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0xff;
    auto y = wire::decode(wire::shard_output{copy});
    if (y) // a changed payload byte still decodes, with the right size
      CHECK(y->output.size() == 16);
  }
}

TEST_CASE("a tensor whose payload disagrees with its shape is corrupted", "[messages]") {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ShardOutput>();
  auto t = out.initOutput();
  auto shape = t.initShape(2);
  shape.set(0, 4);
  shape.set(1, 4);
  t.initData(60); // 15 floats for a 4x4 tensor
  auto y = wire::decode(wire::shard_output{builder});
  REQUIRE_FALSE(y);
  CHECK(y.error() == errc::corrupted);
  CHECK_THAT(describe(y.error()), Catch::Contains("expected 64"));
}

TEST_CASE("an assignment whose rows lie outside A is corrupted", "[messages]") {
  auto x = some_shard();
  x.row_end = 1000;
  CHECK(wire::decode(wire::encode(x)).error() == errc::corrupted);
}

TEST_CASE("envelopes cross CAF's serializer unchanged", "[messages]") {
  auto env = wire::encode(some_shard());
  CHECK(through_caf(env) == env);
}

TEST_CASE("a node list of many nodes decodes (fields read twice count once more)",
          "[messages]") {
  std::vector<node_report> nodes;
  for (uint32_t i = 0; i < 200; ++i) {
    node_report r;
    r.info = node_info{"worker-" + std::to_string(i), node_role::worker, "cpu", 2, 10.5, 2};
    r.info.public_key.assign(32, static_cast<uint8_t>(i));
    r.in_flight = i % 3;
    r.peak_in_flight = 2;
    r.window = 2;
    nodes.push_back(std::move(r));
  }
  auto back = wire::decode(wire::encode(nodes));
  REQUIRE(back);
  REQUIRE(back->size() == nodes.size());
  CHECK(back->back().info.name == "worker-199");
  CHECK(back->back().peak_in_flight == 2);
  CHECK(back->back().window == 2);
}

TEST_CASE("a result kept for this process is flattened once, when its bytes are needed",
          "[messages]") {
  auto x = std::make_shared<const shard_output>(
      shard_output{7, 2, 1, "worker-1", compute::random_tensor({9, 11}, 5), 99, {}});
  auto env = wire::encode_shared(x);
  auto copy = env;
  CHECK_FALSE(env.empty());
  // Readers in this process get the kept value, not a decoded copy.
  auto shared = wire::decode_shared(copy);
  REQUIRE(shared);
  CHECK(shared->get() == x.get());
  // The bytes, built on first need and shared by every copy, decode to the same result,
  // also after crossing CAF's serializer (which is how they leave the process).
  CHECK(&env.bytes() == &copy.bytes());
  CHECK(env.bytes() == wire::encode(*x).bytes());
  auto back = through_caf(copy);
  CHECK_FALSE(back.decoded());
  auto y = wire::decode(back);
  REQUIRE(y);
  CHECK(y->output == x->output);
  CHECK(y->shard_id == 2);
  CHECK(wire::shard_output{}.empty());
}

TEST_CASE("a ledger answer whose block digests are not 32 bytes is corrupted, and an "
          "unknown question is refused",
          "[messages]") {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerAnswer>();
  auto block = out.initBlocks(1)[0];
  std::array<uint8_t, 32> digest{};
  block.setHash({digest.data(), 5}); // cut short
  block.setPrev({digest.data(), digest.size()});
  block.setMerkleRoot({digest.data(), digest.size()});
  block.setProposer({digest.data(), digest.size()});
  auto a = wire::decode(wire::ledger_answer{builder});
  REQUIRE_FALSE(a);
  CHECK(a.error() == errc::corrupted);
  CHECK_THAT(describe(a.error()), Catch::Contains("block hash of 5 bytes"));

  capnp::MallocMessageBuilder query;
  query.initRoot<schema::LedgerQuery>().setQuestion(
      static_cast<schema::LedgerQuestion>(42));
  auto q = wire::decode(wire::ledger_query{query});
  REQUIRE_FALSE(q);
  CHECK(q.error() == errc::corrupted);
  CHECK_THAT(describe(q.error()), Catch::Contains("unknown ledger question 42"));
}
