"""Random SSE/SSE2/SSE3 sequences, run natively on the host CPU and under vmkit's bare machine, as in
test_random_x64.py (whose runner, state, comparison and reports this module shares): all sixteen
GPRs, the defined RFLAGS bits, xmm0-15, MXCSR and the scratch buffer must come out identical.

A sequence mixes random SIMD instructions (about three in four) with the integer generator's. The
SIMD forms (FORMS) are every mnemonic of vmkit's lift_sse.cpp (but the MMX forms) and
lift_sse_fp.cpp: moves, movd/movq between GPRs and xmm, the integer, logic, shift, shuffle, pack and
unpack instructions, the floating-point arithmetic, compares (every predicate), comis/ucomis (whose
ZF PF CF, OF SF AF are compared), conversions in every direction (with 32- and 64-bit integers),
the SSE3 instructions and ldmxcsr/stmxcsr (of valid values: every exception stays masked). Register
and memory forms: 16-byte aligned m128 where the instruction needs it, any alignment for movdqu,
movups, movupd, lddqu and the m64/m32/m16 operands. The initial xmm registers, some GPRs and half of
the buffer's 16-byte blocks hold floating-point lanes: edge values (signed zeros and infinities,
QNaN, SNaN, denormals, the largest and smallest normals, the limits of the integer conversions) and
moderate values; MXCSR starts with a random rounding mode, sometimes FTZ/DAZ and sticky flags.

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

import test_random_x64 as rx
from test_random_x64 import native_runner  # noqa: F401 (the fixture)

SEQUENCES = rx.SEQUENCES  # VMKIT_RANDOM_SEQUENCES
UNITS_PER_SEQUENCE = 60
SIMD_SHARE = 0.75  # of the units; the rest come from the integer generator

XMM = [f"xmm{i}" for i in range(16)]
MPTR = {128: "xmmword", 64: "qword", 32: "dword", 16: "word"}

# (mnemonics, shape). Shapes: x xmm register; r32/r64 a GPR; m128a aligned m128; m128 any m128;
# m64/m32 memory; "x/m128a" a register or that memory; i8 any imm8, p3 a compare predicate 0..7;
# "count" a shift count in an xmm register or m128 (prepared small most of the time).
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
]

# Forms kept out of the generator while a vmkit bug is open (each names its bug), and forms vmkit
# does not lift (see test_every_form_is_lifted).
KNOWN_BUGS: dict = {}

# The lifters' mnemonics that FORMS leaves out: MMX only (the random test covers the SSE forms).
NOT_GENERATED = {"movq2dq", "movdq2q", "movntq", "pshufw"}
LIFTERS = [Path(__file__).resolve().parents[2] / "cpp" / "frontend" / "x86_64" / name
           for name in ("lift_sse.cpp", "lift_sse_fp.cpp")]

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
            return self.mem(bits) if rng.randrange(3) == 0 else self.gpr(bits)
        if spec == "r32/m16":
            return self.mem(16) if rng.randrange(3) == 0 else self.gpr(32)
        if spec == "i8":
            return str(rng.choice([0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255,
                                   rng.randrange(256), rng.randrange(256), rng.randrange(16)]))
        if spec == "p3":
            return str(rng.randrange(8))
        raise ValueError(spec)

    # ---- one SIMD instruction (with what prepares it) ---------------------------------------------

    def simd(self, mn: str, shape: str) -> list:
        rng = self.rng
        specs = shape.split(",")
        if shape == "mxcsr":  # a valid value (every exception masked), stored first
            m = self.mem(32)
            return [f"mov {m}, {rx.random_mxcsr(rng)}", f"ldmxcsr {m}"]
        if shape == "r,x" or shape == "r,x,i8":  # (LLVM encodes the r64 forms as r32)
            specs = [rng.choice(["r32", "r64"])] + specs[1:]
        if shape.startswith("r/m"):  # movd/movq to a GPR or memory
            bits = int(specs[0][3:])
            return [f"{mn} {self.gpr(bits, write=True) if rng.randrange(3) else self.mem(bits)}, {self.x()}"]
        if specs[-1] == "count":
            return self.shift_by_count(mn)
        return [f"{mn} {', '.join(self.operand(s) for s in specs)}"]

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
                   "movd e"]:
        assert needle in text, needle


def test_forms_cover_every_lifted_mnemonic():
    """Every mnemonic in the tables of lift_sse.cpp and lift_sse_fp.cpp is generated (but the MMX-only
    ones): a mnemonic added there belongs in FORMS too."""
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
