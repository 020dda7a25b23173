// RV64I base integer instructions, Zifencei (fence.i), Zicsr (csrr*), ecall and ebreak.
//
// Each table line is one instruction: its fixed bits (mask/match) and its lifter. Masks cover
// every bit the spec fixes, so reserved encodings (e.g. slli with a nonzero funct6 that no
// extension claims) match nothing and become illegal-instruction stops.
#include <cstdint>

#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// i1 comparison result as the 0/1 value RISC-V writes to rd.
Slot bool_to_x(Ctx& c, Slot i1) { return c.b.convert(Op::zext, Type::I64, i1); }

// ---- upper immediates and jumps ---------------------------------------------------------------

bool lift_lui(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.c64(uint64_t(imm_u(i))));
  return true;
}

bool lift_auipc(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.c64(c.pc + uint64_t(imm_u(i))));
  return true;
}

bool lift_jal(Ctx& c, uint32_t i) {
  // The link is the address after THIS instruction: pc+2 for c.jal/c.j expansions.
  c.set_x(rd(i), c.c64(c.next_pc()));
  c.b.jmp(c.pc + uint64_t(imm_j(i)));
  return true;
}

bool lift_jalr(Ctx& c, uint32_t i) {
  // The target is computed before rd is written: rd may equal rs1 (e.g. `jalr ra, 0(ra)`).
  Slot sum = c.b.binop(Op::add, c.x(rs1(i)), c.c64(uint64_t(imm_i(i))));
  Slot target = c.b.binop(Op::and_, sum, c.c64(~1ull));
  c.set_x(rd(i), c.c64(c.next_pc()));
  c.b.jmpi(target);
  return true;
}

template <Op Cmp>
bool lift_branch(Ctx& c, uint32_t i) {
  Slot cond = c.b.binop(Cmp, c.x(rs1(i)), c.x(rs2(i)));
  c.b.br(cond, c.pc + uint64_t(imm_b(i)), c.next_pc());
  return true;
}

// ---- loads and stores ---------------------------------------------------------------------------

Slot effective_addr(Ctx& c, unsigned base, int64_t offset) {
  if (offset == 0) return c.x(base);
  return c.b.binop(Op::add, c.x(base), c.c64(uint64_t(offset)));
}

template <unsigned Bits, bool Signed>
bool lift_load(Ctx& c, uint32_t i) {
  Slot addr = effective_addr(c, rs1(i), imm_i(i));
  // Loads into x0 still access memory (they can fault), so the load is emitted regardless.
  Slot v = Signed ? c.b.loads(Type::I64, addr, Bits) : c.b.load(Type::I64, addr, Bits);
  c.set_x(rd(i), v);
  return true;
}

template <unsigned Bits>
bool lift_store(Ctx& c, uint32_t i) {
  Slot addr = effective_addr(c, rs1(i), imm_s(i));
  c.b.store(addr, c.x(rs2(i)), Bits);
  return true;
}

// ---- register-immediate and register-register arithmetic ------------------------------------

template <Op O>
bool lift_op_imm(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(O, c.x(rs1(i)), c.c64(uint64_t(imm_i(i)))));
  return true;
}

template <Op Cmp>
bool lift_set_imm(Ctx& c, uint32_t i) {
  c.set_x(rd(i), bool_to_x(c, c.b.binop(Cmp, c.x(rs1(i)), c.c64(uint64_t(imm_i(i))))));
  return true;
}

// slli/srli/srai: 6-bit shift amount in bits 25..20 (the table mask fixes bits 31..26).
template <Op O>
bool lift_shift_imm(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(O, c.x(rs1(i)), c.c64((i >> 20) & 63)));
  return true;
}

template <Op O>
bool lift_op(Ctx& c, uint32_t i) {
  // Register shift amounts use the low 6 bits: the IR's shifts are modulo the width.
  c.set_x(rd(i), c.b.binop(O, c.x(rs1(i)), c.x(rs2(i))));
  return true;
}

template <Op Cmp>
bool lift_set(Ctx& c, uint32_t i) {
  c.set_x(rd(i), bool_to_x(c, c.b.binop(Cmp, c.x(rs1(i)), c.x(rs2(i)))));
  return true;
}

// ---- 32-bit (W) forms: computed on i32 and sign-extended into rd ------------------------------

bool lift_addiw(Ctx& c, uint32_t i) {
  c.set_x_sext32(rd(i), c.b.binop(Op::add, c.x32(rs1(i)), c.c32(uint32_t(imm_i(i)))));
  return true;
}

template <Op O>
bool lift_shift_imm_w(Ctx& c, uint32_t i) {
  // 5-bit shift amount; the table mask fixes bit 25 to 0 (shamt[5] set is reserved for W ops).
  c.set_x_sext32(rd(i), c.b.binop(O, c.x32(rs1(i)), c.c32((i >> 20) & 31)));
  return true;
}

template <Op O>
bool lift_op_w(Ctx& c, uint32_t i) {
  // i32 shifts take the amount modulo 32: exactly the low 5 bits RISC-V specifies.
  c.set_x_sext32(rd(i), c.b.binop(O, c.x32(rs1(i)), c.x32(rs2(i))));
  return true;
}

// ---- fences and system ------------------------------------------------------------------------

bool lift_fence(Ctx& c, uint32_t i) {
  // fm/pred/succ (bits 31..20) are kept as the fence kind; a single-threaded user-mode guest
  // needs no finer distinction, but fence.tso and pause (pred=W, succ=0) stay recognisable.
  c.b.fence((i >> 20) & 0xfff);
  return true;
}

bool lift_fence_i(Ctx& c, uint32_t) {
  c.b.exit(ir::ExitKind::FlushICache, c.next_pc());
  return true;
}

bool lift_ecall(Ctx& c, uint32_t) {
  c.b.exit(ir::ExitKind::Syscall, c.pc);
  return true;
}

bool lift_ebreak(Ctx& c, uint32_t) {
  c.b.exit(ir::ExitKind::Breakpoint, c.pc);
  return true;
}

// Zicsr. The source operand is rs1's value (register forms) or the 5-bit uimm in the rs1 field
// (immediate forms). csrrs/csrrc with x0 / uimm 0 only read, so they are legal on read-only
// CSRs; csrrw always writes, and with rd = x0 its read has no effect (no CSR here has read side
// effects, so the helper's returned old value is simply dropped).
// WriteHelper is H_csr_write / H_csr_set / H_csr_clear.
template <Helper WriteHelper, bool Imm>
bool lift_csr(Ctx& c, uint32_t i) {
  Slot csr = c.c64(i >> 20);
  unsigned src = rs1(i);
  Slot old;
  if (WriteHelper != H_csr_write && src == 0) {
    old = c.b.call(Type::I64, H_csr_read, csr);
  } else {
    Slot v = Imm ? c.c64(src) : c.x(src);
    old = c.b.call(Type::I64, WriteHelper, csr, v);
  }
  c.set_x(rd(i), old);
  // A write to a privileged CSR may change what the next instructions mean: the address
  // translation (satp, sstatus.SUM/MXR, mstatus.MPRV), the interrupts that are enabled or pending
  // (sie, sip, stimecmp ...) or the trap setup. The block ends there so the execution loop looks
  // again before going on. (In user mode such a write traps first, so the exit is never reached.)
  const uint32_t number = i >> 20;
  const bool writes = WriteHelper == H_csr_write || src != 0;
  if (writes && number > csr::kFcsr) c.b.exit(ir::ExitKind::Resync, c.next_pc());
  return true;
}

// Privileged instructions (system mode). In user mode the loop reports xRET and WFI as illegal
// instructions and sfence.vma's helper raises SIGILL, as in a real U-mode.
bool lift_xret(Ctx& c, uint32_t i) {
  c.b.exit(ir::ExitKind::Xret, c.pc, i);
  return true;
}

bool lift_wfi(Ctx& c, uint32_t i) {
  c.b.exit(ir::ExitKind::Wfi, c.next_pc(), i);
  return true;
}

bool lift_sfence_vma(Ctx& c, uint32_t i) {
  uint8_t which = uint8_t((rs1(i) != 0 ? 1 : 0) | (rs2(i) != 0 ? 2 : 0));
  c.b.call(Type::I64, H_sfence_vma, c.x(rs1(i)), c.x(rs2(i)), ir::kNoSlot, which);
  c.b.exit(ir::ExitKind::Resync, c.next_pc());
  return true;
}

// Masks of the encoding groups.
constexpr uint32_t kOpc = 0x7f;            // opcode only
constexpr uint32_t kF3 = 0x707f;           // opcode + funct3
constexpr uint32_t kF7 = 0xfe00707f;       // opcode + funct3 + funct7
constexpr uint32_t kF6 = 0xfc00707f;       // opcode + funct3 + funct6 (RV64 6-bit shamt)
constexpr uint32_t kAll = 0xffffffff;

const InsnDesc kInsns[] = {
    {"lui", kOpc, 0x37, lift_lui},
    {"auipc", kOpc, 0x17, lift_auipc},
    {"jal", kOpc, 0x6f, lift_jal},
    {"jalr", kF3, 0x67, lift_jalr},

    {"beq", kF3, 0x0063, lift_branch<Op::eq>},
    {"bne", kF3, 0x1063, lift_branch<Op::ne>},
    {"blt", kF3, 0x4063, lift_branch<Op::lts>},
    {"bge", kF3, 0x5063, lift_branch<Op::ges>},
    {"bltu", kF3, 0x6063, lift_branch<Op::ltu>},
    {"bgeu", kF3, 0x7063, lift_branch<Op::geu>},

    {"lb", kF3, 0x0003, lift_load<8, true>},
    {"lh", kF3, 0x1003, lift_load<16, true>},
    {"lw", kF3, 0x2003, lift_load<32, true>},
    {"ld", kF3, 0x3003, lift_load<64, false>},
    {"lbu", kF3, 0x4003, lift_load<8, false>},
    {"lhu", kF3, 0x5003, lift_load<16, false>},
    {"lwu", kF3, 0x6003, lift_load<32, false>},

    {"sb", kF3, 0x0023, lift_store<8>},
    {"sh", kF3, 0x1023, lift_store<16>},
    {"sw", kF3, 0x2023, lift_store<32>},
    {"sd", kF3, 0x3023, lift_store<64>},

    {"addi", kF3, 0x0013, lift_op_imm<Op::add>},
    {"slti", kF3, 0x2013, lift_set_imm<Op::lts>},
    {"sltiu", kF3, 0x3013, lift_set_imm<Op::ltu>},
    {"xori", kF3, 0x4013, lift_op_imm<Op::xor_>},
    {"ori", kF3, 0x6013, lift_op_imm<Op::or_>},
    {"andi", kF3, 0x7013, lift_op_imm<Op::and_>},
    {"slli", kF6, 0x00001013, lift_shift_imm<Op::shl>},
    {"srli", kF6, 0x00005013, lift_shift_imm<Op::lshr>},
    {"srai", kF6, 0x40005013, lift_shift_imm<Op::ashr>},

    {"add", kF7, 0x00000033, lift_op<Op::add>},
    {"sub", kF7, 0x40000033, lift_op<Op::sub>},
    {"sll", kF7, 0x00001033, lift_op<Op::shl>},
    {"slt", kF7, 0x00002033, lift_set<Op::lts>},
    {"sltu", kF7, 0x00003033, lift_set<Op::ltu>},
    {"xor", kF7, 0x00004033, lift_op<Op::xor_>},
    {"srl", kF7, 0x00005033, lift_op<Op::lshr>},
    {"sra", kF7, 0x40005033, lift_op<Op::ashr>},
    {"or", kF7, 0x00006033, lift_op<Op::or_>},
    {"and", kF7, 0x00007033, lift_op<Op::and_>},

    {"addiw", kF3, 0x001b, lift_addiw},
    {"slliw", kF7, 0x0000101b, lift_shift_imm_w<Op::shl>},
    {"srliw", kF7, 0x0000501b, lift_shift_imm_w<Op::lshr>},
    {"sraiw", kF7, 0x4000501b, lift_shift_imm_w<Op::ashr>},

    {"addw", kF7, 0x0000003b, lift_op_w<Op::add>},
    {"subw", kF7, 0x4000003b, lift_op_w<Op::sub>},
    {"sllw", kF7, 0x0000103b, lift_op_w<Op::shl>},
    {"srlw", kF7, 0x0000503b, lift_op_w<Op::lshr>},
    {"sraw", kF7, 0x4000503b, lift_op_w<Op::ashr>},

    // fence ignores its rd/rs1 fields (reserved for future use, treated as hints by qemu too).
    {"fence", kF3, 0x000f, lift_fence},
    {"fence.i", kF3, 0x100f, lift_fence_i},

    {"ecall", kAll, 0x00000073, lift_ecall},
    {"ebreak", kAll, 0x00100073, lift_ebreak},
    {"sret", kAll, 0x10200073, lift_xret},
    {"mret", kAll, 0x30200073, lift_xret},
    {"wfi", kAll, 0x10500073, lift_wfi},
    {"sfence.vma", 0xfe007fff, 0x12000073, lift_sfence_vma},
    {"csrrw", kF3, 0x1073, lift_csr<H_csr_write, false>},
    {"csrrs", kF3, 0x2073, lift_csr<H_csr_set, false>},
    {"csrrc", kF3, 0x3073, lift_csr<H_csr_clear, false>},
    {"csrrwi", kF3, 0x5073, lift_csr<H_csr_write, true>},
    {"csrrsi", kF3, 0x6073, lift_csr<H_csr_set, true>},
    {"csrrci", kF3, 0x7073, lift_csr<H_csr_clear, true>},
};

}  // namespace

InsnTable base_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::rv64
