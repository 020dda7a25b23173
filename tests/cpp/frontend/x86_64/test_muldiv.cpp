// mul, imul (1, 2 and 3 operands), div and idiv at every width, compared with the host CPU; and
// the divide errors (#DE), which stop with SIGFPE and write nothing.
#include <array>
#include <csignal>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

using Regs = std::array<uint64_t, 16>;

const uint64_t kEdges[] = {0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
                           0x7fffffffffffffff, 0x8000000000000000, ~0ull, ~1ull, 0x0123456789abcdef, 0xfedcba9876543210};

// mul and imul define CF and OF only.
constexpr uint32_t kMulFlags = kCF | kOF;

Regs regs_of(uint64_t a, uint64_t b) {
  Regs r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = 0x5a5a5a5a5a5a5a5aull ^ (0x0101010101010101ull * i);
  r[RAX] = a;
  r[RBX] = b;
  r[RDX] = ~a;
  return r;
}

std::vector<uint8_t> data_of(uint64_t v) {
  std::vector<uint8_t> d(1024);
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(v >> (8 * (i % 8)));
  return d;
}

void sweep(const std::vector<std::string>& texts, uint32_t mask) {
  unsigned failures = 0;
  for (const std::string& t : texts)
    for (uint64_t a : kEdges)
      for (uint64_t b : kEdges)
        if (!expect_like_host(t, regs_of(a, b), kZF | kSF, mask, RSI, data_of(b)) && ++failures > 10) return;
}

TEST(X64MulDiv, OneOperandMultipliesMatchTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"mul", "imul"})
    for (const char* src : {"bl", "bh", "ah", "bx", "ebx", "rbx", "byte ptr [rsi + 1]", "word ptr [rsi]",
                            "dword ptr [rsi + 4]", "qword ptr [rsi - 8]"})
      texts.push_back(std::string(op) + " " + src);
  sweep(texts, kMulFlags);
}

TEST(X64MulDiv, TwoAndThreeOperandImulMatchTheHost) {
  sweep({"imul ax, bx", "imul eax, ebx", "imul rax, rbx", "imul r10, rax", "imul eax, dword ptr [rsi]",
         "imul rbx, qword ptr [rsi + 8]", "imul ax, bx, -3", "imul ax, bx, 0x7ff1", "imul eax, ebx, 0x7f",
         "imul eax, ebx, -0x12345678", "imul rax, rbx, -1", "imul rax, rbx, 0x40000000", "imul rax, rbx, -0x80000000",
         "imul r9d, dword ptr [rsi - 4], 3", "imul rdx, qword ptr [rsi], -7"},
        kMulFlags);
}

// Whether a division of `w` bits traps (#DE): a zero divisor, or a quotient out of range.
bool divide_traps(bool is_signed, unsigned w, uint64_t rax, uint64_t rdx, uint64_t divisor) {
  const uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
  divisor &= mask;
  if (divisor == 0) return true;
  const unsigned __int128 hi = w == 8 ? (rax >> 8) & 0xff : rdx & mask, lo = rax & mask;
  const unsigned __int128 n = (hi << w) | lo;
  if (!is_signed) return n / divisor > mask;
  const __int128 sn = __int128(n << (128 - 2 * w)) >> (128 - 2 * w);
  const __int128 sd = __int128(int64_t(divisor << (64 - w)) >> (64 - w));
  if (sd == -1 && sn == -(__int128(1) << 126) * 2) return true;  // (2^127 fits nothing; and UB in C++)
  const __int128 q = sn / sd, limit = __int128(1) << (w - 1);
  return q >= limit || q < -limit;
}

// Divisions on the host where they do not trap (the flags are undefined: none compared).
TEST(X64MulDiv, DivisionsMatchTheHost) {
  struct Form {
    const char* divisor;
    unsigned bits;
  };
  const Form forms[] = {{"bl", 8}, {"bh", 8}, {"bx", 16}, {"ebx", 32}, {"rbx", 64}, {"byte ptr [rsi]", 8},
                        {"word ptr [rsi]", 16}, {"dword ptr [rsi]", 32}, {"qword ptr [rsi]", 64}};
  unsigned failures = 0, compared = 0;
  for (bool is_signed : {false, true})
    for (const Form& f : forms) {
      const std::string text = std::string(is_signed ? "idiv " : "div ") + f.divisor;
      const bool high_byte = std::string(f.divisor) == "bh";
      for (uint64_t a : kEdges)
        for (uint64_t d : kEdges)
          for (uint64_t b : kEdges) {
            const uint64_t divisor = high_byte ? b >> 8 : b;
            if (divide_traps(is_signed, f.bits, a, d, divisor)) continue;
            Regs r = regs_of(a, b);
            r[RDX] = d;
            ++compared;
            if (!expect_like_host(text, r, 0, 0, RSI, data_of(b)) && ++failures > 10) return;
          }
    }
  EXPECT_GT(compared, 10000u);
}

// #DE: divide by 0, a quotient that does not fit (incl. INT_MIN / -1) stop at the division with
// SIGFPE/FPE_INTDIV, and rax and rdx are as before it; what ran before it stays done.
TEST(X64MulDiv, DivideErrorsTrapWithNothingWritten) {
  struct Case {
    const char* text;
    uint64_t rax, rdx, rbx;
  };
  const Case cases[] = {
      {"div bl", 0x1234, 7, 0},
      {"div bx", 0x1234, 7, 0},
      {"div ebx", 0x1234, 7, 0},
      {"div ebx", 0x1234, 7, 0xffffffff00000000ull},         // the divisor is ebx: 0
      {"div rbx", 0x1234, 7, 0},
      {"idiv rbx", 0x1234, 7, 0},
      {"idiv bl", 0x8000, 0, 0xff},                          // -32768 / -1
      {"idiv bx", 0x8000, 0xffff, 0xffff},                   // dx:ax = -32768, / -1
      {"idiv ebx", 0x80000000, 0xffffffff, 0xffffffff},      // INT32_MIN / -1
      {"idiv rbx", 0x8000000000000000ull, ~0ull, ~0ull},     // INT64_MIN / -1
      {"div bl", 0x1000, 0, 0x10},                           // quotient 0x100 does not fit in al
      {"div rbx", 0, 5, 5},                                  // rdx >= divisor
      {"idiv ebx", 0, 0x40000000, 2},                        // quotient 2^61
      {"div dword ptr [rsi]", 1, 0, 0},                      // memory divisor (0)
  };
  for (const Case& k : cases) {
    X64Machine m;
    m.r(RAX) = k.rax;
    m.r(RDX) = k.rdx;
    m.r(RBX) = k.rbx;
    m.r(RSI) = kData;
    m.r(R8) = 0;
    const std::vector<uint8_t> before = X64Machine::assemble("mov r8d, 9");
    Stop s = m.run(std::string("mov r8d, 9; ") + k.text);
    EXPECT_EQ(s.reason, StopReason::Trap) << k.text;
    EXPECT_EQ(s.signo, SIGFPE) << k.text;
    EXPECT_EQ(s.code, 1) << k.text << ": FPE_INTDIV";
    EXPECT_EQ(s.pc, kCode + before.size()) << k.text << ": at the division";
    EXPECT_EQ(m.r(RAX), k.rax) << k.text;
    EXPECT_EQ(m.r(RDX), k.rdx) << k.text;
    EXPECT_EQ(m.r(R8), 9u) << k.text << ": the instruction before it ran";
  }
}

// The 8-bit forms work on ax: the product fills ah, the division takes ax and splits it.
TEST(X64MulDiv, ByteFormsUseAx) {
  X64Machine m;
  m.r(RAX) = 0xffffffffffff00f0ull;
  m.r(RBX) = 0x10;
  m.r(RDX) = 0x5555;
  m.exec("mul bl");
  EXPECT_EQ(m.r(RAX), 0xffffffffffff0f00ull);
  EXPECT_EQ(m.r(RDX), 0x5555u) << "rdx untouched";
  EXPECT_EQ(m.flags() & kMulFlags, kMulFlags) << "ah is not 0";
  m.r(RAX) = 0xffffffffffff0123ull;
  m.r(RBX) = 0x10;
  m.exec("div bl");
  EXPECT_EQ(m.r(RAX), 0xffffffffffff0312ull) << "al = 0x123 / 16, ah = 0x123 % 16";
}

}  // namespace
}  // namespace vmkit::x64::test
