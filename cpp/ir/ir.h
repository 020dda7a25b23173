// vmkit IR: an architecture-neutral, typed, SSA-within-a-block representation of guest code.
//
// A Block is a straight-line list of Insts ending in exactly one terminator. Operands name
// "slots": a slot is either a constant (its value fixed when the block is built) or a temporary
// defined by exactly one earlier Inst. Guest registers are reached only through get/put at byte
// offsets of the guest state, and guest memory only through load/store, so every effect is
// explicit. The op list lives in ops.def; everything here is generated from it or checks it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmkit::ir {

enum class Type : uint8_t { None, I1, I8, I16, I32, I64, F32, F64 };

const char* type_name(Type t);
// I1 -> 1, F32 -> 32, ... (inline: the interpreter asks for every op it runs)
inline constexpr unsigned kTypeBits[8] = {0, 1, 8, 16, 32, 64, 32, 64};
constexpr unsigned type_bits(Type t) { return kTypeBits[static_cast<unsigned>(t) & 7]; }
inline bool is_int(Type t) { return t >= Type::I1 && t <= Type::I64; }
inline bool is_float(Type t) { return t == Type::F32 || t == Type::F64; }
inline uint64_t type_mask(Type t) {
  unsigned b = type_bits(t);
  return b >= 64 ? ~0ull : ((1ull << b) - 1);
}

enum class Op : uint8_t {
#define OP(name, nsrc, dst, shape, flags) name,
#include "ir/ops.def"
#undef OP
  Count
};

// How the verifier checks an op's types (column `shape` of ops.def).
enum class Shape : uint8_t {
  None, StateRead, StateWrite, Same, Shift, Compare, Select, Convert, Load, Store, Call, Hook,
  Jump, Branch
};

namespace OpFlag {
enum : uint8_t { Term = 1, Mem = 2, Effect = 4, Trap = 8, State = 16 };
}

struct OpInfo {
  const char* name;
  uint8_t nsrc;
  bool has_dst;
  Shape shape;
  uint8_t flags;
};
const OpInfo& op_info(Op op);

// Why a block stops the execution loop instead of continuing at the next pc.
enum class ExitKind : uint8_t {
  Syscall,      // ecall / svc / syscall: the OS personality handles it, resumes at next pc
  Breakpoint,   // ebreak / brk / int3
  IllegalInsn,  // undecodable or unimplemented instruction; aux holds its bytes
  FetchFault,   // instruction fetch from unmapped or non-executable memory
  FlushICache,  // fence.i: drop translations, resume at next pc
  Trap,         // raised by a helper (details in the guest state / cpu)
  StopPoint,    // an address the run must stop at (run's `until`, a breakpoint): pc not started
  // Privileged instructions (system mode; in user mode they are illegal instructions, and the
  // loop reports them so, with the bits in aux):
  Xret,         // return from a trap (RISC-V sret/mret): pc = the instruction, aux = its bits
  Wfi,          // wait for an interrupt: pc = the next instruction, aux = its bits
  Resync,       // state that shapes translation or interrupts may have changed (a CSR write,
                // sfence.vma): resume at pc, the next instruction, after the loop looked again
};

// What a `hook` op runs (see ops.def).
enum class HookKind : uint8_t {
  Code,   // before each instruction of a hooked range (code and fetch hooks)
  Block,  // before the first instruction of a block that starts in a hooked range
};
const char* hook_kind_name(HookKind k);
const char* exit_kind_name(ExitKind k);

using Slot = uint16_t;
constexpr Slot kNoSlot = 0xffff;

struct Inst {
  Op op;
  Type type;     // result type (for put/store: type of the value written)
  uint8_t sub;   // op-specific small operand: source type (convert), width (loads),
                 // immediate for helpers, ExitKind (exit)
  uint8_t pad = 0;
  Slot dst = kNoSlot, a = kNoSlot, b = kNoSlot, c = kNoSlot;
  uint32_t aux = 0;  // state offset (get/put), helper id (call), detail (exit)
};
static_assert(sizeof(Inst) == 16, "Inst is kept at 16 bytes for the interpreter's cache");

// Where each guest instruction begins in a block: for printing, and for precise guest pc on
// faults (the inst that faulted maps back to the guest instruction containing it).
struct InsnMark {
  uint32_t first_inst;
  uint64_t pc;
  uint8_t length;
  uint32_t bytes;  // raw encoding (up to 4 bytes; longer encodings keep the first 4)
};

class Builder;
// Lets the execution core instrument code while a frontend lifts it, without the frontend knowing
// why: the frontend calls Builder::begin_insn for every instruction and asks
// Builder::ends_block_before before lifting each one after the first.
class Instrumenter {
 public:
  virtual ~Instrumenter() = default;
  // Called after the instruction's mark is recorded (so what it emits belongs to that
  // instruction); `first` for the block's first instruction.
  virtual void on_insn(Builder& b, uint64_t pc, uint8_t length, bool first) = 0;
  // True if a block must not run into the instruction at pc (it must start a block of its own).
  virtual bool ends_block_before(uint64_t pc) const = 0;
};

// A helper callable from `call`: the guest state, up to three operands and the small immediate.
using HelperFn = uint64_t (*)(void* state, uint64_t a, uint64_t b, uint64_t c, uint32_t imm);
struct HelperInfo {
  const char* name;
  HelperFn fn;
};

// Names guest-state offsets (for the printer) and lists helpers (for call): one per guest arch.
struct ArchInfo {
  const char* name;
  uint32_t state_size;
  std::string (*state_name)(uint32_t offset);
  const HelperInfo* helpers;
  uint32_t num_helpers;
};

struct Block {
  uint64_t pc = 0;          // guest address of the first instruction
  uint64_t end_pc = 0;      // one past the last byte of guest code covered
  std::vector<Inst> insts;
  std::vector<InsnMark> marks;
  std::vector<Type> slot_types;     // type of every slot
  std::vector<uint64_t> slot_init;  // constants' values (temps: 0)
  std::vector<bool> slot_is_const;
  const ArchInfo* arch = nullptr;

  size_t num_slots() const { return slot_types.size(); }
  const Inst& terminator() const { return insts.back(); }
  // Guest pc of the instruction that contains inst index i.
  uint64_t pc_of_inst(size_t i) const;
};

// Builds a Block. Constants are deduplicated. Frontends call the typed helpers below; each
// returns the slot of the result.
class Builder {
 public:
  explicit Builder(Block& b, Instrumenter* instr = nullptr) : b_(b), instr_(instr) {}
  Block& block() { return b_; }

  // Frontends ask this before lifting each instruction after a block's first: true means end the
  // block here with jmp(pc).
  bool ends_block_before(uint64_t pc) const { return instr_ && instr_->ends_block_before(pc); }

  Slot konst(Type t, uint64_t v);
  Slot temp(Type t);

  void begin_insn(uint64_t pc, uint8_t length, uint32_t bytes);

  Slot get(Type t, uint32_t offset);
  void put(uint32_t offset, Slot v);
  Slot binop(Op op, Slot a, Slot b);  // Same/Shift/Compare shapes
  Slot unop(Op op, Slot a);
  Slot select(Slot cond, Slot a, Slot b);
  Slot convert(Op op, Type to, Slot a);  // zext / sext / trunc
  // Loads `width_bits` (default: the width of t) from guest memory, zero- or sign-extended to t.
  Slot load(Type t, Slot addr, unsigned width_bits = 0);
  Slot loads(Type t, Slot addr, unsigned width_bits);
  // Stores the low `width_bits` (default: all) of value.
  void store(Slot addr, Slot value, unsigned width_bits = 0);
  void fence(uint32_t kind);
  // imm is the helper's 8-bit immediate: a larger value is a frontend bug (std::logic_error), not a
  // silent truncation.
  Slot call(Type result, uint32_t helper, Slot a = kNoSlot, Slot b = kNoSlot, Slot c = kNoSlot,
            unsigned imm = 0);
  // A pure helper (see callp in ops.def).
  Slot callp(Type result, uint32_t helper, Slot a = kNoSlot, Slot b = kNoSlot, Slot c = kNoSlot,
             unsigned imm = 0);

  void jmp(uint64_t target);
  void br(Slot cond, uint64_t taken, uint64_t fallthrough);
  void jmpi(Slot target);
  void exit(ExitKind kind, uint64_t pc, uint32_t detail = 0);
  void hook(HookKind kind, uint64_t pc, uint32_t length);

  bool terminated() const { return !b_.insts.empty() && (op_info(b_.insts.back().op).flags & OpFlag::Term); }
  Type type_of(Slot s) const { return b_.slot_types[s]; }

 private:
  Inst& emit(Op op, Type t);
  Slot call_op(Op op, Type result, uint32_t helper, Slot a, Slot b, Slot c, unsigned imm);
  Block& b_;
  Instrumenter* instr_;
};

// Returns "" if the block is well formed, else a description of the first problem found.
std::string verify(const Block& b);

// Human-readable text of a block, one guest instruction per group.
std::string print(const Block& b);

}  // namespace vmkit::ir
