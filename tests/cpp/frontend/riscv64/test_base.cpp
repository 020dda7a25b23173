// RV64I, Zifencei and Zicsr lifted semantics, run end to end (frontend, verifier, optimiser,
// interpreter) through Rv64Machine.
#include <csignal>
#include <cstdint>

#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

uint32_t lui(unsigned rd, uint32_t imm20) { return u_type(imm20, rd, 0x37); }
uint32_t auipc(unsigned rd, uint32_t imm20) { return u_type(imm20, rd, 0x17); }
uint32_t op(uint32_t f7, uint32_t f3, unsigned rd, unsigned rs1, unsigned rs2) { return r_type(f7, rs2, rs1, f3, rd, 0x33); }
uint32_t op32(uint32_t f7, uint32_t f3, unsigned rd, unsigned rs1, unsigned rs2) { return r_type(f7, rs2, rs1, f3, rd, 0x3b); }
uint32_t opimm(uint32_t f3, unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, f3, rd, 0x13); }
uint32_t opimm32(uint32_t f3, unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, f3, rd, 0x1b); }
uint32_t load(uint32_t f3, unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, f3, rd, 0x03); }
uint32_t store(uint32_t f3, unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, f3, 0x23); }
uint32_t csr(uint32_t f3, unsigned rd, unsigned rs1, uint32_t num) { return (num << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73; }

TEST(Rv64Base, LuiAuipcSignExtend) {
  Rv64Machine m;
  m.exec({lui(5, 0x80000), auipc(6, 0xfffff), lui(0, 0x12345)});
  EXPECT_EQ(m.x(5), 0xffffffff80000000ull);
  EXPECT_EQ(m.x(6), kCode + 4 - 0x1000);
  EXPECT_EQ(m.x(0), 0u);
}

TEST(Rv64Base, AddiAndX0WritesDiscarded) {
  Rv64Machine m;
  m.x(5) = 10;
  m.exec({addi(6, 5, -11), addi(0, 5, 7), op(0, 0, 0, 5, 5)});
  EXPECT_EQ(m.x(6), ~0ull);
  EXPECT_EQ(m.x(0), 0u);
}

TEST(Rv64Base, RegisterArithmeticAndCompares) {
  Rv64Machine m;
  m.x(5) = 0x8000000000000000ull;
  m.x(6) = 1;
  m.exec({op(0, 0, 10, 5, 6), op(0x20, 0, 11, 6, 5), op(0, 2, 12, 5, 6), op(0, 3, 13, 5, 6), op(0, 4, 14, 5, 6),
          op(0, 6, 15, 5, 6), op(0, 7, 16, 5, 6), opimm(2, 17, 5, 0), opimm(3, 18, 6, -1), opimm(4, 19, 6, -1),
          opimm(6, 20, 6, 0x700), opimm(7, 21, 5, -1)});
  EXPECT_EQ(m.x(10), 0x8000000000000001ull);
  EXPECT_EQ(m.x(11), 0x8000000000000001ull);  // 1 - MIN wraps
  EXPECT_EQ(m.x(12), 1u);                     // MIN < 1 signed
  EXPECT_EQ(m.x(13), 0u);                     // not unsigned
  EXPECT_EQ(m.x(14), 0x8000000000000001ull);
  EXPECT_EQ(m.x(15), 0x8000000000000001ull);
  EXPECT_EQ(m.x(16), 0u);
  EXPECT_EQ(m.x(17), 1u);   // slti MIN < 0
  EXPECT_EQ(m.x(18), 1u);   // sltiu 1 < 0xffff...ffff (immediate sign-extended, compared unsigned)
  EXPECT_EQ(m.x(19), ~1ull);
  EXPECT_EQ(m.x(20), 0x701u);
  EXPECT_EQ(m.x(21), 0x8000000000000000ull);
}

TEST(Rv64Base, ShiftsUseLowSixBits) {
  Rv64Machine m;
  m.x(5) = 0x8000000000000001ull;
  m.x(6) = 63;
  m.x(7) = 64;  // same as 0
  m.exec({op(0, 1, 10, 5, 6), op(0, 5, 11, 5, 6), op(0x20, 5, 12, 5, 6), op(0, 1, 13, 5, 7), op(0x20, 5, 14, 5, 7),
          opimm(1, 15, 5, 63), opimm(5, 16, 5, 63), opimm(5, 17, 5, 0x400 | 63)});
  EXPECT_EQ(m.x(10), 0x8000000000000000ull);
  EXPECT_EQ(m.x(11), 1u);
  EXPECT_EQ(m.x(12), ~0ull);
  EXPECT_EQ(m.x(13), 0x8000000000000001ull);
  EXPECT_EQ(m.x(14), 0x8000000000000001ull);
  EXPECT_EQ(m.x(15), 0x8000000000000000ull);
  EXPECT_EQ(m.x(16), 1u);
  EXPECT_EQ(m.x(17), ~0ull);
}

TEST(Rv64Base, WordOpsSignExtendAndUseFiveBitShifts) {
  Rv64Machine m;
  m.x(5) = 0x7fffffff;
  m.x(6) = 1;
  m.x(7) = 33;                   // W shifts use 33 & 31 = 1
  m.x(8) = 0xdeadbeef80000000ull;  // upper half ignored by W ops
  m.exec({op32(0, 0, 10, 5, 6), op32(0x20, 0, 11, 6, 5), op32(0, 1, 12, 6, 7), op32(0, 5, 13, 8, 7),
          op32(0x20, 5, 14, 8, 7), opimm32(0, 15, 5, 1), opimm32(1, 16, 6, 31), opimm32(5, 17, 8, 31),
          opimm32(5, 18, 8, 0x400 | 31), opimm32(0, 19, 8, 0)});
  EXPECT_EQ(m.x(10), 0xffffffff80000000ull);  // addw overflow
  EXPECT_EQ(m.x(11), 0xffffffff80000002ull);  // 1 - 0x7fffffff
  EXPECT_EQ(m.x(12), 2u);
  EXPECT_EQ(m.x(13), 0x40000000u);
  EXPECT_EQ(m.x(14), 0xffffffffc0000000ull);
  EXPECT_EQ(m.x(15), 0xffffffff80000000ull);
  EXPECT_EQ(m.x(16), 0xffffffff80000000ull);
  EXPECT_EQ(m.x(17), 1u);
  EXPECT_EQ(m.x(18), ~0ull);
  EXPECT_EQ(m.x(19), 0xffffffff80000000ull);  // sext.w
}

TEST(Rv64Base, ReservedShiftEncodingsAreIllegal) {
  // slliw with shamt[5] set, and slli with a funct6 no extension defines.
  for (uint32_t w : {opimm32(1, 5, 5, 32), opimm(1, 5, 5, 0x100), opimm32(5, 5, 5, 0x400 | 32)}) {
    Rv64Machine m;
    Stop s = m.run({addi(6, 0, 1), w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << w;
    EXPECT_EQ(s.pc, kCode + 4);
    EXPECT_EQ(s.insn, w);
    EXPECT_EQ(s.insn_len, 4);
    EXPECT_EQ(m.x(6), 1u);  // the instruction before it completed
  }
}

TEST(Rv64Base, LoadsExtendByWidth) {
  Rv64Machine m;
  uint64_t v = 0x8081828384858687ull;
  m.mem.write(kData, &v, 8);
  m.x(5) = kData;
  m.exec({load(0, 10, 5, 0), load(1, 11, 5, 0), load(2, 12, 5, 0), load(3, 13, 5, 0), load(4, 14, 5, 0),
          load(5, 15, 5, 0), load(6, 16, 5, 0), load(6, 17, 5, 4), load(2, 18, 5, 4)});
  EXPECT_EQ(m.x(10), 0xffffffffffffff87ull);
  EXPECT_EQ(m.x(11), 0xffffffffffff8687ull);
  EXPECT_EQ(m.x(12), 0xffffffff84858687ull);
  EXPECT_EQ(m.x(13), v);
  EXPECT_EQ(m.x(14), 0x87u);
  EXPECT_EQ(m.x(15), 0x8687u);
  EXPECT_EQ(m.x(16), 0x84858687u);  // lwu vs lw
  EXPECT_EQ(m.x(17), 0x80818283u);
  EXPECT_EQ(m.x(18), 0xffffffff80818283ull);
}

TEST(Rv64Base, StoresWriteOnlyTheirWidth) {
  Rv64Machine m;
  m.x(5) = kData + 16;
  m.x(6) = 0x1122334455667788ull;
  m.exec({store(3, 6, 5, -16), store(0, 0, 5, -16), store(1, 0, 5, -12), store(2, 6, 5, 0), store(3, 6, 5, 8)});
  uint64_t a = 0, b = 0, c = 0;
  m.mem.read(kData, &a, 8);
  m.mem.read(kData + 16, &b, 8);
  m.mem.read(kData + 24, &c, 8);
  EXPECT_EQ(a, 0x1122000055667700ull);
  EXPECT_EQ(b, 0x55667788u);
  EXPECT_EQ(c, 0x1122334455667788ull);
}

TEST(Rv64Base, LoadFromUnmappedIsPreciseMemFault) {
  Rv64Machine m;
  m.x(5) = 0x800000;
  Stop s = m.run({addi(6, 0, 3), load(3, 7, 5, 8), addi(6, 0, 4)});
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.pc, kCode + 4);
  EXPECT_EQ(s.addr, 0x800008u);
  EXPECT_FALSE(s.write);
  EXPECT_EQ(m.x(6), 3u);
}

TEST(Rv64Base, BranchesTakenAndNotTaken) {
  struct Case {
    uint32_t f3;
    uint64_t a, b;
    bool taken;
  };
  const Case cases[] = {
      {0, 5, 5, true},  {0, 5, 6, false}, {1, 5, 6, true},  {1, 7, 7, false},
      {4, ~0ull, 0, true}, {4, 0, ~0ull, false}, {5, 0, ~0ull, true}, {5, ~0ull, 0, false},
      {5, 3, 3, true},  {6, 0, ~0ull, true}, {6, ~0ull, 0, false}, {7, ~0ull, 0, true}, {7, 0, 1, false},
  };
  for (const Case& k : cases) {
    Rv64Machine m;
    m.x(5) = k.a;
    m.x(6) = k.b;
    // taken: skip the addi that sets x7 = 1.
    m.exec({b_type(8, 6, 5, k.f3), addi(7, 0, 1), addi(8, 0, 2)});
    EXPECT_EQ(m.x(7), k.taken ? 0u : 1u) << "funct3 " << k.f3 << " a " << k.a << " b " << k.b;
    EXPECT_EQ(m.x(8), 2u);
  }
}

TEST(Rv64Base, BackwardBranchLoops) {
  Rv64Machine m;
  m.x(5) = 10;
  // loop: x6 += x5; x5 -= 1; bne x5, x0, loop
  m.exec({op(0, 0, 6, 6, 5), addi(5, 5, -1), b_type(-8, 0, 5, 1)});
  EXPECT_EQ(m.x(6), 55u);
  EXPECT_EQ(m.x(5), 0u);
}

TEST(Rv64Base, JalLinksAndJumps) {
  Rv64Machine m;
  m.exec({j_type(8, 1), addi(5, 0, 1), addi(6, 0, 2)});
  EXPECT_EQ(m.x(1), kCode + 4);
  EXPECT_EQ(m.x(5), 0u);
  EXPECT_EQ(m.x(6), 2u);
}

TEST(Rv64Base, JalrClearsBitZeroAndReadsRs1BeforeLinking) {
  Rv64Machine m;
  m.x(1) = kCode + 8 + 1;  // odd target: bit 0 dropped
  m.exec({i_type(3, 1, 0, 1, 0x67) /* jalr ra, 3(ra) -> kCode+12 */, addi(5, 0, 1), addi(6, 0, 1), addi(7, 0, 1)});
  EXPECT_EQ(m.x(1), kCode + 4);
  EXPECT_EQ(m.x(5), 0u);
  EXPECT_EQ(m.x(6), 0u);
  EXPECT_EQ(m.x(7), 1u);
}

TEST(Rv64Base, EcallEbreakStopAtTheirPc) {
  Rv64Machine m;
  Stop s = m.run({addi(5, 0, 1), 0x00100073});
  EXPECT_EQ(s.reason, StopReason::Breakpoint);
  EXPECT_EQ(s.pc, kCode + 4);
  EXPECT_EQ(m.x(5), 1u);
}

TEST(Rv64Base, FenceIsANopAndFenceIResumes) {
  Rv64Machine m;
  m.exec({0x0ff0000f /* fence iorw,iorw */, 0x8330000f /* fence.tso */, addi(5, 0, 1), 0x0000100f /* fence.i */,
          addi(6, 5, 1)});
  EXPECT_EQ(m.x(5), 1u);
  EXPECT_EQ(m.x(6), 2u);
}

TEST(Rv64Base, FenceIPicksUpModifiedCode) {
  Rv64Machine m;
  m.mem.protect(kCode, 0x10000, kRead | kWrite | kExec);
  // Overwrite the instruction after fence.i (addi x6, x0, 1) with addi x6, x0, 2, then run it.
  m.x(5) = kCode + 12;
  m.x(7) = addi(6, 0, 2);
  std::vector<uint32_t> words = {store(2, 7, 5, 0), 0x0000100f, addi(0, 0, 0), addi(6, 0, 1), kEcall};
  m.mem.write(kCode, words.data(), words.size() * 4);
  m.cpu->set_pc(kCode);
  Stop s = m.cpu->run(1000);
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(m.x(6), 2u);
}

TEST(Rv64Base, CsrFloatingPointFields) {
  Rv64Machine m;
  m.x(5) = 0xff;
  m.exec({csr(1, 10, 5, 0x003),    // csrrw a0, fcsr, t0      -> frm 7, fflags 0x1f
          csr(2, 11, 0, 0x002),    // csrr a1, frm
          csr(7, 12, 0x3, 0x001),  // csrrci a2, fflags, 3
          csr(2, 13, 0, 0x003),    // csrr a3, fcsr
          csr(5, 14, 2, 0x002),    // csrrwi a4, frm, 2
          csr(6, 15, 0x10, 0x003)});  // csrrsi a5, fcsr, 0x10
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_EQ(m.x(11), 7u);
  EXPECT_EQ(m.x(12), 0x1fu);
  EXPECT_EQ(m.x(13), 0xfcu);
  EXPECT_EQ(m.x(14), 7u);
  EXPECT_EQ(m.x(15), 0x5cu);
  EXPECT_EQ(m.st().frm, 2u);
  EXPECT_EQ(m.st().fflags, 0x1cu);
}

TEST(Rv64Base, CsrCountersAreReadOnly) {
  Rv64Machine m;
  m.st().instret = 1234;
  m.exec({csr(2, 10, 0, 0xC00), csr(2, 11, 0, 0xC02), csr(2, 12, 0, 0xC01), csr(6, 13, 0, 0xC01)});
  EXPECT_EQ(m.x(10), 1234u);
  EXPECT_EQ(m.x(11), 1234u);
  EXPECT_GT(m.x(12), 0u);
  EXPECT_GE(m.x(13), m.x(12));  // monotonic

  // A write (even csrrw with rd = x0, or csrrs with a nonzero source) traps with SIGILL.
  for (uint32_t w : {csr(1, 0, 5, 0xC00), csr(2, 10, 5, 0xC02), csr(5, 0, 1, 0xC01)}) {
    Rv64Machine t;
    t.x(5) = 1;
    t.x(10) = 99;
    Stop s = t.run({addi(6, 0, 1), w});
    EXPECT_EQ(s.reason, StopReason::Trap) << std::hex << w;
    EXPECT_EQ(s.signo, SIGILL);
    EXPECT_EQ(s.code, 1);  // ILL_ILLOPC
    EXPECT_EQ(s.pc, kCode + 4);
    EXPECT_EQ(t.x(10), 99u);  // rd untouched
    EXPECT_EQ(t.x(6), 1u);
  }
}

TEST(Rv64Base, UnknownCsrTrapsEvenOnRead) {
  Rv64Machine m;
  Stop s = m.run({csr(2, 10, 0, 0x300) /* mstatus */});
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.signo, SIGILL);
  EXPECT_EQ(s.pc, kCode);
}

TEST(Rv64Base, UndecodableWordIsIllegalWithBytes) {
  Rv64Machine m;
  Stop s = m.run({0xffffffffu});
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(s.insn, 0xffffffffu);
  EXPECT_EQ(s.insn_len, 4);
}

}  // namespace
}  // namespace vmkit::rv64::test
