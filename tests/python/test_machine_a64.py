"""Bare AArch64 machines (vmkit.Machine("aarch64")) against the unicorn package running the same
code: registers (by every architectural name), NZCV, memory, hook events and exceptions must be
equal. Code is assembled by vmkit.asm (LLVM's assembler)."""

from __future__ import annotations

import pytest

import vmkit

from conftest import EngineChoice

# Every test runs once per engine (interpreter, JIT).
pytestmark = pytest.mark.usefixtures("each_engine")

unicorn = pytest.importorskip("unicorn", reason="the unicorn package is the reference: pip install unicorn")
from unicorn import arm64_const as A  # noqa: E402

BASE = 0x10000
DATA = 0x20000
INIT = [3, 1, 4, 1, 5, 9]

# A loop that sums an array and stores running sums, with a call and return, and a flag-setting
# compare read by a conditional select in the next block.
LOOP = """
    mov  x9, #0x20000
    mov  x10, #6
    mov  x0, #0
loop:
    ldr  x11, [x9]
    add  x0, x0, x11
    str  x0, [x9, #64]
    add  x9, x9, #8
    sub  x10, x10, #1
    bl   bump
    cbnz x10, loop
    cmp  x0, #23
    b    done
bump:
    add  x1, x1, #3
    ret
done:
    csinc x2, x0, xzr, ne
    nop
"""


def setup_unicorn(code: bytes):
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
    uc.mem_map(BASE, 0x1000)
    uc.mem_map(DATA, 0x1000)
    uc.mem_write(BASE, code)
    uc.mem_write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    uc.reg_write(A.UC_ARM64_REG_NZCV, 0)  # (unicorn starts with Z set; Linux and vmkit with 0)
    return uc


def setup_vmkit(code: bytes) -> vmkit.Machine:
    m = vmkit.Machine("aarch64", engine=EngineChoice.name)
    m.mem.map(BASE, 0x1000, "rwx")
    m.mem.map(DATA, 0x1000, "rw")
    m.mem.write(BASE, code)
    m.mem.write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    return m


def uc_regs(uc) -> dict:
    xs = {f"x{i}": uc.reg_read(A.UC_ARM64_REG_X0 + i) for i in range(29)}
    return xs | {"x29": uc.reg_read(A.UC_ARM64_REG_X29), "x30": uc.reg_read(A.UC_ARM64_REG_X30),
                 "sp": uc.reg_read(A.UC_ARM64_REG_SP), "pc": uc.reg_read(A.UC_ARM64_REG_PC),
                 "nzcv": uc.reg_read(A.UC_ARM64_REG_NZCV) & 0xF0000000}


def vm_regs(m) -> dict:
    return {f"x{i}": m.regs[f"x{i}"] for i in range(31)} | {"sp": m.regs.sp, "pc": m.regs.pc, "nzcv": m.regs.nzcv}


def test_code_and_memory_hooks_match_unicorn():
    code = vmkit.asm("aarch64", LOOP, BASE)
    end = BASE + len(code) - 4
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_CODE, lambda u, a, s, d: uc_events.append(("code", a, s)))
    uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, lambda u, acc, a, s, v, d: uc_events.append(("write", a, s, v % 2**64)))
    uc.hook_add(unicorn.UC_HOOK_MEM_READ, lambda u, acc, a, s, v, d: uc_events.append(("read", a, s)))
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    vm_events = []
    m.hook_code(lambda mm, a, s: vm_events.append(("code", a, s)))
    m.hook_mem(lambda mm, acc, a, s, v: vm_events.append(("write", a, s, v)), access="w")
    m.hook_mem(lambda mm, acc, a, s, v: vm_events.append(("read", a, s)), access="r")
    r = m.run(BASE, until=end)

    assert r.reason == vmkit.RunEnd.UNTIL and r.pc == end
    assert vm_events == uc_events
    assert vm_regs(m) == uc_regs(uc)
    assert m.mem.read(DATA, 0x100) == bytes(uc.mem_read(DATA, 0x100))
    assert m.regs.x0 == sum(INIT) and m.regs.x1 == 18 and m.regs.x2 == 1  # (x0 == 23: eq, so zr + 1)


def test_block_hook_matches_unicorn():
    code = vmkit.asm("aarch64", LOOP, BASE)
    end = BASE + len(code) - 4
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda u, a, s, d: uc_events.append((a, s)))
    uc.emu_start(BASE, end)
    m = setup_vmkit(code)
    vm_events = []
    m.hook_block(lambda mm, a, s: vm_events.append((a, s)))
    m.run(BASE, until=end)
    assert vm_events == uc_events


def test_flags_written_by_a_hook_are_seen_by_the_rest_of_the_block():
    # cmp sets Z; a code hook on the b.eq clears it (through regs.nzcv), so the branch falls through
    code = vmkit.asm("aarch64", "cmp x0, x0\n b.eq 1f\n mov x1, #1\n1: nop", BASE)
    m = setup_vmkit(code)
    beq = BASE + 4

    def clear_z(mm, address, size):
        mm.regs.nzcv = mm.regs.nzcv & ~0x40000000

    m.hook_code(clear_z, begin=beq, end=beq + 4)
    r = m.run(BASE, until=BASE + len(code) - 4)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.x1 == 1 and m.regs.nzcv == 0x20000000  # C stays


def test_registers_by_every_name_match_unicorn():
    code = vmkit.asm("aarch64", "mov w1, w0\n adds x2, x0, x0\n mov x3, sp\n msr tpidr_el0, x0\n nop", BASE)
    uc = setup_unicorn(code)
    m = setup_vmkit(code)
    for reg_id, name, value in [(A.UC_ARM64_REG_X0, "x0", 0x8000_0000_F000_0001), (A.UC_ARM64_REG_SP, "sp", 0x7FF0)]:
        uc.reg_write(reg_id, value)
        m.regs[name] = value
    uc.emu_start(BASE, BASE + len(code) - 4)
    m.run(BASE, until=BASE + len(code) - 4)
    assert vm_regs(m) == uc_regs(uc)
    assert m.regs.w1 == 0xF000_0001 and m.regs.x1 == 0xF000_0001
    assert m.regs.tpidr_el0 == uc.reg_read(A.UC_ARM64_REG_TPIDR_EL0)
    assert m.regs.fp == m.regs.x29 and m.regs.lr == m.regs.x30 and m.regs.xzr == 0 and m.regs.wzr == 0
    # a W write clears the upper half; writes to the zero register are dropped
    m.regs.x5 = 2**64 - 1
    m.regs.w5 = 7
    m.regs.xzr = 5
    assert m.regs.x5 == 7 and m.regs.xzr == 0
    # 128-bit vector registers and their scalar views
    m.regs.v7 = (0x0123_4567_89AB_CDEF << 64) | 0x3FF8_0000_0000_0000
    assert m.regs.q7 == m.regs.v7 and m.regs.d7 == 1.5 and m.regs.s7 == 0.0
    assert m.regs.raw("h7") == 0 and m.regs.raw("b7") == 0
    with pytest.raises(vmkit.UsageError, match="does not fit the 128-bit register 'v7'"):
        m.regs.v7 = 1 << 128
    with pytest.raises(vmkit.UsageError, match="does not fit the 32-bit register 'w5'"):
        m.regs.w5 = 1 << 32
    with pytest.raises(AttributeError, match="unknown aarch64 register 'a0'.*'x0'"):
        m.regs.a0


def test_svc_brk_and_undefined_instructions_are_numbered_as_unicorn_does():
    code = vmkit.asm("aarch64", "mov x8, #93\n svc #0\n mov x0, #1\n brk #7\n udf #3\n mov x0, #2\n nop", BASE)
    end = BASE + len(code) - 4
    uc = setup_unicorn(code)
    uc_causes = []

    def uc_intr(u, intno, data):
        uc_causes.append(intno)
        if intno in (1, 7):  # (brk and udf leave pc at the instruction in unicorn: skip it)
            u.reg_write(A.UC_ARM64_REG_PC, u.reg_read(A.UC_ARM64_REG_PC) + 4)

    uc.hook_add(unicorn.UC_HOOK_INTR, uc_intr)
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.EXCEPTION and r.cause == 2 and r.pc == BASE + 4
    vm_causes = []
    m.hook_interrupt(lambda mm, cause: vm_causes.append((cause, mm.regs.pc)))
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.INVALID_INSN and r.pc == BASE + 16 and r.insn == 3 and r.cause == 1
    assert vm_causes == [(2, BASE + 4), (7, BASE + 12)]
    assert uc_causes[:2] == [c for c, _ in vm_causes]
    # an invalid-instruction hook that skips it: the rest runs as in unicorn
    m.hook_invalid(lambda mm, address, size, insn: setattr(mm.regs, "pc", address + size) or True)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.x0 == 2 == uc.reg_read(A.UC_ARM64_REG_X0)
    assert uc_causes == [2, 7, 1]


def test_lift_shows_a_compare_and_branch_as_one_compare():
    code = vmkit.asm("aarch64", "cmp x0, x1\n b.lt 0x40", 0x1000)
    text = vmkit.lift("aarch64", code, 0x1000, optimize=True).text
    assert "lts" in text and "callp" not in text, text
    # a flag read with no flag setter in its block evaluates the state's lazy NZCV
    text = vmkit.lift("aarch64", vmkit.asm("aarch64", "b.lt 0x40", 0x1000), 0x1000).text
    assert "callp nzcv" in text, text
