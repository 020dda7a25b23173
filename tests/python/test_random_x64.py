"""Random x86-64 instruction sequences, run natively on the host CPU (the reference) and under vmkit's
bare machine: all sixteen general registers, RFLAGS (the status flags the sequence leaves defined,
and DF), xmm0-15, MXCSR and a scratch buffer must come out identical. This module's sequences are
integer code, which must leave the xmm registers and MXCSR as they were; test_random_x64_simd.py
generates SSE/SSE2/SSE3 sequences and shares everything else here.

A sequence starts from random register values, random flags (DF too), random xmm values (integer
lanes, floating-point lanes with edge values, random bits), a random MXCSR (every exception masked,
any rounding mode, sometimes FTZ/DAZ and sticky flags) and a random buffer, then runs random
integer instructions: every ALU operation at 8/16/32/64 bits with register, immediate and
memory operands (ah..bh included), shifts and rotates by 1, an immediate or cl (counts 0 and past
the width too), shld/shrd, every form of mul/imul, div/idiv (their operands prepared so that no #DE
can happen), bt*, bsf/bsr, lzcnt/tzcnt/popcnt, setcc/cmovcc and forward jcc for all sixteen
conditions, extensions and conversions, xchg/xadd/cmpxchg (locked or not), bswap, lea in every
addressing form, push/pop, pushfq/popfq, lahf/sahf, the flag instructions and the string
instructions with and without rep/repe/repne in both directions. The unit tests pin down each
instruction's edge cases; this finds what nobody thought to pin down. Assembly is LLVM's
(vmkit.asm, Intel syntax).

Conventions: r15 holds the buffer's address and r14 a small index (neither is ever written); rsp
points into the buffer and only push/pop/pushfq/popfq move it; memory operands are [r15+disp],
[r15+r14*s+disp], [rsp+disp] or absolute (instructions that name ah..bh cannot have a REX prefix,
so theirs are absolute); string instructions get rsi/rdi inside the buffer and a small rcx.

The reference runs in x64_native_runner.c (compiled with the host's gcc once per session): it installs
the initial state through a signal return and reads the final one from the ucontext of the SIGILL
raised by the ud2 that ends every sequence, one forked child per sequence and one process for all.

Flags: a flag is compared unless the last instruction that wrote it left it undefined. What an
instruction reads, writes and leaves undefined comes from Capstone's per-instruction eflags, plus
what Capstone does not know: shift and rotate counts (count 0 writes nothing, OF is undefined unless
the count is 1, CF after shl/shr by the width or more), and the Intel SDM's word where Capstone is
silent or wrong (mul/imul, div, bt*, bsf/bsr, lzcnt/tzcnt, popcnt, logic ops, the implicit flag
readers, ptest and the SSE4.2 string compares). Flags are tracked through the forward branches, and
no instruction is allowed to read an undefined flag (a cmp is put in front of such a reader), so
registers and memory never depend on one.

A failure reports the seed, every difference (the first first; xmm registers as four hex dwords), the
initial state, the whole sequence and a minimal one: runs of lines taken out, from the same initial
state, as long as the host still runs it to the ud2 and vmkit still differs first in the same place.
(An operand "[rip -> ADDRESS]" is RIP-relative, addressing ADDRESS: assemble() computes the
displacement.)

``python3 tests/python/test_random_x64.py [SEED ...]`` prints sequences and the state the host CPU
leaves, without vmkit's x86-64 guest.
"""

from __future__ import annotations

import functools
import os
import platform
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import pytest

import vmkit

from conftest import EngineChoice

capstone = pytest.importorskip("capstone", reason="Capstone 5 decides which flags are defined: pip install capstone")
from capstone import x86_const as X  # noqa: E402

CODE = 0x10000000
CODE_BYTES = 0x10000
BUF = 0x10100000
BUF_BYTES = 0x1000
# (VMKIT_RANDOM_SEQUENCES raises it for a soak after lifter changes)
SEQUENCES = int(os.environ.get("VMKIT_RANDOM_SEQUENCES", "40"))
INSNS_PER_SEQUENCE = 60  # generator units: most are one instruction, some two to five
RUNNER_SOURCE = Path(__file__).with_name("x64_native_runner.c")

# The hardware's register numbering (ModRM, Zydis, the runner's state).
GPRS = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15".split()
REGS = {
    64: GPRS,
    32: "eax ecx edx ebx esp ebp esi edi".split() + [f"r{i}d" for i in range(8, 16)],
    16: "ax cx dx bx sp bp si di".split() + [f"r{i}w" for i in range(8, 16)],
    8: "al cl dl bl spl bpl sil dil".split() + [f"r{i}b" for i in range(8, 16)],
}
HIGH8 = "ah ch dh bh".split()  # byte registers 4-7 without a REX prefix
LEGACY8 = "al cl dl bl".split() + HIGH8
RSP, R14, R15 = 4, 14, 15
WRITABLE = [i for i in range(16) if i not in (RSP, R14, R15)]
PTR = {8: "byte", 16: "word", 32: "dword", 64: "qword"}

CF, PF, AF, ZF, SF, DF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x400, 0x800
STATUS = CF | PF | AF | ZF | SF | OF  # 0x8d5
COMPARED = STATUS | DF  # 0xcd5

ALU = "add adc sub sbb and or xor cmp test".split()
UNARY = "inc dec neg not".split()
SHIFTS = "shl shr sar rol ror sal".split()
# Each condition with its aliases (the assembler encodes them the same; their readers differ).
CONDITIONS = [["o"], ["no"], ["b", "c", "nae"], ["ae", "nb", "nc"], ["e", "z"], ["ne", "nz"], ["be", "na"],
              ["a", "nbe"], ["s"], ["ns"], ["p", "pe"], ["np", "po"], ["l", "nge"], ["ge", "nl"], ["le", "ng"],
              ["g", "nle"]]
STRING_OPS = "movs stos lods scas cmps".split()


def host_cpu_flags() -> set:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


_HOST = host_cpu_flags()
# lzcnt needs ABM (LZCNT), tzcnt BMI1: without them the host would run them as bsr/bsf.
BIT_COUNTS = ["bsf", "bsr"] + [op for op, feature in (("lzcnt", "abm"), ("tzcnt", "bmi1"), ("popcnt", "popcnt"))
                               if feature in _HOST]


def random_int(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 0xFFFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF, 0x80000000, 0x7FFFFFFF,
                       0xFFFFFFFF, 0xFF, 0x80, 0x7F, 0xFFFF, 0x8000, 63, 64, 31, 32,
                       rng.getrandbits(64), rng.getrandbits(64), rng.getrandbits(32), rng.getrandbits(16),
                       rng.getrandbits(8)])


def signed_imm(rng: random.Random, bits: int) -> int:
    """An immediate for an operation of ``bits`` (a 64-bit operation takes a sign-extended imm32)."""
    bits = min(bits, 32)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return rng.choice([0, 1, -1, 2, lo, hi, lo + 1, hi - 1, rng.randint(-128, 127), rng.randint(lo, hi),
                       rng.randint(lo, hi)])


def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# Floating-point edge values as bit patterns: signed zeros and infinities, quiet and signalling NaNs
# (with payloads), the smallest and largest denormals and normals, rounding ties, and the limits of
# the conversions to 32- and 64-bit integers (and of double to single).
F32_EDGES = [0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7FA00000, 0xFF800001,
             0x7F800001, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000, 0x7F7FFFFF,
             0xFF7FFFFF] + [_f32(x) for x in (
                 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, 0.1, 2.0 ** 31, -2.0 ** 31, 2.0 ** 31 - 128, 2.0 ** 32,
                 2.0 ** 63, -2.0 ** 63, 2.0 ** 63 - 2 ** 39, 2.0 ** 64, 2.0 ** 24 + 2, 1e30, 1e-30, 2.0 ** -126 * 1.5)]
F64_EDGES = [0, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
             0x7FF8000012345678, 0x7FF4000000000000, 0xFFF0000000000001, 0x7FF0000000000001, 0x1, 0x8000000000000001,
             0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x8010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
             0x47EFFFFFE0000000, 0x47EFFFFFF0000000, 0x3810000000000000, 0x36A0000000000000, 0x3690000000000000,
             0x380FFFFFF0000000] + [_f64(x) for x in (
                 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 2.0 ** 31, 2.0 ** 31 - 1, 2.0 ** 31 - 0.5, -2.0 ** 31,
                 -2.0 ** 31 - 1, -2.0 ** 31 - 0.5, 2.0 ** 32, 2.0 ** 63, 2.0 ** 63 - 1024, -2.0 ** 63,
                 -2.0 ** 63 - 2048, 2.0 ** 64, 2.0 ** 53 + 1, 1e300, 1e-300)]


def fp32(rng: random.Random) -> int:
    """A single-precision bit pattern: an edge value, or a finite value of moderate magnitude."""
    if rng.randrange(2):
        return rng.choice(F32_EDGES)
    return rng.getrandbits(1) << 31 | rng.randrange(127 - 30, 127 + 30) << 23 | rng.getrandbits(23)


def fp64(rng: random.Random) -> int:
    if rng.randrange(2):
        return rng.choice(F64_EDGES)
    return rng.getrandbits(1) << 63 | rng.randrange(1023 - 60, 1023 + 60) << 52 | rng.getrandbits(52)


def int_lanes(rng: random.Random) -> int:
    """128 bits of 8-, 16-, 32- or 64-bit lanes, each an edge value (0, 1, -1, the signed extremes)
    or random: the cases of saturation, sign and overflow."""
    bits = rng.choice([8, 16, 32, 64])
    top = 1 << bits - 1
    return sum(rng.choice([0, 1, top - 1, top, top + 1, 2 * top - 1, rng.getrandbits(bits)]) << bits * k
               for k in range(128 // bits))


def random_xmm(rng: random.Random) -> int:
    """A 128-bit xmm value: random bits, integers, or single- or double-precision lanes."""
    kind = rng.randrange(6)
    if kind == 0:
        return rng.getrandbits(128)
    if kind == 1:
        return random_int(rng) | random_int(rng) << 64
    if kind == 2:
        return int_lanes(rng)
    if kind == 3:
        return sum(fp32(rng) << 32 * k for k in range(4))
    if kind == 4:
        return fp64(rng) | fp64(rng) << 64
    return fp32(rng) | rng.getrandbits(32) << 32 | fp64(rng) << 64  # a scalar in a random register


MXCSR_MASKS = 0x1F80  # every exception masked
DAZ, FTZ = 0x40, 0x8000


def random_mxcsr(rng: random.Random) -> int:
    """Every exception masked, a random rounding mode, sometimes FTZ and DAZ, sometimes some sticky
    exception flags already set; the reserved bits clear."""
    value = MXCSR_MASKS | rng.randrange(4) << 13
    if rng.randrange(4) == 0:
        value |= FTZ
    if rng.randrange(4) == 0:
        value |= DAZ
    if rng.randrange(3) == 0:
        value |= rng.getrandbits(6)
    return value


def fp_buffer(rng: random.Random, buf: bytes) -> bytes:
    """The buffer with half of its 16-byte blocks holding single- or double-precision lanes, and an
    eighth integer lanes with edge values."""
    out = bytearray(buf)
    for at in range(0, BUF_BYTES, 16):
        kind = rng.randrange(4)
        if kind == 0:
            out[at:at + 16] = struct.pack("<4I", *(fp32(rng) for _ in range(4)))
        elif kind == 1:
            out[at:at + 16] = struct.pack("<2Q", fp64(rng), fp64(rng))
        elif kind == 2 and rng.randrange(2):
            out[at:at + 16] = int_lanes(rng).to_bytes(16, "little")
    return bytes(out)


def disp(value: int) -> str:
    return f"+ {value}" if value >= 0 else f"- {-value}"


class Operands:
    """Registers, memory and immediates of one width for one instruction. A byte instruction uses one
    of two register banks: al..bl with ah..bh (no REX prefix possible, so memory is an absolute
    address), or al..bl with spl, bpl, sil, dil and r8b..r15b (every memory form)."""

    def __init__(self, g: "Generator", width: int, high: Optional[bool] = None):
        self.g, self.rng, self.w = g, g.rng, width
        self.high = width == 8 and (high if high is not None else self.rng.randrange(3) == 0)

    def reg(self, write: bool = False, exclude: tuple = ()) -> str:
        if self.high:
            pool = LEGACY8
        else:
            pool = [REGS[self.w][i] for i in (WRITABLE if write else range(16))]
        return self.rng.choice([r for r in pool if r not in exclude])

    def mem(self, low: int = 0, atomic: bool = False) -> str:
        """atomic: a locked access, kept within a 64-byte line (a split lock can be slow or trap)."""
        size = self.w // 8 if atomic else 0
        return f"{PTR[self.w]} ptr {self.g.address(absolute_only=self.high, low=low, line=size)}"

    def rm(self, write: bool = False, exclude: tuple = (), atomic: bool = False) -> str:
        return self.mem(atomic=atomic) if self.rng.randrange(3) == 0 else self.reg(write, exclude)

    def imm(self) -> int:
        return signed_imm(self.rng, self.w)


class Generator:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.label = 0
        # (kind, weight)
        self.kinds, self.weights = zip(*[
            (self.alu, 8), (self.unary, 2), (self.shift, 4), (self.double_shift, 2), (self.multiply, 3),
            (self.divide, 2), (self.bit_test, 2), (self.bit_count, 2), (self.setcc_cmov, 3), (self.jcc, 3),
            (self.extend, 2), (self.convert, 1), (self.exchange, 3), (self.bswap, 1), (self.lea, 2),
            (self.stack, 2), (self.flag_ops, 2), (self.string, 2), (self.mov, 2)])

    def insn(self) -> list:
        return self.rng.choices(self.kinds, self.weights)[0]()

    def single(self) -> str:
        """One instruction of any kind but jcc (what a jcc jumps over)."""
        while True:
            lines = self.insn()
            if len(lines) == 1:
                return lines[0]

    def width(self) -> int:
        return self.rng.choice([8, 16, 32, 32, 64, 64])

    def cond(self) -> str:
        return self.rng.choice(self.rng.choice(CONDITIONS))

    def address(self, absolute_only: bool = False, low: int = 0, line: int = 0) -> str:
        """line: the access's size, for one that must not cross a 64-byte line (not knowing r14, that
        is [r15+disp] or absolute)."""
        rng = self.rng
        d = rng.choice([low, rng.randrange(low, 256), rng.randrange(low, BUF_BYTES - 256 - 16)])
        form = 2 if absolute_only else rng.choice([0, 2]) if line else rng.randrange(6)
        if line and d % 64 + line > 64:
            d -= d % 64 + line - 64
        if form == 0:
            return f"[r15 {disp(d)}]" if d else "[r15]"
        if form == 1:
            return f"[r15 + r14*{rng.choice([1, 2, 4, 8])} {disp(d)}]"
        if form == 2:
            return f"[{BUF + d:#x}]"
        if form == 3:
            return f"[r14*{rng.choice([1, 2, 4, 8])} + {BUF + d:#x}]"
        if form == 4:  # rsp stays within a few hundred bytes of the buffer's middle
            return f"[rsp {disp(rng.randrange(-128, 128))}]"
        return f"[r15 + r14 {disp(d)}]"

    # ---- the instruction kinds ------------------------------------------------------------------

    def alu(self, op: Optional[str] = None) -> list:
        rng = self.rng
        op = op or rng.choice(ALU)
        o = Operands(self, self.width())
        writes = op not in ("cmp", "test")
        form = rng.randrange(5)
        if op == "test" and form == 2:  # (test has no reg, mem form of its own)
            form = 3
        if form == 0:
            return [f"{op} {o.reg(writes)}, {o.reg()}"]
        if form == 1:
            return [f"{op} {o.reg(writes)}, {o.imm()}"]
        if form == 2:
            return [f"{op} {o.reg(writes)}, {o.mem()}"]
        lock = "lock " if writes and rng.randrange(3) == 0 else ""
        src = o.reg() if form == 3 else o.imm()
        return [f"{lock}{op} {o.mem(atomic=bool(lock))}, {src}"]

    def unary(self) -> list:
        rng = self.rng
        o = Operands(self, self.width())
        if rng.randrange(3) == 0:
            lock = rng.randrange(2) == 0
            return [f"{'lock ' if lock else ''}{rng.choice(UNARY)} {o.mem(atomic=lock)}"]
        return [f"{rng.choice(UNARY)} {o.reg(True)}"]

    def count(self, width: int) -> int:
        rng = self.rng
        return rng.choice([0, 1, 2, width - 1, width, width + 1, 31, 32, 33, 63, 64, 65, rng.randrange(256),
                           rng.randrange(width)])

    def shift(self) -> list:
        rng = self.rng
        o = Operands(self, self.width())
        dst = o.rm(True)
        if rng.randrange(8) == 0:  # through CF: by 1 only (OF is undefined for other counts)
            return [f"{rng.choice(['rcl', 'rcr'])} {dst}, 1"]
        op = rng.choice(SHIFTS)
        how = rng.randrange(3)
        if how == 0:
            return [f"{op} {dst}, 1"]
        if how == 1:
            return [f"{op} {dst}, {self.count(o.w)}"]
        return [f"mov ecx, {self.count(o.w)}", f"{op} {dst}, cl"]

    def double_shift(self) -> list:
        rng = self.rng
        o = Operands(self, rng.choice([32, 64]))  # (16-bit counts past 16 leave the result undefined)
        op = rng.choice(["shld", "shrd"])
        dst, src = o.rm(True), o.reg()
        if rng.randrange(2):
            return [f"{op} {dst}, {src}, {self.count(o.w)}"]
        return [f"mov ecx, {self.count(o.w)}", f"{op} {dst}, {src}, cl"]

    def multiply(self) -> list:
        rng = self.rng
        form = rng.randrange(3)
        if form == 0:
            o = Operands(self, self.width())
            return [f"{rng.choice(['mul', 'imul'])} {o.rm()}"]
        o = Operands(self, rng.choice([16, 32, 64]))
        if form == 1:
            return [f"imul {o.reg(True)}, {o.rm()}"]
        return [f"imul {o.reg(True)}, {o.rm()}, {rng.choice([o.imm(), rng.randint(-128, 127)])}"]

    def divide(self) -> list:
        """div/idiv with a dividend and divisor that cannot raise #DE."""
        rng = self.rng
        o = Operands(self, self.width())
        high = {8: "ah", 16: "dx", 32: "edx", 64: "rdx"}[o.w]
        divisor = o.rm(True, exclude=(high, "ah"))  # (ah for the byte form, the high half otherwise)
        if rng.randrange(2):  # signed: a sign-extended dividend and a divisor other than 0 and -1
            extend = {8: "cbw", 16: "cwd", 32: "cdq", 64: "cqo"}[o.w]
            return [f"or {divisor}, {rng.choice([2, 6, 0x12, 0x42, -126])}", f"and {divisor}, -2", extend,
                    f"idiv {divisor}"]
        if rng.randrange(2):  # unsigned: a zero high half and a nonzero divisor
            clear = "movzx eax, al" if o.w == 8 else "xor edx, edx"
            return [f"or {divisor}, {rng.choice([1, 3, 0x10, 0x41, -1])}", clear, f"div {divisor}"]
        s = rng.randrange(1, o.w)  # unsigned: high half < 2**(w-s) <= divisor
        if o.w == 8:
            bit = 1 << (8 - s)
            return [f"and ah, {bit - 1}", f"or {divisor}, {bit - 256 if bit > 127 else bit}", f"div {divisor}"]
        return [f"shr {high}, {s}", f"bts {divisor}, {o.w - s}", f"div {divisor}"]

    def bit_test(self) -> list:
        rng = self.rng
        op = rng.choice(["bt", "bts", "btr", "btc"])
        o = Operands(self, rng.choice([16, 32, 64]))
        writes = op != "bt"
        lock = "lock " if writes and rng.randrange(2) else ""
        form = rng.randrange(4)
        if form == 0:
            return [f"{op} {o.reg(writes)}, {o.reg()}"]
        if form == 1:
            return [f"{op} {o.reg(writes)}, {rng.randrange(256)}"]
        if form == 2:
            return [f"{lock}{op} {o.mem(atomic=bool(lock))}, {rng.randrange(256)}"]
        # A register bit offset reaches outside the operand (it is signed): keep it within +-64 bytes.
        # Locked, from a 64-byte aligned operand: the access is then aligned too (a multiple of the
        # width away).
        i = rng.choice(WRITABLE)
        prepare = rng.choice([f"and {REGS[32][i]}, {rng.choice([0x7F, 0xFF, 0x1FF])}",
                              f"movsx {REGS[64][i]}, {REGS[8][i]}"])
        return [prepare, f"{lock}{op} {PTR[o.w]} ptr {self.address(low=64, line=64 if lock else 0)}, {REGS[o.w][i]}"]

    def bit_count(self) -> list:
        rng = self.rng
        op = rng.choice(BIT_COUNTS)
        o = Operands(self, rng.choice([16, 32, 64]))
        if op in ("bsf", "bsr"):  # (the destination is undefined for a zero source)
            src = o.rm(True)
            nonzero = rng.choice([1, 0x80, 0x100, -1, 0x4000, rng.randint(1, 127)])
            return [f"or {src}, {nonzero}", f"{op} {o.reg(True)}, {src}"]
        return [f"{op} {o.reg(True)}, {o.rm()}"]

    def setcc_cmov(self) -> list:
        rng = self.rng
        if rng.randrange(2):
            return [f"set{self.cond()} {Operands(self, 8).rm(True)}"]
        o = Operands(self, rng.choice([16, 32, 64]))
        return [f"cmov{self.cond()} {o.reg(True)}, {o.rm()}"]

    def jcc(self) -> list:
        """A flag setter, then a forward jcc over one instruction (both paths end in a new block)."""
        rng = self.rng
        self.label += 1
        label = f".Lskip{self.label}"
        setter = rng.choice([self.alu, self.alu, self.unary, self.shift, self.bit_test, self.bit_count])()
        return setter + [f"j{self.cond()} {label}", self.single(), f"{label}:"]

    def extend(self) -> list:
        rng = self.rng
        if rng.randrange(5) == 0:
            return [f"movsxd {Operands(self, 64).reg(True)}, {Operands(self, 32).rm()}"]
        op = rng.choice(["movzx", "movsx"])
        src_w = rng.choice([8, 8, 16])
        src = Operands(self, src_w)
        dst_w = rng.choice([w for w in (16, 32, 64) if w > src_w])
        if src.high:  # no REX: a legacy destination, not 64-bit
            dst_w = min(dst_w, 32)
            return [f"{op} {rng.choice([REGS[dst_w][i] for i in (0, 1, 2, 3, 5, 6, 7)])}, {src.rm()}"]
        return [f"{op} {Operands(self, dst_w).reg(True)}, {src.rm()}"]

    def convert(self) -> list:
        return [self.rng.choice(["cbw", "cwde", "cdqe", "cwd", "cdq", "cqo"])]

    def exchange(self) -> list:
        rng = self.rng
        op = rng.choice(["xchg", "xadd", "cmpxchg", "cmpxchg"])
        o = Operands(self, self.width())
        if op == "xchg":
            form = rng.randrange(3)
            if form == 0:
                return [f"xchg {o.reg(True)}, {o.reg(True)}"]
            m = o.mem(atomic=True)  # (always locked)
            return [f"xchg {m}, {o.reg(True)}" if form == 1 else f"xchg {o.reg(True)}, {m}"]
        lock = "lock " if rng.randrange(2) else ""
        dst = o.rm(True, atomic=bool(lock))
        lock = lock if "ptr" in dst else ""
        if op == "xadd":
            return [f"{lock}xadd {dst}, {o.reg(True)}"]
        lines = [f"{lock}cmpxchg {dst}, {o.reg()}"]
        if rng.randrange(2):  # the accumulator equal to the destination: the exchange happens
            lines.insert(0, f"mov {REGS[o.w][0]}, {dst}")
        return lines

    def bswap(self) -> list:
        return [f"bswap {Operands(self, self.rng.choice([32, 64])).reg(True)}"]

    def lea(self) -> list:
        rng = self.rng
        dst = Operands(self, rng.choice([16, 32, 64, 64])).reg(True)
        d = rng.choice([0, rng.randint(-128, 127), rng.randint(-(1 << 31), (1 << 31) - 1)])
        if rng.randrange(8) == 0:
            return [f"lea {dst}, [rip {disp(d)}]"]
        names = REGS[32] if rng.randrange(4) == 0 else REGS[64]  # (32-bit addressing: a 0x67 prefix)
        parts = []
        if rng.randrange(6):
            parts.append(rng.choice(names))
        if rng.randrange(3):
            parts.append(f"{names[rng.choice([i for i in range(16) if i != RSP])]}*{rng.choice([1, 2, 4, 8])}")
        if not parts:
            return [f"lea {dst}, [{d}]"]
        return [f"lea {dst}, [{' + '.join(parts)} {disp(d)}]" if d or rng.randrange(2) else
                f"lea {dst}, [{' + '.join(parts)}]"]

    def stack(self) -> list:
        rng = self.rng
        form = rng.randrange(5)
        if form == 0:
            return [f"push {rng.choice(GPRS)}"]
        if form == 1:
            return [f"push {rng.choice([rng.randint(-128, 127), signed_imm(rng, 32)])}"]
        if form == 2:
            return [f"push qword ptr {self.address()}"]
        if form == 3:
            return [f"pop {Operands(self, 64).reg(True)}"]
        return [f"pop qword ptr {self.address()}"]

    def flag_ops(self) -> list:
        rng = self.rng
        form = rng.randrange(6)
        if form == 0:
            return ["pushfq"]
        if form == 1:  # popfq only what pushfq pushed, with some of the status flags and DF flipped
            flip = rng.getrandbits(12) & COMPARED
            if rng.randrange(2):
                return ["pushfq", f"xor qword ptr [rsp], {flip}", "popfq"]
            r = Operands(self, 64).reg(True)
            return ["pushfq", f"pop {r}", f"xor {r}, {flip}", f"push {r}", "popfq"]
        if form == 2:
            return ["lahf"]
        if form == 3:
            return ["sahf"]
        return [rng.choice(["clc", "stc", "cmc", "cld", "std"])]

    def string(self) -> list:
        rng = self.rng
        op = rng.choice(STRING_OPS) + rng.choice("bwdq")
        lines = []
        if op[:4] in ("movs", "lods", "cmps"):
            lines.append(f"lea rsi, [r15 + {rng.randrange(256, BUF_BYTES - 256)}]")
        if op[:4] in ("movs", "stos", "scas", "cmps"):
            lines.append(f"lea rdi, [r15 + {rng.randrange(256, BUF_BYTES - 256)}]")
        if rng.randrange(3) == 0:
            lines.append(rng.choice(["cld", "std"]))
        rep = rng.choice(["", "repe ", "repne "] if op[:4] in ("scas", "cmps") else ["", "rep "])
        if rep:
            lines.append(f"mov ecx, {rng.choice([0, 1, 2, rng.randrange(9)])}")
        return lines + [rep + op]

    def mov(self) -> list:
        rng = self.rng
        o = Operands(self, self.width())
        form = rng.randrange(6)
        if form == 0:
            return [f"mov {o.reg(True)}, {o.reg()}"]
        if form == 1:
            return [f"mov {o.reg(True)}, {o.mem()}"]
        if form == 2:
            return [f"mov {o.mem()}, {o.reg()}"]
        if form == 3:
            return [f"mov {o.mem()}, {o.imm()}"]
        if form == 4:
            return [f"mov {o.reg(True)}, {o.imm()}"]
        return [f"movabs {Operands(self, 64).reg(True)}, {random_int(rng)}"]

    def definer(self) -> str:
        """A cmp: defines all six status flags and writes nothing else."""
        return self.alu("cmp")[0]


# ---- which flags are defined (Capstone plus the gaps) -------------------------------------------

_CS_FLAGS = {"CF": CF, "PF": PF, "AF": AF, "ZF": ZF, "SF": SF, "DF": DF, "OF": OF}
_CS_BITS: dict = {}
for _name in dir(X):
    if _name.startswith("X86_EFLAGS_"):
        _kind, _flag = _name[len("X86_EFLAGS_"):].split("_", 1)
        if _flag in _CS_FLAGS:
            _CS_BITS.setdefault(_kind, []).append((getattr(X, _name), _CS_FLAGS[_flag]))

# What Capstone 5 leaves out, per the Intel SDM: implicit readers, and flags it calls defined (or
# does not list) that the SDM calls undefined. The union with Capstone's own is what counts.
EXTRA_READS = {"lahf": SF | ZF | AF | PF | CF, "pushfq": STATUS, "rcl": CF, "rcr": CF, "cmc": CF, "adc": CF,
               "sbb": CF}
EXTRA_WRITES = {"lzcnt": CF | ZF, "tzcnt": CF | ZF, "popcnt": STATUS, "bt": CF, "bts": CF, "btr": CF, "btc": CF,
                "bsf": ZF, "bsr": ZF,
                # ptest: ZF CF, the others cleared (Capstone leaves OF out); the string compares:
                # CF ZF SF OF, AF PF cleared (Capstone lists none)
                "ptest": STATUS, "pcmpestri": STATUS, "pcmpestrm": STATUS, "pcmpistri": STATUS,
                "pcmpistrm": STATUS}
EXTRA_UNDEFINED = {"mul": SF | ZF | AF | PF, "imul": SF | ZF | AF | PF, "div": STATUS, "idiv": STATUS,
                   "bt": OF | SF | AF | PF, "bts": OF | SF | AF | PF, "btr": OF | SF | AF | PF,
                   "btc": OF | SF | AF | PF, "bsf": STATUS & ~ZF, "bsr": STATUS & ~ZF,
                   "lzcnt": OF | SF | PF | AF, "tzcnt": OF | SF | PF | AF,
                   "and": AF, "or": AF, "xor": AF, "test": AF}
COUNTED = {"shl", "sal", "shr", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd"}
RCX_FAMILY = {X.X86_REG_RCX, X.X86_REG_ECX, X.X86_REG_CX, X.X86_REG_CL, X.X86_REG_CH}

_md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
_md.detail = True


def _cs(eflags: int, *kinds: str) -> int:
    return sum(flag for kind in kinds for bit, flag in _CS_BITS.get(kind, ()) if eflags & bit)


def counted_effect(mnemonic: str, width: int, count: int):
    """(written, undefined) of a shift or rotate by ``count`` (before masking), per the SDM."""
    c = count & (0x3F if width == 64 else 0x1F)
    if c == 0:
        return 0, 0  # no flag is touched
    of = OF if c != 1 else 0
    if mnemonic in ("rol", "ror"):
        return CF | OF, of
    if mnemonic in ("rcl", "rcr"):
        return CF | OF, 0 if c == 1 else CF | OF
    if mnemonic in ("shld", "shrd"):
        return STATUS, AF | of | (STATUS if c > width else 0)
    return STATUS, AF | of | (CF if mnemonic in ("shl", "sal", "shr") and c >= width else 0)


def effects(insn, rcx: Optional[int]):
    """(read, written, undefined) flag masks of one Capstone instruction; rcx: its known value."""
    mn, ef = insn.mnemonic.split()[-1], insn.eflags
    if mn.startswith("cmp") and any(op.type == X.X86_OP_REG and X.X86_REG_XMM0 <= op.reg <= X.X86_REG_XMM31
                                    for op in insn.operands):
        return 0, 0, 0  # cmpps..cmpsd write no flag (Capstone takes cmpsd for the string instruction)
    read = _cs(ef, "TEST") | EXTRA_READS.get(mn, 0)
    if mn in COUNTED:
        ops = insn.operands
        width = ops[0].size * 8
        if ops[-1].type == X.X86_OP_IMM:
            count = ops[-1].imm
        else:
            assert rcx is not None, f"{insn.mnemonic} {insn.op_str}: the count in cl is not known"
            count = rcx & 0xFF
        return read, *counted_effect(mn, width, count)
    written = _cs(ef, "MODIFY", "RESET", "SET", "UNDEFINED") | EXTRA_WRITES.get(mn, 0)
    undefined = _cs(ef, "UNDEFINED") | EXTRA_UNDEFINED.get(mn, 0)
    if insn.prefix[0] in (0xF2, 0xF3) and mn[:4] in ("cmps", "scas"):
        assert rcx is not None, f"{insn.mnemonic}: rcx is not known"
        if rcx == 0:
            written = undefined = 0  # no comparison, no flag written
    return read, written | undefined, undefined


@dataclass
class Flow:
    defined: int  # the compared flags that are defined at the end
    readers: list  # indices of instructions that read a flag that is undefined there
    count: int  # instructions


def flag_flow(code: bytes) -> Flow:
    """Walks the program (straight-line code and forward branches), tracking which flags are defined
    and rcx while it holds a constant (shift counts, rep counts)."""
    insns = list(_md.disasm(code, CODE))
    assert sum(i.size for i in insns) == len(code), "Capstone could not decode the whole sequence"
    defined, rcx = COMPARED, None  # the test sets every flag
    incoming: dict = {}
    readers = []
    for k, insn in enumerate(insns):
        for d, c in incoming.pop(insn.address, ()):
            defined &= d
            rcx = rcx if rcx == c else None
        read, written, undefined = effects(insn, rcx)
        if read & ~defined:
            readers.append(k)
        defined = (defined & ~written) | (written & ~undefined)
        ops = insn.operands
        if (insn.mnemonic == "mov" and ops[0].type == X.X86_OP_REG and ops[0].reg in (X.X86_REG_ECX, X.X86_REG_RCX)
                and ops[1].type == X.X86_OP_IMM):
            rcx = ops[1].imm & ((1 << (ops[0].size * 8)) - 1)
        elif RCX_FAMILY & set(insn.regs_access()[1]):
            rcx = None
        if insn.group(X.X86_GRP_JUMP):
            target = ops[0].imm
            assert insn.mnemonic != "jmp" and target > insn.address, f"unexpected branch {insn.mnemonic} {insn.op_str}"
            incoming.setdefault(target, []).append((defined, rcx))
    assert not incoming, "a branch leaves the sequence"
    return Flow(defined, readers, len(insns))


# ---- sequences ----------------------------------------------------------------------------------

@dataclass
class Sequence:
    seed: int
    text: str
    code: bytes
    regs: list  # GPRS order
    flags: int  # the status flags and DF
    buf: bytes
    defined: int  # the flags compared at the end
    xmm: list = field(default_factory=lambda: [0] * 16)  # 128-bit values
    mxcsr: int = MXCSR_MASKS
    kind: str = "integer"  # which generator: "integer" or "simd"

    @property
    def end(self) -> int:
        return CODE + len(self.code) - 2  # the ud2

    @property
    def lines(self) -> list:
        return self.text.split("\n")


# A RIP-relative operand that addresses an absolute target, "[rip -> 0x10100040]": assemble() puts in
# the displacement (from the end of the instruction, past any immediate).
RIP_TARGET = re.compile(r"\[rip -> (0x[0-9a-f]+)\]")


def resolve_rip_targets(lines: list) -> list:
    if not any("[rip -> " in line for line in lines):
        return lines
    first = [RIP_TARGET.sub("[rip]", line) for line in lines]  # (RIP-relative: always a disp32)
    code = vmkit.asm("x86_64", "\n".join(first), CODE)
    insns = list(_md.disasm(code, CODE))
    insn_lines = [i for i, line in enumerate(lines) if not line.endswith(":")]
    assert len(insn_lines) == len(insns), "a line is not one instruction"
    out = list(lines)
    for i, insn in zip(insn_lines, insns):
        m = RIP_TARGET.search(lines[i])
        if m:
            out[i] = RIP_TARGET.sub(f"[rip {disp(int(m.group(1), 16) - insn.address - insn.size)}]", lines[i])
    return out


def assemble(lines: list):
    code = vmkit.asm("x86_64", "\n".join(resolve_rip_targets(lines)), CODE)
    return code, flag_flow(code)


def finish_sequence(seed: int, rng: random.Random, g: Generator, lines: list, kind: str = "integer") -> Sequence:
    """Assembles ``lines`` (ending in ud2) with a cmp in front of each instruction that would read an
    undefined flag, and draws the initial state: GPRs, flags, buffer, xmm registers and MXCSR (a
    "simd" sequence also gets floating-point values in its buffer and some of its GPRs)."""
    code, flow = assemble(lines)
    if flow.readers:
        insn_lines = [i for i, line in enumerate(lines) if not line.endswith(":")]
        assert len(insn_lines) == flow.count, "a line is not one instruction"
        for k in reversed(flow.readers):
            lines.insert(insn_lines[k], g.definer())
        code, flow = assemble(lines)
        assert not flow.readers, "an undefined flag is still read"
    regs = [random_int(rng) for _ in GPRS]
    regs[RSP] = BUF + rng.randrange(0x700, 0x900, 8)
    regs[R14] = rng.randrange(32)
    regs[R15] = BUF
    flags = rng.getrandbits(12) & COMPARED
    buf = bytes(rng.getrandbits(8) for _ in range(BUF_BYTES))
    xmm = [random_xmm(rng) for _ in range(16)]
    mxcsr = random_mxcsr(rng)
    if kind == "simd":
        buf = fp_buffer(rng, buf)
        for i in WRITABLE:
            if rng.randrange(3) == 0:
                regs[i] = fp64(rng) if rng.randrange(2) else fp32(rng)
    return Sequence(seed, "\n".join(lines), code, regs, flags, buf, flow.defined, xmm, mxcsr, kind)


@functools.lru_cache(maxsize=None)
def sequence(seed: int) -> Sequence:
    rng = random.Random(seed * 7919 + 64)
    g = Generator(rng)
    lines = []
    for _ in range(INSNS_PER_SEQUENCE):
        lines += g.insn()
    lines.append("ud2")
    return finish_sequence(seed, rng, g, lines)


# ---- the two sides ------------------------------------------------------------------------------

ST = struct.Struct("<16QQQII32Qiiq")  # x64_native_runner.c's struct St


@dataclass
class Final:
    regs: list
    rflags: int
    buf: bytes
    rip: int = 0
    signal: int = 0  # native: the signal that ended the run (SIGILL at the ud2), or the child's wait status
    si_code: int = 0
    xmm: list = field(default_factory=lambda: [0] * 16)
    mxcsr: int = 0


def build_runner(out_dir: Path) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("the native reference needs a host C compiler (gcc)")
    exe = Path(out_dir) / "x64_native_runner"
    r = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", str(exe), str(RUNNER_SOURCE)], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        pytest.fail(f"cannot compile {RUNNER_SOURCE.name}:\n{r.stderr}")
    return exe


def run_native(runner: Path, seqs: list) -> list:
    """One runner process for all sequences, one forked child each."""
    jobs = [struct.pack("<I", len(seqs))]
    for s in seqs:
        assert len(s.code) <= CODE_BYTES
        halves = [h for x in s.xmm for h in (x & (1 << 64) - 1, x >> 64)]
        jobs += [struct.pack("<I", len(s.code)), s.code,
                 ST.pack(*s.regs, 0, s.flags, s.mxcsr, 0, *halves, 0, 0, 0), s.buf]
    r = subprocess.run([str(runner)], input=b"".join(jobs), capture_output=True, timeout=120)
    assert r.returncode == 0, f"x64_native_runner failed with {r.returncode}: {r.stderr.decode(errors='replace')}"
    out, size, results = r.stdout, 4 + ST.size + BUF_BYTES, []
    assert len(out) == size * len(seqs), "x64_native_runner's output is short"
    for k in range(len(seqs)):
        chunk = out[k * size:(k + 1) * size]
        (status,) = struct.unpack_from("<i", chunk)
        st = ST.unpack_from(chunk, 4)
        xmm = [st[20 + 2 * i] | st[21 + 2 * i] << 64 for i in range(16)]
        results.append(Final(list(st[:16]), st[17], chunk[4 + ST.size:], rip=st[16],
                             signal=st[52] if status == 0 else -status, si_code=st[53], xmm=xmm, mxcsr=st[18]))
    return results


def check_native_stop(seq: Sequence, want: Final):
    """The host must have run the whole sequence, to the ud2 (the generator avoids every fault)."""
    assert want.signal >= 0, f"x64_native_runner's child failed (wait status {-want.signal:#x})\n{seq.text}"
    assert want.signal == signal.SIGILL and want.rip == seq.end, (
        f"the native run stopped with signal {want.signal} (si_code {want.si_code}) at {want.rip:#x}, not at the "
        f"ud2 at {seq.end:#x}: a generator bug\n{seq.text}")


def insn_at(seq: Sequence, pc: int) -> str:
    if not CODE <= pc < CODE + len(seq.code):
        return "outside the sequence"
    insn = next(_md.disasm(seq.code[pc - CODE:], pc), None)
    return f"{insn.mnemonic} {insn.op_str}: {insn.bytes.hex()}" if insn else "undecodable"


def run_vmkit(seq: Sequence) -> Final:
    m = vmkit.Machine("x86_64", engine=EngineChoice.name)
    m.mem.map(CODE, CODE_BYTES, "r-x")
    m.mem.map(BUF, BUF_BYTES, "rw-")
    m.mem.write(CODE, seq.code)
    m.mem.write(BUF, seq.buf)
    for name, value in zip(GPRS, seq.regs):
        m.regs[name] = value
    m.regs["rflags"] = seq.flags | 0x202
    for i, value in enumerate(seq.xmm):
        m.regs[f"xmm{i}"] = value
    m.regs["mxcsr"] = seq.mxcsr
    r = m.run(CODE, until=seq.end)
    assert r.reason == vmkit.RunEnd.UNTIL, (
        f"vmkit stopped with {r.reason} at {r.pc:#x} ({insn_at(seq, r.pc)})\n{seq.text}")
    return Final([m.regs[name] for name in GPRS], m.regs["rflags"], bytes(m.mem.read(BUF, BUF_BYTES)),
                 xmm=[m.regs[f"xmm{i}"] for i in range(16)], mxcsr=m.regs["mxcsr"])


def lanes(value: int) -> str:
    """A 128-bit value as four dwords, the highest first."""
    return "_".join(f"{value >> 32 * k & 0xFFFFFFFF:08x}" for k in (3, 2, 1, 0))


def differences(seq: Sequence, want: Final, got: Final) -> list:
    """What differs, the first difference first: GPRs, RFLAGS, xmm0-15, MXCSR, then the buffer."""
    problems = [f"{name}: vmkit {g:#x}, host {w:#x}" for name, g, w in zip(GPRS, got.regs, want.regs) if g != w]
    mask = COMPARED & seq.defined
    if got.rflags & mask != want.rflags & mask:
        problems.append(f"rflags & {mask:#x}: vmkit {got.rflags & mask:#x}, host {want.rflags & mask:#x}")
    for i, (g, w) in enumerate(zip(got.xmm, want.xmm)):
        if g != w:
            dwords = [k for k in range(4) if (g ^ w) >> 32 * k & 0xFFFFFFFF]
            problems.append(f"xmm{i} (dwords 3..0): vmkit {lanes(g)}, host {lanes(w)} (dwords {dwords} differ)")
    if got.mxcsr != want.mxcsr:
        problems.append(f"mxcsr: vmkit {got.mxcsr:#x}, host {want.mxcsr:#x} (initial {seq.mxcsr:#x})")
    if got.buf != want.buf:
        at = [i for i in range(BUF_BYTES) if got.buf[i] != want.buf[i]]
        problems.append(f"scratch buffer differs at {len(at)} bytes from offset {at[0]:#x} "
                        f"(vmkit {got.buf[at[0]:at[0] + 8].hex()}, host {want.buf[at[0]:at[0] + 8].hex()})")
    return problems


def outcome(seq: Sequence, want: Final) -> Optional[str]:
    """None if vmkit leaves the state the host left; otherwise the first difference's kind (the
    register's name, "scratch" for the buffer, or how vmkit stopped)."""
    try:
        got = run_vmkit(seq)
    except AssertionError as e:
        return str(e).split(" at ")[0]
    problems = differences(seq, want, got)
    return problems[0].split(":")[0].split(" ")[0] if problems else None


def minimize(runner: Path, seq: Sequence, budget: float = 15.0) -> Sequence:
    """A shorter sequence with the same initial state and the same first difference: runs of lines
    (halves, quarters, ... single lines) are taken out while the sequence still assembles, reads no
    undefined flag, runs to its ud2 on the host, and vmkit still differs there first in the same
    place."""
    want = run_native(runner, [seq])[0]
    key = outcome(seq, want)
    if key is None:
        return seq
    deadline = time.monotonic() + budget

    def still_fails(lines: list) -> Optional[Sequence]:
        try:
            code, flow = assemble(lines)
        except Exception:  # a label taken away, say
            return None
        if flow.readers:
            return None
        c = replace(seq, text="\n".join(lines), code=code, defined=flow.defined)
        w = run_native(runner, [c])[0]
        ok = w.signal == signal.SIGILL and w.rip == c.end and outcome(c, w) == key
        return c if ok else None

    n = max(1, (len(seq.lines) - 1) // 2)
    while time.monotonic() < deadline:
        progress, k = False, 0
        while k < len(seq.lines) - 1 and time.monotonic() < deadline:
            lines = seq.lines
            shorter = still_fails(lines[:k] + lines[min(k + n, len(lines) - 1):])
            if shorter:
                seq, progress = shorter, True
            else:
                k += n
        if not progress:
            if n == 1:
                break
            n //= 2
    return seq


MINIMIZE_LIMIT = 5  # failures per process whose report has a minimal sequence (a few seconds each)
_minimized = 0


def report(runner: Path, seq: Sequence, want: Final, problems: list) -> str:
    """The failure message: the seed, the differences, and a minimal sequence from the same state."""
    initial = "\n".join([f"  {name} = {v:#x}" for name, v in zip(GPRS, seq.regs)] +
                         [f"  rflags = {seq.flags | 0x202:#x}", f"  mxcsr = {seq.mxcsr:#x}"] +
                         [f"  xmm{i} = {lanes(v)}" for i, v in enumerate(seq.xmm)])
    global _minimized
    _minimized += 1
    small = minimize(runner, seq) if _minimized <= MINIMIZE_LIMIT else seq
    text = [f"{seq.kind} sequence, seed {seq.seed}, engine {EngineChoice.name}: vmkit differs from the host",
            *problems, f"(flags compared: {COMPARED & seq.defined:#x})"]
    if _minimized > MINIMIZE_LIMIT:
        text.append(f"(not minimized: only the first {MINIMIZE_LIMIT} failures of a run are)")
    elif small is not seq:
        w = run_native(runner, [small])[0]
        try:
            small_problems = differences(small, w, run_vmkit(small))
        except AssertionError as e:
            small_problems = [str(e).split("\n")[0]]
        text += [f"---- minimal reproduction ({len(small.lines) - 1} of {len(seq.lines) - 1} lines, the same "
                 "initial state):", small.text, *small_problems]
    text += ["---- initial state:", initial, "---- the whole sequence:", seq.text]
    return "\n".join(text)


# ---- the tests ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def native_runner(tmp_path_factory) -> Path:
    if platform.machine().lower() not in ("x86_64", "amd64") or not sys.platform.startswith("linux"):
        pytest.skip("the reference is the host CPU: needs an x86-64 Linux host")
    return build_runner(tmp_path_factory.mktemp("x64-native"))


@pytest.fixture(scope="module")
def native_results(native_runner) -> dict:
    seqs = [sequence(seed) for seed in range(SEQUENCES)]
    return {s.seed: (s, want) for s, want in zip(seqs, run_native(native_runner, seqs))}


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_random_integer_sequences_match_the_host_cpu(seed, native_results, native_runner):
    seq, want = native_results[seed]
    check_sequence(native_runner, seq, want)


def check_sequence(runner: Path, seq: Sequence, want: Final):
    """vmkit must leave the state the host left (on a difference: a report with a minimal sequence)."""
    check_native_stop(seq, want)
    try:
        got = run_vmkit(seq)
    except AssertionError as e:
        pytest.fail(report(runner, seq, want, [str(e).split("\n")[0]]), pytrace=False)
    problems = differences(seq, want, got)
    if problems:
        pytest.fail(report(runner, seq, want, problems), pytrace=False)


def test_native_reference_is_exact_and_repeatable(native_runner):
    """The reference half on its own (no vmkit guest needed): a hand-written sequence leaves the state
    computed here, random sequences run to their ud2 and leave the same state twice, and
    ``differences`` catches a wrong register, flag, xmm lane, MXCSR and byte but not a flag left
    undefined."""
    known = Sequence(-1, "", b"", [0] * 16, DF | CF, bytes(BUF_BYTES), 0)
    known.xmm = [0xF123456789ABCDEF0011223344556677 * (i + 1) & (1 << 128) - 1 for i in range(16)]
    known.mxcsr = 0xFFFF  # every valid bit: flags, DAZ, masks, RC = 3, FTZ
    known.text = "\n".join(["add rax, rbx", "adc rcx, 0", "mov qword ptr [r15 + 8], rcx", "pushfq", "lahf",
                            "imul rdx, rax, 3", "bsf rsi, rdx", "stc", "ud2"])
    known.code, flow = assemble(known.text.split("\n"))
    known.defined = flow.defined
    known.regs[0], known.regs[3], known.regs[1] = 0xFFFFFFFFFFFFFFFF, 2, 41
    known.regs[RSP], known.regs[R15] = BUF + 0x800, BUF
    [got] = run_native(native_runner, [known])
    check_native_stop(known, got)
    # add: rax = 1 with CF; adc: rcx = 42, every status flag clear (0x2a: odd parity, no nibble carry);
    # pushfq: that, DF, IF and bit 1; lahf: ah = 0x02 (bit 1 only); imul: rdx = 0x201 * 3 (SF ZF AF PF
    # undefined); bsf: rsi = 0, ZF clear, the others undefined; stc.
    assert (got.regs[0], got.regs[1], got.regs[2], got.regs[6]) == (0x0201, 42, 0x603, 0)
    assert not flow.readers and flow.defined == CF | ZF | DF and got.rflags & (CF | ZF | DF) == CF | DF
    assert got.buf[8:16] == (42).to_bytes(8, "little")
    assert got.regs[RSP] == BUF + 0x7F8 and got.buf[0x7F8:0x800] == (0x202 | DF).to_bytes(8, "little")
    assert got.xmm == known.xmm and got.mxcsr == 0xFFFF  # loaded, untouched, read back

    seqs = [sequence(seed) for seed in range(4)]
    first, second = run_native(native_runner, seqs), run_native(native_runner, seqs)
    for seq, a, b in zip(seqs, first, second):
        check_native_stop(seq, a)
        assert not differences(seq, a, b) and a.rip == b.rip, f"seed {seq.seed} is not repeatable"
    seq, want = seqs[0], first[0]
    regs = list(want.regs)
    regs[3] ^= 1 << 40
    assert differences(seq, want, replace(want, regs=regs)) == [f"rbx: vmkit {regs[3]:#x}, host {want.regs[3]:#x}"]
    for flag in (CF, PF, AF, ZF, SF, DF, OF):
        problems = differences(seq, want, replace(want, rflags=want.rflags ^ flag))
        assert bool(problems) == bool(seq.defined & flag), f"flag {flag:#x}"
    xmm = list(want.xmm)
    xmm[9] ^= 1 << 70
    assert differences(seq, want, replace(want, xmm=xmm)) == [
        f"xmm9 (dwords 3..0): vmkit {lanes(xmm[9])}, host {lanes(want.xmm[9])} (dwords [2] differ)"]
    assert differences(seq, want, replace(want, mxcsr=want.mxcsr ^ 0x20))[0].startswith("mxcsr: vmkit")
    buf = bytearray(want.buf)
    buf[100] ^= 0x10
    assert differences(seq, want, replace(want, buf=bytes(buf)))[0].startswith(
        "scratch buffer differs at 1 bytes from offset 0x64")


def test_generator_covers_every_kind():
    """Every instruction kind shows up, every sequence assembles, and no instruction reads an undefined
    flag."""
    text = "\n".join(sequence(seed).text for seed in range(40))
    for needle in ["adc ", "sbb ", "lock ", "ah", "rcl ", "shld ", "shrd ", ", cl", "idiv ", "div ", "imul ",
                   "bts ", "bsr ", "cmov", "set", ".Lskip", "movsx ", "movzx ", "movsxd ", "cqo", "xadd ",
                   "cmpxchg ", "bswap ", "lea ", "[rip", "push ", "pop ", "pushfq", "popfq", "lahf", "sahf",
                   "cmc", "std", "rep ", "repe ", "repne ", "movs", "stos", "lods", "scas", "cmps", "movabs "]:
        assert needle in text, needle


def show_native(seqs: list):
    """Prints sequences and the state the host CPU leaves (the modules' command line)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        runner = build_runner(Path(tmp))
        for seq, final in zip(seqs, run_native(runner, seqs)):
            print(f"---- seed {seq.seed}: {len(seq.code)} bytes, flags compared {COMPARED & seq.defined:#x}")
            print(seq.text)
            print(f"stopped by signal {final.signal} at {final.rip:#x} (ud2 at {seq.end:#x})")
            for name, before, after in zip(GPRS, seq.regs, final.regs):
                print(f"  {name:4} {before:#018x} -> {after:#018x}")
            print(f"  rflags {seq.flags | 0x202:#x} -> {final.rflags:#x}")
            print(f"  mxcsr {seq.mxcsr:#x} -> {final.mxcsr:#x}")
            for i, (before, after) in enumerate(zip(seq.xmm, final.xmm)):
                print(f"  xmm{i:<2} {lanes(before)} -> {lanes(after) if after != before else 'unchanged'}")
            changed = sum(a != b for a, b in zip(seq.buf, final.buf))
            print(f"  buffer: {changed} bytes changed")


if __name__ == "__main__":
    show_native([sequence(int(a)) for a in sys.argv[1:] or ["0"]])
