// SSSE3, SSE4.1 and SSE4.2 (legacy encodings; the VEX forms have their own mnemonics and are not
// lifted). The integer operations are plain IR on the 64-bit halves with lift_sse.h's SWAR
// blocks, width-generic as in lift_sse.cpp so the SSSE3 ones also lift their MMX forms. Helpers
// (helpers_sse4.cpp) take the rest: round*, dpps and dppd (the host instruction under the guest's
// MXCSR), mpsadbw, the string compares pcmp[ei]str[im] and crc32.
//
// Alignment (checked on the host): legacy m128 operands need 16 bytes (#GP) except for the string
// compares; pmovzx/pmovsx, insertps, pinsr*, roundss/roundsd take narrower operands, unaligned.
// Every memory operand is read before any register is written.
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"
#include "frontend/x86_64/lift_sse.h"

namespace vmkit::x64 {

namespace {

using namespace sse;

// ---- SSSE3 ----------------------------------------------------------------------------------------

// pshufb: byte k of the result is the table's (the destination's) byte at the index in the
// source's byte k (its low 4 bits; 3 for mm), or zero where that byte's top bit is set.
Slot shuffle_bytes_half(Ctx& c, Vec table, Slot indices) {
  Slot r = from_lanes(c, 8, 8, [&](unsigned k) {
    Slot idx = element(c, indices, 8, k);
    Slot from = table.lo;
    if (!table.is_mmx()) from = c.b.select(c.b.binop(Op::ne, and64(c, idx, 8), c.c64(0)), table.hi, table.lo);
    return c.b.binop(Op::lshr, from, shl(c, and64(c, idx, 7), 3));
  });
  return c.b.binop(Op::andn, r, spread_tops(c, and64(c, indices, lane_tops(8)), 8));
}

bool lift_pshufb(Ctx& c) {
  if (!vec_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_vreg(c, c.in.op(0));
  put_vreg(c, c.in.op(0), per_half(s, s, [&](Slot idx, Slot) { return shuffle_bytes_half(c, d, idx); }));
  return true;
}

// The 64 bits at byte offset `at` of the little-endian concatenation of `qwords` (zero past its
// end).
Slot qword_at(Ctx& c, const Slot* qwords, unsigned count, unsigned at) {
  const unsigned q = at / 8, bits = 8 * (at % 8);
  auto qword = [&](unsigned i) { return i < count ? qwords[i] : c.c64(0); };
  if (q >= count) return c.c64(0);
  if (bits == 0) return qwords[q];
  return or_(c, shr(c, qwords[q], bits), shl(c, qword(q + 1), 64 - bits));
}

// palignr: the destination:source concatenation (destination high) shifted right by imm8 bytes,
// its low 16 (mm: 8) bytes.
bool lift_palignr(Ctx& c) {
  if (!vec_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned shift = imm8(c.in.op(2));
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_vreg(c, c.in.op(0));
  if (d.is_mmx()) {
    const Slot q[2] = {s.lo, d.lo};
    put_vreg(c, c.in.op(0), {qword_at(c, q, 2, shift)});
  } else {
    const Slot q[4] = {s.lo, s.hi, d.lo, d.hi};
    put_vreg(c, c.in.op(0), {qword_at(c, q, 4, shift), qword_at(c, q, 4, shift + 8)});
  }
  return true;
}

// phadd/phsub (E-bit lanes; Saturate: the signed-saturating phaddsw/phsubsw): a half whose low
// lanes are the pair sums (differences: even minus odd) of x's lanes, its high lanes those of y's.
template <unsigned E, bool Subtract, bool Saturate>
Slot horizontal_half(Ctx& c, Slot x, Slot y) {
  const unsigned lanes = 64 / E;
  return from_lanes(c, E, lanes, [&](unsigned k) {
    Slot from = k < lanes / 2 ? x : y;
    const unsigned pair = 2 * (k % (lanes / 2));
    Slot r = c.b.binop(Subtract ? Op::sub : Op::add, lane_of(c, from, E, pair, Saturate),
                       lane_of(c, from, E, pair + 1, Saturate));
    if (!Saturate) return r;
    return c.b.binop(Op::mins, c.b.binop(Op::maxs, r, c.c64(uint64_t(-32768))), c.c64(32767));
  });
}

// The whole result: for xmm the destination's pairs in the low half and the source's in the
// high one; for mm the destination's in the low 32 bits, the source's in the high.
template <unsigned E, bool Subtract, bool Saturate>
bool lift_horizontal(Ctx& c) {
  if (!vec_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_vreg(c, c.in.op(0));
  auto half = [&](Slot x, Slot y) { return horizontal_half<E, Subtract, Saturate>(c, x, y); };
  put_vreg(c, c.in.op(0), d.is_mmx() ? Vec{half(d.lo, s.lo)} : Vec{half(d.lo, d.hi), half(s.lo, s.hi)});
  return true;
}

// pmaddubsw: each word is the signed-saturated sum of two products of an unsigned destination
// byte and a signed source byte.
Slot madd_bytes(Ctx& c, Slot d, Slot s) {
  return from_lanes(c, 16, 4, [&](unsigned k) {
    auto product = [&](unsigned b) { return c.b.binop(Op::mul, lane_of(c, d, 8, b, false), lane_of(c, s, 8, b, true)); };
    Slot sum = c.b.binop(Op::add, product(2 * k), product(2 * k + 1));
    return c.b.binop(Op::mins, c.b.binop(Op::maxs, sum, c.c64(uint64_t(-32768))), c.c64(32767));
  });
}

// pmulhrsw: each word is the signed product's bits 15..30 rounded: ((d * s >> 14) + 1) >> 1.
Slot mul_high_round_words(Ctx& c, Slot d, Slot s) {
  return from_lanes(c, 16, 4, [&](unsigned k) {
    Slot p = c.b.binop(Op::mul, lane_of(c, d, 16, k, true), lane_of(c, s, 16, k, true));
    Slot scaled = c.b.binop(Op::add, c.b.binop(Op::ashr, p, c.c64(14)), c.c64(1));
    return c.b.binop(Op::ashr, scaled, c.c64(1));
  });
}

// Each lane negated (two's complement, so the minimum stays itself).
Slot negate_lanes(Ctx& c, Slot x, unsigned ebits) { return lane_add(c, c.c64(0), x, ebits, true); }
// All ones in the lanes whose sign bit is set.
Slot negative_lanes(Ctx& c, Slot x, unsigned ebits) { return spread_tops(c, and64(c, x, lane_tops(ebits)), ebits); }

// psign: each destination lane negated where the source's is negative, zeroed where it is zero.
template <unsigned E>
Slot sign_lanes(Ctx& c, Slot d, Slot s) {
  Slot signed_d = blend(c, negative_lanes(c, s, E), negate_lanes(c, d, E), d);
  return c.b.binop(Op::andn, signed_d, equal_mask(c, s, c.c64(0), E));
}

// pabs: the source's lanes' absolute values (the minimum stays itself, read as unsigned).
template <unsigned E>
bool lift_pabs(Ctx& c) {
  if (!vec_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  put_vreg(c, c.in.op(0), per_half(s, s, [&](Slot x, Slot) {
             return blend(c, negative_lanes(c, x, E), negate_lanes(c, x, E), x);
           }));
  return true;
}

// ---- SSE4.1 integer -----------------------------------------------------------------------------

// The lane operations of lift_binary (xmm, xmm/m128; the SSE4 ones have no mm form).
template <unsigned E, bool Signed, bool Max>
Slot minmax(Ctx& c, Slot d, Slot s) { return minmax_lanes<E, Signed, Max>(c, d, s); }
Slot mul_low_dword_lanes(Ctx& c, Slot d, Slot s) {  // pmulld
  return from_lanes(c, 32, 2, [&](unsigned k) { return c.b.binop(Op::mul, lane_of(c, d, 32, k, false), lane_of(c, s, 32, k, false)); });
}
Slot mul_signed_low_dwords(Ctx& c, Slot d, Slot s) {  // pmuldq
  return c.b.binop(Op::mul, lane_of(c, d, 32, 0, true), lane_of(c, s, 32, 0, true));
}
Slot equal_qwords(Ctx& c, Slot d, Slot s) { return equal_mask(c, d, s, 64); }          // pcmpeqq
Slot greater_qwords(Ctx& c, Slot d, Slot s) { return below_mask(c, s, d, 64, true); }  // pcmpgtq (SSE4.2)

template <HalfOp F>
bool lift_xmm_binary(Ctx& c) {
  if (!xmm_rm_form(c)) return false;
  return lift_binary<F>(c);
}

// packusdw: the destination's then the source's signed dwords as unsigned-saturated words.
bool lift_packusdw(Ctx& c) {
  if (!xmm_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, xmm_n(c.in.op(0)));
  auto pair = [&](Slot low, Slot high) { return or_(c, narrow_half<32, true>(c, low), shl(c, narrow_half<32, true>(c, high), 32)); };
  put_xmm(c, xmm_n(c.in.op(0)), {pair(d.lo, d.hi), pair(s.lo, s.hi)});
  return true;
}

// pmovzx/pmovsx: the source's low E-bit elements widened to W bits. The source is an xmm (its low
// half holds every element used) or memory of exactly those elements (m16..m64, unaligned).
template <unsigned E, unsigned W, bool Signed>
bool lift_pmov_extend(Ctx& c) {
  const ZydisDecodedOperand& s = c.in.op(1);
  if (!is_xmm(c.in.op(0)) || !(is_xmm(s) || is_mem(s))) return false;
  Slot src = is_xmm(s) ? get_half(c, xmm_n(s), 0) : c.zext64(c.read(1));
  const unsigned per_half = 64 / W;
  auto half = [&](unsigned first) {
    return from_lanes(c, W, per_half, [&](unsigned k) { return lane_of(c, src, E, first + k, Signed); });
  };
  put_xmm(c, xmm_n(c.in.op(0)), {half(0), half(per_half)});
  return true;
}

// pinsrb/pinsrd/pinsrq xmm, r/m, imm8: element imm8 (modulo the count) of E bits replaced by the
// source's low E bits.
template <unsigned E>
bool lift_pinsr(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!is_xmm(d) || !(is_gpr(s) || is_mem(s)) || !is_imm(c.in.op(2))) return false;
  const unsigned k = imm8(c.in.op(2)) % (128 / E), half = k * E / 64, shift = k * E % 64;
  Slot value = and64(c, c.zext64(c.read(1)), lane_mask(E));
  Slot old = get_half(c, xmm_n(d), half);
  Slot cleared = E == 64 ? c.c64(0) : and64(c, old, ~(lane_mask(E) << shift));
  put_half(c, xmm_n(d), half, or_(c, cleared, shift ? shl(c, value, shift) : value));
  return true;
}

// pextrb/pextrw/pextrd/pextrq and extractps r/m, xmm, imm8: element imm8 (modulo the count) of E
// bits, zero-extended into a register. (lift_sse.cpp lifts pextrw's register form.)
template <unsigned E>
bool lift_pextr(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!(is_gpr(d) || is_mem(d)) || !is_xmm(s) || !is_imm(c.in.op(2))) return false;
  if (E == 16 && !is_mem(d)) return false;
  const unsigned k = imm8(c.in.op(2)) % (128 / E);
  c.write(0, element(c, get_half(c, xmm_n(s), k * E / 64), E, k % (64 / E)));
  return true;
}

// insertps xmm, xmm/m32, imm8: dword imm8[5:4] of the destination replaced by the source's dword
// imm8[7:6] (an m32 itself), then the dwords of imm8[3:0] zeroed.
bool lift_insertps(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!is_xmm(d) || !(is_xmm(s) || is_mem(s)) || !is_imm(c.in.op(2))) return false;
  const unsigned imm = imm8(c.in.op(2)), to = (imm >> 4) & 3;
  Slot value = is_mem(s) ? c.zext64(c.read(1)) : dword_of(c, get_xmm(c, xmm_n(s)), imm >> 6);
  Vec old = get_xmm(c, xmm_n(d));
  auto dword = [&](unsigned k) {
    if (imm >> k & 1) return c.c64(0);
    return k == to ? value : dword_of(c, old, k);
  };
  put_xmm(c, xmm_n(d), {or_(c, dword(0), shl(c, dword(1), 32)), or_(c, dword(2), shl(c, dword(3), 32))});
  return true;
}

// ptest xmm, xmm/m128: ZF = (d & s) == 0, CF = (~d & s) == 0, the other flags cleared.
bool lift_ptest(Ctx& c) {
  if (!xmm_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, xmm_n(c.in.op(0)));
  auto none = [&](Op k, uint32_t flag) {
    Slot any = or_(c, c.b.binop(k, s.lo, d.lo), c.b.binop(k, s.hi, d.hi));
    Slot is_zero = c.b.convert(Op::zext, Type::I32, c.b.binop(Op::eq, any, c.c64(0)));
    return c.b.binop(Op::mul, is_zero, c.c32(flag));
  };
  c.set_flags_raw(c.b.binop(Op::or_, none(Op::and_, kZF), none(Op::andn, kCF)));
  return true;
}

// A half's lane mask from imm8 bits: lane k (of E bits) all ones where bit `first + k` is set.
uint64_t imm_lane_mask(unsigned imm, unsigned first, unsigned ebits) {
  uint64_t m = 0;
  for (unsigned k = 0; k < 64 / ebits; ++k)
    if (imm >> (first + k) & 1) m |= lane_mask(ebits) << (ebits * k);
  return m;
}

// pblendw (16), blendps (32), blendpd (64) xmm, xmm/m128, imm8: lane k from the source where
// imm8 bit k is set.
template <unsigned E>
bool lift_blend_imm(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned imm = imm8(c.in.op(2)), lanes = 64 / E;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, xmm_n(c.in.op(0)));
  put_xmm(c, xmm_n(c.in.op(0)), {blend(c, c.c64(imm_lane_mask(imm, 0, E)), s.lo, d.lo),
                                 blend(c, c.c64(imm_lane_mask(imm, lanes, E)), s.hi, d.hi)});
  return true;
}

// pblendvb (8), blendvps (32), blendvpd (64) xmm, xmm/m128, <xmm0>: lane k from the source where
// xmm0's lane k has its top bit set.
template <unsigned E>
bool lift_blend_var(Ctx& c) {
  if (!xmm_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, xmm_n(c.in.op(0)));
  Vec m = get_xmm(c, 0);
  put_xmm(c, xmm_n(c.in.op(0)), {blend(c, negative_lanes(c, m.lo, E), s.lo, d.lo),
                                 blend(c, negative_lanes(c, m.hi, E), s.hi, d.hi)});
  return true;
}

// phminposuw xmm, xmm/m128: the least unsigned word in bits 0..15, its (lowest) index in bits
// 16..18, the rest zero: the minimum of word << 3 | index over the eight words.
bool lift_phminposuw(Ctx& c) {
  if (!xmm_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Slot best = ir::kNoSlot;
  for (unsigned k = 0; k < 8; ++k) {
    Slot key = or_(c, shl(c, element(c, k < 4 ? s.lo : s.hi, 16, k % 4), 3), c.c64(k));
    best = k ? c.b.binop(Op::minu, best, key) : key;
  }
  put_xmm(c, xmm_n(c.in.op(0)), {or_(c, shr(c, best, 3), shl(c, and64(c, best, 7), 16)), c.c64(0)});
  return true;
}

// movntdqa xmm, m128: an aligned load (the non-temporal hint has no effect here).
bool lift_movntdqa(Ctx& c) {
  if (!is_xmm(c.in.op(0)) || !is_mem(c.in.op(1))) return false;
  put_xmm(c, xmm_n(c.in.op(0)), read_vec(c, 1, Align::Sixteen));
  return true;
}

// ---- through helpers ------------------------------------------------------------------------------

// The source of a helper operation: an xmm, or memory of the operand's size (m128 aligned as `a`
// says; m32/m64 zero-extended into the low half).
Vec helper_source(Ctx& c, unsigned i, Align a) {
  const ZydisDecodedOperand& o = c.in.op(i);
  if (is_xmm(o) || o.size == 128) return read_vec(c, i, a);
  return {c.zext64(c.read(i)), c.c64(0)};
}

// roundps (08), roundpd (09), roundss (0A), roundsd (0B), dpps (40), dppd (41) xmm, xmm/m, imm8:
// m128 aligned, m32/m64 (the scalar rounds) not.
template <uint8_t Opcode>
bool lift_sse4_fp(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  Vec s = helper_source(c, 1, Align::Sixteen);
  const uint64_t a = xmm_n(c.in.op(0)) | imm8(c.in.op(2)) << 4;
  c.b.call(Type::I64, H_sse4_fp, c.c64(a), s.lo, s.hi, Opcode);
  return true;
}

// mpsadbw xmm, xmm/m128, imm8.
bool lift_mpsadbw(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  c.b.call(Type::I64, H_mpsadbw, c.c64(xmm_n(c.in.op(0))), s.lo, s.hi, uint8_t(imm8(c.in.op(2))));
  return true;
}

// pcmpestri/pcmpestrm (Explicit: lengths in eax/edx, rax/rdx with REX.W) and pcmpistri/pcmpistrm
// xmm1, xmm2/m128 (unaligned), imm8: the index to ecx or the mask to xmm0, and CF ZF SF OF (AF
// PF cleared).
template <bool Explicit, bool Mask>
bool lift_pcmpstr(Ctx& c) {
  const ZydisDecodedOperand& s = c.in.op(1);
  if (!is_xmm(c.in.op(0)) || !(is_xmm(s) || is_mem(s)) || !is_imm(c.in.op(2))) return false;
  Vec src = read_vec(c, 1, Align::Any);
  const bool wide = Explicit && c.in.op(3).reg.value == ZYDIS_REGISTER_RAX;
  const uint64_t form = xmm_n(c.in.op(0)) | (Explicit ? 16 : 0) | (Mask ? 32 : 0) | (wide ? 64 : 0);
  c.set_flags_raw(c.b.call(Type::I32, H_pcmpstr, c.c64(form), src.lo, src.hi, uint8_t(imm8(c.in.op(2)))));
  return true;
}

// crc32 r32/r64, r/m8..r/m64: the CRC32C of the source's bytes continued from the destination's
// low 32 bits; the result zero-extended.
bool lift_crc32(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!is_gpr(d) || !(s.type == ZYDIS_OPERAND_TYPE_REGISTER || is_mem(s))) return false;
  Slot data = c.zext64(c.read(1));
  Slot crc = c.zext64(c.narrow(c.reg(d.reg.value), Type::I32));
  c.write(0, c.b.callp(Type::I64, H_crc32, crc, data, ir::kNoSlot, uint8_t(s.size / 8)));
  return true;
}

// ---- the table ------------------------------------------------------------------------------------

// Entries wrapped in with_mmx_state also lift the mnemonic's MMX forms.
const InsnDesc kInsns[] = {
    // SSSE3
    {ZYDIS_MNEMONIC_PSHUFB, with_mmx_state<lift_pshufb>},
    {ZYDIS_MNEMONIC_PALIGNR, with_mmx_state<lift_palignr>},
    {ZYDIS_MNEMONIC_PHADDW, with_mmx_state<lift_horizontal<16, false, false>>},
    {ZYDIS_MNEMONIC_PHADDD, with_mmx_state<lift_horizontal<32, false, false>>},
    {ZYDIS_MNEMONIC_PHADDSW, with_mmx_state<lift_horizontal<16, false, true>>},
    {ZYDIS_MNEMONIC_PHSUBW, with_mmx_state<lift_horizontal<16, true, false>>},
    {ZYDIS_MNEMONIC_PHSUBD, with_mmx_state<lift_horizontal<32, true, false>>},
    {ZYDIS_MNEMONIC_PHSUBSW, with_mmx_state<lift_horizontal<16, true, true>>},
    {ZYDIS_MNEMONIC_PMADDUBSW, with_mmx_state<lift_binary<madd_bytes>>},
    {ZYDIS_MNEMONIC_PMULHRSW, with_mmx_state<lift_binary<mul_high_round_words>>},
    {ZYDIS_MNEMONIC_PSIGNB, with_mmx_state<lift_binary<sign_lanes<8>>>},
    {ZYDIS_MNEMONIC_PSIGNW, with_mmx_state<lift_binary<sign_lanes<16>>>},
    {ZYDIS_MNEMONIC_PSIGND, with_mmx_state<lift_binary<sign_lanes<32>>>},
    {ZYDIS_MNEMONIC_PABSB, with_mmx_state<lift_pabs<8>>},
    {ZYDIS_MNEMONIC_PABSW, with_mmx_state<lift_pabs<16>>},
    {ZYDIS_MNEMONIC_PABSD, with_mmx_state<lift_pabs<32>>},
    // SSE4.1 integer
    {ZYDIS_MNEMONIC_PMINSB, lift_xmm_binary<minmax<8, true, false>>},
    {ZYDIS_MNEMONIC_PMINSD, lift_xmm_binary<minmax<32, true, false>>},
    {ZYDIS_MNEMONIC_PMINUW, lift_xmm_binary<minmax<16, false, false>>},
    {ZYDIS_MNEMONIC_PMINUD, lift_xmm_binary<minmax<32, false, false>>},
    {ZYDIS_MNEMONIC_PMAXSB, lift_xmm_binary<minmax<8, true, true>>},
    {ZYDIS_MNEMONIC_PMAXSD, lift_xmm_binary<minmax<32, true, true>>},
    {ZYDIS_MNEMONIC_PMAXUW, lift_xmm_binary<minmax<16, false, true>>},
    {ZYDIS_MNEMONIC_PMAXUD, lift_xmm_binary<minmax<32, false, true>>},
    {ZYDIS_MNEMONIC_PMULLD, lift_xmm_binary<mul_low_dword_lanes>},
    {ZYDIS_MNEMONIC_PMULDQ, lift_xmm_binary<mul_signed_low_dwords>},
    {ZYDIS_MNEMONIC_PCMPEQQ, lift_xmm_binary<equal_qwords>},
    {ZYDIS_MNEMONIC_PACKUSDW, lift_packusdw},
    {ZYDIS_MNEMONIC_PMOVZXBW, lift_pmov_extend<8, 16, false>},
    {ZYDIS_MNEMONIC_PMOVZXBD, lift_pmov_extend<8, 32, false>},
    {ZYDIS_MNEMONIC_PMOVZXBQ, lift_pmov_extend<8, 64, false>},
    {ZYDIS_MNEMONIC_PMOVZXWD, lift_pmov_extend<16, 32, false>},
    {ZYDIS_MNEMONIC_PMOVZXWQ, lift_pmov_extend<16, 64, false>},
    {ZYDIS_MNEMONIC_PMOVZXDQ, lift_pmov_extend<32, 64, false>},
    {ZYDIS_MNEMONIC_PMOVSXBW, lift_pmov_extend<8, 16, true>},
    {ZYDIS_MNEMONIC_PMOVSXBD, lift_pmov_extend<8, 32, true>},
    {ZYDIS_MNEMONIC_PMOVSXBQ, lift_pmov_extend<8, 64, true>},
    {ZYDIS_MNEMONIC_PMOVSXWD, lift_pmov_extend<16, 32, true>},
    {ZYDIS_MNEMONIC_PMOVSXWQ, lift_pmov_extend<16, 64, true>},
    {ZYDIS_MNEMONIC_PMOVSXDQ, lift_pmov_extend<32, 64, true>},
    {ZYDIS_MNEMONIC_PINSRB, lift_pinsr<8>},
    {ZYDIS_MNEMONIC_PINSRD, lift_pinsr<32>},
    {ZYDIS_MNEMONIC_PINSRQ, lift_pinsr<64>},
    {ZYDIS_MNEMONIC_PEXTRB, lift_pextr<8>},
    {ZYDIS_MNEMONIC_PEXTRW, lift_pextr<16>},
    {ZYDIS_MNEMONIC_PEXTRD, lift_pextr<32>},
    {ZYDIS_MNEMONIC_PEXTRQ, lift_pextr<64>},
    {ZYDIS_MNEMONIC_EXTRACTPS, lift_pextr<32>},
    {ZYDIS_MNEMONIC_INSERTPS, lift_insertps},
    {ZYDIS_MNEMONIC_PTEST, lift_ptest},
    {ZYDIS_MNEMONIC_PBLENDW, lift_blend_imm<16>},
    {ZYDIS_MNEMONIC_BLENDPS, lift_blend_imm<32>},
    {ZYDIS_MNEMONIC_BLENDPD, lift_blend_imm<64>},
    {ZYDIS_MNEMONIC_PBLENDVB, lift_blend_var<8>},
    {ZYDIS_MNEMONIC_BLENDVPS, lift_blend_var<32>},
    {ZYDIS_MNEMONIC_BLENDVPD, lift_blend_var<64>},
    {ZYDIS_MNEMONIC_PHMINPOSUW, lift_phminposuw},
    {ZYDIS_MNEMONIC_MOVNTDQA, lift_movntdqa},
    {ZYDIS_MNEMONIC_MPSADBW, lift_mpsadbw},
    // SSE4.1 floating point
    {ZYDIS_MNEMONIC_ROUNDPS, lift_sse4_fp<0x08>},
    {ZYDIS_MNEMONIC_ROUNDPD, lift_sse4_fp<0x09>},
    {ZYDIS_MNEMONIC_ROUNDSS, lift_sse4_fp<0x0A>},
    {ZYDIS_MNEMONIC_ROUNDSD, lift_sse4_fp<0x0B>},
    {ZYDIS_MNEMONIC_DPPS, lift_sse4_fp<0x40>},
    {ZYDIS_MNEMONIC_DPPD, lift_sse4_fp<0x41>},
    // SSE4.2
    {ZYDIS_MNEMONIC_PCMPGTQ, lift_xmm_binary<greater_qwords>},
    {ZYDIS_MNEMONIC_PCMPESTRI, lift_pcmpstr<true, false>},
    {ZYDIS_MNEMONIC_PCMPESTRM, lift_pcmpstr<true, true>},
    {ZYDIS_MNEMONIC_PCMPISTRI, lift_pcmpstr<false, false>},
    {ZYDIS_MNEMONIC_PCMPISTRM, lift_pcmpstr<false, true>},
    {ZYDIS_MNEMONIC_CRC32, lift_crc32},
};

}  // namespace

InsnTable sse4_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
