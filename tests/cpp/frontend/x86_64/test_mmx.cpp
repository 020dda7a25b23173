// MMX: the integer instructions on mm registers compared with the host CPU (operands loaded from
// and results moved back to general registers, then emms), their effect on the x87 state (TOP
// = 0, every tag valid, the exponent of a written register all ones: seen through fxsave64 and
// fnstenv like the host's), and faults, which leave mm, TOP and the tags as they were.
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

using Regs = std::array<uint64_t, 16>;

const uint64_t kValues[] = {0,
                            1,
                            ~0ull,
                            0x8000000000000000ull,
                            0x7fffffffffffffffull,
                            0x8000800080008000ull,
                            0x7fff7fff7fff7fffull,
                            0x80807f7f01ff00feull,
                            0x0123456789abcdefull,
                            0xfedcba9876543210ull,
                            0x00000000ffffffffull,
                            0x0000000000000021ull};

Regs regs_of(uint64_t a, uint64_t b) {
  Regs r = filler_regs();
  r[RAX] = a;
  r[RBX] = b;
  r[RCX] = b & 0x7f;  // (a shift count that is often in range)
  return r;
}

std::vector<uint8_t> data_of(uint64_t v) {
  std::vector<uint8_t> d(kAreaBytes);
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t((v >> (8 * (i % 8))) + i / 8);
  return d;
}

// `op` on mm0 (from rax) and the source `src` (mm1 from rbx, or memory at rsi), then both back in
// rax and rbx.
std::string binary(const std::string& op, const std::string& src = "mm1") {
  return "movq mm0, rax; movq mm1, rbx; " + op + " mm0, " + src + "; movq rax, mm0; movq rbx, mm1; emms";
}

void sweep(const std::vector<std::string>& texts) {
  unsigned failures = 0;
  for (const std::string& t : texts)
    for (uint64_t a : kValues)
      for (uint64_t b : kValues)
        if (!expect_like_host(t, regs_of(a, b), 0, kArithFlags, RSI, data_of(b)) && ++failures > 10) return;
}

TEST(X64Mmx, LaneArithmeticMatchesTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"paddb",   "paddw",   "paddd",   "paddq",   "psubb",   "psubw",  "psubd",  "psubq",
                         "paddusb", "paddusw", "psubusb", "psubusw", "paddsb",  "paddsw", "psubsb", "psubsw",
                         "pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "pminub", "pmaxub",
                         "pminsw",  "pmaxsw",  "pavgb",   "pavgw",   "pand",    "pandn",  "por",    "pxor",
                         "pmullw",  "pmulhw",  "pmulhuw", "pmuludq", "pmaddwd", "psadbw"})
    texts.push_back(binary(op));
  for (const char* op : {"paddb", "psubsw", "pcmpgtd", "pmaddwd", "psadbw", "pand"})
    texts.push_back(binary(op, "qword ptr [rsi + 3]"));  // m64: no alignment needed
  sweep(texts);
}

TEST(X64Mmx, PacksUnpacksAndShufflesMatchTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"packsswb", "packssdw", "packuswb", "punpcklbw", "punpcklwd", "punpckldq", "punpckhbw",
                         "punpckhwd", "punpckhdq"})
    texts.push_back(binary(op));
  for (const char* op : {"punpcklbw", "punpcklwd", "punpckldq"}) texts.push_back(binary(op, "dword ptr [rsi - 5]"));
  for (const char* op : {"punpckhbw", "packuswb"}) texts.push_back(binary(op, "qword ptr [rsi + 8]"));
  for (unsigned sel : {0x1bu, 0x00u, 0xe4u, 0x4eu, 0xb1u})
    texts.push_back("movq mm1, rbx; pshufw mm0, mm1, " + std::to_string(sel) + "; movq rax, mm0; emms");
  texts.push_back("pshufw mm2, qword ptr [rsi - 8], 0x93; movq rax, mm2; emms");
  sweep(texts);
}

TEST(X64Mmx, ShiftsMatchTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"psrlw", "psrld", "psrlq", "psllw", "pslld", "psllq", "psraw", "psrad"}) {
    for (unsigned n : {0u, 1u, 7u, 15u, 16u, 31u, 32u, 63u, 64u, 255u})
      texts.push_back(std::string("movq mm0, rax; ") + op + " mm0, " + std::to_string(n) + "; movq rax, mm0; emms");
    texts.push_back(std::string("movq mm0, rax; movq mm1, rcx; ") + op + " mm0, mm1; movq rax, mm0; emms");
    texts.push_back(std::string("movq mm0, rax; movq mm1, rbx; ") + op + " mm0, mm1; movq rax, mm0; emms");
    texts.push_back(std::string("movq mm0, rax; ") + op + " mm0, qword ptr [rsi]; movq rax, mm0; emms");
  }
  sweep(texts);
}

TEST(X64Mmx, MovesAndExtractsMatchTheHost) {
  sweep({
      "movd mm3, eax; movq rbx, mm3; emms",
      "movd mm3, dword ptr [rsi + 1]; movd ecx, mm3; movq rdx, mm3; emms",
      "movq mm4, qword ptr [rsi - 7]; movq mm5, mm4; movq rcx, mm5; emms",
      "movq mm6, rax; movd dword ptr [rsi], mm6; movq qword ptr [rsi + 8], mm6; movntq qword ptr [rsi + 16], mm6; emms",
      "movq mm6, rax; movq mm7, mm6; movq qword ptr [rsi - 16], mm7; emms",
      "movq mm1, rax; pcmpeqb xmm2, xmm2; movq2dq xmm2, mm1; movq rcx, xmm2; psrldq xmm2, 8; movq rdx, xmm2; emms",
      "movq xmm3, rbx; movq mm2, rax; movdq2q mm2, xmm3; movq rcx, mm2; emms",
      "movq mm1, rax; pmovmskb ecx, mm1; pmovmskb rdx, mm1; emms",
      "movq mm1, rax; pextrw ecx, mm1, 0; pextrw edx, mm1, 3; pextrw r8d, mm1, 6; emms",
      "movq mm1, rax; pinsrw mm1, ebx, 0; pinsrw mm1, ebx, 7; pinsrw mm1, word ptr [rsi + 5], 2; movq rcx, mm1; emms",
  });
}

// ---- the x87 state ------------------------------------------------------------------------------

// An fxrstor64 image: TOP 5, R0 and R5 valid with ordinary values, the rest empty.
std::vector<uint8_t> area_with_image() {
  std::vector<uint8_t> a(kAreaBytes, 0);
  uint8_t* img = a.data();  // rsi - 512
  const uint16_t fcw = 0x037f, fsw = 5 << 11;
  const uint32_t mxcsr = 0x1f80;
  std::memcpy(img + 0, &fcw, 2);
  std::memcpy(img + 2, &fsw, 2);
  img[4] = 0x21;
  std::memcpy(img + 24, &mxcsr, 4);
  for (unsigned i = 0; i < 8; ++i) {  // ST(i) = R[(5 + i) & 7]
    const uint64_t mant = 0x8000000000000000ull | (0x1111111111ull * (i + 1));
    const uint16_t exp = uint16_t(0x3fff + i);
    std::memcpy(img + 32 + 16 * i, &mant, 8);
    std::memcpy(img + 40 + 16 * i, &exp, 2);
  }
  for (unsigned i = 0; i < 8; ++i) a[kAreaBytes / 2 + 448 + i] = uint8_t(0x10 * i + 1);  // a memory operand
  return a;
}

// Every MMX instruction (reading or writing mm) sets TOP to 0 and all tags valid; a written mm_i
// is R_i's mantissa with the exponent all ones (the full tag word then calls it special); emms
// empties every register and sets TOP 0.
TEST(X64Mmx, TopTagsAndExponentsMatchTheHost) {
  unsigned failures = 0;
  for (const char* insns : {"movd mm2, eax", "movq rcx, mm5", "movd ecx, mm0", "pxor mm7, mm7", "paddb mm5, mm0",
                            "movq mm3, qword ptr [rsi + 448]", "movq qword ptr [rsi + 464], mm1", "pmovmskb ecx, mm6",
                            "movq2dq xmm1, mm4", "movdq2q mm6, xmm2", "pextrw ecx, mm5, 1", "psrlq mm1, 3", "emms",
                            "movd mm2, eax; emms", "fnstsw ax; mov edx, eax; movq mm4, rcx; fnstsw ax", "movq mm0, rax; fninit"})
    if (!expect_like_host(x87_probe(insns), regs_of(0x0123456789abcdefull, 3), 0, kArithFlags, RSI, area_with_image()) &&
        ++failures > 5)
      return;
}

// vmkit's own view of the same: the state fields.
TEST(X64Mmx, WriteSetsTheExponentReadLeavesIt) {
  X64Machine m;
  State& s = m.st();
  s.fsw = 5 << 11;
  s.fpr[2] = {0x8000000000000000ull, 0x3fff, {}};
  s.fpr[6] = {0x8000000000000001ull, 0x4000, {}};
  m.r(RAX) = 0xcafef00d;
  m.exec("movd mm2, eax; movq rbx, mm6");
  EXPECT_EQ(s.fpr[2].mant, 0xcafef00du);
  EXPECT_EQ(s.fpr[2].exp, 0xffff);
  EXPECT_EQ(m.r(RBX), 0x8000000000000001ull);
  EXPECT_EQ(s.fpr[6].exp, 0x4000) << "read only";
  EXPECT_EQ(s.fsw, 0u) << "TOP 0";
  EXPECT_EQ(s.ftw, 0u) << "all valid";
  m.exec("emms");
  EXPECT_EQ(s.ftw, 0xffff);
}

// A memory fault in an MMX instruction leaves mm, TOP and the tags; punpckl* reads only 4 bytes.
TEST(X64Mmx, FaultsLeaveTheX87State) {
  constexpr uint64_t kDataEnd = kData + 0x10000;
  for (const char* text : {"paddb mm0, qword ptr [rsi]", "movq mm0, qword ptr [rsi]", "movq qword ptr [rsi], mm0",
                           "movd dword ptr [rsi + 2], mm0", "pinsrw mm0, word ptr [rsi + 4], 1"}) {
    X64Machine m;
    State& s = m.st();
    s.fsw = 3 << 11;
    s.fpr[0] = {0x1234, 0x3fff, {}};
    m.r(RSI) = kDataEnd - 4;
    Stop stop = m.run(text);
    EXPECT_EQ(stop.reason, StopReason::MemFault) << text;
    EXPECT_EQ(stop.pc, kCode) << text;
    EXPECT_EQ(s.fsw, 3u << 11) << text;
    EXPECT_EQ(s.ftw, 0xffff) << text;
    EXPECT_EQ(s.fpr[0].mant, 0x1234u) << text;
    EXPECT_EQ(s.fpr[0].exp, 0x3fff) << text;
  }
  X64Machine m;
  m.r(RSI) = kDataEnd - 4;
  m.exec("punpcklbw mm0, dword ptr [rsi]; movd mm1, dword ptr [rsi]");
}

}  // namespace
}  // namespace vmkit::x64::test
