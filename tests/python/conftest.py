"""Shared fixtures for vmkit's pytest suite.

Guest programs (tests/guest/*.c) are compiled with Debian's cross compilers (riscv64 and aarch64)
and the host's gcc (x86_64) into a per-session cache in four variants (static/dynamic x -O0/-O2).
Every guest test runs the same binary with the same arguments under the reference - qemu-user
(qemu-riscv64, qemu-aarch64), or for x86-64 the host CPU itself - and under vmkit, and compares
what they did.

vmkit runs in a child Python process (calling ``vmkit.linux.run`` there) so that a guest that makes
vmkit hang is stopped by a timeout instead of hanging the whole suite.
"""

from __future__ import annotations

import base64
import difflib
import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST_DIR = REPO / "tests" / "guest"
FAULT_DIR = GUEST_DIR / "faults"


@dataclass(frozen=True)
class GuestArch:
    """A guest architecture's tools: its cross compiler, its qemu-user command (the reference; empty
    where the host runs the programs itself) and its sysroot for dynamically linked programs."""

    name: str
    cross_cc: str
    qemu: tuple
    sysroot: str
    nm: str
    e_machine: int  # the ELF header's machine number

    @property
    def reference(self) -> str:
        """What the reference is called in messages: "qemu-aarch64", or "native"."""
        return self.qemu[0] if self.qemu else "native"

    def reference_command(self, prog, args=(), sysroot: Optional[str] = None) -> list:
        """The command that runs ``prog`` on the reference (qemu -L the sysroot, or the host)."""
        if not self.qemu:
            return [str(prog), *args]
        return [*self.qemu, "-L", sysroot or self.sysroot, str(prog), *args]

    def require_reference(self) -> None:
        """Skips the test when the reference emulator is not installed."""
        if self.qemu:
            _require_tool(self.qemu[0])


GUEST_ARCHES = {
    "riscv64": GuestArch("riscv64", "riscv64-linux-gnu-gcc", ("qemu-riscv64",), "/usr/riscv64-linux-gnu",
                         "riscv64-linux-gnu-nm", 243),
    # A Cortex-A76 is what vmkit presents to programs (FP, AdvSIMD, LSE atomics; no SVE or MTE): with
    # qemu's default "max" CPU glibc would take other code paths (same output, but less comparable).
    "aarch64": GuestArch("aarch64", "aarch64-linux-gnu-gcc", ("qemu-aarch64", "-cpu", "cortex-a76"),
                         "/usr/aarch64-linux-gnu", "aarch64-linux-gnu-nm", 183),
    # The host is x86-64: its own gcc builds the programs, its CPU and kernel are the reference and
    # its C library (in /) is the guest's.
    "x86_64": GuestArch("x86_64", "gcc", (), "/", "nm", 62),
}
RISCV64 = GUEST_ARCHES["riscv64"]
AARCH64 = GUEST_ARCHES["aarch64"]
X86_64 = GUEST_ARCHES["x86_64"]
# The riscv64 names the tests that are not about architectures use.
SYSROOT = RISCV64.sysroot
CROSS_CC = RISCV64.cross_cc
QEMU = RISCV64.qemu[0]


def arch_of(prog: Path) -> GuestArch:
    """The guest architecture of an ELF file, from its header."""
    (machine,) = struct.unpack_from("<H", Path(prog).read_bytes()[:20], 18)
    for arch in GUEST_ARCHES.values():
        if arch.e_machine == machine:
            return arch
    raise AssertionError(f"{prog} is not a riscv64, aarch64 or x86_64 ELF file (e_machine {machine})")

# Minimal, fixed environment for guests, so output never depends on the host's environment.
GUEST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/nonexistent"}

# qemu runs guests at near native speed; vmkit's interpreter is expected to be tens of times slower.
QEMU_TIMEOUT = 60
VMKIT_TIMEOUT = 300


@dataclass(frozen=True)
class Variant:
    """How a guest program is built: linking and optimisation level."""

    link: str  # "static" or "dynamic"
    opt: str  # "O0" or "O2"

    @property
    def id(self) -> str:
        return f"{self.link}-{self.opt}"

    def sysroot(self, arch: GuestArch = RISCV64) -> Optional[str]:
        """Where the dynamic linker and libraries come from; static programs need none."""
        return arch.sysroot if self.link == "dynamic" else None


VARIANTS = [Variant(link, opt) for link in ("static", "dynamic") for opt in ("O0", "O2")]
STATIC_O2 = Variant("static", "O2")
DYNAMIC_O2 = Variant("dynamic", "O2")


class EngineChoice:
    """The execution engine of the running test, for helpers that build machines or run guests:
    a module that says ``pytestmark = pytest.mark.usefixtures("each_engine")`` runs every test once
    per engine."""

    name = "auto"


@pytest.fixture(params=["interp", "jit"])
def each_engine(request):
    EngineChoice.name = request.param
    yield request.param
    EngineChoice.name = "auto"


def guest_sources() -> list:
    """The guest programs compared against qemu (faults/ holds the ones meant to die)."""
    return sorted(GUEST_DIR.glob("*.c"))


@dataclass
class Outcome:
    """What one run of a guest did, from either runner."""

    returncode: int  # like subprocess: exit status, or -N when killed by signal N
    stdout: bytes
    stderr: bytes
    diagnostics: tuple = ()


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")
    return path


@pytest.fixture(scope="session")
def cross_cc() -> str:
    return _require_tool(CROSS_CC)


@pytest.fixture(scope="session")
def qemu() -> str:
    return _require_tool(QEMU)


@pytest.fixture(params=list(GUEST_ARCHES))
def guest_arch(request) -> GuestArch:
    """Each guest architecture in turn, with its cross compiler and qemu (skips if they are missing)."""
    arch = GUEST_ARCHES[request.param]
    _require_tool(arch.cross_cc)
    arch.require_reference()
    return arch


class GuestBuilder:
    """Compiles guest programs once per session and architecture and hands out the cached binaries."""

    def __init__(self, cache: Path):
        self.cache = cache

    def build(self, source: Path, variant: Variant = STATIC_O2, arch: GuestArch = RISCV64) -> Path:
        source = Path(source)
        out = self.cache / f"{source.stem}-{arch.name}-{variant.id}"
        if out.exists():
            return out
        cmd = [_require_tool(arch.cross_cc), f"-{variant.opt}", "-g0", "-Wall", "-Wextra", "-o", str(out) + ".tmp", str(source)]
        if variant.link == "static":
            cmd.insert(1, "-static")
        # --as-needed keeps the dynamic binaries from depending on libraries they do not use.
        cmd += ["-Wl,--as-needed", "-lm", "-latomic"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.fail(f"cannot compile {source.name} ({variant.id}):\n{' '.join(cmd)}\n{r.stderr}")
        os.replace(str(out) + ".tmp", out)
        return out


@pytest.fixture(scope="session")
def guest_builder(tmp_path_factory) -> GuestBuilder:
    return GuestBuilder(tmp_path_factory.mktemp("guest-bin"))


def run_qemu(
    prog: Path,
    args: Sequence[str] = (),
    *,
    stdin: Optional[bytes] = None,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    timeout: float = QEMU_TIMEOUT,
) -> Outcome:
    """Runs ``prog`` on its architecture's reference: qemu-user (-L its sysroot, harmless for static
    programs), or the host itself for x86-64."""
    arch = arch_of(prog)
    r = subprocess.run(
        arch.reference_command(prog, args),
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=dict(env if env is not None else GUEST_ENV),
        cwd=cwd,
        timeout=timeout,
    )
    return Outcome(r.returncode, r.stdout, r.stderr)


# The child process that runs vmkit: reads a JSON request on stdin, writes a JSON result on stdout.
_VMKIT_CHILD = r"""
import base64, json, sys
req = json.load(sys.stdin)
try:
    import vmkit, vmkit.linux
except ImportError as e:
    sys.stdout.write(json.dumps({"exception": "ImportError", "message": str(e)}))
    sys.exit(0)
out = {}
try:
    r = vmkit.linux.run(req["prog"], req["argv"], env=req["env"], sysroot=req["sysroot"],
                        stdin=base64.b64decode(req["stdin"]), strict=req["strict"], engine=req["engine"])
    out = {"exit_status": r.exit_status, "signal": r.signal, "returncode": r.returncode,
           "stdout": base64.b64encode(r.stdout).decode(), "stderr": base64.b64encode(r.stderr).decode(),
           "diagnostics": [str(d) for d in r.diagnostics], "insns": r.insns}
except vmkit.VmkitError as e:
    out = {"exception": type(e).__name__, "message": str(e)}
sys.stdout.write(json.dumps(out))
"""


class VmkitRunError(AssertionError):
    """vmkit could not be imported in the child process."""


def run_vmkit(
    prog: Path,
    args: Sequence[str] = (),
    *,
    sysroot: Optional[str] = None,
    stdin: Optional[bytes] = None,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    strict: bool = False,
    timeout: float = VMKIT_TIMEOUT,
    engine: str = "auto",
) -> Outcome:
    """Runs ``prog`` with vmkit.linux.run (argv[0] = the path, as qemu passes it) in a child process.
    A vmkit exception in the child (ElfError, UsageError, ...) is raised here with the same type."""
    req = {
        "prog": str(prog),
        "argv": [str(prog), *args],
        "env": dict(env if env is not None else GUEST_ENV),
        "sysroot": sysroot,
        "stdin": base64.b64encode(stdin or b"").decode(),
        "strict": strict,
        "engine": engine,
    }
    try:
        r = subprocess.run(
            [sys.executable, "-c", _VMKIT_CHILD],
            input=json.dumps(req).encode(),
            capture_output=True,
            cwd=cwd,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"vmkit did not finish {prog.name} {' '.join(args)} within {timeout} s")
    if r.returncode != 0:
        # The child itself died: vmkit crashed the host process (a bug in vmkit, never guest behaviour).
        pytest.fail(
            f"the vmkit host process running {prog.name} died with status {r.returncode}:\n"
            f"{r.stderr.decode(errors='replace')[-3000:]}"
        )
    res = json.loads(r.stdout)
    if "exception" in res:
        if res["exception"] == "ImportError":
            raise VmkitRunError(f"cannot import vmkit: {res['message']}")
        import vmkit  # re-raise the child's exception as the same vmkit exception type

        raise getattr(vmkit, res["exception"], vmkit.VmkitError)(res["message"])
    return Outcome(
        res["returncode"],
        base64.b64decode(res["stdout"]),
        base64.b64decode(res["stderr"]),
        tuple(res["diagnostics"]),
    )


def _first_difference(expected: bytes, got: bytes, reference: str) -> str:
    """A short unified diff of two outputs, for assertion messages."""
    a = expected.decode(errors="replace").splitlines()
    b = got.decode(errors="replace").splitlines()
    diff = list(difflib.unified_diff(a, b, reference, "vmkit", n=2, lineterm=""))
    return "\n".join(diff[:40]) if diff else "(outputs differ only in bytes that do not show as lines)"


def compare_with_qemu(
    prog: Path,
    args: Sequence[str] = (),
    *,
    sysroot: Optional[str] = None,
    stdin: Optional[bytes] = None,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    vmkit_timeout: float = VMKIT_TIMEOUT,
    engine: str = "auto",
) -> tuple:
    """Runs ``prog args`` under both qemu-user (of the program's architecture) and vmkit and asserts
    that stdout is byte-identical and the exit status (or killing signal) is the same. Returns (qemu
    Outcome, vmkit Outcome)."""
    ref = run_qemu(prog, args, stdin=stdin, env=env, cwd=cwd)
    got = run_vmkit(prog, args, sysroot=sysroot, stdin=stdin, env=env, cwd=cwd, timeout=vmkit_timeout, engine=engine)
    label = f"{prog.name} {' '.join(args)}".strip()
    reference = arch_of(prog).reference
    assert got.stdout == ref.stdout, (
        f"{label}: stdout differs from {reference} ({len(ref.stdout)} vs {len(got.stdout)} bytes)\n"
        f"{_first_difference(ref.stdout, got.stdout, reference)}\nvmkit stderr: {got.stderr[-2000:]!r}\n"
        f"diagnostics: {got.diagnostics}"
    )
    assert got.returncode == ref.returncode, (
        f"{label}: exit status {got.returncode} under vmkit, {ref.returncode} under {reference}\n"
        f"vmkit stderr: {got.stderr[-2000:]!r}\ndiagnostics: {got.diagnostics}"
    )
    return ref, got


def busybox_for(arch: GuestArch) -> Path:
    """Path to Debian's statically linked busybox for arch, from scripts/guest_busybox.sh (which
    takes it from ../shared/guests, or downloads it from the Debian mirror)."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_busybox.sh"), arch.name], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"scripts/guest_busybox.sh could not provide busybox for {arch.name}:\n{r.stderr}")
    return Path(r.stdout.strip())


@pytest.fixture(scope="session")
def busybox(qemu) -> Path:
    """Debian's riscv64 busybox-static (see busybox_for)."""
    return busybox_for(RISCV64)


@pytest.fixture(scope="session")
def vmkit_module():
    """The installed vmkit package (``pip install .``); its absence is a failure, not a skip."""
    try:
        import vmkit
        import vmkit.linux  # noqa: F401
    except ImportError as e:
        pytest.fail(f"cannot import vmkit ({e}): install it with `pip install .` from {REPO}")
    return vmkit


def elf_symbol_address(prog: Path, name: str) -> int:
    """Address of symbol ``name`` in a guest binary (via its architecture's cross nm)."""
    nm = shutil.which(arch_of(prog).nm) or shutil.which("nm")
    out = subprocess.run([nm, str(prog)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise AssertionError(f"symbol {name} not found in {prog}")


def elf_code_at(prog: Path, vaddr: int) -> tuple:
    """The instruction at ``vaddr`` in an ELF64 file, as (value, length in bytes): 4 bytes for A64,
    2 or 4 for RISC-V (compressed or not)."""
    data = prog.read_bytes()
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:  # PT_LOAD
            off = p_offset + vaddr - p_vaddr
            (lo,) = struct.unpack_from("<H", data, off)
            if lo & 3 != 3 and arch_of(prog) is RISCV64:  # compressed: 16 bits
                return lo, 2
            return struct.unpack_from("<I", data, off)[0], 4
    raise AssertionError(f"{vaddr:#x} is not in a loaded segment of {prog}")


def console_shell(m, command: str, timeout: float = 600) -> str:
    """System mode: runs a command at the guest's shell prompt on the console and returns its
    output (without the echoed command line and the next prompt)."""
    m.console.send(command + "\n")
    out = m.console.expect("# ", timeout=timeout)
    body = out.split("\n", 1)[1] if "\n" in out else ""
    return body.rsplit("\n", 1)[0].replace("\r", "")
