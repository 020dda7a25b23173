// The interpreter's lowering (interpreter.cpp, lower()): merged insts must compute exactly what
// the IR says, including guest state at a fault in the middle of a merged pair. Blocks come from
// the real RISC-V frontend.
#include <gtest/gtest.h>

#include <cstring>

#include "../frontend/riscv64/rv64_test_util.h"
#include "interp/interpreter.h"
#include "ir/passes.h"

namespace vmkit::rv64::test {
namespace {

uint32_t op32(uint32_t f7, uint32_t f3, unsigned rd, unsigned rs1, unsigned rs2) { return r_type(f7, rs2, rs1, f3, rd, 0x3b); }
uint32_t ld(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x03); }
uint32_t blt(unsigned rs1, unsigned rs2, int32_t off) { return b_type(off, rs2, rs1, 4); }

TEST(InterpLowering, FaultingLoadLeavesItsDestinationRegisterUntouched) {
  // ld's value and the put into rd are one handler after lowering; the put must not happen
  // when the load faults.
  Rv64Machine m;
  m.x(5) = 0x900000;  // unmapped
  m.x(7) = 0x1234;
  Stop s = m.run({addi(6, 0, 3), ld(7, 5, 0), addi(7, 0, 9)});
  ASSERT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(s.pc, kCode + 4);
  EXPECT_EQ(m.x(7), 0x1234u);
  EXPECT_EQ(m.x(6), 3u);
  // The same load from mapped memory delivers the value.
  uint64_t v = 0x1122334455667788ull;
  std::memcpy(m.mem.host(kData), &v, 8);
  m.x(5) = kData;
  m.exec({ld(7, 5, 0)});
  EXPECT_EQ(m.x(7), v);
}

TEST(InterpLowering, WordOpChainsMatchHostArithmetic) {
  // addw / sllw / sraw / subw chained through registers: the trunc and sext insts between them
  // are merged away, results must still be the sign-extended 32-bit values.
  Rv64Machine m;
  m.x(11) = 0x7fffffff12345678ull;
  m.x(12) = 0x00000000f0000000ull;
  m.x(14) = 35;  // shift amounts use the low 5 bits: 3
  m.exec({op32(0, 0, 10, 11, 12),       // addw a0, a1, a2
          op32(0, 1, 13, 10, 14),       // sllw a3, a0, a4
          op32(0x20, 5, 15, 13, 14),    // sraw a5, a3, a4
          op32(0x20, 0, 16, 15, 11)});  // subw a6, a5, a1
  int32_t a0 = int32_t(uint32_t(0x12345678u + 0xf0000000u));
  int32_t a3 = int32_t(uint32_t(a0) << 3);
  int32_t a5 = a3 >> 3;
  int32_t a6 = int32_t(uint32_t(a5) - 0x12345678u);
  EXPECT_EQ(m.x(10), uint64_t(int64_t(a0)));
  EXPECT_EQ(m.x(13), uint64_t(int64_t(a3)));
  EXPECT_EQ(m.x(15), uint64_t(int64_t(a5)));
  EXPECT_EQ(m.x(16), uint64_t(int64_t(a6)));
}

TEST(InterpLowering, MergesShrinkTheThreadedCode) {
  // addw a0,a1,a2 ; blt a0,a3,+8 : get a1, get a2, trunc, trunc, add, sext, put, get a3, lts, br
  // lowers to get, get, add+sext+put, get, lts+br.
  Rv64Machine m;
  CachedBlock cb;
  std::vector<uint32_t> words = {op32(0, 0, 10, 11, 12), blt(10, 13, 8)};
  m.write_code(words.data(), 8);
  cb.ir = m.cpu->translate(kCode);
  ir::optimize(cb.ir);
  cb.frame = cb.ir.slot_init;
  const ThreadedInst* running = nullptr;
  InterpEnv env{m.cpu->state(), m.mem.base(), m.mem.size(), &running};
  m.x(11) = 0xffffffff80000000ull;  // low word INT32_MIN
  m.x(12) = ~0ull;                  // -1: addw wraps to INT32_MAX
  m.x(13) = 5;
  BlockOutcome out = interpret(cb, env);
  EXPECT_EQ(m.x(10), 0x7fffffffu);
  ASSERT_EQ(out.kind, BlockOutcome::Next);
  EXPECT_EQ(out.pc, kCode + 8);  // INT32_MAX < 5 is false: fall through
  EXPECT_LT(cb.code.size(), cb.ir.insts.size());
  EXPECT_EQ(cb.code.size(), 5u);
  // Every threaded inst maps back to an IR inst of the block, in order.
  ASSERT_EQ(cb.code_ir_index.size(), cb.code.size());
  for (size_t i = 1; i < cb.code_ir_index.size(); ++i) EXPECT_LT(cb.code_ir_index[i - 1], cb.code_ir_index[i]);
}

TEST(InterpLowering, DroppedTruncNeverLeaksHighBits) {
  // trunc.i32 feeding only i32 ops is dropped, so those ops see the wide source: every one of
  // them must still produce a clean 32-bit result, also in shortcuts such as a rotate by 0.
  for (ir::Op op : {ir::Op::rotr, ir::Op::rotl, ir::Op::shl, ir::Op::lshr, ir::Op::ashr, ir::Op::and_,
                    ir::Op::or_, ir::Op::xor_, ir::Op::add, ir::Op::sub, ir::Op::mul}) {
    Rv64Machine m;
    CachedBlock cb;
    cb.ir.arch = &m.fe->arch();
    ir::Builder b(cb.ir);
    b.begin_insn(kCode, 4, 0);
    ir::Slot wide = b.get(ir::Type::I64, off_x(5));
    ir::Slot word = b.convert(ir::Op::trunc, ir::Type::I32, wide);
    bool shift = op == ir::Op::rotr || op == ir::Op::rotl || op == ir::Op::shl || op == ir::Op::lshr ||
                 op == ir::Op::ashr;
    // Shifts by 32 (= 0 modulo the width); the others with a neutral or simple operand.
    ir::Slot other = b.konst(ir::Type::I32, shift ? 32 : op == ir::Op::mul ? 1 : op == ir::Op::and_ ? 0xffffffff : 0);
    ir::Slot r = b.binop(op, word, other);
    b.put(off_x(6), b.convert(ir::Op::zext, ir::Type::I64, r));
    b.jmp(kCode + 4);
    ASSERT_EQ(ir::verify(cb.ir), "");
    cb.frame = cb.ir.slot_init;
    const ThreadedInst* running = nullptr;
    InterpEnv env{m.cpu->state(), m.mem.base(), m.mem.size(), &running};
    m.x(5) = 0xdeadbeef12345678ull;
    interpret(cb, env);
    EXPECT_EQ(m.x(6), 0x12345678u) << ir::op_info(op).name;
  }
}

}  // namespace
}  // namespace vmkit::rv64::test
