"""`vmkit boot` (and `python -m vmkit boot`): boots a RISC-V kernel with the console on stdio, takes
input from stdin, exits 0 when the guest powers off, and reports bad files clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO

TIMEOUT = 600
PY_BOOT = [sys.executable, "-m", "vmkit", "boot"]


@pytest.fixture(scope="module")
def linux_guest() -> tuple:
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    kernel, initrd = r.stdout.split()
    return kernel, initrd


def read_until(stream, text: bytes, deadline: float) -> bytes:
    """Reads the guest's console output until `text` appears (a real user waits for the prompt:
    what is typed before the serial driver and the shell are up may be dropped, as on hardware)."""
    out = b""
    while text not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} on the console in time; output tail: {out[-1500:]!r}")
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"the console closed before {text!r}; output tail: {out[-1500:]!r}")
        out += chunk
    return out


def test_boot_runs_shell_commands_from_stdin_and_exits_on_power_off(linux_guest, tmp_path):
    kernel, initrd = linux_guest
    stats = tmp_path / "stats.json"
    p = subprocess.Popen(PY_BOOT + ["--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0",
                                    "--stats-json", str(stats)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        out = read_until(p.stdout, b"# ", deadline)
        p.stdin.write(b"echo sum=$((40+2))\n")
        p.stdin.flush()
        out += read_until(p.stdout, b"sum=42", deadline)
        p.stdin.write(b"poweroff -f\n")
        p.stdin.flush()
        rest, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
    out = (out + rest).decode(errors="replace")
    assert p.returncode == 0, (out[-2000:], err[-2000:])
    assert "vmkit-init: hello" in out and "reboot: Power down" in out
    s = json.loads(stats.read_text())
    assert s["end"] == "power_off" and s["insns"] > 100_000_000
    assert s["dtlb"]["lookups"] == s["dtlb"]["hits"] + s["dtlb"]["misses"]


def test_boot_reports_bad_files(tmp_path):
    r = subprocess.run(PY_BOOT + ["--kernel", "/bin/ls"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1
    assert "vmkit boot: kernel '/bin/ls'" in r.stderr and "ELF for x86-64" in r.stderr
    r = subprocess.run(PY_BOOT + ["--kernel", "/bin/ls", "--disk", str(tmp_path / "none.img")], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 1 and "none.img" in r.stderr and "No such file" in r.stderr
    r = subprocess.run(PY_BOOT + ["--memory", "12Q", "--kernel", "/bin/ls"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 1 and "12Q" in r.stderr
    r = subprocess.run(PY_BOOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and "--kernel" in r.stderr
