// A64 Advanced SIMD (integer), and its structure loads and stores.
//
// The IR has no vector type: a V register is two 64-bit halves of the state. Operations that are
// one or two plain IR ops per half are lifted here (the bitwise ones, MOVI and friends, DUP of a
// general register as a multiplication, lane moves, EXT as funnel shifts, REV64 of bytes as a
// byte swap, CMEQ of bytes as a negated orcb, 64-bit lane ADD/SUB); everything else calls a
// helper of simd_helpers.cpp that reads and writes State::v itself, given the register numbers
// (lift_vec.h, VecOperands) and the encoding's U:opcode as its imm.
//
// Precision: structure loads do all their loads before writing a register, and the base
// writeback is last; stores read their registers (and, for the interleaving forms, the
// interleaved words) before the first store.
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"
#include "frontend/aarch64/lift_vec.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

bool q_bit(uint32_t i) { return bit(i, 30); }
bool u_bit(uint32_t i) { return bit(i, 29); }
unsigned size_field(uint32_t i) { return bits(i, 23, 22); }
unsigned opcode5(uint32_t i) { return bits(i, 15, 11); }

uint64_t lane_mask(unsigned ebits) { return ebits == 64 ? ~0ull : (1ull << ebits) - 1; }

// The multiplier that copies an element of `ebits` into every lane of 64 bits.
uint64_t replicator(unsigned ebits) {
  switch (ebits) {
    case 8: return 0x0101010101010101ull;
    case 16: return 0x0001000100010001ull;
    case 32: return 0x0000000100000001ull;
    default: return 1;
  }
}

Slot replicate(Ctx& c, Slot v64, unsigned ebits) {
  return ebits == 64 ? v64 : c.b.binop(Op::mul, v64, c.c64(replicator(ebits)));
}

// Element `index` of V register r (elements of ebits), zero-extended to I64.
Slot get_lane(Ctx& c, unsigned r, unsigned index, unsigned ebits) {
  const unsigned bit0 = index * ebits;
  Slot half = vhalf(c, r, bit0 / 64);
  if (ebits == 64) return half;
  Slot v = bit0 % 64 ? c.b.binop(Op::lshr, half, c.c64(bit0 % 64)) : half;
  return c.b.binop(Op::and_, v, c.c64(lane_mask(ebits)));
}

// V register r with element `index` replaced by v (I64, zero-extended); other lanes kept.
void put_lane(Ctx& c, unsigned r, unsigned index, unsigned ebits, Slot v) {
  const unsigned bit0 = index * ebits, h = bit0 / 64, shift = bit0 % 64;
  if (ebits == 64) return c.b.put(off_v(r, h), v);
  Slot half = vhalf(c, r, h);
  Slot cleared = c.b.binop(Op::andn, half, c.c64(lane_mask(ebits) << shift));
  Slot placed = c.b.binop(Op::shl, c.b.binop(Op::and_, v, c.c64(lane_mask(ebits))), c.c64(shift));
  c.b.put(off_v(r, h), c.b.binop(Op::or_, cleared, placed));
}

// Applies f to each half (the low one only for Q = 0) of the operands and writes Vd; the
// sources are all read before the write.
template <class F>
void per_half(Ctx& c, uint32_t i, bool q, F f) {
  Slot r[2] = {ir::kNoSlot, ir::kNoSlot};
  for (unsigned h = 0; h < (q ? 2u : 1u); ++h) r[h] = f(h);
  set_v(c, rd(i), r[0], r[1]);
}

// ---- lane arithmetic in IR, on 64-bit halves ---------------------------------------------------
// The lane operations hot in gcc's vectorised loops (add, sub, and multiply(-accumulate) of
// 32-bit lanes) are lifted to plain IR on each 64-bit half, so the JIT compiles them inline and
// keeps its registers (a helper call would spill them); the rest stay in helpers.

// The top bit of every `ebits`-wide lane of a 64-bit half.
uint64_t lane_tops(unsigned ebits) {
  uint64_t h = 0;
  for (unsigned k = ebits - 1; k < 64; k += ebits) h |= 1ull << k;
  return h;
}

// a + b (or a - b) lane by lane, no carry crossing lanes: the lanes' low bits are added with
// the top bits cleared, then the top bits are set from the operands' (the usual SWAR identities).
Slot lane_add(Ctx& c, Slot a, Slot b, unsigned ebits, bool subtract) {
  if (ebits == 64) return c.b.binop(subtract ? Op::sub : Op::add, a, b);
  const Slot tops = c.c64(lane_tops(ebits)), lows = c.c64(~lane_tops(ebits));
  if (!subtract) {
    Slot sum = c.b.binop(Op::add, c.b.binop(Op::and_, a, lows), c.b.binop(Op::and_, b, lows));
    return c.b.binop(Op::xor_, sum, c.b.binop(Op::and_, c.b.binop(Op::xor_, a, b), tops));
  }
  Slot diff = c.b.binop(Op::sub, c.b.binop(Op::or_, a, tops), c.b.binop(Op::and_, b, lows));
  return c.b.binop(Op::xor_, diff, c.b.binop(Op::and_, c.b.binop(Op::xnor, a, b), tops));
}

// The two 32-bit lane products of halves a and b: each lane's low 32 bits of a * b. With
// `broadcast`, b is one 32-bit element (zero-extended) that multiplies both lanes.
Slot lane_mul32(Ctx& c, Slot a, Slot b, bool broadcast) {
  const Slot k32 = c.c64(32);
  Slot lo = c.b.binop(Op::and_, c.b.binop(Op::mul, a, b), c.c64(0xffffffffull));
  Slot b_hi = broadcast ? b : c.b.binop(Op::lshr, b, k32);
  Slot hi = c.b.binop(Op::shl, c.b.binop(Op::mul, c.b.binop(Op::lshr, a, k32), b_hi), k32);
  return c.b.binop(Op::or_, lo, hi);
}

// MUL, MLA or MLS (accumulate: 0 none, +1 add, -1 subtract) of 32-bit lanes into Vd; `element`
// (kNoSlot for the vector form): the by-element operand, zero-extended.
void lift_mul32(Ctx& c, uint32_t i, bool q, unsigned m, Slot element, int accumulate) {
  per_half(c, i, q, [&](unsigned h) {
    const bool bcast = element != ir::kNoSlot;
    Slot prod = lane_mul32(c, vhalf(c, rn(i), h), bcast ? element : vhalf(c, m, h), bcast);
    return accumulate ? lane_add(c, vhalf(c, rd(i), h), prod, 32, accumulate < 0) : prod;
  });
}

// A helper that reads and writes the V registers itself.
void vec_call(Ctx& c, Helper h, const VecOperands& o, unsigned imm, Slot b = ir::kNoSlot) {
  c.b.call(Type::I64, h, c.c64(o.pack()), b, ir::kNoSlot, uint8_t(imm));
}

VecOperands operands(uint32_t i, unsigned size, bool q, bool scalar = false) {
  VecOperands o;
  o.d = rd(i);
  o.n = rn(i);
  o.m = rm(i);
  o.size = size;
  o.q = q;
  o.scalar = scalar;
  return o;
}

// ---- three registers of the same type -------------------------------------------------------

// AND, BIC, ORR, ORN (U = 0, by size); EOR, BSL, BIT, BIF (U = 1).
bool lift_logic3(Ctx& c, uint32_t i) {
  const unsigned sel = bits(i, 23, 22) | u_bit(i) << 2;
  per_half(c, i, q_bit(i), [&](unsigned h) {
    Slot n = vhalf(c, rn(i), h), m = vhalf(c, rm(i), h);
    switch (sel) {
      case 0: return c.b.binop(Op::and_, n, m);
      case 1: return c.b.binop(Op::andn, n, m);
      case 2: return c.b.binop(Op::or_, n, m);
      case 3: return c.b.binop(Op::orn, n, m);
      case 4: return c.b.binop(Op::xor_, n, m);
      default: break;
    }
    Slot d = vhalf(c, rd(i), h);
    switch (sel) {
      case 5: return c.b.binop(Op::xor_, m, c.b.binop(Op::and_, d, c.b.binop(Op::xor_, n, m)));  // BSL: d ? n : m
      case 6: return c.b.binop(Op::xor_, d, c.b.binop(Op::and_, c.b.binop(Op::xor_, d, n), m));  // BIT: m ? n : d
      default: return c.b.binop(Op::xor_, d, c.b.binop(Op::andn, c.b.binop(Op::xor_, d, n), m));  // BIF: m ? d : n
    }
  });
  return true;
}

// Whether a three-same integer operation (U:opcode) exists for this size and Q.
bool same_allowed(unsigned op, unsigned size, bool q) {
  switch (op & 31) {
    case 0x01: case 0x05: case 0x06: case 0x07: case 0x08: case 0x10: case 0x11:
      return size != 3 || q;  // QADD, QSUB, CMGT/HI, CMGE/HS, SSHL/USHL, ADD/SUB, CMTST/CMEQ
    case 0x17: return op == 0x17 && (size != 3 || q);  // ADDP
    case 0x13: return op == 0x13 ? size != 3 : size == 0;  // MUL; PMUL bytes only
    case 0x00: case 0x02: case 0x04: case 0x0c: case 0x0d: case 0x0e: case 0x0f:
    case 0x12: case 0x14: case 0x15:
      return size != 3;  // HADD, RHADD, HSUB, MAX, MIN, ABD, ABA, MLA/MLS, MAXP, MINP
    case 0x16: return size == 1 || size == 2;  // SQDMULH, SQRDMULH
  }
  return false;
}

// ---- floating point, lane by lane (helpers in fp_helpers.cpp) --------------------------------

// Whether a three-same FP op (U << 4 | a << 3 | opcode & 7) exists; `scalar`: as a scalar
// three-same instruction, which has only the compares, FABD, FMULX and the step operations.
bool fp3_allowed(unsigned op, bool scalar) {
  switch (op) {
    case 0x03: case 0x04: case 0x07: case 0x0f:  // FMULX, FCMEQ, FRECPS, FRSQRTS
    case 0x14: case 0x15: case 0x1a: case 0x1c: case 0x1d:  // FCMGE, FACGE, FABD, FCMGT, FACGT
      return true;
    case 0x00: case 0x01: case 0x02: case 0x06:  // FMAXNM, FMLA, FADD, FMAX
    case 0x08: case 0x09: case 0x0a: case 0x0e:  // FMINNM, FMLS, FSUB, FMIN
    case 0x10: case 0x12: case 0x13: case 0x16: case 0x17:  // FMAXNMP, FADDP, FMUL, FMAXP, FDIV
    case 0x18: case 0x1e:                        // FMINNMP, FMINP
      return !scalar;
  }
  return false;
}

// Three-same FP (opcode 11xxx), vector and scalar: a (bit 23) and sz (bit 22) replace the size
// field.
bool lift_fp3(Ctx& c, uint32_t i, bool scalar) {
  const bool q = q_bit(i) && !scalar, dbl = bit(i, 22);
  const unsigned op = u_bit(i) << 4 | bit(i, 23) << 3 | (opcode5(i) & 7);
  if (dbl && !q && !scalar) return false;
  if (!fp3_allowed(op, scalar)) return false;
  vec_call(c, H_simd_fp3, operands(i, dbl ? 3 : 2, q, scalar), op);
  return true;
}

// Whether a two-register FP op (U << 6 | a << 5 | opcode) exists as a vector (else scalar)
// instruction. The scalar FCVT*, SCVTF and UCVTF are lifted by lift_fp.cpp.
bool fp2_allowed(unsigned op, bool scalar) {
  switch (op) {
    case 0x2c: case 0x2d: case 0x2e: case 0x6c: case 0x6d:  // FCMGT, FCMEQ, FCMLT, FCMGE, FCMLE #0
    case 0x3d: case 0x7d: case 0x56:                        // FRECPE, FRSQRTE, FCVTXN
      return true;
    case 0x3f: return scalar;                                // FRECPX
    case 0x2f: case 0x6f: case 0x7f:                         // FABS, FNEG, FSQRT
    case 0x1a: case 0x1b: case 0x1c: case 0x3a: case 0x3b:   // FCVT{N,M,A,P,Z}S
    case 0x5a: case 0x5b: case 0x5c: case 0x7a: case 0x7b:   // FCVT{N,M,A,P,Z}U
    case 0x1d: case 0x5d:                                    // SCVTF, UCVTF
    case 0x18: case 0x19: case 0x38: case 0x39: case 0x58: case 0x59: case 0x79:  // FRINT*
    case 0x16: case 0x17:                                    // FCVTN, FCVTL
      return !scalar;
  }
  return false;
}

// The conversions between precisions, whose lanes change size (sz selects the pair).
bool is_fp_resize(unsigned op) { return op == 0x16 || op == 0x17 || op == 0x56; }

// Two-register FP, vector and scalar: the lane operations of fp2_allowed, and FCVTN(2)/FCVTL(2)/
// FCVTXN(2), whose size is that of the wider lanes (sz 0: half/single, 1: single/double).
bool lift_fp2(Ctx& c, uint32_t i, bool scalar) {
  const bool q = q_bit(i) && !scalar, dbl = bit(i, 22);
  const unsigned op = u_bit(i) << 6 | bit(i, 23) << 5 | bits(i, 16, 12);
  if (!fp2_allowed(op, scalar)) return false;
  if (is_fp_resize(op)) {
    if (op == 0x56 && !dbl) return false;  // FCVTXN is double to single only
    vec_call(c, H_simd_fp2, operands(i, dbl ? 3 : 2, q_bit(i) && !scalar, scalar), op);
    return true;
  }
  if (dbl && !q && !scalar) return false;
  vec_call(c, H_simd_fp2, operands(i, dbl ? 3 : 2, q, scalar), op);
  return true;
}

// FMAXNMV, FMINNMV, FMAXV, FMINV of single-precision lanes (the half-precision forms, U = 0,
// are not lifted): imm is the pairwise op each step performs.
bool lift_fp_across(Ctx& c, uint32_t i) {
  const unsigned opcode = bits(i, 16, 12);
  if (!u_bit(i) || bit(i, 22) || !q_bit(i)) return false;
  const unsigned op = 0x10 | bit(i, 23) << 3 | (opcode == 0x0c ? 0 : 6);
  vec_call(c, H_simd_fp_across, operands(i, 2, true), op);
  return true;
}

// FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP (scalar): Vd = Vn[0] op Vn[1] (U = 1: single/double).
bool lift_fp_pairwise_scalar(Ctx& c, uint32_t i) {
  const unsigned opcode = bits(i, 16, 12);
  unsigned step;
  switch (opcode) {
    case 0x0c: step = 0; break;  // FMAXNMP / FMINNMP
    case 0x0d:                   // FADDP
      if (bit(i, 23)) return false;
      step = 2;
      break;
    case 0x0f: step = 6; break;  // FMAXP / FMINP
    default: return false;
  }
  vec_call(c, H_simd_fp3, operands(i, bit(i, 22) ? 3 : 2, false, true), 0x10 | bit(i, 23) << 3 | step);
  return true;
}

bool lift_3same(Ctx& c, uint32_t i) {
  const unsigned op = u_bit(i) << 5 | opcode5(i), size = size_field(i);
  const bool q = q_bit(i);
  if (opcode5(i) >= 0x18) return lift_fp3(c, i, false);
  if ((op & 31) == 0x03) return lift_logic3(c, i);
  if (!same_allowed(op, size, q)) return false;
  if ((op & 31) == 0x10) {  // ADD/SUB
    per_half(c, i, q, [&](unsigned h) { return lane_add(c, vhalf(c, rn(i), h), vhalf(c, rm(i), h), 8u << size, op & 0x20); });
    return true;
  }
  if (size == 2 && (op == 0x13 || (op & 31) == 0x12)) {  // MUL, MLA, MLS of 32-bit lanes
    lift_mul32(c, i, q, rm(i), ir::kNoSlot, op == 0x13 ? 0 : op & 0x20 ? -1 : 1);
    return true;
  }
  if (op == 0x31 && size == 0) {  // CMEQ of bytes: no differing bit in the byte
    per_half(c, i, q, [&](unsigned h) {
      return c.b.unop(Op::not_, c.b.unop(Op::orcb, c.b.binop(Op::xor_, vhalf(c, rn(i), h), vhalf(c, rm(i), h))));
    });
    return true;
  }
  vec_call(c, H_simd_3same, operands(i, size, q), op);
  return true;
}

// Scalar three-same: the 64-bit ADD/SUB/compares/shifts, the saturating ops of any size, and
// the FP ones.
bool lift_3same_scalar(Ctx& c, uint32_t i) {
  const unsigned op = u_bit(i) << 5 | opcode5(i), size = size_field(i);
  if (opcode5(i) >= 0x18) return lift_fp3(c, i, true);
  switch (op & 31) {
    case 0x01: case 0x05: break;
    case 0x06: case 0x07: case 0x08: case 0x10: case 0x11:
      if (size != 3) return false;
      break;
    case 0x16:  // SQDMULH, SQRDMULH
      if (size != 1 && size != 2) return false;
      break;
    default: return false;
  }
  if ((op & 31) == 0x10) {
    set_v(c, rd(i), c.b.binop(op & 0x20 ? Op::sub : Op::add, vhalf(c, rn(i), 0), vhalf(c, rm(i), 0)));
    return true;
  }
  vec_call(c, H_simd_3same, operands(i, size, false, true), op);
  return true;
}

// ---- two-register miscellaneous --------------------------------------------------------------

bool misc_allowed(unsigned op, unsigned size, bool q) {
  switch (op) {
    case 0x00: return size != 3;  // REV64
    case 0x20: return size < 2;   // REV32
    case 0x01: return size == 0;  // REV16
    case 0x02: case 0x22: case 0x06: case 0x26: case 0x04: case 0x24: return size != 3;  // ADDLP, ADALP, CLS/CLZ
    case 0x05: return size == 0;  // CNT
    case 0x25: return size < 2;   // NOT, RBIT
    case 0x07: case 0x27: case 0x08: case 0x28: case 0x09: case 0x29: case 0x0a: case 0x0b: case 0x2b:
      return size != 3 || q;  // SQABS/SQNEG, compares with zero, ABS/NEG
    case 0x12: case 0x32: case 0x14: case 0x34: return size != 3;  // XTN, SQXTUN, SQXTN, UQXTN
    case 0x33: return size != 3;  // SHLL
  }
  return false;
}

// The two-register misc opcodes that are floating point (a and sz replace the size field).
bool is_fp_misc(unsigned opcode) { return opcode >= 0x0c && (opcode < 0x12 || opcode > 0x14); }

bool lift_2misc(Ctx& c, uint32_t i) {
  const unsigned code = u_bit(i) << 5 | bits(i, 16, 12), size = size_field(i);
  const bool q = q_bit(i);
  if (is_fp_misc(bits(i, 16, 12))) return lift_fp2(c, i, false);
  if (!misc_allowed(code, size, q)) return false;
  if (code == 0x33) {  // SHLL: the USHLL of the shift-by-immediate helper, by the element size
    vec_call(c, H_simd_shift, operands(i, size, q), 0x34, c.c64(8u << size));
    return true;
  }
  if (code == 0x25 && size == 0) {  // NOT
    per_half(c, i, q, [&](unsigned h) { return c.b.unop(Op::not_, vhalf(c, rn(i), h)); });
    return true;
  }
  if (code == 0x09 && size == 0) {  // CMEQ #0 of bytes
    per_half(c, i, q, [&](unsigned h) { return c.b.unop(Op::not_, c.b.unop(Op::orcb, vhalf(c, rn(i), h))); });
    return true;
  }
  if (code == 0x00 && size == 0) {  // REV64 of bytes
    per_half(c, i, q, [&](unsigned h) { return c.b.unop(Op::bswap, vhalf(c, rn(i), h)); });
    return true;
  }
  vec_call(c, H_simd_2misc, operands(i, size, q), code);
  return true;
}

// Scalar two-register: compares with zero, ABS/NEG (D only), SQABS/SQNEG, SQXTN/UQXTN/SQXTUN,
// and the FP ones.
bool lift_2misc_scalar(Ctx& c, uint32_t i) {
  const unsigned code = u_bit(i) << 5 | bits(i, 16, 12), size = size_field(i);
  if (is_fp_misc(bits(i, 16, 12))) return lift_fp2(c, i, true);
  switch (code) {
    case 0x07: case 0x27: break;
    case 0x08: case 0x28: case 0x09: case 0x29: case 0x0a: case 0x0b: case 0x2b:
      if (size != 3) return false;
      break;
    case 0x14: case 0x34: case 0x32:
      if (size == 3) return false;
      break;
    default: return false;
  }
  vec_call(c, H_simd_2misc, operands(i, size, false, true), code);
  return true;
}

// ---- across lanes, three different, pairwise scalar ---------------------------------------

bool lift_across(Ctx& c, uint32_t i) {
  const unsigned code = u_bit(i) << 5 | bits(i, 16, 12), size = size_field(i);
  const bool q = q_bit(i);
  if ((code & 31) == 0x0c || (code & 31) == 0x0f) return lift_fp_across(c, i);
  if (code != 0x03 && code != 0x23 && (code & 31) != 0x0a && (code & 31) != 0x1a && code != 0x1b) return false;
  if (size == 3 || (size == 2 && !q)) return false;
  vec_call(c, H_simd_across, operands(i, size, q), code);
  return true;
}

// Whether a three-different op (U << 4 | opcode) exists at this (narrow) size.
bool diff_allowed(unsigned op, unsigned size) {
  switch (op) {
    case 0x09: case 0x0b: case 0x0d: return size == 1 || size == 2;  // SQDMLAL, SQDMLSL, SQDMULL
    case 0x0e: return size == 0 || size == 3;                        // PMULL (8-bit, 64-bit)
  }
  switch (op & 15) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 10: case 12:
      return size != 3;
  }
  return false;
}

bool lift_3diff(Ctx& c, uint32_t i) {
  const unsigned op = u_bit(i) << 4 | bits(i, 15, 12), size = size_field(i);
  if (!diff_allowed(op, size)) return false;
  vec_call(c, H_simd_3diff, operands(i, size, q_bit(i)), op);
  return true;
}

// Scalar three-different: SQDMLAL, SQDMLSL, SQDMULL (Sd from Hn, Hm; Dd from Sn, Sm).
bool lift_3diff_scalar(Ctx& c, uint32_t i) {
  const unsigned op = u_bit(i) << 4 | bits(i, 15, 12), size = size_field(i);
  if (op != 0x09 && op != 0x0b && op != 0x0d) return false;
  if (!diff_allowed(op, size)) return false;
  vec_call(c, H_simd_3diff, operands(i, size, false, true), op);
  return true;
}

// ---- vector x indexed element ------------------------------------------------------------------

// The element of a by-element form: H:L:M with a 4-bit Vm for 16-bit elements, H:L with a 5-bit
// Vm for 32-bit ones, H for 64-bit ones (L = 1 is reserved there). False for size 0.
bool elem_operands(uint32_t i, unsigned size, VecOperands& o) {
  const unsigned h = bit(i, 11), l = bit(i, 21), m = bit(i, 20);
  o.elem = true;
  switch (size) {
    case 1: o.index = h << 2 | l << 1 | m, o.m = bits(i, 19, 16); return true;
    case 2: o.index = h << 1 | l, o.m = bits(i, 20, 16); return true;
    case 3: o.index = h, o.m = bits(i, 20, 16); return !l;
  }
  return false;
}

// The three-different op (U << 4 | opcode) of a long by-element form (U << 4 | opcode): the
// opcodes 2, 6, 10 of [SU]MLAL, [SU]MLSL, [SU]MULL are 8, 10, 12 there, and 3, 7, 11 of
// SQDMLAL, SQDMLSL, SQDMULL are 9, 11, 13.
unsigned long_op_of_elem(unsigned code) {
  const unsigned opcode = code & 15;
  return (code & 0x10) | (7 + opcode / 2 + (opcode & 1));
}

// The by-element forms, vector and scalar, through the helpers of the same operation on two
// registers (helpers_fp.def: the VecOperands' elem flag makes Vm's element the second operand).
bool lift_elem_common(Ctx& c, uint32_t i, bool scalar) {
  const unsigned size = size_field(i), code = u_bit(i) << 4 | bits(i, 15, 12);
  const bool q = q_bit(i) && !scalar;
  VecOperands o = operands(i, size, q, scalar);
  if (!elem_operands(i, size, o)) return false;
  switch (code) {
    case 0x01: case 0x05: case 0x09: case 0x19: {  // FMLA, FMLS, FMUL, FMULX
      if (size < 2 || (size == 3 && !q && !scalar)) return false;  // the half-precision forms are not lifted
      const unsigned op = code == 0x01 ? 0x01 : code == 0x05 ? 0x09 : code == 0x09 ? 0x13 : 0x03;
      vec_call(c, H_simd_fp3, o, op);
      return true;
    }
    case 0x08: case 0x10: case 0x14:  // MUL, MLA, MLS
      if (scalar || size == 3) return false;
      if (size == 2) {
        Slot element = c.b.binop(Op::lshr, vhalf(c, o.m, o.index >> 1), c.c64(32 * (o.index & 1)));
        element = c.b.binop(Op::and_, element, c.c64(0xffffffffull));
        lift_mul32(c, i, q, o.m, element, code == 0x08 ? 0 : code == 0x10 ? 1 : -1);
        return true;
      }
      vec_call(c, H_simd_3same, o, code == 0x08 ? 0x13 : code == 0x10 ? 0x12 : 0x32);
      return true;
    case 0x0c: case 0x0d:  // SQDMULH, SQRDMULH
      if (size == 3) return false;
      vec_call(c, H_simd_3same, o, code == 0x0c ? 0x16 : 0x36);
      return true;
    case 0x02: case 0x12: case 0x06: case 0x16: case 0x0a: case 0x1a:  // [SU]MLAL, [SU]MLSL, [SU]MULL
      if (scalar) return false;
      [[fallthrough]];
    case 0x03: case 0x07: case 0x0b:  // SQDMLAL, SQDMLSL, SQDMULL
      if (size == 3) return false;
      vec_call(c, H_simd_3diff, o, long_op_of_elem(code));
      return true;
  }
  return false;
}

bool lift_elem(Ctx& c, uint32_t i) { return lift_elem_common(c, i, false); }
bool lift_elem_scalar(Ctx& c, uint32_t i) { return lift_elem_common(c, i, true); }

// ADDP (scalar): Dd = Vn.D[0] + Vn.D[1].
bool lift_addp_scalar(Ctx& c, uint32_t i) {
  set_v(c, rd(i), c.b.binop(Op::add, vhalf(c, rn(i), 0), vhalf(c, rn(i), 1)));
  return true;
}

// ---- shift by immediate ---------------------------------------------------------------------

// Element size (log2 bytes) from immh, or -1 for immh = 0.
int shift_size(uint32_t i) {
  const unsigned immh = bits(i, 22, 19);
  if (immh == 0) return -1;
  return 31 - __builtin_clz(immh);
}

bool lift_shift_imm_common(Ctx& c, uint32_t i, bool scalar) {
  const int size = shift_size(i);
  const unsigned code = u_bit(i) << 5 | opcode5(i);
  const unsigned immhb = bits(i, 22, 16), ebits = 8u << size;
  const bool q = q_bit(i) && !scalar;
  switch (code) {
    case 0x00: case 0x20: case 0x02: case 0x22: case 0x04: case 0x24: case 0x06: case 0x26: case 0x28:
    case 0x0a: case 0x2a:  // right shifts, SRI, SHL/SLI
      if (size == 3 ? !q && !scalar : scalar) return false;
      break;
    case 0x2c: case 0x0e: case 0x2e:  // SQSHLU, SQSHL, UQSHL
      if (size == 3 && !q && !scalar) return false;
      break;
    case 0x10: case 0x11: case 0x14: case 0x34:  // SHRN, RSHRN, SSHLL, USHLL
      if (size == 3 || scalar) return false;
      break;
    case 0x30: case 0x31: case 0x12: case 0x32: case 0x13: case 0x33:  // saturating narrowing
      if (size == 3) return false;
      break;
    default: return false;
  }
  const bool left = (code & 31) == 0x0a || (code & 31) == 0x0c || (code & 31) == 0x0e || (code & 31) == 0x14;
  const unsigned shift = left ? immhb - ebits : 2 * ebits - immhb;
  if (!scalar && code == 0x20 && size == 3) {  // USHR of 64-bit lanes (by 64: zero)
    per_half(c, i, q, [&](unsigned h) {
      return shift == 64 ? c.c64(0) : c.b.binop(Op::lshr, vhalf(c, rn(i), h), c.c64(shift));
    });
    return true;
  }
  if (!scalar && code == 0x0a && size == 3) {  // SHL of 64-bit lanes
    per_half(c, i, q, [&](unsigned h) { return c.b.binop(Op::shl, vhalf(c, rn(i), h), c.c64(shift)); });
    return true;
  }
  VecOperands o = operands(i, unsigned(size), scalar ? false : q_bit(i), scalar);
  vec_call(c, H_simd_shift, o, code, c.c64(shift));
  return true;
}

bool lift_shift_imm(Ctx& c, uint32_t i) { return shift_size(i) >= 0 && lift_shift_imm_common(c, i, false); }
bool lift_shift_imm_scalar(Ctx& c, uint32_t i) { return shift_size(i) >= 0 && lift_shift_imm_common(c, i, true); }

// ---- modified immediate: MOVI, MVNI, ORR, BIC, FMOV (vector, immediate) -------------------

// AdvSIMDExpandImm: the 64-bit pattern of op, cmode and imm8 (0 with ok = false if reserved).
uint64_t expand_imm(unsigned op, unsigned cmode, uint64_t imm8, bool* ok) {
  *ok = true;
  switch (cmode >> 1) {
    case 0: case 1: case 2: case 3: return replicator(32) * (imm8 << (8 * (cmode >> 1)));
    case 4: case 5: return replicator(16) * (imm8 << (8 * ((cmode >> 1) & 1)));
    case 6: return replicator(32) * (cmode & 1 ? (imm8 << 16 | 0xffff) : (imm8 << 8 | 0xff));
    default: break;
  }
  if (!(cmode & 1)) {
    if (!op) return replicator(8) * imm8;
    uint64_t r = 0;
    for (unsigned k = 0; k < 8; ++k)
      if (imm8 >> k & 1) r |= 0xffull << (8 * k);
    return r;
  }
  // FMOV (vector, immediate): VFPExpandImm of single (op 0) or double (op 1) precision.
  const uint64_t sign = imm8 >> 7, b6 = imm8 >> 6 & 1, low = imm8 & 0x3f;
  if (!op) {
    const uint64_t single = sign << 31 | (b6 ? 0x3e000000ull : 0x40000000ull) | low << 19;
    return replicator(32) * single;
  }
  return sign << 63 | (b6 ? 0x3fc0000000000000ull : 0x4000000000000000ull) | low << 48;
}

bool lift_movi(Ctx& c, uint32_t i) {
  const unsigned op = u_bit(i), cmode = bits(i, 15, 12);
  const bool q = q_bit(i);
  if (bit(i, 11)) return false;                          // o2: FMOV (half precision) is not lifted
  if (op && cmode == 0xf && !q) return false;            // FMOV Vd.1D, #imm does not exist
  const uint64_t imm8 = bits(i, 18, 16) << 5 | bits(i, 9, 5);
  bool ok;
  const uint64_t imm = expand_imm(op, cmode, imm8, &ok);
  if (!ok) return false;
  const bool is_orr_bic = cmode < 0xc && (cmode & 1);
  const bool inverted = op && cmode < 0xe;  // MVNI (and BIC, which clears the pattern's bits)
  if (is_orr_bic) {
    per_half(c, i, q, [&](unsigned h) {
      return c.b.binop(op ? Op::andn : Op::or_, vhalf(c, rd(i), h), c.c64(imm));
    });
    return true;
  }
  Slot v = c.c64(inverted ? ~imm : imm);
  set_v(c, rd(i), v, q ? v : ir::kNoSlot);
  return true;
}

// ---- copy: DUP, INS, UMOV, SMOV --------------------------------------------------------------

bool lift_copy(Ctx& c, uint32_t i) {
  const unsigned imm5 = bits(i, 20, 16), imm4 = bits(i, 14, 11);
  const bool q = q_bit(i), op = u_bit(i);
  if ((imm5 & 15) == 0) return false;
  const unsigned size = unsigned(__builtin_ctz(imm5)), ebits = 8u << size, index = imm5 >> (size + 1);
  if (op) {  // INS (element): Vd[index] = Vn[imm4 >> size]
    if (!q) return false;
    put_lane(c, rd(i), index, ebits, get_lane(c, rn(i), imm4 >> size, ebits));
    return true;
  }
  switch (imm4) {
    case 0:    // DUP (element)
    case 1: {  // DUP (general)
      if (size == 3 && !q) return false;
      Slot v = imm4 == 0 ? get_lane(c, rn(i), index, ebits)
                         : ebits == 64 ? c.x(rn(i)) : c.b.binop(Op::and_, c.x(rn(i)), c.c64(lane_mask(ebits)));
      Slot all = replicate(c, v, ebits);
      set_v(c, rd(i), all, q ? all : ir::kNoSlot);
      return true;
    }
    case 3:  // INS (general)
      if (!q) return false;
      put_lane(c, rd(i), index, ebits, c.x(rn(i)));
      return true;
    case 5: {  // SMOV
      if (q ? size > 2 : size > 1) return false;
      Slot lane = get_lane(c, rn(i), index, ebits);
      const Type narrow = size == 0 ? Type::I8 : size == 1 ? Type::I16 : Type::I32;
      Slot v = c.b.convert(Op::sext, q ? Type::I64 : Type::I32, c.b.convert(Op::trunc, narrow, lane));
      c.set_reg(rd(i), v);
      return true;
    }
    case 7:  // UMOV
      if (q ? size != 3 : size > 2) return false;
      c.set_reg(rd(i), get_lane(c, rn(i), index, ebits));
      return true;
  }
  return false;
}

// DUP (element, scalar) = MOV Bd/Hd/Sd/Dd, Vn.T[index].
bool lift_dup_scalar(Ctx& c, uint32_t i) {
  const unsigned imm5 = bits(i, 20, 16);
  if ((imm5 & 15) == 0) return false;
  const unsigned size = unsigned(__builtin_ctz(imm5));
  set_v(c, rd(i), get_lane(c, rn(i), imm5 >> (size + 1), 8u << size));
  return true;
}

// ---- EXT, permutes, table lookup ------------------------------------------------------------

// EXT: bytes imm4.. of the concatenation Vm:Vn (Vn low), as funnel shifts of 64-bit words.
bool lift_ext(Ctx& c, uint32_t i) {
  const unsigned pos = bits(i, 14, 11);
  const bool q = q_bit(i);
  if (!q && pos >= 8) return false;
  Slot words[4];
  if (q) {
    words[0] = vhalf(c, rn(i), 0), words[1] = vhalf(c, rn(i), 1);
    words[2] = vhalf(c, rm(i), 0), words[3] = vhalf(c, rm(i), 1);
  } else {
    words[0] = vhalf(c, rn(i), 0), words[1] = vhalf(c, rm(i), 0);
  }
  const unsigned k = pos / 8, shift = 8 * (pos % 8);
  per_half(c, i, q, [&](unsigned h) {
    if (shift == 0) return words[k + h];
    Slot low = c.b.binop(Op::lshr, words[k + h], c.c64(shift));
    return c.b.binop(Op::or_, low, c.b.binop(Op::shl, words[k + h + 1], c.c64(64 - shift)));
  });
  return true;
}

bool lift_perm(Ctx& c, uint32_t i) {
  const unsigned opc = bits(i, 14, 12), size = size_field(i);
  const bool q = q_bit(i);
  if ((opc & 3) == 0 || (size == 3 && !q)) return false;
  vec_call(c, H_simd_perm, operands(i, size, q), opc);
  return true;
}

bool lift_tbl(Ctx& c, uint32_t i) {
  const unsigned regs = bits(i, 14, 13) + 1;
  vec_call(c, H_simd_tbl, operands(i, 0, q_bit(i)), bit(i, 12), c.c64(regs));
  return true;
}

// ---- structure loads and stores ---------------------------------------------------------------

Slot plus(Ctx& c, Slot base, uint64_t off) { return off ? c.b.binop(Op::add, base, c.c64(off)) : base; }

// Post-index writeback: Rm = 31 means the transfer size, otherwise Xm.
void post_index(Ctx& c, uint32_t i, Slot base, uint64_t bytes) {
  if (!bit(i, 23)) return;
  Slot inc = rm(i) == 31 ? c.c64(bytes) : c.x(rm(i));
  c.set_reg_sp(rn(i), c.b.binop(Op::add, base, inc));
}

// LD1-LD4 / ST1-ST4 (multiple structures), with or without post-index.
bool lift_ldst_multiple(Ctx& c, uint32_t i) {
  const unsigned opcode = bits(i, 15, 12), size = bits(i, 11, 10), rt = rd(i);
  const bool q = q_bit(i), load = bit(i, 22);
  if (!bit(i, 23) && rm(i) != 0) return false;
  unsigned regs, interleave;
  switch (opcode) {
    case 0x7: regs = 1, interleave = 1; break;
    case 0xa: regs = 2, interleave = 1; break;
    case 0x6: regs = 3, interleave = 1; break;
    case 0x2: regs = 4, interleave = 1; break;
    case 0x8: regs = 2, interleave = 2; break;
    case 0x4: regs = 3, interleave = 3; break;
    case 0x0: regs = 4, interleave = 4; break;
    default: return false;
  }
  if (interleave > 1 && size == 3 && !q) return false;
  const unsigned words_per_reg = q ? 2 : 1, words = regs * words_per_reg;
  VecOperands o;
  o.d = rt;
  o.size = size;
  o.q = q;
  Slot base = c.xsp(rn(i));
  if (load) {
    Slot w[8];
    for (unsigned k = 0; k < words; ++k) w[k] = c.b.load(Type::I64, plus(c, base, 8 * k));
    for (unsigned r = 0; r < regs; ++r)
      set_v(c, (rt + r) % 32, w[r * words_per_reg], q ? w[r * words_per_reg + 1] : ir::kNoSlot);
    if (interleave > 1) vec_call(c, H_simd_deinterleave, o, interleave);
  } else {
    Slot w[8];
    for (unsigned k = 0; k < words; ++k) {
      w[k] = interleave > 1
                 ? c.b.call(Type::I64, H_simd_interleaved_word, c.c64(o.pack()), c.c64(k), ir::kNoSlot, uint8_t(interleave))
                 : vhalf(c, (rt + k / words_per_reg) % 32, k % words_per_reg);
    }
    for (unsigned k = 0; k < words; ++k) c.b.store(plus(c, base, 8 * k), w[k]);
  }
  post_index(c, i, base, 8 * words);
  return true;
}

// LD1-LD4/ST1-ST4 (single structure: one lane of 1-4 consecutive registers, wrapping at 31) and
// LD1R-LD4R (one structure, each element replicated to every lane of its register), with or
// without post-index. The register count is opcode<0>:R + 1.
bool lift_ldst_single(Ctx& c, uint32_t i) {
  const unsigned opcode = bits(i, 15, 13), size = bits(i, 11, 10), rt = rd(i);
  const bool q = q_bit(i), load = bit(i, 22), s = bit(i, 12);
  const unsigned regs = ((opcode & 1) << 1 | bit(i, 21)) + 1;
  if (!bit(i, 23) && rm(i) != 0) return false;
  Slot base = c.xsp(rn(i));
  Slot v[4];
  if (opcode >> 1 == 3) {  // LD1R-LD4R
    if (!load || s) return false;
    const unsigned ebits = 8u << size;
    for (unsigned k = 0; k < regs; ++k) v[k] = replicate(c, c.b.load(Type::I64, plus(c, base, k * ebits / 8), ebits), ebits);
    for (unsigned k = 0; k < regs; ++k) set_v(c, (rt + k) % 32, v[k], q ? v[k] : ir::kNoSlot);
    post_index(c, i, base, regs * ebits / 8);
    return true;
  }
  unsigned ebits, index;
  switch (opcode >> 1) {
    case 0: ebits = 8, index = q << 3 | s << 2 | size; break;
    case 1:
      if (size & 1) return false;
      ebits = 16, index = q << 2 | s << 1 | size >> 1;
      break;
    case 2:
      if (size == 0) {
        ebits = 32, index = q << 1 | s;
      } else if (size == 1 && !s) {
        ebits = 64, index = q;
      } else {
        return false;
      }
      break;
    default: return false;
  }
  const unsigned bytes = ebits / 8;
  if (load) {
    for (unsigned k = 0; k < regs; ++k) v[k] = c.b.load(Type::I64, plus(c, base, k * bytes), ebits);
    for (unsigned k = 0; k < regs; ++k) put_lane(c, (rt + k) % 32, index, ebits, v[k]);
  } else {
    for (unsigned k = 0; k < regs; ++k) v[k] = get_lane(c, (rt + k) % 32, index, ebits);
    for (unsigned k = 0; k < regs; ++k) c.b.store(plus(c, base, k * bytes), v[k], ebits);
  }
  post_index(c, i, base, regs * bytes);
  return true;
}

const InsnDesc kInsns[] = {
    {"movi/mvni/orr/bic/fmov (vector, immediate)", 0x9ff80400, 0x0f000400, lift_movi},
    {"shift by immediate", 0x9f800400, 0x0f000400, lift_shift_imm},
    {"shift by immediate (scalar)", 0xdf800400, 0x5f000400, lift_shift_imm_scalar},
    {"dup/ins/umov/smov", 0x9fe08400, 0x0e000400, lift_copy},
    {"dup (element, scalar)", 0xffe0fc00, 0x5e000400, lift_dup_scalar},
    {"three same", 0x9f200400, 0x0e200400, lift_3same},
    {"three same (scalar)", 0xdf200400, 0x5e200400, lift_3same_scalar},
    {"across lanes", 0x9f3e0c00, 0x0e300800, lift_across},
    {"two-register misc", 0x9f3e0c00, 0x0e200800, lift_2misc},
    {"two-register misc (scalar)", 0xdf3e0c00, 0x5e200800, lift_2misc_scalar},
    {"addp (scalar)", 0xfffffc00, 0x5ef1b800, lift_addp_scalar},
    {"three different", 0x9f200c00, 0x0e200000, lift_3diff},
    {"three different (scalar)", 0xdf200c00, 0x5e200000, lift_3diff_scalar},
    {"vector x indexed element", 0x9f000400, 0x0f000000, lift_elem},
    {"vector x indexed element (scalar)", 0xdf000400, 0x5f000000, lift_elem_scalar},
    {"faddp/fmaxp/fminp/fmaxnmp/fminnmp (scalar)", 0xff3e0c00, 0x7e300800, lift_fp_pairwise_scalar},
    {"ext", 0xbfe08400, 0x2e000000, lift_ext},
    {"uzp/trn/zip", 0xbf208c00, 0x0e000800, lift_perm},
    {"tbl/tbx", 0xbfe08c00, 0x0e000000, lift_tbl},
    {"ld1-4/st1-4 (multiple structures)", 0xbfbf0000, 0x0c000000, lift_ldst_multiple},
    {"ld1-4/st1-4 (multiple structures, post-index)", 0xbfa00000, 0x0c800000, lift_ldst_multiple},
    {"ld1-4/st1-4 (single structure), ld1r-ld4r", 0xbf9f0000, 0x0d000000, lift_ldst_single},
    {"ld1-4/st1-4 (single structure), ld1r-ld4r (post-index)", 0xbf800000, 0x0d800000, lift_ldst_single},
};

}  // namespace

InsnTable simd_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
