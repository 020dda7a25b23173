"""The host's own x86-64 programs (Debian bookworm's coreutils, grep, sed, gawk, bash, perl, python3,
gcc with its cc1 and as) under vmkit, against the same programs run natively: stdout, the exit
status and the files they write must be the same, and vmkit must report no unsupported syscall or
instruction on the way. These are dynamically linked against the host's glibc, which picks its
string functions by vmkit's CPUID, and they fork, exec, pipe, and use signals and locales."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import GUEST_ENV, EngineChoice, run_vmkit

pytestmark = pytest.mark.usefixtures("each_engine")


def host_tool(name: str) -> Path:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed on this host")
    return Path(path).resolve()


def compare_with_native(tool: str, args: list, cwd: Path, stdin: bytes = b"") -> bytes:
    """Runs the host program natively and under vmkit in cwd; returns the common stdout."""
    prog = host_tool(tool)
    env = dict(GUEST_ENV)
    ref = subprocess.run([str(prog), *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=120)
    got = run_vmkit(prog, args, stdin=stdin, env=env, cwd=cwd, engine=EngineChoice.name)
    report = got.stderr.decode(errors="replace") + "\n".join(got.diagnostics)
    assert "unsupported" not in report and "illegal instruction" not in report, report
    assert got.stdout == ref.stdout, (tool, args, ref.stdout[-2000:], got.stdout[-2000:], report)
    assert got.returncode == ref.returncode, (tool, args, ref.returncode, got.returncode, report)
    return ref.stdout


@pytest.mark.parametrize(
    "tool, args",
    [
        ("ls", ["-la", "--time-style=+", "/usr/include/x86_64-linux-gnu/sys"]),
        ("sort", ["-n", "-r", "numbers.txt"]),
        ("grep", ["-c", "-E", "^#(include|define)", "/usr/include/stdio.h"]),
        ("sed", ["-n", "s/\\bint\\b/INT/gp", "/usr/include/stdlib.h"]),
        ("awk", ["BEGIN { for (i = 1; i < 50; i++) s += sin(i) / i; printf \"%.15f %e\\n\", s, 2^70 }"]),
        ("sha512sum", ["numbers.txt"]),
        ("bash", ["-c", "for i in $(seq 1 20); do echo $((i * i)); done | paste -sd+ | bc; trap 'echo usr1' USR1; kill -USR1 $$"]),
        ("perl", ["-e", "my %h = map { $_ => $_ ** 3 } 1..50; printf \"%d %.12g\\n\", $h{17}, atan2(1, 1) * 4"]),
        ("python3", ["-c", "import hashlib, json, re; print(json.dumps(sorted({i % 7 for i in range(99)})), "
                     "hashlib.sha256(b'vmkit' * 999).hexdigest(), re.sub(r'(\\d+)', r'<\\1>', 'a1b22c333'), 2 ** 0.5)"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_host_program_matches_native(tool, args, tmp_path, vmkit_module):
    (tmp_path / "numbers.txt").write_text("".join(f"{(i * 7919) % 1000}\n" for i in range(2000)))
    compare_with_native(tool, args, tmp_path)


def test_gcc_compiles_and_links_under_vmkit(tmp_path, vmkit_module):
    """gcc forks and execs cc1, as and collect2/ld (all under vmkit): the object and the program it
    builds must be the same as natively."""
    src = tmp_path / "prog.c"
    src.write_text('#include <stdio.h>\nint main(void) { printf("built %d\\n", 6 * 7); return 0; }\n')
    native_dir, vmkit_dir = tmp_path / "native", tmp_path / "vmkit"
    native_dir.mkdir()
    vmkit_dir.mkdir()
    args = ["-O2", "-c", str(src), "-o", "prog.o"]
    gcc = host_tool("gcc")
    subprocess.run([str(gcc), *args], cwd=native_dir, check=True, timeout=120, env=dict(os.environ))
    got = run_vmkit(gcc, args, cwd=vmkit_dir, env=dict(os.environ), engine=EngineChoice.name)
    assert got.returncode == 0, got
    assert (vmkit_dir / "prog.o").read_bytes() == (native_dir / "prog.o").read_bytes()
