#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   scripts/dev.sh shell [nexus-shell options]   install, build, start nexus-shell
#   scripts/dev.sh test                          install, build, run every test
#   scripts/dev.sh build                         install and build only
#   scripts/dev.sh bench [name]                  also install the peers (PyTorch, Dask,
#                                                OpenBLAS) and run the benchmarks
# Installs missing Debian packages (as root, or through sudo), configures build/, builds.
# `test` ends with one line "N passed, N failed" read from meson's test log.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config libcaf-dev capnproto libcapnp-dev libssl-dev
  libleveldb-dev libeigen3-dev libtbb-dev catch2 ocl-icd-opencl-dev opencl-headers
  opencl-clhpp-headers pocl-opencl-icd libyaml-cpp-dev libedit-dev zlib1g-dev
  nlohmann-json3-dev dataset-fashion-mnist)

install_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    $sudo apt-get update >&2
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

build() {
  install_packages
  if [ ! -f build/build.ninja ]; then
    meson setup build >&2
  fi
  ninja -C build >&2
}

# Prints "N passed, N failed" from build/meson-logs/testlog.json: OK and EXPECTEDFAIL
# count as passed, SKIP as neither, everything else as failed.
summarize() {
  local log=build/meson-logs/testlog.json passed=0 failed=0 result
  [ -f "$log" ] || { echo "0 passed, 1 failed"; return; }
  while read -r result; do
    case "$result" in
      OK|EXPECTEDFAIL) passed=$((passed + 1)) ;;
      SKIP) ;;
      *) failed=$((failed + 1)) ;;
    esac
  done < <(grep -o '"result": *"[A-Z]*"' "$log" | sed 's/.*"\([A-Z]*\)"$/\1/')
  echo "$passed passed, $failed failed"
}

cmd=${1:-shell}
shift || true
case "$cmd" in
  shell)
    build
    exec build/apps/nexus-shell "$@"
    ;;
  test)
    build
    export POCL_CACHE_DIR="$PWD/build/pocl-cache"
    rc=0
    meson test -C build --print-errorlogs "$@" || rc=$?
    summarize
    exit $rc
    ;;
  build)
    build
    ;;
  bench)
    packages+=(python3-torch python3-numpy python3-distributed libopenblas0-pthread)
    build
    exec meson test -C build --benchmark --verbose "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh shell|test|build|bench [args]" >&2
    exit 2
    ;;
esac
