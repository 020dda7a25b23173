#!/usr/bin/env bash
# The main job: set up this machine, build a RISC-V and an AArch64 program with Debian's cross
# compilers (and an x86-64 one with the host's gcc) and run them - and Debian's riscv64, arm64 and
# amd64 busybox - with `vmkit run`, as qemu-riscv64, qemu-aarch64 and qemu-x86_64 would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p build/demo
riscv64-linux-gnu-gcc -O2 -o build/demo/hello-rv64 examples/hello.c -lm
echo "== vmkit run -L /usr/riscv64-linux-gnu build/demo/hello-rv64 vmkit"
vmkit run -L /usr/riscv64-linux-gnu build/demo/hello-rv64 vmkit
bb=$(bash scripts/guest_busybox.sh)
echo "== vmkit run busybox sh -c 'for i in 1 2 3; do echo \$i; done'"
vmkit run "$bb" sh -c 'for i in 1 2 3; do echo $i; done'
echo "== echo hello | vmkit run busybox sha256sum"
echo hello | vmkit run "$bb" sha256sum
aarch64-linux-gnu-gcc -O2 -o build/demo/hello-a64 examples/hello.c -lm
echo "== vmkit run -L /usr/aarch64-linux-gnu build/demo/hello-a64 vmkit"
vmkit run -L /usr/aarch64-linux-gnu build/demo/hello-a64 vmkit
bb=$(bash scripts/guest_busybox.sh aarch64)
echo "== echo hello | vmkit run busybox-arm64 sha256sum"
echo hello | vmkit run "$bb" sha256sum
gcc -O2 -o build/demo/hello-x64 examples/hello.c -lm
echo "== vmkit run build/demo/hello-x64 vmkit"
vmkit run build/demo/hello-x64 vmkit
bb=$(bash scripts/guest_busybox.sh x86_64)
echo "== echo hello | vmkit run busybox-amd64 sha256sum"
echo hello | vmkit run "$bb" sha256sum
