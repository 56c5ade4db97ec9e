#include "actors/core/synced_slots.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

// What a slot file holds: nothing (it does not exist), a whole slot, or neither (torn or
// spoiled).
struct slot_file {
  bool exists = false;
  std::optional<slot> whole;
};

// Reads exactly `out.size()` bytes at `offset`; false on an error or an early end.
bool read_at(int fd, std::span<uint8_t> out, off_t offset) {
  for (std::size_t at = 0; at < out.size();) {
    auto n = ::pread(fd, out.data() + at, out.size() - at, offset + static_cast<off_t>(at));
    if (n <= 0)
      return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads a slot file: its header, then only the bytes the header claims, if the file holds
// them (a hostile length costs nothing). errc::corrupted for a file that exists but
// cannot be read: a node must not take an older lock for its last.
expected<slot_file> read_slot(const std::filesystem::path& file) {
  slot_file out;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return out;
    return make_error(errc::corrupted,
                      file.string() + " does not open: " + std::strerror(errno));
  }
  out.exists = true;
  struct stat st {};
  std::vector<uint8_t> bytes(header_size);
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  auto size = static_cast<uint64_t>(st.st_size);
  if (ok && size >= header_size + checksum_size && read_at(fd, bytes, 0)) {
    chain::reader r{bytes};
    slot s;
    s.sequence = r.u64();
    uint64_t length = r.u32();
    if (s.sequence != 0 && length <= size - header_size - checksum_size) {
      bytes.resize(header_size + length + checksum_size);
      ok = read_at(fd, std::span{bytes}.subspan(header_size), header_size);
      auto covered = std::span<const uint8_t>{bytes}.first(header_size + length);
      auto sum = chain::sha256(covered);
      if (ok
          && std::memcmp(sum.data(), bytes.data() + covered.size(), checksum_size) == 0) {
        s.content.assign(covered.begin() + header_size, covered.end());
        out.whole = std::move(s);
      }
    }
  } else if (ok && size >= header_size + checksum_size) {
    ok = false; // the header did not read
  }
  ::close(fd);
  if (!ok)
    return make_error(errc::corrupted, file.string() + " does not read");
  return out;
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

expected<std::optional<std::vector<uint8_t>>> synced_slots::read() {
  std::optional<slot> best;
  int present = 0;
  for (int i = 0; i < 2; ++i) {
    auto file = read_slot(path(i));
    if (!file)
      return file.error();
    present += file->exists;
    if (file->whole && (!best || file->whole->sequence > best->sequence)) {
      best = std::move(file->whole);
      newest_ = i;
    }
  }
  // A crash tears at most the slot being written, and the second slot is made only after
  // the first was kept whole: two slots, neither whole, were spoiled.
  if (!best && present == 2)
    return make_error(errc::corrupted, path(0).string() + " and " + path(1).string()
                                           + " both exist and neither holds a whole slot");
  sequence_ = best ? best->sequence : 0;
  if (!best)
    return std::optional<std::vector<uint8_t>>{};
  return std::optional{std::move(best->content)};
}

bool synced_slots::write(std::span<const uint8_t> content) {
  if (content.size() > UINT32_MAX || sequence_ == UINT64_MAX)
    return false;
  int target = newest_ ^ 1;
  auto file = path(target);
  if (fd_[target] < 0) {
    fd_[target] = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_[target] < 0)
      return false;
    // Its name is synced once by each process that opens it: one that made it may have
    // stopped before it did.
    unnamed_[target] = true;
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

bool sync_directory(const std::filesystem::path& file) {
  auto dir = file.parent_path().empty() ? std::filesystem::path{"."} : file.parent_path();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

} // namespace nexus
