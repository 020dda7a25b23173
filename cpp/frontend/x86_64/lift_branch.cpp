// x86-64 control flow (jmp, jcc, call, ret, loop*, jrcxz), the stack (push, pop, enter, leave),
// the flags register (pushf/popf, lahf/sahf, cld/std; clc/stc/cmc are in lift_alu.cpp) and system instructions
// (syscall, int3, cpuid, rdtsc(p), fences, prefetches, hints).
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// RFLAGS bits popf may change in user mode besides the arithmetic flags and DF (kept in
// rflags_misc): TF, AC, ID. IF and IOPL are not the program's to change.
constexpr uint32_t kMiscFlags = (1u << 8) | (1u << 18) | (1u << 21);
// Bits every pushf shows: bit 1 (always one) and IF (interrupts are on in user mode).
constexpr uint32_t kFixedFlags = 0x202;

uint64_t target(const Ctx& c) { return c.next_pc() + uint64_t(c.in.op(0).imm.value.s); }

// A near branch's target operand: an immediate (relative), a register or a 64-bit memory word.
// Far forms (a pointer, or a 16:64 memory operand) are not supported.
bool near_target(const Ctx& c) {
  const ZydisDecodedOperand& o = c.in.op(0);
  return o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE || o.type == ZYDIS_OPERAND_TYPE_REGISTER ||
         (o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.size == 64);
}

bool lift_jmp(Ctx& c) {
  if (!near_target(c)) return false;
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
  if (!near_target(c)) return false;
  // The target is read before the push: `call [rsp]` and `call rsp` use the old rsp.
  Slot to = c.in.op(0).type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? c.c64(target(c)) : c.read(0);
  c.push(c.c64(c.next_pc()));
  c.b.jmpi(to);
  return true;
}

bool lift_ret(Ctx& c) {
  if (c.in.d.operand_width != 64) return false;
  Slot to = c.pop();
  if (c.in.d.operand_count_visible > 0) c.set_gpr(RSP, c.b.binop(Op::add, c.gpr(RSP), c.c64(c.in.op(0).imm.value.u)));
  c.b.jmpi(to);
  return true;
}

// The count register of loop/jrcxz: rcx, or ecx under an address-size prefix (whose writes
// clear the upper half, as 32-bit register writes do).
ZydisRegister count_reg(const Ctx& c) { return c.in.d.address_width == 32 ? ZYDIS_REGISTER_ECX : ZYDIS_REGISTER_RCX; }

// loop, loope, loopne: decrement the count (no flags change), branch while it is not zero (and
// ZF is set / clear).
template <int kZf>  // -1: ignore ZF; 1: loope; 0: loopne
bool lift_loop(Ctx& c) {
  const ZydisRegister r = count_reg(c);
  Slot n = c.reg(r);
  n = c.b.binop(Op::sub, n, c.konst(c.b.type_of(n), 1));
  Slot go = c.b.binop(Op::ne, n, c.konst(c.b.type_of(n), 0));
  if (kZf >= 0) go = c.b.binop(Op::and_, go, c.cond(kZf ? E : NE));
  c.set_reg(r, n);
  c.b.br(go, target(c), c.next_pc());
  return true;
}

bool lift_jrcxz(Ctx& c) {
  Slot n = c.reg(count_reg(c));
  c.b.br(c.b.binop(Op::eq, n, c.konst(c.b.type_of(n), 0)), target(c), c.next_pc());
  return true;
}

// ---- the stack ---------------------------------------------------------------------------

// push/pop move rsp by the operand size: 8, or 2 under a 0x66 prefix.
unsigned stack_bytes(const Ctx& c) { return c.in.d.operand_width / 8; }

// push/pop of a general register, memory or an immediate (not fs/gs, whose bases vmkit keeps
// apart from selectors).
bool plain_stack_operand(const Ctx& c) {
  const ZydisDecodedOperand& o = c.in.op(0);
  if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) return true;
  const ZydisRegisterClass k = ZydisRegisterGetClass(o.reg.value);
  return k == ZYDIS_REGCLASS_GPR16 || k == ZYDIS_REGCLASS_GPR64;
}

// Pushes v (of the stack operand size): the store first, so a fault leaves rsp as it was.
void push_sized(Ctx& c, Slot v) {
  const unsigned bytes = ir::type_bits(c.b.type_of(v)) / 8;
  Slot sp = c.b.binop(Op::sub, c.gpr(RSP), c.c64(bytes));
  c.b.store(sp, v);
  c.set_gpr(RSP, sp);
}

bool lift_push(Ctx& c) {
  const unsigned bytes = stack_bytes(c);
  if ((bytes != 8 && bytes != 2) || !plain_stack_operand(c)) return false;
  const ZydisDecodedOperand& o = c.in.op(0);
  const Type t = Ctx::type_of_bits(8 * bytes);
  // An immediate is sign-extended to the operand size; a register or memory operand is read
  // before rsp moves (`push rsp` pushes the old value, `push [rsp]` reads the old top).
  Slot v = o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? c.konst(t, uint64_t(o.imm.value.s)) : c.narrow(c.read(0), t);
  push_sized(c, v);
  return true;
}

// The address of pop's memory operand: computed with rsp already incremented (SDM: "If the
// destination operand is a memory location that uses rsp as a base register, the address is
// computed after the pop"), without changing rsp yet, so a faulting store leaves it.
Slot pop_destination(Ctx& c, unsigned bytes) {
  const ZydisDecodedOperand& o = c.in.op(0);
  Slot a = c.address(0);
  const ZydisRegister base = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o.mem.base);
  if (base != ZYDIS_REGISTER_RSP) return a;
  a = c.b.binop(Op::add, a, c.c64(bytes));
  if (c.in.d.address_width == 32) a = c.b.binop(Op::and_, a, c.c64(0xffffffffull));
  return a;
}

bool lift_pop(Ctx& c) {
  const unsigned bytes = stack_bytes(c);
  if ((bytes != 8 && bytes != 2) || !plain_stack_operand(c)) return false;
  const ZydisDecodedOperand& o = c.in.op(0);
  // 32-bit addressing with an fs/gs base and an rsp base: the wrap-around would need the base
  // applied after the increment; no compiler emits it.
  if (o.type == ZYDIS_OPERAND_TYPE_MEMORY && c.in.d.address_width == 32 && o.mem.segment != ZYDIS_REGISTER_SS &&
      o.mem.segment != ZYDIS_REGISTER_DS && o.mem.segment != ZYDIS_REGISTER_NONE)
    return false;
  Slot sp = c.gpr(RSP);
  Slot v = c.b.load(Ctx::type_of_bits(8 * bytes), sp);
  Slot new_sp = c.b.binop(Op::add, sp, c.c64(bytes));
  if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) {
    c.b.store(pop_destination(c, bytes), v);
    c.set_gpr(RSP, new_sp);
  } else {
    // `pop rsp` loads the new rsp: the register write comes after the increment.
    c.set_gpr(RSP, new_sp);
    c.set_reg(o.reg.value, v);
  }
  return true;
}

// enter size, level: push rbp; copy level-1 frame pointers from the enclosing frame; push the
// new frame pointer (level > 0); rbp = the new frame; rsp -= size. All stores and loads come
// before any register changes, so a fault leaves the registers.
bool lift_enter(Ctx& c) {
  if (c.in.d.operand_width != 64) return false;
  const uint64_t size = c.in.op(0).imm.value.u & 0xffff;
  const unsigned level = c.in.op(1).imm.value.u & 31;
  Slot rbp = c.gpr(RBP);
  Slot sp = c.b.binop(Op::sub, c.gpr(RSP), c.c64(8));
  c.b.store(sp, rbp);
  Slot frame = sp;
  for (unsigned i = 1; i < level; ++i) {
    Slot outer = c.b.load(Type::I64, c.b.binop(Op::sub, rbp, c.c64(8 * i)));
    sp = c.b.binop(Op::sub, sp, c.c64(8));
    c.b.store(sp, outer);
  }
  if (level > 0) {
    sp = c.b.binop(Op::sub, sp, c.c64(8));
    c.b.store(sp, frame);
  }
  c.set_gpr(RBP, frame);
  c.set_gpr(RSP, c.b.binop(Op::sub, sp, c.c64(size)));
  return true;
}

// leave: rsp = rbp, then pop rbp (the load first).
bool lift_leave(Ctx& c) {
  if (c.in.d.operand_width != 64) return false;
  Slot frame = c.gpr(RBP);
  Slot saved = c.b.load(Type::I64, frame);
  c.set_gpr(RSP, c.b.binop(Op::add, frame, c.c64(8)));
  c.set_gpr(RBP, saved);
  return true;
}

// ---- the flags register ------------------------------------------------------------------

// RFLAGS as a program reads it (pushf): the arithmetic flags, DF, the kept misc bits, bits 1 and
// 9 (as rflags() in flags.cpp).
Slot rflags_value(Ctx& c) {
  Slot v = c.arith_flags();
  Slot df = c.b.binop(Op::shl, c.b.get(Type::I32, kOffDf), c.c32(10));
  v = c.b.binop(Op::or_, v, df);
  v = c.b.binop(Op::or_, v, c.b.get(Type::I32, kOffRflagsMisc));
  return c.zext64(c.b.binop(Op::or_, v, c.c32(kFixedFlags)));
}

bool lift_pushf(Ctx& c) {
  const unsigned bytes = stack_bytes(c);
  if (bytes != 8 && bytes != 2) return false;
  push_sized(c, c.narrow(rflags_value(c), Ctx::type_of_bits(8 * bytes)));
  return true;
}

// popf: the arithmetic flags become Raw, DF and the misc bits (TF AC ID) split off; IF, IOPL and
// the rest are ignored, as in user mode. A 16-bit popf keeps the misc bits above bit 15.
bool lift_popf(Ctx& c) {
  const unsigned bytes = stack_bytes(c);
  if (bytes != 8 && bytes != 2) return false;
  Slot sp = c.gpr(RSP);
  Slot v = c.narrow(c.b.load(Ctx::type_of_bits(8 * bytes), sp), Type::I32);
  c.set_gpr(RSP, c.b.binop(Op::add, sp, c.c64(bytes)));
  c.set_flags_raw(v);
  c.b.put(kOffDf, c.b.binop(Op::and_, c.b.binop(Op::lshr, v, c.c32(10)), c.c32(1)));
  Slot misc = c.b.binop(Op::and_, v, c.c32(kMiscFlags));
  if (bytes == 2) {
    Slot kept = c.b.binop(Op::and_, c.b.get(Type::I32, kOffRflagsMisc), c.c32(kMiscFlags & ~0xffffu));
    misc = c.b.binop(Op::or_, kept, c.b.binop(Op::and_, misc, c.c32(0xffff)));
  }
  c.b.put(kOffRflagsMisc, misc);
  return true;
}

// The flags lahf/sahf move: SF ZF AF PF CF (bits 7, 6, 4, 2, 0 of ah).
constexpr uint32_t kAhFlags = kSF | kZF | kAF | kPF | kCF;

bool lift_lahf(Ctx& c) {
  Slot v = c.b.binop(Op::and_, c.arith_flags(), c.c32(kAhFlags));
  v = c.b.binop(Op::or_, v, c.c32(2));  // bit 1 reads as one
  c.set_reg(ZYDIS_REGISTER_AH, c.narrow(v, Type::I8));
  return true;
}

// Replaces the flags in `mask` by `bits` (an I32 in RFLAGS positions), keeping the others.
void merge_flags(Ctx& c, uint32_t mask, Slot bits) {
  Slot kept = c.b.binop(Op::and_, c.arith_flags(), c.c32(~mask));
  c.set_flags_raw(c.b.binop(Op::or_, kept, c.b.binop(Op::and_, bits, c.c32(mask))));
}

bool lift_sahf(Ctx& c) {
  merge_flags(c, kAhFlags, c.b.convert(Op::zext, Type::I32, c.reg(ZYDIS_REGISTER_AH)));
  return true;
}

template <uint32_t kDf>
bool lift_set_df(Ctx& c) {
  c.b.put(kOffDf, c.c32(kDf));
  return true;
}

// ---- system ------------------------------------------------------------------------------

// syscall stops at its own pc; the OS personality resumes at pc + 2. rcx (the return address)
// and r11 (rflags), which the kernel overwrites, are the OS layer's to set.
bool lift_syscall(Ctx& c) {
  c.b.exit(ir::ExitKind::Syscall, c.pc());
  return true;
}

// int3 stops at its own pc (as breakpoints do on every architecture); Linux reports rip after
// it (SIGTRAP, SI_KERNEL), which the OS layer derives from the stop's instruction length.
bool lift_int3(Ctx& c) {
  c.b.exit(ir::ExitKind::Breakpoint, c.pc());
  return true;
}

bool lift_cpuid(Ctx& c) {
  c.b.call(Type::I64, H_cpuid, c.zext64(c.reg(ZYDIS_REGISTER_EAX)), c.zext64(c.reg(ZYDIS_REGISTER_ECX)));
  return true;
}

// rdtsc: edx:eax = the counter; rdtscp also ecx = IA32_TSC_AUX (0 here: one CPU).
template <bool kAux>
bool lift_rdtsc(Ctx& c) {
  Slot t = c.b.call(Type::I64, H_rdtsc);
  c.set_gpr(RAX, c.b.binop(Op::and_, t, c.c64(0xffffffffull)));
  c.set_gpr(RDX, c.b.binop(Op::lshr, t, c.c64(32)));
  if (kAux) c.set_gpr(RCX, c.c64(0));
  return true;
}

bool lift_fence(Ctx& c) {
  c.b.fence(0);
  return true;
}

// Prefetches: no architectural effect, and never a fault. (endbr64 and pause: lift_alu.cpp.)
bool lift_hint(Ctx&) { return true; }

// hlt, cli/sti, in/out and the port string instructions: privileged at user level (IOPL 0), so
// #GP (SIGSEGV under Linux).
bool lift_privileged(Ctx& c) {
  c.b.call(ir::Type::I64, H_general_protection);
  c.b.jmp(c.next_pc());  // (not reached: the helper always traps)
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
    {ZYDIS_MNEMONIC_LOOP, lift_loop<-1>},
    {ZYDIS_MNEMONIC_LOOPE, lift_loop<1>},
    {ZYDIS_MNEMONIC_LOOPNE, lift_loop<0>},
    {ZYDIS_MNEMONIC_JRCXZ, lift_jrcxz},
    {ZYDIS_MNEMONIC_JECXZ, lift_jrcxz},
    {ZYDIS_MNEMONIC_PUSH, lift_push},
    {ZYDIS_MNEMONIC_POP, lift_pop},
    {ZYDIS_MNEMONIC_ENTER, lift_enter},
    {ZYDIS_MNEMONIC_LEAVE, lift_leave},
    {ZYDIS_MNEMONIC_PUSHFQ, lift_pushf},
    {ZYDIS_MNEMONIC_PUSHF, lift_pushf},
    {ZYDIS_MNEMONIC_POPFQ, lift_popf},
    {ZYDIS_MNEMONIC_POPF, lift_popf},
    {ZYDIS_MNEMONIC_LAHF, lift_lahf},
    {ZYDIS_MNEMONIC_SAHF, lift_sahf},
    {ZYDIS_MNEMONIC_CLD, lift_set_df<0>},
    {ZYDIS_MNEMONIC_STD, lift_set_df<1>},
    {ZYDIS_MNEMONIC_SYSCALL, lift_syscall},
    {ZYDIS_MNEMONIC_INT3, lift_int3},
    {ZYDIS_MNEMONIC_CPUID, lift_cpuid},
    {ZYDIS_MNEMONIC_RDTSC, lift_rdtsc<false>},
    {ZYDIS_MNEMONIC_RDTSCP, lift_rdtsc<true>},
    {ZYDIS_MNEMONIC_LFENCE, lift_fence},
    {ZYDIS_MNEMONIC_MFENCE, lift_fence},
    {ZYDIS_MNEMONIC_SFENCE, lift_fence},
    {ZYDIS_MNEMONIC_PREFETCHNTA, lift_hint},
    {ZYDIS_MNEMONIC_PREFETCHT0, lift_hint},
    {ZYDIS_MNEMONIC_PREFETCHT1, lift_hint},
    {ZYDIS_MNEMONIC_PREFETCHT2, lift_hint},
    {ZYDIS_MNEMONIC_PREFETCHW, lift_hint},
    {ZYDIS_MNEMONIC_PREFETCH, lift_hint},
    // Privileged at user level: #GP.
    {ZYDIS_MNEMONIC_HLT, lift_privileged},
    {ZYDIS_MNEMONIC_CLI, lift_privileged},
    {ZYDIS_MNEMONIC_STI, lift_privileged},
    {ZYDIS_MNEMONIC_IN, lift_privileged},
    {ZYDIS_MNEMONIC_OUT, lift_privileged},
    {ZYDIS_MNEMONIC_INSB, lift_privileged},
    {ZYDIS_MNEMONIC_INSW, lift_privileged},
    {ZYDIS_MNEMONIC_INSD, lift_privileged},
    {ZYDIS_MNEMONIC_OUTSB, lift_privileged},
    {ZYDIS_MNEMONIC_OUTSW, lift_privileged},
    {ZYDIS_MNEMONIC_OUTSD, lift_privileged},
    // (ud2 is not listed: it is the undefined instruction)
};

}  // namespace

InsnTable branch_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
