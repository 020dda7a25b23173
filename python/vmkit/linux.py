"""Linux user mode: run a Linux program built for another architecture (riscv64, aarch64 or x86_64, chosen
by the program's ELF machine), like qemu-user.

    r = vmkit.linux.run("prog", ["prog", "arg"])             # run it, capture its output

    p = vmkit.linux.Process("prog")                          # or script it with hooks
    p.hook_syscall(lambda p, nr: 42 if nr == 172 else None)  # getpid() returns 42
    r = p.run()
"""

from __future__ import annotations

import os
from typing import IO, Any, Callable, Mapping, NamedTuple, Optional, Sequence, Union

from vmkit import _core
from vmkit._core import UsageError
from vmkit.hooks import Hook, HookType, _Hookable, _is_c_function
from vmkit.machine import Memory, Registers

# subprocess.PIPE and subprocess.DEVNULL (the same values, so either module's can be passed),
# without importing subprocess (~3 ms) into every `vmkit run`.
PIPE = -1
DEVNULL = -3

FileArg = Union[None, int, IO, bytes]


class RunResult(NamedTuple):
    """What a guest program did.

    exit_status: its exit code (0..255) when it exited; signal: the signal number that killed it
    (0 if it exited); stdout / stderr: captured output (bytes) when asked for with PIPE, else None;
    diagnostics: vmkit's own reports (unsupported syscalls, fatal signals).
    """

    exit_status: int
    signal: int
    stdout: Optional[bytes]
    stderr: Optional[bytes]
    diagnostics: list
    insns: int = 0
    stopped: bool = False  #: a hook stopped the program before it ended

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
        import tempfile  # here, not at the top: only stdin given as bytes needs it, `vmkit run` does not

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
        import tempfile  # here, not at the top: only capturing needs it, `vmkit run` passes its own fds

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


class Process(_Hookable):
    """A Linux program to run under vmkit, with hooks (like qemu-user, scriptable).

    ``Process(path, argv, env, sysroot, stdin, stdout, stderr, strict, strace)`` takes the
    arguments of :func:`run`; add hooks with the ``hook_*`` methods, then call :meth:`run`. While it
    runs (in hooks), ``regs`` and ``mem`` are the registers and memory of the running guest thread.
    ``stop()`` from a hook ends the program (``RunResult.stopped``). ``arch`` is the program's
    architecture ("riscv64", "aarch64" or "x86_64"; for a ``#!`` script, its interpreter's), which names the
    registers.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        argv: Optional[Sequence[str]] = None,
        env: Optional[Mapping[str, str]] = None,
        sysroot: Optional[Union[str, os.PathLike]] = None,
        stdin: FileArg = None,
        stdout: FileArg = PIPE,
        stderr: FileArg = PIPE,
        strict: bool = False,
        strace: bool = False,
        engine: str = "auto",
    ):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise UsageError(f"program {path!r} does not exist")
        if argv is None:
            argv = [path]
        if isinstance(argv, (str, bytes)):
            raise UsageError("argv must be a sequence of strings, e.g. ['prog', 'arg1'], not a single string")
        if env is None:
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        sysroot = os.fspath(sysroot) if sysroot is not None else ""
        if sysroot and not os.path.isdir(sysroot):
            raise UsageError(f"sysroot {sysroot!r} is not a directory")
        self.path = path
        self.argv = [os.fspath(a) for a in argv]
        self.env = dict(env)
        self.sysroot = sysroot
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.strict, self.strace = bool(strict), bool(strace)
        if engine not in ENGINES:
            raise UsageError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.engine = engine
        self._core = _core.LinuxProcess(path, sysroot)
        self._core._set_owner(self)
        self._hooks: dict = {}
        self.arch = self._core.arch
        self.regs = Registers(self._core)
        self.mem = ProcessMemory(self._core)

    def hook_syscall(self, callback: Callable, *, user_data: int = 0) -> Hook:
        """``callback(process, number) -> None | int`` before each syscall (pc at the ecall or svc;
        the arguments in ``regs.a0``..``regs.a5`` on riscv64, ``regs.x0``..``regs.x5`` on aarch64,
        ``regs.rdi``, ``rsi``, ``rdx``, ``r10``, ``r8``, ``r9`` on x86_64 (number in ``rax``),
        which the hook may change). Return None to let the syscall run, or an int to skip it and
        make that its result."""
        if callable(callback) and not isinstance(callback, int) and not _is_c_function(callback):
            user = callback
            ret = _RETURN_REGISTER[self.arch]

            def run_syscall(proc: "Process", number: int) -> bool:
                result = user(proc, number)
                if result is None:
                    return False
                if isinstance(result, bool) or not isinstance(result, int):
                    raise TypeError(f"a syscall hook returns None or an int result, not {type(result).__name__}")
                proc.regs[ret] = result & (2**64 - 1)
                return True

            return self._add(HookType.SYSCALL, run_syscall, 0, None)
        return self._add(HookType.SYSCALL, callback, 0, None, user_data)

    def run(self, timeout: Optional[float] = None) -> RunResult:
        """Runs the program to its end (or until a hook stops it, or ``timeout`` seconds pass —
        checked while hooks run); raises what a hook raised."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise UsageError(f"timeout must be positive seconds or None (got {timeout!r})")
        closers: list = []
        try:
            in_fd = _input_fd(self.stdin, closers)
            out_fd, out_file = _output_fd(self.stdout, 1, "stdout", closers)
            err_fd, err_file = _output_fd(self.stderr, 2, "stderr", closers)
            env_list = [f"{k}={v}" for k, v in self.env.items()]
            # vmkit's own diagnostics go with the guest's stderr, as qemu-user's do.
            r = self._core.run(self.path, self.argv, env_list, self.sysroot, in_fd, out_fd, err_fd, self.strict,
                               err_fd, self.strace, float(timeout or 0), self.engine)
            captured = []
            for f in (out_file, err_file):
                if f is None:
                    captured.append(None)
                else:
                    f.seek(0)
                    captured.append(f.read())
            return RunResult(r.exit_status, r.signal, captured[0], captured[1], r.diagnostics.splitlines(), r.insns,
                             r.stopped)
        finally:
            for c in reversed(closers):
                c()


class ProcessMemory:
    """The memory of a running process (from hooks): read, write, regions."""

    def __init__(self, core: Any):
        self._core = core

    read = Memory.read
    write = Memory.write
    regions = Memory.regions


_RETURN_REGISTER = {"riscv64": "a0", "aarch64": "x0", "x86_64": "rax"}
#: The execution engines (see vmkit.Machine.engine).
ENGINES = ("interp", "jit", "auto")


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
    engine: str = "auto",
) -> RunResult:
    """Run the Linux program at ``path`` under vmkit and wait for it to end.

    argv defaults to ``[path]``; env to a minimal environment (PATH only); sysroot is where the
    dynamic linker and shared libraries of the guest are looked up (like qemu-user's -L), e.g.
    ``/usr/riscv64-linux-gnu`` (the default, when installed, is the Debian cross sysroot of the
    program's architecture: ``/usr/riscv64-linux-gnu`` or ``/usr/aarch64-linux-gnu``; x86_64 programs use the host's own libraries). stdout/stderr are captured by default (PIPE); pass None to
    inherit this process's, DEVNULL, a file descriptor, or a file object. stdin may be bytes.
    strict=True turns an unsupported syscall into an UnsupportedSyscallError. strace=True writes a
    line per syscall (``pid name(args) = result``) with vmkit's diagnostics, like qemu's -strace.
    Raises ElfError if the program cannot be loaded. engine: "interp" (the interpreter), "jit"
    (every block compiled to host code) or "auto" (hot blocks compiled). For hooks, use
    :class:`Process`.
    """
    return Process(path, argv, env, sysroot, stdin, stdout, stderr, strict, strace, engine).run()
