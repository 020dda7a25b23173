#!/usr/bin/env python3
"""Snapshot restore cost: vmkit's copy-on-write restore against copying the guest back, in one run.

For guests of several sizes, a short run dirties 3 pages, then the machine is restored:
  vmkit     Machine.restore(snapshot): copies back only the pages written since (plus registers)
  unicorn   the same state put back the way a Unicorn script has to: context_restore plus a
            mem_write of the saved copy of the guest memory
Prints the median time per restore over --cycles cycles, and the pages vmkit copied.
Usage: python3 bench/snapshots.py [--cycles N] [--sizes 16,256,1024]  (sizes in MiB)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import vmkit

try:
    import unicorn
except ImportError:  # pragma: no cover
    sys.exit("bench/snapshots.py compares against the unicorn package: pip install unicorn")

BASE = 0x10000
DATA = 0x1000000
SRC = """
    li   t0, 0x1000000
    sd   a0, 0(t0)
    li   t1, 0x40000
    add  t0, t0, t1
    sd   a0, 8(t0)
    add  t0, t0, t1
    sd   a0, 16(t0)
"""


def bench_vmkit(code: bytes, size: int, cycles: int) -> tuple:
    m = vmkit.Machine("riscv64")
    m.mem.map(BASE, 0x1000, "rx")
    m.mem.write(BASE, code)
    m.mem.map(DATA, size, "rw")
    snap = m.snapshot()
    times, copied = [], 0
    for i in range(cycles):
        m.regs.a0 = i + 1
        m.run(BASE, until=BASE + len(code))
        t = time.perf_counter()
        copied = m.restore(snap)
        times.append(time.perf_counter() - t)
    assert m.mem.read(DATA, 8) == bytes(8)
    return statistics.median(times), copied


def bench_unicorn(code: bytes, size: int, cycles: int) -> float:
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    uc.mem_map(BASE, 0x1000)
    uc.mem_write(BASE, code)
    uc.mem_map(DATA, size)
    ctx = uc.context_save()
    saved = bytes(uc.mem_read(DATA, size))
    times = []
    for i in range(cycles):
        uc.reg_write(unicorn.riscv_const.UC_RISCV_REG_A0, i + 1)
        uc.emu_start(BASE, BASE + len(code))
        t = time.perf_counter()
        uc.context_restore(ctx)
        uc.mem_write(DATA, saved)
        times.append(time.perf_counter() - t)
    assert bytes(uc.mem_read(DATA, 8)) == bytes(8)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--sizes", default="16,256,1024", help="guest data sizes in MiB, comma separated")
    a = ap.parse_args()
    code = vmkit.asm("riscv64", SRC, BASE)
    print(f"restore after a run that writes 3 pages; median of {a.cycles} cycles\n")
    print(f"{'guest MiB':>10}{'vmkit us':>12}{'pages':>7}{'unicorn us':>13}{'ratio':>9}")
    for mib in (int(s) for s in a.sizes.split(",")):
        size = mib << 20
        t_vm, pages = bench_vmkit(code, size, a.cycles)
        t_uc = bench_unicorn(code, size, max(3, a.cycles // 20))
        print(f"{mib:>10}{t_vm * 1e6:>12.1f}{pages:>7}{t_uc * 1e6:>13.0f}{t_uc / t_vm:>8.0f}x")


if __name__ == "__main__":
    main()
