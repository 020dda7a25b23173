// x86-64 bit tests (bt, bts, btr, btc), bit scans (bsf, bsr), popcnt, lzcnt, tzcnt, setcc, cmovcc.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// An I1 as the RFLAGS bit `bit` of an I32 (0 if clear).
Slot flag(Ctx& c, Slot cond, uint32_t bit) { return c.b.select(cond, c.c32(bit), c.c32(0)); }
Slot is_zero(Ctx& c, Slot v) { return c.b.binop(Op::eq, v, c.konst(c.b.type_of(v), 0)); }

// ---- bt, bts, btr, btc ------------------------------------------------------------------------

enum class BitOp { Test, Set, Reset, Complement };

// Where the bit lives: the operand's value (for memory: the w-bit unit holding the bit, and its
// address) and the bit's position in it.
struct BitPlace {
  Slot value;
  Slot addr;  // kNoSlot for a register
  Slot pos;   // of the value's type
};

// A register base, or an immediate offset, takes the offset modulo the width. A memory base with a
// register offset takes it as a signed bit index from the operand's address, reaching any unit
// below or above it: the unit at address + (offset >> log2(w)) * w/8 (an arithmetic shift).
BitPlace bit_place(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  const ZydisDecodedOperand& base = c.in.op(0);
  const ZydisDecodedOperand& off = c.in.op(1);
  if (off.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
    Slot pos = c.konst(t, off.imm.value.u & (w - 1));
    if (base.type != ZYDIS_OPERAND_TYPE_MEMORY) return {c.read(0), ir::kNoSlot, pos};
    Slot addr = c.address(0);
    return {c.b.load(t, addr), addr, pos};
  }
  Slot index = c.narrow(c.read(1), t);
  Slot pos = c.b.binop(Op::and_, index, c.konst(t, w - 1));
  if (base.type != ZYDIS_OPERAND_TYPE_MEMORY) return {c.read(0), ir::kNoSlot, pos};
  const unsigned log2w = w == 16 ? 4 : w == 32 ? 5 : 6;
  Slot unit = c.b.binop(Op::ashr, c.sext64(index), c.c64(log2w));
  Slot addr = c.b.binop(Op::add, c.address(0), c.b.binop(Op::shl, unit, c.c64(log2w - 3)));
  return {c.b.load(t, addr), addr, pos};
}

// CF = the bit, before any change; ZF is kept; OF SF AF PF are undefined (kept as well).
template <BitOp kOp>
bool lift_bit_test(Ctx& c) {
  const Type t = c.op_type(0);
  BitPlace p = bit_place(c);
  Slot mask = c.b.binop(Op::shl, c.konst(t, 1), p.pos);
  Slot bit = c.b.binop(Op::ne, c.b.binop(Op::and_, p.value, mask), c.konst(t, 0));
  if (kOp != BitOp::Test) {
    Slot r = kOp == BitOp::Set     ? c.b.binop(Op::or_, p.value, mask)
             : kOp == BitOp::Reset ? c.b.binop(Op::andn, p.value, mask)
                                   : c.b.binop(Op::xor_, p.value, mask);
    if (p.addr != ir::kNoSlot) c.b.store(p.addr, r);
    else c.write(0, r);
  }
  Slot kept = c.b.binop(Op::and_, c.arith_flags(), c.c32(~kCF));
  c.set_flags_raw(c.b.binop(Op::or_, kept, flag(c, bit, kCF)));
  return true;
}

// ---- bsf, bsr, popcnt, lzcnt, tzcnt ------------------------------------------------------------

// The number of the register operand 0 names (for keeping all 64 bits of it).
unsigned gpr_number(ZydisRegister r) {
  return unsigned(ZydisRegisterGetId(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r)));
}

// bsf, bsr: the index of the lowest or highest set bit. A zero source leaves the destination
// unchanged, all 64 bits of it even for 32-bit operands (AMD documents it; Intel does it), and
// sets ZF; the other flags are undefined (0 here).
template <bool kForward>
bool lift_bit_scan(Ctx& c) {
  const Type t = c.op_type(0);
  const unsigned w = c.in.op_bits(0);
  Slot src = c.read(1);
  Slot found = kForward ? c.b.unop(Op::ctz, src) : c.b.binop(Op::sub, c.konst(t, w - 1), c.b.unop(Op::clz, src));
  Slot zero = is_zero(c, src);
  if (w == 32) {
    const unsigned n = gpr_number(c.in.op(0).reg.value);
    c.set_gpr(n, c.b.select(zero, c.gpr(n), c.zext64(found)));
  } else {
    c.write(0, c.b.select(zero, c.read(0), found));
  }
  c.set_flags_raw(flag(c, zero, kZF));
  return true;
}

// popcnt: ZF = source is 0, the other flags cleared.
bool lift_popcnt(Ctx& c) {
  Slot src = c.read(1);
  c.write(0, c.b.unop(Op::popcnt, src));
  c.set_flags_raw(flag(c, is_zero(c, src), kZF));
  return true;
}

// lzcnt, tzcnt: the width for a zero source; CF = source is 0, ZF = result is 0 (the others
// undefined: 0 here).
template <Op kCount>
bool lift_count_zeros(Ctx& c) {
  Slot src = c.read(1);
  Slot r = c.b.unop(kCount, src);
  c.write(0, r);
  c.set_flags_raw(c.b.binop(Op::or_, flag(c, is_zero(c, src), kCF), flag(c, is_zero(c, r), kZF)));
  return true;
}

// ---- setcc, cmovcc -----------------------------------------------------------------------------

template <unsigned kCond>
bool lift_setcc(Ctx& c) {
  c.write(0, c.b.convert(Op::zext, Type::I8, c.cond(kCond)));
  return true;
}

// The source is read (and may fault) whatever the condition; a 32-bit destination is written,
// so zero-extended, even when the condition is false.
template <unsigned kCond>
bool lift_cmovcc(Ctx& c) {
  Slot src = c.read(1), dst = c.read(0);
  c.write(0, c.b.select(c.cond(kCond), src, dst));
  return true;
}

#define X64_CC_ENTRIES(prefix, fn)                                                                 \
  {ZYDIS_MNEMONIC_##prefix##O, fn<O>}, {ZYDIS_MNEMONIC_##prefix##NO, fn<NO>},                     \
      {ZYDIS_MNEMONIC_##prefix##B, fn<B>}, {ZYDIS_MNEMONIC_##prefix##NB, fn<AE>},                  \
      {ZYDIS_MNEMONIC_##prefix##Z, fn<E>}, {ZYDIS_MNEMONIC_##prefix##NZ, fn<NE>},                  \
      {ZYDIS_MNEMONIC_##prefix##BE, fn<BE>}, {ZYDIS_MNEMONIC_##prefix##NBE, fn<A>},                \
      {ZYDIS_MNEMONIC_##prefix##S, fn<S>}, {ZYDIS_MNEMONIC_##prefix##NS, fn<NS>},                  \
      {ZYDIS_MNEMONIC_##prefix##P, fn<P>}, {ZYDIS_MNEMONIC_##prefix##NP, fn<NP>},                  \
      {ZYDIS_MNEMONIC_##prefix##L, fn<L>}, {ZYDIS_MNEMONIC_##prefix##NL, fn<GE>},                  \
      {ZYDIS_MNEMONIC_##prefix##LE, fn<LE>}, {ZYDIS_MNEMONIC_##prefix##NLE, fn<G>}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_BT, lift_bit_test<BitOp::Test>},
    {ZYDIS_MNEMONIC_BTS, lift_bit_test<BitOp::Set>},
    {ZYDIS_MNEMONIC_BTR, lift_bit_test<BitOp::Reset>},
    {ZYDIS_MNEMONIC_BTC, lift_bit_test<BitOp::Complement>},
    {ZYDIS_MNEMONIC_BSF, lift_bit_scan<true>},
    {ZYDIS_MNEMONIC_BSR, lift_bit_scan<false>},
    {ZYDIS_MNEMONIC_POPCNT, lift_popcnt},
    {ZYDIS_MNEMONIC_LZCNT, lift_count_zeros<Op::clz>},
    {ZYDIS_MNEMONIC_TZCNT, lift_count_zeros<Op::ctz>},
    X64_CC_ENTRIES(SET, lift_setcc),
    X64_CC_ENTRIES(CMOV, lift_cmovcc),
};

#undef X64_CC_ENTRIES

}  // namespace

InsnTable bits_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
