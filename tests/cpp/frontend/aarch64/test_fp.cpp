// Scalar floating point: moves, arithmetic with Arm's NaN, rounding-mode, flush-to-zero and
// exception-flag rules, fused multiply-add, compares into NZCV, and conversions. The expected
// values and FPSR flags of the table-driven cases below come from running the same code in
// unicorn (qemu).
#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

// Register moves, FABS/FNEG (sign bit only, NaN payloads kept, no flags) and FMOV immediates; S results clear the upper bits.
TEST(A64Fp, FmovFabsFnegAndImmediates) {
  A64Machine m;
  set_v(m, 0, 0x5ull, 0x5ull);
  set_v(m, 1, 0xdeadbeef3f800000ull, 0x7ull);
  set_v(m, 2, 0x1ull, 0x1ull);
  set_v(m, 3, 0xc004000000000000ull, 0x9ull);
  set_v(m, 4, 0x1ull, 0x1ull);
  set_v(m, 5, 0xff80abcdull, 0x1ull);
  set_v(m, 6, 0x1ull, 0x1ull);
  set_v(m, 7, 0x0ull, 0x0ull);
  set_v(m, 8, 0x1ull, 0x1ull);
  set_v(m, 9, 0x7f80abcdull, 0x0ull);
  set_v(m, 10, 0x1ull, 0x1ull);
  set_v(m, 11, 0xfff0000000000000ull, 0x1ull);
  set_v(m, 12, 0x1ull, 0x1ull);
  set_v(m, 13, 0x1ull, 0x1ull);
  set_v(m, 16, 0x1ull, 0x1ull);
  m.exec("fmov s0, s1; fmov d2, d3; fabs s4, s5; fneg d6, d7; fneg s8, s9; fabs d10, d11; fmov s12, #1.0; fmov d13, #-0.125; fmov s14, #31.0; fmov d15, #0.5; fmov h16, #-2.0");
  EXPECT_V(m, 0, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 1, 0xdeadbeef3f800000ull, 0x7ull);
  EXPECT_V(m, 2, 0xc004000000000000ull, 0x0ull);
  EXPECT_V(m, 3, 0xc004000000000000ull, 0x9ull);
  EXPECT_V(m, 4, 0x7f80abcdull, 0x0ull);
  EXPECT_V(m, 5, 0xff80abcdull, 0x1ull);
  EXPECT_V(m, 6, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 7, 0x0ull, 0x0ull);
  EXPECT_V(m, 8, 0xff80abcdull, 0x0ull);
  EXPECT_V(m, 9, 0x7f80abcdull, 0x0ull);
  EXPECT_V(m, 10, 0x7ff0000000000000ull, 0x0ull);
  EXPECT_V(m, 11, 0xfff0000000000000ull, 0x1ull);
  EXPECT_V(m, 12, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 13, 0xbfc0000000000000ull, 0x0ull);
  EXPECT_V(m, 14, 0x41f80000ull, 0x0ull);
  EXPECT_V(m, 15, 0x3fe0000000000000ull, 0x0ull);
  EXPECT_V(m, 16, 0xc000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// FADD/FSUB/FMUL/FDIV/FNMUL in both precisions; 1/3 is inexact (IXC).
TEST(A64Fp, ArithmeticSingleAndDouble) {
  A64Machine m;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0x40400000ull, 0x0ull);
  set_v(m, 4, 0x4000000000000000ull, 0x0ull);
  set_v(m, 5, 0xbfe8000000000000ull, 0x0ull);
  m.exec("fadd s0, s1, s2; fsub d3, d4, d5; fmul s6, s1, s2; fdiv d7, d4, d5; fnmul s8, s1, s2; fnmul d9, d4, d5; fdiv s10, s1, s2; fsqrt d11, d4; fsqrt s12, s2");
  EXPECT_V(m, 0, 0x40800000ull, 0x0ull);
  EXPECT_V(m, 3, 0x4006000000000000ull, 0x0ull);
  EXPECT_V(m, 6, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 7, 0xc005555555555555ull, 0x0ull);
  EXPECT_V(m, 8, 0xc0400000ull, 0x0ull);
  EXPECT_V(m, 9, 0x3ff8000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x3eaaaaabull, 0x0ull);
  EXPECT_V(m, 11, 0x3ff6a09e667f3bcdull, 0x0ull);
  EXPECT_V(m, 12, 0x3fddb3d7ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x10u);
}

// Arm NaN rules: the first signalling NaN wins (quieted, IOC) over an earlier quiet NaN; else the first quiet NaN; FNMUL flips the NaN result's sign.
TEST(A64Fp, NanPropagation) {
  A64Machine m;
  set_v(m, 1, 0x7fc12345ull, 0x0ull);
  set_v(m, 2, 0x7f80abcdull, 0x0ull);
  set_v(m, 5, 0x40000000ull, 0x0ull);
  set_v(m, 7, 0x7ff8000000012345ull, 0x0ull);
  set_v(m, 8, 0xfff000000000abcdull, 0x0ull);
  set_v(m, 10, 0x7ff8000000012345ull, 0x0ull);
  set_v(m, 13, 0xffc00077ull, 0x0ull);
  m.exec("fadd s0, s1, s2; fadd s3, s2, s1; fmul s4, s1, s5; fsub d6, d7, d8; fdiv d9, d8, d10; fnmul s11, s1, s5; fadd s12, s5, s13");
  EXPECT_V(m, 0, 0x7fc0abcdull, 0x0ull);
  EXPECT_V(m, 3, 0x7fc0abcdull, 0x0ull);
  EXPECT_V(m, 4, 0x7fc12345ull, 0x0ull);
  EXPECT_V(m, 6, 0xfff800000000abcdull, 0x0ull);
  EXPECT_V(m, 9, 0xfff800000000abcdull, 0x0ull);
  EXPECT_V(m, 11, 0xffc12345ull, 0x0ull);
  EXPECT_V(m, 12, 0xffc00077ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// FPCR.DN: every NaN result is the default NaN, signalling operands still raise IOC.
TEST(A64Fp, DefaultNanMode) {
  A64Machine m;
  set_v(m, 1, 0x7fc12345ull, 0x0ull);
  set_v(m, 2, 0x3f800000ull, 0x0ull);
  set_v(m, 4, 0x7ff000000000abcdull, 0x0ull);
  set_v(m, 5, 0x3ff0000000000000ull, 0x0ull);
  m.st().fpcr = 0x2000000;
  m.exec("fadd s0, s1, s2; fmul d3, d4, d5; fsqrt s6, s1; fmax d7, d4, d5; fcvt d8, s1");
  EXPECT_V(m, 0, 0x7fc00000ull, 0x0ull);
  EXPECT_V(m, 3, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_V(m, 6, 0x7fc00000ull, 0x0ull);
  EXPECT_V(m, 7, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// inf - inf and 0 * inf give the (positive) default NaN with IOC, x/0 DZC, overflow OFC|IXC, underflow UFC|IXC, sqrt(-1) IOC.
TEST(A64Fp, InvalidDivideByZeroOverflowUnderflow) {
  A64Machine m;
  set_v(m, 1, 0x7f800000ull, 0x0ull);
  set_v(m, 3, 0x0ull, 0x0ull);
  set_v(m, 4, 0xfff0000000000000ull, 0x0ull);
  set_v(m, 6, 0xbf800000ull, 0x0ull);
  set_v(m, 7, 0x0ull, 0x0ull);
  set_v(m, 9, 0x7e37e43c8800759cull, 0x0ull);
  set_v(m, 11, 0xda24260ull, 0x0ull);
  set_v(m, 13, 0xbff0000000000000ull, 0x0ull);
  m.exec("fsub s0, s1, s1; fmul d2, d3, d4; fdiv s5, s6, s7; fmul d8, d9, d9; fmul s10, s11, s11; fsqrt d12, d13");
  EXPECT_V(m, 0, 0x7fc00000ull, 0x0ull);
  EXPECT_V(m, 2, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_V(m, 5, 0xff800000ull, 0x0ull);
  EXPECT_V(m, 8, 0x7ff0000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x0ull, 0x0ull);
  EXPECT_V(m, 12, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1fu);
}

// FPCR.RMode applies to arithmetic, FCVT narrowing, SCVTF and FRINTI/FRINTX (FRINTX signals IXC).
TEST(A64Fp, RoundingModeNearest) {
  A64Machine m;
  m.x(1) = 0x4000000000000001ull;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0xc0400000ull, 0x0ull);
  set_v(m, 4, 0x3fe5555555555555ull, 0x0ull);
  set_v(m, 5, 0x4008000000000000ull, 0x0ull);
  set_v(m, 7, 0x3f800000ull, 0x0ull);
  set_v(m, 8, 0x33800001ull, 0x0ull);
  set_v(m, 11, 0xbfe5555555555555ull, 0x0ull);
  set_v(m, 14, 0xc004000000000000ull, 0x0ull);
  set_v(m, 16, 0x40600000ull, 0x0ull);
  set_v(m, 18, 0x1eb67e9c127b6e74ull, 0x0ull);
  m.exec("fdiv s0, s1, s2; fdiv d3, d4, d5; fadd s6, s7, s8; fcvt s9, d4; fcvt s10, d11; scvtf s12, x1; frinti d13, d14; frintx s15, s16; fmul d17, d18, d18; fcvt h19, s16");
  EXPECT_V(m, 0, 0xbeaaaaabull, 0x0ull);
  EXPECT_V(m, 3, 0x3fcc71c71c71c71cull, 0x0ull);
  EXPECT_V(m, 6, 0x3f800001ull, 0x0ull);
  EXPECT_V(m, 9, 0x3f2aaaabull, 0x0ull);
  EXPECT_V(m, 10, 0xbf2aaaabull, 0x0ull);
  EXPECT_V(m, 12, 0x5e800000ull, 0x0ull);
  EXPECT_V(m, 13, 0xc000000000000000ull, 0x0ull);
  EXPECT_V(m, 15, 0x40800000ull, 0x0ull);
  EXPECT_V(m, 17, 0x7e8ull, 0x0ull);
  EXPECT_V(m, 19, 0x4300ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x18u);
}

// FPCR.RMode applies to arithmetic, FCVT narrowing, SCVTF and FRINTI/FRINTX (FRINTX signals IXC).
TEST(A64Fp, RoundingModePlusInf) {
  A64Machine m;
  m.x(1) = 0x4000000000000001ull;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0xc0400000ull, 0x0ull);
  set_v(m, 4, 0x3fe5555555555555ull, 0x0ull);
  set_v(m, 5, 0x4008000000000000ull, 0x0ull);
  set_v(m, 7, 0x3f800000ull, 0x0ull);
  set_v(m, 8, 0x33800001ull, 0x0ull);
  set_v(m, 11, 0xbfe5555555555555ull, 0x0ull);
  set_v(m, 14, 0xc004000000000000ull, 0x0ull);
  set_v(m, 16, 0x40600000ull, 0x0ull);
  set_v(m, 18, 0x1eb67e9c127b6e74ull, 0x0ull);
  m.st().fpcr = 0x400000;
  m.exec("fdiv s0, s1, s2; fdiv d3, d4, d5; fadd s6, s7, s8; fcvt s9, d4; fcvt s10, d11; scvtf s12, x1; frinti d13, d14; frintx s15, s16; fmul d17, d18, d18; fcvt h19, s16");
  EXPECT_V(m, 0, 0xbeaaaaaaull, 0x0ull);
  EXPECT_V(m, 3, 0x3fcc71c71c71c71cull, 0x0ull);
  EXPECT_V(m, 6, 0x3f800001ull, 0x0ull);
  EXPECT_V(m, 9, 0x3f2aaaabull, 0x0ull);
  EXPECT_V(m, 10, 0xbf2aaaaaull, 0x0ull);
  EXPECT_V(m, 12, 0x5e800001ull, 0x0ull);
  EXPECT_V(m, 13, 0xc000000000000000ull, 0x0ull);
  EXPECT_V(m, 15, 0x40800000ull, 0x0ull);
  EXPECT_V(m, 17, 0x7e9ull, 0x0ull);
  EXPECT_V(m, 19, 0x4300ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x18u);
}

// FPCR.RMode applies to arithmetic, FCVT narrowing, SCVTF and FRINTI/FRINTX (FRINTX signals IXC).
TEST(A64Fp, RoundingModeMinusInf) {
  A64Machine m;
  m.x(1) = 0x4000000000000001ull;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0xc0400000ull, 0x0ull);
  set_v(m, 4, 0x3fe5555555555555ull, 0x0ull);
  set_v(m, 5, 0x4008000000000000ull, 0x0ull);
  set_v(m, 7, 0x3f800000ull, 0x0ull);
  set_v(m, 8, 0x33800001ull, 0x0ull);
  set_v(m, 11, 0xbfe5555555555555ull, 0x0ull);
  set_v(m, 14, 0xc004000000000000ull, 0x0ull);
  set_v(m, 16, 0x40600000ull, 0x0ull);
  set_v(m, 18, 0x1eb67e9c127b6e74ull, 0x0ull);
  m.st().fpcr = 0x800000;
  m.exec("fdiv s0, s1, s2; fdiv d3, d4, d5; fadd s6, s7, s8; fcvt s9, d4; fcvt s10, d11; scvtf s12, x1; frinti d13, d14; frintx s15, s16; fmul d17, d18, d18; fcvt h19, s16");
  EXPECT_V(m, 0, 0xbeaaaaabull, 0x0ull);
  EXPECT_V(m, 3, 0x3fcc71c71c71c71cull, 0x0ull);
  EXPECT_V(m, 6, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 9, 0x3f2aaaaaull, 0x0ull);
  EXPECT_V(m, 10, 0xbf2aaaabull, 0x0ull);
  EXPECT_V(m, 12, 0x5e800000ull, 0x0ull);
  EXPECT_V(m, 13, 0xc008000000000000ull, 0x0ull);
  EXPECT_V(m, 15, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 17, 0x7e8ull, 0x0ull);
  EXPECT_V(m, 19, 0x4300ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x18u);
}

// FPCR.RMode applies to arithmetic, FCVT narrowing, SCVTF and FRINTI/FRINTX (FRINTX signals IXC).
TEST(A64Fp, RoundingModeZero) {
  A64Machine m;
  m.x(1) = 0x4000000000000001ull;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0xc0400000ull, 0x0ull);
  set_v(m, 4, 0x3fe5555555555555ull, 0x0ull);
  set_v(m, 5, 0x4008000000000000ull, 0x0ull);
  set_v(m, 7, 0x3f800000ull, 0x0ull);
  set_v(m, 8, 0x33800001ull, 0x0ull);
  set_v(m, 11, 0xbfe5555555555555ull, 0x0ull);
  set_v(m, 14, 0xc004000000000000ull, 0x0ull);
  set_v(m, 16, 0x40600000ull, 0x0ull);
  set_v(m, 18, 0x1eb67e9c127b6e74ull, 0x0ull);
  m.st().fpcr = 0xc00000;
  m.exec("fdiv s0, s1, s2; fdiv d3, d4, d5; fadd s6, s7, s8; fcvt s9, d4; fcvt s10, d11; scvtf s12, x1; frinti d13, d14; frintx s15, s16; fmul d17, d18, d18; fcvt h19, s16");
  EXPECT_V(m, 0, 0xbeaaaaaaull, 0x0ull);
  EXPECT_V(m, 3, 0x3fcc71c71c71c71cull, 0x0ull);
  EXPECT_V(m, 6, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 9, 0x3f2aaaaaull, 0x0ull);
  EXPECT_V(m, 10, 0xbf2aaaaaull, 0x0ull);
  EXPECT_V(m, 12, 0x5e800000ull, 0x0ull);
  EXPECT_V(m, 13, 0xc000000000000000ull, 0x0ull);
  EXPECT_V(m, 15, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 17, 0x7e8ull, 0x0ull);
  EXPECT_V(m, 19, 0x4300ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x18u);
}

// FPCR.FZ: subnormal operands are zeros (IDC), subnormal results are zeros with UFC and without IXC, also a result that rounds up to the smallest normal.
TEST(A64Fp, FlushToZero) {
  A64Machine m;
  set_v(m, 1, 0x3ull, 0x0ull);
  set_v(m, 2, 0x0ull, 0x0ull);
  set_v(m, 4, 0x8000000000000003ull, 0x0ull);
  set_v(m, 5, 0x3ff0000000000000ull, 0x0ull);
  set_v(m, 7, 0x800001ull, 0x0ull);
  set_v(m, 8, 0x800000ull, 0x0ull);
  set_v(m, 10, 0x800001ull, 0x0ull);
  set_v(m, 11, 0x3f7ffffeull, 0x0ull);
  set_v(m, 13, 0x8000000000000000ull, 0x0ull);
  m.st().fpcr = 0x1000000;
  m.set_nzcv(0x0);
  m.exec("fadd s0, s1, s2; fmul d3, d4, d5; fsub s6, s7, s8; fmul s9, s10, s11; fmax d12, d4, d13; fcmp s1, #0.0");
  EXPECT_V(m, 0, 0x0ull, 0x0ull);
  EXPECT_V(m, 3, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 6, 0x0ull, 0x0ull);
  EXPECT_V(m, 9, 0x0ull, 0x0ull);
  EXPECT_V(m, 12, 0x8000000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x88u);
  EXPECT_EQ(m.nzcv(), 0x60000000u);
}

// Without FZ: a product that rounds up to the smallest normal is still tiny and inexact (UFC), as Arm detects tininess before rounding.
TEST(A64Fp, TininessIsDetectedBeforeRounding) {
  A64Machine m;
  set_v(m, 10, 0x800001ull, 0x0ull);
  set_v(m, 11, 0x3f7ffffeull, 0x0ull);
  m.exec("fmul s9, s10, s11");
  EXPECT_V(m, 9, 0x800000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x18u);
}

// FMADD/FMSUB/FNMADD/FNMSUB round once (a*a-1 with a = 1+2^-27 is exact only fused), and their negations are of the operands.
TEST(A64Fp, FusedMultiplyAdd) {
  A64Machine m;
  set_v(m, 1, 0x3ff0000002000000ull, 0x0ull);
  set_v(m, 2, 0xbff0000000000000ull, 0x0ull);
  set_v(m, 7, 0x3dcccccdull, 0x0ull);
  set_v(m, 8, 0x40400000ull, 0x0ull);
  set_v(m, 9, 0xbe99999aull, 0x0ull);
  m.exec("fmadd d0, d1, d1, d2; fmsub d3, d1, d1, d2; fnmadd d4, d1, d1, d2; fnmsub d5, d1, d1, d2; fmadd s6, s7, s8, s9; fnmadd s10, s7, s8, s9; fmsub s11, s7, s8, s9");
  EXPECT_V(m, 0, 0x3e50000001000000ull, 0x0ull);
  EXPECT_V(m, 3, 0xc000000002000000ull, 0x0ull);
  EXPECT_V(m, 4, 0xbe50000001000000ull, 0x0ull);
  EXPECT_V(m, 5, 0x4000000002000000ull, 0x0ull);
  EXPECT_V(m, 6, 0xb2000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x32000000ull, 0x0ull);
  EXPECT_V(m, 11, 0xbf19999aull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x10u);
}

// FMA NaN order is addend, then the multiplicands; a quiet NaN addend with inf * 0 gives the default NaN and IOC; FMSUB negates a NaN multiplicand.
TEST(A64Fp, FusedMultiplyAddNaNs) {
  A64Machine m;
  set_v(m, 1, 0x7f80abcdull, 0x0ull);
  set_v(m, 2, 0x3f800000ull, 0x0ull);
  set_v(m, 3, 0x7fc12345ull, 0x0ull);
  set_v(m, 5, 0x7f800000ull, 0x0ull);
  set_v(m, 6, 0x0ull, 0x0ull);
  set_v(m, 8, 0x7f80abcfull, 0x0ull);
  set_v(m, 10, 0x7ff8000000012345ull, 0x0ull);
  set_v(m, 11, 0x4000000000000000ull, 0x0ull);
  set_v(m, 12, 0x3ff0000000000000ull, 0x0ull);
  set_v(m, 14, 0xfff8000000012345ull, 0x0ull);
  set_v(m, 16, 0x7f800000ull, 0x0ull);
  set_v(m, 17, 0x0ull, 0x0ull);
  set_v(m, 18, 0x3f800000ull, 0x0ull);
  m.exec("fmadd s0, s1, s2, s3; fmadd s4, s5, s6, s3; fmadd s7, s1, s5, s8; fmsub d9, d10, d11, d12; fnmadd d13, d11, d11, d14; fmadd s15, s16, s17, s18");
  EXPECT_V(m, 0, 0x7fc0abcdull, 0x0ull);
  EXPECT_V(m, 4, 0x7fc00000ull, 0x0ull);
  EXPECT_V(m, 7, 0x7fc0abcfull, 0x0ull);
  EXPECT_V(m, 9, 0xfff8000000012345ull, 0x0ull);
  EXPECT_V(m, 13, 0x7ff8000000012345ull, 0x0ull);
  EXPECT_V(m, 15, 0x7fc00000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// FMAX/FMIN propagate NaNs; FMAXNM/FMINNM prefer the number to a quiet NaN but not to a signalling one; max(-0, +0) = +0, min = -0.
TEST(A64Fp, MaxMinAndNumberForms) {
  A64Machine m;
  set_v(m, 1, 0x7fc12345ull, 0x0ull);
  set_v(m, 2, 0xc0a00000ull, 0x0ull);
  set_v(m, 7, 0x8000000000000000ull, 0x0ull);
  set_v(m, 8, 0x0ull, 0x0ull);
  set_v(m, 11, 0x7ff000000000abcdull, 0x0ull);
  set_v(m, 13, 0x40800000ull, 0x0ull);
  set_v(m, 15, 0xbf800000ull, 0x0ull);
  set_v(m, 16, 0x40000000ull, 0x0ull);
  m.exec("fmax s0, s1, s2; fmin s3, s1, s2; fmaxnm s4, s1, s2; fminnm s5, s2, s1; fmax d6, d7, d8; fmin d9, d7, d8; fmaxnm d10, d11, d7; fminnm s12, s13, s1; fmax s14, s15, s16; fminnm d17, d7, d8; fmaxnm d18, d8, d7");
  EXPECT_V(m, 0, 0x7fc12345ull, 0x0ull);
  EXPECT_V(m, 3, 0x7fc12345ull, 0x0ull);
  EXPECT_V(m, 4, 0xc0a00000ull, 0x0ull);
  EXPECT_V(m, 5, 0xc0a00000ull, 0x0ull);
  EXPECT_V(m, 6, 0x0ull, 0x0ull);
  EXPECT_V(m, 9, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x7ff800000000abcdull, 0x0ull);
  EXPECT_V(m, 12, 0x40800000ull, 0x0ull);
  EXPECT_V(m, 14, 0x40000000ull, 0x0ull);
  EXPECT_V(m, 17, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 18, 0x0ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// FCMP: less 1000, equal 0110 (also -0 against +0), greater 0010, unordered 0011; quiet NaNs raise IOC only for FCMPE; signalling ones always.
TEST(A64Fp, CompareSetsNzcv) {
  A64Machine m;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0x40000000ull, 0x0ull);
  set_v(m, 3, 0x8000000000000000ull, 0x0ull);
  set_v(m, 4, 0x0ull, 0x0ull);
  set_v(m, 5, 0x7fc12345ull, 0x0ull);
  m.set_nzcv(0x0);
  m.exec("fcmp s1, s2; cset x0, mi; fcmp s2, s1; cset x1, gt; fcmp d3, d4; cset x2, eq; fcmp s1, s5; cset x3, vs; fcmp d3, #0.0; cset x4, eq; fcmp s5, #0.0; mrs x6, nzcv; fcmp s1, s1; cset x7, eq");
  EXPECT_EQ(m.x(0), 0x1ull);
  EXPECT_EQ(m.x(1), 0x1ull);
  EXPECT_EQ(m.x(2), 0x1ull);
  EXPECT_EQ(m.x(3), 0x1ull);
  EXPECT_EQ(m.x(4), 0x1ull);
  EXPECT_EQ(m.x(6), 0x30000000ull);
  EXPECT_EQ(m.x(7), 0x1ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
  EXPECT_EQ(m.nzcv(), 0x60000000u);
}

// FCMPE of a quiet NaN, and FCMP of a signalling one, raise IOC.
TEST(A64Fp, CompareSignallingRaisesInvalid) {
  A64Machine m;
  set_v(m, 1, 0x7fc12345ull, 0x0ull);
  set_v(m, 2, 0x40000000ull, 0x0ull);
  m.set_nzcv(0x0);
  m.exec("fcmpe s1, s2");
  EXPECT_EQ(m.st().fpsr, 0x1u);
  EXPECT_EQ(m.nzcv(), 0x30000000u);
}

// FCMP of a quiet NaN is unordered without IOC.
TEST(A64Fp, CompareQuietNanDoesNotRaise) {
  A64Machine m;
  set_v(m, 1, 0x7ff8000000012345ull, 0x0ull);
  set_v(m, 2, 0x4000000000000000ull, 0x0ull);
  m.set_nzcv(0x0);
  m.exec("fcmp d1, d2");
  EXPECT_EQ(m.st().fpsr, 0x0u);
  EXPECT_EQ(m.nzcv(), 0x30000000u);
}

// FCCMP compares when the condition holds, else sets the immediate NZCV (and raises nothing); FCSEL selects by the condition.
TEST(A64Fp, ConditionalCompareAndSelect) {
  A64Machine m;
  m.x(0) = 0x1ull;
  set_v(m, 1, 0x3f800000ull, 0x0ull);
  set_v(m, 2, 0x40000000ull, 0x0ull);
  set_v(m, 4, 0x7fc12345ull, 0x0ull);
  set_v(m, 8, 0x4008000000000000ull, 0x0ull);
  set_v(m, 9, 0xc008000000000000ull, 0x0ull);
  m.set_nzcv(0x0);
  m.exec("cmp x0, #1; fccmp s1, s2, #0xf, eq; cset x3, mi; fccmpe s1, s4, #0x2, ne; mrs x5, nzcv; fcsel s6, s1, s2, ne; fcsel d7, d8, d9, eq; fccmp d8, d9, #4, al; mrs x10, nzcv");
  EXPECT_V(m, 6, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 7, 0xc008000000000000ull, 0x0ull);
  EXPECT_EQ(m.x(3), 0x1ull);
  EXPECT_EQ(m.x(5), 0x30000000ull);
  EXPECT_EQ(m.x(10), 0x20000000ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
  EXPECT_EQ(m.nzcv(), 0x20000000u);
}

// FCVTZS/FCVTZU: NaN gives 0, out-of-range values saturate, both with IOC; -0.5 to unsigned is 0 with IXC only; W results clear the upper half.
TEST(A64Fp, ConvertToIntegerSaturates) {
  A64Machine m;
  m.x(0) = 0xffffffffffffffffull;
  m.x(2) = 0xffffffffffffffffull;
  set_v(m, 1, 0x7fc12345ull, 0x0ull);
  set_v(m, 2, 0xf149f2caull, 0x0ull);
  set_v(m, 3, 0xbf000000ull, 0x0ull);
  set_v(m, 4, 0x43f0000000000000ull, 0x0ull);
  set_v(m, 5, 0x41dffffffff9999aull, 0x0ull);
  set_v(m, 6, 0xc3e02207973f6440ull, 0x0ull);
  set_v(m, 7, 0x41effffffff00000ull, 0x0ull);
  set_v(m, 8, 0xcf000000ull, 0x0ull);
  set_v(m, 9, 0x7f800000ull, 0x0ull);
  set_v(m, 10, 0xbff8000000000000ull, 0x0ull);
  set_v(m, 11, 0xfff0000000000000ull, 0x0ull);
  m.exec("fcvtzs w0, s1; fcvtzs x1, s2; fcvtzu w2, s3; fcvtzu x3, d4; fcvtzs w4, d5; fcvtzs x5, d6; fcvtzu w6, d7; fcvtzs w7, s8; fcvtzu x8, s9; fcvtzs x9, d10; fcvtzu w10, d11");
  EXPECT_EQ(m.x(0), 0x0ull);
  EXPECT_EQ(m.x(1), 0x8000000000000000ull);
  EXPECT_EQ(m.x(2), 0x0ull);
  EXPECT_EQ(m.x(3), 0xffffffffffffffffull);
  EXPECT_EQ(m.x(4), 0x7fffffffull);
  EXPECT_EQ(m.x(5), 0x8000000000000000ull);
  EXPECT_EQ(m.x(6), 0xffffffffull);
  EXPECT_EQ(m.x(7), 0x80000000ull);
  EXPECT_EQ(m.x(8), 0xffffffffffffffffull);
  EXPECT_EQ(m.x(9), 0xffffffffffffffffull);
  EXPECT_EQ(m.x(10), 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// FCVTNS (ties to even), FCVTAS (ties away), FCVTMS (floor), FCVTPS (ceiling) and the unsigned forms, on ties and negatives.
TEST(A64Fp, ConvertToIntegerRoundingModes) {
  A64Machine m;
  set_v(m, 1, 0x4004000000000000ull, 0x0ull);
  set_v(m, 2, 0xc004000000000000ull, 0x0ull);
  set_v(m, 3, 0xc0600000ull, 0x0ull);
  set_v(m, 4, 0x3fe0000000000000ull, 0x0ull);
  set_v(m, 5, 0x3f000000ull, 0x0ull);
  set_v(m, 6, 0x80000000ull, 0x0ull);
  set_v(m, 7, 0xbfe6666666666666ull, 0x0ull);
  m.exec("fcvtns x0, d1; fcvtas x1, d1; fcvtms x2, d2; fcvtps x3, d2; fcvtns w4, s3; fcvtas w5, s3; fcvtnu x6, d4; fcvtau w7, s5; fcvtmu x8, d2; fcvtpu w9, s3; fcvtms w10, s6; fcvtps x11, d7");
  EXPECT_EQ(m.x(0), 0x2ull);
  EXPECT_EQ(m.x(1), 0x3ull);
  EXPECT_EQ(m.x(2), 0xfffffffffffffffdull);
  EXPECT_EQ(m.x(3), 0xfffffffffffffffeull);
  EXPECT_EQ(m.x(4), 0xfffffffcull);
  EXPECT_EQ(m.x(5), 0xfffffffcull);
  EXPECT_EQ(m.x(6), 0x0ull);
  EXPECT_EQ(m.x(7), 0x1ull);
  EXPECT_EQ(m.x(8), 0x0ull);
  EXPECT_EQ(m.x(9), 0x0ull);
  EXPECT_EQ(m.x(10), 0x0ull);
  EXPECT_EQ(m.x(11), 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// SCVTF/UCVTF from W and X (2^63+1 rounds), and the fixed-point forms of SCVTF/UCVTF/FCVTZS/FCVTZU.
TEST(A64Fp, ConvertIntegerToFloat) {
  A64Machine m;
  m.x(1) = 0x8000000000000001ull;
  m.x(2) = 0xffffffffffffffffull;
  m.x(3) = 0x80000001ull;
  m.x(4) = 0x7fffff7fffffffffull;
  set_v(m, 7, 0xbfc00000ull, 0x0ull);
  set_v(m, 8, 0x3fd0000000000000ull, 0x0ull);
  set_v(m, 9, 0x4202a05f20000000ull, 0x0ull);
  m.exec("scvtf d0, x1; ucvtf s1, x2; scvtf s2, w3; ucvtf d3, w3; scvtf d4, x1, #4; ucvtf s5, w3, #32; fcvtzs w6, s7, #8; fcvtzu x7, d8, #64; fcvtzs x8, d9, #1; fcvtzs w9, d9, #31; ucvtf d10, x2, #64; scvtf s11, x4");
  EXPECT_V(m, 0, 0xc3e0000000000000ull, 0x0ull);
  EXPECT_V(m, 1, 0x5f800000ull, 0x0ull);
  EXPECT_V(m, 2, 0xcf000000ull, 0x0ull);
  EXPECT_V(m, 3, 0x41e0000000200000ull, 0x0ull);
  EXPECT_V(m, 4, 0xc3a0000000000000ull, 0x0ull);
  EXPECT_V(m, 5, 0x3f000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x3ff0000000000000ull, 0x0ull);
  EXPECT_V(m, 11, 0x5effffffull, 0x0ull);
  EXPECT_EQ(m.x(6), 0xfffffe80ull);
  EXPECT_EQ(m.x(7), 0x4000000000000000ull);
  EXPECT_EQ(m.x(8), 0x4a817c800ull);
  EXPECT_EQ(m.x(9), 0x7fffffffull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// FCVT S<->D (NaN payloads carried, signalling quieted with IOC, overflow to infinity) and to and from half precision.
TEST(A64Fp, ConvertBetweenPrecisions) {
  A64Machine m;
  set_v(m, 1, 0x3f8ccccdull, 0x0ull);
  set_v(m, 3, 0x7e37e43c8800759cull, 0x0ull);
  set_v(m, 5, 0xfff0000abcdefbcdull, 0x0ull);
  set_v(m, 7, 0x7f80abcdull, 0x0ull);
  set_v(m, 9, 0x477ff000ull, 0x0ull);
  set_v(m, 11, 0x3c01ull, 0x0ull);
  set_v(m, 13, 0x3e6fff5c939522dbull, 0x0ull);
  set_v(m, 15, 0x7c01ull, 0x0ull);
  set_v(m, 17, 0x358637bdull, 0x0ull);
  set_v(m, 19, 0x8001ull, 0x0ull);
  set_v(m, 21, 0xbfc00000ull, 0x0ull);
  m.exec("fcvt d0, s1; fcvt s2, d3; fcvt s4, d5; fcvt d6, s7; fcvt h8, s9; fcvt s10, h11; fcvt h12, d13; fcvt d14, h15; fcvt h16, s17; fcvt s18, h19; fcvt h20, s21");
  EXPECT_V(m, 0, 0x3ff19999a0000000ull, 0x0ull);
  EXPECT_V(m, 2, 0x7f800000ull, 0x0ull);
  EXPECT_V(m, 4, 0xffc00055ull, 0x0ull);
  EXPECT_V(m, 6, 0x7ff81579a0000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x7c00ull, 0x0ull);
  EXPECT_V(m, 10, 0x3f802000ull, 0x0ull);
  EXPECT_V(m, 12, 0x1ull, 0x0ull);
  EXPECT_V(m, 14, 0x7ff8040000000000ull, 0x0ull);
  EXPECT_V(m, 16, 0x11ull, 0x0ull);
  EXPECT_V(m, 18, 0xb3800000ull, 0x0ull);
  EXPECT_V(m, 20, 0xbe00ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1du);
}

// FRINTN/A/M/P/Z on ties and negatives (a zero result keeps the sign), FRINTX raises IXC, a signalling NaN is quieted.
TEST(A64Fp, RoundToIntegral) {
  A64Machine m;
  set_v(m, 1, 0x40200000ull, 0x0ull);
  set_v(m, 4, 0xc004000000000000ull, 0x0ull);
  set_v(m, 7, 0xbf333333ull, 0x0ull);
  set_v(m, 9, 0xbfe0000000000000ull, 0x0ull);
  set_v(m, 11, 0xc0200000ull, 0x0ull);
  set_v(m, 13, 0xbe99999aull, 0x0ull);
  set_v(m, 16, 0x7f80abcdull, 0x0ull);
  set_v(m, 18, 0x7e37e43c8800759cull, 0x0ull);
  m.exec("frintn s0, s1; frinta s2, s1; frintm d3, d4; frintp d5, d4; frintz s6, s7; frintn d8, d9; frinta s10, s11; frintp s12, s13; frintx d14, d9; frintm s15, s16; frintz d17, d18");
  EXPECT_V(m, 0, 0x40000000ull, 0x0ull);
  EXPECT_V(m, 2, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 3, 0xc008000000000000ull, 0x0ull);
  EXPECT_V(m, 5, 0xc000000000000000ull, 0x0ull);
  EXPECT_V(m, 6, 0x80000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0xc0400000ull, 0x0ull);
  EXPECT_V(m, 12, 0x80000000ull, 0x0ull);
  EXPECT_V(m, 14, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 15, 0x7fc0abcdull, 0x0ull);
  EXPECT_V(m, 17, 0x7e37e43c8800759cull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// The SIMD-register scalar forms: FCVTZS/FCVTNU/FCVTAS Sd and Dd, SCVTF/UCVTF Sd and Dd.
TEST(A64Fp, ScalarConversionsInSimdRegisters) {
  A64Machine m;
  set_v(m, 1, 0xc0fccccdull, 0x0ull);
  set_v(m, 3, 0x4004000000000000ull, 0x0ull);
  set_v(m, 6, 0xc0200000ull, 0x0ull);
  set_v(m, 8, 0xfffffffeull, 0x0ull);
  set_v(m, 10, 0xffffffffffffffffull, 0x0ull);
  set_v(m, 12, 0x3f99999aull, 0x0ull);
  m.exec("fcvtzs s0, s1; fcvtzu d2, d3; fcvtns d4, d3; fcvtas s5, s6; scvtf s7, s8; ucvtf d9, d10; fcvtpu s11, s12; fcvtms d13, d3");
  EXPECT_V(m, 0, 0xfffffff9ull, 0x0ull);
  EXPECT_V(m, 2, 0x2ull, 0x0ull);
  EXPECT_V(m, 4, 0x2ull, 0x0ull);
  EXPECT_V(m, 5, 0xfffffffdull, 0x0ull);
  EXPECT_V(m, 7, 0xc0000000ull, 0x0ull);
  EXPECT_V(m, 9, 0x43f0000000000000ull, 0x0ull);
  EXPECT_V(m, 11, 0x2ull, 0x0ull);
  EXPECT_V(m, 13, 0x2ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x10u);
}

// Reserved forms: ftype 10, FCVT to its own precision, W <-> D moves, fixed point with
// scale < 32 into a W register, the half-precision arithmetic (FEAT_FP16, not lifted).
TEST(A64Fp, ReservedEncodingsAreIllegal) {
  EXPECT_TRUE(illegal_word(0x1ea22820));  // fadd with ftype 10
  EXPECT_TRUE(illegal_word(0x1e224020));  // fcvt s0, s1
  EXPECT_TRUE(illegal_word(0x1e670020));  // fmov d0, w1
  EXPECT_TRUE(illegal_word(0x1e180420));  // fcvtzs w0, s1, #63 (scale 1)
  EXPECT_TRUE(illegal_word(0x1ee22820));  // fadd h0, h1, h2
  EXPECT_TRUE(illegal_word(0x1e26c020));  // 1-source opcode 0x0d (reserved)
}

// FPSR accumulates: flags raised by earlier instructions stay set, and flags are not raised by
// operations that are exact.
TEST(A64Fp, FpsrIsCumulative) {
  A64Machine m;
  m.st().fpsr = 0x1;  // IOC already set
  m.vlo(1) = 0x3f800000;  // 1.0f
  m.vlo(2) = 0x40000000;  // 2.0f
  m.exec("fadd s0, s1, s2; fmul s3, s1, s2");
  EXPECT_EQ(m.st().fpsr, 0x1u);
  m.vlo(2) = 0x40400000;  // 3.0f
  m.exec("fdiv s0, s1, s2");
  EXPECT_EQ(m.st().fpsr, 0x11u);  // IOC | IXC
}

// The host's own rounding mode and flags are untouched by a guest's FP work.
TEST(A64Fp, HostFpEnvironmentIsRestored) {
  A64Machine m;
  m.st().fpcr = 3u << 22;  // round toward zero
  m.vlo(1) = 0x3f800000;
  m.vlo(2) = 0x40400000;
  m.exec("fdiv s0, s1, s2");
  volatile double third = 1.0, three = 3.0;
  EXPECT_EQ(third / three, 1.0 / 3.0);  // host still rounds to nearest
}

}  // namespace
}  // namespace vmkit::a64::test
