// The execution loop: instruction budgets, block chaining inside the interpreter, precise faults
// in chained blocks, and invalidation when guest code is overwritten. Blocks come from the real
// RISC-V frontend.
#include <gtest/gtest.h>

#include <set>

#include <cstring>

#include "../frontend/riscv64/rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

uint32_t bne(unsigned rs1, unsigned rs2, int32_t off) { return b_type(off, rs2, rs1, 1); }
uint32_t ld(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x03); }
uint32_t sw(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 2, 0x23); }
uint32_t jal(unsigned rd, int32_t off) { return j_type(off, rd); }

// a0 counts down from a1 in a two-block loop (the jal splits it), a2 counts iterations.
const std::vector<uint32_t> kTwoBlockLoop = {
    addi(12, 12, 1),  // 0x00: a2 += 1
    jal(0, 8),        // 0x04: -> 0x0c (ends the first block)
    0x00000013,       // 0x08: nop (skipped)
    addi(10, 10, -1), // 0x0c: a0 -= 1
    bne(10, 0, -16),  // 0x10: loop while a0 != 0
};

TEST(Cpu, BudgetIsExactAndResumesExactly) {
  Rv64Machine m;
  m.x(10) = 1000;
  std::vector<uint32_t> code = kTwoBlockLoop;
  Stop s = m.run(code);  // run() allows 100000 insns: finishes
  ASSERT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(m.x(12), 1000u);

  // Again, 37 instructions at a time: every stop is a Limit after exactly 37 instructions (often
  // inside a block: its tail runs one instruction at a time); the end state is the same.
  m.x(10) = 1000;
  m.x(12) = 0;
  m.cpu->set_pc(kCode);
  unsigned stops = 0;
  std::set<uint64_t> stop_pcs;
  for (;;) {
    uint64_t before = m.cpu->stats().insns_executed;
    s = m.cpu->run(37);
    if (s.reason != StopReason::Limit) break;
    ++stops;
    EXPECT_EQ(m.cpu->stats().insns_executed - before, 37u);
    EXPECT_EQ(m.cpu->pc(), s.pc);
    stop_pcs.insert(s.pc);
  }
  EXPECT_GT(stop_pcs.size(), 3u);  // not only block starts
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(m.x(12), 1000u);
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_GT(stops, 100u);
}

// The loops below walk x11 up one page per iteration from kData, counting in x12: the load of
// the 17th iteration faults just past the 16 mapped pages, with exactly 16 iterations done.
void expect_fault_after_16_pages(Rv64Machine& m, const Stop& s) {
  ASSERT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(s.addr, kData + 16 * 4096);
  EXPECT_EQ(m.x(12), 16u);
  EXPECT_EQ(m.x(11), kData + 16 * 4096);
  EXPECT_EQ(m.cpu->pc(), kCode);
}

TEST(Cpu, ChainedBlocksAreCountedAndFaultsInThemArePrecise) {
  // Walk a pointer up one page per iteration through 16 mapped pages; the 17th load faults in
  // a block reached by chaining. The fault must name that load, with the loop state of exactly
  // 16 completed iterations.
  Rv64Machine m;
  m.x(11) = kData;      // pointer
  m.x(13) = 4096;       // stride
  std::vector<uint32_t> code = {
      ld(14, 11, 0),                                   // 0x00: t = *p
      r_type(0, 13, 11, 0, 11, 0x33),                  // 0x04: p += stride
      addi(12, 12, 1),                                 // 0x08: n += 1
      jal(0, 8),                                       // 0x0c: -> 0x14
      0x00000013,                                      // 0x10
      jal(0, -20),                                     // 0x14: -> 0x00
  };
  expect_fault_after_16_pages(m, m.run(code));
  EXPECT_GE(m.cpu->blocks_executed(), 32u);
}

TEST(Cpu, AFaultInsideABlockThatLoopsOnItselfIsPrecise) {
  // One block that branches back to itself (tier 1 runs it as a loop with its carried registers
  // in host registers): a pointer walks up one page per iteration through 16 mapped pages and
  // the 17th load faults. State, instruction count and the block's execution count must say
  // exactly 16 completed iterations.
  Rv64Machine m;
  m.x(11) = kData;      // pointer
  m.x(13) = 4096;       // stride
  m.x(14) = ~0ull;      // never equal to the pointer: the loop only ends by the fault
  std::vector<uint32_t> code = {
      ld(15, 11, 0),                   // 0x00: t = *p
      r_type(0, 13, 11, 0, 11, 0x33),  // 0x04: p += stride
      addi(12, 12, 1),                 // 0x08: n += 1
      bne(11, 14, -12),                // 0x0c: back to 0x00
  };
  uint64_t before = m.cpu->stats().insns_executed;
  expect_fault_after_16_pages(m, m.run(code));
  EXPECT_EQ(m.cpu->stats().insns_executed - before, 16u * 4);
  bool found = false;
  for (const BlockStat& b : m.cpu->block_stats()) {
    if (b.pc != kCode) continue;
    EXPECT_EQ(b.executions, 16u);
    found = true;
  }
  EXPECT_TRUE(found);
}

TEST(Cpu, AFaultAfterManyRegisterWritesInItsBlockReportsThemAll) {
  // Tier 1 defers guest-register writes within a block; a fault must still show every write
  // before it. 16 registers written (more than the host registers that cache values: some are
  // spilled), one of them twice, then a load from an unmapped page.
  Rv64Machine m;
  const unsigned regs[] = {5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
  std::vector<uint32_t> code;
  for (unsigned k = 0; k < 16; ++k) {
    m.x(regs[k]) = 1000 * k;
    code.push_back(addi(regs[k], regs[k], int32_t(k + 1)));
  }
  code.push_back(addi(12, 12, 100));            // x12 written again
  code.push_back(ld(31, 30, 0));                // faults
  code.push_back(addi(5, 5, 1));                // not reached
  code.push_back(0x00000073);
  m.write_code(code.data(), code.size() * 4);
  m.x(30) = kData + 0x10000;  // just past the data mapping
  m.x(31) = 77;
  m.cpu->set_pc(kCode);
  for (int round = 0; round < 2; ++round) {  // the first run compiles under VMKIT_TEST_ENGINE=jit
    for (unsigned k = 0; k < 16; ++k) m.x(regs[k]) = 1000 * k;
    m.cpu->set_pc(kCode);
    Stop s = m.cpu->run(1000);
    ASSERT_EQ(s.reason, StopReason::MemFault);
    EXPECT_EQ(s.pc, kCode + 17 * 4);
    EXPECT_EQ(s.addr, kData + 0x10000);
    for (unsigned k = 0; k < 16; ++k)
      EXPECT_EQ(m.x(regs[k]), 1000 * k + k + 1 + (regs[k] == 12 ? 100 : 0)) << "x" << regs[k];
    EXPECT_EQ(m.x(31), 77u);
  }
}

TEST(Cpu, StoreIntoTranslatedCodeInvalidatesIt) {
  // The loop body at 0x20 is translated and run once; the guest then rewrites its addi
  // (a0 += 1 becomes a0 += 100) with a plain store and runs it again - without fence.i, vmkit
  // still sees the new instruction.
  Rv64Machine m;
  m.mem.protect(kCode, 0x10000, kRead | kWrite | kExec);  // code the guest may write
  const uint32_t patched = addi(10, 10, 100);
  std::vector<uint32_t> code = {
      jal(1, 0x20),        // 0x00: call body
      sw(15, 16, 0),       // 0x04: *(a6) = a5  (a6 = address of the body's addi)
      jal(1, 0x18),        // 0x08: call body again
      0x00000073,          // 0x0c: ecall
      0x00000013, 0x00000013, 0x00000013, 0x00000013,  // 0x10..0x1c
      addi(10, 10, 1),     // 0x20: body: a0 += 1
      0x00008067,          // 0x24: ret
  };
  std::memcpy(m.mem.host(kCode), code.data(), code.size() * 4);
  m.x(15) = patched;
  m.x(16) = kCode + 0x20;
  m.cpu->set_pc(kCode);
  Stop s = m.cpu->run(1000);
  ASSERT_EQ(s.reason, StopReason::Syscall) << stop_reason_name(s.reason) << " at " << std::hex << s.pc;
  EXPECT_EQ(s.pc, kCode + 0x0c);
  EXPECT_EQ(m.x(10), 101u);
  EXPECT_GE(m.cpu->stats().invalidations, 1u);
  EXPECT_EQ(m.cpu->stats().code_write_faults, 1u);  // the page was write-protected
}

uint32_t sd(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 3, 0x23); }

TEST(Cpu, AStoreIntoItsOwnBlockChangesTheNextInstructionExactly) {
  // One straight-line block rewrites its own fourth instruction before reaching it: the new
  // instruction runs (as on hardware that orders stores and fetches), with exact state and
  // counts, under either engine.
  Rv64Machine m;
  m.mem.protect(kCode, 0x10000, kRead | kWrite | kExec);
  std::vector<uint32_t> code = {
      addi(10, 10, 1),   // 0x00
      sw(15, 16, 0),     // 0x04: *(0x0c) = addi a0, a0, 100
      addi(10, 10, 2),   // 0x08
      addi(10, 10, 1),   // 0x0c: replaced before it runs
      0x00000073,        // 0x10: ecall
  };
  m.write_code(code.data(), code.size() * 4);
  for (int round = 0; round < 3; ++round) {  // translated anew each time: the store faults again
    m.x(10) = 0;
    m.x(15) = addi(10, 10, 100);
    m.x(16) = kCode + 0x0c;
    m.cpu->set_pc(kCode);
    uint64_t before = m.cpu->stats().insns_executed;
    Stop s = m.cpu->run(1000);
    ASSERT_EQ(s.reason, StopReason::Syscall) << stop_reason_name(s.reason) << " at " << std::hex << s.pc;
    EXPECT_EQ(s.pc, kCode + 0x10);
    EXPECT_EQ(m.x(10), 103u);
    EXPECT_EQ(m.cpu->stats().insns_executed - before, 4u);
    EXPECT_EQ(m.cpu->stats().code_write_faults, uint64_t(round + 1));
  }
}

TEST(Cpu, AStoreAcrossTwoCodePagesRewritesBoth) {
  // The function at 0x10ffc straddles two pages that both hold translated code; one 8-byte store
  // rewrites both of its instructions (each page faults once), and the next call runs the new ones.
  Rv64Machine m;
  m.mem.protect(kCode, 0x10000, kRead | kWrite | kExec);
  std::vector<uint32_t> main_code = {
      jal(1, 0xffc),     // 0x00: call 0xffc
      sd(15, 16, -4),    // 0x04: *(0x1000 - 4) = two new instructions
      jal(1, 0xff4),     // 0x08: call 0xffc again
      0x00000073,        // 0x0c: ecall
  };
  std::vector<uint32_t> fn = {addi(10, 10, 1), addi(10, 10, 1), 0x00008067};  // at 0xffc
  m.write_code(main_code.data(), main_code.size() * 4);
  m.mem.debug_write(kCode + 0xffc, fn.data(), fn.size() * 4);
  m.x(15) = uint64_t(addi(10, 10, 10)) | uint64_t(addi(10, 10, 20)) << 32;
  m.x(16) = kCode + 0x1000;
  m.cpu->set_pc(kCode);
  Stop s = m.cpu->run(1000);
  ASSERT_EQ(s.reason, StopReason::Syscall) << stop_reason_name(s.reason) << " at " << std::hex << s.pc;
  EXPECT_EQ(m.x(10), 32u);  // 1 + 1, then 10 + 20
  EXPECT_EQ(m.cpu->stats().code_write_faults, 2u);
}

TEST(Cpu, AStoreIntoCodeTheGuestMayNotWriteIsAGuestFault) {
  // Page protection is how stores into code are noticed; where the guest has no write
  // permission the fault stays the guest's.
  Rv64Machine m;
  std::vector<uint32_t> code = {sw(15, 16, 0), 0x00000073};
  m.write_code(code.data(), code.size() * 4);
  m.x(16) = kCode + 4;
  m.cpu->set_pc(kCode);
  Stop s = m.cpu->run(1000);
  ASSERT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_TRUE(s.write);
  EXPECT_EQ(s.addr, kCode + 4);
  EXPECT_EQ(m.cpu->stats().code_write_faults, 0u);
}

}  // namespace
}  // namespace vmkit::rv64::test
