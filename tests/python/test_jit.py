"""Tier 1 (the JIT) from Python: engines agree on guest state, hot blocks get compiled under
"auto", per-block statistics, a tiny code cache that must be flushed again and again, hooks and
faults inside compiled code. (Guest programs, busybox and random instruction sequences run under
both engines in their own test files.)"""

from __future__ import annotations

import pytest

import vmkit

BASE = 0x10000
DATA = 0x20000

# Many small blocks: a chain of 300 conditional branches in a counted loop.
MANY_BLOCKS = "\n".join(["    li t0, 50", "    li a0, 0", "outer:"] +
                        [f"    addi a0, a0, {i % 7}\n    beqz a0, skip{i}\n    addi a1, a1, 1\nskip{i}:" for i in range(300)] +
                        ["    addi t0, t0, -1", "    bnez t0, outer", "    nop"])

SUM_LOOP = """
    li   t0, 0x20000
    li   t1, 2000
    li   a0, 0
loop:
    ld   t2, 0(t0)
    add  a0, a0, t2
    sd   a0, 8(t0)
    addi t1, t1, -1
    bnez t1, loop
    nop
"""


def machine(src: str, engine: str) -> tuple:
    code = vmkit.asm("riscv64", src, BASE)
    m = vmkit.Machine("riscv64", engine=engine)
    m.mem.map(BASE, 0x4000, "rx")
    m.mem.map(DATA, 0x1000, "rw")
    m.mem.write(BASE, code)
    m.mem.write(DATA, (5).to_bytes(8, "little"))
    return m, BASE + len(code) - 2  # the final c.nop


def state(m) -> dict:
    return {f"x{i}": m.regs[f"x{i}"] for i in range(32)} | {"pc": m.regs.pc, "data": m.mem.read(DATA, 16)}


@pytest.mark.parametrize("src", [SUM_LOOP, MANY_BLOCKS], ids=["sum_loop", "many_blocks"])
def test_engines_agree(src):
    results = {}
    for engine in ("interp", "jit", "auto"):
        m, end = machine(src, engine)
        r = m.run(BASE, until=end)
        assert r.reason == vmkit.RunEnd.UNTIL
        results[engine] = (state(m), r.insns)
    assert results["interp"] == results["jit"] == results["auto"]


def test_auto_compiles_hot_blocks_only_and_reports_them():
    m, end = machine(SUM_LOOP, "auto")
    m.jit_threshold = 100
    m.run(BASE, until=end)
    blocks = m.block_stats()
    hot = blocks[0]
    assert hot["tier"] == "jit" and hot["executions"] >= 1999 and hot["compile_ns"] > 0
    assert any(b["tier"] == "interp" and b["executions"] < 100 for b in blocks)
    s = m.stats()
    assert s["blocks_compiled"] >= 1 and s["compile_seconds"] > 0


def test_a_tiny_code_cache_is_flushed_and_results_stay_right():
    ref, end = machine(MANY_BLOCKS, "interp")
    ref.run(BASE, until=end)
    m, end = machine(MANY_BLOCKS, "jit")
    m.jit_cache_bytes = 8192
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and state(m) == state(ref)
    s = m.stats()
    assert s["code_cache_flushes"] > 5 and s["flush_pause_max_seconds"] < 0.1
    # each collection keeps the hottest blocks compiled and evicts the rest
    assert 0 < s["blocks_evicted"] < s["blocks_compiled"]
    assert any(b["tier"] == "jit" for b in m.block_stats())


def test_the_default_threshold_adapts_to_a_full_code_cache_and_a_set_one_stays():
    src = MANY_BLOCKS.replace("li t0, 50", "li t0, 400")
    ref, end = machine(src, "interp")
    ref.run(BASE, until=end)
    m, end = machine(src, "auto")
    m.jit_cache_bytes = 8192
    assert m.jit_threshold == 64
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and state(m) == state(ref)
    flushes = m.stats()["code_cache_flushes"]
    assert flushes >= 1
    assert m.jit_threshold == min(64 << flushes, 4096)  # doubled at every flush
    fixed, end = machine(src, "auto")
    fixed.jit_cache_bytes = 8192
    fixed.jit_threshold = 64
    fixed.run(BASE, until=end)
    assert fixed.stats()["code_cache_flushes"] >= 1 and fixed.jit_threshold == 64
    assert state(fixed) == state(ref)


def test_hooks_and_stop_inside_compiled_code():
    m, end = machine(SUM_LOOP, "jit")
    seen = []
    loop = BASE + len(vmkit.asm("riscv64", "li t0, 0x20000\nli t1, 2000\nli a0, 0", BASE))

    def at_loop(mm, address, size):
        seen.append(mm.regs.a0)
        if len(seen) == 10:
            mm.stop()

    m.hook_code(at_loop, begin=loop, end=loop + 1)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.STOPPED and r.pc == loop
    assert seen == [5 * k for k in range(10)]
    assert m.stats()["blocks_compiled"] > 0


def test_fault_inside_compiled_code_is_precise():
    m, end = machine("li t0, 0x20000\nli t1, 300\nloop:\nld a0, 0(t0)\naddi t0, t0, 64\naddi t1, t1, -1\nbnez t1, loop\nnop", "jit")
    r = m.run(BASE, until=end)
    # the data page ends after 64 loads: the 65th faults, with the loop state of 64 iterations
    assert r.reason == vmkit.RunEnd.MEM_FAULT
    assert r.fault.address == DATA + 0x1000 and r.fault.unmapped
    assert m.regs.t1 == 300 - 64 and m.regs.t0 == DATA + 0x1000


def test_engine_misuse():
    with pytest.raises(vmkit.UsageError, match="interp"):
        vmkit.Machine("riscv64", engine="fast")
    m = vmkit.Machine("riscv64")
    with pytest.raises(vmkit.UsageError, match="4096"):
        m.jit_cache_bytes = 100
