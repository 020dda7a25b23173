// Tier 0: executes one IR block over its frame. Dispatch is generated from ops.def (a label per
// op, with width-specialised labels for the hottest op/type pairs).
#pragma once

#include <cstdint>

#include "core/block_cache.h"
#include "core/hook_runtime.h"

namespace vmkit {

class SoftMmu;

// Blocks finished while chaining, counted where the execution loop can read them even when a
// host fault leaves the interpreter by longjmp.
struct ChainProgress {
  uint64_t insns = 0;
};

struct InterpEnv {
  uint8_t* state;
  uint8_t* mem_base;
  uint64_t mem_size;
  const ThreadedInst** running;  // where the interpreter records the inst that may fault
  // Chaining: the interpreter goes on into the next block itself (direct successors through the
  // block's links, computed targets through the cache) while the guest instructions of the
  // blocks it finished stay below `budget`, and records the block it runs in *running_block.
  // budget 0 runs one block only; cache and progress are set together.
  BlockCache* cache = nullptr;
  uint64_t budget = 0;
  CachedBlock** running_block = nullptr;
  ChainProgress* progress = nullptr;
  // Hooks: `hook` ops call hooks->code; with hooks->has_mem_hooks() when a block is first run,
  // its loads and stores check the hooked range (blocks lowered before have no checks: the owner
  // drops translations when memory hooks appear).
  HookRuntime* hooks = nullptr;
  // Tiering: chaining stops at a block that has compiled code, or that has run this many times
  // (so the execution loop can compile it).
  uint64_t jit_threshold = UINT64_MAX;
  // System mode: loads and stores go through this software MMU (mem_base/mem_size are unused),
  // and computed jumps do not chain (their target's translation must be checked by the loop).
  SoftMmu* mmu = nullptr;
};

struct BlockOutcome {
  // Hooked: a hook asked to leave the block at inst (its instruction has not completed).
  // Resume: compiled code reached `block`, which has not started (its instructions do not fit in
  // the budget left): the execution loop runs it next.
  enum Kind : uint8_t { Next, Exit, MemFault, Trap, Hooked, Resume };
  Kind kind;
  int8_t succ;        // Next: 0 / 1 = direct successor index, -1 = computed target
  uint8_t exit_kind;  // Exit: ir::ExitKind
  bool write;         // MemFault: store?
  uint32_t inst;      // MemFault/Trap/Exit/Hooked: index (in block->code) of the inst
  uint32_t detail;    // Exit: aux
  uint64_t pc;        // Next: next pc; Exit: its pc operand
  uint64_t addr;      // MemFault: guest data address
  CachedBlock* block;       // the block this outcome is about (the last one chained into)
  uint64_t value = 0;       // MemFault from compiled code: the value a store would have written
  bool from_jit = false;    // (the interpreter's operands are in the block's frame instead)
};

// Runs `b`, then its successors while env allows (see InterpEnv): it chains into a block only if
// that block's guest instructions fit in what is left of env.budget, so a run never exceeds its
// budget. (Stores into translated code fault: see GuestMemory::mark_code.)
BlockOutcome interpret(CachedBlock& b, const InterpEnv& env);

// Builds b's threaded form (b.code) now if it has none: the JIT compiles blocks the interpreter
// can also run, and reports positions in b.code (code_index_of) so both share the execution
// loop's fault and resume paths.
void prepare_block(CachedBlock& b, const InterpEnv& env);
// The first entry of b.code at or after IR inst ir_index (the entry of that inst itself when it is
// a load, store, call, hook or exit: those are never merged away).
uint32_t code_index_of(const CachedBlock& b, uint32_t ir_index);
// The guest instruction containing b.code[code_index] (a memory access), and which of that
// instruction's memory accesses it is (for memory hooks: a slow path).
uint64_t locate_access(const CachedBlock& b, size_t code_index, uint32_t* access_index);

}  // namespace vmkit
