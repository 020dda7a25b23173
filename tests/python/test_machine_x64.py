"""Bare x86-64 machines (vmkit.Machine("x86_64")) against the unicorn package running the same
code: registers by every architectural name (partial registers, rflags), memory and hook events
must be equal. Code is assembled by vmkit.asm (LLVM's assembler, Intel syntax)."""

from __future__ import annotations

import pytest

import vmkit

from conftest import EngineChoice

# Every test runs once per engine (interpreter, JIT).
pytestmark = pytest.mark.usefixtures("each_engine")

unicorn = pytest.importorskip("unicorn", reason="the unicorn package is the reference: pip install unicorn")
from unicorn import x86_const as X  # noqa: E402

BASE = 0x10000
DATA = 0x20000
INIT = [3, 1, 4, 1, 5, 9]
GPRS = "rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15".split()
ARITH_FLAGS = 0x8D5  # CF PF AF ZF SF OF

# A loop that sums an array and stores running sums, with a call and return and a compare whose
# flags are read in the next block.
LOOP = """
    mov  rsi, 0x20000
    mov  ecx, 6
    xor  eax, eax
loop:
    add  rax, qword ptr [rsi]
    mov  qword ptr [rsi + 64], rax
    add  rsi, 8
    call bump
    sub  ecx, 1
    jnz  loop
    cmp  rax, 23
    jmp  done
bump:
    add  rdx, 3
    ret
done:
    jne  skip
    mov  bl, 0x55
skip:
    nop
"""


def uc_reg(name: str) -> int:
    return getattr(X, f"UC_X86_REG_{name.upper()}")


def setup_unicorn(code: bytes):
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
    uc.mem_map(BASE, 0x1000)
    uc.mem_map(DATA, 0x1000)
    uc.mem_write(BASE, code)
    uc.mem_write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    uc.reg_write(X.UC_X86_REG_RSP, DATA + 0x800)
    return uc


def setup_vmkit(code: bytes) -> vmkit.Machine:
    m = vmkit.Machine("x86_64", engine=EngineChoice.name)
    m.mem.map(BASE, 0x1000, "rwx")
    m.mem.map(DATA, 0x1000, "rw")
    m.mem.write(BASE, code)
    m.mem.write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    m.regs.rsp = DATA + 0x800
    return m


def uc_regs(uc) -> dict:
    return {r: uc.reg_read(uc_reg(r)) for r in GPRS} | {"rip": uc.reg_read(X.UC_X86_REG_RIP),
                                                       "flags": uc.reg_read(X.UC_X86_REG_RFLAGS) & ARITH_FLAGS}


def vm_regs(m) -> dict:
    return {r: m.regs[r] for r in GPRS} | {"rip": m.regs.rip, "flags": m.regs.rflags & ARITH_FLAGS}


def test_code_and_memory_hooks_match_unicorn():
    code = vmkit.asm("x86_64", LOOP, BASE)
    end = BASE + len(code) - 1  # the final nop
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
    assert m.regs.rax == sum(INIT) and m.regs.rdx == 18 and m.regs.bl == 0x55


def test_block_hook_matches_unicorn():
    code = vmkit.asm("x86_64", LOOP, BASE)
    end = BASE + len(code) - 1
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda u, a, s, d: uc_events.append((a, s)))
    uc.emu_start(BASE, end)
    m = setup_vmkit(code)
    vm_events = []
    m.hook_block(lambda mm, a, s: vm_events.append((a, s)))
    m.run(BASE, until=end)
    assert vm_events == uc_events


def test_partial_registers_by_every_name():
    m = setup_vmkit(b"\x90")
    m.regs.rax = 0x1122334455667788
    assert (m.regs.eax, m.regs.ax, m.regs.al, m.regs.ah) == (0x55667788, 0x7788, 0x88, 0x77)
    m.regs.ah = 0xAB
    assert m.regs.rax == 0x112233445566AB88, "ah merges into bits 15..8"
    m.regs.ax = 0x1234
    assert m.regs.rax == 0x1122334455661234, "ax merges"
    m.regs.eax = 7
    assert m.regs.rax == 7, "a 32-bit write zero-extends"
    m.regs.r9 = 2**64 - 1
    m.regs.r9b = 0
    assert m.regs.r9 == 0xFFFFFFFFFFFFFF00 and m.regs.r9d == 0xFFFFFF00 and m.regs.r9w == 0xFF00
    m.regs.xmm3 = (0xDEADBEEF << 64) | 0xCAFEF00D
    assert m.regs.xmm3 == (0xDEADBEEF << 64) | 0xCAFEF00D
    m.regs.fs_base = 0x7000
    assert m.regs.fs_base == 0x7000
    with pytest.raises(AttributeError, match="unknown x86_64 register 'x0'.*'rax'"):
        m.regs.x0


def test_rflags_is_what_pushfq_sees():
    # pushf/popf are not needed: the flags of a compare read back through regs.rflags, and a write
    # of regs.rflags is what the next conditional instruction sees
    code = vmkit.asm("x86_64", "cmp eax, ebx\n jz 1f\n mov ecx, 1\n1: nop", BASE)
    end = BASE + len(code) - 1
    uc = setup_unicorn(code)
    m = setup_vmkit(code)
    for name, value in (("rax", 5), ("rbx", 7)):
        uc.reg_write(uc_reg(name), value)
        m.regs[name] = value
    uc.emu_start(BASE, end)
    m.run(BASE, until=end)
    assert m.regs.rflags & ARITH_FLAGS == uc.reg_read(X.UC_X86_REG_RFLAGS) & ARITH_FLAGS
    assert m.regs.rflags & 0x202 == 0x202, "bit 1 and IF read as one"
    assert m.regs.rcx == 1
    # Z set by hand on the jz: the branch is taken
    m.regs.rcx = 0
    jz = BASE + 2

    def set_zf(mm, address, size):
        mm.regs.rflags = mm.regs.rflags | 0x40

    m.hook_code(set_zf, begin=jz, end=jz + 1)
    m.run(BASE, until=end)
    assert m.regs.rcx == 0


def test_an_unlifted_instruction_stops_with_its_bytes():
    code = vmkit.asm("x86_64", "mov eax, 1\n vaddps ymm0, ymm1, ymm2\n nop", BASE)
    m = setup_vmkit(code)
    r = m.run(BASE, until=BASE + len(code) - 1)
    assert r.reason == vmkit.RunEnd.INVALID_INSN and r.pc == BASE + 5 and m.regs.rax == 1
    assert r.insn == int.from_bytes(code[5:9], "little") and r.cause == 6  # #UD
    assert r.insn_text == "vaddps ymm0, ymm1, ymm2 (" + code[5:-1].hex(" ") + ")", r.insn_text


def test_lift_shows_a_compare_and_branch_as_one_compare():
    code = vmkit.asm("x86_64", "cmp rax, rbx\n jl 1f\n1: nop", 0x1000)
    text = vmkit.lift("x86_64", code, 0x1000, optimize=True).text
    assert "lts" in text and "callp" not in text, text


def test_privileged_and_divide_errors_are_exceptions_with_x86_vectors():
    code = vmkit.asm("x86_64", "mov eax, 1\n hlt\n nop", BASE)
    m = setup_vmkit(code)
    r = m.run(BASE, until=BASE + len(code) - 1)
    assert r.reason == vmkit.RunEnd.EXCEPTION and r.cause == 13 and r.pc == BASE + 5  # #GP at the hlt
    code = vmkit.asm("x86_64", "xor edx, edx\n mov eax, 7\n xor ecx, ecx\n div ecx\n nop", BASE)
    m = setup_vmkit(code)
    r = m.run(BASE, until=BASE + len(code) - 1)
    assert r.reason == vmkit.RunEnd.EXCEPTION and r.cause == 0 and m.regs.rax == 7  # #DE, nothing written
