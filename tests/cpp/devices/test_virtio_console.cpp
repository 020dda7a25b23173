// virtio-console (one port, no multiport) over the virtio-mmio transport: transmit to on_output,
// host input through receive() (from any thread) into the guest's receive buffers at poll() and
// when buffers arrive, split across small buffers, never lost or reordered; and on the virt board,
// where its output joins the console and its input wakes the machine.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "devices/riscv_virt.h"
#include "devices/virtio_console.h"
#include "virtio_test_driver.h"

namespace vmkit::devices {
namespace {

using testing::FakeIrq;
using testing::kRamBase;
using testing::kRamSize;
using testing::TestDriver;

constexpr unsigned kRx = VirtioConsole::kReceiveQueue, kTx = VirtioConsole::kTransmitQueue;

struct Rig {
  Rig() {
    console.on_output = [this](const uint8_t* p, size_t n) { output.append(reinterpret_cast<const char*>(p), n); };
    console.on_input = [this] { ++input_calls; };
  }
  bool init() { return drv.init({VirtioConsole::kQueueSize, VirtioConsole::kQueueSize}); }
  void feed(const std::string& s) { console.receive(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  // Gives the device a receive buffer of `len` bytes; returns its address.
  uint64_t rx_buffer(uint32_t len) {
    const uint64_t b = drv.alloc(len);
    drv.add_chain(kRx, {{b, len, true}});
    return b;
  }
  // What the used ring returned in receive buffers (addresses from rx_buffer, in order).
  std::string received(const std::vector<uint64_t>& bufs) {
    std::string s;
    for (uint64_t b : bufs) {
      auto used = drv.next_used(kRx);
      if (!used) break;
      s += drv.get(b, used->second);
    }
    return s;
  }

  PhysicalMemory ram{kRamBase, kRamSize};
  FakeIrq irq;
  VirtioConsole console;
  VirtioMmio mmio{ram, irq, console};
  TestDriver drv{ram, mmio};
  std::string output;
  int input_calls = 0;
};

TEST(VirtioConsole, IsDevice3WithTwoQueuesAndNoOptionalFeatures) {
  Rig r;
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegDeviceId), 3u);
  EXPECT_EQ(r.drv.device_features(), virtio::kFVersion1 | virtio::kFRingIndirectDesc);
  for (uint32_t q = 0; q < 3; ++q) {
    r.drv.set(VirtioMmio::kRegQueueSel, q);
    EXPECT_EQ(r.drv.reg(VirtioMmio::kRegQueueNumMax), q < 2 ? VirtioConsole::kQueueSize : 0u);
  }
  uint64_t v = 1;
  ASSERT_TRUE(r.mmio.read(VirtioMmio::kRegConfig, 4, v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(r.init());
}

TEST(VirtioConsole, TransmittedBytesGoToOnOutput) {
  Rig r;
  ASSERT_TRUE(r.init());
  const uint64_t a = r.drv.put("hello, "), b = r.drv.put("world\n");
  const uint16_t head = r.drv.add_chain(kTx, {{a, 7, false}, {b, 6, false}});
  r.drv.notify(kTx);
  EXPECT_EQ(r.output, "hello, world\n");
  EXPECT_EQ(r.drv.next_used(kTx), std::make_pair(uint32_t(head), 0u));
  EXPECT_EQ(r.drv.take_interrupt(), virtio::kInterruptUsedBuffer);
  // Several chains in one notify, in order.
  r.drv.add_chain(kTx, {{r.drv.put("1"), 1, false}});
  r.drv.add_chain(kTx, {{r.drv.put("23"), 2, false}});
  r.drv.notify(kTx);
  EXPECT_EQ(r.output, "hello, world\n123");
}

TEST(VirtioConsole, InputWaitsForBuffersThenArrivesAtPoll) {
  Rig r;
  ASSERT_TRUE(r.init());
  r.feed("abc");
  EXPECT_EQ(r.input_calls, 1);
  EXPECT_TRUE(r.console.has_pending_input());
  EXPECT_FALSE(r.mmio.has_host_work());  // no buffer to put it in
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
  // The driver adds buffers without a notify (Linux fills the queue at probe time): poll finds them.
  r.drv.set_avail_flags(kRx, 0);
  const uint64_t b = r.drv.alloc(64);
  r.drv.add_chain(kRx, {{b, 64, true}});
  EXPECT_TRUE(r.mmio.has_host_work());
  r.mmio.poll();
  EXPECT_EQ(r.received({b}), "abc");
  EXPECT_FALSE(r.console.has_pending_input());
  EXPECT_FALSE(r.mmio.has_host_work());
  EXPECT_TRUE(r.irq.level);
}

TEST(VirtioConsole, NewBuffersTakeWaitingInputAtOnce) {
  Rig r;
  ASSERT_TRUE(r.init());
  r.feed("xyz");
  const uint64_t b = r.rx_buffer(16);
  r.drv.notify(kRx);
  EXPECT_EQ(r.received({b}), "xyz");
}

TEST(VirtioConsole, InputIsSplitAcrossSmallBuffersInOrder) {
  Rig r;
  ASSERT_TRUE(r.init());
  std::vector<uint64_t> bufs;
  for (int i = 0; i < 3; ++i) bufs.push_back(r.rx_buffer(4));
  r.feed("0123456789");
  r.mmio.poll();
  EXPECT_EQ(r.received(bufs), "0123456789");
  // Input beyond the buffers waits for more.
  bufs.clear();
  bufs.push_back(r.rx_buffer(2));
  r.feed("abcdef");
  r.mmio.poll();
  EXPECT_TRUE(r.console.has_pending_input());
  bufs.push_back(r.rx_buffer(8));
  r.drv.notify(kRx);
  EXPECT_EQ(r.received(bufs), "abcdef");
}

TEST(VirtioConsole, NothingIsDeliveredBeforeDriverOk) {
  Rig r;
  ASSERT_TRUE(r.drv.negotiate());
  r.drv.setup_queue(kRx, VirtioConsole::kQueueSize);
  r.drv.setup_queue(kTx, VirtioConsole::kQueueSize);
  const uint64_t b = r.rx_buffer(8);
  r.feed("early");
  r.mmio.poll();
  EXPECT_EQ(r.drv.used_idx(kRx), 0);
  EXPECT_FALSE(r.mmio.has_host_work());
  r.drv.driver_ok();
  r.mmio.poll();
  EXPECT_EQ(r.received({b}), "early");
}

TEST(VirtioConsole, InputFromAnotherThreadArrivesWholeAndInOrder) {
  Rig r;
  ASSERT_TRUE(r.init());
  std::string sent;
  for (int i = 0; i < 2000; ++i) sent += static_cast<char>('a' + i % 26);
  std::thread host([&] {
    for (size_t at = 0; at < sent.size(); at += 7)
      r.console.receive(reinterpret_cast<const uint8_t*>(sent.data() + at), std::min<size_t>(7, sent.size() - at));
  });
  // The CPU thread: a driver that keeps 16 small buffers posted, and the machine's slice-end polls.
  std::string got;
  std::vector<uint64_t> posted;
  for (int i = 0; i < 16; ++i) posted.push_back(r.rx_buffer(5));
  for (int spins = 0; got.size() < sent.size() && spins < 10'000'000; ++spins) {
    r.mmio.poll();
    while (auto used = r.drv.next_used(kRx)) {
      // Buffers come back in the order they were posted (the device pops them in order).
      got += r.drv.get(posted.front(), used->second);
      posted.erase(posted.begin());
      posted.push_back(r.rx_buffer(5));
    }
  }
  host.join();
  EXPECT_EQ(got, sent);
  EXPECT_EQ(r.drv.status() & virtio::kStatusNeedsReset, 0u);
}

TEST(VirtioConsole, OnTheBoardItsOutputJoinsTheConsoleAndItsInputIsSeparate) {
  RiscvVirtConfig c;
  c.memory = 64ull << 20;
  c.clock = RiscvVirtConfig::Clock::Virtual;
  RiscvVirtMachine m(c);
  EXPECT_EQ(m.virtio_console(), nullptr);
  EXPECT_THROW(m.virtio_console_input("x"), UsageError);
  m.add_virtio_console();
  ASSERT_NE(m.virtio_console(), nullptr);
  EXPECT_THROW(m.add_virtio_console(), UsageError);
  std::string seen;
  m.on_console_output = [&](const uint8_t* p, size_t n) { seen.append(reinterpret_cast<const char*>(p), n); };
  m.virtio_console()->on_output(reinterpret_cast<const uint8_t*>("hvc0"), 4);
  EXPECT_EQ(m.console_output(), "hvc0");
  EXPECT_EQ(seen, "hvc0");
  m.virtio_console_input("typed");
  EXPECT_TRUE(m.virtio_console()->has_pending_input());
  EXPECT_FALSE(m.uart().has_pending_input());
}

}  // namespace
}  // namespace vmkit::devices
