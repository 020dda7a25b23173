#!/usr/bin/env python3
"""Guest workload benchmark: vmkit against qemu-user (qemu-riscv64, qemu-aarch64 or qemu-x86_64)
and native execution, in one run.

Workloads (for the guest architecture --arch: riscv64, the default, aarch64 or x86_64)
  cpu     bench/workloads/cpu.c (lists, integer matmul, a tokenizer state machine, CRC/hash), built
          for the guest (static, -O2) and for the host (-O2); native = the host build.
  sha256  busybox sha256sum of a deterministic ~8 MiB file (Debian's busybox-static for the guest);
          native = the host's coreutils sha256sum (busybox is not installed for the host), or for
          x86_64 guests the very same busybox run natively.
  gzip    busybox gzip -c of the same file; native = the host's gzip -c (x86_64: the same busybox).

For x86_64, --qemu-cpu picks qemu-x86_64's CPU model: its default ("max", with AVX2, so glibc
takes other code paths than under vmkit) or one close to what vmkit reports, such as qemu64.

Every workload runs N times (--runs, default 3) natively, under qemu and under vmkit; the
table shows medians. vmkit runs as `vmkit run` does: its native runner vmkit-run (found through
the Python package) in a fresh process, like qemu-user, so both pay their start-up cost
(measured on its own with an empty program; the "w/o start" column compares the times with each
runner's start-up taken out). --via-python runs `python -m vmkit run` instead, which adds
Python's start-up. The guest outputs
of qemu and vmkit must be byte-identical, and the native output must agree with them (same
checksum / digest; for gzip, the decompressed output), else the run is reported as a mismatch.

Usage: python3 bench/run.py [--arch riscv64|aarch64|x86_64] [--runs N] [--quick] [--only cpu|sha256|gzip]
                          [--timeout S] [--engine interp|jit|auto] [--via-python] [--qemu-cpu MODEL]
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = REPO / "bench" / "workloads"
# Per guest architecture: its cross compiler and its qemu-user.
TOOLS = {"riscv64": ("riscv64-linux-gnu-gcc", "qemu-riscv64"), "aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64"),
         "x86_64": ("gcc", "qemu-x86_64")}


class BenchError(Exception):
    """Something the benchmark needs is missing or broken; the message says what."""


@dataclass
class Workload:
    name: str
    native: List[str]  # command for the native column
    guest: List[str]  # the guest program and its arguments (for qemu and vmkit)
    native_note: str = ""
    # Turns an output into what must agree across native/qemu/vmkit (identity by default).
    normalize_native: Callable[[bytes], bytes] = lambda b: b
    normalize_guest: Callable[[bytes], bytes] = lambda b: b


@dataclass
class Timing:
    times: List[float] = field(default_factory=list)
    output: Optional[bytes] = None
    error: str = ""

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times and not self.error else None


def require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise BenchError(f"{tool} not found: run scripts/setup.sh (it installs the cross compiler and qemu-user)")
    return path


def compile_cpu(work: Path, cross_cc: str) -> tuple:
    src = WORKLOADS / "cpu.c"
    rv = work / "cpu-guest"
    host = work / "cpu-host"
    for cmd in (
        [require(cross_cc), "-O2", "-static", "-o", str(rv), str(src)],
        [require("cc"), "-O2", "-o", str(host), str(src)],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise BenchError(f"compiling {src.name} failed:\n{' '.join(cmd)}\n{r.stderr}")
    return rv, host


def find_busybox(arch: str) -> Optional[Path]:
    """Debian's busybox-static for arch, through scripts/guest_busybox.sh (../shared/guests or the
    Debian mirror); None, with the reason on stderr, if neither has it."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_busybox.sh"), arch], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return None
    return Path(r.stdout.strip())


def make_data(path: Path, size: int) -> None:
    """Deterministic, partly compressible data (so gzip has real work): words and random runs."""
    rnd = random.Random(20240601)
    words = [b"vmkit ", b"riscv64 ", b"qemu ", b"busybox ", b"benchmark\n", b"0123456789 ", b"emulator "]
    chunks = []
    total = 0
    while total < size:
        c = rnd.choice(words) if rnd.random() < 0.7 else rnd.randbytes(rnd.randint(8, 64))
        chunks.append(c)
        total += len(c)
    path.write_bytes(b"".join(chunks)[:size])


def timed(cmd: List[str], timeout: float) -> tuple:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    dt = time.perf_counter() - t0
    return dt, r


def measure(cmd: List[str], runs: int, timeout: float) -> Timing:
    t = Timing()
    for _ in range(runs):
        try:
            dt, r = timed(cmd, timeout)
        except subprocess.TimeoutExpired:
            t.error = f"timeout after {timeout:.0f} s"
            return t
        if r.returncode != 0:
            t.error = f"exit status {r.returncode}: {r.stderr.decode(errors='replace').strip()[-300:]}"
            return t
        if t.output is not None and r.stdout != t.output:
            t.error = "output differs between runs"
            return t
        t.output = r.stdout
        t.times.append(dt)
    return t


def fmt_s(v: Optional[float]) -> str:
    return f"{v:8.3f}" if v is not None else "       -"


def fmt_ratio(a: Optional[float], b: Optional[float], pct: bool = False) -> str:
    if a is None or b is None or b == 0:
        return "       -"
    return f"{100 * a / b:7.1f}%" if pct else f"{a / b:7.1f}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(TOOLS), default="riscv64", help="guest architecture")
    ap.add_argument("--runs", type=int, default=3, help="runs per workload and runner (median is shown)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--only", choices=["cpu", "sha256", "gzip"], help="run one workload")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed for one run")
    ap.add_argument("--python", default=sys.executable, help="Python that has vmkit installed")
    ap.add_argument("--engine", choices=["interp", "jit", "auto"], default="auto",
                    help="vmkit's execution engine (vmkit run --engine)")
    ap.add_argument("--via-python", action="store_true", help="run vmkit as `python -m vmkit run`")
    ap.add_argument("--qemu-cpu", help="qemu's -cpu model (default: qemu's own default)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    cross_cc, qemu_name = TOOLS[args.arch]
    try:
        qemu_cmd = [require(qemu_name), *(["-cpu", args.qemu_cpu] if args.qemu_cpu else [])]
        probe = subprocess.run([args.python, "-c", "import vmkit.linux, vmkit.cli; print(vmkit.cli.runner_path())"],
                               capture_output=True, text=True)
        if probe.returncode:
            raise BenchError(f"vmkit is not importable by {args.python} (pip install . first):\n{probe.stderr.strip()}")
        if args.via_python:
            vmkit_cmd = [args.python, "-m", "vmkit", "run", "--engine", args.engine]
        else:
            vmkit_cmd = [probe.stdout.strip(), "--engine", args.engine]
        work = Path(tempfile.mkdtemp(prefix="vmkit-bench-"))
        workloads: List[Workload] = []
        cpu_iters = "20" if args.quick else "200"
        if args.only in (None, "cpu"):
            rv, host = compile_cpu(work, cross_cc)
            workloads.append(Workload("cpu", [str(host), cpu_iters], [str(rv), cpu_iters], "host build of cpu.c"))
        if args.only in (None, "sha256", "gzip"):
            bb = find_busybox(args.arch)
            if bb is None:
                print(f"busybox-static for {args.arch} not found (../shared/guests or apt-get download): skipping sha256, gzip")
            else:
                data = work / "data.bin"
                make_data(data, (1 << 20) if args.quick else (8 << 20))
                # An x86-64 guest's busybox runs natively too: the same program is the native column.
                same_busybox = args.arch == "x86_64"
                if args.only in (None, "sha256"):
                    first_field = lambda out: out.split()[0] if out.split() else out  # noqa: E731
                    native = [str(bb), "sha256sum", str(data)] if same_busybox else [require("sha256sum"), str(data)]
                    workloads.append(Workload("sha256", native, [str(bb), "sha256sum", str(data)],
                                              "the same busybox" if same_busybox else "host coreutils sha256sum",
                                              first_field, first_field))
                if args.only in (None, "gzip"):
                    # Different gzip implementations produce different bytes; compare what they decompress to.
                    native = [str(bb), "gzip", "-c", str(data)] if same_busybox else [require("gzip"), "-c", str(data)]
                    workloads.append(Workload("gzip", native, [str(bb), "gzip", "-c", str(data)],
                                              "the same busybox" if same_busybox else "host gzip",
                                              gzip.decompress, gzip.decompress))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1

    print(f"vmkit benchmark, {args.arch} guests against {' '.join([qemu_name, *qemu_cmd[1:]])}: {args.runs} run(s) each, median wall-clock "
          f"seconds; vmkit via `{' '.join(vmkit_cmd)}`")
    # Start-up: an empty static program under both. vmkit pays for starting Python and importing
    # vmkit; the last column takes each runner's start-up out of its time.
    empty = work / "empty.guest"
    empty_src = work / "empty.c"
    empty_src.write_text("int main(void) { return 0; }\n")
    subprocess.run([require(cross_cc), "-O2", "-static", "-o", str(empty), str(empty_src)], check=True)
    q0 = measure([*qemu_cmd, str(empty)], max(args.runs, 5), args.timeout).median
    v0 = measure([*vmkit_cmd, str(empty)], max(args.runs, 5), args.timeout).median
    print(f"start-up (an empty program): qemu {fmt_s(q0)} s, vmkit {fmt_s(v0)} s")
    header = (f"{'workload':<10}{'native s':>10}{'qemu s':>10}{'vmkit s':>10}{'qemu/nat':>10}{'vmkit/nat':>10}"
              f"{'vmkit %qemu':>12}{'w/o start':>10}  notes")
    print(header)
    print("-" * len(header))
    status = 0
    for w in workloads:
        nat = measure(w.native, args.runs, args.timeout)
        q = measure([*qemu_cmd, *w.guest], args.runs, args.timeout)
        v = measure([*vmkit_cmd, *w.guest], args.runs, args.timeout)
        notes = [f"native = {w.native_note}"] if w.native_note else []
        for label, t in (("native", nat), ("qemu", q), ("vmkit", v)):
            if t.error:
                notes.append(f"{label}: {t.error}")
                status = 1
        if q.output is not None and v.output is not None and q.output != v.output:
            notes.append("MISMATCH: vmkit output differs from qemu's")
            v.error = v.error or "mismatch"
            status = 1
        if nat.output is not None and q.output is not None:
            try:
                agree = w.normalize_native(nat.output) == w.normalize_guest(q.output)
            except Exception as e:  # a corrupt gzip stream, for instance
                agree, notes = False, notes + [f"cannot compare outputs: {e}"]
            if not agree:
                notes.append("MISMATCH: native output differs from qemu's")
                status = 1
        n, qm, vm = nat.median, q.median, v.median
        # "vmkit %qemu": vmkit's speed as a percentage of qemu's (100% = as fast, >100% = faster);
        # "w/o start": the same with each runner's start-up time taken out of its time.
        qr = qm - q0 if qm is not None and q0 is not None else None
        vr = vm - v0 if vm is not None and v0 is not None else None
        print(f"{w.name:<10}{fmt_s(n):>10}{fmt_s(qm):>10}{fmt_s(vm):>10}{fmt_ratio(qm, n):>10}{fmt_ratio(vm, n):>10}"
              f"{fmt_ratio(qm, vm, pct=True):>12}{fmt_ratio(qr, vr, pct=True):>10}  {'; '.join(notes)}")
    shutil.rmtree(work, ignore_errors=True)
    if status:
        print("bench: some runs failed or disagreed (see notes)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
