// Zba, Zbb and Zbs: each instruction's result on values that exercise its edge (all-zero and
// all-one inputs, bit 31/63, shift amounts at the width limit). Encodings as produced by
// `riscv64-linux-gnu-as -march=rv64gc_zba_zbb_zbs`, with rd = x10, rs1 = x5, rs2 = x6.
#include <cstdint>

#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

// Register fields of an objdump'ed word with rd=ra(1), rs1=sp(2), rs2=gp(3) rewritten to
// rd=x10, rs1=x5, rs2=x6.
uint32_t retarget(uint32_t w) { return (w & ~((31u << 7) | (31u << 15) | (31u << 20))) | (10u << 7) | (5u << 15) | (w & (31u << 20) ? 6u << 20 : 0); }
// Same for unary/immediate forms, whose bits 24..20 are part of the encoding: only rd and rs1 change.
uint32_t retarget_imm(uint32_t w, uint32_t imm) { return (w & ~((31u << 7) | (31u << 15))) | (10u << 7) | (5u << 15) | (imm << 20); }

uint64_t run1(uint32_t w, uint64_t a, uint64_t b = 0) {
  Rv64Machine m;
  m.x(5) = a;
  m.x(6) = b;
  m.exec({w});
  EXPECT_EQ(m.x(5), a);
  return m.x(10);
}

TEST(Rv64Bitmanip, Zba) {
  const uint64_t a = 0xffffffff80000001ull, b = 0x1000;
  EXPECT_EQ(run1(retarget(0x203120b3), a, b), (a << 1) + b);  // sh1add
  EXPECT_EQ(run1(retarget(0x203140b3), a, b), (a << 2) + b);  // sh2add
  EXPECT_EQ(run1(retarget(0x203160b3), a, b), (a << 3) + b);  // sh3add
  EXPECT_EQ(run1(retarget(0x083100bb), a, b), 0x80000001ull + b);  // add.uw
  EXPECT_EQ(run1(retarget(0x203120bb), a, b), (0x80000001ull << 1) + b);  // sh1add.uw
  EXPECT_EQ(run1(retarget(0x203140bb), a, b), (0x80000001ull << 2) + b);
  EXPECT_EQ(run1(retarget(0x203160bb), a, b), (0x80000001ull << 3) + b);
  EXPECT_EQ(run1(retarget_imm(0x0801109b, 0), a), 0x80000001ull);        // slli.uw 0
  EXPECT_EQ(run1(retarget_imm(0x0801109b, 32), a), 0x8000000100000000ull);  // slli.uw 32
  EXPECT_EQ(run1(retarget_imm(0x0801109b, 63), a), 0x8000000000000000ull);
}

TEST(Rv64Bitmanip, ZbbLogicAndMinMax) {
  const uint64_t a = 0xf0f0f0f0f0f0f0f0ull, b = 0xff00ff00ff00ff00ull;
  EXPECT_EQ(run1(retarget(0x403170b3), a, b), a & ~b);   // andn
  EXPECT_EQ(run1(retarget(0x403160b3), a, b), a | ~b);   // orn
  EXPECT_EQ(run1(retarget(0x403140b3), a, b), ~(a ^ b));  // xnor
  const uint64_t neg = ~0ull, one = 1;
  EXPECT_EQ(run1(retarget(0x0a3160b3), neg, one), one);  // max
  EXPECT_EQ(run1(retarget(0x0a3170b3), neg, one), neg);  // maxu
  EXPECT_EQ(run1(retarget(0x0a3140b3), neg, one), neg);  // min
  EXPECT_EQ(run1(retarget(0x0a3150b3), neg, one), one);  // minu
}

TEST(Rv64Bitmanip, ZbbCounts) {
  EXPECT_EQ(run1(retarget_imm(0x60011093, 0), 0), 64u);                  // clz 0
  EXPECT_EQ(run1(retarget_imm(0x60011093, 0), 0x0000100000000000ull), 19u);
  EXPECT_EQ(run1(retarget_imm(0x6001109b, 0), 0xffffffff00000000ull), 32u);  // clzw ignores upper
  EXPECT_EQ(run1(retarget_imm(0x6001109b, 0), 0x8000ull), 16u);
  EXPECT_EQ(run1(retarget_imm(0x60111093, 1), 0), 64u);                   // ctz 0
  EXPECT_EQ(run1(retarget_imm(0x60111093, 1), 0x8000000000000000ull), 63u);
  EXPECT_EQ(run1(retarget_imm(0x6011109b, 1), 0x100000000ull), 32u);      // ctzw of zero low word
  EXPECT_EQ(run1(retarget_imm(0x60211093, 2), 0xf0f0f0f0f0f0f0f1ull), 33u);  // cpop
  EXPECT_EQ(run1(retarget_imm(0x6021109b, 2), 0xffffffff0000ffffull), 16u);  // cpopw
}

TEST(Rv64Bitmanip, ZbbExtendAndBytes) {
  EXPECT_EQ(run1(retarget_imm(0x60411093, 4), 0x1234567890abcd80ull), 0xffffffffffffff80ull);  // sext.b
  EXPECT_EQ(run1(retarget_imm(0x60411093, 4), 0x7full), 0x7fu);
  EXPECT_EQ(run1(retarget_imm(0x60511093, 5), 0x1234567890ab8001ull), 0xffffffffffff8001ull);  // sext.h
  EXPECT_EQ(run1(retarget_imm(0x080140bb, 0), 0x1234567890ab8001ull), 0x8001u);                // zext.h
  EXPECT_EQ(run1(retarget_imm(0x28715093, 7), 0x0001ff0000100000ull), 0x00ffff0000ff0000ull);  // orc.b
  EXPECT_EQ(run1(retarget_imm(0x6b815093, 0x18), 0x0102030405060708ull), 0x0807060504030201ull);  // rev8
}

TEST(Rv64Bitmanip, ZbbRotates) {
  const uint64_t a = 0x8000000000000001ull;
  EXPECT_EQ(run1(retarget(0x603110b3), a, 1), 3u);                          // rol 1
  EXPECT_EQ(run1(retarget(0x603110b3), a, 65), 3u);                         // amount mod 64
  EXPECT_EQ(run1(retarget(0x603150b3), a, 1), 0xc000000000000000ull);       // ror
  EXPECT_EQ(run1(retarget_imm(0x60015093, 63), a, 0), 3u);                  // rori 63
  EXPECT_EQ(run1(retarget(0x603110bb), 0x80000001u, 1), 3u);                 // rolw
  EXPECT_EQ(run1(retarget(0x603150bb), 0x12345601u, 33), 0xffffffff891a2b00ull);  // rorw by 1, sign-extended
  EXPECT_EQ(run1(retarget_imm(0x6001509b, 31), 0xffffffff40000000ull, 0), 0xffffffff80000000ull);  // roriw 31
}

TEST(Rv64Bitmanip, Zbs) {
  const uint64_t a = 0x8000000000000001ull;
  EXPECT_EQ(run1(retarget(0x483110b3), a, 63), 1u);                        // bclr
  EXPECT_EQ(run1(retarget(0x483110b3), a, 64), 0x8000000000000000ull);     // index mod 64
  EXPECT_EQ(run1(retarget_imm(0x48011093, 0), a), 0x8000000000000000ull);  // bclri 0
  EXPECT_EQ(run1(retarget(0x483150b3), a, 63), 1u);                        // bext
  EXPECT_EQ(run1(retarget(0x483150b3), a, 62), 0u);
  EXPECT_EQ(run1(retarget_imm(0x48015093, 63), a), 1u);                    // bexti 63
  EXPECT_EQ(run1(retarget(0x683110b3), a, 1), 0x8000000000000003ull);      // binv
  EXPECT_EQ(run1(retarget_imm(0x68011093, 63), a), 1u);                    // binvi 63
  EXPECT_EQ(run1(retarget(0x283110b3), 0, 40), 1ull << 40);                // bset
  EXPECT_EQ(run1(retarget_imm(0x28011093, 32), 0), 1ull << 32);            // bseti 32
}

TEST(Rv64Bitmanip, EncodingsNotInTheRatifiedSetAreIllegal) {
  // roriw with shamt[5] set, and the OP-IMM funct12 slot 0x603 (unused: between cpop and sext.b).
  for (uint32_t w : {retarget_imm(0x6001509b, 0) | (1u << 25), retarget_imm(0x60311093, 3)}) {
    Rv64Machine m;
    Stop s = m.run({w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << w;
    EXPECT_EQ(s.insn, w);
  }
}

}  // namespace
}  // namespace vmkit::rv64::test
