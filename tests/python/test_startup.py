"""What start-up loads: `vmkit run` is measured against qemu-user in fresh processes, so neither
`import vmkit` nor a run may pull in what it does not use. These tests check behaviour (which
libraries and modules get loaded), not time: libLLVM (linked only by vmkit._asm, the assembler)
must stay out until the first vmkit.asm() call, which must then work in the same process; and
`vmkit run` is the native vmkit-run, which links neither Python nor LLVM."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import STATIC_O2

TIMEOUT = 120

# Prints, as JSON, what the process has loaded at that point: whether libLLVM is mapped, and which
# of the modules that start-up avoids are imported.
_REPORT = """
def _loaded():
    import sys
    with open("/proc/self/maps") as f:
        llvm = "libLLVM" in f.read()
    lazy = ("vmkit._asm", "ctypes", "subprocess")
    return {"llvm": llvm, "modules": [m for m in lazy if m in sys.modules]}
"""

_IMPORT_THEN_ASM = _REPORT + """
import json
import vmkit
after_import = _loaded()
code = vmkit.asm("riscv64", "li a0, 42\\nret", 0x1000)
print(json.dumps({"after_import": after_import, "after_asm": _loaded(), "code": code.hex()}))
"""

def _child(script: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_import_does_not_load_llvm_and_asm_then_works():
    r = _child(_IMPORT_THEN_ASM)
    assert r["after_import"] == {"llvm": False, "modules": []}
    assert r["code"] == "1305a0028280"  # li a0, 42 (addi a0, zero, 42); c.ret
    # The check above can see LLVM: after the assembler ran, it is mapped.
    assert r["after_asm"]["llvm"] is True
    assert "vmkit._asm" in r["after_asm"]["modules"]


def test_cli_run_is_the_native_runner_without_python_or_llvm(guest_builder, tmp_path):
    from vmkit.cli import runner_path

    src = tmp_path / "trivial.c"
    src.write_text("int main(void) { return 7; }\n")
    prog = guest_builder.build(src, STATIC_O2)
    r = subprocess.run([sys.executable, "-m", "vmkit", "run", str(prog)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 7, r.stderr
    libs = subprocess.run(["ldd", runner_path()], capture_output=True, text=True, timeout=TIMEOUT).stdout
    assert "libc.so" in libs, libs  # (ldd did list the libraries)
    assert "libLLVM" not in libs and "libpython" not in libs, libs
    r = subprocess.run([runner_path(), str(prog)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 7, r.stderr


def test_native_hook_is_made_on_first_use():
    """NATIVE_HOOK (which needs ctypes) is built when first asked for, the same object by every name."""
    import vmkit
    import vmkit.hooks
    import vmkit.machine

    assert vmkit.NATIVE_HOOK is vmkit.hooks.NATIVE_HOOK is vmkit.machine.NATIVE_HOOK
    assert "NATIVE_HOOK" in vmkit.__all__
