// Bit tests (bt, bts, btr, btc; memory operands with bit offsets outside them), bit scans and
// counts (bsf, bsr, tzcnt, lzcnt, popcnt, incl. a zero source), setcc and cmovcc after every kind
// of flag setter, compared with the host CPU.
#include <array>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

using Regs = std::array<uint64_t, 16>;

const uint64_t kValues[] = {0, 1, 2, 0x80, 0x8000, 0x80000000, 0x8000000000000000ull, 0x00f0000000000100ull,
                            0x7fffffffffffffffull, ~0ull, 0x0123456789abcdefull};

Regs regs_of(uint64_t a, uint64_t b) {
  Regs r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = 0xc3c3c3c3c3c3c3c3ull ^ (0x0101010101010101ull * i);
  r[RAX] = a;
  r[RBX] = b;
  return r;
}

std::vector<uint8_t> pattern_data() {
  std::vector<uint8_t> d(1024);
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(i * 0x9d + 0x35);
  return d;
}

const char* const kBitOps[] = {"bt", "bts", "btr", "btc"};

// CF is the bit; ZF is kept; OF SF AF PF are undefined.
constexpr uint32_t kBtFlags = kCF | kZF;

TEST(X64Bits, BitTestsOfRegistersMatchTheHost) {
  unsigned failures = 0;
  for (const char* op : kBitOps)
    for (const char* form : {"ax, bx", "eax, ebx", "rax, rbx", "r9d, ebx", "ax, 5", "ax, 17", "eax, 31", "eax, 33",
                             "rax, 63", "rax, 64", "rax, 200"})
      for (uint64_t v : kValues)
        for (uint64_t offset : {0ull, 1ull, 15ull, 16ull, 31ull, 32ull, 63ull, 64ull, 0x1234567ull, ~0ull, ~30ull})
          for (uint32_t f : {0u, kArithFlags}) {
            Regs r = regs_of(v, offset);
            r[R9] = v;
            if (!expect_like_host(std::string(op) + " " + form, r, f, kBtFlags, -1, {}) && ++failures > 10) return;
          }
}

// A register bit offset with a memory operand is a signed index from the operand's address, here up
// to 500 bytes either side; an immediate one is taken modulo the width.
TEST(X64Bits, BitTestsOfMemoryMatchTheHost) {
  unsigned failures = 0;
  const int64_t offsets[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 63, 64, 65, 100, 1000, 3999, -1, -8, -9, -16, -17,
                             -32, -33, -64, -65, -1000, -3999};
  for (const char* op : kBitOps)
    for (unsigned w : {16u, 32u, 64u}) {
      const std::string size = w == 16 ? "word" : w == 32 ? "dword" : "qword";
      const std::string reg = w == 16 ? "bx" : w == 32 ? "ebx" : "rbx";
      for (int64_t off : offsets)
        for (uint32_t f : {0u, kArithFlags}) {
          Regs r = regs_of(0, uint64_t(off));
          // Bits above the operand's width are not part of the offset.
          if (w < 64) r[RBX] = (uint64_t(off) & ((1ull << w) - 1)) | 0x5a5a000000000000ull;
          const std::string by_reg = std::string(op) + " " + size + " ptr [rsi + 4], " + reg;
          const std::string by_imm = std::string(op) + " " + size + " ptr [rsi - 6], " + std::to_string(off & 0xff);
          for (const std::string& text : {by_reg, by_imm})
            if (!expect_like_host(text, r, f, kBtFlags, RSI, pattern_data()) && ++failures > 10) return;
        }
    }
}

TEST(X64Bits, ScansAndCountsMatchTheHost) {
  struct Group {
    const char* op;
    uint32_t flags;  // those the SDM defines
  };
  const Group groups[] = {{"bsf", kZF}, {"bsr", kZF}, {"tzcnt", kCF | kZF}, {"lzcnt", kCF | kZF}, {"popcnt", kArithFlags}};
  unsigned failures = 0;
  for (const Group& g : groups)
    for (const char* form : {"ax, bx", "eax, ebx", "rax, rbx", "r10d, ebx", "ax, word ptr [rsi]", "eax, dword ptr [rsi + 2]",
                             "rax, qword ptr [rsi - 8]"})
      for (uint64_t v : kValues)
        for (uint64_t low : {0x0ull, 0xffffffff00000000ull, 0x10000ull})  // zero low parts with a nonzero rest
          for (uint32_t f : {0u, kArithFlags}) {
            const uint64_t src = v == 0 ? low : v;
            Regs r = regs_of(0xfedcba9876543210ull, src);
            std::vector<uint8_t> data(1024);
            for (int i = -8; i < 8; ++i) data[512 + i] = uint8_t(src >> (8 * ((i + 8) % 8)));
            if (!expect_like_host(std::string(g.op) + " " + form, r, f, g.flags, RSI, data) && ++failures > 10) return;
          }
}

const char* const kConds[] = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};

// Flag setters whose flags the conditions read are all defined (AF is read by none).
const char* const kSetters[] = {"cmp rax, rbx", "cmp eax, ebx", "cmp ax, bx", "cmp al, bl", "sub ebx, eax", "add rax, rbx",
                                "add al, bl", "adc eax, ebx", "sbb ax, bx", "and rax, rbx", "test ebx, eax", "xor al, bl",
                                "or bx, ax", "inc eax", "dec bl", "neg rax", "shl eax, 1", "sar bl, 1", "shr ax, 1",
                                "bt rax, rbx", "popcnt eax, ebx", "tzcnt rax, rbx", "stc", "lzcnt bx, ax"};

const uint64_t kCondValues[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0x8000000000000000ull, ~0ull};

// Each setter, then `use` (the text of instructions reading condition `cond`), over edge values.
void sweep_conditions(std::string (*use)(const std::string& cond)) {
  unsigned failures = 0;
  for (const char* setter : kSetters)
    for (const char* cond : kConds) {
      const std::string text = std::string(setter) + "; " + use(cond);
      for (uint64_t a : kCondValues)
        for (uint64_t b : kCondValues)
          if (!expect_like_host(text, regs_of(a, b), kCF, 0, RSI, pattern_data()) && ++failures > 10) return;
    }
}

TEST(X64Bits, SetccAfterEverySetterMatchesTheHost) {
  sweep_conditions([](const std::string& cond) {
    return "set" + cond + " r10b; set" + cond + " byte ptr [rsi + 1]; jmp 1f; 1: set" + cond + " ah";
  });
}

TEST(X64Bits, CmovccAfterEverySetterMatchesTheHost) {
  sweep_conditions([](const std::string& cond) {
    return "cmov" + cond + " r10, rax; cmov" + cond + " r11d, eax; cmov" + cond + " r12w, ax; cmov" + cond +
                 " r13d, dword ptr [rsi]; cmov" + cond + " rcx, qword ptr [rsi + 8]";
  });
}

// The conditions from flags the block did not set: every combination of the six, in the state.
TEST(X64Bits, ConditionsOfEveryFlagCombination) {
  unsigned failures = 0;
  for (const char* cond : kConds)
    for (uint32_t bits = 0; bits < 64; ++bits) {
      const uint32_t f = (bits & 1 ? kCF : 0) | (bits & 2 ? kPF : 0) | (bits & 4 ? kAF : 0) | (bits & 8 ? kZF : 0) |
                         (bits & 16 ? kSF : 0) | (bits & 32 ? kOF : 0);
      const std::string text = std::string("set") + cond + " r10b; cmov" + cond + " r11d, eax";
      if (!expect_like_host(text, regs_of(1, 2), f, kArithFlags, -1, {}) && ++failures > 10) return;
    }
}

// cmov's memory source is read even when the condition is false: a fault there stops it.
TEST(X64Bits, CmovReadsItsSourceWhateverTheCondition) {
  X64Machine m;
  m.r(RSI) = 0x10;  // unmapped
  m.r(RAX) = 0x1111111122222222ull;
  Stop s = m.run("cmp eax, eax; cmovne eax, dword ptr [rsi]");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.r(RAX), 0x1111111122222222ull);
}

}  // namespace
}  // namespace vmkit::x64::test
