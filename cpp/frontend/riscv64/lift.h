// Shared machinery of the RISC-V lifters. Each extension lives in its own file and contributes a
// table of InsnDesc (name, mask, match, lifter): the decoder is the union of those tables, so
// adding an instruction is one table line and one lifter function.
#pragma once

#include <cstdint>

#include "frontend/riscv64/state.h"
#include "ir/ir.h"

namespace vmkit::rv64 {

// Instruction fields of a 32-bit encoding (compressed instructions are expanded to 32 bits first).
inline unsigned rd(uint32_t i) { return (i >> 7) & 31; }
inline unsigned rs1(uint32_t i) { return (i >> 15) & 31; }
inline unsigned rs2(uint32_t i) { return (i >> 20) & 31; }
inline unsigned rs3(uint32_t i) { return (i >> 27) & 31; }
inline unsigned funct3(uint32_t i) { return (i >> 12) & 7; }
inline int64_t imm_i(uint32_t i) { return int64_t(int32_t(i)) >> 20; }
inline int64_t imm_s(uint32_t i) { return (int64_t(int32_t(i)) >> 25 << 5) | ((i >> 7) & 31); }
inline int64_t imm_b(uint32_t i) {
  return (int64_t(int32_t(i)) >> 31 << 12) | (((i >> 7) & 1) << 11) | (((i >> 25) & 63) << 5) |
         (((i >> 8) & 15) << 1);
}
inline int64_t imm_u(uint32_t i) { return int64_t(int32_t(i & 0xfffff000u)); }
inline int64_t imm_j(uint32_t i) {
  return (int64_t(int32_t(i)) >> 31 << 20) | (i & 0xff000) | (((i >> 20) & 1) << 11) |
         (((i >> 21) & 0x3ff) << 1);
}

// What a lifter works with: the builder, the instruction's pc and length, and register access
// that hides x0 (reads as 0, writes dropped) and NaN-boxing details.
struct Ctx {
  ir::Builder& b;
  uint64_t pc;
  unsigned len;  // 2 (compressed) or 4
  uint64_t next_pc() const { return pc + len; }

  ir::Slot c64(uint64_t v) { return b.konst(ir::Type::I64, v); }
  ir::Slot c32(uint32_t v) { return b.konst(ir::Type::I32, v); }
  ir::Slot x(unsigned r) { return r == 0 ? c64(0) : b.get(ir::Type::I64, off_x(r)); }
  void set_x(unsigned r, ir::Slot v) {
    if (r != 0) b.put(off_x(r), v);
  }
  // Low 32 bits of a GPR, and "sign-extend a 32-bit result into rd" (the W-op pattern).
  ir::Slot x32(unsigned r) { return b.convert(ir::Op::trunc, ir::Type::I32, x(r)); }
  void set_x_sext32(unsigned r, ir::Slot v32) {
    if (r != 0) b.put(off_x(r), b.convert(ir::Op::sext, ir::Type::I64, v32));
  }
};

// Returns false if the encoding is reserved / not valid for this instruction (the decoder then
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

// Tables contributed by each extension file.
InsnTable base_insns();     // RV64I, Zifencei, Zicsr, ecall/ebreak    (lift_base.cpp)
InsnTable muldiv_insns();   // M                                       (lift_muldiv.cpp)
InsnTable atomic_insns();   // A                                       (lift_atomic.cpp)
InsnTable bitmanip_insns(); // Zba, Zbb, Zbs                           (lift_bitmanip.cpp)
InsnTable fp_insns();       // F, D                                    (lift_fp.cpp)

// Expands a 16-bit compressed instruction to its 32-bit equivalent; returns 0 if the encoding is
// reserved or illegal (compressed.cpp).
uint32_t expand_compressed(uint16_t c);

}  // namespace vmkit::rv64
