#include "actors/core/output_shelf.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "compute/errc.hpp"
#include "compute/pages.hpp"

namespace nexus {

namespace {

constexpr std::size_t default_budget = std::size_t{1} << 30;

std::string mib(std::size_t bytes) {
  return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

} // namespace

output_shelf::output_shelf()
    : output_shelf(default_budget, {}) {}

output_shelf::output_shelf(std::size_t memory_bytes, std::filesystem::path dir)
    : budget_(memory_bytes)
    , dir_(std::move(dir)) {
  if (dir_.empty())
    return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (!ec)
    std::filesystem::create_directories(dir_, ec);
  if (ec) {
    problem_ = "cannot use " + dir_.string() + " for outputs: " + ec.message();
    dir_.clear();
  }
}

void output_shelf::put(uint64_t task_id, output x) {
  if (!x || entries_.count(task_id) != 0 || dropped_.count(task_id) != 0)
    return; // an output is final: the first one stays
  auto bytes = x->bytes().size();
  entries_[task_id] = entry{std::move(x), bytes};
  memory_order_.push_back(task_id);
  in_memory_bytes_ += bytes;
  shed();
}

void output_shelf::shed() {
  // The newest output stays in memory even alone above the budget: its submitter is the
  // likeliest to fetch it next.
  while (in_memory_bytes_ > budget_ && memory_order_.size() > 1) {
    auto id = memory_order_.front();
    memory_order_.pop_front();
    auto i = entries_.find(id);
    auto out = std::move(i->second.in_memory);
    in_memory_bytes_ -= i->second.bytes;
    if (!dir_.empty() && spill(id, *out)) {
      ++on_disk_;
      continue;
    }
    entries_.erase(i);
    drop(id, dir_.empty()
                 ? "the orchestrator keeps " + mib(budget_)
                       + " of outputs in memory (scheduler: outputs_in_memory_mib) and"
                         " its node has no data directory to keep more"
                 : problem_);
  }
}

void output_shelf::drop(uint64_t task_id, std::string why) {
  uint32_t index = 0;
  while (index < reasons_.size() && reasons_[index] != why)
    ++index;
  if (index == reasons_.size())
    reasons_.push_back(std::move(why));
  dropped_[task_id] = index;
}

std::filesystem::path output_shelf::file_of(uint64_t task_id) const {
  return dir_ / (std::to_string(task_id) + ".out");
}

bool output_shelf::spill(uint64_t task_id, const wire::task_output& x) {
  auto path = file_of(task_id);
  const auto& bytes = x.bytes();
  std::error_code ec;
  auto space = std::filesystem::space(dir_, ec);
  if (ec) {
    problem_ = "cannot keep the output of task " + std::to_string(task_id) + " in "
               + dir_.string() + ": " + ec.message();
    return false;
  }
  if (space.available < bytes.size() + keep_free) {
    problem_ = "cannot keep the output of task " + std::to_string(task_id) + " in "
               + dir_.string() + ": " + mib(space.available) + " free, "
               + mib(bytes.size() + keep_free) + " needed";
    return false;
  }
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (out)
      return true;
  }
  problem_ = "cannot write " + path.string() + ": " + std::strerror(errno);
  std::filesystem::remove(path, ec);
  return false;
}

std::optional<expected<output_shelf::output>> output_shelf::get(uint64_t task_id) const {
  if (auto d = dropped_.find(task_id); d != dropped_.end())
    return expected<output>{
        make_error(errc::exhausted, "the output of task " + std::to_string(task_id)
                                        + " was dropped: " + reasons_[d->second])};
  auto i = entries_.find(task_id);
  if (i == entries_.end())
    return std::nullopt;
  if (i->second.in_memory)
    return expected<output>{i->second.in_memory};
  auto path = file_of(task_id);
  std::ifstream in{path, std::ios::binary};
  std::vector<uint8_t> bytes;
  compute::resize_fresh(bytes, i->second.bytes);
  in.read(reinterpret_cast<char*>(bytes.data()),
          static_cast<std::streamsize>(bytes.size()));
  if (!in || in.peek() != std::char_traits<char>::eof())
    return expected<output>{
        make_error(errc::corrupted, "the output of task " + std::to_string(task_id)
                                        + " cannot be read back from " + path.string())};
  return expected<output>{std::make_shared<const wire::task_output>(std::move(bytes))};
}

} // namespace nexus
