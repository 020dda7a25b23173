"""Hooks on Linux programs (vmkit.linux.Process): syscall hooks that inspect, change or replace a
syscall, code hooks on a function found in the ELF symbol table, memory-fault hooks, stop, and
exceptions from hooks. The guest is tests/guest/hooked.c built by Debian's cross gcc for each guest
architecture (riscv64, aarch64; the host's gcc for x86_64)."""

from __future__ import annotations

from pathlib import Path

import pytest

import vmkit
import vmkit.linux

from conftest import GUEST_ARCHES, GUEST_DIR, STATIC_O2, elf_symbol_address

# The syscall numbers the hooks see are the guest's own: asm-generic's on riscv64 and aarch64,
# x86-64's there.
SYSCALLS = {
    "riscv64": {"write": 64, "getpid": 172, "getuid": 174, "exit_group": 94},
    "aarch64": {"write": 64, "getpid": 172, "getuid": 174, "exit_group": 94},
    "x86_64": {"write": 1, "getpid": 39, "getuid": 102, "exit_group": 231},
}
# The syscall argument and result registers, by architecture.
ARG_REGS = {"riscv64": ("a0", "a1", "a2"), "aarch64": ("x0", "x1", "x2"), "x86_64": ("rdi", "rsi", "rdx")}


@pytest.fixture(scope="module", params=list(GUEST_ARCHES))
def arch(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def hooked(guest_builder, arch) -> Path:
    return guest_builder.build(GUEST_DIR / "hooked.c", STATIC_O2, GUEST_ARCHES[arch])


def test_syscall_hook_sees_every_syscall_and_replaces_one(hooked, arch):
    nr = SYSCALLS[arch]
    p = vmkit.linux.Process(hooked)
    seen = []

    def on_syscall(proc, number):
        seen.append(number)
        if number == nr["getpid"]:
            return 4242          # replaced: the kernel is not asked
        return None              # the others run

    p.hook_syscall(on_syscall)
    r = p.run()
    assert r.exit_status == 0 and not r.stopped
    assert b"pid=4242 " in r.stdout and r.stdout.endswith(b"done\n")
    assert nr["getpid"] in seen and nr["getuid"] in seen and seen[-1] == nr["exit_group"]
    assert seen.count(nr["write"]) == 2


def test_syscall_hook_changes_arguments(hooked, arch):
    nr = SYSCALLS[arch]
    p = vmkit.linux.Process(hooked)
    fd, buf, count = ARG_REGS[arch]

    def redirect_done(proc, number):
        if number == nr["write"] and proc.mem.read(proc.regs[buf], proc.regs[count]) == b"done\n":
            proc.regs[fd] = 2     # to stderr
            proc.regs[count] = 4  # without the newline
        return None

    p.hook_syscall(redirect_done)
    r = p.run()
    assert r.stdout.endswith(b"work=1499500\n") and r.stderr == b"done" and r.exit_status == 0


def test_code_hook_on_a_function_and_stop(hooked, arch):
    work = elf_symbol_address(hooked, "work")
    p = vmkit.linux.Process(hooked)
    calls = []
    first_arg = ARG_REGS[arch][0]
    p.hook_code(lambda proc, address, size: calls.append(proc.regs[first_arg]), begin=work, end=work + 1)
    r = p.run()
    assert calls == [1000] and r.exit_status == 0

    p2 = vmkit.linux.Process(hooked)
    p2.hook_code(lambda proc, address, size: proc.stop(), begin=work, end=work + 1)
    r2 = p2.run()
    assert r2.stopped and r2.stdout == b""  # stopped before it printed anything


def test_exception_in_a_syscall_hook_propagates(hooked, arch):
    nr = SYSCALLS[arch]
    p = vmkit.linux.Process(hooked)

    def fail(proc, number):
        if number == nr["getuid"]:
            raise RuntimeError("no uid for you")

    p.hook_syscall(fail)
    with pytest.raises(RuntimeError, match="no uid for you"):
        p.run()
    with pytest.raises(vmkit.UsageError, match="not running"):
        p.regs[ARG_REGS[arch][0]]


def test_native_syscall_hook_and_bad_return(hooked, arch):
    nr = SYSCALLS[arch]
    p = vmkit.linux.Process(hooked)
    p.hook_syscall(lambda proc, number: "nope" if number == nr["getpid"] else None)
    with pytest.raises(TypeError, match="None or an int"):
        p.run()


def test_linux_run_still_matches_the_plain_path(hooked):
    r = vmkit.linux.run(hooked)
    assert r.exit_status == 0 and r.stdout.endswith(b"done\n") and not r.stopped
