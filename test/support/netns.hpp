// Hosts on one machine for cross-process tests: each host a Linux network namespace of its
// own with one address, all joined by a bridge in a switch namespace, and this process
// (the test, in the root namespace) on the same subnet. A host's link can be set down and
// up again to cut it off and heal it (tc netem is not available on these kernels).
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's `ip`; `lab::make` says why it
// cannot. Names carry this process's id, so tests running at once never meet; the
// destructor removes every namespace and link it made.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace nexus::test::netns {

/// The `ip` program (iproute2).
inline std::string ip_binary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(p, X_OK) == 0)
      return p;
  return {};
}

class lab {
public:
  /// A lab of `hosts` (names), or why not (not root, no `ip`, namespaces refused).
  static std::pair<std::unique_ptr<lab>, std::string>
  make(const std::vector<std::string>& hosts) {
    if (geteuid() != 0)
      return {nullptr, "network namespaces need root"};
    if (ip_binary().empty())
      return {nullptr, "no ip program (install iproute2)"};
    std::unique_ptr<lab> out{new lab};
    if (auto why = out->build(hosts); !why.empty())
      return {nullptr, why};
    return {std::move(out), std::string{}};
  }

  ~lab() {
    for (const auto& [host, ns] : namespaces_)
      run("netns del " + ns);
    run("netns del " + switch_);
    run("link del " + prefix_ + "r"); // its peer went with the switch
  }

  lab(const lab&) = delete;
  lab& operator=(const lab&) = delete;

  /// `host`'s address.
  const std::string& address(const std::string& host) const {
    return addresses_.at(host);
  }

  /// The command line that runs `args` inside `host`'s namespace.
  std::vector<std::string> inside(const std::string& host,
                                  std::vector<std::string> args) const {
    std::vector<std::string> out{ip_binary(), "netns", "exec", namespaces_.at(host)};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  /// Cuts `host` off from every other (its port on the bridge down), or heals it.
  bool cut(const std::string& host, bool off = true) {
    return run("-n " + switch_ + " link set " + ports_.at(host) + (off ? " down" : " up"));
  }

private:
  lab()
      : prefix_("nx" + std::to_string(getpid() % 100000))
      , switch_(prefix_ + "sw")
      , subnet_("10.213." + std::to_string(getpid() % 250) + ".") {}

  static bool run(const std::string& args) {
    auto cmd = ip_binary() + " " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  std::string build(const std::vector<std::string>& hosts) {
    if (!run("netns add " + switch_))
      return "cannot create a network namespace (ip netns add " + switch_ + ")";
    if (!run("-n " + switch_ + " link add br0 type bridge")
        || !run("-n " + switch_ + " link set br0 up"))
      return "cannot create a bridge in " + switch_;
    // This process's own port, .1.
    auto mine = prefix_ + "r";
    if (!run("link add " + mine + " type veth peer name " + mine + "s")
        || !run("link set " + mine + "s netns " + switch_)
        || !run("-n " + switch_ + " link set " + mine + "s master br0 up")
        || !run("addr add " + subnet_ + "1/24 dev " + mine)
        || !run("link set " + mine + " up"))
      return "cannot link this namespace to the switch";
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      auto ns = prefix_ + "h" + std::to_string(i);
      auto port = prefix_ + "p" + std::to_string(i);
      auto address = subnet_ + std::to_string(i + 2);
      namespaces_[hosts[i]] = ns;
      if (!run("netns add " + ns) || !run("-n " + ns + " link set lo up")
          || !run("link add " + port + " type veth peer name eth0 netns " + ns)
          || !run("link set " + port + " netns " + switch_)
          || !run("-n " + switch_ + " link set " + port + " master br0 up")
          || !run("-n " + ns + " addr add " + address + "/24 dev eth0")
          || !run("-n " + ns + " link set eth0 up"))
        return "cannot make host " + hosts[i] + " (namespace " + ns + ")";
      addresses_[hosts[i]] = address;
      ports_[hosts[i]] = port;
    }
    return {};
  }

  std::string prefix_;
  std::string switch_;
  std::string subnet_;
  std::map<std::string, std::string> namespaces_;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, std::string> ports_;
};

} // namespace nexus::test::netns
