// AArch64 scalar floating point for the helpers of helpers_fp.def, with Arm's rules.
//
// Arithmetic runs on the host FPU (SSE on x86-64) with FPCR.RMode installed and the host's
// exception flags cleared and read back around each operation, so results and flags are IEEE
// 754's. Arm's own rules are applied around it:
//  - NaN operands never reach the host: the result is the first signalling NaN operand quieted
//    (IOC), else the first quiet NaN, or the default NaN under FPCR.DN; a NaN the operation
//    creates (invalid) is the default NaN (0x7fc00000 / 0x7ff8000000000000, positive, where x86
//    makes a negative one);
//  - FPCR.FZ: subnormal operands read as zero of their sign (IDC), tiny results are written as
//    zero (UFC, and no IXC);
//  - Arm detects tininess before rounding, x86 after: a result that rounded to the smallest
//    normal is recomputed toward zero to tell;
//  - comparisons, min/max, rounding to integral and the conversions to integers (saturating,
//    NaN -> 0) are computed here without the host's flags.
// Half precision exists for FCVT, FCVTL and FCVTN only (their conversions are done in software; FPCR.AHP, the
// alternative half-precision format, is not implemented: Linux leaves it clear).
//
// This file needs -frounding-math -fno-fast-math -ffp-contract=off (see CMakeLists.txt);
// pinned() (host_fp.h) additionally keeps each host operation between the mode switch and the
// flag read.
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift_vec.h"
#include "frontend/aarch64/state.h"
#include "frontend/host_fp.h"

namespace vmkit::a64 {

using namespace fpimm;

namespace {

// FPSR cumulative exception bits and FPCR controls.
constexpr uint32_t kIOC = 1, kDZC = 2, kOFC = 4, kUFC = 8, kIXC = 16, kIDC = 128;
constexpr uint32_t kFpcrFZ = 1u << 24, kFpcrDN = 1u << 25;

using hostfp::HostFpScope;
using hostfp::pin;
using hostfp::pinned;
// host_fp.h's exception bits are FPSR's cumulative ones, so HostFpScope::flags() is FPSR bits.
static_assert(hostfp::kInvalid == kIOC && hostfp::kDivByZero == kDZC && hostfp::kOverflow == kOFC &&
              hostfp::kUnderflow == kUFC && hostfp::kInexact == kIXC);

int host_rounding(unsigned rounding) {
  switch (rounding) {
    case kPosInf: return FE_UPWARD;
    case kNegInf: return FE_DOWNWARD;
    case kZero: return FE_TOWARDZERO;
    default: return FE_TONEAREST;
  }
}

// The per-call view of the FP environment: FPCR's controls, and the flags raised, which are
// accumulated into FPSR when the helper returns.
struct Env {
  State& s;
  uint32_t fpcr;
  uint32_t flags = 0;
  explicit Env(void* st) : s(*static_cast<State*>(st)), fpcr(s.fpcr) {}
  ~Env() { s.fpsr |= flags; }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  bool fz() const { return fpcr & kFpcrFZ; }
  bool dn() const { return fpcr & kFpcrDN; }
  unsigned rounding() const { return (fpcr >> 22) & 3; }
};

template <class F>
struct Fmt;
template <>
struct Fmt<float> {
  using Bits = uint32_t;
  static constexpr Bits kSign = 0x80000000u, kQuiet = 0x00400000u, kDefaultNaN = 0x7fc00000u;
};
template <>
struct Fmt<double> {
  using Bits = uint64_t;
  static constexpr Bits kSign = 0x8000000000000000ull, kQuiet = 0x0008000000000000ull,
                        kDefaultNaN = 0x7ff8000000000000ull;
};

template <class F>
F from_bits(uint64_t raw) {
  return std::bit_cast<F>(typename Fmt<F>::Bits(raw));
}
template <class F>
uint64_t to_bits(F v) {
  return std::bit_cast<typename Fmt<F>::Bits>(v);
}
template <class F>
F default_nan() {
  return std::bit_cast<F>(Fmt<F>::kDefaultNaN);
}
template <class F>
bool is_snan(F v) {
  return std::isnan(v) && !(to_bits(v) & Fmt<F>::kQuiet);
}
template <class F>
F negate(F v) {  // FPNeg: the sign bit flipped, NaNs included
  return std::bit_cast<F>(typename Fmt<F>::Bits(to_bits(v) ^ Fmt<F>::kSign));
}

// FPUnpack's flush of a subnormal operand under FZ.
template <class F>
F flush_in(Env& e, F v) {
  if (e.fz() && std::fpclassify(v) == FP_SUBNORMAL) {
    e.flags |= kIDC;
    return std::copysign(F(0), v);
  }
  return v;
}

// FPProcessNaN: a NaN operand as a result.
template <class F>
F process_nan(Env& e, F v) {
  if (is_snan(v)) e.flags |= kIOC;
  if (e.dn()) return default_nan<F>();
  return std::bit_cast<F>(typename Fmt<F>::Bits(to_bits(v) | Fmt<F>::kQuiet));
}

// FPProcessNaNs(3): the first signalling NaN, else the first quiet NaN, in operand order.
// Returns false if no operand is a NaN.
template <class F>
bool process_nans(Env& e, std::initializer_list<F> ops, F* out) {
  for (F v : ops)
    if (is_snan(v)) {
      *out = process_nan(e, v);
      return true;
    }
  for (F v : ops)
    if (std::isnan(v)) {
      *out = process_nan(e, v);
      return true;
    }
  return false;
}

// Runs op() (which returns an F computed from pinned operands) on the host in FPCR's rounding
// mode, then applies Arm's rules for created NaNs, tininess and FZ to the result and flags.
template <class F, class Op>
F host_compute(Env& e, Op op) {
  F r;
  uint32_t hf;
  {
    HostFpScope scope(host_rounding(e.rounding()));
    r = op();
    pin(r);
    hf = HostFpScope::flags();
  }
  if (std::isnan(r)) r = default_nan<F>();
  constexpr F kMinNormal = std::numeric_limits<F>::min();
  bool tiny = std::fpclassify(r) == FP_SUBNORMAL || (r == 0 && (hf & kIXC));
  if (!tiny && std::fabs(r) == kMinNormal && (hf & kIXC)) {
    // Rounded up to the smallest normal: tiny before rounding iff its truncation is below it.
    HostFpScope scope(FE_TOWARDZERO);
    F t = op();
    pin(t);
    tiny = std::fabs(t) < kMinNormal;
  }
  if (tiny && e.fz()) {
    r = std::copysign(F(0), r);
    hf = (hf & ~(kIXC | kUFC)) | kUFC;
  } else if (tiny && (hf & kIXC)) {
    hf |= kUFC;
  }
  e.flags |= hf;
  return r;
}

// FPMax / FPMin (and the NM forms, which prefer a number to a quiet NaN).
template <class F>
F min_max(Env& e, F a, F b, bool want_max, bool number) {
  a = flush_in(e, a);
  b = flush_in(e, b);
  if (number) {
    const bool qa = std::isnan(a) && !is_snan(a), qb = std::isnan(b) && !is_snan(b);
    const F away = want_max ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
    if (qa && !qb) a = away;
    else if (!qa && qb) b = away;
  }
  F nan;
  if (process_nans(e, {a, b}, &nan)) return nan;
  if (a == 0 && b == 0) {
    const bool neg = want_max ? (std::signbit(a) && std::signbit(b)) : (std::signbit(a) || std::signbit(b));
    return neg ? -F(0) : F(0);
  }
  return (want_max ? a > b : a < b) ? a : b;
}

template <class F>
F arith(Env& e, unsigned op, F a, F b) {
  if (op >= kMax && op <= kMinNm) return min_max(e, a, b, op == kMax || op == kMaxNm, op >= kMaxNm);
  a = flush_in(e, a);
  b = flush_in(e, b);
  F nan;
  if (process_nans(e, {a, b}, &nan)) return op == kNMul ? negate(nan) : nan;
  switch (op) {
    case kMul: return host_compute<F>(e, [=] { return pinned(a) * pinned(b); });
    case kDiv: return host_compute<F>(e, [=] { return pinned(a) / pinned(b); });
    case kAdd: return host_compute<F>(e, [=] { return pinned(a) + pinned(b); });
    case kSub: return host_compute<F>(e, [=] { return pinned(a) - pinned(b); });
    default: return negate(host_compute<F>(e, [=] { return pinned(a) * pinned(b); }));  // FNMUL: negated after rounding
  }
}

// FPMulAdd(addend, n, m) after the instruction's operand negations.
template <class F>
F fused(Env& e, F n, F m, F addend) {
  n = flush_in(e, n);
  m = flush_in(e, m);
  addend = flush_in(e, addend);
  const bool inf_times_zero = (std::isinf(n) && m == 0) || (n == 0 && std::isinf(m));
  F nan;
  if (process_nans(e, {addend, n, m}, &nan)) {
    if (std::isnan(addend) && !is_snan(addend) && inf_times_zero) {
      e.flags |= kIOC;
      return default_nan<F>();
    }
    return nan;
  }
  return host_compute<F>(e, [=] { return std::fma(pinned(n), pinned(m), pinned(addend)); });
}

// Rounds to an integral value in an Arm rounding (exact operations: no host mode or flags).
double round_integral(double x, unsigned rounding) {
  switch (rounding) {
    case kPosInf: return std::ceil(x);
    case kNegInf: return std::floor(x);
    case kZero: return std::trunc(x);
    case kTieAway: return std::round(x);
    default:
      // Ties to even: round() breaks ties away from zero; redo a tie on x/2 (exact) instead.
      if (std::fabs(x - std::trunc(x)) == 0.5) return 2.0 * std::round(x / 2.0);
      return std::round(x);
  }
}

// FRINT*: N, P, M, Z, A by their rounding; X and I in FPCR's (X also signals inexact).
template <class F>
F round_to_integral(Env& e, F x, unsigned op) {
  x = flush_in(e, x);
  if (std::isnan(x)) return process_nan(e, x);
  if (std::isinf(x) || x == 0) return x;
  static constexpr unsigned kByOp[8] = {kTieEven, kPosInf, kNegInf, kZero, kTieAway, 0, 0, 0};
  const unsigned rounding = (op & 7) >= 6 ? e.rounding() : kByOp[op & 7];
  const F r = F(round_integral(double(x), rounding));
  if ((op & 7) == 6 && r != x) e.flags |= kIXC;  // FRINTX
  return std::copysign(r, x);  // a zero result keeps the operand's sign
}

// ---- half precision (FCVT only) --------------------------------------------------------------

// A half-precision value, exactly, as a double (its NaNs become the corresponding double NaNs).
double half_to_double(uint16_t h) {
  const bool neg = h >> 15;
  const unsigned exp = (h >> 10) & 31, frac = h & 0x3ff;
  double v;
  if (exp == 31) {
    if (!frac) return neg ? -INFINITY : INFINITY;
    return std::bit_cast<double>(uint64_t(neg) << 63 | 0x7ff0000000000000ull | uint64_t(frac) << 42);
  }
  v = exp == 0 ? std::ldexp(double(frac), -24) : std::ldexp(double(frac | 0x400), int(exp) - 25);
  return neg ? -v : v;
}

// A double rounded to half precision in an Arm rounding, with IEEE flags (tininess before
// rounding, as Arm detects it).
uint16_t double_to_half(Env& e, double d, unsigned rounding) {
  const uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  if (std::isnan(d)) {
    if (is_snan(d)) e.flags |= kIOC;
    if (e.dn()) return 0x7e00;
    return uint16_t(sign | 0x7e00 | ((to_bits(d) >> 42) & 0x3ff));
  }
  const double mag = std::fabs(d);
  if (std::isinf(mag)) return sign | 0x7c00;
  if (mag == 0) return sign;
  int exp;
  std::frexp(mag, &exp);  // mag = f * 2^exp, f in [0.5, 1)
  const int unbiased = exp - 1;                       // mag in [2^unbiased, 2^(unbiased+1))
  const int quantum_exp = std::max(unbiased, -14) - 10;  // value of the last significand bit
  const double scaled = std::ldexp(mag, -quantum_exp);    // exact: the significand as an integer + fraction
  const bool negative = sign != 0;
  unsigned dir = rounding;
  if (negative && (dir == kPosInf || dir == kNegInf)) dir = dir == kPosInf ? kNegInf : kPosInf;  // magnitude view
  double sig = dir == kPosInf ? std::ceil(scaled) : dir == kNegInf || dir == kZero ? std::floor(scaled) : round_integral(scaled, rounding == kTieAway ? kTieAway : kTieEven);
  const bool inexact = sig != scaled;
  if (inexact) e.flags |= kIXC;
  if (unbiased < -14 && inexact) e.flags |= kUFC;
  double rounded = std::ldexp(sig, quantum_exp);
  if (rounded >= 65536.0) {  // overflow: infinity, or the largest finite value toward zero
    e.flags |= kOFC | kIXC;
    const bool to_inf = dir == kTieEven || dir == kTieAway || dir == kPosInf;
    return sign | (to_inf ? 0x7c00 : 0x7bff);
  }
  if (rounded == 0) return sign;
  int rexp;
  std::frexp(rounded, &rexp);
  if (rexp - 1 < -14) return uint16_t(sign | unsigned(std::ldexp(rounded, 24)));  // subnormal (or zero)
  const unsigned frac = unsigned(std::ldexp(rounded, -(rexp - 1) + 10)) & 0x3ff;
  return uint16_t(sign | unsigned(rexp - 1 + 15) << 10 | frac);
}

// ---- conversions -------------------------------------------------------------------------------

// An operand of precision p (raw register bits) as a double, exactly, after the FZ flush.
double operand_as_double(Env& e, uint64_t raw, unsigned p) {
  if (p == kDouble) return flush_in(e, from_bits<double>(raw));
  if (p == kSingle) {
    const float f = from_bits<float>(raw);
    if (std::isnan(f)) {  // by bits: the host's widening would quiet a signalling NaN
      const uint64_t bits = uint64_t(raw >> 31 & 1) << 63 | 0x7ff0000000000000ull | uint64_t(raw & 0x7fffff) << 29;
      return std::bit_cast<double>(bits);
    }
    return double(flush_in(e, f));
  }
  return half_to_double(uint16_t(raw));
}

// FPToFixed: x * 2^fbits rounded, saturated to the integer type (NaN: 0), IOC for NaN and out of
// range, IXC for an inexact in-range result.
uint64_t to_int(Env& e, double x, unsigned fbits, unsigned rounding, bool is_unsigned, bool to64) {
  if (std::isnan(x)) {
    e.flags |= kIOC;
    return 0;
  }
  const double v = std::ldexp(x, int(fbits));
  const double r = round_integral(v, rounding);
  const unsigned width = to64 ? 64 : 32;
  const double lo = is_unsigned ? 0.0 : -std::ldexp(1.0, int(width) - 1);
  const double hi = std::ldexp(1.0, int(width) - (is_unsigned ? 0 : 1));  // exclusive
  const uint64_t mask = to64 ? ~0ull : 0xffffffffull;
  if (r < lo) {
    e.flags |= kIOC;
    return is_unsigned ? 0 : uint64_t(int64_t(-1) << (width - 1)) & mask;
  }
  if (r >= hi) {
    e.flags |= kIOC;
    return is_unsigned ? mask : (mask >> 1);
  }
  if (r != v) e.flags |= kIXC;
  return is_unsigned ? uint64_t(r) : uint64_t(int64_t(r)) & mask;
}

// FixedToFP: the integer converted in FPCR's rounding mode (one rounding), then scaled by
// 2^-fbits (exact: the result cannot be subnormal).
template <class F>
F from_int(Env& e, uint64_t v, unsigned fbits, bool is_unsigned, bool from64) {
  F r;
  if (from64) {
    r = is_unsigned ? host_compute<F>(e, [=] { return F(pinned(v)); })
                    : host_compute<F>(e, [=] { return F(pinned(int64_t(v))); });
  } else {
    r = is_unsigned ? host_compute<F>(e, [=] { return F(pinned(uint32_t(v))); })
                    : host_compute<F>(e, [=] { return F(pinned(int32_t(uint32_t(v)))); });
  }
  return fbits ? std::ldexp(r, -int(fbits)) : r;
}

// ---- Advanced SIMD floating point: the same operations lane by lane ----------------------------

// Lane i (of `ebits` bits) of a V register image.
uint64_t lane(const uint64_t (&v)[2], unsigned i, unsigned ebits) {
  if (ebits == 64) return v[i & 1];
  const unsigned bit = i * ebits;
  return (v[bit / 64] >> (bit % 64)) & ((1ull << ebits) - 1);
}
void set_lane(uint64_t (&v)[2], unsigned i, unsigned ebits, uint64_t x) {
  if (ebits == 64) {
    v[i & 1] = x;
    return;
  }
  const unsigned bit = i * ebits, shift = bit % 64;
  const uint64_t mask = ((1ull << ebits) - 1) << shift;
  v[bit / 64] = (v[bit / 64] & ~mask) | ((x << shift) & mask);
}

template <class F>
F fp_abs(F v) {  // FPAbs: the sign bit cleared, NaNs included
  return std::bit_cast<F>(typename Fmt<F>::Bits(to_bits(v) & ~Fmt<F>::kSign));
}

// FPCompareEQ/GE/GT as an all-ones or zero lane: the ordered compares signal IOC for any NaN,
// the equality only for a signalling one.
enum class Cmp { kEq, kGe, kGt };
template <class F>
uint64_t compare_mask(Env& e, F a, F b, Cmp how) {
  a = flush_in(e, a);
  b = flush_in(e, b);
  if (std::isnan(a) || std::isnan(b)) {
    if (how != Cmp::kEq || is_snan(a) || is_snan(b)) e.flags |= kIOC;
    return 0;
  }
  const bool holds = how == Cmp::kEq ? a == b : how == Cmp::kGe ? a >= b : a > b;
  return holds ? (sizeof(F) == 8 ? ~0ull : 0xffffffffull) : 0;
}

// FPMulX: FMUL, except that infinity times zero is 2.0 (of the product's sign), without IOC.
template <class F>
F mul_x(Env& e, F a, F b) {
  a = flush_in(e, a);
  b = flush_in(e, b);
  F nan;
  if (process_nans(e, {a, b}, &nan)) return nan;
  if ((std::isinf(a) && b == 0) || (a == 0 && std::isinf(b)))
    return std::signbit(a) != std::signbit(b) ? F(-2) : F(2);
  return arith(e, kMul, a, b);
}

// FPRecipStepFused (FRECPS: 2 - a * b) and FPRSqrtStepFused (FRSQRTS: (3 - a * b) / 2), each
// with one rounding; infinity times zero gives 2.0 and 1.5.
template <class F>
F step_fused(Env& e, F a, F b, bool rsqrt) {
  a = flush_in(e, negate(a));
  b = flush_in(e, b);
  F nan;
  if (process_nans(e, {a, b}, &nan)) return nan;
  if ((std::isinf(a) && b == 0) || (a == 0 && std::isinf(b))) return rsqrt ? F(1.5) : F(2);
  if (!rsqrt) return host_compute<F>(e, [=] { return std::fma(pinned(a), pinned(b), pinned(F(2))); });
  // (3 + a * b) / 2 as a * (b / 2) + 1.5, halving an operand that halves exactly; when neither
  // does, the product is far below 1.5's precision and halving the rounded sum is exact.
  constexpr F kHalvable = 2 * std::numeric_limits<F>::min();
  if (std::fabs(b) >= kHalvable || std::fabs(a) >= kHalvable) {
    const F x = std::fabs(b) >= kHalvable ? a : b, y = std::fabs(b) >= kHalvable ? b / 2 : a / 2;
    return host_compute<F>(e, [=] { return std::fma(pinned(x), pinned(y), pinned(F(1.5))); });
  }
  return host_compute<F>(e, [=] { return std::fma(pinned(a), pinned(b), pinned(F(3))) / 2; });
}

// One lane of a three-same FP operation (op = U << 4 | a << 3 | opcode & 7; see the lifter).
template <class F>
uint64_t fp3_lane(Env& e, unsigned op, F a, F b, F d) {
  switch (op) {
    case 0x00: return to_bits(arith(e, kMaxNm, a, b));
    case 0x01: return to_bits(fused(e, a, b, d));          // FMLA
    case 0x02: return to_bits(arith(e, kAdd, a, b));
    case 0x03: return to_bits(mul_x(e, a, b));             // FMULX
    case 0x04: return compare_mask(e, a, b, Cmp::kEq);     // FCMEQ
    case 0x06: return to_bits(arith(e, kMax, a, b));
    case 0x07: return to_bits(step_fused(e, a, b, false)); // FRECPS
    case 0x08: return to_bits(arith(e, kMinNm, a, b));
    case 0x09: return to_bits(fused(e, negate(a), b, d));  // FMLS
    case 0x0a: return to_bits(arith(e, kSub, a, b));
    case 0x0e: return to_bits(arith(e, kMin, a, b));
    case 0x0f: return to_bits(step_fused(e, a, b, true));  // FRSQRTS
    case 0x10: return to_bits(arith(e, kMaxNm, a, b));     // FMAXNMP
    case 0x12: return to_bits(arith(e, kAdd, a, b));       // FADDP
    case 0x13: return to_bits(arith(e, kMul, a, b));
    case 0x14: return compare_mask(e, a, b, Cmp::kGe);     // FCMGE
    case 0x15: return compare_mask(e, fp_abs(a), fp_abs(b), Cmp::kGe);  // FACGE
    case 0x16: return to_bits(arith(e, kMax, a, b));       // FMAXP
    case 0x17: return to_bits(arith(e, kDiv, a, b));
    case 0x18: return to_bits(arith(e, kMinNm, a, b));     // FMINNMP
    case 0x1a: return to_bits(fp_abs(arith(e, kSub, a, b)));  // FABD: FPAbs(FPSub), NaNs included
    case 0x1c: return compare_mask(e, a, b, Cmp::kGt);     // FCMGT
    case 0x1d: return compare_mask(e, fp_abs(a), fp_abs(b), Cmp::kGt);  // FACGT
    default: return to_bits(arith(e, kMin, a, b));         // 0x1e FMINP
  }
}

bool fp3_pairwise(unsigned op) { return op == 0x10 || op == 0x12 || op == 0x16 || op == 0x18 || op == 0x1e; }

uint64_t fp3_lane_bits(Env& e, unsigned op, uint64_t a, uint64_t b, uint64_t d, bool dbl) {
  return dbl ? fp3_lane(e, op, from_bits<double>(a), from_bits<double>(b), from_bits<double>(d))
             : fp3_lane(e, op, from_bits<float>(a), from_bits<float>(b), from_bits<float>(d));
}

// ---- reciprocal estimates ------------------------------------------------------------------------

// RecipEstimate and RecipSqrtEstimate of the Arm pseudocode: 8-bit table values (with the
// leading one, 256..511) of fixed-point inputs a in [256, 512) and [128, 512).
unsigned recip_table(unsigned a) {
  a = a * 2 + 1;
  const unsigned b = (1u << 19) / a;
  return (b + 1) / 2;
}
unsigned rsqrt_table(unsigned a) {
  if (a < 256) {
    a = a * 2 + 1;
  } else {
    a = (a >> 1) << 1;
    a = (a + 1) * 2;
  }
  // The largest b with a * b * b < 2^28 (the pseudocode counts up from 512); start just below.
  unsigned b = unsigned(std::sqrt(double(1u << 28) / a));
  b = b > 515 ? b - 3 : 512;
  while (uint64_t(a) * (b + 1) * (b + 1) < (1ull << 28)) ++b;
  return (b + 1) / 2;
}

template <class F>
struct Layout {  // the IEEE fields of F
  static constexpr unsigned kFracBits = sizeof(F) == 8 ? 52 : 23;
  static constexpr int kBias = sizeof(F) == 8 ? 1023 : 127;
  static constexpr uint64_t kExpMask = sizeof(F) == 8 ? 0x7ff : 0xff;
};

constexpr uint64_t kFrac52 = (1ull << 52) - 1;

// The operands both estimates answer without the table: a NaN (processed) and a zero (the
// infinity of its sign, DZC). False for the others.
template <class F>
bool estimate_special(Env& e, F x, uint64_t* out) {
  if (std::isnan(x)) {
    *out = to_bits(process_nan(e, x));
    return true;
  }
  if (x == 0) {
    e.flags |= kDZC;
    *out = to_bits(std::copysign(std::numeric_limits<F>::infinity(), x));
    return true;
  }
  return false;
}

// The operand's fraction as 52 bits and its biased exponent (FPRecipEstimate's view).
template <class F>
void fraction_exponent(F x, uint64_t* fraction, int* exp) {
  using L = Layout<F>;
  const uint64_t raw = to_bits(x);
  *exp = int(raw >> L::kFracBits & L::kExpMask);
  *fraction = (raw & ((1ull << L::kFracBits) - 1)) << (52 - L::kFracBits);
}

// FPRecipEstimate (FRECPE), bit-exact.
template <class F>
uint64_t recip_estimate(Env& e, F x) {
  using L = Layout<F>;
  x = flush_in(e, x);
  if (uint64_t special; estimate_special(e, x, &special)) return special;
  const bool neg = std::signbit(x);
  const F inf = std::numeric_limits<F>::infinity();
  if (std::isinf(x)) return to_bits(neg ? -F(0) : F(0));
  if (std::fabs(x) < std::ldexp(F(1), -(L::kBias + 1))) {  // 1/x overflows
    const unsigned r = e.rounding();
    const bool to_inf = r == kTieEven || (r == kPosInf && !neg) || (r == kNegInf && neg);
    e.flags |= kOFC | kIXC;
    const F big = to_inf ? inf : std::numeric_limits<F>::max();
    return to_bits(neg ? -big : big);
  }
  if (e.fz() && std::fabs(x) >= std::ldexp(F(1), L::kBias - 1)) {  // 1/x would be subnormal
    e.flags |= kUFC;
    return to_bits(neg ? -F(0) : F(0));
  }
  uint64_t fraction;
  int exp;
  fraction_exponent(x, &fraction, &exp);
  if (exp == 0) {
    if (!(fraction >> 51 & 1)) {
      exp = -1;
      fraction = fraction << 2 & kFrac52;
    } else {
      fraction = fraction << 1 & kFrac52;
    }
  }
  int result_exp = 2 * L::kBias - 1 - exp;
  fraction = uint64_t(recip_table(256 | unsigned(fraction >> 44)) & 0xff) << 44;
  if (result_exp == 0) {
    fraction = 1ull << 51 | fraction >> 1;
  } else if (result_exp == -1) {
    fraction = 1ull << 50 | fraction >> 2;
    result_exp = 0;
  }
  return uint64_t(neg) << (sizeof(F) * 8 - 1) | uint64_t(result_exp) << L::kFracBits | fraction >> (52 - L::kFracBits);
}

// FPRSqrtEstimate (FRSQRTE), bit-exact.
template <class F>
uint64_t rsqrt_estimate(Env& e, F x) {
  using L = Layout<F>;
  x = flush_in(e, x);
  if (uint64_t special; estimate_special(e, x, &special)) return special;
  if (std::signbit(x)) {
    e.flags |= kIOC;
    return to_bits(default_nan<F>());
  }
  if (std::isinf(x)) return 0;
  uint64_t fraction;
  int exp;
  fraction_exponent(x, &fraction, &exp);
  if (exp == 0) {  // subnormal: normalised
    while (!(fraction >> 51 & 1)) {
      fraction = fraction << 1 & kFrac52;
      --exp;
    }
    fraction = fraction << 1 & kFrac52;
  }
  const unsigned scaled = exp & 1 ? 128 | unsigned(fraction >> 45) : 256 | unsigned(fraction >> 44);
  const int result_exp = (3 * L::kBias - 1 - exp) / 2;
  const uint64_t estimate = rsqrt_table(scaled) & 0xff;
  return uint64_t(result_exp) << L::kFracBits | estimate << (L::kFracBits - 8);
}

// FPRecpX (FRECPX): the sign, the exponent inverted (the largest finite one for zero and
// subnormals), a zero fraction.
template <class F>
uint64_t recp_x(Env& e, F x) {
  using L = Layout<F>;
  x = flush_in(e, x);
  if (std::isnan(x)) return to_bits(process_nan(e, x));
  const uint64_t raw = to_bits(x), sign = raw & Fmt<F>::kSign;
  const uint64_t exp = raw >> L::kFracBits & L::kExpMask;
  return sign | (exp == 0 ? L::kExpMask - 1 : ~exp & L::kExpMask) << L::kFracBits;
}

// One lane of a two-register FP operation (op = U << 6 | a << 5 | opcode; see the lifter).
template <class F>
uint64_t fp2_lane(Env& e, unsigned op, uint64_t raw) {
  const F x = from_bits<F>(raw);
  const bool dbl = sizeof(F) == 8;
  switch (op) {
    case 0x2f: return raw & ~uint64_t(Fmt<F>::kSign);  // FABS
    case 0x6f: return raw ^ uint64_t(Fmt<F>::kSign);   // FNEG
    case 0x7f: {                                        // FSQRT
      const F v = flush_in(e, x);
      if (std::isnan(v)) return to_bits(process_nan(e, v));
      return to_bits(host_compute<F>(e, [=] { return std::sqrt(pinned(v)); }));
    }
    // FCVT{N,M,A,P,Z}{S,U}: opcode 0x1a N (P with a), 0x1b M (Z with a), 0x1c A.
    case 0x1a: case 0x5a: return to_int(e, double(flush_in(e, x)), 0, kTieEven, op & 0x40, dbl);
    case 0x1b: case 0x5b: return to_int(e, double(flush_in(e, x)), 0, kNegInf, op & 0x40, dbl);
    case 0x1c: case 0x5c: return to_int(e, double(flush_in(e, x)), 0, kTieAway, op & 0x40, dbl);
    case 0x3a: case 0x7a: return to_int(e, double(flush_in(e, x)), 0, kPosInf, op & 0x40, dbl);
    case 0x3b: case 0x7b: return to_int(e, double(flush_in(e, x)), 0, kZero, op & 0x40, dbl);
    case 0x1d: case 0x5d:  // SCVTF, UCVTF
      return to_bits(from_int<F>(e, raw, 0, op & 0x40, dbl));
    // The compares with zero: x > 0, x == 0, 0 > x, x >= 0, 0 >= x.
    case 0x2c: return compare_mask(e, x, F(0), Cmp::kGt);
    case 0x2d: return compare_mask(e, x, F(0), Cmp::kEq);
    case 0x2e: return compare_mask(e, F(0), x, Cmp::kGt);
    case 0x6c: return compare_mask(e, x, F(0), Cmp::kGe);
    case 0x6d: return compare_mask(e, F(0), x, Cmp::kGe);
    case 0x3d: return recip_estimate(e, x);  // FRECPE
    case 0x7d: return rsqrt_estimate(e, x);  // FRSQRTE
    case 0x3f: return recp_x(e, x);          // FRECPX
    // FRINT*, as the scalar 1-source opcodes' low bits: N 0, P 1, M 2, Z 3, A 4, X 6.
    case 0x18: return to_bits(round_to_integral(e, x, 0));  // FRINTN
    case 0x38: return to_bits(round_to_integral(e, x, 1));  // FRINTP
    case 0x19: return to_bits(round_to_integral(e, x, 2));  // FRINTM
    case 0x39: return to_bits(round_to_integral(e, x, 3));  // FRINTZ
    case 0x58: return to_bits(round_to_integral(e, x, 4));  // FRINTA
    case 0x59: return to_bits(round_to_integral(e, x, 6));  // FRINTX
    default: return to_bits(round_to_integral(e, x, 7));    // 0x79 FRINTI
  }
}

// FPConvert of raw bits between precisions (FCVT, FCVTL, FCVTN) in FPCR's rounding.
uint64_t convert_precision(Env& e, uint64_t a, unsigned from, unsigned to) {
  const double x = operand_as_double(e, a, from);
  if (to == kHalf) return double_to_half(e, x, e.rounding());
  if (std::isnan(x)) {
    // FPConvertNaN: the payload's top bits carry over; quieted (IOC if signalling), or DN.
    if (is_snan(x)) e.flags |= kIOC;
    const uint64_t bits = to_bits(x);
    if (to == kDouble) return e.dn() ? Fmt<double>::kDefaultNaN : bits | Fmt<double>::kQuiet;
    if (e.dn()) return Fmt<float>::kDefaultNaN;
    return uint32_t(bits >> 63 << 31) | 0x7fc00000u | uint32_t((bits >> 29) & 0x3fffff);
  }
  if (to == kDouble) return to_bits(x);  // exact
  return to_bits(host_compute<float>(e, [=] { return float(pinned(x)); }));
}

// FCVTXN: double to single rounded to odd (truncated, then the lowest bit set if inexact), so
// that a second rounding of the single to a narrower format is correct.
uint64_t convert_to_odd(Env& e, uint64_t a) {
  const uint32_t saved_fpcr = e.fpcr, saved_flags = e.flags;
  e.fpcr = (e.fpcr & ~(3u << 22)) | kZero << 22;
  e.flags = 0;
  uint64_t r = convert_precision(e, a, kDouble, kSingle);
  if (e.flags & kIXC) r |= 1;  // not after an FZ flush to zero, which clears IXC
  e.fpcr = saved_fpcr;
  e.flags |= saved_flags;
  return r;
}

// FCVTN(2)/FCVTXN(2) (narrowing into the low half, or the high half keeping the low one) and
// FCVTL(2) (widening the low or high half): o.size 3 is single/double, 2 half/single.
void fp_resize(Env& e, const VecOperands& o, unsigned op) {
  const unsigned wide_bits = o.size == 3 ? 64 : 32, narrow_bits = wide_bits / 2;
  const unsigned wide_prec = o.size == 3 ? kDouble : kSingle, narrow_prec = o.size == 3 ? kSingle : kHalf;
  const uint64_t n[2] = {e.s.v[o.n][0], e.s.v[o.n][1]};
  uint64_t r[2] = {0, 0};
  const unsigned lanes = o.scalar ? 1 : 128 / wide_bits;  // of the wide size
  if (op == 0x17) {  // FCVTL: the narrow lanes of Vn's low (Q = 0) or high half
    for (unsigned i = 0; i < lanes; ++i)
      set_lane(r, i, wide_bits, convert_precision(e, lane(n, (o.q ? lanes : 0) + i, narrow_bits), narrow_prec, wide_prec));
    e.s.v[o.d][0] = r[0];
    e.s.v[o.d][1] = r[1];
    return;
  }
  r[0] = o.q ? e.s.v[o.d][0] : 0;
  for (unsigned i = 0; i < lanes; ++i) {
    const uint64_t x = lane(n, i, wide_bits);
    set_lane(r, (o.q ? lanes : 0) + i, narrow_bits, op == 0x56 ? convert_to_odd(e, x) : convert_precision(e, x, wide_prec, narrow_prec));
  }
  e.s.v[o.d][0] = r[0];
  e.s.v[o.d][1] = r[1];
}

// Writes Vd: the high half only for Q = 1 (a scalar or 64-bit result clears it).
void write_result(Env& e, const VecOperands& o, const uint64_t (&r)[2]) {
  e.s.v[o.d][0] = r[0];
  e.s.v[o.d][1] = o.q ? r[1] : 0;
}

}  // namespace

// Three-same FP vector ops: a = VecOperands (size 2 single, 3 double), imm = U << 4 | a << 3 |
// opcode & 7. Pairwise forms take the pairs of Vm:Vn (the scalar pairwise ones Vn's two
// lanes); the by-element forms (o.elem) take Vm's element o.index as every lane's b.
uint64_t helper_simd_fp3(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  Env e(state);
  const VecOperands o = VecOperands::unpack(packed);
  const bool dbl = o.size == 3;
  const unsigned eb = dbl ? 64 : 32, lanes = o.scalar ? 1 : (o.q ? 128 : 64) / eb;
  const uint64_t n[2] = {e.s.v[o.n][0], e.s.v[o.n][1]}, m[2] = {e.s.v[o.m][0], e.s.v[o.m][1]};
  const uint64_t d[2] = {e.s.v[o.d][0], e.s.v[o.d][1]};
  uint64_t r[2] = {0, 0};
  for (unsigned i = 0; i < lanes; ++i) {
    uint64_t a, b;
    if (fp3_pairwise(op) && o.scalar) {
      a = lane(n, 0, eb), b = lane(n, 1, eb);
    } else if (fp3_pairwise(op)) {
      const unsigned half = lanes / 2, j = 2 * (i % half);
      const uint64_t (&src)[2] = i < half ? n : m;
      a = lane(src, j, eb), b = lane(src, j + 1, eb);
    } else {
      a = lane(n, i, eb), b = lane(m, o.elem ? o.index : i, eb);
    }
    set_lane(r, i, eb, fp3_lane_bits(e, op, a, b, lane(d, i, eb), dbl));
  }
  write_result(e, o, r);
  return 0;
}

// Two-register FP vector and scalar ops: imm = U << 6 | a << 5 | opcode.
uint64_t helper_simd_fp2(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  Env e(state);
  const VecOperands o = VecOperands::unpack(packed);
  if (op == 0x16 || op == 0x17 || op == 0x56) {
    fp_resize(e, o, op);
    return 0;
  }
  const bool dbl = o.size == 3;
  const unsigned eb = dbl ? 64 : 32, lanes = o.scalar ? 1 : (o.q ? 128 : 64) / eb;
  const uint64_t n[2] = {e.s.v[o.n][0], e.s.v[o.n][1]};
  uint64_t r[2] = {0, 0};
  for (unsigned i = 0; i < lanes; ++i)
    set_lane(r, i, eb, dbl ? fp2_lane<double>(e, op, lane(n, i, eb)) : fp2_lane<float>(e, op, lane(n, i, eb)));
  write_result(e, o, r);
  return 0;
}

// FMAXNMV/FMINNMV/FMAXV/FMINV of four single-precision lanes: imm is the pairwise op; Arm's
// Reduce pairs (0, 1) and (2, 3), then the two results.
uint64_t helper_simd_fp_across(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  Env e(state);
  const VecOperands o = VecOperands::unpack(packed);
  const uint64_t n[2] = {e.s.v[o.n][0], e.s.v[o.n][1]};
  const uint64_t low = fp3_lane_bits(e, op, lane(n, 0, 32), lane(n, 1, 32), 0, false);
  const uint64_t high = fp3_lane_bits(e, op, lane(n, 2, 32), lane(n, 3, 32), 0, false);
  e.s.v[o.d][0] = fp3_lane_bits(e, op, low, high, 0, false);
  e.s.v[o.d][1] = 0;
  return 0;
}

uint64_t helper_fp_arith(void* s, uint64_t a, uint64_t b, uint64_t, uint32_t imm) {
  Env e(s);
  const unsigned op = imm >> 2;
  if (prec(imm) == kDouble) return to_bits(arith(e, op, from_bits<double>(a), from_bits<double>(b)));
  return to_bits(arith(e, op, from_bits<float>(a), from_bits<float>(b)));
}

// FMADD, FMSUB (product negated), FNMADD (both), FNMSUB (addend negated): a = Rn, b = Rm,
// c = Ra. The negations are of the operands (NaNs included), before the one rounding.
uint64_t helper_fp_fma(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  Env e(s);
  auto run = [&](auto n, auto m, auto addend) {
    if (imm & kNegProduct) n = negate(n);
    if (imm & kNegAddend) addend = negate(addend);
    return to_bits(fused(e, n, m, addend));
  };
  if (prec(imm) == kDouble) return run(from_bits<double>(a), from_bits<double>(b), from_bits<double>(c));
  return run(from_bits<float>(a), from_bits<float>(b), from_bits<float>(c));
}

// FSQRT and FRINT*.
uint64_t helper_fp_unary(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  Env e(s);
  const unsigned op = imm >> 2;
  auto run = [&](auto x) {
    using F = decltype(x);
    if (op != kSqrt) return to_bits(round_to_integral(e, x, op));
    x = flush_in(e, x);
    if (std::isnan(x)) return to_bits(process_nan(e, x));
    return to_bits(host_compute<F>(e, [=] { return std::sqrt(pinned(x)); }));
  };
  return prec(imm) == kDouble ? run(from_bits<double>(a)) : run(from_bits<float>(a));
}

// FCVT between half, single and double precision.
uint64_t helper_fp_convert(void* s, uint64_t a, uint64_t, uint64_t, uint32_t imm) {
  Env e(s);
  return convert_precision(e, a, prec(imm), prec(imm >> 2));
}

// FCMP/FCMPE and FCCMP/FCCMPE: NZCV << 28 (unordered 0011, equal 0110, less 1000, greater
// 0010). A conditional compare whose condition failed (c = 0) gives imm's nzcv and no flags.
uint64_t helper_fp_compare(void* s, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  if ((imm & kConditional) && !c) return uint64_t(imm >> 4 & 15) << 28;
  Env e(s);
  auto run = [&](auto x, auto y) -> uint64_t {
    x = flush_in(e, x);
    y = flush_in(e, y);
    if (std::isnan(x) || std::isnan(y)) {
      if ((imm & kSignaling) || is_snan(x) || is_snan(y)) e.flags |= kIOC;
      return 0x3u << 28;
    }
    if (x == y) return 0x6u << 28;
    return (x < y ? 0x8u : 0x2u) << 28;
  };
  if (prec(imm) == kDouble) return run(from_bits<double>(a), from_bits<double>(b));
  return run(from_bits<float>(a), from_bits<float>(b));
}

// FCVT{N,P,M,Z,A}{S,U} (and the fixed-point FCVTZS/FCVTZU): b = fraction bits.
uint64_t helper_fp_to_int(void* s, uint64_t a, uint64_t fbits, uint64_t, uint32_t imm) {
  Env e(s);
  const double x = operand_as_double(e, a, prec(imm));
  return to_int(e, x, unsigned(fbits), imm >> 2 & 7, imm & kUnsignedInt, imm & kInt64);
}

// SCVTF/UCVTF from a W or X value: b = fraction bits.
uint64_t helper_fp_from_int(void* s, uint64_t a, uint64_t fbits, uint64_t, uint32_t imm) {
  Env e(s);
  const bool is_unsigned = imm & kFromUnsigned, from64 = imm & kFromInt64;
  if (prec(imm) == kDouble) return to_bits(from_int<double>(e, a, unsigned(fbits), is_unsigned, from64));
  return to_bits(from_int<float>(e, a, unsigned(fbits), is_unsigned, from64));
}

}  // namespace vmkit::a64
