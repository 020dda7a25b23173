// Shared machinery of the x86-64 lifters. Instructions are decoded by Zydis; each lifter file
// contributes a table of (Zydis mnemonic, lifter), and the decoder dispatches on the mnemonic. A
// lifter works on the decoded operands through Ctx, which hides register widths (partial
// writes), addressing modes and the lazy flags.
//
// The arithmetic flags (CF PF AF ZF SF OF) are never computed by the instruction that sets them.
// It records what they are made of: in the guest state (cc_op, cc_a, cc_b, cc_c: see state.h) for
// whoever reads them later, and in the block's Flags descriptor for the instructions of the same
// block, which then turn a condition into one IR compare of the operands (cmp rax, rbx; jl ->
// lts(rax, rbx)). A condition read before any flag setter of the block, or one with no short
// form, evaluates the recorded form through a pure helper.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

#include "frontend/x86_64/state.h"
#include "ir/ir.h"

namespace vmkit::x64 {

// One decoded instruction.
struct Insn {
  ZydisDecodedInstruction d;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  uint64_t pc;
  uint64_t next_pc() const { return pc + d.length; }
  const ZydisDecodedOperand& op(unsigned i) const { return ops[i]; }
  unsigned op_bits(unsigned i) const { return ops[i].size; }
  bool has(ZydisInstructionAttributes a) const { return (d.attributes & a) != 0; }
};

// Condition codes, as in the low nibble of jcc/setcc/cmovcc.
enum Cond : unsigned { O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G };

// What the arithmetic flags are, as far as the block being lifted knows. Slots are of the
// operation's width (I8..I64), c is an I64 (carry in, kept CF, or the multiply's overflow).
struct Flags {
  bool known = false;  // false: set before this block, read them from the state
  CcKind kind = kCcRaw;
  unsigned bytes = 8;
  ir::Slot a = ir::kNoSlot, b = ir::kNoSlot, c = ir::kNoSlot, r = ir::kNoSlot;  // (Raw: a = I32 flags)
  // inc/dec with c not computed yet: the record (I32 op without an upper half, I64 a, b, c) whose
  // CF it is.
  ir::Slot cf_op = ir::kNoSlot, cf_a = ir::kNoSlot, cf_b = ir::kNoSlot, cf_c = ir::kNoSlot;
};

struct Ctx {
  ir::Builder& b;
  const Insn& in;
  Flags& flags;  // carried from instruction to instruction through the block

  uint64_t pc() const { return in.pc; }
  uint64_t next_pc() const { return in.next_pc(); }
  static ir::Type type_of_bits(unsigned bits);
  ir::Slot konst(ir::Type t, uint64_t v) { return b.konst(t, v & ir::type_mask(t)); }
  ir::Slot c64(uint64_t v) { return b.konst(ir::Type::I64, v); }
  ir::Slot c32(uint32_t v) { return b.konst(ir::Type::I32, v); }
  ir::Slot zext64(ir::Slot v);
  ir::Slot sext64(ir::Slot v);
  ir::Slot narrow(ir::Slot v, ir::Type t);  // truncate (or keep) to t

  // General registers, any Zydis register of class GPR8..GPR64: reads at the register's width;
  // writes follow x86's rules (32-bit writes zero-extend, 8- and 16-bit ones merge; AH..BH are
  // bits 15..8).
  ir::Slot reg(ZydisRegister r);
  void set_reg(ZydisRegister r, ir::Slot v);
  ir::Slot gpr(unsigned n) { return b.get(ir::Type::I64, off_r(n)); }
  void set_gpr(unsigned n, ir::Slot v64) { b.put(off_r(n), v64); }

  // Operand i (register, memory, immediate): its value at its size, and writing it back.
  ir::Slot read(unsigned i);
  void write(unsigned i, ir::Slot v);
  // Operand i as a value of type t: a signed immediate sign-extended (add rax, -1 adds all ones),
  // anything else truncated or zero-extended.
  ir::Slot read_as(unsigned i, ir::Type t);
  // The effective address of memory operand i (lea, and every memory access): base + index *
  // scale + disp, RIP-relative from the next instruction, FS/GS bases added, 32-bit under 0x67.
  ir::Slot address(unsigned i);
  ir::Type op_type(unsigned i) const { return type_of_bits(in.op_bits(i)); }

  // The stack (64-bit pushes and pops). pop reads before it moves rsp, so a fault leaves rsp.
  void push(ir::Slot v64);
  ir::Slot pop();

  // Flag setters: the operation's kind and operands (same width; c an I64 or kNoSlot) and result.
  void set_flags(CcKind kind, ir::Slot a, ir::Slot b2, ir::Slot c, ir::Slot r);
  // inc and dec (kind kCcInc or kCcDec): operand and result; the CF they keep is computed only
  // where it is read.
  void set_flags_keeping_carry(CcKind kind, ir::Slot a, ir::Slot r);
  // Before a lifter makes the descriptor unknown while the block goes on (a shift by a variable
  // count): an inc/dec's deferred CF is computed and put as a plain record, so that the state's
  // form can be read by the pure flag helpers, which read cc_r from memory the JIT may not have
  // written yet.
  void settle_kept_carry();
  // The arithmetic flags as an I32 in RFLAGS positions, and setting them from one (popf, sahf,
  // bt, clc ...: the bits outside kArithFlags are ignored).
  ir::Slot arith_flags();
  void set_flags_raw(ir::Slot flags32);
  // Condition cc (Cond) of the current flags as an I1; CF alone as an I1.
  ir::Slot cond(unsigned cc);
  ir::Slot carry() { return cond(B); }
};

// Returns false if the instruction's form is not supported (the decoder then reports an illegal
// instruction: SIGILL with its bytes and mnemonic). A lifter that ends the block emits the
// terminator itself.
using LiftFn = bool (*)(Ctx& c);

struct InsnDesc {
  ZydisMnemonic mnemonic;
  LiftFn lift;
};

struct InsnTable {
  const InsnDesc* insns;
  unsigned count;
};

// Tables contributed by each instruction group.
InsnTable alu_insns();     // mov family, lea, add..cmp/test, inc/dec/neg/not, movzx/sx, cbw..cqo, xchg, bswap, nop (lift_alu.cpp)
InsnTable shift_insns();   // shifts, rotates, shld/shrd (lift_shift.cpp)
InsnTable muldiv_insns();  // mul, imul, div, idiv (lift_muldiv.cpp)
InsnTable bits_insns();    // bt*, bsf/bsr, popcnt, lzcnt, tzcnt, setcc, cmovcc (lift_bits.cpp)
InsnTable branch_insns();  // jmp, jcc, call, ret, loop*, jrcxz, push/pop, enter/leave, flags ops, syscall, int3, ud2, cpuid, rdtsc (lift_branch.cpp)
InsnTable string_insns();  // movs, stos, lods, scas, cmps with rep prefixes; xadd, cmpxchg (lift_string.cpp)
InsnTable sse_insns();     // SSE/SSE2 integer and data movement; MMX forms (lift_sse.cpp)
InsnTable sse4_insns();    // SSSE3, SSE4.1, SSE4.2 (lift_sse4.cpp)
InsnTable sse_fp_insns();  // SSE/SSE2 floating point, conversions, MXCSR (lift_sse_fp.cpp)
InsnTable x87_insns();     // x87 control and status, fxsave/fxrstor, emms (lift_x87.cpp)

}  // namespace vmkit::x64
