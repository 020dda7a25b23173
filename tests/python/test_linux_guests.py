"""Every guest program in tests/guest, built for every guest architecture (riscv64, aarch64) in four
builds (static/dynamic x -O0/-O2), must do under vmkit exactly what it does under qemu-user
(qemu-riscv64, qemu-aarch64) or, for x86-64, natively on the host: byte-identical stdout and the same
exit status or signal."""

from __future__ import annotations

import pytest

from conftest import GUEST_ENV, VARIANTS, compare_with_qemu, guest_sources

# Arguments and environment for programs that look at them; the others run without arguments.
EXTRA_ENV = {"env_argv": {"VMKIT_T_GREETING": "hello from the test", "VMKIT_T_EMPTY": ""}}
ARGS = {"env_argv": ["12", "two words", "", "30", "--flag=ü"]}

# What each program is known to end with under qemu, checked too so that a broken build or a
# broken reference cannot make both sides agree on a wrong answer.
EXPECTED_STATUS = {"integer": 18, "abort": -6, "exit_status": 3, "return42": 42, "env_argv": 6}
# (integer.c's status is a checksum of hardware division results, which differ: A64 divides by 0 to 0,
# x86-64 traps)
EXPECTED_STATUS_BY_ARCH = {"aarch64": {"integer": 7}, "x86_64": {"integer": 25}}


@pytest.mark.parametrize("engine", ["interp", "jit"])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
@pytest.mark.parametrize("source", guest_sources(), ids=lambda p: p.stem)
def test_guest_matches_qemu(source, variant, engine, guest_arch, guest_builder, vmkit_module, tmp_path):
    prog = guest_builder.build(source, variant, guest_arch)
    name = source.stem
    args = list(ARGS.get(name, []))
    if name == "files":
        # files.c works in the directory it is given and leaves it empty.
        work = tmp_path / "work"
        work.mkdir()
        args = [str(work)]
    env = dict(GUEST_ENV, **EXTRA_ENV.get(name, {}))
    ref, got = compare_with_qemu(prog, args, sysroot=variant.sysroot(guest_arch), env=env, cwd=tmp_path, engine=engine)
    assert ref.stdout, f"{name} printed nothing under {guest_arch.reference}"
    expected = dict(EXPECTED_STATUS, **EXPECTED_STATUS_BY_ARCH.get(guest_arch.name, {}))
    assert ref.returncode == expected.get(name, 0), ref.stderr
    if name == "files":
        assert list((tmp_path / "work").iterdir()) == []
