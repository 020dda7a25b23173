"""Random SSE/SSE2/SSE3/SSSE3/SSE4.1/SSE4.2 sequences, run natively on the host CPU and under
vmkit's bare machine, as in test_random_x64.py (whose runner, state, comparison and reports this
module shares): all sixteen GPRs, the defined RFLAGS bits, xmm0-15, MXCSR and the scratch buffer
must come out identical.

A sequence mixes random SIMD instructions (about three in four) with the integer generator's. The
SIMD forms (FORMS) are every mnemonic of vmkit's lift_sse.cpp (but the MMX forms) and
lift_sse_fp.cpp: moves, movd/movq between GPRs and xmm, the integer, logic, shift, shuffle, pack and
unpack instructions, the floating-point arithmetic, compares (every predicate), comis/ucomis (whose
ZF PF CF, OF SF AF are compared), conversions in every direction (with 32- and 64-bit integers),
the SSE3 instructions and ldmxcsr/stmxcsr (of valid values: every exception stays masked), and every
mnemonic of lift_sse4.cpp (SSSE3, SSE4.1, SSE4.2; their xmm forms): pmovzx/pmovsx, pinsr*/pextr*,
insertps/extractps, ptest (ZF CF; the others cleared), the blends (blendv* with the implicit xmm0),
round* with every imm8, dpps/dppd, mpsadbw, phminposuw, movntdqa, the string compares
pcmp[ei]str[im] with imm8 over all 256 values, prepared operands (terminating zeros, equal strings)
and lengths (small, edge, negative, saturating; the REX.W forms of pcmpestr*, which read rax/rdx in
full, as .byte lines), their CF ZF SF OF (AF PF cleared), and crc32 r32/r64, r/m8..r/m64. Register
and memory forms: 16-byte aligned m128 where the instruction needs it, any alignment for movdqu,
movups, movupd, lddqu, the string compares and the m64/m32/m16/m8 operands. The initial xmm
registers, some GPRs and half of the buffer's 16-byte blocks hold floating-point lanes: edge values
(signed zeros and infinities, QNaN, SNaN, denormals, the largest and smallest normals, the limits of
the integer conversions) and moderate values; MXCSR starts with a random rounding mode, sometimes
FTZ/DAZ and sticky flags.

rcp/rsqrt are approximations that differ between CPU vendors: vmkit runs the host's own instruction
(helpers_sse_fp.cpp), so they match the host bit for bit here.

``python3 tests/python/test_random_x64_simd.py [SEED ...]`` prints sequences and the state the host
CPU leaves.
"""

from __future__ import annotations

import functools
import random
import re
import sys
from pathlib import Path

import pytest

import vmkit

import test_random_x64 as rx
from test_random_x64 import native_runner  # noqa: F401 (the fixture)

SEQUENCES = rx.SEQUENCES  # VMKIT_RANDOM_SEQUENCES
UNITS_PER_SEQUENCE = 90
SIMD_SHARE = 0.75  # of the units; the rest come from the integer generator

XMM = [f"xmm{i}" for i in range(16)]
MPTR = {128: "xmmword", 64: "qword", 32: "dword", 16: "word", 8: "byte"}

# (mnemonics, shape). Shapes: x xmm register; r32/r64 a GPR; m128a aligned m128; m128 any m128;
# m64/m32/m16/m8 memory; "x/m128a" a register or that memory; "r/m32" a GPR or memory of that
# width, "r32/m8" a 32-bit GPR or a byte, "R/m8" (a destination) a 32- or 64-bit GPR or a byte;
# i8 any imm8, p3 a compare predicate 0..7, "round" a round* imm8 (bits 0..3 every value, now and
# then all eight bits); "xmm0" the implicit xmm0 of blendv*; "count" a shift count in an xmm
# register or m128 (prepared small most of the time); "strcmp" (".w": the REX.W form) a string
# compare with its operands and lengths prepared (see string_compare).
FORMS = [
    # lift_sse.cpp: integer and logic, xmm, xmm/m128
    ("pxor por pand pandn paddb paddw paddd paddq psubb psubw psubd psubq pcmpeqb pcmpeqw pcmpeqd pcmpgtb "
     "pcmpgtw pcmpgtd pminub pmaxub pminsw pmaxsw paddusb paddusw psubusb psubusw pavgb pavgw pmuludq paddsb "
     "paddsw psubsb psubsw pmullw pmulhw pmulhuw pmaddwd psadbw packsswb packssdw packuswb punpcklbw punpcklwd "
     "punpckldq punpcklqdq punpckhbw punpckhwd punpckhdq punpckhqdq xorps xorpd orps orpd andps andpd andnps "
     "andnpd unpcklps unpckhps unpcklpd unpckhpd", "x,x/m128a"),
    ("psrlw psrld psrlq psllw pslld psllq psraw psrad", "x,i8"),
    ("psrlw psrld psrlq psllw pslld psllq psraw psrad", "x,count"),
    ("psrldq pslldq", "x,i8"),
    ("pshufd pshuflw pshufhw shufps shufpd", "x,x/m128a,i8"),
    ("pmovmskb movmskps movmskpd", "r,x"),
    ("pextrw", "r,x,i8"),
    ("pinsrw", "x,r32/m16,i8"),
    # moves
    ("movdqa movaps movapd", "x,x/m128a"),
    ("movdqa movaps movapd movntdq movntps movntpd", "m128a,x"),
    ("movdqu movups movupd", "x,x/m128"),
    ("movdqu movups movupd", "m128,x"),
    ("movd", "x,r/m32"),
    ("movd", "r/m32,x"),
    ("movq", "x,r/m64"),
    ("movq", "r/m64,x"),
    ("movq", "x,x/m64"),
    ("movss", "x,x/m32"),
    ("movss", "m32,x"),
    ("movsd", "x,x/m64"),
    ("movsd", "m64,x"),
    ("movlps movlpd movhps movhpd", "x,m64"),
    ("movlps movlpd movhps movhpd", "m64,x"),
    ("movhlps movlhps", "x,x"),
    ("movnti", "m32,r32"),
    ("movnti", "m64,r64"),
    # lift_sse_fp.cpp: arithmetic
    ("addps subps mulps divps minps maxps sqrtps addpd subpd mulpd divpd minpd maxpd sqrtpd rcpps rsqrtps",
     "x,x/m128a"),
    ("addss subss mulss divss minss maxss sqrtss rcpss rsqrtss", "x,x/m32"),
    ("addsd subsd mulsd divsd minsd maxsd sqrtsd", "x,x/m64"),
    # compares
    ("cmpps cmppd", "x,x/m128a,p3"),
    ("cmpss", "x,x/m32,p3"),
    ("cmpsd", "x,x/m64,p3"),
    ("comiss ucomiss", "x,x/m32"),
    ("comisd ucomisd", "x,x/m64"),
    # conversions
    ("cvtsi2ss cvtsi2sd", "x,r/m32"),
    ("cvtsi2ss cvtsi2sd", "x,r/m64"),
    ("cvtss2si cvttss2si", "r32,x/m32"),
    ("cvtss2si cvttss2si", "r64,x/m32"),
    ("cvtsd2si cvttsd2si", "r32,x/m64"),
    ("cvtsd2si cvttsd2si", "r64,x/m64"),
    ("cvtps2pd cvtdq2pd cvtsd2ss", "x,x/m64"),
    ("cvtss2sd", "x,x/m32"),
    ("cvtpd2ps cvtdq2ps cvtps2dq cvttps2dq cvttpd2dq cvtpd2dq", "x,x/m128a"),
    # MXCSR
    ("ldmxcsr", "mxcsr"),
    ("stmxcsr", "m32"),
    # SSE3
    ("addsubps addsubpd haddps haddpd hsubps hsubpd movsldup movshdup", "x,x/m128a"),
    ("movddup", "x,x/m64"),
    ("lddqu", "x,m128"),
    # lift_sse4.cpp: SSSE3 (their MMX forms are not generated: the state compared has no mm registers)
    ("pshufb phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw psignb psignw psignd pabsb pabsw "
     "pabsd", "x,x/m128a"),
    ("palignr", "x,x/m128a,i8"),
    # SSE4.1 integer
    ("pminsb pminsd pminuw pminud pmaxsb pmaxsd pmaxuw pmaxud pmulld pmuldq pcmpeqq packusdw phminposuw",
     "x,x/m128a"),
    ("pmovzxbw pmovsxbw pmovzxwd pmovsxwd pmovzxdq pmovsxdq", "x,x/m64"),  # (memory: any alignment)
    ("pmovzxbd pmovsxbd pmovzxwq pmovsxwq", "x,x/m32"),
    ("pmovzxbq pmovsxbq", "x,x/m16"),
    ("pinsrb", "x,r32/m8,i8"),
    ("pinsrd", "x,r/m32,i8"),
    ("pinsrq", "x,r/m64,i8"),
    ("pextrb", "R/m8,x,i8"),  # R: r32 or r64 (the same encoding)
    ("pextrw", "m16,x,i8"),  # (the register form is lift_sse.cpp's)
    ("pextrd extractps", "r/m32,x,i8"),
    ("pextrq", "r/m64,x,i8"),
    ("insertps", "x,x/m32,i8"),
    ("ptest", "x,x/m128a"),  # ZF CF, the others cleared
    ("pblendw blendps blendpd mpsadbw dpps dppd", "x,x/m128a,i8"),
    ("pblendvb blendvps blendvpd", "x,x/m128a,xmm0"),
    ("movntdqa", "x,m128a"),
    # SSE4.1 rounding: every imm8 value (bits 0..3 matter; the others are reserved)
    ("roundps roundpd", "x,x/m128a,round"),
    ("roundss", "x,x/m32,round"),
    ("roundsd", "x,x/m64,round"),
    # SSE4.2
    ("pcmpgtq", "x,x/m128a"),
    ("pcmpestri pcmpestrm pcmpistri pcmpistrm", "strcmp"),  # m128 any alignment, imm8 any
    ("pcmpestri pcmpestrm", "strcmp.w"),  # REX.W: the lengths are rax and rdx in full
    ("crc32", "r32,r/m8"),
    ("crc32", "r32,r/m16"),
    ("crc32", "r32,r/m32"),
    ("crc32", "r64,r/m8"),
    ("crc32", "r64,r/m64"),
]

# Forms kept out of the generator while a vmkit bug is open (each names its bug), and forms vmkit
# does not lift (see test_every_form_is_lifted).
KNOWN_BUGS: dict = {}

# The lifters' mnemonics that FORMS leaves out: MMX only (the random test covers the SSE forms).
NOT_GENERATED = {"movq2dq", "movdq2q", "movntq", "pshufw"}
LIFTERS = [Path(__file__).resolve().parents[2] / "cpp" / "frontend" / "x86_64" / name
           for name in ("lift_sse.cpp", "lift_sse_fp.cpp", "lift_sse4.cpp")]

ALL_FORMS = [(mn, shape) for mnemonics, shape in FORMS for mn in mnemonics.split()]
GENERATED_FORMS = [f for f in ALL_FORMS if f not in KNOWN_BUGS]


class SimdGenerator(rx.Generator):
    """The integer generator's instruction kinds plus the SIMD forms."""

    def __init__(self, rng: random.Random, forms: list = GENERATED_FORMS):
        super().__init__(rng)
        self.forms = forms
        self.hot = rng.sample(range(16), 4)  # half of the xmm picks: these, so values flow between them

    def insn(self) -> list:
        if self.rng.random() < SIMD_SHARE:
            return self.simd(*self.rng.choice(self.forms))
        return super().insn()

    # ---- operands -------------------------------------------------------------------------------

    def x(self) -> str:
        return XMM[self.rng.choice(self.hot) if self.rng.randrange(2) else self.rng.randrange(16)]

    def gpr(self, width: int, write: bool = False) -> str:
        return rx.Operands(self, width).reg(write)

    def mem(self, bits: int, aligned: bool = False) -> str:
        """Memory in the buffer: aligned, [r15 + d], absolute or RIP-relative (r15 is the buffer's
        page-aligned address; rsp and r14 are 8-aligned or less); any alignment, every form."""
        rng = self.rng
        form = rng.randrange(4)
        if aligned or form == 0:
            d = rng.randrange(0, rx.BUF_BYTES - 256, 16) if aligned else rng.randrange(rx.BUF_BYTES - 16)
            where = [f"[r15 + {d}]", f"[{rx.BUF + d:#x}]", f"[rip -> {rx.BUF + d:#x}]"][rng.randrange(3)]
        else:
            where = self.address()
        return f"{MPTR[bits]} ptr {where}"

    def operand(self, spec: str) -> str:
        rng = self.rng
        if spec == "x":
            return self.x()
        if spec in ("r32", "r64"):
            return self.gpr(int(spec[1:]), write=True)
        if spec.startswith("x/m"):
            bits, aligned = int(spec[3:].rstrip("a")), spec.endswith("a")
            return self.mem(bits, aligned) if rng.randrange(3) == 0 else self.x()
        if spec.startswith("m"):
            bits, aligned = int(spec[1:].rstrip("a")), spec.endswith("a")
            return self.mem(bits, aligned)
        if spec.startswith("r/m"):
            bits = int(spec[3:])
            if bits == 8:  # (no ah..bh: the instructions that take one may have a REX prefix)
                return self.mem(8) if rng.randrange(3) == 0 else rx.Operands(self, 8, high=False).reg()
            return self.mem(bits) if rng.randrange(3) == 0 else self.gpr(bits)
        if spec.startswith("r32/m"):
            return self.mem(int(spec[5:])) if rng.randrange(3) == 0 else self.gpr(32)
        if spec == "i8":
            return str(rng.choice([0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255,
                                   rng.randrange(256), rng.randrange(256), rng.randrange(16)]))
        if spec == "round":
            return str(rng.randrange(256) if rng.randrange(4) == 0 else rng.randrange(16))
        if spec == "p3":
            return str(rng.randrange(8))
        if spec == "xmm0":
            return "xmm0"
        raise ValueError(spec)

    def destination(self, spec: str) -> str:
        """A written first operand: "r/m32" and "r/m64" a GPR of that width or memory, "R/m8" a 32-
        or 64-bit GPR or a byte, anything else as operand() makes it."""
        rng = self.rng
        if spec.startswith("r/m") or spec.startswith("R/m"):
            bits = int(spec[3:])
            if rng.randrange(3) == 0:
                return self.mem(bits)
            return self.gpr(bits if spec[0] == "r" else rng.choice([32, 64]), write=True)
        return self.operand(spec)

    # ---- one SIMD instruction (with what prepares it) ---------------------------------------------

    def simd(self, mn: str, shape: str) -> list:
        rng = self.rng
        specs = shape.split(",")
        if shape == "mxcsr":  # a valid value (every exception masked), stored first
            m = self.mem(32)
            return [f"mov {m}, {rx.random_mxcsr(rng)}", f"ldmxcsr {m}"]
        if shape == "r,x" or shape == "r,x,i8":  # (LLVM encodes the r64 forms as r32)
            specs = [rng.choice(["r32", "r64"])] + specs[1:]
        if specs[-1] == "count":
            return self.shift_by_count(mn)
        if shape.startswith("strcmp"):
            return self.string_compare(mn, wide=shape.endswith(".w"))
        if mn == "crc32":
            return self.crc32(*specs)
        if mn == "ptest" and rng.randrange(4) == 0:  # the same register twice: CF set, ZF if zero
            x = self.x()
            return [f"ptest {x}, {x}"]
        return [f"{mn} {', '.join([self.destination(specs[0])] + [self.operand(s) for s in specs[1:]])}"]

    def crc32(self, dst: str, src: str) -> list:
        """crc32 r32/r64, r/m8..r/m64; a byte source may be ah..bh (then with eax..edi)."""
        rng = self.rng
        if src == "r/m8" and dst == "r32" and rng.randrange(4) == 0:
            return [f"crc32 {rng.choice(['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'])}, "
                    f"{rng.choice(rx.HIGH8)}"]
        return [f"crc32 {self.operand(dst)}, {self.operand(src)}"]

    # pcmp[ei]str[im]: lengths in eax/edx (rax/rdx with REX.W): small and edge ones, those past the
    # element count (saturated), negative ones (their absolute value), and for the 32-bit forms
    # values whose upper half is not zero (ignored).
    LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 32, -1, -2, -7, -8, -9, -15, -16, -17, 0x7FFFFFFF, -0x80000000,
               0xFFFFFFFF, 0x100000000, 0x100000003, 0xFFFFFFFF00000004, 0xFFFFFFF000000010, 0x8000000000000000,
               0x7FFFFFFFFFFFFFFF, 0x8000000000000008, 0x80000000]

    def string_compare(self, mn: str, wide: bool) -> list:
        """A string compare xmm1, xmm2/m128 (any alignment), imm8 (all 256 values) with its operands
        prepared now and then: an element zeroed (an implicit length), the second a copy of the
        first (matches), perhaps with one byte changed; explicit lengths set most of the time. The
        REX.W form (which LLVM cannot spell) goes in as .byte with the instruction in a comment."""
        rng = self.rng
        lines = []
        a = self.x()
        at = None
        if rng.randrange(3) == 0:  # memory, [r15 + d] or absolute (not RIP-relative: see rex_w)
            at = rng.choice([rng.randrange(0, rx.BUF_BYTES - 256, 16), rng.randrange(rx.BUF_BYTES - 16)])
            where = f"[r15 + {at}]" if rng.randrange(2) else f"[{rx.BUF + at:#x}]"
            b = f"xmmword ptr {where}"
        else:
            b = self.x()
        scratch = rng.randrange(rx.BUF_BYTES - 256, rx.BUF_BYTES - 16)  # (a byte or word for pinsr*)
        if rng.randrange(4) == 0:  # b a copy of a, perhaps with one element changed
            lines.append(f"movdqu {b}, {a}" if at is not None else f"movdqa {b}, {a}")
            if rng.randrange(2):
                if at is not None:
                    lines.append(f"mov byte ptr [r15 + {at + rng.randrange(16)}], {rng.randrange(256)}")
                else:
                    lines.append(f"pinsrb {b}, byte ptr [r15 + {scratch}], {rng.randrange(16)}")
        for operand in ([a, b] if mn[4] == "i" else [a, b] * (rng.randrange(4) == 0)):
            if rng.randrange(3):
                continue
            if "ptr" not in operand:  # a zero byte or word: the string ends there
                bits = rng.choice([8, 16])
                lines += [f"mov {MPTR[bits]} ptr [r15 + {scratch}], 0",
                          f"pinsr{'b' if bits == 8 else 'w'} {operand}, {MPTR[bits]} ptr [r15 + {scratch}], "
                          f"{rng.randrange(128 // bits)}"]
            else:
                bits = rng.choice([8, 16])
                lines.append(f"mov {MPTR[bits]} ptr [r15 + {at + rng.randrange(0, 16, bits // 8)}], 0")
        if mn[4] == "e":
            for reg in ("ax", "dx"):
                if rng.randrange(4) == 0:
                    continue  # whatever it holds
                v = rng.choice(self.LENGTHS) & (1 << 64) - 1
                lines.append(f"mov e{reg}, {v}" if v < 1 << 32 and rng.randrange(2) else f"movabs r{reg}, {v}")
        insn = f"{mn} {a}, {b}, {rng.randrange(256)}"
        return lines + [rex_w(insn) if wide else insn]

    def shift_by_count(self, mn: str) -> list:
        """psrl/psll/psra by an xmm or m128 count: its low 64 bits (anything past the lane width gives 0
        or the sign); mostly a small count put there first."""
        rng = self.rng
        count = rng.choice([0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 0x7FFFFFFF,
                            rng.randrange(70)])
        dst, form = self.x(), rng.randrange(4)
        if form == 0:  # whatever the register holds
            return [f"{mn} {dst}, {self.x()}"]
        if form == 1:
            src = self.x()
            r = self.gpr(32, write=True)
            return [f"mov {r}, {count}", f"movd {src}, {r}", f"{mn} {dst}, {src}"]
        m = self.mem(128, aligned=True)
        return [f"mov qword ptr {m.split(' ptr ')[1]}, {count}", f"{mn} {dst}, {m}"]


@functools.lru_cache(maxsize=None)
def rex_w(insn: str) -> str:
    """``insn`` (66 [REX] 0F ..., no RIP-relative operand) with REX.W set, as a .byte line whose
    comment is the instruction."""
    assert "rip" not in insn
    code = bytearray(vmkit.asm("x86_64", insn, rx.CODE))
    assert code[0] == 0x66 and (code[1] == 0x0F or 0x40 <= code[1] <= 0x4F and code[2] == 0x0F), insn
    if code[1] == 0x0F:
        code.insert(1, 0x48)
    else:
        code[1] |= 0x08
    return f".byte {', '.join(f'{b:#04x}' for b in code)}  # rex.w {insn}"


@functools.lru_cache(maxsize=None)
def simd_sequence(seed: int) -> rx.Sequence:
    rng = random.Random(seed * 7919 + 128)
    g = SimdGenerator(rng)
    lines = []
    for _ in range(UNITS_PER_SEQUENCE):
        lines += g.insn()
    lines.append("ud2")
    return rx.finish_sequence(seed, rng, g, lines, kind="simd")


def form_sequence(k: int) -> rx.Sequence:
    """Form k of ALL_FORMS, a few instances (register and memory operands), on random SIMD state."""
    mn, shape = ALL_FORMS[k]
    rng = random.Random(k * 31 + 5)
    g = SimdGenerator(rng, [(mn, shape)])
    lines = []
    for _ in range(6):
        lines += g.simd(mn, shape)
    lines.append("ud2")
    return rx.finish_sequence(10_000 + k, rng, g, lines, kind="simd")


# ---- the tests ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def simd_native_results(native_runner) -> dict:  # noqa: F811
    seqs = [simd_sequence(seed) for seed in range(SEQUENCES)]
    return {s.seed: (s, want) for s, want in zip(seqs, rx.run_native(native_runner, seqs))}


@pytest.fixture(scope="module")
def form_native_results(native_runner) -> dict:  # noqa: F811
    seqs = [form_sequence(k) for k in range(len(ALL_FORMS))]
    return {k: (s, want) for k, (s, want) in enumerate(zip(seqs, rx.run_native(native_runner, seqs)))}


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_random_simd_sequences_match_the_host_cpu(seed, simd_native_results, native_runner):  # noqa: F811
    seq, want = simd_native_results[seed]
    rx.check_sequence(native_runner, seq, want)


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("k", range(len(ALL_FORMS)), ids=[f"{mn}-{shape}" for mn, shape in ALL_FORMS])
def test_every_form_is_lifted(k, form_native_results, native_runner):  # noqa: F811
    """Each form on its own (the generator's forms and the ones it leaves out for a known bug, which
    are expected to fail until it is fixed): vmkit lifts it and agrees with the host."""
    if ALL_FORMS[k] in KNOWN_BUGS:
        pytest.xfail(KNOWN_BUGS[ALL_FORMS[k]])
    seq, want = form_native_results[k]
    rx.check_sequence(native_runner, seq, want)


def test_simd_generator_covers_every_form():
    """Every generated form shows up in the default seeds, every sequence assembles, and no instruction
    reads an undefined flag."""
    text = "\n".join(simd_sequence(seed).text for seed in range(40))
    missing = {mn for mn, _ in GENERATED_FORMS if f"\n{mn} " not in "\n" + text}
    assert not missing, sorted(missing)
    for needle in ["xmmword ptr [r15 + ", "[rip -> ", ", dword ptr", ", qword ptr", "word ptr", "ldmxcsr", "movq r",
                   "movd e", ", byte ptr", "pextrb byte ptr", "pextrq r", "crc32 r", "crc32 e", ", xmm0\n",
                   "# rex.w pcmpestri", "# rex.w pcmpestrm", "movabs rax", "mov edx", "pinsrb xmm"]:
        assert needle in text, needle


def test_forms_cover_every_lifted_mnemonic():
    """Every mnemonic in the tables of lift_sse.cpp, lift_sse_fp.cpp and lift_sse4.cpp is generated
    (but the MMX-only ones): a mnemonic added there belongs in FORMS too."""
    lifted = set()
    for path in LIFTERS:
        if not path.exists():
            pytest.skip(f"{path} is not in this checkout")
        text = path.read_text()
        lifted |= {m.lower() for m in re.findall(r"\{ZYDIS_MNEMONIC_([A-Z0-9]+),", text)}
        for stem in re.findall(r"\bFP4\((\w+), 0x", text):  # add/sub/...: the ps, pd, ss and sd forms
            lifted |= {stem.lower() + suffix for suffix in ("ps", "pd", "ss", "sd")}
    generated = {mn for mn, _ in ALL_FORMS}
    assert len(lifted) > 150, "the lifter tables were not found where expected"
    assert not lifted - generated - NOT_GENERATED, f"lifted but not generated: {sorted(lifted - generated)}"
    assert not generated - lifted, f"generated but not in the lifter tables: {sorted(generated - lifted)}"


if __name__ == "__main__":
    rx.show_native([simd_sequence(int(a)) for a in sys.argv[1:] or ["0"]])
