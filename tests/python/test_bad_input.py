"""Bad input never crashes or hangs vmkit: programs that cannot be loaded raise a specific exception
with a message that says what is wrong (and the CLI prints one line and exits with status 1); guest
programs that fault die of the same signal as under qemu-riscv64, with a diagnostic naming the pc and
the instruction."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (DYNAMIC_O2, FAULT_DIR, STATIC_O2, X86_64, compare_with_qemu, elf_code_at, elf_symbol_address,
                      run_vmkit)

CLI_TIMEOUT = 120


def load_error(vmkit, path, sysroot=None):
    """Runs ``path`` with vmkit.linux.run (in a child process, so a crash cannot take the test run
    down), expecting it to be refused before it starts; returns the exception."""
    with pytest.raises(vmkit.VmkitError) as info:
        run_vmkit(Path(path), sysroot=sysroot, timeout=60)
    return info.value


def run_cli(*args, timeout=CLI_TIMEOUT):
    return subprocess.run([sys.executable, "-m", "vmkit", "run", *map(str, args)], capture_output=True, timeout=timeout)


def assert_one_line_error(r, *needles):
    assert r.returncode == 1, r
    err = r.stderr.decode()
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line message, got:\n{err}"
    assert lines[0].startswith("vmkit: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n.lower() in err.lower(), f"{n!r} not in {err!r}"


@pytest.fixture
def riscv_static(guest_builder):
    return guest_builder.build(Path(__file__).parents[1] / "guest" / "return42.c", STATIC_O2)


def test_not_an_elf(vmkit_module, tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some text, not a program\n")
    e = load_error(vmkit_module, p)
    assert isinstance(e, vmkit_module.ElfError)
    assert "not an ELF" in str(e)
    assert_one_line_error(run_cli(p), "not an ELF")


def test_elf_for_another_machine(vmkit_module, tmp_path):
    """The host's /bin/true relabelled as an s390 program: a real ELF for a machine vmkit does not run."""
    data = bytearray(Path(shutil.which("true") or "/bin/true").resolve().read_bytes())
    data[18:20] = (22).to_bytes(2, "little")  # e_machine = EM_S390
    prog = tmp_path / "s390-true"
    prog.write_bytes(bytes(data))
    prog.chmod(0o755)
    e = load_error(vmkit_module, prog)
    assert isinstance(e, vmkit_module.ElfError)
    # The message must name what the file is for and what vmkit wants.
    assert re.search(r"s390|EM_S390", str(e)), str(e)
    assert "riscv64" in str(e) and "x86_64" in str(e), str(e)
    assert_one_line_error(run_cli(prog), "riscv")


def test_truncated_elf(vmkit_module, riscv_static, tmp_path):
    p = tmp_path / "truncated"
    p.write_bytes(riscv_static.read_bytes()[:100])
    e = load_error(vmkit_module, p)
    assert isinstance(e, vmkit_module.ElfError)
    assert re.search(r"truncated|corrupt", str(e)), str(e)
    assert_one_line_error(run_cli(p), "truncated")


def test_empty_file(vmkit_module, tmp_path):
    p = tmp_path / "empty"
    p.write_bytes(b"")
    e = load_error(vmkit_module, p)
    assert isinstance(e, vmkit_module.ElfError)


def test_missing_interpreter(vmkit_module, guest_builder, tmp_path):
    prog = guest_builder.build(Path(__file__).parents[1] / "guest" / "return42.c", DYNAMIC_O2)
    empty = tmp_path / "empty-sysroot"
    empty.mkdir()
    e = load_error(vmkit_module, prog, sysroot=str(empty))
    assert isinstance(e, vmkit_module.ElfError)
    assert "ld-linux-riscv64-lp64d.so.1" in str(e), str(e)
    assert "interpreter" in str(e)
    assert_one_line_error(run_cli("-L", empty, prog), "ld-linux-riscv64-lp64d.so.1")


def test_nonexistent_path(vmkit_module, tmp_path):
    p = tmp_path / "no-such-program"
    e = load_error(vmkit_module, p)
    assert isinstance(e, vmkit_module.UsageError)
    assert "no-such-program" in str(e)
    assert_one_line_error(run_cli(p), "no-such-program")


def test_directory_as_program(vmkit_module, tmp_path):
    e = load_error(vmkit_module, tmp_path)
    assert isinstance(e, (vmkit_module.UsageError, vmkit_module.ElfError))
    assert_one_line_error(run_cli(tmp_path))


def test_bad_sysroot_and_argv(vmkit_module, riscv_static, tmp_path):
    with pytest.raises(vmkit_module.UsageError, match="sysroot"):
        vmkit_module.linux.run(str(riscv_static), sysroot=str(tmp_path / "nope"))
    with pytest.raises(vmkit_module.UsageError, match="argv"):
        vmkit_module.linux.run(str(riscv_static), "return42")


# --- guests that fault -------------------------------------------------------------------------


def hex_values(text: str) -> set:
    return {int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]+)", text)}


FAULTS = {
    # program: (signal, how to find the faulting pc)
    "jump_garbage": (-11, "target"),
    "illegal": (-4, "fault_insn"),
    "unmapped": (-11, "fault_insn"),
}


@pytest.mark.parametrize("engine", ["interp", "jit"])
@pytest.mark.parametrize("name", sorted(FAULTS))
def test_faulting_guest(name, engine, guest_arch, guest_builder, vmkit_module):
    """A fault is delivered with the exact guest pc, interpreted or inside compiled code; an
    undefined instruction's diagnostic shows its pc and its bytes (the 32-bit word on A64)."""
    prog = guest_builder.build(FAULT_DIR / f"{name}.c", STATIC_O2, guest_arch)
    ref, got = compare_with_qemu(prog, vmkit_timeout=60, engine=engine)
    signal, where = FAULTS[name]
    assert ref.returncode == signal
    assert b"still alive" not in got.stdout
    report = got.stderr.decode(errors="replace") + "\n".join(got.diagnostics)
    if where == "target":
        pc, insn = 0x5A5A5A5A000, None  # nothing is mapped there: no instruction bytes to show
    else:
        pc = elf_symbol_address(prog, where)
        insn, _ = elf_code_at(prog, pc)
    values = hex_values(report)
    assert pc in values, f"diagnostic does not name pc {pc:#x}: {report!r}"
    if insn is not None and guest_arch is X86_64:
        # x86 instructions have no fixed length: the report gives the disassembly and the bytes,
        # "ud2 (0f 0b)", which begin the 4 bytes at pc.
        shown = re.search(r"\(((?:[0-9a-f]{2} )*[0-9a-f]{2})\)", report)
        assert shown, f"diagnostic does not show the instruction bytes: {report!r}"
        code = insn.to_bytes(4, "little")
        shown_bytes = bytes.fromhex(shown.group(1).replace(" ", ""))
        assert shown_bytes[:4] == code[: len(shown_bytes)], (shown_bytes, code, report)
    elif insn is not None:
        assert insn in values, f"diagnostic does not show the instruction {insn:#x}: {report!r}"


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_faulting_guest_via_cli(name, guest_arch, guest_builder, vmkit_module):
    """The CLI dies of the guest's signal, exactly like qemu-user does under subprocess."""
    prog = guest_builder.build(FAULT_DIR / f"{name}.c", STATIC_O2, guest_arch)
    q = subprocess.run(guest_arch.reference_command(prog), capture_output=True, timeout=60)
    v = run_cli(prog)
    assert v.returncode == q.returncode == FAULTS[name][0], (v, q)
    assert v.stdout == q.stdout
    assert b"pc=" in v.stderr or b"pc " in v.stderr, v.stderr


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_x86_instruction_vmkit_does_not_implement(engine, guest_builder, vmkit_module, tmp_path):
    """An AVX instruction (the host runs it; vmkit's CPUID does not offer AVX and vmkit does not lift
    it) is a SIGILL for the guest, which a handler sees as ILL_ILLOPN at the instruction, and - when
    unhandled - a diagnostic with the pc, Zydis' mnemonic and the bytes."""
    src = tmp_path / "avx.c"
    src.write_text(
        "#define _GNU_SOURCE\n#include <signal.h>\n#include <stdio.h>\n#include <string.h>\n#include <ucontext.h>\n"
        "static void on_ill(int s, siginfo_t *si, void *ucv) {\n"
        "  ucontext_t *uc = ucv;\n"
        "  printf(\"SIGILL code %d at the insn %d\\n\", si->si_code,\n"
        "         (void *)uc->uc_mcontext.gregs[REG_RIP] == si->si_addr);\n"
        "  uc->uc_mcontext.gregs[REG_RIP] += 4;\n"
        "}\n"
        "int main(int argc, char **argv) {\n"
        "  (void)argv;\n"
        "  if (argc > 1) {\n"
        "    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_ill; sa.sa_flags = SA_SIGINFO;\n"
        "    sigaction(SIGILL, &sa, NULL);\n"
        "  }\n"
        "  __asm__ volatile(\".globl avx_insn\\navx_insn: vaddps %%ymm2, %%ymm1, %%ymm0\" ::: \"xmm0\");\n"
        "  printf(\"after\\n\");\n"
        "  return 0;\n"
        "}\n"
    )
    prog = guest_builder.build(src, STATIC_O2, X86_64)
    pc = elf_symbol_address(prog, "avx_insn")
    died = run_vmkit(prog, engine=engine)
    assert died.returncode == -4 and died.stdout == b"", died
    report = died.stderr.decode(errors="replace") + "\n".join(died.diagnostics)
    assert f"pc={pc:#x}" in report and "vaddps ymm0, ymm1, ymm2 (c5 f4 58 c2)" in report, report
    handled = run_vmkit(prog, ["handle"], engine=engine)
    assert handled.returncode == 0, handled
    assert handled.stdout == b"SIGILL code 2 at the insn 1\nafter\n", handled  # 2: ILL_ILLOPN


def test_strict_unknown_syscall(vmkit_module, guest_builder, tmp_path):
    """An unknown syscall number: under qemu it fails with ENOSYS; vmkit must agree by default and,
    with strict=True, report it as UnsupportedSyscallError naming the number."""
    src = tmp_path / "nosys.c"
    src.write_text(
        "#include <stdio.h>\n#include <errno.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n"
        "int main(void) { long r = syscall(4000, 1, 2, 3); printf(\"r=%ld errno=%d\\n\", r, errno); return 0; }\n"
    )
    prog = guest_builder.build(src, STATIC_O2)
    ref, got = compare_with_qemu(prog, vmkit_timeout=60)
    assert ref.stdout == b"r=-1 errno=38\n"
    with pytest.raises(vmkit_module.UnsupportedSyscallError, match="4000"):
        run_vmkit(prog, strict=True, timeout=60)
