#!/usr/bin/env python3
"""System-mode boot benchmark: vmkit against qemu-system-riscv64, in one run.

Both boot Debian's riscv64 Linux kernel (../shared/guests) with the same initramfs
(scripts/guest_initramfs.sh: Debian's busybox-static as /init) on a virt board with 512 MiB, and
the time measured is from starting the emulator to the first line /init prints
("vmkit-init: hello"). /init then powers off (the `vmkit.poweroff` option), so each run also has a
total time. qemu runs with a CPU restricted to the ISA vmkit implements (no H, V, Zbc, Svpbmt,
Svnapot, Svinval), so the kernel takes the same code paths; it uses its built-in OpenSBI, vmkit its
native SBI.

vmkit runs through its native `vmkit-boot` (no Python start-up), once per engine asked for. Its
--stats-json report gives the guest instruction count and the address-translation figures
during the boot: the fast tables' hit rate (every load and store) and the ASID-tagged second-level
TLB's (the misses of the first).

Every configuration runs N times (--runs, default 5); the table shows medians (wall time to the
marker, total wall time, CPU time) and vmkit's speed as a share of qemu's.

Usage: python3 bench/boot.py [--runs N] [--engines auto,jit,interp] [--timeout S] [--memory 512M]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = b"vmkit-init: hello"
QEMU_CPU = "rv64,h=false,zbc=false,svpbmt=false,svnapot=false,svinval=false,v=false"


class BenchError(Exception):
    """Something the benchmark needs is missing or broken; the message says what."""


def guest_files() -> tuple:
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"scripts/guest_initramfs.sh failed:\n{r.stderr}")
    kernel, initrd = r.stdout.split()
    return kernel, initrd


def vmkit_boot_path() -> str:
    try:
        import vmkit.cli
    except ImportError as e:
        raise BenchError(f"cannot import vmkit ({e}): pip install . first") from None
    path = vmkit.cli.runner_path("boot")
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} is missing: reinstall vmkit (pip install .)")
    return path


def timed_boot(cmd: list, timeout: float) -> dict:
    """Runs cmd with stdout piped: seconds to MARKER, seconds to exit, CPU seconds (user+sys)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    out = b""
    marker_at = None
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.perf_counter())):
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
        if marker_at is None and MARKER in out:
            marker_at = time.perf_counter() - t0
    if time.perf_counter() >= deadline:
        p.kill()
    _, status, usage = os.wait4(p.pid, 0)  # (its CPU time; Popen must not reap it first)
    p.returncode = os.waitstatus_to_exitcode(status)
    total = time.perf_counter() - t0
    err = p.stderr.read()
    if marker_at is None:
        raise BenchError(f"{cmd[0]}: no {MARKER.decode()!r} within {timeout} s; output tail:\n"
                         f"{out[-1500:].decode(errors='replace')}\nstderr: {err[-1500:].decode(errors='replace')}")
    return {"marker": marker_at, "total": total, "cpu": usage.ru_utime + usage.ru_stime, "status": status}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--engines", default="auto,jit,interp")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--memory", default="512M")
    args = ap.parse_args()
    try:
        kernel, initrd = guest_files()
        boot = vmkit_boot_path()
        qemu = shutil.which("qemu-system-riscv64")
        if not qemu:
            raise BenchError("qemu-system-riscv64 is missing: apt-get install qemu-system-misc")
        append = "console=ttyS0 vmkit.poweroff"
        mem_mib = args.memory.rstrip("M") if args.memory.endswith("M") else str(int(args.memory.rstrip("G")) * 1024)
        configs = [("qemu", [qemu, "-machine", "virt", "-m", mem_mib, "-nographic", "-cpu", QEMU_CPU,
                             "-kernel", kernel, "-initrd", initrd, "-append", append], None)]
        tmp = Path(tempfile.mkdtemp(prefix="vmkit-bootbench-"))
        for e in args.engines.split(","):
            stats = tmp / f"stats-{e}.json"
            configs.append((f"vmkit {e}", [boot, "--engine", e, "--memory", args.memory, "--kernel", kernel,
                                           "--initrd", initrd, "--append", append, "--stats-json", str(stats)], stats))
        results = {name: [] for name, _, _ in configs}
        tlb = {}
        for run in range(args.runs):
            for name, cmd, stats in configs:  # interleaved, so machine noise hits all alike
                r = timed_boot(cmd, args.timeout)
                results[name].append(r)
                if stats is not None:
                    tlb[name] = json.loads(stats.read_text())
                print(f"  run {run + 1}/{args.runs} {name:13s} marker {r['marker']:6.2f} s  total {r['total']:6.2f} s  "
                      f"cpu {r['cpu']:6.2f} s", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    except BenchError as e:
        print(f"bench/boot.py: {e}", file=sys.stderr)
        return 1

    med = {n: {k: statistics.median(r[k] for r in rs) for k in ("marker", "total", "cpu")} for n, rs in results.items()}
    q = med["qemu"]
    print(f"\nBoot of Debian's riscv64 kernel to /init's first line, {args.runs} runs each, medians "
          f"(RAM {args.memory}):\n")
    print(f"| {'emulator':13s} | to /init s | total s | CPU s | speed vs qemu (to /init) | guest insns | "
          f"fast-table hit rate | L2 dTLB hit rate | L2 iTLB hit rate |")
    print("|" + "---|" * 9)
    for name in results:
        m = med[name]
        speed = q["marker"] / m["marker"] * 100
        if name in tlb:
            t = tlb[name]
            fast = t["fast_hits"] / max(1, t["fast_hits"] + t["fast_misses"])
            d = t["dtlb"]["hits"] / max(1, t["dtlb"]["lookups"])
            i = t["itlb"]["hits"] / max(1, t["itlb"]["lookups"])
            extra = f"{t['insns']:,} | {fast:.2%} | {d:.2%} | {i:.2%}"
        else:
            extra = "- | - | - | -"
        print(f"| {name:13s} | {m['marker']:9.2f} | {m['total']:7.2f} | {m['cpu']:5.2f} | {speed:23.1f}% | {extra} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
