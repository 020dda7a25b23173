// Advanced SIMD integer helpers (helpers_fp.def): the lane operations that are not worth lifting
// into 64-bit IR. Each reads its source V registers from the state and writes Vd whole (a 64-bit
// or scalar result clears the rest); sources are read before Vd is written, so Vd may be a
// source. The register numbers, element size, Q and the scalar flag come packed in `a`
// (VecOperands), the operation in imm: U << 5 | opcode, the encoding's own fields.
#include <bit>
#include <cstdint>
#include <cstring>

#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift_vec.h"
#include "frontend/aarch64/state.h"

namespace vmkit::a64 {

namespace {

State& st(void* s) { return *static_cast<State*>(s); }

// A 128-bit register value with lane access (lanes of `ebits` bits, little-endian as Arm's).
struct Vec {
  uint64_t w[2] = {0, 0};

  uint64_t get(unsigned i, unsigned ebits) const {
    if (ebits == 64) return w[i & 1];
    const unsigned bit = i * ebits;
    return (w[bit >> 6] >> (bit & 63)) & ((1ull << ebits) - 1);
  }
  int64_t gets(unsigned i, unsigned ebits) const { return sext(get(i, ebits), ebits); }
  void set(unsigned i, unsigned ebits, uint64_t v) {
    if (ebits == 64) {
      w[i & 1] = v;
      return;
    }
    const unsigned bit = i * ebits, shift = bit & 63;
    const uint64_t mask = ((1ull << ebits) - 1) << shift;
    w[bit >> 6] = (w[bit >> 6] & ~mask) | ((v << shift) & mask);
  }
  uint8_t byte(unsigned i) const { return uint8_t(get(i, 8)); }
};

Vec read_v(const State& s, unsigned r) { return Vec{{s.v[r][0], s.v[r][1]}}; }

// Writes Vd: all 128 bits for Q = 1, the low 64 bits (the rest cleared) for Q = 0, one element
// of `ebits` for the scalar forms.
void write_v(State& s, const VecOperands& o, Vec r, unsigned ebits) {
  if (o.scalar) {
    s.v[o.d][0] = r.get(0, ebits);
    s.v[o.d][1] = 0;
    return;
  }
  s.v[o.d][0] = r.w[0];
  s.v[o.d][1] = o.q ? r.w[1] : 0;
}

// Writes all 128 bits of Vd: the long forms, and the narrowing ones (see narrow_start).
void write_full(State& s, unsigned d, const Vec& r) {
  s.v[d][0] = r.w[0];
  s.v[d][1] = r.w[1];
}

// The image a narrowing result starts from: the "2" forms (Q = 1) fill the high half and keep
// Vd's low one; the others fill the low half and clear the high one.
Vec narrow_start(const State& s, const VecOperands& o) { return Vec{{o.q ? s.v[o.d][0] : 0, 0}}; }

unsigned ebits_of(const VecOperands& o) { return 8u << o.size; }
unsigned lanes_of(const VecOperands& o) { return o.scalar ? 1 : (o.q ? 128 : 64) / ebits_of(o); }
uint64_t mask_of(unsigned ebits) { return ebits == 64 ? ~0ull : (1ull << ebits) - 1; }
uint64_t ones_if(bool c, unsigned ebits) { return c ? mask_of(ebits) : 0; }

// Whether a saturating lane operation of the running helper clamped (FPSR.QC, set by the
// helper's SaturationScope when it returns). Per host thread, like the helper's execution.
thread_local bool saturated = false;

// Sets FPSR.QC (cumulative, bit 27) if a saturating operation in the helper clamped.
struct SaturationScope {
  State& s;
  explicit SaturationScope(State& st) : s(st) { saturated = false; }
  ~SaturationScope() {
    if (saturated) s.fpsr |= 1u << 27;
  }
};

// Signed and unsigned saturation of a wide result to `ebits`.
uint64_t sat_signed(__int128 v, unsigned ebits) {
  const __int128 max = (__int128(1) << (ebits - 1)) - 1, min = -max - 1;
  saturated |= v > max || v < min;
  return uint64_t(v > max ? max : v < min ? min : v) & mask_of(ebits);
}
uint64_t sat_unsigned(__int128 v, unsigned ebits) {
  const __int128 max = (__int128(1) << ebits) - 1;
  saturated |= v > max || v < 0;
  return uint64_t(v > max ? max : v < 0 ? 0 : v);
}

// Shift by a signed amount (SSHL/USHL): left if positive, right (arithmetic or logical) if
// negative; amounts beyond the element width give 0 or the sign.
uint64_t shift_by(uint64_t v, int64_t amount, unsigned ebits, bool is_signed) {
  if (amount >= 0) return amount >= int64_t(ebits) ? 0 : (v << amount) & mask_of(ebits);
  const int64_t right = -amount;
  if (is_signed) {
    const int64_t sv = sext(v, ebits);
    return uint64_t(sv >> (right >= int64_t(ebits) ? ebits - 1 : right)) & mask_of(ebits);
  }
  return right >= int64_t(ebits) ? 0 : v >> right;
}

// The carry-less product of a and b (of `bits` bits each; PMUL keeps its low 8 bits, PMULL all).
unsigned __int128 polymul(uint64_t a, uint64_t b, unsigned bits) {
  unsigned __int128 r = 0;
  for (unsigned k = 0; k < bits; ++k)
    if (b >> k & 1) r ^= (unsigned __int128)a << k;
  return r;
}

// SQDMULH / SQRDMULH: the high half of the doubled product (rounded), saturated (only
// min * min overflows).
uint64_t doubling_mul_high(int64_t a, int64_t b, unsigned ebits, bool round) {
  __int128 p = 2 * __int128(a) * b;
  if (round) p += __int128(1) << (ebits - 1);
  return sat_signed(p >> ebits, ebits);
}

// One lane of a three-same operation (a from Vn, b from Vm, d the old Vd lane for accumulation);
// the lifter passes only the operations listed here.
uint64_t same_lane(unsigned op, uint64_t a, uint64_t b, uint64_t d, unsigned ebits) {
  const bool u = op >> 5 & 1;
  const int64_t sa = sext(a, ebits), sb = sext(b, ebits);
  const uint64_t m = mask_of(ebits);
  switch (op & 31) {
    case 0x00: return u ? uint64_t((__int128(a) + b) >> 1) : uint64_t((__int128(sa) + sb) >> 1) & m;  // HADD
    case 0x01: return u ? sat_unsigned(__int128(a) + b, ebits) : sat_signed(__int128(sa) + sb, ebits);  // QADD
    case 0x02: return u ? uint64_t((__int128(a) + b + 1) >> 1) : uint64_t((__int128(sa) + sb + 1) >> 1) & m;  // RHADD
    case 0x04: return u ? uint64_t((__int128(a) - b) >> 1) & m : uint64_t((__int128(sa) - sb) >> 1) & m;  // HSUB
    case 0x05: return u ? sat_unsigned(__int128(a) - b, ebits) : sat_signed(__int128(sa) - sb, ebits);  // QSUB
    case 0x06: return ones_if(u ? a > b : sa > sb, ebits);    // CMHI / CMGT
    case 0x07: return ones_if(u ? a >= b : sa >= sb, ebits);  // CMHS / CMGE
    case 0x08: return shift_by(a, int8_t(b), ebits, !u);      // USHL / SSHL
    case 0x0c: return u ? (a > b ? a : b) : (sa > sb ? a : b);  // UMAX / SMAX
    case 0x0d: return u ? (a < b ? a : b) : (sa < sb ? a : b);  // UMIN / SMIN
    case 0x0e: return (u ? (a > b ? a - b : b - a) : (sa > sb ? uint64_t(sa - sb) : uint64_t(sb - sa))) & m;  // ABD
    case 0x0f: return (d + (u ? (a > b ? a - b : b - a) : (sa > sb ? uint64_t(sa - sb) : uint64_t(sb - sa)))) & m;  // ABA
    case 0x10: return (u ? a - b : a + b) & m;                // SUB / ADD
    case 0x11: return ones_if(u ? a == b : (a & b) != 0, ebits);  // CMEQ / CMTST
    case 0x12: return (u ? d - a * b : d + a * b) & m;        // MLS / MLA
    case 0x13: return u ? uint64_t(polymul(a, b, 8)) & 0xff : (a * b) & m;  // PMUL / MUL
    case 0x14: return u ? (a > b ? a : b) : (sa > sb ? a : b);  // UMAXP / SMAXP
    case 0x15: return u ? (a < b ? a : b) : (sa < sb ? a : b);  // UMINP / SMINP
    case 0x16: return doubling_mul_high(sa, sb, ebits, u);  // SQDMULH / SQRDMULH
    case 0x17: return (a + b) & m;                            // ADDP
  }
  return 0;
}

uint64_t reverse_byte(uint64_t b) {
  uint64_t r = 0;
  for (unsigned k = 0; k < 8; ++k) r |= (b >> k & 1) << (7 - k);
  return r;
}

bool is_pairwise(unsigned op) { return (op & 31) == 0x14 || (op & 31) == 0x15 || (op & 31) == 0x17; }

// Count leading sign bits (CLS) and leading zeros (CLZ) within an element.
uint64_t count_leading(uint64_t v, unsigned ebits, bool sign_bits) {
  if (sign_bits) v = (v ^ (v >> 1)) & (mask_of(ebits) >> 1);  // a one where the sign run ends
  const unsigned n = unsigned(std::countl_zero(v)) - (64 - ebits);
  return sign_bits ? n - 1 : n;
}

// Reverses the order of `ebits` elements within each `container` bits (REV16/32/64).
Vec reverse_in(const Vec& v, unsigned ebits, unsigned container, unsigned lanes) {
  Vec r;
  const unsigned per = container / ebits;
  for (unsigned i = 0; i < lanes; ++i) r.set(i, ebits, v.get(i ^ (per - 1), ebits));
  return r;
}

}  // namespace

// Three same, and the by-element MUL/MLA/MLS/SQDMULH/SQRDMULH (o.elem: Vm's element o.index is
// every lane's second operand).
uint64_t helper_simd_3same(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  State& s = st(state);
  SaturationScope qc(s);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), lanes = lanes_of(o);
  const Vec n = read_v(s, o.n), m = read_v(s, o.m), d = read_v(s, o.d);
  Vec r;
  if (is_pairwise(op)) {
    // The pairs of the concatenation Vm:Vn, Vn's in the low half of the result.
    const unsigned half = lanes / 2;
    for (unsigned i = 0; i < lanes; ++i) {
      const Vec& src = i < half ? n : m;
      const unsigned j = 2 * (i % half);
      r.set(i, eb, same_lane(op, src.get(j, eb), src.get(j + 1, eb), 0, eb));
    }
  } else {
    for (unsigned i = 0; i < lanes; ++i)
      r.set(i, eb, same_lane(op, n.get(i, eb), m.get(o.elem ? o.index : i, eb), d.get(i, eb), eb));
  }
  write_v(s, o, r, eb);
  return 0;
}

// Two-register miscellaneous: REV*, [SU]ADDLP, [SU]ADALP, CLS/CLZ, CNT/NOT/RBIT, SQABS/SQNEG, the
// compares with zero, ABS/NEG, XTN/SQXTUN/SQXTN/UQXTN.
uint64_t helper_simd_2misc(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  State& s = st(state);
  SaturationScope qc(s);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), lanes = lanes_of(o);
  const bool u = op >> 5 & 1;
  const Vec n = read_v(s, o.n), d = read_v(s, o.d);
  Vec r;
  switch (op & 31) {
    case 0x00: r = reverse_in(n, eb, u ? 32 : 64, lanes); break;  // REV64 / REV32
    case 0x01: r = reverse_in(n, eb, 16, lanes); break;           // REV16
    case 0x02:                                                    // SADDLP / UADDLP
    case 0x06: {                                                  // SADALP / UADALP
      for (unsigned i = 0; i < lanes / 2; ++i) {
        const uint64_t a = u ? n.get(2 * i, eb) : uint64_t(n.gets(2 * i, eb));
        const uint64_t b = u ? n.get(2 * i + 1, eb) : uint64_t(n.gets(2 * i + 1, eb));
        const uint64_t acc = (op & 31) == 0x06 ? d.get(i, 2 * eb) : 0;
        r.set(i, 2 * eb, acc + a + b);
      }
      write_v(s, o, r, 2 * eb);
      return 0;
    }
    case 0x04:  // CLS / CLZ
      for (unsigned i = 0; i < lanes; ++i) r.set(i, eb, count_leading(n.get(i, eb), eb, !u));
      break;
    case 0x05:  // CNT (U = 0), NOT (U = 1, size 0), RBIT (U = 1, size 1; bytes)
      for (unsigned i = 0; i < (o.q ? 16u : 8u); ++i) {
        const uint64_t b = n.byte(i);
        if (!u) r.set(i, 8, uint64_t(std::popcount(b)));
        else if (o.size == 0) r.set(i, 8, ~b);
        else r.set(i, 8, reverse_byte(b));
      }
      write_v(s, o, r, 8);
      return 0;
    case 0x07:  // SQABS / SQNEG
      for (unsigned i = 0; i < lanes; ++i) {
        const __int128 v = n.gets(i, eb);
        r.set(i, eb, sat_signed(u ? -v : (v < 0 ? -v : v), eb));
      }
      break;
    case 0x08:  // CMGT #0 / CMGE #0
      for (unsigned i = 0; i < lanes; ++i) r.set(i, eb, ones_if(u ? n.gets(i, eb) >= 0 : n.gets(i, eb) > 0, eb));
      break;
    case 0x09:  // CMEQ #0 / CMLE #0
      for (unsigned i = 0; i < lanes; ++i) r.set(i, eb, ones_if(u ? n.gets(i, eb) <= 0 : n.get(i, eb) == 0, eb));
      break;
    case 0x0a:  // CMLT #0
      for (unsigned i = 0; i < lanes; ++i) r.set(i, eb, ones_if(n.gets(i, eb) < 0, eb));
      break;
    case 0x0b:  // ABS / NEG (ABS of the most negative value is itself)
      for (unsigned i = 0; i < lanes; ++i) {
        const int64_t v = n.gets(i, eb);
        r.set(i, eb, uint64_t(u || v < 0 ? 0 - uint64_t(v) : uint64_t(v)));
      }
      break;
    case 0x12:    // XTN / SQXTUN (narrowing: eb is the narrow size; XTN2 writes the high half)
    case 0x14: {  // SQXTN / UQXTN
      const unsigned count = 64 / eb, base = o.q ? count : 0;
      r = narrow_start(s, o);
      for (unsigned i = 0; i < count; ++i) {
        const uint64_t wide = n.get(i, 2 * eb);
        const int64_t swide = n.gets(i, 2 * eb);
        uint64_t v;
        if ((op & 31) == 0x12) v = u ? sat_unsigned(swide, eb) : wide & mask_of(eb);
        else v = u ? sat_unsigned(wide, eb) : sat_signed(swide, eb);
        r.set(base + i, eb, v);
      }
      if (o.scalar) {
        write_v(s, o, r, eb);
        return 0;
      }
      write_full(s, o.d, r);
      return 0;
    }
  }
  write_v(s, o, r, eb);
  return 0;
}

// Across lanes: SADDLV/UADDLV (opcode 3), SMAXV/UMAXV (10), SMINV/UMINV (26), ADDV (27).
uint64_t helper_simd_across(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  State& s = st(state);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), lanes = lanes_of(o);
  const bool u = op >> 5 & 1;
  const Vec n = read_v(s, o.n);
  uint64_t acc = u ? n.get(0, eb) : uint64_t(n.gets(0, eb));
  unsigned out_bits = eb;
  for (unsigned i = 1; i < lanes; ++i) {
    const uint64_t v = u ? n.get(i, eb) : uint64_t(n.gets(i, eb));
    switch (op & 31) {
      case 0x03: acc += v; break;
      case 0x0a: acc = u ? (v > acc ? v : acc) : (int64_t(v) > int64_t(acc) ? v : acc); break;
      case 0x1a: acc = u ? (v < acc ? v : acc) : (int64_t(v) < int64_t(acc) ? v : acc); break;
      default: acc += v; break;  // ADDV
    }
  }
  if ((op & 31) == 0x03) out_bits = 2 * eb;
  s.v[o.d][0] = acc & mask_of(out_bits);
  s.v[o.d][1] = 0;
  return 0;
}

// One lane of a long three-different operation: a and b the (sign- or zero-extended) narrow
// operands, or a the wide one for the W forms; acc the old wide lane of Vd.
uint64_t long_lane(unsigned opc, bool u, uint64_t a, uint64_t b, uint64_t acc, unsigned wb) {
  const uint64_t diff = u ? (a > b ? a - b : b - a) : (int64_t(a) > int64_t(b) ? a - b : b - a);
  // The saturating doubling forms: 2ab saturated (only min * min overflows), then accumulated
  // with saturation.
  const __int128 doubled = sext(sat_signed(2 * __int128(int64_t(a)) * int64_t(b), wb), wb);
  const __int128 sacc = sext(acc, wb);
  switch (opc) {
    case 0: case 1: return a + b;  // ADDL / ADDW
    case 2: case 3: return a - b;  // SUBL / SUBW
    case 5: return acc + diff;     // ABAL
    case 7: return diff;           // ABDL
    case 8: return acc + a * b;    // MLAL
    case 9: return sat_signed(sacc + doubled, wb);   // SQDMLAL
    case 10: return acc - a * b;   // MLSL
    case 11: return sat_signed(sacc - doubled, wb);  // SQDMLSL
    case 12: return a * b;         // MULL
    case 13: return uint64_t(doubled);               // SQDMULL
    default: return uint64_t(polymul(a & 0xff, b & 0xff, 8));  // 14: PMULL of bytes (as extended: U = 0)
  }
}

// Three different (long, wide and narrowing-high forms), and the long by-element forms:
// size is the narrow element size; Q selects the "2" forms, which take the high halves of the
// narrow sources (or write the high half of Vd, for the narrowing ones). o.elem: Vm's element
// o.index is every lane's second operand; o.scalar: one lane (SQDMLAL/SQDMLSL/SQDMULL).
uint64_t helper_simd_3diff(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  State& s = st(state);
  SaturationScope qc(s);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), wb = 2 * eb, count = o.scalar ? 1 : 64 / eb, base = o.q ? count : 0;
  const bool u = op >> 4 & 1;
  const Vec n = read_v(s, o.n), m = read_v(s, o.m), d = read_v(s, o.d);
  const unsigned opc = op & 15;
  auto extend = [&](uint64_t v) { return u ? v : uint64_t(sext(v, eb)); };
  auto narrow = [&](const Vec& v, unsigned i) { return extend(v.get(base + i, eb)); };
  auto wide = [&](const Vec& v, unsigned i) { return v.get(i, wb); };
  Vec r;
  if (opc == 14 && eb == 64) {  // PMULL of 64-bit lanes: one 128-bit product
    const unsigned __int128 p = polymul(n.get(base, 64), m.get(base, 64), 64);
    s.v[o.d][0] = uint64_t(p);
    s.v[o.d][1] = uint64_t(p >> 64);
    return 0;
  }
  if (opc == 4 || opc == 6) {  // ADDHN/RADDHN, SUBHN/RSUBHN: the high halves of wide sums
    r = narrow_start(s, o);
    for (unsigned i = 0; i < count; ++i) {
      uint64_t v = opc == 4 ? wide(n, i) + wide(m, i) : wide(n, i) - wide(m, i);
      if (u) v += 1ull << (eb - 1);  // the rounding forms
      r.set(base + i, eb, (v & mask_of(wb)) >> eb);
    }
    write_full(s, o.d, r);
    return 0;
  }
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t a = (opc == 1 || opc == 3) ? wide(n, i) : narrow(n, i);
    const uint64_t b = o.elem ? extend(m.get(o.index, eb)) : narrow(m, i);
    r.set(i, wb, long_lane(opc, u, a, b, wide(d, i), wb));
  }
  write_full(s, o.d, r);
  return 0;
}

// Shift by immediate: `shift` is the amount the lifter decoded (right shifts: 1..esize, left
// shifts 0..esize-1). size is the element size of Vd for the plain and long forms and the
// narrow size for the narrowing ones.
uint64_t helper_simd_shift(void* state, uint64_t packed, uint64_t shift, uint64_t, uint32_t op) {
  State& s = st(state);
  SaturationScope qc(s);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), lanes = lanes_of(o);
  const bool u = op >> 5 & 1;
  const unsigned sh = unsigned(shift);
  const Vec n = read_v(s, o.n), d = read_v(s, o.d);
  Vec r;
  auto shr = [&](unsigned i, bool round) {  // the exact right shift of lane i, rounded if asked
    __int128 v = u ? __int128(n.get(i, eb)) : __int128(n.gets(i, eb));
    if (round) v += __int128(1) << (sh - 1);
    return uint64_t(v >> sh) & mask_of(eb);
  };
  switch (op & 31) {
    case 0x00: case 0x02: case 0x04: case 0x06: {  // SSHR/USHR, SSRA, SRSHR, SRSRA
      const bool round = op & 4, acc = op & 2;
      for (unsigned i = 0; i < lanes; ++i) r.set(i, eb, (shr(i, round) + (acc ? d.get(i, eb) : 0)) & mask_of(eb));
      break;
    }
    case 0x08:  // SRI: the shifted bits replace Vd's low bits
      for (unsigned i = 0; i < lanes; ++i) {
        const uint64_t keep = sh == eb ? mask_of(eb) : ~(mask_of(eb) >> sh) & mask_of(eb);
        r.set(i, eb, (d.get(i, eb) & keep) | (sh == eb ? 0 : n.get(i, eb) >> sh));
      }
      break;
    case 0x0a:  // SHL / SLI
      for (unsigned i = 0; i < lanes; ++i) {
        const uint64_t shifted = (n.get(i, eb) << sh) & mask_of(eb);
        r.set(i, eb, u ? shifted | (d.get(i, eb) & ((1ull << sh) - 1)) : shifted);
      }
      break;
    case 0x0c:  // SQSHLU
    case 0x0e:  // SQSHL / UQSHL
      for (unsigned i = 0; i < lanes; ++i) {
        const __int128 v = (u && (op & 31) == 0x0e) ? __int128(n.get(i, eb)) : __int128(n.gets(i, eb));
        const __int128 shifted = v * (__int128(1) << sh);
        r.set(i, eb, (op & 31) == 0x0c || u ? sat_unsigned(shifted, eb) : sat_signed(shifted, eb));
      }
      break;
    case 0x10: case 0x11: case 0x12: case 0x13: {  // SHRN/SQSHRUN, RSHRN/SQRSHRUN, SQSHRN, SQRSHRN
      // Narrowing: lanes of 2 * eb in Vn, into the low (Q = 0) or high (Q = 1) half of Vd.
      const unsigned count = 64 / eb, base = o.q ? count : 0, wb = 2 * eb, opc = op & 31;
      const bool round = opc & 1;
      const bool src_signed = opc >= 0x12 ? !u : u;  // SQSHRUN's source is signed
      r = narrow_start(s, o);
      for (unsigned i = 0; i < count; ++i) {
        __int128 v = src_signed ? __int128(n.gets(i, wb)) : __int128(n.get(i, wb));
        if (round) v += __int128(1) << (sh - 1);
        v >>= sh;
        uint64_t out;
        if (opc < 0x12) out = u ? sat_unsigned(v, eb) : uint64_t(v) & mask_of(eb);  // SHRN, SQSHRUN
        else out = u ? sat_unsigned(v, eb) : sat_signed(v, eb);
        r.set(base + i, eb, out);
      }
      s.v[o.d][0] = o.scalar ? r.get(0, eb) : r.w[0];
      s.v[o.d][1] = o.scalar ? 0 : r.w[1];
      return 0;
    }
    case 0x14: {  // SSHLL / USHLL (SXTL / UXTL): eb is the source size, the source half by Q
      const unsigned count = 64 / eb, base = o.q ? count : 0;
      for (unsigned i = 0; i < count; ++i) {
        const uint64_t v = u ? n.get(base + i, eb) : uint64_t(n.gets(base + i, eb));
        r.set(i, 2 * eb, v << sh);
      }
      write_full(s, o.d, r);
      return 0;
    }
  }
  write_v(s, o, r, eb);
  return 0;
}

// UZP1/UZP2 (1/5), TRN1/TRN2 (2/6), ZIP1/ZIP2 (3/7).
uint64_t helper_simd_perm(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t op) {
  State& s = st(state);
  const VecOperands o = VecOperands::unpack(packed);
  const unsigned eb = ebits_of(o), lanes = lanes_of(o), half = lanes / 2, part = op >> 2 & 1;
  const Vec n = read_v(s, o.n), m = read_v(s, o.m);
  auto cat = [&](unsigned k) { return k < lanes ? n.get(k, eb) : m.get(k - lanes, eb); };  // Vm:Vn
  Vec r;
  for (unsigned i = 0; i < lanes; ++i) {
    uint64_t v = 0;
    switch (op & 3) {
      case 1: v = cat(2 * i + part); break;
      case 2: v = (i & 1 ? m : n).get((i & ~1u) + part, eb); break;
      case 3: v = (i & 1 ? m : n).get(part * half + i / 2, eb); break;
    }
    r.set(i, eb, v);
  }
  write_v(s, o, r, eb);
  return 0;
}

// TBL / TBX: bytes of Vm index the table of `regs` consecutive registers from Vn (wrapping
// at 31); an index past it gives 0 (TBL) or leaves Vd's byte (TBX, imm 1).
uint64_t helper_simd_tbl(void* state, uint64_t packed, uint64_t regs, uint64_t, uint32_t tbx) {
  State& s = st(state);
  const VecOperands o = VecOperands::unpack(packed);
  uint8_t table[64];
  for (unsigned k = 0; k < regs; ++k) std::memcpy(table + 16 * k, s.v[(o.n + k) % 32], 16);
  const Vec idx = read_v(s, o.m), d = read_v(s, o.d);
  Vec r;
  for (unsigned i = 0; i < (o.q ? 16u : 8u); ++i) {
    const unsigned k = idx.byte(i);
    r.set(i, 8, k < 16 * regs ? table[k] : tbx ? d.byte(i) : 0);
  }
  write_v(s, o, r, 8);
  return 0;
}

// The memory image of LD2/LD3/LD4 and ST2/ST3/ST4 (multiple structures) of `count` registers
// from Vt (wrapping at 31): structure i's element k lies at image element i * count + k.
// packed: d = Vt, size, Q.
namespace {
struct Structures {
  VecOperands o;
  unsigned count, eb, lanes, per;  // registers, element bits, elements per register, bytes per register
  Structures(uint64_t packed, unsigned n) : o(VecOperands::unpack(packed)), count(n) {
    eb = ebits_of(o);
    lanes = (o.q ? 128 : 64) / eb;
    per = o.q ? 16 : 8;
  }
  unsigned reg(unsigned k) const { return (o.d + k) % 32; }
};
}  // namespace

// Loads: the lifter loaded the image into Vt.. as if by LD1 (Vt holding its first 8 or 16
// bytes, and so on); this deals the elements out to their registers in place.
uint64_t helper_simd_deinterleave(void* state, uint64_t packed, uint64_t, uint64_t, uint32_t count) {
  State& s = st(state);
  const Structures t(packed, count);
  Vec image[4], out[4];
  for (unsigned k = 0; k < count; ++k) image[k] = read_v(s, t.reg(k));
  for (unsigned k = 0; k < count; ++k)
    for (unsigned i = 0; i < t.lanes; ++i) {
      const unsigned pos = i * count + k;
      out[k].set(i, t.eb, image[pos / t.lanes].get(pos % t.lanes, t.eb));
    }
  for (unsigned k = 0; k < count; ++k) {
    s.v[t.reg(k)][0] = out[k].w[0];
    s.v[t.reg(k)][1] = t.o.q ? out[k].w[1] : 0;
  }
  return 0;
}

// Stores: the 64-bit word `index` of the image of registers Vt.., for the lifter to store.
uint64_t helper_simd_interleaved_word(void* state, uint64_t packed, uint64_t index, uint64_t, uint32_t count) {
  const State& s = st(state);
  const Structures t(packed, count);
  const unsigned per_word = 64 / t.eb;
  Vec word;
  for (unsigned j = 0; j < per_word; ++j) {
    const unsigned pos = unsigned(index) * per_word + j, structure = pos / count, k = pos % count;
    word.set(j, t.eb, Vec{{s.v[t.reg(k)][0], s.v[t.reg(k)][1]}}.get(structure, t.eb));
  }
  return word.w[0];
}

}  // namespace vmkit::a64
