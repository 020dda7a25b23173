// MXCSR as the SSE helpers use it (helpers_sse_fp.cpp, helpers_sse4.cpp): a guest instruction runs
// as the same host instruction under host_mxcsr(guest), every exception masked, and the flags it
// raised are then folded into the guest's MXCSR with the guest's masks (commit_exceptions), which
// may raise #XM.
#pragma once

#include <signal.h>

#include <cstdint>

#include "frontend/x86_64/state.h"

namespace vmkit::x64::mxcsr {

// Exception flags (bits 0..5), DAZ, the masks (bits 7..12, flag bit i's mask at i + 7), rounding
// control, FTZ.
constexpr uint32_t kIE = 0x01, kDE = 0x02, kZE = 0x04, kOE = 0x08, kUE = 0x10, kPE = 0x20, kFlagBits = 0x3f;
constexpr uint32_t kMaskShift = 7, kMaskBits = kFlagBits << kMaskShift;
constexpr uint32_t kDaz = 0x40, kFtz = 0x8000;
// Invalid, denormal and divide-by-zero are found before the operation computes anything; overflow,
// underflow and precision after (SDM Vol. 1 §11.5.1).
constexpr uint32_t kPreComputation = kIE | kDE | kZE;

inline uint32_t unmasked_exceptions(uint32_t mxcsr) { return ~(mxcsr >> kMaskShift) & kFlagBits; }

// The si_code Linux gives an #XM (arch/x86/kernel/traps.c, fpu__exception_code): from every flag
// of MXCSR whose exception is unmasked, not only the new ones, the first of invalid,
// divide-by-zero, overflow, denormal or underflow, precision.
inline int fpe_code(uint32_t mxcsr) {
  const uint32_t err = unmasked_exceptions(mxcsr) & mxcsr;
  if (err & kIE) return FPE_FLTINV;
  if (err & kZE) return FPE_FLTDIV;
  if (err & kOE) return FPE_FLTOVF;
  if (err & (kDE | kUE)) return FPE_FLTUND;
  if (err & kPE) return FPE_FLTRES;
  return 0;
}

// Folds the exceptions `raised` (with all masked) into the guest's MXCSR as the processor would
// with the guest's masks, and returns whether the result may be written. An unmasked
// pre-computation exception sets the pre-computation flags only (the operation is not carried
// out, so the others are never detected). Any unmasked exception raises #XM and leaves the
// destination as it was.
inline bool commit_exceptions(State& s, uint32_t raised) {
  const uint32_t unmasked = unmasked_exceptions(s.mxcsr);
  if (raised & kPreComputation & unmasked) raised &= kPreComputation;
  s.mxcsr |= raised;
  if (!(raised & unmasked)) return true;
  s.common.trap.raise(SIGFPE, fpe_code(s.mxcsr), 0);
  return false;
}

// The MXCSR a guest instruction runs under on the host: the guest's rounding control, DAZ and
// FTZ with no flag set and every exception masked. FTZ only applies while underflow is masked
// (SDM Vol. 1 §10.2.3.3), so it is dropped when the guest unmasks it: the result then stays
// denormal and shows the underflow.
inline uint32_t host_mxcsr(uint32_t guest) {
  uint32_t csr = (guest & ~kFlagBits) | kMaskBits;
  if (unmasked_exceptions(guest) & kUE) csr &= ~kFtz;
  return csr;
}

}  // namespace vmkit::x64::mxcsr
