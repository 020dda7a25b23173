"""Linux user mode: run a Linux program built for another architecture, like qemu-user."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import IO, Mapping, Optional, Sequence, Union

from vmkit import _core
from vmkit._core import UsageError

PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL

FileArg = Union[None, int, IO, bytes]


@dataclass
class RunResult:
    """What a guest program did.

    exit_status: its exit code (0..255) when it exited; signal: the signal number that killed it
    (0 if it exited); stdout / stderr: captured output (bytes) when asked for with PIPE, else None;
    diagnostics: vmkit's own reports (unsupported syscalls, fatal signals).
    """

    exit_status: int
    signal: int
    stdout: Optional[bytes]
    stderr: Optional[bytes]
    diagnostics: list = field(default_factory=list)
    insns: int = 0

    @property
    def returncode(self) -> int:
        """Like subprocess: the exit status, or -N if killed by signal N."""
        return -self.signal if self.signal else self.exit_status


def _input_fd(stdin: FileArg, closers: list) -> int:
    if stdin is None:
        return 0
    if stdin == DEVNULL:
        fd = os.open(os.devnull, os.O_RDONLY)
        closers.append(lambda: os.close(fd))
        return fd
    if isinstance(stdin, (bytes, bytearray)):
        f = tempfile.TemporaryFile()
        f.write(stdin)
        f.seek(0)
        closers.append(f.close)
        return f.fileno()
    if isinstance(stdin, int):
        return stdin
    if hasattr(stdin, "fileno"):
        return stdin.fileno()
    raise UsageError(f"stdin must be None, DEVNULL, bytes, a file descriptor or a file object, not {type(stdin).__name__}")


def _output_fd(arg: FileArg, default_fd: int, name: str, closers: list):
    """Returns (host fd, capture file or None)."""
    if arg is None:
        return default_fd, None
    if arg == PIPE:
        f = tempfile.TemporaryFile()
        closers.append(f.close)
        return f.fileno(), f
    if arg == DEVNULL:
        fd = os.open(os.devnull, os.O_WRONLY)
        closers.append(lambda: os.close(fd))
        return fd, None
    if isinstance(arg, int) and arg >= 0:
        return arg, None
    if hasattr(arg, "fileno"):
        if hasattr(arg, "flush"):
            arg.flush()
        return arg.fileno(), None
    raise UsageError(f"{name} must be None, PIPE, DEVNULL, a file descriptor or a file object, not {type(arg).__name__}")


def run(
    path: Union[str, os.PathLike],
    argv: Optional[Sequence[str]] = None,
    env: Optional[Mapping[str, str]] = None,
    sysroot: Optional[Union[str, os.PathLike]] = None,
    stdin: FileArg = None,
    stdout: FileArg = PIPE,
    stderr: FileArg = PIPE,
    strict: bool = False,
    strace: bool = False,
) -> RunResult:
    """Run the Linux program at ``path`` under vmkit and wait for it to end.

    argv defaults to ``[path]``; env to a minimal environment (PATH only); sysroot is where the
    dynamic linker and shared libraries of the guest are looked up (like qemu-user's -L), e.g.
    ``/usr/riscv64-linux-gnu``. stdout/stderr are captured by default (PIPE); pass None to
    inherit this process's, DEVNULL, a file descriptor, or a file object. stdin may be bytes.
    strict=True turns an unsupported syscall into an UnsupportedSyscallError. strace=True writes a
    line per syscall (``pid name(args) = result``) with vmkit's diagnostics, like qemu's -strace.
    Raises ElfError if the program cannot be loaded.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UsageError(f"program {path!r} does not exist")
    if argv is None:
        argv = [path]
    if isinstance(argv, (str, bytes)):
        raise UsageError("argv must be a sequence of strings, e.g. ['prog', 'arg1'], not a single string")
    argv = [os.fspath(a) for a in argv]
    if env is None:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    env_list = [f"{k}={v}" for k, v in env.items()]
    sysroot = os.fspath(sysroot) if sysroot is not None else ""
    if sysroot and not os.path.isdir(sysroot):
        raise UsageError(f"sysroot {sysroot!r} is not a directory")
    closers: list = []
    try:
        in_fd = _input_fd(stdin, closers)
        out_fd, out_file = _output_fd(stdout, 1, "stdout", closers)
        err_fd, err_file = _output_fd(stderr, 2, "stderr", closers)
        # vmkit's own diagnostics go with the guest's stderr, as qemu-user's do.
        r = _core.run_linux(path, argv, env_list, sysroot, in_fd, out_fd, err_fd, bool(strict), err_fd, bool(strace))
        captured = []
        for f in (out_file, err_file):
            if f is None:
                captured.append(None)
            else:
                f.seek(0)
                captured.append(f.read())
        return RunResult(r.exit_status, r.signal, captured[0], captured[1], r.diagnostics.splitlines(), r.insns)
    finally:
        for c in reversed(closers):
            c()
