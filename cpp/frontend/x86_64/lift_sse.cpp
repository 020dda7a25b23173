// SSE/SSE2 moves and integer operations on the xmm registers: the subset glibc's SSE2 string
// functions use, and the bitwise, shuffle and unpack forms of gcc's float code. Everything is plain IR on the registers' two 64-bit halves (State::xmm[n][0] low,
// [1] high), so the JIT compiles it inline: lanes narrower than 64 bits are handled with SWAR
// identities (lane-wise add/sub that keep carries inside their lane, byte compares through orcb,
// a multiply to gather or spread one bit per lane).
//
// Legacy-SSE memory operands of 128 bits must be 16-byte aligned (#GP, SIGSEGV otherwise) except
// for the unaligned moves (movdqu, movups, movupd); 64- and 32-bit ones need no alignment.
//
// MMX: the integer instructions also have forms on the 64-bit mm registers (the encodings
// without the 66 prefix). The lifters are width-generic: a vector value (Vec) is two halves for an
// xmm register and one (`hi` absent) for an mm register, and each half goes through the same IR.
// mm_i is the mantissa of the x87 physical register R_i (state.h); writing it sets R_i's exponent
// to all ones. Every MMX instruction is a waiting x87 instruction (#MF first if an unmasked x87
// exception is pending) and leaves TOP = 0 and every register valid (tag 00), after its accesses
// so that a fault leaves them as they were (with_mmx_state).
#include <algorithm>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"
#include "frontend/x86_64/lift_sse.h"

namespace vmkit::x64 {

namespace {

using namespace sse;

// ---- moves --------------------------------------------------------------------------------------

// movdqa/movdqu/movaps/movups/movapd/movupd (and the non-temporal movntdq/movntps/movntpd, plain
// stores here): xmm <- xmm/m128, or m128 <- xmm.
template <Align A>
bool lift_mov128(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!(is_xmm(d) && (is_xmm(s) || is_mem(s))) && !(is_mem(d) && is_xmm(s))) return false;
  write_vec(c, 0, read_vec(c, 1, A), A);
  return true;
}

// movd/movq: xmm <- r32/r64/m32/m64 or xmm (the high half cleared, the value zero-extended), and
// r32/r64/m32/m64 <- the low bits of an xmm; the same with mm (mm <- mm as well).
bool lift_movd_movq(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (is_mmx(d)) {
    if (!is_mmx(s) && !is_gpr(s) && !is_mem(s)) return false;
    put_mm(c, mmx_n(d), is_mmx(s) ? get_mm(c, mmx_n(s)) : c.zext64(c.read(1)));
    return true;
  }
  if (is_mmx(s)) {
    if (!is_gpr(d) && !is_mem(d)) return false;
    c.write(0, get_mm(c, mmx_n(s)));
    return true;
  }
  if (is_xmm(d)) {
    Slot lo;
    if (is_xmm(s)) lo = get_half(c, xmm_n(s), 0);
    else if (is_gpr(s) || is_mem(s)) lo = c.zext64(c.read(1));
    else return false;
    put_xmm(c, xmm_n(d), {lo, c.c64(0)});
    return true;
  }
  if (!is_xmm(s) || !(is_gpr(d) || is_mem(d))) return false;
  c.write(0, get_half(c, xmm_n(s), 0));
  return true;
}

// movss/movsd (scalar): xmm <- xmm merges the low element and keeps the rest; xmm <- m32/m64
// clears the rest; m <- xmm stores the low element. MOVSD is also the string instruction's
// mnemonic: that form is the string lifter's.
template <unsigned Bits>
bool lift_mov_scalar(Ctx& c) {
  if (c.in.d.meta.category == ZYDIS_CATEGORY_STRINGOP) return false;
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (is_xmm(d) && is_xmm(s)) {
    Slot lo = get_half(c, xmm_n(s), 0);
    if (Bits == 32) lo = or_(c, and64(c, get_half(c, xmm_n(d), 0), ~0xffffffffull), and64(c, lo, 0xffffffffull));
    put_half(c, xmm_n(d), 0, lo);
  } else if (is_xmm(d) && is_mem(s)) {
    put_xmm(c, xmm_n(d), {c.zext64(c.read(1)), c.c64(0)});
  } else if (is_mem(d) && is_xmm(s)) {
    c.write(0, get_half(c, xmm_n(s), 0));
  } else {
    return false;
  }
  return true;
}

// movlps/movlpd (Half 0), movhps/movhpd (Half 1): that half <- m64 (the other kept), or m64 <- it.
template <unsigned Half>
bool lift_mov_half(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (is_xmm(d) && is_mem(s)) put_half(c, xmm_n(d), Half, c.read(1));
  else if (is_mem(d) && is_xmm(s)) c.write(0, get_half(c, xmm_n(s), Half));
  else return false;
  return true;
}

// movhlps (From 1, To 0): low half <- the source's high half; movlhps (From 0, To 1) the reverse.
template <unsigned From, unsigned To>
bool lift_mov_half_reg(Ctx& c) {
  if (!is_xmm(c.in.op(0)) || !is_xmm(c.in.op(1))) return false;
  put_half(c, xmm_n(c.in.op(0)), To, get_half(c, xmm_n(c.in.op(1)), From));
  return true;
}

// movq2dq xmm, mm: the xmm's low half from the mm, the high half cleared.
bool lift_movq2dq(Ctx& c) {
  if (!is_xmm(c.in.op(0)) || !is_mmx(c.in.op(1))) return false;
  put_xmm(c, xmm_n(c.in.op(0)), {get_mm(c, mmx_n(c.in.op(1))), c.c64(0)});
  return true;
}

// movdq2q mm, xmm: the xmm's low half.
bool lift_movdq2q(Ctx& c) {
  if (!is_mmx(c.in.op(0)) || !is_xmm(c.in.op(1))) return false;
  put_mm(c, mmx_n(c.in.op(0)), get_half(c, xmm_n(c.in.op(1)), 0));
  return true;
}

// movntq m64, mm: a plain store.
bool lift_movntq(Ctx& c) {
  if (!is_mem(c.in.op(0)) || !is_mmx(c.in.op(1))) return false;
  c.write(0, get_mm(c, mmx_n(c.in.op(1))));
  return true;
}

// movnti m32/m64, r: a plain store.
bool lift_movnti(Ctx& c) {
  if (!is_mem(c.in.op(0)) || !is_gpr(c.in.op(1))) return false;
  c.write(0, c.read(1));
  return true;
}

// ---- lane-wise binary operations ----------------------------------------------------------------

template <Op K>
Slot bitwise(Ctx& c, Slot d, Slot s) { return c.b.binop(K, d, s); }
Slot and_not(Ctx& c, Slot d, Slot s) { return c.b.binop(Op::andn, s, d); }  // ~d & s
template <unsigned E, bool Subtract>
Slot add_lanes(Ctx& c, Slot d, Slot s) { return lane_add(c, d, s, E, Subtract); }
template <unsigned E>
Slot cmpeq_lanes(Ctx& c, Slot d, Slot s) { return equal_mask(c, d, s, E); }
template <unsigned E>
Slot cmpgt_lanes(Ctx& c, Slot d, Slot s) { return below_mask(c, s, d, E, true); }  // d > s: s < d

// Unsigned saturation: d + s is d + min(s, ~d) (never past all ones), d - s is d - min(d, s).
template <unsigned E>
Slot add_saturate_lanes(Ctx& c, Slot d, Slot s) {
  return lane_add(c, d, minmax_lanes<E, false, false>(c, s, c.b.unop(Op::not_, d)), E, false);
}
template <unsigned E>
Slot sub_saturate_lanes(Ctx& c, Slot d, Slot s) {
  return lane_add(c, d, minmax_lanes<E, false, false>(c, d, s), E, true);
}

// pavgb/pavgw: (d + s + 1) >> 1 per lane, which is (d | s) - ((d ^ s) >> 1): each lane's
// subtrahend is at most its minuend, so one 64-bit subtraction borrows across no lane.
template <unsigned E>
Slot average_lanes(Ctx& c, Slot d, Slot s) {
  Slot half_diff = and64(c, shr(c, c.b.binop(Op::xor_, d, s), 1), ~lane_tops(E));
  return c.b.binop(Op::sub, or_(c, d, s), half_diff);
}

// pmuludq: the low dwords of each half multiplied into 64 bits.
Slot mul_low_dwords(Ctx& c, Slot d, Slot s) {
  return c.b.binop(Op::mul, and64(c, d, 0xffffffffull), and64(c, s, 0xffffffffull));
}

// Signed saturation: the wrapped lane sum (difference) where it does not overflow, else the
// limit on the destination's side (0x7f.. for a non-negative lane, 0x80.. for a negative one).
// An add overflows where the operands' signs agree and the sum's differs; a subtraction where
// they differ and the difference's differs from the destination's.
template <unsigned E, bool Subtract>
Slot signed_saturate_lanes(Ctx& c, Slot d, Slot s) {
  Slot r = lane_add(c, d, s, E, Subtract);
  Slot signs_agree = Subtract ? c.b.binop(Op::xor_, d, s) : c.b.binop(Op::xnor, d, s);
  Slot overflow = and64(c, c.b.binop(Op::and_, signs_agree, c.b.binop(Op::xor_, d, r)), lane_tops(E));
  Slot limit = c.b.binop(Op::xor_, c.c64(replicate(lane_mask(E) >> 1, E)),
                         spread_tops(c, and64(c, d, lane_tops(E)), E));
  return blend(c, spread_tops(c, overflow, E), limit, r);
}

// ---- lane-by-lane operations --------------------------------------------------------------------
// Where no SWAR identity is simpler (multiplies, narrowing, horizontal sums), lanes are taken
// out one at a time as 64-bit values, computed on, and put back.

// pmullw (Low), pmulhw (signed high), pmulhuw (unsigned high): each word lane's 32-bit product,
// its low or high 16 bits.
enum class MulPart { Low, HighSigned, HighUnsigned };
template <MulPart P>
Slot mul_words(Ctx& c, Slot d, Slot s) {
  const bool is_signed = P == MulPart::HighSigned;
  return from_lanes(c, 16, 4, [&](unsigned k) {
    Slot product = c.b.binop(Op::mul, lane_of(c, d, 16, k, is_signed), lane_of(c, s, 16, k, is_signed));
    return P == MulPart::Low ? product : shr(c, product, 16);
  });
}

// pmaddwd: each dword lane is the sum of its two signed word products (wrapping to 32 bits:
// only for 4 x -32768).
Slot madd_words(Ctx& c, Slot d, Slot s) {
  return from_lanes(c, 32, 2, [&](unsigned k) {
    auto product = [&](unsigned w) { return c.b.binop(Op::mul, lane_of(c, d, 16, w, true), lane_of(c, s, 16, w, true)); };
    return c.b.binop(Op::add, product(2 * k), product(2 * k + 1));
  });
}

// psadbw: the sum of the eight bytes' |d - s| in the half's low word, the rest zero. max - min
// per byte borrows nowhere; byte pairs are summed into words (at most 510), then the multiply
// adds the four words into the top word (at most 2040).
Slot sad_bytes(Ctx& c, Slot d, Slot s) {
  Slot hi = minmax_lanes<8, false, true>(c, d, s), lo = minmax_lanes<8, false, false>(c, d, s);
  Slot diff = c.b.binop(Op::sub, hi, lo);
  Slot pairs = c.b.binop(Op::add, and64(c, diff, 0x00ff00ff00ff00ffull), and64(c, shr(c, diff, 8), 0x00ff00ff00ff00ffull));
  return shr(c, c.b.binop(Op::mul, pairs, c.c64(0x0001000100010001ull)), 48);
}

// packsswb (16, signed), packssdw (32, signed), packuswb (16, unsigned): the destination's lanes
// narrowed into the low half, the source's into the high half (for mm: into the low and the high
// 32 bits).
template <unsigned E, bool UnsignedResult>
bool lift_pack(Ctx& c) {
  if (!vec_rm_form(c)) return false;
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_vreg(c, c.in.op(0));
  auto pair = [&](Slot low, Slot high) {
    return or_(c, narrow_half<E, UnsignedResult>(c, low), shl(c, narrow_half<E, UnsignedResult>(c, high), 32));
  };
  put_vreg(c, c.in.op(0), d.is_mmx() ? Vec{pair(d.lo, s.lo)} : Vec{pair(d.lo, d.hi), pair(s.lo, s.hi)});
  return true;
}

// ---- pmovmskb -----------------------------------------------------------------------------------

// The top bit of each byte of a half, gathered into 8 bits: the multiply moves bit 8k+7 to bit
// 56+k with no two partial products meeting.
Slot byte_signs(Ctx& c, Slot half) {
  Slot tops = and64(c, half, 0x8080808080808080ull);
  return shr(c, c.b.binop(Op::mul, tops, c.c64(0x0002040810204081ull)), 56);
}

bool lift_pmovmskb(Ctx& c) {
  if (!is_gpr(c.in.op(0)) || !is_vreg(c.in.op(1))) return false;
  Vec v = get_vreg(c, c.in.op(1));
  c.write(0, v.is_mmx() ? byte_signs(c, v.lo) : or_(c, byte_signs(c, v.lo), shl(c, byte_signs(c, v.hi), 8)));
  return true;
}

// ---- shifts by an immediate ---------------------------------------------------------------------

// psrldq (Right) / pslldq: the whole 128-bit value shifted by imm8 bytes (16 or more: zero).
template <bool Right>
bool lift_byte_shift(Ctx& c) {
  if (!is_xmm(c.in.op(0)) || !is_imm(c.in.op(1))) return false;
  const unsigned n = xmm_n(c.in.op(0)), bits = 8 * std::min(imm8(c.in.op(1)), 16u);
  if (bits == 0) return true;
  Vec v = get_xmm(c, n);
  // Bits move from one half (`from`: the high one for a right shift) into the other (`to`).
  Slot from = Right ? v.hi : v.lo, to = Right ? v.lo : v.hi;
  auto move = [&](Slot x, unsigned k) { return Right ? shr(c, x, k) : shl(c, x, k); };
  auto back = [&](Slot x, unsigned k) { return Right ? shl(c, x, k) : shr(c, x, k); };
  Slot new_to, new_from;
  if (bits >= 128) {
    new_to = new_from = c.c64(0);
  } else if (bits >= 64) {
    new_to = bits == 64 ? from : move(from, bits - 64);
    new_from = c.c64(0);
  } else {
    new_to = or_(c, move(to, bits), back(from, 64 - bits));
    new_from = move(from, bits);
  }
  put_xmm(c, n, Right ? Vec{new_to, new_from} : Vec{new_from, new_to});
  return true;
}

// One half's lanes of `ebits` shifted by a constant count (K: shl, lshr or ashr). Counts of the
// lane width or more give zero (logical) or the sign in every bit (arithmetic).
Slot shift_lanes(Ctx& c, Slot x, unsigned ebits, Op k, unsigned count) {
  if (count >= ebits) {
    if (k != Op::ashr) return c.c64(0);
    count = ebits - 1;
  }
  if (count == 0) return x;
  if (ebits == 64) return c.b.binop(k, x, c.c64(count));
  const uint64_t lane = lane_mask(ebits);
  if (k == Op::shl) return and64(c, shl(c, x, count), replicate((lane << count) & lane, ebits));
  Slot logical = and64(c, shr(c, x, count), replicate(lane >> count, ebits));
  if (k == Op::lshr) return logical;
  // Arithmetic: the negative lanes get their top `count` bits set.
  Slot negative = spread_tops(c, and64(c, x, lane_tops(ebits)), ebits);
  return or_(c, logical, and64(c, negative, replicate(lane & ~(lane >> count), ebits)));
}

// One half's lanes shifted by a count in an I64 (the low 64 bits of the source operand): as
// shift_lanes, with the lane masks computed from the count.
Slot shift_lanes_by(Ctx& c, Slot x, unsigned ebits, Op k, Slot count) {
  const Slot width = c.c64(ebits);
  if (k == Op::ashr) count = c.b.binop(Op::minu, count, c.c64(ebits - 1));
  Slot in_range = c.b.binop(Op::ltu, count, width);
  if (ebits == 64) {
    Slot shifted = c.b.binop(k, x, count);
    return k == Op::ashr ? shifted : c.b.select(in_range, shifted, c.c64(0));
  }
  const Slot lane = c.c64(lane_mask(ebits)), ones = c.c64(replicate(1, ebits));
  Slot shifted, kept;  // kept: per lane, the bits the shifted value may occupy
  if (k == Op::shl) {
    shifted = c.b.binop(Op::shl, x, count);
    kept = c.b.binop(Op::mul, c.b.binop(Op::and_, c.b.binop(Op::shl, lane, count), lane), ones);
  } else {
    shifted = c.b.binop(Op::lshr, x, count);
    kept = c.b.binop(Op::mul, c.b.binop(Op::lshr, lane, count), ones);
  }
  Slot logical = c.b.binop(Op::and_, shifted, kept);
  if (k != Op::ashr) return c.b.select(in_range, logical, c.c64(0));
  Slot negative = spread_tops(c, and64(c, x, lane_tops(ebits)), ebits);
  return or_(c, logical, c.b.binop(Op::andn, negative, kept));
}

// psrlw/d/q, psllw/d/q, psraw/d xmm, imm8 or xmm/m128 (the count: its low 64 bits); mm, imm8 or
// mm/m64.
template <unsigned E, Op K>
bool lift_shift(Ctx& c) {
  const ZydisDecodedOperand& d = c.in.op(0);
  if (is_imm(c.in.op(1))) {
    if (!is_vreg(d)) return false;
    const unsigned count = imm8(c.in.op(1));
    Vec v = get_vreg(c, d);
    put_vreg(c, d, per_half(v, v, [&](Slot x, Slot) { return shift_lanes(c, x, E, K, count); }));
    return true;
  }
  if (!vec_rm_form(c)) return false;
  Slot count = read_vec(c, 1, Align::Sixteen).lo;
  Vec v = get_vreg(c, d);
  put_vreg(c, d, per_half(v, v, [&](Slot x, Slot) { return shift_lanes_by(c, x, E, K, count); }));
  return true;
}

// ---- shuffles and unpacks -----------------------------------------------------------------------

// Four 16-bit elements of `half` picked by the four 2-bit fields of imm8, as a 64-bit half.
Slot shuffle_words(Ctx& c, Slot half, unsigned sel) {
  Slot r = element(c, half, 16, sel & 3);
  for (unsigned k = 1; k < 4; ++k) r = or_(c, r, shl(c, element(c, half, 16, (sel >> (2 * k)) & 3), 16 * k));
  return r;
}

// pshufw mm, mm/m64, imm8: the words shuffled.
bool lift_pshufw(Ctx& c) {
  if (!is_mmx(c.in.op(0)) || !vec_rm_form(c) || !is_imm(c.in.op(2))) return false;
  put_mm(c, mmx_n(c.in.op(0)), shuffle_words(c, read_vec(c, 1, Align::Any).lo, imm8(c.in.op(2))));
  return true;
}

// pshuflw (High false) / pshufhw xmm, xmm/m128, imm8: the words of one half shuffled, the other
// half copied.
template <bool High>
bool lift_pshuf_words(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned sel = imm8(c.in.op(2));
  Vec s = read_vec(c, 1, Align::Sixteen);
  put_xmm(c, xmm_n(c.in.op(0)), High ? Vec{s.lo, shuffle_words(c, s.hi, sel)} : Vec{shuffle_words(c, s.lo, sel), s.hi});
  return true;
}

// pshufd xmm, xmm/m128, imm8: dword k of the result is the source's dword (imm8 >> 2k) & 3.
bool lift_pshufd(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned sel = imm8(c.in.op(2));
  Vec s = read_vec(c, 1, Align::Sixteen);
  auto pick = [&](unsigned k) { return dword_of(c, s, (sel >> (2 * k)) & 3); };
  put_xmm(c, xmm_n(c.in.op(0)), {or_(c, pick(0), shl(c, pick(1), 32)), or_(c, pick(2), shl(c, pick(3), 32))});
  return true;
}

// shufps xmm, xmm/m128, imm8: the low two dwords picked from the destination, the high two from
// the source.
bool lift_shufps(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned n = xmm_n(c.in.op(0)), sel = imm8(c.in.op(2));
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, n);
  auto pick = [&](Vec from, unsigned k) { return dword_of(c, from, (sel >> (2 * k)) & 3); };
  put_xmm(c, n, {or_(c, pick(d, 0), shl(c, pick(d, 1), 32)), or_(c, pick(s, 2), shl(c, pick(s, 3), 32))});
  return true;
}

// shufpd xmm, xmm/m128, imm8: low half = the destination's half imm8 bit 0, high half = the
// source's half imm8 bit 1.
bool lift_shufpd(Ctx& c) {
  if (!xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  const unsigned n = xmm_n(c.in.op(0)), sel = imm8(c.in.op(2));
  Vec s = read_vec(c, 1, Align::Sixteen);
  Vec d = get_xmm(c, n);
  put_xmm(c, n, {sel & 1 ? d.hi : d.lo, sel & 2 ? s.hi : s.lo});
  return true;
}

// movmskps (E 32) / movmskpd (E 64) r32/r64, xmm: the sign bit of each element, gathered.
template <unsigned E>
bool lift_movmsk(Ctx& c) {
  if (!is_gpr(c.in.op(0)) || !is_xmm(c.in.op(1))) return false;
  Vec v = get_xmm(c, xmm_n(c.in.op(1)));
  auto signs = [&](Slot half) {
    return E == 64 ? shr(c, half, 63) : or_(c, and64(c, shr(c, half, 31), 1), shl(c, shr(c, half, 63), 1));
  };
  c.write(0, or_(c, signs(v.lo), shl(c, signs(v.hi), 64 / E)));
  return true;
}

// pextrw r32/r64, xmm, imm8: word imm8 & 7, zero-extended (mm: word imm8 & 3).
bool lift_pextrw(Ctx& c) {
  const ZydisDecodedOperand& s = c.in.op(1);
  if (!is_gpr(c.in.op(0)) || !is_vreg(s) || !is_imm(c.in.op(2))) return false;
  const unsigned k = imm8(c.in.op(2)) & (is_mmx(s) ? 3 : 7);
  Slot half = is_mmx(s) ? get_mm(c, mmx_n(s)) : get_half(c, xmm_n(s), k / 4);
  c.write(0, element(c, half, 16, k % 4));
  return true;
}

// pinsrw xmm, r32/m16, imm8: word imm8 & 7 replaced by the source's low 16 bits (mm: word
// imm8 & 3).
bool lift_pinsrw(Ctx& c) {
  const ZydisDecodedOperand &d = c.in.op(0), &s = c.in.op(1);
  if (!is_vreg(d) || !(is_gpr(s) || is_mem(s)) || !is_imm(c.in.op(2))) return false;
  const unsigned k = imm8(c.in.op(2)) & (is_mmx(d) ? 3 : 7), shift = 16 * (k % 4);
  Slot word = and64(c, c.zext64(c.read(1)), 0xffff);
  Slot old = is_mmx(d) ? get_mm(c, mmx_n(d)) : get_half(c, xmm_n(d), k / 4);
  Slot merged = or_(c, and64(c, old, ~(0xffffull << shift)), shl(c, word, shift));
  if (is_mmx(d)) put_mm(c, mmx_n(d), merged);
  else put_half(c, xmm_n(d), k / 4, merged);
  return true;
}

// The low 32 bits of x with its `ebits` elements moved apart to every other `ebits` lane of 64
// bits (element k to lane 2k), the lanes between them zero.
Slot spread_elements(Ctx& c, Slot x, unsigned ebits) {
  Slot v = and64(c, x, 0xffffffffull);
  if (ebits <= 16) v = and64(c, or_(c, v, shl(c, v, 16)), 0x0000ffff0000ffffull);
  if (ebits <= 8) v = and64(c, or_(c, v, shl(c, v, 8)), 0x00ff00ff00ff00ffull);
  return v;
}

// 64 bits interleaving the elements of the low 32 bits of a (even lanes) and b (odd lanes).
Slot interleave(Ctx& c, Slot a, Slot b, unsigned ebits) {
  return or_(c, spread_elements(c, a, ebits), shl(c, spread_elements(c, b, ebits), ebits));
}

// punpckl* (High false) / punpckh* (High true) of `E`-bit elements: the destination's and the
// source's elements of the low (high) half, interleaved, the destination's first. For mm the
// halves are the low and high 32 bits (punpckl* reads an m32).
template <unsigned E, bool High>
bool lift_unpack(Ctx& c) {
  if (is_mmx(c.in.op(0))) {
    if (E == 64 || !vec_rm_form(c)) return false;
    Slot s = read_vec(c, 1, Align::Any).lo, d = get_mm(c, mmx_n(c.in.op(0)));
    put_mm(c, mmx_n(c.in.op(0)), High ? interleave(c, shr(c, d, 32), shr(c, s, 32), E) : interleave(c, d, s, E));
    return true;
  }
  if (!xmm_rm_form(c)) return false;
  const unsigned n = xmm_n(c.in.op(0));
  Vec s = read_vec(c, 1, Align::Sixteen);
  Slot a = get_half(c, n, High ? 1 : 0), b = High ? s.hi : s.lo;
  if (E == 64) {
    put_xmm(c, n, {a, b});
    return true;
  }
  put_xmm(c, n, {interleave(c, a, b, E), interleave(c, shr(c, a, 32), shr(c, b, 32), E)});
  return true;
}

// ---- the table ----------------------------------------------------------------------------------

// Entries wrapped in with_mmx_state also lift the mnemonic's MMX forms.
const InsnDesc kInsns[] = {
    // moves
    {ZYDIS_MNEMONIC_MOVDQA, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVAPS, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVAPD, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVNTDQ, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVNTPS, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVNTPD, lift_mov128<Align::Sixteen>},
    {ZYDIS_MNEMONIC_MOVDQU, lift_mov128<Align::Any>},
    {ZYDIS_MNEMONIC_MOVUPS, lift_mov128<Align::Any>},
    {ZYDIS_MNEMONIC_MOVUPD, lift_mov128<Align::Any>},
    {ZYDIS_MNEMONIC_MOVD, with_mmx_state<lift_movd_movq>},
    {ZYDIS_MNEMONIC_MOVQ, with_mmx_state<lift_movd_movq>},
    {ZYDIS_MNEMONIC_MOVSS, lift_mov_scalar<32>},
    {ZYDIS_MNEMONIC_MOVSD, lift_mov_scalar<64>},
    {ZYDIS_MNEMONIC_MOVLPS, lift_mov_half<0>},
    {ZYDIS_MNEMONIC_MOVLPD, lift_mov_half<0>},
    {ZYDIS_MNEMONIC_MOVHPS, lift_mov_half<1>},
    {ZYDIS_MNEMONIC_MOVHPD, lift_mov_half<1>},
    {ZYDIS_MNEMONIC_MOVHLPS, lift_mov_half_reg<1, 0>},
    {ZYDIS_MNEMONIC_MOVLHPS, lift_mov_half_reg<0, 1>},
    {ZYDIS_MNEMONIC_MOVNTI, lift_movnti},
    {ZYDIS_MNEMONIC_MOVQ2DQ, with_mmx_state<lift_movq2dq>},
    {ZYDIS_MNEMONIC_MOVDQ2Q, with_mmx_state<lift_movdq2q>},
    {ZYDIS_MNEMONIC_MOVNTQ, with_mmx_state<lift_movntq>},
    // bitwise (the ps/pd forms are the same bits)
    {ZYDIS_MNEMONIC_PXOR, with_mmx_state<lift_binary<bitwise<Op::xor_>>>},
    {ZYDIS_MNEMONIC_XORPS, lift_binary<bitwise<Op::xor_>>},
    {ZYDIS_MNEMONIC_XORPD, lift_binary<bitwise<Op::xor_>>},
    {ZYDIS_MNEMONIC_POR, with_mmx_state<lift_binary<bitwise<Op::or_>>>},
    {ZYDIS_MNEMONIC_ORPS, lift_binary<bitwise<Op::or_>>},
    {ZYDIS_MNEMONIC_ORPD, lift_binary<bitwise<Op::or_>>},
    {ZYDIS_MNEMONIC_PAND, with_mmx_state<lift_binary<bitwise<Op::and_>>>},
    {ZYDIS_MNEMONIC_ANDPS, lift_binary<bitwise<Op::and_>>},
    {ZYDIS_MNEMONIC_ANDPD, lift_binary<bitwise<Op::and_>>},
    {ZYDIS_MNEMONIC_PANDN, with_mmx_state<lift_binary<and_not>>},
    {ZYDIS_MNEMONIC_ANDNPS, lift_binary<and_not>},
    {ZYDIS_MNEMONIC_ANDNPD, lift_binary<and_not>},
    // lane arithmetic and compares
    {ZYDIS_MNEMONIC_PADDB, with_mmx_state<lift_binary<add_lanes<8, false>>>},
    {ZYDIS_MNEMONIC_PADDW, with_mmx_state<lift_binary<add_lanes<16, false>>>},
    {ZYDIS_MNEMONIC_PADDD, with_mmx_state<lift_binary<add_lanes<32, false>>>},
    {ZYDIS_MNEMONIC_PADDQ, with_mmx_state<lift_binary<add_lanes<64, false>>>},
    {ZYDIS_MNEMONIC_PSUBB, with_mmx_state<lift_binary<add_lanes<8, true>>>},
    {ZYDIS_MNEMONIC_PSUBW, with_mmx_state<lift_binary<add_lanes<16, true>>>},
    {ZYDIS_MNEMONIC_PSUBD, with_mmx_state<lift_binary<add_lanes<32, true>>>},
    {ZYDIS_MNEMONIC_PSUBQ, with_mmx_state<lift_binary<add_lanes<64, true>>>},
    {ZYDIS_MNEMONIC_PCMPEQB, with_mmx_state<lift_binary<cmpeq_lanes<8>>>},
    {ZYDIS_MNEMONIC_PCMPEQW, with_mmx_state<lift_binary<cmpeq_lanes<16>>>},
    {ZYDIS_MNEMONIC_PCMPEQD, with_mmx_state<lift_binary<cmpeq_lanes<32>>>},
    {ZYDIS_MNEMONIC_PCMPGTB, with_mmx_state<lift_binary<cmpgt_lanes<8>>>},
    {ZYDIS_MNEMONIC_PCMPGTW, with_mmx_state<lift_binary<cmpgt_lanes<16>>>},
    {ZYDIS_MNEMONIC_PCMPGTD, with_mmx_state<lift_binary<cmpgt_lanes<32>>>},
    {ZYDIS_MNEMONIC_PMINUB, with_mmx_state<lift_binary<minmax_lanes<8, false, false>>>},
    {ZYDIS_MNEMONIC_PMAXUB, with_mmx_state<lift_binary<minmax_lanes<8, false, true>>>},
    {ZYDIS_MNEMONIC_PMINSW, with_mmx_state<lift_binary<minmax_lanes<16, true, false>>>},
    {ZYDIS_MNEMONIC_PMAXSW, with_mmx_state<lift_binary<minmax_lanes<16, true, true>>>},
    {ZYDIS_MNEMONIC_PMOVMSKB, with_mmx_state<lift_pmovmskb>},
    {ZYDIS_MNEMONIC_PADDUSB, with_mmx_state<lift_binary<add_saturate_lanes<8>>>},
    {ZYDIS_MNEMONIC_PADDUSW, with_mmx_state<lift_binary<add_saturate_lanes<16>>>},
    {ZYDIS_MNEMONIC_PSUBUSB, with_mmx_state<lift_binary<sub_saturate_lanes<8>>>},
    {ZYDIS_MNEMONIC_PSUBUSW, with_mmx_state<lift_binary<sub_saturate_lanes<16>>>},
    {ZYDIS_MNEMONIC_PAVGB, with_mmx_state<lift_binary<average_lanes<8>>>},
    {ZYDIS_MNEMONIC_PAVGW, with_mmx_state<lift_binary<average_lanes<16>>>},
    {ZYDIS_MNEMONIC_PMULUDQ, with_mmx_state<lift_binary<mul_low_dwords>>},
    {ZYDIS_MNEMONIC_PADDSB, with_mmx_state<lift_binary<signed_saturate_lanes<8, false>>>},
    {ZYDIS_MNEMONIC_PADDSW, with_mmx_state<lift_binary<signed_saturate_lanes<16, false>>>},
    {ZYDIS_MNEMONIC_PSUBSB, with_mmx_state<lift_binary<signed_saturate_lanes<8, true>>>},
    {ZYDIS_MNEMONIC_PSUBSW, with_mmx_state<lift_binary<signed_saturate_lanes<16, true>>>},
    {ZYDIS_MNEMONIC_PMULLW, with_mmx_state<lift_binary<mul_words<MulPart::Low>>>},
    {ZYDIS_MNEMONIC_PMULHW, with_mmx_state<lift_binary<mul_words<MulPart::HighSigned>>>},
    {ZYDIS_MNEMONIC_PMULHUW, with_mmx_state<lift_binary<mul_words<MulPart::HighUnsigned>>>},
    {ZYDIS_MNEMONIC_PMADDWD, with_mmx_state<lift_binary<madd_words>>},
    {ZYDIS_MNEMONIC_PSADBW, with_mmx_state<lift_binary<sad_bytes>>},
    {ZYDIS_MNEMONIC_PACKSSWB, with_mmx_state<lift_pack<16, false>>},
    {ZYDIS_MNEMONIC_PACKSSDW, with_mmx_state<lift_pack<32, false>>},
    {ZYDIS_MNEMONIC_PACKUSWB, with_mmx_state<lift_pack<16, true>>},
    {ZYDIS_MNEMONIC_MOVMSKPS, lift_movmsk<32>},
    {ZYDIS_MNEMONIC_MOVMSKPD, lift_movmsk<64>},
    {ZYDIS_MNEMONIC_PEXTRW, with_mmx_state<lift_pextrw>},
    {ZYDIS_MNEMONIC_PINSRW, with_mmx_state<lift_pinsrw>},
    // shifts
    {ZYDIS_MNEMONIC_PSRLDQ, lift_byte_shift<true>},
    {ZYDIS_MNEMONIC_PSLLDQ, lift_byte_shift<false>},
    {ZYDIS_MNEMONIC_PSRLW, with_mmx_state<lift_shift<16, Op::lshr>>},
    {ZYDIS_MNEMONIC_PSRLD, with_mmx_state<lift_shift<32, Op::lshr>>},
    {ZYDIS_MNEMONIC_PSRLQ, with_mmx_state<lift_shift<64, Op::lshr>>},
    {ZYDIS_MNEMONIC_PSLLW, with_mmx_state<lift_shift<16, Op::shl>>},
    {ZYDIS_MNEMONIC_PSLLD, with_mmx_state<lift_shift<32, Op::shl>>},
    {ZYDIS_MNEMONIC_PSLLQ, with_mmx_state<lift_shift<64, Op::shl>>},
    {ZYDIS_MNEMONIC_PSRAW, with_mmx_state<lift_shift<16, Op::ashr>>},
    {ZYDIS_MNEMONIC_PSRAD, with_mmx_state<lift_shift<32, Op::ashr>>},
    // shuffles
    {ZYDIS_MNEMONIC_PSHUFD, lift_pshufd},
    {ZYDIS_MNEMONIC_PSHUFW, with_mmx_state<lift_pshufw>},
    {ZYDIS_MNEMONIC_PSHUFLW, lift_pshuf_words<false>},
    {ZYDIS_MNEMONIC_PSHUFHW, lift_pshuf_words<true>},
    {ZYDIS_MNEMONIC_SHUFPS, lift_shufps},
    {ZYDIS_MNEMONIC_SHUFPD, lift_shufpd},
    {ZYDIS_MNEMONIC_PUNPCKLBW, with_mmx_state<lift_unpack<8, false>>},
    {ZYDIS_MNEMONIC_PUNPCKLWD, with_mmx_state<lift_unpack<16, false>>},
    {ZYDIS_MNEMONIC_PUNPCKLDQ, with_mmx_state<lift_unpack<32, false>>},
    {ZYDIS_MNEMONIC_PUNPCKLQDQ, lift_unpack<64, false>},
    {ZYDIS_MNEMONIC_PUNPCKHBW, with_mmx_state<lift_unpack<8, true>>},
    {ZYDIS_MNEMONIC_PUNPCKHWD, with_mmx_state<lift_unpack<16, true>>},
    {ZYDIS_MNEMONIC_PUNPCKHDQ, with_mmx_state<lift_unpack<32, true>>},
    {ZYDIS_MNEMONIC_PUNPCKHQDQ, lift_unpack<64, true>},
    {ZYDIS_MNEMONIC_UNPCKLPS, lift_unpack<32, false>},
    {ZYDIS_MNEMONIC_UNPCKHPS, lift_unpack<32, true>},
    {ZYDIS_MNEMONIC_UNPCKLPD, lift_unpack<64, false>},
    {ZYDIS_MNEMONIC_UNPCKHPD, lift_unpack<64, true>},
};

}  // namespace

InsnTable sse_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
