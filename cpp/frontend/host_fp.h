// Host floating-point environment control shared by the frontends' FP helpers (riscv64 and
// aarch64 fp_helpers.cpp): an operation runs on the host FPU between a scope that installs the
// guest's rounding mode with clear exception flags and a read of the flags it raised, which
// each frontend maps to its own flag register.
//
// Files using this need -frounding-math -fno-fast-math -ffp-contract=off (see CMakeLists.txt);
// pin() additionally keeps each host operation between the mode switch and the flag read.
#pragma once

#include <cfenv>
#include <cstdint>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace vmkit::hostfp {

// Keeps v in memory at this point of the program: the compiler may neither compute it earlier
// (before the rounding mode is installed) nor later (after the flags are read).
template <class T>
inline void pin(T& v) {
  asm volatile("" : "+m"(v) : : "memory");
}
// v as a value the compiler cannot know (so cannot compute with) before this point.
template <class T>
inline T pinned(T v) {
  pin(v);
  return v;
}

// The IEEE exceptions a host operation raised, independent of any guest's flag layout.
constexpr uint32_t kInvalid = 1, kDivByZero = 2, kOverflow = 4, kUnderflow = 8, kInexact = 16;

// Installs a host rounding mode (FE_*) with clear exception flags through the C fenv interface,
// for operations in any host format (long double included), and puts the host's mode back
// afterwards (the host's sticky flags carry no meaning for vmkit).
class FenvScope {
 public:
  explicit FenvScope(int rounding) : saved_(fegetround()), switched_(rounding != saved_) {
    if (switched_) fesetround(rounding);
    feclearexcept(FE_ALL_EXCEPT);
  }
  ~FenvScope() {
    if (switched_) fesetround(saved_);
  }
  FenvScope(const FenvScope&) = delete;
  FenvScope& operator=(const FenvScope&) = delete;

  // The exceptions raised since the scope began.
  static uint32_t flags() {
    const int e = fetestexcept(FE_ALL_EXCEPT);
    return ((e & FE_INVALID) ? kInvalid : 0) | ((e & FE_DIVBYZERO) ? kDivByZero : 0) |
           ((e & FE_OVERFLOW) ? kOverflow : 0) | ((e & FE_UNDERFLOW) ? kUnderflow : 0) |
           ((e & FE_INEXACT) ? kInexact : 0);
  }

 private:
  int saved_;
  bool switched_;
};

#if defined(__x86_64__)
// The same for operations on float and double only, which x86-64 computes with SSE: the rounding
// mode and flags live in MXCSR, which two instructions save and load (the C fenv calls also
// save and reload the whole x87 environment, several times the cost of the operation itself).
// The scope also clears flush-to-zero and denormals-are-zero, should the host process have set
// them: the guests' own flush rules are applied in software.
class HostFpScope {
 public:
  explicit HostFpScope(int rounding) : saved_(_mm_getcsr()) {
    const unsigned rc = rounding == FE_TOWARDZERO ? 3u
                        : rounding == FE_UPWARD   ? 2u
                        : rounding == FE_DOWNWARD ? 1u
                                                  : 0u;
    _mm_setcsr((saved_ & ~(kFlagBits | kRoundingBits | kFtz | kDaz)) | (rc << 13));
  }
  ~HostFpScope() { _mm_setcsr(saved_); }
  HostFpScope(const HostFpScope&) = delete;
  HostFpScope& operator=(const HostFpScope&) = delete;

  static uint32_t flags() {
    const unsigned e = _mm_getcsr();
    return ((e & 0x01) ? kInvalid : 0) | ((e & 0x04) ? kDivByZero : 0) | ((e & 0x08) ? kOverflow : 0) |
           ((e & 0x10) ? kUnderflow : 0) | ((e & 0x20) ? kInexact : 0);
  }

 private:
  static constexpr unsigned kFlagBits = 0x3f, kRoundingBits = 0x6000, kFtz = 0x8000, kDaz = 0x40;
  unsigned saved_;
};
#else
using HostFpScope = FenvScope;
#endif

}  // namespace vmkit::hostfp
