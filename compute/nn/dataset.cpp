#include "compute/nn/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <zlib.h>

#include "compute/errc.hpp"
#include "compute/npy.hpp"

namespace nexus::compute::nn {

namespace {

constexpr std::size_t max_idx_bytes = std::size_t{1} << 32; // 4 GiB of samples
constexpr std::size_t max_classes = 1 << 16;

// Reads a whole file through zlib, which passes uncompressed files through unchanged.
expected<std::vector<uint8_t>> read_maybe_gzip(const std::string& path, std::size_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    return make_error(errc::not_found, "cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      return make_error(errc::invalid_input,
                        path + ": not a readable gzip or IDX file (" + why + ")");
    }
    if (n == 0)
      break;
    if (out.size() + static_cast<std::size_t>(n) > limit) {
      gzclose(f);
      return make_error(errc::invalid_input,
                        path + ": larger than " + std::to_string(limit >> 20) + " MiB");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  gzclose(f);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

expected<std::vector<int32_t>> to_labels(const tensor& t, const std::string& path) {
  std::vector<int32_t> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto v = t.values()[i];
    if (!(v >= 0) || v >= static_cast<float>(max_classes) || v != std::floor(v))
      return make_error(errc::invalid_input, path + ": label " + std::to_string(i) + " is "
                                                 + std::to_string(v)
                                                 + "; labels are whole numbers in [0, "
                                                 + std::to_string(max_classes) + ")");
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

expected<dataset> make_dataset(std::string name, tensor x, const tensor& labels,
                               const std::string& labels_path) {
  if (labels.size() != x.rows())
    return make_error(errc::invalid_input, name + ": " + std::to_string(x.rows())
                                               + " samples but "
                                               + std::to_string(labels.size()) + " labels");
  if (x.rows() == 0)
    return make_error(errc::invalid_input, name + ": no samples");
  auto y = to_labels(labels, labels_path);
  if (!y)
    return y.error();
  dataset d;
  d.name = std::move(name);
  d.classes = 1 + static_cast<std::size_t>(*std::max_element(y->begin(), y->end()));
  d.y = std::move(*y);
  d.x = std::move(x);
  if (d.x.rank() != 2) // N x features, whatever the sample's own shape
    d.x =
        tensor{shape_t{d.x.rows(), d.x.cols()}, {d.x.values().begin(), d.x.values().end()}};
  return d;
}

} // namespace

std::string fashion_mnist_dir() {
  const char* dir = std::getenv("NEXUS_FASHION_MNIST");
  return dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
}

expected<tensor> read_idx(const std::string& path) {
  auto bytes = read_maybe_gzip(path, max_idx_bytes);
  if (!bytes)
    return bytes.error();
  return parse_idx(*bytes, path);
}

expected<tensor> parse_idx(std::span<const uint8_t> raw, const std::string& name) {
  auto* bytes = &raw;
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_input, name + ": " + why);
  };
  if (bytes->size() < 4 || (*bytes)[0] != 0 || (*bytes)[1] != 0)
    return bad("not an IDX file (bad magic number)");
  if ((*bytes)[2] != 0x08)
    return bad("IDX element type " + std::to_string((*bytes)[2])
               + " is not supported (only unsigned bytes, 0x08)");
  std::size_t rank = (*bytes)[3];
  if (rank < 1 || rank > 3)
    return bad("IDX files of " + std::to_string(rank) + " dimensions are not supported");
  if (bytes->size() < 4 + 4 * rank)
    return bad("truncated header");
  shape_t dims;
  std::size_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    dims.push_back(be32(bytes->data() + 4 + 4 * i));
    count *= std::max<std::size_t>(dims.back(), 1);
    if (count > max_idx_bytes)
      return bad("dimensions too large");
  }
  // A dimension of 0 means no values at all; the shape must not be made from the others
  // (a 17-byte file announced 1.1e9 x 0 x 2 and asked for 4 GiB: found by fuzz_files).
  if (std::find(dims.begin(), dims.end(), 0) != dims.end())
    return bad("the header announces no values (a dimension of 0)");
  auto payload = bytes->size() - 4 - 4 * rank;
  if (payload != count)
    return bad("the header announces " + std::to_string(count) + " values, the file holds "
               + std::to_string(payload));
  std::size_t n = dims[0];
  tensor out{shape_t{n, count / n}};
  const uint8_t* at = bytes->data() + 4 + 4 * rank;
  for (std::size_t i = 0; i < count; ++i)
    out.values()[i] = at[i];
  return out;
}

expected<dataset> read_idx_pair(const std::string& images, const std::string& labels) {
  auto x = read_idx(images);
  if (!x)
    return x.error();
  auto y = read_idx(labels);
  if (!y)
    return y.error();
  for (auto& v : x->values())
    v /= 255.0f;
  return make_dataset(images, std::move(*x), *y, labels);
}

expected<dataset> load_dataset(const std::string& spec) {
  if (spec == "fashion-mnist" || spec == "fashion-mnist:train"
      || spec == "fashion-mnist:test") {
    auto dir = fashion_mnist_dir();
    auto part = spec == "fashion-mnist:test" ? std::string{"t10k"} : std::string{"train"};
    auto d = read_idx_pair(dir + "/" + part + "-images-idx3-ubyte.gz",
                           dir + "/" + part + "-labels-idx1-ubyte.gz");
    if (!d) {
      if (is(d.error(), errc::not_found))
        return make_error(errc::not_found,
                          describe(d.error())
                              + " (install Debian's dataset-fashion-mnist, or point "
                                "NEXUS_FASHION_MNIST at a directory of its .gz files)");
      return d.error();
    }
    d->name = spec;
    d->input_mean = fashion_mnist_mean; // standardized with the training images' statistics
    d->input_std = fashion_mnist_std;
    for (auto& v : d->x.values())
      v = (v - fashion_mnist_mean) / fashion_mnist_std;
    return d;
  }
  auto comma = spec.find(',');
  if (comma != std::string::npos) {
    auto xs = spec.substr(0, comma);
    auto ys = spec.substr(comma + 1);
    auto x = read_npy(xs);
    if (!x)
      return x.error();
    auto y = read_npy(ys);
    if (!y)
      return y.error();
    if (y->rank() != 1 && !(y->rank() == 2 && y->cols() == 1))
      return make_error(errc::invalid_input, ys + ": labels must be a vector, got shape "
                                                 + to_string(y->shape()));
    return make_dataset(spec, std::move(*x), *y, ys);
  }
  return make_error(errc::invalid_input,
                    "unknown data set '" + spec
                        + "' (fashion-mnist, fashion-mnist:test, or X.npy,y.npy)");
}

dataset slice(const dataset& d, std::size_t begin, std::size_t end) {
  end = std::min(end, d.size());
  begin = std::min(begin, end);
  dataset out;
  out.name = d.name;
  out.classes = d.classes;
  out.input_mean = d.input_mean;
  out.input_std = d.input_std;
  auto cols = d.x.cols();
  out.x = tensor{shape_t{end - begin, cols},
                 {d.x.data() + begin * cols, d.x.data() + end * cols}};
  out.y.assign(d.y.begin() + static_cast<long>(begin),
               d.y.begin() + static_cast<long>(end));
  return out;
}

void note_standardization(std::map<std::string, std::string>& metadata, float input_mean,
                          float input_std) {
  if (input_mean == 0 && input_std == 1)
    return;
  auto shortest = [](float x) { // "0.286": the shortest text that reads back as x
    char text[32];
    auto end = std::to_chars(text, text + sizeof text, x).ptr;
    return std::string(text, end);
  };
  metadata["nexus.input_mean"] = shortest(input_mean);
  metadata["nexus.input_std"] = shortest(input_std);
}

} // namespace nexus::compute::nn
