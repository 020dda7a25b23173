"""System mode: a whole RISC-V machine (qemu's ``virt`` board) that boots a real kernel.

    m = vmkit.Machine("riscv64", mode="system", memory="512M")
    m.load_kernel("vmlinuz", initrd="initrd.gz", append="console=ttyS0")
    m.console.expect("# ", timeout=120)
    m.console.send("uname -r\\n")
    print(m.console.expect("# "))
    m.console.send("poweroff -f\\n")
    m.run(timeout=60)          # -> "power_off"
    print(m.power_state, m.tlb_stats())

The board has one RV64GC hart (M, S and U modes, Sv39/Sv48), RAM at 0x80000000, a CLINT, a
PLIC, an NS16550A UART (the console) and the sifive_test power-off device at qemu's addresses; a
device tree describes it to the kernel. SBI calls are answered natively (no firmware needed).

Bare metal works too: write a program into RAM with ``m.mem.write`` and ``m.reset(pc)`` starts the
hart there in M-mode. ``clock="virtual"`` makes time count guest instructions, so runs are
deterministic and a hart waiting for a timer interrupt skips ahead instead of sleeping.
"""

from __future__ import annotations

import os
import time
from typing import Any, Optional, Union

from . import _core
from .hooks import _int
from .machine import Registers

UsageError = _core.UsageError


class ConsoleTimeout(TimeoutError):
    """``console.expect`` did not see its text in time (or the machine stopped first); ``output``
    holds what the console printed since the last match."""

    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output


class Console:
    """The machine's serial console (the UART): what the guest printed, and input for it.

    ``expect(text)`` runs the machine until ``text`` appears in output not yet consumed by an
    earlier ``expect``, then pauses it and returns everything up to and including the match.
    Matching is on substrings: prompts followed by terminal escapes (busybox's ``ESC[6n``) match."""

    def __init__(self, machine: "SystemMachine"):
        self._m = machine
        self._pos = 0  # output consumed by expect() so far (bytes)

    @property
    def output(self) -> str:
        """Everything the guest has printed."""
        return self._m._core.console_output(0).decode("utf-8", "replace")

    def read(self) -> str:
        """Output not consumed by ``expect`` yet (and consumes it)."""
        data = self._m._core.console_output(self._pos)
        self._pos += len(data)
        return data.decode("utf-8", "replace")

    def send(self, text: Union[str, bytes]) -> None:
        """Types ``text`` (str is UTF-8 encoded) into the console; the guest reads it as it runs."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        self._m._core.console_input(data)

    def expect(self, text: str, timeout: Optional[float] = 60.0) -> str:
        if not isinstance(text, str) or not text:
            raise UsageError("console.expect needs the text to wait for, a non-empty str")
        core = self._m._core
        core.wait_for_output(text.encode(), self._pos)
        try:
            end = core.run(0, float(timeout or 0))
        finally:
            core.wait_for_output(b"", 0)
        if end != "stopped":
            seen = core.console_output(self._pos).decode("utf-8", "replace")
            why = {"timeout": f"not seen within {timeout} s", "power_off": "the machine powered off first",
                   "reset": "the machine asked for a reset first", "idle": "the machine went idle for good first"}
            raise ConsoleTimeout(f"console.expect({text!r}): {why.get(end, end)}; last output: {seen[-300:]!r}", seen)
        match_end = core.console_match_end()
        out = core.console_output(self._pos)[: match_end - self._pos].decode("utf-8", "replace")
        self._pos = match_end
        return out


class Network:
    """The machine's network card (``m.add_network()``) as the host sees it: Ethernet frames.

    ``recv()`` returns the frames the guest sent (except what the built-in responder answered:
    ARP and ping for 10.0.2.2), oldest first; ``send(frame)`` delivers a frame to the guest (from
    any thread; the guest sees it as it runs)."""

    def __init__(self, core: Any):
        self._core = core

    def recv(self) -> list:
        return self._core.take_net_frames()

    def send(self, frame: Union[bytes, bytearray, memoryview]) -> None:
        self._core.net_receive(bytes(frame))

    def stats(self) -> dict:
        """Frames and bytes each way, and drops by reason."""
        return self._core.net_stats()


class PhysicalMemory:
    """The machine's RAM by physical address (``m.mem.read(0x80000000, 16)``)."""

    def __init__(self, core: Any):
        self._core = core

    @property
    def base(self) -> int:
        return self._core.ram_base

    @property
    def size(self) -> int:
        return self._core.ram_size

    def read(self, address: int, size: int) -> bytes:
        return self._core.ram_read(_int("address", address), _int("size", size))

    def write(self, address: int, data: Any) -> None:
        if isinstance(data, str):
            raise TypeError("mem.write takes bytes (or a buffer), not str: encode it first")
        self._core.ram_write(_int("address", address), memoryview(data).cast("B"))


# The CSR numbers scripts may name (m.csr("satp")).
_CSRS = {
    "sstatus": 0x100, "sie": 0x104, "stvec": 0x105, "scounteren": 0x106, "senvcfg": 0x10A,
    "sscratch": 0x140, "sepc": 0x141, "scause": 0x142, "stval": 0x143, "sip": 0x144,
    "stimecmp": 0x14D, "satp": 0x180, "mstatus": 0x300, "misa": 0x301, "medeleg": 0x302,
    "mideleg": 0x303, "mie": 0x304, "mtvec": 0x305, "mcounteren": 0x306, "menvcfg": 0x30A,
    "mscratch": 0x340, "mepc": 0x341, "mcause": 0x342, "mtval": 0x343, "mip": 0x344,
    "mhartid": 0xF14, "cycle": 0xC00, "time": 0xC01, "instret": 0xC02,
}


class SystemMachine:
    """A RISC-V ``virt`` machine in system mode; made by ``vmkit.Machine(arch, mode="system", ...)``."""

    def __init__(self, arch: str = "riscv64", *, memory: Union[str, int] = "512M", engine: str = "auto",
                 clock: str = "host", mmu: str = "sv48", insns_per_tick: int = 10):
        if isinstance(memory, int) and not isinstance(memory, bool):
            memory = str(memory)
        if not isinstance(memory, str):
            raise TypeError(f"memory is a size such as '512M' or a number of bytes, not {type(memory).__name__}")
        self._core = _core.SystemMachine(arch, memory, clock, mmu, engine, _int("insns_per_tick", insns_per_tick))
        self.arch = arch
        self.mode = "system"
        self.engine = engine
        self.mem = PhysicalMemory(self._core)
        self.regs = Registers(self._core)
        self.console = Console(self)

    def load_kernel(self, kernel: Union[str, os.PathLike], initrd: Optional[Union[str, os.PathLike]] = None,
                    append: str = "console=ttyS0", bios: Optional[Union[str, os.PathLike]] = None) -> None:
        """Loads a RISC-V Linux ``Image`` (Debian's vmlinuz is one) and an optional initrd as qemu's
        virt board does, and starts the kernel in S-mode with the device tree in a1; SBI calls are
        answered natively. With ``bios`` (a fw_dynamic firmware such as Debian's OpenSBI,
        /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin) the hart starts in M-mode at the
        reset vector, the firmware starts the kernel and answers its SBI calls. Raises
        ``vmkit.BootError`` before anything runs if a file is missing, is not a kernel, or does not
        fit in memory."""
        self._core.load_kernel(os.fspath(kernel), os.fspath(initrd) if initrd else "", str(append),
                               os.fspath(bios) if bios else "")

    def add_disk(self, image: Union[str, os.PathLike], readonly: bool = False) -> None:
        """Adds a virtio-blk disk backed by an image file (the first is the guest's /dev/vda);
        guest writes go to the file. Add disks before ``load_kernel``. Raises ``vmkit.BootError``
        if the file is missing, not writable (unless ``readonly``), or not whole 512-byte sectors."""
        self._core.add_disk(os.fspath(image), bool(readonly))

    def add_network(self, mac: str = "52:54:00:12:34:56", responder: bool = True) -> "Network":
        """Adds a virtio-net card (the guest's eth0) and returns ``m.net``: the host end, frames in
        and out from Python. With ``responder`` (the default), ARP and ping for 10.0.2.2 (qemu's
        user-network gateway address) are answered at once, so ``ping 10.0.2.2`` works in a guest
        with no host network. Add it before ``load_kernel``."""
        try:
            raw = bytes(int(part, 16) for part in mac.split(":"))
        except (AttributeError, ValueError):
            raw = b""
        if len(raw) != 6:
            raise UsageError(f"MAC address {mac!r}: write it as six hex bytes, e.g. '52:54:00:12:34:56'")
        self._core.add_virtio_net(raw, bool(responder))
        self.net = Network(self._core)
        return self.net

    def add_virtio_console(self) -> None:
        """Adds a virtio console (the guest's /dev/hvc0); its output joins ``console.output``."""
        self._core.add_virtio_console()

    RESET_VECTOR = 0x1000

    def reset(self, pc: int = RESET_VECTOR, priv: str = "M") -> None:
        """Bare metal: restarts the hart at ``pc`` in privilege ``priv`` ("M", "S" or "U") with its
        CSRs at their reset values (RAM is kept). The default is power-on: M-mode at the boot ROM,
        which jumps to the start of RAM (0x80000000) with a0 = 0, the hart id."""
        self._core.reset(_int("pc", pc), priv)

    def run(self, timeout: Optional[float] = None, max_insns: Optional[int] = None) -> str:
        """Runs until the guest powers off ("power_off") or asks for a reset ("reset"), the budgets
        run out ("timeout", "limit"), ``stop()`` ("stopped"), or — on the virtual clock — the hart
        waits for an interrupt nothing can raise ("idle"). The GIL is released meanwhile."""
        return self._core.run(_int("max_insns", max_insns or 0), float(timeout or 0))

    def stop(self) -> None:
        """Makes a ``run`` in another thread return "stopped" soon."""
        self._core.stop()

    @property
    def power_state(self) -> str:
        """"on", "off" (after power-off) or "reset" (after a reboot request)."""
        return self._core.power_state

    @property
    def priv(self) -> str:
        """The hart's privilege level now: "M", "S" or "U"."""
        return self._core.priv

    def csr(self, name: Union[str, int]) -> int:
        """A CSR's value as M-mode reads it (by name, e.g. "satp", or number)."""
        number = _CSRS.get(name) if isinstance(name, str) else name
        if number is None:
            raise UsageError(f"unknown CSR name {name!r}: use one of {', '.join(sorted(_CSRS))} or a number")
        return self._core.csr_read(_int("csr", number))

    @property
    def mtime(self) -> int:
        """The machine timer (10 MHz ticks)."""
        return self._core.mtime

    def dtb(self) -> bytes:
        """The device tree blob the kernel gets (``dtc -I dtb`` decompiles it)."""
        return self._core.dtb()

    def tlb_stats(self) -> dict:
        """Address-translation statistics: ``fast`` (the per-access tables: hits, misses, fills,
        faults, flushes), and ``itlb``/``dtlb`` (the ASID-tagged second level: lookups = hits + misses,
        fills, evictions, flushes by kind). ``hit_rate`` is the share of memory accesses the fast
        tables served."""
        d = self._core.tlb_stats()
        f = d["fast"]
        total = f["hits"] + f["misses"]
        d["hit_rate"] = f["hits"] / total if total else 0.0
        return d

    def stats(self) -> dict:
        """Execution statistics: instructions, translations, code writes, device accesses, and
        ``virtio_errors``: per virtio device, why it stopped serving a broken ring ("" if it did not)."""
        d = self._core.stats()
        d["virtio_errors"] = self._core.virtio_errors()
        return d
