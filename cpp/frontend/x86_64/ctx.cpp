// Ctx: registers, operands and the stack for the x86-64 lifters (lift.h).
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

using ir::Op;
using ir::Slot;
using ir::Type;

Type Ctx::type_of_bits(unsigned bits) {
  switch (bits) {
    case 8: return Type::I8;
    case 16: return Type::I16;
    case 32: return Type::I32;
    default: return Type::I64;
  }
}

Slot Ctx::zext64(Slot v) { return b.type_of(v) == Type::I64 ? v : b.convert(Op::zext, Type::I64, v); }
Slot Ctx::sext64(Slot v) { return b.type_of(v) == Type::I64 ? v : b.convert(Op::sext, Type::I64, v); }
Slot Ctx::narrow(Slot v, Type t) {
  if (b.type_of(v) == t) return v;
  return ir::type_bits(b.type_of(v)) > ir::type_bits(t) ? b.convert(Op::trunc, t, v) : b.convert(Op::zext, t, v);
}

namespace {

// Where a general register lives: the 64-bit register's number, and the bit position and width
// of the part named (AH is bits 15..8 of RAX).
struct GprPart {
  unsigned n;
  unsigned shift;
  unsigned bits;
};

GprPart gpr_part(ZydisRegister r) {
  const ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
  const bool high = r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH || r == ZYDIS_REGISTER_BH;
  return {unsigned(ZydisRegisterGetId(full)), high ? 8u : 0u, unsigned(ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r))};
}

}  // namespace

Slot Ctx::reg(ZydisRegister r) {
  const GprPart p = gpr_part(r);
  Slot v = gpr(p.n);
  if (p.shift) v = b.binop(Op::lshr, v, c64(p.shift));
  return narrow(v, type_of_bits(p.bits));
}

void Ctx::set_reg(ZydisRegister r, Slot v) {
  const GprPart p = gpr_part(r);
  if (p.bits == 64) return set_gpr(p.n, v);
  if (p.bits == 32) return set_gpr(p.n, zext64(v));
  // 8 and 16 bits merge into the register: one 64-bit put keeps later reads forwarded.
  const uint64_t field = ((1ull << p.bits) - 1) << p.shift;
  Slot kept = b.binop(Op::and_, gpr(p.n), c64(~field));
  Slot part = zext64(v);
  if (p.shift) part = b.binop(Op::shl, part, c64(p.shift));
  set_gpr(p.n, b.binop(Op::or_, kept, part));
}

Slot Ctx::address(unsigned i) {
  const ZydisDecodedOperand& o = in.op(i);
  Slot a;
  if (o.mem.base == ZYDIS_REGISTER_RIP) {
    a = c64(next_pc() + uint64_t(o.mem.disp.value));
  } else {
    a = c64(uint64_t(o.mem.disp.value));
    if (o.mem.base != ZYDIS_REGISTER_NONE) a = b.binop(Op::add, zext64(reg(o.mem.base)), a);
    if (o.mem.index != ZYDIS_REGISTER_NONE) {
      Slot idx = zext64(reg(o.mem.index));
      if (o.mem.scale > 1) idx = b.binop(Op::shl, idx, c64(o.mem.scale == 2 ? 1 : o.mem.scale == 4 ? 2 : 3));
      a = b.binop(Op::add, a, idx);
    }
  }
  if (in.d.address_width == 32) a = b.binop(Op::and_, a, c64(0xffffffffull));
  if (o.mem.segment == ZYDIS_REGISTER_FS) a = b.binop(Op::add, a, b.get(Type::I64, kOffFsBase));
  if (o.mem.segment == ZYDIS_REGISTER_GS) a = b.binop(Op::add, a, b.get(Type::I64, kOffGsBase));
  return a;
}

Slot Ctx::read(unsigned i) {
  const ZydisDecodedOperand& o = in.op(i);
  const Type t = op_type(i);
  switch (o.type) {
    case ZYDIS_OPERAND_TYPE_REGISTER: return narrow(reg(o.reg.value), t);
    case ZYDIS_OPERAND_TYPE_MEMORY: return b.load(t, address(i));
    case ZYDIS_OPERAND_TYPE_IMMEDIATE: return konst(t, o.imm.is_signed ? uint64_t(o.imm.value.s) : o.imm.value.u);
    default: return konst(t, 0);
  }
}

Slot Ctx::read_as(unsigned i, Type t) {
  const ZydisDecodedOperand& o = in.op(i);
  if (o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) return konst(t, o.imm.is_signed ? uint64_t(o.imm.value.s) : o.imm.value.u);
  return narrow(read(i), t);
}

void Ctx::write(unsigned i, Slot v) {
  const ZydisDecodedOperand& o = in.op(i);
  v = narrow(v, op_type(i));
  if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) return set_reg(o.reg.value, v);
  b.store(address(i), v);
}

void Ctx::push(Slot v64) {
  Slot sp = b.binop(Op::sub, gpr(RSP), c64(8));
  b.store(sp, v64);
  set_gpr(RSP, sp);
}

Slot Ctx::pop() {
  Slot sp = gpr(RSP);
  Slot v = b.load(Type::I64, sp);
  set_gpr(RSP, b.binop(Op::add, sp, c64(8)));
  return v;
}

}  // namespace vmkit::x64
