// x86-64 data movement and integer arithmetic: mov, lea, the two-operand ALU group.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;

bool lift_mov(Ctx& c) {
  c.write(0, c.read(1));
  return true;
}

bool lift_lea(Ctx& c) {
  c.write(0, c.narrow(c.address(1), c.op_type(0)));
  return true;
}

bool lift_nop(Ctx&) { return true; }

// add, sub, and, or, xor and their non-writing forms cmp, test.
template <Op kOp, CcKind kKind, bool kWrites>
bool lift_alu2(Ctx& c) {
  Slot a = c.read(0), b = c.narrow(c.read(1), c.op_type(0));
  Slot r = c.b.binop(kOp, a, b);
  if (kWrites) c.write(0, r);
  c.set_flags(kKind, a, b, ir::kNoSlot, r);
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_MOV, lift_mov},
    {ZYDIS_MNEMONIC_LEA, lift_lea},
    {ZYDIS_MNEMONIC_NOP, lift_nop},
    {ZYDIS_MNEMONIC_ADD, lift_alu2<Op::add, kCcAdd, true>},
    {ZYDIS_MNEMONIC_SUB, lift_alu2<Op::sub, kCcSub, true>},
    {ZYDIS_MNEMONIC_CMP, lift_alu2<Op::sub, kCcSub, false>},
    {ZYDIS_MNEMONIC_AND, lift_alu2<Op::and_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_OR, lift_alu2<Op::or_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_XOR, lift_alu2<Op::xor_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_TEST, lift_alu2<Op::and_, kCcLogic, false>},
};

}  // namespace

InsnTable alu_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
