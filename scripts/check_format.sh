#!/usr/bin/env bash
# Fails, naming the files, if clang-format (.clang-format at the root) would change any
# C++ file git tracks. Exit 77 (meson's "skipped") without clang-format.
#   scripts/check_format.sh [ROOT]        check
#   scripts/check_format.sh --fix [ROOT]  rewrite the files in place
set -euo pipefail
fix=false
if [ "${1:-}" = "--fix" ]; then
  fix=true
  shift
fi
cd "${1:-$(dirname "$0")/..}"
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if $fix; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]}"
  echo "${#bad[@]} files differ from clang-format's output: scripts/check_format.sh --fix"
  exit 1
fi
echo "${#files[@]} files formatted"
