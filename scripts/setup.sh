#!/usr/bin/env bash
# Installs everything vmkit's build, demo and tests need on a fresh Debian (bookworm) machine, as
# root: compilers, the RISC-V and AArch64 cross toolchains, qemu-user (the reference the tests
# compare against), GoogleTest, clang (libFuzzer, sanitizers), then builds and installs the vmkit
# package itself.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake ninja-build ccache pkg-config python3-dev python3-pip
      gcc-riscv64-linux-gnu g++-riscv64-linux-gnu libc6-dev-riscv64-cross
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
      qemu-user libgtest-dev libgmock-dev libbenchmark-dev libcapstone-dev libzydis-dev
      clang-14 libclang-rt-14-dev dpkg-dev llvm-14-dev libxbyak-dev
      libfdt-dev device-tree-compiler cpio qemu-system-misc opensbi e2fsprogs dosfstools mtools xz-utils)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

PY=${PYTHON:-python3}
# Debian's own python3 is "externally managed" (PEP 668) and refuses pip installs outside a venv;
# this machine-wide set-up is what the two README commands are for, so allow it. Harmless for a
# pyenv or venv Python.
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# Test tools: pytest; nbclient, nbformat and ipykernel execute the notebooks in notebooks/.
# capstone (PyPI, >= 5: Debian's libcapstone 4 has no RISC-V) is vmkit.disasm's disassembler.
# unicorn: the reference the Machine API tests compare against; numpy: memory views as arrays.
"$PY" -m pip install -q unicorn numpy "capstone>=5" "pytest>=7" "scikit-build-core>=0.9" "pybind11>=2.12" ninja nbclient nbformat ipykernel
echo "setup: building and installing vmkit (pip install .)"
"$PY" -m pip install -q .
