// User-mode guest memory: mappings and their regions, permissions as host protections, host-side
// accessors that refuse what the guest could not do, placement of new mappings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "core/errors.h"
#include "mmu/guest_memory.h"
#include "mmu/snapshot.h"

namespace vmkit {
namespace {

constexpr uint64_t P = GuestMemory::kPageSize;

TEST(GuestMemory, MapUnmapAndRegionsSplit) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, 4 * P, kRead | kWrite, "data");
  ASSERT_EQ(m.regions().size(), 1u);
  m.unmap(0x11000, P);  // punch a hole: two regions remain, names kept
  ASSERT_EQ(m.regions().size(), 2u);
  auto it = m.regions().begin();
  EXPECT_EQ(it->first, 0x10000u);
  EXPECT_EQ(it->second.end, 0x11000u);
  EXPECT_EQ(it->second.name, "data");
  ++it;
  EXPECT_EQ(it->first, 0x12000u);
  EXPECT_EQ(it->second.end, 0x14000u);
  EXPECT_TRUE(m.accessible(0x10000, P, kRead));
  EXPECT_FALSE(m.accessible(0x10000, 2 * P, kRead));  // runs into the hole
}

TEST(GuestMemory, ProtectChangesPermissionsOfPartOfARegion) {
  GuestMemory m(1ull << 24);
  m.map(0x20000, 3 * P, kRead | kWrite, "heap");
  m.protect(0x21000, P, kRead);
  EXPECT_TRUE(m.accessible(0x20000, P, kWrite));
  EXPECT_FALSE(m.accessible(0x21000, P, kWrite));
  EXPECT_TRUE(m.accessible(0x21000, P, kRead));
  EXPECT_EQ(m.regions().size(), 3u);
  uint32_t v = 7;
  EXPECT_THROW(m.write(0x21000, &v, 4), GuestAccessError);
  EXPECT_NO_THROW(m.write(0x22000, &v, 4));
  EXPECT_THROW(m.protect(0x30000, P, kRead), UsageError);  // not mapped
}

TEST(GuestMemory, HostAccessorsRefuseWhatTheGuestCannotDo) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, P, kRead | kWrite);
  const char msg[] = "hello";
  m.write(0x10ffa, msg, sizeof msg);  // ends exactly at the page end
  EXPECT_EQ(m.read_cstr(0x10ffa), "hello");
  EXPECT_THROW(m.write(0x10ffc, msg, sizeof msg), GuestAccessError);  // crosses into unmapped
  // A string that runs into unmapped memory without a terminator.
  std::memset(m.host(0x10f00), 'x', 0x100);
  EXPECT_THROW(m.read_cstr(0x10f00), GuestAccessError);
  uint8_t b;
  EXPECT_THROW(m.read(0x20000, &b, 1), GuestAccessError);
  EXPECT_THROW(m.read(m.size() - 1, &b, 2), GuestAccessError);  // beyond the address space
}

TEST(GuestMemory, FetchNeedsExecuteAndExecuteOnlyPagesAreFetchable) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, P, kRead | kWrite);
  uint32_t insn = 0x00000013;
  m.write(0x10000, &insn, 4);
  uint32_t got = 0;
  EXPECT_FALSE(m.fetch(0x10000, &got, 4));
  m.protect(0x10000, P, kExec);  // execute-only: still fetchable by the frontend
  EXPECT_TRUE(m.fetch(0x10000, &got, 4));
  EXPECT_EQ(got, insn);
}

TEST(GuestMemory, MisuseIsAUsageError) {
  GuestMemory m(1ull << 24);
  EXPECT_THROW(m.map(0x10001, P, kRead), UsageError);   // unaligned
  EXPECT_THROW(m.map(0x10000, 0, kRead), UsageError);   // empty
  EXPECT_THROW(m.map(m.size() - P, 2 * P, kRead), UsageError);  // past the end
  EXPECT_THROW(m.unmap(0x10000, 100), UsageError);
}

TEST(GuestMemory, FindFreePlacesBelowALimitAndAvoidsMappings) {
  GuestMemory m(1ull << 24);
  m.map(0x800000, 0x100000, kRead);  // [8 MiB, 9 MiB)
  uint64_t a = m.find_free(0x10000, 0x900000);
  EXPECT_EQ(a, 0x800000u - 0x10000u);  // highest gap below the mapping
  uint64_t b = m.find_free(0x10000, 0x1000000);
  EXPECT_EQ(b, 0x1000000u - 0x10000u);
  EXPECT_EQ(m.find_free(0x2000000, 0x1000000), 0u);  // does not fit at all
}

TEST(GuestMemory, CodePageMarksFollowUnmap) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, 2 * P, kRead | kExec);
  m.mark_code(0x10ffe, 4);  // an instruction straddling two pages marks both
  EXPECT_TRUE(m.holds_code(0x10000));
  EXPECT_TRUE(m.holds_code(0x11000));
  m.unmap(0x11000, P);
  EXPECT_TRUE(m.holds_code(0x10000));
  EXPECT_FALSE(m.holds_code(0x11000));
}

// Whether the host may write the byte at p: the kernel's copy into it (read(2) from a pipe)
// fails with EFAULT on a write-protected page, without a signal.
bool host_writable(uint8_t* p) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  uint8_t byte = *p;  // rewrite the same value
  bool ok = ::write(fds[1], &byte, 1) == 1 && ::read(fds[0], p, 1) == 1;
  ::close(fds[0]);
  ::close(fds[1]);
  return ok;
}

struct RecordingWatcher : GuestMemory::CodeWatcher {
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  void code_written(uint64_t addr, uint64_t len) override { calls.push_back({addr, len}); }
};

TEST(GuestMemory, PagesHoldingCodeAreWriteProtectedUntilPreparedForAWrite) {
  GuestMemory m(1ull << 24);
  RecordingWatcher w;
  m.add_code_watcher(&w);
  m.map(0x10000, 4 * P, kRead | kWrite | kExec);
  m.map(0x20000, P, kRead | kExec);
  m.mark_code(0x11ffe, 4);  // pages 0x11000 and 0x12000
  m.mark_code(0x20000, 4);  // not writable by the guest: protection unchanged
  EXPECT_TRUE(host_writable(m.host(0x10000)));
  EXPECT_FALSE(host_writable(m.host(0x11000)));
  EXPECT_FALSE(host_writable(m.host(0x12fff)));
  EXPECT_TRUE(host_writable(m.host(0x13000)));

  // A guest mprotect that keeps write access keeps the code pages protected.
  m.protect(0x10000, 4 * P, kRead | kWrite);
  EXPECT_FALSE(host_writable(m.host(0x11000)));
  EXPECT_TRUE(host_writable(m.host(0x13000)));

  // Host code writing one byte of page 0x12000: the watcher hears of that page, which becomes
  // writable and unmarked; the other code page stays as it was.
  uint8_t v = 0x5a;
  m.write(0x12010, &v, 1);
  ASSERT_EQ(w.calls.size(), 1u);
  EXPECT_EQ(w.calls[0], (std::pair<uint64_t, uint64_t>{0x12000, P}));
  EXPECT_EQ(*m.host(0x12010), 0x5a);
  EXPECT_TRUE(host_writable(m.host(0x12000)));
  EXPECT_FALSE(m.holds_code(0x12000));
  EXPECT_FALSE(host_writable(m.host(0x11000)));
  EXPECT_TRUE(m.holds_code(0x11000));

  // Writes elsewhere do not bother the watcher.
  m.write(0x13000, &v, 1);
  EXPECT_EQ(w.calls.size(), 1u);
  // A new mapping over code replaces it: unmarked, with the mapping's own protection.
  m.map(0x11000, P, kRead | kWrite);
  EXPECT_FALSE(m.holds_code(0x11000));
  EXPECT_TRUE(host_writable(m.host(0x11000)));
  m.remove_code_watcher(&w);
}

TEST(GuestMemory, ASnapshotRestoreKeepsCodePagesProtected) {
  GuestMemory m(1ull << 24);
  m.map(0x10000, 2 * P, kRead | kWrite | kExec);
  auto snap = m.snapshot();
  m.mark_code(0x10000, 4);
  uint8_t v = 1;
  m.write(0x11000, &v, 1);  // dirties the other page
  m.restore(*snap);
  EXPECT_FALSE(host_writable(m.host(0x10000)));
  m.end_tracking();  // every page gets its real protection back, code pages stay read-only
  EXPECT_FALSE(host_writable(m.host(0x10000)));
  EXPECT_TRUE(host_writable(m.host(0x11000)));
}


}  // namespace
}  // namespace vmkit
