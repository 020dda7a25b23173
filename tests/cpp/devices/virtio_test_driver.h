// A minimal virtio-mmio driver for the device tests: it does what Linux's virtio_mmio and
// virtio_ring do (the init sequence, split queues laid out in guest RAM, descriptor chains, the
// available ring, notify, the used ring, interrupt status and ack), register by register, so the
// tests see the transport exactly as a guest does. Descriptors can also be written raw, to break
// the rules on purpose.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "devices/virtio_mmio.h"
#include "mmu/phys_memory.h"

namespace vmkit::devices::testing {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 4ull << 20;

struct FakeIrq : IrqLine {
  void set_level(bool high) override {
    level = high;
    ++changes;
  }
  std::atomic<bool> level{false};
  std::atomic<int> changes{0};
};

// One buffer of a chain: `len` bytes at `paddr`, device-writable or not.
struct Seg {
  uint64_t paddr;
  uint32_t len;
  bool writable;
};

constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

class TestDriver {
 public:
  // The queue areas live in the first MiB of RAM, buffers (alloc) after it.
  TestDriver(PhysicalMemory& ram, VirtioMmio& dev) : ram_(ram), dev_(dev) {}

  uint32_t reg(uint32_t offset) {
    uint64_t v = 0;
    EXPECT_TRUE(dev_.read(offset, 4, v)) << std::hex << offset;
    return static_cast<uint32_t>(v);
  }
  void set(uint32_t offset, uint32_t v) { EXPECT_TRUE(dev_.write(offset, 4, v)) << std::hex << offset; }
  uint32_t status() { return reg(VirtioMmio::kRegStatus); }

  uint64_t device_features() {
    set(VirtioMmio::kRegDeviceFeaturesSel, 1);
    uint64_t f = uint64_t(reg(VirtioMmio::kRegDeviceFeatures)) << 32;
    set(VirtioMmio::kRegDeviceFeaturesSel, 0);
    return f | reg(VirtioMmio::kRegDeviceFeatures);
  }

  // Reset, ACKNOWLEDGE, DRIVER, features (offered & accept), FEATURES_OK: returns whether
  // FEATURES_OK stuck (read back, as virtio_features_ok does).
  bool negotiate(uint64_t accept = ~0ull) {
    set(VirtioMmio::kRegStatus, 0);
    set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge);
    set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver);
    const uint64_t f = device_features() & accept;
    set(VirtioMmio::kRegDriverFeaturesSel, 1);
    set(VirtioMmio::kRegDriverFeatures, static_cast<uint32_t>(f >> 32));
    set(VirtioMmio::kRegDriverFeaturesSel, 0);
    set(VirtioMmio::kRegDriverFeatures, static_cast<uint32_t>(f));
    set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk);
    return (status() & virtio::kStatusFeaturesOk) != 0;
  }

  // Lays out queue q (size entries) in RAM and makes it ready, as vm_setup_vq does.
  void setup_queue(unsigned q, uint16_t size) {
    Queue& s = queues_[q];
    s = Queue{};
    s.size = size;
    s.desc = queue_area_;
    s.avail = s.desc + 16ull * size;
    s.used = (s.avail + 6 + 2ull * size + 3) & ~3ull;
    queue_area_ = (s.used + 6 + 8ull * size + 4095) & ~4095ull;
    EXPECT_LE(queue_area_, kRamBase + (1 << 20));
    zero(s.desc, s.used + 6 + 8ull * size - s.desc);
    set(VirtioMmio::kRegQueueSel, q);
    EXPECT_EQ(reg(VirtioMmio::kRegQueueReady), 0u);
    EXPECT_GE(reg(VirtioMmio::kRegQueueNumMax), size);
    set(VirtioMmio::kRegQueueNum, size);
    set(VirtioMmio::kRegQueueDescLow, static_cast<uint32_t>(s.desc));
    set(VirtioMmio::kRegQueueDescHigh, static_cast<uint32_t>(s.desc >> 32));
    set(VirtioMmio::kRegQueueDriverLow, static_cast<uint32_t>(s.avail));
    set(VirtioMmio::kRegQueueDriverHigh, static_cast<uint32_t>(s.avail >> 32));
    set(VirtioMmio::kRegQueueDeviceLow, static_cast<uint32_t>(s.used));
    set(VirtioMmio::kRegQueueDeviceHigh, static_cast<uint32_t>(s.used >> 32));
    set(VirtioMmio::kRegQueueReady, 1);
  }

  void driver_ok() {
    set(VirtioMmio::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk |
                                    virtio::kStatusDriverOk);
  }

  // negotiate + every queue (sizes) + DRIVER_OK; true if the device accepted it all.
  bool init(const std::vector<uint16_t>& sizes, uint64_t accept = ~0ull) {
    if (!negotiate(accept)) return false;
    for (unsigned q = 0; q < sizes.size(); ++q) setup_queue(q, sizes[q]);
    driver_ok();
    return status() == (virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk |
                        virtio::kStatusDriverOk);
  }

  // Buffers for requests, from RAM above the queue areas.
  uint64_t alloc(uint64_t bytes, uint64_t align = 16) {
    next_buffer_ = (next_buffer_ + align - 1) & ~(align - 1);
    const uint64_t at = next_buffer_;
    next_buffer_ += bytes;
    EXPECT_LE(next_buffer_, kRamBase + kRamSize);
    zero(at, bytes);
    return at;
  }
  uint64_t put(const std::string& bytes) {
    const uint64_t at = alloc(bytes.size());
    ram_.write(at, bytes.data(), bytes.size());
    return at;
  }
  std::string get(uint64_t paddr, size_t len) {
    std::string s(len, '\0');
    ram_.read(paddr, s.data(), len);
    return s;
  }

  // Writes descriptor `index` of queue q as given (no checks).
  void write_desc(unsigned q, uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    uint8_t d[16];
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
    ram_.write(queues_[q].desc + 16ull * index, d, 16);
  }
  // Puts `head` in the available ring and publishes it (avail idx + 1).
  void make_available(unsigned q, uint16_t head) {
    Queue& s = queues_[q];
    put16(s.avail + 4 + 2ull * (s.avail_idx % s.size), head);
    ++s.avail_idx;
    put16(s.avail + 2, s.avail_idx);
  }
  void set_avail_idx(unsigned q, uint16_t idx) {
    queues_[q].avail_idx = idx;
    put16(queues_[q].avail + 2, idx);
  }
  void set_avail_flags(unsigned q, uint16_t flags) { put16(queues_[q].avail, flags); }

  // A chain of the segments on free descriptors (a ring of them), made available; returns its head.
  uint16_t add_chain(unsigned q, const std::vector<Seg>& segs) {
    Queue& s = queues_[q];
    const uint16_t head = s.next_desc;
    for (size_t i = 0; i < segs.size(); ++i) {
      const uint16_t index = static_cast<uint16_t>((head + i) % s.size);
      const bool last = i + 1 == segs.size();
      write_desc(q, index, segs[i].paddr, segs[i].len,
                 static_cast<uint16_t>((segs[i].writable ? kDescWrite : 0) | (last ? 0 : kDescNext)),
                 static_cast<uint16_t>((index + 1) % s.size));
    }
    s.next_desc = static_cast<uint16_t>((head + segs.size()) % s.size);
    make_available(q, head);
    return head;
  }
  // The segments in an indirect table in RAM, behind one descriptor; returns its head.
  uint16_t add_indirect(unsigned q, const std::vector<Seg>& segs) {
    const uint64_t table = alloc(16 * segs.size());
    for (size_t i = 0; i < segs.size(); ++i) {
      uint8_t d[16];
      const uint64_t addr = segs[i].paddr;
      const uint32_t len = segs[i].len;
      const bool last = i + 1 == segs.size();
      const uint16_t flags = static_cast<uint16_t>((segs[i].writable ? kDescWrite : 0) | (last ? 0 : kDescNext));
      const uint16_t next = static_cast<uint16_t>(i + 1);
      std::memcpy(d, &addr, 8);
      std::memcpy(d + 8, &len, 4);
      std::memcpy(d + 12, &flags, 2);
      std::memcpy(d + 14, &next, 2);
      ram_.write(table + 16 * i, d, 16);
    }
    Queue& s = queues_[q];
    const uint16_t head = s.next_desc;
    write_desc(q, head, table, static_cast<uint32_t>(16 * segs.size()), kDescIndirect, 0);
    s.next_desc = static_cast<uint16_t>((head + 1) % s.size);
    make_available(q, head);
    return head;
  }

  void notify(unsigned q) { set(VirtioMmio::kRegQueueNotify, q); }

  uint16_t used_idx(unsigned q) { return get16(queues_[q].used + 2); }
  // The next used element {id, len} the driver has not seen, if any.
  std::optional<std::pair<uint32_t, uint32_t>> next_used(unsigned q) {
    Queue& s = queues_[q];
    if (used_idx(q) == s.last_used) return std::nullopt;
    uint32_t e[2];
    ram_.read(s.used + 4 + 8ull * (s.last_used % s.size), e, 8);
    ++s.last_used;
    return std::make_pair(e[0], e[1]);
  }

  // vm_interrupt: read InterruptStatus and acknowledge it.
  uint32_t take_interrupt() {
    const uint32_t st = reg(VirtioMmio::kRegInterruptStatus);
    if (st) set(VirtioMmio::kRegInterruptAck, st);
    return st;
  }

  void put16(uint64_t paddr, uint16_t v) { ram_.write(paddr, &v, 2); }
  uint16_t get16(uint64_t paddr) {
    uint16_t v;
    ram_.read(paddr, &v, 2);
    return v;
  }
  void zero(uint64_t paddr, uint64_t len) {
    std::vector<uint8_t> z(len);
    ram_.write(paddr, z.data(), len);
  }

  struct Queue {
    uint64_t desc = 0, avail = 0, used = 0;
    uint16_t size = 0;
    uint16_t avail_idx = 0;
    uint16_t last_used = 0;
    uint16_t next_desc = 0;
  };
  Queue& queue(unsigned q) { return queues_[q]; }

 private:
  PhysicalMemory& ram_;
  VirtioMmio& dev_;
  std::map<unsigned, Queue> queues_;
  uint64_t queue_area_ = kRamBase;
  uint64_t next_buffer_ = kRamBase + (1 << 20);
};

}  // namespace vmkit::devices::testing
