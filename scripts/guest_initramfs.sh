#!/usr/bin/env bash
# Usage: guest_initramfs.sh [OUTDIR]    (default: build/guests/riscv64-linux)
# Builds what RISC-V system mode boots in tests and benchmarks (plan §5.3) and prints the two paths:
#   OUTDIR/vmlinuz    Debian's riscv64 kernel (an uncompressed Image with an EFI stub), taken from
#                     linux-binary-*_riscv64.deb in ../shared/guests (or $VMKIT_SHARED_GUESTS);
#   OUTDIR/initrd.gz  a gzip'd newc cpio holding Debian's static busybox (found the way
#                     guest_busybox.sh finds it) and an /init that prints "vmkit-init: hello" first
#                     (the boot benchmark's marker), mounts proc, sys and devtmpfs and runs a shell.
#                     With `vmkit.poweroff` on the kernel command line it powers off right after
#                     the marker instead.
# Both are rebuilt only when an input (the .debs or this script) is newer than them. The archive is
# reproducible: sorted, owned by root, every timestamp 0, no gzip name or time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
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

if ! up_to_date "$out/initrd.gz" "$busybox" "$0"; then
  root=$(mktemp -d "$out/.initramfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,root,etc}
  cp "$busybox" "$root/bin/busybox"
  # The applet links are made at boot (--install), so the archive holds one binary. /dev/console
  # is not needed here: the kernel's built-in initramfs (usr/default_cpio_list) provides it.
  cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
echo "vmkit-init: hello"
mount -t proc proc /proc
# Dotted parameters are not passed to init as arguments or environment: look in /proc/cmdline.
if grep -qw vmkit.poweroff /proc/cmdline; then poweroff -f; fi
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# A controlling tty (the console) so that Ctrl-C reaches the shell's children.
exec setsid cttyhack sh
EOF
  chmod 755 "$root/init" "$root/bin/busybox"
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
     cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9 -n) > "$out/initrd.gz.tmp"
  mv "$out/initrd.gz.tmp" "$out/initrd.gz"
fi

echo "$out/vmlinuz"
echo "$out/initrd.gz"
