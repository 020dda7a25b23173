"""vmkit.asm (LLVM MC) and vmkit.disasm (Capstone): exact encodings against GNU as, round trips,
and the errors a user gets for misuse."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

import vmkit
from vmkit import codetools
from vmkit.codetools import AssemblyError, DisassemblyError, Insn, asm, disasm

# Loops, a call, loads and stores of several widths, atomics, M, F and D, an absolute symbol.
PROGRAM = textwrap.dedent(
    """\
    _start:
        addi sp, sp, -32
        sd ra, 24(sp)
        sd s0, 16(sp)
        li s0, 0
        la a0, table
        li a1, 4
        fcvt.d.l fa0, zero
    loop:
        fld fa1, 0(a0)
        fadd.d fa0, fa0, fa1
        addi a0, a0, 8
        addi a1, a1, -1
        bnez a1, loop
        fcvt.l.d a0, fa0, rtz
        call helper
        lw t0, 4(sp)
        sw t0, 8(sp)
        lbu t5, 3(a0)
        sh t5, 2(sp)
        lr.d t1, (sp)
        sc.d t2, t1, (sp)
        amoswap.w.aq t3, t1, (sp)
        mul a0, a0, a1
        divu a2, a0, a1
        beq a0, zero, done
        blt a0, a1, loop
        fmadd.s fa2, fa0, fa1, fa2
        fsw fa2, 12(sp)
        fmv.x.d t4, fa0
    done:
        ld ra, 24(sp)
        ld s0, 16(sp)
        addi sp, sp, 32
        ret
    helper:
        slli a0, a0, 3
        srai a1, a0, 2
        xori a0, a0, -1
        li a3, 0x12345678
        jr ra
        .equ table, 0x20000
    """
)

# The bit-manipulation extensions vmkit's riscv64 guest supports (Capstone 5 cannot decode these,
# so they are only compared with GNU as).
BITMANIP = textwrap.dedent(
    """\
        sh1add a0, a1, a2
        sh3add.uw a0, a1, a2
        add.uw t0, t1, t2
        slli.uw a0, a1, 7
        andn a0, a1, a2
        clz a0, a1
        cpopw a0, a1
        rev8 a0, a1
        orc.b a0, a1
        rori a0, a1, 13
        sext.h a0, a1
        zext.h a0, a1
        max a0, a1, a2
        bclr a0, a1, a2
        bexti a0, a1, 63
        binvi a0, a1, 1
    """
)


def gnu_assemble(source: str, addr: int, tmp_path) -> bytes:
    """The same source through GNU as + ld at `addr` (no relaxation), .text as raw bytes."""
    tools = ["riscv64-linux-gnu-as", "riscv64-linux-gnu-ld", "riscv64-linux-gnu-objcopy"]
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"GNU RISC-V cross binutils not installed ({', '.join(missing)}): apt install binutils-riscv64-linux-gnu")
    (tmp_path / "a.s").write_text(source)
    subprocess.run(
        [tools[0], "-march=rv64gc_zba_zbb_zbs", "-mabi=lp64d", "-mno-relax", "-o", "a.o", "a.s"],
        cwd=tmp_path, check=True,
    )
    subprocess.run(
        [tools[1], f"-Ttext={addr:#x}", "-e", f"{addr:#x}", "--no-relax", "-o", "a.elf", "a.o"],
        cwd=tmp_path, check=True,
    )
    subprocess.run([tools[2], "-O", "binary", "-j", ".text", "a.elf", "a.bin"], cwd=tmp_path, check=True)
    return (tmp_path / "a.bin").read_bytes()


def as_source(insns: list[Insn]) -> str:
    """Disassembly as re-assemblable text. Capstone names compressed instructions c.*; a 32-bit
    instruction that has a compressed form (e.g. a 4-byte `addi a0, a0, -8` from `la`) is pinned
    to 32 bits with .option norvc, since the text alone does not say which size it was."""
    lines = []
    for i in insns:
        assert i.valid, f"undecodable bytes in a round trip: {i}"
        text = f"{i.mnemonic} {i.op_str}"
        lines.append(text if i.size == 2 else f".option push\n.option norvc\n{text}\n.option pop")
    return "\n".join(lines) + "\n"


# ---- assembler -----------------------------------------------------------------------------------


@pytest.mark.parametrize("addr", [0x1000, 0x10000, 0x7FFF_F000])
def test_program_matches_gnu_as(addr, tmp_path):
    assert asm("riscv64", PROGRAM, addr) == gnu_assemble(PROGRAM, addr, tmp_path)


def test_bitmanip_matches_gnu_as(tmp_path):
    code = asm("riscv64", BITMANIP, 0x4000)
    assert len(code) == 4 * len(BITMANIP.splitlines())
    assert code == gnu_assemble(BITMANIP, 0x4000, tmp_path)


def test_known_words():
    # add a0,a1,a2 = rs2 12<<20 | rs1 11<<15 | rd 10<<7 | 0x33; c.addi a0,1 = 0x0505; ret = c.jr ra.
    assert asm("riscv64", "add a0, a1, a2") == (0x00C58533).to_bytes(4, "little")
    assert asm("riscv64", "addi a0, a0, 1") == (0x0505).to_bytes(2, "little")
    assert asm("riscv64", "ret") == (0x8082).to_bytes(2, "little")


def test_absolute_symbol_depends_on_address():
    # `la` is PC-relative, so reaching the same absolute target gives different bytes elsewhere.
    src = "la a0, target\n.equ target, 0x12345678\n"
    a, b = asm("riscv64", src, 0x1000), asm("riscv64", src, 0x2000)
    assert a != b
    for code, base in ((a, 0x1000), (b, 0x2000)):
        auipc = int.from_bytes(code[0:4], "little")
        addi = int.from_bytes(code[4:8], "little")
        hi = (auipc & 0xFFFFF000) - ((auipc & 0x80000000) << 1)
        lo = (addi >> 20) - ((addi & 0x80000000) >> 19)
        assert base + hi + lo == 0x12345678


def test_assembly_error_names_line():
    with pytest.raises(AssemblyError) as e:
        asm("riscv64", "nop\nnop\naddi a0, a0, 99999\n")
    assert "<asm>:3:" in str(e.value)
    assert "addi a0, a0, 99999" in str(e.value)  # the offending line is quoted
    assert isinstance(e.value, vmkit.UsageError)


def test_llvm_fatal_error_does_not_kill_the_process():
    # LLVM 14 reports this with report_fatal_error (print and exit) instead of a diagnostic.
    with pytest.raises(AssemblyError, match="uleb128"):
        asm("riscv64", ".uleb128 undefined_a - undefined_b")
    assert asm("riscv64", "ret") == bytes.fromhex("8280")


def test_undefined_symbol_is_named():
    with pytest.raises(AssemblyError, match=r"undefined symbol 'memcpy'"):
        asm("riscv64", "call memcpy\n")


def test_other_sections_are_rejected():
    with pytest.raises(AssemblyError, match=r"\.data"):
        asm("riscv64", ".data\n.word 1\n")


def test_x86_64_and_aarch64():
    # An absolute call target (AT&T syntax: LLVM's Intel parser takes no numeric targets) is
    # resolved for the address the code lives at: rel32 = 0x2000 - 0x1005.
    assert asm("x86_64", ".att_syntax\ncall 0x2000", 0x1000) == bytes([0xE8, 0xFB, 0x0F, 0x00, 0x00])
    assert asm("x86_64", "xor eax, eax\nret") == bytes([0x31, 0xC0, 0xC3])  # Intel by default
    assert asm("aarch64", "ret") == bytes.fromhex("c0035fd6")


# ---- disassembler --------------------------------------------------------------------------------


def test_disasm_fields_and_str():
    code = asm("riscv64", "addi a0, a0, 100\nret", 0x1000)
    insns = disasm("riscv64", code, 0x1000)
    assert [(i.address, i.size, i.mnemonic) for i in insns] == [(0x1000, 4, "addi"), (0x1004, 2, "c.jr")]
    assert insns[0].bytes == code[:4]
    assert insns[0].op_str == "a0, a0, 0x64"
    assert str(insns[0]) == "0x1000: addi a0, a0, 0x64"
    assert str(insns[1]) == "0x1004: c.jr ra"
    with pytest.raises(AttributeError):
        insns[0].size = 2  # frozen


def test_round_trip_riscv64():
    code = asm("riscv64", PROGRAM, 0x10000)
    insns = disasm("riscv64", code, 0x10000)
    assert sum(i.size for i in insns) == len(code)
    assert {"fadd.d", "fld", "c.fld", "lr.d", "amoswap.w.aq", "mul", "jalr"} & {i.mnemonic for i in insns}
    # Branch operands in Capstone's text are offsets, which is what the assembler reads too.
    assert asm("riscv64", as_source(insns), 0x10000) == code


def test_round_trip_x86_64_and_aarch64():
    # Straight-line code: Capstone prints branch targets as absolute addresses, which LLVM's
    # x86 Intel and AArch64 parsers do not read back as such (labels are the portable form).
    x86_src = (
        "push rbp\nmov rbp, rsp\nlea rax, [rip + 0x10]\nmov qword ptr [rbp - 8], rax\n"
        "imul ecx, edx, 12\nmovsd xmm0, qword ptr [rax + 8*rcx]\npop rbp\nret"
    )
    x86 = asm("x86_64", x86_src, 0x400000)
    insns = disasm("x86_64", x86, 0x400000)
    assert [i.mnemonic for i in insns] == ["push", "mov", "lea", "mov", "imul", "movsd", "pop", "ret"]
    assert asm("x86_64", "\n".join(f"{i.mnemonic} {i.op_str}" for i in insns), 0x400000) == x86

    a64 = asm("aarch64", "add x0, x0, #1\nldr x1, [x2, #16]\nstp x29, x30, [sp, #-16]!\nfadd d0, d1, d2\nret")
    insns = disasm("aarch64", a64)
    assert [i.mnemonic for i in insns] == ["add", "ldr", "stp", "fadd", "ret"]
    assert asm("aarch64", "\n".join(f"{i.mnemonic} {i.op_str}" for i in insns)) == a64


def test_undecodable_bytes_are_reported_not_dropped():
    # A bitmanip instruction (unknown to Capstone 5) between two valid ones, or simply a reserved
    # 32-bit encoding: either way the listing must cover every byte and keep decoding after it.
    bad = bytes.fromhex("ffffffff")
    code = asm("riscv64", "li a0, 1") + bad + asm("riscv64", "ret")
    insns = disasm("riscv64", code, 0x100)
    assert sum(i.size for i in insns) == len(code)
    assert [i.valid for i in insns] == [True, False, True]
    assert insns[1].address == 0x102 and insns[1].bytes == bad and insns[1].mnemonic == ".byte"
    assert insns[1].op_str == "0xff, 0xff, 0xff, 0xff"
    assert insns[2].mnemonic == "c.jr"
    with pytest.raises(DisassemblyError, match=r"ff ff ff ff at 0x102"):
        disasm("riscv64", code, 0x100, strict=True)
    # A trailing half instruction is reported with what is there.
    tail = disasm("riscv64", asm("riscv64", "ret") + b"\x13", 0)
    assert tail[-1].bytes == b"\x13" and not tail[-1].valid


def test_count_limits_output():
    code = asm("riscv64", "nop\nnop\nnop\nnop")
    assert len(disasm("riscv64", code, count=3)) == 3
    assert len(disasm("riscv64", code, count=0)) == 0


# ---- misuse --------------------------------------------------------------------------------------


def test_unknown_arch_lists_supported():
    for fn, arg in ((asm, "nop"), (disasm, b"\x01\x00")):
        with pytest.raises(vmkit.UsageError, match=r"riscv64.*aarch64.*x86_64"):
            fn("mips", arg)


def test_wrong_types():
    with pytest.raises(TypeError, match="text must be a str"):
        asm("riscv64", b"nop")
    with pytest.raises(TypeError, match="code must be bytes"):
        disasm("riscv64", "13050500")
    with pytest.raises(TypeError, match="addr must be an int"):
        asm("riscv64", "nop", 1.5)
    with pytest.raises(TypeError, match="arch must be a str"):
        disasm(64, b"")
    with pytest.raises(vmkit.UsageError, match="64-bit"):
        asm("riscv64", "nop", -1)


def test_missing_capstone_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "capstone", None)  # makes `import capstone` raise ImportError
    with pytest.raises(ImportError, match="pip install capstone"):
        disasm("riscv64", b"\x01\x00")


def test_top_level_names():
    assert vmkit.asm is codetools.asm
    assert vmkit.disasm is codetools.disasm


def test_assembler_errors_keep_their_python_classes():
    """vmkit._asm (the extension that links LLVM, imported by the first asm()) raises the classes
    vmkit defines, not copies of its own: AssemblyError from vmkit.codetools, UsageError from vmkit._core."""
    from vmkit import _asm

    assert _asm.AssemblyError is AssemblyError is vmkit.AssemblyError
    assert issubclass(AssemblyError, vmkit.UsageError)
    with pytest.raises(AssemblyError, match=r"<asm>:2:5: error: .*\n\s*bogus a0") as e:
        _asm.assemble("riscv64", "nop\n    bogus a0", 0x1000)
    assert type(e.value) is AssemblyError
    with pytest.raises(AssemblyError, match=r"undefined symbol 'memcpy'"):
        _asm.assemble("aarch64", "bl memcpy", 0)
    # asm() checks the arch in Python first; the C++ check behind it raises vmkit.UsageError itself.
    with pytest.raises(vmkit.UsageError, match=r"unknown architecture 'mips': choose one of 'riscv64'") as e:
        _asm.assemble("mips", "nop", 0)
    assert type(e.value) is vmkit.UsageError
    assert _asm.assembler_archs() == ["riscv64", "aarch64", "x86_64"]
