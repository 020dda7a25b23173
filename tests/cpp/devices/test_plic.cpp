// PLIC: the register map, level-triggered sources through claim and complete, priority, threshold
// and enable, MEIP/SEIP per context, WARL priorities, undecoded widths and thread safety.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "devices/plic.h"

// The fixture is named after the device so that tests read Plic.<WhatItChecks>; it lives in its
// own namespace so that the name does not clash with the device class.
namespace vmkit::devices::plic_test {
namespace {

constexpr unsigned kM = 0, kS = 1;  // contexts

bool line(const HartLines& h, unsigned bit) { return (h.bits() >> bit) & 1; }

class Plic : public ::testing::Test {
 protected:
  uint32_t rd(uint64_t offset) {
    uint64_t v = 0xdeadbeef;
    EXPECT_TRUE(plic.read(offset, 4, v)) << std::hex << offset;
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t offset, uint32_t value) {
    EXPECT_TRUE(plic.write(offset, 4, value)) << std::hex << offset;
  }

  void set_priority(unsigned src, uint32_t p) { wr(4 * src, p); }
  void enable(unsigned ctx, unsigned src) {
    const uint64_t at = 0x2000 + 0x80 * ctx + 4 * (src / 32);
    wr(at, rd(at) | (1u << (src % 32)));
  }
  void set_threshold(unsigned ctx, uint32_t t) { wr(0x200000 + 0x1000 * ctx, t); }
  uint32_t claim(unsigned ctx) { return rd(0x200004 + 0x1000 * ctx); }
  void complete(unsigned ctx, uint32_t src) { wr(0x200004 + 0x1000 * ctx, src); }
  uint32_t pending_word(unsigned w) { return rd(0x1000 + 4 * w); }

  HartLines hart;
  devices::Plic plic{hart};
};

TEST_F(Plic, PendingClaimComplete) {
  set_priority(10, 1);
  enable(kS, 10);
  EXPECT_FALSE(line(hart, mip::kSeip));
  plic.source(10).set_level(true);
  EXPECT_EQ(pending_word(0), 1u << 10);
  EXPECT_TRUE(line(hart, mip::kSeip));
  EXPECT_FALSE(line(hart, mip::kMeip));  // not enabled for M mode
  EXPECT_EQ(claim(kS), 10u);
  EXPECT_FALSE(line(hart, mip::kSeip));  // claimed: no longer pending
  EXPECT_EQ(pending_word(0), 0u);
  EXPECT_TRUE(plic.claimed(10));
  EXPECT_EQ(claim(kS), 0u);  // nothing else to claim
  plic.source(10).set_level(false);  // the device was serviced
  complete(kS, 10);
  EXPECT_FALSE(plic.claimed(10));
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 0u);
}

TEST_F(Plic, LineStillHighAtCompleteRequestsAgain) {
  set_priority(10, 1);
  enable(kS, 10);
  plic.source(10).set_level(true);
  EXPECT_EQ(claim(kS), 10u);
  plic.source(10).set_level(true);  // raised again while claimed: not pending until completed
  EXPECT_FALSE(plic.pending(10));
  EXPECT_FALSE(line(hart, mip::kSeip));
  complete(kS, 10);
  EXPECT_TRUE(plic.pending(10));
  EXPECT_TRUE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 10u);
}

TEST_F(Plic, LoweredLineWithdrawsTheRequest) {
  set_priority(3, 1);
  enable(kS, 3);
  plic.source(3).set_level(true);
  EXPECT_TRUE(line(hart, mip::kSeip));
  plic.source(3).set_level(false);
  EXPECT_FALSE(plic.pending(3));
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 0u);
}

TEST_F(Plic, ClaimTakesHighestPriorityThenLowestId) {
  for (unsigned src : {5u, 7u, 40u, 90u}) {
    enable(kS, src);
    plic.source(src).set_level(true);
  }
  set_priority(5, 2);
  set_priority(7, 6);
  set_priority(40, 6);
  set_priority(90, 7);
  EXPECT_EQ(pending_word(0), (1u << 5) | (1u << 7));
  EXPECT_EQ(pending_word(1), 1u << (40 - 32));
  EXPECT_EQ(pending_word(2), 1u << (90 - 64));
  EXPECT_EQ(claim(kS), 90u);
  EXPECT_EQ(claim(kS), 7u);  // 7 and 40 tie at 6: the lower id first
  EXPECT_EQ(claim(kS), 40u);
  EXPECT_EQ(claim(kS), 5u);
  EXPECT_EQ(claim(kS), 0u);
}

TEST_F(Plic, PriorityZeroNeverInterrupts) {
  enable(kS, 4);
  plic.source(4).set_level(true);
  EXPECT_TRUE(plic.pending(4));  // pending, but priority 0 is "never"
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 0u);
  set_priority(4, 1);
  EXPECT_TRUE(line(hart, mip::kSeip));  // a priority write re-evaluates the lines
}

TEST_F(Plic, ThresholdMasksPrioritiesAtOrBelowIt) {
  set_priority(8, 3);
  enable(kS, 8);
  set_threshold(kS, 3);
  plic.source(8).set_level(true);
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 0u);
  EXPECT_TRUE(plic.pending(8));  // a refused claim leaves it pending
  set_threshold(kS, 2);
  EXPECT_TRUE(line(hart, mip::kSeip));
  set_threshold(kS, 7);
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(rd(0x201000), 7u);
  set_threshold(kS, 0);
  EXPECT_EQ(claim(kS), 8u);
}

TEST_F(Plic, EnableBitsGateEachContextSeparately) {
  set_priority(33, 1);
  plic.source(33).set_level(true);
  EXPECT_FALSE(line(hart, mip::kMeip));
  EXPECT_FALSE(line(hart, mip::kSeip));
  wr(0x2000 + 4, 1u << 1);  // context 0 (M), word 1, bit 1 = source 33
  EXPECT_EQ(rd(0x2004), 2u);
  EXPECT_EQ(rd(0x2084), 0u);
  EXPECT_TRUE(line(hart, mip::kMeip));
  EXPECT_FALSE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kS), 0u);  // not enabled for S mode
  wr(0x2080 + 4, 1u << 1);
  EXPECT_TRUE(line(hart, mip::kSeip));
  EXPECT_EQ(claim(kM), 33u);  // one claim takes it from both contexts
  EXPECT_FALSE(line(hart, mip::kMeip));
  EXPECT_FALSE(line(hart, mip::kSeip));
  plic.source(33).set_level(false);
  complete(kM, 33);
  wr(0x2004, 0);
  plic.source(33).set_level(true);
  EXPECT_FALSE(line(hart, mip::kMeip));
  EXPECT_TRUE(line(hart, mip::kSeip));
}

TEST_F(Plic, PrioritiesAndThresholdsAreWarl) {
  set_priority(1, 0xff);  // 3 bits: 0xff % 8
  EXPECT_EQ(rd(0x4), 7u);
  set_priority(95, 9);
  EXPECT_EQ(rd(4 * 95), 1u);
  set_threshold(kM, 0x12);
  EXPECT_EQ(rd(0x200000), 2u);
}

TEST_F(Plic, RegisterMapEdges) {
  wr(0x1000, 0xffffffff);  // pending is read only
  EXPECT_EQ(pending_word(0), 0u);
  EXPECT_EQ(rd(0x180), 0u);     // past the last priority register
  wr(0x180, 5);
  EXPECT_EQ(rd(0x200c), 0u);    // a fourth enable word does not exist
  wr(0x200c, 0xffffffff);
  EXPECT_EQ(rd(0x200c), 0u);
  EXPECT_EQ(rd(0x2100), 0u);    // no third context
  EXPECT_EQ(rd(0x202000), 0u);
  EXPECT_EQ(rd(0x200008), 0u);  // context registers other than threshold and claim
  EXPECT_EQ(rd(0x5ffffc), 0u);  // last word of the region
  set_priority(10, 1);
  enable(kS, 10);
  plic.source(10).set_level(true);
  complete(kS, 200);  // out of range: ignored
  EXPECT_TRUE(plic.pending(10));
}

TEST_F(Plic, OnlyAlignedWordAccessesDecode) {
  uint64_t v = 0;
  EXPECT_FALSE(plic.read(0x4, 1, v));
  EXPECT_FALSE(plic.read(0x4, 2, v));
  EXPECT_FALSE(plic.read(0x4, 8, v));
  EXPECT_FALSE(plic.read(0x6, 4, v));
  EXPECT_FALSE(plic.write(0x200004, 8, 10));
  EXPECT_FALSE(plic.write(0x4, 1, 7));
  EXPECT_FALSE(plic.read(devices::Plic::kSize, 4, v));
  EXPECT_EQ(rd(0x4), 0u);
}

TEST_F(Plic, ResetClearsStateButKeepsLineLevels) {
  set_priority(10, 5);
  enable(kS, 10);
  set_threshold(kS, 1);
  plic.source(10).set_level(true);
  plic.source(11).set_level(true);
  EXPECT_EQ(claim(kS), 10u);
  plic.reset();
  EXPECT_EQ(rd(4 * 10), 0u);
  EXPECT_EQ(rd(0x2080), 0u);
  EXPECT_EQ(rd(0x201000), 0u);
  EXPECT_FALSE(plic.claimed(10));
  EXPECT_TRUE(plic.pending(10));  // both lines are still high
  EXPECT_TRUE(plic.pending(11));
  EXPECT_FALSE(line(hart, mip::kSeip));  // but nothing is enabled any more
}

TEST_F(Plic, SourceZeroAndOutOfRangeAreUsageErrors) {
  EXPECT_THROW(plic.source(0), UsageError);
  EXPECT_THROW(plic.source(devices::Plic::kSources), UsageError);
  try {
    plic.source(96);
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("96"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(plic.source(95));
}

TEST_F(Plic, SourcesRaisedFromOtherThreads) {
  // Back ends raise and lower lines concurrently with the CPU claiming and completing; every
  // interrupt a thread leaves raised must end up claimable exactly once.
  constexpr unsigned kThreads = 4;
  for (unsigned t = 0; t < kThreads; ++t) {
    set_priority(1 + t, 1 + t);
    enable(kS, 1 + t);
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
      }
      for (int i = 0; i < 2000; ++i) plic.source(1 + t).set_level(i % 2 == 0);
      plic.source(1 + t).set_level(true);
    });
  }
  go = true;
  for (int i = 0; i < 2000; ++i) {
    uint32_t n = claim(kS);
    if (n != 0) complete(kS, n);
  }
  for (auto& th : threads) th.join();
  std::vector<uint32_t> claimed;
  for (uint32_t n; (n = claim(kS)) != 0;) claimed.push_back(n);
  EXPECT_EQ(claimed, (std::vector<uint32_t>{4, 3, 2, 1}));
  EXPECT_FALSE(line(hart, mip::kSeip));
}

}  // namespace
}  // namespace vmkit::devices::plic_test
