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
  std::string name;   // "a0", "x10", "pc", "f3", "fcsr" ...
  uint32_t offset;    // byte offset in the guest state
  ir::Type type;      // I64 for GPRs, F64/F32 bits for FP registers, I32 for CSRs
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
  // Byte offset of the program counter in the guest state.
  virtual uint32_t pc_offset() const = 0;
};

}  // namespace vmkit
