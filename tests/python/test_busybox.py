"""Debian's statically linked busybox for every guest architecture (riscv64 from forky, arm64 and
amd64 from bookworm), run under vmkit and under the reference (qemu-user; the host itself for
amd64) on the same inputs: stdout must be byte-identical (including compressed output) and the
exit status the same."""

from __future__ import annotations

import gzip
import hashlib
import random

import pytest

from conftest import GUEST_ARCHES, EngineChoice, busybox_for, compare_with_qemu

# Every test runs once per engine (interpreter, JIT) and guest architecture.
pytestmark = pytest.mark.usefixtures("each_engine")


@pytest.fixture(scope="module", params=list(GUEST_ARCHES))
def busybox(request) -> object:
    """This module's busybox: each guest architecture's in turn."""
    arch = GUEST_ARCHES[request.param]
    arch.require_reference()
    return busybox_for(arch)

# Small enough that vmkit's interpreter takes seconds, big enough to run many blocks of the hashes.
HASH_INPUT_SIZE = 1 << 20
GZIP_INPUT_SIZE = 256 << 10


def deterministic_bytes(size: int, seed: int = 1234) -> bytes:
    """Compressible-but-not-trivial data: text-like runs mixed with random bytes, fixed by ``seed``."""
    rnd = random.Random(seed)
    words = [b"vmkit", b"riscv64", b"qemu", b"busybox", b"emulator", b"\n", b" ", b"0123456789"]
    out = bytearray()
    while len(out) < size:
        if rnd.random() < 0.8:
            out += rnd.choice(words)
        else:
            out += bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 16)))
    return bytes(out[:size])


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bbdata") / "data.bin"
    path.write_bytes(deterministic_bytes(HASH_INPUT_SIZE))
    return path


def bb(busybox, *args, stdin=None, cwd=None):
    """Runs one busybox command under both and checks they agree; returns qemu's Outcome."""
    ref, _ = compare_with_qemu(busybox, list(args), stdin=stdin, cwd=cwd, engine=EngineChoice.name)
    return ref


def test_echo(busybox, vmkit_module):
    ref = bb(busybox, "echo", "hello", "from", "busybox")
    assert ref.stdout == b"hello from busybox\n"


def test_echo_escapes_and_exit_status(busybox, vmkit_module):
    ref = bb(busybox, "echo", "-e", "tab\\there\\nnewline\\x41")
    assert ref.stdout == b"tab\there\nnewlineA\n"
    ref = bb(busybox, "false")
    assert ref.returncode == 1


def test_sh_for_loop(busybox, vmkit_module):
    ref = bb(busybox, "sh", "-c", "for i in 1 2 3; do echo $i; done")
    assert ref.stdout == b"1\n2\n3\n"


def test_sh_while_arithmetic(busybox, vmkit_module):
    script = 'i=0; s=0; while [ $i -lt 50 ]; do s=$((s + i * i)); i=$((i + 1)); done; echo "sum=$s"; exit $((s % 7))'
    ref = bb(busybox, "sh", "-c", script)
    assert ref.stdout == b"sum=40425\n"
    assert ref.returncode == 40425 % 7


def test_sh_functions_and_strings(busybox, vmkit_module):
    script = (
        'f() { local x="$1"; echo "${#x}:${x%%.*}:${x#*.}"; }; f archive.tar.gz; '
        'case "riscv64" in risc*) echo matched;; *) echo no;; esac; '
        'set -- a "b c" d; echo $#; for a in "$@"; do printf "[%s]" "$a"; done; echo'
    )
    ref = bb(busybox, "sh", "-c", script)
    assert ref.stdout == b"14:archive:tar.gz\nmatched\n3\n[a][b c][d]\n"


def test_sha256sum(busybox, data_file, vmkit_module):
    ref = bb(busybox, "sha256sum", str(data_file))
    assert ref.stdout.split()[0].decode() == hashlib.sha256(data_file.read_bytes()).hexdigest()


def test_md5sum(busybox, data_file, vmkit_module):
    ref = bb(busybox, "md5sum", str(data_file))
    assert ref.stdout.split()[0].decode() == hashlib.md5(data_file.read_bytes()).hexdigest()


def test_sha256sum_stdin(busybox, vmkit_module):
    data = deterministic_bytes(100_000, seed=7)
    ref = bb(busybox, "sha256sum", stdin=data)
    assert ref.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_gzip_round_trip(busybox, tmp_path, vmkit_module):
    data = deterministic_bytes(GZIP_INPUT_SIZE, seed=99)
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    # Compressed bytes must be identical to qemu's, not just decompress to the same thing.
    compressed = bb(busybox, "gzip", "-c", str(src)).stdout
    assert gzip.decompress(compressed) == data
    assert len(compressed) < len(data)
    ref = bb(busybox, "gunzip", "-c", stdin=compressed)
    assert ref.stdout == data


def test_sort(busybox, vmkit_module):
    rnd = random.Random(5)
    lines = [f"{rnd.randint(0, 10**6)} item{rnd.randint(0, 999)}" for _ in range(3000)]
    text = ("\n".join(lines) + "\n").encode()
    ref = bb(busybox, "sort", stdin=text)
    assert ref.stdout == ("\n".join(sorted(lines)) + "\n").encode()
    ref = bb(busybox, "sort", "-n", "-r", "-u", stdin=text)
    nums = sorted({int(s.split()[0]) for s in lines}, reverse=True)
    assert [int(s.split()[0]) for s in ref.stdout.decode().splitlines()] == nums


def test_awk_sum_printf(busybox, vmkit_module):
    text = "".join(f"row{i} {i} {i * 0.5}\n" for i in range(1, 2001)).encode()
    program = '{ n += $2; f += $3; if ($2 % 500 == 0) printf "%s %05d %.3f\\n", $1, $2, f } END { printf "n=%d f=%.2f avg=%.4e\\n", n, f, f / NR }'
    ref = bb(busybox, "awk", program, stdin=text)
    assert ref.stdout.endswith(b"n=2001000 f=1000500.00 avg=5.0025e+02\n")
    assert ref.stdout.startswith(b"row500 00500 62625.000\n")


def test_sed_substitution(busybox, vmkit_module):
    text = "".join(f"line {i}: the quick brown fox {i % 3}\n" for i in range(500)).encode()
    ref = bb(busybox, "sed", "-e", "s/quick \\(brown\\)/slow \\1/", "-e", "s/[0-9]\\+$/<&>/", "-e", "/: the/!d", stdin=text)
    assert ref.stdout.splitlines()[7] == b"line 7: the slow brown fox <1>"
    assert len(ref.stdout.splitlines()) == 500


def test_missing_file_status(busybox, tmp_path, vmkit_module):
    ref = bb(busybox, "cat", str(tmp_path / "does-not-exist"))
    assert ref.returncode == 1


def test_sh_pipeline_and_command_substitution(busybox, vmkit_module):
    """Pipelines and $(...) make the guest shell fork children (busybox runs applets in them)."""
    script = 'seq 1 200 | sort -r | head -3; echo $(( $(seq 1 100 | wc -l) * 2 )); x=$(echo sub); echo "got $x"; (exit 7); echo "subshell $?"'
    ref = bb(busybox, "sh", "-c", script)
    assert ref.stdout == b"99\n98\n97\n200\ngot sub\nsubshell 7\n"
