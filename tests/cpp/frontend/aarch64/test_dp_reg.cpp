// Data processing (register): logical and add/sub with shifted or extended registers, add/sub
// with carry, conditional compare and select, and the 1-, 2- and 3-source groups: flags at the
// overflow edges, 32-bit forms, register 31 as zero vs sp, and the reserved encodings. Tricky
// expectations (flags, carry chains, ccmp, cls, division edges) were cross-checked on unicorn.
#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kMax64 = 0x7fffffffffffffffull;

// ---- logical (shifted register) ---------------------------------------------------------------

TEST(A64DpReg, LogicalShiftedRegister) {
  A64Machine m;
  m.x(1) = 0xff00ff00f0f0f0f0ull;
  m.x(2) = 0x8000000000000001ull;
  m.exec("and x0, x1, x2, asr #4; bic x3, x1, x2, lsl #63; orr x4, x1, x2, ror #1; orn x5, xzr, x2;"
         "eor x6, x1, x2, lsr #63; eon x7, x1, x2; mvn w8, w1; orr w9, w1, w2, ror #1; mov x10, x2;"
         "mov w11, w1; and w12, w1, w2, asr #31");
  EXPECT_EQ(m.x(0), 0xff00ff00f0f0f0f0ull & 0xf800000000000000ull);
  EXPECT_EQ(m.x(3), 0x7f00ff00f0f0f0f0ull);
  EXPECT_EQ(m.x(4), 0xff00ff00f0f0f0f0ull | 0xc000000000000000ull);
  EXPECT_EQ(m.x(5), 0x7ffffffffffffffeull);
  EXPECT_EQ(m.x(6), 0xff00ff00f0f0f0f1ull);
  EXPECT_EQ(m.x(7), ~(0xff00ff00f0f0f0f0ull ^ 0x8000000000000001ull));
  EXPECT_EQ(m.x(8), 0x0f0f0f0fu);
  EXPECT_EQ(m.x(9), 0xf0f0f0f0u | 0x80000000u);
  EXPECT_EQ(m.x(10), 0x8000000000000001ull);
  EXPECT_EQ(m.x(11), 0xf0f0f0f0u);
  EXPECT_EQ(m.x(12), 0u);  // w2 = 1: asr #31 is 0
}

TEST(A64DpReg, AndsBicsTstFlags) {
  A64Machine m;
  m.x(1) = 0x8000000000000000ull;
  m.x(2) = 0x00000000ffffffffull;
  m.set_nzcv(C | V);  // logical flag setters clear C and V
  m.exec("tst x1, x1; mrs x10, nzcv; ands w3, w1, w2; mrs x11, nzcv; bics x4, x2, x1; mrs x12, nzcv;"
         "bics w5, w2, w2, lsl #1; mrs x13, nzcv");
  EXPECT_EQ(m.x(10), uint64_t(N));
  EXPECT_EQ(m.x(3), 0u);
  EXPECT_EQ(m.x(11), uint64_t(Z));
  EXPECT_EQ(m.x(4), 0xffffffffu);
  EXPECT_EQ(m.x(12), 0u);
  EXPECT_EQ(m.x(5), 1u);
  EXPECT_EQ(m.x(13), 0u);
}

TEST(A64DpReg, LogicalShiftedReservedEncodings) {
  expect_illegal(0x0a008000);  // and w0, w0, w0, lsl #32
  expect_illegal(0x2a20fc00);  // orn w0, w0, w0, lsl #63
}

// ---- add/sub (shifted register) ---------------------------------------------------------------

TEST(A64DpReg, AddSubShiftedRegister) {
  A64Machine m;
  m.x(1) = 100;
  m.x(2) = 0x80000001;
  m.exec("add x0, x1, x2, lsl #63; sub w3, w1, w2, asr #31; add x4, x1, x2, lsr #1; neg x5, x2; neg w6, w2;"
         "sub x7, x1, xzr; add w8, w1, w2, lsl #31");
  EXPECT_EQ(m.x(0), 100u + kMin64);
  EXPECT_EQ(m.x(3), 101u);  // w2 asr #31 = -1
  EXPECT_EQ(m.x(4), 100u + 0x40000000u);
  EXPECT_EQ(m.x(5), uint64_t(-int64_t(0x80000001)));
  EXPECT_EQ(m.x(6), 0x7fffffffu);
  EXPECT_EQ(m.x(7), 100u);
  EXPECT_EQ(m.x(8), 100u + 0x80000000u);
}

// Flags of adds/subs (register) at the signed and unsigned overflow edges, both widths.
TEST(A64DpReg, AddsSubsFlagsAtOverflowEdges) {
  struct Case {
    const char* insn;
    uint64_t a, b, result;
    uint32_t nzcv;
  };
  const Case cases[] = {
      {"adds x0, x1, x2", kMax64, 1, kMin64, N | V},
      {"adds x0, x1, x2", ~0ull, 1, 0, Z | C},
      {"adds x0, x1, x2", kMin64, kMin64, 0, Z | C | V},
      {"adds x0, x1, x2", ~0ull, ~0ull, ~1ull, N | C},
      {"subs x0, x1, x2", kMin64, 1, kMax64, C | V},
      {"subs x0, x1, x2", 0, 1, ~0ull, N},
      {"subs x0, x1, x2", 5, 5, 0, Z | C},
      {"subs x0, x1, x2", kMax64, ~0ull, kMin64, N | V},
      {"cmp x1, x2", 1, 2, 0, N},
      {"cmn x1, x2", kMax64, kMax64, 0, N | V},
      {"adds w0, w1, w2", 0x7fffffff, 1, 0x80000000, N | V},
      {"adds w0, w1, w2", 0xffffffff, 1, 0, Z | C},
      {"adds w0, w1, w2", 0x80000000, 0x80000000, 0, Z | C | V},
      {"subs w0, w1, w2", 0x80000000, 1, 0x7fffffff, C | V},
      {"subs w0, w1, w2", 0, 1, 0xffffffff, N},
      {"subs w0, w1, w2", 0x7fffffff, 0xffffffff, 0x80000000, N | V},
      // The 32-bit forms look at the low words only.
      {"subs w0, w1, w2", 0x100000000ull, 0x200000000ull, 0, Z | C},
      {"cmn w1, w2", 0xffffffff00000001ull, 0x7fffffff, 0, N | V},
      // negs: subs from xzr
      {"negs x0, x2", 0, kMin64, kMin64, N | V},
      {"negs w0, w2", 0, 0x100000000ull, 0, Z | C},
      {"negs x0, x2", 0, 1, ~0ull, N},
  };
  for (const Case& k : cases) {
    A64Machine m;
    m.x(0) = 0xdead;
    m.x(1) = k.a;
    m.x(2) = k.b;
    m.exec(std::string(k.insn) + "; mrs x3, nzcv");
    const bool writes = k.insn[0] != 'c';
    EXPECT_EQ(m.x(0), writes ? k.result : 0xdeadu) << k.insn << " " << std::hex << k.a << ", " << k.b;
    EXPECT_EQ(m.x(3), uint64_t(k.nzcv)) << k.insn << " " << std::hex << k.a << ", " << k.b;
    EXPECT_EQ(m.nzcv(), k.nzcv) << k.insn;
  }
}

TEST(A64DpReg, AddSubShiftedReservedEncodings) {
  expect_illegal(0x8bc00000);  // add x0, x0, x0, ror #0
  expect_illegal(0x0b008000);  // add w0, w0, w0, lsl #32
}

// ---- add/sub (extended register) --------------------------------------------------------------

TEST(A64DpReg, AddSubExtendedRegisterAndSp) {
  A64Machine m;
  m.sp() = 0x10000;
  m.x(1) = 0xffffffff00000010ull;
  m.x(4) = 0x80;  // sxtb: -128
  m.x(7) = 0x8001;
  m.x(9) = 5;
  m.exec("add x0, sp, x9; add x2, sp, w1, uxtw #2; sub x3, x9, w4, sxtb; add x5, x9, w7, sxth #4;"
         "add x6, x9, w1, sxtw; sub x8, sp, x9, lsl #4; add x10, x9, w4, uxtb #1; add w11, w9, w7, sxth;"
         "add sp, sp, w9, uxtw #3");
  EXPECT_EQ(m.x(0), 0x10005u);
  EXPECT_EQ(m.x(2), 0x10040u);
  EXPECT_EQ(m.x(3), 5u + 128);
  EXPECT_EQ(m.x(5), uint64_t(5 - 0x7fff * 16));
  EXPECT_EQ(m.x(6), 0x15u);
  EXPECT_EQ(m.x(8), 0x10000u - 0x50);
  EXPECT_EQ(m.x(10), 5u + 0x100);
  EXPECT_EQ(m.x(11), uint32_t(5 - 0x7fff));  // 32-bit, zero-extended
  EXPECT_EQ(m.sp(), 0x10028u);
}

TEST(A64DpReg, FlagSettingExtendedFormsReadSpAndWriteXzr) {
  A64Machine m;
  m.sp() = 0x1000;
  m.x(1) = 0x1000;
  m.x(2) = 0xffffffffffffffffull;
  m.exec("cmp sp, x1; mrs x10, nzcv; cmn sp, w2, sxtw; mrs x11, nzcv; adds x3, sp, w2, uxtb; mrs x12, nzcv;"
         "subs w4, wsp, w2, uxth; mrs x13, nzcv");
  EXPECT_EQ(m.x(10), uint64_t(Z | C));
  EXPECT_EQ(m.x(11), uint64_t(C));  // 0x1000 + -1
  EXPECT_EQ(m.x(3), 0x10ffu);
  EXPECT_EQ(m.x(12), 0u);
  EXPECT_EQ(m.x(4), 0xffff1001u);  // 0x1000 - 0xffff
  EXPECT_EQ(m.x(13), uint64_t(N));
  EXPECT_EQ(m.sp(), 0x1000u);
}

TEST(A64DpReg, AddSubExtendedReservedEncodings) {
  expect_illegal(0x8b201400);  // add x0, x0, w0, uxtb #5
  expect_illegal(0x8b600000);  // opt=01
}

// ---- add/sub with carry -----------------------------------------------------------------------

TEST(A64DpReg, AdcsSbcsCarryChains128) {
  A64Machine m;
  // (x3:x2) + (x5:x4) = 0x1_ffffffffffffffff + 0x0_0000000000000001
  m.x(2) = ~0ull;
  m.x(3) = 1;
  m.x(4) = 1;
  m.x(5) = 0;
  m.exec("adds x0, x2, x4; adcs x1, x3, x5; mrs x10, nzcv; subs x6, x4, x2; sbcs x7, x5, x3; mrs x11, nzcv;"
         "subs x8, x2, x4; sbcs x9, x3, x5; mrs x12, nzcv");
  EXPECT_EQ(m.x(0), 0u);
  EXPECT_EQ(m.x(1), 2u);
  EXPECT_EQ(m.x(10), 0u);
  // 1 - 0x1_ffffffffffffffff = -0x1_fffffffffffffffe
  EXPECT_EQ(m.x(6), 2u);
  EXPECT_EQ(m.x(7), ~1ull);
  EXPECT_EQ(m.x(11), uint64_t(N));  // a borrow out: C clear
  EXPECT_EQ(m.x(8), ~1ull);
  EXPECT_EQ(m.x(9), 1u);
  EXPECT_EQ(m.x(12), uint64_t(C));
}

TEST(A64DpReg, AdcSbcFlagEdgesWithCarryIn) {
  struct Case {
    const char* insn;
    uint64_t a, b;
    uint32_t carry_in;
    uint64_t result;
    uint32_t nzcv;
  };
  const Case cases[] = {
      {"adcs x0, x1, x2", 5, ~0ull, C, 5, C},                    // r == a with a carry in: carry out
      {"adcs x0, x1, x2", 5, ~0ull, 0, 4, C},
      {"adcs x0, x1, x2", kMax64, 0, C, kMin64, N | V},          // overflow from the carry alone
      {"adcs x0, x1, x2", ~0ull, 0, C, 0, Z | C},
      {"adcs x0, x1, x2", 0, 0, 0, 0, Z},
      {"sbcs x0, x1, x2", 7, 7, 0, ~0ull, N},                    // 7 - 7 - 1
      {"sbcs x0, x1, x2", 7, 7, C, 0, Z | C},
      {"sbcs x0, x1, x2", kMin64, 0, 0, kMax64, C | V},
      {"sbcs x0, x1, x2", 0, ~0ull, 0, 0, Z},
      {"adcs w0, w1, w2", 0x7fffffff, 0, C, 0x80000000, N | V},
      {"adcs w0, w1, w2", 0xffffffff, 0xffffffff, C, 0xffffffff, N | C},
      {"sbcs w0, w1, w2", 0x80000000, 0, 0, 0x7fffffff, C | V},
      {"sbcs w0, w1, w2", 0x100000000ull, 0, 0, 0xffffffff, N},  // low words only
      {"adc x0, x1, x2", 1, 2, C, 4, C},                         // adc leaves the flags
      {"sbc w0, w1, w2", 1, 2, 0, 0xfffffffe, 0},
      {"ngcs x0, x2", 0, 0, 0, ~0ull, N},                        // sbcs x0, xzr, x2
  };
  for (const Case& k : cases) {
    A64Machine m;
    m.x(1) = k.a;
    m.x(2) = k.b;
    m.set_nzcv(k.carry_in);
    m.exec(k.insn);
    EXPECT_EQ(m.x(0), k.result) << k.insn << " " << std::hex << k.a << ", " << k.b << " c=" << k.carry_in;
    EXPECT_EQ(m.nzcv(), k.nzcv) << k.insn << " " << std::hex << k.a << ", " << k.b << " c=" << k.carry_in;
  }
}

// The carry comes from a flag setter of the same block (the lazily kept form), then feeds adcs.
TEST(A64DpReg, AdcReadsCarryOfTheBlocksCompare) {
  A64Machine m;
  m.x(1) = 3;
  m.x(2) = 5;
  m.exec("cmp x1, x2; adc x3, xzr, xzr; cmp x2, x1; adc x4, xzr, xzr; cmn w2, #1; adc w5, w1, w2");
  EXPECT_EQ(m.x(3), 0u);
  EXPECT_EQ(m.x(4), 1u);
  EXPECT_EQ(m.x(5), 8u);
}

// ---- conditional compare ----------------------------------------------------------------------

TEST(A64DpReg, CcmpTrueAndFalsePaths) {
  A64Machine m;
  m.x(1) = 1;
  m.x(2) = 2;
  m.exec("cmp x1, #1; ccmp x2, #2, #0, eq; mrs x10, nzcv; cset x11, eq;"   // taken: flags of 2 - 2
         "cmp x1, #0; ccmp x2, #2, #0b1010, eq; mrs x12, nzcv; cset x13, eq;"  // not taken: N C
         "cmp x1, #1; ccmp x1, x2, #4, ne; mrs x14, nzcv;"                // not taken: Z
         "cmp x1, #1; ccmn x2, #3, #0, eq; mrs x15, nzcv;"                // taken: 2 + 3
         "cmp x1, #1; ccmp w1, w2, #0, eq; mrs x16, nzcv; cset w17, lt");  // taken: 1 - 2
  EXPECT_EQ(m.x(10), uint64_t(Z | C));
  EXPECT_EQ(m.x(11), 1u);
  EXPECT_EQ(m.x(12), uint64_t(N | C));
  EXPECT_EQ(m.x(13), 0u);
  EXPECT_EQ(m.x(14), uint64_t(Z));
  EXPECT_EQ(m.x(15), 0u);
  EXPECT_EQ(m.x(16), uint64_t(N));
  EXPECT_EQ(m.x(17), 1u);
}

TEST(A64DpReg, CcmpFlagEdges) {
  A64Machine m;
  m.x(1) = kMin64;
  m.x(2) = 0x80000000;
  m.exec("cmp xzr, xzr; ccmp x1, #1, #0, eq; mrs x10, nzcv; cmp xzr, xzr; ccmn x1, x1, #0, eq; mrs x11, nzcv;"
         "cmp xzr, xzr; ccmp w2, #1, #0, eq; mrs x12, nzcv; cmp xzr, xzr; ccmn w2, w2, #0, hs; mrs x13, nzcv");
  EXPECT_EQ(m.x(10), uint64_t(C | V));
  EXPECT_EQ(m.x(11), uint64_t(Z | C | V));
  EXPECT_EQ(m.x(12), uint64_t(C | V));
  EXPECT_EQ(m.x(13), uint64_t(Z | C | V));
}

// `a == 1 && b == 2 && c == 3` and `a == 9 || b == 9 || c == 9` as compilers write them: two
// ccmp, then b.cond or cset.
TEST(A64DpReg, CcmpChainsThenBranchAndCset) {
  for (unsigned fail = 0; fail < 4; ++fail) {
    A64Machine m;
    m.x(0) = fail == 1 ? 9 : 1;
    m.x(1) = fail == 2 ? 9 : 2;
    m.x(2) = fail == 3 ? 9 : 3;
    m.exec("cmp x0, #1; ccmp x1, #2, #0, eq; ccmp x2, #3, #0, eq; cset x5, eq; b.ne 1f; mov x6, #1; 1: nop;"
           "cmp x0, #9; ccmp x1, #9, #4, ne; ccmp x2, #9, #4, ne; cset x7, eq");
    EXPECT_EQ(m.x(5), fail == 0 ? 1u : 0u) << fail;
    EXPECT_EQ(m.x(6), fail == 0 ? 1u : 0u) << fail;
    // a == 9 || b == 9 || c == 9: a taken compare ends the chain with Z set
    EXPECT_EQ(m.x(7), fail == 0 ? 0u : 1u) << fail;
  }
}

// A ccmp whose condition reads flags set before the block (the state's lazy form).
TEST(A64DpReg, CcmpOfFlagsFromAnEarlierBlock) {
  for (uint32_t flags : {0u, Z}) {
    A64Machine m;
    m.x(1) = 3;
    m.set_nzcv(flags | C);
    m.exec("ccmp x1, #4, #0b0010, eq; cset x2, lo; mrs x3, nzcv");
    EXPECT_EQ(m.x(2), flags ? 1u : 0u) << flags;  // 3 < 4 when compared, else C from the immediate
    EXPECT_EQ(m.x(3), flags ? uint64_t(N) : uint64_t(C)) << flags;
  }
}

TEST(A64DpReg, CcmpReservedEncodings) {
  expect_illegal(0xfa400400);  // ccmp with o2=1
  expect_illegal(0xfa400010);  // ccmp with o3=1
  expect_illegal(0xba400000 & ~(1u << 29));  // S=0
}

// ---- conditional select -----------------------------------------------------------------------

TEST(A64DpReg, CselFamilyAndAliases) {
  A64Machine m;
  m.x(1) = 10;
  m.x(2) = 20;
  m.x(3) = 0xffffffff00000005ull;
  m.exec("cmp x1, x2; csel x0, x1, x2, lt; csel x4, x1, x2, ge; csinc x5, x1, x2, eq; csinv x6, x1, x2, eq;"
         "csneg x7, x1, x2, eq; cset x8, lt; csetm x9, lt; cinc x10, x1, lt; cinv x11, x1, lt; cneg x12, x1, lt;"
         "csetm w13, lt; cneg w14, w3, lt; csel w15, w3, w2, ne; cset w16, ge; cinc x17, x1, ge");
  EXPECT_EQ(m.x(0), 10u);
  EXPECT_EQ(m.x(4), 20u);
  EXPECT_EQ(m.x(5), 21u);
  EXPECT_EQ(m.x(6), ~20ull);
  EXPECT_EQ(m.x(7), uint64_t(-20));
  EXPECT_EQ(m.x(8), 1u);
  EXPECT_EQ(m.x(9), ~0ull);
  EXPECT_EQ(m.x(10), 11u);
  EXPECT_EQ(m.x(11), ~10ull);
  EXPECT_EQ(m.x(12), uint64_t(-10));
  EXPECT_EQ(m.x(13), 0xffffffffu);
  EXPECT_EQ(m.x(14), 0xfffffffbu);
  EXPECT_EQ(m.x(15), 5u);
  EXPECT_EQ(m.x(16), 0u);
  EXPECT_EQ(m.x(17), 10u);
}

TEST(A64DpReg, CselWithAlwaysAndCsincWrap) {
  A64Machine m;
  m.x(1) = 1;
  m.x(2) = ~0ull;
  m.set_nzcv(0);
  m.exec_words({0x9a82e020,    // csel x0, x1, x2, al
                0x9a82f023,    // csel x3, x1, x2, nv (also always)
                0x9a820424});  // csinc x4, x1, x2, eq (not taken: x2 + 1 wraps)
  EXPECT_EQ(m.x(0), 1u);
  EXPECT_EQ(m.x(3), 1u);
  EXPECT_EQ(m.x(4), 0u);
}

TEST(A64DpReg, CselReservedEncodings) {
  expect_illegal(0x9a800800);  // op2=10
  expect_illegal(0xba800000);  // S=1
}

// ---- data processing (1 source) ---------------------------------------------------------------

TEST(A64DpReg, RbitRevClzClsOnZeroAndAllOnes) {
  for (uint64_t v : {0ull, ~0ull}) {
    A64Machine m;
    m.x(1) = v;
    m.exec("rbit x0, x1; rev x2, x1; rev16 x3, x1; rev32 x4, x1; clz x5, x1; cls x6, x1;"
           "rbit w7, w1; rev w8, w1; rev16 w9, w1; clz w10, w1; cls w11, w1");
    EXPECT_EQ(m.x(0), v);
    EXPECT_EQ(m.x(2), v);
    EXPECT_EQ(m.x(3), v);
    EXPECT_EQ(m.x(4), v);
    EXPECT_EQ(m.x(5), v ? 0u : 64u);
    EXPECT_EQ(m.x(6), 63u);
    EXPECT_EQ(m.x(7), v & 0xffffffff);
    EXPECT_EQ(m.x(8), v & 0xffffffff);
    EXPECT_EQ(m.x(9), v & 0xffffffff);
    EXPECT_EQ(m.x(10), v ? 0u : 32u);
    EXPECT_EQ(m.x(11), 31u);
  }
}

TEST(A64DpReg, RbitRevClzClsPatterns) {
  A64Machine m;
  m.x(1) = 0x0123456789abcdefull;
  m.x(2) = 0x00000000ffff0001ull;
  m.x(3) = 0xfff0000000000000ull;
  m.exec("rbit x0, x1; rev x4, x1; rev16 x5, x1; rev32 x6, x1; rbit w7, w1; rev w8, w1; rev16 w9, w1;"
         "clz x10, x2; clz w11, w2; cls x12, x3; cls w13, w2; cls x14, x2; clz x15, x3; cls w16, w3");
  EXPECT_EQ(m.x(0), 0xf7b3d591e6a2c480ull);
  EXPECT_EQ(m.x(4), 0xefcdab8967452301ull);
  EXPECT_EQ(m.x(5), 0x23016745ab89efcdull);
  EXPECT_EQ(m.x(6), 0x67452301efcdab89ull);
  EXPECT_EQ(m.x(7), 0xf7b3d591u);
  EXPECT_EQ(m.x(8), 0xefcdab89u);
  EXPECT_EQ(m.x(9), 0xab89efcdu);
  EXPECT_EQ(m.x(10), 32u);
  EXPECT_EQ(m.x(11), 0u);
  EXPECT_EQ(m.x(12), 11u);
  EXPECT_EQ(m.x(13), 15u);
  EXPECT_EQ(m.x(14), 31u);
  EXPECT_EQ(m.x(15), 0u);
  EXPECT_EQ(m.x(16), 31u);  // w3 = 0
}

TEST(A64DpReg, OneSourceReservedEncodings) {
  expect_illegal(0x5ac00c00);  // rev w0 with opc=11
  expect_illegal(0xdac01800);  // opcode 6 (FEAT_CSSC ctz): not provided
}

// ---- data processing (2 source) ---------------------------------------------------------------

TEST(A64DpReg, DivisionEdgeCases) {
  A64Machine m;
  m.x(1) = kMin64;
  m.x(2) = ~0ull;  // -1
  m.x(3) = 7;
  m.x(4) = uint64_t(-7);
  m.x(5) = 2;
  m.exec("sdiv x0, x1, x2; sdiv x6, x3, xzr; udiv x7, x3, xzr; sdiv x8, x4, x5; udiv x9, x2, x5;"
         "sdiv w10, w11, w2; sdiv w12, w4, w5; udiv w13, w2, w5; sdiv w14, w3, wzr; udiv w15, w2, wzr;"
         "sdiv x16, x3, x4; udiv x17, x3, x3");
  EXPECT_EQ(m.x(0), kMin64);  // INT64_MIN / -1
  EXPECT_EQ(m.x(6), 0u);      // division by zero gives 0
  EXPECT_EQ(m.x(7), 0u);
  EXPECT_EQ(m.x(8), uint64_t(-3));  // rounds toward zero
  EXPECT_EQ(m.x(9), kMax64);
  EXPECT_EQ(m.x(10), 0u);  // w11 = 0
  EXPECT_EQ(m.x(12), 0xfffffffdu);
  EXPECT_EQ(m.x(13), 0x7fffffffu);
  EXPECT_EQ(m.x(14), 0u);
  EXPECT_EQ(m.x(15), 0u);
  EXPECT_EQ(m.x(16), ~0ull);
  EXPECT_EQ(m.x(17), 1u);
}

TEST(A64DpReg, Int32MinDividedByMinusOne) {
  A64Machine m;
  m.x(1) = 0xffffffff80000000ull;
  m.x(2) = 0xffffffff;
  m.exec("sdiv w0, w1, w2; udiv w3, w1, w2");
  EXPECT_EQ(m.x(0), 0x80000000u);
  EXPECT_EQ(m.x(3), 0u);
}

TEST(A64DpReg, VariableShiftsTakeTheAmountModuloTheWidth) {
  A64Machine m;
  m.x(1) = 0x8000000000000011ull;
  m.x(2) = 65;  // 1 modulo 64 and 32
  m.x(3) = 63;
  m.x(4) = 32;  // 0 modulo 32
  m.exec("lsl x0, x1, x2; lsr x5, x1, x2; asr x6, x1, x3; ror x7, x1, x2; lsl w8, w1, w2; lsr w9, w1, w4;"
         "asr w10, w1, w3; ror w11, w1, w2; lslv x12, x1, xzr; rorv w13, w1, w3");
  EXPECT_EQ(m.x(0), 0x22u);
  EXPECT_EQ(m.x(5), 0x4000000000000008ull);
  EXPECT_EQ(m.x(6), ~0ull);
  EXPECT_EQ(m.x(7), 0xc000000000000008ull);
  EXPECT_EQ(m.x(8), 0x22u);
  EXPECT_EQ(m.x(9), 0x11u);
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_EQ(m.x(11), 0x80000008u);
  EXPECT_EQ(m.x(12), 0x8000000000000011ull);
  EXPECT_EQ(m.x(13), 0x22u);
}

TEST(A64DpReg, TwoSourceReservedEncodings) {
  expect_illegal(0x1ac04000);  // crc32b: left out (no HWCAP_CRC32)
  expect_illegal(0x3ac00800);  // udiv with S=1
  expect_illegal(0x9ac00000);  // opcode 0 (FEAT_MTE irg)
}

// ---- data processing (3 source) ---------------------------------------------------------------

TEST(A64DpReg, MultiplyAddAndLongMultiplies) {
  A64Machine m;
  m.x(1) = 0xffffffff;       // w1 = -1 signed, 2^32-1 unsigned
  m.x(2) = 0x80000000;       // w2 = INT32_MIN
  m.x(3) = 1000;
  m.x(4) = 0x123456789ull;
  m.exec("madd x0, x4, x4, x3; msub x5, x4, x3, x3; mul w6, w1, w1; mneg x7, x3, x3; smaddl x8, w1, w2, x3;"
         "umaddl x9, w1, w2, x3; smsubl x10, w1, w1, x3; umsubl x11, w1, w1, xzr; smull x12, w2, w2;"
         "umull x13, w1, w1; madd w14, w1, w1, w3; mul x15, x4, xzr");
  EXPECT_EQ(m.x(0), 0x123456789ull * 0x123456789ull + 1000);
  EXPECT_EQ(m.x(5), 1000 - 0x123456789ull * 1000);
  EXPECT_EQ(m.x(6), 1u);
  EXPECT_EQ(m.x(7), uint64_t(-1000000));
  EXPECT_EQ(m.x(8), 1000u + 0x80000000u);
  EXPECT_EQ(m.x(9), 1000u + 0xffffffffull * 0x80000000ull);
  EXPECT_EQ(m.x(10), 999u);
  EXPECT_EQ(m.x(11), uint64_t(0) - 0xffffffffull * 0xffffffffull);
  EXPECT_EQ(m.x(12), 0x4000000000000000ull);
  EXPECT_EQ(m.x(13), 0xfffffffe00000001ull);
  EXPECT_EQ(m.x(14), 1001u);
  EXPECT_EQ(m.x(15), 0u);
}

TEST(A64DpReg, MultiplyHigh) {
  A64Machine m;
  m.x(1) = ~0ull;
  m.x(2) = kMin64;
  m.x(3) = 3;
  m.exec("smulh x0, x1, x1; umulh x4, x1, x1; smulh x5, x2, x2; umulh x6, x2, x3; smulh x7, x2, x3;"
         "umulh x8, x1, x3");
  EXPECT_EQ(m.x(0), 0u);
  EXPECT_EQ(m.x(4), ~1ull);
  EXPECT_EQ(m.x(5), 0x4000000000000000ull);
  EXPECT_EQ(m.x(6), 1u);
  EXPECT_EQ(m.x(7), ~1ull);  // -3 * 2^63: high half -2 (with 2^63 low)
  EXPECT_EQ(m.x(8), 2u);
}

TEST(A64DpReg, ThreeSourceReservedEncodings) {
  expect_illegal(0x1b200000);  // smaddl with sf=0
  expect_illegal(0x9b408000);  // smulh with o0=1
  expect_illegal(0x9b600000);  // op31=011
  expect_illegal(0xbb000000);  // op54=01
}

}  // namespace
}  // namespace vmkit::a64::test
