// Fields every guest state starts with, at offset 0: the execution loop and helpers use them
// without knowing the guest architecture.
#pragma once

#include <cstdint>

namespace vmkit {

// A synchronous trap requested by a helper (a `call` op): the interpreter stops the block at the
// instruction that called the helper and reports the trap to whoever runs the CPU.
// pending == kPendingHookLeave: not a trap; a memory hook called by the helper asked to leave
// (see HookRuntime), and the helper left its instruction undone.
constexpr uint32_t kPendingHookLeave = 2;
// System mode: an architectural exception for the guest's own trap handler (signo = the
// architecture's cause number, addr = its trap value), raised by a helper or the software MMU.
constexpr uint32_t kPendingArchTrap = 3;
// System mode: a store met a physical page holding translations (see SoftMmu). The store has not
// happened; the execution loop drops the page's translations and runs the instruction again.
constexpr uint32_t kPendingCodeWrite = 4;
// System mode: a device write asked the machine to stop (power-off, say). The instruction has
// completed; the run stops after it.
constexpr uint32_t kPendingStop = 5;

struct PendingTrap {
  uint32_t pending = 0;   // nonzero: a trap is pending
  int32_t signo = 0;      // Linux user mode: the signal to deliver (SIGILL, SIGFPE, SIGSEGV, ...)
  int32_t code = 0;       // si_code
  uint32_t pad = 0;
  uint64_t addr = 0;      // faulting address (si_addr)

  // Requests the trap. addr 0 lets the Cpu report the instruction's pc (what Linux gives for
  // SIGILL, and the address-less #GP/#DE).
  void raise(int sig, int si_code, uint64_t fault_addr) {
    pending = 1;
    signo = sig;
    code = si_code;
    addr = fault_addr;
  }
};

struct HookRuntime;
class SoftMmu;

// Touches a byte of guest memory (through its host address) as a write that changes nothing, so a
// helper that writes a range later meets its protection fault here, first and as a write. An
// atomic add of 0 would do on paper, but compilers may turn an unused idempotent read-modify-write
// into a plain load (LLVM does on x86), which faults as a read.
inline void probe_host_write(uint8_t* p) {
#if defined(__x86_64__)
  asm volatile("lock orb $0, %0" : "+m"(*p) : : "memory");
#else
  volatile uint8_t* v = p;
  *v = *v;
#endif
}

struct GuestCommon {
  PendingTrap trap;
  uint8_t* mem_base = nullptr;  // host address of guest address 0 (for helpers that touch memory)
  uint64_t mem_size = 0;        // guest addresses at or above this fault
  // The hooks of the running CPU: helpers that access memory themselves report to its memory
  // hooks like loads and stores do (null: none).
  HookRuntime* hooks = nullptr;
  // System mode (both null in user mode): the software MMU that guest virtual addresses go
  // through (for helpers that access memory: store-conditional, say), and the architecture's
  // privileged state machine (rv64::System for RISC-V) for CSR helpers.
  SoftMmu* mmu = nullptr;
  void* system = nullptr;
};

}  // namespace vmkit
