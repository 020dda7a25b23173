#!/usr/bin/env python3
"""Hooked execution: vmkit.Machine against the unicorn package, in one run.

Cases (the same RISC-V code on both; guest code assembled by vmkit.asm, i.e. LLVM MC):
  python-code-hook  a no-op Python per-instruction hook on a counting loop: hooked instructions/s
                    (issue 3 asks vmkit >= 2x unicorn)
  native-code-hook  vmkit with a C per-instruction hook (a shared object built here with cc, called
                    through its address as ctypes gives it) against unicorn's Python-hooked rate
                    (issue 3 asks >= 20x)
  mem-hook-outside  a loop of loads and stores, with a read+write memory hook on a 4 KiB range the
                    loop never touches, against the same loop with no hooks (vmkit: within 10%);
                    unicorn's own ratio is shown too
  code-hook-outside the counting loop (100x longer), with a Python code hook on a 64-byte range of
                    the same page that the loop never runs, against the same loop with no hooks
                    (issue 4 asks vmkit >= 90%); unicorn's own ratio is shown too
  no-hooks          the counting loop with no hooks at all, for reference

Every case runs --runs times (default 5); the table shows medians and the ratios of the medians.
Usage: python3 bench/hooks.py [--runs N] [--insns N]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import vmkit

try:
    import unicorn
except ImportError:  # pragma: no cover - the runner says what to install
    sys.exit("bench/hooks.py compares against the unicorn package: pip install unicorn")

BASE = 0x10000
DATA = 0x100000
HOOKED = 0x800000  # the 4 KiB range with memory hooks, never touched
CODE_HOOKED = BASE + 0x100  # the 64-byte range with a code hook: in the loop's page, never run

COUNT_LOOP = """
    li   t0, {n}
loop:
    addi a0, a0, 1
    addi t0, t0, -1
    bnez t0, loop
    nop
"""
MEM_LOOP = """
    li   t0, {n}
    li   t1, 0x100000
loop:
    ld   t2, 0(t1)
    add  t2, t2, t0
    sd   t2, 8(t1)
    addi t1, t1, 16
    andi t1, t1, 0x7ff
    li   t3, 0x100000
    or   t1, t1, t3
    addi t0, t0, -1
    bnez t0, loop
    nop
"""
MEM_LOOP_INSNS = 10  # per iteration (li t3 is lui + addi? no: 0x100000 is one lui) -- sizing only


def build(src: str) -> bytes:
    return vmkit.asm("riscv64", src, BASE)


def native_hook_library(tmp: str) -> ctypes.CDLL:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("a C compiler (cc) is needed to build the native hook")
    src, so = os.path.join(tmp, "hook.c"), os.path.join(tmp, "hook.so")
    with open(src, "w") as f:
        f.write("#include <stdint.h>\n"
                "int count_insn(uint32_t type, uint64_t addr, uint32_t size, uint64_t value, void* user) {\n"
                "  ++*(uint64_t*)user; return 0; }\n")
    subprocess.check_call([cc, "-O2", "-shared", "-fPIC", "-o", so, src])
    return ctypes.CDLL(so)


LAST_INSNS = [0]  # guest instructions of the last vmkit run


def run_vmkit(code: bytes, setup) -> float:
    m = vmkit.Machine("riscv64")
    m.mem.map(BASE, 0x10000, "rwx")
    m.mem.map(DATA, 0x1000, "rw")
    m.mem.map(HOOKED, 0x1000, "rw")
    m.mem.write(BASE, code)
    keep = setup(m)
    t = time.perf_counter()
    r = m.run(BASE, until=BASE + len(code) - 2)
    dt = time.perf_counter() - t
    assert r.reason == vmkit.RunEnd.UNTIL, r
    LAST_INSNS[0] = r.insns
    del keep
    return dt


def run_unicorn(code: bytes, setup) -> float:
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    uc.mem_map(BASE, 0x10000)
    uc.mem_map(DATA, 0x1000)
    uc.mem_map(HOOKED, 0x1000)
    uc.mem_write(BASE, code)
    setup(uc)
    t = time.perf_counter()
    uc.emu_start(BASE, BASE + len(code) - 2)
    return time.perf_counter() - t


def median_time(fn, runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--insns", type=int, default=3_000_000, help="guest instructions per hooked run")
    a = ap.parse_args()

    n_iter = a.insns // 3
    count_code = build(COUNT_LOOP.format(n=n_iter))
    mem_iter = a.insns * 30 // MEM_LOOP_INSNS * 10  # long: the hook never fires, and short runs are noise
    mem_code = build(MEM_LOOP.format(n=mem_iter))

    def noop_vm(m, address, size):
        pass

    def noop_uc(uc, address, size, data):
        pass

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = native_hook_library(tmp)
        counter = ctypes.c_uint64(0)

        t_vm_py = median_time(lambda: run_vmkit(count_code, lambda m: m.hook_code(noop_vm)), a.runs)
        t_uc_py = median_time(lambda: run_unicorn(count_code, lambda uc: uc.hook_add(unicorn.UC_HOOK_CODE, noop_uc)), a.runs)
        t_vm_native = median_time(
            lambda: run_vmkit(count_code, lambda m: m.hook_code(lib.count_insn, user_data=ctypes.addressof(counter))),
            a.runs)
        t_vm_plain = median_time(lambda: run_vmkit(count_code, lambda m: None), a.runs)
        count_insns = LAST_INSNS[0]
        t_uc_plain = median_time(lambda: run_unicorn(count_code, lambda uc: None), a.runs)

        def vm_memhook(m):
            return m.hook_mem(lambda *args: None, access="rw", begin=HOOKED, end=HOOKED + 0x1000)

        def uc_memhook(uc):
            uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE, lambda *args: None, None,
                        HOOKED, HOOKED + 0xFFF)

        # a 64-byte code hook elsewhere: long runs (unhooked code runs at full speed)
        long_code = build(COUNT_LOOP.format(n=n_iter * 100))
        t_vm_long_plain = median_time(lambda: run_vmkit(long_code, lambda m: None), a.runs)
        long_insns = LAST_INSNS[0]
        t_vm_long_hooked = median_time(
            lambda: run_vmkit(long_code, lambda m: m.hook_code(noop_vm, begin=CODE_HOOKED, end=CODE_HOOKED + 64)),
            a.runs)
        t_uc_long_plain = median_time(lambda: run_unicorn(long_code, lambda uc: None), a.runs)
        t_uc_long_hooked = median_time(
            lambda: run_unicorn(long_code, lambda uc: uc.hook_add(unicorn.UC_HOOK_CODE, noop_uc, None, CODE_HOOKED,
                                                                   CODE_HOOKED + 63)),
            a.runs)

        t_vm_mem_plain = median_time(lambda: run_vmkit(mem_code, lambda m: None), a.runs)
        mem_insns = LAST_INSNS[0]
        t_vm_mem_hooked = median_time(lambda: run_vmkit(mem_code, vm_memhook), a.runs)
        t_uc_mem_plain = median_time(lambda: run_unicorn(mem_code, lambda uc: None), a.runs)
        t_uc_mem_hooked = median_time(lambda: run_unicorn(mem_code, uc_memhook), a.runs)

    insns = count_insns
    mi = lambda t, n=insns: n / t / 1e6  # noqa: E731  (million instructions per second)
    print(f"hooked execution, median of {a.runs} runs, {insns:,} guest instructions per counting run\n")
    print(f"{'case':<34}{'vmkit':>14}{'unicorn':>14}{'ratio':>10}")
    print(f"{'python code hook (M hooks/s)':<34}{mi(t_vm_py):>14.2f}{mi(t_uc_py):>14.2f}{t_uc_py / t_vm_py:>9.1f}x")
    print(f"{'native code hook vs unicorn py':<34}{mi(t_vm_native):>14.2f}{mi(t_uc_py):>14.2f}{t_uc_py / t_vm_native:>9.1f}x")
    print(f"{'no hooks (M insns/s)':<34}{mi(t_vm_plain):>14.1f}{mi(t_uc_plain):>14.1f}{t_uc_plain / t_vm_plain:>9.2f}x")
    print(f"{'mem loop, no hooks (M insns/s)':<34}{mi(t_vm_mem_plain, mem_insns):>14.1f}{mi(t_uc_mem_plain, mem_insns):>14.1f}")
    print(f"{'mem loop, 4 KiB hook elsewhere':<34}{mi(t_vm_mem_hooked, mem_insns):>14.1f}{mi(t_uc_mem_hooked, mem_insns):>14.1f}")
    print(f"{'  hooked / unhooked speed':<34}{t_vm_mem_plain / t_vm_mem_hooked:>14.1%}{t_uc_mem_plain / t_uc_mem_hooked:>14.1%}")
    print(f"{'loop, no hooks (M insns/s)':<34}{mi(t_vm_long_plain, long_insns):>14.1f}{mi(t_uc_long_plain, long_insns):>14.1f}")
    print(f"{'loop, 64 B code hook elsewhere':<34}{mi(t_vm_long_hooked, long_insns):>14.1f}{mi(t_uc_long_hooked, long_insns):>14.1f}")
    print(f"{'  hooked / unhooked speed':<34}{t_vm_long_plain / t_vm_long_hooked:>14.1%}{t_uc_long_plain / t_uc_long_hooked:>14.1%}")


if __name__ == "__main__":
    main()
