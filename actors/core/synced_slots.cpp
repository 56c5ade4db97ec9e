#include "actors/core/synced_slots.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "chain/encoding.hpp"
#include "chain/hash.hpp"

namespace nexus {

namespace {

constexpr std::size_t header_size = 8 + 4;
constexpr std::size_t checksum_size = 32;

struct slot {
  uint64_t sequence = 0;
  std::vector<uint8_t> content;
};

// A whole slot from a file's bytes, or nothing (missing, torn, or spoiled).
std::optional<slot> parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < header_size + checksum_size)
    return std::nullopt;
  chain::reader r{bytes.first(header_size)};
  slot s;
  s.sequence = r.u64();
  auto length = r.u32();
  if (s.sequence == 0 || length > bytes.size() - header_size - checksum_size)
    return std::nullopt;
  auto covered = bytes.first(header_size + length);
  auto sum = chain::sha256(covered);
  if (std::memcmp(sum.data(), bytes.data() + covered.size(), checksum_size) != 0)
    return std::nullopt;
  s.content.assign(covered.begin() + header_size, covered.end());
  return s;
}

// A file's bytes; empty if it cannot be read (missing, a directory, an I/O error).
std::vector<uint8_t> read_all(const std::filesystem::path& file) {
  std::vector<uint8_t> out;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return out;
  uint8_t buffer[1 << 16];
  for (;;) {
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      out.clear();
      break;
    }
    if (n == 0)
      break;
    out.insert(out.end(), buffer, buffer + n);
  }
  ::close(fd);
  return out;
}

bool sync_directory(const std::filesystem::path& file) {
  auto dir = file.parent_path().empty() ? std::filesystem::path{"."} : file.parent_path();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

} // namespace

synced_slots::synced_slots(std::filesystem::path base)
    : base_(std::move(base)) {}

synced_slots::~synced_slots() {
  for (int fd : fd_)
    if (fd >= 0)
      ::close(fd);
}

std::filesystem::path synced_slots::path(int slot) const {
  auto p = base_;
  p += slot == 0 ? ".0" : ".1";
  return p;
}

std::optional<std::vector<uint8_t>> synced_slots::read() {
  std::optional<slot> best;
  for (int i = 0; i < 2; ++i) {
    if (auto s = parse(read_all(path(i))); s && (!best || s->sequence > best->sequence)) {
      best = std::move(s);
      newest_ = i;
    }
  }
  sequence_ = best ? best->sequence : 0;
  if (!best)
    return std::nullopt;
  return std::move(best->content);
}

bool synced_slots::write(std::span<const uint8_t> content) {
  if (content.size() > UINT32_MAX)
    return false;
  int target = newest_ ^ 1;
  auto file = path(target);
  if (fd_[target] < 0) {
    fd_[target] = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_[target] >= 0)
      unnamed_[target] = true; // its name is not synced yet
    else
      fd_[target] = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_[target] < 0)
      return false;
  }
  chain::writer w;
  w.u64(sequence_ + 1);
  w.u32(static_cast<uint32_t>(content.size()));
  auto& bytes = w.data();
  bytes.insert(bytes.end(), content.begin(), content.end());
  w.fixed(chain::sha256(bytes));
  for (std::size_t at = 0; at < bytes.size();) {
    auto n =
        ::pwrite(fd_[target], bytes.data() + at, bytes.size() - at, static_cast<off_t>(at));
    if (n <= 0)
      return false;
    at += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_[target]) != 0)
    return false;
  // A new file's name must last as well as its bytes.
  if (unnamed_[target] && !sync_directory(file))
    return false;
  unnamed_[target] = false;
  ++sequence_;
  newest_ = target;
  return true;
}

} // namespace nexus
