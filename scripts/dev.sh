#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   scripts/dev.sh shell [nexus-shell options]   install, build, start nexus-shell
#   scripts/dev.sh test                          install, build, run every test, then every
#                                                test again built with AddressSanitizer and
#                                                UndefinedBehaviorSanitizer (build-asan/),
#                                                then each fuzz target for 10 s
#                                                (NEXUS_FUZZ_SECONDS; NEXUS_NO_SANITIZERS=1
#                                                skips both)
#   scripts/dev.sh build                         install and build only
#   scripts/dev.sh bench [name]                  also install the peers (PyTorch, Dask,
#                                                OpenBLAS) and run the benchmarks
#   scripts/dev.sh asan [meson test args]        the test suite built with AddressSanitizer
#                                                and UndefinedBehaviorSanitizer (build-asan/)
#   scripts/dev.sh fuzz [SECONDS]                the libFuzzer targets of test/fuzz, each for
#                                                SECONDS (20) from its corpus (build-fuzz/)
# Installs missing Debian packages (as root, or through sudo), configures build/, builds.
# `test` ends with one line "N passed, N failed" read from meson's test log.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config libcaf-dev capnproto libcapnp-dev libssl-dev
  libleveldb-dev libsodium-dev libeigen3-dev libtbb-dev catch2 ocl-icd-opencl-dev opencl-headers
  opencl-clhpp-headers pocl-opencl-icd libyaml-cpp-dev libedit-dev zlib1g-dev
  nlohmann-json3-dev dataset-fashion-mnist clang-format python3-pytest python3-plyvel
  python3-cryptography iproute2 libboost-dev emscripten chromium pybind11-dev python3-numpy
  python3-tqdm)

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

# The browser pages' npm packages (apps/web/package-lock.json), by name and pinned:
# capnp-es and what its schema compiler needs, and playwright-core for the browser tests
# (pointed at Debian's chromium; it downloads no browser). npm comes with Node.js; a
# machine without it gets Debian's.
install_web_packages() {
  if ! command -v npm > /dev/null; then
    packages+=(npm)
    install_packages
  fi
  if [ ! -f apps/web/node_modules/.package-lock.json ] \
      || [ apps/web/package-lock.json -nt apps/web/node_modules/.package-lock.json ]; then
    (cd apps/web && npm ci --no-audit --no-fund >&2)
  fi
}

build() {
  install_packages
  install_web_packages
  if [ ! -f build/build.ninja ]; then
    meson setup build >&2
  fi
  ninja -C build >&2
}

# Prints "N passed, N failed" over the test logs of each BUILD_DIR, each failed test named
# above it (scripts/summarize.py).
summarize() {
  /usr/bin/python3 scripts/summarize.py "$@"
}

# The suite built with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/.
# UBSan's checks stay recoverable (its suppressions apply only to those) and
# halt_on_error=1 makes every report that is not suppressed fatal. The instrumented code
# makes GCC 12 see maybe-uninitialized values inside libstdc++ (std::regex, std::function)
# that the plain build does not: that warning is off here. Built with -Og: GCC's -O2 on
# sanitized code took 39 of CI's 68 minutes (19 for actors/web/server.cpp's Beast
# templates alone, 4 at -Og), and the suite runs as fast. Returns meson's status.
sanitized_suite() {
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Doptimization=g -Ddebug=true -Db_sanitize=address,undefined \
      -Db_lundef=false -Dcpp_args=-Wno-maybe-uninitialized >&2
  fi
  rm -f build-asan/meson-logs/testlog.json # a failed build must not count old results
  ninja -C build-asan >&2 || return 1
  (
    export POCL_CACHE_DIR="$PWD/build-asan/pocl-cache"
    # test/sanitizers/*.supp: what belongs to CAF 0.17 and the OpenCL stack, not to us.
    # use_sigaltstack=0: PoCL's LLVM installs its own alternate signal stacks, which
    # AddressSanitizer then fails to unmap at thread exit (google/sanitizers#1152).
    export ASAN_OPTIONS=detect_leaks=1:use_sigaltstack=0
    export LSAN_OPTIONS="suppressions=$PWD/test/sanitizers/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="suppressions=$PWD/test/sanitizers/ubsan.supp:print_stacktrace=1:halt_on_error=1"
    meson test -C build-asan --print-errorlogs --timeout-multiplier 4 "$@"
  )
}

# The libFuzzer targets of test/fuzz, built with clang, AddressSanitizer and UBSan in
# build-fuzz/, each run for SECONDS from its seed corpus and kept regressions. A crash
# fails the suite and leaves its input as build-fuzz/test/fuzz/TARGET-crash-*.
fuzz_suite() {
  # The sanitizer and libFuzzer runtimes are only recommended by clang's packages.
  packages+=(clang libclang-rt-14-dev)
  install_packages
  install_web_packages
  if [ ! -f build-fuzz/build.ninja ]; then
    CXX=clang++ CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=true \
      -Db_sanitize=address,undefined -Db_lundef=false \
      "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >&2
  fi
  rm -f build-fuzz/meson-logs/testlog.json
  ninja -C build-fuzz test/fuzz/fuzz_envelopes test/fuzz/fuzz_files test/fuzz/fuzz_text \
    test/fuzz/fuzz_web >&2 \
    || return 1
  meson test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs \
    --test-args="-max_total_time=$1"
}

cmd=${1:-shell}
shift || true
case "$cmd" in
  shell)
    build
    exec build/apps/nexus-shell "$@"
    ;;
  test)
    # The Python package's tests load the trained weights into PyTorch too.
    packages+=(python3-torch)
    build
    rc=0
    POCL_CACHE_DIR="$PWD/build/pocl-cache" meson test -C build --print-errorlogs "$@" || rc=$?
    if [ -n "${NEXUS_NO_SANITIZERS:-}" ]; then
      summarize build
    else
      sanitized_suite "$@" || rc=$?
      # Every fuzz target briefly: its corpus and kept regressions, then new inputs.
      fuzz_suite "${NEXUS_FUZZ_SECONDS:-10}" || rc=$?
      summarize build build-asan build-fuzz
    fi
    exit $rc
    ;;
  build)
    build
    ;;
  asan)
    install_packages
    install_web_packages
    rc=0
    sanitized_suite "$@" || rc=$?
    summarize build-asan
    exit $rc
    ;;
  fuzz)
    rc=0
    fuzz_suite "${1:-20}" || rc=$?
    summarize build-fuzz
    exit $rc
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
