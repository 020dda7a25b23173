// User-mode guest memory: mappings and their regions, permissions as host protections, host-side
// accessors that refuse what the guest could not do, placement of new mappings.
#include <gtest/gtest.h>

#include <cstring>

#include "core/errors.h"
#include "mmu/guest_memory.h"

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
  EXPECT_TRUE(m.code_page_map()[0x10]);
  EXPECT_TRUE(m.code_page_map()[0x11]);
  m.unmap(0x11000, P);
  EXPECT_TRUE(m.code_page_map()[0x10]);
  EXPECT_FALSE(m.code_page_map()[0x11]);
}

}  // namespace
}  // namespace vmkit
