// RV64C: expand_compressed against the 32-bit encodings the GNU assembler gives for the same
// instructions, reserved encodings, and compressed code run end to end (links are pc + 2).
#include <cstdint>
#include <vector>

#include "frontend/riscv64/lift.h"
#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

struct Pair {
  uint16_t c;
  uint32_t expanded;
};

// Left: `riscv64-linux-gnu-as -march=rv64gc` output for the compressed mnemonic; right: the same
// instruction written in its 32-bit form and assembled with -march=rv64g.
const Pair kPairs[] = {
    {0x1fe0, 0x3fc10413},  //  c.addi4spn s0,sp,1020
    {0x005c, 0x00410793},  //  c.addi4spn a5,sp,4
    {0x3de8, 0x0f85b507},  //  c.fld fa0,248(a1)
    {0x5ef0, 0x07c6a603},  //  c.lw a2,124(a3)
    {0x7ff8, 0x0f87b703},  //  c.ld a4,248(a5)
    {0xa404, 0x00943427},  //  c.fsd fs1,8(s0)
    {0xc124, 0x04952023},  //  c.sw s1,64(a0)
    {0xe0c8, 0x08a4b023},  //  c.sd a0,128(s1)
    {0x0001, 0x00000013},  //  c.addi zero,0
    {0x1501, 0xfe050513},  //  c.addi a0,-32
    {0x25fd, 0x01f5859b},  //  c.addiw a1,31
    {0x52fd, 0xfff00293},  //  c.li t0,-1
    {0x7101, 0xe0010113},  //  c.addi16sp sp,-512
    {0x617d, 0x1f010113},  //  c.addi16sp sp,496
    {0x7301, 0xfffe0337},  //  c.lui t1,0xfffe0
    {0x63fd, 0x0001f3b7},  //  c.lui t2,0x1f
    {0x917d, 0x03f55513},  //  c.srli a0,0x3f
    {0x9581, 0x4205d593},  //  c.srai a1,0x20
    {0x9a7d, 0xfff67613},  //  c.andi a2,-1
    {0x8c05, 0x40940433},  //  c.sub s0,s1
    {0x8eb9, 0x00e6c6b3},  //  c.xor a3,a4
    {0x8fc1, 0x0087e7b3},  //  c.or a5,s0
    {0x8ce9, 0x00a4f4b3},  //  c.and s1,a0
    {0x9d0d, 0x40b5053b},  //  c.subw a0,a1
    {0x9e35, 0x00d6063b},  //  c.addw a2,a3
    {0x1e7e, 0x03fe1e13},  //  c.slli t3,0x3f
    {0x30fe, 0x1f813087},  //  c.fldsp ft1,504(sp)
    {0x50fe, 0x0fc12083},  //  c.lwsp ra,252(sp)
    {0x73fe, 0x1f813383},  //  c.ldsp t2,504(sp)
    {0x8282, 0x00028067},  //  c.jr t0
    {0x852e, 0x00b00533},  //  c.mv a0,a1
    {0x9002, 0x00100073},  //  c.ebreak
    {0x9302, 0x000300e7},  //  c.jalr t1
    {0x994e, 0x01390933},  //  c.add s2,s3
    {0xbfa2, 0x1e813c27},  //  c.fsdsp fs0,504(sp)
    {0xdfd2, 0x0f412e23},  //  c.swsp s4,252(sp)
    {0xffd6, 0x1f513c23},  //  c.sdsp s5,504(sp)
};

TEST(Rv64Compressed, ExpandsLikeTheAssembler) {
  for (const Pair& p : kPairs) EXPECT_EQ(expand_compressed(p.c), p.expanded) << std::hex << "c 0x" << p.c;
}

TEST(Rv64Compressed, ReservedEncodingsExpandToZero) {
  EXPECT_EQ(expand_compressed(0x0000), 0u);  // all-zero: illegal
  EXPECT_EQ(expand_compressed(0x0004), 0u);  // c.addi4spn with nzuimm 0 (rd' = a1)
  EXPECT_EQ(expand_compressed(0x6101), 0u);  // c.addi16sp with nzimm 0
  EXPECT_EQ(expand_compressed(0x6281), 0u);  // c.lui t0, 0
  EXPECT_EQ(expand_compressed(0x2001), 0u);  // c.addiw x0
  EXPECT_EQ(expand_compressed(0x8002), 0u);  // c.jr x0
  EXPECT_EQ(expand_compressed(0x4002), 0u);  // c.lwsp x0
  EXPECT_EQ(expand_compressed(0x6002), 0u);  // c.ldsp x0
  EXPECT_EQ(expand_compressed(0x9c41), 0u);  // quadrant 1 funct6 100111, funct2 10 (Zcb c.mul)
  EXPECT_EQ(expand_compressed(0x8000), 0u);  // quadrant 0 funct3 100 (Zcb loads/stores)
}

TEST(Rv64Compressed, LuiWithRdTwoIsAddi16sp) {
  // 0x7101 has the c.lui shape with rd = sp: it must be c.addi16sp sp, -512, not lui sp.
  Rv64Machine m;
  m.x(2) = 0x50000;
  m.run_bytes({0x01, 0x71});
  EXPECT_EQ(m.x(2), 0x50000u - 512);
}

TEST(Rv64Compressed, ShiftsBy32To63) {
  Rv64Machine m;
  m.x(28) = 1;
  m.x(10) = 0x8000000000000000ull;
  m.x(11) = 0x8000000000000000ull;
  // c.slli t3, 63; c.srli a0, 63; c.srai a1, 32
  m.run_bytes({0x7e, 0x1e, 0x7d, 0x91, 0x81, 0x95});
  EXPECT_EQ(m.x(28), 0x8000000000000000ull);
  EXPECT_EQ(m.x(10), 1u);
  EXPECT_EQ(m.x(11), 0xffffffff80000000ull);
}

TEST(Rv64Compressed, JalrLinksPcPlusTwoAndMixesWithWideCode) {
  Rv64Machine m;
  m.x(6) = kCode + 8;
  // 0: c.jalr t1 ; 2: c.li t0, -1 (skipped) ; 4: addi a0, zero, 5 (skipped) ; 8: c.mv a1, ra
  Stop s = m.run_bytes({0x02, 0x93, 0xfd, 0x52, 0x13, 0x05, 0x50, 0x00, 0x86, 0x85});
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(s.pc, kCode + 10);
  EXPECT_EQ(m.x(1), kCode + 2);
  EXPECT_EQ(m.x(11), kCode + 2);
  EXPECT_EQ(m.x(5), 0u);
  EXPECT_EQ(m.x(10), 0u);
}

TEST(Rv64Compressed, JumpsAndBranches) {
  Rv64Machine m;
  m.x(8) = 0;
  m.x(9) = 1;
  // 0: c.beqz s0, +4 (taken) ; 2: c.li a0, 1 ; 4: c.bnez s0, +4 (not taken) ; 6: c.li a1, 1 ;
  // 8: c.j +4 ; 10: c.li a2, 1 ; 12: (ecall appended)
  Stop s = m.run_bytes({0x11, 0xc0, 0x05, 0x45, 0x11, 0xe0, 0x85, 0x45, 0x11, 0xa0, 0x05, 0x46});
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_EQ(m.x(11), 1u);
  EXPECT_EQ(m.x(12), 0u);
}

TEST(Rv64Compressed, StackLoadsAndStores) {
  Rv64Machine m;
  m.x(2) = kData + 0x100;
  m.x(21) = 0x1122334455667788ull;
  // c.sdsp s5, 504(sp) ; c.ldsp t2, 504(sp)
  m.run_bytes({0xd6, 0xff, 0xfe, 0x73});
  EXPECT_EQ(m.x(7), 0x1122334455667788ull);
  uint64_t v = 0;
  m.mem.read(kData + 0x100 + 504, &v, 8);
  EXPECT_EQ(v, 0x1122334455667788ull);
}

TEST(Rv64Compressed, IllegalZeroAndAddi4spnStopWithTheirBytes) {
  for (uint16_t c : {uint16_t(0x0000), uint16_t(0x0004)}) {
    Rv64Machine m;
    // c.li a0, 1 ; then the illegal halfword
    Stop s = m.run_bytes({0x05, 0x45, uint8_t(c), uint8_t(c >> 8)});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn);
    EXPECT_EQ(s.pc, kCode + 2);
    EXPECT_EQ(s.insn, c);
    EXPECT_EQ(s.insn_len, 2);
    EXPECT_EQ(m.x(10), 1u);
  }
}

TEST(Rv64Compressed, EbreakStopsAtItsPc) {
  Rv64Machine m;
  Stop s = m.run_bytes({0x01, 0x00, 0x02, 0x90});  // c.nop ; c.ebreak
  EXPECT_EQ(s.reason, StopReason::Breakpoint);
  EXPECT_EQ(s.pc, kCode + 2);
}

}  // namespace
}  // namespace vmkit::rv64::test
