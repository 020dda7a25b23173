"""The vmkit command line: ``vmkit run [-L SYSROOT] PROG ARGS...`` behaves like qemu-riscv64."""

from __future__ import annotations

import argparse
import os
import sys

from vmkit import ElfError, UnsupportedSyscallError, UsageError, VmkitError
from vmkit.linux import ENGINES


def _die_of_signal(signo: int) -> None:
    """End this process the way the guest ended: killed by the same signal (as qemu-user does),
    without a core dump of the host process."""
    import signal  # here: the module builds its enums at import (~1 ms), most runs end by exiting

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signo, signal.SIG_DFL)
    os.kill(os.getpid(), signo)
    os._exit(128 + signo)  # only if the signal did not end us (it is blocked or ignored)


def cmd_run(args: argparse.Namespace) -> int:
    from vmkit import linux

    sysroot = args.sysroot or os.environ.get("QEMU_LD_PREFIX") or None
    env = dict(os.environ)
    for assignment in args.set_env:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            print(f"vmkit: -E wants NAME=VALUE, not {assignment!r}", file=sys.stderr)
            return 1
        env[name] = value
    for name in args.unset_env:
        env.pop(name, None)
    try:
        r = linux.run(
            args.program,
            [args.argv0 or args.program] + args.args,
            env=env,
            sysroot=sysroot,
            stdin=None,
            stdout=None,
            stderr=None,
            strict=args.strict,
            strace=args.strace,
            engine=args.engine,
        )
    except (ElfError, UsageError, UnsupportedSyscallError) as e:
        print(f"vmkit: {e}", file=sys.stderr)
        return 1
    except VmkitError as e:
        print(f"vmkit: {e}", file=sys.stderr)
        return 1
    if r.signal:
        _die_of_signal(r.signal)
    return r.exit_status


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="vmkit", description="vmkit: multi-architecture emulation toolkit")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a Linux program of another architecture (like qemu-user)")
    run.add_argument("-L", dest="sysroot", metavar="SYSROOT", help="where the guest's dynamic linker and libraries live (e.g. /usr/riscv64-linux-gnu)")
    run.add_argument("-0", dest="argv0", metavar="ARGV0", help="argv[0] to pass to the program")
    run.add_argument("-E", dest="set_env", action="append", default=[], metavar="NAME=VALUE",
                     help="set an environment variable for the guest (repeatable), like qemu-user's -E")
    run.add_argument("-U", dest="unset_env", action="append", default=[], metavar="NAME",
                     help="remove an environment variable from the guest's (repeatable)")
    run.add_argument("--strict", action="store_true", help="stop with an error on an unsupported syscall")
    run.add_argument("--engine", choices=ENGINES, default="auto",
                     help="interp: the interpreter; jit: compile every block to host code; auto: compile hot blocks")
    run.add_argument("--strace", "-strace", action="store_true",
                     help="log every syscall with its arguments and result on stderr, like qemu-user's -strace")
    run.add_argument("program")
    run.add_argument("args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
