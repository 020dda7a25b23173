"""System mode from Python, bare metal: a program assembled with vmkit.asm runs from RAM in M-mode,
sets up Sv39 paging and a supervisor, and the script inspects the result (registers, CSRs, memory,
translation statistics). The virtual clock makes the runs deterministic."""

import struct

import pytest

import vmkit
from conftest import EngineChoice

pytestmark = pytest.mark.usefixtures("each_engine")

RAM = 0x80000000
ROOT, L1, L0, USER_PAGE, DATA = RAM + 0x10000, RAM + 0x11000, RAM + 0x12000, RAM + 0x20000, RAM + 0x30000
V, R, W, X, U, A, D = 1, 2, 4, 8, 16, 64, 128


def pte(pa: int, flags: int) -> int:
    return (pa >> 12) << 10 | flags


# M-mode: delegate page faults, turn Sv39 on, enter S at s_entry. S writes through a user page
# (with SUM), reads it back through the kernel's identity gigapage, counts loads in a loop over
# 64 pages of the identity map, then takes a page fault on an unmapped address: its handler logs
# scause and stval and powers off.
PROGRAM = """
  .option norvc
  la t0, s_trap
  csrw stvec, t0
  li t0, (1 << 13) | (1 << 15)
  csrw medeleg, t0
  li t0, 0x8000000000080010
  csrw satp, t0
  sfence.vma
  li t0, 0x1800
  csrc mstatus, t0
  li t0, 0x0800
  csrs mstatus, t0
  la t0, s_entry
  csrw mepc, t0
  mret
s_entry:
  li t0, 1 << 18
  csrs sstatus, t0
  li a0, 0x40000000
  li a1, 0x5a5a1234
  sd a1, 0(a0)
  li a2, 0x80020000
  ld a3, 0(a2)
  li s2, 0x80030000
  sd a3, 0(s2)
  li t1, 0x80100000
  li t2, 64
  li a4, 0
1:
  ld t3, 0(t1)
  add a4, a4, t3
  li t4, 4096
  add t1, t1, t4
  addi t2, t2, -1
  bnez t2, 1b
  li a5, 0x40001000
  ld a6, 0(a5)
  j .
  .balign 4
s_trap:
  csrr t0, scause
  sd t0, 8(s2)
  csrr t0, stval
  sd t0, 16(s2)
  li t6, 0x100000
  li t5, 0x5555
  sw t5, 0(t6)
"""


def boot_program():
    m = vmkit.Machine("riscv64", mode="system", memory="64M", clock="virtual", mmu="sv39", engine=EngineChoice.name)
    m.mem.write(RAM, vmkit.asm("riscv64", PROGRAM, RAM))
    # The first GiB (devices) and RAM's are identity-mapped gigapages for S; VA 0x40000000 is a user page.
    for addr, value in ((ROOT, pte(0, V | R | W | A | D)), (ROOT + 8 * 2, pte(RAM, V | R | W | X | A | D)),
                        (ROOT + 8 * 1, pte(L1, V)),
                        (L1, pte(L0, V)), (L0, pte(USER_PAGE, V | R | W | U))):
        m.mem.write(addr, struct.pack("<Q", value))
    m.reset(RAM)
    return m


def test_bare_metal_supervisor_with_sv39():
    m = boot_program()
    assert m.priv == "M"
    assert m.run(max_insns=1_000_000) == "power_off"
    value, scause, stval = struct.unpack("<3Q", m.mem.read(DATA, 24))
    assert value == 0x5A5A1234  # written through the user page (SUM), read through the identity map
    assert (scause, stval) == (13, 0x40001000)  # load page fault, delegated to S
    assert m.priv == "S" and m.csr("scause") == 13 and m.csr("satp") == 0x8000000000080010
    # The walker set A (read) and D (write) on the user page's PTE.
    assert struct.unpack("<Q", m.mem.read(L0, 8))[0] == pte(USER_PAGE, V | R | W | U | A | D)
    s = m.tlb_stats()
    for side in ("itlb", "dtlb"):
        assert s[side]["lookups"] == s[side]["hits"] + s[side]["misses"]
    assert s["dtlb"]["hits"] >= 60  # the 64 loads hit the cached gigapage translation
    assert s["fast"]["hits"] > 0


def test_virtual_clock_runs_are_deterministic():
    a, b = boot_program(), boot_program()
    assert a.run(max_insns=1_000_000) == b.run(max_insns=1_000_000) == "power_off"
    assert a.stats()["insns_executed"] == b.stats()["insns_executed"]
    assert a.regs.a4 == b.regs.a4 and a.mtime == b.mtime
    assert a.tlb_stats() == b.tlb_stats()


def test_registers_and_budget():
    m = boot_program()
    assert m.run(max_insns=3) == "limit"
    assert m.regs.pc == RAM + 12  # three instructions: la (2) and csrw
    assert m.csr("stvec") != 0
    with pytest.raises(vmkit.UsageError, match="unknown riscv64 register"):
        m.regs["nope"]
