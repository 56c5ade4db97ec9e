// A small file kept durably in two slots, BASE.0 and BASE.1, written in turn in place
// with one fdatasync each: no temporary file, no rename, no directory sync after the
// first. A write torn by a crash spoils only the slot it was writing; the other holds
// what was kept before it, which is what a caller that acts only after write() returned
// must find (docs/LEDGER.md, "Restarts"). Each slot reads
//   SEQUENCE u64 LE | LENGTH u32 LE | CONTENT (LENGTH bytes) | SHA-256 of all before it
// and may have stale bytes after that; the whole slot with the higher sequence wins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "compute/errc.hpp"

namespace nexus {

/// Syncs the directory holding `file`, so that a file created or renamed there survives a
/// crash; false if it could not.
bool sync_directory(const std::filesystem::path& file);

class synced_slots {
public:
  explicit synced_slots(std::filesystem::path base);
  ~synced_slots();
  synced_slots(const synced_slots&) = delete;
  synced_slots& operator=(const synced_slots&) = delete;

  /// What was kept last, or nothing if no slot holds a whole one (never written, or the
  /// first write torn). Writes after it go over the other slot. errc::corrupted if a slot
  /// file exists but does not read, or both exist and neither is whole: what was kept
  /// last cannot be known.
  expected<std::optional<std::vector<uint8_t>>> read();

  /// Keeps `content` over the slot not holding the last, synced. False if it could not
  /// (or the sequence is spent): the last kept is then still what read() finds.
  bool write(std::span<const uint8_t> content);

  /// BASE.0 or BASE.1.
  std::filesystem::path path(int slot) const;

private:
  std::filesystem::path base_;
  uint64_t sequence_ = 0; // of the last kept; 0: none
  int newest_ = 1;        // the slot holding it (the first write goes to slot 0)
  int fd_[2] = {-1, -1};
  bool unnamed_[2] = {false, false}; // opened, the directory not synced since
};

} // namespace nexus
