"""System mode: a user's mistakes are clear errors, raised before the guest starts."""

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

import vmkit


@pytest.fixture(scope="module")
def kernel() -> Path:
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    return Path(r.stdout.split()[0])


def machine(memory="512M"):
    return vmkit.Machine("riscv64", mode="system", memory=memory, clock="virtual")


def test_a_file_that_is_not_a_kernel(tmp_path):
    with pytest.raises(vmkit.BootError, match=r"kernel '/bin/ls'.*ELF for x86-64"):
        machine().load_kernel("/bin/ls")
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a kernel at all" * 10)
    with pytest.raises(vmkit.BootError, match=r"not a RISC-V Linux Image"):
        machine().load_kernel(text)


def test_a_compressed_kernel_says_to_decompress_it(kernel, tmp_path):
    gz = tmp_path / "vmlinuz.gz"
    with open(kernel, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    with pytest.raises(vmkit.BootError, match=r"gzip.*decompress"):
        machine().load_kernel(gz)


def test_missing_files_are_named(kernel, tmp_path):
    with pytest.raises(vmkit.BootError, match=r"kernel '.*/nope'.*No such file"):
        machine().load_kernel(tmp_path / "nope")
    with pytest.raises(vmkit.BootError, match=r"initrd '.*/missing.gz'.*No such file"):
        machine().load_kernel(kernel, initrd=tmp_path / "missing.gz")


def test_an_initrd_that_does_not_fit_suggests_more_memory(kernel, tmp_path):
    big = tmp_path / "big-initrd"
    with open(big, "wb") as f:
        f.truncate(40 << 20)  # 40 MiB after a 35.6 MiB kernel in 64 MiB of RAM
    m = machine("64M")
    with pytest.raises(vmkit.BootError, match=r"initrd \(40 MiB\) does not fit in 64 MiB.*use memory='"):
        m.load_kernel(kernel, initrd=big)
    # Nothing ran and nothing changed: the machine is still usable.
    assert m.power_state == "on"


def test_bad_machine_settings():
    with pytest.raises(vmkit.UsageError, match=r"memory='16M' is too small"):
        vmkit.Machine("riscv64", mode="system", memory="16M")
    with pytest.raises(vmkit.UsageError, match="memory"):
        vmkit.Machine("riscv64", mode="system", memory="lots")
    with pytest.raises(vmkit.UsageError, match=r"system mode emulates riscv64"):
        vmkit.Machine("aarch64", mode="system")
    with pytest.raises(vmkit.UsageError, match=r"clock 'wall'"):
        vmkit.Machine("riscv64", mode="system", clock="wall")
    with pytest.raises(vmkit.UsageError, match=r"mode 'kernel'"):
        vmkit.Machine("riscv64", mode="kernel")
    with pytest.raises(vmkit.UsageError, match=r"unknown CSR name"):
        machine().csr("sfoo")
