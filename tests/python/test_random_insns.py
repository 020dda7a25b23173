"""Random RISC-V instruction sequences, run under vmkit and under qemu-riscv64: every register, the
floating-point flags and a scratch buffer must come out identical.

Each test assembles (with Debian's cross assembler, which also picks compressed encodings where it
can) a static program of many sequences. A sequence loads random values and special floating-point
values into the registers, sets a random rounding mode, runs random instructions of RV64GC, Zba,
Zbb and Zbs with random operands - loads, stores and atomics go to a scratch buffer through s11 -
then writes all x and f registers, fcsr and the buffer to stdout. The unit tests pin down each
instruction's edge cases; this finds what nobody thought to pin down.
"""

from __future__ import annotations

import random
import struct
import subprocess

import pytest

from conftest import run_qemu, run_vmkit

SEQUENCES = 24
INSNS_PER_SEQUENCE = 40
BUF_BYTES = 512
# x26 (s10) holds the dump address, x27 (s11) the scratch buffer; everything else is fair game.
XREGS = [i for i in range(1, 32) if i not in (26, 27)]

R_INT = ("add sub sll slt sltu xor srl sra or and addw subw sllw srlw sraw "
         "mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw "
         "andn orn xnor max maxu min minu rol ror rolw rorw "
         "sh1add sh2add sh3add add.uw sh1add.uw sh2add.uw sh3add.uw bclr bext binv bset").split()
I_INT = "addi slti sltiu xori ori andi addiw".split()
SHIFT64 = "slli srli srai rori slli.uw bclri bexti binvi bseti".split()
SHIFT32 = "slliw srliw sraiw roriw".split()
# ctzw is left out: qemu 7.2 counts past bit 31 when the low word is zero (ctzw of 1 << 40 gives
# 40, not 32; fixed in later qemu). Its unit tests check it against the specification instead.
UNARY = "clz ctz cpop clzw cpopw sext.b sext.h zext.h orc.b rev8".split()
LOADS = {"lb": 1, "lh": 2, "lw": 4, "ld": 8, "lbu": 1, "lhu": 2, "lwu": 4}
STORES = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}
AMOS = [f"amo{op}.{w}" for op in "swap add xor and or min max minu maxu".split() for w in "wd"]
RM = ["rne", "rtz", "rdn", "rup", "rmm", "dyn"]
FP3 = "fadd fsub fmul fdiv".split()
FP2 = "fmin fmax fsgnj fsgnjn fsgnjx".split()
FMA = "fmadd fmsub fnmadd fnmsub".split()
FCMP = "feq flt fle".split()
# Values that find the corners of IEEE arithmetic and of RISC-V's conversions and NaN-boxing.
SPECIAL_D = [0.0, -0.0, 1.0, -1.5, 0.5, 2.5, -2.5, 1e308, -1e308, 5e-324, 2.2250738585072014e-308,
             float("inf"), float("-inf"), 9.2233720368547758e18, -9.2233720368547758e18,
             4294967295.5, 2147483647.5, -2147483648.5, 1 / 3]
SPECIAL_BITS = [0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8000000000001]  # qNaN, sNaN, -NaN


def f32_boxed(x: float) -> int:
    return 0xFFFFFFFF00000000 | struct.unpack("<I", struct.pack("<f", x))[0]


def random_fp_bits(rng: random.Random) -> int:
    kind = rng.randrange(6)
    if kind == 0:
        return struct.unpack("<Q", struct.pack("<d", rng.choice(SPECIAL_D)))[0]
    if kind == 1:
        return rng.choice(SPECIAL_BITS)
    if kind == 2:  # a NaN-boxed single, sometimes a special one
        return f32_boxed(rng.choice([rng.uniform(-1e6, 1e6), 0.1, -0.0, 3.4e38, 1e-45, float("inf")]))
    if kind == 3:
        return 0xFFFFFFFF7FC00000 | rng.getrandbits(1) << 22 | rng.getrandbits(22)  # boxed NaNs
    if kind == 4:
        return rng.getrandbits(64)  # often improperly boxed for single-precision ops
    return struct.unpack("<Q", struct.pack("<d", rng.uniform(-1e9, 1e9)))[0]


def random_int(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 0xFFFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF,
                       0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 63, 64, 31, 32,
                       rng.getrandbits(64), rng.getrandbits(32), rng.getrandbits(12)])


def random_insn(rng: random.Random) -> str:
    x = lambda: f"x{rng.choice(XREGS)}"  # noqa: E731
    f = lambda: f"f{rng.randrange(32)}"  # noqa: E731
    kind = rng.randrange(100)
    if kind < 25:
        return f"{rng.choice(R_INT)} {x()}, {x()}, {x()}"
    if kind < 35:
        return f"{rng.choice(I_INT)} {x()}, {x()}, {rng.randint(-2048, 2047)}"
    if kind < 41:
        op = rng.choice(SHIFT64 + SHIFT32)
        return f"{op} {x()}, {x()}, {rng.randrange(32 if op in SHIFT32 else 64)}"
    if kind < 45:
        return f"{rng.choice(UNARY)} {x()}, {x()}"
    if kind < 47:
        return f"{rng.choice(['lui', 'auipc'])} {x()}, {rng.randrange(1 << 20)}"
    if kind < 52:
        op, size = rng.choice(list(LOADS.items()))
        return f"{op} {x()}, {rng.randrange(0, BUF_BYTES - 8, size)}(s11)"
    if kind < 57:
        op, size = rng.choice(list(STORES.items()))
        return f"{op} {x()}, {rng.randrange(0, BUF_BYTES - 8, size)}(s11)"
    if kind < 60:
        return f"{rng.choice(AMOS)} {x()}, {x()}, (s11)"
    if kind < 62:
        w = rng.choice("wd")
        return f"lr.{w} {x()}, (s11)" if rng.randrange(2) else f"sc.{w} {x()}, {x()}, (s11)"
    if kind < 64:
        op = rng.choice(["flw", "fsw"] if rng.randrange(2) else ["fld", "fsd"])
        return f"{op} {f()}, {rng.randrange(0, BUF_BYTES - 8, 8)}(s11)"
    p = rng.choice("sd")
    rm = rng.choice(RM)
    if kind < 74:
        return f"{rng.choice(FP3)}.{p} {f()}, {f()}, {f()}, {rm}"
    if kind < 78:
        return f"{rng.choice(FP2)}.{p} {f()}, {f()}, {f()}"
    if kind < 82:
        return f"{rng.choice(FMA)}.{p} {f()}, {f()}, {f()}, {f()}, {rm}"
    if kind < 84:
        return f"fsqrt.{p} {f()}, {f()}, {rm}"
    if kind < 88:
        i = rng.choice(["w", "wu", "l", "lu"])
        if rng.randrange(2):
            return f"fcvt.{i}.{p} {x()}, {f()}, {rm}"
        exact = p == "d" and i in ("w", "wu")  # every 32-bit integer is a double: no rounding mode
        return f"fcvt.{p}.{i} {f()}, {x()}" + ("" if exact else f", {rm}")
    if kind < 89:
        return f"fcvt.s.d {f()}, {f()}, {rm}" if p == "s" else f"fcvt.d.s {f()}, {f()}"
    if kind < 92:
        return f"{rng.choice(FCMP)}.{p} {x()}, {f()}, {f()}"
    if kind < 94:
        return f"fclass.{p} {x()}, {f()}"
    if kind < 97:
        w = "w" if p == "s" else "d"
        return f"fmv.x.{w} {x()}, {f()}" if rng.randrange(2) else f"fmv.{w}.x {f()}, {x()}"
    # fflags/frm reads and writes (frm only with valid modes, so dyn stays legal)
    return rng.choice([f"frflags {x()}", f"csrr {x()}, frm", f"fsrmi {rng.randrange(5)}",
                       f"csrrci {x()}, fflags, {rng.randrange(32)}", f"csrr {x()}, fcsr"])


def make_program(seed: int) -> tuple:
    """Returns (assembly source, the random instructions of each sequence)."""
    rng = random.Random(seed)
    data, text, sequences = [], [], []
    data.append(".balign 8\nbuf_init:")
    data += [f"  .dword {rng.getrandbits(64):#x}" for _ in range(BUF_BYTES // 8)]
    data.append(".balign 8\nbuf: .space " + str(BUF_BYTES))
    data.append(".balign 8\ndump: .space " + str(8 * 32 + 8 * 32 + 8))
    for s in range(SEQUENCES):
        data.append(f".balign 8\ninit{s}:")
        data += [f"  .dword {random_int(rng):#x}" for _ in range(32)]
        data += [f"  .dword {random_fp_bits(rng):#x}" for _ in range(32)]
        text.append(f"  # sequence {s}")
        text.append("  la s11, buf\n  la t0, buf_init")
        # Reset the scratch buffer so each sequence starts from the same memory.
        text.append(f"  li t1, {BUF_BYTES // 8}\n1: ld t2, 0(t0)\n  sd t2, 0(s11)\n  addi t0, t0, 8\n"
                    "  addi s11, s11, 8\n  addi t1, t1, -1\n  bnez t1, 1b\n  la s11, buf")
        text.append(f"  la s10, init{s}")
        text += [f"  fld f{i}, {256 + 8 * i}(s10)" for i in range(32)]
        text += [f"  ld x{i}, {8 * i}(s10)" for i in XREGS]
        text.append(f"  fsrmi {rng.randrange(5)}\n  fsflags zero")
        sequences.append([random_insn(rng) for _ in range(INSNS_PER_SEQUENCE)])
        text += ["  " + insn for insn in sequences[-1]]
        text.append("  la s10, dump")
        text += [f"  sd x{i}, {8 * i}(s10)" for i in range(32)]
        text += [f"  fsd f{i}, {256 + 8 * i}(s10)" for i in range(32)]
        text.append("  csrr t0, fcsr\n  sd t0, 512(s10)")
        text.append("  li a7, 64\n  li a0, 1\n  mv a1, s10\n  li a2, 520\n  ecall")
        text.append(f"  li a7, 64\n  li a0, 1\n  la a1, buf\n  li a2, {BUF_BYTES}\n  ecall")
    source = ("  .option norelax\n  .data\n" + "\n".join(data) + "\n  .text\n  .globl _start\n_start:\n"
              + "\n".join(text) + "\n  li a7, 93\n  li a0, 0\n  ecall\n")
    return source, sequences


def describe_difference(expected: bytes, got: bytes, sequences: list) -> str:
    record = 520 + BUF_BYTES
    for s in range(SEQUENCES):
        a, b = expected[s * record:(s + 1) * record], got[s * record:(s + 1) * record]
        if a == b:
            continue
        lines = [f"sequence {s} differs:"]
        for i in range(65):
            va = int.from_bytes(a[8 * i:8 * i + 8], "little") if len(a) >= 8 * i + 8 else None
            vb = int.from_bytes(b[8 * i:8 * i + 8], "little") if len(b) >= 8 * i + 8 else None
            if va != vb:
                name = f"x{i}" if i < 32 else f"f{i - 32}" if i < 64 else "fcsr"
                lines.append(f"  {name}: qemu {va:#x} vmkit {vb:#x}" if va is not None and vb is not None
                             else f"  {name}: output missing")
        if a[520:] != b[520:]:
            lines.append("  scratch memory differs")
        return "\n".join(lines + ["instructions:"] + ["  " + i for i in sequences[s]])
    return "outputs differ in length only"


@pytest.mark.parametrize("engine", ["interp", "jit"])
@pytest.mark.parametrize("seed", range(32))
def test_random_sequences_match_qemu(seed, engine, cross_cc, qemu, vmkit_module, tmp_path):
    program, sequences = make_program(1000 + seed)
    src = tmp_path / f"random{seed}.S"
    src.write_text(program)
    exe = tmp_path / f"random{seed}"
    r = subprocess.run([cross_cc, "-march=rv64gc_zba_zbb_zbs", "-nostdlib", "-static", "-o", str(exe), str(src)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"assembling failed:\n{r.stderr[-3000:]}"
    ref = run_qemu(exe)
    got = run_vmkit(exe, engine=engine)
    assert ref.returncode == 0, ref.stderr
    assert len(ref.stdout) == SEQUENCES * (520 + BUF_BYTES)
    assert got.returncode == ref.returncode, got.stderr
    if got.stdout != ref.stdout:
        pytest.fail(describe_difference(ref.stdout, got.stdout, sequences))
