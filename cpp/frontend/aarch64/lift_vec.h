// V-register access shared by the scalar FP (lift_fp.cpp) and Advanced SIMD (lift_simd.cpp)
// lifters, and the packing of register numbers that their state-reading helpers take.
//
// A V register is two 64-bit halves in the state (State::v, off_v). A write of a scalar
// (B/H/S/D) or of a 64-bit vector (Q = 0) clears the bits above it, so every full write here
// names both halves.
#pragma once

#include <cstdint>

#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

// Half `half` (0 low, 1 high) of V register r, as an I64.
inline ir::Slot vhalf(Ctx& c, unsigned r, unsigned half) { return c.b.get(ir::Type::I64, off_v(r, half)); }

// Writes V register r: lo, and hi (kNoSlot: zero, for scalar and 64-bit vector results).
inline void set_v(Ctx& c, unsigned r, ir::Slot lo, ir::Slot hi = ir::kNoSlot) {
  c.b.put(off_v(r, 0), lo);
  c.b.put(off_v(r, 1), hi != ir::kNoSlot ? hi : c.c64(0));
}

// A scalar result of any integer type (I8..I64, zero-extended) into the low bits of V register r.
inline void set_scalar(Ctx& c, unsigned r, ir::Slot v) {
  if (c.b.type_of(v) != ir::Type::I64) v = c.b.convert(ir::Op::zext, ir::Type::I64, v);
  set_v(c, r, v);
}

// The low `bits` (8..64) of V register r, zero-extended to I64.
inline ir::Slot scalar_bits(Ctx& c, unsigned r, unsigned bits) {
  ir::Slot lo = vhalf(c, r, 0);
  return bits == 64 ? lo : c.b.binop(ir::Op::and_, lo, c.c64((1ull << bits) - 1));
}

// The operand of the SIMD helpers that read and write State::v themselves: register numbers,
// element size (log2 bytes), Q and whether the operation is the scalar form, packed.
struct VecOperands {
  unsigned d = 0, n = 0, m = 0;
  unsigned size = 0;  // element size: 0 B, 1 H, 2 S, 3 D
  bool q = false;     // 128-bit vector (else 64-bit; the high half of the result is cleared)
  bool scalar = false;  // one element (the scalar forms): the rest of Vd is cleared
  bool elem = false;    // the "by element" forms: every lane takes Vm's element `index`
  unsigned index = 0;
  uint64_t pack() const {
    return uint64_t(d) | uint64_t(n) << 5 | uint64_t(m) << 10 | uint64_t(size) << 15 | uint64_t(q) << 17 |
           uint64_t(scalar) << 18 | uint64_t(elem) << 19 | uint64_t(index) << 20;
  }
  static VecOperands unpack(uint64_t p) {
    VecOperands o;
    o.d = p & 31;
    o.n = (p >> 5) & 31;
    o.m = (p >> 10) & 31;
    o.size = (p >> 15) & 3;
    o.q = (p >> 17) & 1;
    o.scalar = (p >> 18) & 1;
    o.elem = (p >> 19) & 1;
    o.index = (p >> 20) & 15;
    return o;
  }
};

}  // namespace vmkit::a64

namespace vmkit::a64::fpimm {

// The imm operand of the scalar floating-point helpers (fp_helpers.cpp): the precision in bits
// 1..0 (Arm's ftype: 0 single, 1 double, 3 half) and per-helper fields above it.
constexpr unsigned kSingle = 0, kDouble = 1, kHalf = 3;
constexpr unsigned prec(uint32_t imm) { return imm & 3; }

// fp_to_int and the FCVT* instructions: Arm's FPRounding.
enum Rounding : unsigned { kTieEven = 0, kPosInf = 1, kNegInf = 2, kZero = 3, kTieAway = 4 };

// fp_arith: imm = prec | op << 2, op being the 2-source opcode (bits 15..12).
enum Arith : unsigned { kMul = 0, kDiv = 1, kAdd = 2, kSub = 3, kMax = 4, kMin = 5, kMaxNm = 6, kMinNm = 7, kNMul = 8 };
// fp_unary: imm = prec | op << 2, op being the 1-source opcode (bits 20..15): FSQRT, FRINT*.
constexpr unsigned kSqrt = 3;
// fp_fma: imm = prec | kNegProduct | kNegAddend.
constexpr unsigned kNegProduct = 4, kNegAddend = 8;
// fp_compare: imm = prec | kSignaling | kConditional | nzcv << 4 (the value when c = 0).
constexpr unsigned kSignaling = 4, kConditional = 8;
// fp_to_int: imm = prec | rounding << 2 | kUnsignedInt | kInt64 (b = fraction bits);
// fp_from_int: imm = prec | kFromUnsigned | kFromInt64 (b = fraction bits).
constexpr unsigned kUnsignedInt = 32, kInt64 = 64;
constexpr unsigned kFromUnsigned = 4, kFromInt64 = 8;
// fp_convert: imm = from precision | to precision << 2.

}  // namespace vmkit::a64::fpimm
