// Shared machinery of the AArch64 lifters. Each instruction group lives in its own file and
// contributes a table of InsnDesc (name, mask, match, lifter): the decoder is the union of those
// tables, so adding an instruction is one table line and one lifter function.
//
// NZCV is never computed by a flag-setting instruction. It records what the flags are made of:
// in the guest state (cc_op, cc_a, cc_b: see state.h) for whoever reads them later, and in the
// block's Flags descriptor for the instructions of the same block, which then turn a condition
// into one or two IR compares of the operands (cmp x0, x1; b.lt -> lts(x0, x1)). A condition read
// before any flag setter of the block evaluates the state's form through a pure helper.
#pragma once

#include <cstdint>

#include "frontend/aarch64/state.h"
#include "ir/ir.h"

namespace vmkit::a64 {

// Instruction fields.
inline uint32_t bits(uint32_t i, unsigned hi, unsigned lo) { return (i >> lo) & ((2u << (hi - lo)) - 1); }
inline bool bit(uint32_t i, unsigned n) { return (i >> n) & 1; }
inline unsigned rd(uint32_t i) { return i & 31; }   // also Rt
inline unsigned rn(uint32_t i) { return (i >> 5) & 31; }
inline unsigned rm(uint32_t i) { return (i >> 16) & 31; }  // also Rs
inline unsigned ra(uint32_t i) { return (i >> 10) & 31; }  // also Rt2
inline bool sf(uint32_t i) { return i >> 31; }
inline int64_t sext(uint64_t v, unsigned width) { return int64_t(v << (64 - width)) >> (64 - width); }

// Condition codes (bits 3..0 of b.cond, csel, ccmp ...).
enum Cond : unsigned { EQ, NE, CS, CC, MI, PL, VS, VC, HI, LS, GE, LT, GT, LE, AL, NV };

// What the flags are, as far as the block being lifted knows. Slots are of the operation's
// width (I32 or I64). With a guard (ccmp/ccmn), the flags are `guard ? <this> : guard_raw`.
struct Flags {
  enum Kind : uint8_t {
    Unknown,  // set before this block: evaluate the guest state's form
    Raw,      // a = NZCV bits (I32, bits 31..28)
    Add,      // a + b = r
    Sub,      // a - b = r
    Logic,    // r (C = V = 0)
  } kind = Unknown;
  ir::Slot a = ir::kNoSlot, b = ir::kNoSlot, r = ir::kNoSlot;
  ir::Slot guard = ir::kNoSlot;
  uint32_t guard_raw = 0;
};

// What a lifter works with: the builder, the instruction's pc, register access that hides the
// register-31 rules (xzr or sp by instruction) and the W-register zero extension, and the flags.
struct Ctx {
  ir::Builder& b;
  uint64_t pc;
  Flags& flags;  // carried from instruction to instruction through the block
  uint64_t next_pc() const { return pc + 4; }

  ir::Slot c64(uint64_t v) { return b.konst(ir::Type::I64, v); }
  ir::Slot c32(uint32_t v) { return b.konst(ir::Type::I32, v); }
  ir::Slot konst(bool is64, uint64_t v) { return is64 ? c64(v) : c32(uint32_t(v)); }
  ir::Type ty(bool is64) { return is64 ? ir::Type::I64 : ir::Type::I32; }

  // Register 31 reads as zero (xzr/wzr) ...
  ir::Slot x(unsigned r) { return r == 31 ? c64(0) : b.get(ir::Type::I64, off_x(r)); }
  ir::Slot w(unsigned r) { return r == 31 ? c32(0) : b.convert(ir::Op::trunc, ir::Type::I32, x(r)); }
  ir::Slot reg(bool is64, unsigned r) { return is64 ? x(r) : w(r); }
  // ... or is sp, in the forms that say so.
  ir::Slot xsp(unsigned r) { return b.get(ir::Type::I64, off_x(r)); }
  ir::Slot reg_sp(bool is64, unsigned r) { return is64 ? xsp(r) : b.convert(ir::Op::trunc, ir::Type::I32, xsp(r)); }

  // Writes: a 32-bit value zero-extends into the X register; register 31 is xzr (dropped) or sp.
  void set_reg(unsigned r, ir::Slot v) {
    if (r != 31) set_reg_sp(r, v);
  }
  void set_reg_sp(unsigned r, ir::Slot v) {
    if (b.type_of(v) != ir::Type::I64) v = b.convert(ir::Op::zext, ir::Type::I64, v);
    b.put(off_x(r), v);
  }

  // Flag setters (operands and result of one width, I32 or I64).
  void set_flags_add(ir::Slot a, ir::Slot bb, ir::Slot r) { set_flags({Flags::Add, a, bb, r}); }
  void set_flags_sub(ir::Slot a, ir::Slot bb, ir::Slot r) { set_flags({Flags::Sub, a, bb, r}); }
  void set_flags_logic(ir::Slot r) { set_flags({Flags::Logic, ir::kNoSlot, ir::kNoSlot, r}); }
  void set_flags_raw(ir::Slot nzcv32) { set_flags({Flags::Raw, nzcv32}); }
  // Records new flags in the state and the descriptor (see flags.cpp).
  void set_flags(Flags f);
  // ccmp/ccmn: if `cond` holds, flags of a - b (sub) or a + b; else the immediate nzcv (bits 3..0).
  void set_flags_conditional(unsigned cond, bool sub, ir::Slot a, ir::Slot bb, unsigned nzcv4);

  // Condition `cond` (Cond) of the current flags, as an I1.
  ir::Slot cond(unsigned cond);
  // The C flag as an I1 (adc, sbc) and NZCV as an I32 with the flags in bits 31..28 (mrs).
  ir::Slot carry();
  ir::Slot nzcv();
};

// Returns false if the encoding is unallocated / reserved for this instruction (the decoder then
// reports an illegal instruction). A lifter that ends the block emits the terminator itself.
using LiftFn = bool (*)(Ctx& c, uint32_t insn);

struct InsnDesc {
  const char* name;
  uint32_t mask;
  uint32_t match;
  LiftFn lift;
};

struct InsnTable {
  const InsnDesc* insns;
  unsigned count;
};

// Tables contributed by each instruction group. Within a table, earlier entries win: put a
// special case (an alias with other semantics, a reserved form) before its general pattern.
InsnTable branch_sys_insns();  // branches, exception generation, hints, barriers, system registers (lift_branch.cpp)
InsnTable dp_imm_insns();      // data processing, immediate: add/sub, logical, move wide, adr, bitfield, extract (lift_dp_imm.cpp)
InsnTable dp_reg_insns();      // data processing, register: shifted/extended, adc, csel, ccmp, 1/2/3-source (lift_dp_reg.cpp)
InsnTable ldst_insns();        // loads and stores: every addressing mode, pairs, exclusives, acquire/release, LSE (lift_ldst.cpp)
InsnTable fp_insns();          // scalar floating point (lift_fp.cpp)
InsnTable simd_insns();        // Advanced SIMD, and its structure loads and stores (lift_simd.cpp)

}  // namespace vmkit::a64
