// compute/nn: gradients against finite differences, learning a separable set, the
// optimizers, model specs, the file formats (safetensors, IDX) with malformed inputs, and
// rounds of local steps (compute/workloads/model.hpp): lanes, replay and checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include <zlib.h>

#include "compute/errc.hpp"
#include "compute/nn/train.hpp"
#include "compute/npy.hpp"
#include "compute/workloads/model.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::compute;
using namespace nexus::compute::nn;

namespace {

model_spec spec_of(const std::string& text) {
  auto s = parse_model_spec(text);
  REQUIRE(s);
  return *s;
}

// Two classes per axis-aligned half-space pair: class = which of `classes` bands x0 falls
// in.
dataset separable(std::size_t n, std::size_t features, std::size_t classes, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<float> u{-1.0f, 1.0f};
  dataset d;
  d.classes = classes;
  d.x = tensor{n, features};
  d.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto label = static_cast<int32_t>(i % classes);
    for (std::size_t f = 0; f < features; ++f)
      d.x(i, f) = 0.3f * u(rng);
    d.x(i, static_cast<std::size_t>(label) % features) += 1.0f; // its own direction
    d.y[i] = label;
  }
  return d;
}

std::vector<uint8_t> idx_bytes(uint8_t rank, std::vector<uint32_t> dims,
                               std::size_t payload) {
  std::vector<uint8_t> out{0, 0, 0x08, rank};
  for (auto d : dims)
    for (int shift : {24, 16, 8, 0})
      out.push_back(static_cast<uint8_t>(d >> shift));
  for (std::size_t i = 0; i < payload; ++i)
    out.push_back(static_cast<uint8_t>(i * 7));
  return out;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

void write_raw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out{path, std::ios::binary};
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

} // namespace

TEST_CASE("gradients match finite differences", "[nn]") {
  auto model = mlp::initialized(spec_of("mlp:6-5-4-3"), 7);
  auto data = separable(9, 6, 3, 3);
  std::vector<float> grad(model.parameters().size(), 0.0f);
  model.gradient(data.x.data(), data.y.data(), data.size(), grad);
  auto loss = [&] {
    std::vector<float> scratch(model.parameters().size());
    return model.gradient(data.x.data(), data.y.data(), data.size(), scratch).loss_sum;
  };
  std::size_t checked = 0;
  for (std::size_t i = 0; i < model.parameters().size(); ++i) {
    auto& p = model.parameters()[i];
    auto saved = p;
    const float h = 1e-2f;
    p = saved + h;
    auto up = loss();
    p = saved - h;
    auto down = loss();
    p = saved;
    auto numeric = (up - down) / (2.0 * h);
    INFO("parameter " << i << ": analytic " << grad[i] << ", numeric " << numeric);
    CHECK(grad[i] == Approx(numeric).margin(2e-3).epsilon(2e-2));
    ++checked;
  }
  CHECK(checked == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
}

TEST_CASE("a gradient is the same bits wherever its buffer lies", "[nn]") {
  // Rows of a round's result start at every alignment; a sum whose order followed the
  // alignment (Eigen's colwise().sum() did, for the biases) trained differently from one
  // process to the next.
  auto model = mlp::initialized(spec_of("mlp:20-37-29-5"), 3);
  auto data = separable(64, 20, 5, 4);
  auto params = model.parameters().size();
  std::vector<float> want;
  for (std::size_t offset = 0; offset < 16; ++offset) {
    std::vector<float> buffer(offset + params, 0.0f);
    model.gradient(data.x.data(), data.y.data(), data.size(),
                   {buffer.data() + offset, params});
    std::vector<float> got(buffer.begin() + static_cast<std::ptrdiff_t>(offset),
                           buffer.end());
    if (want.empty())
      want = got;
    INFO("offset " << offset);
    CHECK(std::memcmp(got.data(), want.data(), params * sizeof(float)) == 0);
  }
}

TEST_CASE("a small model learns a separable set", "[nn]") {
  auto train = separable(2000, 8, 4, 1);
  auto test = separable(500, 8, 4, 2);
  for (auto kind : {optimizer_kind::adam, optimizer_kind::sgd}) {
    auto model = mlp::initialized(spec_of("mlp:8-16-4"), 3);
    train_config config;
    config.epochs = 5;
    config.batch = 64;
    config.optimizer = kind;
    config.lr = kind == optimizer_kind::adam ? 1e-2 : 1e-1;
    config.schedule = lr_schedule::cosine;
    std::vector<epoch_report> reports;
    train_local(model, train, &test, config,
                [&](const epoch_report& r) { reports.push_back(r); });
    REQUIRE(reports.size() == 5);
    CHECK(reports.back().loss < reports.front().loss);
    CHECK(reports.back().test_accuracy > 0.99);
    auto probs = model.probabilities(test.x.data(), 3);
    for (std::size_t r = 0; r < 3; ++r) {
      double sum = 0;
      for (std::size_t c = 0; c < 4; ++c)
        sum += probs(r, c);
      CHECK(sum == Approx(1.0).epsilon(1e-5));
    }
  }
}

TEST_CASE("Adam's first step moves each parameter by the learning rate", "[nn]") {
  train_config config;
  config.optimizer = optimizer_kind::adam;
  optimizer opt{config, 3};
  std::vector<float> p{1.0f, 1.0f, 1.0f};
  std::vector<float> g{0.5f, -2.0f, 0.0f};
  opt.step(p, g, 0.1);
  CHECK(p[0] == Approx(0.9).epsilon(1e-4)); // bias-corrected: m/sqrt(v) = sign(g)
  CHECK(p[1] == Approx(1.1).epsilon(1e-4));
  CHECK(p[2] == 1.0f);
  CHECK(scheduled_lr(lr_schedule::cosine, 1.0, 0, 100) == Approx(1.0));
  CHECK(scheduled_lr(lr_schedule::cosine, 1.0, 50, 100) == Approx(0.5));
  CHECK(scheduled_lr(lr_schedule::cosine, 1.0, 100, 100) == Approx(0.0).margin(1e-12));
  CHECK(epoch_order(10, 1, 1) == epoch_order(10, 1, 1));
  CHECK(epoch_order(10, 1, 1) != epoch_order(10, 1, 2));
}

TEST_CASE("model specs: mlp strings and YAML files, with clear errors", "[nn]") {
  auto s = spec_of("mlp:784-256-128-10");
  CHECK(s.layers.size() == 3);
  CHECK(s.parameter_count() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  CHECK(s.text() == "mlp:784-256-128-10");
  for (auto bad : {"mlp:", "mlp:784", "mlp:784-", "mlp:784--10", "mlp:784-x-10", "mlp:0-10",
                   "mlp:784-1", "cnn:1-2", "mlp:784-70000-10"})
    CHECK_FALSE(parse_model_spec(bad));
  test::temp_dir dir;
  std::ofstream{dir.file("m.yaml")} << "model: mlp\ninputs: 784\nlayers:\n"
                                       "  - {units: 256, activation: relu}\n"
                                       "  - {units: 10}\n";
  auto y = parse_model_spec(dir.file("m.yaml"));
  REQUIRE(y);
  CHECK(*y == spec_of("mlp:784-256-10"));
  std::ofstream{dir.file("bad.yaml")} << "model: mlp\ninputs: 784\nlayers:\n"
                                         "  - {units: 256, activation: tanh}\n"
                                         "  - {units: 10}\n";
  auto bad = parse_model_spec(dir.file("bad.yaml"));
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("bad.yaml:4:") && Catch::Contains("tanh"));
}

TEST_CASE("models round trip through safetensors; malformed files are refused", "[nn]") {
  auto model = mlp::initialized(spec_of("mlp:6-5-3"), 11);
  test::temp_dir dir;
  auto path = dir.file("m.safetensors");
  REQUIRE_FALSE(write_safetensors(path, model.to_safetensors()));
  auto f = read_safetensors(path);
  REQUIRE(f);
  CHECK(f->metadata.at("nexus.model") == "mlp:6-5-3");
  REQUIRE(f->tensors.size() == 4);
  CHECK(f->tensors[0].name == "0.weight");
  CHECK(f->tensors[0].value.shape() == shape_t{5, 6});
  CHECK(f->tensors[3].name == "2.bias");
  auto back = mlp::from_safetensors(*f);
  REQUIRE(back);
  CHECK(std::equal(back->parameters().begin(), back->parameters().end(),
                   model.parameters().begin(), model.parameters().end()));

  auto bytes = serialize_safetensors(model.to_safetensors());
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  SECTION("truncated") {
    for (std::size_t cut :
         {std::size_t{0}, std::size_t{7}, std::size_t{20}, bytes.size() - 1})
      CHECK_FALSE(parse_safetensors(std::span{bytes}.first(cut)));
  }
  SECTION("a header length past the end") {
    bytes[0] = 0xff;
    bytes[3] = 0x7f;
    CHECK_THAT(describe(parse_safetensors(bytes).error()),
               Catch::Contains("header length"));
  }
  SECTION("bad JSON") {
    bytes[8] = '[';
    CHECK_THAT(describe(parse_safetensors(bytes).error()),
               Catch::Contains("not a JSON object"));
  }
  SECTION("trailing bytes") {
    bytes.push_back(0);
    CHECK_THAT(describe(parse_safetensors(bytes).error()),
               Catch::Contains("after the last tensor"));
  }
  SECTION("a wrong dtype or shape") {
    std::string text(reinterpret_cast<const char*>(bytes.data() + 8), header);
    auto at = text.find("\"F32\"");
    REQUIRE(at != std::string::npos);
    text.replace(at, 5, "\"I32\"");
    std::memcpy(bytes.data() + 8, text.data(), text.size());
    CHECK_THAT(describe(parse_safetensors(bytes).error()),
               Catch::Contains("I32 is not supported"));
  }
  SECTION("tensors that are not an MLP") {
    safetensors_file odd;
    odd.tensors.push_back({"0.weight", tensor{shape_t{5, 6}}});
    CHECK_THAT(describe(mlp::from_safetensors(odd).error()),
               Catch::Contains("lacks its bias"));
    odd.tensors.push_back({"0.bias", tensor{shape_t{5}}});
    odd.tensors.push_back({"2.weight", tensor{shape_t{3, 4}}});
    odd.tensors.push_back({"2.bias", tensor{shape_t{3}}});
    CHECK_THAT(describe(mlp::from_safetensors(odd).error()),
               Catch::Contains("takes 4 inputs, the layer before gives 5"));
    odd.tensors.push_back({"embedding", tensor{shape_t{3}}});
    CHECK_FALSE(mlp::from_safetensors(odd));
  }
}

TEST_CASE("half-precision safetensors are read as float32", "[nn]") {
  // {"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}} holding 1.0 and -2.5; BF16 too.
  for (auto [dtype, a, b] : {std::tuple{"F16", uint16_t{0x3c00}, uint16_t{0xc100}},
                             std::tuple{"BF16", uint16_t{0x3f80}, uint16_t{0xc020}}}) {
    std::string json = std::string{"{\"w\":{\"dtype\":\""} + dtype
                       + "\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    std::vector<uint8_t> bytes(8);
    uint64_t n = json.size();
    std::memcpy(bytes.data(), &n, 8);
    bytes.insert(bytes.end(), json.begin(), json.end());
    for (auto h : {a, b}) {
      bytes.push_back(static_cast<uint8_t>(h & 0xff));
      bytes.push_back(static_cast<uint8_t>(h >> 8));
    }
    auto f = parse_safetensors(bytes);
    REQUIRE(f);
    CHECK(f->tensors[0].value.values()[0] == 1.0f);
    CHECK(f->tensors[0].value.values()[1] == -2.5f);
  }
}

TEST_CASE("IDX files, compressed or not, and .npy pairs make data sets", "[nn]") {
  test::temp_dir dir;
  write_gz(dir.file("img.gz"), idx_bytes(3, {4, 2, 3}, 24));
  write_raw(dir.file("lab"), idx_bytes(1, {4}, 0));
  {
    std::ofstream out{dir.file("lab"), std::ios::binary | std::ios::app};
    out.write("\x01\x00\x03\x02", 4);
  }
  auto d = read_idx_pair(dir.file("img.gz"), dir.file("lab"));
  REQUIRE(d);
  CHECK(d->x.shape() == shape_t{4, 6});
  CHECK(d->x(1, 0) == Approx(static_cast<uint8_t>(6 * 7) / 255.0));
  CHECK(d->y == std::vector<int32_t>{1, 0, 3, 2});
  CHECK(d->classes == 4);

  SECTION("malformed IDX") {
    write_gz(dir.file("short.gz"), idx_bytes(3, {4, 2, 3}, 23));
    CHECK_THAT(describe(read_idx(dir.file("short.gz")).error()),
               Catch::Contains("announces 24 values, the file holds 23"));
    auto wrong = idx_bytes(1, {4}, 4);
    wrong[2] = 0x0d; // float
    write_raw(dir.file("float"), wrong);
    CHECK_THAT(describe(read_idx(dir.file("float")).error()),
               Catch::Contains("element type 13"));
    // A zero dimension with huge others: refused, not allocated (found by fuzz_files).
    write_raw(dir.file("empty"), idx_bytes(3, {0x42000803, 0, 2}, 0));
    CHECK_THAT(describe(read_idx(dir.file("empty")).error()), Catch::Contains("no values"));
    write_raw(dir.file("junk"), {1, 2, 3, 4, 5});
    CHECK_THAT(describe(read_idx(dir.file("junk")).error()), Catch::Contains("bad magic"));
    CHECK(read_idx(dir.file("missing")).error() == errc::not_found);
    write_raw(dir.file("lab3"), idx_bytes(1, {3}, 3));
    CHECK_THAT(describe(read_idx_pair(dir.file("img.gz"), dir.file("lab3")).error()),
               Catch::Contains("4 samples but 3 labels"));
  }
  SECTION(".npy pairs") {
    REQUIRE_FALSE(write_npy(dir.file("x.npy"), random_tensor({5, 3}, 1)));
    REQUIRE_FALSE(write_npy(dir.file("y.npy"), tensor{shape_t{5}, {0, 1, 2, 1, 0}}));
    auto p = load_dataset(dir.file("x.npy") + "," + dir.file("y.npy"));
    REQUIRE(p);
    CHECK(p->classes == 3);
    REQUIRE_FALSE(write_npy(dir.file("bad.npy"), tensor{shape_t{5}, {0, 1, 2.5f, 1, 0}}));
    CHECK_THAT(
        describe(load_dataset(dir.file("x.npy") + "," + dir.file("bad.npy")).error()),
        Catch::Contains("label 2 is 2.5"));
    CHECK_THAT(describe(load_dataset("imagenet").error()),
               Catch::Contains("unknown data set"));
  }
}

TEST_CASE("Fashion-MNIST from Debian's package, when installed", "[nn]") {
  auto test = load_dataset("fashion-mnist:test");
  if (!test) {
    WARN("skipped: " << describe(test.error()));
    return;
  }
  CHECK(test->x.shape() == shape_t{10000, 784});
  CHECK(test->classes == 10);
}

namespace {

// A round of local steps over `samples` samples of a separable set: 3 lanes of micro-
// batches of 16 rows out of batches of 40, 5 batches from the first.
struct round_case {
  dataset data;
  tensor x, labels;
  model_spec spec = spec_of("mlp:6-8-3");
  tensor weights, state;
  model_workload::round_ref round;

  explicit round_case(std::size_t samples)
      : data(separable(samples, 6, 3, 11)) {
    x = data.x;
    labels = tensor{samples, 1};
    for (std::size_t i = 0; i < samples; ++i)
      labels.values()[i] = static_cast<float>(data.y[i]);
    auto start = mlp::initialized(spec, 5);
    weights = tensor{shape_t{1, spec.parameter_count()},
                     {start.parameters().begin(), start.parameters().end()}};
    state = tensor{2, spec.parameter_count()};
    state.values()[3] = 0.01f; // a moment carried over from earlier rounds
    round.batch = {7, 1, 0, 40, 16};
    round.local_steps = 5;
    round.optimizer.lr = 1e-2;
    round.optimizer.schedule = lr_schedule::cosine;
    round.first_step = 3;
    round.total_steps = 50;
  }
};

float largest_difference(const float* a, const float* b, std::size_t n) {
  float out = 0;
  for (std::size_t i = 0; i < n; ++i)
    out = std::max(out, std::fabs(a[i] - b[i]));
  return out;
}

} // namespace

TEST_CASE("a round's lanes train apart and replay to where their worker took them",
          "[nn]") {
  round_case c{200};
  REQUIRE(c.round.lanes() == 3);
  auto rows = model_workload::train_round(c.spec, {c.weights, c.state}, c.x, c.labels,
                                          c.round, 0, 3);
  REQUIRE(rows);
  auto width = c.spec.parameter_count() + 2;
  REQUIRE(rows->shape() == shape_t{15, width});

  // Lane 1 by hand: micro-batch 1 (rows 16-31) of each batch, in the epoch's order.
  auto order = epoch_order(200, 7, 1);
  auto model = mlp::initialized(c.spec, 5);
  optimizer opt{c.round.optimizer, c.state.values(), c.round.first_step};
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<float> grad(c.spec.parameter_count());
  for (std::size_t j = 0; j < 5; ++j) {
    gather(c.data, std::span{order}.subspan(j * 40 + 16, 16), x, y);
    std::fill(grad.begin(), grad.end(), 0.0f);
    auto stats = model.gradient(x.data(), y.data(), 16, grad);
    const float* row = rows->data() + (1 * 5 + j) * width;
    // Equal but for rounding: Eigen's reductions peel elements by the buffers' alignment.
    CHECK(largest_difference(grad.data(), row, grad.size()) < 1e-5);
    CHECK(row[width - 2] == Approx(stats.loss_sum).epsilon(1e-5));
    CHECK(row[width - 1] == static_cast<float>(stats.correct));
    opt.step(model.parameters(), grad, scheduled_lr(lr_schedule::cosine, 1e-2, 3 + j, 50),
             1.0f / 16);
  }
  // The replay from the rows ends where the lane did, optimizer state included.
  mlp replayed{c.spec};
  optimizer ropt{c.round.optimizer, 0};
  REQUIRE_FALSE(model_workload::replay_lane({c.weights, c.state}, 200, c.round, 1,
                                            rows->data() + 5 * width, replayed, ropt));
  CHECK(largest_difference(model.parameters().data(), replayed.parameters().data(),
                           model.parameters().size())
        < 1e-5);
  CHECK(largest_difference(opt.state().data(), ropt.state().data(), opt.state().size())
        < 1e-6);
  CHECK(ropt.steps() == 3 + 5);
  // The lanes did move apart.
  mlp lane0{c.spec};
  REQUIRE_FALSE(model_workload::replay_lane({c.weights, c.state}, 200, c.round, 0,
                                            rows->data(), lane0, ropt));
  CHECK(largest_difference(lane0.parameters().data(), replayed.parameters().data(),
                           lane0.parameters().size())
        > 1e-3);
}

TEST_CASE("a round's validator recomputes rows on the replayed trajectory", "[nn]") {
  round_case c{190}; // the last batch has 30 samples: lane 2 has none in it
  auto rows = model_workload::train_round(c.spec, {c.weights, c.state}, c.x, c.labels,
                                          c.round, 1, 3);
  REQUIRE(rows);
  auto width = c.spec.parameter_count() + 2;
  REQUIRE(rows->rows() == 10);
  // Lane 2's last row is empty, and its replay takes only four steps.
  const float* empty = rows->data() + 9 * width;
  CHECK(std::all_of(empty, empty + width, [](float v) { return v == 0.0f; }));
  mlp m{c.spec};
  optimizer opt{c.round.optimizer, 0};
  REQUIRE_FALSE(model_workload::replay_lane({c.weights, c.state}, 190, c.round, 2,
                                            rows->data() + 5 * width, m, opt));
  CHECK(opt.steps() == 3 + 4);

  std::mt19937_64 rng{1};
  CHECK_FALSE(model_workload::check_round(c.spec, {c.weights, c.state}, c.x, c.labels,
                                          c.round, 1, 3, *rows, 1.0, 1e-3, rng));
  // A row changed after the first step of a lane: found when its step is recomputed...
  auto bad = *rows;
  bad.values()[(5 + 3) * width + 4] += 0.5f; // lane 2, step 4
  auto err = model_workload::check_round(c.spec, {c.weights, c.state}, c.x, c.labels,
                                         c.round, 1, 3, bad, 1.0, 1e-3, rng);
  REQUIRE(err);
  CHECK(err == errc::rejected);
  CHECK_THAT(describe(err), Catch::Contains("lane 2 at step 4"));
  // ... and an early row, even when only a later step is recomputed: the replayed
  // weights then differ from the worker's (here every row is checked, so step 1 fails).
  bad = *rows;
  bad.values()[0] *= -3.0f;
  CHECK(model_workload::check_round(c.spec, {c.weights, c.state}, c.x, c.labels, c.round, 1,
                                    3, bad, 1.0, 1e-3, rng)
        == errc::rejected);
  // Wrong shapes and starting points are refused.
  CHECK(model_workload::check_round(c.spec, {c.weights, c.state}, c.x, c.labels, c.round, 0,
                                    3, *rows, 1.0, 1e-3, rng)
        == errc::rejected);
  tensor short_state{1, c.spec.parameter_count()};
  auto refused = model_workload::train_round(c.spec, {c.weights, short_state}, c.x,
                                             c.labels, c.round, 0, 1);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("needs"));
}

TEST_CASE("class probabilities match a forward pass written out by hand", "[nn]") {
  auto spec = spec_of("mlp:12-16-8-4");
  auto m = mlp::initialized(spec, 3);
  auto x = random_tensor({1100, 12}, 4); // blocks of up to 512 rows and a short one
  auto probs = m.probabilities(x.data(), x.rows());
  REQUIRE(probs.shape() == shape_t{1100, 4});
  const float* p = m.parameters().data();
  for (std::size_t r : {0u, 511u, 512u, 1099u}) {
    std::vector<double> h(x.data() + r * 12, x.data() + (r + 1) * 12);
    for (const auto& l : spec.layers) {
      std::vector<double> z(l.out);
      for (std::size_t o = 0; o < l.out; ++o) {
        double sum = p[l.in * l.out + o]; // the bias follows the weights
        for (std::size_t i = 0; i < l.in; ++i)
          sum += static_cast<double>(p[o * l.in + i]) * h[i];
        z[o] = l.act == activation::relu ? std::max(sum, 0.0) : sum;
      }
      p += l.in * l.out + l.out;
      h = std::move(z);
    }
    p = m.parameters().data();
    double top = *std::max_element(h.begin(), h.end());
    double total = 0;
    for (auto& v : h)
      total += (v = std::exp(v - top));
    INFO("row " << r);
    for (std::size_t c = 0; c < 4; ++c)
      CHECK(probs(r, c) == Approx(h[c] / total).epsilon(1e-5));
  }
}

TEST_CASE("an inference shard's validator passes honest rows and catches altered ones",
          "[nn]") {
  auto spec = spec_of("mlp:12-16-4");
  auto m = mlp::initialized(spec, 5);
  auto x = random_tensor({300, 12}, 6);
  auto out = model_workload::infer(m, x, 100, 250);
  REQUIRE(out.shape() == shape_t{150, 4});
  std::mt19937_64 rng{2};
  CHECK_FALSE(model_workload::check_infer(m, x, 100, 250, out, 1.0, 1e-3, rng));
  CHECK_FALSE(model_workload::check_infer(m, x, 100, 250, out, 0.05, 1e-3, rng));

  // Two classes exchanged: still a distribution, so only the recomputation sees it.
  auto bad = out;
  std::swap(bad(37, 0), bad(37, 3));
  REQUIRE(bad(37, 0) != bad(37, 3));
  auto err = model_workload::check_infer(m, x, 100, 250, bad, 1.0, 1e-3, rng);
  REQUIRE(err);
  CHECK(err == errc::rejected);
  CHECK_THAT(describe(err), Catch::Contains("row 137 differs"));
  // A row that is no distribution is refused without any sample.
  bad = out;
  bad(5, 1) += 0.25f;
  err = model_workload::check_infer(m, x, 100, 250, bad, 0.0, 1e-3, rng);
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("row 105 sums to"));
  // The wrong shape.
  CHECK(model_workload::check_infer(m, x, 100, 251, out, 1.0, 1e-3, rng) == errc::rejected);
}
