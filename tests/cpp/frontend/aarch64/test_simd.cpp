// Advanced SIMD: the instructions glibc's string and memory routines use, the integer forms gcc's
// auto-vectoriser emits, and the structure loads and stores. The expected values of the
// table-driven cases below were produced by running the same code in unicorn (qemu).
#include <cstring>

#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

// AND/ORR/EOR/BIC/ORN/NOT/MOV on 128 bits; the 8B forms clear the high half.
TEST(A64Simd, BitwiseOpsOnBothHalvesAndQ0ClearsHigh) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 9, 0x1ull, 0x1ull);
  set_v(m, 11, 0x5ull, 0x5ull);
  m.exec("and v3.16b, v1.16b, v2.16b; orr v4.16b, v1.16b, v2.16b; eor v5.16b, v1.16b, v2.16b; bic v6.16b, v1.16b, v2.16b; orn v7.16b, v1.16b, v2.16b; not v8.16b, v1.16b; and v9.8b, v1.8b, v2.8b; mov v10.16b, v1.16b; eor v11.8b, v11.8b, v11.8b");
  EXPECT_V(m, 3, 0x80820080000000ull, 0x8000000000000000ull);
  EXPECT_V(m, 4, 0xff81ff8384858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 5, 0xff017d8304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 6, 0x8001008304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 7, 0x80ff82ffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 8, 0x7f7e7d7c7b7a7978ull, 0xf1f2f3f4f5f6f7full);
  EXPECT_V(m, 9, 0x80820080000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 11, 0x0ull, 0x0ull);
}

// BSL selects by Vd, BIT inserts Vn where Vm is set, BIF where it is clear.
TEST(A64Simd, BslBitBifSelectBits) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 3, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 4, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 5, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 6, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("bsl v3.16b, v1.16b, v2.16b; bit v4.16b, v1.16b, v2.16b; bif v5.16b, v1.16b, v2.16b; bit v6.8b, v1.8b, v2.8b");
  EXPECT_V(m, 3, 0x7e80fe0084040600ull, 0xf0e0d0c080000000ull);
  EXPECT_V(m, 4, 0x82820485060708ull, 0xfffefdfc80000001ull);
  EXPECT_V(m, 5, 0x8101038304858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 6, 0x82820485060708ull, 0x0ull);
}

// Every AdvSIMDExpandImm shape: shifted, MSL, bytes, the 64-bit bit-per-byte pattern, FMOV.
TEST(A64Simd, MoviMvniOrrBicImmediates) {
  A64Machine m;
  set_v(m, 4, 0x7ull, 0x7ull);
  set_v(m, 5, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 6, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 7, 0x1ull, 0x1ull);
  set_v(m, 11, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 12, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  m.exec("movi v0.16b, #0x41; movi v1.4s, #0x12, lsl #16; mvni v2.8h, #0x80, lsl #8; movi v3.2d, #0xff00ff00000000ff; movi d4, #0xffff; orr v5.4s, #0x80, lsl #24; bic v6.8h, #0x3f; movi v7.2s, #0x7, msl #8; mvni v8.4s, #0x1, msl #16; fmov v9.4s, #1.5; fmov v10.2d, #-2.0; bic v11.4h, #0xff, lsl #8; orr v12.2s, #0x1");
  EXPECT_V(m, 0, 0x4141414141414141ull, 0x4141414141414141ull);
  EXPECT_V(m, 1, 0x12000000120000ull, 0x12000000120000ull);
  EXPECT_V(m, 2, 0x7fff7fff7fff7fffull, 0x7fff7fff7fff7fffull);
  EXPECT_V(m, 3, 0xff00ff00000000ffull, 0xff00ff00000000ffull);
  EXPECT_V(m, 4, 0xffffull, 0x0ull);
  EXPECT_V(m, 5, 0x8102030485060708ull, 0xfffefdfc80000001ull);
  EXPECT_V(m, 6, 0x8080828084808680ull, 0xf0c0d0c0b0809080ull);
  EXPECT_V(m, 7, 0x7ff000007ffull, 0x0ull);
  EXPECT_V(m, 8, 0xfffe0000fffe0000ull, 0xfffe0000fffe0000ull);
  EXPECT_V(m, 9, 0x3fc000003fc00000ull, 0x3fc000003fc00000ull);
  EXPECT_V(m, 10, 0xc000000000000000ull, 0xc000000000000000ull);
  EXPECT_V(m, 11, 0xff00ff00ff00ffull, 0x0ull);
  EXPECT_V(m, 12, 0xff00ff00ff00ffull, 0x0ull);
}

// DUP of a W/X register (the low bits of it) and of an element, at the first and last lanes.
TEST(A64Simd, DupFromGeneralAndElement) {
  A64Machine m;
  m.x(1) = 0x123456789abcdef0ull;
  set_v(m, 2, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 5, 0x7ull, 0x7ull);
  set_v(m, 13, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("dup v0.16b, w1; dup v3.8h, w1; dup v4.4s, w1; dup v5.2s, w1; dup v6.2d, x1; dup v7.16b, v2.b[15]; dup v8.8h, v2.h[5]; dup v9.4s, v2.s[1]; dup v10.2d, v2.d[1]; dup v11.16b, wzr; dup v12.8b, v2.b[0]; mov b13, v2.b[15]; mov h14, v2.h[6]; mov s15, v2.s[2]; mov d16, v2.d[1]");
  EXPECT_V(m, 0, 0xf0f0f0f0f0f0f0f0ull, 0xf0f0f0f0f0f0f0f0ull);
  EXPECT_V(m, 3, 0xdef0def0def0def0ull, 0xdef0def0def0def0ull);
  EXPECT_V(m, 4, 0x9abcdef09abcdef0ull, 0x9abcdef09abcdef0ull);
  EXPECT_V(m, 5, 0x9abcdef09abcdef0ull, 0x0ull);
  EXPECT_V(m, 6, 0x123456789abcdef0ull, 0x123456789abcdef0ull);
  EXPECT_V(m, 7, 0xf0f0f0f0f0f0f0f0ull, 0xf0f0f0f0f0f0f0f0ull);
  EXPECT_V(m, 8, 0xb0a0b0a0b0a0b0a0ull, 0xb0a0b0a0b0a0b0a0ull);
  EXPECT_V(m, 9, 0x8081828380818283ull, 0x8081828380818283ull);
  EXPECT_V(m, 10, 0xf0e0d0c0b0a09080ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 11, 0x0ull, 0x0ull);
  EXPECT_V(m, 12, 0x8787878787878787ull, 0x0ull);
  EXPECT_V(m, 13, 0xf0ull, 0x0ull);
  EXPECT_V(m, 14, 0xd0c0ull, 0x0ull);
  EXPECT_V(m, 15, 0xb0a09080ull, 0x0ull);
  EXPECT_V(m, 16, 0xf0e0d0c0b0a09080ull, 0x0ull);
}

// UMOV/SMOV to W (upper half cleared) and X; INS from a register and an element keeps the other lanes.
TEST(A64Simd, UmovSmovInsMoveLanes) {
  A64Machine m;
  m.x(0) = 0xffffffffffffffffull;
  m.x(4) = 0xffffffffffffffffull;
  m.x(9) = 0xdeadbeefcafef00dull;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 3, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 4, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  m.exec("umov w0, v1.b[15]; umov w1, v1.h[1]; mov w2, v1.s[3]; mov x3, v1.d[1]; smov w4, v1.b[0]; smov x5, v1.h[7]; smov x6, v1.s[1]; ins v2.b[9], w9; ins v2.s[1], w9; mov v3.d[1], x9; mov v3.h[0], v1.h[4]; mov v4.b[15], v1.b[0]; smov w7, v1.h[3]");
  EXPECT_V(m, 2, 0xcafef00d05060708ull, 0xfffefdfc80000d01ull);
  EXPECT_V(m, 3, 0xff00ff00ff9080ull, 0xdeadbeefcafef00dull);
  EXPECT_V(m, 4, 0x7f80ff0080000000ull, 0x8700000000000000ull);
  EXPECT_EQ(m.x(0), 0xf0ull);
  EXPECT_EQ(m.x(1), 0x8485ull);
  EXPECT_EQ(m.x(2), 0xf0e0d0c0ull);
  EXPECT_EQ(m.x(3), 0xf0e0d0c0b0a09080ull);
  EXPECT_EQ(m.x(4), 0xffffff87ull);
  EXPECT_EQ(m.x(5), 0xfffffffffffff0e0ull);
  EXPECT_EQ(m.x(6), 0xffffffff80818283ull);
  EXPECT_EQ(m.x(7), 0xffff8081ull);
}

// FMOV general <-> FP register (the upper bits cleared), and Xd <-> Vn.D[1] (the low half kept).
TEST(A64Simd, FmovBetweenGeneralAndVector) {
  A64Machine m;
  m.x(1) = 0x1122334455667788ull;
  m.x(6) = 0xffffffffffffffffull;
  m.x(10) = 0x5ull;
  set_v(m, 0, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 3, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 4, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 8, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 9, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 12, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("fmov d0, x1; fmov s1, w1; fmov x5, d2; fmov w6, s2; fmov v3.d[1], x1; fmov x7, v4.d[1]; fmov d8, xzr; fmov h9, w1; fmov w10, h2; fmov x11, h2; fmov h12, x1");
  EXPECT_V(m, 0, 0x1122334455667788ull, 0x0ull);
  EXPECT_V(m, 1, 0x55667788ull, 0x0ull);
  EXPECT_V(m, 3, 0x102030405060708ull, 0x1122334455667788ull);
  EXPECT_V(m, 8, 0x0ull, 0x0ull);
  EXPECT_V(m, 9, 0x7788ull, 0x0ull);
  EXPECT_V(m, 12, 0x7788ull, 0x0ull);
  EXPECT_EQ(m.x(5), 0x8081828384858687ull);
  EXPECT_EQ(m.x(6), 0x84858687ull);
  EXPECT_EQ(m.x(7), 0x8000000000000000ull);
  EXPECT_EQ(m.x(10), 0x8687ull);
  EXPECT_EQ(m.x(11), 0x8687ull);
}

// The strlen/strchr compares: CMEQ of bytes (lifted as orcb) against a register and zero, and wider lanes.
TEST(A64Simd, CmeqOfBytesAgainstRegisterAndZero) {
  A64Machine m;
  set_v(m, 1, 0x41004200430044ull, 0x6100000000000061ull);
  set_v(m, 2, 0x4141414141414141ull, 0x6161616161616161ull);
  set_v(m, 8, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 12, 0x0ull, 0x5ull);
  m.exec("cmeq v3.16b, v1.16b, v2.16b; cmeq v4.16b, v1.16b, #0; cmeq v5.8b, v1.8b, #0; cmeq v6.8h, v1.8h, #0; cmeq v7.4s, v1.4s, v2.4s; cmeq d8, d1, d1; cmeq v9.8b, v1.8b, v2.8b; cmeq v10.2d, v1.2d, #0; cmeq d11, d12, #0");
  EXPECT_V(m, 3, 0xff000000000000ull, 0xff000000000000ffull);
  EXPECT_V(m, 4, 0xff00ff00ff00ff00ull, 0xffffffffffff00ull);
  EXPECT_V(m, 5, 0xff00ff00ff00ff00ull, 0x0ull);
  EXPECT_V(m, 6, 0x0ull, 0xffffffff0000ull);
  EXPECT_V(m, 7, 0x0ull, 0x0ull);
  EXPECT_V(m, 8, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 9, 0xff000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x0ull, 0x0ull);
  EXPECT_V(m, 11, 0xffffffffffffffffull, 0x0ull);
}

// CMHS/CMHI/CMGE/CMGT/CMTST and the compares with zero at the sign boundary of each lane size.
TEST(A64Simd, SignedAndUnsignedCompares) {
  A64Machine m;
  set_v(m, 1, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 2, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  m.exec("cmhs v3.16b, v1.16b, v2.16b; cmhi v4.16b, v1.16b, v2.16b; cmge v5.16b, v1.16b, v2.16b; cmgt v6.2d, v1.2d, v2.2d; cmtst v7.16b, v1.16b, v2.16b; cmgt v8.8h, v1.8h, #0; cmlt v9.4s, v1.4s, #0; cmle v10.16b, v1.16b, #0; cmge v11.2d, v1.2d, #0; cmhs d12, d1, d2; cmgt v13.4s, v2.4s, v1.4s; cmhi v14.8h, v2.8h, v1.8h; cmtst d15, d1, d2; cmge v16.4h, v2.4h, v1.4h");
  EXPECT_V(m, 3, 0xff0000000000ull, 0x0ull);
  EXPECT_V(m, 4, 0xff0000000000ull, 0x0ull);
  EXPECT_V(m, 5, 0xff00ffff00ffffffull, 0xffffffffffffffull);
  EXPECT_V(m, 6, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 7, 0xffff00ff000000ull, 0xff00000000000000ull);
  EXPECT_V(m, 8, 0xffff000000000000ull, 0x0ull);
  EXPECT_V(m, 9, 0xffffffffull, 0xffffffff00000000ull);
  EXPECT_V(m, 10, 0xffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 11, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 12, 0x0ull, 0x0ull);
  EXPECT_V(m, 13, 0xffffffffull, 0xffffffff00000000ull);
  EXPECT_V(m, 14, 0xffff0000ffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 15, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 16, 0xffff0000ull, 0x0ull);
}

// UMAXP/UMINP/ADDP (strlen and memchr reduce with these), the across-lanes reductions and scalar ADDP.
TEST(A64Simd, PairwiseAndAcrossLanes) {
  A64Machine m;
  set_v(m, 1, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 2, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 7, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  m.exec("umaxp v3.16b, v1.16b, v2.16b; uminp v4.16b, v1.16b, v2.16b; addp v5.16b, v1.16b, v2.16b; addp v6.2d, v1.2d, v2.2d; umaxv b7, v1.16b; uminv h8, v1.8h; addv b9, v1.16b; addv s10, v2.4s; smaxv b11, v1.16b; sminv b12, v1.8b; uaddlv h13, v1.16b; saddlv s14, v1.8h; addp d15, v1.2d; smaxp v16.4s, v1.4s, v2.4s; sminp v17.8h, v1.8h, v2.8h; addp v18.2s, v1.2s, v2.2s; umaxp v19.8b, v1.8b, v2.8b; umaxv s20, v2.4s; uaddlv d21, v2.4s");
  EXPECT_V(m, 3, 0xfffd800102040608ull, 0x10203040ffffffffull);
  EXPECT_V(m, 4, 0xfefc000001030507ull, 0x0ull);
  EXPECT_V(m, 5, 0xfdf9800103070b0full, 0x10203040ffffffffull);
  EXPECT_V(m, 6, 0x101010085060709ull, 0x10ff20ff30ff40ffull);
  EXPECT_V(m, 7, 0xffull, 0x0ull);
  EXPECT_V(m, 8, 0x1ull, 0x0ull);
  EXPECT_V(m, 9, 0x9bull, 0x0ull);
  EXPECT_V(m, 10, 0x41fe61feull, 0x0ull);
  EXPECT_V(m, 11, 0x8ull, 0x0ull);
  EXPECT_V(m, 12, 0x1ull, 0x0ull);
  EXPECT_V(m, 13, 0x49bull, 0x0ull);
  EXPECT_V(m, 14, 0xffff8e0full, 0x0ull);
  EXPECT_V(m, 15, 0x101010085060709ull, 0x0ull);
  EXPECT_V(m, 16, 0xfffefdfc05060708ull, 0x3000400000ff00ffull);
  EXPECT_V(m, 17, 0xfdfc800001020506ull, 0x1000300000ff00ffull);
  EXPECT_V(m, 18, 0x1fe01fe06080a0cull, 0x0ull);
  EXPECT_V(m, 19, 0xffffffff02040608ull, 0x0ull);
  EXPECT_V(m, 20, 0x30004000ull, 0x0ull);
  EXPECT_V(m, 21, 0x41fe61feull, 0x0ull);
}

// SHRN #4 of 8H lanes (glibc's 64-bit match mask), RSHRN, SHRN2 into the high half, XTN/XTN2.
TEST(A64Simd, ShrnNarrowsTheNibbleMask) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 5, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 8, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  m.exec("shrn v3.8b, v1.8h, #4; shrn v4.4h, v1.4s, #16; shrn2 v5.16b, v1.8h, #1; rshrn v6.8b, v1.8h, #8; xtn v7.8b, v1.8h; xtn2 v8.8h, v1.4s; xtn v9.2s, v1.2d; shrn v10.2s, v1.2d, #32");
  EXPECT_V(m, 3, 0xe0c0a0808284868ull, 0x0ull);
  EXPECT_V(m, 4, 0xf0e0b0a080818485ull, 0x0ull);
  EXPECT_V(m, 5, 0x102030405060708ull, 0x7060504040414243ull);
  EXPECT_V(m, 6, 0xf1d1b19181838587ull, 0x0ull);
  EXPECT_V(m, 7, 0xe0c0a08081838587ull, 0x0ull);
  EXPECT_V(m, 8, 0xff00ff00ff00ffull, 0xd0c0908082838687ull);
  EXPECT_V(m, 9, 0xb0a0908084858687ull, 0x0ull);
  EXPECT_V(m, 10, 0xf0e0d0c080818283ull, 0x0ull);
}

// USHR/SSHR by 1 and by the element width, SHL by 0 and width-1, the accumulating and rounding forms, SLI/SRI, USHLL/SSHLL (UXTL/SXTL) and their "2" forms, scalar D shifts.
TEST(A64Simd, ShiftsByImmediate) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 11, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 13, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 14, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 15, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 24, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("ushr v3.16b, v1.16b, #8; sshr v4.16b, v1.16b, #8; ushr v5.8h, v1.8h, #1; sshr v6.4s, v1.4s, #31; ushr v7.2d, v1.2d, #64; sshr v8.2d, v1.2d, #64; shl v9.16b, v1.16b, #7; shl v10.2d, v1.2d, #0; usra v11.8h, v1.8h, #4; srshr v12.4s, v1.4s, #3; ursra v13.16b, v1.16b, #1; sli v14.8h, v1.8h, #4; sri v15.4s, v1.4s, #8; uxtl v16.8h, v1.8b; sxtl2 v17.4s, v1.8h; ushll v18.2d, v1.2s, #31; sshll2 v19.8h, v1.16b, #3; ushr d20, d1, #63; shl d21, d1, #63; sshr d22, d1, #1; ushr v23.2s, v1.2s, #32; sri v24.16b, v1.16b, #8");
  EXPECT_V(m, 3, 0x0ull, 0x0ull);
  EXPECT_V(m, 4, 0xffffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 5, 0x4040414142424343ull, 0x7870686058504840ull);
  EXPECT_V(m, 6, 0xffffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 7, 0x0ull, 0x0ull);
  EXPECT_V(m, 8, 0xffffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 9, 0x80008000800080ull, 0x0ull);
  EXPECT_V(m, 10, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 11, 0x90a0b2c0d4e0f70ull, 0xf0c0b088b0a0909ull);
  EXPECT_V(m, 12, 0xf0103050f090b0d1ull, 0xfe1c1a18f6141210ull);
  EXPECT_V(m, 13, 0x4143444647494a4cull, 0x776e655cd8504841ull);
  EXPECT_V(m, 14, 0x81f283f485f687full, 0xe000c000a000800ull);
  EXPECT_V(m, 15, 0x80818200848586ull, 0x10f0e0d030b0a090ull);
  EXPECT_V(m, 16, 0x84008500860087ull, 0x80008100820083ull);
  EXPECT_V(m, 17, 0xffffb0a0ffff9080ull, 0xfffff0e0ffffd0c0ull);
  EXPECT_V(m, 18, 0x4242c34380000000ull, 0x4040c14180000000ull);
  EXPECT_V(m, 19, 0xfd80fd00fc80fc00ull, 0xff80ff00fe80fe00ull);
  EXPECT_V(m, 20, 0x1ull, 0x0ull);
  EXPECT_V(m, 21, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 22, 0xc040c141c242c343ull, 0x0ull);
  EXPECT_V(m, 23, 0x0ull, 0x0ull);
  EXPECT_V(m, 24, 0x102030405060708ull, 0xfffefdfc80000001ull);
}

// ADD/SUB of each lane size (64-bit lanes lifted inline), MUL/MLA/MLS, SMULL/UMULL(2), UADDL/SADDW, SABD, MAX/MIN, ABS/NEG at the most negative value.
TEST(A64Simd, AddSubAndWideningArithmetic) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 11, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 12, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 26, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 27, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  m.exec("add v3.16b, v1.16b, v2.16b; sub v4.8h, v1.8h, v2.8h; add v5.4s, v1.4s, v2.4s; add v6.2d, v1.2d, v2.2d; sub v7.2d, v1.2d, v2.2d; add d8, d1, d2; sub d9, d1, d2; mul v10.8h, v1.8h, v2.8h; mla v11.4s, v1.4s, v2.4s; mls v12.16b, v1.16b, v2.16b; smull v13.4s, v1.4h, v2.4h; umull2 v14.2d, v1.4s, v2.4s; uaddl v15.8h, v1.8b, v2.8b; saddw2 v16.4s, v1.4s, v2.8h; sabd v17.16b, v1.16b, v2.16b; umax v18.8h, v1.8h, v2.8h; smin v19.4s, v1.4s, v2.4s; abs v20.16b, v1.16b; neg v21.2d, v1.2d; abs d22, d2; uabdl v23.8h, v1.8b, v2.8b; smax v24.16b, v1.16b, v2.16b; umin v25.2s, v1.2s, v2.2s; umlal v26.2d, v1.2s, v2.2s; smlsl2 v27.4s, v1.8h, v2.8h; add v28.2s, v1.2s, v2.2s");
  EXPECT_V(m, 3, 0xff01818304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 4, 0x101838304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 5, 0x2818304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 6, 0x2818404858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 7, 0x100838304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 8, 0x2818404858687ull, 0x0ull);
  EXPECT_V(m, 9, 0x100838304858687ull, 0x0ull);
  EXPECT_V(m, 10, 0x3f807d0080000000ull, 0x0ull);
  EXPECT_V(m, 11, 0x4082800485060708ull, 0xfffefdfc80000001ull);
  EXPECT_V(m, 12, 0x807f82ff00ff00ffull, 0x1000200030004000ull);
  EXPECT_V(m, 13, 0x3dbd800000000000ull, 0xc0803f80007d7d00ull);
  EXPECT_V(m, 14, 0x0ull, 0x7870686000000000ull);
  EXPECT_V(m, 15, 0x104008500860087ull, 0xff010101810083ull);
  EXPECT_V(m, 16, 0x8081828384858687ull, 0xf0e050c0b0a09080ull);
  EXPECT_V(m, 17, 0xff017d7d047b7a79ull, 0x7020304050607080ull);
  EXPECT_V(m, 18, 0x8081ff0084858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 19, 0x8081828380000000ull, 0x80000000b0a09080ull);
  EXPECT_V(m, 20, 0x807f7e7d7c7b7a79ull, 0x1020304050607080ull);
  EXPECT_V(m, 21, 0x7f7e7d7c7b7a7979ull, 0xf1f2f3f4f5f6f80ull);
  EXPECT_V(m, 22, 0x7f80ff0080000000ull, 0x0ull);
  EXPECT_V(m, 23, 0x4008500860087ull, 0x10001007d0083ull);
  EXPECT_V(m, 24, 0x7f81ff0084000000ull, 0xf000000000000000ull);
  EXPECT_V(m, 25, 0x7f80ff0080000000ull, 0x0ull);
  EXPECT_V(m, 26, 0x4344c64785060708ull, 0x3ffffe7dbf807d01ull);
  EXPECT_V(m, 27, 0xff00ff00ff00ffull, 0x870200030004000ull);
  EXPECT_V(m, 28, 0x2818304858687ull, 0x0ull);
}

// UQADD/SQADD/UQSUB/SQSUB saturate at each lane size; UHADD/SRHADD do not overflow; SQXTN/UQXTN/SQXTUN saturate.
TEST(A64Simd, SaturatingAndHalvingArithmetic) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 15, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("uqadd v3.16b, v1.16b, v2.16b; sqadd v4.8h, v1.8h, v2.8h; uqsub v5.4s, v1.4s, v2.4s; sqsub v6.2d, v1.2d, v2.2d; uhadd v7.16b, v1.16b, v2.16b; srhadd v8.8h, v1.8h, v2.8h; sqxtn v9.8b, v1.8h; uqxtn v10.4h, v1.4s; sqxtun v11.2s, v1.2d; sqadd d12, d1, d2; sqabs v13.16b, v1.16b; sqneg v14.4s, v2.4s; uqxtn2 v15.16b, v2.8h");
  EXPECT_V(m, 3, 0xffffff83ff858687ull, 0xffe0d0c0b0a09080ull);
  EXPECT_V(m, 4, 0x1818380008687ull, 0x8000d0c0b0a09080ull);
  EXPECT_V(m, 5, 0x100838304858687ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 6, 0x8000000000000000ull, 0x70e0d0c0b0a09080ull);
  EXPECT_V(m, 7, 0x7f80c04182424343ull, 0xb870686058504840ull);
  EXPECT_V(m, 8, 0x1c0c28243c344ull, 0xb870e860d850c840ull);
  EXPECT_V(m, 9, 0x8080808080808080ull, 0x0ull);
  EXPECT_V(m, 10, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 11, 0x0ull, 0x0ull);
  EXPECT_V(m, 12, 0x2818404858687ull, 0x0ull);
  EXPECT_V(m, 13, 0x7f7f7e7d7c7b7a79ull, 0x102030405060707full);
  EXPECT_V(m, 14, 0x807f01007fffffffull, 0x7fffffff00000000ull);
  EXPECT_V(m, 15, 0x102030405060708ull, 0xff000000ffffff00ull);
  EXPECT_EQ(m.st().fpsr, 1u << 27) << "QC: a lane saturated";
}

// FPSR.QC is cumulative: set by the first saturating lane, kept by later operations that do not
// saturate, cleared only by a write of FPSR.
TEST(A64Simd, SaturationSetsTheCumulativeQcFlag) {
  A64Machine m;
  set_v(m, 1, 0x0102030405060708ull, 0x0102030405060708ull);
  m.exec("uqadd v3.16b, v1.16b, v1.16b; sqxtn v4.8b, v6.8h; sqdmulh v5.4s, v1.4s, v1.s[0]");  // (v6 = 0)
  EXPECT_EQ(m.st().fpsr, 0u) << "nothing saturated";
  set_v(m, 2, 0xffffffffffffffffull, 0x7fff7fff7fff7fffull);
  m.exec("uqadd v3.16b, v2.16b, v2.16b; uqadd v4.16b, v1.16b, v1.16b");
  EXPECT_EQ(m.st().fpsr, 1u << 27);
  m.exec("mov x0, #0x10; msr fpsr, x0; sqadd v3.8h, v1.8h, v1.8h; mrs x1, fpsr");
  EXPECT_EQ(m.x(1), 0x10u) << "cleared by the write, and no lane saturated after it";
}

// CNT, CLZ/CLS, RBIT, REV64/REV32/REV16, UADDLP/SADALP.
TEST(A64Simd, CntClzRevAndPairwiseLong) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 12, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("cnt v3.16b, v1.16b; clz v4.8h, v1.8h; cls v5.4s, v1.4s; rbit v6.16b, v1.16b; rev64 v7.16b, v1.16b; rev64 v8.4s, v1.4s; rev32 v9.8h, v1.8h; rev16 v10.16b, v1.16b; uaddlp v11.8h, v1.16b; sadalp v12.2d, v1.4s; clz v13.16b, v2.16b; cls v14.8b, v2.8b; rev64 v15.8b, v1.8b; cnt v16.8b, v2.8b");
  EXPECT_V(m, 3, 0x102020302030304ull, 0x403030203020201ull);
  EXPECT_V(m, 4, 0x0ull, 0x0ull);
  EXPECT_V(m, 5, 0x0ull, 0x300000000ull);
  EXPECT_V(m, 6, 0x18141c121a161e1ull, 0xf070b030d050901ull);
  EXPECT_V(m, 7, 0x8786858483828180ull, 0x8090a0b0c0d0e0f0ull);
  EXPECT_V(m, 8, 0x8485868780818283ull, 0xb0a09080f0e0d0c0ull);
  EXPECT_V(m, 9, 0x8283808186878485ull, 0xd0c0f0e09080b0a0ull);
  EXPECT_V(m, 10, 0x8180838285848786ull, 0xe0f0c0d0a0b08090ull);
  EXPECT_V(m, 11, 0x10101050109010dull, 0x1d0019001500110ull);
  EXPECT_V(m, 12, 0x10203030a0d1012ull, 0xfffefdfc21816141ull);
  EXPECT_V(m, 13, 0x100000800080808ull, 0x8080808080808ull);
  EXPECT_V(m, 14, 0x70700070707ull, 0x0ull);
  EXPECT_V(m, 15, 0x8786858483828180ull, 0x0ull);
  EXPECT_V(m, 16, 0x701080001000000ull, 0x0ull);
}

// EXT at 0, inside the first register, at 8 and past it; the 8B form.
TEST(A64Simd, ExtExtractsFromTheConcatenation) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("ext v3.16b, v1.16b, v2.16b, #0; ext v4.16b, v1.16b, v2.16b, #3; ext v5.16b, v1.16b, v2.16b, #8; ext v6.16b, v1.16b, v2.16b, #15; ext v7.8b, v1.8b, v2.8b, #5; ext v8.16b, v1.16b, v1.16b, #12; ext v9.8b, v1.8b, v2.8b, #0");
  EXPECT_V(m, 3, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  EXPECT_V(m, 4, 0xa090808081828384ull, 0x60708f0e0d0c0b0ull);
  EXPECT_V(m, 5, 0xf0e0d0c0b0a09080ull, 0x102030405060708ull);
  EXPECT_V(m, 6, 0x2030405060708f0ull, 0xfefdfc8000000101ull);
  EXPECT_V(m, 7, 0x405060708808182ull, 0x0ull);
  EXPECT_V(m, 8, 0x84858687f0e0d0c0ull, 0xb0a0908080818283ull);
  EXPECT_V(m, 9, 0x8081828384858687ull, 0x0ull);
}

// ZIP1/ZIP2, UZP1/UZP2 and TRN1/TRN2 at byte, halfword, word and doubleword lanes.
TEST(A64Simd, ZipUzpTrnPermute) {
  A64Machine m;
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x102030405060708ull, 0xfffefdfc80000001ull);
  m.exec("zip1 v3.16b, v1.16b, v2.16b; zip2 v4.8h, v1.8h, v2.8h; uzp1 v5.4s, v1.4s, v2.4s; uzp2 v6.16b, v1.16b, v2.16b; trn1 v7.8h, v1.8h, v2.8h; trn2 v8.2d, v1.2d, v2.2d; zip1 v9.8b, v1.8b, v2.8b; uzp1 v10.2s, v1.2s, v2.2s; trn2 v11.16b, v1.16b, v2.16b; zip2 v12.2d, v1.2d, v2.2d");
  EXPECT_V(m, 3, 0x584068507860887ull, 0x180028103820483ull);
  EXPECT_V(m, 4, 0x8000b0a000019080ull, 0xfffef0e0fdfcd0c0ull);
  EXPECT_V(m, 5, 0xb0a0908084858687ull, 0x8000000105060708ull);
  EXPECT_V(m, 6, 0xf0d0b09080828486ull, 0xfffd800001030507ull);
  EXPECT_V(m, 7, 0x304828307088687ull, 0xfdfcd0c000019080ull);
  EXPECT_V(m, 8, 0xf0e0d0c0b0a09080ull, 0xfffefdfc80000001ull);
  EXPECT_V(m, 9, 0x584068507860887ull, 0x0ull);
  EXPECT_V(m, 10, 0x506070884858687ull, 0x0ull);
  EXPECT_V(m, 11, 0x180038205840786ull, 0xfff0fdd080b00090ull);
  EXPECT_V(m, 12, 0xf0e0d0c0b0a09080ull, 0xfffefdfc80000001ull);
}

// TBL with one and two table registers (out-of-range indices give 0), TBX (they keep Vd), a table wrapping from v31 to v0.
TEST(A64Simd, TblTbxLookUpBytes) {
  A64Machine m;
  set_v(m, 0, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 1, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 2, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 5, 0x1f10ff0f080100ull, 0x403f2f201e111009ull);
  set_v(m, 6, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 31, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  m.exec("tbl v3.16b, {v1.16b}, v5.16b; tbl v4.16b, {v1.16b, v2.16b}, v5.16b; tbx v6.16b, {v1.16b}, v5.16b; tbl v7.8b, {v1.16b, v2.16b, v3.16b}, v5.8b; tbl v8.16b, {v31.16b, v0.16b}, v5.16b");
  EXPECT_V(m, 3, 0x87000000f0808687ull, 0x90ull);
  EXPECT_V(m, 4, 0x87ff0800f0808687ull, 0xfe070890ull);
  EXPECT_V(m, 6, 0x87ff00fff0808687ull, 0x1000200030004090ull);
  EXPECT_V(m, 7, 0x87ff0800f0808687ull, 0x0ull);
  EXPECT_V(m, 8, 0xff080080000000ull, 0xfe070800ull);
}

// LD1/ST1 of one to four registers, with post-index by the size and by a register; 8B registers clear their high half.
TEST(A64Simd, Ld1St1MultipleRegisters) {
  A64Machine m;
  m.x(1) = 0x40000ull;
  m.x(2) = 0x30ull;
  m.x(3) = 0x40800ull;
  set_v(m, 30, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 31, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  const uint8_t data_40000[] = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f};
  m.mem.debug_write(0x40000, data_40000, sizeof data_40000);
  m.exec("ld1 {v0.16b}, [x1]; ld1 {v1.8b, v2.8b}, [x1], #16; ld1 {v3.4s, v4.4s, v5.4s}, [x1], x2; ld1 {v6.2d, v7.2d, v8.2d, v9.2d}, [x1]; st1 {v0.16b, v1.16b}, [x3], #32; st1 {v2.8b, v3.8b, v4.8b, v5.8b}, [x3]; st1 {v30.16b, v31.16b, v0.16b}, [x3], x2");
  EXPECT_V(m, 0, 0x2726252423222120ull, 0x2f2e2d2c2b2a2928ull);
  EXPECT_V(m, 1, 0x2726252423222120ull, 0x0ull);
  EXPECT_V(m, 2, 0x2f2e2d2c2b2a2928ull, 0x0ull);
  EXPECT_V(m, 3, 0x3736353433323130ull, 0x3f3e3d3c3b3a3938ull);
  EXPECT_V(m, 4, 0x4746454443424140ull, 0x4f4e4d4c4b4a4948ull);
  EXPECT_V(m, 5, 0x5756555453525150ull, 0x5f5e5d5c5b5a5958ull);
  EXPECT_V(m, 6, 0x6766656463626160ull, 0x6f6e6d6c6b6a6968ull);
  EXPECT_V(m, 7, 0x7776757473727170ull, 0x7f7e7d7c7b7a7978ull);
  EXPECT_V(m, 8, 0x8786858483828180ull, 0x8f8e8d8c8b8a8988ull);
  EXPECT_V(m, 9, 0x9796959493929190ull, 0x9f9e9d9c9b9a9998ull);
  EXPECT_EQ(m.x(1), 0x40040ull);
  EXPECT_EQ(m.x(3), 0x40850ull);
  const uint8_t expect_mem[] = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x87, 0x86, 0x85, 0x84, 0x83, 0x82, 0x81, 0x80, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x00, 0x00, 0x80, 0x00, 0xff, 0x80, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  uint8_t got_mem[sizeof expect_mem];
  m.mem.debug_read(0x40800, got_mem, sizeof got_mem);
  EXPECT_EQ(0, std::memcmp(got_mem, expect_mem, sizeof got_mem));
}

// LD2/LD3/LD4 deal the elements out to the registers; ST2/ST3/ST4 interleave them back.
TEST(A64Simd, Ld2Ld3Ld4St2DeinterleaveStructures) {
  A64Machine m;
  m.x(1) = 0x40000ull;
  m.x(3) = 0x40800ull;
  const uint8_t data_40000[] = {0x03, 0x0a, 0x11, 0x18, 0x1f, 0x26, 0x2d, 0x34, 0x3b, 0x42, 0x49, 0x50, 0x57, 0x5e, 0x65, 0x6c, 0x73, 0x7a, 0x81, 0x88, 0x8f, 0x96, 0x9d, 0xa4, 0xab, 0xb2, 0xb9, 0xc0, 0xc7, 0xce, 0xd5, 0xdc, 0xe3, 0xea, 0xf1, 0xf8, 0xff, 0x06, 0x0d, 0x14, 0x1b, 0x22, 0x29, 0x30, 0x37, 0x3e, 0x45, 0x4c, 0x53, 0x5a, 0x61, 0x68, 0x6f, 0x76, 0x7d, 0x84, 0x8b, 0x92, 0x99, 0xa0, 0xa7, 0xae, 0xb5, 0xbc, 0xc3, 0xca, 0xd1, 0xd8, 0xdf, 0xe6, 0xed, 0xf4, 0xfb, 0x02, 0x09, 0x10, 0x17, 0x1e, 0x25, 0x2c, 0x33, 0x3a, 0x41, 0x48, 0x4f, 0x56, 0x5d, 0x64, 0x6b, 0x72, 0x79, 0x80, 0x87, 0x8e, 0x95, 0x9c, 0xa3, 0xaa, 0xb1, 0xb8, 0xbf, 0xc6, 0xcd, 0xd4, 0xdb, 0xe2, 0xe9, 0xf0, 0xf7, 0xfe, 0x05, 0x0c, 0x13, 0x1a, 0x21, 0x28, 0x2f, 0x36, 0x3d, 0x44, 0x4b, 0x52, 0x59, 0x60, 0x67, 0x6e, 0x75, 0x7c};
  m.mem.debug_write(0x40000, data_40000, sizeof data_40000);
  m.exec("ld2 {v0.16b, v1.16b}, [x1]; ld3 {v2.8h, v3.8h, v4.8h}, [x1]; ld4 {v5.4s, v6.4s, v7.4s, v8.4s}, [x1], #64; ld2 {v9.2s, v10.2s}, [x1]; st2 {v2.8h, v3.8h}, [x3], #32; st3 {v5.8b, v6.8b, v7.8b}, [x3], #24; st4 {v0.2d, v1.2d, v2.2d, v3.2d}, [x3]");
  EXPECT_V(m, 0, 0x6557493b2d1f1103ull, 0xd5c7b9ab9d8f8173ull);
  EXPECT_V(m, 1, 0x6c5e50423426180aull, 0xdccec0b2a496887aull);
  EXPECT_V(m, 2, 0x88815e57342d0a03ull, 0x302906ffdcd5b2abull);
  EXPECT_V(m, 3, 0x968f6c65423b1811ull, 0x3e37140deae3c0b9ull);
  EXPECT_V(m, 4, 0xa49d7a735049261full, 0x4c45221bf8f1cec7ull);
  EXPECT_V(m, 5, 0x88817a7318110a03ull, 0x68615a53f8f1eae3ull);
  EXPECT_V(m, 6, 0xa49d968f342d261full, 0x847d766f140d06ffull);
  EXPECT_V(m, 7, 0xc0b9b2ab5049423bull, 0xa099928b3029221bull);
  EXPECT_V(m, 8, 0xdcd5cec76c655e57ull, 0xbcb5aea74c453e37ull);
  EXPECT_V(m, 9, 0x100902fbd8d1cac3ull, 0x0ull);
  EXPECT_V(m, 10, 0x2c251e17f4ede6dfull, 0x0ull);
  EXPECT_EQ(m.x(1), 0x40040ull);
  EXPECT_EQ(m.x(3), 0x40838ull);
  const uint8_t expect_mem[] = {0x03, 0x0a, 0x11, 0x18, 0x2d, 0x34, 0x3b, 0x42, 0x57, 0x5e, 0x65, 0x6c, 0x81, 0x88, 0x8f, 0x96, 0xab, 0xb2, 0xb9, 0xc0, 0xd5, 0xdc, 0xe3, 0xea, 0xff, 0x06, 0x0d, 0x14, 0x29, 0x30, 0x37, 0x3e, 0x03, 0x1f, 0x3b, 0x0a, 0x26, 0x42, 0x11, 0x2d, 0x49, 0x18, 0x34, 0x50, 0x73, 0x8f, 0xab, 0x7a, 0x96, 0xb2, 0x81, 0x9d, 0xb9, 0x88, 0xa4, 0xc0, 0x03, 0x11, 0x1f, 0x2d, 0x3b, 0x49, 0x57, 0x65, 0x0a, 0x18, 0x26, 0x34, 0x42, 0x50, 0x5e, 0x6c, 0x03, 0x0a, 0x2d, 0x34, 0x57, 0x5e, 0x81, 0x88, 0x11, 0x18, 0x3b, 0x42, 0x65, 0x6c, 0x8f, 0x96, 0x73, 0x81, 0x8f, 0x9d, 0xab, 0xb9, 0xc7, 0xd5, 0x7a, 0x88, 0x96, 0xa4, 0xb2, 0xc0, 0xce, 0xdc, 0xab, 0xb2, 0xd5, 0xdc, 0xff, 0x06, 0x29, 0x30, 0xb9, 0xc0, 0xe3, 0xea, 0x0d, 0x14, 0x37, 0x3e};
  uint8_t got_mem[sizeof expect_mem];
  m.mem.debug_read(0x40800, got_mem, sizeof got_mem);
  EXPECT_EQ(0, std::memcmp(got_mem, expect_mem, sizeof got_mem));
}

// LD1/ST1 of one lane (the other lanes kept), LD1R replicating to 8B and 16B, with post-index.
TEST(A64Simd, Ld1St1SingleLaneAndLd1r) {
  A64Machine m;
  m.x(1) = 0x40000ull;
  m.x(2) = 0x10ull;
  m.x(3) = 0x40800ull;
  set_v(m, 0, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  set_v(m, 1, 0x7f80ff0080000000ull, 0x8000000000000000ull);
  set_v(m, 2, 0x102030405060708ull, 0xfffefdfc80000001ull);
  set_v(m, 3, 0xff00ff00ff00ffull, 0x1000200030004000ull);
  set_v(m, 4, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  const uint8_t data_40000[] = {0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf};
  m.mem.debug_write(0x40000, data_40000, sizeof data_40000);
  m.exec("ld1 {v0.b}[15], [x1]; ld1 {v1.h}[3], [x1], #2; ld1 {v2.s}[2], [x1]; ld1 {v3.d}[1], [x1], x2; ld1r {v4.8b}, [x1]; ld1r {v5.8h}, [x1]; ld1r {v6.4s}, [x1], #4; ld1r {v7.2d}, [x1]; st1 {v1.b}[9], [x3], #1; st1 {v2.h}[7], [x3], #2; st1 {v3.s}[3], [x3], #4; st1 {v3.d}[0], [x3], #8");
  EXPECT_V(m, 0, 0x8081828384858687ull, 0x90e0d0c0b0a09080ull);
  EXPECT_V(m, 1, 0x9190ff0080000000ull, 0x8000000000000000ull);
  EXPECT_V(m, 2, 0x102030405060708ull, 0xfffefdfc95949392ull);
  EXPECT_V(m, 3, 0xff00ff00ff00ffull, 0x9998979695949392ull);
  EXPECT_V(m, 4, 0xa2a2a2a2a2a2a2a2ull, 0x0ull);
  EXPECT_V(m, 5, 0xa3a2a3a2a3a2a3a2ull, 0xa3a2a3a2a3a2a3a2ull);
  EXPECT_V(m, 6, 0xa5a4a3a2a5a4a3a2ull, 0xa5a4a3a2a5a4a3a2ull);
  EXPECT_V(m, 7, 0xadacabaaa9a8a7a6ull, 0xadacabaaa9a8a7a6ull);
  EXPECT_EQ(m.x(1), 0x40016ull);
  EXPECT_EQ(m.x(3), 0x4080full);
  const uint8_t expect_mem[] = {0x00, 0xfe, 0xff, 0x96, 0x97, 0x98, 0x99, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00};
  uint8_t got_mem[sizeof expect_mem];
  m.mem.debug_read(0x40800, got_mem, sizeof got_mem);
  EXPECT_EQ(0, std::memcmp(got_mem, expect_mem, sizeof got_mem));
}

// Vector FADD/FSUB/FMUL/FDIV/FMLA/FMLS/FABD/FMAX/FMINNM and the pairwise FADDP/FMAXP, lane by lane with the scalar rules; FPSR accumulates.
TEST(A64Simd, FloatVectorArithmetic) {
  A64Machine m;
  set_v(m, 1, 0xc00000003fc00000ull, 0x3dcccccd7f800000ull);
  set_v(m, 2, 0x7fc000003f000000ull, 0x8000000040400000ull);
  set_v(m, 5, 0x4004000000000000ull, 0xfe37e43c8800759cull);
  set_v(m, 6, 0xbfe0000000000000ull, 0x7e37e43c8800759cull);
  set_v(m, 9, 0xc00000003fc00000ull, 0x3dcccccd7f800000ull);
  set_v(m, 10, 0x4004000000000000ull, 0xfe37e43c8800759cull);
  m.exec("fadd v3.4s, v1.4s, v2.4s; fsub v4.2d, v5.2d, v6.2d; fmul v7.4s, v1.4s, v2.4s; fdiv v8.2s, v1.2s, v2.2s; fmla v9.4s, v1.4s, v2.4s; fmls v10.2d, v5.2d, v6.2d; fabd v11.4s, v1.4s, v2.4s; fmax v12.4s, v1.4s, v2.4s; fminnm v13.4s, v1.4s, v2.4s; faddp v14.4s, v1.4s, v2.4s; fmaxp v15.2d, v5.2d, v6.2d; fmul v16.2d, v5.2d, v6.2d");
  EXPECT_V(m, 3, 0x7fc0000040000000ull, 0x3dcccccd7f800000ull);
  EXPECT_V(m, 4, 0x4008000000000000ull, 0xfe47e43c8800759cull);
  EXPECT_V(m, 5, 0x4004000000000000ull, 0xfe37e43c8800759cull);
  EXPECT_V(m, 6, 0xbfe0000000000000ull, 0x7e37e43c8800759cull);
  EXPECT_V(m, 7, 0x7fc000003f400000ull, 0x800000007f800000ull);
  EXPECT_V(m, 8, 0x7fc0000040400000ull, 0x0ull);
  EXPECT_V(m, 9, 0x7fc0000040100000ull, 0x3dcccccd7f800000ull);
  EXPECT_V(m, 10, 0x400e000000000000ull, 0x7ff0000000000000ull);
  EXPECT_V(m, 11, 0x7fc000003f800000ull, 0x3dcccccd7f800000ull);
  EXPECT_V(m, 12, 0x7fc000003fc00000ull, 0x3dcccccd7f800000ull);
  EXPECT_V(m, 13, 0xc00000003f000000ull, 0x8000000040400000ull);
  EXPECT_V(m, 14, 0x7f800000bf000000ull, 0x404000007fc00000ull);
  EXPECT_V(m, 15, 0x4004000000000000ull, 0x7e37e43c8800759cull);
  EXPECT_V(m, 16, 0xbff4000000000000ull, 0xfff0000000000000ull);
  EXPECT_EQ(m.st().fpsr, 0x14u);
}

// FCMEQ/FCMGE/FCMGT give all-ones lanes (never for NaN), FABS/FNEG/FSQRT, FCVTZS/FCVTZU/SCVTF/UCVTF and FRINT* of vectors.
TEST(A64Simd, FloatVectorComparesAndConversions) {
  A64Machine m;
  set_v(m, 1, 0xc00000003fc00000ull, 0x3dcccccd7f800000ull);
  set_v(m, 2, 0xc04000003fc00000ull, 0x408000007f800000ull);
  set_v(m, 6, 0x4004000000000000ull, 0xfe37e43c8800759cull);
  set_v(m, 7, 0x4004000000000000ull, 0x7ff8000000000000ull);
  set_v(m, 14, 0xffffffff00000007ull, 0x8000000012345678ull);
  set_v(m, 16, 0xffffffffffffffffull, 0x3ull);
  set_v(m, 18, 0xc020000040200000ull, 0xbfc000003f000000ull);
  m.exec("fcmeq v3.4s, v1.4s, v2.4s; fcmge v4.4s, v1.4s, v2.4s; fcmgt v5.2d, v6.2d, v7.2d; fabs v8.4s, v1.4s; fneg v9.2d, v6.2d; fsqrt v10.4s, v2.4s; fcvtzs v11.4s, v1.4s; fcvtzu v12.2d, v6.2d; scvtf v13.4s, v14.4s; ucvtf v15.2d, v16.2d; frintn v17.4s, v18.4s; frintm v19.4s, v18.4s; frintp v20.2d, v6.2d; frinta v21.4s, v18.4s; frintz v22.2s, v18.2s");
  EXPECT_V(m, 3, 0xffffffffull, 0xffffffffull);
  EXPECT_V(m, 4, 0xffffffffffffffffull, 0xffffffffull);
  EXPECT_V(m, 5, 0x0ull, 0x0ull);
  EXPECT_V(m, 8, 0x400000003fc00000ull, 0x3dcccccd7f800000ull);
  EXPECT_V(m, 9, 0xc004000000000000ull, 0x7e37e43c8800759cull);
  EXPECT_V(m, 10, 0x7fc000003f9cc471ull, 0x400000007f800000ull);
  EXPECT_V(m, 11, 0xfffffffe00000001ull, 0x7fffffffull);
  EXPECT_V(m, 12, 0x2ull, 0x0ull);
  EXPECT_V(m, 13, 0xbf80000040e00000ull, 0xcf0000004d91a2b4ull);
  EXPECT_V(m, 15, 0x43f0000000000000ull, 0x4008000000000000ull);
  EXPECT_V(m, 17, 0xc000000040000000ull, 0xc000000000000000ull);
  EXPECT_V(m, 19, 0xc040000040000000ull, 0xc000000000000000ull);
  EXPECT_V(m, 20, 0x4008000000000000ull, 0xfe37e43c8800759cull);
  EXPECT_V(m, 21, 0xc040000040400000ull, 0xc00000003f800000ull);
  EXPECT_V(m, 22, 0xc000000040000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// Reserved encodings: 64-bit lanes in a 64-bit vector, the .1D forms of ops without them, EXT
// past 8 bytes of a 64-bit vector, LD2-LD4 of .1D.
TEST(A64Simd, ReservedEncodingsAreIllegal) {
  EXPECT_TRUE(illegal_word(0x0ee18400));  // add v0.1d, v0.1d, v1.1d (size 3, Q = 0)
  EXPECT_TRUE(illegal_word(0x4ee19c00));  // mul v0.2d (size 3)
  EXPECT_TRUE(illegal_word(0x0e080c20));  // dup v0.1d, x1 (Q = 0)
  EXPECT_TRUE(illegal_word(0x0e183c20));  // umov w0, v1.d[1] (Q = 0 with a D lane)
  EXPECT_TRUE(illegal_word(0x2e024020));  // ext v0.8b, v1.8b, v2.8b, #8
  EXPECT_TRUE(illegal_word(0x0c408c20));  // ld2 {v0.1d, v1.1d}, [x1]
  EXPECT_TRUE(illegal_word(0x2f00f400));  // fmov v0.1d, #imm (op 1, cmode 1111, Q = 0)
  EXPECT_TRUE(illegal_word(0x0ef1b820));  // addv of 64-bit lanes
  EXPECT_TRUE(illegal_word(0x0eb1b820));  // addv s0, v1.2s (Q = 0, S lanes)
  EXPECT_TRUE(illegal_word(0x0f410420));  // sshr with immh = 1xxx (D lanes) and Q = 0
}

// A fault in the second register of an LD1 leaves every register and the base as they were.
TEST(A64Simd, Ld1FaultingHalfWayChangesNothing) {
  A64Machine m;
  m.x(1) = kData + 0x10000 - 16;  // the second register's bytes are past the data mapping
  m.vlo(0) = 0x1111, m.vhi(0) = 0x2222;
  m.vlo(1) = 0x3333, m.vhi(1) = 0x4444;
  Stop s = m.run("ld1 {v0.16b, v1.16b}, [x1], #32");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.x(1), kData + 0x10000 - 16);
  EXPECT_EQ(m.vlo(0), 0x1111u);
  EXPECT_EQ(m.vhi(0), 0x2222u);
  EXPECT_EQ(m.vlo(1), 0x3333u);
}

// The strlen kernel of glibc (__strlen_asimd's loop shape): find the first NUL of a string with
// CMEQ, SHRN #4 and a 64-bit count of trailing zeros.
TEST(A64Simd, GlibcStrlenShapeFindsTheTerminator) {
  for (unsigned len = 0; len < 16; ++len) {
    A64Machine m;
    uint8_t s[16];
    for (unsigned k = 0; k < 16; ++k) s[k] = k < len ? uint8_t('a' + k) : 0;
    m.mem.debug_write(kData, s, 16);
    m.x(0) = kData;
    m.exec("ldr q0, [x0]; cmeq v0.16b, v0.16b, #0; shrn v0.8b, v0.8h, #4; fmov x1, d0; rbit x1, x1; clz x1, x1; lsr x0, x1, #2");
    EXPECT_EQ(m.x(0), len);
  }
}

// ---- by element, FP conversions and estimates, long multiplies, structure loads (expected
// values from unicorn) ----

// FMLA/FMLS/FMUL by element: the last lane index, Vm = v31, 2S and 2D forms, the scalar forms; the accumulator lanes are Vd's own.
TEST(A64Simd, FmlaFmlsFmulByElement) {
  A64Machine m;
  set_v(m, 0, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 1, 0xc0a0000040400000ull, 0x412000003e800000ull);
  set_v(m, 2, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 3, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 4, 0x3ff0000000000000ull, 0x7ff8000000000001ull);
  set_v(m, 5, 0x4000000000000000ull, 0xc008000000000000ull);
  set_v(m, 6, 0x3fe0000000000000ull, 0x7ff0000000000000ull);
  set_v(m, 8, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 9, 0x3ff0000000000000ull, 0x3ff0000000000000ull);
  set_v(m, 10, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 11, 0x3f8000003f800000ull, 0xbf8000007fc00001ull);
  set_v(m, 31, 0xbf80000040000000ull, 0x7f8000003f000000ull);
  m.exec("fmla v0.4s, v1.4s, v31.s[3]; fmls v2.4s, v1.4s, v31.s[1]; fmul v3.2s, v1.2s, v31.s[2]; fmla v4.2d, v5.2d, v6.d[1]; fmul v7.2d, v5.2d, v6.d[0]; fmla s8, s1, v31.s[0]; fmls d9, d5, v6.d[1]; fmul s10, s1, v31.s[3]; fmul d11, d5, v6.d[1]");
  EXPECT_V(m, 0, 0xff8000007f800000ull, 0x7f8000007fc00001ull);
  EXPECT_V(m, 2, 0xc080000040800000ull, 0x411000007fc00001ull);
  EXPECT_V(m, 3, 0xc02000003fc00000ull, 0x0ull);
  EXPECT_V(m, 4, 0x7ff0000000000000ull, 0x7ff8000000000001ull);
  EXPECT_V(m, 7, 0x3ff0000000000000ull, 0xbff8000000000000ull);
  EXPECT_V(m, 8, 0x40e00000ull, 0x0ull);
  EXPECT_V(m, 9, 0xfff0000000000000ull, 0x0ull);
  EXPECT_V(m, 10, 0x7f800000ull, 0x0ull);
  EXPECT_V(m, 11, 0x7ff0000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// FMULX: infinity times zero is 2.0 of the product's sign (no IOC), otherwise FMUL; by element, vector and scalar.
TEST(A64Simd, FmulxByElementAndVector) {
  A64Machine m;
  set_v(m, 1, 0x8000000000000000ull, 0x404000007f800000ull);
  set_v(m, 2, 0x7f800000ff800000ull, 0x40000000ull);
  set_v(m, 6, 0x7ff0000000000000ull, 0x8000000000000000ull);
  set_v(m, 7, 0x0ull, 0x4000000000000000ull);
  m.exec("fmulx v0.4s, v1.4s, v2.s[3]; fmulx v3.4s, v1.4s, v2.4s; fmulx s4, s1, v2.s[0]; fmulx d5, d6, d7; fmulx v8.2d, v6.2d, v7.d[1]; fmulx s9, s1, s2");
  EXPECT_V(m, 0, 0x8000000000000000ull, 0x40000000ull);
  EXPECT_V(m, 3, 0xc0000000c0000000ull, 0x7f800000ull);
  EXPECT_V(m, 4, 0xc0000000ull, 0x0ull);
  EXPECT_V(m, 5, 0x4000000000000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x7ff0000000000000ull, 0x8000000000000000ull);
  EXPECT_V(m, 9, 0xc0000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// MUL/MLA/MLS by element of H (Vm v0-v15, index H:L:M up to 7) and S lanes, the 4H/2S forms clearing the high half.
TEST(A64Simd, IntegerMulMlaMlsByElement) {
  A64Machine m;
  set_v(m, 2, 0x2ffff7fff8000ull, 0x18000fedc1234ull);
  set_v(m, 4, 0xffffffff80000000ull, 0x1000000000007ull);
  set_v(m, 6, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  set_v(m, 7, 0x5ull, 0x5ull);
  set_v(m, 8, 0x200000001ull, 0x400000003ull);
  set_v(m, 9, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  set_v(m, 15, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  set_v(m, 31, 0xffffffff00000003ull, 0x8000000000010000ull);
  m.exec("mul v1.8h, v2.8h, v15.h[7]; mul v3.4s, v4.4s, v31.s[3]; mul v5.4h, v2.4h, v15.h[1]; mla v6.8h, v2.8h, v15.h[5]; mla v7.2s, v4.2s, v31.s[0]; mls v8.4s, v4.4s, v31.s[2]; mls v9.4h, v2.4h, v15.h[0]");
  EXPECT_V(m, 1, 0x800080000000ull, 0x8000000000000000ull);
  EXPECT_V(m, 3, 0x8000000000000000ull, 0x80000000ull);
  EXPECT_V(m, 5, 0x800080000000ull, 0x0ull);
  EXPECT_V(m, 6, 0x8003fffd7ffe0003ull, 0x8002fffefdba2568ull);
  EXPECT_V(m, 7, 0xfffffffd80000005ull, 0x0ull);
  EXPECT_V(m, 8, 0x1000200000001ull, 0x4fff90003ull);
  EXPECT_V(m, 9, 0x7ff9000200038003ull, 0x0ull);
}

// SMULL/UMULL/SMLAL/UMLAL/SMLSL/UMLSL by element: the sign of the narrow lanes, the "2" forms reading the high half of Vn (the element always from Vm).
TEST(A64Simd, LongMultiplyByElement) {
  A64Machine m;
  set_v(m, 2, 0x2ffff7fff8000ull, 0x18000fedc1234ull);
  set_v(m, 5, 0xffffffff80000000ull, 0x8000000100000007ull);
  set_v(m, 7, 0x200000001ull, 0x400000003ull);
  set_v(m, 8, 0x1ull, 0x2ull);
  set_v(m, 9, 0x0ull, 0x8000000000000000ull);
  set_v(m, 10, 0x0ull, 0x5ull);
  set_v(m, 15, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  set_v(m, 31, 0xffffffff00000003ull, 0x8000000000010000ull);
  m.exec("smull v1.4s, v2.4h, v15.h[7]; umull v3.4s, v2.4h, v15.h[7]; smull2 v4.2d, v5.4s, v31.s[3]; umull2 v6.2d, v5.4s, v31.s[1]; smlal v7.4s, v2.4h, v15.h[2]; umlal2 v8.2d, v5.4s, v31.s[0]; smlsl2 v9.4s, v2.8h, v15.h[6]; umlsl v10.2d, v5.2s, v31.s[2]");
  EXPECT_V(m, 1, 0xc000800040000000ull, 0xffff000000008000ull);
  EXPECT_V(m, 3, 0x3fff800040000000ull, 0x100007fff8000ull);
  EXPECT_V(m, 4, 0xfffffffc80000000ull, 0x3fffffff80000000ull);
  EXPECT_V(m, 6, 0x6fffffff9ull, 0x800000007fffffffull);
  EXPECT_V(m, 7, 0xffff800300008001ull, 0x200000004ull);
  EXPECT_V(m, 8, 0x16ull, 0x180000005ull);
  EXPECT_V(m, 9, 0xfffffdb800002468ull, 0x80000002ffff0000ull);
  EXPECT_V(m, 10, 0xffff800000000000ull, 0xffff000000010005ull);
}

// SQDMULH/SQRDMULH by element, vector and scalar: min * min saturates to max, SQRDMULH rounds; H and S lanes.
TEST(A64Simd, SaturatingDoublingMultiplyHigh) {
  A64Machine m;
  set_v(m, 2, 0x2ffff7fff8000ull, 0x18000fedc1234ull);
  set_v(m, 5, 0x4000000080000000ull, 0xffffffff7fffffffull);
  set_v(m, 6, 0x180000000ull, 0x800000007fffffffull);
  set_v(m, 15, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  m.exec("sqdmulh v1.8h, v2.8h, v15.h[1]; sqrdmulh v3.8h, v2.8h, v15.h[1]; sqdmulh v4.4s, v5.4s, v6.4s; sqrdmulh v7.2s, v5.2s, v6.2s; sqdmulh h8, h2, v15.h[6]; sqrdmulh s9, s5, v6.s[3]; sqdmulh s10, s5, s6; sqrdmulh h11, h2, h15; sqdmulh v12.4h, v2.4h, v15.4h");
  EXPECT_V(m, 1, 0xfffe000180017fffull, 0xffff7fff0124edccull);
  EXPECT_V(m, 3, 0xfffe000180017fffull, 0xffff7fff0124edccull);
  EXPECT_V(m, 4, 0x7fffffffull, 0x17ffffffeull);
  EXPECT_V(m, 7, 0x17fffffffull, 0x0ull);
  EXPECT_V(m, 8, 0x2ull, 0x0ull);
  EXPECT_V(m, 9, 0x7fffffffull, 0x0ull);
  EXPECT_V(m, 10, 0x7fffffffull, 0x0ull);
  EXPECT_V(m, 11, 0xfffdull, 0x0ull);
  EXPECT_V(m, 12, 0x100008001fffdull, 0x0ull);
}

// SQDMULL/SQDMLAL/SQDMLSL vector, "2", by element and scalar: 2 * min * min saturates, and so does the accumulation.
TEST(A64Simd, SaturatingDoublingMultiplyLong) {
  A64Machine m;
  set_v(m, 2, 0x2ffff7fff8000ull, 0x18000fedc1234ull);
  set_v(m, 4, 0x800000007fffffffull, 0x5ull);
  set_v(m, 5, 0x4000000080000000ull, 0xffffffff80000000ull);
  set_v(m, 6, 0x180000000ull, 0x800000007fffffffull);
  set_v(m, 7, 0x8000000000000000ull, 0x7fffffffffffffffull);
  set_v(m, 9, 0x7fffffffffffffffull, 0x3ull);
  set_v(m, 10, 0x80000000ull, 0x9ull);
  set_v(m, 15, 0x7fffffff80000003ull, 0x8000fffe00020100ull);
  m.exec("sqdmull v1.4s, v2.4h, v15.4h; sqdmull2 v3.2d, v5.4s, v6.4s; sqdmlal v4.4s, v2.4h, v15.h[1]; sqdmlsl2 v7.2d, v5.4s, v6.s[0]; sqdmull s8, h2, v15.h[1]; sqdmlal d9, s5, s6; sqdmlsl s10, h2, h15; sqdmull v11.2d, v5.2s, v6.s[3]");
  EXPECT_V(m, 1, 0x80010000fffd0000ull, 0x1fffc00000002ull);
  EXPECT_V(m, 3, 0x8000000100000000ull, 0x100000000ull);
  EXPECT_V(m, 4, 0x800000007fffffffull, 0xfffe000000010005ull);
  EXPECT_V(m, 7, 0x8000000000000000ull, 0x7ffffffeffffffffull);
  EXPECT_V(m, 8, 0x7fffffffull, 0x0ull);
  EXPECT_V(m, 9, 0x7fffffffffffffffull, 0x0ull);
  EXPECT_V(m, 10, 0x80030000ull, 0x0ull);
  EXPECT_V(m, 11, 0x7fffffffffffffffull, 0xc000000000000000ull);
}

// FCVTL/FCVTL2 (half->single, single->double, exact; a signalling NaN quieted with IOC), FCVTN/FCVTN2 (the "2" forms keep the low half) and FCVTXN (round to odd).
TEST(A64Simd, FcvtlFcvtnFcvtxn) {
  A64Machine m;
  set_v(m, 2, 0x7f8000053fc00000ull, 0x477fffff33800001ull);
  set_v(m, 5, 0xfe0100017c003c00ull, 0xfc00355584007bffull);
  set_v(m, 8, 0x3ff0000010000000ull, 0x47f0000000000000ull);
  set_v(m, 9, 0x1111111122222222ull, 0x3333ull);
  set_v(m, 11, 0x4444ull, 0x5555ull);
  set_v(m, 13, 0x6666ull, 0x7777ull);
  set_v(m, 14, 0x3ff0000000000001ull, 0xbff0000030000000ull);
  m.exec("fcvtl v1.2d, v2.2s; fcvtl2 v3.2d, v2.4s; fcvtl v4.4s, v5.4h; fcvtl2 v6.4s, v5.8h; fcvtn v7.2s, v8.2d; fcvtn2 v9.4s, v8.2d; fcvtn v10.4h, v2.4s; fcvtn2 v11.8h, v2.4s; fcvtxn v12.2s, v8.2d; fcvtxn2 v13.4s, v14.2d; fcvtxn s15, d14");
  EXPECT_V(m, 1, 0x3ff8000000000000ull, 0x7ff80000a0000000ull);
  EXPECT_V(m, 3, 0x3e70000020000000ull, 0x40efffffe0000000ull);
  EXPECT_V(m, 4, 0x7f8000003f800000ull, 0xffc0200033800000ull);
  EXPECT_V(m, 6, 0xb8800000477fe000ull, 0xff8000003eaaa000ull);
  EXPECT_V(m, 7, 0x7f8000003f800000ull, 0x0ull);
  EXPECT_V(m, 9, 0x1111111122222222ull, 0x7f8000003f800000ull);
  EXPECT_V(m, 10, 0x7c0000017e003e00ull, 0x0ull);
  EXPECT_V(m, 11, 0x4444ull, 0x7c0000017e003e00ull);
  EXPECT_V(m, 12, 0x7f7fffff3f800001ull, 0x0ull);
  EXPECT_V(m, 13, 0x6666ull, 0xbf8000013f800001ull);
  EXPECT_V(m, 15, 0x3f800001ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1du);
}

// Vector FCVTNS/NU/MS/MU/PS/PU/AS/AU: ties to even and away, the directed roundings, saturation and NaN -> 0 (IOC).
TEST(A64Simd, VectorFcvtRoundingModes) {
  A64Machine m;
  set_v(m, 2, 0xc020000040200000ull, 0x7fc000013fc00000ull);
  set_v(m, 6, 0xc004000000000000ull, 0x43f0000000000000ull);
  m.exec("fcvtns v1.4s, v2.4s; fcvtnu v3.4s, v2.4s; fcvtms v4.4s, v2.4s; fcvtmu v5.2d, v6.2d; fcvtps v7.4s, v2.4s; fcvtpu v8.2s, v2.2s; fcvtas v9.4s, v2.4s; fcvtau v10.2d, v6.2d; fcvtas v11.2d, v6.2d");
  EXPECT_V(m, 1, 0xfffffffe00000002ull, 0x2ull);
  EXPECT_V(m, 3, 0x2ull, 0x2ull);
  EXPECT_V(m, 4, 0xfffffffd00000002ull, 0x1ull);
  EXPECT_V(m, 5, 0x0ull, 0xffffffffffffffffull);
  EXPECT_V(m, 7, 0xfffffffe00000003ull, 0x2ull);
  EXPECT_V(m, 8, 0x3ull, 0x0ull);
  EXPECT_V(m, 9, 0xfffffffd00000003ull, 0x2ull);
  EXPECT_V(m, 10, 0x0ull, 0xffffffffffffffffull);
  EXPECT_V(m, 11, 0xfffffffffffffffdull, 0x7fffffffffffffffull);
  EXPECT_EQ(m.st().fpsr, 0x11u);
}

// FCMEQ/FCMGE/FCMGT/FCMLE/FCMLT #0 vector and scalar: -0 equals 0, a quiet NaN gives 0 and IOC for the ordered compares only.
TEST(A64Simd, FpCompareWithZero) {
  A64Machine m;
  set_v(m, 2, 0x180000000ull, 0xbf800000ull);
  set_v(m, 8, 0x8000000000000001ull, 0x0ull);
  m.exec("fcmeq v1.4s, v2.4s, #0.0; fcmge v3.4s, v2.4s, #0.0; fcmgt v4.4s, v2.4s, #0.0; fcmle v5.4s, v2.4s, #0.0; fcmlt v6.4s, v2.4s, #0.0; fcmlt v7.2d, v8.2d, #0.0; fcmeq d9, d8, #0.0; fcmge s10, s2, #0.0");
  EXPECT_V(m, 1, 0xffffffffull, 0xffffffff00000000ull);
  EXPECT_V(m, 3, 0xffffffffffffffffull, 0xffffffff00000000ull);
  EXPECT_V(m, 4, 0xffffffff00000000ull, 0x0ull);
  EXPECT_V(m, 5, 0xffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 6, 0x0ull, 0xffffffffull);
  EXPECT_V(m, 7, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 9, 0x0ull, 0x0ull);
  EXPECT_V(m, 10, 0xffffffffull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// The ordered compares with zero signal IOC for a quiet NaN; FCMEQ does not.
TEST(A64Simd, FpCompareWithZeroNaNSignals) {
  A64Machine m;
  set_v(m, 2, 0x7fc00001ull, 0x0ull);
  m.exec("fcmeq v1.4s, v2.4s, #0.0; fcmgt v3.2s, v2.2s, #0.0");
  EXPECT_V(m, 1, 0xffffffff00000000ull, 0xffffffffffffffffull);
  EXPECT_V(m, 3, 0x0ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// FACGE/FACGT compare magnitudes (-3 vs 2, -inf vs inf); the scalar FCMEQ/FCMGE/FCMGT/FACGE/FACGT and FABD.
TEST(A64Simd, FacgeFacgtAndScalarCompares) {
  A64Machine m;
  set_v(m, 2, 0xff800000c0400000ull, 0x8000000040000000ull);
  set_v(m, 3, 0x7f80000040000000ull, 0xc0000000ull);
  set_v(m, 6, 0xc008000000000000ull, 0x3ff0000000000000ull);
  set_v(m, 7, 0x4000000000000000ull, 0xbff0000000000000ull);
  m.exec("facge v1.4s, v2.4s, v3.4s; facgt v4.4s, v2.4s, v3.4s; facgt v5.2d, v6.2d, v7.2d; facge s8, s2, s3; facgt d9, d6, d7; fcmeq s10, s2, s3; fcmge d11, d6, d7; fcmgt s12, s3, s2; fabd d13, d6, d7");
  EXPECT_V(m, 1, 0xffffffffffffffffull, 0xffffffffffffffffull);
  EXPECT_V(m, 4, 0xffffffffull, 0x0ull);
  EXPECT_V(m, 5, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 8, 0xffffffffull, 0x0ull);
  EXPECT_V(m, 9, 0xffffffffffffffffull, 0x0ull);
  EXPECT_V(m, 10, 0x0ull, 0x0ull);
  EXPECT_V(m, 11, 0x0ull, 0x0ull);
  EXPECT_V(m, 12, 0xffffffffull, 0x0ull);
  EXPECT_V(m, 13, 0x4014000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// FMAXV/FMINV propagate a NaN, FMAXNMV/FMINNMV prefer numbers; FADDP/FMAXP/FMINP/FMAXNMP/FMINNMP (scalar) of the two low lanes.
TEST(A64Simd, FpAcrossLanesAndScalarPairwise) {
  A64Machine m;
  set_v(m, 2, 0x7fc0000140400000ull, 0x41200000ff800000ull);
  set_v(m, 7, 0x400000003f800000ull, 0x80000000ull);
  set_v(m, 10, 0xc008000000000000ull, 0x7ff8000000000001ull);
  m.exec("fmaxv s1, v2.4s; fminv s3, v2.4s; fmaxnmv s4, v2.4s; fminnmv s5, v2.4s; fmaxv s6, v7.4s; faddp s8, v7.2s; faddp d9, v10.2d; fmaxp s11, v2.2s; fminp d12, v10.2d; fmaxnmp s13, v2.2s; fminnmp d14, v10.2d");
  EXPECT_V(m, 1, 0x7fc00001ull, 0x0ull);
  EXPECT_V(m, 3, 0x7fc00001ull, 0x0ull);
  EXPECT_V(m, 4, 0x41200000ull, 0x0ull);
  EXPECT_V(m, 5, 0xff800000ull, 0x0ull);
  EXPECT_V(m, 6, 0x40000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 9, 0x7ff8000000000001ull, 0x0ull);
  EXPECT_V(m, 11, 0x7fc00001ull, 0x0ull);
  EXPECT_V(m, 12, 0x7ff8000000000001ull, 0x0ull);
  EXPECT_V(m, 13, 0x40400000ull, 0x0ull);
  EXPECT_V(m, 14, 0xc008000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x0u);
}

// FRECPE/FRSQRTE: the 8-bit table estimates (Arm's RecipEstimate/RecipSqrtEstimate), subnormal inputs, 1/x overflow (OFC, IXC), zeros (DZC), FRSQRTE of a negative (default NaN, IOC).
TEST(A64Simd, FrecpeFrsqrteEstimates) {
  A64Machine m;
  set_v(m, 2, 0x404000003f800000ull, 0x7f7fffff00400000ull);
  set_v(m, 5, 0x3ff8000000000000ull, 0x1ull);
  set_v(m, 8, 0x100000ull, 0x0ull);
  set_v(m, 10, 0xbff0000000000000ull, 0x0ull);
  set_v(m, 12, 0x8000000000000000ull, 0xc00000007f800000ull);
  m.exec("frecpe v1.4s, v2.4s; frsqrte v3.4s, v2.4s; frecpe v4.2d, v5.2d; frsqrte v6.2d, v5.2d; frecpe s7, s8; frsqrte d9, d10; frecpe v11.4s, v12.4s; frsqrte v13.4s, v12.4s");
  EXPECT_V(m, 1, 0x3eaa80003f7f8000ull, 0x2000007eff8000ull);
  EXPECT_V(m, 3, 0x3f1380003f7f8000ull, 0x1f8000005f348000ull);
  EXPECT_V(m, 4, 0x3fe5500000000000ull, 0x7ff0000000000000ull);
  EXPECT_V(m, 6, 0x3fea200000000000ull, 0x617ff00000000000ull);
  EXPECT_V(m, 7, 0x7f800000ull, 0x0ull);
  EXPECT_V(m, 9, 0x7ff8000000000000ull, 0x0ull);
  EXPECT_V(m, 11, 0xff8000007f800000ull, 0xbeff800000000000ull);
  EXPECT_V(m, 13, 0xff8000007f800000ull, 0x7fc0000000000000ull);
  EXPECT_EQ(m.st().fpsr, 0x17u);
}

// FRECPE with FPCR.FZ: a large operand gives zero (UFC), a subnormal one infinity (IDC, DZC); the overflow result under round toward zero is the largest finite value.
TEST(A64Simd, FrecpeFlushToZeroAndRounding) {
  A64Machine m;
  set_v(m, 2, 0x57f000000ull, 0x3f8000007e800000ull);
  set_v(m, 4, 0x3ull, 0x0ull);
  m.st().fpcr = 0x1000000;
  m.exec("frecpe v1.4s, v2.4s; frecpe d3, d4");
  EXPECT_V(m, 1, 0x7f80000000000000ull, 0x3f7f800000000000ull);
  EXPECT_V(m, 3, 0x7ff0000000000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x8au);
}

// FRECPE of a value below 2^-128 rounds its overflow to the largest finite value toward zero, to infinity in the direction of its sign under RP/RM.
TEST(A64Simd, FrecpeOverflowRoundTowardZero) {
  A64Machine m;
  set_v(m, 2, 0x8010000000100000ull, 0x8000000100000001ull);
  m.st().fpcr = 0xc00000;
  m.exec("frecpe v1.4s, v2.4s");
  EXPECT_V(m, 1, 0xff7fffff7f7fffffull, 0xff7fffff7f7fffffull);
  EXPECT_EQ(m.st().fpsr, 0x14u);
}

// FRECPS (2 - a*b) and FRSQRTS ((3 - a*b)/2), fused: infinity times zero gives 2.0 and 1.5, a NaN in the first operand comes out negated.
TEST(A64Simd, FrecpsFrsqrtsSteps) {
  A64Machine m;
  set_v(m, 2, 0x400000007f800000ull, 0x7fc000013fc00000ull);
  set_v(m, 3, 0x3f00000000000000ull, 0x3f8000003faaaaabull);
  set_v(m, 6, 0x3ff8000000000000ull, 0x0ull);
  set_v(m, 7, 0x3fe5555555555555ull, 0x0ull);
  set_v(m, 10, 0x7f800000ull, 0x0ull);
  set_v(m, 11, 0x80000000ull, 0x0ull);
  set_v(m, 13, 0x7ff0000000000000ull, 0x3ull);
  set_v(m, 14, 0x8000000000000000ull, 0x2ull);
  m.exec("frecps v1.4s, v2.4s, v3.4s; frsqrts v4.4s, v2.4s, v3.4s; frecps d5, d6, d7; frsqrts d8, d6, d7; frecps s9, s10, s11; frsqrts v12.2d, v13.2d, v14.2d");
  EXPECT_V(m, 1, 0x3f80000040000000ull, 0xffc00001b3800000ull);
  EXPECT_V(m, 4, 0x3f8000003fc00000ull, 0xffc000013effffffull);
  EXPECT_V(m, 5, 0x3ff0000000000000ull, 0x0ull);
  EXPECT_V(m, 8, 0x3ff0000000000000ull, 0x0ull);
  EXPECT_V(m, 9, 0x40000000ull, 0x0ull);
  EXPECT_V(m, 12, 0x3ff8000000000000ull, 0x3ff8000000000000ull);
  EXPECT_EQ(m.st().fpsr, 0x10u);
}

// FRECPX: the exponent inverted, the fraction cleared; zero and subnormals give the largest exponent; infinity gives zero; a NaN is quieted.
TEST(A64Simd, Frecpx) {
  A64Machine m;
  set_v(m, 2, 0x40490fdbull, 0x0ull);
  set_v(m, 4, 0x80000001ull, 0x0ull);
  set_v(m, 6, 0xfff0000000000000ull, 0x0ull);
  set_v(m, 8, 0x7f800005ull, 0x0ull);
  set_v(m, 10, 0x0ull, 0x0ull);
  set_v(m, 12, 0x800000ull, 0x0ull);
  m.exec("frecpx s1, s2; frecpx s3, s4; frecpx d5, d6; frecpx s7, s8; frecpx d9, d10; frecpx s11, s12");
  EXPECT_V(m, 1, 0x3f800000ull, 0x0ull);
  EXPECT_V(m, 3, 0xff000000ull, 0x0ull);
  EXPECT_V(m, 5, 0x8000000000000000ull, 0x0ull);
  EXPECT_V(m, 7, 0x7fc00005ull, 0x0ull);
  EXPECT_V(m, 9, 0x7fe0000000000000ull, 0x0ull);
  EXPECT_V(m, 11, 0x7f000000ull, 0x0ull);
  EXPECT_EQ(m.st().fpsr, 0x1u);
}

// SHLL/SHLL2: the low or high narrow lanes widened and shifted by their width (bytes, halfwords, words).
TEST(A64Simd, ShllByTheElementSize) {
  A64Machine m;
  set_v(m, 2, 0x8081828384858687ull, 0xf0e0d0c0b0a09080ull);
  m.exec("shll v1.8h, v2.8b, #8; shll2 v3.8h, v2.16b, #8; shll v4.4s, v2.4h, #16; shll2 v5.2d, v2.4s, #32");
  EXPECT_V(m, 1, 0x8400850086008700ull, 0x8000810082008300ull);
  EXPECT_V(m, 3, 0xb000a00090008000ull, 0xf000e000d000c000ull);
  EXPECT_V(m, 4, 0x8485000086870000ull, 0x8081000082830000ull);
  EXPECT_V(m, 5, 0xb0a0908000000000ull, 0xf0e0d0c000000000ull);
}

// PMULL/PMULL2 of bytes (carry-less, 16-bit results) and of 64-bit lanes (one 128-bit product).
TEST(A64Simd, PmullPolynomialMultiplyLong) {
  A64Machine m;
  set_v(m, 2, 0xff80ff0102030405ull, 0xffffffffffffffffull);
  set_v(m, 3, 0xff02ff80ff070809ull, 0x8000000000000001ull);
  m.exec("pmull v1.8h, v2.8b, v3.8b; pmull2 v4.8h, v2.16b, v3.16b; pmull v5.1q, v2.1d, v3.1d; pmull2 v6.1q, v2.2d, v3.2d");
  EXPECT_V(m, 1, 0x1fe00090020002dull, 0x5555010055550080ull);
  EXPECT_V(m, 4, 0xffull, 0x7f80000000000000ull);
  EXPECT_V(m, 5, 0xff0026f15200c2dull, 0x552b7f0140ff54abull);
  EXPECT_V(m, 6, 0x7fffffffffffffffull, 0x7fffffffffffffffull);
}

// LD2R/LD3R/LD4R: each consecutive element replicated to every lane of its register (wrapping past v31), with immediate and register post-index.
TEST(A64Simd, LdNrReplicates) {
  A64Machine m;
  m.x(0) = 0x40000ull;
  m.x(1) = 0x40008ull;
  m.x(2) = 0x40010ull;
  m.x(3) = 0x20ull;
  set_v(m, 5, 0x1ull, 0x1ull);
  set_v(m, 7, 0x2ull, 0x2ull);
  const uint8_t data_40000[] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f};
  m.mem.debug_write(0x40000, data_40000, sizeof data_40000);
  m.exec("ld2r {v1.16b, v2.16b}, [x0]; ld3r {v3.4h, v4.4h, v5.4h}, [x0], #6; ld4r {v30.2d, v31.2d, v0.2d, v1.2d}, [x1]; ld2r {v6.2s, v7.2s}, [x2], x3");
  EXPECT_V(m, 0, 0x2f2e2d2c2b2a2928ull, 0x2f2e2d2c2b2a2928ull);
  EXPECT_V(m, 1, 0x3736353433323130ull, 0x3736353433323130ull);
  EXPECT_V(m, 2, 0x1111111111111111ull, 0x1111111111111111ull);
  EXPECT_V(m, 3, 0x1110111011101110ull, 0x0ull);
  EXPECT_V(m, 4, 0x1312131213121312ull, 0x0ull);
  EXPECT_V(m, 5, 0x1514151415141514ull, 0x0ull);
  EXPECT_V(m, 6, 0x2322212023222120ull, 0x0ull);
  EXPECT_V(m, 7, 0x2726252427262524ull, 0x0ull);
  EXPECT_V(m, 30, 0x1f1e1d1c1b1a1918ull, 0x1f1e1d1c1b1a1918ull);
  EXPECT_V(m, 31, 0x2726252423222120ull, 0x2726252423222120ull);
  EXPECT_EQ(m.x(0), 0x40006ull);
  EXPECT_EQ(m.x(2), 0x40030ull);
}

// LD2-LD4/ST2-ST4 of one lane: the other lanes kept, the last lane index of each size, registers wrapping past v31; post-index by the structure size.
TEST(A64Simd, LdNStNSingleStructure) {
  A64Machine m;
  m.x(0) = 0x40000ull;
  m.x(1) = 0x40008ull;
  m.x(2) = 0x40010ull;
  m.x(3) = 0x20ull;
  m.x(4) = 0x40100ull;
  set_v(m, 0, 0x1111ull, 0x2222ull);
  set_v(m, 1, 0x3333ull, 0x4444ull);
  set_v(m, 2, 0x5ull, 0x6ull);
  set_v(m, 3, 0x7ull, 0x8ull);
  set_v(m, 4, 0x9ull, 0xaull);
  set_v(m, 5, 0xbull, 0xcull);
  set_v(m, 6, 0xdull, 0xeull);
  set_v(m, 7, 0xfull, 0x10ull);
  set_v(m, 30, 0x11ull, 0x12ull);
  set_v(m, 31, 0x13ull, 0x14ull);
  const uint8_t data_40000[] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f};
  m.mem.debug_write(0x40000, data_40000, sizeof data_40000);
  m.exec("ld2 {v1.b, v2.b}[15], [x0]; ld3 {v3.h, v4.h, v5.h}[7], [x0], #6; ld4 {v30.s, v31.s, v0.s, v1.s}[3], [x1]; ld2 {v6.d, v7.d}[1], [x2], x3; st3 {v3.h, v4.h, v5.h}[7], [x4]; st4 {v30.s, v31.s, v0.s, v1.s}[3], [x4], #16; st2 {v6.d, v7.d}[1], [x4], #16");
  EXPECT_V(m, 0, 0x1111ull, 0x2322212000002222ull);
  EXPECT_V(m, 1, 0x3333ull, 0x2726252400004444ull);
  EXPECT_V(m, 2, 0x5ull, 0x1100000000000006ull);
  EXPECT_V(m, 3, 0x7ull, 0x1110000000000008ull);
  EXPECT_V(m, 4, 0x9ull, 0x131200000000000aull);
  EXPECT_V(m, 5, 0xbull, 0x151400000000000cull);
  EXPECT_V(m, 6, 0xdull, 0x2726252423222120ull);
  EXPECT_V(m, 7, 0xfull, 0x2f2e2d2c2b2a2928ull);
  EXPECT_V(m, 30, 0x11ull, 0x1b1a191800000012ull);
  EXPECT_V(m, 31, 0x13ull, 0x1f1e1d1c00000014ull);
  EXPECT_EQ(m.x(0), 0x40006ull);
  EXPECT_EQ(m.x(2), 0x40030ull);
  EXPECT_EQ(m.x(4), 0x40120ull);
  const uint8_t expect_mem[] = {0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  uint8_t got_mem[sizeof expect_mem];
  m.mem.debug_read(0x40100, got_mem, sizeof got_mem);
  EXPECT_EQ(0, std::memcmp(got_mem, expect_mem, sizeof got_mem));
}

// Reserved encodings of the by-element, FP conversion/estimate, long-multiply and structure forms.
TEST(A64Simd, ReservedByElementConversionAndStructureEncodingsAreIllegal) {
  EXPECT_TRUE(illegal_word(0x4fe21020));  // fmla v0.2d, v1.2d, v2.d[..] with L = 1
  EXPECT_TRUE(illegal_word(0x0fc21020));  // fmla by element of D lanes with Q = 0
  EXPECT_TRUE(illegal_word(0x4f421020));  // fmla by element with size 01
  EXPECT_TRUE(illegal_word(0x4f028020));  // mul by element of bytes (size 0)
  EXPECT_TRUE(illegal_word(0x5f828020));  // mul by element has no scalar form
  EXPECT_TRUE(illegal_word(0x0fc2a020));  // smull by element with size 3
  EXPECT_TRUE(illegal_word(0x5f42a020));  // smull by element has no scalar form
  EXPECT_TRUE(illegal_word(0x2e216820));  // fcvtxn from single (sz = 0)
  EXPECT_TRUE(illegal_word(0x4ea1f820));  // frecpx has no vector form
  EXPECT_TRUE(illegal_word(0x0e62e020));  // pmull of halfwords (size 1)
  EXPECT_TRUE(illegal_word(0x0e22d020));  // sqdmull of bytes (size 0)
  EXPECT_TRUE(illegal_word(0x4e22b420));  // sqdmulh of bytes (size 0)
  EXPECT_TRUE(illegal_word(0x2e30f820));  // fmaxv of 2S (Q = 0)
  EXPECT_TRUE(illegal_word(0x6e70f820));  // fmaxv with sz = 1
  EXPECT_TRUE(illegal_word(0x4d20c800));  // ld2r with L = 0 (no store form)
  EXPECT_TRUE(illegal_word(0x4d609400));  // ld2 of a D lane with S = 1
  EXPECT_TRUE(illegal_word(0x2ee13820));  // shll with size 3
  EXPECT_TRUE(illegal_word(0x7eb0d820));  // faddp (scalar) with o1 set
}

// A fault on the last element of an LD4 (single structure) leaves the registers and the base as
// they were.
TEST(A64Simd, Ld4SingleFaultingOnTheLastElementChangesNothing) {
  A64Machine m;
  m.x(1) = kData + 0x10000 - 12;  // the fourth word is past the data mapping
  for (unsigned r = 0; r < 4; ++r) set_v(m, r, 0x1111 * (r + 1), 0x2222 * (r + 1));
  Stop s = m.run("ld4 {v0.s, v1.s, v2.s, v3.s}[1], [x1], #16");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.x(1), kData + 0x10000 - 12);
  for (unsigned r = 0; r < 4; ++r) EXPECT_V(m, r, 0x1111 * (r + 1), 0x2222 * (r + 1));
}

}  // namespace
}  // namespace vmkit::a64::test
