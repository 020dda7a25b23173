// x86-64 mul, imul (one, two and three operands), div, idiv.
//
// The one-operand forms work on the accumulator: 8 bits multiply al into ax and divide ax into
// al (quotient) and ah (remainder); wider ones use rdx:rax. Multiplies set CF = OF = "the high half
// is significant" (kCcMul); SF, ZF, AF and PF are undefined and come from the low half. Divisions
// run in a helper that raises #DE (SIGFPE) for a zero divisor or a quotient that does not fit,
// with nothing written.
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// The high half of a product is significant: for mul, when it is not 0; for imul, when it is not
// the low half's sign repeated.
Slot overflow(Ctx& c, bool is_signed, Slot low, Slot high) {
  const Type t = c.b.type_of(low);
  Slot expected = is_signed ? c.b.binop(Op::ashr, low, c.konst(t, ir::type_bits(t) - 1)) : c.konst(t, 0);
  return c.zext64(c.b.binop(Op::ne, high, expected));
}

void set_mul_flags(Ctx& c, Slot low, Slot of64) { c.set_flags(kCcMul, low, ir::kNoSlot, of64, low); }

// mul, imul r/m: the accumulator times the operand into ax, or rdx:rax.
template <bool kSigned>
bool lift_mul_acc(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  Slot b = c.read(0);
  if (w == 8) {  // ax = al * r/m8, at 16 bits
    const Op ext = kSigned ? Op::sext : Op::zext;
    Slot al = c.reg(ZYDIS_REGISTER_AL);
    Slot p = c.b.binop(Op::mul, c.b.convert(ext, Type::I16, al), c.b.convert(ext, Type::I16, b));
    c.set_reg(ZYDIS_REGISTER_AX, p);
    Slot low = c.narrow(p, Type::I8), high = c.narrow(c.b.binop(Op::lshr, p, c.konst(Type::I16, 8)), Type::I8);
    set_mul_flags(c, low, overflow(c, kSigned, low, high));
    return true;
  }
  const ZydisRegister acc = w == 16 ? ZYDIS_REGISTER_AX : w == 32 ? ZYDIS_REGISTER_EAX : ZYDIS_REGISTER_RAX;
  const ZydisRegister dx = w == 16 ? ZYDIS_REGISTER_DX : w == 32 ? ZYDIS_REGISTER_EDX : ZYDIS_REGISTER_RDX;
  Slot a = c.narrow(c.reg(acc), t);
  Slot low = c.b.binop(Op::mul, a, b), high = c.b.binop(kSigned ? Op::mulhs : Op::mulhu, a, b);
  c.set_reg(acc, low);
  c.set_reg(dx, high);
  set_mul_flags(c, low, overflow(c, kSigned, low, high));
  return true;
}

// imul r, r/m and imul r, r/m, imm: the low half of the product; the flags say whether it lost
// significant bits.
bool lift_imul(Ctx& c) {
  if (c.in.d.operand_count_visible == 1) return lift_mul_acc<true>(c);
  const Type t = c.op_type(0);
  const bool three = c.in.d.operand_count_visible == 3;
  Slot a = c.read_as(three ? 1 : 0, t), b = c.read_as(three ? 2 : 1, t);
  Slot low = c.b.binop(Op::mul, a, b), high = c.b.binop(Op::mulhs, a, b);
  c.write(0, low);
  set_mul_flags(c, low, overflow(c, true, low, high));
  return true;
}

// div, idiv r/m: the divisor is read here (a memory operand faults before anything happens), the
// helper divides the accumulator pair in the state. The flags are undefined and stay as they were.
template <bool kSigned>
bool lift_div(Ctx& c) {
  Slot divisor = c.zext64(c.read(0));
  const unsigned bytes = c.in.op_bits(0) / 8;
  c.b.call(Type::I64, H_div, divisor, ir::kNoSlot, ir::kNoSlot, uint8_t(bytes | (kSigned ? 0x80 : 0)));
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_MUL, lift_mul_acc<false>},
    {ZYDIS_MNEMONIC_IMUL, lift_imul},
    {ZYDIS_MNEMONIC_DIV, lift_div<false>},
    {ZYDIS_MNEMONIC_IDIV, lift_div<true>},
};

}  // namespace

InsnTable muldiv_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
