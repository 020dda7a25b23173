// SSE/SSE2/SSE3 floating point (lift_sse_fp.cpp, helpers_sse_fp.cpp) against the host CPU
// (x64_sse_test_util.h): the same Intel-syntax text runs natively and in vmkit from the same
// xmm0..xmm3, rax, rcx, RFLAGS, MXCSR and a 16-byte aligned data area at rsi. Inputs are the edge
// values of each format (±0, ±inf, QNaN and SNaN, denormals, the normal limits, values that round
// differently in each mode, the integer conversion limits), paired lane by lane, under the four
// rounding modes, DAZ and FTZ, and with each exception unmasked in turn. Where the host takes an
// #XM (or #GP), vmkit must stop at the same instruction with the same signal and si_code, and with
// the registers and MXCSR the host's signal frame holds (the destination unchanged); otherwise both
// halves of xmm0..3, rax, rcx, rdx, the arithmetic flags, MXCSR and the area must match, and no
// other register change.
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "x64_sse_test_util.h"

namespace vmkit::x64::test {

namespace {

// ---- inputs ----------------------------------------------------------------------------------

// Single precision: zeros, infinities, quiet and signalling NaNs (with payloads and signs),
// denormals, the normal limits, numbers whose sums/products/quotients round differently per
// mode, halves for the round-to-even conversions, and the limits of the int32/int64 conversions.
const uint32_t kFloats[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00123, 0x7fa00000, 0xff800001,
    0x00000001, 0x807fffff, 0x00800000, 0x00c00000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
    0x40400000, 0x3eaaaaab, 0x3f000000, 0x3fc00000, 0x40200000, 0xc0200000, 0x3f800001, 0x4f000000,
    0xcf000000, 0xcf000001, 0x5f000000, 0xdf000000, 0x4effffff, 0x7e800000, 0x0d800000, 0x3ffffffe,
};
// Double precision: the same kinds of values.
const uint64_t kDoubles[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000123ull, 0x7ff4000000000000ull, 0xfff0000000000001ull,
    0x0000000000000001ull, 0x800fffffffffffffull, 0x0010000000000000ull, 0x0018000000000000ull,
    0x7fefffffffffffffull, 0xffefffffffffffffull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x4008000000000000ull, 0x3fd5555555555555ull, 0x3fe0000000000000ull, 0x3ff8000000000000ull,
    0x4004000000000000ull, 0xc004000000000000ull, 0x3ff0000000000001ull, 0x41e0000000000000ull,
    0xc1e0000000000000ull, 0xc1e0000000200000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
    0x41dfffffffffffffull, 0x47efffffe0000000ull, 0x3810000000000000ull, 0x36a0000000000000ull,
    0x369fffffffffffffull, 0x7fe0000000000000ull,
};
// Integers for cvtsi2ss/sd: zero, ±1, the int32 and int64 limits, and values with more
// significant bits than the float or double mantissa (which round).
const uint64_t kInts[] = {
    0, 1, ~0ull, 0x7fffffff, 0x80000000, 0xffffffff80000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0x1000001, 0x1000003, 0xffffffffff000001ull, 0x20000000000001ull, 0x20000000000003ull, 0x123456789abcdefull,
    0x00000000fffffffeull, 0xfedcba9876543210ull,
};
constexpr size_t kNF = sizeof kFloats / sizeof kFloats[0], kND = sizeof kDoubles / sizeof kDoubles[0],
                 kNI = sizeof kInts / sizeof kInts[0];

// MXCSR settings with every exception masked: the four rounding modes, FTZ and DAZ alone and
// together, and sticky flags already set (which stay set).
const uint32_t kMaskedCsrs[] = {0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80, 0x1fc0, 0x9fc0, 0xffc0, 0x1fbf};
// One exception unmasked at a time (invalid, denormal, divide-by-zero, overflow, underflow with
// and without FTZ, precision), all of them, precision under round-toward-zero, and precision and
// invalid unmasked with a stale invalid flag (Linux's si_code looks at every unmasked flag).
const uint32_t kUnmaskedCsrs[] = {0x1f00, 0x1e80, 0x1d80, 0x1b80, 0x1780, 0x9780, 0x0f80, 0x0000, 0x6f80, 0x0f01};

// xmm0 (the destination) and xmm1 (the source) for pair (i, j): lane 0 of each holds the i-th and
// j-th value, so the scalar forms see every pair; the other lanes rotate through further pairs.
// rax and rcx hold integers; the area holds xmm1 then xmm0 (so [rsi] is the source again).
SseState state_of(bool doubles, size_t i, size_t j, uint32_t mxcsr) {
  SseState s{};
  for (unsigned h = 0; h < 2; ++h) {
    if (doubles) {
      s.x[0][h] = kDoubles[(i + h) % kND];
      s.x[1][h] = kDoubles[(j + 5 * h) % kND];
    } else {
      auto pack = [&](size_t base, size_t step) {
        return uint64_t(kFloats[(base + step * 2 * h) % kNF]) | uint64_t(kFloats[(base + step * (2 * h + 1)) % kNF]) << 32;
      };
      s.x[0][h] = pack(i, 1);
      s.x[1][h] = pack(j, 3);
    }
    s.x[2][h] = 0x3ff0000040490fdbull ^ h;
    s.x[3][h] = 0xc00000007f800001ull + h;
  }
  s.rax = kInts[i % kNI];
  s.rcx = kInts[j % kNI];
  s.rflags = kArithFlags;
  s.mxcsr = mxcsr;
  std::memcpy(s.mem, s.x[1], 16);
  std::memcpy(s.mem + 16, s.x[0], 16);
  for (unsigned k = 32; k < sizeof s.mem; ++k) s.mem[k] = uint8_t(0x41 + k);
  return s;
}

enum class Lanes { Single, Double };

// Every pair of values of the format under each MXCSR setting given, stopping at the first few
// failures; returns how many cases the host trapped in.
unsigned expect_pairs_like_host(const std::string& text, Lanes lanes, const uint32_t* csrs, size_t ncsrs) {
  const bool doubles = lanes == Lanes::Double;
  const size_t n = doubles ? kND : kNF;
  unsigned failures = 0, faults = 0;
  for (size_t c = 0; c < ncsrs; ++c)
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j)
        if (!expect_sse_like_host(text, state_of(doubles, i, j, csrs[c]), kArithFlags, &faults) && ++failures == 3)
          return faults;
  return faults;
}

template <size_t N>
unsigned expect_pairs_like_host(const std::string& text, Lanes lanes, const uint32_t (&csrs)[N]) {
  return expect_pairs_like_host(text, lanes, csrs, N);
}

// The text with its register source and with a memory source (`mem` names the operand size).
void expect_reg_and_mem_like_host(const std::string& mn, Lanes lanes, const char* mem) {
  expect_pairs_like_host(mn + " xmm0, xmm1", lanes, kMaskedCsrs);
  expect_pairs_like_host(mn + " xmm0, " + mem + " ptr [rsi]", lanes, kMaskedCsrs);
}

Lanes lanes_of(const std::string& mn) { return mn.back() == 'd' ? Lanes::Double : Lanes::Single; }
const char* mem_of(const std::string& mn) {
  return mn.size() > 2 && mn[mn.size() - 2] == 's' ? (mn.back() == 'd' ? "qword" : "dword") : "xmmword";
}

// ---- the cases -------------------------------------------------------------------------------

TEST(X64SseFp, ArithmeticLikeHost) {
  for (const char* op : {"add", "sub", "mul", "div", "min", "max", "sqrt"})
    for (const char* form : {"ss", "sd", "ps", "pd"}) {
      const std::string mn = std::string(op) + form;
      expect_reg_and_mem_like_host(mn, lanes_of(mn), mem_of(mn));
    }
}

// rcp/rsqrt are approximations: the host CPU's tables are the reference.
TEST(X64SseFp, ReciprocalApproximationsLikeHost) {
  for (const char* mn : {"rcpss", "rcpps", "rsqrtss", "rsqrtps"}) expect_reg_and_mem_like_host(mn, Lanes::Single, mem_of(mn));
}

TEST(X64SseFp, ComparesLikeHost) {
  for (const char* form : {"ss", "sd", "ps", "pd"}) {
    const std::string mn = std::string("cmp") + form;
    for (unsigned p = 0; p < 8; ++p) {
      expect_pairs_like_host(mn + " xmm0, xmm1, " + std::to_string(p), lanes_of(mn), kMaskedCsrs);
      expect_pairs_like_host(mn + " xmm0, " + mem_of(mn) + " ptr [rsi], " + std::to_string(p), lanes_of(mn),
                             kMaskedCsrs);
    }
    // imm8 bits 3..7 are ignored by the legacy encodings.
    expect_pairs_like_host(mn + " xmm0, xmm1, 0xf9", lanes_of(mn), kMaskedCsrs);
  }
}

// ZF PF CF from the compare, OF SF AF cleared (all flags start set).
TEST(X64SseFp, ScalarCompareFlagsLikeHost) {
  for (const char* mn : {"comiss", "ucomiss", "comisd", "ucomisd"}) {
    const std::string m = mn;
    expect_reg_and_mem_like_host(m, lanes_of(m), m.back() == 'd' ? "qword" : "dword");
  }
  // A compare feeding a branch in the same block, and one read by pushfq.
  expect_pairs_like_host("ucomisd xmm0, xmm1; mov eax, 0; setp al; seta ah; setb cl", Lanes::Double, kMaskedCsrs);
  expect_pairs_like_host("comiss xmm0, xmm1; jbe 1f; mov eax, 7; 1:", Lanes::Single, kMaskedCsrs);
}

TEST(X64SseFp, ConversionsToIntegerLikeHost) {
  for (const char* mn : {"cvtss2si", "cvttss2si", "cvtsd2si", "cvttsd2si"}) {
    const std::string m = mn;
    const Lanes lanes = m[4] == 'd' || m[5] == 'd' ? Lanes::Double : Lanes::Single;
    const char* mem = lanes == Lanes::Double ? "qword" : "dword";
    for (const char* reg : {"eax", "rax"}) {
      expect_pairs_like_host(m + " " + reg + ", xmm0", lanes, kMaskedCsrs);
      expect_pairs_like_host(m + " " + reg + ", " + mem + " ptr [rsi]", lanes, kMaskedCsrs);
    }
  }
}

TEST(X64SseFp, ConversionsFromIntegerLikeHost) {
  for (const char* mn : {"cvtsi2ss", "cvtsi2sd"}) {
    const std::string m = mn;
    const Lanes lanes = lanes_of(m);
    for (const char* src : {"eax", "rcx", "dword ptr [rsi + 32]", "qword ptr [rsi + 40]"})
      expect_pairs_like_host(m + " xmm0, " + src, lanes, kMaskedCsrs);
  }
  // The integers themselves (the area's bytes are not edge values): rax/rcx go through memory.
  expect_pairs_like_host("mov [rsi + 32], rax; cvtsi2ss xmm0, qword ptr [rsi + 32]; cvtsi2sd xmm1, dword ptr [rsi + 32]",
                         Lanes::Single, kMaskedCsrs);
}

TEST(X64SseFp, FormatConversionsLikeHost) {
  struct Conv {
    const char* mn;
    Lanes lanes;  // of the source
    const char* mem;
  };
  const Conv convs[] = {
      {"cvtss2sd", Lanes::Single, "dword"},  {"cvtsd2ss", Lanes::Double, "qword"},  {"cvtps2pd", Lanes::Single, "qword"},
      {"cvtpd2ps", Lanes::Double, "xmmword"}, {"cvtdq2ps", Lanes::Single, "xmmword"}, {"cvtps2dq", Lanes::Single, "xmmword"},
      {"cvttps2dq", Lanes::Single, "xmmword"}, {"cvtdq2pd", Lanes::Single, "qword"},  {"cvtpd2dq", Lanes::Double, "xmmword"},
      {"cvttpd2dq", Lanes::Double, "xmmword"},
  };
  for (const Conv& k : convs) expect_reg_and_mem_like_host(k.mn, k.lanes, k.mem);
}

TEST(X64SseFp, Sse3ArithmeticLikeHost) {
  for (const char* mn : {"addsubps", "addsubpd", "haddps", "haddpd", "hsubps", "hsubpd"}) {
    const std::string m = mn;
    expect_reg_and_mem_like_host(m, lanes_of(m), "xmmword");
    expect_pairs_like_host(m + " xmm1, xmm1", lanes_of(m), kMaskedCsrs);
  }
}

TEST(X64SseFp, Sse3MovesLikeHost) {
  const uint32_t csr[] = {0x1f80};
  for (const char* text : {"movddup xmm0, xmm1", "movddup xmm0, qword ptr [rsi + 8]", "movddup xmm2, qword ptr [rsi + 3]",
                           "movshdup xmm0, xmm1", "movshdup xmm3, xmmword ptr [rsi + 16]", "movsldup xmm0, xmm1",
                           "movsldup xmm2, xmmword ptr [rsi]", "lddqu xmm0, xmmword ptr [rsi + 5]",
                           "lddqu xmm1, xmmword ptr [rsi + 16]"})
    expect_pairs_like_host(text, Lanes::Single, csr);
}

TEST(X64SseFp, MxcsrLikeHost) {
  const uint32_t csr[] = {0x1f80, 0x7fa5, 0x9fc0};
  // stmxcsr, and ldmxcsr of values with every control bit pattern (the area holds xmm1's bits:
  // their low 16 bits load, bits 16..31 make some of them #GP).
  expect_pairs_like_host("stmxcsr dword ptr [rsi + 36]", Lanes::Single, csr);
  expect_pairs_like_host("mov dword ptr [rsi + 32], 0x7f3f; ldmxcsr dword ptr [rsi + 32]; addss xmm0, xmm1; stmxcsr dword ptr [rsi + 40]",
                         Lanes::Single, csr);
  expect_pairs_like_host("mov dword ptr [rsi + 32], eax; and dword ptr [rsi + 32], 0xffbf; ldmxcsr dword ptr [rsi + 32]",
                         Lanes::Single, csr);
}

// ldmxcsr with a reserved bit (16..31) set: #GP, SIGSEGV SI_KERNEL, MXCSR unchanged.
TEST(X64SseFp, LdmxcsrReservedBitFaultsLikeHost) {
  const uint32_t csr[] = {0x1f80};
  EXPECT_GT(expect_pairs_like_host("mov dword ptr [rsi + 32], 0x11f80; ldmxcsr dword ptr [rsi + 32]", Lanes::Single, csr),
            0u);
  EXPECT_GT(expect_pairs_like_host("mov dword ptr [rsi + 32], 0x80001f80; ldmxcsr dword ptr [rsi + 32]", Lanes::Single, csr),
            0u);
  X64Machine m;
  const uint32_t value = 0x00011f80;
  m.mem.debug_write(kData, &value, 4);
  m.r(RSI) = kData;
  m.st().mxcsr = 0x3f80;
  Stop s = m.run("ldmxcsr dword ptr [rsi]");
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.signo, SIGSEGV);
  EXPECT_EQ(s.code, 0x80) << "SI_KERNEL";
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(m.st().mxcsr, 0x3f80u);
}

// With exceptions unmasked: where the host takes #XM, vmkit stops with the same SIGFPE si_code,
// the destination unchanged and the same flags in MXCSR; elsewhere the results match.
TEST(X64SseFp, UnmaskedExceptionsTrapLikeHost) {
  unsigned faults = 0;
  for (const char* text : {"addss xmm0, xmm1", "subpd xmm0, xmm1", "mulps xmm0, xmm1", "mulsd xmm0, qword ptr [rsi]",
                           "divss xmm0, xmm1", "divpd xmm0, xmmword ptr [rsi]", "sqrtps xmm0, xmm1", "minsd xmm0, xmm1",
                           "maxps xmm0, xmm1", "cmpltss xmm0, xmm1", "cmpeqpd xmm0, xmm1", "comiss xmm0, xmm1",
                           "ucomisd xmm0, xmm1", "cvtsd2ss xmm0, xmm1", "cvtpd2ps xmm0, xmm1", "cvtss2sd xmm0, xmm1",
                           "cvtps2dq xmm0, xmm1", "cvttsd2si eax, xmm0", "cvtss2si rax, xmm1", "cvtsi2ss xmm0, rax",
                           "cvtsi2sd xmm1, ecx", "haddps xmm0, xmm1", "addsubpd xmm0, xmm1", "rcpps xmm0, xmm1",
                           "movaps xmm3, xmm0; addps xmm0, xmm1; movaps xmm2, xmm0"}) {
    const Lanes lanes = std::string(text).find("sd") != std::string::npos || std::string(text).find("pd ") != std::string::npos
                            ? Lanes::Double
                            : Lanes::Single;
    faults += expect_pairs_like_host(text, lanes, kUnmaskedCsrs);
  }
  EXPECT_GT(faults, 1000u) << "the cases must include many #XM";
}

// A packed m128 operand must be 16-byte aligned: #GP (SIGSEGV SI_KERNEL) at the instruction, with
// nothing written; the scalar forms, movddup and lddqu accept any address.
TEST(X64SseFp, MisalignedPackedOperandFaultsLikeHost) {
  const uint32_t csr[] = {0x1f80};
  for (const char* text : {"addps xmm0, xmmword ptr [rsi + 8]", "sqrtpd xmm0, xmmword ptr [rsi + 4]",
                           "cmppd xmm0, xmmword ptr [rsi + 1], 2", "cvtps2dq xmm0, xmmword ptr [rsi + 8]",
                           "cvtpd2ps xmm0, xmmword ptr [rsi + 8]", "haddpd xmm0, xmmword ptr [rsi + 8]",
                           "movshdup xmm0, xmmword ptr [rsi + 8]", "rcpps xmm0, xmmword ptr [rsi + 12]"})
    EXPECT_GT(expect_pairs_like_host(text, Lanes::Single, csr), 0u) << text;
  for (const char* text : {"addss xmm0, dword ptr [rsi + 3]", "divsd xmm0, qword ptr [rsi + 5]",
                           "cvtps2pd xmm0, qword ptr [rsi + 4]", "comisd xmm0, qword ptr [rsi + 1]",
                           "cvtsd2si rax, qword ptr [rsi + 9]"})
    EXPECT_EQ(expect_pairs_like_host(text, Lanes::Double, csr), 0u) << text;
}

// ---- vmkit alone: the bare machine's view, and the forms that are not these instructions --------

// An #XM as the machine reports it: a trap stop with SIGFPE/FPE_FLTDIV at the division, xmm0
// unchanged, ZE set in MXCSR, and what ran before it done.
TEST(X64SseFp, DivideByZeroUnmaskedStopsAtTheInstruction) {
  X64Machine m;
  m.st().mxcsr = 0x1f80 & ~0x200u;  // ZE unmasked
  m.st().xmm[0][0] = 0x3f800000;    // 1.0f
  m.st().xmm[0][1] = 0x1234;
  m.st().xmm[1][0] = 0;
  const std::vector<uint8_t> before = X64Machine::assemble("mov r8d, 9");
  Stop s = m.run("mov r8d, 9; divss xmm0, xmm1");
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.signo, SIGFPE);
  EXPECT_EQ(s.code, FPE_FLTDIV);
  EXPECT_EQ(s.pc, kCode + before.size());
  EXPECT_EQ(m.st().xmm[0][0], 0x3f800000u) << "the destination is unchanged";
  EXPECT_EQ(m.st().xmm[0][1], 0x1234u);
  EXPECT_EQ(m.st().mxcsr, (0x1f80 & ~0x200u) | 0x4) << "ZE is set";
  EXPECT_EQ(m.r(R8), 9u);
  // Masked, the same division gives +inf and sets ZE.
  m.st().mxcsr = 0x1f80;
  m.exec("divss xmm0, xmm1");
  EXPECT_EQ(m.st().xmm[0][0], 0x7f800000u);
  EXPECT_EQ(m.st().mxcsr, 0x1f84u);
}

// cmpsd is also the string compare: each form goes to its own lifter.
TEST(X64SseFp, CmpsdStringAndSseFormsBothLift) {
  X64Machine m;
  const uint64_t words[2] = {5, 5};
  m.mem.debug_write(kData, words, sizeof words);
  m.r(RSI) = kData;
  m.r(RDI) = kData + 8;
  m.st().xmm[0][0] = 0x3ff0000000000000ull;
  m.st().xmm[1][0] = 0x3ff0000000000000ull;
  m.exec("cmpsd; cmpeqsd xmm0, xmm1");
  EXPECT_EQ(m.r(RSI), kData + 4);
  EXPECT_EQ(m.r(RDI), kData + 12);
  EXPECT_EQ(m.flags() & kZF, kZF) << "dwords equal";
  EXPECT_EQ(m.st().xmm[0][0], ~0ull);
}

// The VEX (AVX) forms are not these instructions: an illegal-instruction stop.
TEST(X64SseFp, VexFormsAreDeclined) {
  for (const char* text : {"vaddss xmm0, xmm1, xmm2", "vcvtsi2sd xmm0, xmm1, rax", "vcomiss xmm0, xmm1",
                           "vldmxcsr dword ptr [rsi]", "vmovddup xmm0, xmm1", "vhaddps xmm0, xmm1, xmm2"}) {
    X64Machine m;
    m.r(RSI) = kData;
    Stop s = m.run(text);
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << text;
    EXPECT_EQ(s.pc, kCode) << text;
  }
}

}  // namespace
}  // namespace vmkit::x64::test
