#include "compute/npy.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

#include "compute/errc.hpp"

namespace nexus::compute {

namespace {

static_assert(std::endian::native == std::endian::little,
              ".npy payloads are read as little-endian in place");

constexpr std::string_view magic = "\x93NUMPY";

error bad(std::string what) {
  return make_error(errc::invalid_input, "malformed .npy: " + std::move(what));
}

// A tiny parser for the Python dict literal of an .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class header_parser {
public:
  explicit header_parser(std::string_view text)
      : text_(text) {}

  // Returns the raw value text for `key`, or nullopt.
  std::optional<std::string_view> value_of(std::string_view key) const {
    std::string quoted1 = "'" + std::string{key} + "'";
    std::string quoted2 = "\"" + std::string{key} + "\"";
    auto pos = text_.find(quoted1);
    if (pos == std::string_view::npos)
      pos = text_.find(quoted2);
    if (pos == std::string_view::npos)
      return std::nullopt;
    pos = text_.find(':', pos + quoted1.size());
    if (pos == std::string_view::npos)
      return std::nullopt;
    ++pos;
    while (pos < text_.size() && text_[pos] == ' ')
      ++pos;
    if (pos >= text_.size())
      return std::nullopt;
    auto open = text_[pos];
    std::size_t end;
    if (open == '\'' || open == '"') {
      end = text_.find(open, pos + 1);
      if (end == std::string_view::npos)
        return std::nullopt;
      return text_.substr(pos + 1, end - pos - 1);
    }
    if (open == '(') {
      end = text_.find(')', pos);
      if (end == std::string_view::npos)
        return std::nullopt;
      return text_.substr(pos, end - pos + 1);
    }
    end = text_.find_first_of(",}", pos);
    if (end == std::string_view::npos)
      return std::nullopt;
    auto value = text_.substr(pos, end - pos);
    while (!value.empty() && value.back() == ' ')
      value.remove_suffix(1);
    return value;
  }

private:
  std::string_view text_;
};

expected<shape_t> parse_shape(std::string_view text) {
  // text is "(...)"
  constexpr uint64_t max_elements = uint64_t{1} << 40;
  shape_t shape;
  uint64_t count = 1;
  std::size_t pos = 1;
  while (pos < text.size() - 1) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == ','))
      ++pos;
    if (pos >= text.size() - 1)
      break;
    uint64_t dim = 0;
    bool any = false;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (dim > (std::numeric_limits<uint32_t>::max() - 9) / 10)
        return bad("shape dimension too large in " + std::string{text});
      dim = dim * 10 + static_cast<uint64_t>(text[pos] - '0');
      any = true;
      ++pos;
    }
    if (!any)
      return bad("cannot read shape " + std::string{text});
    if (dim > 0 && count > max_elements / dim)
      return bad("shape " + std::string{text} + " is too large");
    count *= dim;
    shape.push_back(dim);
  }
  return shape;
}

} // namespace

namespace {

// How to turn `count` little-endian elements at `from` into float32.
struct element_type {
  std::size_t size;
  void (*convert)(const uint8_t* from, std::size_t count, float* to);
};

template <class T>
void convert_from(const uint8_t* from, std::size_t count, float* to) {
  for (std::size_t i = 0; i < count; ++i) {
    T x;
    std::memcpy(&x, from + i * sizeof(T), sizeof(T));
    to[i] = static_cast<float>(x);
  }
}

std::optional<element_type> element_type_of(std::string_view descr) {
  static const std::pair<std::string_view, element_type> known[] = {
      {"<f4", {4, convert_from<float>}},    {"<f8", {8, convert_from<double>}},
      {"|u1", {1, convert_from<uint8_t>}},  {"|i1", {1, convert_from<int8_t>}},
      {"<u2", {2, convert_from<uint16_t>}}, {"<i2", {2, convert_from<int16_t>}},
      {"<u4", {4, convert_from<uint32_t>}}, {"<i4", {4, convert_from<int32_t>}},
      {"<u8", {8, convert_from<uint64_t>}}, {"<i8", {8, convert_from<int64_t>}},
  };
  for (const auto& [name, type] : known)
    if (name == descr)
      return type;
  return std::nullopt;
}

} // namespace

expected<tensor> parse_npy(std::span<const uint8_t> bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic.data(), magic.size()) != 0)
    return bad("missing the \\x93NUMPY magic (not an .npy file)");
  auto major = bytes[6];
  std::size_t header_len = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated header");
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8) | (std::size_t{bytes[10]} << 16)
                 | (std::size_t{bytes[11]} << 24);
    header_start = 12;
  } else {
    return bad("unsupported format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - header_start)
    return bad("truncated header (" + std::to_string(header_len) + " bytes announced, "
               + std::to_string(bytes.size() - header_start) + " present)");
  std::string_view header{reinterpret_cast<const char*>(bytes.data() + header_start),
                          header_len};
  header_parser parser{header};
  auto descr = parser.value_of("descr");
  auto fortran = parser.value_of("fortran_order");
  auto shape_text = parser.value_of("shape");
  if (!descr || !fortran || !shape_text)
    return bad("header lacks descr, fortran_order or shape: " + std::string{header});
  if (*fortran != "False")
    return make_error(errc::invalid_input,
                      "unsupported .npy: Fortran order (save with np.ascontiguousarray)");
  auto type = element_type_of(*descr);
  if (!type)
    return make_error(errc::invalid_input,
                      "unsupported .npy dtype '" + std::string{*descr}
                          + "' (float32, float64, or integers of 1, 2, 4 "
                            "or 8 bytes, little-endian)");
  auto elem_size = type->size;
  auto shape = parse_shape(*shape_text);
  if (!shape)
    return shape.error();
  auto count = shape->empty() ? std::size_t{1} : element_count(*shape);
  auto payload = bytes.subspan(header_start + header_len);
  if (count > 0 && payload.size() / elem_size < count)
    return bad("truncated data: shape " + to_string(*shape) + " needs "
               + std::to_string(count * elem_size) + " bytes, file has "
               + std::to_string(payload.size()));
  if (payload.size() != count * elem_size)
    return bad("trailing bytes after the data (" + std::to_string(payload.size())
               + " bytes for shape " + to_string(*shape) + ")");
  if (shape->empty())
    shape->push_back(1); // a 0-d array becomes a 1-element vector
  std::vector<float> values(count);
  type->convert(payload.data(), count, values.data());
  return tensor{std::move(*shape), std::move(values)};
}

expected<tensor> read_npy(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found, "cannot open " + path);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in},
                             std::istreambuf_iterator<char>{}};
  if (in.bad())
    return make_error(errc::unavailable, "cannot read " + path);
  auto res = parse_npy(bytes);
  if (!res)
    return make_error(static_cast<errc>(res.error().code()),
                      path + ": " + describe(res.error()));
  return res;
}

std::vector<uint8_t> serialize_npy(const tensor& x) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < x.rank(); ++i)
    dict += (i > 0 ? ", " : "") + std::to_string(x.shape()[i]);
  dict += x.rank() == 1 ? ",), }" : "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary; end with '\n'.
  auto total = magic.size() + 4 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::vector<uint8_t> out(magic.begin(), magic.end());
  out.reserve(10 + dict.size() + x.size() * 4);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(dict.size() & 0xff));
  out.push_back(static_cast<uint8_t>(dict.size() >> 8));
  out.insert(out.end(), dict.begin(), dict.end());
  auto raw = reinterpret_cast<const uint8_t*>(x.data());
  out.insert(out.end(), raw, raw + x.size() * 4);
  return out;
}

error write_npy(const std::string& path, const tensor& x) {
  auto bytes = serialize_npy(x);
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    if (!out)
      return make_error(errc::invalid_input, "cannot write " + path);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return make_error(errc::unavailable, "cannot write " + path + " (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return make_error(errc::unavailable, "cannot write " + path);
  }
  return {};
}

} // namespace nexus::compute
