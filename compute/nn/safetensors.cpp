#include "compute/nn/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "compute/errc.hpp"

namespace nexus::compute::nn {

namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian");

constexpr std::size_t max_header = 100 << 20; // as the reference implementation
constexpr std::size_t max_rank = 8;

float from_bf16(uint16_t h) {
  return std::bit_cast<float>(uint32_t{h} << 16);
}

float from_f16(uint16_t h) {
  uint32_t sign = uint32_t{h & 0x8000u} << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) { // zero or subnormal: mant * 2^-24
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) // infinity or NaN
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

struct dtype_info {
  std::size_t size;
  float (*read)(const uint8_t*);
};

std::optional<dtype_info> dtype_of(const std::string& name) {
  if (name == "F32")
    return dtype_info{4, [](const uint8_t* p) {
                        float v;
                        std::memcpy(&v, p, 4);
                        return v;
                      }};
  if (name == "F64")
    return dtype_info{8, [](const uint8_t* p) {
                        double v;
                        std::memcpy(&v, p, 8);
                        return static_cast<float>(v);
                      }};
  if (name == "F16" || name == "BF16") {
    bool bf = name == "BF16";
    if (bf)
      return dtype_info{2, [](const uint8_t* p) {
                          uint16_t h;
                          std::memcpy(&h, p, 2);
                          return from_bf16(h);
                        }};
    return dtype_info{2, [](const uint8_t* p) {
                        uint16_t h;
                        std::memcpy(&h, p, 2);
                        return from_f16(h);
                      }};
  }
  return std::nullopt;
}

error bad(const std::string& why) {
  return make_error(errc::invalid_input, "malformed safetensors: " + why);
}

} // namespace

std::vector<uint8_t> serialize_safetensors(const safetensors_file& f) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!f.metadata.empty())
    header["__metadata__"] = f.metadata;
  std::size_t offset = 0;
  for (const auto& t : f.tensors) {
    auto bytes = t.value.size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"},
                      {"shape", t.value.shape()},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  auto text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' '); // the data starts 8-byte aligned
  std::vector<uint8_t> out(8 + text.size() + offset);
  uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  auto* at = out.data() + 8 + text.size();
  for (const auto& t : f.tensors) {
    if (!t.value.empty())
      std::memcpy(at, t.value.data(), t.value.size() * sizeof(float));
    at += t.value.size() * sizeof(float);
  }
  return out;
}

expected<safetensors_file> parse_safetensors(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8)
    return bad("shorter than its 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > max_header || n > bytes.size() - 8)
    return bad("header length " + std::to_string(n) + " does not fit the "
               + std::to_string(bytes.size()) + "-byte file");
  auto header_text = std::string_view{reinterpret_cast<const char*>(bytes.data() + 8), n};
  auto header = nlohmann::json::parse(header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return bad("the header is not a JSON object");
  auto data = bytes.subspan(8 + n);
  safetensors_file out;
  struct entry {
    std::string name;
    std::size_t begin, end;
    shape_t shape;
    dtype_info type;
  };
  std::vector<entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object())
        return bad("__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string())
          return bad("metadata '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    auto at = "tensor '" + name + "': ";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape")
        || !value.contains("data_offsets"))
      return bad(at + "needs dtype, shape and data_offsets");
    const auto& dtype = value["dtype"];
    const auto& shape = value["shape"];
    const auto& offsets = value["data_offsets"];
    if (!dtype.is_string())
      return bad(at + "dtype is not a string");
    auto type = dtype_of(dtype.get<std::string>());
    if (!type)
      return bad(at + "dtype " + dtype.get<std::string>()
                 + " is not supported (F32, F64, F16, BF16)");
    if (!shape.is_array() || shape.size() > max_rank)
      return bad(at + "shape is not a list of at most 8 sizes");
    entry e{name, 0, 0, {}, *type};
    std::size_t count = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned())
        return bad(at + "shape holds something other than sizes");
      auto dim = d.get<uint64_t>();
      if (dim > data.size() || (dim > 0 && count > data.size() / dim))
        return bad(at + "shape larger than the file");
      count *= dim;
      e.shape.push_back(dim);
    }
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned()
        || !offsets[1].is_number_unsigned())
      return bad(at + "data_offsets is not [begin, end]");
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data.size())
      return bad(at + "bytes [" + std::to_string(e.begin) + ", " + std::to_string(e.end)
                 + ") outside the " + std::to_string(data.size()) + "-byte data");
    if (e.end - e.begin != count * type->size)
      return bad(at + "shape " + to_string(e.shape) + " needs "
                 + std::to_string(count * type->size) + " bytes, its range has "
                 + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const entry& a, const entry& b) { return a.begin < b.begin; });
  std::size_t covered = 0;
  for (const auto& e : entries) {
    if (e.begin != covered)
      return bad("tensor '" + e.name + "' "
                 + (e.begin < covered ? "overlaps another" : "leaves a gap"));
    covered = e.end;
  }
  if (covered != data.size())
    return bad(std::to_string(data.size() - covered) + " bytes after the last tensor");
  for (auto& e : entries) {
    auto count = (e.end - e.begin) / e.type.size;
    std::vector<float> values(count);
    for (std::size_t i = 0; i < count; ++i)
      values[i] = e.type.read(data.data() + e.begin + i * e.type.size);
    auto shape = e.shape.empty() ? shape_t{1} : e.shape;
    out.tensors.push_back({e.name, tensor{std::move(shape), std::move(values)}});
  }
  return out;
}

error write_safetensors(const std::string& path, const safetensors_file& f) {
  auto bytes = serialize_safetensors(f);
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored); // nothing half-written stays behind
      return make_error(errc::unavailable, "cannot write " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return make_error(errc::unavailable, "cannot write " + path + ": " + ec.message());
  }
  return {};
}

expected<safetensors_file> read_safetensors(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return make_error(errc::invalid_input,
                      path + " is a directory, not a safetensors file");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found, "cannot open " + path);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in},
                             std::istreambuf_iterator<char>{}};
  auto f = parse_safetensors(bytes);
  if (!f)
    return make_error(errc::invalid_input, path + ": " + describe(f.error()));
  return f;
}

} // namespace nexus::compute::nn
