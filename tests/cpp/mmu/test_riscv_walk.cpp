// Sv39/Sv48 walk against a fake physical memory whose page tables a small builder writes: every
// page size, each fault with its cause, A/D updates in the PTE bytes, and the U/S/SUM/MXR matrix.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <set>

#include "mmu/riscv_walk.h"

namespace vmkit::rv64 {
namespace {

// Physical memory made of the 4 KiB pages that were allocated; anything else is not memory.
// Pages listed as read-only model ROM: reads work, the A/D compare-and-swap does not.
class FakePhysicalMemory : public PhysicalMemoryAccess {
 public:
  bool read64(uint64_t paddr, uint64_t& value) override {
    auto it = pages_.find(paddr >> 12);
    if (it == pages_.end() || (paddr & 7)) return false;
    std::memcpy(&value, it->second.data() + (paddr & 0xfff), 8);
    ++reads;
    return true;
  }
  bool cas64(uint64_t paddr, uint64_t expected, uint64_t desired) override {
    auto it = pages_.find(paddr >> 12);
    if (it == pages_.end() || (paddr & 7) || read_only_.count(paddr >> 12)) return false;
    uint64_t now;
    std::memcpy(&now, it->second.data() + (paddr & 0xfff), 8);
    if (now != expected) return false;
    std::memcpy(it->second.data() + (paddr & 0xfff), &desired, 8);
    ++cas_writes;
    return true;
  }

  uint64_t alloc_page() {
    const uint64_t ppn = next_ppn_++;
    pages_[ppn].fill(0);
    return ppn;
  }
  uint64_t word(uint64_t paddr) const {
    uint64_t v;
    std::memcpy(&v, pages_.at(paddr >> 12).data() + (paddr & 0xfff), 8);
    return v;
  }
  void set_word(uint64_t paddr, uint64_t v) { std::memcpy(pages_.at(paddr >> 12).data() + (paddr & 0xfff), &v, 8); }
  void make_read_only(uint64_t ppn) { read_only_.insert(ppn); }
  void remove_page(uint64_t ppn) { pages_.erase(ppn); }

  unsigned reads = 0, cas_writes = 0;

 private:
  std::map<uint64_t, std::array<uint8_t, 4096>> pages_;
  std::set<uint64_t> read_only_;
  uint64_t next_ppn_ = 0x80000;  // page tables live in "RAM" at 0x8000_0000
};

// Builds Sv39/Sv48 page tables in a FakePhysicalMemory.
class PageTableBuilder {
 public:
  PageTableBuilder(FakePhysicalMemory& mem, SatpMode mode)
      : mem_(mem), levels_(mode == SatpMode::Sv48 ? 4 : 3), root_ppn_(mem.alloc_page()) {}

  uint64_t root_ppn() const { return root_ppn_; }

  // Maps va -> pa as a leaf at `level` with `flags` (V is added); creates missing tables with
  // `table_flags` on their pointers (normally just V). Returns the leaf PTE's physical address.
  uint64_t map(uint64_t va, uint64_t pa, unsigned level, uint64_t flags, uint64_t table_flags = pte::V) {
    uint64_t table = root_ppn_;
    for (unsigned l = levels_ - 1; l > level; --l) {
      const uint64_t addr = entry_addr(table, va, l);
      uint64_t e = mem_.word(addr);
      if (!(e & pte::V)) {
        const uint64_t next = mem_.alloc_page();
        e = (next << pte::kPpnShift) | table_flags | pte::V;
        mem_.set_word(addr, e);
      }
      table = (e >> pte::kPpnShift) & pte::kPpnMask;
    }
    const uint64_t addr = entry_addr(table, va, level);
    mem_.set_word(addr, ((pa >> 12) << pte::kPpnShift) | flags | pte::V);
    return addr;
  }

  // Physical address of the PTE at `level` on va's path (the tables must exist down to it).
  uint64_t pte_addr(uint64_t va, unsigned level) const {
    uint64_t table = root_ppn_;
    for (unsigned l = levels_ - 1; l > level; --l)
      table = (mem_.word(entry_addr(table, va, l)) >> pte::kPpnShift) & pte::kPpnMask;
    return entry_addr(table, va, level);
  }

 private:
  static uint64_t entry_addr(uint64_t table_ppn, uint64_t va, unsigned level) {
    return (table_ppn << 12) + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
  }
  FakePhysicalMemory& mem_;
  unsigned levels_;
  uint64_t root_ppn_;
};

constexpr uint64_t RWX = pte::R | pte::W | pte::X;

WalkRequest request(SatpMode mode, uint64_t root, uint64_t va, WalkAccess access,
                    WalkPriv priv = WalkPriv::Supervisor, bool sum = false, bool mxr = false) {
  WalkRequest r;
  r.mode = mode;
  r.root_ppn = root;
  r.va = va;
  r.access = access;
  r.priv = priv;
  r.sum = sum;
  r.mxr = mxr;
  return r;
}

struct ModeCase {
  SatpMode mode;
  unsigned levels;
};

class WalkEveryLevel : public ::testing::TestWithParam<ModeCase> {};

TEST_P(WalkEveryLevel, EveryPageSizeTranslatesWithItsOffset) {
  const ModeCase mc = GetParam();
  for (unsigned level = 0; level < mc.levels; ++level) {
    FakePhysicalMemory mem;
    PageTableBuilder pt(mem, mc.mode);
    const uint64_t size = 1ull << (12 + 9 * level);
    // A VA in the upper (negative) half for the top-level size, to cover sign extension too.
    const uint64_t va = level + 1 == mc.levels ? (~0ull << (va_bits(mc.mode) - 1)) + size * 3 : size * 5;
    const uint64_t pa = size * 7;
    pt.map(va, pa, level, RWX | pte::A | pte::D);
    const uint64_t offset = (size - 1) & 0x123456789abcull & ~7ull;
    WalkResult r = riscv_walk(mem, request(mc.mode, pt.root_ppn(), va + offset, WalkAccess::Load));
    ASSERT_TRUE(r.ok()) << "level " << level;
    EXPECT_EQ(r.level, level);
    EXPECT_EQ(r.page_size(), size);
    EXPECT_EQ(r.pa, pa + offset);
    EXPECT_EQ(r.pte_addr, pt.pte_addr(va, level));
    EXPECT_TRUE(r.readable() && r.writable() && r.executable() && r.dirty());
    EXPECT_FALSE(r.user());
    EXPECT_FALSE(r.global());
    // The walk reads one PTE per level above and at the leaf.
    EXPECT_EQ(mem.reads, mc.levels - level);
  }
}

TEST_P(WalkEveryLevel, MisalignedSuperpageFaults) {
  const ModeCase mc = GetParam();
  for (unsigned level = 1; level < mc.levels; ++level) {
    FakePhysicalMemory mem;
    PageTableBuilder pt(mem, mc.mode);
    const uint64_t size = 1ull << (12 + 9 * level);
    pt.map(size, size + 0x1000, level, RWX | pte::A | pte::D);  // PPN low bits not zero
    WalkResult r = riscv_walk(mem, request(mc.mode, pt.root_ppn(), size, WalkAccess::Store));
    EXPECT_EQ(r.status, WalkStatus::PageFault) << "level " << level;
    EXPECT_EQ(r.cause, cause::kStorePageFault);
  }
}

TEST_P(WalkEveryLevel, NonCanonicalAddressFaultsWithoutReadingMemory) {
  const ModeCase mc = GetParam();
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, mc.mode);
  const uint64_t bad = 1ull << va_bits(mc.mode);  // bit above the top VA bit set, top bit clear
  for (WalkAccess a : {WalkAccess::Fetch, WalkAccess::Load, WalkAccess::Store}) {
    WalkResult r = riscv_walk(mem, request(mc.mode, pt.root_ppn(), bad, a));
    EXPECT_EQ(r.status, WalkStatus::PageFault);
  }
  WalkResult r = riscv_walk(mem, request(mc.mode, pt.root_ppn(), 1ull << (va_bits(mc.mode) - 1), WalkAccess::Load));
  EXPECT_EQ(r.cause, cause::kLoadPageFault);  // top bit set but not sign-extended
  EXPECT_EQ(mem.reads, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, WalkEveryLevel,
                         ::testing::Values(ModeCase{SatpMode::Sv39, 3}, ModeCase{SatpMode::Sv48, 4}),
                         [](const auto& info) { return info.param.mode == SatpMode::Sv39 ? "Sv39" : "Sv48"; });

TEST(RiscvWalk, Sv39And48DifferInDepth) {
  // The same table contents give a 1 GiB page under Sv39 and a pointer chain under Sv48.
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv48);
  pt.map(0x40000000, 0x40000000, 2, RWX | pte::A | pte::D);
  EXPECT_TRUE(riscv_walk(mem, request(SatpMode::Sv48, pt.root_ppn(), 0x40000000, WalkAccess::Load)).ok());
  // Sv48 addresses above 2^38 are canonical; under Sv39 they are not.
  EXPECT_EQ(riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 1ull << 40, WalkAccess::Load)).status,
            WalkStatus::PageFault);
}

uint32_t walk_cause(FakePhysicalMemory& mem, uint64_t root, uint64_t va, WalkAccess a,
                    WalkPriv priv = WalkPriv::Supervisor, bool sum = false, bool mxr = false) {
  WalkResult r = riscv_walk(mem, request(SatpMode::Sv39, root, va, a, priv, sum, mxr));
  return r.ok() ? 0 : r.cause;
}

TEST(RiscvWalk, InvalidPteFaultsWithCausePerAccess) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, RWX);
  mem.set_word(leaf, mem.word(leaf) & ~pte::V);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Fetch), cause::kFetchPageFault);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadPageFault);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), cause::kStorePageFault);
  // An empty root entry (other gigabyte) is invalid too.
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x40000000, WalkAccess::Load), cause::kLoadPageFault);
}

TEST(RiscvWalk, WriteWithoutReadFaults) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  pt.map(0x1000, 0x80001000, 0, pte::W | pte::X | pte::A | pte::D);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Fetch), cause::kFetchPageFault);
  // W without R on a non-leaf (R=X=0) is reserved as well.
  PageTableBuilder pt2(mem, SatpMode::Sv39);
  pt2.map(0x1000, 0x80001000, 0, RWX, pte::W);
  EXPECT_EQ(walk_cause(mem, pt2.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadPageFault);
}

TEST(RiscvWalk, ReservedHighBitsFault) {
  for (unsigned bit : {54u, 60u, 61u, 62u, 63u}) {
    FakePhysicalMemory mem;
    PageTableBuilder pt(mem, SatpMode::Sv39);
    const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, RWX | pte::A | pte::D);
    EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), 0u);
    mem.set_word(leaf, mem.word(leaf) | (1ull << bit));
    EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadPageFault) << bit;
    // ... in a non-leaf PTE too.
    mem.set_word(leaf, mem.word(leaf) & ~(1ull << bit));
    const uint64_t mid = pt.pte_addr(0x1000, 1);
    mem.set_word(mid, mem.word(mid) | (1ull << bit));
    EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), cause::kStorePageFault) << bit;
  }
}

TEST(RiscvWalk, NonLeafWithDAOrUFaults) {
  for (uint64_t bit : {pte::D, pte::A, pte::U}) {
    FakePhysicalMemory mem;
    PageTableBuilder pt(mem, SatpMode::Sv39);
    pt.map(0x1000, 0x80001000, 0, RWX | pte::A | pte::D, pte::V | bit);
    EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Fetch), cause::kFetchPageFault) << bit;
  }
}

TEST(RiscvWalk, PointerAtLevelZeroFaults) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  pt.map(0x1000, 0x80001000, 0, 0);  // R=W=X=0 at the last level: a pointer with nowhere to go
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadPageFault);
}

TEST(RiscvWalk, UnreadablePteAddressIsAnAccessFault) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  // A root entry pointing at a table outside memory.
  const uint64_t root_entry = pt.pte_addr(0x1000, 2);
  mem.set_word(root_entry, (0x10000ull << pte::kPpnShift) | pte::V);
  WalkResult r = riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x1000, WalkAccess::Fetch));
  EXPECT_EQ(r.status, WalkStatus::AccessFault);
  EXPECT_EQ(r.cause, cause::kFetchAccessFault);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadAccessFault);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), cause::kStoreAccessFault);
  // A root that is not memory at all.
  EXPECT_EQ(walk_cause(mem, 0x12345, 0x1000, WalkAccess::Load), cause::kLoadAccessFault);
}

TEST(RiscvWalk, ADUpdateOnReadOnlyPteMemoryIsAnAccessFault) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, RWX);  // A=0: the walk must write
  mem.make_read_only(leaf >> 12);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Load), cause::kLoadAccessFault);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), cause::kStoreAccessFault);
  // With A and D already set nothing is written, so ROM page tables work.
  mem.set_word(leaf, mem.word(leaf) | pte::A | pte::D);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), 0u);
}

TEST(RiscvWalk, AccessedSetOnReadDirtyOnWrite) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, pte::R | pte::W);
  const uint64_t before = mem.word(leaf);

  WalkResult r = riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x1000, WalkAccess::Load));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(mem.word(leaf), before | pte::A);  // A only: the page is not dirty
  EXPECT_FALSE(r.dirty());
  EXPECT_EQ(r.pte, mem.word(leaf));
  EXPECT_EQ(mem.cas_writes, 1u);

  riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x1000, WalkAccess::Load));
  EXPECT_EQ(mem.cas_writes, 1u);  // nothing left to set

  r = riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x1008, WalkAccess::Store));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(mem.word(leaf), before | pte::A | pte::D);
  EXPECT_TRUE(r.dirty());
  EXPECT_EQ(mem.cas_writes, 2u);

  // A store to a fresh page sets both at once; non-leaf PTEs are never touched.
  const uint64_t leaf2 = pt.map(0x2000, 0x80002000, 0, pte::R | pte::W);
  const uint64_t mid = pt.pte_addr(0x2000, 1), mid_before = mem.word(mid);
  ASSERT_TRUE(riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x2000, WalkAccess::Store)).ok());
  EXPECT_EQ(mem.word(leaf2) & (pte::A | pte::D), pte::A | pte::D);
  EXPECT_EQ(mem.word(mid), mid_before);
}

TEST(RiscvWalk, FaultingAccessLeavesPteUntouched) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, pte::R);
  const uint64_t before = mem.word(leaf);
  EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1000, WalkAccess::Store), cause::kStorePageFault);
  EXPECT_EQ(mem.word(leaf), before);
}

// A memory whose PTE another hart changes between the walk's read and its CAS, once.
class RacingMemory : public FakePhysicalMemory {
 public:
  uint64_t race_addr = 0, race_value = 0;
  bool cas64(uint64_t paddr, uint64_t expected, uint64_t desired) override {
    if (race_addr != 0 && paddr == race_addr) {
      set_word(paddr, race_value);
      race_addr = 0;
    }
    return FakePhysicalMemory::cas64(paddr, expected, desired);
  }
};

TEST(RiscvWalk, ChangedPteDuringUpdateRestartsTheWalk) {
  RacingMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  const uint64_t leaf = pt.map(0x1000, 0x80001000, 0, pte::R | pte::W);
  mem.race_addr = leaf;
  mem.race_value = ((0x80005000ull >> 12) << pte::kPpnShift) | pte::V | pte::R | pte::W;
  WalkResult r = riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), 0x1000, WalkAccess::Store));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa, 0x80005000u);  // the new mapping, not the one first read
  EXPECT_EQ(mem.word(leaf), mem.race_value | pte::A | pte::D);
}

TEST(RiscvWalk, GlobalFromAnyLevel) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  pt.map(0x1000, 0x80001000, 0, RWX | pte::A | pte::G);
  pt.map(0x40001000, 0x80002000, 0, RWX | pte::A, pte::V | pte::G);  // G on the pointers only
  pt.map(0x80001000, 0x80003000, 0, RWX | pte::A);
  auto global = [&](uint64_t va) {
    return riscv_walk(mem, request(SatpMode::Sv39, pt.root_ppn(), va, WalkAccess::Load)).global();
  };
  EXPECT_TRUE(global(0x1000));
  EXPECT_TRUE(global(0x40001000));
  EXPECT_FALSE(global(0x80001000));
}

// The permission matrix of §4.3.1/§4.3.2 step 6 over priv × U bit × SUM × MXR × access × RWX.
TEST(RiscvWalk, PermissionMatrix) {
  for (int perms = 0; perms < 8; ++perms) {
    const uint64_t rwx = (perms & 1 ? pte::R : 0) | (perms & 2 ? pte::W : 0) | (perms & 4 ? pte::X : 0);
    if (rwx == 0 || rwx == pte::W || rwx == (pte::W | pte::X)) continue;  // not leaves / reserved
    for (bool user_page : {false, true}) {
      FakePhysicalMemory mem;
      PageTableBuilder pt(mem, SatpMode::Sv39);
      pt.map(0x1000, 0x80001000, 0, rwx | (user_page ? pte::U : 0) | pte::A | pte::D);
      for (WalkPriv priv : {WalkPriv::User, WalkPriv::Supervisor})
        for (bool sum : {false, true})
          for (bool mxr : {false, true})
            for (WalkAccess a : {WalkAccess::Fetch, WalkAccess::Load, WalkAccess::Store}) {
              bool priv_ok;
              if (priv == WalkPriv::User) priv_ok = user_page;
              else priv_ok = !user_page || (sum && a != WalkAccess::Fetch);
              bool perm_ok = a == WalkAccess::Fetch ? (rwx & pte::X)
                             : a == WalkAccess::Load ? ((rwx & pte::R) || (mxr && (rwx & pte::X)))
                                                    : (rwx & pte::W) != 0;
              const uint32_t expected = priv_ok && perm_ok ? 0
                                        : a == WalkAccess::Fetch ? cause::kFetchPageFault
                                        : a == WalkAccess::Load  ? cause::kLoadPageFault
                                                                : cause::kStorePageFault;
              EXPECT_EQ(walk_cause(mem, pt.root_ppn(), 0x1234, a, priv, sum, mxr), expected)
                  << "rwx=" << rwx << " U=" << user_page << " priv=" << int(priv) << " sum=" << sum
                  << " mxr=" << mxr << " access=" << int(a);
            }
    }
  }
}

TEST(RiscvWalk, SpotChecksOfThePermissionRules) {
  FakePhysicalMemory mem;
  PageTableBuilder pt(mem, SatpMode::Sv39);
  pt.map(0x1000, 0x80001000, 0, RWX | pte::U | pte::A | pte::D);   // user RWX
  pt.map(0x2000, 0x80002000, 0, pte::X | pte::A);                  // supervisor execute-only
  const uint64_t root = pt.root_ppn();
  // S touching a U page: only with SUM, and never executing it even with SUM.
  EXPECT_EQ(walk_cause(mem, root, 0x1000, WalkAccess::Load), cause::kLoadPageFault);
  EXPECT_EQ(walk_cause(mem, root, 0x1000, WalkAccess::Load, WalkPriv::Supervisor, true), 0u);
  EXPECT_EQ(walk_cause(mem, root, 0x1000, WalkAccess::Store, WalkPriv::Supervisor, true), 0u);
  EXPECT_EQ(walk_cause(mem, root, 0x1000, WalkAccess::Fetch, WalkPriv::Supervisor, true), cause::kFetchPageFault);
  // U never reaches an S page; SUM does not matter to U.
  EXPECT_EQ(walk_cause(mem, root, 0x2000, WalkAccess::Fetch, WalkPriv::User, true), cause::kFetchPageFault);
  // Execute-only: fetch yes, load only with MXR, store never.
  EXPECT_EQ(walk_cause(mem, root, 0x2000, WalkAccess::Fetch), 0u);
  EXPECT_EQ(walk_cause(mem, root, 0x2000, WalkAccess::Load), cause::kLoadPageFault);
  EXPECT_EQ(walk_cause(mem, root, 0x2000, WalkAccess::Load, WalkPriv::Supervisor, false, true), 0u);
  EXPECT_EQ(walk_cause(mem, root, 0x2000, WalkAccess::Store, WalkPriv::Supervisor, false, true), cause::kStorePageFault);
}

}  // namespace
}  // namespace vmkit::rv64
