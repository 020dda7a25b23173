#!/usr/bin/env bash
# Usage: guest_busybox.sh [ARCH]    ARCH: riscv64 (the default), aarch64 (or arm64), x86_64 (or amd64)
# Prints the path of Debian's statically linked busybox for ARCH, unpacked under build/guests/.
# The .deb is taken from ../shared/guests (kept there so tests do not depend on a moving archive)
# or, where that is absent, downloaded from this machine's Debian mirror through a private apt
# configuration that leaves the machine's own apt state alone: riscv64 is not a bookworm
# architecture, so it comes from the suite that has it (forky); arm64 and amd64 come from bookworm,
# with ../shared/guests/debfetch where it exists. One place for the demo, the Python tests and the
# benchmark.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/build/guests"
mkdir -p "$out"
case "${1:-riscv64}" in
  riscv64) debarch=riscv64 suite=${VMKIT_RISCV64_SUITE:-forky} ;;
  aarch64|arm64) debarch=arm64 suite=${VMKIT_ARM64_SUITE:-bookworm} ;;
  x86_64|amd64) debarch=amd64 suite=${VMKIT_AMD64_SUITE:-bookworm} ;;
  *) echo "guest_busybox: unknown architecture '$1' (use riscv64, aarch64 or x86_64)" >&2; exit 2 ;;
esac

# Downloads busybox-static:$debarch from $suite into $out.
download() {
  local mirror
  mirror=$(grep -h -m1 -oP '^URIs:\s*\K\S+/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null ||
           grep -h -m1 -oP '^deb\s+(\[[^]]*\]\s+)?\K\S+/debian(?=\s)' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "guest_busybox: no ../shared/guests and no Debian mirror in apt sources" >&2; exit 2; }
  state=$(mktemp -d); trap 'rm -rf "$state"' EXIT
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [arch=$debarch trusted=yes] $mirror $suite main" > "$state/sources.list"
  A=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o APT::Architecture=$debarch -o APT::Architectures=$debarch
     -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
  echo "guest_busybox: downloading busybox-static:$debarch from $mirror $suite" >&2
  apt-get "${A[@]}" -qq update >&2
  (cd "$out" && apt-get "${A[@]}" -qq download busybox-static >&2)
}

deb=$(ls "$repo"/../shared/guests/busybox-static_*_"$debarch".deb 2>/dev/null | sort | tail -n1 || true)
if [ -z "$deb" ]; then
  deb=$(ls "$out"/busybox-static_*_"$debarch".deb 2>/dev/null | sort | tail -n1 || true)
fi
if [ -z "$deb" ]; then
  debfetch="$repo/../shared/guests/debfetch"
  if [ "$debarch" != riscv64 ] && [ -x "$debfetch" ]; then
    echo "guest_busybox: downloading busybox-static:$debarch from $suite with debfetch" >&2
    "$debfetch" "$debarch" "$suite" "$out" busybox-static >&2
  else
    download
  fi
  deb=$(ls "$out"/busybox-static_*_"$debarch".deb | sort | tail -n1)
fi
dest="$out/$(basename "$deb" .deb)"
if [ ! -d "$dest" ]; then
  dpkg-deb -x "$deb" "$dest.tmp" && mv "$dest.tmp" "$dest"
fi
# Newer packages (merged /usr) ship usr/bin/busybox, older ones bin/busybox.
for exe in "$dest/usr/bin/busybox" "$dest/bin/busybox"; do
  if [ -x "$exe" ]; then echo "$exe"; exit 0; fi
done
echo "guest_busybox: $(basename "$deb") contains no busybox binary" >&2
exit 2
