"""The command line, `vmkit run [-L SYSROOT] [-0 ARGV0] PROG ARGS...` (and `python -m vmkit run`),
behaves like qemu-riscv64: stdin/stdout/stderr pass straight through, the process exits with the
guest's status, and a guest killed by a signal kills vmkit with the same signal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import DYNAMIC_O2, FAULT_DIR, GUEST_DIR, GUEST_ENV, QEMU, STATIC_O2, SYSROOT, elf_symbol_address

TIMEOUT = 120

# Copies stdin to stdout upper-cased and reports counts on stderr: shows all three streams flow.
UPPER_C = r"""
#include <ctype.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int c; long n = 0;
  while ((c = getchar()) != EOF) { putchar(toupper(c)); n++; }
  fprintf(stderr, "%s: %ld bytes\n", argc > 1 ? argv[1] : "upper", n);
  return n % 256;
}
"""


PY_RUN = [sys.executable, "-m", "vmkit", "run"]


def cli_commands():
    """Every spelling of the command: the module, the console script when it is installed, and
    the native program they run (vmkit-run, in the package)."""
    from vmkit.cli import runner_path

    cmds = [pytest.param(PY_RUN, id="python-m-vmkit")]
    script = shutil.which("vmkit")
    if script:
        cmds.append(pytest.param([script, "run"], id="vmkit-script"))
    cmds.append(pytest.param([runner_path()], id="vmkit-run"))
    return cmds


@pytest.fixture
def upper(guest_builder, tmp_path_factory):
    src = tmp_path_factory.mktemp("cli-src") / "upper.c"
    src.write_text(UPPER_C)
    return src


def vmkit_cli(cmd, *args, stdin=b"", env=None):
    return subprocess.run(
        [*cmd, *map(str, args)], input=stdin, capture_output=True, timeout=TIMEOUT, env=env or dict(os.environ)
    )


@pytest.mark.parametrize("cmd", cli_commands())
def test_streams_and_status(cmd, upper, guest_builder, vmkit_module):
    prog = guest_builder.build(upper, STATIC_O2)
    data = b"hello, riscv64 world!\n" * 300 + b"no newline at the end"
    r = vmkit_cli(cmd, prog, "counter", stdin=data)
    assert r.stdout == data.upper()
    assert r.stderr.endswith(f"counter: {len(data)} bytes\n".encode()), r.stderr
    assert r.returncode == len(data) % 256


@pytest.mark.parametrize("cmd", cli_commands())
def test_return_status(cmd, guest_builder, vmkit_module):
    prog = guest_builder.build(GUEST_DIR / "return42.c", STATIC_O2)
    r = vmkit_cli(cmd, prog)
    assert r.returncode == 42, r.stderr
    assert r.stdout.startswith(b"0 squared is 0\n")


def test_sysroot_option_runs_dynamic_program(guest_arch, guest_builder, vmkit_module):
    """Each architecture's dynamically linked program: the runner follows the program's ELF."""
    prog = guest_builder.build(GUEST_DIR / "env_argv.c", DYNAMIC_O2, guest_arch)
    env = dict(GUEST_ENV, VMKIT_T_GREETING="cli")
    q = subprocess.run(guest_arch.reference_command(prog, ["x", "y"]), capture_output=True, env=env, timeout=TIMEOUT)
    v = vmkit_cli(PY_RUN, "-L", guest_arch.sysroot, prog, "x", "y", env=dict(os.environ, **env))
    assert v.stdout == q.stdout
    assert v.returncode == q.returncode == 3
    assert b"getenv(VMKIT_T_GREETING) = cli\n" in v.stdout


def test_sysroot_from_qemu_ld_prefix(guest_builder, vmkit_module):
    """Like qemu-user, the sysroot may also come from QEMU_LD_PREFIX."""
    prog = guest_builder.build(GUEST_DIR / "return42.c", DYNAMIC_O2)
    r = vmkit_cli(PY_RUN, prog, env=dict(os.environ, QEMU_LD_PREFIX=SYSROOT))
    assert r.returncode == 42, r.stderr


def test_argv0_option(guest_builder, qemu, vmkit_module):
    prog = guest_builder.build(GUEST_DIR / "env_argv.c", STATIC_O2)
    q = subprocess.run([QEMU, "-0", "/some/where/custom-name", str(prog)], capture_output=True, env=GUEST_ENV)
    v = vmkit_cli(PY_RUN, "-0", "/some/where/custom-name", prog, env=dict(GUEST_ENV))
    assert b"argv[0] basename [custom-name]\n" in q.stdout
    assert v.stdout == q.stdout
    assert v.returncode == q.returncode == 1


@pytest.mark.parametrize("cmd", cli_commands())
def test_guest_killed_by_sigsegv(cmd, guest_builder, qemu, vmkit_module):
    prog = guest_builder.build(FAULT_DIR / "unmapped.c", STATIC_O2)
    q = subprocess.run([QEMU, str(prog)], capture_output=True, timeout=TIMEOUT)
    v = vmkit_cli(cmd, prog)
    # qemu-user re-raises the guest's fatal signal on itself: subprocess sees -SIGSEGV.
    assert q.returncode == -11
    assert v.returncode == q.returncode, v.stderr
    assert v.stdout == q.stdout == b"storing to 0x1234567000\n"
    pc = elf_symbol_address(prog, "fault_insn")
    err = v.stderr.decode(errors="replace")
    assert "SIGSEGV" in err, err
    assert pc in {int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]+)", err)}, f"pc {pc:#x} not in {err!r}"


@pytest.mark.parametrize("cmd", cli_commands())
def test_usage_errors(cmd, vmkit_module):
    r = vmkit_cli(cmd)
    assert r.returncode == 2  # argparse's status for a usage error
    assert b"usage:" in r.stderr and b"program" in r.stderr
    r = vmkit_cli(cmd, "--engine", "fast", "prog")
    assert r.returncode == 2 and b"invalid choice: 'fast'" in r.stderr, r.stderr
    r = vmkit_cli(cmd, "--no-such-option", "prog")
    assert r.returncode == 2 and b"--no-such-option" in r.stderr, r.stderr
    r = vmkit_cli(cmd, "--help")
    assert r.returncode == 0 and b"-L SYSROOT" in r.stdout and b"--strace" in r.stdout


@pytest.mark.parametrize("cmd", cli_commands())
def test_a_program_that_cannot_run_is_a_clear_error(cmd, tmp_path, vmkit_module):
    r = vmkit_cli(cmd, tmp_path / "missing")
    assert r.returncode == 1 and b"vmkit: cannot open program" in r.stderr, r.stderr
    notelf = tmp_path / "script.txt"
    notelf.write_text("hello\n")
    r = vmkit_cli(cmd, notelf)
    assert r.returncode == 1 and r.stderr.startswith(b"vmkit: "), r.stderr


ENV_C = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  const char *a = getenv("VMKIT_A"), *b = getenv("VMKIT_B");
  printf("A=%s B=%s\n", a ? a : "(unset)", b ? b : "(unset)");
  return 0;
}
"""


@pytest.mark.parametrize("cmd", cli_commands())
def test_environment_options_like_qemu(cmd, guest_builder, tmp_path_factory, vmkit_module):
    """-E NAME=VALUE sets and -U NAME removes a variable of the guest's environment (qemu-user's flags)."""
    src = tmp_path_factory.mktemp("cli-env") / "env.c"
    src.write_text(ENV_C)
    prog = guest_builder.build(src, STATIC_O2)
    env = dict(os.environ, VMKIT_B="from-host")
    r = vmkit_cli(cmd, "-E", "VMKIT_A=set by -E", prog, env=env)
    assert r.stdout == b"A=set by -E B=from-host\n", r.stderr
    r = vmkit_cli(cmd, "-U", "VMKIT_B", prog, env=env)
    assert r.stdout == b"A=(unset) B=(unset)\n", r.stderr
    r = vmkit_cli(cmd, "-E", "no-equals-sign", prog, env=env)
    assert r.returncode == 1 and b"NAME=VALUE" in r.stderr


def test_strace_logs_syscalls_with_results(upper, guest_builder, vmkit_module):
    """--strace writes one line per syscall to stderr: pid, name, arguments (file names as
    strings), result or errno - and leaves the guest's own output alone."""
    prog = guest_builder.build(upper, STATIC_O2)
    r = vmkit_cli(PY_RUN, "--strace", prog, "tr", stdin=b"abc")
    assert r.stdout == b"ABC"
    lines = r.stderr.decode().splitlines()
    pid = lines[0].split()[0]
    assert pid.isdigit()
    assert any(re.fullmatch(rf"{pid} read\(0,0x[0-9a-f]+,\d+,.*\) = 3", l) for l in lines), lines
    assert any(re.fullmatch(rf"{pid} write\(1,0x[0-9a-f]+,3,.*\) = 3", l) for l in lines), lines
    assert any(l.startswith(f"{pid} exit_group(3,") for l in lines), lines
    assert "tr: 3 bytes" in r.stderr.decode()


def test_strace_shows_file_names_and_errno(busybox, vmkit_module):
    r = vmkit_cli(PY_RUN, "--strace", busybox, "cat", "/nonexistent/file")
    assert r.returncode == 1
    assert re.search(r'\d+ openat\(-100,"/nonexistent/file",\d+,\d+,.*\) = -1 errno=2 \(No such file or directory\)',
                     r.stderr.decode()), r.stderr.decode()
