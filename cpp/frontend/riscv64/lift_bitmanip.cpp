// Bit manipulation: Zba (address generation), Zbb (basic bit manipulation), Zbs (single-bit
// instructions), as ratified (v1.0.0) and as RVA22 user programs use them. Encodings were
// cross-checked against `riscv64-linux-gnu-as -march=rv64gc_zba_zbb_zbs` + objdump.
#include <cstdint>

#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

Slot zext32(Ctx& c, unsigned r) { return c.b.convert(Op::zext, Type::I64, c.x32(r)); }

// ---- Zba ---------------------------------------------------------------------------------------

// shNadd: (rs1 << N) + rs2; the .uw forms zero-extend the low word of rs1 first.
template <unsigned N, bool Uw>
bool lift_shadd(Ctx& c, uint32_t i) {
  Slot a = Uw ? zext32(c, rs1(i)) : c.x(rs1(i));
  if (N) a = c.b.binop(Op::shl, a, c.c64(N));
  c.set_x(rd(i), c.b.binop(Op::add, a, c.x(rs2(i))));
  return true;
}

bool lift_slli_uw(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(Op::shl, zext32(c, rs1(i)), c.c64((i >> 20) & 63)));
  return true;
}

// ---- Zbb ---------------------------------------------------------------------------------------

template <Op O>
bool lift_rr(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(O, c.x(rs1(i)), c.x(rs2(i))));
  return true;
}

template <Op O>
bool lift_rr_w(Ctx& c, uint32_t i) {
  c.set_x_sext32(rd(i), c.b.binop(O, c.x32(rs1(i)), c.x32(rs2(i))));
  return true;
}

template <Op O>
bool lift_unary(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.unop(O, c.x(rs1(i))));
  return true;
}

// clzw/ctzw/cpopw: counted on the low word; the result (0..32) is zero-extended.
template <Op O>
bool lift_unary_w(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.convert(Op::zext, Type::I64, c.b.unop(O, c.x32(rs1(i)))));
  return true;
}

// sext.b / sext.h / zext.h: keep the low byte/half and extend it.
template <Type Narrow, Op Extend>
bool lift_extend(Ctx& c, uint32_t i) {
  Slot low = c.b.convert(Op::trunc, Narrow, c.x(rs1(i)));
  c.set_x(rd(i), c.b.convert(Extend, Type::I64, low));
  return true;
}

bool lift_rori(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(Op::rotr, c.x(rs1(i)), c.c64((i >> 20) & 63)));
  return true;
}

bool lift_roriw(Ctx& c, uint32_t i) {
  c.set_x_sext32(rd(i), c.b.binop(Op::rotr, c.x32(rs1(i)), c.c32((i >> 20) & 31)));
  return true;
}

// ---- Zbs ---------------------------------------------------------------------------------------

// The single-bit mask 1 << (index mod 64).
Slot bit(Ctx& c, Slot index) { return c.b.binop(Op::shl, c.c64(1), index); }

// bclr / bset / binv: rs1 combined with the bit mask (andn clears, or sets, xor inverts).
template <Op Combine>
bool lift_bit_rr(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(Combine, c.x(rs1(i)), bit(c, c.x(rs2(i)))));
  return true;
}

template <Op Combine>
bool lift_bit_imm(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(Combine, c.x(rs1(i)), c.c64(1ull << ((i >> 20) & 63))));
  return true;
}

bool lift_bext(Ctx& c, uint32_t i) {
  Slot shifted = c.b.binop(Op::lshr, c.x(rs1(i)), c.x(rs2(i)));
  c.set_x(rd(i), c.b.binop(Op::and_, shifted, c.c64(1)));
  return true;
}

bool lift_bexti(Ctx& c, uint32_t i) {
  Slot shifted = c.b.binop(Op::lshr, c.x(rs1(i)), c.c64((i >> 20) & 63));
  c.set_x(rd(i), c.b.binop(Op::and_, shifted, c.c64(1)));
  return true;
}

constexpr uint32_t kF7 = 0xfe00707f;     // R-type: opcode + funct3 + funct7
constexpr uint32_t kF6 = 0xfc00707f;     // RV64 immediate shifts: 6-bit shamt free
constexpr uint32_t kUnary = 0xfff0707f;  // funct12 fixed (rs2 field selects the operation)

const InsnDesc kInsns[] = {
    // Zba
    {"sh1add", kF7, 0x20002033, lift_shadd<1, false>},
    {"sh2add", kF7, 0x20004033, lift_shadd<2, false>},
    {"sh3add", kF7, 0x20006033, lift_shadd<3, false>},
    {"add.uw", kF7, 0x0800003b, lift_shadd<0, true>},
    {"sh1add.uw", kF7, 0x2000203b, lift_shadd<1, true>},
    {"sh2add.uw", kF7, 0x2000403b, lift_shadd<2, true>},
    {"sh3add.uw", kF7, 0x2000603b, lift_shadd<3, true>},
    {"slli.uw", kF6, 0x0800101b, lift_slli_uw},

    // Zbb
    {"andn", kF7, 0x40007033, lift_rr<Op::andn>},
    {"orn", kF7, 0x40006033, lift_rr<Op::orn>},
    {"xnor", kF7, 0x40004033, lift_rr<Op::xnor>},
    {"clz", kUnary, 0x60001013, lift_unary<Op::clz>},
    {"clzw", kUnary, 0x6000101b, lift_unary_w<Op::clz>},
    {"ctz", kUnary, 0x60101013, lift_unary<Op::ctz>},
    {"ctzw", kUnary, 0x6010101b, lift_unary_w<Op::ctz>},
    {"cpop", kUnary, 0x60201013, lift_unary<Op::popcnt>},
    {"cpopw", kUnary, 0x6020101b, lift_unary_w<Op::popcnt>},
    {"max", kF7, 0x0a006033, lift_rr<Op::maxs>},
    {"maxu", kF7, 0x0a007033, lift_rr<Op::maxu>},
    {"min", kF7, 0x0a004033, lift_rr<Op::mins>},
    {"minu", kF7, 0x0a005033, lift_rr<Op::minu>},
    {"sext.b", kUnary, 0x60401013, lift_extend<Type::I8, Op::sext>},
    {"sext.h", kUnary, 0x60501013, lift_extend<Type::I16, Op::sext>},
    {"zext.h", kUnary, 0x0800403b, lift_extend<Type::I16, Op::zext>},
    {"rol", kF7, 0x60001033, lift_rr<Op::rotl>},
    {"rolw", kF7, 0x6000103b, lift_rr_w<Op::rotl>},
    {"ror", kF7, 0x60005033, lift_rr<Op::rotr>},
    {"rorw", kF7, 0x6000503b, lift_rr_w<Op::rotr>},
    {"rori", kF6, 0x60005013, lift_rori},
    {"roriw", kF7, 0x6000501b, lift_roriw},
    {"orc.b", kUnary, 0x28705013, lift_unary<Op::orcb>},
    {"rev8", kUnary, 0x6b805013, lift_unary<Op::bswap>},

    // Zbs
    {"bclr", kF7, 0x48001033, lift_bit_rr<Op::andn>},
    {"bclri", kF6, 0x48001013, lift_bit_imm<Op::andn>},
    {"bext", kF7, 0x48005033, lift_bext},
    {"bexti", kF6, 0x48005013, lift_bexti},
    {"binv", kF7, 0x68001033, lift_bit_rr<Op::xor_>},
    {"binvi", kF6, 0x68001013, lift_bit_imm<Op::xor_>},
    {"bset", kF7, 0x28001033, lift_bit_rr<Op::or_>},
    {"bseti", kF6, 0x28001013, lift_bit_imm<Op::or_>},
};

}  // namespace

InsnTable bitmanip_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::rv64
