"""System mode networking: a virtio-net card whose host end is Python (Ethernet frames in and out)
with a built-in responder for ARP and ping at 10.0.2.2. The guest (Debian's kernel with its
virtio-net module) pings the responder, and resolves a name with the test as its DNS server (UDP
both ways)."""

import struct
import subprocess

import pytest

from conftest import REPO, console_shell

import vmkit

TIMEOUT = 600
GUEST_MAC = bytes.fromhex("525400123456")
HOST_MAC = bytes.fromhex("52550a000202")
GUEST_IP, HOST_IP = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])


@pytest.fixture(scope="module")
def linux_with_modules() -> tuple:
    r = subprocess.run(["bash", str(REPO / "scripts" / "guest_initramfs.sh"), "--modules"], capture_output=True,
                       text=True, timeout=900)
    if r.returncode == 3:
        pytest.skip(f"the kernel's modules are not available: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    return tuple(r.stdout.split())


def ip_checksum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src_port: int, dst_port: int, payload: bytes) -> bytes:
    """An Ethernet/IPv4/UDP frame from the host (10.0.2.2) to the guest (UDP checksum 0: none)."""
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, HOST_IP, GUEST_IP)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return GUEST_MAC + HOST_MAC + b"\x08\x00" + ip + udp


def parse_udp(frame: bytes):
    """(src port, dst port, payload) of an IPv4 UDP frame to 10.0.2.2, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17 or frame[30:34] != HOST_IP:
        return None
    ihl = (frame[14] & 0xF) * 4
    src, dst, length = struct.unpack("!HHH", frame[14 + ihl:14 + ihl + 6])
    return src, dst, frame[14 + ihl + 8:14 + ihl + length]


def dns_answer(query: bytes, address: bytes) -> bytes:
    """The reply to a DNS query: an A record with `address` for an A question, no records for
    any other type (busybox nslookup also asks for AAAA)."""
    ident, _flags, qdcount = struct.unpack("!HHH", query[:6])
    end = 12
    while query[end]:
        end += 1 + query[end]
    question = query[12:end + 5]
    qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
    answers = b""
    if qtype == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + address
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1 if answers else 0, 0, 0) + question + answers


def test_guest_pings_the_responder_and_talks_udp_with_python(linux_with_modules, each_engine):
    kernel, initrd = linux_with_modules
    m = vmkit.Machine("riscv64", mode="system", memory="512M", engine=each_engine)
    net = m.add_network()
    m.load_kernel(kernel, initrd=initrd, append="console=ttyS0 vmkit.modules")
    m.console.expect("vmkit-init: modules loaded", timeout=TIMEOUT)
    m.console.expect("# ", timeout=TIMEOUT)

    def shell(command):
        return console_shell(m, command, TIMEOUT)

    shell("dmesg -n 1")
    shell("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0")
    assert "link/ether 52:54:00:12:34:56" in shell("ip link show eth0")
    ping = shell("ping -c 2 -W 5 10.0.2.2")
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in ping, ping

    # UDP both ways, with the test as the guest's DNS server: busybox nslookup asks 10.0.2.2:53
    # (ARP for it answered by the responder), the test answers from the frames it sees, and the
    # guest prints the address the test made up.
    net.recv()  # (drop what came before: IPv6 neighbour discovery and the like)
    m.console.send("nslookup vmkit.test 10.0.2.2\n")
    answered = set()
    for _ in range(600):
        if m.run(timeout=0.05) == "power_off":
            break
        for frame in net.recv():
            udp = parse_udp(frame)
            if udp and udp[1] == 53:
                net.send(udp_frame(53, udp[0], dns_answer(udp[2], bytes([10, 0, 2, 99]))))
                answered.add(struct.unpack("!H", udp[2][-4:-2])[0])
        if 1 in answered and m.console.output.count("Address: 10.0.2.99"):
            break
    out = m.console.expect("# ", timeout=TIMEOUT)
    assert 1 in answered, "the guest sent no DNS query for an A record"
    assert "vmkit.test" in out, out
    assert "Address: 10.0.2.99" in out, out

    stats = net.stats()
    assert stats["rx_frames"] >= 3 and stats["tx_frames"] >= 3 and stats["rx_dropped_malformed"] == 0
    m.console.send("poweroff -f\n")
    assert m.run(timeout=TIMEOUT) == "power_off"
    assert m.stats()["virtio_errors"] == [""]


def test_network_settings_are_checked():
    m = vmkit.Machine("riscv64", mode="system", memory="64M")
    with pytest.raises(vmkit.UsageError, match=r"MAC address 'nope'"):
        m.add_network(mac="nope")
    m.add_network()
    with pytest.raises(vmkit.UsageError, match=r"network card already"):
        m.add_network()
