// The operand and lane machinery the SSE lifters share (lift_sse.cpp, lift_sse_fp.cpp,
// lift_sse4.cpp): xmm and mm operands as 64-bit IR halves (State::xmm[n][0] low, [1] high; an mm
// register is one half), the 16-byte alignment check of legacy-SSE m128 operands, the MMX
// instruction frame, and the SWAR building blocks that compute lanes narrower than 64 bits in
// plain IR.
#pragma once

#include <cstdint>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64::sse {

using ir::Op;
using ir::Slot;
using ir::Type;

// ---- operands ----------------------------------------------------------------------------------

// A vector value: an xmm register's two halves, or an mm register's one (hi = kNoSlot).
struct Vec {
  Slot lo, hi = ir::kNoSlot;
  bool is_mmx() const { return hi == ir::kNoSlot; }
};

enum class Align { Any, Sixteen };

inline bool is_xmm(const ZydisDecodedOperand& o) {
  return o.type == ZYDIS_OPERAND_TYPE_REGISTER && ZydisRegisterGetClass(o.reg.value) == ZYDIS_REGCLASS_XMM;
}
inline bool is_gpr(const ZydisDecodedOperand& o) {
  if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) return false;
  const ZydisRegisterClass k = ZydisRegisterGetClass(o.reg.value);
  return k == ZYDIS_REGCLASS_GPR32 || k == ZYDIS_REGCLASS_GPR64;
}
inline bool is_mmx(const ZydisDecodedOperand& o) {
  return o.type == ZYDIS_OPERAND_TYPE_REGISTER && ZydisRegisterGetClass(o.reg.value) == ZYDIS_REGCLASS_MMX;
}
inline bool is_vreg(const ZydisDecodedOperand& o) { return is_xmm(o) || is_mmx(o); }
inline bool is_mem(const ZydisDecodedOperand& o) { return o.type == ZYDIS_OPERAND_TYPE_MEMORY; }
inline bool is_imm(const ZydisDecodedOperand& o) { return o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE; }
// Whether the instruction has its legacy encoding (not VEX or EVEX).
inline bool is_legacy(const Ctx& c) { return c.in.d.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY; }
inline unsigned xmm_n(const ZydisDecodedOperand& o) { return unsigned(o.reg.value - ZYDIS_REGISTER_XMM0); }
inline unsigned mmx_n(const ZydisDecodedOperand& o) { return unsigned(o.reg.value - ZYDIS_REGISTER_MM0); }
// Whether the instruction is an MMX one: it names an mm register.
inline bool uses_mmx(const Insn& in) {
  for (unsigned i = 0; i < in.d.operand_count_visible; ++i)
    if (is_mmx(in.op(i))) return true;
  return false;
}
inline unsigned imm8(const ZydisDecodedOperand& o) { return unsigned(o.imm.value.u & 0xff); }

inline Slot get_half(Ctx& c, unsigned n, unsigned half) { return c.b.get(Type::I64, off_xmm(n, half)); }
inline void put_half(Ctx& c, unsigned n, unsigned half, Slot v) { c.b.put(off_xmm(n, half), v); }
inline Vec get_xmm(Ctx& c, unsigned n) { return {get_half(c, n, 0), get_half(c, n, 1)}; }
inline void put_xmm(Ctx& c, unsigned n, Vec v) {
  put_half(c, n, 0, v.lo);
  put_half(c, n, 1, v.hi);
}
inline Slot get_mm(Ctx& c, unsigned n) { return c.b.get(Type::I64, off_fpr_mant(n)); }
inline void put_mm(Ctx& c, unsigned n, Slot v) {
  c.b.put(off_fpr_mant(n), v);
  c.b.put(off_fpr_exp(n), c.konst(Type::I16, 0xffff));
}

// A vector register operand (xmm or mm), read or written whole.
inline Vec get_vreg(Ctx& c, const ZydisDecodedOperand& o) {
  if (is_mmx(o)) return {get_mm(c, mmx_n(o))};
  return get_xmm(c, xmm_n(o));
}
inline void put_vreg(Ctx& c, const ZydisDecodedOperand& o, Vec v) {
  if (is_mmx(o)) return put_mm(c, mmx_n(o), v.lo);
  put_xmm(c, xmm_n(o), v);
}

// The MMX instruction's frame around lifter F, which does nothing else for an SSE form: #MF for
// a pending x87 exception first; TOP = 0 and every tag valid last (the x87 tag word in its full
// form is 0; fxsave's abridged form then has every bit set).
template <LiftFn F>
bool with_mmx_state(Ctx& c) {
  if (!uses_mmx(c.in)) return F(c);
  c.b.call(Type::I64, H_x87_wait);
  if (!F(c)) return false;
  c.b.put(kOffFsw, c.b.binop(Op::and_, c.b.get(Type::I16, kOffFsw), c.konst(Type::I16, ~0x3800u)));
  c.b.put(kOffFtw, c.konst(Type::I16, 0));
  return true;
}

// The address of memory operand i, checked for 16-byte alignment where required (the helper
// raises #GP before any access).
inline Slot mem_address(Ctx& c, unsigned i, Align a) {
  Slot addr = c.address(i);
  if (a == Align::Sixteen) c.b.call(Type::I64, H_check_align16, addr);
  return addr;
}

// Vector operand i: an xmm register or m128 (aligned as `a` says), or, in an MMX instruction,
// an mm register or a memory operand of its size (m64; m32 for punpckl*), never aligned.
inline Vec read_vec(Ctx& c, unsigned i, Align a) {
  const ZydisDecodedOperand& o = c.in.op(i);
  if (is_vreg(o)) return get_vreg(c, o);
  if (uses_mmx(c.in)) return {c.zext64(c.read(i))};
  Slot addr = mem_address(c, i, a);
  return {c.b.load(Type::I64, addr), c.b.load(Type::I64, c.b.binop(Op::add, addr, c.c64(8)))};
}

inline void write_vec(Ctx& c, unsigned i, Vec v, Align a) {
  const ZydisDecodedOperand& o = c.in.op(i);
  if (is_vreg(o)) return put_vreg(c, o, v);
  if (v.is_mmx()) return c.write(i, v.lo);
  Slot addr = mem_address(c, i, a);
  c.b.store(addr, v.lo);
  c.b.store(c.b.binop(Op::add, addr, c.c64(8)), v.hi);
}

// xmm, xmm/m128 or mm, mm/m64: the form of every two-operand integer and logic instruction here.
inline bool vec_rm_form(const Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (is_xmm(d)) return is_xmm(s) || is_mem(s);
  return is_mmx(d) && (is_mmx(s) || is_mem(s));
}
inline bool xmm_rm_form(const Ctx& c) { return is_xmm(c.in.op(0)) && vec_rm_form(c); }

// F applied to each half of a and b (one half for MMX).
template <class F>
Vec per_half(Vec a, Vec b, F f) {
  if (a.is_mmx()) return {f(a.lo, b.lo)};
  return {f(a.lo, b.lo), f(a.hi, b.hi)};
}

// ---- lane constants and SWAR building blocks ----------------------------------------------------

// `v` (of `ebits` bits) repeated in every `ebits`-wide lane of 64 bits.
constexpr uint64_t replicate(uint64_t v, unsigned ebits) {
  uint64_t r = 0;
  for (unsigned k = 0; k < 64; k += ebits) r |= v << k;
  return r;
}
constexpr uint64_t lane_mask(unsigned ebits) { return ebits == 64 ? ~0ull : (1ull << ebits) - 1; }
constexpr uint64_t lane_tops(unsigned ebits) { return replicate(1ull << (ebits - 1), ebits); }

inline Slot and64(Ctx& c, Slot a, uint64_t m) { return c.b.binop(Op::and_, a, c.c64(m)); }
inline Slot or_(Ctx& c, Slot a, Slot b) { return c.b.binop(Op::or_, a, b); }
inline Slot shr(Ctx& c, Slot a, unsigned n) { return c.b.binop(Op::lshr, a, c.c64(n)); }
inline Slot shl(Ctx& c, Slot a, unsigned n) { return c.b.binop(Op::shl, a, c.c64(n)); }

// Element k (of `ebits`) of a 64-bit half, zero-extended.
inline Slot element(Ctx& c, Slot half, unsigned ebits, unsigned k) {
  Slot e = k ? shr(c, half, ebits * k) : half;
  return ebits * (k + 1) == 64 ? e : and64(c, e, lane_mask(ebits));
}

// a + b or a - b lane by lane, no carry crossing lanes: the lanes' low bits are added with the
// top bits cleared, then the top bits are set from the operands'.
inline Slot lane_add(Ctx& c, Slot a, Slot b, unsigned ebits, bool subtract) {
  if (ebits == 64) return c.b.binop(subtract ? Op::sub : Op::add, a, b);
  const uint64_t tops = lane_tops(ebits);
  if (!subtract) {
    Slot sum = c.b.binop(Op::add, and64(c, a, ~tops), and64(c, b, ~tops));
    return c.b.binop(Op::xor_, sum, and64(c, c.b.binop(Op::xor_, a, b), tops));
  }
  Slot diff = c.b.binop(Op::sub, c.b.binop(Op::or_, a, c.c64(tops)), and64(c, b, ~tops));
  return c.b.binop(Op::xor_, diff, and64(c, c.b.binop(Op::xnor, a, b), tops));
}

// Lanes whose top bit is set in `t` (and no other bit) become all ones, the others zero: the
// top bit moved to the lane's bit 0 times the lane's all-ones value stays inside the lane.
inline Slot spread_tops(Ctx& c, Slot t, unsigned ebits) {
  return c.b.binop(Op::mul, shr(c, t, ebits - 1), c.c64(lane_mask(ebits)));
}

// The top bit of each lane where x < y (unsigned): the borrow out of the lane's x - y, which is
// (~x & y) | (~(x ^ y) & (x - y)) at the top bit.
inline Slot below_tops(Ctx& c, Slot x, Slot y, unsigned ebits) {
  Slot diff = lane_add(c, x, y, ebits, true);
  Slot borrow = or_(c, c.b.binop(Op::andn, y, x), c.b.binop(Op::and_, c.b.binop(Op::xnor, x, y), diff));
  return and64(c, borrow, lane_tops(ebits));
}

// All ones in each lane where x < y, signed or unsigned (flipping the sign bits maps signed
// order onto unsigned order).
inline Slot below_mask(Ctx& c, Slot x, Slot y, unsigned ebits, bool is_signed) {
  if (is_signed) {
    x = c.b.binop(Op::xor_, x, c.c64(lane_tops(ebits)));
    y = c.b.binop(Op::xor_, y, c.c64(lane_tops(ebits)));
  }
  return spread_tops(c, below_tops(c, x, y, ebits), ebits);
}

// m ? a : b, bit by bit.
inline Slot blend(Ctx& c, Slot m, Slot a, Slot b) { return or_(c, c.b.binop(Op::and_, a, m), c.b.binop(Op::andn, b, m)); }

// All ones in each lane where a == b. Bytes: not(orcb(a ^ b)). Wider lanes fold the byte flags
// of the lane into its low byte, then spread that byte over the lane with a multiply.
inline Slot equal_mask(Ctx& c, Slot a, Slot b, unsigned ebits) {
  Slot ne = c.b.unop(Op::orcb, c.b.binop(Op::xor_, a, b));
  if (ebits > 8) {
    for (unsigned s = 8; s < ebits; s *= 2) ne = or_(c, ne, shr(c, ne, s));
    ne = c.b.binop(Op::mul, and64(c, ne, replicate(0xff, ebits)), c.c64(replicate(1, 8) & lane_mask(ebits)));
  }
  return c.b.unop(Op::not_, ne);
}

// The lane-wise minimum or maximum (Max) of d and s, signed or unsigned.
template <unsigned E, bool Signed, bool Max>
Slot minmax_lanes(Ctx& c, Slot d, Slot s) {
  Slot d_below = below_mask(c, d, s, E, Signed);
  return Max ? blend(c, d_below, s, d) : blend(c, d_below, d, s);
}

// ---- lane by lane ----------------------------------------------------------------------------

// Lane k (of `ebits`) of a half as a 64-bit value, sign- or zero-extended.
inline Slot lane_of(Ctx& c, Slot half, unsigned ebits, unsigned k, bool is_signed) {
  if (!is_signed) return element(c, half, ebits, k);
  const unsigned above = 64 - ebits * (k + 1);
  Slot top = above ? shl(c, half, above) : half;
  return c.b.binop(Op::ashr, top, c.c64(64 - ebits));
}

// A half made of `lanes` lanes of `ebits`, lane k the low bits of value(k).
template <class F>
Slot from_lanes(Ctx& c, unsigned ebits, unsigned lanes, F value) {
  Slot r = c.c64(0);
  for (unsigned k = 0; k < lanes; ++k) {
    Slot v = ebits == 64 ? value(k) : and64(c, value(k), lane_mask(ebits));
    r = or_(c, r, k ? shl(c, v, ebits * k) : v);
  }
  return r;
}

// The `E`-bit signed lanes of a half narrowed to E/2 bits with saturation (signed, or unsigned:
// to 0..2^(E/2)-1), packed into the low 32 bits.
template <unsigned E, bool UnsignedResult>
Slot narrow_half(Ctx& c, Slot half) {
  const int64_t max = UnsignedResult ? int64_t(lane_mask(E / 2)) : int64_t(lane_mask(E / 2) >> 1);
  const int64_t min = UnsignedResult ? 0 : -max - 1;
  return from_lanes(c, E / 2, 64 / E, [&](unsigned k) {
    Slot v = c.b.binop(Op::maxs, lane_of(c, half, E, k, true), c.c64(uint64_t(min)));
    return c.b.binop(Op::mins, v, c.c64(uint64_t(max)));
  });
}

// Dword k (0..3) of a 128-bit value.
inline Slot dword_of(Ctx& c, Vec v, unsigned k) { return element(c, k < 2 ? v.lo : v.hi, 32, k & 1); }

// ---- lifter shapes ----------------------------------------------------------------------------

// One 64-bit half of the result from the destination's and the source's halves.
using HalfOp = Slot (*)(Ctx& c, Slot d, Slot s);

template <HalfOp F>
bool lift_binary(Ctx& c) {
  if (!vec_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_vreg(c, c.in.op(0));
  put_vreg(c, c.in.op(0), per_half(d, s, [&](Slot x, Slot y) { return F(c, x, y); }));
  return true;
}

}  // namespace vmkit::x64::sse
