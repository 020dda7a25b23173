// x86-64 data movement and integer arithmetic: the mov family, lea, the two-operand ALU group,
// adc/sbb, inc/dec/neg/not, xchg, bswap, the sign extensions (cbw..cqo), the nops, the CF
// instructions and BMI1's GPR operations.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

bool is_gpr(ZydisRegister r) {
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: return true;
    default: return false;
  }
}

// A general register, memory or an immediate (not a segment, control or debug register).
bool is_plain(const ZydisDecodedOperand& o) {
  return o.type == ZYDIS_OPERAND_TYPE_MEMORY || o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE ||
         (o.type == ZYDIS_OPERAND_TYPE_REGISTER && is_gpr(o.reg.value));
}

Slot all_ones(Ctx& c, Type t) { return c.konst(t, ~0ull); }
Slot zero(Ctx& c, Type t) { return c.konst(t, 0); }
Slot msb(Ctx& c, Slot v) {  // the sign bit as an I1
  return c.b.binop(Op::lts, v, zero(c, c.b.type_of(v)));
}
// An I1 as the RFLAGS bit `bit` of an I32 (0 if clear).
Slot flag(Ctx& c, Slot i1, uint32_t bit) { return c.b.select(i1, c.c32(bit), c.c32(0)); }

// mov in all its forms: register, memory, immediate (movabs, moffs); not segment registers.
bool lift_mov(Ctx& c) {
  if (!is_plain(c.in.op(0)) || !is_plain(c.in.op(1))) return false;
  c.write(0, c.read_as(1, c.op_type(0)));
  return true;
}

// movzx, movsx, movsxd (movsxd with a 32-bit destination is a plain move).
template <Op kExt>
bool lift_extend(Ctx& c) {
  Slot v = c.read(1);
  const Type t = c.op_type(0);
  c.write(0, c.b.type_of(v) == t ? v : c.b.convert(kExt, t, v));
  return true;
}

bool lift_lea(Ctx& c) {
  c.write(0, c.narrow(c.address(1), c.op_type(0)));
  return true;
}

bool lift_nop(Ctx&) { return true; }  // also nop r/m (no access), endbr64, pause

// add, sub, and, or, xor and their non-writing forms cmp, test.
template <Op kOp, CcKind kKind, bool kWrites>
bool lift_alu2(Ctx& c) {
  Slot a = c.read(0), b = c.read_as(1, c.op_type(0));
  Slot r = c.b.binop(kOp, a, b);
  if (kWrites) c.write(0, r);
  c.set_flags(kKind, a, b, ir::kNoSlot, r);
  return true;
}

// adc, sbb: the carry in is CF.
template <Op kOp, CcKind kKind>
bool lift_carry_alu(Ctx& c) {
  const Type t = c.op_type(0);
  Slot a = c.read(0), b = c.read_as(1, t);
  Slot cf = c.carry();
  Slot r = c.b.binop(kOp, c.b.binop(kOp, a, b), c.b.convert(Op::zext, t, cf));
  c.write(0, r);
  c.set_flags(kKind, a, b, c.zext64(cf), r);
  return true;
}

// inc, dec: CF is kept (the old CF goes into the lazy form).
template <Op kOp, CcKind kKind>
bool lift_inc_dec(Ctx& c) {
  Slot a = c.read(0);
  Slot r = c.b.binop(kOp, a, c.konst(c.op_type(0), 1));
  c.write(0, r);
  c.set_flags_keeping_carry(kKind, a, r);
  return true;
}

bool lift_neg(Ctx& c) {
  Slot a = c.read(0);
  Slot r = c.b.unop(Op::neg, a);
  c.write(0, r);
  c.set_flags(kCcNeg, a, ir::kNoSlot, ir::kNoSlot, r);
  return true;
}

bool lift_not(Ctx& c) {  // no flags
  c.write(0, c.b.unop(Op::not_, c.read(0)));
  return true;
}

// xchg of registers, or of a register and memory (locked on hardware; here the load, then the
// store, then the register write, so a fault leaves both as they were).
bool lift_xchg(Ctx& c) {
  Slot a = c.read(0), b = c.read(1);
  const bool mem_second = c.in.op(1).type == ZYDIS_OPERAND_TYPE_MEMORY;
  if (mem_second) {
    c.write(1, a);
    c.write(0, b);
  } else {
    c.write(0, b);
    c.write(1, a);
  }
  return true;
}

bool lift_bswap(Ctx& c) {
  if (c.in.op_bits(0) < 32) return false;  // 16-bit bswap is undefined
  c.write(0, c.b.unop(Op::bswap, c.read(0)));
  return true;
}

// cbw, cwde, cdqe: the hidden operands are the destination (ax/eax/rax) and the source half.
bool lift_sign_extend_acc(Ctx& c) {
  c.write(0, c.b.convert(Op::sext, c.op_type(0), c.read(1)));
  return true;
}

// cwd, cdq, cqo: dx/edx/rdx = the sign of ax/eax/rax, repeated.
bool lift_sign_fill(Ctx& c) {
  Slot a = c.read(1);
  c.write(0, c.b.binop(Op::ashr, a, c.konst(c.b.type_of(a), c.in.op_bits(1) - 1)));
  return true;
}

// clc, stc, cmc: CF alone changes.
enum class CarryOp { Clear, Set, Complement };
template <CarryOp kOp>
bool lift_carry_flag(Ctx& c) {
  Slot f = c.arith_flags();
  switch (kOp) {
    case CarryOp::Clear: f = c.b.binop(Op::and_, f, c.c32(~kCF)); break;
    case CarryOp::Set: f = c.b.binop(Op::or_, f, c.c32(kCF)); break;
    case CarryOp::Complement: f = c.b.binop(Op::xor_, f, c.c32(kCF)); break;
  }
  c.set_flags_raw(f);
  return true;
}

// ---- BMI1 (VEX-encoded, 32 or 64 bits) ----------------------------------------------------------

// andn dst, src1, src2: ~src1 & src2; SF ZF of the result, CF = OF = 0 (AF PF undefined).
bool lift_andn(Ctx& c) {
  Slot r = c.b.binop(Op::andn, c.read(2), c.read(1));
  c.write(0, r);
  c.set_flags(kCcLogic, r, ir::kNoSlot, ir::kNoSlot, r);
  return true;
}

// bextr dst, src, control: control[7:0] = start, [15:8] = length; bits beyond the source read as 0
// and lengths beyond it take all. ZF of the result, CF = OF = 0 (the rest undefined).
bool lift_bextr(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  Slot src = c.zext64(c.read(1)), ctl = c.zext64(c.read(2));
  Slot start = c.b.binop(Op::and_, ctl, c.c64(0xff));
  Slot len = c.b.binop(Op::and_, c.b.binop(Op::lshr, ctl, c.c64(8)), c.c64(0xff));
  Slot shifted = c.b.select(c.b.binop(Op::ltu, start, c.c64(w)), c.b.binop(Op::lshr, src, start), c.c64(0));
  Slot mask = c.b.binop(Op::sub, c.b.binop(Op::shl, c.c64(1), len), c.c64(1));
  Slot r64 = c.b.select(c.b.binop(Op::ltu, len, c.c64(64)), c.b.binop(Op::and_, shifted, mask), shifted);
  Slot r = c.narrow(r64, t);
  c.write(0, r);
  c.set_flags(kCcLogic, r, ir::kNoSlot, ir::kNoSlot, r);
  return true;
}

// blsi (src & -src), blsmsk (src ^ (src - 1)), blsr (src & (src - 1)). SF and ZF of the result
// (blsmsk's is never 0), OF = 0, CF = src != 0 for blsi and src == 0 for the other two; AF and PF
// undefined (left 0).
enum class LowestBit { Isolate, Mask, Reset };
template <LowestBit kOp>
bool lift_lowest_bit(Ctx& c) {
  const Type t = c.op_type(0);
  Slot src = c.read(1);
  Slot r;
  switch (kOp) {
    case LowestBit::Isolate: r = c.b.binop(Op::and_, src, c.b.unop(Op::neg, src)); break;
    case LowestBit::Mask: r = c.b.binop(Op::xor_, src, c.b.binop(Op::add, src, all_ones(c, t))); break;
    case LowestBit::Reset: r = c.b.binop(Op::and_, src, c.b.binop(Op::add, src, all_ones(c, t))); break;
  }
  c.write(0, r);
  Slot cf = c.b.binop(kOp == LowestBit::Isolate ? Op::ne : Op::eq, src, zero(c, t));
  Slot f = c.b.binop(Op::or_, flag(c, cf, kCF), flag(c, c.b.binop(Op::eq, r, zero(c, t)), kZF));
  c.set_flags_raw(c.b.binop(Op::or_, f, flag(c, msb(c, r), kSF)));
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_MOV, lift_mov},
    {ZYDIS_MNEMONIC_MOVZX, lift_extend<Op::zext>},
    {ZYDIS_MNEMONIC_MOVSX, lift_extend<Op::sext>},
    {ZYDIS_MNEMONIC_MOVSXD, lift_extend<Op::sext>},
    {ZYDIS_MNEMONIC_LEA, lift_lea},
    {ZYDIS_MNEMONIC_NOP, lift_nop},
    {ZYDIS_MNEMONIC_ENDBR64, lift_nop},
    {ZYDIS_MNEMONIC_PAUSE, lift_nop},
    {ZYDIS_MNEMONIC_ADD, lift_alu2<Op::add, kCcAdd, true>},
    {ZYDIS_MNEMONIC_SUB, lift_alu2<Op::sub, kCcSub, true>},
    {ZYDIS_MNEMONIC_CMP, lift_alu2<Op::sub, kCcSub, false>},
    {ZYDIS_MNEMONIC_AND, lift_alu2<Op::and_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_OR, lift_alu2<Op::or_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_XOR, lift_alu2<Op::xor_, kCcLogic, true>},
    {ZYDIS_MNEMONIC_TEST, lift_alu2<Op::and_, kCcLogic, false>},
    {ZYDIS_MNEMONIC_ADC, lift_carry_alu<Op::add, kCcAdc>},
    {ZYDIS_MNEMONIC_SBB, lift_carry_alu<Op::sub, kCcSbb>},
    {ZYDIS_MNEMONIC_INC, lift_inc_dec<Op::add, kCcInc>},
    {ZYDIS_MNEMONIC_DEC, lift_inc_dec<Op::sub, kCcDec>},
    {ZYDIS_MNEMONIC_NEG, lift_neg},
    {ZYDIS_MNEMONIC_NOT, lift_not},
    {ZYDIS_MNEMONIC_XCHG, lift_xchg},
    {ZYDIS_MNEMONIC_BSWAP, lift_bswap},
    {ZYDIS_MNEMONIC_CBW, lift_sign_extend_acc},
    {ZYDIS_MNEMONIC_CWDE, lift_sign_extend_acc},
    {ZYDIS_MNEMONIC_CDQE, lift_sign_extend_acc},
    {ZYDIS_MNEMONIC_CWD, lift_sign_fill},
    {ZYDIS_MNEMONIC_CDQ, lift_sign_fill},
    {ZYDIS_MNEMONIC_CQO, lift_sign_fill},
    {ZYDIS_MNEMONIC_CLC, lift_carry_flag<CarryOp::Clear>},
    {ZYDIS_MNEMONIC_STC, lift_carry_flag<CarryOp::Set>},
    {ZYDIS_MNEMONIC_CMC, lift_carry_flag<CarryOp::Complement>},
    {ZYDIS_MNEMONIC_ANDN, lift_andn},
    {ZYDIS_MNEMONIC_BEXTR, lift_bextr},
    {ZYDIS_MNEMONIC_BLSI, lift_lowest_bit<LowestBit::Isolate>},
    {ZYDIS_MNEMONIC_BLSMSK, lift_lowest_bit<LowestBit::Mask>},
    {ZYDIS_MNEMONIC_BLSR, lift_lowest_bit<LowestBit::Reset>},
};

}  // namespace

InsnTable alu_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
