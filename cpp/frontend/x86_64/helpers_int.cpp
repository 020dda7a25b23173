// Integer-side helpers: division (with its #DE) and the time-stamp counter.
#include <csignal>
#include <cstdint>

#include "core/guest_clock.h"
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

constexpr int32_t kFpeIntdiv = 1;  // FPE_INTDIV: what Linux reports for #DE

State& st(void* s) { return *static_cast<State*>(s); }

void raise_divide_error(void* s) { st(s).common.trap.raise(SIGFPE, kFpeIntdiv, 0); }

}  // namespace

// div/idiv of every width: the dividend is rdx:rax (edx:eax, dx:ax, or ax for bytes), the
// quotient goes to rax (al), the remainder to rdx (ah). A zero divisor or a quotient that does not
// fit raises #DE, with nothing written.
uint64_t helper_div(void* state, uint64_t divisor, uint64_t, uint64_t, uint32_t imm) {
  State& s = st(state);
  const unsigned bytes = imm & 0x7f, w = 8 * bytes;
  const bool is_signed = imm & 0x80;
  const uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
  divisor &= mask;
  if (divisor == 0) {
    raise_divide_error(state);
    return 0;
  }
  unsigned __int128 hi, lo;
  if (bytes == 1) {
    hi = (s.r[RAX] >> 8) & 0xff;
    lo = s.r[RAX] & 0xff;
  } else {
    hi = s.r[RDX] & mask;
    lo = s.r[RAX] & mask;
  }
  const unsigned __int128 dividend = (hi << w) | lo;
  unsigned __int128 q, r;
  if (is_signed) {
    const __int128 n = __int128(dividend << (128 - 2 * w)) >> (128 - 2 * w);  // sign-extend 2w bits
    const __int128 d = __int128(int64_t(divisor << (64 - w)) >> (64 - w));
    // The one 128-bit division C++ leaves undefined, INT128_MIN / -1 (rdx:rax = 2^127 by -1),
    // traps on x86 too: its quotient does not fit 64 bits.
    if (d == -1 && n == -(__int128(1) << 126) * 2) {
      raise_divide_error(state);
      return 0;
    }
    const __int128 sq = n / d, sr = n % d;
    const __int128 limit = __int128(1) << (w - 1);
    if (sq >= limit || sq < -limit) {
      raise_divide_error(state);
      return 0;
    }
    q = (unsigned __int128)sq;
    r = (unsigned __int128)sr;
  } else {
    q = dividend / divisor;
    r = dividend % divisor;
    if (q > mask) {
      raise_divide_error(state);
      return 0;
    }
  }
  const uint64_t qv = uint64_t(q) & mask, rv = uint64_t(r) & mask;
  switch (bytes) {
    case 1: s.r[RAX] = (s.r[RAX] & ~0xffffull) | (rv << 8) | qv; break;
    case 2:
      s.r[RAX] = (s.r[RAX] & ~0xffffull) | qv;
      s.r[RDX] = (s.r[RDX] & ~0xffffull) | rv;
      break;
    case 4:  // 32-bit writes zero-extend
      s.r[RAX] = qv;
      s.r[RDX] = rv;
      break;
    default:
      s.r[RAX] = qv;
      s.r[RDX] = rv;
      break;
  }
  return 0;
}

// #GP, as a user-level privileged instruction raises it: Linux sends SIGSEGV with SI_KERNEL and
// no address.
uint64_t helper_general_protection(void* state, uint64_t, uint64_t, uint64_t, uint32_t) {
  st(state).common.trap.raise(SIGSEGV, 0x80 /* SI_KERNEL */, 0);
  return 0;
}

// The time-stamp counter: the guest clock (core/guest_clock.h) in nanoseconds, a 1 GHz invariant TSC.
uint64_t helper_rdtsc(void*, uint64_t, uint64_t, uint64_t, uint32_t) { return guest_clock_ns(); }

}  // namespace vmkit::x64
