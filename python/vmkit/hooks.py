"""Hooks: what bare machines (vmkit.Machine) and Linux processes (vmkit.linux.Process) share.

A hook is a Python callable (called with the GIL, the run keeps it while Python hooks exist) or a
native C function (a ctypes function or its address, signature NATIVE_HOOK, called without the GIL).
Every hook_* method returns a Hook handle; ``hook.remove()`` ends it, also from inside a hook.
"""

from __future__ import annotations

import enum
import sys
import weakref
from typing import Any, Callable, Optional

from . import _core

UsageError = _core.UsageError
_ALL = 2**64 - 1


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise UsageError(f"{name} must not be negative (got {value})")
    if value > _ALL:
        raise UsageError(f"{name} {value:#x} is outside the 64-bit address range")
    return value


class Access(enum.IntEnum):
    """The kind of a memory access passed to memory and fault hooks."""

    READ = 1
    WRITE = 2
    FETCH = 4


class HookType(enum.IntFlag):
    """Hook types (bits of the core's hook mask)."""

    CODE = 1 << 0
    BLOCK = 1 << 1
    MEM_READ = 1 << 2
    MEM_WRITE = 1 << 3
    MEM_FETCH = 1 << 4
    READ_UNMAPPED = 1 << 5
    WRITE_UNMAPPED = 1 << 6
    FETCH_UNMAPPED = 1 << 7
    READ_PROT = 1 << 8
    WRITE_PROT = 1 << 9
    FETCH_PROT = 1 << 10
    INTERRUPT = 1 << 11
    INVALID_INSN = 1 << 12
    SYSCALL = 1 << 13
    MEM_UNMAPPED = READ_UNMAPPED | WRITE_UNMAPPED | FETCH_UNMAPPED
    MEM_PROT = READ_PROT | WRITE_PROT | FETCH_PROT
    MEM_INVALID = MEM_UNMAPPED | MEM_PROT


def __getattr__(name: str) -> Any:
    # NATIVE_HOOK, made on first use: it needs ctypes, which most runs (no native hooks) never import.
    if name == "NATIVE_HOOK":
        global NATIVE_HOOK
        import ctypes

        # The C signature of a native hook: ``int hook(uint32_t type, uint64_t address, uint32_t size,
        # uint64_t value, void *user_data)``; ``type`` is the HookType bit that fired. Return nonzero to
        # stop the run (for fault and invalid-instruction hooks: nonzero means handled, retry / go on;
        # for syscall hooks: the hook did the syscall, its result is in the return register). Native
        # hooks are called without the GIL.
        NATIVE_HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint32,
                                       ctypes.c_uint64, ctypes.c_void_p)
        NATIVE_HOOK.__doc__ = ("ctypes prototype of a native hook: int hook(uint32_t type, uint64_t address, "
                               "uint32_t size, uint64_t value, void *user_data)")
        return NATIVE_HOOK
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_c_function(callback: Any) -> bool:
    """Is ``callback`` a ctypes function (a CDLL symbol or a CFUNCTYPE object)? Asked without
    importing ctypes: if nothing has imported it, no object can be one."""
    ctypes = sys.modules.get("ctypes")
    return ctypes is not None and isinstance(callback, ctypes._CFuncPtr)


class Hook:
    """A handle returned by the ``hook_*`` methods; ``remove()`` (or ``Machine.remove_hook``) ends it."""

    def __init__(self, machine: "_Hookable", hook_id: int, types: HookType, begin: int, end: int):
        self._machine = weakref.ref(machine)
        self.id = hook_id
        self.types = types
        self.begin = begin
        self.end = end
        self._keep: Any = None  # a ctypes callback object that must outlive the hook

    def remove(self) -> None:
        m = self._machine()
        if m is None:
            raise UsageError("the machine of this hook no longer exists")
        m.remove_hook(self)

    def __repr__(self) -> str:
        return f"<Hook {self.id} {self.types!r} [{self.begin:#x}, {self.end:#x})>"


class _Hookable:
    """The hook methods of a hookable object; ``self._core`` is its core object."""

    _core: Any
    _hooks: dict

    # ---- hooks ---------------------------------------------------------------------------------
    def _add(self, types: int, callback: Any, begin: int, end: Optional[int], user_data: int = 0) -> Hook:
        begin = _int("begin", begin)
        end = _ALL if end is None else _int("end", end)
        if end <= begin:
            raise UsageError(f"hook range [{begin:#x}, {end:#x}) is empty: end must be greater than begin")
        keep = None
        if _is_c_function(callback):
            import ctypes  # already imported: the callback is a ctypes object

            ptr = ctypes.cast(callback, ctypes.c_void_p).value or 0
            hook_id = self._core.hook_add_native(types, begin, end, ptr, _int("user_data", user_data))
            keep = callback
        elif isinstance(callback, int) and not isinstance(callback, bool):
            hook_id = self._core.hook_add_native(types, begin, end, callback, _int("user_data", user_data))
        elif callable(callback):
            if user_data:
                raise UsageError("user_data is for native hooks; a Python callback can close over its data")
            hook_id = self._core.hook_add_python(types, begin, end, callback)
        else:
            raise TypeError(f"a hook callback must be callable, a ctypes function or a function address, "
                            f"not {type(callback).__name__}")
        h = Hook(self, hook_id, HookType(types), begin, end)
        h._keep = keep
        self._hooks[hook_id] = h
        return h

    def hook_code(self, callback: Callable, begin: int = 0, end: Optional[int] = None, *, user_data: int = 0) -> Hook:
        """``callback(m, address, size)`` before each instruction whose address is in ``[begin, end)``."""
        return self._add(HookType.CODE, callback, begin, end, user_data)

    def hook_block(self, callback: Callable, begin: int = 0, end: Optional[int] = None, *, user_data: int = 0) -> Hook:
        """``callback(m, address, size)`` before each translated block that starts in the range
        (``size``: the block's bytes)."""
        return self._add(HookType.BLOCK, callback, begin, end, user_data)

    def hook_mem(self, callback: Callable, access: str = "rw", begin: int = 0, end: Optional[int] = None, *,
                 user_data: int = 0) -> Hook:
        """``callback(m, access, address, size, value)`` for guest accesses overlapping the range:
        reads after the load (``value`` = what was read), writes before the store (``value`` = what
        will be written), fetches ("x") before each instruction in the range (``value`` = its bytes)."""
        types = 0
        for ch in access:
            types |= {"r": HookType.MEM_READ, "w": HookType.MEM_WRITE, "x": HookType.MEM_FETCH}.get(ch, -1 << 40)
        if types <= 0 or not access:
            raise UsageError(f"access {access!r}: use a combination of 'r', 'w' and 'x'")
        return self._add(types, callback, begin, end, user_data)

    def hook_mem_fault(self, callback: Callable, kind: str = "any", access: str = "rwx", begin: int = 0,
                       end: Optional[int] = None, *, user_data: int = 0) -> Hook:
        """``callback(m, access, address, size, value) -> bool`` for an access that faults, ``kind``
        "unmapped", "prot" or "any". Return True after making the access possible (map or protect
        memory): the instruction is retried. False: the run ends with ``RunEnd.MEM_FAULT``."""
        table = {"r": (HookType.READ_UNMAPPED, HookType.READ_PROT), "w": (HookType.WRITE_UNMAPPED, HookType.WRITE_PROT),
                 "x": (HookType.FETCH_UNMAPPED, HookType.FETCH_PROT)}
        if kind not in ("unmapped", "prot", "any"):
            raise UsageError(f"kind {kind!r}: use 'unmapped', 'prot' or 'any'")
        types = 0
        for ch in access:
            if ch not in table:
                raise UsageError(f"access {access!r}: use a combination of 'r', 'w' and 'x'")
            un, prot = table[ch]
            types |= (un if kind != "prot" else 0) | (prot if kind != "unmapped" else 0)
        if not types:
            raise UsageError("access must not be empty: use a combination of 'r', 'w' and 'x'")
        return self._add(types, callback, begin, end, user_data)

    def remove_hook(self, hook: Hook) -> None:
        if not isinstance(hook, Hook):
            raise TypeError(f"remove_hook takes a Hook returned by a hook_* method, not {type(hook).__name__}")
        if self._hooks.get(hook.id) is not hook:
            raise UsageError(f"{hook!r} is not installed on this machine (already removed?)")
        self._core.hook_remove(hook.id)
        del self._hooks[hook.id]

    def stop(self) -> None:
        """Stops the current run: from a hook at once (before the hooked instruction; a memory
        hook's instruction completes first), from another thread soon."""
        self._core.stop()

    @property
    def hooks(self) -> list:
        return list(self._hooks.values())
