"""Bare machines: a guest CPU and its memory, scripted from Python (what Unicorn users do).

    m = vmkit.Machine("riscv64")
    m.mem.map(0x10000, 0x1000, "rwx")
    m.mem.write(0x10000, code)
    m.regs.a0 = 5
    m.hook_code(lambda m, address, size: print(hex(address)), begin=0x10000, end=0x10100)
    result = m.run(0x10000, until=0x10000 + len(code))
    print(result.reason, m.regs.a0)

Hooks run inside the emulation loop and only the ranges they cover are instrumented. A hook may
read and write registers and memory, add and remove hooks, call ``m.stop()``, or move ``m.regs.pc``
(execution then continues there). An exception raised by a Python hook stops the run and
propagates out of ``run()`` with the guest state as the hook saw it.
"""

from __future__ import annotations

import enum
import mmap
import struct
import weakref
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Optional, Union

from . import _core
from .hooks import Access, Hook, HookType, _Hookable, _int  # noqa: F401  (re-exported)

UsageError = _core.UsageError


def __getattr__(name: str) -> Any:
    # Re-exports vmkit.hooks.NATIVE_HOOK, which that module makes (importing ctypes) on first use.
    if name == "NATIVE_HOOK":
        from . import hooks

        return hooks.NATIVE_HOOK
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

PAGE_SIZE = 4096
_ALL = 2**64 - 1


class Perm(enum.IntFlag):
    """Memory permissions; ``map``/``protect`` also accept strings such as ``"rwx"`` or ``"r-x"``."""

    NONE = 0
    R = 1
    W = 2
    X = 4
    RW = 3
    RX = 5
    RWX = 7


def _perm(value: Union[int, str]) -> int:
    if isinstance(value, str):
        bits = 0
        for ch in value:
            if ch in "rR":
                bits |= 1
            elif ch in "wW":
                bits |= 2
            elif ch in "xX":
                bits |= 4
            elif ch != "-":
                raise UsageError(f"permission string {value!r}: use the letters r, w, x and - (e.g. 'rwx', 'r-x')")
        return bits
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"perm must be a Perm, an int or a string like 'rwx', not {type(value).__name__}")
    if value & ~7:
        raise UsageError(f"perm {value:#x} has bits other than Perm.R|Perm.W|Perm.X")
    return value


class Region(NamedTuple):
    """A mapped range ``[begin, end)`` with its permissions."""

    begin: int
    end: int
    perm: Perm
    name: str

    @property
    def size(self) -> int:
        return self.end - self.begin


class RunEnd(str, enum.Enum):
    """Why ``Machine.run`` returned."""

    UNTIL = "until"              #: reached ``until`` (not executed)
    COUNT = "count"              #: executed ``count`` instructions
    TIMEOUT = "timeout"          #: ``timeout`` seconds passed
    STOPPED = "stopped"          #: ``Machine.stop()``
    MEM_FAULT = "mem_fault"      #: an access no hook handled (see ``fault``)
    INVALID_INSN = "invalid_insn"  #: an undecodable instruction no hook handled
    EXCEPTION = "exception"      #: ecall/svc, ebreak/brk or a trap with no interrupt hook (see ``cause``)


class Fault(NamedTuple):
    """A memory access that faulted: what, where, and whether the page was mapped at all."""

    access: Access
    address: int
    size: int
    value: int
    unmapped: bool


class RunResult(NamedTuple):
    """The outcome of ``Machine.run``."""

    reason: RunEnd
    pc: int                  #: the next instruction to execute
    insns: int               #: instructions executed by this run
    fault: Optional[Fault] = None    #: for MEM_FAULT
    cause: Optional[int] = None      #: for EXCEPTION / INVALID_INSN: the cause (see ``Machine.hook_interrupt``)
    insn: Optional[int] = None       #: for INVALID_INSN: the instruction's bytes (little-endian, the first 4)
    insn_text: Optional[str] = None  #: for INVALID_INSN: the instruction as text, where known (x86-64: Zydis)


class Context:
    """Saved registers (``Machine.context_save``); restore with ``Machine.context_restore``."""

    def __init__(self, arch: str, data: bytes):
        self.arch = arch
        self._data = data


class Snapshot:
    """Registers and memory (contents, mappings, permissions); see ``Machine.snapshot``."""

    def __init__(self, machine: "Machine", core: Any):
        self._machine = weakref.ref(machine)
        self._core = core


class IRBlock:
    """The IR of one translated block: iterate it for ops, ``str()`` for the printer's text."""

    class Op(NamedTuple):
        name: str
        type: str
        dst: Optional[int]
        srcs: tuple
        aux: int
        sub: int

    def __init__(self, d: Mapping[str, Any]):
        self.pc: int = d["pc"]
        self.end: int = d["end"]
        self.text: str = d["text"]
        self.ops = [IRBlock.Op(n, t, dst, tuple(s), aux, sub) for (n, t, dst, s, aux, sub) in d["ops"]]
        #: (pc, length, index of the first op) per guest instruction
        self.insns = [tuple(x) for x in d["marks"]]
        #: the value of each constant slot (None for temporaries)
        self.consts = list(d["consts"])

    def __iter__(self) -> Iterator["IRBlock.Op"]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __str__(self) -> str:
        return self.text


def _register_value(name: str, value: Any) -> int:
    # (the core checks that the value fits the register: up to 128 bits)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"value of {name} must be an int, not {type(value).__name__}")
    return value


# Register kinds that read as Python floats: struct formats of the float and of its bits.
_FLOAT_FORMATS = {"f64": ("<d", "<Q"), "f32": ("<f", "<I")}


class Registers:
    """Registers by name: ``m.regs.a0``, ``m.regs["x10"]``, ``m.regs.pc``.

    Integer registers are ints; AArch64's 128-bit vector registers (``v0``/``q0``...) are ints of up
    to 128 bits. Floating-point registers (riscv64 ``f0``..., aarch64 ``d0``/``s0``...) read as
    Python floats (the double or single the register's low bits hold; a riscv64 single-precision
    value is NaN-boxed in its register, see ``single``) and write from floats or ints (raw bits).
    ``raw(name)`` gives any register's bits.
    """

    __slots__ = ("_core", "_kinds")

    def __init__(self, core: Any):
        object.__setattr__(self, "_core", core)
        object.__setattr__(self, "_kinds", {name: kind for name, kind in core.registers()})

    def names(self) -> list:
        return list(self._kinds)

    def raw(self, name: str) -> int:
        self._check(name)
        return self._core.reg_read(name)

    def set_raw(self, name: str, bits: int) -> None:
        self._check(name)
        self._core.reg_write(name, _register_value(name, bits))

    def single(self, name: str) -> float:
        """A float register's low 32 bits as a single-precision float."""
        bits = self.raw(name) & 0xFFFFFFFF
        return struct.unpack("<f", struct.pack("<I", bits))[0]

    def _check(self, name: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"register names are strings, not {type(name).__name__}")
        if name not in self._kinds:
            self._core.reg_read(name)  # raises the UsageError that names the arch's registers

    def __getitem__(self, name: str) -> Union[int, float]:
        self._check(name)
        v = self._core.reg_read(name)
        formats = _FLOAT_FORMATS.get(self._kinds[name])
        if formats:
            return struct.unpack(formats[0], struct.pack(formats[1], v))[0]
        return v

    def __setitem__(self, name: str, value: Union[int, float]) -> None:
        self._check(name)
        formats = _FLOAT_FORMATS.get(self._kinds[name])
        if formats and isinstance(value, float):
            value = struct.unpack(formats[1], struct.pack(formats[0], value))[0]
        elif isinstance(value, float):
            raise TypeError(f"register {name} holds an integer: assign an int, not a float")
        self._core.reg_write(name, _register_value(name, value))

    def __getattr__(self, name: str) -> Union[int, float]:
        if name.startswith("_") or name not in self._kinds:
            try:
                self._check(name)
            except UsageError as e:
                raise AttributeError(str(e)) from None
        return self[name]

    def __setattr__(self, name: str, value: Union[int, float]) -> None:
        self[name] = value

    def read(self, *names: str) -> dict:
        """Several registers at once: ``m.regs.read("a0", "a1")`` -> ``{"a0": ..., "a1": ...}``."""
        return {n: self[n] for n in names}

    def update(self, values: Mapping[str, Union[int, float]] = (), **kw: Union[int, float]) -> None:
        """Sets several registers: ``m.regs.update(a0=1, a1=2)`` or ``update({"a0": 1})``."""
        for n, v in dict(values, **kw).items():
            self[n] = v


class Memory:
    """Guest memory of a Machine: map, unmap, protect, read, write, zero-copy views."""

    def __init__(self, core: Any):
        self._core = core

    def map(self, address: int, size: int, perm: Union[int, str] = Perm.RWX) -> None:
        """Maps zeroed memory at ``[address, address+size)`` (page aligned, not overlapping)."""
        self._core.mem_map(_int("address", address), _int("size", size), _perm(perm))

    def unmap(self, address: int, size: int) -> None:
        self._core.mem_unmap(_int("address", address), _int("size", size))

    def protect(self, address: int, size: int, perm: Union[int, str]) -> None:
        self._core.mem_protect(_int("address", address), _int("size", size), _perm(perm))

    def map_ptr(self, address: int, buffer: Any, perm: Union[int, str] = Perm.RWX) -> None:
        """Maps caller-owned memory with zero copy: ``buffer`` must be a page-aligned shared mapping
        such as ``mmap.mmap(-1, size)`` (writes by either side are seen by the other). Keep the
        buffer alive while it is mapped."""
        if isinstance(buffer, mmap.mmap):
            import ctypes  # here, not at the top: only zero-copy mappings need it

            size = len(buffer)
            ptr = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        else:
            raise TypeError("map_ptr needs an mmap.mmap (a shared mapping, e.g. mmap.mmap(-1, size)); "
                            f"got {type(buffer).__name__}: private memory (bytearray, numpy arrays) cannot "
                            "be aliased into the guest — map memory and use mem.view() instead")
        self._core.mem_map_host(_int("address", address), ptr, size, _perm(perm))

    def regions(self) -> list:
        """The mapped regions, in address order."""
        return [Region(b, e, Perm(p), n) for (b, e, p, n) in self._core.mem_regions()]

    def read(self, address: int, size: int) -> bytes:
        return self._core.mem_read(_int("address", address), _int("size", size))

    def write(self, address: int, data: Any) -> None:
        """Writes bytes (or any buffer); translations of code there are dropped."""
        if isinstance(data, str):
            raise TypeError("mem.write takes bytes (or a buffer), not str: encode it first")
        try:
            memoryview(data)
        except TypeError:
            raise TypeError(f"mem.write takes bytes or a buffer, not {type(data).__name__}") from None
        self._core.mem_write(_int("address", address), data)

    def view(self, address: int, size: int, readonly: bool = False) -> memoryview:
        """A zero-copy ``memoryview`` of guest memory (NumPy: ``np.frombuffer(view, dtype)``).

        Release it (``view.release()``) before unmapping or re-protecting that memory. After
        changing code that already ran through a view, call ``Machine.invalidate``."""
        return memoryview(self._core.mem_view(_int("address", address), _int("size", size), bool(readonly)))


class Machine(_Hookable):
    """A bare machine of guest architecture ``arch`` (``"riscv64"``, ``"aarch64"`` or ``"x86_64"``) with no
    operating system. ``mode="system"`` makes a whole RISC-V machine instead (see vmkit.system).

    ``address_bits`` sets the size of the guest address space (default 38: 256 GiB, reserved, not
    committed); memory must be mapped before use."""

    def __new__(cls, arch: str = "riscv64", *, mode: str = "bare", **kw: Any) -> Any:
        # mode="system": a whole machine that boots a kernel (vmkit.system.SystemMachine).
        if mode == "system":
            from .system import SystemMachine

            return SystemMachine(arch, **kw)
        if mode != "bare":
            raise UsageError(f"mode {mode!r}: use 'bare' (a CPU and memory you map, the default) or 'system' "
                             "(a whole machine that boots a kernel)")
        return super().__new__(cls)

    def __init__(self, arch: str = "riscv64", *, mode: str = "bare", address_bits: int = 38, engine: str = "auto"):
        if not isinstance(arch, str):
            raise TypeError(f"arch must be a string such as 'riscv64', not {type(arch).__name__}")
        if isinstance(address_bits, bool) or not isinstance(address_bits, int) or not 16 <= address_bits <= 46:
            raise UsageError(f"address_bits must be an int from 16 to 46 (got {address_bits!r})")
        self._core = _core.Machine(arch, 1 << address_bits)
        self._core._set_owner(self)
        self.engine = engine
        self.arch = arch
        self.mem = Memory(self._core)
        self.regs = Registers(self._core)
        self._hooks: dict = {}

    @property
    def engine(self) -> str:
        """Which tier runs guest code: "interp" (the interpreter), "jit" (every block compiled to
        host code), or "auto" (interpreted until a block has run ``jit_threshold`` times)."""
        return self._core.engine

    @engine.setter
    def engine(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"engine is a string ('interp', 'jit' or 'auto'), not {type(name).__name__}")
        self._core.engine = name

    @property
    def jit_cache_bytes(self) -> int:
        """Executable memory tier 1 may use; when it is full, every compiled block is dropped (see
        ``stats()["code_cache_flushes"]``). Set it before the first block is compiled."""
        return self._core.jit_cache_bytes

    @jit_cache_bytes.setter
    def jit_cache_bytes(self, n: int) -> None:
        self._core.jit_cache_bytes = _int("jit_cache_bytes", n)

    def block_stats(self) -> list:
        """Per translated block: ``pc``, ``end``, ``insns``, ``executions``, ``tier`` ("interp" or
        "jit") and ``compile_ns``, most executed first."""
        return sorted(self._core.block_stats(), key=lambda b: -b["executions"])

    @property
    def jit_threshold(self) -> int:
        """With engine "auto": executions of a block before it is compiled. Adaptive until set: it
        starts at 64 and doubles (up to 4096) each time the code cache fills up, so only hotter
        blocks are compiled when the hot code does not fit; a value set here stays fixed."""
        return self._core.jit_threshold

    @jit_threshold.setter
    def jit_threshold(self, n: int) -> None:
        self._core.jit_threshold = _int("jit_threshold", n)

    # ---- running -------------------------------------------------------------------------------
    def run(self, begin: int, until: Optional[int] = None, count: Optional[int] = None,
            timeout: Optional[float] = None) -> RunResult:
        """Runs from ``begin`` until ``until`` is reached (not executed), ``count`` instructions
        ran, ``timeout`` seconds passed, a hook called ``stop()``, or a fault/exception that no hook
        handled. Resumable: ``m.run(result.pc, ...)`` goes on from where it stopped."""
        begin = _int("begin", begin)
        if until is not None:
            until = _int("until", until)
        if count is not None:
            count = _int("count", count)
            if count == 0:
                raise UsageError("count=0 would run nothing: pass None for no limit")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout is in seconds (a number), not {type(timeout).__name__}")
            if timeout <= 0:
                raise UsageError(f"timeout must be positive seconds (got {timeout}); None for no limit")
        r = self._core.run(begin, until, count or 0, float(timeout or 0))
        reason = RunEnd(r.reason.name)
        fault = None
        cause = None
        insn = insn_text = None
        if reason is RunEnd.MEM_FAULT:
            fault = Fault(Access(r.fault_access), r.fault_address, r.fault_size, r.fault_value, r.fault_unmapped)
        elif reason is RunEnd.EXCEPTION:
            cause = r.cause
        elif reason is RunEnd.INVALID_INSN:
            cause = r.cause
            insn = r.fault_value
            insn_text = r.insn_text or None
        return RunResult(reason, r.pc, r.insns, fault, cause, insn, insn_text)

    @property
    def running(self) -> bool:
        return self._core.running

    def hook_interrupt(self, callback: Callable, *, user_data: int = 0) -> Hook:
        """``callback(m, cause)`` for system calls, breakpoints and other synchronous exceptions,
        numbered as the architecture does: riscv64 uses mcause (ecall 8, ebreak 3, illegal
        instruction 2, misaligned load 4 / store 6); aarch64 uses unicorn's ARM64 numbers (svc 2,
        brk 7, undefined instruction 1, alignment fault 4); x86_64 uses the exception vectors (#DE 0,
        int3 3, #UD 6, #GP 13, #AC 17, #XM 19) and 0x80 for ``syscall``. pc is at the instruction (also for
        svc, where unicorn's hook sees the pc after it); unless the hook moves pc, execution
        continues after the instruction."""
        return self._add(HookType.INTERRUPT, callback, 0, None, user_data)

    def hook_invalid(self, callback: Callable, *, user_data: int = 0) -> Hook:
        """``callback(m, address, size, insn) -> bool`` for an undecodable instruction. Return True
        after moving pc or rewriting the code to go on; False ends the run (``INVALID_INSN``)."""
        return self._add(HookType.INVALID_INSN, callback, 0, None, user_data)

    # ---- state ---------------------------------------------------------------------------------
    def context_save(self) -> Context:
        """All registers (pc included)."""
        return Context(self.arch, self._core.save_context())

    def context_restore(self, ctx: Context) -> None:
        """Puts back the registers saved by ``context_save`` (memory is not touched)."""
        if not isinstance(ctx, Context):
            raise TypeError(f"context_restore takes a Context from context_save, not {type(ctx).__name__}")
        if ctx.arch != self.arch:
            raise UsageError(f"this context is of a {ctx.arch} machine; this machine is {self.arch}")
        self._core.restore_context(ctx._data)

    def snapshot(self) -> Snapshot:
        """Registers and memory now. Restoring the latest snapshot is fast: memory is copied on
        write, so a restore copies back only the pages written since."""
        return Snapshot(self, self._core.snapshot())

    def restore(self, snap: Snapshot) -> int:
        """Puts registers, memory contents, mappings and permissions back as at ``snap``; returns
        the number of pages copied back."""
        if not isinstance(snap, Snapshot):
            raise TypeError(f"restore takes a Snapshot from snapshot(), not {type(snap).__name__}")
        if snap._machine() is not self:
            raise UsageError("this snapshot belongs to another machine: restore it there")
        return self._core.restore(snap._core)

    def snapshot_stats(self) -> dict:
        """Copy-on-write counters: pages saved, fast restores, full copies, pages dirty now."""
        return self._core.snapshot_stats()

    # ---- code ----------------------------------------------------------------------------------
    def translate(self, address: int, optimize: bool = True) -> IRBlock:
        """The IR of the block at ``address`` (as the machine would run it, hooks included)."""
        return IRBlock(self._core.translate(_int("address", address), bool(optimize)))

    def invalidate(self, address: int = 0, size: int = _ALL) -> None:
        """Drops translations of ``[address, address+size)`` (after changing code through a view)."""
        self._core.invalidate(_int("address", address), _int("size", size))

    def stats(self) -> dict:
        """Execution counters: blocks translated, executed and compiled, instructions, invalidations,
        code_write_faults (guest stores into pages holding translated code: each drops those
        translations), compile time, code cache flushes and the longest pause one caused."""
        return self._core.stats()
