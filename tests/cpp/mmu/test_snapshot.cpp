// Copy-on-write snapshots of guest memory (mmu/snapshot.h): saving on the first write (through
// GuestMemory::write, raw host stores and guest code), exact restores including mapping changes,
// materialisation, O(dirty) restore cost; host-buffer aliasing (map_host); the checked mapping
// calls and their messages.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../frontend/riscv64/rv64_test_util.h"
#include "core/cpu.h"
#include "core/errors.h"
#include "frontend/riscv64/frontend.h"
#include "mmu/guest_memory.h"
#include "mmu/snapshot.h"

namespace vmkit {
namespace {

constexpr uint64_t P = GuestMemory::kPageSize;

// Raw host stores into copy-on-write pages go through the process-wide SIGSEGV handler, which
// constructing a Cpu installs.
void install_fault_handler() {
  static std::unique_ptr<Frontend> fe = rv64::make_frontend();
  static GuestMemory mem(1ull << 20);
  static Cpu cpu(*fe, mem);
}

// A store the compiler must emit as a real store to that address.
void raw_store(GuestMemory& m, uint64_t addr, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(m.host(addr)) = v; }
uint8_t raw_load(GuestMemory& m, uint64_t addr) { return *reinterpret_cast<volatile uint8_t*>(m.host(addr)); }

// Fills [addr, addr+len) with a pattern that differs per page and per seed.
void fill(GuestMemory& m, uint64_t addr, uint64_t len, uint8_t seed) {
  for (uint64_t a = addr; a < addr + len; a += P) std::memset(m.host(a), uint8_t(seed + a / P), P);
}
bool holds(GuestMemory& m, uint64_t addr, uint64_t len, uint8_t seed) {
  for (uint64_t a = addr; a < addr + len; a += P)
    for (uint64_t i = 0; i < P; i += 512)
      if (m.host(a)[i] != uint8_t(seed + a / P)) return false;
  return true;
}

template <class Ex, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const Ex& e) {
    return e.what();
  }
  return "(no exception)";
}
#define EXPECT_MSG(ex, stmt, substr)                                          \
  do {                                                                       \
    std::string msg_ = message_of<ex>([&] { stmt; });                        \
    EXPECT_NE(msg_.find(substr), std::string::npos) << "message: " << msg_; \
  } while (0)

TEST(Snapshot, WriteThroughTheApiIsSavedAndRestored) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, 4 * P, kRead | kWrite, "data");
  fill(m, 0x10000, 4 * P, 1);
  auto snap = m.snapshot();
  EXPECT_TRUE(snap->tracked());
  EXPECT_EQ(m.dirty_page_count(), 0u);
  uint32_t v = 0xdeadbeef;
  m.write_val(0x11ffe, v);  // straddles pages 1 and 2
  EXPECT_EQ(m.read_val<uint32_t>(0x11ffe), v);
  EXPECT_EQ(m.dirty_page_count(), 2u);
  RestoreReport r = m.restore(*snap);
  EXPECT_TRUE(r.fast);
  EXPECT_EQ(r.pages_copied, 2u);
  EXPECT_TRUE(holds(m, 0x10000, 4 * P, 1));
  EXPECT_EQ(m.dirty_page_count(), 0u);
  // Tracking continues: the next write is saved again.
  m.write_val<uint8_t>(0x13000, 9);
  EXPECT_EQ(m.dirty_page_count(), 1u);
  m.restore(*snap);
  EXPECT_TRUE(holds(m, 0x10000, 4 * P, 1));
  EXPECT_EQ(m.snapshot_stats().pages_saved, 3u);
  EXPECT_EQ(m.snapshot_stats().restores, 2u);
}

TEST(Snapshot, RawHostStoresFaultIntoTheCopyOnWriteHandler) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  m.map(0x10000, 2 * P, kRead | kWrite);
  fill(m, 0x10000, 2 * P, 7);
  auto snap = m.snapshot();
  uint64_t faults = m.snapshot_stats().cow_faults;
  raw_store(m, 0x10010, 0xaa);
  raw_store(m, 0x10020, 0xbb);  // same page: already writable, no second fault
  EXPECT_EQ(raw_load(m, 0x10010), 0xaa);
  EXPECT_EQ(m.snapshot_stats().cow_faults, faults + 1);
  EXPECT_EQ(m.dirty_page_count(), 1u);
  m.restore(*snap);
  EXPECT_TRUE(holds(m, 0x10000, 2 * P, 7));
  raw_store(m, 0x10010, 0xcc);  // protected again after the restore
  EXPECT_EQ(m.snapshot_stats().cow_faults, faults + 2);
  EXPECT_EQ(m.snapshot_stats().pages_saved, 2u);
}

TEST(Snapshot, GuestStoresAreCopiedOnWriteAndOtherFaultsStillReachTheGuest) {
  using namespace rv64::test;
  Rv64Machine vm;
  uint64_t before = 0x1122334455667788ull;
  vm.mem.write_val(kData + 0x100, before);
  // The code lives in the snapshot too; write it first.
  std::vector<uint32_t> code = {s_type(0x100, 11, 10, 3, 0x23), kEcall};  // sd a1, 0x100(a0)
  vm.write_code(code.data(), code.size() * 4);
  auto snap = vm.mem.snapshot();
  auto run_store = [&](uint64_t base) {
    vm.x(10) = base;
    vm.x(11) = 0x55;
    vm.cpu->set_pc(kCode);
    return vm.cpu->run(100);
  };
  Stop s = run_store(kData);
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(vm.mem.read_val<uint64_t>(kData + 0x100), 0x55u);
  EXPECT_EQ(vm.mem.dirty_page_count(), 1u);
  vm.mem.restore(*snap);
  EXPECT_EQ(vm.mem.read_val<uint64_t>(kData + 0x100), before);

  // A store to the read+execute code page is the guest's fault, not a copy-on-write one.
  s = run_store(kCode);
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_TRUE(s.write);
  EXPECT_EQ(s.addr, kCode + 0x100);
  // So is a store to unmapped memory.
  s = run_store(0x200000);
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.addr, 0x200100u);
  // And one to a snapshot page the guest made read-only after a copy-on-write save.
  EXPECT_EQ(run_store(kData).reason, StopReason::Syscall);
  vm.mem.protect(kData, P, kRead);
  s = run_store(kData);
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.addr, kData + 0x100);
  vm.mem.restore(*snap);
  EXPECT_EQ(vm.mem.read_val<uint64_t>(kData + 0x100), before);
  EXPECT_EQ(run_store(kData).reason, StopReason::Syscall);  // writable again
}

TEST(Snapshot, RestoreRevertsMappingChangesExactly) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  m.map(0x10000, 4 * P, kRead | kWrite, "a");
  m.map(0x20000, 2 * P, kRead | kWrite, "b");
  m.map(0x30000, 2 * P, kRead | kWrite, "c");
  fill(m, 0x10000, 4 * P, 1);
  fill(m, 0x20000, 2 * P, 2);
  fill(m, 0x30000, 2 * P, 3);
  m.protect(0x20000, 2 * P, kRead);
  m.protect(0x30000, 2 * P, 0);  // PROT_NONE with contents: they must survive too
  const std::map<uint64_t, GuestMemory::Region> before = m.regions();
  auto snap = m.snapshot();

  m.unmap(0x11000, 2 * P);                    // a hole in a
  m.map(0x50000, P, kRead | kWrite, "new");   // a new mapping
  m.protect(0x20000, P, kRead | kWrite);      // b made writable and written
  m.write_val<uint8_t>(0x20000, 0xee);
  m.map(0x30000, P, kRead | kWrite, "over");  // c replaced by fresh memory
  raw_store(m, 0x30000, 0x99);
  raw_store(m, 0x13000, 0x77);                // a copy-on-write page of a

  RestoreReport r = m.restore(*snap);
  EXPECT_FALSE(r.fast);
  ASSERT_EQ(m.regions().size(), before.size());
  for (auto it = m.regions().begin(), jt = before.begin(); jt != before.end(); ++it, ++jt) {
    EXPECT_EQ(it->first, jt->first);
    EXPECT_EQ(it->second.end, jt->second.end);
    EXPECT_EQ(it->second.perm, jt->second.perm);
    EXPECT_EQ(it->second.name, jt->second.name);
  }
  EXPECT_TRUE(holds(m, 0x10000, 4 * P, 1));
  EXPECT_TRUE(holds(m, 0x20000, 2 * P, 2));
  EXPECT_FALSE(m.accessible(0x50000, P, 0));
  uint8_t b = 1;
  EXPECT_THROW(m.write(0x20000, &b, 1), GuestAccessError);  // read-only again
  EXPECT_THROW(m.read(0x30000, &b, 1), GuestAccessError);   // no access again
  m.protect(0x30000, 2 * P, kRead);
  EXPECT_TRUE(holds(m, 0x30000, 2 * P, 3));
  m.restore(*snap);  // the protect above is undone too
  EXPECT_THROW(m.read(0x30000, &b, 1), GuestAccessError);

  // Tracking is armed again: the next cycle is the fast path.
  raw_store(m, 0x12000, 0x55);
  r = m.restore(*snap);
  EXPECT_TRUE(r.fast);
  EXPECT_EQ(r.pages_copied, 1u);
  EXPECT_TRUE(holds(m, 0x10000, 4 * P, 1));
}

TEST(Snapshot, ConcurrentFirstWritesToAPageSaveItOnce) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  m.map(0x10000, 8 * P, kRead | kWrite);
  fill(m, 0x10000, 8 * P, 5);
  auto snap = m.snapshot();
  // Four threads store into the same eight pages at once: one saves each page, the others wait
  // for it and retry their store.
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t)
    threads.emplace_back([&m, t] {
      for (uint64_t pg = 0; pg < 8; ++pg) raw_store(m, 0x10000 + pg * P + 1 + t, uint8_t(0xa0 + t));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.dirty_page_count(), 8u);
  EXPECT_EQ(m.snapshot_stats().pages_saved, 8u);
  for (uint64_t pg = 0; pg < 8; ++pg)
    for (unsigned t = 0; t < 4; ++t) EXPECT_EQ(raw_load(m, 0x10000 + pg * P + 1 + t), 0xa0 + t);
  m.restore(*snap);
  EXPECT_TRUE(holds(m, 0x10000, 8 * P, 5));
  for (uint64_t pg = 0; pg < 8; ++pg) EXPECT_EQ(raw_load(m, 0x10000 + pg * P + 1), uint8_t(5 + 0x10 + pg));
}

TEST(Snapshot, TakingASecondSnapshotMaterialisesTheFirst) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  m.map(0x10000, 4 * P, kRead | kWrite);
  m.map(0x20000, P, 0);  // PROT_NONE: materialising reads it anyway
  fill(m, 0x10000, 4 * P, 1);
  auto s1 = m.snapshot();
  raw_store(m, 0x10000, 0x11);  // page 0 differs from s1 (saved), the rest is clean
  auto s2 = m.snapshot();
  EXPECT_FALSE(s1->tracked());
  EXPECT_TRUE(s1->materialised());
  EXPECT_TRUE(s2->tracked());
  m.map(0x40000, P, kRead | kWrite, "later");
  raw_store(m, 0x12000, 0x22);

  uint64_t full = m.snapshot_stats().full_copies;
  // s1 is untracked: s2 is materialised (it stops being tracked), s1 copied whole and tracked.
  RestoreReport r = m.restore(*s1);
  EXPECT_FALSE(r.fast);
  EXPECT_EQ(r.pages_copied, 5u);
  EXPECT_EQ(m.snapshot_stats().full_copies, full + 2);
  EXPECT_TRUE(s1->tracked());
  EXPECT_TRUE(s2->materialised());
  EXPECT_TRUE(holds(m, 0x10000, 4 * P, 1));
  EXPECT_FALSE(m.accessible(0x40000, P, 0));

  m.restore(*s2);
  EXPECT_EQ(raw_load(m, 0x10000), 0x11);
  EXPECT_EQ(raw_load(m, 0x12000), uint8_t(1 + 0x12));
  // Back and forth again; each restore of the now-tracked snapshot is fast.
  raw_store(m, 0x13000, 0x33);
  r = m.restore(*s2);
  EXPECT_TRUE(r.fast);
  EXPECT_EQ(raw_load(m, 0x13000), uint8_t(1 + 0x13));
  m.restore(*s1);
  EXPECT_EQ(raw_load(m, 0x10000), uint8_t(1 + 0x10));
}

TEST(Snapshot, EndingTrackingGivesRealProtectionsBack) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  m.map(0x10000, 2 * P, kRead | kWrite);
  {
    auto snap = m.snapshot();
    m.end_tracking();
    EXPECT_FALSE(snap->tracked());
    EXPECT_EQ(m.tracked_snapshot(), nullptr);
    uint64_t faults = m.snapshot_stats().cow_faults;
    raw_store(m, 0x10000, 1);
    EXPECT_EQ(m.snapshot_stats().cow_faults, faults);
    m.restore(*snap);  // full copy, tracked again
    EXPECT_EQ(raw_load(m, 0x10000), 0);
    EXPECT_TRUE(snap->tracked());
  }
  // Destroying the tracked snapshot ends tracking too.
  EXPECT_EQ(m.tracked_snapshot(), nullptr);
  uint64_t faults = m.snapshot_stats().cow_faults;
  raw_store(m, 0x11000, 1);
  EXPECT_EQ(m.snapshot_stats().cow_faults, faults);
  EXPECT_EQ(m.dirty_page_count(), 0u);
}

TEST(Snapshot, TheDefaultSizedAddressSpaceCanBeSnapshotted) {
  // 256 GiB of guest range: the save area and page-state map are reserved, not committed.
  GuestMemory m;
  m.map(0x7f0000000000 % m.size(), 2 * P, kRead | kWrite);
  uint64_t a = 0x7f0000000000 % m.size();
  m.write_val<uint64_t>(a, 42);
  auto snap = m.snapshot();
  m.write_val<uint64_t>(a + P, 7);
  m.unmap(a, P);
  m.restore(*snap);
  EXPECT_EQ(m.read_val<uint64_t>(a), 42u);
  EXPECT_EQ(m.read_val<uint64_t>(a + P), 0u);
}

TEST(Snapshot, RestoreIsOnlyForTheMemoryItWasTakenFrom) {
  auto m1 = std::make_unique<GuestMemory>(1ull << 24);
  GuestMemory m2(1ull << 24);
  m1->map(0x10000, P, kRead | kWrite);
  auto snap = m1->snapshot();
  EXPECT_THROW(m2.restore(*snap), UsageError);
  m1.reset();  // the snapshot outlives its memory
  EXPECT_EQ(snap->memory(), nullptr);
  EXPECT_THROW(m2.restore(*snap), UsageError);
}

TEST(Snapshot, PrepareWriteLetsTheKernelWriteIntoSnapshotPages) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, P, kRead | kWrite);
  auto snap = m.snapshot();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "hi", 2), 2);
  // The kernel does not take our fault: without prepare_write the read fails.
  EXPECT_EQ(::read(fds[0], m.host(0x10000), 2), -1);
  EXPECT_EQ(errno, EFAULT);
  m.prepare_write(0x10000, 2);
  EXPECT_EQ(::read(fds[0], m.host(0x10000), 2), 2);
  EXPECT_EQ(m.read_cstr(0x10000), "hi");
  m.restore(*snap);
  EXPECT_EQ(m.read_cstr(0x10000), "");
  ::close(fds[0]);
  ::close(fds[1]);
}

// The acceptance loop: a 64 MiB guest restored 1,000 times after dirtying 3 pages each time.
// The work per restore is counted in pages: it must be the 3 dirtied pages, not the guest size.
TEST(Snapshot, ThousandRestoresOfA64MiBGuestCostOnlyTheDirtyPages) {
  install_fault_handler();
  constexpr uint64_t kBase = 0x100000, kSize = 64ull << 20;
  GuestMemory m(1ull << 28);
  m.map(kBase, kSize, kRead | kWrite, "ram");
  for (uint64_t a = kBase; a < kBase + kSize; a += P) m.host(a)[a / P % 64] = uint8_t(a / P);
  auto snap = m.snapshot();
  for (unsigned i = 0; i < 1000; ++i) {
    uint64_t p1 = kBase + (i * 7919 % (kSize / P)) * P, p2 = kBase + (i * 104729 % (kSize / P)) * P;
    if (p2 == p1) p2 = p1 + P == kBase + kSize ? kBase : p1 + P;
    uint64_t p3 = kBase + kSize - P;
    if (p3 == p1 || p3 == p2) p3 = kBase + 5 * P == p1 || kBase + 5 * P == p2 ? kBase + 6 * P : kBase + 5 * P;
    raw_store(m, p1 + 1, 0xff);                // guest-style raw stores: SIGSEGV path
    raw_store(m, p2 + 2, 0xfe);
    m.write_val<uint32_t>(p3 + 8, 0xfdfdfdfd);  // the host API path
    ASSERT_EQ(m.dirty_page_count(), 3u);
    RestoreReport r = m.restore(*snap);
    ASSERT_TRUE(r.fast);
    ASSERT_EQ(r.pages_copied, 3u);
    for (uint64_t a : {p1, p2, p3}) {
      ASSERT_EQ(m.host(a)[1], (a / P % 64 == 1) ? uint8_t(a / P) : 0) << i;
      ASSERT_EQ(m.host(a)[2], (a / P % 64 == 2) ? uint8_t(a / P) : 0) << i;
      ASSERT_EQ(m.host(a)[8], (a / P % 64 == 8) ? uint8_t(a / P) : 0) << i;
      ASSERT_EQ(m.host(a)[a / P % 64], uint8_t(a / P)) << i;
    }
  }
  SnapshotStats st = m.snapshot_stats();
  EXPECT_EQ(st.pages_restored, 3000u);
  EXPECT_EQ(st.fast_restores, 1000u);
  EXPECT_EQ(st.full_copies, 0u);
  EXPECT_EQ(st.cow_faults, 2000u);
  // Every page still holds its snapshot contents.
  for (uint64_t a = kBase; a < kBase + kSize; a += P) {
    ASSERT_EQ(m.host(a)[a / P % 64], uint8_t(a / P));
    ASSERT_EQ(m.host(a)[(a / P + 1) % 64], 0);
  }
}

// ---- map_host ----------------------------------------------------------------------------------

struct SharedBuffer {
  size_t len;
  uint8_t* p;
  explicit SharedBuffer(size_t n, int flags = MAP_SHARED | MAP_ANONYMOUS) : len(n) {
    p = static_cast<uint8_t*>(::mmap(nullptr, n, PROT_READ | PROT_WRITE, flags, -1, 0));
  }
  ~SharedBuffer() { ::munmap(p, len); }
};

TEST(MapHost, AliasesASharedMappingBothWays) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  SharedBuffer buf(2 * P);
  ASSERT_NE(buf.p, MAP_FAILED);
  std::memcpy(buf.p + P, "from host", 10);
  m.map_host(0x40000, buf.p, 2 * P, kRead | kWrite, "buf");
  EXPECT_NE(m.host(0x40000), buf.p);  // a second mapping of the same pages: no copy
  EXPECT_EQ(m.read_cstr(0x40000 + P), "from host");
  m.write(0x40010, "from guest", 11);
  EXPECT_STREQ(reinterpret_cast<char*>(buf.p + 0x10), "from guest");
  raw_store(m, 0x40020, 'x');
  EXPECT_EQ(buf.p[0x20], 'x');
  buf.p[0x30] = 'y';
  EXPECT_EQ(raw_load(m, 0x40030), 'y');
  ASSERT_EQ(m.regions().count(0x40000), 1u);
  EXPECT_TRUE(m.regions().at(0x40000).shared);
  EXPECT_EQ(m.regions().at(0x40000).perm, kRead | kWrite);
  // Guest permissions apply to the guest mapping only.
  m.protect(0x40000, 2 * P, kRead);
  EXPECT_THROW(m.write(0x40000, "z", 1), GuestAccessError);
  buf.p[0] = 'z';
  EXPECT_EQ(raw_load(m, 0x40000), 'z');
}

TEST(MapHost, SnapshotsRestoreAliasedMemoryWrittenEitherWay) {
  install_fault_handler();
  GuestMemory m(1ull << 24);
  SharedBuffer buf(2 * P);
  std::memset(buf.p, 'a', 2 * P);
  m.map_host(0x40000, buf.p, 2 * P, kRead | kWrite);
  m.map(0x50000, P, kRead | kWrite);
  auto snap = m.snapshot();
  EXPECT_EQ(m.dirty_page_count(), 2u);  // shared writable pages are always dirty
  buf.p[5] = 'b';                        // the owner writes: no fault can see this
  raw_store(m, 0x41000, 'c');            // the guest writes
  RestoreReport r = m.restore(*snap);
  EXPECT_TRUE(r.fast);
  EXPECT_EQ(r.pages_copied, 2u);
  EXPECT_EQ(buf.p[5], 'a');
  EXPECT_EQ(buf.p[P], 'a');
  EXPECT_EQ(m.dirty_page_count(), 2u);
  // A full restore keeps the alias.
  m.end_tracking();
  m.restore(*snap);
  buf.p[7] = 'd';
  EXPECT_EQ(raw_load(m, 0x40007), 'd');
  EXPECT_TRUE(m.regions().at(0x40000).shared);
}

TEST(MapHost, RejectsPrivateUnalignedAndOverlappingBuffers) {
  GuestMemory m(1ull << 24);
  SharedBuffer priv(2 * P, MAP_PRIVATE | MAP_ANONYMOUS);
  EXPECT_MSG(UsageError, m.map_host(0x40000, priv.p, 2 * P, kRead), "mmap.mmap(-1, size)");
  EXPECT_TRUE(m.regions().empty());
  EXPECT_FALSE(m.accessible(0x40000, P, 0));
  SharedBuffer shared(2 * P);
  EXPECT_MSG(UsageError, m.map_host(0x40000, shared.p + 8, P, kRead), "not page aligned");
  EXPECT_MSG(UsageError, m.map_host(0x40008, shared.p, P, kRead), "not page aligned");
  EXPECT_MSG(UsageError, m.map_host(0x40000, shared.p, 100, kRead), "multiple of");
  EXPECT_MSG(UsageError, m.map_host(0x40000, shared.p, 0, kRead), "size is 0");
  EXPECT_MSG(UsageError, m.map_host(m.size(), shared.p, P, kRead), "outside");
  EXPECT_MSG(UsageError, m.map_host(0x40000, shared.p, P, 8), "permissions");
  m.map(0x41000, P, kRead, "taken");
  EXPECT_MSG(UsageError, m.map_host(0x40000, shared.p, 2 * P, kRead), "[0x41000, 0x42000) 'taken'");
}

// ---- Checked mapping calls ---------------------------------------------------------------------

TEST(CheckedMapping, MapNewRejectsEveryMisuseWithAHelpfulMessage) {
  GuestMemory m(1ull << 24);
  EXPECT_MSG(UsageError, m.map_new(0x10000, 0, kRead), "size is 0");
  EXPECT_MSG(UsageError, m.map_new(0x10001, P, kRead), "0x10000");  // suggests the aligned address
  EXPECT_MSG(UsageError, m.map_new(0x10000, 100, kRead), "0x1000");
  EXPECT_MSG(UsageError, m.map_new(m.size() - P, 2 * P, kRead), "outside the guest address space");
  EXPECT_MSG(UsageError, m.map_new(0x10000, P, 9), "permissions");
  m.map_new(0x10000, 2 * P, kRead | kWrite, "first");
  m.map_new(0x13000, P, kRead, "second");
  EXPECT_MSG(UsageError, m.map_new(0x11000, 4 * P, kRead), "[0x10000, 0x12000) 'first'");
  EXPECT_MSG(UsageError, m.map_new(0x12000, 2 * P, kRead), "[0x13000, 0x14000) 'second'");
  EXPECT_MSG(UsageError, m.map_new(0xf000, 2 * P, kRead), "'first'");
  m.map_new(0x12000, P, kRead);  // exactly the gap: fine
  EXPECT_EQ(m.regions().size(), 3u);
}

TEST(CheckedMapping, UnmapAndProtectNeedFullyMappedAlignedRanges) {
  GuestMemory m(1ull << 24);
  m.map_new(0x10000, 2 * P, kRead | kWrite);
  m.map_new(0x13000, P, kRead | kWrite);
  EXPECT_MSG(UsageError, m.unmap_checked(0x10000, 0), "size is 0");
  EXPECT_MSG(UsageError, m.unmap_checked(0x10800, P), "not page aligned");
  EXPECT_MSG(UsageError, m.unmap_checked(0x10000, 0x1800), "multiple of");
  EXPECT_MSG(UsageError, m.unmap_checked(m.size(), P), "outside");
  EXPECT_MSG(UsageError, m.unmap_checked(0x10000, 4 * P), "0x12000 is not");
  EXPECT_MSG(UsageError, m.protect_checked(0x11000, 3 * P, kRead), "0x12000 is not");
  EXPECT_MSG(UsageError, m.protect_checked(0x20000, P, kRead), "0x20000 is not");
  EXPECT_MSG(UsageError, m.protect_checked(0x10000, P, 16), "permissions");
  EXPECT_EQ(m.regions().size(), 2u);  // nothing changed by the failures
  m.protect_checked(0x10000, P, kRead);
  EXPECT_FALSE(m.accessible(0x10000, P, kWrite));
  m.unmap_checked(0x10000, 2 * P);
  EXPECT_FALSE(m.accessible(0x10000, P, 0));
  EXPECT_EQ(m.regions().size(), 1u);
}

}  // namespace
}  // namespace vmkit
