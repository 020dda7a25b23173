// A64 data processing (register): logical and add/sub with a shifted or extended register,
// add/sub with carry, conditional compare and select, and the 1-, 2- and 3-source groups. The
// sf=0 forms compute in I32 slots, so their results zero-extend into the X register.
//
// Left out: CRC32/CRC32C (glibc uses them only under HWCAP_CRC32, which vmkit does not
// advertise), FEAT_CSSC (abs, cnt, ctz, smax/umin...), FEAT_FlagM (rmif, setf8/16) and the
// pointer-authentication forms of the 1-source group: all unallocated here (SIGILL).
#include <cstdint>

#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

Slot zero(Ctx& c, bool is64) { return c.konst(is64, 0); }

// ---- shifted and extended register operands ---------------------------------------------------

// Rm shifted by imm6 (bits 15..10) with shift type `type` (LSL, LSR, ASR, ROR).
Slot shifted_rm(Ctx& c, bool is64, uint32_t i, unsigned type) {
  static constexpr Op kShifts[] = {Op::shl, Op::lshr, Op::ashr, Op::rotr};
  Slot v = c.reg(is64, rm(i));
  const unsigned amount = bits(i, 15, 10);
  return amount ? c.b.binop(kShifts[type], v, c.konst(is64, amount)) : v;
}

// Rm extended by option (bits 15..13: UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX) to the
// operation's width, then shifted left by imm3 (0..4).
Slot extended_rm(Ctx& c, bool is64, uint32_t i) {
  static constexpr Type kFrom[] = {Type::I8, Type::I16, Type::I32, Type::I64};
  const unsigned option = bits(i, 15, 13), amount = bits(i, 12, 10);
  const Type from = kFrom[option & 3], to = c.ty(is64);
  Slot v;
  if (from == Type::I64 || (from == Type::I32 && !is64)) {
    v = c.reg(is64, rm(i));  // as wide as the operation: nothing to extend
  } else {
    Slot narrow = c.b.convert(Op::trunc, from, c.x(rm(i)));
    v = c.b.convert(option & 4 ? Op::sext : Op::zext, to, narrow);
  }
  return amount ? c.b.binop(Op::shl, v, c.konst(is64, amount)) : v;
}

// ---- logical (shifted register) ---------------------------------------------------------------

// AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS (opc:N); register 31 is xzr throughout.
bool lift_logical_reg(Ctx& c, uint32_t i) {
  static constexpr Op kOps[] = {Op::and_, Op::andn, Op::or_, Op::orn, Op::xor_, Op::xnor, Op::and_, Op::andn};
  const bool is64 = sf(i);
  if (!is64 && bit(i, 15)) return false;
  const unsigned op = bits(i, 30, 29) << 1 | bit(i, 21);
  Slot r = c.b.binop(kOps[op], c.reg(is64, rn(i)), shifted_rm(c, is64, i, bits(i, 23, 22)));
  if (op >= 6) c.set_flags_logic(r);
  c.set_reg(rd(i), r);
  return true;
}

// ---- add/sub (shifted and extended register) --------------------------------------------------

// The result of Rn +/- operand, with flags when S is set.
Slot add_sub(Ctx& c, uint32_t i, Slot a, Slot b) {
  const bool sub = bit(i, 30);
  Slot r = c.b.binop(sub ? Op::sub : Op::add, a, b);
  if (bit(i, 29)) sub ? c.set_flags_sub(a, b, r) : c.set_flags_add(a, b, r);
  return r;
}

// Register 31 is xzr for Rd, Rn and Rm; ROR is reserved.
bool lift_addsub_shifted(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned type = bits(i, 23, 22);
  if (type == 3 || (!is64 && bit(i, 15))) return false;
  c.set_reg(rd(i), add_sub(c, i, c.reg(is64, rn(i)), shifted_rm(c, is64, i, type)));
  return true;
}

// Rn is sp for 31, and so is Rd unless the form sets flags (`add x0, sp, x1`, cmp sp, x2).
bool lift_addsub_extended(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  if (bits(i, 23, 22) != 0 || bits(i, 12, 10) > 4) return false;
  Slot r = add_sub(c, i, c.reg_sp(is64, rn(i)), extended_rm(c, is64, i));
  bit(i, 29) ? c.set_reg(rd(i), r) : c.set_reg_sp(rd(i), r);
  return true;
}

// ---- add/sub with carry -----------------------------------------------------------------------

Slot bit_to_nzcv(Ctx& c, Slot flag, unsigned pos) {
  return c.b.binop(Op::shl, c.b.convert(Op::zext, Type::I32, flag), c.c32(pos));
}

// NZCV of r = a + b + carry_in (the compare-based lazy kinds cannot hold a carry in): C is the
// carry out (r <= a with a carry in, r < a without), V is set when a and b agree in sign and r
// does not.
Slot add_with_carry_nzcv(Ctx& c, Slot a, Slot b, Slot r, Slot carry_in) {
  ir::Builder& bld = c.b;
  Slot zero_v = bld.konst(bld.type_of(r), 0);
  Slot n = bld.binop(Op::lts, r, zero_v);
  Slot z = bld.binop(Op::eq, r, zero_v);
  Slot cf = bld.select(carry_in, bld.binop(Op::geu, a, r), bld.binop(Op::ltu, r, a));
  Slot v = bld.binop(Op::lts, bld.binop(Op::and_, bld.binop(Op::xor_, a, r), bld.binop(Op::xor_, b, r)), zero_v);
  Slot nz = bld.binop(Op::or_, bit_to_nzcv(c, n, 31), bit_to_nzcv(c, z, 30));
  Slot cv = bld.binop(Op::or_, bit_to_nzcv(c, cf, 29), bit_to_nzcv(c, v, 28));
  return bld.binop(Op::or_, nz, cv);
}

// ADC, ADCS, SBC, SBCS: Rn + Rm + C, or Rn + ~Rm + C.
bool lift_adc_sbc(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  Slot a = c.reg(is64, rn(i)), b = c.reg(is64, rm(i));
  if (bit(i, 30)) b = c.b.unop(Op::not_, b);
  Slot carry_in = c.carry();
  Slot r = c.b.binop(Op::add, c.b.binop(Op::add, a, b), c.b.convert(Op::zext, c.ty(is64), carry_in));
  if (bit(i, 29)) c.set_flags_raw(add_with_carry_nzcv(c, a, b, r, carry_in));
  c.set_reg(rd(i), r);
  return true;
}

// ---- conditional compare and select -----------------------------------------------------------

// CCMN, CCMP (register: bit 11 clear; immediate imm5: set): the flags of Rn +/- operand if the
// condition holds, else the immediate nzcv.
bool lift_ccmp(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  if (bit(i, 10) || bit(i, 4)) return false;
  Slot b = bit(i, 11) ? c.konst(is64, bits(i, 20, 16)) : c.reg(is64, rm(i));
  c.set_flags_conditional(bits(i, 15, 12), bit(i, 30), c.reg(is64, rn(i)), b, bits(i, 3, 0));
  return true;
}

// CSEL, CSINC, CSINV, CSNEG (op:o2) and the cset/csetm/cinc/cinv/cneg aliases.
bool lift_csel(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  if (bit(i, 11)) return false;
  Slot holds = c.cond(bits(i, 15, 12));
  Slot other = c.reg(is64, rm(i));
  switch (bit(i, 30) << 1 | bit(i, 10)) {
    case 1: other = c.b.binop(Op::add, other, c.konst(is64, 1)); break;  // csinc
    case 2: other = c.b.unop(Op::not_, other); break;                    // csinv
    case 3: other = c.b.unop(Op::neg, other); break;                     // csneg
    default: break;                                                      // csel
  }
  c.set_reg(rd(i), c.b.select(holds, c.reg(is64, rn(i)), other));
  return true;
}

// ---- data processing (1 source) ---------------------------------------------------------------

// The bytes of each halfword swapped.
Slot rev16(Ctx& c, bool is64, Slot v) {
  Slot low_bytes = c.konst(is64, 0x00ff00ff00ff00ffull);
  Slot up = c.b.binop(Op::shl, c.b.binop(Op::and_, v, low_bytes), c.konst(is64, 8));
  Slot down = c.b.binop(Op::and_, c.b.binop(Op::lshr, v, c.konst(is64, 8)), low_bytes);
  return c.b.binop(Op::or_, up, down);
}

// CLS: leading bits equal to the sign bit, not counting it: bit k of v ^ (v >> 1, arithmetic)
// says whether bits k and k+1 differ, and its top bit is always clear.
Slot cls(Ctx& c, bool is64, Slot v) {
  Slot differs = c.b.binop(Op::xor_, v, c.b.binop(Op::ashr, v, c.konst(is64, 1)));
  return c.b.binop(Op::sub, c.b.unop(Op::clz, differs), c.konst(is64, 1));
}

// RBIT, REV16, REV32 / REV (32-bit), REV (64-bit), CLZ, CLS.
bool lift_dp_1src(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned opcode = bits(i, 15, 10);
  if (opcode > 5 || (opcode == 3 && !is64)) return false;
  Slot v = c.reg(is64, rn(i)), r;
  switch (opcode) {
    case 0: r = c.b.unop(Op::bitrev, v); break;
    case 1: r = rev16(c, is64, v); break;
    case 2:  // rev32: the bytes of each word reversed (rev for a W register)
      r = c.b.unop(Op::bswap, v);
      if (is64) r = c.b.binop(Op::rotr, r, c.c64(32));
      break;
    case 3: r = c.b.unop(Op::bswap, v); break;
    case 4: r = c.b.unop(Op::clz, v); break;
    default: r = cls(c, is64, v); break;
  }
  c.set_reg(rd(i), r);
  return true;
}

// ---- data processing (2 source) ---------------------------------------------------------------

// A64 division: x / 0 = 0 (the IR gives all ones); INT_MIN / -1 = INT_MIN, as the IR's divs.
Slot divide(Ctx& c, bool is64, bool is_signed, Slot a, Slot b) {
  Slot q = c.b.binop(is_signed ? Op::divs : Op::divu, a, b);
  return c.b.select(c.b.binop(Op::eq, b, zero(c, is64)), zero(c, is64), q);
}

// UDIV, SDIV, LSLV, LSRV, ASRV, RORV (the IR takes shift amounts modulo the width, as A64 does).
bool lift_dp_2src(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned opcode = bits(i, 15, 10);
  Slot a = c.reg(is64, rn(i)), b = c.reg(is64, rm(i)), r;
  switch (opcode) {
    case 2: r = divide(c, is64, false, a, b); break;
    case 3: r = divide(c, is64, true, a, b); break;
    case 8: r = c.b.binop(Op::shl, a, b); break;
    case 9: r = c.b.binop(Op::lshr, a, b); break;
    case 10: r = c.b.binop(Op::ashr, a, b); break;
    case 11: r = c.b.binop(Op::rotr, a, b); break;
    default: return false;
  }
  c.set_reg(rd(i), r);
  return true;
}

// ---- data processing (3 source) ---------------------------------------------------------------

// A W register sign- or zero-extended to 64 bits (the long multiplies).
Slot widened_w(Ctx& c, unsigned r, bool is_signed) {
  return c.b.convert(is_signed ? Op::sext : Op::zext, Type::I64, c.w(r));
}

// MADD, MSUB (either width), SMADDL, SMSUBL, UMADDL, UMSUBL (32x32+64), SMULH, UMULH.
bool lift_dp_3src(Ctx& c, uint32_t i) {
  const bool is64 = sf(i), subtract = bit(i, 15);
  const unsigned op31 = bits(i, 23, 21);
  if (!is64 && op31 != 0) return false;
  Slot product;
  switch (op31) {
    case 0: product = c.b.binop(Op::mul, c.reg(is64, rn(i)), c.reg(is64, rm(i))); break;
    case 1:
    case 5: {
      const bool is_signed = op31 == 1;
      product = c.b.binop(Op::mul, widened_w(c, rn(i), is_signed), widened_w(c, rm(i), is_signed));
      break;
    }
    case 2:
    case 6:
      if (subtract) return false;
      c.set_reg(rd(i), c.b.binop(op31 == 2 ? Op::mulhs : Op::mulhu, c.x(rn(i)), c.x(rm(i))));
      return true;
    default: return false;
  }
  Slot acc = c.reg(is64, ra(i));
  c.set_reg(rd(i), c.b.binop(subtract ? Op::sub : Op::add, acc, product));
  return true;
}

const InsnDesc kInsns[] = {
    {"logical (shifted reg)", 0x1f000000, 0x0a000000, lift_logical_reg},
    {"add/sub (shifted reg)", 0x1f200000, 0x0b000000, lift_addsub_shifted},
    {"add/sub (extended reg)", 0x1f200000, 0x0b200000, lift_addsub_extended},
    {"adc/sbc", 0x1fe0fc00, 0x1a000000, lift_adc_sbc},
    {"ccmn/ccmp", 0x3fe00000, 0x3a400000, lift_ccmp},
    {"csel", 0x3fe00000, 0x1a800000, lift_csel},
    {"dp 1-source", 0x7fff0000, 0x5ac00000, lift_dp_1src},
    {"dp 2-source", 0x7fe00000, 0x1ac00000, lift_dp_2src},
    {"dp 3-source", 0x7f000000, 0x1b000000, lift_dp_3src},
};

}  // namespace

InsnTable dp_reg_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
