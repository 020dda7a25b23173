// SSE/SSE2/SSE3 floating point: arithmetic, compares, conversions, the MXCSR, and the SSE3
// duplicating moves. The arithmetic goes through helpers (helpers_sse_fp.cpp) that run the same
// instruction on the host under the guest's MXCSR, named by the instruction's own encoding (the
// opcode byte after 0F and its mandatory prefix as VEX.pp: 0 none/ps, 1 66/pd, 2 F3/ss, 3 F2/sd).
// The moves are plain IR on the registers' 64-bit halves, as in lift_sse.cpp.
//
// Every memory source is loaded in IR before the helper runs, so a fault (or the #GP of a
// misaligned m128: legacy SSE needs 16-byte alignment except for lddqu and the 64- and 32-bit
// operands) leaves the state untouched; so does an #XM, which the helper raises before writing.
// Only the legacy encodings are lifted here (the VEX forms have their own mnemonics).
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"
#include "frontend/x86_64/lift_sse.h"

namespace vmkit::x64 {

namespace {

using namespace sse;

enum Pp : unsigned { kPs = 0, kPd = 1, kSs = 2, kSd = 3 };  // the mandatory prefix: none, 66, F3, F2

// ---- operands ------------------------------------------------------------------------------------

// Source operand i: an xmm register (both halves), m128 (16-byte aligned unless `a` says
// otherwise), or m64/m32 (zero-extended into the low half, the high half zero).
Vec read_source(Ctx& c, unsigned i, Align a) {
  const ZydisDecodedOperand& o = c.in.op(i);
  if (is_xmm(o)) return {get_half(c, xmm_n(o), 0), get_half(c, xmm_n(o), 1)};
  if (o.size == 128) {
    Slot addr = mem_address(c, i, a);
    return {c.b.load(Type::I64, addr), c.b.load(Type::I64, c.b.binop(Op::add, addr, c.c64(8)))};
  }
  return {c.zext64(c.read(i)), c.c64(0)};
}

// xmm, xmm/m in the legacy encoding: the form of every instruction here with an xmm destination.
bool legacy_xmm_rm_form(const Ctx& c) { return is_legacy(c) && xmm_rm_form(c); }

// ---- arithmetic, compares and conversions with an xmm destination -------------------------------

// The helper call: destination register, prefix, and the predicate (cmp) or REX.W (cvtsi2s*).
void call_sse_fp(Ctx& c, uint8_t opcode, unsigned pp, unsigned extra, Vec source) {
  const uint64_t a = xmm_n(c.in.op(0)) | pp << 4 | extra << 6;
  c.b.call(Type::I64, H_sse_fp, c.c64(a), source.lo, source.hi, opcode);
}

// add/sub/mul/div/min/max/sqrt/rcp/rsqrt in their ps/pd/ss/sd forms, the xmm-to-xmm
// conversions, and the SSE3 addsub/hadd/hsub: xmm, xmm/m (m128 aligned; m32/m64 for the scalar
// and widening forms).
template <uint8_t Opcode, Pp P>
bool lift_fp(Ctx& c) {
  if (!legacy_xmm_rm_form(c)) return false;
  call_sse_fp(c, Opcode, P, 0, read_source(c, 1, Align::Sixteen));
  return true;
}

// cmpps/cmppd/cmpss/cmpsd xmm, xmm/m, imm8 (its low 3 bits: eq lt le unord neq nlt nle ord).
// CMPSD is also the string instruction's mnemonic: that form (no xmm operand) is lift_string's.
template <Pp P>
bool lift_cmp(Ctx& c) {
  if (!legacy_xmm_rm_form(c) || !is_imm(c.in.op(2))) return false;
  call_sse_fp(c, 0xC2, P, unsigned(c.in.op(2).imm.value.u & 7), read_source(c, 1, Align::Sixteen));
  return true;
}

// cvtsi2ss/cvtsi2sd xmm, r/m32 or r/m64 (REX.W).
template <Pp P>
bool lift_cvt_from_int(Ctx& c) {
  const ZydisDecodedOperand& s = c.in.op(1);
  if (!is_legacy(c) || !is_xmm(c.in.op(0)) || !(is_gpr(s) || is_mem(s))) return false;
  call_sse_fp(c, 0x2A, P, s.size == 64 ? 1 : 0, {c.zext64(c.read(1)), c.c64(0)});
  return true;
}

// cvtss2si/cvtsd2si (2D), cvttss2si/cvttsd2si (2C) r32/r64, xmm/m32/m64.
template <uint8_t Opcode, Pp P>
bool lift_cvt_to_int(Ctx& c) {
  const ZydisDecodedOperand& s = c.in.op(1);
  if (!is_legacy(c) || !is_gpr(c.in.op(0)) || !(is_xmm(s) || is_mem(s))) return false;
  Slot source = read_source(c, 1, Align::Any).lo;
  const uint64_t form = P | (c.in.op_bits(0) == 64 ? 4 : 0);
  Slot r = c.b.call(Type::I64, H_sse_fp_to_int, source, c.c64(form), ir::kNoSlot, Opcode);
  c.write(0, c.narrow(r, c.op_type(0)));
  return true;
}

// comiss/comisd (2F), ucomiss/ucomisd (2E) xmm, xmm/m32/m64: ZF PF CF from the compare, OF SF
// AF cleared.
template <uint8_t Opcode, Pp P>
bool lift_compare_flags(Ctx& c) {
  if (!legacy_xmm_rm_form(c)) return false;
  Slot y = read_source(c, 1, Align::Any).lo;
  Slot x = get_half(c, xmm_n(c.in.op(0)), 0);
  c.set_flags_raw(c.b.call(Type::I32, H_sse_fp_compare, x, y, c.c64(P), Opcode));
  return true;
}

// ---- MXCSR ----------------------------------------------------------------------------------------

// ldmxcsr m32: the helper checks the reserved bits (#GP) before writing.
bool lift_ldmxcsr(Ctx& c) {
  if (!is_legacy(c) || !is_mem(c.in.op(0))) return false;
  c.b.call(Type::I64, H_ldmxcsr, c.zext64(c.read(0)));
  return true;
}

// stmxcsr m32.
bool lift_stmxcsr(Ctx& c) {
  if (!is_legacy(c) || !is_mem(c.in.op(0))) return false;
  c.write(0, c.b.get(Type::I32, kOffMxcsr));
  return true;
}

// ---- SSE3 moves ----------------------------------------------------------------------------------

Slot low_dword(Ctx& c, Slot half) { return c.b.binop(Op::and_, half, c.c64(0xffffffffull)); }
Slot high_dword(Ctx& c, Slot half) { return c.b.binop(Op::and_, half, c.c64(0xffffffff00000000ull)); }

// movddup xmm, xmm/m64: the low 64 bits in both halves.
bool lift_movddup(Ctx& c) {
  if (!legacy_xmm_rm_form(c)) return false;
  Slot lo = read_source(c, 1, Align::Any).lo;
  put_xmm(c, xmm_n(c.in.op(0)), {lo, lo});
  return true;
}

// movsldup (High false: dwords 0 0 2 2) / movshdup (High true: 1 1 3 3) xmm, xmm/m128.
template <bool High>
bool lift_mov_dup_dwords(Ctx& c) {
  if (!legacy_xmm_rm_form(c)) return false;
  Vec s = read_source(c, 1, Align::Sixteen);
  auto dup = [&](Slot half) {
    return High ? c.b.binop(Op::or_, high_dword(c, half), c.b.binop(Op::lshr, half, c.c64(32)))
                : c.b.binop(Op::or_, low_dword(c, half), c.b.binop(Op::shl, half, c.c64(32)));
  };
  put_xmm(c, xmm_n(c.in.op(0)), {dup(s.lo), dup(s.hi)});
  return true;
}

// lddqu xmm, m128: an unaligned load.
bool lift_lddqu(Ctx& c) {
  if (!legacy_xmm_rm_form(c) || !is_mem(c.in.op(1))) return false;
  put_xmm(c, xmm_n(c.in.op(0)), read_source(c, 1, Align::Any));
  return true;
}

// ---- the table ------------------------------------------------------------------------------------

#define FP4(name, opcode)                                             \
  {ZYDIS_MNEMONIC_##name##PS, lift_fp<opcode, kPs>},                  \
      {ZYDIS_MNEMONIC_##name##PD, lift_fp<opcode, kPd>},              \
      {ZYDIS_MNEMONIC_##name##SS, lift_fp<opcode, kSs>},              \
      {ZYDIS_MNEMONIC_##name##SD, lift_fp<opcode, kSd>}

const InsnDesc kInsns[] = {
    FP4(ADD, 0x58), FP4(SUB, 0x5C), FP4(MUL, 0x59), FP4(DIV, 0x5E), FP4(MIN, 0x5D), FP4(MAX, 0x5F), FP4(SQRT, 0x51),
    {ZYDIS_MNEMONIC_RSQRTPS, lift_fp<0x52, kPs>},
    {ZYDIS_MNEMONIC_RSQRTSS, lift_fp<0x52, kSs>},
    {ZYDIS_MNEMONIC_RCPPS, lift_fp<0x53, kPs>},
    {ZYDIS_MNEMONIC_RCPSS, lift_fp<0x53, kSs>},
    // compares
    {ZYDIS_MNEMONIC_CMPPS, lift_cmp<kPs>},
    {ZYDIS_MNEMONIC_CMPPD, lift_cmp<kPd>},
    {ZYDIS_MNEMONIC_CMPSS, lift_cmp<kSs>},
    {ZYDIS_MNEMONIC_CMPSD, lift_cmp<kSd>},
    {ZYDIS_MNEMONIC_UCOMISS, lift_compare_flags<0x2E, kPs>},
    {ZYDIS_MNEMONIC_UCOMISD, lift_compare_flags<0x2E, kPd>},
    {ZYDIS_MNEMONIC_COMISS, lift_compare_flags<0x2F, kPs>},
    {ZYDIS_MNEMONIC_COMISD, lift_compare_flags<0x2F, kPd>},
    // conversions
    {ZYDIS_MNEMONIC_CVTSI2SS, lift_cvt_from_int<kSs>},
    {ZYDIS_MNEMONIC_CVTSI2SD, lift_cvt_from_int<kSd>},
    {ZYDIS_MNEMONIC_CVTSS2SI, lift_cvt_to_int<0x2D, kSs>},
    {ZYDIS_MNEMONIC_CVTSD2SI, lift_cvt_to_int<0x2D, kSd>},
    {ZYDIS_MNEMONIC_CVTTSS2SI, lift_cvt_to_int<0x2C, kSs>},
    {ZYDIS_MNEMONIC_CVTTSD2SI, lift_cvt_to_int<0x2C, kSd>},
    {ZYDIS_MNEMONIC_CVTPS2PD, lift_fp<0x5A, kPs>},
    {ZYDIS_MNEMONIC_CVTPD2PS, lift_fp<0x5A, kPd>},
    {ZYDIS_MNEMONIC_CVTSS2SD, lift_fp<0x5A, kSs>},
    {ZYDIS_MNEMONIC_CVTSD2SS, lift_fp<0x5A, kSd>},
    {ZYDIS_MNEMONIC_CVTDQ2PS, lift_fp<0x5B, kPs>},
    {ZYDIS_MNEMONIC_CVTPS2DQ, lift_fp<0x5B, kPd>},
    {ZYDIS_MNEMONIC_CVTTPS2DQ, lift_fp<0x5B, kSs>},
    {ZYDIS_MNEMONIC_CVTTPD2DQ, lift_fp<0xE6, kPd>},
    {ZYDIS_MNEMONIC_CVTDQ2PD, lift_fp<0xE6, kSs>},
    {ZYDIS_MNEMONIC_CVTPD2DQ, lift_fp<0xE6, kSd>},
    // MXCSR
    {ZYDIS_MNEMONIC_LDMXCSR, lift_ldmxcsr},
    {ZYDIS_MNEMONIC_STMXCSR, lift_stmxcsr},
    // SSE3 (F2 is the ps form of addsub/hadd/hsub, 66 the pd form)
    {ZYDIS_MNEMONIC_ADDSUBPS, lift_fp<0xD0, kSd>},
    {ZYDIS_MNEMONIC_ADDSUBPD, lift_fp<0xD0, kPd>},
    {ZYDIS_MNEMONIC_HADDPS, lift_fp<0x7C, kSd>},
    {ZYDIS_MNEMONIC_HADDPD, lift_fp<0x7C, kPd>},
    {ZYDIS_MNEMONIC_HSUBPS, lift_fp<0x7D, kSd>},
    {ZYDIS_MNEMONIC_HSUBPD, lift_fp<0x7D, kPd>},
    {ZYDIS_MNEMONIC_MOVDDUP, lift_movddup},
    {ZYDIS_MNEMONIC_MOVSLDUP, lift_mov_dup_dwords<false>},
    {ZYDIS_MNEMONIC_MOVSHDUP, lift_mov_dup_dwords<true>},
    {ZYDIS_MNEMONIC_LDDQU, lift_lddqu},
};

#undef FP4

}  // namespace

InsnTable sse_fp_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
