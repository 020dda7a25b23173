// SSE/SSE2 moves and integer operations (lift_sse.cpp) against the host CPU (x64_sse_test_util.h):
// the same Intel-syntax text runs natively and in vmkit from the same xmm0..xmm3, rax, rcx, rdx and
// a 16-byte aligned data area at rsi, on edge values (zero, all ones, the sign bit of each lane
// width, alternating and mixed patterns); both halves of xmm0..xmm3, rax, rcx, rdx, MXCSR and the
// area must match, and every other register must be left as it was. Then the 16-byte alignment
// faults and the declined MMX forms.
#include <csignal>
#include <string>

#include "x64_sse_test_util.h"

namespace vmkit::x64::test {

namespace {

// The patterns (x64_sse_test_util.h), and the two that xmm2 and xmm3 hold.
constexpr const auto& kPatterns = kSseIntPatterns;
constexpr V128 kXmm2 = kSseIntPatterns[14], kXmm3 = kSseIntPatterns[11];

// Every pair of patterns (as xmm0, xmm1 and the area; xmm2 and xmm3 two more), stopping at the
// first few failures.
void expect_all_pairs_like_host(const std::string& text) {
  expect_sse_pairs_like_host(text, kPatterns, kXmm2, kXmm3);
}

// ---- the cases -------------------------------------------------------------------------------

TEST(X64Sse, MovesLikeHost) {
  const char* const kMoves[] = {
      "movd eax, xmm1", "movd xmm0, ecx", "movd xmm0, dword ptr [rsi + 4]", "movd dword ptr [rsi + 4], xmm1",
      "movq rax, xmm1", "movq xmm0, rcx", "movq xmm0, qword ptr [rsi + 8]", "movq qword ptr [rsi + 8], xmm1",
      "movq xmm0, xmm1", "movq xmm2, xmm2",
      "movdqa xmm0, xmm1", "movdqa xmm0, xmmword ptr [rsi + 16]", "movdqa xmmword ptr [rsi + 16], xmm1",
      "movdqu xmm0, xmmword ptr [rsi + 3]", "movdqu xmmword ptr [rsi + 5], xmm1", "movdqu xmm3, xmm0",
      "movaps xmm0, xmm1", "movaps xmm0, xmmword ptr [rsi + 32]", "movaps xmmword ptr [rsi + 32], xmm1",
      "movups xmm0, xmmword ptr [rsi + 7]", "movups xmmword ptr [rsi + 9], xmm1",
      "movapd xmm0, xmm1", "movapd xmm0, xmmword ptr [rsi]", "movapd xmmword ptr [rsi + 16], xmm1",
      "movupd xmm0, xmmword ptr [rsi + 1]", "movupd xmmword ptr [rsi + 15], xmm1",
      "movss xmm0, xmm1", "movss xmm0, dword ptr [rsi + 4]", "movss dword ptr [rsi + 12], xmm1",
      "movsd xmm0, xmm1", "movsd xmm0, qword ptr [rsi + 8]", "movsd qword ptr [rsi + 16], xmm1",
      "movlps xmm0, qword ptr [rsi + 8]", "movlps qword ptr [rsi + 4], xmm1",
      "movhps xmm0, qword ptr [rsi + 8]", "movhps qword ptr [rsi + 4], xmm1",
      "movlpd xmm0, qword ptr [rsi + 24]", "movlpd qword ptr [rsi + 2], xmm1",
      "movhpd xmm0, qword ptr [rsi + 24]", "movhpd qword ptr [rsi + 2], xmm1",
      "movhlps xmm0, xmm1", "movlhps xmm0, xmm1",
      "movntdq xmmword ptr [rsi + 16], xmm1", "movntps xmmword ptr [rsi + 32], xmm1",
      "movntpd xmmword ptr [rsi], xmm1",
      "movnti dword ptr [rsi + 4], ecx", "movnti qword ptr [rsi + 8], rcx",
      // a chain through several registers in one block
      "movdqa xmm2, xmm0; movq rax, xmm2; movd xmm3, eax; movhps qword ptr [rsi + 40], xmm1; movq xmm0, xmm3",
  };
  for (const char* text : kMoves) expect_all_pairs_like_host(text);
}

TEST(X64Sse, LogicLikeHost) {
  for (const char* mn : {"pxor", "por", "pand", "pandn", "xorps", "xorpd", "orps", "orpd", "andps", "andpd",
                         "andnps", "andnpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
  }
  // The zeroing idiom, on the same register.
  expect_all_pairs_like_host("pxor xmm1, xmm1");
}

TEST(X64Sse, LaneArithmeticLikeHost) {
  for (const char* mn : {"paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
  }
}

TEST(X64Sse, CompareMinMaxLikeHost) {
  for (const char* mn : {"pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "pminub", "pmaxub",
                         "pminsw", "pmaxsw"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, SaturatingAverageMultiplyLikeHost) {
  for (const char* mn : {"paddusb", "paddusw", "psubusb", "psubusw", "pavgb", "pavgw", "pmuludq"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, SignedSaturatingMultiplyPackLikeHost) {
  for (const char* mn : {"paddsb", "paddsw", "psubsb", "psubsw", "pmullw", "pmulhw", "pmulhuw", "pmaddwd", "psadbw",
                         "packsswb", "packssdw", "packuswb"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, PmovmskbLikeHost) {
  for (const char* text : {"pmovmskb eax, xmm0", "pmovmskb ecx, xmm1", "pmovmskb rax, xmm1",
                           // strlen's idiom: compare with zero, gather, in one block
                           "pxor xmm2, xmm2; pcmpeqb xmm2, xmm0; pmovmskb eax, xmm2; pcmpeqb xmm3, xmm1; pmovmskb ecx, xmm3",
                           "movmskps eax, xmm0", "movmskps rcx, xmm1", "movmskpd eax, xmm1", "movmskpd ecx, xmm0"})
    expect_all_pairs_like_host(text);
}

TEST(X64Sse, WordInsertExtractLikeHost) {
  for (unsigned k : {0u, 1u, 3u, 4u, 6u, 7u, 9u}) {
    const std::string imm = std::to_string(k);
    expect_all_pairs_like_host("pextrw eax, xmm1, " + imm);
    expect_all_pairs_like_host("pextrw rcx, xmm0, " + imm);
    expect_all_pairs_like_host("pinsrw xmm0, ecx, " + imm);
    expect_all_pairs_like_host("pinsrw xmm1, word ptr [rsi + 6], " + imm);
  }
}

TEST(X64Sse, ShiftsByImmediateLikeHost) {
  const unsigned kCounts[] = {0, 1, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0x80, 0xff};
  for (const char* mn : {"psrlw", "psrld", "psrlq", "psllw", "pslld", "psllq", "psraw", "psrad"})
    for (unsigned n : kCounts) expect_all_pairs_like_host(std::string(mn) + " xmm0, " + std::to_string(n));
  for (const char* mn : {"psrldq", "pslldq"})
    for (unsigned n : {0u, 1u, 3u, 7u, 8u, 9u, 12u, 15u, 16u, 17u, 0xffu})
      expect_all_pairs_like_host(std::string(mn) + " xmm1, " + std::to_string(n));
}

// The count in xmm2's (or memory's) low 64 bits: every count of kCounts, and ones with high bits
// set (out of range however small their low bits).
TEST(X64Sse, ShiftsByRegisterLikeHost) {
  const uint64_t kCounts[] = {0, 1, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff, 0x100000001ull, ~0ull};
  for (const char* mn : {"psrlw", "psrld", "psrlq", "psllw", "pslld", "psllq", "psraw", "psrad"})
    for (uint64_t n : kCounts) {
      int failures = 0;
      for (const V128& a : kPatterns) {
        SseState s = sse_state_of(a, {n, 0x55}, kXmm2, kXmm3);
        s.x[2][0] = n;
        s.x[2][1] = ~0ull;
        if (!expect_sse_like_host(std::string(mn) + " xmm0, xmm2", s) && ++failures == 3) break;
        if (!expect_sse_like_host(std::string(mn) + " xmm0, xmmword ptr [rsi]", s) && ++failures == 3) break;
      }
    }
}

TEST(X64Sse, ShufflesLikeHost) {
  for (unsigned sel : {0x00u, 0x1bu, 0xe4u, 0x4eu, 0xffu, 0x55u, 0xaau, 0x39u, 0x93u}) {
    expect_all_pairs_like_host("pshufd xmm0, xmm1, " + std::to_string(sel));
    expect_all_pairs_like_host("pshufd xmm1, xmm1, " + std::to_string(sel));
    expect_all_pairs_like_host("pshufd xmm0, xmmword ptr [rsi + 16], " + std::to_string(sel));
  }
  for (unsigned sel : {0x00u, 0x1bu, 0xe4u, 0x4eu, 0xffu, 0x93u, 0x01u, 0x02u, 0x03u}) {
    for (const char* mn : {"pshuflw", "pshufhw", "shufps", "shufpd"}) {
      expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1, " + std::to_string(sel));
      expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16], " + std::to_string(sel));
    }
  }
  for (const char* mn : {"punpcklbw", "punpcklwd", "punpckldq", "punpcklqdq", "punpckhbw", "punpckhwd",
                         "punpckhdq", "punpckhqdq", "unpcklps", "unpckhps", "unpcklpd", "unpckhpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

// ---- faults and declined forms ---------------------------------------------------------------

TEST(X64Sse, AlignedFormsFaultOnMisalignedMemory) {
  for (const char* text : {"movdqa xmm0, xmmword ptr [rsi]", "movdqa xmmword ptr [rsi], xmm1",
                           "movaps xmm0, xmmword ptr [rsi]", "movapd xmmword ptr [rsi], xmm1",
                           "movntdq xmmword ptr [rsi], xmm1", "pxor xmm0, xmmword ptr [rsi]",
                           "pcmpeqb xmm0, xmmword ptr [rsi]", "paddb xmm0, xmmword ptr [rsi]",
                           "paddsw xmm0, xmmword ptr [rsi]", "pmaddwd xmm0, xmmword ptr [rsi]",
                           "packsswb xmm0, xmmword ptr [rsi]",
                           "pshufd xmm0, xmmword ptr [rsi], 0x1b", "punpcklbw xmm0, xmmword ptr [rsi]",
                           "psrlw xmm0, xmmword ptr [rsi]", "shufps xmm0, xmmword ptr [rsi], 0"})
    expect_alignment_fault(text);
}

TEST(X64Sse, UnalignedMovesAndScalarsAcceptAnyAddress) {
  X64Machine m;
  const uint8_t bytes[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  m.mem.debug_write(kData, bytes, sizeof bytes);
  m.r(RSI) = kData + 1;
  m.exec("movdqu xmm0, xmmword ptr [rsi]; movups xmm1, xmmword ptr [rsi + 2]; movq xmm2, qword ptr [rsi + 4]");
  EXPECT_EQ(m.st().xmm[0][0], 0x0908070605040302ull);
  EXPECT_EQ(m.st().xmm[0][1], 0x11100f0e0d0c0b0aull);
  EXPECT_EQ(m.st().xmm[1][0], 0x0b0a090807060504ull);
  EXPECT_EQ(m.st().xmm[2][0], 0x0d0c0b0a09080706ull);
  EXPECT_EQ(m.st().xmm[2][1], 0u);
}

// movsd is both the SSE2 scalar move and the string instruction: each form goes to its lifter.
TEST(X64Sse, MovsdStringAndScalarFormsBothLift) {
  X64Machine m;
  const uint64_t src[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
  m.mem.debug_write(kData, src, sizeof src);
  m.r(RSI) = kData;
  m.r(RDI) = kData + 0x100;
  m.st().xmm[3][1] = 0x77;
  m.exec("movsd; movsd xmm3, qword ptr [rsi - 4]");
  uint32_t copied = 0;
  m.mem.debug_read(kData + 0x100, &copied, 4);
  EXPECT_EQ(copied, 0x55667788u);
  EXPECT_EQ(m.r(RSI), kData + 4);
  EXPECT_EQ(m.st().xmm[3][0], 0x1122334455667788ull);
  EXPECT_EQ(m.st().xmm[3][1], 0u) << "a load clears the high half";
}

}  // namespace
}  // namespace vmkit::x64::test
