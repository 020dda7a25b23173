// virtio-net (no offloads, one queue pair) over the virtio-mmio transport: the MAC and link status
// in config space, transmit to on_transmit without the virtio header, host frames through
// receive() (any thread) into the guest's receive buffers with a zeroed header and num_buffers 1,
// in order, with the bounded host queue and too-big frames dropped and counted; and the
// ArpIcmpResponder back end, whose replies are checked byte by byte with checksums computed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "devices/net_backend.h"
#include "devices/virtio_net.h"
#include "virtio_test_driver.h"

namespace vmkit::devices {
namespace {

using testing::FakeIrq;
using testing::kRamBase;
using testing::kRamSize;
using testing::TestDriver;
using Bytes = std::vector<uint8_t>;

constexpr unsigned kRx = VirtioNet::kReceiveQueue, kTx = VirtioNet::kTransmitQueue;
constexpr uint32_t kHdr = virtio_net::kHeaderBytes;
// What Linux posts without MRG_RXBUF or big packets: the header and GOOD_PACKET_LEN (1518).
constexpr uint32_t kLinuxRxBuffer = kHdr + 1518;

// A frame of `len` bytes: an Ethernet header (to the default MAC, from 02:..:01, type 0x88b5, the
// IEEE local experimental EtherType) and a payload whose bytes start at `seed`.
Bytes test_frame(size_t len, uint8_t seed) {
  Bytes f(len);
  const uint8_t head[14] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
  std::memcpy(f.data(), head, std::min<size_t>(len, 14));
  for (size_t i = 14; i < len; ++i) f[i] = static_cast<uint8_t>(seed + i);
  return f;
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

struct Rig {
  explicit Rig(const MacAddress& mac = virtio_net::kDefaultMac) : net(mac) {
    net.on_transmit = [this](const uint8_t* p, size_t n) { sent.emplace_back(p, p + n); };
    net.on_input = [this] { ++input_calls; };
  }
  bool init() { return drv.init({VirtioNet::kQueueSize, VirtioNet::kQueueSize}); }
  // Posts a receive buffer of `len` bytes (one descriptor, as Linux does); returns its address.
  uint64_t rx_buffer(uint32_t len = kLinuxRxBuffer) {
    const uint64_t b = drv.alloc(len);
    drv.add_chain(kRx, {{b, len, true}});
    return b;
  }
  // The next used receive buffer, read from `buffer`: its used length and bytes.
  std::optional<std::string> next_received(uint64_t buffer) {
    auto used = drv.next_used(kRx);
    if (!used) return std::nullopt;
    return drv.get(buffer, used->second);
  }
  // Transmits a header (zeroed, as Linux sends it without offloads) and `frame`, in one buffer or
  // two; returns the chain's head.
  uint16_t transmit(const Bytes& frame, bool split) {
    std::string hdr(kHdr, '\0');
    const std::string f = as_string(frame);
    uint16_t head;
    if (split) {
      head = drv.add_chain(kTx, {{drv.put(hdr), kHdr, false},
                                 {drv.put(f), static_cast<uint32_t>(f.size()), false}});
    } else {
      head = drv.add_chain(kTx, {{drv.put(hdr + f), static_cast<uint32_t>(kHdr + f.size()), false}});
    }
    drv.notify(kTx);
    return head;
  }
  std::string config(uint32_t offset, unsigned size) {
    uint64_t v = 0;
    EXPECT_TRUE(mmio.read(VirtioMmio::kRegConfig + offset, size, v));
    return std::string(reinterpret_cast<const char*>(&v), size);
  }

  PhysicalMemory ram{kRamBase, kRamSize};
  FakeIrq irq;
  VirtioNet net;
  VirtioMmio mmio{ram, irq, net};
  TestDriver drv{ram, mmio};
  std::vector<Bytes> sent;
  int input_calls = 0;
};

// The 12-byte header the device writes before every received frame.
std::string rx_header() {
  std::string h(kHdr, '\0');
  h[10] = 1;  // le16 num_buffers = 1
  return h;
}

TEST(VirtioNet, IsDevice1WithMacStatusAndTwoQueues) {
  Rig r;
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegDeviceId), 1u);
  EXPECT_EQ(r.drv.device_features(), virtio_net::kFMac | virtio_net::kFStatus | virtio::kFVersion1 |
                                         virtio::kFRingIndirectDesc);
  for (uint32_t q = 0; q < 3; ++q) {
    r.drv.set(VirtioMmio::kRegQueueSel, q);
    EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueNumMax), q < 2 ? VirtioNet::kQueueSize : 0u);
  }
  EXPECT_TRUE(r.init());
  EXPECT_EQ(r.mmio.driver_features(), r.mmio.offered_features());
}

TEST(VirtioNet, ConfigSpaceHoldsTheMacAndLinkUp) {
  Rig r;
  ASSERT_TRUE(r.drv.negotiate());
  // Linux reads the MAC a byte at a time (virtio_cread_bytes), then the le16 status.
  std::string mac;
  for (uint32_t i = 0; i < 6; ++i) mac += r.config(i, 1);
  EXPECT_EQ(mac, std::string("\x52\x54\x00\x12\x34\x56", 6));
  EXPECT_EQ(r.config(6, 2), std::string("\x01\x00", 2));  // VIRTIO_NET_S_LINK_UP
  EXPECT_EQ(r.config(8, 2), std::string(2, '\0'));        // past the config: 0
  // A configured MAC, read with wider accesses.
  Rig custom(MacAddress{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee});
  EXPECT_EQ(custom.config(0, 4), std::string("\x02\xaa\xbb\xcc", 4));
  EXPECT_EQ(custom.config(4, 4), std::string("\xdd\xee\x01\x00", 4));
  EXPECT_EQ(custom.config(0, 8), std::string("\x02\xaa\xbb\xcc\xdd\xee\x01\x00", 8));
  // Writes are ignored (CTRL_MAC_ADDR is not offered; the MAC is the device's).
  EXPECT_TRUE(custom.mmio.write(VirtioMmio::kRegConfig, 1, 0xff));
  EXPECT_EQ(custom.config(0, 1), "\x02");
}

TEST(VirtioNet, ADriverMayDeclineTheOptionalFeatures) {
  Rig r;
  EXPECT_TRUE(r.drv.init({VirtioNet::kQueueSize, VirtioNet::kQueueSize}, virtio::kFVersion1));
  EXPECT_EQ(r.mmio.driver_features(), virtio::kFVersion1);
}

TEST(VirtioNet, TransmittedFramesReachOnTransmitWithoutTheHeader) {
  Rig r;
  ASSERT_TRUE(r.init());
  const Bytes a = test_frame(60, 1), b = test_frame(1514, 2);
  const uint16_t head = r.transmit(a, /*split=*/true);
  ASSERT_EQ(r.sent.size(), 1u);
  EXPECT_EQ(r.sent[0], a);
  EXPECT_EQ(r.drv.next_used(kTx), std::make_pair(uint32_t(head), 0u));
  EXPECT_EQ(r.drv.take_interrupt(), virtio::kInterruptUsedBuffer);
  r.transmit(b, /*split=*/false);
  ASSERT_EQ(r.sent.size(), 2u);
  EXPECT_EQ(r.sent[1], b);
  // Several chains in one notify go out in order; so does a frame behind an indirect table.
  const Bytes c = test_frame(100, 3), d = test_frame(42, 4);
  std::string hdr(kHdr, '\0');
  r.drv.add_chain(kTx, {{r.drv.put(hdr + as_string(c)), static_cast<uint32_t>(kHdr + c.size()), false}});
  const std::string rest = hdr.substr(5) + as_string(d);
  r.drv.add_indirect(kTx, {{r.drv.put(hdr.substr(0, 5)), 5, false},
                           {r.drv.put(rest), static_cast<uint32_t>(rest.size()), false}});
  r.drv.notify(kTx);
  ASSERT_EQ(r.sent.size(), 4u);
  EXPECT_EQ(r.sent[2], c);
  EXPECT_EQ(r.sent[3], d);
  const VirtioNet::Stats s = r.net.stats();
  EXPECT_EQ(s.tx_frames, 4u);
  EXPECT_EQ(s.tx_bytes, 60u + 1514 + 100 + 42);
  EXPECT_EQ(s.tx_dropped, 0u);
}

TEST(VirtioNet, TransmitWithoutAFrameIsDroppedAndWithoutAHeaderIsADeviceError) {
  Rig r;
  ASSERT_TRUE(r.init());
  r.drv.add_chain(kTx, {{r.drv.put(std::string(kHdr, '\0')), kHdr, false}});  // a header, no frame
  r.drv.notify(kTx);
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.net.stats().tx_dropped, 1u);
  EXPECT_TRUE(r.drv.next_used(kTx).has_value());  // the buffer still comes back
  EXPECT_EQ(r.drv.status() & virtio::kStatusNeedsReset, 0u);
  r.drv.add_chain(kTx, {{r.drv.put("short"), 5, false}});
  r.drv.notify(kTx);
  EXPECT_TRUE(r.sent.empty());
  EXPECT_NE(r.drv.status() & virtio::kStatusNeedsReset, 0u);
  EXPECT_NE(r.mmio.error().find("virtio_net_hdr"), std::string::npos) << r.mmio.error();
}

TEST(VirtioNet, AReceivedFrameLandsInAPostedBufferWithAHeader) {
  Rig r;
  ASSERT_TRUE(r.init());
  const uint64_t b = r.rx_buffer();
  r.drv.notify(kRx);
  const Bytes f = test_frame(98, 7);
  r.net.receive(f);
  EXPECT_EQ(r.input_calls, 1);
  EXPECT_TRUE(r.net.has_pending_input());
  EXPECT_TRUE(r.mmio.has_host_work());
  EXPECT_EQ(r.drv.used_idx(kRx), 0);  // nothing moves until the machine polls
  r.mmio.poll();
  EXPECT_FALSE(r.net.has_pending_input());
  EXPECT_FALSE(r.mmio.has_host_work());
  auto used = r.drv.next_used(kRx);
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->first, 0u);
  EXPECT_EQ(used->second, kHdr + f.size());
  EXPECT_EQ(r.drv.get(b, used->second), rx_header() + as_string(f));
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.drv.take_interrupt(), virtio::kInterruptUsedBuffer);
  const VirtioNet::Stats s = r.net.stats();
  EXPECT_EQ(s.rx_frames, 1u);
  EXPECT_EQ(s.rx_bytes, f.size());
}

TEST(VirtioNet, AReceiveBufferMaySplitTheHeaderAndTheFrame) {
  Rig r;
  ASSERT_TRUE(r.init());
  const uint64_t h = r.drv.alloc(kHdr), d = r.drv.alloc(1514);
  r.drv.add_chain(kRx, {{h, kHdr, true}, {d, 1514, true}});
  const Bytes f = test_frame(1514, 9);
  r.net.receive(f);
  r.mmio.poll();
  auto used = r.drv.next_used(kRx);
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->second, kHdr + 1514);
  EXPECT_EQ(r.drv.get(h, kHdr), rx_header());
  EXPECT_EQ(r.drv.get(d, 1514), as_string(f));
}

TEST(VirtioNet, FramesQueuedBeforeBuffersArePostedArriveLaterInOrder) {
  Rig r;
  ASSERT_TRUE(r.init());
  std::vector<Bytes> frames;
  for (int i = 0; i < 5; ++i) {
    frames.push_back(test_frame(60 + 10 * i, static_cast<uint8_t>(i)));
    r.net.receive(frames.back());
  }
  EXPECT_EQ(r.input_calls, 5);
  EXPECT_FALSE(r.mmio.has_host_work());  // no buffer to put them in
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
  // Two buffers posted without a notify (Linux fills the ring at probe time): poll finds them.
  std::vector<uint64_t> bufs = {r.rx_buffer(), r.rx_buffer()};
  EXPECT_TRUE(r.mmio.has_host_work());
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 2);
  EXPECT_TRUE(r.net.has_pending_input());
  // The rest as soon as buffers come with a notify.
  for (int i = 0; i < 3; ++i) bufs.push_back(r.rx_buffer());
  r.drv.notify(kRx);
  EXPECT_FALSE(r.net.has_pending_input());
  for (size_t i = 0; i < frames.size(); ++i)
    EXPECT_EQ(r.next_received(bufs[i]), rx_header() + as_string(frames[i])) << i;
  EXPECT_EQ(r.net.stats().rx_frames, 5u);
}

TEST(VirtioNet, NothingIsDeliveredBeforeDriverOk) {
  Rig r;
  ASSERT_TRUE(r.drv.negotiate());
  r.drv.setup_queue(kRx, VirtioNet::kQueueSize);
  r.drv.setup_queue(kTx, VirtioNet::kQueueSize);
  const uint64_t b = r.rx_buffer();
  const Bytes f = test_frame(64, 1);
  r.net.receive(f);
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
  EXPECT_FALSE(r.mmio.has_host_work());
  r.drv.driver_ok();
  r.mmio.poll();
  EXPECT_EQ(r.next_received(b), rx_header() + as_string(f));
}

TEST(VirtioNet, FramesTooBigForTheBufferAreDroppedAndTheBufferKept) {
  Rig r;
  ASSERT_TRUE(r.init());
  const uint64_t b = r.rx_buffer(kHdr + 100);
  const Bytes big = test_frame(101, 1), fits = test_frame(100, 2);
  r.net.receive(big);
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
  EXPECT_FALSE(r.net.has_pending_input());
  EXPECT_FALSE(r.mmio.has_host_work());
  EXPECT_EQ(r.net.stats().rx_dropped_too_big, 1u);
  // The buffer the big frame met takes the next frame that fits.
  r.net.receive(fits);
  EXPECT_TRUE(r.mmio.has_host_work());
  r.mmio.poll();
  EXPECT_EQ(r.next_received(b), rx_header() + as_string(fits));
  const VirtioNet::Stats s = r.net.stats();
  EXPECT_EQ(s.rx_frames, 1u);
  EXPECT_EQ(s.rx_bytes, 100u);
  EXPECT_EQ(s.rx_dropped_too_big, 1u);
  // A driver reset takes the held buffer back: nothing is written into the old ring afterwards.
  r.rx_buffer(kHdr + 10);
  r.net.receive(big);
  r.mmio.poll();
  EXPECT_EQ(r.net.stats().rx_dropped_too_big, 2u);
  ASSERT_TRUE(r.init());
  const uint64_t fresh = r.rx_buffer();
  r.net.receive(fits);
  r.mmio.poll();
  EXPECT_EQ(r.next_received(fresh), rx_header() + as_string(fits));
}

TEST(VirtioNet, AFullHostQueueDropsItsOldestFrames) {
  Rig r;
  ASSERT_TRUE(r.init());
  const size_t extra = 10, n = VirtioNet::kHostQueueFrames + extra;
  for (size_t i = 0; i < n; ++i) {
    Bytes f = test_frame(64, 0);
    f[20] = static_cast<uint8_t>(i), f[21] = static_cast<uint8_t>(i >> 8);  // the frame's number
    r.net.receive(std::move(f));
  }
  EXPECT_EQ(r.net.stats().rx_dropped_overflow, extra);
  std::vector<uint64_t> bufs;
  for (size_t i = 0; i < VirtioNet::kHostQueueFrames; ++i) bufs.push_back(r.rx_buffer(128));
  r.mmio.poll();
  EXPECT_FALSE(r.net.has_pending_input());
  for (size_t i = 0; i < VirtioNet::kHostQueueFrames; ++i) {
    auto got = r.next_received(bufs[i]);
    ASSERT_TRUE(got.has_value()) << i;
    const size_t number = uint8_t((*got)[kHdr + 20]) | size_t(uint8_t((*got)[kHdr + 21])) << 8;
    EXPECT_EQ(number, extra + i);
  }
  EXPECT_EQ(r.net.stats().rx_frames, VirtioNet::kHostQueueFrames);
}

TEST(VirtioNet, FramesShorterThanAnEthernetHeaderAreDropped) {
  Rig r;
  ASSERT_TRUE(r.init());
  r.rx_buffer();
  r.net.receive(test_frame(13, 0));
  r.net.receive(Bytes{});
  r.net.receive(Bytes(virtio_net::kMaxFrameBytes + 1));
  EXPECT_FALSE(r.net.has_pending_input());
  EXPECT_EQ(r.input_calls, 0);
  EXPECT_EQ(r.net.stats().rx_dropped_malformed, 3u);
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
}

TEST(VirtioNet, FramesFromAnotherThreadArriveWholeAndInOrder) {
  Rig r;
  ASSERT_TRUE(r.init());
  constexpr int kFrames = 2000;
  std::atomic<bool> cpu_done{false};  // lets the host thread give up if the CPU side stopped early
  std::thread host([&] {
    for (int i = 0; i < kFrames; ++i) {
      Bytes f = test_frame(60 + i % 200, static_cast<uint8_t>(i));
      f[14] = static_cast<uint8_t>(i), f[15] = static_cast<uint8_t>(i >> 8);
      r.net.receive(std::move(f));
      // Stay under the host queue's bound: the point is ordering, not overflow.
      while (r.net.stats().rx_frames + VirtioNet::kHostQueueFrames / 2 < uint64_t(i) && !cpu_done)
        std::this_thread::yield();
    }
  });
  // The CPU thread: a driver that keeps 16 buffers posted, and the machine's slice-end polls.
  constexpr uint32_t kBuffer = kHdr + 260;  // small, so 2000 of them fit in the test's RAM
  std::vector<uint64_t> posted;
  for (int i = 0; i < 16; ++i) posted.push_back(r.rx_buffer(kBuffer));
  int next = 0;
  bool intact = true;
  for (long spins = 0; intact && next < kFrames && spins < 100'000'000; ++spins) {
    r.mmio.poll();
    while (auto got = r.next_received(posted.front())) {
      const size_t expect_len = kHdr + 60 + next % 200;
      const int number = uint8_t((*got)[kHdr + 14]) | int(uint8_t((*got)[kHdr + 15])) << 8;
      if (got->size() != expect_len || number != next) {
        ADD_FAILURE() << "frame " << next << ": got frame " << number << ", " << got->size() << " bytes";
        intact = false;
        break;
      }
      ++next;
      posted.erase(posted.begin());
      posted.push_back(r.rx_buffer(kBuffer));
    }
  }
  cpu_done = true;
  host.join();
  EXPECT_TRUE(intact);
  EXPECT_EQ(next, kFrames);
  EXPECT_EQ(r.net.stats().rx_dropped_overflow, 0u);
  EXPECT_EQ(r.drv.status() & virtio::kStatusNeedsReset, 0u);
}

// --- ArpIcmpResponder --------------------------------------------------------------------------

const MacAddress kGuestMac = virtio_net::kDefaultMac;
const MacAddress kHostMac = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

// The Internet checksum, written here independently of net::internet_checksum: sum the data as
// 32-bit big-endian words (four bytes at a time), fold, complement.
uint16_t reference_checksum(const Bytes& data, size_t from, size_t len) {
  Bytes d(data.begin() + static_cast<std::ptrdiff_t>(from),
          data.begin() + static_cast<std::ptrdiff_t>(from + len));
  while (d.size() % 4) d.push_back(0);
  uint64_t sum = 0;
  for (size_t i = 0; i < d.size(); i += 4)
    sum += uint64_t(d[i]) << 24 | uint64_t(d[i + 1]) << 16 | uint64_t(d[i + 2]) << 8 | d[i + 3];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint16_t be16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

Bytes hex(const std::string& s) {
  Bytes out;
  std::string digits;
  for (char c : s)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// "who-has 10.0.2.2 tell 10.0.2.15", as Linux's virtio_net sends it (42 bytes, no padding).
const Bytes kArpRequest = hex(
    "ffffffffffff 525400123456 0806"
    "0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202");

// An ICMP echo request from 10.0.2.15 to 10.0.2.2 as busybox ping sends it (id 0x1234, seq 1, 56
// data bytes), with the checksums computed by reference_checksum.
Bytes echo_request(size_t data_bytes = 56, uint8_t ttl = 64) {
  Bytes f = hex("52550a000202 525400123456 0800");
  const size_t ip_len = 20 + 8 + data_bytes;
  Bytes ip = hex("45 00 0000 abcd 4000 00 01 0000 0a00020f 0a000202");
  ip[2] = static_cast<uint8_t>(ip_len >> 8), ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = ttl;
  const uint16_t ip_sum = reference_checksum(ip, 0, 20);
  ip[10] = static_cast<uint8_t>(ip_sum >> 8), ip[11] = static_cast<uint8_t>(ip_sum);
  Bytes icmp = hex("08 00 0000 1234 0001");
  for (size_t i = 0; i < data_bytes; ++i) icmp.push_back(static_cast<uint8_t>(i));
  const uint16_t icmp_sum = reference_checksum(icmp, 0, icmp.size());
  icmp[2] = static_cast<uint8_t>(icmp_sum >> 8), icmp[3] = static_cast<uint8_t>(icmp_sum);
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), icmp.begin(), icmp.end());
  return f;
}

TEST(NetChecksum, MatchesTheKnownExamples) {
  // RFC 1071's worked example (00 01 f2 03 f4 f5 f6 f7: sum ddf2, checksum 220d) and a textbook
  // IPv4 header whose checksum is b861.
  const Bytes rfc = hex("0001 f203 f4f5 f6f7");
  EXPECT_EQ(net::internet_checksum(rfc.data(), rfc.size()), 0x220d);
  EXPECT_EQ(reference_checksum(rfc, 0, rfc.size()), 0x220d);
  Bytes ip = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
  EXPECT_EQ(net::internet_checksum(ip.data(), ip.size()), 0xb861);
  ip[10] = 0xb8, ip[11] = 0x61;
  EXPECT_EQ(net::internet_checksum(ip.data(), ip.size()), 0);
  const Bytes odd = hex("01 02 03");  // 0102 + 0300 = 0402
  EXPECT_EQ(net::internet_checksum(odd.data(), odd.size()), 0xfbfd);
}

TEST(ArpIcmpResponder, AnswersAnArpRequestForTheHost) {
  ArpIcmpResponder responder;
  auto replies = responder.respond(kArpRequest.data(), kArpRequest.size());
  ASSERT_EQ(replies.size(), 1u);
  // "10.0.2.2 is-at 52:55:0a:00:02:02" to the asker, padded to the Ethernet minimum.
  Bytes expect = hex(
      "525400123456 52550a000202 0806"
      "0001 0800 06 04 0002 52550a000202 0a000202 525400123456 0a00020f");
  expect.resize(60, 0);
  EXPECT_EQ(replies[0], expect);
  EXPECT_EQ(responder.stats().arp_replies, 1u);
}

TEST(ArpIcmpResponder, IgnoresArpForOthersAndArpReplies) {
  ArpIcmpResponder responder;
  Bytes other = kArpRequest;
  other[41] = 0x03;  // who-has 10.0.2.3
  EXPECT_TRUE(responder.respond(other.data(), other.size()).empty());
  Bytes gratuitous = kArpRequest;
  gratuitous[41] = 0x0f;  // the guest announcing 10.0.2.15
  EXPECT_TRUE(responder.respond(gratuitous.data(), gratuitous.size()).empty());
  Bytes reply = kArpRequest;
  reply[21] = 2;
  EXPECT_TRUE(responder.respond(reply.data(), reply.size()).empty());
  EXPECT_TRUE(responder.respond(kArpRequest.data(), kArpRequest.size() - 1).empty());  // truncated
  EXPECT_EQ(responder.stats().arp_replies, 0u);
  EXPECT_EQ(responder.stats().ignored, 4u);
}

TEST(ArpIcmpResponder, AnswersAnEchoRequestWithCorrectChecksums) {
  ArpIcmpResponder responder;
  const Bytes request = echo_request();
  auto replies = responder.respond(request.data(), request.size());
  ASSERT_EQ(replies.size(), 1u);
  const Bytes& r = replies[0];
  ASSERT_EQ(r.size(), request.size());  // 98 bytes: no padding needed
  // Ethernet: back to the guest, from the host.
  EXPECT_EQ(Bytes(r.begin(), r.begin() + 14), hex("525400123456 52550a000202 0800"));
  // IPv4: 20-byte header, length 84, DF clear, TTL 64, ICMP, 10.0.2.2 -> 10.0.2.15.
  EXPECT_EQ(r[14], 0x45);
  EXPECT_EQ(be16(r, 16), 84);
  EXPECT_EQ(be16(r, 20) & 0x3fff, 0);  // not a fragment
  EXPECT_EQ(r[22], 64);
  EXPECT_EQ(r[23], 1);
  EXPECT_EQ(Bytes(r.begin() + 26, r.begin() + 34), hex("0a000202 0a00020f"));
  Bytes ip_zeroed(r.begin() + 14, r.begin() + 34);
  ip_zeroed[10] = ip_zeroed[11] = 0;
  EXPECT_EQ(be16(r, 24), reference_checksum(ip_zeroed, 0, 20));
  EXPECT_EQ(reference_checksum(r, 14, 20), 0);
  // ICMP: an echo reply with the identifier, sequence number and data of the request.
  EXPECT_EQ(r[34], 0);
  EXPECT_EQ(r[35], 0);
  EXPECT_EQ(Bytes(r.begin() + 38, r.end()), Bytes(request.begin() + 38, request.end()));
  Bytes icmp_zeroed(r.begin() + 34, r.end());
  icmp_zeroed[2] = icmp_zeroed[3] = 0;
  EXPECT_EQ(be16(r, 36), reference_checksum(icmp_zeroed, 0, icmp_zeroed.size()));
  EXPECT_EQ(reference_checksum(r, 34, r.size() - 34), 0);
  EXPECT_EQ(responder.stats().echo_replies, 1u);

  // An odd-length payload, a short one (the reply is padded to 60 bytes; the IP length says how
  // much is packet) and a request padded by the sender's NIC.
  for (size_t data : {size_t(1), size_t(0), size_t(1001)}) {
    Bytes q = echo_request(data);
    if (data == 0) q.resize(60, 0);
    auto a = responder.respond(q.data(), q.size());
    ASSERT_EQ(a.size(), 1u) << data;
    const size_t ip_len = 28 + data;
    EXPECT_EQ(a[0].size(), std::max<size_t>(14 + ip_len, 60)) << data;
    EXPECT_EQ(be16(a[0], 16), ip_len);
    EXPECT_EQ(reference_checksum(a[0], 14, 20), 0) << data;
    EXPECT_EQ(reference_checksum(a[0], 34, ip_len - 20), 0) << data;
  }
}

TEST(ArpIcmpResponder, IgnoresEverythingElse) {
  ArpIcmpResponder responder;
  auto silent = [&](const Bytes& f) { return responder.respond(f.data(), f.size()).empty(); };
  Bytes bad_ip_sum = echo_request();
  bad_ip_sum[25] ^= 1;
  EXPECT_TRUE(silent(bad_ip_sum));
  Bytes bad_icmp_sum = echo_request();
  bad_icmp_sum[37] ^= 1;
  EXPECT_TRUE(silent(bad_icmp_sum));
  Bytes to_other_ip = echo_request();
  to_other_ip[33] = 3;  // 10.0.2.3 (checksum now wrong too; fix it so only the address differs)
  to_other_ip[24] = to_other_ip[25] = 0;
  {
    const uint16_t s = reference_checksum(to_other_ip, 14, 20);
    to_other_ip[24] = static_cast<uint8_t>(s >> 8), to_other_ip[25] = static_cast<uint8_t>(s);
  }
  EXPECT_TRUE(silent(to_other_ip));
  Bytes to_other_mac = echo_request();
  to_other_mac[5] = 0x03;
  EXPECT_TRUE(silent(to_other_mac));
  Bytes reply = echo_request();
  reply[34] = 0;  // an echo reply (checksum off by 0x0800; the type check comes first anyway)
  EXPECT_TRUE(silent(reply));
  const Bytes whole = echo_request();
  const Bytes truncated(whole.begin(), whole.end() - 1);  // the IP length promises more than the frame has
  EXPECT_TRUE(silent(truncated));
  Bytes udp = echo_request();
  udp[23] = 17;
  EXPECT_TRUE(silent(udp));
  Bytes ipv6 = echo_request();
  ipv6[12] = 0x86, ipv6[13] = 0xdd;
  EXPECT_TRUE(silent(ipv6));
  EXPECT_TRUE(silent(Bytes(10, 0)));
  EXPECT_TRUE(silent(Bytes{}));
  EXPECT_EQ(responder.stats().echo_replies, 0u);
  EXPECT_EQ(responder.stats().arp_replies, 0u);
}

TEST(ArpIcmpResponder, ConnectedToTheDeviceItAnswersTheGuest) {
  Rig r;
  ArpIcmpResponder responder;
  connect_responder(r.net, responder);
  ASSERT_TRUE(r.init());
  const uint64_t b1 = r.rx_buffer(), b2 = r.rx_buffer();
  r.drv.notify(kRx);
  r.transmit(kArpRequest, /*split=*/false);
  r.transmit(echo_request(), /*split=*/true);
  EXPECT_EQ(r.input_calls, 2);
  r.mmio.poll();  // the replies wait for the machine's next poll
  auto arp = r.next_received(b1);
  ASSERT_TRUE(arp.has_value());
  EXPECT_EQ(arp->size(), kHdr + 60);
  EXPECT_EQ(arp->substr(0, kHdr), rx_header());
  EXPECT_EQ(Bytes(arp->begin() + kHdr + 22, arp->begin() + kHdr + 28),
            Bytes(kHostMac.begin(), kHostMac.end()));  // sender: the host
  auto echo = r.next_received(b2);
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->size(), kHdr + 98);
  EXPECT_EQ(uint8_t((*echo)[kHdr + 34]), 0);  // echo reply
  EXPECT_EQ(Bytes(echo->begin() + kHdr, echo->begin() + kHdr + 6), Bytes(kGuestMac.begin(), kGuestMac.end()));
  const VirtioNet::Stats s = r.net.stats();
  EXPECT_EQ(s.tx_frames, 2u);
  EXPECT_EQ(s.rx_frames, 2u);
}

}  // namespace
}  // namespace vmkit::devices
