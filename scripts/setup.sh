#!/usr/bin/env bash
# Sets up a Debian bookworm machine for bpfmm and builds it into build/.
# Installs the Debian packages bpfmm needs with apt-get (when root and something is missing),
# then configures and builds. Safe to run again: it only installs what is missing and the
# build is incremental. Owns installation and the main build, nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every dependency, with why (README.md lists the same set).
PKGS=(
  build-essential     # gcc 12, make
  cmake               # build system
  pkg-config          # finds libelf, libbpf, json-c
  clang               # builds BPF objects (policies, lifecycle programs) and the fuzzer
  llvm                # llvm-strip / llvm-objdump for BPF objects
  libclang-rt-14-dev  # libFuzzer and sanitizer runtimes for the clang fuzz target
  libelf-dev          # ELF parsing in the policy loader
  libbpf-dev          # BTF parsing (loader) and BPF program loading (live lifecycle events)
  bpftool             # BPF skeleton generation for the lifecycle programs
  libjson-c-dev       # JSON for the agent's state file, config and control protocol
  zlib1g-dev          # libelf/libbpf link dependency
  linux-libc-dev      # kernel UAPI headers
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run this script as root, or install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "setup: built build/bpfmm"
