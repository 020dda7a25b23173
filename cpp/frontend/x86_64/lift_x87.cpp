// x87 control and status (the part of the x87 that glibc runs: printf and strtod read the control
// word, fenv.h saves and loads the environment, ld.so's lazy-binding trampoline runs fxsave64 and
// fxrstor64), fxsave/fxrstor and emms; and the x87's arithmetic, loads, stores, compares,
// transcendentals and register moves (lift_x87_exec), each run on the host's x87 by helper
// x87_exec (helpers_x87.cpp), which also loads and stores the memory operand.
//
// Zydis decodes the waiting forms (fstcw, fstsw, fstenv, finit, fclex: 9B then the FN form) as two
// instructions, fwait and the non-waiting one, which is also how the hardware runs them.
//
// Waiting instructions (fwait, fldcw, fldenv, emms, every MMX instruction, and every x87 one that
// x87_exec runs but fnsave) first take #MF if an exception flag of FSW is unmasked in FCW (helper
// x87_wait, or x87_exec itself), before any memory access; the non-waiting ones (fnstcw, fnstsw,
// fnstenv, fninit, fnclex, fnsave) and fxsave/fxrstor do not check.
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

// Every other x87 instruction: its FOP (the opcode byte's low 3 bits, ModRM) and memory operand
// go to helper x87_exec, which runs it on the host. fcmovcc reads the arithmetic flags, and
// fcomi/fucomi(p) set them (ZF PF CF; OF SF AF cleared), as the host does: it passes them on.
bool lift_x87_exec(Ctx& c) {
  const ZydisDecodedInstruction& d = c.in.d;
  if (d.opcode < 0xd8 || d.opcode > 0xdf) return false;
  const uint64_t fop = uint64_t(d.opcode & 7) << 8 | uint64_t(d.raw.modrm.mod << 6 | d.raw.modrm.reg << 3 | d.raw.modrm.rm);
  uint64_t form = fop << 12;  // (helpers_x87.cpp, x87_exec's c)
  Slot addr = c.c64(0);
  for (unsigned i = 0; i < d.operand_count; ++i) {
    const ZydisDecodedOperand& o = c.in.op(i);
    if (!is_mem(o)) continue;
    const unsigned bytes = o.size / 8;
    if (bytes != 2 && bytes != 4 && bytes != 8 && bytes != 10 && bytes != 108) return false;  // (108: fnsave/frstor)
    form |= uint64_t(bytes) << 24 | ((o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) ? 1ull << 32 : 0);
    addr = c.address(i);
  }
  const bool sets_flags = d.mnemonic == ZYDIS_MNEMONIC_FCOMI || d.mnemonic == ZYDIS_MNEMONIC_FCOMIP ||
                          d.mnemonic == ZYDIS_MNEMONIC_FUCOMI || d.mnemonic == ZYDIS_MNEMONIC_FUCOMIP;
  const bool reads_flags = d.mnemonic >= ZYDIS_MNEMONIC_FCMOVB && d.mnemonic <= ZYDIS_MNEMONIC_FCMOVU;
  Slot arg = c.c64(form);
  if (sets_flags || reads_flags) arg = c.b.binop(Op::or_, arg, c.zext64(c.arith_flags()));
  Slot after = c.b.call(Type::I64, H_x87_exec, addr, c.c64(c.pc()), arg);
  if (sets_flags) c.set_flags_raw(c.narrow(after, Type::I32));
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
    {ZYDIS_MNEMONIC_F2XM1, lift_x87_exec},
    {ZYDIS_MNEMONIC_FABS, lift_x87_exec},
    {ZYDIS_MNEMONIC_FADD, lift_x87_exec},
    {ZYDIS_MNEMONIC_FADDP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FBLD, lift_x87_exec},
    {ZYDIS_MNEMONIC_FBSTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCHS, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVB, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVBE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVNB, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVNBE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVNE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVNU, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCMOVU, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOM, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOMI, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOMIP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOMP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOMPP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FCOS, lift_x87_exec},
    {ZYDIS_MNEMONIC_FDECSTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FDIV, lift_x87_exec},
    {ZYDIS_MNEMONIC_FDIVP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FDIVR, lift_x87_exec},
    {ZYDIS_MNEMONIC_FDIVRP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FFREE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FFREEP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FIADD, lift_x87_exec},
    {ZYDIS_MNEMONIC_FICOM, lift_x87_exec},
    {ZYDIS_MNEMONIC_FICOMP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FIDIV, lift_x87_exec},
    {ZYDIS_MNEMONIC_FIDIVR, lift_x87_exec},
    {ZYDIS_MNEMONIC_FILD, lift_x87_exec},
    {ZYDIS_MNEMONIC_FIMUL, lift_x87_exec},
    {ZYDIS_MNEMONIC_FINCSTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FIST, lift_x87_exec},
    {ZYDIS_MNEMONIC_FISTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FISTTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FISUB, lift_x87_exec},
    {ZYDIS_MNEMONIC_FISUBR, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLD, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLD1, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDL2E, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDL2T, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDLG2, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDLN2, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDPI, lift_x87_exec},
    {ZYDIS_MNEMONIC_FLDZ, lift_x87_exec},
    {ZYDIS_MNEMONIC_FMUL, lift_x87_exec},
    {ZYDIS_MNEMONIC_FMULP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FNOP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FNSAVE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FPATAN, lift_x87_exec},
    {ZYDIS_MNEMONIC_FPREM, lift_x87_exec},
    {ZYDIS_MNEMONIC_FPREM1, lift_x87_exec},
    {ZYDIS_MNEMONIC_FPTAN, lift_x87_exec},
    {ZYDIS_MNEMONIC_FRNDINT, lift_x87_exec},
    {ZYDIS_MNEMONIC_FRSTOR, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSCALE, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSIN, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSINCOS, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSQRT, lift_x87_exec},
    {ZYDIS_MNEMONIC_FST, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSTP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSUB, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSUBP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSUBR, lift_x87_exec},
    {ZYDIS_MNEMONIC_FSUBRP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FTST, lift_x87_exec},
    {ZYDIS_MNEMONIC_FUCOM, lift_x87_exec},
    {ZYDIS_MNEMONIC_FUCOMI, lift_x87_exec},
    {ZYDIS_MNEMONIC_FUCOMIP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FUCOMP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FUCOMPP, lift_x87_exec},
    {ZYDIS_MNEMONIC_FXAM, lift_x87_exec},
    {ZYDIS_MNEMONIC_FXCH, lift_x87_exec},
    {ZYDIS_MNEMONIC_FXTRACT, lift_x87_exec},
    {ZYDIS_MNEMONIC_FYL2X, lift_x87_exec},
    {ZYDIS_MNEMONIC_FYL2XP1, lift_x87_exec},
};

}  // namespace

InsnTable x87_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
