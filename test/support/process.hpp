// A child process for tests: started with fork/exec, output to a file, signalled, and
// always reaped (the destructor kills what is still running).
#pragma once

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace nexus::test {

class process {
public:
  /// Runs `args` (args[0] is the program) with stdout and stderr appended to `log`.
  process(std::vector<std::string> args, std::string log)
      : log_(std::move(log)) {
    pid_ = fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  ~process() {
    if (running()) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      wait_for(std::chrono::seconds{10});
    }
  }

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept {
    return pid_;
  }

  void signal(int sig) {
    if (running())
      ::kill(pid_, sig);
  }

  bool running() {
    if (status_)
      return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      return false;
    }
    return true;
  }

  /// Waits until the process exits; returns its wait status, or nothing past `limit`.
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    return status_;
  }

  /// Everything the process wrote so far.
  std::string output() const {
    std::ifstream in{log_};
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  }

  /// Waits until the output contains `text` (`times` times); false past `limit`.
  bool wait_output(const std::string& text, std::chrono::milliseconds limit,
                   std::size_t times = 1) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto out = output();
      std::size_t n = 0;
      for (auto at = out.find(text); at != std::string::npos && n < times;
           at = out.find(text, at + 1))
        ++n;
      if (n >= times)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    return false;
  }

private:
  pid_t pid_ = -1;
  std::string log_;
  std::optional<int> status_;
};

/// `n` distinct TCP ports on 127.0.0.1 that were free a moment ago.
inline std::vector<uint16_t> free_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ports.push_back(ntohs(addr.sin_port));
    fds.push_back(fd);
  }
  for (int fd : fds)
    close(fd);
  return ports;
}

} // namespace nexus::test
