"""vmkit: a Python-scriptable, multi-architecture emulation toolkit.

Run a foreign Linux program (riscv64, aarch64 or x86_64: the architecture is the program's)::

    import vmkit.linux
    r = vmkit.linux.run("hello", ["hello"], sysroot="/usr/riscv64-linux-gnu")
    print(r.exit_status, r.stdout)

Script a bare machine (what Unicorn users do; ``vmkit.Machine("aarch64")`` for A64)::

    m = vmkit.Machine("riscv64")
    m.mem.map(0x10000, 0x1000, "rwx")
    m.mem.write(0x10000, code)
    m.hook_code(lambda m, address, size: print(hex(address)))
    print(m.run(0x10000, until=0x10000 + len(code)).reason, m.regs.a0)

Look at the IR a block of guest code lifts to::

    print(vmkit.lift("riscv64", bytes.fromhex("13050500"), 0x1000).text)
"""

from __future__ import annotations

from typing import NamedTuple

from vmkit._core import BootError, ElfError, MemoryAccessError, UnsupportedSyscallError, UsageError, VmkitError
from vmkit import _core

__all__ = [
    "VmkitError",
    "ElfError",
    "BootError",
    "UsageError",
    "UnsupportedSyscallError",
    "MemoryAccessError",
    "Machine",
    "Perm",
    "Access",
    "HookType",
    "RunEnd",
    "RunResult",
    "NATIVE_HOOK",
    "AssemblyError",
    "DisassemblyError",
    "Insn",
    "asm",
    "disasm",
    "LiftedBlock",
    "lift",
    "linux",
    "SystemMachine",
    "ConsoleTimeout",
]
__version__ = "0.1.0"

VmkitError.__doc__ = "Base class of vmkit's errors."
BootError.__doc__ = (
    "System mode: a kernel, initrd, firmware or disk image cannot be used for the configured machine."
)
ElfError.__doc__ = "The program is not a loadable ELF for this guest (or its interpreter is missing)."
UsageError.__doc__ = "An argument is invalid (bad size, unknown register, overlapping map, ...): the message says what to change."
UnsupportedSyscallError.__doc__ = "Strict mode: the guest called a syscall vmkit does not implement."
MemoryAccessError.__doc__ = "Host-side access (mem.read / mem.write) to guest memory that is not mapped for it."

ARCHES = tuple(_core.guest_archs())  # the guest architectures vmkit runs: ("riscv64", "aarch64", "x86_64")


class LiftedBlock(NamedTuple):
    """One guest block lifted to vmkit IR.

    text: the IR printed for people; guest_insns / ops: sizes; end: guest address after the block;
    verify: "" if the IR verifier accepts the block, else its complaint.
    """

    text: str
    guest_insns: int
    ops: int
    end: int
    verify: str

    def __str__(self) -> str:
        return self.text


def lift(arch: str, code: bytes, addr: int = 0x10000, optimize: bool = False) -> LiftedBlock:
    """Decode guest machine code at guest address ``addr`` and return its first block as IR.

    With optimize=True the block is shown after vmkit's block optimiser, as the interpreter runs it.
    """
    if arch not in ARCHES:
        raise UsageError(f"unknown guest architecture {arch!r}: choose one of {', '.join(ARCHES)}")
    if not isinstance(code, (bytes, bytearray, memoryview)):
        raise UsageError(f"lift: code must be bytes, not {type(code).__name__}")
    d = _core.lift(arch, bytes(code), int(addr), bool(optimize))
    return LiftedBlock(d["text"], d["guest_insns"], d["ops"], d["end"], d["verify"])


from vmkit.codetools import AssemblyError, DisassemblyError, Insn, asm, disasm  # noqa: E402
from vmkit import linux  # noqa: E402  (needs the names above)
from vmkit.machine import (  # noqa: E402
    Access, Context, Fault, Hook, HookType, IRBlock, Machine, Perm, Region, RunEnd, RunResult, Snapshot,
)
from vmkit.system import ConsoleTimeout, SystemMachine  # noqa: E402


def __getattr__(name: str) -> object:
    # NATIVE_HOOK is made by vmkit.hooks on first use, so that `import vmkit` does not import ctypes.
    if name == "NATIVE_HOOK":
        from vmkit import hooks

        return hooks.NATIVE_HOOK
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
