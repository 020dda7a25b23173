// CLINT: msip driving MSIP, mtimecmp/mtime through 4- and 8-byte accesses, MTIP against a fake
// clock, mtime writes, the next deadline, reset values and the accesses qemu does not decode.
#include <gtest/gtest.h>

#include "devices/clint.h"

namespace vmkit::devices {
namespace {

struct FakeTime : TimeSource {
  uint64_t now = 0;
  uint64_t ticks() const override { return now; }
};

bool line(const HartLines& h, unsigned bit) { return (h.bits() >> bit) & 1; }

uint64_t rd(Clint& c, uint64_t offset, unsigned size) {
  uint64_t v = 0xdeadbeef;
  EXPECT_TRUE(c.read(offset, size, v)) << std::hex << offset << " size " << size;
  return v;
}

void wr(Clint& c, uint64_t offset, unsigned size, uint64_t value) {
  EXPECT_TRUE(c.write(offset, size, value)) << std::hex << offset << " size " << size;
}

TEST(Clint, MsipBitZeroDrivesMsip) {
  HartLines hart;
  FakeTime time;
  Clint clint(hart, time);
  EXPECT_FALSE(line(hart, mip::kMsip));
  wr(clint, 0x0, 4, 0xfffffffe);  // bit 0 clear: nothing
  EXPECT_FALSE(line(hart, mip::kMsip));
  EXPECT_EQ(rd(clint, 0x0, 4), 0u);
  const uint64_t events = hart.events();
  wr(clint, 0x0, 4, 1);
  EXPECT_TRUE(line(hart, mip::kMsip));
  EXPECT_GT(hart.events(), events);  // wakes a hart in WFI
  EXPECT_EQ(rd(clint, 0x0, 4), 1u);
  EXPECT_TRUE(clint.msip());
  wr(clint, 0x4, 4, 0);  // a second hart's msip: absent here, ignored
  EXPECT_TRUE(line(hart, mip::kMsip));
  EXPECT_EQ(rd(clint, 0x4, 4), 0u);
  wr(clint, 0x0, 4, 0);
  EXPECT_FALSE(line(hart, mip::kMsip));
}

TEST(Clint, MsipAcceptsOnlyAlignedWords) {
  HartLines hart;
  FakeTime time;
  Clint clint(hart, time);
  uint64_t v = 0;
  EXPECT_FALSE(clint.write(0x0, 1, 1));
  EXPECT_FALSE(clint.write(0x0, 2, 1));
  EXPECT_FALSE(clint.write(0x0, 8, 1));
  EXPECT_FALSE(clint.read(0x0, 8, v));
  EXPECT_FALSE(clint.read(0x2, 4, v));
  EXPECT_FALSE(line(hart, mip::kMsip));
}

TEST(Clint, ResetValuesFollowQemu) {
  HartLines hart;
  FakeTime time;
  time.now = 5000;
  Clint clint(hart, time);
  // mtime starts at 0 whatever the clock says; mtimecmp at 0, so MTIP is pending from the start.
  EXPECT_EQ(rd(clint, 0xbff8, 8), 0u);
  EXPECT_EQ(rd(clint, 0x4000, 8), 0u);
  EXPECT_TRUE(line(hart, mip::kMtip));
  time.now = 5123;
  EXPECT_EQ(clint.mtime(), 123u);
  wr(clint, 0x4000, 8, UINT64_MAX);
  wr(clint, 0x0, 4, 1);
  clint.reset();
  EXPECT_EQ(clint.mtime(), 0u);
  EXPECT_EQ(clint.mtimecmp(), 0u);
  EXPECT_FALSE(line(hart, mip::kMsip));
  EXPECT_TRUE(line(hart, mip::kMtip));
}

TEST(Clint, MtipFollowsMtimecmpWrites) {
  HartLines hart;
  FakeTime time;
  Clint clint(hart, time);
  time.now = 1000;
  wr(clint, 0x4000, 8, 2000);  // in the future: MTIP drops at once
  EXPECT_FALSE(line(hart, mip::kMtip));
  EXPECT_EQ(clint.next_deadline_ticks(), 2000u);
  time.now = 1999;
  clint.update();
  EXPECT_FALSE(line(hart, mip::kMtip));
  time.now = 2000;  // mtime >= mtimecmp
  EXPECT_FALSE(line(hart, mip::kMtip));  // only recomputed when asked
  clint.update();
  EXPECT_TRUE(line(hart, mip::kMtip));
  EXPECT_EQ(clint.next_deadline_ticks(), UINT64_MAX);  // already high: nothing to wait for
  wr(clint, 0x4000, 8, 1500);  // in the past: stays high
  EXPECT_TRUE(line(hart, mip::kMtip));
  wr(clint, 0x4000, 8, 3000);  // the kernel's next tick clears it
  EXPECT_FALSE(line(hart, mip::kMtip));
  wr(clint, 0x4000, 8, UINT64_MAX);
  time.now = UINT64_MAX - 1;
  clint.update();
  EXPECT_FALSE(line(hart, mip::kMtip));
}

TEST(Clint, MtimecmpHalvesWithFourByteAccesses) {
  HartLines hart;
  FakeTime time;
  time.now = 0x1'0000'0000;  // mtime starts at 0 regardless
  Clint clint(hart, time);
  // RV32 style: high word to all ones first so no spurious interrupt, then low, then high.
  wr(clint, 0x4004, 4, 0xffffffff);
  wr(clint, 0x4000, 4, 0x89abcdef);
  wr(clint, 0x4004, 4, 0x01234567);
  EXPECT_EQ(clint.mtimecmp(), 0x0123456789abcdefull);
  EXPECT_EQ(rd(clint, 0x4000, 4), 0x89abcdefu);
  EXPECT_EQ(rd(clint, 0x4004, 4), 0x01234567u);
  EXPECT_EQ(rd(clint, 0x4000, 8), 0x0123456789abcdefull);
  wr(clint, 0x4000, 4, 0x5);  // a low-half write keeps the high half
  EXPECT_EQ(clint.mtimecmp(), 0x0123456700000005ull);
  EXPECT_FALSE(line(hart, mip::kMtip));
  wr(clint, 0x4004, 4, 0);  // high half 0 and low half 5 > mtime 0: still low
  EXPECT_FALSE(line(hart, mip::kMtip));
  time.now += 5;
  clint.update();
  EXPECT_TRUE(line(hart, mip::kMtip));
}

TEST(Clint, MtimeReadsTheClockAndWritesMoveIt) {
  HartLines hart;
  FakeTime time;
  Clint clint(hart, time);
  time.now = 0x2'0000'0010;
  EXPECT_EQ(rd(clint, 0xbff8, 8), 0x2'0000'0010u);
  EXPECT_EQ(rd(clint, 0xbff8, 4), 0x10u);
  EXPECT_EQ(rd(clint, 0xbffc, 4), 0x2u);
  wr(clint, 0x4000, 8, 0x3'0000'0000);
  EXPECT_FALSE(line(hart, mip::kMtip));
  // Moving mtime past mtimecmp raises MTIP at once.
  wr(clint, 0xbff8, 8, 0x3'0000'0000);
  EXPECT_TRUE(line(hart, mip::kMtip));
  EXPECT_EQ(clint.mtime(), 0x3'0000'0000u);
  time.now += 100;  // and mtime keeps running from the new value
  EXPECT_EQ(rd(clint, 0xbff8, 8), 0x3'0000'0064u);
  // 4-byte writes replace one half of the guest-visible mtime.
  wr(clint, 0xbff8, 4, 0x10);
  EXPECT_EQ(clint.mtime(), 0x3'0000'0010u);
  wr(clint, 0xbffc, 4, 0x1);
  EXPECT_EQ(clint.mtime(), 0x1'0000'0010u);
  EXPECT_FALSE(line(hart, mip::kMtip));
  // The deadline is reported in clock ticks: mtimecmp - mtime ticks from now.
  EXPECT_EQ(clint.next_deadline_ticks(), time.now + (0x3'0000'0000u - 0x1'0000'0010u));
}

TEST(Clint, UndecodedAccesses) {
  HartLines hart;
  FakeTime time;
  Clint clint(hart, time);
  uint64_t v = 0;
  EXPECT_FALSE(clint.read(0x4000, 1, v));
  EXPECT_FALSE(clint.read(0x4000, 2, v));
  EXPECT_FALSE(clint.read(0x4004, 8, v));  // misaligned
  EXPECT_FALSE(clint.write(0xbffa, 4, 0));
  EXPECT_FALSE(clint.read(0xc000, 4, v));  // nothing mapped above the MTIMER block
  EXPECT_FALSE(clint.write(0xfff8, 8, 0));
  // Inside the blocks, other registers read 0 and ignore writes.
  EXPECT_EQ(rd(clint, 0x4008, 8), 0u);
  wr(clint, 0x4008, 8, 1);
  EXPECT_EQ(rd(clint, 0x8000, 4), 0u);
  EXPECT_EQ(rd(clint, 0x3ffc, 4), 0u);
  EXPECT_EQ(clint.mtimecmp(), 0u);
}

}  // namespace
}  // namespace vmkit::devices
