// F and D extensions: single- and double-precision floating point.
//
// Loads, stores, sign injection and raw moves are bit manipulation and are lifted to IR directly
// (NaN-boxing included). Everything that rounds, compares or classifies calls one helper per
// operation (helpers_fp.def), which applies RISC-V's NaN, rounding-mode and flag rules; the
// helper's imm carries the rm field (bits 0..2) and the precision (bit 3). A static rm of 5 or 6
// is reserved and rejected here; a dynamic rm is checked against frm by the helper at run time.
#include <cstdint>

#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

constexpr uint64_t kBoxBits = 0xffffffff00000000ull;           // upper half of a boxed single
constexpr uint64_t kBoxedCanonicalNaN = 0xffffffff7fc00000ull;  // what an unboxed operand reads as
constexpr uint8_t kImmDouble = 8;                               // helpers_fp.def: precision bit

Slot get_f(Ctx& c, unsigned r) { return c.b.get(Type::I64, off_f(r)); }
void put_f(Ctx& c, unsigned r, Slot v) { c.b.put(off_f(r), v); }

// A single-precision operand as a properly boxed register value: anything not boxed reads as the
// canonical NaN.
Slot get_f_boxed(Ctx& c, unsigned r) {
  Slot v = get_f(c, r);
  Slot boxed = c.b.binop(Op::eq, c.b.binop(Op::lshr, v, c.c64(32)), c.c64(0xffffffffu));
  return c.b.select(boxed, v, c.c64(kBoxedCanonicalNaN));
}

bool rm_reserved(uint32_t i) { return funct3(i) == 5 || funct3(i) == 6; }
uint8_t imm_rm(uint32_t i, bool dbl) { return uint8_t(funct3(i) | (dbl ? kImmDouble : 0)); }
uint8_t imm_prec(bool dbl) { return dbl ? kImmDouble : 0; }

// ---- loads and stores ------------------------------------------------------------------------

template <bool Dbl>
bool lift_fload(Ctx& c, uint32_t i) {
  Slot addr = c.b.binop(Op::add, c.x(rs1(i)), c.c64(uint64_t(imm_i(i))));
  if (Dbl) {
    put_f(c, rd(i), c.b.load(Type::I64, addr));
  } else {
    // flw NaN-boxes the loaded word.
    put_f(c, rd(i), c.b.binop(Op::or_, c.b.load(Type::I64, addr, 32), c.c64(kBoxBits)));
  }
  return true;
}

template <bool Dbl>
bool lift_fstore(Ctx& c, uint32_t i) {
  // fsw stores the low word as is, boxed or not.
  Slot addr = c.b.binop(Op::add, c.x(rs1(i)), c.c64(uint64_t(imm_s(i))));
  c.b.store(addr, get_f(c, rs2(i)), Dbl ? 64 : 32);
  return true;
}

// ---- helper-based operations -----------------------------------------------------------------

// rd(f) = H(rs1, rs2) with the rounding mode of the instruction.
template <Helper H, bool Dbl>
bool lift_binary_rm(Ctx& c, uint32_t i) {
  if (rm_reserved(i)) return false;
  put_f(c, rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), get_f(c, rs2(i)), ir::kNoSlot, imm_rm(i, Dbl)));
  return true;
}

// rd(f) = H(rs1, rs2) for operations without a rounding mode (fmin, fmax).
template <Helper H, bool Dbl>
bool lift_binary(Ctx& c, uint32_t i) {
  put_f(c, rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), get_f(c, rs2(i)), ir::kNoSlot, imm_prec(Dbl)));
  return true;
}

// rd(f) = H(rs1(f)) with a rounding mode (fsqrt, fcvt.s.d, fcvt.d.s).
template <Helper H, bool Dbl>
bool lift_unary_rm(Ctx& c, uint32_t i) {
  if (rm_reserved(i)) return false;
  put_f(c, rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), ir::kNoSlot, ir::kNoSlot, imm_rm(i, Dbl)));
  return true;
}

// rd(f) = H(rs1, rs2, rs3), one rounding.
template <Helper H, bool Dbl>
bool lift_fused(Ctx& c, uint32_t i) {
  if (rm_reserved(i)) return false;
  put_f(c, rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), get_f(c, rs2(i)), get_f(c, rs3(i)), imm_rm(i, Dbl)));
  return true;
}

// rd(x) = H(rs1(f)): fcvt to an integer. The call is emitted even for rd = x0: flags and the
// rounding-mode check still happen.
template <Helper H, bool Dbl>
bool lift_to_int(Ctx& c, uint32_t i) {
  if (rm_reserved(i)) return false;
  c.set_x(rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), ir::kNoSlot, ir::kNoSlot, imm_rm(i, Dbl)));
  return true;
}

// rd(f) = H(rs1(x)): fcvt from an integer.
template <Helper H, bool Dbl>
bool lift_from_int(Ctx& c, uint32_t i) {
  if (rm_reserved(i)) return false;
  put_f(c, rd(i), c.b.call(Type::I64, H, c.x(rs1(i)), ir::kNoSlot, ir::kNoSlot, imm_rm(i, Dbl)));
  return true;
}

// rd(x) = H(rs1(f), rs2(f)): comparisons (flags even for rd = x0).
template <Helper H, bool Dbl>
bool lift_compare(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.call(Type::I64, H, get_f(c, rs1(i)), get_f(c, rs2(i)), ir::kNoSlot, imm_prec(Dbl)));
  return true;
}

template <bool Dbl>
bool lift_fclass(Ctx& c, uint32_t i) {
  if (rd(i) == 0) return true;  // no flags, no other effect
  c.set_x(rd(i), c.b.call(Type::I64, H_fclass, get_f(c, rs1(i)), ir::kNoSlot, ir::kNoSlot, imm_prec(Dbl)));
  return true;
}

// ---- sign injection and moves (pure bit manipulation) ----------------------------------------

enum class SignOp { Copy, Negate, Xor };

template <SignOp S, bool Dbl>
bool lift_fsgnj(Ctx& c, uint32_t i) {
  Slot a = Dbl ? get_f(c, rs1(i)) : get_f_boxed(c, rs1(i));
  Slot b = Dbl ? get_f(c, rs2(i)) : get_f_boxed(c, rs2(i));
  Slot sign = c.c64(Dbl ? 1ull << 63 : 1ull << 31);
  // Operating on the whole boxed register keeps the upper 32 bits of a single all ones.
  Slot r;
  switch (S) {
    case SignOp::Copy:
      r = c.b.binop(Op::or_, c.b.binop(Op::andn, a, sign), c.b.binop(Op::and_, b, sign));
      break;
    case SignOp::Negate:
      r = c.b.binop(Op::or_, c.b.binop(Op::andn, a, sign), c.b.binop(Op::andn, sign, b));
      break;
    case SignOp::Xor:
      r = c.b.binop(Op::xor_, a, c.b.binop(Op::and_, b, sign));
      break;
  }
  put_f(c, rd(i), r);
  return true;
}

// fmv.x.w: the low word, sign-extended (whatever the boxing).
bool lift_fmv_x_w(Ctx& c, uint32_t i) {
  c.set_x_sext32(rd(i), c.b.convert(Op::trunc, Type::I32, get_f(c, rs1(i))));
  return true;
}

// fmv.w.x: the low word of rs1, boxed (or-ing the box bits replaces the upper half).
bool lift_fmv_w_x(Ctx& c, uint32_t i) {
  put_f(c, rd(i), c.b.binop(Op::or_, c.x(rs1(i)), c.c64(kBoxBits)));
  return true;
}

bool lift_fmv_x_d(Ctx& c, uint32_t i) {
  c.set_x(rd(i), get_f(c, rs1(i)));
  return true;
}

bool lift_fmv_d_x(Ctx& c, uint32_t i) {
  put_f(c, rd(i), c.x(rs1(i)));
  return true;
}

// ---- the table -------------------------------------------------------------------------------

constexpr uint32_t kOpFp = 0x53;
constexpr uint32_t kMaskFmtRm = 0xfe00007f;       // funct7 + opcode; rm free
constexpr uint32_t kMaskFmtRs2Rm = 0xfff0007f;    // funct7 + rs2 + opcode; rm free
constexpr uint32_t kMaskFmtF3 = 0xfe00707f;       // funct7 + funct3 + opcode
constexpr uint32_t kMaskFmtRs2F3 = 0xfff0707f;    // funct7 + rs2 + funct3 + opcode
constexpr uint32_t kMaskLoadStore = 0x0000707f;   // funct3 + opcode
constexpr uint32_t kMaskFused = 0x0600007f;       // fmt + opcode; rm free

// funct7 of an OP-FP instruction is its operation (upper 5 bits) and fmt (low 2 bits: 0 S, 1 D).
constexpr uint32_t op_fp(uint32_t funct5, bool dbl, uint32_t rs2 = 0, uint32_t f3 = 0) {
  return (funct5 << 27) | (uint32_t(dbl) << 25) | (rs2 << 20) | (f3 << 12) | kOpFp;
}
constexpr uint32_t fused(uint32_t opcode, bool dbl) { return (uint32_t(dbl) << 25) | opcode; }

constexpr bool S = false, D = true;

const InsnDesc kInsns[] = {
    {"flw", kMaskLoadStore, 0x2007, lift_fload<S>},
    {"fld", kMaskLoadStore, 0x3007, lift_fload<D>},
    {"fsw", kMaskLoadStore, 0x2027, lift_fstore<S>},
    {"fsd", kMaskLoadStore, 0x3027, lift_fstore<D>},

    {"fmadd.s", kMaskFused, fused(0x43, S), lift_fused<H_fmadd, S>},
    {"fmsub.s", kMaskFused, fused(0x47, S), lift_fused<H_fmsub, S>},
    {"fnmsub.s", kMaskFused, fused(0x4b, S), lift_fused<H_fnmsub, S>},
    {"fnmadd.s", kMaskFused, fused(0x4f, S), lift_fused<H_fnmadd, S>},
    {"fmadd.d", kMaskFused, fused(0x43, D), lift_fused<H_fmadd, D>},
    {"fmsub.d", kMaskFused, fused(0x47, D), lift_fused<H_fmsub, D>},
    {"fnmsub.d", kMaskFused, fused(0x4b, D), lift_fused<H_fnmsub, D>},
    {"fnmadd.d", kMaskFused, fused(0x4f, D), lift_fused<H_fnmadd, D>},

    {"fadd.s", kMaskFmtRm, op_fp(0b00000, S), lift_binary_rm<H_fadd, S>},
    {"fsub.s", kMaskFmtRm, op_fp(0b00001, S), lift_binary_rm<H_fsub, S>},
    {"fmul.s", kMaskFmtRm, op_fp(0b00010, S), lift_binary_rm<H_fmul, S>},
    {"fdiv.s", kMaskFmtRm, op_fp(0b00011, S), lift_binary_rm<H_fdiv, S>},
    {"fsqrt.s", kMaskFmtRs2Rm, op_fp(0b01011, S), lift_unary_rm<H_fsqrt, S>},
    {"fadd.d", kMaskFmtRm, op_fp(0b00000, D), lift_binary_rm<H_fadd, D>},
    {"fsub.d", kMaskFmtRm, op_fp(0b00001, D), lift_binary_rm<H_fsub, D>},
    {"fmul.d", kMaskFmtRm, op_fp(0b00010, D), lift_binary_rm<H_fmul, D>},
    {"fdiv.d", kMaskFmtRm, op_fp(0b00011, D), lift_binary_rm<H_fdiv, D>},
    {"fsqrt.d", kMaskFmtRs2Rm, op_fp(0b01011, D), lift_unary_rm<H_fsqrt, D>},

    {"fsgnj.s", kMaskFmtF3, op_fp(0b00100, S, 0, 0), lift_fsgnj<SignOp::Copy, S>},
    {"fsgnjn.s", kMaskFmtF3, op_fp(0b00100, S, 0, 1), lift_fsgnj<SignOp::Negate, S>},
    {"fsgnjx.s", kMaskFmtF3, op_fp(0b00100, S, 0, 2), lift_fsgnj<SignOp::Xor, S>},
    {"fsgnj.d", kMaskFmtF3, op_fp(0b00100, D, 0, 0), lift_fsgnj<SignOp::Copy, D>},
    {"fsgnjn.d", kMaskFmtF3, op_fp(0b00100, D, 0, 1), lift_fsgnj<SignOp::Negate, D>},
    {"fsgnjx.d", kMaskFmtF3, op_fp(0b00100, D, 0, 2), lift_fsgnj<SignOp::Xor, D>},
    {"fmin.s", kMaskFmtF3, op_fp(0b00101, S, 0, 0), lift_binary<H_fmin, S>},
    {"fmax.s", kMaskFmtF3, op_fp(0b00101, S, 0, 1), lift_binary<H_fmax, S>},
    {"fmin.d", kMaskFmtF3, op_fp(0b00101, D, 0, 0), lift_binary<H_fmin, D>},
    {"fmax.d", kMaskFmtF3, op_fp(0b00101, D, 0, 1), lift_binary<H_fmax, D>},

    {"fcvt.s.d", kMaskFmtRs2Rm, op_fp(0b01000, S, 1), lift_unary_rm<H_fcvt_s_d, S>},
    {"fcvt.d.s", kMaskFmtRs2Rm, op_fp(0b01000, D, 0), lift_unary_rm<H_fcvt_d_s, D>},

    {"fle.s", kMaskFmtF3, op_fp(0b10100, S, 0, 0), lift_compare<H_fle, S>},
    {"flt.s", kMaskFmtF3, op_fp(0b10100, S, 0, 1), lift_compare<H_flt, S>},
    {"feq.s", kMaskFmtF3, op_fp(0b10100, S, 0, 2), lift_compare<H_feq, S>},
    {"fle.d", kMaskFmtF3, op_fp(0b10100, D, 0, 0), lift_compare<H_fle, D>},
    {"flt.d", kMaskFmtF3, op_fp(0b10100, D, 0, 1), lift_compare<H_flt, D>},
    {"feq.d", kMaskFmtF3, op_fp(0b10100, D, 0, 2), lift_compare<H_feq, D>},

    {"fcvt.w.s", kMaskFmtRs2Rm, op_fp(0b11000, S, 0), lift_to_int<H_fcvt_w, S>},
    {"fcvt.wu.s", kMaskFmtRs2Rm, op_fp(0b11000, S, 1), lift_to_int<H_fcvt_wu, S>},
    {"fcvt.l.s", kMaskFmtRs2Rm, op_fp(0b11000, S, 2), lift_to_int<H_fcvt_l, S>},
    {"fcvt.lu.s", kMaskFmtRs2Rm, op_fp(0b11000, S, 3), lift_to_int<H_fcvt_lu, S>},
    {"fcvt.w.d", kMaskFmtRs2Rm, op_fp(0b11000, D, 0), lift_to_int<H_fcvt_w, D>},
    {"fcvt.wu.d", kMaskFmtRs2Rm, op_fp(0b11000, D, 1), lift_to_int<H_fcvt_wu, D>},
    {"fcvt.l.d", kMaskFmtRs2Rm, op_fp(0b11000, D, 2), lift_to_int<H_fcvt_l, D>},
    {"fcvt.lu.d", kMaskFmtRs2Rm, op_fp(0b11000, D, 3), lift_to_int<H_fcvt_lu, D>},

    {"fcvt.s.w", kMaskFmtRs2Rm, op_fp(0b11010, S, 0), lift_from_int<H_fcvt_from_w, S>},
    {"fcvt.s.wu", kMaskFmtRs2Rm, op_fp(0b11010, S, 1), lift_from_int<H_fcvt_from_wu, S>},
    {"fcvt.s.l", kMaskFmtRs2Rm, op_fp(0b11010, S, 2), lift_from_int<H_fcvt_from_l, S>},
    {"fcvt.s.lu", kMaskFmtRs2Rm, op_fp(0b11010, S, 3), lift_from_int<H_fcvt_from_lu, S>},
    {"fcvt.d.w", kMaskFmtRs2Rm, op_fp(0b11010, D, 0), lift_from_int<H_fcvt_from_w, D>},
    {"fcvt.d.wu", kMaskFmtRs2Rm, op_fp(0b11010, D, 1), lift_from_int<H_fcvt_from_wu, D>},
    {"fcvt.d.l", kMaskFmtRs2Rm, op_fp(0b11010, D, 2), lift_from_int<H_fcvt_from_l, D>},
    {"fcvt.d.lu", kMaskFmtRs2Rm, op_fp(0b11010, D, 3), lift_from_int<H_fcvt_from_lu, D>},

    {"fmv.x.w", kMaskFmtRs2F3, op_fp(0b11100, S, 0, 0), lift_fmv_x_w},
    {"fclass.s", kMaskFmtRs2F3, op_fp(0b11100, S, 0, 1), lift_fclass<S>},
    {"fmv.x.d", kMaskFmtRs2F3, op_fp(0b11100, D, 0, 0), lift_fmv_x_d},
    {"fclass.d", kMaskFmtRs2F3, op_fp(0b11100, D, 0, 1), lift_fclass<D>},
    {"fmv.w.x", kMaskFmtRs2F3, op_fp(0b11110, S, 0, 0), lift_fmv_w_x},
    {"fmv.d.x", kMaskFmtRs2F3, op_fp(0b11110, D, 0, 0), lift_fmv_d_x},
};

}  // namespace

InsnTable fp_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::rv64
