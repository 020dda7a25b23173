"""The vmkit command line.

``vmkit run [-L SYSROOT] PROG ARGS...`` behaves like qemu-riscv64; it is the native program
``vmkit-run`` (cpp/cli/run.cpp). ``vmkit boot --kernel IMAGE [--initrd FILE] [--append CMDLINE]``
boots a RISC-V Linux kernel in system mode, with the console on this terminal; it is the native
program ``vmkit-boot`` (cpp/cli/boot.cpp). Both are installed in this package and on PATH, and this
command runs them in place of itself, so neither costs more Python than this."""

from __future__ import annotations

import argparse
import os
import sys


def runner_path(command: str = "run") -> str:
    """Where the native program of ``vmkit run`` (vmkit-run) or ``vmkit boot`` (vmkit-boot) is: next
    to this module."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), f"vmkit-{command}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("run", "boot"):
        runner = runner_path(argv[0])
        if not os.access(runner, os.X_OK):
            print(f"vmkit: {runner} is missing: the package is incomplete, install it again (pip install .)",
                  file=sys.stderr)
            return 1
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(runner, [runner, *argv[1:]])  # does not return
    p = argparse.ArgumentParser(prog="vmkit", description="vmkit: multi-architecture emulation toolkit")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run a Linux program of another architecture (like qemu-user); "
                               "`vmkit run --help` lists its options", add_help=False)
    sub.add_parser("boot", help="boot a RISC-V Linux kernel in system mode (console on this terminal); "
                                "`vmkit boot --help` lists its options", add_help=False)
    p.parse_args(argv)
    return 2


if __name__ == "__main__":
    sys.exit(main())
