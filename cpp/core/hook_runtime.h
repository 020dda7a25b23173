// The interface between instrumented guest code (the interpreter's hook and checked-memory
// handlers; the JIT's calls later) and whoever owns the hooks (vmkit::Machine). Translated code
// knows only this: which kind of event happened where. Which user hooks match, in what order, and
// what they may do is the owner's business.
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace vmkit {

enum class MemAccess : uint32_t { Read = 1, Write = 2, Fetch = 4 };

// What instrumented code does after the hooks of an event ran.
enum class HookAction : uint32_t {
  Continue,  // go on
  Leave,     // leave the block: the run stops, or resumes at the guest state's pc (which a hook
             // may have changed); the owner knows which
};

struct HookRuntime {
  // A `hook` op: kind Code before the instruction at pc (size = its length), kind Block before a
  // block's first instruction (size = the block's bytes). Guest state is exact, except pc, which
  // the callee sets from the argument.
  HookAction (*code)(HookRuntime* rt, ir::HookKind kind, uint64_t pc, uint32_t size) = nullptr;
  // A guest load (after it, value = what was read) or store (before it, value = what will be
  // written) that overlaps [mem_lo, mem_hi]; pc = the instruction.
  HookAction (*mem)(HookRuntime* rt, MemAccess access, uint64_t pc, uint64_t addr, uint32_t size,
                    uint64_t value) = nullptr;
  // The union of all memory hook ranges (inclusive); empty when mem_lo > mem_hi. Translations
  // made while it is empty have no checks at all.
  uint64_t mem_lo = 1, mem_hi = 0;
  // Set before each mem call: which of its instruction's memory accesses this is (0, 1, ...), so
  // the owner can complete an instruction it stopped in without repeating the calls it made.
  uint32_t access_index = 0;
  // While an instruction runs again from its start after its first run was cut short (a hook
  // stopped it, or its store into translated code faulted): its accesses with an index below this
  // already made their calls, which the owner does not repeat. 0 otherwise.
  uint32_t replayed_accesses = 0;
  void* owner = nullptr;  // for the callbacks
  bool has_mem_hooks() const { return mem_lo <= mem_hi; }
  // Whether an access of `size` bytes at addr overlaps that range (and so calls `mem`).
  bool mem_hooked(uint64_t addr, uint64_t size) const { return addr + size - 1 >= mem_lo && addr <= mem_hi; }
};

}  // namespace vmkit
