// x86-64 control flow: jmp, jcc, call, ret.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;

uint64_t target(const Ctx& c) { return c.next_pc() + uint64_t(c.in.op(0).imm.value.s); }

bool lift_jmp(Ctx& c) {
  if (c.in.op(0).type == ZYDIS_OPERAND_TYPE_IMMEDIATE) c.b.jmp(target(c));
  else c.b.jmpi(c.read(0));
  return true;
}

template <unsigned kCond>
bool lift_jcc(Ctx& c) {
  c.b.br(c.cond(kCond), target(c), c.next_pc());
  return true;
}

bool lift_call(Ctx& c) {
  Slot to = c.in.op(0).type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? c.c64(target(c)) : c.read(0);
  c.push(c.c64(c.next_pc()));
  c.b.jmpi(to);
  return true;
}

bool lift_ret(Ctx& c) {
  Slot to = c.pop();
  if (c.in.d.operand_count_visible > 0) c.set_gpr(RSP, c.b.binop(Op::add, c.gpr(RSP), c.c64(c.in.op(0).imm.value.u)));
  c.b.jmpi(to);
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_JMP, lift_jmp},
    {ZYDIS_MNEMONIC_CALL, lift_call},
    {ZYDIS_MNEMONIC_RET, lift_ret},
    {ZYDIS_MNEMONIC_JO, lift_jcc<O>},   {ZYDIS_MNEMONIC_JNO, lift_jcc<NO>},
    {ZYDIS_MNEMONIC_JB, lift_jcc<B>},   {ZYDIS_MNEMONIC_JNB, lift_jcc<AE>},
    {ZYDIS_MNEMONIC_JZ, lift_jcc<E>},   {ZYDIS_MNEMONIC_JNZ, lift_jcc<NE>},
    {ZYDIS_MNEMONIC_JBE, lift_jcc<BE>}, {ZYDIS_MNEMONIC_JNBE, lift_jcc<A>},
    {ZYDIS_MNEMONIC_JS, lift_jcc<S>},   {ZYDIS_MNEMONIC_JNS, lift_jcc<NS>},
    {ZYDIS_MNEMONIC_JP, lift_jcc<P>},   {ZYDIS_MNEMONIC_JNP, lift_jcc<NP>},
    {ZYDIS_MNEMONIC_JL, lift_jcc<L>},   {ZYDIS_MNEMONIC_JNL, lift_jcc<GE>},
    {ZYDIS_MNEMONIC_JLE, lift_jcc<LE>}, {ZYDIS_MNEMONIC_JNLE, lift_jcc<G>},
};

}  // namespace

InsnTable branch_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
