#!/usr/bin/env bash
# Prints the path of Debian's statically linked riscv64 busybox, unpacked under build/guests/.
# The .deb is taken from ../shared/guests (kept there so tests do not depend on a moving archive)
# or, where that is absent, downloaded from this machine's Debian mirror: riscv64 is not a
# bookworm architecture, so it comes from the suite that has it (forky), through a private apt
# configuration that leaves the machine's own apt state alone. One place for the demo, the
# Python tests and the benchmark.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/build/guests"
mkdir -p "$out"
deb=$(ls "$repo"/../shared/guests/busybox-static_*_riscv64.deb 2>/dev/null | sort | tail -n1 || true)
if [ -z "$deb" ]; then
  deb=$(ls "$out"/busybox-static_*_riscv64.deb 2>/dev/null | sort | tail -n1 || true)
fi
if [ -z "$deb" ]; then
  suite=${VMKIT_RISCV64_SUITE:-forky}
  mirror=$(grep -h -m1 -oP '^URIs:\s*\K\S+/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null ||
           grep -h -m1 -oP '^deb\s+(\[[^]]*\]\s+)?\K\S+/debian(?=\s)' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "guest_busybox: no ../shared/guests and no Debian mirror in apt sources" >&2; exit 2; }
  state=$(mktemp -d); trap 'rm -rf "$state"' EXIT
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [arch=riscv64 trusted=yes] $mirror $suite main" > "$state/sources.list"
  A=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o APT::Architecture=riscv64 -o APT::Architectures=riscv64
     -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
  echo "guest_busybox: downloading busybox-static:riscv64 from $mirror $suite" >&2
  apt-get "${A[@]}" -qq update >&2
  (cd "$out" && apt-get "${A[@]}" -qq download busybox-static >&2)
  deb=$(ls "$out"/busybox-static_*_riscv64.deb | sort | tail -n1)
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
