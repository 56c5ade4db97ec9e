// A directory under the system's temp dir, removed with everything in it on scope exit
// (kept, for a look at the nodes' logs, when NEXUS_KEEP_TEST_DIRS is set).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace nexus::test {

class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path()
            / ("nexus-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }

  ~temp_dir() {
    if (std::getenv("NEXUS_KEEP_TEST_DIRS"))
      return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace nexus::test
