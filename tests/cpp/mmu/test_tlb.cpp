// L2 TLB: ASID/global matching, superpages, separate instruction and data tables, the four
// SFENCE.VMA flush kinds, replacement within a set, and statistics that add up.
#include <gtest/gtest.h>

#include <stdexcept>

#include "mmu/tlb.h"

namespace vmkit {
namespace {

TlbTranslation page(uint64_t va, uint64_t pa, uint16_t asid, unsigned level = 0, bool global = false,
                    uint8_t perm = kTlbRead | kTlbWrite, bool dirty = true) {
  TlbTranslation t;
  t.va_page = va;
  t.pa_page = pa;
  t.level = static_cast<uint8_t>(level);
  t.perm = perm;
  t.global = global;
  t.dirty = dirty;
  t.asid = asid;
  return t;
}

void expect_stats_add_up(const L2Tlb& tlb) {
  for (TlbKind k : {TlbKind::Instruction, TlbKind::Data}) {
    const TlbStats& s = tlb.stats(k);
    EXPECT_EQ(s.hits + s.misses, s.lookups);
  }
}

TEST(L2Tlb, HitReturnsTheTranslationAndMissIsCounted) {
  L2Tlb tlb;
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x1000, 1));
  tlb.fill(TlbKind::Data, page(0x1000, 0x80005000, 1, 0, false, kTlbRead | kTlbUser, false));
  auto t = tlb.lookup(TlbKind::Data, 0x1abc, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->translate(0x1abc), 0x80005abcu);
  EXPECT_EQ(t->perm, kTlbRead | kTlbUser);
  EXPECT_FALSE(t->dirty);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x2000, 1));  // next page
  const TlbStats& s = tlb.stats(TlbKind::Data);
  EXPECT_EQ(s.lookups, 3u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.fills, 1u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, AsidTagsAndGlobals) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1));
  tlb.fill(TlbKind::Data, page(0x1000, 0xb000, 2));  // same va, other address space
  tlb.fill(TlbKind::Data, page(0x9000, 0xc000, 1, 0, /*global=*/true));
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x1000, 1)->pa_page, 0xa000u);
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x1000, 2)->pa_page, 0xb000u);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x1000, 3));
  for (uint16_t asid : {1, 2, 3, 0xffff}) EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x9000, asid)->pa_page, 0xc000u);
  EXPECT_EQ(tlb.valid_entries(TlbKind::Data), 3u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, InstructionAndDataEntriesAreSeparate) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Instruction, page(0x1000, 0xa000, 1, 0, false, kTlbExec));
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x1000, 1));
  EXPECT_TRUE(tlb.lookup(TlbKind::Instruction, 0x1000, 1));
  EXPECT_EQ(tlb.stats(TlbKind::Instruction).hits, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).misses, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).fills, 0u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, SuperpagesMatchWithinTheirSize) {
  L2Tlb tlb;
  for (unsigned level = 1; level < kTlbLevels; ++level) {
    const uint64_t size = 1ull << tlb_page_shift(level);
    const uint64_t va = size * 3;
    tlb.fill(TlbKind::Data, page(va, size * 9, 7, level));
    auto first = tlb.lookup(TlbKind::Data, va, 7);
    auto last = tlb.lookup(TlbKind::Data, va + size - 1, 7);
    ASSERT_TRUE(first && last) << level;
    EXPECT_EQ(first->level, level);
    EXPECT_EQ(last->translate(va + size - 1), size * 10 - 1);
    EXPECT_FALSE(tlb.lookup(TlbKind::Data, va + size, 7)) << level;
    EXPECT_FALSE(tlb.lookup(TlbKind::Data, va - 1, 7)) << level;
  }
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, RefillOfTheSamePageReplacesIt) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1, 0, false, kTlbRead | kTlbWrite, /*dirty=*/false));
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1, 0, false, kTlbRead | kTlbWrite, /*dirty=*/true));
  EXPECT_EQ(tlb.valid_entries(TlbKind::Data), 1u);
  EXPECT_TRUE(tlb.lookup(TlbKind::Data, 0x1000, 1)->dirty);
  EXPECT_EQ(tlb.stats(TlbKind::Data).evictions, 0u);
}

TEST(L2Tlb, FullSetReplacesWaysInTurn) {
  L2Tlb tlb(16);  // 16 sets: pages 16 apart share a set
  const uint64_t stride = 16 * 0x1000;
  for (uint64_t i = 0; i < L2Tlb::kWays + 2; ++i) tlb.fill(TlbKind::Data, page(i * stride, i * 0x1000, 1));
  EXPECT_EQ(tlb.valid_entries(TlbKind::Data), L2Tlb::kWays);
  EXPECT_EQ(tlb.stats(TlbKind::Data).evictions, 2u);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0, 1));           // oldest two replaced
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, stride, 1));
  for (uint64_t i = 2; i < L2Tlb::kWays + 2; ++i) EXPECT_TRUE(tlb.lookup(TlbKind::Data, i * stride, 1)) << i;
  EXPECT_EQ(tlb.capacity(), 16u * L2Tlb::kWays);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, FlushAllDropsEverything) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1));
  tlb.fill(TlbKind::Data, page(0x2000, 0xb000, 1, 0, true));
  tlb.fill(TlbKind::Instruction, page(0x40000000, 0x80000000, 2, 2, true, kTlbExec));
  tlb.flush_all();
  EXPECT_EQ(tlb.valid_entries(TlbKind::Data), 0u);
  EXPECT_EQ(tlb.valid_entries(TlbKind::Instruction), 0u);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x2000, 1));
  EXPECT_EQ(tlb.stats(TlbKind::Data).flushes_all, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).entries_flushed, 2u);
  EXPECT_EQ(tlb.stats(TlbKind::Instruction).entries_flushed, 1u);
}

TEST(L2Tlb, AsidFlushKeepsGlobalsAndOtherAsids) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1));
  tlb.fill(TlbKind::Data, page(0x200000, 0x80200000, 1, 1));       // a 2 MiB page of asid 1
  tlb.fill(TlbKind::Instruction, page(0x1000, 0xa000, 1, 0, false, kTlbExec));
  tlb.fill(TlbKind::Data, page(0x1000, 0xb000, 2));
  tlb.fill(TlbKind::Data, page(0x5000, 0xc000, 1, 0, /*global=*/true));  // filled while asid 1 ran
  tlb.flush_asid(1);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x1000, 1));
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x200000, 1));
  EXPECT_FALSE(tlb.lookup(TlbKind::Instruction, 0x1000, 1));
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x1000, 2)->pa_page, 0xb000u);
  EXPECT_TRUE(tlb.lookup(TlbKind::Data, 0x5000, 1));
  EXPECT_EQ(tlb.stats(TlbKind::Data).flushes_asid, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).entries_flushed, 2u);
  EXPECT_EQ(tlb.stats(TlbKind::Instruction).entries_flushed, 1u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, PageFlushDropsOnlyEntriesCoveringTheAddress) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x201000, 0xa000, 1));                  // the page itself
  tlb.fill(TlbKind::Data, page(0x201000, 0xb000, 2));                  // same va, other asid
  tlb.fill(TlbKind::Instruction, page(0x201000, 0xa000, 1, 0, false, kTlbExec));
  tlb.fill(TlbKind::Data, page(0x202000, 0xc000, 1));                  // neighbour page
  tlb.fill(TlbKind::Data, page(0x200000, 0x80200000, 3, 1, true));     // 2 MiB global covering it
  tlb.fill(TlbKind::Data, page(0x40000000, 0x80000000, 1, 2));         // 1 GiB page elsewhere
  tlb.flush_page(0x201abc);
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x201000, 1));
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x201000, 2));
  EXPECT_FALSE(tlb.lookup(TlbKind::Instruction, 0x201000, 1));
  EXPECT_FALSE(tlb.lookup(TlbKind::Data, 0x3ff000, 3));  // the superpage went as a whole
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x202000, 1)->pa_page, 0xc000u);
  EXPECT_TRUE(tlb.lookup(TlbKind::Data, 0x40000000, 1));
  EXPECT_EQ(tlb.stats(TlbKind::Data).flushes_page, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).entries_flushed, 3u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, PageAndAsidFlushKeepsGlobalsAndOtherAsids) {
  L2Tlb tlb;
  tlb.fill(TlbKind::Data, page(0x1000, 0xa000, 1));
  tlb.fill(TlbKind::Data, page(0x1000, 0xb000, 2));
  tlb.fill(TlbKind::Data, page(0x0, 0x80000000, 1, 2, /*global=*/true));   // 1 GiB global over it
  tlb.fill(TlbKind::Data, page(0x2000, 0xc000, 1));                       // other page, same asid
  tlb.flush_page_asid(0x1000, 1);
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x1000, 2)->pa_page, 0xb000u);
  // asid 1 now sees the global superpage at 0x1000, which the flush kept.
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x1000, 1)->pa_page, 0x80000000u);
  EXPECT_EQ(tlb.lookup(TlbKind::Data, 0x2000, 1)->pa_page, 0xc000u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).flushes_page_asid, 1u);
  EXPECT_EQ(tlb.stats(TlbKind::Data).entries_flushed, 1u);
  expect_stats_add_up(tlb);
}

TEST(L2Tlb, StatisticsAddUpOverAMixedWorkload) {
  L2Tlb tlb(64);
  uint64_t lookups = 0;
  for (uint64_t round = 0; round < 4; ++round) {
    for (uint64_t i = 0; i < 600; ++i) {
      // Odd accesses revisit 50 hot pages (hits), even ones stream through new pages (misses
      // that evict).
      const uint64_t page_index = i % 2 ? i % 50 : 1000 + i;
      const uint64_t va = (page_index * 0x1000) ^ (round << 30);
      const uint16_t asid = static_cast<uint16_t>(i % 3);
      const TlbKind kind = i % 5 == 0 ? TlbKind::Instruction : TlbKind::Data;
      ++lookups;
      if (!tlb.lookup(kind, va, asid)) tlb.fill(kind, page(va, 0x80000000 + page_index * 0x1000, asid, 0, i % 7 == 0));
    }
    if (round == 1) tlb.flush_asid(2);
    if (round == 2) tlb.flush_page(0x5000);
  }
  const TlbStats& i = tlb.stats(TlbKind::Instruction);
  const TlbStats& d = tlb.stats(TlbKind::Data);
  EXPECT_EQ(i.lookups + d.lookups, lookups);
  EXPECT_EQ(i.hits + i.misses, i.lookups);
  EXPECT_EQ(d.hits + d.misses, d.lookups);
  EXPECT_EQ(i.fills + d.fills, i.misses + d.misses);  // every miss was filled
  EXPECT_GT(d.hits, 0u);
  EXPECT_GT(d.evictions, 0u);
  EXPECT_LE(tlb.valid_entries(TlbKind::Data), tlb.capacity());
  EXPECT_EQ(d.flushes_asid, 1u);
  EXPECT_EQ(d.flushes_page, 1u);
}

TEST(L2Tlb, RejectsBadGeometry) {
  EXPECT_THROW(L2Tlb(0), std::invalid_argument);
  EXPECT_THROW(L2Tlb(100), std::invalid_argument);
}

}  // namespace
}  // namespace vmkit
