#!/usr/bin/env bash
# The main job: set up this machine, build a RISC-V program with Debian's cross compiler and run
# it - and Debian's riscv64 busybox - with `vmkit run`, as qemu-riscv64 would.
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
