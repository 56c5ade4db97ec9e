// The files the web endpoint serves, built into the program (scripts/web_assets.py, at
// build time): the pages of apps/web/, task.capnp's readers for the browser (capnp-es),
// and the browser workers' WebAssembly kernels. Nothing is read from disk at run time,
// so a hub serves the same pages wherever it runs.
#pragma once

#include <span>
#include <string_view>

namespace nexus::web {

struct asset {
  std::string_view path; // the URL path: /index.html, /js/task.js, ...
  std::string_view bytes;
};

std::span<const asset> assets();

} // namespace nexus::web
