// SSSE3/SSE4.1/SSE4.2 helpers: the operations that plain IR would make long (mpsadbw, the
// string compares, CRC32C) as portable C, and the floating-point ones (round*, dpps, dppd) as the
// same instruction on the host under the guest's MXCSR, as helpers_sse_fp.cpp does: the host's
// result bits, flags, DAZ/FTZ and rounding are the reference. Their imm8 is part of the host
// instruction, so each imm8 value has its own instantiation, picked from a table.
//
// Guest memory is never touched here: the lifters load memory sources before the call.
#include <array>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <utility>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/mxcsr.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

State& st(void* s) { return *static_cast<State*>(s); }

// ---- the SSE4.1 floating point on the host ------------------------------------------------------

#if defined(__x86_64__)

using namespace mxcsr;

// A register's bits, as the host functions take them (a plain struct: a function type naming
// __m128i would lose its vector attribute as a template argument).
struct Xmm {
  uint64_t h[2];
};

// `insn $Imm, s, d` between a switch to the MXCSR `csr` and the read of the flags it raised.
template <unsigned Imm>
struct HostOp {
#define IMM_OP(insn)                                                                                \
  static uint32_t insn(Xmm& dst, const Xmm& src, uint32_t csr) {                                    \
    __m128i d, s;                                                                                   \
    std::memcpy(&d, dst.h, sizeof d);                                                               \
    std::memcpy(&s, src.h, sizeof s);                                                               \
    uint32_t saved, after = 0;                                                                      \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[csr]\n\t" #insn " %[imm], %[s], %[d]\n\t"           \
                 "stmxcsr %[after]\n\tldmxcsr %[saved]"                                             \
                 : [d] "+x"(d), [saved] "=m"(saved), [after] "=m"(after)                            \
                 : [s] "x"(s), [csr] "m"(csr), [imm] "i"(Imm));                                     \
    std::memcpy(dst.h, &d, sizeof d);                                                               \
    return after;                                                                                   \
  }
  IMM_OP(roundps)
  IMM_OP(roundpd)
  IMM_OP(roundss)
  IMM_OP(roundsd)
  IMM_OP(dpps)
  IMM_OP(dppd)
#undef IMM_OP
};

using HostFn = uint32_t (*)(Xmm& d, const Xmm& s, uint32_t csr);

// The host functions of one instruction, indexed by imm8 (N of them: round* use imm8 bits 0..3,
// the others are reserved).
template <template <unsigned> class Pick, size_t... I>
constexpr std::array<HostFn, sizeof...(I)> host_table(std::index_sequence<I...>) {
  return {Pick<unsigned(I)>::fn...};
}
template <unsigned I> struct PickRoundps { static constexpr HostFn fn = HostOp<I>::roundps; };
template <unsigned I> struct PickRoundpd { static constexpr HostFn fn = HostOp<I>::roundpd; };
template <unsigned I> struct PickRoundss { static constexpr HostFn fn = HostOp<I>::roundss; };
template <unsigned I> struct PickRoundsd { static constexpr HostFn fn = HostOp<I>::roundsd; };
template <unsigned I> struct PickDpps { static constexpr HostFn fn = HostOp<I>::dpps; };
template <unsigned I> struct PickDppd { static constexpr HostFn fn = HostOp<I>::dppd; };

constexpr auto kRoundps = host_table<PickRoundps>(std::make_index_sequence<16>());
constexpr auto kRoundpd = host_table<PickRoundpd>(std::make_index_sequence<16>());
constexpr auto kRoundss = host_table<PickRoundss>(std::make_index_sequence<16>());
constexpr auto kRoundsd = host_table<PickRoundsd>(std::make_index_sequence<16>());
constexpr auto kDpps = host_table<PickDpps>(std::make_index_sequence<256>());
constexpr auto kDppd = host_table<PickDppd>(std::make_index_sequence<256>());

HostFn host_fn(unsigned opcode, unsigned imm) {
  switch (opcode) {
    case 0x08: return kRoundps[imm & 15];
    case 0x09: return kRoundpd[imm & 15];
    case 0x0A: return kRoundss[imm & 15];
    case 0x0B: return kRoundsd[imm & 15];
    case 0x40: return kDpps[imm];
    case 0x41: return kDppd[imm];
    default: return nullptr;
  }
}

#endif  // __x86_64__

// ---- mpsadbw ------------------------------------------------------------------------------------

struct Bytes16 {
  uint8_t b[16];
};
Bytes16 bytes_of(uint64_t lo, uint64_t hi) {
  Bytes16 r;
  std::memcpy(r.b, &lo, 8);
  std::memcpy(r.b + 8, &hi, 8);
  return r;
}

// ---- pcmpestri/pcmpestrm/pcmpistri/pcmpistrm (SDM Vol. 2B §4.1) -----------------------------------

// The 8 or 16 elements of a 128-bit value as imm8 bits 0..1 read them: unsigned or signed
// bytes or words.
struct Elements {
  int32_t e[16];
  unsigned n;
};
Elements elements_of(const Bytes16& v, unsigned format) {
  Elements r{};
  const bool words = format & 1, is_signed = format & 2;
  r.n = words ? 8 : 16;
  for (unsigned i = 0; i < r.n; ++i) {
    if (words) {
      const uint16_t w = uint16_t(v.b[2 * i] | v.b[2 * i + 1] << 8);
      r.e[i] = is_signed ? int16_t(w) : w;
    } else {
      r.e[i] = is_signed ? int8_t(v.b[i]) : v.b[i];
    }
  }
  return r;
}

// An implicit length: the index of the first zero element (n if none).
unsigned implicit_length(const Elements& v) {
  for (unsigned i = 0; i < v.n; ++i)
    if (v.e[i] == 0) return i;
  return v.n;
}

// An explicit length (rax or rdx, 32 or 64 bits): its absolute value, at most n.
unsigned explicit_length(uint64_t reg, bool wide, unsigned n) {
  const int64_t v = wide ? int64_t(reg) : int64_t(int32_t(uint32_t(reg)));
  const uint64_t magnitude = v < 0 ? 0 - uint64_t(v) : uint64_t(v);
  return magnitude > n ? n : unsigned(magnitude);
}

// IntRes1 of the aggregation (imm8 bits 2..3) of a = xmm1 (len_a valid elements) and b =
// xmm2/m128 (len_b), with the SDM's overrides for invalid elements.
uint32_t aggregate(const Elements& a, unsigned len_a, const Elements& b, unsigned len_b, unsigned mode) {
  const unsigned n = a.n;
  uint32_t res = 0;
  switch (mode) {
    case 0:  // equal any: b[j] is one of a's valid elements
      for (unsigned j = 0; j < len_b; ++j)
        for (unsigned i = 0; i < len_a; ++i)
          if (a.e[i] == b.e[j]) res |= 1u << j;
      break;
    case 1:  // ranges: a[i] <= b[j] <= a[i + 1] for a valid pair (even i)
      for (unsigned j = 0; j < len_b; ++j)
        for (unsigned i = 0; i + 1 < len_a; i += 2)
          if (a.e[i] <= b.e[j] && b.e[j] <= a.e[i + 1]) res |= 1u << j;
      break;
    case 2:  // equal each: both invalid is a match, one invalid is not
      for (unsigned i = 0; i < n; ++i) {
        const bool va = i < len_a, vb = i < len_b;
        if (va && vb ? a.e[i] == b.e[i] : !va && !vb) res |= 1u << i;
      }
      break;
    default:  // equal ordered: a (the needle, invalid elements matching anything) at b[j]
      for (unsigned j = 0; j < n; ++j) {
        bool match = true;
        for (unsigned i = 0; i + j < n && match; ++i) {
          if (i >= len_a) break;                  // needle ended: the rest matches
          if (j + i >= len_b) match = false;      // valid needle element against an invalid one
          else match = a.e[i] == b.e[j + i];
        }
        if (match) res |= 1u << j;
      }
      break;
  }
  return res;
}

// ---- CRC32C ----------------------------------------------------------------------------------------

constexpr uint32_t kCrc32cPoly = 0x82f63b78;  // 0x1edc6f41 bit-reversed

constexpr std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t r = i;
    for (unsigned k = 0; k < 8; ++k) r = (r >> 1) ^ (r & 1 ? kCrc32cPoly : 0);
    t[i] = r;
  }
  return t;
}
constexpr auto kCrc32c = crc32c_table();

}  // namespace

uint64_t helper_sse4_fp(void* state, uint64_t a, uint64_t lo, uint64_t hi, uint32_t opcode) {
  State& s = st(state);
#if defined(__x86_64__)
  const unsigned n = a & 15, imm = unsigned(a >> 4) & 0xff;
  const HostFn fn = host_fn(opcode, imm);
  if (!fn) {
    s.common.trap.raise(SIGILL, ILL_ILLOPN, 0);  // (the lifter passes only the opcodes above)
    return 0;
  }
  Xmm d{{s.xmm[n][0], s.xmm[n][1]}};
  const uint32_t raised = fn(d, Xmm{{lo, hi}}, host_mxcsr(s.mxcsr)) & kFlagBits;
  if (commit_exceptions(s, raised)) {
    s.xmm[n][0] = d.h[0];
    s.xmm[n][1] = d.h[1];
  }
#else
  (void)a, (void)lo, (void)hi, (void)opcode;
  s.common.trap.raise(SIGILL, ILL_ILLOPN, 0);  // no host instruction to run: #UD
#endif
  return 0;
}

// mpsadbw: word i of the result is the sum of |d[off + i + j] - s[blk + j]| over j = 0..3, with
// off = 4 * imm8 bit 2 and blk = 4 * imm8 bits 0..1.
uint64_t helper_mpsadbw(void* state, uint64_t n, uint64_t lo, uint64_t hi, uint32_t imm) {
  State& s = st(state);
  const Bytes16 d = bytes_of(s.xmm[n][0], s.xmm[n][1]), src = bytes_of(lo, hi);
  const unsigned off = (imm & 4) ? 4 : 0, blk = 4 * (imm & 3);
  uint64_t half[2] = {0, 0};
  for (unsigned i = 0; i < 8; ++i) {
    unsigned sum = 0;
    for (unsigned j = 0; j < 4; ++j) {
      const int diff = int(d.b[off + i + j]) - int(src.b[blk + j]);
      sum += unsigned(diff < 0 ? -diff : diff);
    }
    half[i / 4] |= uint64_t(sum) << (16 * (i % 4));
  }
  s.xmm[n][0] = half[0];
  s.xmm[n][1] = half[1];
  return 0;
}

// imm8: bits 0..1 the element format, 2..3 the aggregation, 4..5 the polarity, 6 the most
// significant index (i forms) or a byte/word mask (m forms).
uint64_t helper_pcmpstr(void* state, uint64_t form, uint64_t lo, uint64_t hi, uint32_t imm) {
  State& s = st(state);
  const unsigned xmm1 = form & 15;
  const bool explicit_lengths = form & 16, mask_result = form & 32, wide = form & 64;
  const Elements a = elements_of(bytes_of(s.xmm[xmm1][0], s.xmm[xmm1][1]), imm & 3);
  const Elements b = elements_of(bytes_of(lo, hi), imm & 3);
  const unsigned n = a.n;
  const unsigned len_a = explicit_lengths ? explicit_length(s.r[RAX], wide, n) : implicit_length(a);
  const unsigned len_b = explicit_lengths ? explicit_length(s.r[RDX], wide, n) : implicit_length(b);
  const uint32_t all = (1u << n) - 1;
  uint32_t res = aggregate(a, len_a, b, len_b, (imm >> 2) & 3);
  switch ((imm >> 4) & 3) {
    case 1: res ^= all; break;                          // negated
    case 3: res ^= (1u << len_b) - 1; break;            // negated where b is valid
    default: break;
  }
  if (mask_result) {
    uint64_t half[2] = {0, 0};
    if (imm & 0x40) {  // each element all ones where its bit is set
      const unsigned ebytes = 16 / n;
      for (unsigned i = 0; i < n; ++i)
        if (res >> i & 1) half[i * ebytes / 8] |= (ebytes == 1 ? 0xffull : 0xffffull) << (8 * (i * ebytes % 8));
    } else {
      half[0] = res;
    }
    s.xmm[0][0] = half[0];
    s.xmm[0][1] = half[1];
  } else {
    unsigned index = n;
    if (res) index = (imm & 0x40) ? 31 - unsigned(__builtin_clz(res)) : unsigned(__builtin_ctz(res));
    s.r[RCX] = index;
  }
  return (res ? kCF : 0) | (len_b < n ? kZF : 0) | (len_a < n ? kSF : 0) | (res & 1 ? kOF : 0);
}

uint64_t helper_crc32(void*, uint64_t crc, uint64_t data, uint64_t, uint32_t bytes) {
  uint32_t r = uint32_t(crc);
  for (unsigned i = 0; i < bytes; ++i) r = (r >> 8) ^ kCrc32c[(r ^ (data >> (8 * i))) & 0xff];
  return r;
}

}  // namespace vmkit::x64
