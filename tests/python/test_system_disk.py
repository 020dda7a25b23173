"""System mode disks: virtio-blk images made by Debian's mke2fs and mkfs.vfat are mounted by the
guest (Debian's kernel, with its virtio and file-system modules loaded by /init); a file the host
put there is read by the guest, and a file the guest writes is read back from the image by the
host (debugfs, mtools) after power-off."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, console_shell

import vmkit

TIMEOUT = 600


def tool(name: str) -> str:
    path = shutil.which(name) or next((p for p in (f"/sbin/{name}", f"/usr/sbin/{name}") if os.path.exists(p)), None)
    if not path:
        pytest.fail(f"{name} is missing: scripts/setup.sh installs it (e2fsprogs, dosfstools, mtools)")
    return path


@pytest.fixture(scope="module")
def linux_with_modules() -> tuple:
    """(vmlinuz, initrd with the virtio and file-system modules) from scripts/guest_initramfs.sh."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh"), "--modules"], capture_output=True,
                       text=True, timeout=900)
    if r.returncode == 3:  # the script's "modules unavailable" status: say why
        pytest.skip(f"the kernel's modules are not available: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    kernel, initrd = r.stdout.split()
    return kernel, initrd


def shell(m, command: str) -> str:
    return console_shell(m, command, TIMEOUT)


def test_guest_mounts_ext2_and_fat_images_and_writes_files_the_host_reads(linux_with_modules, tmp_path, each_engine):
    kernel, initrd = linux_with_modules
    content = tmp_path / "content"
    content.mkdir()
    (content / "from-host.txt").write_text("written by the host\n")
    ext2 = tmp_path / "ext2.img"
    subprocess.run([tool("mke2fs"), "-q", "-t", "ext2", "-d", str(content), str(ext2), "8M"], check=True)
    fat = tmp_path / "fat.img"
    subprocess.run([tool("mkfs.vfat"), "-C", str(fat), "8192"], check=True, capture_output=True)
    subprocess.run([tool("mcopy"), "-i", str(fat), str(content / "from-host.txt"), "::/HOST.TXT"], check=True)

    m = vmkit.Machine("riscv64", mode="system", memory="512M", engine=each_engine)
    m.add_disk(ext2)
    m.add_disk(fat)
    m.load_kernel(kernel, initrd=initrd, append="console=ttyS0 vmkit.modules")
    m.console.expect("vmkit-init: modules loaded", timeout=TIMEOUT)
    m.console.expect("# ", timeout=TIMEOUT)
    shell(m, "dmesg -n 1")  # kernel messages off the console: they would interleave with output

    assert "vda" in shell(m, "cat /proc/partitions") and "vdb" in shell(m, "cat /proc/partitions")
    shell(m, "mkdir -p /mnt/e /mnt/f")
    assert shell(m, "mount -t ext2 /dev/vda /mnt/e && echo mounted") == "mounted"
    assert shell(m, "cat /mnt/e/from-host.txt") == "written by the host"
    shell(m, "echo written by the guest > /mnt/e/from-guest.txt")
    assert shell(m, "mount -t vfat /dev/vdb /mnt/f && echo mounted") == "mounted"
    assert shell(m, "cat /mnt/f/host.txt") == "written by the host"
    shell(m, "echo fat from the guest > /mnt/f/guest.txt")
    assert shell(m, "sync; umount /mnt/e && umount /mnt/f && echo done") == "done"
    m.console.send("poweroff -f\n")
    assert m.run(timeout=TIMEOUT) == "power_off"
    assert m.stats()["virtio_errors"] == ["", ""]
    del m  # the disks are flushed and closed

    r = subprocess.run([tool("debugfs"), "-R", "cat /from-guest.txt", str(ext2)], capture_output=True, text=True)
    assert r.stdout == "written by the guest\n", r.stderr
    r = subprocess.run([tool("mtype"), "-i", str(fat), "::/GUEST.TXT"], capture_output=True, text=True)
    assert r.stdout.replace("\r", "") == "fat from the guest\n", r.stderr
    r = subprocess.run([tool("e2fsck"), "-fn", str(ext2)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr  # the guest left a consistent file system


def test_a_missing_or_unusable_disk_image_is_a_boot_error(tmp_path):
    m = vmkit.Machine("riscv64", mode="system", memory="64M")
    with pytest.raises(vmkit.BootError, match=r"disk image '.*/nope.img'.*No such file"):
        m.add_disk(tmp_path / "nope.img")
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"x" * 1000)
    with pytest.raises(vmkit.BootError, match=r"not a whole number of 512-byte sectors"):
        m.add_disk(odd)
