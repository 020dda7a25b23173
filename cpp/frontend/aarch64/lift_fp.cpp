// A64 scalar floating point, and the moves between FP and general registers.
//
// Moves, FABS/FNEG, FCSEL and FMOV immediate are bit manipulation, lifted to IR. Everything
// that rounds, compares or may raise an exception calls a helper of fp_helpers.cpp, which applies
// FPCR (rounding mode, FZ, DN) and accumulates FPSR; the helper's imm carries the precision and
// the operation (lift_vec.h, namespace fpimm). FCMP's NZCV comes back from its helper and is
// recorded raw. Writing an S or D register clears the rest of the V register.
//
// Half precision: FMOV and FCVT only (the FEAT_FP16 arithmetic is not lifted: illegal).
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"
#include "frontend/aarch64/lift_vec.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;
using namespace fpimm;

// The precision of bits 23..22 (ftype): 0 single, 1 double, 3 half; 2 is reserved.
unsigned ftype(uint32_t i) { return bits(i, 23, 22); }
unsigned width_of(unsigned prec) { return prec == kDouble ? 64 : prec == kSingle ? 32 : 16; }
uint64_t sign_bit(unsigned prec) { return 1ull << (width_of(prec) - 1); }

// An operand of precision prec: the register's low bits, zero-extended to I64.
Slot operand(Ctx& c, unsigned r, unsigned prec) { return scalar_bits(c, r, width_of(prec)); }

Slot call_fp(Ctx& c, Helper h, unsigned imm, Slot a, Slot b = ir::kNoSlot, Slot cc = ir::kNoSlot) {
  return c.b.call(Type::I64, h, a, b, cc, uint8_t(imm));
}

// ---- data processing -------------------------------------------------------------------------

// FMOV (register), FABS, FNEG, FSQRT, FCVT, FRINT*.
bool lift_fp_1src(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i), op = bits(i, 20, 15);
  if (prec == 2) return false;
  Slot x = operand(c, rn(i), prec);
  if (op == 0) {  // FMOV
    set_scalar(c, rd(i), x);
    return true;
  }
  if (op == 4 || op == 5 || op == 7) {  // FCVT to single, double, half
    const unsigned to = op == 4 ? kSingle : op == 5 ? kDouble : kHalf;
    if (to == prec) return false;
    set_scalar(c, rd(i), call_fp(c, H_fp_convert, prec | to << 2, x));
    return true;
  }
  if (prec == kHalf) return false;
  switch (op) {
    case 1: set_scalar(c, rd(i), c.b.binop(Op::and_, x, c.c64(sign_bit(prec) - 1))); return true;  // FABS
    case 2: set_scalar(c, rd(i), c.b.binop(Op::xor_, x, c.c64(sign_bit(prec)))); return true;      // FNEG
    case 3: case 8: case 9: case 10: case 11: case 12: case 14: case 15:  // FSQRT, FRINT{N,P,M,Z,A,X,I}
      set_scalar(c, rd(i), call_fp(c, H_fp_unary, prec | op << 2, x));
      return true;
  }
  return false;
}

// FMUL, FDIV, FADD, FSUB, FMAX, FMIN, FMAXNM, FMINNM, FNMUL.
bool lift_fp_2src(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i), op = bits(i, 15, 12);
  if (prec >= 2 || op > kNMul) return false;
  Slot a = operand(c, rn(i), prec), b = operand(c, rm(i), prec);
  set_scalar(c, rd(i), call_fp(c, H_fp_arith, prec | op << 2, a, b));
  return true;
}

// FMADD, FMSUB, FNMADD, FNMSUB (by o1, bit 21, and o0, bit 15): one rounding.
bool lift_fp_3src(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i);
  if (prec >= 2) return false;
  const bool o1 = bit(i, 21), o0 = bit(i, 15);
  const unsigned neg = (o0 != o1 ? kNegProduct : 0) | (o1 ? kNegAddend : 0);
  Slot n = operand(c, rn(i), prec), m = operand(c, rm(i), prec), a = operand(c, ra(i), prec);
  set_scalar(c, rd(i), call_fp(c, H_fp_fma, prec | neg, n, m, a));
  return true;
}

// FCMP, FCMPE, with a register or #0.0 (opc bit 3; Rm is ignored there).
bool lift_fp_compare(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i);
  if (prec >= 2 || bits(i, 2, 0) != 0 || bits(i, 15, 14) != 0) return false;
  Slot a = operand(c, rn(i), prec);
  Slot b = bit(i, 3) ? c.c64(0) : operand(c, rm(i), prec);
  Slot r = c.b.call(Type::I32, H_fp_compare, a, b, ir::kNoSlot, uint8_t(prec | (bit(i, 4) ? kSignaling : 0)));
  c.set_flags_raw(r);
  return true;
}

// FCCMP, FCCMPE: the compare's flags if cond holds, else the immediate nzcv.
bool lift_fp_ccmp(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i);
  if (prec >= 2) return false;
  Slot holds = c.b.convert(Op::zext, Type::I64, c.cond(bits(i, 15, 12)));
  Slot a = operand(c, rn(i), prec), b = operand(c, rm(i), prec);
  const unsigned imm = prec | kConditional | (bit(i, 4) ? kSignaling : 0) | bits(i, 3, 0) << 4;
  c.set_flags_raw(c.b.call(Type::I32, H_fp_compare, a, b, holds, uint8_t(imm)));
  return true;
}

// FCSEL: a bit copy, no exceptions.
bool lift_fp_csel(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i);
  if (prec >= 2) return false;
  Slot a = operand(c, rn(i), prec), b = operand(c, rm(i), prec);
  set_scalar(c, rd(i), c.b.select(c.cond(bits(i, 15, 12)), a, b));
  return true;
}

// FMOV (scalar, immediate): VFPExpandImm of imm8.
bool lift_fp_imm(Ctx& c, uint32_t i) {
  const unsigned prec = ftype(i);
  if (prec == 2 || bits(i, 9, 5) != 0) return false;
  const uint64_t imm8 = bits(i, 20, 13), sign = imm8 >> 7, b6 = imm8 >> 6 & 1, low = imm8 & 0x3f;
  uint64_t v;
  switch (prec) {
    case kSingle: v = sign << 31 | (b6 ? 0x3e000000ull : 0x40000000ull) | low << 19; break;
    case kDouble: v = sign << 63 | (b6 ? 0x3fc0000000000000ull : 0x4000000000000000ull) | low << 48; break;
    default: v = sign << 15 | (b6 ? 0x3000ull : 0x4000ull) | low << 6; break;
  }
  set_scalar(c, rd(i), c.c64(v));
  return true;
}

// ---- conversions and moves between FP and general registers ----------------------------------

// The rounding of FCVT{N,P,M,Z,A}: rmode (bits 20..19) for N/P/M/Z, A by opcode 10x.
unsigned rounding_of(unsigned rmode, unsigned opcode) { return opcode >= 4 ? unsigned(kTieAway) : rmode; }

bool lift_fp_fmov_general(Ctx& c, uint32_t i) {
  const bool is64 = sf(i), to_fp = bit(i, 16);
  const unsigned prec = ftype(i), rmode = bits(i, 20, 19);
  if (rmode == 1) {  // Xd <-> Vn.D[1]
    if (!is64 || prec != 2) return false;
    if (to_fp) {
      c.b.put(off_v(rd(i), 1), c.x(rn(i)));
    } else {
      c.set_reg(rd(i), vhalf(c, rn(i), 1));
    }
    return true;
  }
  if (rmode != 0 || prec == 2 || (prec == kDouble && !is64) || (prec == kSingle && is64)) return false;
  const unsigned width = width_of(prec);
  if (to_fp) {
    Slot v = c.x(rn(i));
    set_scalar(c, rd(i), width == 64 ? v : c.b.binop(Op::and_, v, c.c64((1ull << width) - 1)));
  } else {
    c.set_reg(rd(i), operand(c, rn(i), prec));
  }
  return true;
}

// FP <-> integer (bits 20..16 = rmode:opcode): FCVT*, SCVTF/UCVTF, FMOV.
bool lift_fp_int(Ctx& c, uint32_t i) {
  const unsigned rmode = bits(i, 20, 19), opcode = bits(i, 18, 16), prec = ftype(i);
  if (opcode >= 6) return lift_fp_fmov_general(c, i);
  const bool is64 = sf(i);
  if (prec >= 2) return false;
  if (opcode == 2 || opcode == 3) {  // SCVTF, UCVTF
    if (rmode != 0) return false;
    const unsigned imm = prec | (opcode == 3 ? kFromUnsigned : 0) | (is64 ? kFromInt64 : 0);
    set_scalar(c, rd(i), call_fp(c, H_fp_from_int, imm, c.x(rn(i)), c.c64(0)));
    return true;
  }
  if (opcode >= 4 && rmode != 0) return false;
  const unsigned imm = prec | rounding_of(rmode, opcode) << 2 | (opcode & 1 ? kUnsignedInt : 0) | (is64 ? kInt64 : 0);
  c.set_reg(rd(i), call_fp(c, H_fp_to_int, imm, operand(c, rn(i), prec), c.c64(0)));
  return true;
}

// FP <-> fixed point: FCVTZS/FCVTZU and SCVTF/UCVTF with 64 - scale fraction bits.
bool lift_fp_fixed(Ctx& c, uint32_t i) {
  const unsigned rmode = bits(i, 20, 19), opcode = bits(i, 18, 16), prec = ftype(i), scale = bits(i, 15, 10);
  const bool is64 = sf(i);
  if (prec >= 2 || (!is64 && scale < 32)) return false;
  Slot fbits = c.c64(64 - scale);
  if (rmode == 3 && opcode < 2) {
    const unsigned imm = prec | kZero << 2 | (opcode ? kUnsignedInt : 0) | (is64 ? kInt64 : 0);
    c.set_reg(rd(i), call_fp(c, H_fp_to_int, imm, operand(c, rn(i), prec), fbits));
    return true;
  }
  if (rmode == 0 && (opcode == 2 || opcode == 3)) {
    const unsigned imm = prec | (opcode == 3 ? kFromUnsigned : 0) | (is64 ? kFromInt64 : 0);
    set_scalar(c, rd(i), call_fp(c, H_fp_from_int, imm, c.x(rn(i)), fbits));
    return true;
  }
  return false;
}

// The Advanced SIMD scalar forms with the operand in an FP register of the result's size:
// FCVT{N,M,A,P,Z}{S,U} Sd/Dd and SCVTF/UCVTF Sd/Dd (U, bit 29; size<1>, bit 23; sz, bit 22).
bool lift_fp_cvt_scalar_simd(Ctx& c, uint32_t i) {
  const unsigned opcode = bits(i, 16, 12), prec = bit(i, 22) ? kDouble : kSingle;
  const bool u = bit(i, 29), hi = bit(i, 23), is64 = prec == kDouble;
  Slot x = operand(c, rn(i), prec);
  if (opcode == 0x1d && !hi) {  // SCVTF, UCVTF
    const unsigned imm = prec | (u ? kFromUnsigned : 0) | (is64 ? kFromInt64 : 0);
    set_scalar(c, rd(i), call_fp(c, H_fp_from_int, imm, x, c.c64(0)));
    return true;
  }
  unsigned rounding;
  switch (opcode) {
    case 0x1a: rounding = hi ? kPosInf : kTieEven; break;  // FCVTPS / FCVTNS
    case 0x1b: rounding = hi ? kZero : kNegInf; break;     // FCVTZS / FCVTMS
    case 0x1c:
      if (hi) return false;
      rounding = kTieAway;  // FCVTAS
      break;
    default: return false;
  }
  const unsigned imm = prec | rounding << 2 | (u ? kUnsignedInt : 0) | (is64 ? kInt64 : 0);
  set_scalar(c, rd(i), call_fp(c, H_fp_to_int, imm, x, c.c64(0)));
  return true;
}

const InsnDesc kInsns[] = {
    {"fmov/fabs/fneg/fsqrt/fcvt/frint", 0xff207c00, 0x1e204000, lift_fp_1src},
    {"fcmp/fcmpe", 0xff203c00, 0x1e202000, lift_fp_compare},
    {"fmov (scalar, immediate)", 0xff201c00, 0x1e201000, lift_fp_imm},
    {"fccmp/fccmpe", 0xff200c00, 0x1e200400, lift_fp_ccmp},
    {"fmul/fdiv/fadd/fsub/fmax/fmin/fmaxnm/fminnm/fnmul", 0xff200c00, 0x1e200800, lift_fp_2src},
    {"fcsel", 0xff200c00, 0x1e200c00, lift_fp_csel},
    {"fmadd/fmsub/fnmadd/fnmsub", 0xff000000, 0x1f000000, lift_fp_3src},
    {"fcvt*/scvtf/ucvtf/fmov (general)", 0x7f20fc00, 0x1e200000, lift_fp_int},
    {"fcvtzs/fcvtzu/scvtf/ucvtf (fixed point)", 0x7f200000, 0x1e000000, lift_fp_fixed},
    // Opcodes 1101x, 11100 and 11101 with bit 23 clear only: the rest of the scalar
    // two-register FP group (FRECPE, FRSQRTE, FRECPX) is lift_simd.cpp's.
    {"fcvt{n,m,p,z}{s,u} (scalar, SIMD register)", 0xdf3fec00, 0x5e21a800, lift_fp_cvt_scalar_simd},
    {"fcvtas/fcvtau (scalar, SIMD register)", 0xdf3ffc00, 0x5e21c800, lift_fp_cvt_scalar_simd},
    {"scvtf/ucvtf (scalar, SIMD register)", 0xdfbffc00, 0x5e21d800, lift_fp_cvt_scalar_simd},
};

}  // namespace

InsnTable fp_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
