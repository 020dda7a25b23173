// Helpers of the x86-64 string and atomic lifters (lift_string.cpp): the loop of a rep-prefixed
// string instruction, and cmpxchg16b's alignment check.
#include <algorithm>
#include <csignal>
#include <cstring>

#include "core/hook_runtime.h"
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/helpers_string.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

constexpr int32_t kSegvMaperr = 1;   // SEGV_MAPERR: an address outside the guest's memory
constexpr int32_t kSiKernel = 0x80;  // SI_KERNEL: what Linux reports for #GP
constexpr uint64_t kPage = 4096;

State& st(void* s) { return *static_cast<State*>(s); }

// One execution of a rep string instruction. Guest memory is touched through its host mapping:
// a host fault (unmapped or protected page) becomes a precise guest fault at the instruction
// through the Cpu's SIGSEGV handler, with the registers as the last completed element left them.
// Each access is reported to memory hooks, numbered from 0 for this execution, so that an
// execution stopped by a hook and run again from the registers it left skips exactly the calls
// already made (HookRuntime::replayed_accesses).
class RepRun {
 public:
  RepRun(State& s, uint64_t pc, unsigned bytes) : s_(s), pc_(pc), bytes_(bytes) {}

  // Each returns false if the access did not happen: a trap is pending (a fault outside guest
  // memory) or a hook asked to leave.
  bool read(uint64_t addr, uint64_t& v) {
    if (!in_memory(addr, bytes_)) return outside(addr);
    v = 0;
    std::memcpy(&v, s_.common.mem_base + addr, bytes_);
    return report(MemAccess::Read, addr, v);
  }
  bool write(uint64_t addr, uint64_t v) {
    if (!in_memory(addr, bytes_)) return outside(addr);
    if (!report(MemAccess::Write, addr, v)) return false;
    std::memcpy(s_.common.mem_base + addr, &v, bytes_);
    return true;
  }

  bool in_memory(uint64_t addr, uint64_t len) const {
    return len <= s_.common.mem_size && addr <= s_.common.mem_size - len;
  }
  // Whether [addr, addr + len) would call a memory hook.
  bool hooked(uint64_t addr, uint64_t len) const {
    const HookRuntime* rt = s_.common.hooks;
    return rt && rt->has_mem_hooks() && rt->mem_hooked(addr, len);
  }
  uint8_t* host(uint64_t addr) const { return s_.common.mem_base + addr; }

 private:
  bool outside(uint64_t addr) {
    s_.common.trap.raise(SIGSEGV, kSegvMaperr, addr);
    return false;
  }
  bool report(MemAccess access, uint64_t addr, uint64_t v) {
    const uint32_t index = next_access_++;
    if (!hooked(addr, bytes_)) return true;
    HookRuntime* rt = s_.common.hooks;
    rt->access_index = index;
    if (rt->mem(rt, access, pc_, addr, bytes_, v) == HookAction::Continue) return true;
    s_.common.trap.pending = kPendingHookLeave;
    return false;
  }

  State& s_;
  uint64_t pc_;
  unsigned bytes_;
  uint32_t next_access_ = 0;
};

// The accumulator written by lods: 8 and 16 bits merge, 32 zero-extends.
void set_accumulator(State& s, unsigned bytes, uint64_t v) {
  if (bytes >= 4) s.r[RAX] = v;
  else s.r[RAX] = (s.r[RAX] & ~((1ull << (8 * bytes)) - 1)) | v;
}

// movs/stos forward (DF = 0) over whole elements within one page of each side at once, where
// no element reads what an earlier one of the chunk wrote and no hook watches: the same result
// as element by element. Probes of the chunk's first element (a read of the source, a write of
// the destination that changes nothing) make a fault happen where the element loop's would, with
// the registers at the chunk's start. Returns the elements done (0: take the element loop).
uint64_t bulk_forward(State& s, RepRun& run, StringKind kind, unsigned bytes, uint64_t src, uint64_t dst,
                      uint64_t count) {
  uint64_t n = count;
  n = std::min(n, (kPage - (dst & (kPage - 1))) / bytes);
  if (kind == kMovs) n = std::min(n, (kPage - (src & (kPage - 1))) / bytes);
  const uint64_t len = n * bytes;
  if (n == 0 || !run.in_memory(dst, len) || run.hooked(dst, len)) return 0;
  if (kind == kMovs) {
    if (!run.in_memory(src, len) || run.hooked(src, len)) return 0;
    if (dst > src && dst - src < len) return 0;  // a pattern-replicating overlap
    (void)*reinterpret_cast<volatile uint8_t*>(run.host(src));
    probe_host_write(run.host(dst));
    std::memmove(run.host(dst), run.host(src), len);
    return n;
  }
  probe_host_write(run.host(dst));
  const uint64_t v = s.r[RAX];
  if (bytes == 1) {
    std::memset(run.host(dst), int(v & 0xff), len);
  } else {
    for (uint64_t i = 0; i < len; i += bytes) std::memcpy(run.host(dst + i), &v, bytes);
  }
  return n;
}

}  // namespace

// A rep/repe/repne string instruction, all its iterations (imm: helpers_string.h; a = the
// source's segment base, b = the instruction's pc). rcx = 0 does nothing. After each element
// rsi/rdi/rcx (esi/edi/ecx under 0x67, zero-extended) and, for scas/cmps, the flags (kCcSub of
// that comparison) are as hardware leaves them; repe/repne stop after a comparison that is
// unequal/equal.
uint64_t helper_rep_string(void* state, uint64_t src_base, uint64_t pc, uint64_t, uint32_t imm) {
  State& s = st(state);
  const unsigned bytes = 1u << (imm & 3);
  const auto kind = StringKind((imm >> kRepKindShift) & 7);
  const auto mode = RepMode((imm >> kRepModeShift) & 3);
  const uint64_t amask = (imm & kRepAddr32) ? 0xffffffffull : ~0ull;
  const uint64_t value_mask = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
  const uint64_t step = s.df ? uint64_t(0) - bytes : bytes;
  const bool uses_src = kind == kMovs || kind == kLods || kind == kCmps;
  const bool uses_dst = kind != kLods;
  RepRun run(s, pc, bytes);
  for (uint64_t count; (count = s.r[RCX] & amask) != 0;) {
    const uint64_t si = s.r[RSI] & amask, di = s.r[RDI] & amask;
    if ((kind == kMovs || kind == kStos) && !s.df) {
      if (uint64_t n = bulk_forward(s, run, kind, bytes, src_base + si, di, count)) {
        if (uses_src) s.r[RSI] = (si + n * bytes) & amask;
        s.r[RDI] = (di + n * bytes) & amask;
        s.r[RCX] = count - n;
        continue;
      }
    }
    uint64_t a = 0, b = 0;
    bool done = true;
    switch (kind) {
      case kMovs: done = run.read(src_base + si, a) && run.write(di, a); break;
      case kStos: done = run.write(di, s.r[RAX] & value_mask); break;
      case kLods: done = run.read(src_base + si, a); break;
      case kScas:
        a = s.r[RAX] & value_mask;
        done = run.read(di, b);
        break;
      case kCmps: done = run.read(src_base + si, a) && run.read(di, b); break;
    }
    if (!done) return 0;  // a trap or a hook's stop: the registers describe this element on
    if (uses_src) s.r[RSI] = (si + step) & amask;
    if (uses_dst) s.r[RDI] = (di + step) & amask;
    s.r[RCX] = count - 1;
    if (kind == kLods) set_accumulator(s, bytes, a);
    if (kind == kScas || kind == kCmps) {
      s.cc_op = cc_op(kCcSub, bytes);
      s.cc_a = a;
      s.cc_b = b;
      s.cc_c = 0;
      if ((mode == kRepE && a != b) || (mode == kRepNe && a == b)) break;
    }
  }
  return 0;
}

// cmpxchg16b's operand must be 16-byte aligned: #GP otherwise (SIGSEGV, SI_KERNEL, address 0).
uint64_t helper_check_align16(void* state, uint64_t addr, uint64_t, uint64_t, uint32_t) {
  if (addr & 15) st(state).common.trap.raise(SIGSEGV, kSiKernel, 0);
  return 0;
}

}  // namespace vmkit::x64
