"""Bare machines (vmkit.Machine) against the unicorn package running the same scripts: registers,
memory and the sequence of hook events must be equal. The guest code is assembled by Debian's
RISC-V cross assembler."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

import vmkit

from conftest import EngineChoice

# Every test runs once per engine (interpreter, JIT).
pytestmark = pytest.mark.usefixtures("each_engine")

unicorn = pytest.importorskip("unicorn", reason="the unicorn package is the reference: pip install unicorn")
from unicorn import riscv_const as R  # noqa: E402

BASE = 0x10000
DATA = 0x20000
NOP = 2  # the assembler picks c.nop for the final nop of each program


def asm(src: str, rvc: bool = True) -> bytes:
    """Assembles RISC-V source with riscv64-linux-gnu-as (position-independent code at BASE);
    rvc=False: no compressed instructions (tests that compute instruction addresses)."""
    if not shutil.which("riscv64-linux-gnu-as"):
        pytest.skip("riscv64-linux-gnu-as (binutils-riscv64-linux-gnu) is not installed")
    with tempfile.TemporaryDirectory() as d:
        s, o, b = (os.path.join(d, n) for n in ("a.s", "a.o", "a.bin"))
        with open(s, "w") as f:
            f.write(".option norelax\n" + ("" if rvc else ".option norvc\n") + src + "\n")
        subprocess.check_call(["riscv64-linux-gnu-as", "-march=rv64gc", "-o", o, s])
        subprocess.check_call(["riscv64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", o, b])
        with open(b, "rb") as f:
            return f.read()


# A loop that sums an array and stores running sums, with a call and return.
LOOP = """
    li   t0, 0x20000      # data
    li   t1, 6            # count
    li   a0, 0
loop:
    ld   t2, 0(t0)
    add  a0, a0, t2
    sd   a0, 64(t0)
    addi t0, t0, 8
    addi t1, t1, -1
    jal  ra, bump
    bnez t1, loop
    j    done
bump:
    addi a1, a1, 3
    ret
done:
    nop
"""
INIT = [3, 1, 4, 1, 5, 9]


def setup_unicorn(code: bytes):
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    uc.mem_map(BASE, 0x1000)
    uc.mem_map(DATA, 0x1000)
    uc.mem_write(BASE, code)
    uc.mem_write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    return uc


def setup_vmkit(code: bytes) -> vmkit.Machine:
    m = vmkit.Machine("riscv64", engine=EngineChoice.name)
    m.mem.map(BASE, 0x1000, "rwx")
    m.mem.map(DATA, 0x1000, "rw")
    m.mem.write(BASE, code)
    m.mem.write(DATA, b"".join(v.to_bytes(8, "little") for v in INIT))
    return m


def uc_regs(uc) -> dict:
    return {f"x{i}": uc.reg_read(R.UC_RISCV_REG_X0 + i) for i in range(1, 32)} | {"pc": uc.reg_read(R.UC_RISCV_REG_PC)}


def vm_regs(m) -> dict:
    return {f"x{i}": m.regs[f"x{i}"] for i in range(1, 32)} | {"pc": m.regs.pc}


def test_code_and_memory_hooks_match_unicorn():
    code = asm(LOOP)
    end = BASE + len(code) - NOP  # the final nop
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_CODE, lambda u, a, s, d: uc_events.append(("code", a, s)))
    uc.hook_add(unicorn.UC_HOOK_MEM_WRITE,
                lambda u, acc, a, s, v, d: uc_events.append(("write", a, s, v & (2**64 - 1))))
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    vm_events = []
    m.hook_code(lambda mm, a, s: vm_events.append(("code", a, s)))
    m.hook_mem(lambda mm, acc, a, s, v: vm_events.append(("write", a, s, v)), access="w")
    r = m.run(BASE, until=end)

    assert r.reason == vmkit.RunEnd.UNTIL and r.pc == end
    assert vm_events == uc_events
    assert vm_regs(m) == uc_regs(uc)
    assert m.mem.read(DATA, 0x100) == bytes(uc.mem_read(DATA, 0x100))
    assert m.regs.a0 == sum(INIT) and m.regs.a1 == 18


def test_block_hook_and_ranges_match_unicorn():
    code = asm(LOOP)
    end = BASE + len(code) - NOP
    bump = BASE + code.index(asm("addi a1, a1, 3"))
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda u, a, s, d: uc_events.append(("block", a, s)))
    # unicorn's ranges are inclusive: [bump, bump+4] covers the 2 instructions of bump()
    uc.hook_add(unicorn.UC_HOOK_CODE, lambda u, a, s, d: uc_events.append(("code", a)), None, bump, bump + 4)
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    vm_events = []
    m.hook_block(lambda mm, a, s: vm_events.append(("block", a, s)))
    m.hook_code(lambda mm, a, s: vm_events.append(("code", a)), begin=bump, end=bump + 6)
    m.run(BASE, until=end)
    assert vm_events == uc_events
    assert vm_regs(m) == uc_regs(uc)


def test_unmapped_read_handler_maps_on_demand_like_unicorn():
    code = asm("""
        li t0, 0x40000
        ld a0, 8(t0)
        li t0, 0x50010
        sd a0, 0(t0)
        ld a1, 0(t0)
        nop
    """)
    end = BASE + len(code) - NOP

    uc = setup_unicorn(code)
    uc_events = []

    def uc_fault(u, access, address, size, value, data):
        uc_events.append((access, address, size, value & (2**64 - 1)))
        u.mem_map(address & ~0xFFF, 0x1000)
        u.mem_write(address, (0x1234).to_bytes(8, "little"))
        return True

    uc.hook_add(unicorn.UC_HOOK_MEM_UNMAPPED, uc_fault)
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    vm_events = []

    def vm_fault(mm, access, address, size, value):
        vm_events.append(({vmkit.Access.READ: unicorn.UC_MEM_READ_UNMAPPED,
                           vmkit.Access.WRITE: unicorn.UC_MEM_WRITE_UNMAPPED}[access], address, size, value))
        mm.mem.map(address & ~0xFFF, 0x1000)
        mm.mem.write(address, (0x1234).to_bytes(8, "little"))
        return True

    m.hook_mem_fault(vm_fault, kind="unmapped")
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL
    assert vm_events == uc_events
    assert vm_regs(m) == uc_regs(uc)
    assert m.regs.a0 == 0x1234 and m.regs.a1 == 0x1234


def test_unhandled_fault_reports_access_and_keeps_state():
    code = asm("li t0, 0x40000\n addi a0, zero, 7\n sw a0, 4(t0)\n nop", rvc=False)
    m = setup_vmkit(code)
    r = m.run(BASE, until=BASE + len(code))
    assert r.reason == vmkit.RunEnd.MEM_FAULT
    assert r.fault == vmkit.Fault(vmkit.Access.WRITE, 0x40004, 4, 7, True)
    assert r.pc == BASE + len(code) - 8 and m.regs.a0 == 7
    # protection faults are told apart from unmapped ones
    m.mem.map(0x40000, 0x1000, "r")
    r = m.run(r.pc, until=BASE + len(code))
    assert r.reason == vmkit.RunEnd.MEM_FAULT and not r.fault.unmapped
    # resumable once the memory is writable
    m.mem.protect(0x40000, 0x1000, "rw")
    r = m.run(r.pc, until=BASE + len(code) - 4)
    assert r.reason == vmkit.RunEnd.UNTIL and m.mem.read(0x40004, 4) == (7).to_bytes(4, "little")


def test_stop_from_hook_and_resume_match_unicorn():
    code = asm(LOOP)
    end = BASE + len(code) - NOP
    target = BASE + code.index(asm("add a0, a0, t2"))
    uc = setup_unicorn(code)
    hits = []

    def uc_hook(u, a, s, d):
        hits.append(a)
        if len(hits) == 3:
            u.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_CODE, uc_hook, None, target, target)
    uc.emu_start(BASE, end)
    uc_state = uc_regs(uc)

    m = setup_vmkit(code)
    vm_hits = []

    def vm_hook(mm, a, s):
        vm_hits.append(a)
        if len(vm_hits) == 3:
            mm.stop()

    m.hook_code(vm_hook, begin=target, end=target + 1)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.STOPPED and r.pc == target
    assert vm_regs(m) == uc_state  # the hooked instruction has not run
    r = m.run(r.pc, until=end)     # resume: the hook sees the instruction again, then it runs
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == sum(INIT)
    assert len(vm_hits) == 7


def test_count_is_exact_and_context_restore_matches_unicorn():
    code = asm(LOOP)
    uc = setup_unicorn(code)
    uc.emu_start(BASE, 0, count=17)
    ctx_uc = uc.context_save()
    m = setup_vmkit(code)
    r = m.run(BASE, count=17)
    assert r.reason == vmkit.RunEnd.COUNT and r.insns == 17
    assert vm_regs(m) == uc_regs(uc)
    ctx = m.context_save()
    m.run(r.pc, count=9)
    uc.emu_start(uc.reg_read(R.UC_RISCV_REG_PC), 0, count=9)
    assert vm_regs(m) == uc_regs(uc)
    m.context_restore(ctx)
    uc.context_restore(ctx_uc)
    assert vm_regs(m) == uc_regs(uc)


def test_changing_pc_in_a_code_hook_jumps_there():
    code = asm("addi a0, zero, 1\n addi a0, a0, 10\n addi a0, a0, 100\n nop", rvc=False)
    m = setup_vmkit(code)

    def skip(mm, a, s):
        mm.regs.pc = a + 4  # skip "addi a0, a0, 10"

    m.hook_code(skip, begin=BASE + 4, end=BASE + 5)
    r = m.run(BASE, until=BASE + 12)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == 101


def test_hook_exception_propagates_with_state_intact():
    code = asm("addi a0, zero, 5\n addi a1, zero, 6\n nop", rvc=False)
    m = setup_vmkit(code)

    def boom(mm, a, s):
        raise KeyError("from the hook")

    m.hook_code(boom, begin=BASE + 4, end=BASE + 5)
    with pytest.raises(KeyError, match="from the hook"):
        m.run(BASE, until=BASE + 8)
    assert m.regs.pc == BASE + 4 and m.regs.a0 == 5 and m.regs.a1 == 0


def test_hooks_added_and_removed_from_inside_hooks():
    code = asm(LOOP)
    end = BASE + len(code) - NOP
    m = setup_vmkit(code)
    seen = []
    inner = {}

    def outer(mm, a, s):
        if "h" not in inner:
            inner["h"] = mm.hook_code(lambda m2, a2, s2: seen.append(a2))
        elif len(seen) > 10:
            inner["h"].remove()
            outer_hook.remove()

    outer_hook = m.hook_block(outer)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == sum(INIT)
    assert 10 < len(seen) < 40 and m.hooks == []


def test_interrupt_hook_sees_ecall_and_ebreak():
    code = asm("addi a7, zero, 93\n ecall\n addi a0, zero, 1\n ebreak\n nop", rvc=False)
    m = setup_vmkit(code)
    causes = []
    r = m.run(BASE, until=BASE + len(code) - 4)
    assert r.reason == vmkit.RunEnd.EXCEPTION and r.cause == 8 and r.pc == BASE + 4
    m.hook_interrupt(lambda mm, cause: causes.append((cause, mm.regs.pc)))
    r = m.run(BASE, until=BASE + len(code) - 4)
    assert r.reason == vmkit.RunEnd.UNTIL and causes == [(8, BASE + 4), (3, BASE + 12)] and m.regs.a0 == 1


def test_invalid_instruction_is_reported_and_can_be_handled():
    code = asm("addi a0, zero, 1\n .word 0xffffffff\n addi a0, a0, 2\n nop", rvc=False)
    m = setup_vmkit(code)
    r = m.run(BASE, until=BASE + 12)
    assert r.reason == vmkit.RunEnd.INVALID_INSN and r.pc == BASE + 4 and r.insn == 0xFFFFFFFF

    def skip(mm, address, size, insn):
        mm.regs.pc = address + size
        return True

    m.hook_invalid(skip)
    r = m.run(BASE, until=BASE + 12)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == 3


def test_timeout_and_stop_from_another_thread():
    code = asm("loop: addi a0, a0, 1\n j loop")
    m = setup_vmkit(code)
    r = m.run(BASE, timeout=0.2)
    assert r.reason == vmkit.RunEnd.TIMEOUT and r.insns > 1000
    timer = threading.Timer(0.2, m.stop)
    timer.start()
    r = m.run(BASE)
    timer.join()
    assert r.reason == vmkit.RunEnd.STOPPED


def test_native_hook_counts_instructions_without_python():
    if not shutil.which("cc"):
        pytest.skip("a C compiler is needed to build the native hook")
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "hook.c")
        so = os.path.join(d, "hook.so")
        with open(src, "w") as f:
            f.write("#include <stdint.h>\n"
                    "int count_hook(uint32_t type, uint64_t addr, uint32_t size, uint64_t value, void* user) {\n"
                    "  uint64_t* n = user; ++n[0]; n[1] += addr; return n[0] == 1000; }\n")
        subprocess.check_call(["cc", "-O2", "-shared", "-fPIC", "-o", so, src])
        lib = ctypes.CDLL(so)
        code = asm("loop: addi a0, a0, 1\n j loop", rvc=False)
        m = setup_vmkit(code)
        counters = (ctypes.c_uint64 * 2)()
        m.hook_code(lib.count_hook, user_data=ctypes.addressof(counters))
        r = m.run(BASE, count=100000)
        assert r.reason == vmkit.RunEnd.STOPPED  # the hook returned nonzero at the 1000th call
        assert counters[0] == 1000 and r.insns == 999
        assert counters[1] == 500 * BASE + 500 * (BASE + 4)


def test_memory_views_and_registers():
    m = vmkit.Machine("riscv64")
    m.mem.map(DATA, 0x2000, "rw")
    v = m.mem.view(DATA, 0x2000)
    v[0:4] = b"\x01\x02\x03\x04"
    assert m.mem.read(DATA, 4) == b"\x01\x02\x03\x04"
    m.mem.write(DATA + 8, b"xyz")
    assert bytes(v[8:11]) == b"xyz"
    with pytest.raises(vmkit.UsageError, match="release"):
        m.mem.unmap(DATA, 0x1000)
    v.release()
    m.mem.unmap(DATA, 0x1000)
    assert [(r.begin, r.end, r.perm) for r in m.mem.regions()] == [(DATA + 0x1000, DATA + 0x2000, vmkit.Perm.RW)]
    m.regs.fa0 = 1.5
    assert m.regs.fa0 == 1.5 and m.regs.f10 == 1.5 and m.regs.raw("f10") == 0x3FF8000000000000
    m.regs.update(a0=1, a1=2)
    assert m.regs.read("a0", "x11") == {"a0": 1, "x11": 2}
    m.regs.zero = 5
    assert m.regs.x0 == 0


def test_snapshot_restore_cycles_of_a_64_mib_guest():
    size = 64 << 20
    m = vmkit.Machine("riscv64")
    code = asm("""
        li t0, 0x1000000      # 16 MiB into the data
        add t0, t0, a2
        sd a0, 0(t0)
        li t1, 4096
        add t1, t1, t0
        sd a1, 0(t1)
        li t1, 40960
        add t1, t1, t0
        sd a1, 0(t1)
        addi a3, a3, 1
        nop
    """)
    m.mem.map(BASE, 0x1000, "rwx")
    m.mem.write(BASE, code)
    data = 0x1000000
    m.mem.map(data, size, "rw")
    m.mem.write(data + 0x1000000, b"\xaa" * 0x20000)
    m.regs.update(a0=0x1111, a1=0x2222, a2=0, a3=0)
    snap = m.snapshot()
    before = m.mem.read(data + 0x1000000, 0x20000)
    end = BASE + len(code) - NOP
    for i in range(1000):
        m.regs.update(a0=i, a1=~i & 0xFFFF, a2=(i % 16) * 8)
        r = m.run(BASE, until=end)
        assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a3 == 1
        copied = m.restore(snap)
        assert copied <= 4
        assert m.regs.a0 == 0x1111 and m.regs.a3 == 0 and m.regs.pc == 0
        if i % 97 == 0:
            assert m.mem.read(data + 0x1000000, 0x20000) == before
    assert m.snapshot_stats()["fast_restores"] >= 1000


def test_translate_returns_the_ir():
    code = asm("addi a0, a0, 1\n beqz a0, 1f\n1: nop")
    m = setup_vmkit(code)
    b = m.translate(BASE)
    names = [op.name for op in b]
    assert "add" in names and names[-1] == "br" and b.insns[0][0] == BASE
    assert "br" in str(b)


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m.mem.map(BASE, 0x1000), vmkit.UsageError, "overlap"),
    (lambda m: m.mem.map(0x30001, 0x1000), vmkit.UsageError, "align"),
    (lambda m: m.mem.map(0x30000, 0), vmkit.UsageError, "zero|size"),
    (lambda m: m.mem.map(1 << 40, 0x1000), vmkit.UsageError, "address"),
    (lambda m: m.mem.read(0x90000, 4), vmkit.MemoryAccessError, "read of 4 bytes at 0x90000"),
    (lambda m: m.mem.unmap(0x90000, 0x1000), vmkit.UsageError, "mapped"),
    (lambda m: m.regs.nosuch, AttributeError, "unknown riscv64 register"),
    (lambda m: m.regs.__setitem__("a0", "1"), TypeError, "int"),
    (lambda m: m.regs.__setitem__("a0", 1.5), TypeError, "integer"),
    (lambda m: m.mem.write(BASE, "text"), TypeError, "bytes"),
    (lambda m: m.hook_code(print, begin=0x2000, end=0x1000), vmkit.UsageError, "empty"),
    (lambda m: m.hook_code(42.0), TypeError, "callable"),
    (lambda m: m.hook_mem(print, access="q"), vmkit.UsageError, "access"),
    (lambda m: m.run(BASE, count=0), vmkit.UsageError, "count"),
    (lambda m: m.run("0x1000"), TypeError, "int"),
    (lambda m: m.mem.map_ptr(0x30000, bytearray(4096)), TypeError, "mmap"),
    (lambda m: vmkit.Machine("sparc"), vmkit.UsageError, "riscv64.*aarch64"),
    (lambda m: m.context_restore(b"x"), TypeError, "Context"),
], ids=lambda v: getattr(v, "__name__", str(v))[:40])
def test_misuse_raises_a_specific_error(call, error, match):
    m = setup_vmkit(asm("nop"))
    with pytest.raises(error, match=match):
        call(m)
    # the machine still works afterwards
    assert m.run(BASE, until=BASE + NOP).reason == vmkit.RunEnd.UNTIL


def test_fetch_hook_reports_instruction_bytes():
    code = asm("addi a0, zero, 1\n addi a0, a0, 2\n nop", rvc=False)
    m = setup_vmkit(code)
    fetched = []
    m.hook_mem(lambda mm, acc, a, s, v: fetched.append((acc, a, s, v)), access="x", begin=BASE, end=BASE + 8)
    m.run(BASE, until=BASE + 8)
    words = [int.from_bytes(code[i:i + 4], "little") for i in (0, 4)]
    assert fetched == [(vmkit.Access.FETCH, BASE, 4, words[0]), (vmkit.Access.FETCH, BASE + 4, 4, words[1])]


def test_memory_hook_stop_completes_the_instruction_and_resumes():
    code = asm(LOOP)
    end = BASE + len(code) - NOP
    m = setup_vmkit(code)
    writes = []

    def on_write(mm, acc, a, s, v):
        writes.append(v)
        if len(writes) == 2:
            mm.stop()

    m.hook_mem(on_write, access="w", begin=DATA + 64, end=DATA + 128)
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.STOPPED
    sd_addr = BASE + code.index(asm("sd a0, 64(t0)"))
    assert r.pc == sd_addr + 4  # the store completed, the run stopped after it
    assert m.mem.read(DATA + 72, 8) == (3 + 1).to_bytes(8, "little")
    r = m.run(r.pc, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and len(writes) == 6  # no write reported twice


def test_map_ptr_aliases_a_shared_mmap_both_ways():
    import mmap

    buf = mmap.mmap(-1, 0x2000)
    code = asm("li t0, 0x30000\n ld a0, 0(t0)\n addi a0, a0, 1\n sd a0, 8(t0)\n nop", rvc=False)
    m = setup_vmkit(code)
    m.mem.map_ptr(0x30000, buf, "rw")
    buf[0:8] = (41).to_bytes(8, "little")
    r = m.run(BASE, until=BASE + len(code) - 4)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == 42
    assert buf[8:16] == (42).to_bytes(8, "little")  # the guest's store, seen by the host buffer


def test_a_store_into_code_that_ran_is_seen_by_the_next_call():
    """The guest calls a function, rewrites one of its instructions with a plain store (no
    fence.i) and calls it again: as in unicorn, the second call runs the new instruction. The
    function shares its page with the running code, which is write-protected for its
    translations: the store is counted in stats()["code_write_faults"]."""
    new_insn = asm("addi a0, a0, 100", rvc=False)
    code = asm(f"""
    jal  ra, fn
    auipc t0, 0
    addi t0, t0, 28          # fn, 28 bytes on (li below is lui + addiw)
    li   t1, {int.from_bytes(new_insn, "little")}
    sw   t1, 0(t0)
    jal  ra, fn
    j    done
fn:
    addi a0, a0, 1
    ret
done:
    nop
""", rvc=False)
    assert code[32:36] == asm("addi a0, a0, 1", rvc=False)
    end = BASE + len(code) - 4
    m = setup_vmkit(code)
    uc = setup_unicorn(code)
    m.run(BASE, until=end)
    uc.emu_start(BASE, end)
    assert vm_regs(m) == uc_regs(uc)
    assert m.regs.a0 == 101
    assert m.stats()["code_write_faults"] == 1
    assert m.mem.read(BASE, len(code)) == bytes(uc.mem_read(BASE, len(code)))


def test_code_rewritten_through_a_memory_view_runs_anew():
    """Pages holding translated code are write-protected, so a plain store through a memory view
    (no mem.write) is noticed: the next run executes the new code. (unicorn keeps running its stale
    translation after mem_write until told to drop it: ctl_remove_cache.) The loop's add becomes a
    sub."""
    code = asm(LOOP, rvc=False)
    patched = asm(LOOP.replace("add  a0, a0, t2", "sub  a0, a0, t2"), rvc=False)
    assert len(patched) == len(code) and patched != code
    end = BASE + len(code) - 4  # the final nop
    m = setup_vmkit(code)
    uc = setup_unicorn(code)
    m.run(BASE, until=end)
    uc.emu_start(BASE, end)
    assert vm_regs(m) == uc_regs(uc)
    view = m.mem.view(BASE, len(code))
    view[:] = patched
    view.release()
    uc.mem_write(BASE, patched)
    uc.ctl_remove_cache(BASE, BASE + len(patched))
    m.run(BASE, until=end)
    uc.emu_start(BASE, end)
    assert vm_regs(m) == uc_regs(uc)
    assert m.regs.a0 == (-23) % 2**64  # -(3 + 1 + 4 + 1 + 5 + 9)
    assert m.mem.read(DATA, 0x100) == bytes(uc.mem_read(DATA, 0x100))


def test_memory_view_as_numpy_array():
    np = pytest.importorskip("numpy", reason="numpy shows the buffer protocol at work: pip install numpy")
    code = asm(LOOP)
    m = setup_vmkit(code)
    m.run(BASE, until=BASE + len(code) - NOP)
    sums = np.frombuffer(m.mem.view(DATA + 64, 48, readonly=True), dtype=np.uint64)
    assert list(sums) == [3, 4, 8, 9, 14, 23]
    arr = np.frombuffer(m.mem.view(DATA, 48), dtype=np.uint64)
    arr[:] = 1  # zero-copy: the guest sees it
    del arr
    m.run(BASE, until=BASE + len(code) - NOP)
    assert m.regs.a0 == 6


def test_every_public_name_is_documented_and_annotated():
    import inspect

    import vmkit.linux

    objects = [getattr(vmkit, n) for n in vmkit.__all__ if n not in ("linux",)] + [vmkit.linux.Process,
                                                                               vmkit.linux.run]
    missing = []
    for obj in objects:
        if not getattr(obj, "__doc__", None):
            missing.append(getattr(obj, "__name__", repr(obj)))
        if inspect.isclass(obj):
            for name, member in vars(obj).items():
                if name.startswith("_") or not callable(member):
                    continue
                if not member.__doc__ and not isinstance(member, type):
                    missing.append(f"{obj.__name__}.{name}")
                if inspect.isfunction(member) and "return" not in member.__annotations__:
                    missing.append(f"{obj.__name__}.{name} (no return annotation)")
    assert missing == []


ATOMICS = """
    li   t0, 0x20000
    li   t1, 5
    amoadd.d a0, t1, (t0)
    addi t3, t0, 8
    amoswap.w a1, t1, (t3)
    addi t2, t0, 16
    lr.d a2, (t2)
    addi a2, a2, 100
    sc.d a3, a2, (t2)
    lr.d a4, (t2)
    sc.d a5, a4, (t0)
    nop
"""


def test_atomic_memory_events_match_unicorn():
    code = asm(ATOMICS)
    end = BASE + len(code) - NOP
    uc = setup_unicorn(code)
    uc_events = []
    uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, lambda u, acc, a, s, v, d: uc_events.append(("w", a, s, v & (2**64 - 1))))
    uc.emu_start(BASE, end)

    m = setup_vmkit(code)
    vm_events = []
    m.hook_mem(lambda mm, acc, a, s, v: vm_events.append(("w", a, s, v)), access="w")
    reads = []
    m.hook_mem(lambda mm, acc, a, s, v: reads.append((a, s, v)), access="r")
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL
    # amoadd and amoswap: read then write; the first sc stores (reservation held), the second
    # fails (its address differs from the reservation's) and stores nothing.
    assert vm_events == uc_events and len(vm_events) == 3
    assert vm_regs(m) == uc_regs(uc) and m.regs.a3 == 0 and m.regs.a5 == 1
    assert reads == [(DATA, 8, 3), (DATA + 8, 4, 1), (DATA + 16, 8, 4), (DATA + 16, 8, 104)]


def test_stop_in_the_write_hook_of_a_store_conditional_completes_it():
    code = asm(ATOMICS)
    end = BASE + len(code) - NOP
    m = setup_vmkit(code)
    writes = []

    def on_write(mm, acc, a, s, v):
        writes.append(a)
        if a == DATA + 16:
            mm.stop()

    m.hook_mem(on_write, access="w")
    r = m.run(BASE, until=end)
    assert r.reason == vmkit.RunEnd.STOPPED and m.regs.a3 == 0  # the sc succeeded, once
    assert m.mem.read(DATA + 16, 8) == (104).to_bytes(8, "little")
    r = m.run(r.pc, until=end)
    assert r.reason == vmkit.RunEnd.UNTIL and writes == [DATA, DATA + 8, DATA + 16] and m.regs.a5 == 1


def test_host_access_ignores_guest_permissions_like_a_debugger():
    m = vmkit.Machine("riscv64")
    m.mem.map(BASE, 0x3000, "x")          # execute-only code
    m.mem.map(DATA, 0x1000, "")           # no access at all
    code = asm("addi a0, zero, 7\n nop", rvc=False)
    m.mem.write(BASE + 0x1000, code)
    m.mem.write(DATA + 8, b"secret")
    assert m.mem.read(BASE + 0x1000, 8) == code and m.mem.read(DATA + 8, 6) == b"secret"
    # the region table is as mapped, and the guest still cannot read or write there
    assert [(r.begin, r.end, r.perm) for r in m.mem.regions()] == [
        (BASE, BASE + 0x3000, vmkit.Perm.X), (DATA, DATA + 0x1000, vmkit.Perm.NONE)]
    r = m.run(BASE + 0x1000, until=BASE + 0x1004)
    assert r.reason == vmkit.RunEnd.UNTIL and m.regs.a0 == 7
    code2 = asm("li t0, 0x20008\n ld a1, 0(t0)\n nop", rvc=False)
    m.mem.write(BASE, code2)
    r = m.run(BASE, until=BASE + len(code2) - 4)
    assert r.reason == vmkit.RunEnd.MEM_FAULT and r.fault.address == DATA + 8 and not r.fault.unmapped
    with pytest.raises(vmkit.MemoryAccessError):
        m.mem.write(0x90000, b"x")
