// The canonical byte form of ledger records: what is hashed, signed and stored.
//
// Fixed-width little-endian integers and length-prefixed byte strings, in a fixed field
// order, so that one record has exactly one encoding. A reader checks every length
// against what is left and fails rather than reading past the end.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace nexus::chain {

class writer {
public:
  /// Empties it, keeping its memory, to write again.
  void clear() noexcept {
    out_.clear();
  }

  void u8(uint8_t x) {
    out_.push_back(x);
  }

  void u32(uint32_t x) {
    put(x);
  }

  void u64(uint64_t x) {
    put(x);
  }

  void i64(int64_t x) {
    put(static_cast<uint64_t>(x));
  }

  template <std::size_t N>
  void fixed(const std::array<uint8_t, N>& x) {
    out_.insert(out_.end(), x.begin(), x.end());
  }

  void bytes(std::span<const uint8_t> x) {
    u32(static_cast<uint32_t>(x.size()));
    out_.insert(out_.end(), x.begin(), x.end());
  }

  void text(const std::string& x) {
    bytes({reinterpret_cast<const uint8_t*>(x.data()), x.size()});
  }

  std::vector<uint8_t>& data() noexcept {
    return out_;
  }

private:
  template <class T>
  void put(T x) {
    for (std::size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<uint8_t>(x >> (8 * i)));
  }

  std::vector<uint8_t> out_;
};

class reader {
public:
  explicit reader(std::span<const uint8_t> in)
      : in_(in) {}

  /// False once any read ran past the end; later reads then read nothing.
  bool ok() const noexcept {
    return ok_;
  }

  bool at_end() const noexcept {
    return pos_ == in_.size();
  }

  uint8_t u8() {
    return need(1) ? in_[pos_++] : 0;
  }

  uint32_t u32() {
    return static_cast<uint32_t>(get(4));
  }

  uint64_t u64() {
    return get(8);
  }

  int64_t i64() {
    return static_cast<int64_t>(get(8));
  }

  template <std::size_t N>
  void fixed(std::array<uint8_t, N>& x) {
    if (need(N)) {
      std::memcpy(x.data(), in_.data() + pos_, N);
      pos_ += N;
    }
  }

  std::vector<uint8_t> bytes(std::size_t limit = 1 << 20) {
    auto n = u32();
    if (n > limit || !need(n))
      return fail(), std::vector<uint8_t>{};
    std::vector<uint8_t> out(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }

  std::string text(std::size_t limit = 4096) {
    auto b = bytes(limit);
    return {b.begin(), b.end()};
  }

private:
  bool need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n)
      return fail(), false;
    return true;
  }

  void fail() {
    ok_ = false;
    pos_ = in_.size();
  }

  uint64_t get(std::size_t n) {
    if (!need(n))
      return 0;
    uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i)
      x |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += n;
    return x;
  }

  std::span<const uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace nexus::chain
