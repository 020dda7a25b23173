"""System mode: Debian's riscv64 Linux kernel boots on vmkit's virt board into an initramfs whose
/init is Debian's busybox-static; shell commands run at the console, and the machine powers off.

The kernel and initramfs come from scripts/guest_initramfs.sh (the kernel .deb and busybox .deb in
../shared/guests). What the guest prints is checked against what it must be: the kernel release,
the ISA vmkit advertises, arithmetic, and a SHA-256 computed by the guest against the host's.
"""

import hashlib
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, console_shell

import vmkit

BOOT_TIMEOUT = 600  # seconds: generous for a loaded 2-core machine under the interpreter


@pytest.fixture(scope="session")
def linux_guest() -> tuple:
    """(vmlinuz, initrd.gz) built by scripts/guest_initramfs.sh."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh")], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        pytest.fail(f"scripts/guest_initramfs.sh failed:\n{r.stderr}")
    kernel, initrd = (Path(p) for p in r.stdout.split())
    return kernel, initrd


@pytest.fixture(scope="session")
def guest_busybox() -> Path:
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_busybox.sh"), "riscv64"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return Path(r.stdout.strip())


def shell(m, command: str) -> str:
    return console_shell(m, command, BOOT_TIMEOUT)


def test_linux_boots_to_busybox_shell_and_powers_off(linux_guest, guest_busybox, each_engine):
    kernel, initrd = linux_guest
    m = vmkit.Machine("riscv64", mode="system", memory="512M", engine=each_engine)
    m.load_kernel(kernel, initrd=initrd, append="console=ttyS0")
    boot_log = m.console.expect("vmkit-init: hello", timeout=BOOT_TIMEOUT)
    assert "Linux version 7.2.12+deb14-riscv64" in boot_log
    assert "Machine model: vmkit,riscv-virt" in boot_log
    assert "SBI specification v2.0 detected" in boot_log
    assert "Run /init as init process" in boot_log
    m.console.expect("# ", timeout=BOOT_TIMEOUT)
    shell(m, "dmesg -n 1")  # kernel messages off the console: they would interleave with output

    assert shell(m, "uname -r") == "7.2.12+deb14-riscv64"
    assert shell(m, "echo $((6*7))") == "42"
    cpuinfo = shell(m, "cat /proc/cpuinfo")
    isa = next(line for line in cpuinfo.splitlines() if line.startswith("isa"))
    assert "rv64imafdc" in isa and "zba_zbb_zbs" in isa and "sstc" in isa, isa
    assert "mmu\t\t: sv48" in cpuinfo
    # Real work in guest user space, checked against the host: SHA-256 of busybox's first 200 KB.
    digest = shell(m, "head -c 200000 /bin/busybox | sha256sum").split()[0]
    assert digest == hashlib.sha256(guest_busybox.read_bytes()[:200000]).hexdigest()
    # A child killed by a signal: the shell sees status 128 + SIGSEGV, and goes on.
    assert shell(m, "sh -c 'kill -SEGV $$'; echo status=$?").endswith("status=139")

    m.console.send("poweroff -f\n")
    assert m.run(timeout=BOOT_TIMEOUT) == "power_off"
    assert m.power_state == "off"
    assert "reboot: Power down" in m.console.output

    s = m.tlb_stats()
    for side in ("itlb", "dtlb"):
        t = s[side]
        assert t["lookups"] == t["hits"] + t["misses"] > 0, (side, t)
    assert s["fast"]["hits"] > 0 and 0.5 < s["hit_rate"] <= 1.0, s
    assert s["dtlb"]["flushes_all"] + s["dtlb"]["flushes_page"] + s["dtlb"]["flushes_asid"] > 0
    st = m.stats()
    assert st["insns_executed"] > 100_000_000
    assert st["code_write_faults"] > 0  # the kernel patches its own text at boot


OPENSBI = Path("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")


def test_linux_boots_under_debians_opensbi_firmware(linux_guest):
    """The second SBI path: Debian's OpenSBI (package opensbi) runs unmodified in M-mode from the
    reset vector (fw_dynamic), starts the kernel in S-mode and answers its SBI calls; power-off goes
    through OpenSBI's SRST to the sifive_test device."""
    if not OPENSBI.exists():
        pytest.skip(f"{OPENSBI} is missing: apt-get install opensbi (scripts/setup.sh does)")
    kernel, initrd = linux_guest
    m = vmkit.Machine("riscv64", mode="system", memory="512M")
    m.load_kernel(kernel, initrd=initrd, append="console=ttyS0", bios=OPENSBI)
    assert m.priv == "M"
    log = m.console.expect("vmkit-init: hello", timeout=BOOT_TIMEOUT)
    assert "OpenSBI v1.1" in log and "Platform Name             : vmkit,riscv-virt" in log
    assert "Boot HART ISA Extensions  : time,sstc" in log
    assert "SBI implementation ID=0x1" in log  # OpenSBI's, not vmkit's native SBI (0x766d6b74)
    m.console.expect("# ", timeout=BOOT_TIMEOUT)
    shell(m, "dmesg -n 1")
    assert shell(m, "echo $((7*6))") == "42"
    m.console.send("poweroff -f\n")
    assert m.run(timeout=BOOT_TIMEOUT) == "power_off"


def test_native_sbi_identifies_itself(linux_guest):
    kernel, initrd = linux_guest
    m = vmkit.Machine("riscv64", mode="system", memory="256M")
    m.load_kernel(kernel, initrd=initrd, append="console=ttyS0 vmkit.poweroff")
    assert m.priv == "S" and m.regs.a0 == 0 and m.regs.a1 == m.mem.base + m.mem.size - (2 << 20)
    log = m.console.expect("vmkit-init: hello", timeout=BOOT_TIMEOUT)
    assert "SBI implementation ID=0x766d6b74 Version=0x1" in log
    assert m.run(timeout=BOOT_TIMEOUT) == "power_off"
