// Integer-side helpers: Zicsr CSR access, store-conditional and the alignment check of atomics.
#include <csignal>
#include <cstdint>
#include <cstring>

#include "core/guest_clock.h"
#include "core/hook_runtime.h"
#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/state.h"
#include "frontend/riscv64/system.h"
#include "mmu/softmmu.h"

namespace vmkit::rv64 {

namespace {

// CSR numbers reachable from user mode on Linux.
constexpr uint32_t kCsrFflags = 0x001;
constexpr uint32_t kCsrFrm = 0x002;
constexpr uint32_t kCsrFcsr = 0x003;
constexpr uint32_t kCsrCycle = 0xC00;
constexpr uint32_t kCsrTime = 0xC01;
constexpr uint32_t kCsrInstret = 0xC02;

// The si_code Linux reports for an illegal opcode (ILL_ILLOPC) and a misaligned address
// (BUS_ADRALN); both are 1, named here because <csignal> need not define them.
constexpr int32_t kIllIllopc = 1;
constexpr int32_t kBusAdraln = 1;

State& st(void* s) { return *static_cast<State*>(s); }

void raise(void* s, int signo, int code, uint64_t addr) { st(s).common.trap.raise(signo, code, addr); }

// System mode: the hart's privileged state (nullptr in user mode).
System* system_of(State& s) { return static_cast<System*>(s.common.system); }

// System mode: an exception for the guest's trap handler.
void raise_arch(State& s, uint32_t cause, uint64_t tval) {
  s.common.trap.pending = kPendingArchTrap;
  s.common.trap.signo = int32_t(cause);
  s.common.trap.code = 0;
  s.common.trap.addr = tval;
}

// An illegal CSR access: SIGILL in user mode, an illegal-instruction exception in system mode.
void raise_illegal(void* state) {
  State& s = st(state);
  if (system_of(s)) raise_arch(s, exc::kIllegal, 0);
  else raise(state, SIGILL, kIllIllopc, 0);
}

// `time` counts the guest clock (core/guest_clock.h) in 100 ns ticks: 10 MHz is the timebase of
// qemu's riscv `virt` machine (the device tree's timebase-frequency), which is what programs that
// scale rdtime values assume.
uint64_t time_ticks() { return guest_clock_ns() / 100; }

// Reads a CSR; false if it does not exist for a user-mode RV64 guest.
bool csr_get(State& s, uint32_t csr, uint64_t& out) {
  if (System* sys = system_of(s)) return sys->csr_read(csr, out);
  switch (csr) {
    case kCsrFflags: out = s.fflags & 0x1f; return true;
    case kCsrFrm: out = s.frm & 7; return true;
    case kCsrFcsr: out = ((s.frm & 7) << 5) | (s.fflags & 0x1f); return true;
    // No cycle-accurate model: a cycle per retired instruction keeps cycle and instret
    // deterministic, which makes runs reproducible.
    case kCsrCycle: out = s.instret; return true;
    case kCsrTime: out = time_ticks(); return true;
    case kCsrInstret: out = s.instret; return true;
  }
  return false;
}

// Writes a writable CSR; false if it is unknown or read-only. frm keeps any 3-bit value: an
// invalid mode (5..7) only traps when a dynamic-rounding instruction uses it.
bool csr_put(State& s, uint32_t csr, uint64_t v) {
  if (System* sys = system_of(s)) return sys->csr_write(csr, v);
  switch (csr) {
    case kCsrFflags: s.fflags = uint32_t(v & 0x1f); return true;
    case kCsrFrm: s.frm = uint32_t(v & 7); return true;
    case kCsrFcsr:
      s.fflags = uint32_t(v & 0x1f);
      s.frm = uint32_t((v >> 5) & 7);
      return true;
  }
  return false;
}

// The read-modify-write shared by csrrw/csrrs/csrrc: returns the old value, or traps.
template <class Combine>
uint64_t csr_modify(void* state, uint64_t csr, uint64_t operand, Combine combine) {
  State& s = st(state);
  uint64_t old;
  if (!csr_get(s, uint32_t(csr), old) || !csr_put(s, uint32_t(csr), combine(old, operand))) {
    raise_illegal(state);
    return 0;
  }
  return old;
}

// The store of a store-conditional whose reservation holds: a compare-and-swap against the value
// LR loaded. Returns SC's result (0: stored, 1: failed).
uint64_t sc_store(uint8_t* host, uint32_t bits, uint64_t reserved_value, uint64_t value) {
  if (bits == 32) {
    // The store happens if the word still holds the low half of what the LR loaded; success is
    // reported only if, sign-extended, it equals all 64 bits of it. The two differ only for an
    // SC.W paired with an LR.D (the ISA leaves that case open); this is qemu's behaviour, kept so
    // that the two agree.
    uint32_t expected = uint32_t(reserved_value);
    if (!__atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(host), &expected, uint32_t(value), false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return 1;
    return int64_t(int32_t(expected)) == int64_t(reserved_value) ? 0 : 1;
  }
  uint64_t expected = reserved_value;
  return __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(host), &expected, value, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)
             ? 0
             : 1;
}

}  // namespace

uint64_t helper_csr_read(void* state, uint64_t csr, uint64_t, uint64_t, uint32_t) {
  uint64_t v;
  if (!csr_get(st(state), uint32_t(csr), v)) {
    raise_illegal(state);
    return 0;
  }
  return v;
}

uint64_t helper_csr_write(void* state, uint64_t csr, uint64_t v, uint64_t, uint32_t) {
  return csr_modify(state, csr, v, [](uint64_t, uint64_t x) { return x; });
}

uint64_t helper_csr_set(void* state, uint64_t csr, uint64_t v, uint64_t, uint32_t) {
  return csr_modify(state, csr, v, [](uint64_t old, uint64_t x) { return old | x; });
}

uint64_t helper_csr_clear(void* state, uint64_t csr, uint64_t v, uint64_t, uint32_t) {
  return csr_modify(state, csr, v, [](uint64_t old, uint64_t x) { return old & ~x; });
}

// imm = size in bytes, plus kAlignLr for LR (a load; AMOs are stores): system mode raises the
// matching misaligned-address exception.
// System mode also checks an AMO's store permission here, before its load: an AMO to a page it
// may not write raises a store/AMO fault (cause 15 or 7) even when the page is readable or absent,
// as the privileged spec has it, not the load fault its first access would give.
uint64_t helper_check_align(void* state, uint64_t addr, uint64_t, uint64_t, uint32_t imm) {
  const uint32_t size = imm & ~kAlignLr;
  State& s = st(state);
  if (addr & (size - 1)) {
    if (system_of(s)) raise_arch(s, imm & kAlignLr ? exc::kLoadMisaligned : exc::kStoreMisaligned, addr);
    else raise(state, SIGBUS, kBusAdraln, addr);
    return 0;
  }
  if (SoftMmu* mmu = s.common.mmu; mmu && !(imm & kAlignLr)) mmu->atomic_target(addr, size);
  return 0;
}

// sfence.vma: a = rs1's value, b = rs2's value; imm bit 0: rs1 is not x0, bit 1: rs2 is not x0.
uint64_t helper_sfence_vma(void* state, uint64_t va, uint64_t asid, uint64_t, uint32_t imm) {
  State& s = st(state);
  System* sys = system_of(s);
  if (!sys) {
    raise(state, SIGILL, kIllIllopc, 0);  // a privileged instruction in user mode
    return 0;
  }
  if (!sys->sfence_vma(imm & 1, va, imm & 2, asid)) raise_arch(s, exc::kIllegal, 0);
  return 0;
}

// Store-conditional, as qemu-riscv64 does it: without a reservation for exactly this address it
// fails without touching memory (so no fault either); otherwise it succeeds iff memory still
// holds the value LR loaded, and stores with a compare-and-swap. The reservation is always
// cleared. A host fault in the compare-and-swap (page unmapped or made read-only since the LR)
// is turned into a precise guest MemFault by the Cpu's SIGSEGV handler.
// A successful SC is reported to memory hooks as a write (before the store, as stores are; pc
// = the SC): a hook that asks to leave gets the SC undone, reservation kept, to be completed
// (see HookSet::complete_stopped_insn).
uint64_t helper_sc(void* state, uint64_t addr, uint64_t value, uint64_t pc, uint32_t bits) {
  State& s = st(state);
  bool reserved = s.res_addr == addr;
  s.res_addr = kNoReservation;
  const uint64_t bytes = bits / 8;
  if (SoftMmu* mmu = s.common.mmu) {
    // System mode: a misaligned SC raises its exception; one without a reservation fails without
    // touching memory; otherwise the target goes through the MMU (a store/AMO fault, or a code
    // write the loop replays with the reservation given back).
    if (addr & (bytes - 1)) {
      raise_arch(s, exc::kStoreMisaligned, addr);
      return 0;
    }
    if (!reserved) return 1;
    uint8_t* host = mmu->atomic_target(addr, unsigned(bytes));
    if (!host) {
      if (s.common.trap.pending == kPendingCodeWrite) s.res_addr = addr;
      return 0;
    }
    return sc_store(host, bits, s.res_value, value);
  }
  if (!reserved || addr & (bytes - 1) || addr >= s.common.mem_size || s.common.mem_size - addr < bytes)
    return 1;
  uint8_t* host = s.common.mem_base + addr;
  HookRuntime* rt = s.common.hooks;
  if (rt && rt->has_mem_hooks() && addr + bytes - 1 >= rt->mem_lo && addr <= rt->mem_hi) {
    uint64_t current = 0;
    std::memcpy(&current, host, bytes);
    uint64_t mask = bits == 32 ? 0xffffffffull : ~0ull;
    if ((current & mask) == (s.res_value & mask)) {  // the SC will store
      rt->access_index = 0;
      if (rt->mem(rt, MemAccess::Write, pc, addr, uint32_t(bytes), value & mask) != HookAction::Continue) {
        s.res_addr = addr;
        s.common.trap.pending = kPendingHookLeave;
        return 0;
      }
    }
  }
  return sc_store(host, bits, s.res_value, value);
}

}  // namespace vmkit::rv64
