// Integer-side helpers: system registers, store-exclusive and the alignment check of atomics.
#include <csignal>
#include <cstdint>
#include <cstring>

#include "core/guest_clock.h"
#include "core/hook_runtime.h"
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/state.h"

namespace vmkit::a64 {

namespace {

// si_codes Linux reports: ILL_ILLOPC for an undefined instruction, BUS_ADRALN for misalignment.
constexpr int32_t kIllIllopc = 1;
constexpr int32_t kBusAdraln = 1;

State& st(void* s) { return *static_cast<State*>(s); }

void raise(void* s, int signo, int code, uint64_t addr) { st(s).common.trap.raise(signo, code, addr); }

// The generic timer as qemu-aarch64 presents it to user mode: 62.5 MHz (1 GHz / 16), counting
// the guest clock (core/guest_clock.h: host CLOCK_MONOTONIC).
constexpr uint64_t kCntFrq = 62'500'000;
uint64_t counter() { return guest_clock_ns() / 16; }

}  // namespace

// Registers that need more than a get or put of the state (those are lifted directly). What
// Linux lets EL0 read: CTR_EL0 (cache line sizes: 64-byte lines, as a Cortex-A72 reports),
// DCZID_EL0 (DC ZVA block), the virtual counter and its frequency. MIDR_EL1 and the other ID
// registers are readable only with HWCAP_CPUID, which vmkit does not advertise: SIGILL, as on
// such a kernel.
uint64_t helper_sysreg_read(void* state, uint64_t reg, uint64_t, uint64_t, uint32_t) {
  switch (uint32_t(reg)) {
    case kSysCtrEl0: return 0x8444c004;
    case kSysDczidEl0: return 4;  // log2(64 bytes / 4)
    case kSysCntfrqEl0: return kCntFrq;
    case kSysCntvctEl0: return counter();
  }
  raise(state, SIGILL, kIllIllopc, 0);
  return 0;
}

uint64_t helper_check_align(void* state, uint64_t addr, uint64_t, uint64_t, uint32_t size) {
  if (addr & (size - 1)) raise(state, SIGBUS, kBusAdraln, addr);
  return 0;
}

// Store-exclusive (stxr, stlxr, stxp, stlxp), much as qemu-aarch64 does it: without a reservation
// of exactly this address and size it fails without touching memory (qemu checks the address
// only; a size that differs from the load-exclusive's is CONSTRAINED UNPREDICTABLE, and failing
// is one of the allowed outcomes); otherwise it succeeds iff
// memory still holds what the load-exclusive loaded, and stores (a compare-and-swap, so a
// process sharing the memory sees one atomic store; a pair of 8-byte values is compared and
// stored as two halves: guest threads run on one host thread, so none can run in between). The
// reservation is always cleared. A host fault (the page was unmapped or made read-only since the
// load) becomes a precise guest fault through the Cpu's SIGSEGV handler. A store that will
// happen is reported to memory hooks first, as stores are; a hook that asks to leave gets it
// undone, reservation kept, to be completed (HookSet::complete_stopped_insn).
uint64_t helper_store_exclusive(void* state, uint64_t addr, uint64_t lo, uint64_t hi, uint32_t imm) {
  State& s = st(state);
  const bool pair = imm & 0x80;
  const uint64_t each = imm & 0x7f, bytes = pair ? 2 * each : each;
  const bool reserved = s.excl_size == bytes && s.excl_addr == addr;
  s.excl_size = 0;
  if (!reserved || addr >= s.common.mem_size || s.common.mem_size - addr < bytes) return 1;
  uint8_t* host = s.common.mem_base + addr;
  const uint64_t mask = each == 8 ? ~0ull : (1ull << (8 * each)) - 1;
  uint64_t now[2] = {0, 0};
  std::memcpy(&now[0], host, each);
  if (pair) std::memcpy(&now[1], host + each, each);
  const bool same = (now[0] & mask) == (s.excl_value[0] & mask) && (!pair || (now[1] & mask) == (s.excl_value[1] & mask));
  if (!same) return 1;
  HookRuntime* rt = s.common.hooks;
  if (rt && rt->has_mem_hooks() && addr + bytes - 1 >= rt->mem_lo && addr <= rt->mem_hi) {
    rt->access_index = 0;
    uint64_t shown = pair && each == 4 ? (lo & mask) | (hi & mask) << 32 : lo & mask;
    if (rt->mem(rt, MemAccess::Write, s.pc, addr, uint32_t(pair && each == 8 ? 8 : bytes), shown) != HookAction::Continue) {
      s.excl_size = uint32_t(bytes);
      s.common.trap.pending = kPendingHookLeave;
      return 0;
    }
  }
  auto cas = [](uint8_t* p, uint64_t expected, uint64_t value, uint64_t size) {
    switch (size) {
      case 1: { uint8_t e = uint8_t(expected); return __atomic_compare_exchange_n(p, &e, uint8_t(value), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
      case 2: { uint16_t e = uint16_t(expected); return __atomic_compare_exchange_n(reinterpret_cast<uint16_t*>(p), &e, uint16_t(value), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
      case 4: { uint32_t e = uint32_t(expected); return __atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(p), &e, uint32_t(value), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
      default: { uint64_t e = expected; return __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(p), &e, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
    }
  };
  if (pair && each == 4)  // one 8-byte word
    return cas(host, (now[0] & mask) | (now[1] & mask) << 32, (lo & mask) | (hi & mask) << 32, 8) ? 0 : 1;
  if (!cas(host, now[0], lo, each)) return 1;
  if (pair && !cas(host + each, now[1], hi, each)) return 1;
  return 0;
}

}  // namespace vmkit::a64
