// x86-64 string instructions (movs, stos, lods, scas, cmps) with and without rep prefixes, and
// the atomics (xadd, cmpxchg, cmpxchg8b/16b).
//
// A single string instruction is lifted inline. A rep-prefixed one is one helper call that runs
// the whole loop (helpers_string.cpp): an IR block cannot skip its memory accesses, and a rep
// with rcx = 0 must make none, so one IR iteration per execution cannot be made exact for a
// block that starts at the rep. The helper keeps rsi/rdi/rcx (and the flags of scas/cmps) exact
// after every element, so a fault or a stopping memory hook leaves them describing the remaining
// work, as hardware does.
//
// LOCK: guest threads run on one host thread, so a locked read-modify-write is a plain load and
// store here.
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/helpers_string.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// ---- string instructions -----------------------------------------------------------------

// The element size in bytes.
unsigned element_bytes(const Ctx& c) { return c.in.d.operand_width / 8; }
bool addr32(const Ctx& c) { return c.in.d.address_width == 32; }

// The hidden memory operand addressed by rsi (or rdi): its index among the operands.
unsigned mem_operand(const Ctx& c, ZydisRegister base64) {
  for (unsigned i = 0; i < c.in.d.operand_count; ++i) {
    const ZydisDecodedOperand& o = c.in.op(i);
    if (o.type == ZYDIS_OPERAND_TYPE_MEMORY &&
        ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o.mem.base) == base64)
      return i;
  }
  return 0;
}

// The source's segment base (movs, lods, cmps may take fs:/gs:; the rdi side is always es, 0).
Slot source_segment_base(Ctx& c) {
  const ZydisRegister seg = c.in.op(mem_operand(c, ZYDIS_REGISTER_RSI)).mem.segment;
  if (seg == ZYDIS_REGISTER_FS) return c.b.get(Type::I64, kOffFsBase);
  if (seg == ZYDIS_REGISTER_GS) return c.b.get(Type::I64, kOffGsBase);
  return c.c64(0);
}

// Steps rsi or rdi by one element in the direction DF says (esi/edi under 0x67, zero-extended).
void advance(Ctx& c, ZydisRegister base64) {
  const unsigned bytes = element_bytes(c);
  Slot down = c.b.binop(Op::ne, c.b.get(Type::I32, kOffDf), c.c32(0));
  Slot step = c.b.select(down, c.c64(uint64_t(0) - bytes), c.c64(bytes));
  const unsigned n = unsigned(ZydisRegisterGetId(base64));
  Slot v = c.b.binop(Op::add, c.gpr(n), step);
  if (addr32(c)) v = c.b.binop(Op::and_, v, c.c64(0xffffffffull));
  c.set_gpr(n, v);
}

// The accumulator of the element's size: al, ax, eax, rax.
ZydisRegister accumulator(unsigned bytes) {
  switch (bytes) {
    case 1: return ZYDIS_REGISTER_AL;
    case 2: return ZYDIS_REGISTER_AX;
    case 4: return ZYDIS_REGISTER_EAX;
    default: return ZYDIS_REGISTER_RAX;
  }
}

// One element, inline: every load and store before the register updates.
void string_once(Ctx& c, StringKind kind) {
  const unsigned bytes = element_bytes(c);
  const Type t = Ctx::type_of_bits(8 * bytes);
  const unsigned si = mem_operand(c, ZYDIS_REGISTER_RSI), di = mem_operand(c, ZYDIS_REGISTER_RDI);
  switch (kind) {
    case kMovs:
      c.b.store(c.address(di), c.b.load(t, c.address(si)));
      advance(c, ZYDIS_REGISTER_RSI);
      advance(c, ZYDIS_REGISTER_RDI);
      break;
    case kStos:
      c.b.store(c.address(di), c.reg(accumulator(bytes)));
      advance(c, ZYDIS_REGISTER_RDI);
      break;
    case kLods: {
      Slot v = c.b.load(t, c.address(si));
      advance(c, ZYDIS_REGISTER_RSI);
      c.set_reg(accumulator(bytes), v);
      break;
    }
    case kScas: {
      Slot a = c.reg(accumulator(bytes)), m = c.b.load(t, c.address(di));
      c.set_flags(kCcSub, a, m, ir::kNoSlot, c.b.binop(Op::sub, a, m));
      advance(c, ZYDIS_REGISTER_RDI);
      break;
    }
    case kCmps: {  // [rsi] - [rdi]
      Slot a = c.b.load(t, c.address(si)), m = c.b.load(t, c.address(di));
      c.set_flags(kCcSub, a, m, ir::kNoSlot, c.b.binop(Op::sub, a, m));
      advance(c, ZYDIS_REGISTER_RSI);
      advance(c, ZYDIS_REGISTER_RDI);
      break;
    }
  }
}

// The helper's immediate (helpers_string.cpp): log2 of the element size, the kind, the
// repetition, 32-bit addressing.
uint8_t rep_imm(const Ctx& c, StringKind kind, RepMode mode) {
  const unsigned bytes = element_bytes(c);
  const unsigned log2 = bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3;
  return uint8_t(log2 | kind << kRepKindShift | unsigned(mode) << kRepModeShift | (addr32(c) ? kRepAddr32 : 0));
}

template <StringKind kKind>
bool lift_string(Ctx& c) {
  // MOVSD and CMPSD are also SSE2 mnemonics (movsd xmm, cmpsd xmm): only the string forms here.
  if (c.in.d.meta.category != ZYDIS_CATEGORY_STRINGOP) return false;
  const bool compares = kKind == kScas || kKind == kCmps;
  RepMode mode = kRepNone;
  if (c.in.has(ZYDIS_ATTRIB_HAS_REPNE)) mode = compares ? kRepNe : kRep;  // F2 movs acts as rep
  else if (c.in.has(ZYDIS_ATTRIB_HAS_REPE)) mode = kRepE;
  else if (c.in.has(ZYDIS_ATTRIB_HAS_REP)) mode = kRep;
  if (!compares && mode != kRepNone) mode = kRep;
  if (mode == kRepNone) {
    string_once(c, kKind);
    return true;
  }
  c.b.call(Type::I64, H_rep_string, source_segment_base(c), c.c64(c.pc()), ir::kNoSlot, rep_imm(c, kKind, mode));
  // scas/cmps leave the flags of their last comparison in the state (or none, for rcx = 0).
  if (compares) c.flags = Flags{};
  return true;
}

// ---- atomics -----------------------------------------------------------------------------

// xadd dst, src: src = dst, dst = dst + src; flags of the add. The memory store comes first
// (a fault leaves the register); with both operands the same register, the sum wins.
bool lift_xadd(Ctx& c) {
  Slot d = c.read(0), s = c.read(1);
  Slot sum = c.b.binop(Op::add, d, s);
  if (c.in.op(0).type == ZYDIS_OPERAND_TYPE_MEMORY) {
    c.write(0, sum);
    c.write(1, d);
  } else {
    c.write(1, d);
    c.write(0, sum);
  }
  c.set_flags(kCcAdd, d, s, ir::kNoSlot, sum);
  return true;
}

// cmpxchg dst, src: compare the accumulator with dst (flags of acc - dst); equal: dst = src;
// else acc = dst. Memory is always written (the old value back on failure, as the locked
// hardware cycle does). With 32-bit operands the register that is not written keeps its upper
// half: on failure a register destination is untouched and eax is written (zero-extended); on
// success rax is untouched (the host CPU's behaviour).
bool lift_cmpxchg(Ctx& c) {
  const unsigned bits = c.in.op_bits(0);
  const ZydisRegister acc = accumulator(bits / 8);
  Slot a = c.reg(acc), d = c.read(0), s = c.read(1);
  Slot eq = c.b.binop(Op::eq, a, d);
  const ZydisDecodedOperand& dst = c.in.op(0);
  if (dst.type == ZYDIS_OPERAND_TYPE_MEMORY) {
    c.b.store(c.address(0), c.b.select(eq, s, d));
  } else if (bits == 32) {
    const unsigned n = unsigned(ZydisRegisterGetId(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, dst.reg.value)));
    c.set_gpr(n, c.b.select(eq, c.zext64(s), c.gpr(n)));
  } else {
    c.set_reg(dst.reg.value, c.b.select(eq, s, d));
  }
  // Read after the destination's write: `cmpxchg eax, ecx` always succeeds and keeps ecx in eax.
  if (bits == 32) c.set_gpr(RAX, c.b.select(eq, c.gpr(RAX), c.zext64(d)));
  else c.set_reg(acc, c.b.select(eq, c.reg(acc), d));
  c.set_flags(kCcSub, a, d, ir::kNoSlot, c.b.binop(Op::sub, a, d));
  return true;
}

// cmpxchg8b m64 / cmpxchg16b m128: compare edx:eax (rdx:rax) with memory; equal: memory =
// ecx:ebx (rcx:rbx), ZF = 1; else edx:eax = memory (32-bit writes: zero-extended), ZF = 0. The
// other flags are kept. cmpxchg16b needs a 16-byte aligned operand (#GP otherwise).
bool lift_cmpxchg_wide(Ctx& c) {
  const bool wide = c.in.op_bits(0) == 128;
  Slot addr = c.address(0);
  Slot lo, hi, want_lo, want_hi, new_lo, new_hi;
  if (wide) {
    c.b.call(Type::I64, H_check_align16, addr);
    Slot addr_hi = c.b.binop(Op::add, addr, c.c64(8));
    lo = c.b.load(Type::I64, addr);
    hi = c.b.load(Type::I64, addr_hi);
    want_lo = c.gpr(RAX);
    want_hi = c.gpr(RDX);
    new_lo = c.gpr(RBX);
    new_hi = c.gpr(RCX);
    Slot eq = c.b.binop(Op::and_, c.b.binop(Op::eq, lo, want_lo), c.b.binop(Op::eq, hi, want_hi));
    c.b.store(addr, c.b.select(eq, new_lo, lo));
    c.b.store(addr_hi, c.b.select(eq, new_hi, hi));
    c.set_gpr(RAX, c.b.select(eq, want_lo, lo));
    c.set_gpr(RDX, c.b.select(eq, want_hi, hi));
    Slot zf = c.b.select(eq, c.c32(kZF), c.c32(0));
    c.set_flags_raw(c.b.binop(Op::or_, c.b.binop(Op::and_, c.arith_flags(), c.c32(~kZF)), zf));
    return true;
  }
  Slot m = c.b.load(Type::I64, addr);
  auto pair = [&](unsigned hi_reg, unsigned lo_reg) {
    Slot h = c.b.binop(Op::shl, c.gpr(hi_reg), c.c64(32));
    return c.b.binop(Op::or_, h, c.b.binop(Op::and_, c.gpr(lo_reg), c.c64(0xffffffffull)));
  };
  Slot eq = c.b.binop(Op::eq, m, pair(RDX, RAX));
  c.b.store(addr, c.b.select(eq, pair(RCX, RBX), m));
  c.set_gpr(RAX, c.b.select(eq, c.gpr(RAX), c.b.binop(Op::and_, m, c.c64(0xffffffffull))));
  c.set_gpr(RDX, c.b.select(eq, c.gpr(RDX), c.b.binop(Op::lshr, m, c.c64(32))));
  Slot zf = c.b.select(eq, c.c32(kZF), c.c32(0));
  c.set_flags_raw(c.b.binop(Op::or_, c.b.binop(Op::and_, c.arith_flags(), c.c32(~kZF)), zf));
  return true;
}

const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_MOVSB, lift_string<kMovs>}, {ZYDIS_MNEMONIC_MOVSW, lift_string<kMovs>},
    {ZYDIS_MNEMONIC_MOVSD, lift_string<kMovs>}, {ZYDIS_MNEMONIC_MOVSQ, lift_string<kMovs>},
    {ZYDIS_MNEMONIC_STOSB, lift_string<kStos>}, {ZYDIS_MNEMONIC_STOSW, lift_string<kStos>},
    {ZYDIS_MNEMONIC_STOSD, lift_string<kStos>}, {ZYDIS_MNEMONIC_STOSQ, lift_string<kStos>},
    {ZYDIS_MNEMONIC_LODSB, lift_string<kLods>}, {ZYDIS_MNEMONIC_LODSW, lift_string<kLods>},
    {ZYDIS_MNEMONIC_LODSD, lift_string<kLods>}, {ZYDIS_MNEMONIC_LODSQ, lift_string<kLods>},
    {ZYDIS_MNEMONIC_SCASB, lift_string<kScas>}, {ZYDIS_MNEMONIC_SCASW, lift_string<kScas>},
    {ZYDIS_MNEMONIC_SCASD, lift_string<kScas>}, {ZYDIS_MNEMONIC_SCASQ, lift_string<kScas>},
    {ZYDIS_MNEMONIC_CMPSB, lift_string<kCmps>}, {ZYDIS_MNEMONIC_CMPSW, lift_string<kCmps>},
    {ZYDIS_MNEMONIC_CMPSD, lift_string<kCmps>}, {ZYDIS_MNEMONIC_CMPSQ, lift_string<kCmps>},
    {ZYDIS_MNEMONIC_XADD, lift_xadd},
    {ZYDIS_MNEMONIC_CMPXCHG, lift_cmpxchg},
    {ZYDIS_MNEMONIC_CMPXCHG8B, lift_cmpxchg_wide},
    {ZYDIS_MNEMONIC_CMPXCHG16B, lift_cmpxchg_wide},
};

}  // namespace

InsnTable string_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::x64
