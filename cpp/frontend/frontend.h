// The interface every guest architecture implements: decode guest bytes and lift them to IR.
// A frontend knows nothing about how the IR is executed (interpreter or JIT) or where guest memory
// lives: it reads code through CodeSource and describes its register file through RegInfo.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace vmkit {

// Where a frontend reads guest instruction bytes from. Returns false if [addr, addr+n) is not
// mapped executable (the frontend then ends the block before that instruction, or emits a
// FetchFault exit if it is the block's first instruction).
class CodeSource {
 public:
  virtual ~CodeSource() = default;
  virtual bool fetch(uint64_t addr, void* out, size_t n) const = 0;
};

// One architectural register as Python and the printer see it.
struct RegInfo {
  std::string name;   // "a0", "x10", "pc", "f3", "fcsr", "w5", "v0" ...
  uint32_t offset;    // byte offset in the guest state
  ir::Type type;      // I64 for GPRs, F64/F32 bits for FP registers, I32 for CSRs and W registers
  // Registers that are not simply `type`'s bytes at `offset`:
  uint32_t bytes = 0;             // wider than any IR type: 16 for 128-bit vector registers
  uint32_t write_bytes = 0;       // a write zero-extends the value to this many bytes (W registers)
  bool hardwired_zero = false;    // reads 0, writes are dropped (riscv64 x0, aarch64 xzr)
  // Computed from the state (AArch64 nzcv, kept in a lazy form): read and write functions.
  uint64_t (*read)(const void* state) = nullptr;
  void (*write)(void* state, uint64_t value) = nullptr;

  uint32_t size() const { return bytes ? bytes : ir::type_bits(type) / 8; }
  // How Python shows it: the IR type's name ("i64", "f64", ...), or "v128".
  std::string kind() const { return bytes == 16 ? "v128" : ir::type_name(type); }
};

// The guest exceptions a bare Machine reports to interrupt hooks, which number them as the
// architecture (or unicorn, for AArch64) does: see Frontend::exception_cause.
enum class GuestException {
  Syscall, Breakpoint, IllegalInsn, LoadMisaligned, StoreMisaligned,
  DivideError,        // x86 #DE (a helper's SIGFPE)
  GeneralProtection,  // x86 #GP (a helper's SIGSEGV that is not a memory access)
  FloatingPointError, // x86 #XM/#MF: an unmasked floating-point exception (a helper's SIGFPE, FPE_FLT*)
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  virtual const ir::ArchInfo& arch() const = 0;
  virtual const std::vector<RegInfo>& registers() const = 0;
  // Lift the block starting at pc into b (which is empty). Never throws for bad guest code: an
  // undecodable instruction becomes exit(IllegalInsn, pc, bytes) after the instructions before it.
  // Stops after max_insns guest instructions, and before any instruction after the first for which
  // b.ends_block_before(pc) is true (ending with jmp to the next pc). Calls b.begin_insn for every
  // instruction before lifting it (that is where the execution core instruments code).
  virtual void translate(uint64_t pc, const CodeSource& code, ir::Builder& b,
                         unsigned max_insns) const = 0;
  // Gives the registers whose reset value is not zero their value (x86: MXCSR and the x87 control
  // word, with every floating-point exception masked). The state is zeroed before.
  virtual void reset_state(uint8_t* /*state*/) const {}
  // Byte offset of the program counter in the guest state.
  virtual uint32_t pc_offset() const = 0;
  // The number an interrupt hook gets for exception e (RISC-V: mcause; AArch64: unicorn's intno).
  virtual uint32_t exception_cause(GuestException e) const = 0;
  // Register names to suggest when a user asks for one that does not exist.
  virtual const char* register_examples() const = 0;
  // The instruction at pc as text ("vaddps ymm0, ymm1, ymm2"), for the diagnostic of one vmkit
  // does not lift; "" where the frontend has no disassembler of its own or cannot decode it.
  virtual std::string describe_insn(const CodeSource&, uint64_t /*pc*/) const { return ""; }
};

}  // namespace vmkit
