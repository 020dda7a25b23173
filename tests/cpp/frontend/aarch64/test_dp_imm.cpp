// Data processing (immediate): add/sub, logical, move wide, adr/adrp, bitfield and extract, with
// their aliases, the register-31 rules, 32-bit zero extension and the reserved encodings. Tricky
// expectations (flags at overflow, bitfield aliases, logical immediates) were cross-checked on
// unicorn.
#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

// ---- add/sub (immediate) ----------------------------------------------------------------------

TEST(A64DpImm, AddSubImmediateAndShiftedImmediate) {
  A64Machine m;
  m.x(1) = 0x1000;
  m.x(5) = 0xffffffff00000000ull;  // w5 = 0
  m.exec("add x0, x1, #0xfff; add x2, x1, #1, lsl #12; sub x3, x1, #0xfff, lsl #12; sub w4, w5, #1;"
         "add w6, w5, #4095");
  EXPECT_EQ(m.x(0), 0x1fffu);
  EXPECT_EQ(m.x(2), 0x2000u);
  EXPECT_EQ(m.x(3), 0x1000ull - 0xfff000ull);
  EXPECT_EQ(m.x(4), 0xffffffffu);  // 32-bit result, zero-extended
  EXPECT_EQ(m.x(6), 4095u);
}

// Flags of adds/subs/cmp/cmn (immediate) at signed and unsigned overflow, both widths.
TEST(A64DpImm, AddsSubsImmediateFlags) {
  A64Machine m;
  m.x(1) = 0x7fffffffffffffffull;
  m.x(2) = ~0ull;
  m.x(3) = 0x8000000000000000ull;
  m.x(4) = 0x7fffffff;
  m.x(5) = 0xffffffff;
  m.x(6) = 0;
  m.exec("adds x10, x1, #1; mrs x20, nzcv;"  // signed overflow: N V
         "adds x11, x2, #1; mrs x21, nzcv;"  // unsigned overflow: Z C
         "subs x12, x3, #1; mrs x22, nzcv;"  // signed overflow: C V
         "cmp x6, #1; mrs x23, nzcv;"        // borrow: N, C clear
         "cmp x6, #0; mrs x24, nzcv;"        // equal: Z C
         "adds w13, w4, #1; mrs x25, nzcv;"  // 32-bit signed overflow: N V
         "cmn w5, #1; mrs x26, nzcv;"        // 32-bit unsigned overflow: Z C
         "subs w14, w6, #1; mrs x27, nzcv;"  // 32-bit borrow: N
         "cmp w2, #4095, lsl #12; mrs x28, nzcv");
  EXPECT_EQ(m.x(10), 0x8000000000000000ull);
  EXPECT_EQ(m.x(20), uint64_t(N | V));
  EXPECT_EQ(m.x(11), 0u);
  EXPECT_EQ(m.x(21), uint64_t(Z | C));
  EXPECT_EQ(m.x(12), 0x7fffffffffffffffull);
  EXPECT_EQ(m.x(22), uint64_t(C | V));
  EXPECT_EQ(m.x(23), uint64_t(N));
  EXPECT_EQ(m.x(24), uint64_t(Z | C));
  EXPECT_EQ(m.x(13), 0x80000000u);
  EXPECT_EQ(m.x(25), uint64_t(N | V));
  EXPECT_EQ(m.x(26), uint64_t(Z | C));
  EXPECT_EQ(m.x(14), 0xffffffffu);
  EXPECT_EQ(m.x(27), uint64_t(N));
  EXPECT_EQ(m.x(28), uint64_t(N | C));  // 0xffffffff - 0xfff000
  EXPECT_EQ(m.nzcv(), N | C);
}

TEST(A64DpImm, MovToAndFromSp) {
  A64Machine m;
  m.x(1) = 0x8000;
  m.sp() = 0x7000;
  m.exec("mov x2, sp; mov sp, x1; add x3, sp, #16; sub sp, sp, #32; mov x4, sp");
  EXPECT_EQ(m.x(2), 0x7000u);
  EXPECT_EQ(m.x(3), 0x8010u);
  EXPECT_EQ(m.x(4), 0x8000u - 32);
  EXPECT_EQ(m.sp(), 0x8000u - 32);
}

TEST(A64DpImm, WspWritesZeroExtendAndFlagSettersWriteXzr) {
  A64Machine m;
  m.sp() = 0xffffffff00000010ull;
  m.exec("add wsp, wsp, #0x10; cmn sp, #1; adds xzr, sp, #5; mrs x1, nzcv");
  EXPECT_EQ(m.sp(), 0x20u);  // wsp: the upper half cleared
  EXPECT_EQ(m.x(1), 0u);     // 0x20 + 5: no flags; sp unchanged by the xzr writes
}

// ---- logical (immediate) ----------------------------------------------------------------------

TEST(A64DpImm, LogicalImmediatePatterns) {
  A64Machine m;
  m.x(2) = 0x123456789abcdef1ull;
  m.exec("mov x0, #0x5555555555555555; and x1, x2, #0xfffffffe; and w3, w2, #0xfffffffe;"
         "orr w4, wzr, #0x0f0f0f0f; eor x5, x2, #0xff00ff00ff00ff00; orr x6, xzr, #0x8000000000000001;"
         "mov w7, #0x7ffffffe; and x8, x2, #0x3c0; eor w9, w2, #0x80000000");
  EXPECT_EQ(m.x(0), 0x5555555555555555ull);
  EXPECT_EQ(m.x(1), 0x9abcdef0ull);
  EXPECT_EQ(m.x(3), 0x9abcdef0ull);
  EXPECT_EQ(m.x(4), 0x0f0f0f0fu);
  EXPECT_EQ(m.x(5), 0x123456789abcdef1ull ^ 0xff00ff00ff00ff00ull);
  EXPECT_EQ(m.x(6), 0x8000000000000001ull);
  EXPECT_EQ(m.x(7), 0x7ffffffeu);
  EXPECT_EQ(m.x(8), 0x2c0u);
  EXPECT_EQ(m.x(9), 0x1abcdef1u);  // 32-bit: the upper half cleared
}

TEST(A64DpImm, AndsTstFlagsAndAndWritesSp) {
  A64Machine m;
  m.x(2) = 0x8000000000000f0full;
  m.sp() = 0x1234;
  m.exec("tst x2, #0x8000000000000000; mrs x10, nzcv; ands w3, w2, #0xf0; mrs x11, nzcv;"
         "tst w2, #0x80000000; mrs x12, nzcv; and sp, x2, #0xfffffffffffffff0");
  EXPECT_EQ(m.x(10), uint64_t(N));
  EXPECT_EQ(m.x(3), 0u);
  EXPECT_EQ(m.x(11), uint64_t(Z));
  EXPECT_EQ(m.x(12), uint64_t(Z));
  EXPECT_EQ(m.sp(), 0x8000000000000f00ull);
}

TEST(A64DpImm, LogicalImmediateReservedEncodings) {
  expect_illegal(0x9240fc00);  // and x0, x0: N=1, imms=111111 (an all-ones 64-bit element)
  expect_illegal(0x9200fc00);  // N=0, imms=111111: no element size
  expect_illegal(0x9200f400);  // 2-bit element with imms=1: all ones
  expect_illegal(0x92007c00);  // 32-bit element of all ones
  expect_illegal(0x12400000);  // 32-bit form with N=1
}

// ---- move wide --------------------------------------------------------------------------------

TEST(A64DpImm, MoveWide) {
  A64Machine m;
  m.x(3) = 0x1111222233334444ull;
  m.x(4) = 0x1111222233334444ull;
  m.exec("movz x0, #0x1234, lsl #48; movn x1, #0; movn w2, #0; movk x3, #0xbeef, lsl #16;"
         "movk w4, #0xbeef; movz w5, #1, lsl #16; movn x6, #0x1234, lsl #32; movn w7, #0xffff, lsl #16;"
         "movk x8, #0xffff, lsl #48");
  EXPECT_EQ(m.x(0), 0x1234000000000000ull);
  EXPECT_EQ(m.x(1), ~0ull);
  EXPECT_EQ(m.x(2), 0xffffffffu);
  EXPECT_EQ(m.x(3), 0x11112222beef4444ull);
  EXPECT_EQ(m.x(4), 0x3333beefu);  // 32-bit: the upper half cleared
  EXPECT_EQ(m.x(5), 0x10000u);
  EXPECT_EQ(m.x(6), ~(0x1234ull << 32));
  EXPECT_EQ(m.x(7), 0xffffu);
  EXPECT_EQ(m.x(8), 0xffff000000000000ull);
}

TEST(A64DpImm, MoveWideReservedEncodings) {
  expect_illegal(0x52c00000);  // movz w0 with hw=2
  expect_illegal(0x12e00000);  // movn w0 with hw=3
  expect_illegal(0x32800000);  // opc=01
}

// ---- adr / adrp -------------------------------------------------------------------------------

TEST(A64DpImm, AdrAndAdrp) {
  A64Machine m;
  m.exec("1: adr x0, 1b; adr x1, 2f; adrp x2, 1b; nop; 2: nop");
  EXPECT_EQ(m.x(0), kCode);
  EXPECT_EQ(m.x(1), kCode + 16);
  EXPECT_EQ(m.x(2), kCode & ~0xfffull);
  // adrp x3, -1 page; adrp x4, +0x12345 pages (as words: the assembler wants symbols); adr x5, -4
  m.exec_words({0xf0ffffe3, 0x90091a24 | (1u << 29), 0x10ffffe5});
  EXPECT_EQ(m.x(3), (kCode & ~0xfffull) - 0x1000);
  EXPECT_EQ(m.x(4), (kCode & ~0xfffull) + (0x12345ull << 12));
  EXPECT_EQ(m.x(5), kCode + 8 - 4);
}

// ---- bitfield ---------------------------------------------------------------------------------

TEST(A64DpImm, ShiftImmediateAliases) {
  A64Machine m;
  m.x(1) = 0x8000000000000081ull;
  m.exec("lsl x0, x1, #4; lsl x2, x1, #63; lsl x3, x1, #0; lsr x4, x1, #63; lsr x5, x1, #1; asr x6, x1, #63;"
         "asr x7, x1, #4; lsl w8, w1, #31; lsr w9, w1, #7; asr w10, w1, #7; asr w11, w1, #31");
  EXPECT_EQ(m.x(0), 0x810ull);
  EXPECT_EQ(m.x(2), 0x8000000000000000ull);
  EXPECT_EQ(m.x(3), 0x8000000000000081ull);
  EXPECT_EQ(m.x(4), 1u);
  EXPECT_EQ(m.x(5), 0x4000000000000040ull);
  EXPECT_EQ(m.x(6), ~0ull);
  EXPECT_EQ(m.x(7), 0xf800000000000008ull);
  EXPECT_EQ(m.x(8), 0x80000000u);
  EXPECT_EQ(m.x(9), 1u);
  EXPECT_EQ(m.x(10), 1u);
  EXPECT_EQ(m.x(11), 0u);
}

TEST(A64DpImm, ExtendAliases) {
  A64Machine m;
  m.x(1) = 0xfedcba9876548281ull;
  m.exec("sxtb x0, w1; sxth x2, w1; sxtw x3, w1; uxtb w4, w1; uxth w5, w1; sxtb w6, w1; sxth w7, w1;"
         "mov x8, #0x7f; sxtb x9, w8");
  EXPECT_EQ(m.x(0), 0xffffffffffffff81ull);
  EXPECT_EQ(m.x(2), 0xffffffffffff8281ull);
  EXPECT_EQ(m.x(3), 0x0000000076548281ull);
  EXPECT_EQ(m.x(4), 0x81u);
  EXPECT_EQ(m.x(5), 0x8281u);
  EXPECT_EQ(m.x(6), 0xffffff81u);  // 32-bit sign extension, then zero-extended
  EXPECT_EQ(m.x(7), 0xffff8281u);
  EXPECT_EQ(m.x(9), 0x7fu);
}

TEST(A64DpImm, BitfieldExtractAndInsertInZero) {
  A64Machine m;
  m.x(1) = 0x00000000f00000a5ull;
  m.exec("ubfx x0, x1, #4, #8; sbfx x2, x1, #4, #8; sbfx x3, x1, #28, #4; ubfx w4, w1, #28, #4;"
         "sbfx w5, w1, #28, #4; ubfiz x6, x1, #60, #4; sbfiz x7, x1, #8, #8; sbfiz w8, w1, #24, #8;"
         "ubfiz w9, w1, #31, #1; sbfx x10, x1, #63, #1; ubfx x11, x1, #0, #64");
  EXPECT_EQ(m.x(0), 0x0au);
  EXPECT_EQ(m.x(2), 0x0au);
  EXPECT_EQ(m.x(3), ~0ull);  // 0xf sign-extended
  EXPECT_EQ(m.x(4), 0xfu);
  EXPECT_EQ(m.x(5), 0xffffffffu);
  EXPECT_EQ(m.x(6), 0x5000000000000000ull);
  EXPECT_EQ(m.x(7), 0xffffffffffffa500ull);
  EXPECT_EQ(m.x(8), 0xa5000000u);
  EXPECT_EQ(m.x(9), 0x80000000u);
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_EQ(m.x(11), 0xf00000a5u);
}

// bfi/bfxil/bfc replace only their field: the destination's other bits stay (the 32-bit forms
// still clear the upper half).
TEST(A64DpImm, BitfieldInsertKeepsTheOtherBits) {
  A64Machine m;
  const uint64_t dst = 0x1122334455667788ull;
  for (unsigned r : {0u, 2u, 4u, 6u, 8u}) m.x(r) = dst;
  m.x(1) = 0xfedcba9876543210ull;
  m.exec("bfi x0, x1, #8, #12; bfxil x2, x1, #16, #8; bfi w4, w1, #28, #4; bfxil w6, w1, #28, #4;"
         "bfi x8, xzr, #4, #56");
  EXPECT_EQ(m.x(0), 0x1122334455621088ull);
  EXPECT_EQ(m.x(2), 0x1122334455667754ull);
  EXPECT_EQ(m.x(4), 0x05667788u);
  EXPECT_EQ(m.x(6), 0x55667787u);
  EXPECT_EQ(m.x(8), 0x1000000000000008ull);
}

TEST(A64DpImm, BitfieldReservedEncodings) {
  expect_illegal(0x93000000);  // sbfm x0 with N=0
  expect_illegal(0x13400000);  // sbfm w0 with N=1
  expect_illegal(0x13200000);  // sbfm w0, immr=32
  expect_illegal(0x33008000);  // bfm w0, imms=32
  expect_illegal(0x73000000);  // opc=11
}

// ---- extract ----------------------------------------------------------------------------------

TEST(A64DpImm, ExtrAndRorImmediate) {
  A64Machine m;
  m.x(1) = 0x0123456789abcdefull;
  m.x(2) = 0xfedcba9876543210ull;
  m.exec("extr x0, x1, x2, #8; ror x3, x1, #4; ror w4, w1, #31; extr w5, w1, w2, #0; extr x6, x1, x2, #63;"
         "extr w7, w1, w2, #16; ror x8, x1, #0");
  EXPECT_EQ(m.x(0), 0xeffedcba98765432ull);
  EXPECT_EQ(m.x(3), 0xf0123456789abcdeull);
  EXPECT_EQ(m.x(4), 0x13579bdfu);
  EXPECT_EQ(m.x(5), 0x76543210u);
  EXPECT_EQ(m.x(6), 0x02468acf13579bdfull);
  EXPECT_EQ(m.x(7), 0xcdef7654u);
  EXPECT_EQ(m.x(8), 0x0123456789abcdefull);
}

TEST(A64DpImm, ExtrReservedEncodings) {
  expect_illegal(0x13808000);  // extr w0 with lsb=32
  expect_illegal(0x93800000);  // 64-bit with N=0
  expect_illegal(0x13c00000);  // 32-bit with N=1
  expect_illegal(0x13a00000);  // o0=1
}

}  // namespace
}  // namespace vmkit::a64::test
