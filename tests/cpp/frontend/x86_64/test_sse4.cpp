// SSSE3, SSE4.1 and SSE4.2 (lift_sse4.cpp, helpers_sse4.cpp) against the host CPU
// (x64_sse_test_util.h): the same Intel-syntax text runs natively and in vmkit from the same
// xmm0..xmm3, rax, rcx, rdx, MXCSR and a 16-byte aligned 64-byte data area at rsi, on edge values;
// xmm0..3, the three GPRs, MXCSR, the area and (for the flag-setting instructions) the arithmetic
// flags must match, and every other register must be left as it was. Then the 16-byte alignment
// faults, the unaligned forms and CPUID.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>

#include "frontend/x86_64/helpers.h"
#include "x64_sse_test_util.h"

namespace vmkit::x64::test {

namespace {

// The integer edge values (x64_sse_test_util.h), and the two that xmm2 and xmm3 hold.
constexpr const auto& kIntPatterns = kSseIntPatterns;
constexpr V128 kXmm2 = kSseIntPatterns[9], kXmm3 = kSseIntPatterns[12];

// Every pair of `patterns` (as xmm0, xmm1 and the area; xmm2 and xmm3 two more), stopping at the
// first few failures.
void expect_pairs_like_host(const std::string& text, std::span<const V128> patterns, uint32_t flags_mask = 0,
                            uint32_t mxcsr = 0x1f80) {
  expect_sse_pairs_like_host(text, patterns, kXmm2, kXmm3, flags_mask, mxcsr);
}
void expect_all_pairs_like_host(const std::string& text, uint32_t flags_mask = 0) {
  expect_pairs_like_host(text, kIntPatterns, flags_mask);
}

// The usual three forms of `mn`: xmm0, xmm1; xmm1, [rsi + 16]; xmm2, xmm2 (with `suffix`, e.g.
// an immediate).
void expect_forms_like_host(const std::string& mn, const std::string& suffix = "", uint32_t flags_mask = 0) {
  expect_all_pairs_like_host(mn + " xmm0, xmm1" + suffix, flags_mask);
  expect_all_pairs_like_host(mn + " xmm1, xmmword ptr [rsi + 16]" + suffix, flags_mask);
  expect_all_pairs_like_host(mn + " xmm2, xmm2" + suffix, flags_mask);
}

// The MMX form of `mn` on mm0 (from xmm0's low half) and mm1 (from xmm1's) or an unaligned m64,
// the result back in xmm0.
void expect_mmx_forms_like_host(const std::string& mn, const std::string& suffix = "") {
  for (const char* src : {"mm1", "qword ptr [rsi + 3]"})
    expect_all_pairs_like_host("movdq2q mm0, xmm0; movdq2q mm1, xmm1; " + mn + " mm0, " + src + suffix +
                               "; movq2dq xmm0, mm0; emms");
}

// ---- SSSE3 -------------------------------------------------------------------------------------

TEST(X64Sse4, Ssse3LikeHost) {
  for (const char* mn : {"pshufb", "phaddw", "phaddd", "phaddsw", "phsubw", "phsubd", "phsubsw", "pmaddubsw",
                         "pmulhrsw", "psignb", "psignw", "psignd", "pabsb", "pabsw", "pabsd"}) {
    expect_forms_like_host(mn);
    expect_mmx_forms_like_host(mn);
  }
  for (unsigned n : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 23u, 24u, 31u, 32u, 33u, 255u}) {
    expect_forms_like_host("palignr", ", " + std::to_string(n));
    expect_mmx_forms_like_host("palignr", ", " + std::to_string(n));
  }
}

// ---- SSE4.1 integer ------------------------------------------------------------------------------

TEST(X64Sse4, MinMaxMultiplyCompareLikeHost) {
  for (const char* mn : {"pminsb", "pminsd", "pminuw", "pminud", "pmaxsb", "pmaxsd", "pmaxuw", "pmaxud", "pmulld",
                         "pmuldq", "pcmpeqq", "pcmpgtq", "packusdw", "phminposuw", "movntdqa"}) {
    if (std::string(mn) == "movntdqa") {
      expect_all_pairs_like_host("movntdqa xmm1, xmmword ptr [rsi + 16]");
      continue;
    }
    expect_forms_like_host(mn);
  }
}

TEST(X64Sse4, ExtendLikeHost) {
  for (const char* kind : {"zx", "sx"})
    for (const char* w : {"bw", "bd", "bq", "wd", "wq", "dq"}) {
      const std::string mn = std::string("pmov") + kind + w;
      const unsigned from = w[0] == 'b' ? 8 : w[0] == 'w' ? 16 : 32, to = w[1] == 'w' ? 16 : w[1] == 'd' ? 32 : 64;
      const unsigned bits = from * (128 / to);
      const char* size = bits == 16 ? "word" : bits == 32 ? "dword" : "qword";
      expect_all_pairs_like_host(mn + " xmm0, xmm1");
      expect_all_pairs_like_host(mn + " xmm2, xmm2");
      for (const char* at : {"[rsi + 16]", "[rsi + 5]", "[rsi + 31]"})
        expect_all_pairs_like_host(mn + " xmm1, " + size + " ptr " + at);
    }
}

TEST(X64Sse4, InsertExtractLikeHost) {
  for (unsigned k : {0u, 1u, 2u, 3u, 5u, 7u, 8u, 15u, 16u, 17u, 0xffu}) {
    const std::string imm = ", " + std::to_string(k);
    for (const char* text : {"pinsrb xmm0, ecx", "pinsrb xmm1, byte ptr [rsi + 7]", "pinsrd xmm0, ecx",
                             "pinsrd xmm1, dword ptr [rsi + 5]", "pinsrq xmm0, rcx", "pinsrq xmm1, qword ptr [rsi + 3]",
                             "pextrb eax, xmm1", "pextrb rcx, xmm0", "pextrb byte ptr [rsi + 9], xmm1",
                             "pextrw word ptr [rsi + 9], xmm1", "pextrd eax, xmm1", "pextrd dword ptr [rsi + 9], xmm0",
                             "pextrq rax, xmm1", "pextrq qword ptr [rsi + 9], xmm0", "extractps eax, xmm1",
                             "extractps dword ptr [rsi + 9], xmm0"})
      expect_all_pairs_like_host(text + imm);
  }
  for (unsigned k : {0x00u, 0x10u, 0x20u, 0x30u, 0x40u, 0x80u, 0xc0u, 0x0fu, 0x05u, 0x1au, 0x72u, 0xe9u, 0xffu}) {
    expect_all_pairs_like_host("insertps xmm0, xmm1, " + std::to_string(k));
    expect_all_pairs_like_host("insertps xmm1, dword ptr [rsi + 6], " + std::to_string(k));
  }
}

TEST(X64Sse4, PtestLikeHost) {
  // A flag-setting instruction first, so the host's flags before ptest are not all clear.
  expect_forms_like_host("cmp rax, rcx; ptest", "", kArithFlags);
  expect_all_pairs_like_host("ptest xmm3, xmm0", kArithFlags);
}

TEST(X64Sse4, BlendsLikeHost) {
  for (unsigned k : {0x00u, 0xffu, 0x01u, 0x80u, 0x55u, 0xaau, 0x0fu, 0xf0u, 0x3cu, 0x02u})
    for (const char* mn : {"pblendw", "blendps", "blendpd"}) expect_forms_like_host(mn, ", " + std::to_string(k));
  for (const char* mn : {"pblendvb", "blendvps", "blendvpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmm2, xmm0");
    expect_all_pairs_like_host(std::string(mn) + " xmm3, xmmword ptr [rsi + 16], xmm0");
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1, xmm0");
  }
}

TEST(X64Sse4, MpsadbwLikeHost) {
  for (unsigned k = 0; k < 8; ++k) expect_forms_like_host("mpsadbw", ", " + std::to_string(k));
  expect_forms_like_host("mpsadbw", ", 0xf8");
}

// ---- SSE4.1 floating point ---------------------------------------------------------------------

// Halves of doubles, and of float pairs: halves and ties (0.5, 1.5, 2.5, -2.5), near-integers,
// -0, infinities, quiet and signalling NaNs, denormals, values beyond 2^52 / 2^23 and the
// largest finite ones.
const V128 kFpPatterns[] = {
    {0x3ff8000000000000ull, 0xc004000000000000ull},  // 1.5, -2.5
    {0x3fe0000000000000ull, 0xbfe0000000000000ull},  // 0.5, -0.5
    {0x4004000000000000ull, 0x3fefffffffffffffull},  // 2.5, 0.999..
    {0x8000000000000000ull, 0x7ff0000000000000ull},  // -0, +inf
    {0x7ff8000000000001ull, 0x7ff0000000000001ull},  // qNaN, sNaN
    {0x000fffffffffffffull, 0x8000000000000001ull},  // denormals
    {0x4330000000000001ull, 0x7fefffffffffffffull},  // 2^52 + 1, DBL_MAX
    {0x3fc000003f000000ull, 0xbfc00000c0200000ull},  // floats 0.5, 1.5, -2.5, -1.5
    {0x7f8000017fc00000ull, 0x00000001807fffffull},  // floats qNaN, sNaN, denormals
    {0x4b0000014effffffull, 0x3f7fffffcf000000ull},  // floats 2^23 + 1, large, 0.99.., -2^31
    {0x4010000040490fdbull, 0xc0490fdb3eaaaaabull},  // floats pi, 2.25, -pi, 1/3
    {0x400921fb54442d18ull, 0xbfd5555555555555ull},  // pi, -1/3
};

TEST(X64Sse4, RoundLikeHost) {
  // Every imm8 under every MXCSR rounding control, and with DAZ and FTZ; with precision unmasked,
  // the forms whose imm8 bit 3 suppresses it (the others trap: RoundUnmaskedPrecisionTraps).
  const char* const kForms[] = {"roundps xmm0, xmm1", "roundpd xmm0, xmm1", "roundss xmm0, xmm1", "roundsd xmm0, xmm1",
                                "roundps xmm1, xmmword ptr [rsi + 16]", "roundpd xmm1, xmmword ptr [rsi + 16]",
                                "roundss xmm1, dword ptr [rsi + 5]", "roundsd xmm1, qword ptr [rsi + 3]"};
  for (uint32_t mxcsr : {0x1f80u, 0x3f80u, 0x5f80u, 0x7f80u, 0x9fc0u, 0x0f80u})
    for (unsigned k = 0; k < 16; ++k) {
      if (mxcsr == 0x0f80u && !(k & 8)) continue;
      for (const char* text : kForms) expect_pairs_like_host(text + (", " + std::to_string(k)), kFpPatterns, 0, mxcsr);
    }
}

TEST(X64Sse4, DotProductLikeHost) {
  for (unsigned k = 0; k < 256; k += 7) {
    expect_pairs_like_host("dpps xmm0, xmm1, " + std::to_string(k), kFpPatterns);
    expect_pairs_like_host("dppd xmm0, xmm1, " + std::to_string(k), kFpPatterns);
  }
  for (unsigned k : {0xffu, 0xf1u, 0x71u, 0x33u, 0x31u}) {
    expect_pairs_like_host("dpps xmm1, xmmword ptr [rsi + 16], " + std::to_string(k), kFpPatterns);
    expect_pairs_like_host("dppd xmm1, xmmword ptr [rsi + 16], " + std::to_string(k), kFpPatterns, 0, 0x7f80);
  }
}

// An unmasked precision exception: #XM (SIGFPE) at the instruction, xmm0 and MXCSR's flags as
// the host leaves them (the flag set, the register unchanged), or no trap with imm8 bit 3.
TEST(X64Sse4, RoundUnmaskedPrecisionTraps) {
  X64Machine m;
  m.st().mxcsr = 0x1f80 & ~0x1000u;  // PM clear
  m.st().xmm[0][0] = 0x1234;
  m.st().xmm[1][0] = 0x3ff8000000000000ull;  // 1.5
  Stop s = m.run("roundsd xmm0, xmm1, 0");
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.signo, SIGFPE);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(m.st().xmm[0][0], 0x1234u);
  EXPECT_EQ(m.st().mxcsr & 0x3f, 0x20u);
  m.st().mxcsr = 0x1f80 & ~0x1000u;
  m.exec("roundsd xmm0, xmm1, 8");
  EXPECT_EQ(m.st().xmm[0][0], 0x4000000000000000ull);  // 2.0 (nearest even)
  EXPECT_EQ(m.st().mxcsr & 0x3f, 0u);
}

// ---- SSE4.2 --------------------------------------------------------------------------------------

// Text: NUL-terminated strings at different places, repeated and overlapping characters, ranges
// as pairs (a-z, 0-9), words with zero words, and no terminator at all.
V128 text128(const char* s) {
  V128 v{0, 0};
  std::memcpy(&v, s, std::min<size_t>(std::strlen(s), 16));
  return v;
}
const V128 kStrPatterns[] = {
    text128("hello, world!"), text128("world"), text128("az09AZ"), text128("lo"), text128("o"),
    text128("abcdefghijklmnop"), text128("ababababababababa"), text128("bab"), text128(""), text128("hello, world!!!x"),
    {0x0000006c00650068ull, 0x006f006c006cff00ull},   // words "hel", then after a zero word more
    {0x8180ff7f01000000ull, 0x00000000000000ffull},   // signed-byte edges after a zero
    {0x7fff8000ffff0001ull, 0x0000000100020003ull},   // word edges, no zero word in the low half
    {0x0101010101010101ull, 0x0101010101010101ull},
};

TEST(X64Sse4, StringCompareImmediatesLikeHost) {
  constexpr uint32_t kFlags = kCF | kZF | kSF | kOF | kAF | kPF;
  for (unsigned imm = 0; imm < 128; ++imm) {
    const std::string i = ", " + std::to_string(imm);
    for (const char* mn : {"pcmpistri", "pcmpistrm", "pcmpestri", "pcmpestrm"}) {
      int failures = 0;
      for (const V128& a : kStrPatterns)
        for (const V128& b : kStrPatterns) {
          SseState s = sse_state_of(a, b, kXmm2, kXmm3);
          s.rax = 5 + (a.lo & 7);  // explicit lengths of different sizes
          s.rdx = 13 - (b.lo & 15);
          if (!expect_sse_like_host(std::string(mn) + " xmm0, xmm1" + i, s, kFlags) && ++failures == 3) break;
        }
    }
  }
}

TEST(X64Sse4, StringCompareLengthsAndFormsLikeHost) {
  constexpr uint32_t kFlags = kArithFlags;
  const uint64_t kLengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 100, uint64_t(-1), uint64_t(-8), uint64_t(-9),
                               uint64_t(-16), uint64_t(-17), 0x80000000ull, 0x7fffffffull, 0x100000003ull,
                               0xffffffff00000002ull, 0x8000000000000000ull};
  for (unsigned imm : {0x00u, 0x01u, 0x04u, 0x0cu, 0x19u, 0x38u, 0x4du, 0x45u, 0x7eu, 0x0bu})
    for (uint64_t la : kLengths)
      for (uint64_t lb : kLengths) {
        SseState s = sse_state_of(kStrPatterns[0], kStrPatterns[1], kXmm2, kXmm3);
        s.rax = la;
        s.rdx = lb;
        const std::string i = ", " + std::to_string(imm);
        expect_sse_like_host("pcmpestri xmm0, xmm1" + i, s, kFlags);
        expect_sse_like_host("pcmpestrm xmm1, xmm0" + i, s, kFlags);
        // REX.W: the lengths are rax and rdx in full (66 REX.W 0F 3A 61/60 /r with xmm0, xmm1).
        expect_sse_like_host(".byte 0x66, 0x48, 0x0f, 0x3a, 0x61, 0xc1, " + std::to_string(imm), s, kFlags);
        expect_sse_like_host(".byte 0x66, 0x48, 0x0f, 0x3a, 0x60, 0xc1, " + std::to_string(imm), s, kFlags);
      }
  // Memory sources need no alignment.
  for (const char* text : {"pcmpistri xmm0, xmmword ptr [rsi + 3], 0x0c", "pcmpistrm xmm0, xmmword ptr [rsi + 1], 0x40",
                           "pcmpestri xmm1, xmmword ptr [rsi + 17], 0x18", "pcmpestrm xmm1, xmmword ptr [rsi + 9], 0x04"})
    expect_pairs_like_host(text, kStrPatterns, kFlags);
}

TEST(X64Sse4, Crc32LikeHost) {
  for (const char* text : {"crc32 eax, cl", "crc32 eax, ch", "crc32 eax, cx", "crc32 eax, ecx", "crc32 rax, cl",
                           "crc32 rax, rcx", "crc32 ecx, byte ptr [rsi + 3]", "crc32 ecx, word ptr [rsi + 5]",
                           "crc32 ecx, dword ptr [rsi + 7]", "crc32 rcx, qword ptr [rsi + 9]", "crc32 rdx, byte ptr [rsi]",
                           // a chain, as a checksum loop does it
                           "crc32 rax, qword ptr [rsi]; crc32 rax, qword ptr [rsi + 8]; crc32 eax, byte ptr [rsi + 16]"})
    expect_all_pairs_like_host(text);
}

// ---- faults, unaligned forms, CPUID ---------------------------------------------------------------

// The forms the host faults on (checked natively), and that it does not.
TEST(X64Sse4, AlignedFormsFaultOnMisalignedMemory) {
  for (const char* text :
       {"pshufb xmm0, xmmword ptr [rsi]", "palignr xmm0, xmmword ptr [rsi], 3", "pabsb xmm0, xmmword ptr [rsi]",
        "pminsb xmm0, xmmword ptr [rsi]", "pcmpgtq xmm0, xmmword ptr [rsi]", "ptest xmm0, xmmword ptr [rsi]",
        "movntdqa xmm0, xmmword ptr [rsi]", "mpsadbw xmm0, xmmword ptr [rsi], 0", "phminposuw xmm0, xmmword ptr [rsi]",
        "roundps xmm0, xmmword ptr [rsi], 0", "dpps xmm0, xmmword ptr [rsi], 0xff",
        "pblendvb xmm0, xmmword ptr [rsi], xmm0", "blendps xmm0, xmmword ptr [rsi], 1"})
    expect_alignment_fault(text);
}

TEST(X64Sse4, NarrowAndStringFormsAcceptAnyAddress) {
  X64Machine m;
  uint8_t bytes[48];
  for (unsigned i = 0; i < sizeof bytes; ++i) bytes[i] = uint8_t(i + 1);
  m.mem.debug_write(kData, bytes, sizeof bytes);
  m.r(RSI) = kData + 1;
  m.st().xmm[3][0] = 0x0403;  // the needle "\x03\x04"
  m.st().xmm[3][1] = 0;
  m.exec("pmovzxbw xmm0, qword ptr [rsi]; roundss xmm1, dword ptr [rsi + 8], 0; insertps xmm2, dword ptr [rsi + 3], 0x30;"
         "pcmpistri xmm3, xmmword ptr [rsi], 0x0c");
  EXPECT_EQ(m.st().xmm[0][0], 0x0005000400030002ull);
  EXPECT_EQ(m.st().xmm[0][1], 0x0009000800070006ull);
  EXPECT_EQ(m.st().xmm[2][1] >> 32, 0x08070605u);
  EXPECT_EQ(m.r(RCX), 1u) << "the needle 03 04 starts at byte 1 of 02 03 04 ...";
}

TEST(X64Sse4, CpuidAdvertisesSsse3Sse41Sse42) {
  const CpuidResult r = cpuid(1, 0);
  EXPECT_TRUE(r.ecx & (1u << 9)) << "SSSE3";
  EXPECT_TRUE(r.ecx & (1u << 19)) << "SSE4.1";
  EXPECT_TRUE(r.ecx & (1u << 20)) << "SSE4.2";
  EXPECT_TRUE(r.ecx & (1u << 23)) << "POPCNT";
  EXPECT_FALSE(r.ecx & (1u << 28)) << "no AVX";
}

}  // namespace
}  // namespace vmkit::x64::test
