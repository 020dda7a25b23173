// The block optimiser: fewer ops, same effect on state, still verifiable.
#include <gtest/gtest.h>

#include "core/block_cache.h"
#include "interp/interpreter.h"
#include "ir/passes.h"

using namespace vmkit;
using namespace vmkit::ir;

namespace {
std::string name_of(uint32_t off) { return "r" + std::to_string(off / 8); }
const ArchInfo kTestArch{"test", 256, name_of, nullptr, 0};

// r1 = r1 + 1; r1 = r1 + 1 (forwarded get, dead first put); r2 = (r3 + 0) | 0; r4 = 5 + 6; then a
// store (observation point) and a final put.
Block sample() {
  Block b;
  b.arch = &kTestArch;
  Builder bb(b);
  bb.begin_insn(0, 4, 0);
  bb.put(8, bb.binop(Op::add, bb.get(Type::I64, 8), bb.konst(Type::I64, 1)));
  bb.begin_insn(4, 4, 0);
  bb.put(8, bb.binop(Op::add, bb.get(Type::I64, 8), bb.konst(Type::I64, 1)));
  bb.begin_insn(8, 4, 0);
  bb.put(16, bb.binop(Op::or_, bb.binop(Op::add, bb.get(Type::I64, 24), bb.konst(Type::I64, 0)), bb.konst(Type::I64, 0)));
  bb.begin_insn(12, 4, 0);
  bb.put(32, bb.binop(Op::add, bb.konst(Type::I64, 5), bb.konst(Type::I64, 6)));
  bb.begin_insn(16, 4, 0);
  bb.store(bb.konst(Type::I64, 0x100), bb.get(Type::I64, 8));
  bb.begin_insn(20, 4, 0);
  bb.put(40, bb.get(Type::I64, 32));
  bb.jmp(24);
  return b;
}

std::vector<uint64_t> run(Block b, std::vector<uint8_t>& mem) {
  std::vector<uint64_t> state(32);
  state[1] = 10;
  state[3] = 33;
  const ThreadedInst* running = nullptr;
  CachedBlock cb;
  cb.ir = std::move(b);
  cb.frame = cb.ir.slot_init;
  InterpEnv env{reinterpret_cast<uint8_t*>(state.data()), mem.data(), mem.size(), &running};
  EXPECT_EQ(interpret(cb, env).kind, BlockOutcome::Next);
  return state;
}
}  // namespace

TEST(IrPasses, OptimisedBlockHasFewerOpsAndTheSameEffect) {
  Block before = sample(), after = sample();
  PassStats st = optimize(after);
  ASSERT_EQ(verify(after), "") << print(after);
  EXPECT_LT(after.insts.size(), before.insts.size()) << print(after);
  EXPECT_GE(st.gets_forwarded, 2u);
  EXPECT_EQ(st.puts_removed, 1u);
  EXPECT_GE(st.folded, 3u);
  std::vector<uint8_t> m1(1 << 12), m2(1 << 12);
  EXPECT_EQ(run(before, m1), run(after, m2));
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(after.marks.size(), before.marks.size());
  // The store's instruction still maps to its pc.
  for (size_t i = 0; i < after.insts.size(); ++i)
    if (after.insts[i].op == Op::store) {
      EXPECT_EQ(after.pc_of_inst(i), 16u);
    }
}

TEST(IrPasses, KeepsPutsBeforeAnOpThatMayFault) {
  Block b;
  b.arch = &kTestArch;
  Builder bb(b);
  bb.begin_insn(0, 4, 0);
  bb.put(8, bb.konst(Type::I64, 1));
  bb.begin_insn(4, 4, 0);
  Slot v = bb.load(Type::I64, bb.konst(Type::I64, 0x100));
  bb.put(8, v);
  bb.jmp(8);
  optimize(b);
  unsigned puts = 0;
  for (auto& in : b.insts) puts += in.op == Op::put;
  EXPECT_EQ(puts, 2u) << print(b);
}
