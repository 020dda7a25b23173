// A64 data processing (immediate): add/sub, logical, move wide, pc-relative addressing, bitfield
// and extract. Immediates are decoded at lift time, so each instruction is one or two IR ops on
// constants. The sf=0 forms compute in I32 slots: their results zero-extend into the X register.
#include <cstdint>

#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

uint64_t ones(unsigned n) { return n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1; }
unsigned width_of(bool is64) { return is64 ? 64 : 32; }

// ---- add/sub (immediate) ----------------------------------------------------------------------

// ADD/SUB read and write sp for register 31 (so mov to/from sp and `add x0, sp, #16` work); the
// flag-setting ADDS/SUBS still read sp but write xzr (cmp, cmn).
bool lift_addsub_imm(Ctx& c, uint32_t i) {
  const bool is64 = sf(i), sub = bit(i, 30), set_flags = bit(i, 29);
  const uint64_t imm = uint64_t(bits(i, 21, 10)) << (bit(i, 22) ? 12 : 0);
  Slot a = c.reg_sp(is64, rn(i)), b = c.konst(is64, imm);
  Slot r = c.b.binop(sub ? Op::sub : Op::add, a, b);
  if (set_flags) {
    sub ? c.set_flags_sub(a, b, r) : c.set_flags_add(a, b, r);
    c.set_reg(rd(i), r);
  } else {
    c.set_reg_sp(rd(i), r);
  }
  return true;
}

// ---- logical (immediate) ----------------------------------------------------------------------

// DecodeBitMasks of the Arm ARM for logical immediates: an element of 2, 4, ..., 64 bits holding
// a run of imms+1 ones rotated right by immr, replicated over the register. Returns false for the
// reserved combinations (no element size, or an all-ones element).
bool decode_logical_imm(bool n, unsigned imms, unsigned immr, unsigned datasize, uint64_t& mask) {
  const unsigned combined = (unsigned(n) << 6) | (~imms & 0x3f);
  if (combined == 0) return false;
  unsigned len = 6;
  while (!(combined >> len & 1)) --len;
  if (len < 1) return false;
  const unsigned esize = 1u << len, levels = esize - 1;
  const unsigned s = imms & levels, r = immr & levels;
  if (s == levels) return false;
  uint64_t elem = ones(s + 1);
  if (r) elem = ((elem >> r) | (elem << (esize - r))) & ones(esize);
  uint64_t value = 0;
  for (unsigned pos = 0; pos < datasize; pos += esize) value |= elem << pos;
  mask = value & ones(datasize);
  return true;
}

// AND/ORR/EOR write sp for register 31 (`mov sp, #imm`-like code and stack alignment: and sp,
// x0, #~15); ANDS writes xzr (tst). Rn is always xzr for 31 (mov x0, #bitmask is orr x0, xzr).
bool lift_logical_imm(Ctx& c, uint32_t i) {
  const bool is64 = sf(i), n = bit(i, 22);
  if (!is64 && n) return false;
  uint64_t imm;
  if (!decode_logical_imm(n, bits(i, 15, 10), bits(i, 21, 16), width_of(is64), imm)) return false;
  static constexpr Op kOps[] = {Op::and_, Op::or_, Op::xor_, Op::and_};
  const unsigned opc = bits(i, 30, 29);
  Slot r = c.b.binop(kOps[opc], c.reg(is64, rn(i)), c.konst(is64, imm));
  if (opc == 3) {  // ands
    c.set_flags_logic(r);
    c.set_reg(rd(i), r);
  } else {
    c.set_reg_sp(rd(i), r);
  }
  return true;
}

// ---- move wide --------------------------------------------------------------------------------

bool lift_move_wide(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned opc = bits(i, 30, 29), hw = bits(i, 22, 21);
  if (opc == 1 || (!is64 && hw >= 2)) return false;
  const unsigned shift = 16 * hw;
  const uint64_t imm = uint64_t(bits(i, 20, 5)) << shift;
  Slot r;
  switch (opc) {
    case 0: r = c.konst(is64, ~imm); break;  // movn
    case 2: r = c.konst(is64, imm); break;   // movz
    default: {                               // movk: replace one halfword, keep the rest
      Slot kept = c.b.binop(Op::and_, c.reg(is64, rd(i)), c.konst(is64, ~(uint64_t(0xffff) << shift)));
      r = c.b.binop(Op::or_, kept, c.konst(is64, imm));
      break;
    }
  }
  c.set_reg(rd(i), r);
  return true;
}

// ---- pc-relative addressing -------------------------------------------------------------------

bool lift_adr(Ctx& c, uint32_t i) {
  const int64_t offset = sext((uint64_t(bits(i, 23, 5)) << 2) | bits(i, 30, 29), 21);
  const uint64_t value = bit(i, 31) ? (c.pc & ~uint64_t(0xfff)) + (uint64_t(offset) << 12)  // adrp
                                    : c.pc + uint64_t(offset);                            // adr
  c.set_reg(rd(i), c.c64(value));
  return true;
}

// ---- bitfield ---------------------------------------------------------------------------------

// The field SBFM/UBFM extract, in place: with s >= r (sbfx/ubfx, asr/lsr, sxt*/uxt*) bits s..r
// of src moved down to bit 0; with s < r (sbfiz/ubfiz, lsl) bits s..0 moved up to bit width-r;
// the rest sign- or zero-filled. One left shift puts bit s at the top, one right shift (arithmetic
// for SBFM) brings the field where it belongs and fills around it.
Slot extract_field(Ctx& c, bool is64, Slot src, unsigned r, unsigned s, bool sign) {
  const unsigned width = width_of(is64);
  // The low bits as they are (uxtb, uxth, ubfx #0) or sign-extended (sxtb, sxth, sxtw): one op
  // or an extension the backends have instructions for.
  if (r == 0 && s < width - 1) {
    if (!sign) return c.b.binop(Op::and_, src, c.konst(is64, ones(s + 1)));
    const Type narrow = s == 7 ? Type::I8 : s == 15 ? Type::I16 : s == 31 ? Type::I32 : Type::None;
    if (narrow != Type::None) return c.b.convert(Op::sext, c.ty(is64), c.b.convert(Op::trunc, narrow, src));
  }
  const unsigned up = width - 1 - s;
  const unsigned down = s >= r ? up + r : r - 1 - s;
  Slot t = up ? c.b.binop(Op::shl, src, c.konst(is64, up)) : src;
  return down ? c.b.binop(sign ? Op::ashr : Op::lshr, t, c.konst(is64, down)) : t;
}

// The bits of the destination extract_field's field occupies (what BFM replaces).
uint64_t field_mask(unsigned width, unsigned r, unsigned s) {
  return s >= r ? ones(s - r + 1) : ones(s + 1) << (width - r);
}

// SBFM (opc 0), BFM (opc 1), UBFM (opc 2): every shift-by-immediate, extend and bitfield alias.
bool lift_bitfield(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned opc = bits(i, 30, 29), immr = bits(i, 21, 16), imms = bits(i, 15, 10);
  if (opc == 3 || bit(i, 22) != is64) return false;
  if (!is64 && (immr >= 32 || imms >= 32)) return false;
  Slot src = c.reg(is64, rn(i));
  if (opc != 1) {
    c.set_reg(rd(i), extract_field(c, is64, src, immr, imms, opc == 0));
    return true;
  }
  // bfi/bfxil/bfc: the field replaces its bits of Rd, the other bits stay.
  Slot field = extract_field(c, is64, src, immr, imms, false);
  Slot kept = c.b.binop(Op::and_, c.reg(is64, rd(i)), c.konst(is64, ~field_mask(width_of(is64), immr, imms)));
  c.set_reg(rd(i), c.b.binop(Op::or_, kept, field));
  return true;
}

// ---- extract ----------------------------------------------------------------------------------

// EXTR: bits lsb+width-1..lsb of Rn:Rm (ror #imm when Rn = Rm).
bool lift_extr(Ctx& c, uint32_t i) {
  const bool is64 = sf(i);
  const unsigned lsb = bits(i, 15, 10);
  if (bit(i, 22) != is64 || (!is64 && lsb >= 32)) return false;
  Slot low = c.reg(is64, rm(i));
  Slot r;
  if (lsb == 0) {
    r = low;
  } else if (rn(i) == rm(i)) {
    r = c.b.binop(Op::rotr, low, c.konst(is64, lsb));
  } else {
    Slot high = c.b.binop(Op::shl, c.reg(is64, rn(i)), c.konst(is64, width_of(is64) - lsb));
    r = c.b.binop(Op::or_, high, c.b.binop(Op::lshr, low, c.konst(is64, lsb)));
  }
  c.set_reg(rd(i), r);
  return true;
}

const InsnDesc kInsns[] = {
    {"adr/adrp", 0x1f000000, 0x10000000, lift_adr},
    {"add/sub (imm)", 0x1f800000, 0x11000000, lift_addsub_imm},
    {"logical (imm)", 0x1f800000, 0x12000000, lift_logical_imm},
    {"move wide", 0x1f800000, 0x12800000, lift_move_wide},
    {"bitfield", 0x1f800000, 0x13000000, lift_bitfield},
    {"extr", 0x7fa00000, 0x13800000, lift_extr},
};

}  // namespace

InsnTable dp_imm_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
