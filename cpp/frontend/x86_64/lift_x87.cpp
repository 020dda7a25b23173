// x87 control and status (the part of the x87 that glibc runs: printf and strtod read the control
// word, fenv.h saves and loads the environment, ld.so's lazy-binding trampoline runs fxsave64 and
// fxrstor64), fxsave/fxrstor and emms. x87 arithmetic is not lifted.
//
// Zydis decodes the waiting forms (fstcw, fstsw, fstenv, finit, fclex: 9B then the FN form) as two
// instructions, fwait and the non-waiting one, which is also how the hardware runs them.
//
// Waiting instructions (fwait, fldcw, fldenv, emms, every MMX instruction) first take #MF if an
// exception flag of FSW is unmasked in FCW (helper x87_wait), before any memory access; the
// non-waiting ones (fnstcw, fnstsw, fnstenv, fninit, fnclex) and fxsave/fxrstor do not check.
// FSW's ES and B bits are kept equal to "an unmasked exception is pending" (see helpers_x87.cpp).
#include <cstddef>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

constexpr uint32_t kOffFop = offsetof(State, fop);
constexpr uint32_t kOffFip = offsetof(State, fip);
constexpr uint32_t kOffFdp = offsetof(State, fdp);
constexpr uint64_t kExceptions = 0x3f, kErrorSummary = 0x8080, kFswTop = 0x3800;

bool is_mem(const ZydisDecodedOperand& o) { return o.type == ZYDIS_OPERAND_TYPE_MEMORY; }

Slot c16(Ctx& c, uint64_t v) { return c.konst(Type::I16, v); }
Slot fcw(Ctx& c) { return c.b.get(Type::I16, kOffFcw); }
Slot fsw(Ctx& c) { return c.b.get(Type::I16, kOffFsw); }

// #MF if an unmasked exception is pending (the start of every waiting instruction).
void wait_for_pending(Ctx& c) { c.b.call(Type::I64, H_x87_wait); }

// FSW with ES and B set exactly when one of its exception flags is unmasked in control word cw.
Slot with_error_summary(Ctx& c, Slot sw, Slot cw) {
  Slot unmasked = c.b.binop(Op::and_, c.b.binop(Op::andn, sw, cw), c16(c, kExceptions));
  Slot summary = c.b.select(c.b.binop(Op::ne, unmasked, c16(c, 0)), c16(c, kErrorSummary), c16(c, 0));
  return c.b.binop(Op::or_, c.b.binop(Op::and_, sw, c16(c, ~kErrorSummary)), summary);
}

// fnstcw m16.
bool lift_fnstcw(Ctx& c) {
  if (!is_mem(c.in.op(0))) return false;
  c.write(0, fcw(c));
  return true;
}

// fldcw m16: bits 7 and 13..15 read back as 0, bit 6 as 1; a pending exception it unmasks sets ES
// (and traps at the next waiting instruction).
bool lift_fldcw(Ctx& c) {
  if (!is_mem(c.in.op(0))) return false;
  wait_for_pending(c);
  Slot cw = c.b.binop(Op::or_, c.b.binop(Op::and_, c.read(0), c16(c, 0x1f3f)), c16(c, 0x0040));
  c.b.put(kOffFsw, with_error_summary(c, fsw(c), cw));
  c.b.put(kOffFcw, cw);
  return true;
}

// fnstsw m16 / ax.
bool lift_fnstsw(Ctx& c) {
  c.write(0, fsw(c));
  return true;
}

// fnstenv/fldenv m28 (the 32-bit format, with or without REX.W); the 16-bit format (66 prefix) is
// not supported.
template <unsigned HelperId>
bool lift_env(Ctx& c) {
  if (!is_mem(c.in.op(0)) || c.in.op_bits(0) != 28 * 8) return false;
  c.b.call(Type::I64, HelperId, c.address(0), c.c64(c.pc()));
  return true;
}

// fninit: the state of RESET for the x87 (control 0x037f, status 0, all registers empty,
// instruction and data pointers and opcode 0); the data registers keep their contents.
bool lift_fninit(Ctx& c) {
  c.b.put(kOffFcw, c16(c, 0x037f));
  c.b.put(kOffFsw, c16(c, 0));
  c.b.put(kOffFtw, c16(c, 0xffff));
  c.b.put(kOffFop, c16(c, 0));
  c.b.put(kOffFip, c.c64(0));
  c.b.put(kOffFdp, c.c64(0));
  return true;
}

// fnclex: the exception flags, SF, ES and B cleared (TOP, C0..C3 kept).
bool lift_fnclex(Ctx& c) {
  c.b.put(kOffFsw, c.b.binop(Op::and_, fsw(c), c16(c, 0x7f00)));
  return true;
}

bool lift_fwait(Ctx& c) {
  wait_for_pending(c);
  return true;
}

// emms: every register empty, and TOP = 0 (SDM Vol. 1 table 9-2; the host agrees).
bool lift_emms(Ctx& c) {
  wait_for_pending(c);
  c.b.put(kOffFsw, c.b.binop(Op::and_, fsw(c), c16(c, ~kFswTop)));
  c.b.put(kOffFtw, c16(c, 0xffff));
  return true;
}

// fxsave/fxsave64, fxrstor/fxrstor64 m512.
template <unsigned HelperId, bool Is64>
bool lift_fx(Ctx& c) {
  if (!is_mem(c.in.op(0))) return false;
  c.b.call(Type::I64, HelperId, c.address(0), c.c64(c.pc()), ir::kNoSlot, Is64 ? 1 : 0);
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_FNSTCW, lift_fnstcw},
    {ZYDIS_MNEMONIC_FLDCW, lift_fldcw},
    {ZYDIS_MNEMONIC_FNSTSW, lift_fnstsw},
    {ZYDIS_MNEMONIC_FNSTENV, lift_env<H_x87_fnstenv>},
    {ZYDIS_MNEMONIC_FLDENV, lift_env<H_x87_fldenv>},
    {ZYDIS_MNEMONIC_FNINIT, lift_fninit},
    {ZYDIS_MNEMONIC_FNCLEX, lift_fnclex},
    {ZYDIS_MNEMONIC_FWAIT, lift_fwait},
    {ZYDIS_MNEMONIC_EMMS, lift_emms},
    {ZYDIS_MNEMONIC_FXSAVE, lift_fx<H_x87_fxsave, false>},
    {ZYDIS_MNEMONIC_FXSAVE64, lift_fx<H_x87_fxsave, true>},
    {ZYDIS_MNEMONIC_FXRSTOR, lift_fx<H_x87_fxrstor, false>},
    {ZYDIS_MNEMONIC_FXRSTOR64, lift_fx<H_x87_fxrstor, true>},
};

}  // namespace

InsnTable x87_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
