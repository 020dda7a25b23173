// M extension: products, quotients and remainders including RISC-V's defined results for
// division by zero and signed overflow, and the W forms' 32-bit semantics.
#include <cstdint>

#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kMin32Sext = 0xffffffff80000000ull;

uint32_t m_op(uint32_t f3, unsigned rd) { return r_type(1, 6, 5, f3, rd, 0x33); }    // rd = x5 op x6
uint32_t m_op32(uint32_t f3, unsigned rd) { return r_type(1, 6, 5, f3, rd, 0x3b); }  // rd = x5 opw x6

// Runs mul, mulh, mulhsu, mulhu, div, divu, rem, remu into x10..x17 and the W forms into x18..x22.
struct Results {
  uint64_t r[13];
};
Results run_all(uint64_t a, uint64_t b) {
  Rv64Machine m;
  m.x(5) = a;
  m.x(6) = b;
  m.exec({m_op(0, 10), m_op(1, 11), m_op(2, 12), m_op(3, 13), m_op(4, 14), m_op(5, 15), m_op(6, 16), m_op(7, 17),
          m_op32(0, 18), m_op32(4, 19), m_op32(5, 20), m_op32(6, 21), m_op32(7, 22)});
  Results out{};
  for (unsigned i = 0; i < 13; ++i) out.r[i] = m.x(10 + i);
  return out;
}

uint64_t sext32(uint32_t v) { return uint64_t(int64_t(int32_t(v))); }

TEST(Rv64MulDiv, OrdinaryValuesMatchHostArithmetic) {
  const uint64_t a = 0xfedcba9876543210ull, b = 0x0123456789abcdefull;
  Results r = run_all(a, b);
  __int128 sa = int64_t(a), sb = int64_t(b);
  unsigned __int128 ua = a, ub = b;
  EXPECT_EQ(r.r[0], a * b);
  EXPECT_EQ(r.r[1], uint64_t((sa * sb) >> 64));
  EXPECT_EQ(r.r[2], uint64_t((sa * __int128(ub)) >> 64));
  EXPECT_EQ(r.r[3], uint64_t((ua * ub) >> 64));
  EXPECT_EQ(r.r[4], uint64_t(int64_t(a) / int64_t(b)));
  EXPECT_EQ(r.r[5], a / b);
  EXPECT_EQ(r.r[6], uint64_t(int64_t(a) % int64_t(b)));
  EXPECT_EQ(r.r[7], a % b);
  EXPECT_EQ(r.r[8], sext32(uint32_t(a) * uint32_t(b)));
  EXPECT_EQ(r.r[9], sext32(uint32_t(int32_t(uint32_t(a)) / int32_t(uint32_t(b)))));
  EXPECT_EQ(r.r[10], sext32(uint32_t(a) / uint32_t(b)));
  EXPECT_EQ(r.r[11], sext32(uint32_t(int32_t(uint32_t(a)) % int32_t(uint32_t(b)))));
  EXPECT_EQ(r.r[12], sext32(uint32_t(a) % uint32_t(b)));
}

TEST(Rv64MulDiv, MulhsuTreatsSecondOperandAsUnsigned) {
  Results r = run_all(~0ull /* -1 */, ~0ull /* 2^64-1 */);
  EXPECT_EQ(r.r[1], 0u);      // mulh: -1 * -1 = 1, high 0
  EXPECT_EQ(r.r[2], ~0ull);   // mulhsu: -1 * (2^64-1) = -(2^64-1), high all ones
  EXPECT_EQ(r.r[3], ~0ull - 1);  // mulhu: (2^64-1)^2 high = 2^64-2
}

TEST(Rv64MulDiv, DivisionByZero) {
  const uint64_t a = 0x123456789abcdef0ull;
  Results r = run_all(a, 0);
  EXPECT_EQ(r.r[4], ~0ull);  // div x/0 = -1
  EXPECT_EQ(r.r[5], ~0ull);  // divu x/0 = 2^64-1
  EXPECT_EQ(r.r[6], a);      // rem x%0 = x
  EXPECT_EQ(r.r[7], a);
  EXPECT_EQ(r.r[9], ~0ull);   // divw
  EXPECT_EQ(r.r[10], ~0ull);  // divuw: 0xffffffff sign-extended
  EXPECT_EQ(r.r[11], sext32(0x9abcdef0u));  // remw = low word, sign-extended
  EXPECT_EQ(r.r[12], sext32(0x9abcdef0u));
}

TEST(Rv64MulDiv, SignedOverflow) {
  Results r = run_all(kMin64, ~0ull);
  EXPECT_EQ(r.r[4], kMin64);  // MIN / -1 = MIN
  EXPECT_EQ(r.r[6], 0u);      // MIN % -1 = 0
  Results w = run_all(0x80000000u, 0xffffffffu);
  EXPECT_EQ(w.r[9], kMin32Sext);  // divw MIN32 / -1
  EXPECT_EQ(w.r[11], 0u);         // remw
  EXPECT_EQ(w.r[10], 0u);         // divuw 0x80000000 / 0xffffffff
  EXPECT_EQ(w.r[12], kMin32Sext);  // remuw keeps 0x80000000, sign-extended
}

TEST(Rv64MulDiv, WordFormsIgnoreUpperHalvesAndSignExtend) {
  Results r = run_all(0xaaaaaaaa00010000ull, 0x5555555500008000ull);
  EXPECT_EQ(r.r[8], kMin32Sext);  // 0x10000 * 0x8000 = 0x80000000 -> negative
  EXPECT_EQ(r.r[9], 2u);
  EXPECT_EQ(r.r[11], 0u);
}

}  // namespace
}  // namespace vmkit::rv64::test
