// x86-64 shifts (shl, which is also sal; shr, sar), rotates (rol, ror, rcl, rcr) and double
// shifts (shld, shrd).
//
// The count (an immediate, 1, or cl) is masked to 5 bits, 6 for 64-bit operands. A masked count of
// 0 changes no flag, though the destination is still written (a 32-bit register is zero-extended,
// as the host does). With a constant count that is decided here; with cl the flags become a
// select between the new and the old ones.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

Slot i1(Ctx& c, bool v) { return c.b.konst(Type::I1, v); }
// An I1 as the RFLAGS bit `bit` of an I32 (0 if clear).
Slot flag(Ctx& c, Slot cond, uint32_t bit) { return c.b.select(cond, c.c32(bit), c.c32(0)); }
// Bit n (an I64 slot or constant) of v64 as an I1.
Slot bit_of(Ctx& c, Slot v64, Slot n) {
  return c.b.binop(Op::ne, c.b.binop(Op::and_, c.b.binop(Op::lshr, v64, n), c.c64(1)), c.c64(0));
}
Slot msb(Ctx& c, Slot v) { return c.b.binop(Op::lts, v, c.konst(c.b.type_of(v), 0)); }

// The operation's count: masked, as an I64, and whether it is a known constant.
struct Count {
  Slot v;
  bool constant;
  uint64_t value;  // if constant
};

Count masked_count(Ctx& c, unsigned count_op) {
  const uint64_t mask = c.in.op_bits(0) == 64 ? 63 : 31;
  const ZydisDecodedOperand& o = c.in.op(count_op);
  if (o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) return {c.c64(o.imm.value.u & mask), true, o.imm.value.u & mask};
  return {c.b.binop(Op::and_, c.zext64(c.read(count_op)), c.c64(mask)), false, 0};
}

Slot nonzero(Ctx& c, const Count& n) { return n.constant ? i1(c, n.value != 0) : c.b.binop(Op::ne, n.v, c.c64(0)); }

// The lazy form of a shift (kCcShl/Shr/Sar: the source and the count), recorded only where the
// count is not 0. A constant count decides at lift time; a variable one puts selects of the new and
// the state's current form, and the block then reads the flags from the state.
void set_shift_flags(Ctx& c, CcKind kind, Slot a, const Count& n, Slot r) {
  const Type t = c.b.type_of(a);
  if (n.constant) {
    if (n.value != 0) c.set_flags(kind, a, c.konst(t, n.value), ir::kNoSlot, r);
    return;
  }
  c.settle_kept_carry();
  Slot nz = nonzero(c, n);
  Slot old_op = c.b.get(Type::I32, kOffCcOp), old_a = c.b.get(Type::I64, kOffCcA), old_b = c.b.get(Type::I64, kOffCcB);
  c.b.put(kOffCcOp, c.b.select(nz, c.c32(cc_op(kind, ir::type_bits(t) / 8)), old_op));
  c.b.put(kOffCcA, c.b.select(nz, c.zext64(a), old_a));
  c.b.put(kOffCcB, c.b.select(nz, n.v, old_b));
  c.flags = Flags{};
}

// New flags in RFLAGS positions, taking effect only where the count is not 0.
void set_raw_flags_if(Ctx& c, const Count& n, Slot old_flags, Slot new_flags) {
  if (n.constant) {
    if (n.value != 0) c.set_flags_raw(new_flags);
    return;
  }
  c.set_flags_raw(c.b.select(nonzero(c, n), new_flags, old_flags));
}

// CF and OF replaced in the current flags (rotates: the others are kept).
Slot with_cf_of(Ctx& c, Slot old_flags, Slot cf, Slot of) {
  Slot kept = c.b.binop(Op::and_, old_flags, c.c32(~(kCF | kOF)));
  return c.b.binop(Op::or_, kept, c.b.binop(Op::or_, flag(c, cf, kCF), flag(c, of, kOF)));
}

// shl/sal, shr, sar. The shift runs at 64 bits, so counts of the width or more (8- and 16-bit
// operands take up to 31) shift everything out as x86 does, rather than modulo the width.
template <CcKind kKind>
bool lift_shift(Ctx& c) {
  const Type t = c.op_type(0);
  Slot a = c.read(0);
  Count n = masked_count(c, 1);
  Slot r64 = kKind == kCcShl   ? c.b.binop(Op::shl, c.zext64(a), n.v)
             : kKind == kCcShr ? c.b.binop(Op::lshr, c.zext64(a), n.v)
                               : c.b.binop(Op::ashr, c.sext64(a), n.v);
  Slot r = c.narrow(r64, t);
  c.write(0, r);
  set_shift_flags(c, kKind, a, n, r);
  return true;
}

// rol, ror: the IR's rotates take the count modulo the width, as x86 does for 8 and 16 bits. CF is
// the bit that wrapped around; OF (defined for a count of 1) is rol: msb ^ CF, ror: the two top
// bits differing.
template <bool kLeft>
bool lift_rotate(Ctx& c) {
  const Type t = c.op_type(0);
  Slot a = c.read(0);
  Count n = masked_count(c, 1);
  Slot r = c.b.binop(kLeft ? Op::rotl : Op::rotr, a, n.v);
  c.write(0, r);
  if (n.constant && n.value == 0) return true;
  Slot cf, of;
  if (kLeft) {
    cf = c.b.binop(Op::ne, c.b.binop(Op::and_, r, c.konst(t, 1)), c.konst(t, 0));
    of = c.b.binop(Op::xor_, msb(c, r), cf);
  } else {
    cf = msb(c, r);
    of = c.b.binop(Op::xor_, cf, msb(c, c.b.binop(Op::shl, r, c.konst(t, 1))));
  }
  Slot old = c.arith_flags();
  set_raw_flags_if(c, n, old, with_cf_of(c, old, cf, of));
  return true;
}

// rcl, rcr: rotates of the w+1 bits CF:dest, so the count is taken modulo 9 and 17 for 8 and 16
// bits (32 and 64 bits never reach w+1). With n in 1..w and x the zero-extended destination:
//   rcl: x << n | CF << (n-1) | x >> (w+1-n),   CF' = bit w-n of x
//   rcr: x >> n | CF << (w-n) | x << (w+1-n),   CF' = bit n-1 of x
// where the w+1-n shifts are split in two (w+1-n reaches 64 for w = 64). OF (for n = 1) is rcl:
// msb ^ CF', rcr: the two top bits of the result differing.
template <bool kLeft>
bool lift_rotate_carry(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  Slot a = c.read(0);
  Count n = masked_count(c, 1);
  if (w < 32) {
    if (n.constant) n = {c.c64(n.value % (w + 1)), true, n.value % (w + 1)};
    else n.v = c.b.binop(Op::remu, n.v, c.c64(w + 1));
  }
  if (n.constant && n.value == 0) {
    c.write(0, a);
    return true;
  }
  Slot x = c.zext64(a), cf_in = c.zext64(c.carry());
  Slot w_minus_n = c.b.binop(Op::sub, c.c64(w), n.v);
  Slot n_minus_1 = c.b.binop(Op::sub, n.v, c.c64(1));
  Slot r64, cf;
  if (kLeft) {
    Slot wrapped = c.b.binop(Op::lshr, c.b.binop(Op::lshr, x, c.c64(1)), w_minus_n);
    r64 = c.b.binop(Op::or_, c.b.binop(Op::shl, x, n.v), c.b.binop(Op::or_, c.b.binop(Op::shl, cf_in, n_minus_1), wrapped));
    cf = bit_of(c, x, w_minus_n);
  } else {
    Slot wrapped = c.b.binop(Op::shl, c.b.binop(Op::shl, x, c.c64(1)), w_minus_n);
    r64 = c.b.binop(Op::or_, c.b.binop(Op::lshr, x, n.v), c.b.binop(Op::or_, c.b.binop(Op::shl, cf_in, w_minus_n), wrapped));
    cf = bit_of(c, x, n_minus_1);
  }
  Slot r = c.narrow(r64, t);
  Slot of = kLeft ? c.b.binop(Op::xor_, msb(c, r), cf)
                  : c.b.binop(Op::xor_, msb(c, r), msb(c, c.b.binop(Op::shl, r, c.konst(t, 1))));
  Slot nz = nonzero(c, n);
  c.write(0, n.constant ? r : c.b.select(nz, r, a));
  Slot old = c.arith_flags();
  set_raw_flags_if(c, n, old, with_cf_of(c, old, cf, of));
  return true;
}

// PF, ZF and SF of a result, in RFLAGS positions.
Slot result_flags(Ctx& c, Slot r) {
  const Type t = c.b.type_of(r);
  Slot low_ones = c.b.unop(Op::popcnt, c.b.binop(Op::and_, c.zext64(r), c.c64(0xff)));
  Slot pf = c.b.binop(Op::eq, c.b.binop(Op::and_, low_ones, c.c64(1)), c.c64(0));
  Slot zf = c.b.binop(Op::eq, r, c.konst(t, 0));
  return c.b.binop(Op::or_, flag(c, pf, kPF), c.b.binop(Op::or_, flag(c, zf, kZF), flag(c, msb(c, r), kSF)));
}

// shld dst, src, n: dst shifted left with src's top bits coming in; shrd: right with src's low
// bits. Below 64 bits both are one shift of the 2w-bit concatenation (dst:src for shld, src:dst
// for shrd), which also gives a 16-bit count of 16 (the whole of src) right. At 64 bits, with n in
// 0..63: shld = dst << n | (src >> 1) >> (63-n), which is dst for n = 0 (shrd mirrored). CF is the
// last bit shifted out of dst, OF (for n = 1) whether the sign changed; AF is undefined (0). A
// 16-bit count above 16 is undefined (Intel): vmkit gives what the concatenation gives.
template <bool kLeft>
bool lift_double_shift(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  Slot a = c.read(0), src = c.narrow(c.read(1), t);
  Count n = masked_count(c, 2);
  Slot x = c.zext64(a), s = c.zext64(src);
  Slot r64, cf;
  if (w < 64) {
    Slot v = c.b.binop(Op::or_, c.b.binop(Op::shl, kLeft ? x : s, c.c64(w)), kLeft ? s : x);
    if (kLeft) {
      r64 = c.b.binop(Op::lshr, c.b.binop(Op::shl, v, n.v), c.c64(w));
      cf = bit_of(c, v, c.b.binop(Op::sub, c.c64(2 * w), n.v));
    } else {
      r64 = c.b.binop(Op::lshr, v, n.v);
      cf = bit_of(c, v, c.b.binop(Op::sub, n.v, c.c64(1)));
    }
  } else {
    Slot sixty_three_minus_n = c.b.binop(Op::sub, c.c64(63), n.v);
    if (kLeft) {
      Slot in = c.b.binop(Op::lshr, c.b.binop(Op::lshr, s, c.c64(1)), sixty_three_minus_n);
      r64 = c.b.binop(Op::or_, c.b.binop(Op::shl, x, n.v), in);
      cf = bit_of(c, x, c.b.binop(Op::sub, c.c64(64), n.v));
    } else {
      Slot in = c.b.binop(Op::shl, c.b.binop(Op::shl, s, c.c64(1)), sixty_three_minus_n);
      r64 = c.b.binop(Op::or_, c.b.binop(Op::lshr, x, n.v), in);
      cf = bit_of(c, x, c.b.binop(Op::sub, n.v, c.c64(1)));
    }
  }
  Slot r = c.narrow(r64, t);
  c.write(0, r);
  if (n.constant && n.value == 0) return true;
  Slot of = c.b.binop(Op::xor_, msb(c, r), msb(c, a));
  Slot f = c.b.binop(Op::or_, result_flags(c, r), c.b.binop(Op::or_, flag(c, cf, kCF), flag(c, of, kOF)));
  set_raw_flags_if(c, n, n.constant ? ir::kNoSlot : c.arith_flags(), f);
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_SHL, lift_shift<kCcShl>},
    {ZYDIS_MNEMONIC_SHR, lift_shift<kCcShr>},
    {ZYDIS_MNEMONIC_SAR, lift_shift<kCcSar>},
    {ZYDIS_MNEMONIC_ROL, lift_rotate<true>},
    {ZYDIS_MNEMONIC_ROR, lift_rotate<false>},
    {ZYDIS_MNEMONIC_RCL, lift_rotate_carry<true>},
    {ZYDIS_MNEMONIC_RCR, lift_rotate_carry<false>},
    {ZYDIS_MNEMONIC_SHLD, lift_double_shift<true>},
    {ZYDIS_MNEMONIC_SHRD, lift_double_shift<false>},
};

}  // namespace

InsnTable shift_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
