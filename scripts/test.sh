#!/usr/bin/env bash
# Runs every bpfmm test, in three builds:
#   build/        the normal build (what users run), all tests;
#   build-asan/   ASan + UBSan with debug checks (allocator owner tags), all tests;
#   build-tsan/   TSan, the tests labelled "concurrent".
# Expects scripts/setup.sh to have run (the README's test command runs both).
# Usage: scripts/test.sh [--only normal|asan|tsan] [extra ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
if [[ ${1:-} == --only ]]; then
  only=$2
  shift 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
status=0

run_tree() { # name dir cmake-args ctest-args
  local name=$1 dir=$2 cfg=$3 sel=$4
  shift 4
  [[ -n $only && $only != "$name" ]] && return 0
  echo "=== test: $name build ($dir)"
  # shellcheck disable=SC2086
  cmake -S . -B "$dir" $cfg >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null || cmake --build "$dir" -j1
  # shellcheck disable=SC2086
  if ! ctest --test-dir "$dir" --output-on-failure -j"$jobs" $sel "$@"; then
    echo "=== test: FAILED in the $name build" >&2
    status=1
  fi
}

run_tree normal build "-DCMAKE_BUILD_TYPE=RelWithDebInfo" "" "$@"
run_tree asan build-asan "-DCMAKE_BUILD_TYPE=Debug -DBPFMM_SANITIZE=address -DBPFMM_DEBUG=ON" "" "$@"
run_tree tsan build-tsan "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFMM_SANITIZE=thread" "-L concurrent" "$@"
exit $status
