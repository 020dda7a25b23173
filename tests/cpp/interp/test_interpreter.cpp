// The interpreter on hand-built IR blocks: every op's total semantics at its edges.
#include <gtest/gtest.h>

#include <cstring>

#include "core/block_cache.h"
#include "interp/interpreter.h"
#include "ir/ir.h"

using namespace vmkit;
using namespace vmkit::ir;

namespace {
std::string name_of(uint32_t off) { return "r" + std::to_string(off / 8); }
const ArchInfo kTestArch{"test", 256, name_of, nullptr, 0};

struct Harness {
  uint64_t state[32] = {};
  std::vector<uint8_t> memory = std::vector<uint8_t>(1 << 16);
  const ThreadedInst* running = nullptr;

  // Builds a block with `body`, which returns the slot stored to state r0, then runs it.
  template <class F> uint64_t eval(F body) {
    CachedBlock cb;
    cb.ir.arch = &kTestArch;
    Builder b(cb.ir);
    b.begin_insn(0, 4, 0);
    Slot r = body(b);
    if (b.type_of(r) != Type::I64) r = b.convert(b.type_of(r) == Type::I1 ? Op::zext : Op::zext, Type::I64, r);
    b.put(0, r);
    b.jmp(0x40);
    EXPECT_EQ(verify(cb.ir), "");
    cb.frame = cb.ir.slot_init;
    InterpEnv env{reinterpret_cast<uint8_t*>(state), memory.data(), memory.size(), &running};
    BlockOutcome out = interpret(cb, env);
    EXPECT_EQ(out.kind, BlockOutcome::Next);
    EXPECT_EQ(out.pc, 0x40u);
    return state[0];
  }
  uint64_t bin(Op op, Type t, uint64_t x, uint64_t y) {
    return eval([&](Builder& b) { return b.binop(op, b.konst(t, x), b.konst(t, y)); });
  }
  uint64_t un(Op op, Type t, uint64_t x) {
    return eval([&](Builder& b) { return b.unop(op, b.konst(t, x)); });
  }
};
}  // namespace

TEST(Interpreter, DivisionIsTotal) {
  Harness h;
  EXPECT_EQ(h.bin(Op::divu, Type::I64, 7, 0), ~0ull);
  EXPECT_EQ(h.bin(Op::remu, Type::I64, 7, 0), 7u);
  EXPECT_EQ(h.bin(Op::divs, Type::I64, 7, 0), ~0ull);
  EXPECT_EQ(h.bin(Op::rems, Type::I64, uint64_t(-7), 0), uint64_t(-7));
  EXPECT_EQ(h.bin(Op::divs, Type::I64, 1ull << 63, ~0ull), 1ull << 63);
  EXPECT_EQ(h.bin(Op::rems, Type::I64, 1ull << 63, ~0ull), 0u);
  EXPECT_EQ(h.bin(Op::divs, Type::I32, 0x80000000u, 0xffffffffu), 0x80000000u);
  EXPECT_EQ(h.bin(Op::divu, Type::I32, 5, 0), 0xffffffffu);
  EXPECT_EQ(h.bin(Op::divs, Type::I32, uint32_t(-9), 2), uint32_t(-4));
  EXPECT_EQ(h.bin(Op::rems, Type::I32, uint32_t(-9), 2), uint32_t(-1));
}

TEST(Interpreter, ShiftsTakeTheAmountModuloTheWidth) {
  Harness h;
  EXPECT_EQ(h.bin(Op::shl, Type::I64, 1, 63), 1ull << 63);
  EXPECT_EQ(h.bin(Op::shl, Type::I64, 1, 64), 1u);
  EXPECT_EQ(h.bin(Op::lshr, Type::I64, 1ull << 63, 63), 1u);
  EXPECT_EQ(h.bin(Op::ashr, Type::I64, 1ull << 63, 63), ~0ull);
  EXPECT_EQ(h.bin(Op::ashr, Type::I32, 0x80000000u, 31), 0xffffffffu);
  EXPECT_EQ(h.bin(Op::shl, Type::I32, 1, 32), 1u);
  EXPECT_EQ(h.bin(Op::rotl, Type::I32, 0x80000001u, 1), 3u);
  EXPECT_EQ(h.bin(Op::rotr, Type::I64, 1, 1), 1ull << 63);
}

TEST(Interpreter, MultiplyHighHalves) {
  Harness h;
  EXPECT_EQ(h.bin(Op::mulhu, Type::I64, ~0ull, ~0ull), ~0ull - 1);
  EXPECT_EQ(h.bin(Op::mulhs, Type::I64, ~0ull, ~0ull), 0u);               // -1 * -1 = 1
  EXPECT_EQ(h.bin(Op::mulhsu, Type::I64, ~0ull, ~0ull), ~0ull);            // -1 * (2^64-1)
  EXPECT_EQ(h.bin(Op::mulhs, Type::I64, 1ull << 63, 1ull << 63), 1ull << 62);
  EXPECT_EQ(h.bin(Op::mul, Type::I32, 0x10000, 0x10000), 0u);
}

TEST(Interpreter, BitCountsAndWidthConversions) {
  Harness h;
  EXPECT_EQ(h.un(Op::clz, Type::I64, 0), 64u);
  EXPECT_EQ(h.un(Op::clz, Type::I32, 1), 31u);
  EXPECT_EQ(h.un(Op::ctz, Type::I32, 0), 32u);
  EXPECT_EQ(h.un(Op::popcnt, Type::I64, ~0ull), 64u);
  EXPECT_EQ(h.un(Op::bswap, Type::I64, 0x0102030405060708ull), 0x0807060504030201ull);
  EXPECT_EQ(h.un(Op::orcb, Type::I64, 0x0100200000000003ull), 0xff00ff00000000ffull);
  EXPECT_EQ(h.un(Op::neg, Type::I32, 1), 0xffffffffu);
  EXPECT_EQ(h.eval([](Builder& b) { return b.convert(Op::sext, Type::I64, b.konst(Type::I32, 0x80000000u)); }),
            0xffffffff80000000ull);
  EXPECT_EQ(h.eval([](Builder& b) { return b.convert(Op::sext, Type::I64, b.konst(Type::I8, 0x7f)); }), 0x7fu);
  EXPECT_EQ(h.eval([](Builder& b) { return b.convert(Op::trunc, Type::I16, b.konst(Type::I64, 0x12345)); }), 0x2345u);
}

TEST(Interpreter, SignedComparesUseTheOperandWidth) {
  Harness h;
  EXPECT_EQ(h.bin(Op::lts, Type::I32, 0xffffffffu, 0), 1u);  // -1 < 0
  EXPECT_EQ(h.bin(Op::ltu, Type::I32, 0xffffffffu, 0), 0u);
  EXPECT_EQ(h.bin(Op::ges, Type::I64, 0, ~0ull), 1u);
  EXPECT_EQ(h.bin(Op::mins, Type::I64, ~0ull, 1), ~0ull);
  EXPECT_EQ(h.bin(Op::maxu, Type::I64, ~0ull, 1), ~0ull);
}

TEST(Interpreter, LoadsStoresAndFaults) {
  Harness h;
  uint64_t v = 0x8877665544332211ull;
  std::memcpy(h.memory.data() + 0x100, &v, 8);
  EXPECT_EQ(h.eval([](Builder& b) { return b.loads(Type::I64, b.konst(Type::I64, 0x107), 8); }), ~0ull << 8 | 0x88);
  EXPECT_EQ(h.eval([](Builder& b) { return b.load(Type::I64, b.konst(Type::I64, 0x106), 16); }), 0x8877u);
  h.eval([](Builder& b) {
    b.store(b.konst(Type::I64, 0x200), b.konst(Type::I64, 0xabcdef), 16);
    return b.konst(Type::I64, 0);
  });
  EXPECT_EQ(h.memory[0x200], 0xef);
  EXPECT_EQ(h.memory[0x201], 0xcd);
  EXPECT_EQ(h.memory[0x202], 0);

  // Out of the guest range: a MemFault at the load, with nothing after it executed.
  CachedBlock cb;
  cb.ir.arch = &kTestArch;
  Builder b(cb.ir);
  b.begin_insn(0, 4, 0);
  b.put(8, b.konst(Type::I64, 1));
  b.begin_insn(4, 4, 0);
  Slot x = b.load(Type::I64, b.konst(Type::I64, h.memory.size() - 4));
  b.put(16, x);
  b.jmp(8);
  ASSERT_EQ(verify(cb.ir), "");
  cb.frame = cb.ir.slot_init;
  InterpEnv env{reinterpret_cast<uint8_t*>(h.state), h.memory.data(), h.memory.size(), &h.running};
  BlockOutcome out = interpret(cb, env);
  EXPECT_EQ(out.kind, BlockOutcome::MemFault);
  EXPECT_EQ(out.addr, h.memory.size() - 4);
  EXPECT_EQ(cb.ir.pc_of_inst(out.inst), 4u);
  EXPECT_EQ(h.state[1], 1u);
  EXPECT_EQ(h.state[2], 0u);
}

