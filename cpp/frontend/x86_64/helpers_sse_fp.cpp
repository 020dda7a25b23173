// SSE/SSE2/SSE3 floating point: each guest instruction runs as the same instruction on the host
// (an x86-64, the reference) under the guest's MXCSR, which gives every result bit, NaN
// propagation, DAZ/FTZ and rounding exactly, and the rcp/rsqrt approximations of the host CPU.
// The host runs it with all exceptions masked (a host SIGFPE would hit vmkit itself); the flags it
// raised then decide, per the guest's masks, whether the guest sees the result or an #XM.
//
// An operation is named by its encoding (helpers_sse_fp.def): imm = the opcode byte after 0F, pp
// = the mandatory prefix in VEX.pp numbering. Guest memory is never touched here: the lifter
// loads memory sources before the call, so a fault leaves the state as it was.
#include <csignal>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/mxcsr.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

State& st(void* s) { return *static_cast<State*>(s); }

#if defined(__x86_64__)

using namespace mxcsr;

enum Pp : unsigned { kPs = 0, kPd = 1, kSs = 2, kSd = 3 };  // none, 66, F3, F2

using V = __m128i;

V load_xmm(const State& s, unsigned n) {
  V v;
  std::memcpy(&v, s.xmm[n], sizeof v);
  return v;
}
void store_xmm(State& s, unsigned n, V v) { std::memcpy(s.xmm[n], &v, sizeof v); }

// The host instruction between a switch to MXCSR %[csr] and the read of the flags it raised into
// %[after]; the host's own MXCSR is put back after it.
#define SSE_ENTER "stmxcsr %[saved]\n\tldmxcsr %[csr]\n\t"
#define SSE_LEAVE "\n\tstmxcsr %[after]\n\tldmxcsr %[saved]"
#define SSE_CSR_OPERANDS [saved] "=m"(saved), [after] "=m"(after)

// `insn src, dst` (AT&T order) on two xmm registers: every xmm-destination form (the scalar ones
// merge into dst's upper elements as the guest's do).
#define XMM_OP(insn)                                                                       \
  asm volatile(SSE_ENTER insn " %[s], %[d]" SSE_LEAVE                                      \
               : [d] "+x"(d), SSE_CSR_OPERANDS                                             \
               : [s] "x"(s), [csr] "m"(csr))

// cmpps/cmppd/cmpss/cmpsd with predicate P (0..7: eq lt le unord neq nlt nle ord).
template <unsigned P>
uint32_t compare_op(unsigned pp, V& d, V s, uint32_t csr) {
  uint32_t saved, after = 0;
#define CMP_OP(insn)                                                          \
  asm volatile(SSE_ENTER insn " %[p], %[s], %[d]" SSE_LEAVE                   \
               : [d] "+x"(d), SSE_CSR_OPERANDS                                \
               : [s] "x"(s), [csr] "m"(csr), [p] "i"(P))
  switch (pp) {
    case kPs: CMP_OP("cmpps"); break;
    case kPd: CMP_OP("cmppd"); break;
    case kSs: CMP_OP("cmpss"); break;
    default: CMP_OP("cmpsd"); break;
  }
#undef CMP_OP
  return after;
}

uint32_t compare_op(unsigned predicate, unsigned pp, V& d, V s, uint32_t csr) {
  switch (predicate & 7) {
    case 0: return compare_op<0>(pp, d, s, csr);
    case 1: return compare_op<1>(pp, d, s, csr);
    case 2: return compare_op<2>(pp, d, s, csr);
    case 3: return compare_op<3>(pp, d, s, csr);
    case 4: return compare_op<4>(pp, d, s, csr);
    case 5: return compare_op<5>(pp, d, s, csr);
    case 6: return compare_op<6>(pp, d, s, csr);
    default: return compare_op<7>(pp, d, s, csr);
  }
}

// cvtsi2ss/cvtsi2sd: the integer source (32 or 64 bits, `wide`) into d's low element.
uint32_t int_to_scalar(unsigned pp, bool wide, V& d, uint64_t i, uint32_t csr) {
  uint32_t saved, after = 0;
  const uint32_t i32 = uint32_t(i);
#define FROM_INT(insn, value) \
  asm volatile(SSE_ENTER insn " %[i], %[d]" SSE_LEAVE : [d] "+x"(d), SSE_CSR_OPERANDS : [i] "r"(value), [csr] "m"(csr))
  if (pp == kSs && wide) FROM_INT("cvtsi2ssq", i);
  else if (pp == kSs) FROM_INT("cvtsi2ssl", i32);
  else if (wide) FROM_INT("cvtsi2sdq", i);
  else FROM_INT("cvtsi2sdl", i32);
#undef FROM_INT
  return after;
}

// Runs the xmm-destination instruction (opcode, pp) on d and s; false if vmkit does not know it.
bool run_xmm_op(unsigned opcode, unsigned pp, unsigned extra, V& d, V s, uint32_t csr, uint32_t& after) {
  uint32_t saved;
  after = 0;
  switch (opcode << 2 | pp) {
#define CASE(op, p, insn) \
  case (op) << 2 | (p): XMM_OP(insn); return true;
    CASE(0x51, kPs, "sqrtps") CASE(0x51, kPd, "sqrtpd") CASE(0x51, kSs, "sqrtss") CASE(0x51, kSd, "sqrtsd")
    CASE(0x52, kPs, "rsqrtps") CASE(0x52, kSs, "rsqrtss")
    CASE(0x53, kPs, "rcpps") CASE(0x53, kSs, "rcpss")
    CASE(0x58, kPs, "addps") CASE(0x58, kPd, "addpd") CASE(0x58, kSs, "addss") CASE(0x58, kSd, "addsd")
    CASE(0x59, kPs, "mulps") CASE(0x59, kPd, "mulpd") CASE(0x59, kSs, "mulss") CASE(0x59, kSd, "mulsd")
    CASE(0x5A, kPs, "cvtps2pd") CASE(0x5A, kPd, "cvtpd2ps") CASE(0x5A, kSs, "cvtss2sd") CASE(0x5A, kSd, "cvtsd2ss")
    CASE(0x5B, kPs, "cvtdq2ps") CASE(0x5B, kPd, "cvtps2dq") CASE(0x5B, kSs, "cvttps2dq")
    CASE(0x5C, kPs, "subps") CASE(0x5C, kPd, "subpd") CASE(0x5C, kSs, "subss") CASE(0x5C, kSd, "subsd")
    CASE(0x5D, kPs, "minps") CASE(0x5D, kPd, "minpd") CASE(0x5D, kSs, "minss") CASE(0x5D, kSd, "minsd")
    CASE(0x5E, kPs, "divps") CASE(0x5E, kPd, "divpd") CASE(0x5E, kSs, "divss") CASE(0x5E, kSd, "divsd")
    CASE(0x5F, kPs, "maxps") CASE(0x5F, kPd, "maxpd") CASE(0x5F, kSs, "maxss") CASE(0x5F, kSd, "maxsd")
    CASE(0xE6, kPd, "cvttpd2dq") CASE(0xE6, kSs, "cvtdq2pd") CASE(0xE6, kSd, "cvtpd2dq")
    CASE(0x7C, kPd, "haddpd") CASE(0x7C, kSd, "haddps")
    CASE(0x7D, kPd, "hsubpd") CASE(0x7D, kSd, "hsubps")
    CASE(0xD0, kPd, "addsubpd") CASE(0xD0, kSd, "addsubps")
#undef CASE
    case 0xC2 << 2 | kPs:
    case 0xC2 << 2 | kPd:
    case 0xC2 << 2 | kSs:
    case 0xC2 << 2 | kSd: after = compare_op(extra, pp, d, s, csr); return true;
    default: return false;
  }
}

bool is_denormal32(uint32_t v) { return (v & 0x7f800000u) == 0 && (v & 0x007fffffu) != 0; }
bool is_denormal64(uint64_t v) { return (v & 0x7ff0000000000000ull) == 0 && (v & 0x000fffffffffffffull) != 0; }

// The operations that round a computed result, and so can overflow or underflow: add, sub, mul,
// div, the SSE3 alternating and horizontal forms, and the narrowing conversions. How their
// inputs map to result lanes decides the flags each lane reports.
struct RoundingShape {
  enum Kind { None, Lanewise, Horizontal, FromSource } kind = None;
  bool single_in = false, single_out = false;  // lanes of 32 bits (else 64)
  unsigned lanes = 1;                           // result lanes computed (1: a scalar form)
};

RoundingShape shape_of(unsigned opcode, unsigned pp) {
  switch (opcode) {
    case 0x58: case 0x59: case 0x5C: case 0x5E: {
      const bool single = pp == kPs || pp == kSs;
      return {RoundingShape::Lanewise, single, single, pp == kPs ? 4u : pp == kPd ? 2u : 1u};
    }
    case 0xD0:  // addsub (F2: ps, 66: pd)
      return {RoundingShape::Lanewise, pp == kSd, pp == kSd, pp == kSd ? 4u : 2u};
    case 0x7C: case 0x7D:  // hadd, hsub
      return {RoundingShape::Horizontal, pp == kSd, pp == kSd, pp == kSd ? 4u : 2u};
    case 0x5A:  // cvtpd2ps, cvtsd2ss (the widening forms are exact)
      if (pp == kPd) return {RoundingShape::FromSource, false, true, 2};
      if (pp == kSd) return {RoundingShape::Lanewise, false, true, 1};
      return {};
    default: return {};
  }
}

struct Halves {
  uint64_t h[2];
};
Halves halves_of(V v) {
  Halves r;
  std::memcpy(r.h, &v, sizeof r.h);
  return r;
}
V vec_of(Halves r) {
  V v;
  std::memcpy(&v, r.h, sizeof v);
  return v;
}

// Whether result lane k is a (nonzero) denormal.
bool denormal_lane(const RoundingShape& sh, V r, unsigned k) {
  const Halves x = halves_of(r);
  if (!sh.single_out) return is_denormal64(x.h[k]);
  return is_denormal32(uint32_t(x.h[k / 2] >> (32 * (k % 2))));
}

// v with the input lanes outside `keep` (a bit per lane of the input's width) replaced by 1.0,
// on which every rounding operation above is exact.
V isolate(V v, unsigned keep, bool single) {
  Halves x = halves_of(v);
  const unsigned bits = single ? 32 : 64;
  const uint64_t one = single ? 0x3f800000ull : 0x3ff0000000000000ull;
  for (unsigned k = 0; k < 128 / bits; ++k) {
    if (keep >> k & 1) continue;
    uint64_t& half = x.h[k * bits / 64];
    const unsigned shift = (k * bits) % 64;
    const uint64_t mask = (bits == 64 ? ~0ull : 0xffffffffull) << shift;
    half = (half & ~mask) | (one << shift);
  }
  return vec_of(x);
}

// Element k (of 32 or 64 bits) of v as a long double (exact), read as zero if it is a denormal and
// DAZ is set.
long double element(V v, unsigned k, bool single, bool daz) {
  const Halves x = halves_of(v);
  if (single) {
    const uint32_t bits = uint32_t(x.h[k / 2] >> (32 * (k % 2)));
    float f;
    std::memcpy(&f, &bits, 4);
    return daz && is_denormal32(bits) ? (bits >> 31 ? -0.0L : 0.0L) : f;
  }
  double f;
  std::memcpy(&f, &x.h[k], 8);
  return daz && is_denormal64(x.h[k]) ? (x.h[k] >> 63 ? -0.0L : 0.0L) : f;
}

enum class WideOp { Add, Sub, Mul, Div };

// Whether a op b, rounded to the result format's precision (24 or 53 bits) but with the x87's
// 15-bit exponent, is inexact: the inexact flag of an overflow or underflow that is unmasked,
// where the processor delivers no result and reports precision for the exponent-wrapped one (as
// IEEE 754 defines trapped overflow and underflow). rc: MXCSR's rounding control (the x87's uses
// the same encoding).
bool inexact_with_wide_exponent(WideOp op, long double a, long double b, bool single, unsigned rc) {
  const uint16_t cw = uint16_t(0x007f | (single ? 0u : 2u) << 8 | rc << 10);  // all masked, PC, RC
  uint16_t saved, sw;
  // st(0) = a, st(1) = b; st(0) op= st(1); both popped.
#define WIDE_OP(insn)                                                                                   \
  asm volatile("fnstcw %[saved]\n\tfldcw %[cw]\n\tfnclex\n\tfldt %[b]\n\tfldt %[a]\n\t" insn    \
               " %%st(1), %%st\n\tfnstsw %[sw]\n\tfstp %%st(0)\n\tfstp %%st(0)\n\tfldcw %[saved]"        \
               : [saved] "=m"(saved), [sw] "=m"(sw)                                                    \
               : [cw] "m"(cw), [a] "m"(a), [b] "m"(b))
  switch (op) {
    case WideOp::Add: WIDE_OP("fadd"); break;
    case WideOp::Sub: WIDE_OP("fsub"); break;
    case WideOp::Mul: WIDE_OP("fmul"); break;
    case WideOp::Div: WIDE_OP("fdiv"); break;
  }
#undef WIDE_OP
  return sw & 0x20;
}

// Result lane k's operation and operands (a narrowing conversion is a multiplication by 1).
struct LaneOp {
  WideOp op;
  long double a, b;
};
LaneOp lane_op(unsigned opcode, const RoundingShape& sh, V d, V s, unsigned k, bool daz) {
  const bool single = sh.single_in;
  switch (opcode) {
    case 0x58: return {WideOp::Add, element(d, k, single, daz), element(s, k, single, daz)};
    case 0x5C: return {WideOp::Sub, element(d, k, single, daz), element(s, k, single, daz)};
    case 0x59: return {WideOp::Mul, element(d, k, single, daz), element(s, k, single, daz)};
    case 0x5E: return {WideOp::Div, element(d, k, single, daz), element(s, k, single, daz)};
    case 0xD0:  // even lanes subtract, odd ones add
      return {k % 2 ? WideOp::Add : WideOp::Sub, element(d, k, single, daz), element(s, k, single, daz)};
    case 0x7C: case 0x7D: {
      const V& from = k < sh.lanes / 2 ? d : s;
      const unsigned pair = 2 * (k % (sh.lanes / 2));
      return {opcode == 0x7C ? WideOp::Add : WideOp::Sub, element(from, pair, single, daz),
              element(from, pair + 1, single, daz)};
    }
    default: return {WideOp::Mul, element(s, k, single, daz), 1.0L};  // 5A: cvtpd2ps, cvtsd2ss
  }
}

// The flags of a rounding operation with overflow or underflow unmasked, lane by lane: each
// result lane is computed alone (its inputs kept, the other inputs made exact), then adjusted as
// the processor reports an unmasked overflow or underflow. With underflow unmasked, an exact
// denormal result is an underflow too (masked, only a tiny inexact one is, which is all the
// host, running masked, reports); an unmasked overflow or underflow reports inexact for the
// exponent-wrapped result rather than the delivered one.
uint32_t flags_by_lane(unsigned opcode, unsigned pp, const RoundingShape& sh, V d, V s, uint32_t csr, uint32_t unmasked) {
  uint32_t all = 0;
  for (unsigned k = 0; k < sh.lanes; ++k) {
    V dk = d, sk = s;
    if (sh.lanes > 1) {
      unsigned keep_d = 0, keep_s = 0;
      switch (sh.kind) {
        case RoundingShape::Lanewise: keep_d = keep_s = 1u << k; break;
        case RoundingShape::Horizontal:  // lanes 0..n/2-1 from pairs of d, the rest from pairs of s
          if (k < sh.lanes / 2) keep_d = 3u << (2 * k);
          else keep_s = 3u << (2 * (k - sh.lanes / 2));
          break;
        default: keep_s = 1u << k; break;  // FromSource
      }
      dk = isolate(d, keep_d, sh.single_in);
      sk = isolate(s, keep_s, sh.single_in);
    }
    uint32_t raised;
    run_xmm_op(opcode, pp, 0, dk, sk, csr, raised);
    raised &= kFlagBits;
    if (denormal_lane(sh, dk, k) && (unmasked & kUE)) raised |= kUE;
    if (raised & (kOE | kUE) & unmasked) {
      const LaneOp w = lane_op(opcode, sh, d, s, k, csr & kDaz);
      raised &= ~kPE;
      if (inexact_with_wide_exponent(w.op, w.a, w.b, sh.single_out, (csr >> 13) & 3)) raised |= kPE;
    }
    all |= raised;
  }
  return all;
}

#endif  // __x86_64__

}  // namespace

#if defined(__x86_64__)

// An instruction with an xmm destination: a = the register | pp << 4 | the cmp predicate or
// cvtsi2s*'s REX.W << 6, b/c = the source (an xmm's or memory's bits, or cvtsi2s*'s integer).
uint64_t helper_sse_fp(void* state, uint64_t a, uint64_t b, uint64_t c, uint32_t opcode) {
  State& s = st(state);
  const unsigned n = a & 15, pp = (a >> 4) & 3, extra = unsigned(a >> 6) & 7;
  V d = load_xmm(s, n);
  const V source = _mm_set_epi64x(int64_t(c), int64_t(b));
  uint32_t raised;
  const uint32_t csr = host_mxcsr(s.mxcsr);
  if (opcode == 0x2A) {
    raised = int_to_scalar(pp, extra & 1, d, b, csr);
  } else if (!run_xmm_op(opcode, pp, extra, d, source, csr, raised)) {
    s.common.trap.raise(SIGILL, ILL_ILLOPN, 0);  // (the lifters pass only the operations above)
    return 0;
  }
  raised &= kFlagBits;
  const uint32_t unmasked = unmasked_exceptions(s.mxcsr);
  const RoundingShape shape = shape_of(opcode, pp);
  if (shape.kind != RoundingShape::None && (unmasked & (kOE | kUE)) && !(raised & kPreComputation & unmasked))
    raised = flags_by_lane(opcode, pp, shape, load_xmm(s, n), source, csr, unmasked);
  if (commit_exceptions(s, raised)) store_xmm(s, n, d);
  return 0;
}

// cvtss2si/cvtsd2si (opcode 2D) and cvttss2si/cvttsd2si (2C), to 32 or 64 bits (b = pp | W << 2).
// NaN and out-of-range sources give the integer indefinite (the sign bit alone) with invalid.
uint64_t helper_sse_fp_to_int(void* state, uint64_t src, uint64_t form, uint64_t, uint32_t opcode) {
  State& s = st(state);
  const V v = _mm_cvtsi64_si128(int64_t(src));
  const uint32_t csr = host_mxcsr(s.mxcsr);
  uint32_t saved, after = 0;
  uint64_t r = 0;
#define TO_INT(insn, reg) \
  asm volatile(SSE_ENTER insn " %[v], %" reg "[r]" SSE_LEAVE : [r] "=r"(r), SSE_CSR_OPERANDS : [v] "x"(v), [csr] "m"(csr))
  const bool wide = form & 4;
  switch ((opcode == 0x2C ? 8u : 0u) | unsigned(form & 7)) {
    case kSs: TO_INT("cvtss2si", "k"); break;
    case kSd: TO_INT("cvtsd2si", "k"); break;
    case 4 | kSs: TO_INT("cvtss2si", "q"); break;
    case 4 | kSd: TO_INT("cvtsd2si", "q"); break;
    case 8 | kSs: TO_INT("cvttss2si", "k"); break;
    case 8 | kSd: TO_INT("cvttsd2si", "k"); break;
    case 8 | 4 | kSs: TO_INT("cvttss2si", "q"); break;
    default: TO_INT("cvttsd2si", "q"); break;
  }
#undef TO_INT
  if (!wide) r = uint32_t(r);
  return commit_exceptions(s, after & kFlagBits) ? r : 0;
}

// comiss/comisd (opcode 2F: invalid for any NaN) and ucomiss/ucomisd (2E: for SNaN only):
// unordered ZF PF CF = 111, less 001, equal 100, greater 000.
uint64_t helper_sse_fp_compare(void* state, uint64_t x, uint64_t y, uint64_t pp, uint32_t opcode) {
  State& s = st(state);
  const V d = _mm_cvtsi64_si128(int64_t(x)), v = _mm_cvtsi64_si128(int64_t(y));
  const uint32_t csr = host_mxcsr(s.mxcsr);
  uint32_t saved, after = 0;
  bool zf, pf, cf;
#define COMPARE(insn)                                                                          \
  asm volatile(SSE_ENTER insn " %[s], %[d]" SSE_LEAVE                                          \
               : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf), SSE_CSR_OPERANDS                        \
               : [d] "x"(d), [s] "x"(v), [csr] "m"(csr))
  switch ((opcode == 0x2F ? 2u : 0u) | unsigned(pp & 1)) {
    case 0: COMPARE("ucomiss"); break;
    case 1: COMPARE("ucomisd"); break;
    case 2: COMPARE("comiss"); break;
    default: COMPARE("comisd"); break;
  }
#undef COMPARE
  if (!commit_exceptions(s, after & kFlagBits)) return 0;
  return (zf ? kZF : 0) | (pf ? kPF : 0) | (cf ? kCF : 0);
}

#else  // not an x86-64 host: there is no host instruction to run, the guest sees #UD

uint64_t helper_sse_fp(void* state, uint64_t, uint64_t, uint64_t, uint32_t) {
  st(state).common.trap.raise(SIGILL, ILL_ILLOPN, 0);
  return 0;
}
uint64_t helper_sse_fp_to_int(void* state, uint64_t, uint64_t, uint64_t, uint32_t) {
  st(state).common.trap.raise(SIGILL, ILL_ILLOPN, 0);
  return 0;
}
uint64_t helper_sse_fp_compare(void* state, uint64_t, uint64_t, uint64_t, uint32_t) {
  st(state).common.trap.raise(SIGILL, ILL_ILLOPN, 0);
  return 0;
}

#endif

// ldmxcsr: bits 16..31 are reserved (MXCSR_MASK 0xffff, as fxsave reports it): setting one is a
// #GP, which Linux reports as SIGSEGV SI_KERNEL without an address.
uint64_t helper_ldmxcsr(void* state, uint64_t value, uint64_t, uint64_t, uint32_t) {
  State& s = st(state);
  if (value >> 16) {
    s.common.trap.raise(SIGSEGV, 0x80 /* SI_KERNEL */, 0);
    return 0;
  }
  s.mxcsr = uint32_t(value);
  return 0;
}

}  // namespace vmkit::x64
