// A64 loads and stores: single registers in every addressing mode (general and SIMD&FP),
// pairs, literal loads, exclusives, load-acquire / store-release and the LSE atomics.
//
// Precision: a memory access may fault, and the guest state must then be as before the
// instruction. Every lifter therefore reads its source registers and does all its loads before
// any register write, and writes the address register back last.
//
// Writeback with Rn == Rt (CONSTRAINED UNPREDICTABLE) is done as qemu does it (checked against
// unicorn): a load writes Rt and then the base, so the written-back address wins; a store stores
// the register's value from before the instruction. A load pair with Rt == Rt2 keeps the first
// element (ldp: Rt is written last), a load-exclusive pair the second (ldxp: Rt2 last), as qemu.
//
// Multi-access instructions (pairs, Q registers) are split into 8-byte or smaller accesses, in
// address order. A store whose later part faults (it crosses into an unmapped or read-only page)
// has written its earlier part: the architecture leaves memory UNKNOWN for the locations of an
// aborted multi-access store, and registers are untouched either way.
//
// Ordering: a guest CPU runs on one host thread, so barriers matter only for memory shared with
// other processes. Acquire is a fence after the load, release a fence before the store; a
// store-release (stlr) also fences after it, so that it stays ordered before a later
// load-acquire (Arm's acquire/release is RCsc; ldapr, RCpc, has no such fence to need).
//
// Atomics (LSE) are lifted as load, compute, store: nothing else runs this CPU's instructions
// in between, so the sequence is atomic with respect to every guest thread (as the riscv64 AMOs).
// CAS and CASP store unconditionally: the new value if the comparison held, else the old value
// back. The IR has no conditional store inside a block, and this is what qemu does on x86 hosts
// (lock cmpxchg writes even on failure): a failing CAS on a read-only page faults as a write.
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

// ---- what one register's access is --------------------------------------------------------

struct Access {
  unsigned bytes;         // memory size: 1, 2, 4, 8, or 16 (a Q register)
  bool load = false;
  bool sign = false;      // sign-extending load (ldrs*, ldpsw)
  bool to64 = false;      // ... into an X register (else a W register)
  bool simd = false;      // a SIMD&FP register (b/h/s/d/q)
  bool prefetch = false;  // prfm / prfum: decoded, no effect
};

// A register's value as memory sees it: `lo` (I64), and `hi` for the top half of a Q register.
struct Value {
  Slot lo;
  Slot hi = ir::kNoSlot;
};

// The access of the single-register classes from size (31..30), V (26) and opc (23..22), or
// false for an unallocated combination.
bool decode_access(uint32_t i, Access* a) {
  const unsigned size = bits(i, 31, 30), opc = bits(i, 23, 22);
  if (bit(i, 26)) {
    if (opc >= 2 && size != 0) return false;
    *a = Access{opc >= 2 ? 16u : 1u << size, bool(opc & 1)};
    a->simd = true;
    return true;
  }
  *a = Access{1u << size};
  switch (opc) {
    case 0: return true;  // str
    case 1: a->load = true; return true;  // ldr: zero-extends into the register
    case 2:
      if (size == 3) {
        a->prefetch = true;
        return true;
      }
      a->load = a->sign = a->to64 = true;  // ldrs* into X
      return true;
    default:
      if (size >= 2) return false;
      a->load = a->sign = true;  // ldrs* into W
      return true;
  }
}

unsigned log2_bytes(unsigned bytes) { return bytes == 16 ? 4 : bytes == 8 ? 3 : bytes == 4 ? 2 : bytes == 2 ? 1 : 0; }

Slot plus(Ctx& c, Slot base, int64_t off) { return off ? c.b.binop(Op::add, base, c.c64(uint64_t(off))) : base; }

Value load_value(Ctx& c, const Access& a, Slot addr) {
  if (a.bytes == 16) return {c.b.load(Type::I64, addr), c.b.load(Type::I64, plus(c, addr, 8))};
  const unsigned width = 8 * a.bytes;
  if (a.sign) return {c.b.loads(a.to64 ? Type::I64 : Type::I32, addr, width)};
  return {c.b.load(Type::I64, addr, width)};  // zero-extended: the X value of a W load too
}

// Writing a B/H/S/D register clears the rest of the 128-bit V register.
void write_value(Ctx& c, const Access& a, unsigned rt, Value v) {
  if (!a.simd) return c.set_reg(rt, v.lo);
  c.b.put(off_v(rt, 0), v.lo);
  c.b.put(off_v(rt, 1), v.hi != ir::kNoSlot ? v.hi : c.c64(0));
}

Value read_value(Ctx& c, const Access& a, unsigned rt) {
  if (!a.simd) return {c.x(rt)};
  Value v{c.b.get(Type::I64, off_v(rt, 0))};
  if (a.bytes == 16) v.hi = c.b.get(Type::I64, off_v(rt, 1));
  return v;
}

void store_value(Ctx& c, const Access& a, Slot addr, Value v) {
  if (a.bytes == 16) {
    c.b.store(addr, v.lo);
    c.b.store(plus(c, addr, 8), v.hi);
    return;
  }
  c.b.store(addr, v.lo, 8 * a.bytes);
}

constexpr unsigned kNoWriteback = 32;

// One register's access at addr; then, unless writeback_to is kNoWriteback, that register (sp for
// 31) becomes new_base.
void single(Ctx& c, const Access& a, unsigned rt, Slot addr, unsigned writeback_to = kNoWriteback,
            Slot new_base = ir::kNoSlot) {
  if (a.prefetch) return;
  if (a.load) {
    write_value(c, a, rt, load_value(c, a, addr));
  } else {
    store_value(c, a, addr, read_value(c, a, rt));
  }
  if (writeback_to != kNoWriteback) c.set_reg_sp(writeback_to, new_base);
}

// ---- single register: immediate, register and literal addressing ----------------------------

// ldr/str (unsigned offset): imm12 scaled by the access size.
bool lift_ldst_uimm(Ctx& c, uint32_t i) {
  Access a;
  if (!decode_access(i, &a)) return false;
  const uint64_t off = uint64_t(bits(i, 21, 10)) << log2_bytes(a.bytes);
  single(c, a, rd(i), plus(c, c.xsp(rn(i)), int64_t(off)));
  return true;
}

// The imm9 forms, by bits 11..10: ldur/stur (unscaled), post-index, ldtr/sttr (unprivileged:
// at EL0 the same as ldur), pre-index.
bool lift_ldst_imm9(Ctx& c, uint32_t i) {
  Access a;
  if (!decode_access(i, &a)) return false;
  const unsigned mode = bits(i, 11, 10);
  const int64_t off = sext(bits(i, 20, 12), 9);
  if (mode != 0 && a.prefetch) return false;  // prfm exists unscaled (prfum) only
  if (mode == 2 && a.simd) return false;      // no unprivileged SIMD&FP forms
  Slot base = c.xsp(rn(i));
  switch (mode) {
    case 1: single(c, a, rd(i), base, rn(i), plus(c, base, off)); break;  // post-index
    case 3: {                                                                 // pre-index
      Slot addr = plus(c, base, off);
      single(c, a, rd(i), addr, rn(i), addr);
      break;
    }
    default: single(c, a, rd(i), plus(c, base, off)); break;
  }
  return true;
}

// ldr/str (register offset): Rm extended by option (UXTW, LSL/UXTX, SXTW, SXTX), shifted by the
// access size if S.
bool lift_ldst_reg(Ctx& c, uint32_t i) {
  Access a;
  if (!decode_access(i, &a)) return false;
  const unsigned option = bits(i, 15, 13);
  if (!(option & 2)) return false;  // the 32-bit-index options with bit 1 clear are reserved
  Slot index = option & 1 ? c.x(rm(i)) : c.b.convert(option & 4 ? Op::sext : Op::zext, Type::I64, c.w(rm(i)));
  if (bit(i, 12) && a.bytes > 1) index = c.b.binop(Op::shl, index, c.c64(log2_bytes(a.bytes)));
  single(c, a, rd(i), c.b.binop(Op::add, c.xsp(rn(i)), index));
  return true;
}

// ldr (literal): pc + imm19 * 4. General: W, X, SW, prfm; SIMD&FP: S, D, Q.
bool lift_ldr_literal(Ctx& c, uint32_t i) {
  const unsigned opc = bits(i, 31, 30);
  Access a{4};
  a.load = true;
  if (bit(i, 26)) {
    if (opc == 3) return false;
    a.bytes = 4u << opc;
    a.simd = true;
  } else if (opc == 1) {
    a.bytes = 8;
  } else if (opc == 2) {
    a.sign = a.to64 = true;
  } else if (opc == 3) {
    a.prefetch = true;
  }
  single(c, a, rd(i), c.c64(c.pc + uint64_t(sext(uint64_t(bits(i, 23, 5)) << 2, 21))));
  return true;
}

// ---- pairs ----------------------------------------------------------------------------------

// ldp/stp/ldpsw and ldnp/stnp, by bits 24..23: no-allocate (offset), post-index, offset,
// pre-index. imm7 is scaled by the element size.
bool lift_pair(Ctx& c, uint32_t i) {
  const unsigned opc = bits(i, 31, 30), mode = bits(i, 24, 23);
  const bool load = bit(i, 22);
  if (opc == 3) return false;
  Access a{4};
  a.load = load;
  if (bit(i, 26)) {
    a.bytes = 4u << opc;
    a.simd = true;
  } else if (opc == 1) {  // ldpsw (its store and no-allocate encodings are not ours: stgp, reserved)
    if (!load || mode == 0) return false;
    a.sign = a.to64 = true;
  } else {
    a.bytes = opc ? 8 : 4;
  }
  const unsigned rt = rd(i), rt2 = ra(i), n = rn(i);
  const int64_t off = sext(bits(i, 21, 15), 7) * int64_t(a.bytes);
  Slot base = c.xsp(n);
  Slot addr = mode == 1 ? base : plus(c, base, off);
  Slot addr2 = plus(c, addr, a.bytes);
  if (load) {
    Value first = load_value(c, a, addr), second = load_value(c, a, addr2);
    write_value(c, a, rt2, second);
    write_value(c, a, rt, first);
  } else {
    Value first = read_value(c, a, rt), second = read_value(c, a, rt2);
    store_value(c, a, addr, first);
    store_value(c, a, addr2, second);
  }
  if (mode == 1) c.set_reg_sp(n, plus(c, base, off));
  if (mode == 3) c.set_reg_sp(n, addr);
  return true;
}

// ---- exclusives, acquire/release, atomics -----------------------------------------------------

// Natural alignment of atomic and ordered accesses: SIGBUS (BUS_ADRALN) otherwise, checked before
// the access so that it precedes any fault of the access itself.
void check_align(Ctx& c, Slot addr, unsigned bytes) {
  c.b.call(Type::I64, H_check_align, addr, ir::kNoSlot, ir::kNoSlot, uint8_t(bytes));
}

void acquire_fence(Ctx& c, bool acquire) {
  if (acquire) c.b.fence(0);
}
void release_fence(Ctx& c, bool release) {
  if (release) c.b.fence(0);
}

void reserve(Ctx& c, Slot addr, unsigned bytes, Slot first, Slot second = ir::kNoSlot) {
  c.b.put(kOffExclAddr, addr);
  c.b.put(kOffExclSize, c.c32(bytes));
  c.b.put(kOffExclValue, first);
  if (second != ir::kNoSlot) c.b.put(kOffExclValue + 8, second);
}

// Store-exclusive through its helper (status 0 stored, 1 failed, into Ws). The helper reports the
// store to memory hooks with s.pc, so the state's pc is this instruction's first.
void store_exclusive(Ctx& c, unsigned status_reg, Slot addr, Slot lo, Slot hi, unsigned imm) {
  c.b.put(kOffPc, c.c64(c.pc));
  Slot status = c.b.call(Type::I64, H_store_exclusive, addr, lo, hi, uint8_t(imm));
  c.set_reg(status_reg, status);
}

// ldxr/ldaxr, stxr/stlxr (B, H, W, X by size); o0 (bit 15) is acquire / release.
bool lift_exclusive(Ctx& c, uint32_t i) {
  const unsigned bytes = 1u << bits(i, 31, 30);
  const bool ordered = bit(i, 15);
  Slot addr = c.xsp(rn(i));
  check_align(c, addr, bytes);
  if (bit(i, 22)) {
    Slot v = c.b.load(Type::I64, addr, 8 * bytes);
    reserve(c, addr, bytes, v);
    c.set_reg(rd(i), v);
    acquire_fence(c, ordered);
  } else {
    release_fence(c, ordered);
    store_exclusive(c, rm(i), addr, c.x(rd(i)), c.c64(0), bytes);
  }
  return true;
}

// ldxp/ldaxp, stxp/stlxp: two W or two X registers; the pair is aligned as a whole.
bool lift_exclusive_pair(Ctx& c, uint32_t i) {
  const unsigned each = bit(i, 30) ? 8 : 4;
  const bool ordered = bit(i, 15);
  Slot addr = c.xsp(rn(i));
  check_align(c, addr, 2 * each);
  if (bit(i, 22)) {
    Slot first = c.b.load(Type::I64, addr, 8 * each);
    Slot second = c.b.load(Type::I64, plus(c, addr, each), 8 * each);
    reserve(c, addr, 2 * each, first, second);
    c.set_reg(rd(i), first);
    c.set_reg(ra(i), second);
    acquire_fence(c, ordered);
  } else {
    release_fence(c, ordered);
    store_exclusive(c, rm(i), addr, c.x(rd(i)), c.x(ra(i)), each | 0x80);
  }
  return true;
}

// ldar/ldlar (L), stlr/stllr: ordered single accesses. (LDLAR/STLLR order within a LORegion;
// without LORegions they are LDAR/STLR.)
bool lift_ordered(Ctx& c, uint32_t i) {
  const unsigned bytes = 1u << bits(i, 31, 30);
  Slot addr = c.xsp(rn(i));
  check_align(c, addr, bytes);
  if (bit(i, 22)) {
    c.set_reg(rd(i), c.b.load(Type::I64, addr, 8 * bytes));
    acquire_fence(c, true);
  } else {
    Slot v = c.x(rd(i));
    release_fence(c, true);
    c.b.store(addr, v, 8 * bytes);
    c.b.fence(0);  // RCsc: ordered before a later load-acquire
  }
  return true;
}

// ldapr/ldaprb/ldaprh (FEAT_LRCPC): a load-acquire without the order after earlier
// store-releases.
bool lift_ldapr(Ctx& c, uint32_t i) {
  const unsigned bytes = 1u << bits(i, 31, 30);
  Slot addr = c.xsp(rn(i));
  check_align(c, addr, bytes);
  c.set_reg(rd(i), c.b.load(Type::I64, addr, 8 * bytes));
  acquire_fence(c, true);
  return true;
}

// The value type of an atomic of `bytes` (I32 up to a word, as W registers are).
Type atomic_type(unsigned bytes) { return bytes == 8 ? Type::I64 : Type::I32; }

// v's low `bytes` as an atomic_type(bytes) value, sign- or zero-extended.
Slot narrow(Ctx& c, Slot v, unsigned bytes, bool sign) {
  if (bytes >= 4) return v;
  Slot low = c.b.convert(Op::trunc, bytes == 1 ? Type::I8 : Type::I16, v);
  return c.b.convert(sign ? Op::sext : Op::zext, Type::I32, low);
}

// cas/casa/casl/casal (B, H, W, X): Rs is compared with memory and receives the old value; Rt is
// stored if they were equal (else the old value is stored back: see the file comment).
bool lift_cas(Ctx& c, uint32_t i) {
  const unsigned bytes = 1u << bits(i, 31, 30);
  const bool is64 = bytes == 8;
  const unsigned rs = rm(i);
  Slot addr = c.xsp(rn(i));
  Slot expected = narrow(c, c.reg(is64, rs), bytes, false);
  Slot desired = c.reg(is64, rd(i));
  check_align(c, addr, bytes);
  release_fence(c, bit(i, 15));
  Slot old = c.b.load(atomic_type(bytes), addr, 8 * bytes);
  c.b.store(addr, c.b.select(c.b.binop(Op::eq, old, expected), desired, old), 8 * bytes);
  acquire_fence(c, bit(i, 22));
  c.set_reg(rs, old);
  return true;
}

// casp/caspa/caspl/caspal: the pairs <Rs, Rs+1> and <Rt, Rt+1> (even registers) of W or X
// registers against two consecutive memory elements, aligned as a whole.
bool lift_casp(Ctx& c, uint32_t i) {
  const unsigned rs = rm(i), rt = rd(i), each = bit(i, 30) ? 8 : 4;
  if ((rs | rt) & 1) return false;
  const bool is64 = each == 8;
  const Type t = atomic_type(each);
  Slot addr = c.xsp(rn(i)), addr2 = plus(c, addr, each);
  Slot expected1 = c.reg(is64, rs), expected2 = c.reg(is64, rs + 1);
  Slot desired1 = c.reg(is64, rt), desired2 = c.reg(is64, rt + 1);
  check_align(c, addr, 2 * each);
  release_fence(c, bit(i, 15));
  Slot old1 = c.b.load(t, addr), old2 = c.b.load(t, addr2);
  Slot differ = c.b.binop(Op::or_, c.b.binop(Op::xor_, old1, expected1), c.b.binop(Op::xor_, old2, expected2));
  Slot equal = c.b.binop(Op::eq, differ, c.konst(is64, 0));
  c.b.store(addr, c.b.select(equal, desired1, old1));
  c.b.store(addr2, c.b.select(equal, desired2, old2));
  acquire_fence(c, bit(i, 22));
  c.set_reg(rs, old1);
  c.set_reg(rs + 1, old2);
  return true;
}

// The LSE memory operations (o3:opc): ldadd, ldclr, ldeor, ldset, ldsmax, ldsmin, ldumax,
// ldumin, swp; A (bit 23) acquire, R (bit 22) release. Rt receives the old value (zero-extended
// from the access size); Rt = zr is st<op>. ldapr shares the encoding space.
bool lift_atomic_op(Ctx& c, uint32_t i) {
  const unsigned o3 = bit(i, 15), opc = bits(i, 14, 12);
  if (o3 && opc == 4 && bits(i, 23, 22) == 2 && rm(i) == 31) return lift_ldapr(c, i);
  if (o3 && opc != 0) return false;
  const unsigned bytes = 1u << bits(i, 31, 30);
  const bool is64 = bytes == 8, swap = o3;
  const bool is_signed = !swap && (opc == 4 || opc == 5);
  const bool is_minmax = !swap && opc >= 4;
  const Type t = atomic_type(bytes);
  Slot addr = c.xsp(rn(i));
  Slot src = c.reg(is64, rm(i));
  if (is_minmax) src = narrow(c, src, bytes, is_signed);  // compared at the access size
  check_align(c, addr, bytes);
  release_fence(c, bit(i, 22));
  Slot old = is_signed ? c.b.loads(t, addr, 8 * bytes) : c.b.load(t, addr, 8 * bytes);
  Slot updated = src;
  if (!swap) {
    static constexpr Op kOps[8] = {Op::add, Op::andn, Op::xor_, Op::or_, Op::maxs, Op::mins, Op::maxu, Op::minu};
    updated = c.b.binop(kOps[opc], old, src);
  }
  c.b.store(addr, updated, 8 * bytes);
  acquire_fence(c, bit(i, 23));
  c.set_reg(rd(i), is_signed ? narrow(c, old, bytes, false) : old);
  return true;
}

const InsnDesc kInsns[] = {
    {"ldr/str (unsigned offset)", 0x3b000000, 0x39000000, lift_ldst_uimm},
    {"ldur/stur, ldtr/sttr, pre/post-index", 0x3b200000, 0x38000000, lift_ldst_imm9},
    {"ldr/str (register offset)", 0x3b200c00, 0x38200800, lift_ldst_reg},
    {"ldr (literal)", 0x3b000000, 0x18000000, lift_ldr_literal},
    {"ldp/stp/ldnp/stnp/ldpsw", 0x3a000000, 0x28000000, lift_pair},
    {"ldxr/stxr", 0x3fa00000, 0x08000000, lift_exclusive},
    {"ldxp/stxp", 0xbfa00000, 0x88200000, lift_exclusive_pair},
    {"casp", 0xbfa00000, 0x08200000, lift_casp},
    {"ldar/stlr/ldlar/stllr", 0x3fa00000, 0x08800000, lift_ordered},
    {"cas", 0x3fa00000, 0x08a00000, lift_cas},
    {"lse atomics, ldapr", 0x3f200c00, 0x38200000, lift_atomic_op},
};

}  // namespace

InsnTable ldst_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
