// The software MMU's tables and slow paths (cpp/mmu/softmmu.h) over real RAM, a ROM and a bus
// with a test device, behind a translator the test controls: hits and misses, misaligned and
// page-crossing accesses (a crossing store that faults writes nothing), device and access-fault
// paths, ROM, the code-page tag, superpage flushes, and instruction fetch.
#include <gtest/gtest.h>

#include <map>

#include "devices/bus.h"
#include "mmu/softmmu.h"

namespace vmkit {
namespace {

constexpr uint64_t kRam = 0x80000000, kRamSize = 1 << 20, kRom = 0x1000, kDev = 0x10000000;
constexpr uint32_t kLoadAccess = 5, kStoreAccess = 7, kFetchAccess = 1, kPageFault = 13;

// Virtual = physical plus `offset`, every page allowed unless listed in `denied` (page fault) or
// `read_only`; pages in `large` are reported as parts of a 2 MiB mapping.
struct FakeTranslator : AddressTranslator {
  uint64_t offset = 0;
  std::map<uint64_t, bool> denied, read_only, large;
  int calls = 0;
  PageTranslation translate(uint64_t va, MmuAccess access, unsigned) override {
    ++calls;
    PageTranslation t;
    uint64_t page = va & ~0xfffull;
    if (denied.count(page)) {
      t.cause = kPageFault;
      return t;
    }
    bool ro = read_only.count(page);
    if (access == MmuAccess::Store && ro) {
      t.cause = 15;
      return t;
    }
    t.ok = true;
    t.pa = va - offset;
    t.read = t.exec = true;
    t.write = !ro;
    if (large.count(page)) t.page_size = 2 << 20;
    return t;
  }
  uint32_t access_fault_cause(MmuAccess a) const override {
    return a == MmuAccess::Fetch ? kFetchAccess : a == MmuAccess::Load ? kLoadAccess : kStoreAccess;
  }
};

struct ScratchDevice : devices::Device {
  uint64_t last_offset = ~0ull, last_value = 0;
  unsigned reads = 0, writes = 0;
  const char* name() const override { return "scratch"; }
  bool read(uint64_t offset, unsigned size, uint64_t& v) override {
    ++reads;
    v = 0x1234 + offset;
    return true;
  }
  bool write(uint64_t offset, unsigned size, uint64_t v) override {
    ++writes;
    last_offset = offset;
    last_value = v;
    return true;
  }
};

struct SoftMmuTest : ::testing::Test {
  PhysicalMemory ram{kRam, kRamSize};
  devices::Bus bus;
  ScratchDevice dev;
  FakeTranslator tr;
  PendingTrap trap;
  SoftMmu mmu{ram, bus, tr, trap};
  SoftMmuTest() {
    bus.map(kDev, 0x1000, dev, "scratch");
    ram.add_rom(kRom, {0x13, 0x05, 0xa0, 0x02}, 0x1000);  // li a0, 42
  }
  uint64_t ram64(uint64_t pa) {
    uint64_t v;
    ram.read(pa, &v, 8);
    return v;
  }
};

TEST_F(SoftMmuTest, FirstAccessFillsThenHits) {
  ASSERT_TRUE(mmu.store(kRam + 0x100, 8, 0x1122334455667788));
  EXPECT_EQ(mmu.stats.misses, 1u);
  uint64_t v = 0;
  ASSERT_TRUE(mmu.load(kRam + 0x100, 8, v));
  EXPECT_EQ(v, 0x1122334455667788u);
  ASSERT_TRUE(mmu.load(kRam + 0x104, 4, v));
  EXPECT_EQ(v, 0x11223344u);
  EXPECT_EQ(mmu.stats.hits, 2u);
  EXPECT_EQ(tr.calls, 1) << "one translation serves the whole page";
  EXPECT_EQ(ram64(kRam + 0x100), 0x1122334455667788u);
}

TEST_F(SoftMmuTest, MisalignedAccessesWorkInsideAndAcrossPages) {
  ASSERT_TRUE(mmu.store(kRam + 0x103, 8, 0x0102030405060708));
  uint64_t v = 0;
  ASSERT_TRUE(mmu.load(kRam + 0x103, 8, v));
  EXPECT_EQ(v, 0x0102030405060708u);
  ASSERT_TRUE(mmu.store(kRam + 0x1ffd, 8, 0xa1a2a3a4a5a6a7a8));  // 3 bytes here, 5 on the next page
  ASSERT_TRUE(mmu.load(kRam + 0x1ffd, 8, v));
  EXPECT_EQ(v, 0xa1a2a3a4a5a6a7a8u);
  EXPECT_EQ(ram64(kRam + 0x2000) & 0xffffffffff, 0xa1a2a3a4a5u);
}

TEST_F(SoftMmuTest, StoreAcrossIntoAFaultingPageWritesNothing) {
  tr.denied[kRam + 0x3000] = true;
  EXPECT_FALSE(mmu.store(kRam + 0x2ffc, 8, ~0ull));
  EXPECT_EQ(trap.pending, kPendingArchTrap);
  EXPECT_EQ(trap.signo, int(kPageFault));
  EXPECT_EQ(trap.addr, kRam + 0x3000) << "the trap value is the address that faulted";
  EXPECT_EQ(ram64(kRam + 0x2ff8), 0u) << "the first page's bytes were not written";
}

TEST_F(SoftMmuTest, DevicesGoToTheBusAndHolesAreAccessFaults) {
  uint64_t v = 0;
  ASSERT_TRUE(mmu.load(kDev + 8, 4, v));
  EXPECT_EQ(v, 0x1234u + 8);
  ASSERT_TRUE(mmu.store(kDev + 16, 4, 77));
  EXPECT_EQ(dev.last_offset, 16u);
  EXPECT_EQ(dev.last_value, 77u);
  ASSERT_TRUE(mmu.load(kDev + 8, 4, v));
  EXPECT_EQ(dev.reads, 2u) << "device pages never take the fast path";
  EXPECT_EQ(mmu.stats.device_reads, 2u);
  EXPECT_FALSE(mmu.load(0x20000000, 8, v));
  EXPECT_EQ(trap.signo, int(kLoadAccess));
  EXPECT_EQ(trap.addr, 0x20000000u);
  trap = PendingTrap{};
  EXPECT_FALSE(mmu.store(0x20000000, 1, 1));
  EXPECT_EQ(trap.signo, int(kStoreAccess));
}

TEST_F(SoftMmuTest, RomIsReadAndFetchedButNotWritten) {
  uint64_t v = 0, pa = 0;
  ASSERT_TRUE(mmu.load(kRom, 4, v));
  EXPECT_EQ(v, 0x02a00513u);
  ASSERT_TRUE(mmu.translate_fetch(kRom + 2, pa));
  EXPECT_EQ(pa, kRom + 2);
  EXPECT_FALSE(mmu.store(kRom, 4, 0));
  EXPECT_EQ(trap.signo, int(kStoreAccess));
  ASSERT_TRUE(mmu.load(kRom, 4, v));
  EXPECT_EQ(v, 0x02a00513u) << "unchanged";
  EXPECT_EQ(ram.readable_host(kRom + 0xfff)[0], 0) << "padded with zeros to its size";
}

TEST_F(SoftMmuTest, StoresIntoCodePagesStopBeforeWriting) {
  const uint64_t page = kRam + 0x5000;
  ASSERT_TRUE(mmu.store(page, 8, 1));  // a writable entry exists before the page becomes code
  ASSERT_TRUE(ram.mark_code(page));
  mmu.protect_code_page(page);
  EXPECT_FALSE(mmu.store(page + 8, 8, 2));
  EXPECT_EQ(trap.pending, kPendingCodeWrite);
  EXPECT_EQ(trap.addr, page);
  EXPECT_EQ(ram64(page + 8), 0u);
  EXPECT_EQ(mmu.stats.code_writes, 1u);
  // The loop drops the page's translations (the mark goes with them) and runs the store again.
  uint64_t dropped = 0;
  ram.on_code_written = [&](uint64_t p) { dropped = p; };
  ram.code_written(page);
  EXPECT_EQ(dropped, page);
  trap = PendingTrap{};
  ASSERT_TRUE(mmu.store(page + 8, 8, 2));
  EXPECT_EQ(ram64(page + 8), 2u);
  ASSERT_TRUE(mmu.store(page + 16, 8, 3));
  EXPECT_EQ(mmu.stats.code_writes, 1u) << "the stale tag is gone after one slow store";
}

TEST_F(SoftMmuTest, PageFlushInsideASuperpageFlushesEverything) {
  tr.large[kRam + 0x7000] = true;
  uint64_t v;
  ASSERT_TRUE(mmu.load(kRam + 0x7000, 8, v));
  ASSERT_TRUE(mmu.load(kRam + 0x9000, 8, v));
  const uint64_t flushes = mmu.stats.flushes;
  mmu.flush_page(kRam + 0x9000);  // inside the 2 MiB the first fill came from
  EXPECT_EQ(mmu.stats.flushes, flushes + 1);
  const int calls = tr.calls;
  ASSERT_TRUE(mmu.load(kRam + 0x7000, 8, v));
  EXPECT_EQ(tr.calls, calls + 1) << "the superpage's entry went too";
  // Outside any superpage a page flush drops only that page.
  mmu.flush();
  ASSERT_TRUE(mmu.load(kRam + 0x30000, 8, v));
  ASSERT_TRUE(mmu.load(kRam + 0x31000, 8, v));
  mmu.flush_page(kRam + 0x30000);
  const int before = tr.calls;
  ASSERT_TRUE(mmu.load(kRam + 0x31000, 8, v));
  EXPECT_EQ(tr.calls, before);
  ASSERT_TRUE(mmu.load(kRam + 0x30000, 8, v));
  EXPECT_EQ(tr.calls, before + 1);
}

TEST_F(SoftMmuTest, TranslationOffsetAndFetch) {
  tr.offset = 0x1000000000;  // va = pa + offset
  uint64_t pa = 0;
  ASSERT_TRUE(mmu.store(kRam + tr.offset + 0x40, 4, 0xdeadbeef));
  EXPECT_EQ(ram64(kRam + 0x40) & 0xffffffff, 0xdeadbeefu);
  ASSERT_TRUE(mmu.translate_fetch(kRam + tr.offset + 0x2042, pa));
  EXPECT_EQ(pa, kRam + 0x2042);
  EXPECT_EQ(mmu.stats.fetch_misses, 1u);
  ASSERT_TRUE(mmu.translate_fetch(kRam + tr.offset + 0x2044, pa));
  EXPECT_EQ(mmu.stats.fetch_hits, 1u);
  EXPECT_EQ(mmu.stats.fetch_misses, 1u);
  uint32_t cause = 0;
  tr.offset = 0;
  EXPECT_FALSE(mmu.translate_fetch(kDev, pa, &cause)) << "code is never fetched from a device";
  EXPECT_EQ(cause, kFetchAccess);
  tr.denied[0x40000000] = true;
  EXPECT_FALSE(mmu.translate_fetch(0x40000000, pa, &cause));
  EXPECT_EQ(cause, kPageFault);
  EXPECT_EQ(trap.pending, 0u) << "fetch translation raises nothing";
}

}  // namespace
}  // namespace vmkit
