// Branches, exception generation, hints, barriers and system registers.
#include <csignal>

#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

TEST(A64Branch, BranchAndLinkSetsLrAndRetReturns) {
  A64Machine m;
  // bl to a subroutine that sets x0 and returns; then x1 = 7
  m.exec("bl 1f; mov x1, #7; b 2f; 1: movz x0, #42; ret; 2: nop");
  EXPECT_EQ(m.x(0), 42u);
  EXPECT_EQ(m.x(1), 7u);
  EXPECT_EQ(m.x(30), kCode + 4);
}

TEST(A64Branch, BlrReadsItsTargetBeforeWritingLr) {
  A64Machine m;
  m.x(30) = kCode + 12;  // blr x30: the target is the old x30
  m.exec("blr x30; movz x0, #1; b 1f; movz x2, #3; 1: nop");
  EXPECT_EQ(m.x(0), 0u);
  EXPECT_EQ(m.x(2), 3u);
  EXPECT_EQ(m.x(30), kCode + 4);
}

TEST(A64Branch, CbzCbnzOnWAndXRegisters) {
  A64Machine m;
  m.x(3) = 0xffffffff00000000ull;  // w3 is zero, x3 is not
  m.exec("cbz w3, 1f; movz x0, #1; 1: cbnz x3, 2f; movz x1, #1; 2: cbz x3, 3f; movz x2, #5; 3: nop");
  EXPECT_EQ(m.x(0), 0u);
  EXPECT_EQ(m.x(1), 0u);
  EXPECT_EQ(m.x(2), 5u);
}

TEST(A64Branch, TbzTbnzTestOneBit) {
  A64Machine m;
  m.x(4) = 1ull << 63 | 1ull << 5;
  m.exec("tbnz x4, #63, 1f; movz x0, #1; 1: tbz x4, #5, 2f; movz x1, #1; 2: tbz w4, #6, 3f; movz x2, #1; 3: nop");
  EXPECT_EQ(m.x(0), 0u);
  EXPECT_EQ(m.x(1), 1u);
  EXPECT_EQ(m.x(2), 0u);
}

// Every condition against flags set by msr nzcv (the raw form) and by Python-style state writes.
TEST(A64Branch, ConditionsOfRawFlags) {
  struct Case { unsigned cond; uint32_t nzcv; bool taken; };
  const char* names[] = {"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"};
  for (uint32_t flags = 0; flags < 16; ++flags) {
    bool n = flags & 8, z = flags & 4, c = flags & 2, v = flags & 1;
    bool expect[] = {z, !z, c, !c, n, !n, v, !v, c && !z, !(c && !z), n == v, n != v, !z && n == v, !(!z && n == v), true};
    for (unsigned cc = 0; cc < 15; ++cc) {
      for (bool via_msr : {false, true}) {
        A64Machine m;
        m.x(5) = uint64_t(flags) << 28;
        if (!via_msr) m.set_nzcv(flags << 28);
        std::string text = std::string(via_msr ? "msr nzcv, x5; " : "") + "b." + names[cc] + " 1f; movz x0, #1; 1: nop";
        m.exec(text);
        EXPECT_EQ(m.x(0), expect[cc] ? 0u : 1u) << names[cc] << " with nzcv " << flags << (via_msr ? " (msr)" : "");
        EXPECT_EQ(m.nzcv(), flags << 28);
      }
    }
  }
}

TEST(A64System, MrsMsrOfUserRegisters) {
  A64Machine m;
  m.x(1) = 0x1234;
  m.x(2) = 0xffffffffffffffffull;
  m.set_nzcv(N | C);
  m.exec("msr tpidr_el0, x1; mrs x3, tpidr_el0; mrs x4, nzcv; msr fpcr, x2; mrs x5, fpcr; msr fpsr, x2; mrs x6, fpsr;"
         "mrs x7, dczid_el0; mrs x8, ctr_el0; mrs x9, cntfrq_el0; mrs x10, cntvct_el0; mrs x11, cntvct_el0;"
         "mrs x12, tpidrro_el0");
  EXPECT_EQ(m.st().tpidr_el0, 0x1234u);
  EXPECT_EQ(m.x(3), 0x1234u);
  EXPECT_EQ(m.x(4), uint64_t(N | C));
  EXPECT_EQ(m.x(5), 0x07c80000u);  // AHP DN FZ RMode FZ16
  EXPECT_EQ(m.x(6), 0x0800009fu);  // QC and the cumulative exception bits
  EXPECT_EQ(m.x(7), 4u);           // 64-byte DC ZVA blocks
  EXPECT_EQ(m.x(8) & 0xf, 4u);     // 64-byte instruction cache lines
  EXPECT_EQ(m.x(9), 62500000u);
  EXPECT_NE(m.x(10), 0u);
  EXPECT_GE(m.x(11), m.x(10));
  EXPECT_EQ(m.x(12), 0u);
}

TEST(A64System, PrivilegedRegistersAreUndefined) {
  A64Machine m;
  std::vector<uint32_t> words = A64Machine::assemble("mrs x0, midr_el1");
  Stop s = m.run(words);
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(s.insn, words[0]);
}

TEST(A64System, DcZvaZeroesTheAlignedBlock) {
  A64Machine m;
  std::vector<uint8_t> ones(256, 0xff);
  m.mem.write(kData, ones.data(), ones.size());
  m.x(0) = kData + 64 + 17;  // inside the second block
  m.exec("dc zva, x0; dc cvau, x0; ic ivau, x0; dsb ish; isb; dmb ishld; nop; yield; clrex");
  std::vector<uint8_t> got(256);
  m.mem.read(kData, got.data(), got.size());
  for (unsigned i = 0; i < 256; ++i) EXPECT_EQ(got[i], (i >= 64 && i < 128) ? 0 : 0xff) << i;
}

TEST(A64System, SvcBrkAndUndefinedStop) {
  A64Machine m;
  Stop s = m.run("brk #0x3e8");
  EXPECT_EQ(s.reason, StopReason::Breakpoint);
  EXPECT_EQ(s.pc, kCode);
  s = m.run({0x00000000u});  // udf #0
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.insn, 0u);
  s = m.run("svc #0");
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(s.pc, kCode);
}

}  // namespace
}  // namespace vmkit::a64::test
