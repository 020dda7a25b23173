"""Guest code as text: assemble with LLVM's MC layer (built into vmkit), disassemble with Capstone.

::

    from vmkit.codetools import asm, disasm
    code = asm("riscv64", "li a0, 42\\nret", addr=0x1000)
    for insn in disasm("riscv64", code, addr=0x1000):
        print(insn)            # 0x1000: addi a0, zero, 0x2a ...

Architectures: ``riscv64`` (RV64GC + Zba/Zbb/Zbs), ``aarch64``, ``x86_64`` (Intel syntax as Capstone prints
it, or AT&T after an ``.att_syntax`` line). Disassembly needs the ``capstone`` package (>= 5,
``pip install capstone``); Capstone 5 does not decode the RISC-V B extensions (Zba/Zbb/Zbs), so those
show as undecodable bytes (see :func:`disasm`).
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Union

from vmkit._core import UsageError

__all__ = ["ARCHS", "AssemblyError", "DisassemblyError", "Insn", "asm", "disasm"]

#: Architectures asm() and disasm() know. asm() additionally needs the installed LLVM to have the
#: target (Debian's does for all three).
ARCHS = ("riscv64", "aarch64", "x86_64")

BytesLike = Union[bytes, bytearray, memoryview]


# Defined here rather than by the extension vmkit._asm, so that it exists (for `except` clauses and
# isinstance checks) before the first asm() call loads LLVM; vmkit._asm raises this very class.
class AssemblyError(UsageError):
    """The assembler rejected the text: the message has LLVM's diagnostic with its line
    ("<asm>:LINE:COL: error: ...") or names the undefined symbols."""


class DisassemblyError(UsageError):
    """disasm(strict=True) met bytes that are not a valid instruction (the message gives the
    address and bytes)."""


class Insn(NamedTuple):
    """One disassembled instruction.

    address: guest address; size: length in bytes; bytes: its encoding; mnemonic / op_str: as
    Capstone prints them (e.g. ``"addi"``, ``"a0, a0, 1"``). Bytes that do not decode appear as
    mnemonic ``".byte"`` with op_str listing them (see :func:`disasm`); ``valid`` tells the two apart.
    """

    address: int
    size: int
    bytes: bytes
    mnemonic: str
    op_str: str
    valid: bool = True

    def __str__(self) -> str:
        text = f"{self.mnemonic} {self.op_str}" if self.op_str else self.mnemonic
        return f"{self.address:#x}: {text}"


def _check_arch(arch: object, what: str) -> str:
    if not isinstance(arch, str):
        raise TypeError(f"{what}: arch must be a str such as 'riscv64', not {type(arch).__name__}")
    if arch not in ARCHS:
        raise UsageError(f"{what}: unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    return arch


def _check_addr(addr: object, what: str) -> int:
    if isinstance(addr, bool) or not isinstance(addr, int):
        raise TypeError(f"{what}: addr must be an int, not {type(addr).__name__}")
    if not 0 <= addr < 1 << 64:
        raise UsageError(f"{what}: addr {addr:#x} is not a 64-bit guest address")
    return addr


def asm(arch: str, text: str, addr: int = 0) -> bytes:
    """Assemble ``text`` for ``arch`` as code that will live at guest address ``addr``.

    Returns the bytes of the .text section, final for that address: labels, branches and calls
    within the text are resolved (RISC-V without linker relaxation, so the encodings match GNU as
    + ld), absolute symbols (``.equ name, 0x1234``) and absolute targets are resolved relative to
    ``addr``. Data must stay in .text (after the code, say): another non-empty section is an error.

    Raises AssemblyError (a vmkit.UsageError) with LLVM's diagnostic and line number for invalid
    text or an undefined symbol, UsageError for an unknown arch, TypeError for wrong argument types.
    """
    _check_arch(arch, "asm")
    if not isinstance(text, str):
        raise TypeError(f"asm: text must be a str of assembly source, not {type(text).__name__}")
    addr = _check_addr(addr, "asm")
    # Imported here, not at the top: vmkit._asm links libLLVM-14, whose loading costs every
    # `import vmkit` ~15 ms, and most programs never assemble. After the first call this is a
    # lookup in sys.modules.
    from vmkit import _asm

    return _asm.assemble(arch, text, addr)


def _capstone_for(arch: str):
    try:
        import capstone
    except ImportError as e:
        raise ImportError(
            "vmkit.disasm needs the capstone package (version 5 or newer): pip install capstone"
        ) from e
    if arch == "riscv64":
        if not hasattr(capstone, "CS_ARCH_RISCV"):
            raise ImportError(
                f"capstone {capstone.__version__} has no RISC-V support: pip install 'capstone>=5'"
            )
        return capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)
    if arch == "aarch64":
        # Capstone 6 renamed ARM64 to AARCH64.
        cs_arch = getattr(capstone, "CS_ARCH_AARCH64", None) or capstone.CS_ARCH_ARM64
        return capstone.Cs(cs_arch, capstone.CS_MODE_ARM)
    return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)


def _undecodable_size(arch: str, code: bytes, offset: int) -> int:
    """How many bytes to report as one undecodable unit at ``offset`` before decoding resumes."""
    left = len(code) - offset
    if arch == "riscv64":
        # The length encoding in the low bits of the first halfword: 11 = 32-bit, else 16-bit.
        return min(4 if code[offset] & 3 == 3 else 2, left)
    if arch == "aarch64":
        return min(4, left)  # fixed-width instructions
    return 1  # x86: resynchronise byte by byte, as objdump does


def disasm(
    arch: str,
    code: BytesLike,
    addr: int = 0,
    *,
    count: Optional[int] = None,
    strict: bool = False,
) -> List[Insn]:
    """Disassemble ``code`` placed at guest address ``addr`` with Capstone.

    Returns one Insn per instruction, at most ``count`` if given. Capstone stops at the first bytes
    it cannot decode; vmkit does not silently drop the rest. By default such bytes become an Insn
    with ``mnemonic=".byte"``, ``op_str`` the bytes in hex and ``valid=False`` (one instruction's
    worth: 2 or 4 bytes on RISC-V by its length bits, 4 on AArch64, 1 on x86-64) and decoding
    resumes after them, so the listing always covers every byte. With ``strict=True`` they raise
    DisassemblyError instead.

    Raises UsageError for an unknown arch, TypeError for wrong argument types, ImportError (saying
    ``pip install capstone``) when Capstone is missing.
    """
    _check_arch(arch, "disasm")
    if not isinstance(code, (bytes, bytearray, memoryview)):
        raise TypeError(f"disasm: code must be bytes, bytearray or memoryview, not {type(code).__name__}")
    addr = _check_addr(addr, "disasm")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise TypeError(f"disasm: count must be a non-negative int or None, not {count!r}")
    code = bytes(code)
    md = _capstone_for(arch)
    out: List[Insn] = []
    offset = 0
    while offset < len(code) and (count is None or len(out) < count):
        for i in md.disasm(code[offset:], addr + offset):
            out.append(Insn(i.address, i.size, bytes(i.bytes), i.mnemonic, i.op_str))
            offset += i.size
            if count is not None and len(out) >= count:
                return out
        if offset >= len(code):
            break
        size = _undecodable_size(arch, code, offset)
        raw = code[offset : offset + size]
        if strict:
            raise DisassemblyError(
                f"disasm: bytes {raw.hex(' ')} at {addr + offset:#x} are not a valid {arch} instruction"
            )
        out.append(Insn(addr + offset, size, raw, ".byte", ", ".join(f"{b:#04x}" for b in raw), False))
        offset += size
    return out
