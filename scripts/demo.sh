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
deb=$(ls ../shared/guests/busybox-static_*_riscv64.deb 2>/dev/null | head -n1 || true)
if [ -n "$deb" ]; then
  dpkg -x "$deb" build/demo/busybox
  echo "== vmkit run busybox sh -c 'for i in 1 2 3; do echo \$i; done | busybox sha256sum'"
  vmkit run build/demo/busybox/usr/bin/busybox sh -c 'for i in 1 2 3; do echo $i; done'
  echo hello | vmkit run build/demo/busybox/usr/bin/busybox sha256sum
fi
