// System mode as the execution loop sees it: what a CPU needs from the machine's privileged
// architecture (its traps, its address translation) beyond what user mode needs. The loop stays
// architecture-neutral; rv64::System implements this for RISC-V.
//
// In system mode nothing the guest does stops the loop on its own account: a system call, a
// breakpoint, an illegal instruction or a page fault is a trap into the guest's own handler, which
// the SystemCore delivers and the loop then simply continues. The loop stops only for its caller:
// a budget, a hook, a WFI with nothing to do, or a request from the core (power-off, say).
#pragma once

#include <cstdint>

#include "frontend/frontend.h"
#include "mmu/softmmu.h"

namespace vmkit {

// Guest events at the end of a block (or inside one, for traps), in the order the loop meets them.
enum class SystemEvent : uint8_t {
  Ecall,        // pc = the instruction
  Breakpoint,   // pc = the instruction
  IllegalInsn,  // pc = the instruction; detail = its bits
  FetchFault,   // pc = the address that could not be fetched
  ArchTrap,     // a helper or the MMU raised an exception: detail = cause, addr = trap value; pc = instruction
  Xret,         // pc = the return instruction (sret/mret), detail = its bits
  Wfi,          // pc = the instruction after it
  Resync,       // pc = the next instruction: state that shapes translation or interrupts changed
};

class SystemCore {
 public:
  virtual ~SystemCore() = default;
  virtual SoftMmu& mmu() = 0;
  // Instruction bytes as the current fetch regime sees them (through the MMU). The loop
  // translates through this and reads back which physical pages the block came from.
  virtual MmuCodeSource& code() = 0;
  // What a translation at virtual pc depends on besides pc itself, now: the physical page and the
  // mode bits the lifted code assumes. false: pc cannot be fetched now (the translation of it is
  // then a fetch fault).
  virtual bool code_key(uint64_t pc, uint64_t& key) = 0;
  // Handles an event: delivers a trap, returns from one, ... and leaves the guest state's pc at
  // where execution goes on. Returns false when the run must stop (the caller looks at why).
  virtual bool on_event(SystemEvent event, uint64_t pc, uint64_t detail, uint64_t addr) = 0;
  // Takes an enabled pending interrupt now, if there is one (block boundaries only).
  virtual void check_interrupts() = 0;
  // Guest instructions completed so far (for the instruction and cycle counters): the loop
  // keeps it current at block boundaries.
  uint64_t retired = 0;
};

}  // namespace vmkit
