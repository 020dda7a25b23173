// Shifts, rotates and double shifts at every width, by 1, an immediate and cl, compared with the
// host CPU (registers, memory and the flags the SDM defines for each count).
#include <array>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

using Regs = std::array<uint64_t, 16>;

const uint64_t kValues[] = {0, 1, 0x80, 0x8000000000000001ull, 0x4000000000000000ull, 0x00000000c0000001ull,
                            ~0ull, 0x0123456789abcdefull, 0xfedcba9876543210ull};
const unsigned kCounts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 64, 65, 0xff};

// Flags in: all clear, and all set (so kept flags show either way).
const uint32_t kFlagsIn[] = {0, kArithFlags};

// The flags the SDM defines after `op` of a w-bit operand by `count` (before masking).
uint32_t defined_flags(const std::string& op, unsigned w, unsigned count) {
  const unsigned masked = count & (w == 64 ? 63 : 31);
  if (masked == 0) return kArithFlags;  // nothing changes
  uint32_t f = kArithFlags;
  if (masked != 1) f &= ~kOF;
  if (op == "shl" || op == "shr" || op == "sar") {
    f &= ~kAF;
    if (masked >= w && op != "sar") f &= ~kCF;  // the last bit shifted out is undefined past the width
  }
  return f;
}

struct Operand {
  const char* text;
  unsigned bits;
};
const Operand kOperands[] = {{"al", 8}, {"ah", 8}, {"bx", 16}, {"ebx", 32}, {"rax", 64}, {"r9d", 32},
                             {"byte ptr [rsi + 3]", 8}, {"word ptr [rsi - 2]", 16}, {"dword ptr [rsi]", 32},
                             {"qword ptr [rsi + 8]", 64}};

std::vector<uint8_t> data_of(uint64_t v) {
  std::vector<uint8_t> d(1024);
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(v >> (8 * (i % 8))) ^ uint8_t(i / 8);
  return d;
}

Regs regs_of(uint64_t v, unsigned count) {
  Regs r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = v ^ (0x1111111111111111ull * i);
  r[RAX] = v;
  r[RBX] = ~v;
  r[RCX] = 0xabcdef00u | count;  // only cl counts
  r[R9] = v;
  return r;
}

// Every operand, every value, both flag states, by cl and by an immediate (1 is D0/D1's encoding).
void sweep_shift(const std::string& op) {
  unsigned failures = 0;
  for (const Operand& o : kOperands)
    for (unsigned count : kCounts) {
      const std::string by_cl = op + " " + o.text + ", cl";
      const std::string by_imm = op + " " + o.text + ", " + std::to_string(count);
      for (uint64_t v : kValues)
        for (uint32_t f : kFlagsIn)
          for (const std::string& text : {by_cl, by_imm})
            if (!expect_like_host(text, regs_of(v, count), f, defined_flags(op, o.bits, count), RSI, data_of(v)) &&
                ++failures > 10)
              return;
    }
}

TEST(X64Shift, ShlMatchesTheHost) { sweep_shift("shl"); }
TEST(X64Shift, ShrMatchesTheHost) { sweep_shift("shr"); }
TEST(X64Shift, SarMatchesTheHost) { sweep_shift("sar"); }
TEST(X64Shift, RolMatchesTheHost) { sweep_shift("rol"); }
TEST(X64Shift, RorMatchesTheHost) { sweep_shift("ror"); }
TEST(X64Shift, RclMatchesTheHost) { sweep_shift("rcl"); }
TEST(X64Shift, RcrMatchesTheHost) { sweep_shift("rcr"); }

// A count of 0 in cl keeps the flags of an earlier instruction of the same block, which the block
// knows as operands (cmp) or as a raw value (stc); conditions read after it see them.
TEST(X64Shift, ZeroCountInClKeepsTheBlocksFlags) {
  unsigned failures = 0;
  for (const char* text :
       {"cmp ebx, eax; shl eax, cl; setb r10b; seto r11b; sete r12b; sets r13b; setp r14b",
        "add bl, al; sar bl, cl; setb r10b; seto r11b; setle r12b; jmp 1f; 1: setnp r14b",
        "sub rax, rbx; shr ebx, cl; setbe r10b; setl r11b; adc r12, 0",
        "stc; rol eax, cl; setb r10b; seto r11b", "cmp eax, ebx; rcr ax, cl; setb r10b; setg r11b",
        "cmp ebx, eax; shld eax, ebx, cl; setb r10b; sets r11b; seta r12b",
        "inc eax; shl eax, cl; dec ebx; setb r10b; seto r11b; setz r12b"})
    for (uint64_t v : kValues)
      for (unsigned count : {0u, 1u, 32u}) {  // (OF, read by the sets, is defined for 0 and 1)
        Regs r = regs_of(v, count);
        r[RBX] = v * 3 + 1;
        if (!expect_like_host(text, r, kCF, count & 31 ? kArithFlags & ~(kAF | kOF) : kArithFlags, -1, {}) &&
            ++failures > 10)
          return;
      }
}

// shld/shrd of 16, 32 and 64 bits. 16-bit counts above 16 are undefined, so they are left out.
void sweep_double_shift(const std::string& op) {
  struct Form {
    const char* dst;
    const char* src;
    unsigned bits;
  };
  const Form forms[] = {{"ax", "bx", 16}, {"eax", "ebx", 32}, {"rax", "rbx", 64}, {"word ptr [rsi + 2]", "dx", 16},
                        {"dword ptr [rsi]", "edx", 32}, {"qword ptr [rsi - 8]", "rdx", 64}, {"r9d", "ebx", 32}};
  unsigned failures = 0;
  for (const Form& fm : forms)
    for (unsigned count : kCounts) {
      const unsigned masked = count & (fm.bits == 64 ? 63 : 31);
      if (fm.bits == 16 && masked > 16) continue;
      uint32_t mask = kArithFlags;
      if (masked != 0) mask &= ~kAF;
      if (masked > 1) mask &= ~kOF;
      const std::string head = op + " " + fm.dst + ", " + fm.src + ", ";
      for (uint64_t v : kValues)
        for (uint64_t s : {0x0ull, ~0ull, 0x8000000000000001ull, 0x0123456789abcdefull})
          for (uint32_t f : kFlagsIn)
            for (const std::string& text : {head + "cl", head + std::to_string(count)}) {
              Regs r = regs_of(v, count);
              r[RBX] = r[RDX] = s;
              if (!expect_like_host(text, r, f, mask, RSI, data_of(v)) && ++failures > 10) return;
            }
    }
}

TEST(X64Shift, ShldMatchesTheHost) { sweep_double_shift("shld"); }
TEST(X64Shift, ShrdMatchesTheHost) { sweep_double_shift("shrd"); }

// A shift of a value whose flags were recorded in an earlier block: the lazy form crosses blocks.
TEST(X64Shift, LazyFlagsOfShiftsCrossBlocks) {
  X64Machine m;
  m.r(RAX) = 0x81;
  m.r(RCX) = 1;
  m.exec("shl al, cl; jmp 1f; 1: setc bl; seto dl; setz sil; sets dil");
  EXPECT_EQ(m.r(RAX) & 0xff, 0x02u);
  EXPECT_EQ(m.r(RBX) & 0xff, 1u) << "bit 7 went out";
  EXPECT_EQ(m.r(RDX) & 0xff, 1u) << "OF = msb ^ CF";
  EXPECT_EQ(m.r(RSI) & 0xff, 0u);
  EXPECT_EQ(m.r(RDI) & 0xff, 0u);
}

}  // namespace
}  // namespace vmkit::x64::test
