// The IR's builder, verifier and printer.
#include <gtest/gtest.h>

#include "ir/ir.h"

using namespace vmkit::ir;

namespace {
std::string name_of(uint32_t off) { return "r" + std::to_string(off / 8); }
const ArchInfo kTestArch{"test", 256, name_of, nullptr, 0};

Block new_block() {
  Block b;
  b.pc = 0x1000;
  b.arch = &kTestArch;
  return b;
}
}  // namespace

TEST(IrOpTable, EveryOpHasConsistentInfo) {
  for (unsigned i = 0; i < unsigned(Op::Count); ++i) {
    const OpInfo& info = op_info(Op(i));
    ASSERT_NE(info.name, nullptr);
    EXPECT_LE(info.nsrc, 3u) << info.name;
    if (info.flags & OpFlag::Term) {
      EXPECT_FALSE(info.has_dst) << info.name;
    }
  }
  EXPECT_STREQ(op_info(Op::and_).name, "and");
  EXPECT_STREQ(op_info(Op::xor_).name, "xor");
}

TEST(IrBuilder, DeduplicatesConstantsPerType) {
  Block b = new_block();
  Builder bb(b);
  Slot a = bb.konst(Type::I64, 5), c = bb.konst(Type::I64, 5), d = bb.konst(Type::I32, 5);
  EXPECT_EQ(a, c);
  EXPECT_NE(a, d);
  // Constants are masked to their type.
  Slot e = bb.konst(Type::I32, 0x1'0000'0007ull);
  EXPECT_EQ(b.slot_init[e], 7u);
}

TEST(IrVerifier, AcceptsWellFormedBlockAndPrintsIt) {
  Block b = new_block();
  Builder bb(b);
  bb.begin_insn(0x1000, 4, 0x00a50533);
  Slot x = bb.get(Type::I64, 80), y = bb.get(Type::I64, 88);
  Slot s = bb.binop(Op::add, x, y);
  bb.put(80, s);
  bb.begin_insn(0x1004, 4, 0x00050463);
  Slot z = bb.binop(Op::eq, s, bb.konst(Type::I64, 0));
  bb.br(z, 0x100c, 0x1008);
  EXPECT_EQ(verify(b), "");
  std::string text = print(b);
  EXPECT_NE(text.find("block 0x1000"), std::string::npos) << text;
  EXPECT_NE(text.find("= add t"), std::string::npos) << text;
  EXPECT_NE(text.find("get r10"), std::string::npos) << text;
  EXPECT_NE(text.find("br t"), std::string::npos) << text;
  EXPECT_NE(text.find("0x100c"), std::string::npos) << text;
  EXPECT_EQ(b.pc_of_inst(0), 0x1000u);
  EXPECT_EQ(b.pc_of_inst(4), 0x1004u);
}

TEST(IrVerifier, RejectsMalformedBlocks) {
  {
    Block b = new_block();
    Builder bb(b);
    bb.get(Type::I64, 0);
    EXPECT_NE(verify(b).find("does not end in a terminator"), std::string::npos);
  }
  {
    Block b = new_block();
    Builder bb(b);
    Slot x = bb.get(Type::I64, 0);
    Slot y = bb.get(Type::I32, 8);
    Slot bad = bb.binop(Op::add, x, y);  // i64 + i32
    bb.put(0, bad);
    bb.jmp(0);
    EXPECT_NE(verify(b).find("operand types differ"), std::string::npos) << verify(b);
  }
  {
    Block b = new_block();
    Builder bb(b);
    Slot t = bb.temp(Type::I64);  // never defined
    bb.put(0, t);
    bb.jmp(0);
    EXPECT_NE(verify(b).find("before its definition"), std::string::npos) << verify(b);
  }
  {
    Block b = new_block();
    Builder bb(b);
    Slot x = bb.get(Type::I64, 4);  // misaligned
    bb.put(0, x);
    bb.jmp(0);
    EXPECT_NE(verify(b).find("misaligned"), std::string::npos) << verify(b);
  }
  {
    Block b = new_block();
    Builder bb(b);
    Slot x = bb.get(Type::I64, 512);  // beyond the 256-byte state
    bb.put(0, x);
    bb.jmp(0);
    EXPECT_NE(verify(b).find("out of range"), std::string::npos) << verify(b);
  }
  {
    Block b = new_block();
    Builder bb(b);
    bb.jmp(0);
    bb.jmp(4);
    EXPECT_NE(verify(b).find("terminator before the end"), std::string::npos) << verify(b);
  }
  {
    Block b = new_block();
    Builder bb(b);
    Slot x = bb.get(Type::I32, 0);
    Slot w = bb.convert(Op::trunc, Type::I64, x);  // trunc that widens
    bb.put(0, w);
    bb.jmp(0);
    EXPECT_NE(verify(b).find("wrong way"), std::string::npos) << verify(b);
  }
}
