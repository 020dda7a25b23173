// RISC-V F and D semantics for the helpers listed in helpers_fp.def.
//
// Arithmetic runs on the host FPU with the guest's rounding mode installed (fesetround) and the
// host's exception flags cleared and read back around each operation, so results and accrued
// flags are IEEE 754's, as RISC-V specifies (x86 also detects tininess after rounding, like
// RISC-V). What the host does not do the RISC-V way is fixed up here:
//  - NaN results are always the canonical NaN (RISC-V never propagates payloads);
//  - single-precision operands that are not NaN-boxed read as the canonical NaN;
//  - round-to-nearest-ties-to-max-magnitude (RMM) has no host mode: the operation is computed in
//    a wider format rounded toward zero, and the final rounding to the target is done here;
//  - fmin/fmax, comparisons, classification and float-to-integer conversions follow RISC-V's own
//    rules (saturation, quiet vs signaling compares) and are computed without the host's flags.
// This file is compiled with -frounding-math -ffp-contract=off (see CMakeLists.txt); pin()
// (host_fp.h) additionally keeps each host operation between the mode switch and the flag read.
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "frontend/host_fp.h"
#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/state.h"

namespace vmkit::rv64 {

namespace {

using hostfp::FenvScope;
using hostfp::HostFpScope;
using hostfp::pin;

// fflags bits.
constexpr uint32_t kNV = 16, kDZ = 8, kOF = 4, kUF = 2, kNX = 1;

// Rounding modes (the rm field and frm); RNE is 0.
constexpr uint32_t kRtz = 1, kRdn = 2, kRup = 3, kRmm = 4, kDyn = 7;

// helpers_fp.def: bit 3 of imm selects double precision.
constexpr uint32_t kImmDouble = 8;

// Linux signal numbers as the guest sees them (the same on every Linux architecture).
constexpr int32_t kSigIll = 4;
constexpr int32_t kIllIllOpc = 1;

constexpr uint64_t kBoxBits = 0xffffffff00000000ull;
constexpr uint32_t kCanonicalNaN32 = 0x7fc00000u;
constexpr uint64_t kCanonicalNaN64 = 0x7ff8000000000000ull;

State& state_of(void* s) { return *static_cast<State*>(s); }
bool is_double(uint32_t imm) { return (imm & kImmDouble) != 0; }
constexpr uint64_t sext32(uint32_t v) { return uint64_t(int64_t(int32_t(v))); }

// Per-precision facts: how raw register bits become a host value and back, and the wider host
// format that holds every midpoint between two adjacent values of this one (for RMM).
template <class F>
struct Fmt;

template <>
struct Fmt<float> {
  using Bits = uint32_t;
  using Wide = double;
  static constexpr Bits kQuietBit = 0x00400000u;
  static float in(uint64_t raw) {
    // A value whose upper half is not all ones is not a single-precision value: canonical NaN.
    return std::bit_cast<float>((raw >> 32) == 0xffffffffu ? uint32_t(raw) : kCanonicalNaN32);
  }
  static uint64_t out(float v) {
    return kBoxBits | (std::isnan(v) ? kCanonicalNaN32 : std::bit_cast<uint32_t>(v));
  }
  // The same value re-boxed without canonicalising (fmin/fmax return an operand unchanged).
  static uint64_t bits(float v) { return kBoxBits | std::bit_cast<uint32_t>(v); }
};

template <>
struct Fmt<double> {
  using Bits = uint64_t;
  using Wide = long double;
  static constexpr Bits kQuietBit = 0x0008000000000000ull;
  static double in(uint64_t raw) { return std::bit_cast<double>(raw); }
  static uint64_t out(double v) { return std::isnan(v) ? kCanonicalNaN64 : std::bit_cast<uint64_t>(v); }
  static uint64_t bits(double v) { return std::bit_cast<uint64_t>(v); }
};

// RMM for double precision needs a format with at least 54 significand bits and a wider
// exponent range (x87 extended on x86-64, binary128 on AArch64).
static_assert(std::numeric_limits<long double>::digits >= 55 &&
                  std::numeric_limits<long double>::max_exponent > 1024,
              "RMM rounding of double precision needs a wider long double");

template <class F>
bool is_snan(F v) {
  using Bits = typename Fmt<F>::Bits;
  return std::isnan(v) && (std::bit_cast<Bits>(v) & Fmt<F>::kQuietBit) == 0;
}

void raise_sigill(State& s) { s.common.trap.raise(kSigIll, kIllIllOpc, 0); }

// The instruction's effective rounding mode, or -1 after raising SIGILL for a reserved one
// (static 5/6, or DYN while frm holds 5..7).
int resolve_rm(State& s, uint32_t imm) {
  uint32_t rm = imm & 7;
  if (rm == kDyn) rm = s.frm;
  if (rm > kRmm) {
    raise_sigill(s);
    return -1;
  }
  return int(rm);
}

int host_rounding(int rm) {
  switch (rm) {
    case kRtz: return FE_TOWARDZERO;
    case kRdn: return FE_DOWNWARD;
    case kRup: return FE_UPWARD;
    default: return FE_TONEAREST;  // kRne
  }
}

// The host exceptions (host_fp.h) as RISC-V fflags bits.
uint32_t fflags_of(uint32_t host) {
  return ((host & hostfp::kInvalid) ? kNV : 0) | ((host & hostfp::kDivByZero) ? kDZ : 0) |
         ((host & hostfp::kOverflow) ? kOF : 0) | ((host & hostfp::kUnderflow) ? kUF : 0) |
         ((host & hostfp::kInexact) ? kNX : 0);
}

// Rounds a value to F with round-to-nearest, ties to max magnitude. The exact value v is given
// as its wide-format truncation t (round toward zero in W) and whether that truncation was
// inexact. W holds every midpoint of F and F's whole range, so comparing t against a midpoint or
// the tininess bound gives the same answer as comparing v would. Adds NX/OF/UF to flags.
template <class F, class W>
F round_rmm(W t, bool wide_inexact, uint32_t& flags) {
  if (std::isnan(t) || std::isinf(t)) return F(t);
  const bool negative = std::signbit(t);
  const W mag = std::fabs(t);
  F low;  // mag truncated to F
  {
    FenvScope scope(FE_TOWARDZERO);
    W m = mag;
    pin(m);
    low = F(m);
    pin(low);
  }
  if (W(low) == mag && !wide_inexact) return negative ? -low : low;

  constexpr F kMax = std::numeric_limits<F>::max();
  constexpr F kInf = std::numeric_limits<F>::infinity();
  // Distance from low to the next F away from zero (above the largest finite value the format
  // continues with the same spacing, and a result there overflows to infinity).
  const F spacing = low == kMax ? kMax - std::nextafter(kMax, F(0)) : std::nextafter(low, kInf) - low;
  const W midpoint = W(low) + W(spacing) / 2;
  F result = low;
  if (mag >= midpoint) result = low == kMax ? kInf : std::nextafter(low, kInf);

  flags |= kNX;
  if (std::isinf(result)) flags |= kOF;
  // Tiny after rounding: v rounded to F's precision with unbounded exponent is below the smallest
  // normal, i.e. |v| < min_normal * (1 - 2^-(p+1)) (from there on it rounds up to min_normal).
  const W min_normal = W(std::numeric_limits<F>::min());
  const W tiny_bound = min_normal - std::ldexp(min_normal, -(std::numeric_limits<F>::digits + 1));
  if (mag < tiny_bound) flags |= kUF;
  return negative ? -result : result;
}

// Applies op (a generic callable of three operands) in F with rounding mode rm, or for RMM in
// F's wide format rounded toward zero followed by round_rmm. Adds the exceptions to flags.
template <class F, class Op>
F compute(int rm, Op op, F a, F b, F c, uint32_t& flags) {
  if (rm != int(kRmm)) {
    HostFpScope scope(host_rounding(rm));
    pin(a);
    pin(b);
    pin(c);
    F r = op(a, b, c);
    pin(r);
    flags |= fflags_of(HostFpScope::flags());
    return r;
  }
  using W = typename Fmt<F>::Wide;
  W t;
  uint32_t wide_flags;
  {
    FenvScope scope(FE_TOWARDZERO);
    // Widening is exact, except that it quiets a signaling NaN and raises NV as the operation
    // itself would.
    W wa = a, wb = b, wc = c;
    pin(wa);
    pin(wb);
    pin(wc);
    t = op(wa, wb, wc);
    pin(t);
    wide_flags = fflags_of(FenvScope::flags());
  }
  // W's range covers every result of these operations on F inputs, so the wide operation itself
  // neither overflows nor underflows: only NV, DZ and its inexactness carry over.
  flags |= wide_flags & (kNV | kDZ);
  return round_rmm<F>(t, (wide_flags & kNX) != 0, flags);
}

// The common shape of the arithmetic helpers: decode precision and rm, compute, accrue flags.
template <class Op>
uint64_t arith(void* sp, uint64_t a, uint64_t b, uint64_t c, uint32_t imm, Op op) {
  State& s = state_of(sp);
  int rm = resolve_rm(s, imm);
  if (rm < 0) return 0;
  uint32_t flags = 0;
  uint64_t r;
  if (is_double(imm)) {
    r = Fmt<double>::out(compute<double>(rm, op, Fmt<double>::in(a), Fmt<double>::in(b), Fmt<double>::in(c), flags));
  } else {
    r = Fmt<float>::out(compute<float>(rm, op, Fmt<float>::in(a), Fmt<float>::in(b), Fmt<float>::in(c), flags));
  }
  s.fflags |= flags;
  return r;
}

// RISC-V signals NV for inf * 0 in a fused multiply-add even when the addend is a quiet NaN
// (IEEE leaves that case to the implementation, and hosts differ).
template <class F>
bool fma_inf_times_zero(F a, F b) {
  return (std::isinf(a) && b == 0) || (a == 0 && std::isinf(b));
}

template <class Op>
uint64_t fused(void* sp, uint64_t a, uint64_t b, uint64_t c, uint32_t imm, Op op) {
  State& s = state_of(sp);
  bool imz = is_double(imm) ? fma_inf_times_zero(Fmt<double>::in(a), Fmt<double>::in(b))
                            : fma_inf_times_zero(Fmt<float>::in(a), Fmt<float>::in(b));
  uint64_t r = arith(sp, a, b, c, imm, op);
  if (imz && !s.common.trap.pending) s.fflags |= kNV;
  return r;
}

template <class F>
uint64_t min_max(State& s, F a, F b, bool want_max) {
  if (is_snan(a) || is_snan(b)) s.fflags |= kNV;
  if (std::isnan(a) && std::isnan(b)) return Fmt<F>::out(a);  // canonical NaN
  if (std::isnan(a)) return Fmt<F>::bits(b);
  if (std::isnan(b)) return Fmt<F>::bits(a);
  if (a == b) {
    // Equal values differ only for zeros, where -0 < +0.
    bool pick_a = want_max ? !std::signbit(a) : std::signbit(a);
    return Fmt<F>::bits(pick_a ? a : b);
  }
  bool a_wins = want_max ? a > b : a < b;
  return Fmt<F>::bits(a_wins ? a : b);
}

uint64_t min_max(void* sp, uint64_t a, uint64_t b, uint32_t imm, bool want_max) {
  State& s = state_of(sp);
  return is_double(imm) ? min_max(s, Fmt<double>::in(a), Fmt<double>::in(b), want_max)
                        : min_max(s, Fmt<float>::in(a), Fmt<float>::in(b), want_max);
}

// Rounds to an integral value in the given mode without touching the host's mode or flags
// (trunc/floor/ceil/round are exact operations).
double round_integral(double x, int rm) {
  switch (rm) {
    case kRtz: return std::trunc(x);
    case kRdn: return std::floor(x);
    case kRup: return std::ceil(x);
    case kRmm: return std::round(x);
    default: {
      // Ties to even: round() breaks a tie away from zero; redo ties on x/2 (exact) instead.
      if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
      return std::round(x);
    }
  }
}

// Float-to-integer conversion with RISC-V's saturation: NaN and values above the range give the
// largest integer, values below it the smallest, both with NV (and no NX); an in-range inexact
// conversion raises NX. lo/hi bound the valid rounded values (hi_exclusive for 2^63 and 2^64,
// which are not representable as the integer type).
struct IntRange {
  double lo;
  double hi;
  bool hi_exclusive;
  uint64_t min_result;
  uint64_t max_result;
};

template <class ToInt>
uint64_t to_int(void* sp, uint64_t a, uint32_t imm, const IntRange& range, ToInt convert) {
  State& s = state_of(sp);
  int rm = resolve_rm(s, imm);
  if (rm < 0) return 0;
  // A float widens to double exactly; a signaling NaN only matters through isnan below.
  double x = is_double(imm) ? Fmt<double>::in(a) : double(Fmt<float>::in(a));
  if (std::isnan(x)) {
    s.fflags |= kNV;
    return range.max_result;
  }
  double r = round_integral(x, rm);
  if (r < range.lo) {
    s.fflags |= kNV;
    return range.min_result;
  }
  if (range.hi_exclusive ? r >= range.hi : r > range.hi) {
    s.fflags |= kNV;
    return range.max_result;
  }
  if (r != x) s.fflags |= kNX;
  return convert(r);
}

// Integer-to-float conversion: the host converts in the requested mode; RMM goes through long
// double, which holds every 64-bit integer exactly.
template <class I>
uint64_t from_int(void* sp, I v, uint32_t imm) {
  State& s = state_of(sp);
  int rm = resolve_rm(s, imm);
  if (rm < 0) return 0;
  uint32_t flags = 0;
  uint64_t r;
  auto convert = [&](auto target) {
    using F = decltype(target);
    if (rm == int(kRmm)) {
      long double wide = static_cast<long double>(v);
      return Fmt<F>::out(round_rmm<F>(wide, false, flags));
    }
    HostFpScope scope(host_rounding(rm));
    I src = v;
    pin(src);
    F f = static_cast<F>(src);
    pin(f);
    flags |= fflags_of(HostFpScope::flags());
    return Fmt<F>::out(f);
  };
  r = is_double(imm) ? convert(0.0) : convert(0.0f);
  s.fflags |= flags;
  return r;
}

template <class F>
uint64_t compare(void* sp, uint64_t ra, uint64_t rb, uint32_t imm, bool signaling, bool lt, bool eq) {
  (void)imm;
  State& s = state_of(sp);
  F a = Fmt<F>::in(ra), b = Fmt<F>::in(rb);
  if (std::isnan(a) || std::isnan(b)) {
    if (signaling || is_snan(a) || is_snan(b)) s.fflags |= kNV;
    return 0;
  }
  return (lt && a < b) || (eq && a == b) ? 1 : 0;
}

uint64_t compare(void* sp, uint64_t a, uint64_t b, uint32_t imm, bool signaling, bool lt, bool eq) {
  return is_double(imm) ? compare<double>(sp, a, b, imm, signaling, lt, eq)
                        : compare<float>(sp, a, b, imm, signaling, lt, eq);
}

template <class F>
uint64_t classify(F v) {
  const bool neg = std::signbit(v);
  if (std::isnan(v)) return is_snan(v) ? 1u << 8 : 1u << 9;
  switch (std::fpclassify(v)) {
    case FP_INFINITE: return neg ? 1u << 0 : 1u << 7;
    case FP_ZERO: return neg ? 1u << 3 : 1u << 4;
    case FP_SUBNORMAL: return neg ? 1u << 2 : 1u << 5;
    default: return neg ? 1u << 1 : 1u << 6;
  }
}

}  // namespace

uint64_t helper_fadd(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return arith(s, a, b, c, imm, [](auto x, auto y, auto) { return x + y; });
}
uint64_t helper_fsub(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return arith(s, a, b, c, imm, [](auto x, auto y, auto) { return x - y; });
}
uint64_t helper_fmul(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return arith(s, a, b, c, imm, [](auto x, auto y, auto) { return x * y; });
}
uint64_t helper_fdiv(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return arith(s, a, b, c, imm, [](auto x, auto y, auto) { return x / y; });
}
uint64_t helper_fsqrt(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return arith(s, a, b, c, imm, [](auto x, auto, auto) { return std::sqrt(x); });
}
uint64_t helper_fmin(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  return min_max(s, a, b, imm, false);
}
uint64_t helper_fmax(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  return min_max(s, a, b, imm, true);
}

// The negated forms negate operands, not the result, so the single rounding applies to the
// exact value the instruction defines (directed modes are not symmetric under negation).
uint64_t helper_fmadd(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return fused(s, a, b, c, imm, [](auto x, auto y, auto z) { return std::fma(x, y, z); });
}
uint64_t helper_fmsub(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return fused(s, a, b, c, imm, [](auto x, auto y, auto z) { return std::fma(x, y, -z); });
}
uint64_t helper_fnmsub(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return fused(s, a, b, c, imm, [](auto x, auto y, auto z) { return std::fma(-x, y, z); });
}
uint64_t helper_fnmadd(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return fused(s, a, b, c, imm, [](auto x, auto y, auto z) { return std::fma(-x, y, -z); });
}

uint64_t helper_fcvt_w(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  static constexpr IntRange kRange{-2147483648.0, 2147483647.0, false, sext32(0x80000000u), 0x7fffffffu};
  return to_int(s, a, imm, kRange, [](double r) { return sext32(uint32_t(int32_t(r))); });
}
uint64_t helper_fcvt_wu(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  static constexpr IntRange kRange{0.0, 4294967295.0, false, 0, sext32(0xffffffffu)};
  return to_int(s, a, imm, kRange, [](double r) { return sext32(uint32_t(r)); });
}
uint64_t helper_fcvt_l(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  static constexpr IntRange kRange{-9223372036854775808.0, 9223372036854775808.0, true, 0x8000000000000000ull,
                                   0x7fffffffffffffffull};
  return to_int(s, a, imm, kRange, [](double r) { return uint64_t(int64_t(r)); });
}
uint64_t helper_fcvt_lu(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  static constexpr IntRange kRange{0.0, 18446744073709551616.0, true, 0, ~0ull};
  return to_int(s, a, imm, kRange, [](double r) { return uint64_t(r); });
}

uint64_t helper_fcvt_from_w(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  return from_int(s, int32_t(uint32_t(a)), imm);
}
uint64_t helper_fcvt_from_wu(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  return from_int(s, uint32_t(a), imm);
}
uint64_t helper_fcvt_from_l(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  return from_int(s, int64_t(a), imm);
}
uint64_t helper_fcvt_from_lu(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  return from_int(s, a, imm);
}

uint64_t helper_fcvt_s_d(void* sp, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  State& s = state_of(sp);
  int rm = resolve_rm(s, imm);
  if (rm < 0) return 0;
  double d = Fmt<double>::in(a);
  uint32_t flags = 0;
  float r;
  if (rm == int(kRmm)) {
    if (is_snan(d)) flags |= kNV;
    r = round_rmm<float>(d, false, flags);
  } else {
    HostFpScope scope(host_rounding(rm));
    pin(d);
    r = float(d);
    pin(r);
    flags |= fflags_of(HostFpScope::flags());
  }
  s.fflags |= flags;
  return Fmt<float>::out(r);
}

uint64_t helper_fcvt_d_s(void* sp, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  State& s = state_of(sp);
  // Exact, but the rm field is still checked as for every instruction that has one.
  if (resolve_rm(s, imm) < 0) return 0;
  float f = Fmt<float>::in(a);
  if (is_snan(f)) s.fflags |= kNV;
  return Fmt<double>::out(double(f));
}

uint64_t helper_feq(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  return compare(s, a, b, imm, false, false, true);
}
uint64_t helper_flt(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  return compare(s, a, b, imm, true, true, false);
}
uint64_t helper_fle(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  return compare(s, a, b, imm, true, true, true);
}

uint64_t helper_fclass(void*, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  return is_double(imm) ? classify(Fmt<double>::in(a)) : classify(Fmt<float>::in(a));
}

}  // namespace vmkit::rv64
