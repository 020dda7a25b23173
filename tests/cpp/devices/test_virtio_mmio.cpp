// The virtio-mmio transport and split virtqueues, driven register by register as Linux's
// virtio_mmio/virtio_ring drive them: identification, feature negotiation (FEATURES_OK refused for
// features not offered or without VERSION_1), queue setup, descriptor chains (direct, indirect,
// wrapping rings), the used ring, interrupt status/ack and the line, reset; and every way a guest
// can break the ring rules, each of which must end in DEVICE_NEEDS_RESET and never touch host
// memory outside guest RAM.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "devices/virtio_mmio.h"
#include "virtio_test_driver.h"

namespace vmkit::devices {
namespace {

using testing::FakeIrq;
using testing::kRamBase;
using testing::kRamSize;
using testing::Seg;
using testing::TestDriver;

// A device with two queues. Queue 0 answers each chain with its readable bytes reversed, written
// into its writable buffers; queue 1 only counts notifies.
class EchoDevice : public VirtioDevice {
 public:
  const char* name() const override { return "echo"; }
  uint32_t device_id() const override { return 42; }
  uint64_t device_features() const override { return (1ull << 0) | (1ull << 5) | (1ull << 40); }
  void features_negotiated(uint64_t f) override { negotiated = f; }
  unsigned queue_count() const override { return 2; }
  uint16_t queue_max_size(unsigned q) const override { return q == 0 ? 8 : 4; }
  uint32_t config_size() const override { return sizeof config; }
  void read_config(uint32_t offset, uint8_t* out, unsigned size) override {
    std::memcpy(out, config + offset, size);
  }
  void write_config(uint32_t offset, const uint8_t* data, unsigned size) override {
    std::memcpy(config + offset, data, size);
  }
  void queue_notify(unsigned queue, VirtQueue& q) override {
    ++notifies[queue];
    if (queue != 0) return;
    VirtQueue::Chain c;
    while (q.pop(c)) {
      chains.push_back(c);
      if (c.readable_bytes > (1 << 20)) {  // random rings can describe all of RAM several times
        q.push(c, 0);
        continue;
      }
      std::string in(c.readable_bytes, '\0');
      EXPECT_EQ(q.read(c, 0, in.data(), in.size()), in.size());
      std::string out(in.rbegin(), in.rend());
      const size_t n = q.write(c, 0, out.data(), out.size());
      q.push(c, static_cast<uint32_t>(n));
    }
  }
  void reset() override { ++resets; }

  uint64_t negotiated = 0;
  int notifies[2] = {0, 0};
  int resets = 0;
  std::vector<VirtQueue::Chain> chains;
  uint8_t config[6] = {1, 2, 3, 4, 5, 6};
};

struct Rig {
  PhysicalMemory ram{kRamBase, kRamSize};
  FakeIrq irq;
  EchoDevice dev;
  VirtioMmio mmio{ram, irq, dev};
  TestDriver drv{ram, mmio};

  bool needs_reset() { return drv.status() & virtio::kStatusNeedsReset; }
};

constexpr uint64_t kDeviceFeatures = (1ull << 0) | (1ull << 5) | (1ull << 40);

TEST(VirtioMmio, IdentifiesItselfAsAVersion2Transport) {
  Rig r;
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegMagicValue), 0x74726976u);  // "virt"
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegVersion), 2u);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegDeviceId), 42u);
  EXPECT_NE(r.drv.reg(VirtioMmio::kRegVendorId), 0u);
  for (uint32_t q : {0u, 1u, 2u, 1000u}) {
    r.drv.set(VirtioMmio::kRegQueueSel, q);
    EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueNumMax), q == 0 ? 8u : q == 1 ? 4u : 0u) << q;
    EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueReady), 0u);
  }
  EXPECT_EQ(r.drv.status(), 0u);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 0u);
  // No shared memory regions.
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegShmLenLow), 0xffffffffu);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegShmLenHigh), 0xffffffffu);
}

TEST(VirtioMmio, ControlRegistersTakeOnlyAligned32BitAccesses) {
  Rig r;
  uint64_t v;
  EXPECT_FALSE(r.mmio.read(VirtioMmio::kRegMagicValue, 1, v));
  EXPECT_FALSE(r.mmio.read(VirtioMmio::kRegMagicValue, 8, v));
  EXPECT_FALSE(r.mmio.read(VirtioMmio::kRegMagicValue + 2, 4, v));
  EXPECT_FALSE(r.mmio.write(VirtioMmio::kRegStatus, 2, 1));
  EXPECT_FALSE(r.mmio.read(VirtioMmio::kSize, 4, v));
  EXPECT_EQ(r.drv.status(), 0u);
}

TEST(VirtioMmio, ConfigSpaceAt0x100InEveryWidth) {
  Rig r;
  uint64_t v = 0;
  ASSERT_TRUE(r.mmio.read(0x100, 1, v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(r.mmio.read(0x102, 2, v));
  EXPECT_EQ(v, 0x0403u);
  ASSERT_TRUE(r.mmio.read(0x100, 4, v));
  EXPECT_EQ(v, 0x04030201u);
  // Past the device's config: the bytes that exist, then zeros.
  ASSERT_TRUE(r.mmio.read(0x104, 4, v));
  EXPECT_EQ(v, 0x0605u);
  ASSERT_TRUE(r.mmio.read(0x200, 4, v));
  EXPECT_EQ(v, 0u);
  ASSERT_TRUE(r.mmio.write(0x101, 1, 0xee));
  EXPECT_EQ(r.dev.config[1], 0xee);
  ASSERT_TRUE(r.mmio.write(0x300, 4, 0x12345678));  // ignored
  EXPECT_FALSE(r.mmio.read(0x100, 3, v));
}

TEST(VirtioMmio, OffersDeviceFeaturesWithVersion1AndIndirectDescriptors) {
  Rig r;
  const uint64_t f = r.drv.device_features();
  EXPECT_EQ(f, kDeviceFeatures | virtio::kFVersion1 | virtio::kFRingIndirectDesc);
  EXPECT_FALSE(f & virtio::kFRingEventIdx);
  r.drv.set(VirtioMmio::kRegDeviceFeaturesSel, 2);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegDeviceFeatures), 0u);
}

TEST(VirtioMmio, FeaturesOkSticksOnlyForOfferedFeaturesWithVersion1) {
  Rig r;
  // Everything offered: accepted, and the device hears what was negotiated.
  EXPECT_TRUE(r.drv.negotiate(virtio::kFVersion1 | (1ull << 5)));
  EXPECT_EQ(r.dev.negotiated, virtio::kFVersion1 | (1ull << 5));
  EXPECT_EQ(r.mmio.driver_features(), virtio::kFVersion1 | (1ull << 5));
  // Features are frozen after FEATURES_OK.
  r.drv.set(VirtioMmio::kRegDriverFeaturesSel, 0);
  r.drv.set(VirtioMmio::kRegDriverFeatures, 1);
  EXPECT_EQ(r.mmio.driver_features(), virtio::kFVersion1 | (1ull << 5));

  // A legacy driver (no VERSION_1) is refused.
  EXPECT_FALSE(r.drv.negotiate(1ull << 0));
  EXPECT_EQ(r.drv.status(), virtio::kStatusAcknowledge | virtio::kStatusDriver);

  // A feature that was not offered is refused.
  r.drv.set(VirtioMmio::kRegStatus, 0);
  r.drv.set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver);
  r.drv.set(VirtioMmio::kRegDriverFeaturesSel, 1);
  r.drv.set(VirtioMmio::kRegDriverFeatures, 1);  // VERSION_1
  r.drv.set(VirtioMmio::kRegDriverFeaturesSel, 0);
  r.drv.set(VirtioMmio::kRegDriverFeatures, 1u << 3);
  r.drv.set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk);
  EXPECT_FALSE(r.drv.status() & virtio::kStatusFeaturesOk);
}

TEST(VirtioMmio, EchoesAChainThroughTheUsedRingWithAnInterrupt) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t in = r.drv.put("hello"), out = r.drv.alloc(16);
  const uint16_t head = r.drv.add_chain(0, {{in, 5, false}, {out, 16, true}});
  EXPECT_FALSE(r.irq.level);
  r.drv.notify(0);
  EXPECT_EQ(r.dev.notifies[0], 1);
  EXPECT_EQ(r.drv.used_idx(0), 1);
  auto used = r.drv.next_used(0);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->first, head);
  EXPECT_EQ(used->second, 5u);
  EXPECT_EQ(r.drv.get(out, 6), std::string("olleh\0", 6));
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.drv.take_interrupt(), virtio::kInterruptUsedBuffer);
  EXPECT_FALSE(r.irq.level);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 0u);
  // Nothing new: a notify finds nothing and raises nothing.
  r.drv.notify(0);
  EXPECT_EQ(r.drv.used_idx(0), 1);
  EXPECT_FALSE(r.irq.level);
}

TEST(VirtioMmio, ScatterGatherAcrossManyBuffersAndSeveralChainsPerNotify) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t a = r.drv.put("abc"), b = r.drv.put("defg");
  const uint64_t o1 = r.drv.alloc(2), o2 = r.drv.alloc(5);
  const uint16_t h1 = r.drv.add_chain(0, {{a, 3, false}, {b, 4, false}, {o1, 2, true}, {o2, 5, true}});
  const uint64_t c = r.drv.put("xy"), o3 = r.drv.alloc(1);
  const uint16_t h2 = r.drv.add_chain(0, {{c, 2, false}, {o3, 1, true}});  // too small: 1 of 2 bytes
  r.drv.notify(0);
  ASSERT_EQ(r.dev.chains.size(), 2u);
  EXPECT_EQ(r.dev.chains[0].readable.size(), 2u);
  EXPECT_EQ(r.dev.chains[0].readable_bytes, 7u);
  EXPECT_EQ(r.dev.chains[0].writable_bytes, 7u);
  EXPECT_EQ(r.drv.get(o1, 2) + r.drv.get(o2, 5), "gfedcba");
  EXPECT_EQ(r.drv.get(o3, 1), "y");
  EXPECT_EQ(r.drv.next_used(0), std::make_pair(uint32_t(h1), 7u));
  EXPECT_EQ(r.drv.next_used(0), std::make_pair(uint32_t(h2), 1u));
}

TEST(VirtioMmio, RingsWrapAround) {
  Rig r;
  ASSERT_TRUE(r.drv.init({4, 4}));
  for (int i = 0; i < 11; ++i) {
    const std::string word = "w" + std::to_string(i);
    const uint64_t in = r.drv.put(word), out = r.drv.alloc(8);
    const uint16_t head = r.drv.add_chain(0, {{in, uint32_t(word.size()), false}, {out, 8, true}});
    r.drv.notify(0);
    auto used = r.drv.next_used(0);
    ASSERT_TRUE(used) << i;
    EXPECT_EQ(used->first, head);
    EXPECT_EQ(r.drv.get(out, word.size()), std::string(word.rbegin(), word.rend()));
  }
  EXPECT_EQ(r.drv.used_idx(0), 11);
  EXPECT_EQ(r.mmio.queue(0).last_avail(), 11);
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioMmio, FreeRunningIndicesWrapAt65536) {
  Rig r;
  ASSERT_TRUE(r.drv.init({4, 4}));
  // Both sides start at 0; drive them past 0xffff.
  for (int i = 0; i < 65540; ++i) {
    const uint64_t in = kRamBase + (2 << 20), out = kRamBase + (2 << 20) + 64;
    r.drv.add_chain(0, {{in, 1, false}, {out, 1, true}});
    r.drv.notify(0);
    ASSERT_TRUE(r.drv.next_used(0)) << i;
  }
  EXPECT_EQ(r.drv.used_idx(0), uint16_t(65540));
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioMmio, NoInterruptFlagSuppressesTheInterruptButNotTheWork) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  r.drv.set_avail_flags(0, 1);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  const uint64_t in = r.drv.put("x"), out = r.drv.alloc(1);
  r.drv.add_chain(0, {{in, 1, false}, {out, 1, true}});
  r.drv.notify(0);
  EXPECT_EQ(r.drv.used_idx(0), 1);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 0u);
  EXPECT_FALSE(r.irq.level);
}

TEST(VirtioMmio, BuffersMadeAvailableBeforeDriverOkWaitForIt) {
  Rig r;
  ASSERT_TRUE(r.drv.negotiate());
  r.drv.setup_queue(0, 8);
  const uint64_t in = r.drv.put("ab"), out = r.drv.alloc(2);
  r.drv.add_chain(0, {{in, 2, false}, {out, 2, true}});
  r.drv.notify(0);
  EXPECT_EQ(r.dev.notifies[0], 0);
  EXPECT_EQ(r.drv.used_idx(0), 0);
  r.drv.driver_ok();
  EXPECT_EQ(r.drv.used_idx(0), 1);
  EXPECT_EQ(r.drv.get(out, 2), "ba");
  EXPECT_TRUE(r.irq.level);
}

TEST(VirtioMmio, NotifyOfAQueueThatIsNotReadyOrDoesNotExistIsIgnored) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8}));  // queue 1 left unset
  r.drv.notify(1);
  r.drv.notify(7);
  r.drv.notify(0xffffffff);
  EXPECT_EQ(r.dev.notifies[1], 0);
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioMmio, QueueConfigurationIsFrozenWhileReady) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t desc = r.mmio.queue(0).desc_addr;
  r.drv.set(VirtioMmio::kRegQueueSel, 0);
  r.drv.set(VirtioMmio::kRegQueueNum, 2);
  r.drv.set(VirtioMmio::kRegQueueDescLow, 0x1000);
  EXPECT_EQ(r.mmio.queue(0).size(), 8u);
  EXPECT_EQ(r.mmio.queue(0).desc_addr, desc);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueDescLow), static_cast<uint32_t>(desc));
  // QueueReady 0 (vm_del_vq) takes it down; then it can be set up again.
  r.drv.set(VirtioMmio::kRegQueueReady, 0);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueReady), 0u);
  r.drv.set(VirtioMmio::kRegQueueNum, 2);
  EXPECT_EQ(r.mmio.queue(0).size(), 2u);
}

TEST(VirtioMmio, BadQueueSetupIsADeviceError) {
  struct Case {
    const char* what;
    uint32_t num;
    uint64_t desc, avail, used;
  };
  const Case cases[] = {
      {"size not a power of 2", 6, kRamBase, kRamBase + 0x1000, kRamBase + 0x2000},
      {"size above QueueNumMax", 16, kRamBase, kRamBase + 0x1000, kRamBase + 0x2000},
      {"size 0", 0, kRamBase, kRamBase + 0x1000, kRamBase + 0x2000},
      {"descriptors misaligned", 8, kRamBase + 8, kRamBase + 0x1000, kRamBase + 0x2000},
      {"descriptors outside RAM", 8, 0x1000, kRamBase + 0x1000, kRamBase + 0x2000},
      {"avail ring running off RAM", 8, kRamBase, kRamBase + kRamSize - 4, kRamBase + 0x2000},
      {"used ring misaligned", 8, kRamBase, kRamBase + 0x1000, kRamBase + 0x2002},
      {"used ring past 2^64", 8, kRamBase, kRamBase + 0x1000, ~0ull - 3},
  };
  for (const Case& c : cases) {
    Rig r;
    ASSERT_TRUE(r.drv.negotiate());
    r.drv.set(VirtioMmio::kRegQueueSel, 0);
    r.drv.set(VirtioMmio::kRegQueueNum, c.num);
    r.drv.set(VirtioMmio::kRegQueueDescLow, uint32_t(c.desc));
    r.drv.set(VirtioMmio::kRegQueueDescHigh, uint32_t(c.desc >> 32));
    r.drv.set(VirtioMmio::kRegQueueDriverLow, uint32_t(c.avail));
    r.drv.set(VirtioMmio::kRegQueueDriverHigh, uint32_t(c.avail >> 32));
    r.drv.set(VirtioMmio::kRegQueueDeviceLow, uint32_t(c.used));
    r.drv.set(VirtioMmio::kRegQueueDeviceHigh, uint32_t(c.used >> 32));
    r.drv.set(VirtioMmio::kRegQueueReady, 1);
    EXPECT_TRUE(r.needs_reset()) << c.what;
    EXPECT_FALSE(r.mmio.error().empty()) << c.what;
  }
}

// A rig whose queue 0 is live, for feeding it broken rings.
struct LiveRig : Rig {
  LiveRig() { EXPECT_TRUE(drv.init({8, 4})); }
  // Notifies queue 0 and expects a device error naming `what`, with nothing processed and the
  // configuration change interrupt raised.
  void expect_device_error(const std::string& what) {
    drv.notify(0);
    EXPECT_TRUE(needs_reset()) << what;
    EXPECT_NE(mmio.error().find(what), std::string::npos) << mmio.error();
    EXPECT_TRUE(dev.chains.empty());
    EXPECT_EQ(drv.used_idx(0), 0);
    EXPECT_EQ(drv.reg(VirtioMmio::kRegInterruptStatus) & virtio::kInterruptConfigChange,
              virtio::kInterruptConfigChange);
    EXPECT_TRUE(irq.level);
    // The queue stays dead until a reset, however the driver pokes it.
    drv.notify(0);
    EXPECT_TRUE(dev.chains.empty());
  }
};

TEST(VirtioMmio, HeadIndexPastTheQueueIsADeviceError) {
  LiveRig r;
  r.drv.make_available(0, 8);
  r.expect_device_error("descriptor index 8 is past the queue size 8");
}

TEST(VirtioMmio, NextIndexPastTheQueueIsADeviceError) {
  LiveRig r;
  const uint64_t buf = r.drv.alloc(4);
  r.drv.write_desc(0, 0, buf, 4, testing::kDescNext, 0xffff);
  r.drv.make_available(0, 0);
  r.expect_device_error("descriptor index 65535");
}

TEST(VirtioMmio, ALoopingChainIsADeviceError) {
  LiveRig r;
  const uint64_t buf = r.drv.alloc(4);
  r.drv.write_desc(0, 0, buf, 4, testing::kDescNext, 1);
  r.drv.write_desc(0, 1, buf, 4, testing::kDescNext, 0);
  r.drv.make_available(0, 0);
  r.expect_device_error("loops");
}

TEST(VirtioMmio, ABufferOutsideRamIsADeviceError) {
  LiveRig r;
  r.drv.write_desc(0, 0, kRamBase + kRamSize - 2, 4, testing::kDescWrite, 0);  // runs off the end
  r.drv.make_available(0, 0);
  r.expect_device_error("outside RAM");
}

TEST(VirtioMmio, ABufferWrappingPast2To64IsADeviceError) {
  LiveRig r;
  r.drv.write_desc(0, 0, ~0ull - 1, 16, testing::kDescWrite, 0);
  r.drv.make_available(0, 0);
  r.expect_device_error("outside RAM");
}

TEST(VirtioMmio, AReadableBufferAfterAWritableOneIsADeviceError) {
  LiveRig r;
  const uint64_t buf = r.drv.alloc(8);
  r.drv.add_chain(0, {{buf, 4, true}, {buf + 4, 4, false}});
  r.expect_device_error("device-readable buffer after a writable one");
}

TEST(VirtioMmio, AnAvailableIndexTooFarAheadIsADeviceError) {
  LiveRig r;
  r.drv.set_avail_idx(0, 9);  // 9 buffers in an 8-entry ring
  r.expect_device_error("more than the queue size");
}

TEST(VirtioMmio, ResetRecoversFromADeviceError) {
  LiveRig r;
  r.drv.make_available(0, 200);
  r.drv.notify(0);
  ASSERT_TRUE(r.needs_reset());
  const int resets = r.dev.resets;
  r.drv.set(VirtioMmio::kRegStatus, 0);
  EXPECT_EQ(r.drv.status(), 0u);
  EXPECT_EQ(r.dev.resets, resets + 1);
  EXPECT_TRUE(r.mmio.error().empty());
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 0u);
  EXPECT_FALSE(r.irq.level);
  r.drv.set(VirtioMmio::kRegQueueSel, 0);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueReady), 0u);
  EXPECT_EQ(r.mmio.driver_features(), 0u);
  // A fresh driver gets a working device.
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t in = r.drv.put("ok"), out = r.drv.alloc(2);
  r.drv.add_chain(0, {{in, 2, false}, {out, 2, true}});
  r.drv.notify(0);
  EXPECT_EQ(r.drv.get(out, 2), "ko");
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioMmio, IndirectDescriptorTables) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  ASSERT_TRUE(r.mmio.driver_features() & virtio::kFRingIndirectDesc);
  const uint64_t a = r.drv.put("12"), b = r.drv.put("345"), o = r.drv.alloc(5);
  const uint16_t head = r.drv.add_indirect(0, {{a, 2, false}, {b, 3, false}, {o, 5, true}});
  r.drv.notify(0);
  EXPECT_EQ(r.drv.next_used(0), std::make_pair(uint32_t(head), 5u));
  EXPECT_EQ(r.drv.get(o, 5), "54321");
  // More entries in one table than the ring has descriptors (Linux does this).
  std::vector<Seg> many;
  std::string expect;
  for (int i = 0; i < 20; ++i) {
    const std::string s(1, char('a' + i));
    many.push_back({r.drv.put(s), 1, false});
    expect = s + expect;
  }
  const uint64_t o2 = r.drv.alloc(20);
  many.push_back({o2, 20, true});
  r.drv.add_indirect(0, many);
  r.drv.notify(0);
  EXPECT_EQ(r.drv.get(o2, 20), expect);
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioMmio, IndirectDescriptorsWithoutTheFeatureAreADeviceError) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}, ~virtio::kFRingIndirectDesc));
  const uint64_t o = r.drv.alloc(4);
  r.drv.add_indirect(0, {{o, 4, true}});
  r.drv.notify(0);
  EXPECT_TRUE(r.needs_reset());
  EXPECT_NE(r.mmio.error().find("VIRTIO_F_RING_INDIRECT_DESC"), std::string::npos);
}

TEST(VirtioMmio, BrokenIndirectTablesAreDeviceErrors) {
  struct Case {
    const char* what;
    uint32_t table_len;
    bool nested, loop, chained, bad_next;
  };
  const Case cases[] = {
      {"not a whole number of descriptors", 24, false, false, false, false},
      {"empty", 0, false, false, false, false},
      {"holds an indirect descriptor", 32, true, false, false, false},
      {"loops", 32, false, true, false, false},
      {"both indirect and chained", 32, false, false, true, false},
      {"links to entry 7 of 2", 32, false, false, false, true},
  };
  for (const Case& c : cases) {
    LiveRig r;
    const uint64_t buf = r.drv.alloc(16), table = r.drv.alloc(32);
    uint8_t d[32] = {};
    auto entry = [&](int i, uint16_t flags, uint16_t next) {
      std::memcpy(d + 16 * i, &buf, 8);
      const uint32_t len = 16;
      std::memcpy(d + 16 * i + 8, &len, 4);
      std::memcpy(d + 16 * i + 12, &flags, 2);
      std::memcpy(d + 16 * i + 14, &next, 2);
    };
    entry(0, testing::kDescNext, c.bad_next ? 7 : 1);
    using testing::kDescIndirect, testing::kDescNext, testing::kDescWrite;
    entry(1, uint16_t(kDescWrite | (c.nested ? kDescIndirect : 0) | (c.loop ? kDescNext : 0)), 0);
    r.ram.write(table, d, 32);
    r.drv.write_desc(0, 0, table, c.table_len, uint16_t(kDescIndirect | (c.chained ? kDescNext : 0)), 1);
    r.drv.make_available(0, 0);
    r.expect_device_error(c.what);
  }
}

TEST(VirtioMmio, DmaIntoAPageHoldingTranslatedCodeDropsItsTranslations) {
  Rig r;
  std::vector<uint64_t> written;
  r.ram.on_code_written = [&](uint64_t page) { written.push_back(page); };
  ASSERT_TRUE(r.drv.init({8, 4}));
  // The answer straddles two pages; the second holds code, and a third, untouched one too.
  const uint64_t in = r.drv.put("code1234"), out = r.drv.alloc(3 * 4096, 4096) + 4092;
  const uint64_t second = out + 4, third = second + 4096;
  r.ram.mark_code(second);
  r.ram.mark_code(third);
  r.drv.add_chain(0, {{in, 8, false}, {out, 4096, true}});
  r.drv.notify(0);
  EXPECT_EQ(written, std::vector<uint64_t>{second});
  EXPECT_FALSE(r.ram.holds_code(second));
  EXPECT_TRUE(r.ram.holds_code(third));
  EXPECT_EQ(r.drv.get(out, 8), "4321edoc");
  // The used ring too: a driver may put it in a page that once held code.
  written.clear();
  r.ram.mark_code(r.drv.queue(0).used);
  r.drv.add_chain(0, {{in, 8, false}, {out, 8, true}});
  r.drv.notify(0);
  EXPECT_EQ(written, std::vector<uint64_t>{r.drv.queue(0).used & ~4095ull});
}

TEST(VirtioMmio, ConfigChangeBumpsTheGenerationAndInterrupts) {
  Rig r;
  const uint32_t g = r.drv.reg(VirtioMmio::kRegConfigGeneration);
  r.mmio.config_changed();  // before DRIVER_OK: no interrupt
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegConfigGeneration), g + 1);
  EXPECT_FALSE(r.irq.level);
  ASSERT_TRUE(r.drv.init({8, 4}));
  r.mmio.config_changed();
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegConfigGeneration), g + 2);
  EXPECT_EQ(r.drv.take_interrupt(), virtio::kInterruptConfigChange);
  EXPECT_FALSE(r.irq.level);
}

TEST(VirtioMmio, InterruptAckClearsOnlyTheAcknowledgedBits) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t in = r.drv.put("x"), out = r.drv.alloc(1);
  r.drv.add_chain(0, {{in, 1, false}, {out, 1, true}});
  r.drv.notify(0);
  r.mmio.config_changed();
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 3u);
  r.drv.set(VirtioMmio::kRegInterruptAck, 1);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegInterruptStatus), 2u);
  EXPECT_TRUE(r.irq.level);
  r.drv.set(VirtioMmio::kRegInterruptAck, 2);
  EXPECT_FALSE(r.irq.level);
}

TEST(VirtioMmio, MachineResetClearsEverything) {
  Rig r;
  ASSERT_TRUE(r.drv.init({8, 4}));
  const uint64_t in = r.drv.put("x"), out = r.drv.alloc(1);
  r.drv.add_chain(0, {{in, 1, false}, {out, 1, true}});
  r.drv.notify(0);
  ASSERT_TRUE(r.irq.level);
  r.mmio.reset();
  EXPECT_FALSE(r.irq.level);
  EXPECT_EQ(r.drv.status(), 0u);
  r.drv.set(VirtioMmio::kRegQueueSel, 0);
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueReady), 0u);
}

// Random bytes in the descriptor table and rings, many notifies: the device may only ever see
// buffers inside RAM (checked here; ASan checks the rest), and the transport ends up either working
// or in DEVICE_NEEDS_RESET.
TEST(VirtioMmio, RandomRingsNeverEscapeGuestRam) {
  std::mt19937_64 rng(12345);
  int errors = 0, served = 0;
  for (int round = 0; round < 300; ++round) {
    Rig r;
    ASSERT_TRUE(r.drv.init({8, 4}));
    const auto& q = r.drv.queue(0);
    for (int step = 0; step < 20; ++step) {
      // Scribble over descriptors (addresses near and inside RAM, lengths, flags, next) and the
      // available ring.
      for (uint16_t i = 0; i < 8; ++i) {
        const uint64_t choices[] = {kRamBase + (rng() % kRamSize), rng(), kRamBase + kRamSize - (rng() % 64), 0};
        const uint64_t addr = choices[rng() % 4];
        const uint32_t len = static_cast<uint32_t>(rng() % 3 == 0 ? rng() : rng() % 256);
        r.drv.write_desc(0, i, addr, len, static_cast<uint16_t>(rng() % 8), static_cast<uint16_t>(rng() % 10));
      }
      const uint16_t idx = static_cast<uint16_t>(r.drv.get16(q.avail + 2) + rng() % 3);
      for (int i = 0; i < 8; ++i) r.drv.put16(q.avail + 4 + 2 * i, static_cast<uint16_t>(rng() % 10));
      r.drv.put16(q.avail + 2, idx);
      r.drv.notify(0);
    }
    for (const VirtQueue::Chain& c : r.dev.chains) {
      for (const auto* list : {&c.readable, &c.writable})
        for (const VirtQueue::Buffer& b : *list) EXPECT_TRUE(r.ram.in_ram(b.paddr, b.len));
    }
    served += static_cast<int>(r.dev.chains.size());
    errors += r.needs_reset();
  }
  // Both outcomes happen: the test exercises the error paths and the working ones.
  EXPECT_GT(errors, 0);
  EXPECT_GT(served, 0);
}

}  // namespace
}  // namespace vmkit::devices
