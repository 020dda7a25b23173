#!/usr/bin/env bash
# Usage: guest_initramfs.sh [--modules] [OUTDIR]    (default: build/guests/riscv64-linux)
# Builds what RISC-V system mode boots in tests and benchmarks (plan §5.3) and prints the two paths:
#   OUTDIR/vmlinuz    Debian's riscv64 kernel (an uncompressed Image with an EFI stub), taken from
#                     linux-binary-*_riscv64.deb in ../shared/guests (or $VMKIT_SHARED_GUESTS);
#   OUTDIR/initrd.gz  a gzip'd newc cpio holding Debian's static busybox (found the way
#                     guest_busybox.sh finds it) and an /init that prints "vmkit-init: hello" first
#                     (the boot benchmark's marker), mounts proc, sys and devtmpfs and runs a shell.
#                     With `vmkit.poweroff` on the kernel command line it powers off right after
#                     the marker instead.
# --modules: the second path is OUTDIR/initrd-modules.gz instead: the same archive plus the kernel
#   modules a disk needs (this kernel has virtio-mmio, virtio-blk, ext4 and vfat only as modules),
#   decompressed into /lib/modules/. With `vmkit.modules` on the command line, /init insmods them
#   (virtio_mmio virtio_blk failover net_failover virtio_net crc16 mbcache jbd2 ext4 fat vfat
#   nls_cp437 nls_ascii) and prints "vmkit-init: modules loaded". They come from
#   linux-modules-<kernel release>_*_riscv64.deb in ../shared/guests or build/guests, or else from
#   Debian forky through ../shared/guests/debfetch (116 MB, kept in build/guests for next time);
#   their vermagic must equal the kernel's.
# Both are rebuilt only when an input (the .debs or this script) is newer than them. The archive is
# reproducible: sorted, owned by root, every timestamp 0, no gzip name or time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
with_modules=0
if [ "${1:-}" = --modules ]; then with_modules=1; shift; fi
out=${1:-$repo/build/guests/riscv64-linux}
guests=${VMKIT_SHARED_GUESTS:-$repo/../shared/guests}
mkdir -p "$out"
out=$(cd "$out" && pwd)

kernel_deb=$(ls "$guests"/linux-binary-*_riscv64.deb 2>/dev/null | sort | tail -n1 || true)
if [ -z "$kernel_deb" ]; then
  echo "guest_initramfs: no linux-binary-*_riscv64.deb in $guests (set VMKIT_SHARED_GUESTS)" >&2
  exit 2
fi
busybox=$("$repo/scripts/guest_busybox.sh" riscv64)
# guest_busybox.sh unpacks the .deb to build/guests/<deb name>/; that directory stands for the .deb.
busybox_deb_dir=${busybox%/usr/bin/busybox}
busybox_deb_dir=${busybox_deb_dir%/bin/busybox}

up_to_date() {  # OUTPUT INPUT...: OUTPUT exists and is newer than every INPUT
  local target=$1; shift
  [ -e "$target" ] || return 1
  for input in "$@"; do [ "$target" -nt "$input" ] || return 1; done
}

if ! up_to_date "$out/vmlinuz" "$kernel_deb" "$0"; then
  work=$(mktemp -d "$out/.kernel.XXXXXX")
  dpkg-deb -x "$kernel_deb" "$work"
  # Newer packages ship usr/lib/modules/<version>/vmlinuz, older ones boot/vmlinuz-<version>.
  vmlinuz=$(find "$work" -type f \( -path '*/usr/lib/modules/*/vmlinuz' -o -path '*/boot/vmlinuz-*' \) | head -n1)
  if [ -z "$vmlinuz" ]; then
    rm -rf "$work"
    echo "guest_initramfs: $(basename "$kernel_deb") contains no vmlinuz" >&2
    exit 2
  fi
  mv "$vmlinuz" "$out/vmlinuz"
  touch "$out/vmlinuz"  # it kept the package's date: mark it as made now, for the check above
  rm -rf "$work"
fi

# The modules for disks, the network and FAT, in dependency order (the order /init loads them).
modules=(virtio_mmio virtio_blk failover net_failover virtio_net crc16 mbcache jbd2 ext4 fat vfat nls_cp437
         nls_ascii)
# linux-binary-7.2.12+deb14-riscv64_7.2.12-1_riscv64.deb: kernel release 7.2.12+deb14-riscv64.
kernel_release=$(basename "$kernel_deb" | sed -E 's/^linux-binary-([^_]+)_.*/\1/')
modules_debs() {  # the linux-modules .debs for the kernel at hand, the shared one first
  ls "$guests"/linux-modules-"$kernel_release"_*_riscv64.deb \
     "$repo"/build/guests/linux-modules-"$kernel_release"_*_riscv64.deb 2>/dev/null || true
}

# Puts the modules, decompressed, in directory $1, after checking their vermagic against the kernel's.
unpack_modules() {
  local dest=$1 deb
  deb=$(modules_debs | head -n1)
  if [ -z "$deb" ]; then
    echo "guest_initramfs: downloading linux-modules-$kernel_release (116 MB) from Debian forky" >&2
    mkdir -p "$repo/build/guests"
    if ! "$guests/debfetch" riscv64 forky "$repo/build/guests" "linux-modules-$kernel_release" >&2; then
      echo "guest_initramfs: cannot download linux-modules-$kernel_release from forky (it may have moved" \
           "on to a newer kernel): put linux-modules-${kernel_release}_*_riscv64.deb in $guests" >&2
      exit 3  # (tests that need the modules skip on this status, saying why)
    fi
    deb=$(modules_debs | head -n1)
  fi
  local kernel_vermagic
  # The kernel's own copy of its vermagic: "<release> SMP preempt mod_unload riscv".
  kernel_vermagic=$(strings -n 8 "$out/vmlinuz" | awk -v r="$kernel_release " \
                    '!found && index($0, r) == 1 && / mod_unload/ { print; found = 1 }')
  if [ -z "$kernel_vermagic" ]; then
    echo "guest_initramfs: found no vermagic string for $kernel_release in $out/vmlinuz" >&2
    exit 2
  fi
  local work patterns=() m ko vermagic
  work=$(mktemp -d "$out/.modules.XXXXXX")
  for m in "${modules[@]}"; do patterns+=("*/kernel/*/$m.ko.xz"); done
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards "${patterns[@]}"
  mkdir -p "$dest"
  for m in "${modules[@]}"; do
    ko=$(find "$work" -name "$m.ko.xz" | head -n1)
    if [ -z "$ko" ]; then
      rm -rf "$work"
      echo "guest_initramfs: $(basename "$deb") has no $m.ko.xz" >&2
      exit 2
    fi
    # busybox insmod takes plain .ko files (the kernel could decompress, but this is what was tested).
    xz -dc "$ko" > "$dest/$m.ko"
    vermagic=$(tr '\0' '\n' < "$dest/$m.ko" | grep -a -m1 '^vermagic=' | cut -d= -f2- || true)
    if [ "$vermagic" != "$kernel_vermagic" ]; then
      rm -rf "$work"
      echo "guest_initramfs: $m.ko in $(basename "$deb") has vermagic '$vermagic' but the kernel has" \
           "'$kernel_vermagic': use the linux-modules package of the same kernel build" >&2
      exit 2
    fi
  done
  rm -rf "$work"
}

initrd="$out/initrd.gz"
inputs=("$busybox" "$0")
if [ "$with_modules" = 1 ]; then
  initrd="$out/initrd-modules.gz"
  mapfile -t debs < <(modules_debs)
  # No .deb yet: the archive cannot be up to date (unpack_modules downloads one).
  if [ ${#debs[@]} = 0 ]; then rm -f "$initrd"; fi
  inputs+=("$out/vmlinuz" ${debs[@]+"${debs[@]}"})
fi

if ! up_to_date "$initrd" "${inputs[@]}"; then
  root=$(mktemp -d "$out/.initramfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,root,etc}
  cp "$busybox" "$root/bin/busybox"
  if [ "$with_modules" = 1 ]; then unpack_modules "$root/lib/modules"; fi
  # The applet links are made at boot (--install), so the archive holds one binary. /dev/console
  # is not needed here: the kernel's built-in initramfs (usr/default_cpio_list) provides it.
  # (An unquoted here-document: ${modules[*]} is filled in now, \$ is left for /init.)
  cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
echo "vmkit-init: hello"
mount -t proc proc /proc
# Dotted parameters are not passed to init as arguments or environment: look in /proc/cmdline.
if grep -qw vmkit.poweroff /proc/cmdline; then poweroff -f; fi
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
if grep -qw vmkit.modules /proc/cmdline; then
  if [ -d /lib/modules ]; then
    for m in ${modules[*]}; do insmod /lib/modules/\$m.ko || echo "vmkit-init: insmod \$m failed"; done
    echo "vmkit-init: modules loaded"
  else
    echo "vmkit-init: no modules in this initramfs (build it with guest_initramfs.sh --modules)"
  fi
fi
# A controlling tty (the console) so that Ctrl-C reaches the shell's children.
exec setsid cttyhack sh
INIT
  chmod 755 "$root/init" "$root/bin/busybox"
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
     cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9 -n) > "$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
fi

echo "$out/vmlinuz"
echo "$initrd"
