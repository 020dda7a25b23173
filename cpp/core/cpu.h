// The execution loop for one guest CPU: looks blocks up in the block cache (translating on a
// miss), runs them with the interpreter, follows direct successors without returning, and stops
// only for what its caller must handle (a syscall, a breakpoint, a fault, a trap, a budget).
#pragma once

#include <csetjmp>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/block_cache.h"
#include "interp/interpreter.h"
#include "frontend/frontend.h"
#include "mmu/guest_memory.h"

namespace vmkit {

enum class StopReason {
  Syscall,      // pc = the syscall instruction
  Breakpoint,   // pc = the breakpoint instruction
  IllegalInsn,  // pc = the instruction; insn/insn_len = its bytes
  FetchFault,   // pc = addr = the address that could not be fetched
  MemFault,     // pc = the faulting instruction; addr = the data address; write = store?
  Trap,         // a helper raised signo/code at pc (addr = si_addr)
  Limit,        // the instruction budget of run() was used up; pc = next instruction
};
const char* stop_reason_name(StopReason r);

struct Stop {
  StopReason reason;
  uint64_t pc = 0;
  uint64_t addr = 0;
  uint32_t insn = 0;
  uint8_t insn_len = 0;
  bool write = false;
  int signo = 0;
  int code = 0;
};

struct CpuStats {
  uint64_t blocks_translated = 0;
  uint64_t blocks_executed = 0;
  uint64_t insns_executed = 0;
  uint64_t invalidations = 0;
};

class Cpu {
 public:
  Cpu(const Frontend& fe, GuestMemory& mem);
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  const Frontend& frontend() const { return fe_; }
  GuestMemory& memory() { return mem_; }
  uint8_t* state() { return state_.data(); }
  template <class S> S& state_as() { return *reinterpret_cast<S*>(state_.data()); }
  uint64_t pc() const;
  void set_pc(uint64_t pc);

  // Runs from pc() until something needs the caller (see StopReason). On return, the guest state
  // is exact: every instruction before stop.pc has completed, none after it has started.
  Stop run(uint64_t max_insns = ~0ull);

  // Drops translations of guest code in [addr, addr+len) (all of them with the defaults).
  void invalidate(uint64_t addr = 0, uint64_t len = ~0ull);

  // Translates (without running) the block at pc, for inspection.
  ir::Block translate(uint64_t pc) const;

  const CpuStats& stats() const { return stats_; }
  size_t cached_blocks() const { return cache_.size(); }
  unsigned max_block_insns = 64;
  // Check every translated block with ir::verify (tests turn this on).
  bool verify_ir = false;
  // Run the block optimiser (ir/passes.h) on each new translation.
  bool optimize_ir = true;

  // Interpreter entry points use these while a block runs (for precise faults).
  struct Running {
    CachedBlock* block = nullptr;
    const ThreadedInst* inst = nullptr;
    ChainProgress progress;  // blocks the interpreter finished while chaining (see InterpEnv)
  };
  Running running_;

 private:
  friend struct FaultRecovery;
  CachedBlock* lookup(uint64_t pc);
  Stop run_blocks(uint64_t max_insns);
  void take_progress();
  Stop finish(Stop s, uint64_t completed_in_block);

  const Frontend& fe_;
  GuestMemory& mem_;
  std::vector<uint8_t> state_;
  BlockCache cache_;
  CpuStats stats_;
  uint64_t executed_ = 0;  // guest instructions completed in the current run()
  sigjmp_buf fault_jmp_;
  uint64_t fault_addr_ = 0;
  bool fault_write_ = false;
};

}  // namespace vmkit
