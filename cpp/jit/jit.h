// Tier 1: IR blocks compiled to host code. A compiled block is a function
//   uint32_t block(JitContext* ctx, uint64_t* frame)
// over the block's frame (the slot array it shares with the interpreter); it returns a
// BlockOutcome::Kind and leaves the details in ctx, so the execution loop treats compiled and
// interpreted blocks alike. Positions it reports (code_index) are indexes into the block's
// threaded form (CachedBlock::code), as the interpreter's are.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/block_cache.h"
#include "core/hook_runtime.h"
#include "interp/interpreter.h"
#include "jit/code_cache.h"

namespace vmkit::jit {

constexpr int kMaxAccess = 8;  // bytes of the widest guest access
// Compiled code's spill area for temporaries, at rsp (the entry reserves it).
constexpr int kSpillAreaBytes = 4096;

struct JitContext {
  // inputs
  uint8_t* state = nullptr;
  uint8_t* mem_base = nullptr;
  uint64_t mem_limit = 0;  // the guest range's size less kMaxAccess (the fast address check)
  HookRuntime* hooks = nullptr;
  const BlockCache::Fast* fast_table = nullptr;  // computed targets (jmpi) are looked up here
  // System mode: the software MMU, and the fast table of the regime data accesses use now (it
  // only changes between blocks, where the execution loop sets it again). Compiled code adds
  // every block's loads and stores to mmu_accesses as it enters the block, and its slow path
  // takes back the ones that missed, so the loop can credit the MMU's hits without a count per
  // access.
  SoftMmu* mmu = nullptr;
  void* dtlb = nullptr;
  uint64_t mmu_accesses = 0;
  // System mode: where compiled code continues at `pc` on another page or at a computed target:
  // the compiled body of the block the execution loop would run there now (its translation
  // checked), or nullptr to go back to the loop. `owner` is the Cpu.
  void* (*system_lookup)(JitContext* ctx, uint64_t pc) = nullptr;
  void* owner = nullptr;
  // Guest instructions the run may still execute. Every compiled block subtracts its own count on
  // entry and, when that would go below zero, adds it back and returns Resume without running; so
  // compiled blocks chain into each other (patched direct jumps, see CachedBlock::link_compiled)
  // without returning to the execution loop, and never past the budget.
  uint64_t insns_left = 0;
  // insns_left when the running block, if it loops on itself inside its code, was entered: it
  // counts its runs from the budget it took when it leaves (see CachedBlock::jit_self_loop).
  uint64_t loop_entry_left = 0;
  // outputs (see BlockOutcome)
  CachedBlock* block = nullptr;  // the block the outcome is about (the last one chained into;
                                 // also set before helper calls, for faults inside them)
  uint64_t next_pc = 0;
  uint64_t addr = 0;
  uint64_t value = 0;  // MemFault: the value a store would have written
  uint32_t code_index = 0;  // also set before every access that may fault (precise faults)
  uint32_t detail = 0;
  int32_t succ = 0;
  uint8_t exit_kind = 0;
  uint8_t write = 0;
  uint32_t call_result = 0;  // what a cold path's call returned (see call_preserving)
};

using BlockFn = uint32_t (*)(JitContext* ctx, uint64_t* frame);

// Compiles b (which must have its threaded form, see prepare_block) into `cache`, setting b.jit
// and b.jit_body. With memory hooks in `hooks`, its loads and stores check their range as it is
// now (only accesses in it leave the fast path; the owner drops translations when it changes).
// Returns false when the cache is full (flush and retry).
// With `system`, guest addresses are virtual and go through JitContext::mmu (system mode).
bool compile_block(CachedBlock& b, CodeCache& cache, const HookRuntime* hooks, bool system = false);

}  // namespace vmkit::jit
