// Tier 0: executes one IR block over its frame. Dispatch is generated from ops.def (a label per
// op, with width-specialised labels for the hottest op/type pairs).
#pragma once

#include <cstdint>

#include "core/block_cache.h"

namespace vmkit {

struct InterpEnv {
  uint8_t* state;
  uint8_t* mem_base;
  uint64_t mem_size;
  const uint8_t* code_pages;   // nonzero byte per guest page holding translated code
  const ir::Inst** running;    // where the interpreter records the inst that may fault
};

struct BlockOutcome {
  enum Kind : uint8_t { Next, Exit, MemFault, Trap, CodeWrite };
  Kind kind;
  int8_t succ;        // Next: 0 / 1 = direct successor index, -1 = computed target
  uint8_t exit_kind;  // Exit: ir::ExitKind
  bool write;         // MemFault: store?
  uint32_t inst;      // MemFault/Trap: index of the inst; CodeWrite: index of the store
  uint32_t detail;    // Exit: aux
  uint64_t pc;        // Next: next pc; Exit: its pc operand
  uint64_t addr;      // MemFault / CodeWrite: guest data address
  uint32_t size;      // CodeWrite: bytes written
};

// Runs `b` from inst `start` (0, or the inst after a store that wrote code, see CodeWrite).
// A store into a page holding translations returns CodeWrite after the store has completed so
// the caller can invalidate and then resume the block at inst+1.
BlockOutcome interpret(CachedBlock& b, const InterpEnv& env, uint32_t start = 0);

}  // namespace vmkit
