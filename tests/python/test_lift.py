"""vmkit.lift: real RISC-V encodings lift to IR that names the right operations and registers, and
the IR verifier accepts every block (raw and optimised).

Each lift runs in a child Python process, so that a crash inside the C++ core fails one test instead
of killing the whole pytest run."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from types import SimpleNamespace

import pytest

_LIFT_CHILD = r"""
import json, sys
import vmkit
req = json.loads(sys.stdin.read())
try:
    b = vmkit.lift(req["arch"], bytes.fromhex(req["code"]) if req["code"] is not None else req["text"], req["addr"], req["optimize"])
    out = {"text": b.text, "guest_insns": b.guest_insns, "ops": b.ops, "end": b.end, "verify": b.verify}
except vmkit.VmkitError as e:
    out = {"exception": type(e).__name__, "message": str(e)}
sys.stdout.write(json.dumps(out))
"""


class LiftInChild:
    """Calls vmkit.lift(arch, code, addr, optimize) in a child process; raises the same vmkit
    exception type the child raised."""

    def __init__(self, vmkit):
        self.vmkit = vmkit

    def lift(self, arch, code, addr=0x10000, optimize=False):
        req = {"arch": arch, "addr": addr, "optimize": optimize,
               "code": bytes(code).hex() if isinstance(code, (bytes, bytearray)) else None,
               "text": code if isinstance(code, str) else None}
        r = subprocess.run([sys.executable, "-c", _LIFT_CHILD], input=json.dumps(req).encode(),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (
            f"vmkit.lift({arch!r}, {req['code'] or req['text']!r}, {addr:#x}, {optimize}) crashed the host "
            f"process (status {r.returncode}): {r.stderr.decode(errors='replace')[-1500:]}")
        out = json.loads(r.stdout)
        if "exception" in out:
            raise getattr(self.vmkit, out["exception"])(out["message"])
        return SimpleNamespace(**out)


@pytest.fixture
def vmkit_module(vmkit_module):
    """Shadows the conftest fixture: the same names, but lift runs out of process."""
    return SimpleNamespace(lift=LiftInChild(vmkit_module).lift, UsageError=vmkit_module.UsageError)

ADDR = 0x10000
REG = {"zero": 0, "ra": 1, "sp": 2, "a0": 10, "a1": 11, "a2": 12}


def i_type(opcode, funct3, rd, rs1, imm):
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def b_type(funct3, rs1, rs2, offset):
    imm = offset & 0x1FFF
    return (
        ((imm >> 12) & 1) << 31 | ((imm >> 5) & 0x3F) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12
        | ((imm >> 1) & 0xF) << 8 | ((imm >> 11) & 1) << 7 | 0x63
    )


def words(*insns):
    return b"".join(struct.pack("<I", w) for w in insns)


ADDI_A0_A1_42 = i_type(0x13, 0, REG["a0"], REG["a1"], 42)
LD_A2_16_SP = i_type(0x03, 3, REG["a2"], REG["sp"], 16)
BEQ_A0_A1_PLUS8 = b_type(0, REG["a0"], REG["a1"], 8)
C_LI_A0_5 = 0x4515  # c.li a0, 5
ECALL = 0x00000073


def lines_of(block):
    return block.text.splitlines()


@pytest.mark.parametrize("optimize", [False, True], ids=["raw", "optimized"])
def test_addi(vmkit_module, optimize):
    b = vmkit_module.lift("riscv64", words(ADDI_A0_A1_42, ECALL), ADDR, optimize)
    assert b.verify == "", b.text
    assert b.guest_insns == 2
    assert b.end == ADDR + 8
    assert re.search(r"get a1\b", b.text), b.text
    assert re.search(r"put\.i64 a0, t\d+", b.text), b.text
    assert re.search(r"= add t\d+, 0x2a|= add 0x2a, t\d+", b.text), b.text
    assert "exit syscall" in b.text
    assert f"0x{ADDR:x}:  [{ADDI_A0_A1_42:08x}]" in b.text


def test_load(vmkit_module):
    b = vmkit_module.lift("riscv64", words(LD_A2_16_SP, ECALL), ADDR)
    assert b.verify == "", b.text
    assert re.search(r"get sp\b", b.text), b.text
    assert re.search(r"t\d+:i64 = load t\d+", b.text), b.text
    assert "put.i64 a2" in b.text
    assert " 0x10" in b.text or ", 16" in b.text  # the displacement


def test_conditional_branch_ends_block(vmkit_module):
    b = vmkit_module.lift("riscv64", words(BEQ_A0_A1_PLUS8, ECALL, ECALL), ADDR)
    assert b.verify == "", b.text
    assert b.guest_insns == 1
    assert b.end == ADDR + 4
    assert "get a0" in b.text and "get a1" in b.text
    term = lines_of(b)[-1]
    assert term.strip().startswith("br "), b.text
    # both successors appear: taken (addr+8) and fall-through (addr+4)
    assert f"0x{ADDR + 8:x}" in term and f"0x{ADDR + 4:x}" in term, term


def test_compressed_instruction(vmkit_module):
    code = struct.pack("<H", C_LI_A0_5) + words(ECALL)
    b = vmkit_module.lift("riscv64", code, ADDR)
    assert b.verify == "", b.text
    assert b.guest_insns == 2
    assert b.end == ADDR + 6
    assert f"0x{ADDR:x}:  [{C_LI_A0_5:04x}]" in b.text, b.text
    assert re.search(r"put\.i64 a0, t\d+", b.text), b.text
    assert f"0x{ADDR + 2:x}:  [{ECALL:08x}]" in b.text
    # c.li is addi a0, zero, 5: after optimisation a0 gets the constant 5 directly.
    opt = vmkit_module.lift("riscv64", code, ADDR, optimize=True)
    assert opt.verify == "", opt.text
    assert re.search(r"put\.i64 a0, 5\b", opt.text), opt.text


def test_illegal_word(vmkit_module):
    b = vmkit_module.lift("riscv64", words(0x00000000), ADDR)
    assert b.verify == "", b.text
    assert "exit illegal" in lines_of(b)[-1], b.text


def test_optimizer_folds_constants(vmkit_module):
    # li a0, 5 ; addi a0, a0, 42 ; ecall  ->  a0 = 47 after constant folding
    code = struct.pack("<H", C_LI_A0_5) + words(i_type(0x13, 0, REG["a0"], REG["a0"], 42), ECALL)
    raw = vmkit_module.lift("riscv64", code, ADDR, optimize=False)
    opt = vmkit_module.lift("riscv64", code, ADDR, optimize=True)
    assert raw.verify == opt.verify == ""
    assert opt.ops <= raw.ops
    assert re.search(r"put\.i64 a0, 0x2f\b", opt.text), opt.text


def test_lift_rejects_bad_arguments(vmkit_module):
    with pytest.raises(vmkit_module.UsageError, match="architecture"):
        vmkit_module.lift("m68k", words(ECALL))
    with pytest.raises(vmkit_module.UsageError, match="bytes"):
        vmkit_module.lift("riscv64", "13050500")
    with pytest.raises(vmkit_module.UsageError, match="empty"):
        vmkit_module.lift("riscv64", b"")
