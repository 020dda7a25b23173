// The arithmetic flags, computed only where read (see lift.h): setters record their operands,
// conditions are evaluated from them.
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

using ir::Op;
using ir::Slot;
using ir::Type;

namespace {

// PF: set when the low byte of the result has an even number of ones.
uint32_t parity(uint64_t r) { return (__builtin_popcount(unsigned(r & 0xff)) & 1) ? 0 : kPF; }

}  // namespace

uint32_t eval_flags(uint32_t op, uint64_t a, uint64_t b, uint64_t c, uint64_t r_kept) {
  if (const uint32_t inc_dec = op >> kKeptCarryShift) {  // an inc/dec after the record keeps its CF
    const bool carry = eval_cond(B, op & ((1u << kKeptCarryShift) - 1), a, b, c);
    return eval_flags(inc_dec, r_kept, 0, carry);
  }
  if (CcKind(op >> 2) == kCcRaw) return uint32_t(a) & kArithFlags;  // (before any width masking)
  const unsigned w = 8u << (op & 3);
  const uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1, sign = 1ull << (w - 1);
  a &= mask;
  b &= mask;
  uint64_t r = 0;
  bool cf = false, of = false, af = false;
  switch (CcKind(op >> 2)) {
    case kCcAdd:
      r = (a + b) & mask;
      cf = r < a;
      of = (a ^ r) & (b ^ r) & sign;
      af = (a ^ b ^ r) & 0x10;
      break;
    case kCcSub:
      r = (a - b) & mask;
      cf = a < b;
      of = (a ^ b) & (a ^ r) & sign;
      af = (a ^ b ^ r) & 0x10;
      break;
    case kCcAdc:
      r = (a + b + c) & mask;
      cf = c ? r <= a : r < a;
      of = (a ^ r) & (b ^ r) & sign;
      af = (a ^ b ^ r) & 0x10;
      break;
    case kCcSbb:
      r = (a - b - c) & mask;
      cf = c ? a <= b : a < b;
      of = (a ^ b) & (a ^ r) & sign;
      af = (a ^ b ^ r) & 0x10;
      break;
    case kCcLogic: r = a; break;
    case kCcInc:
      r = a;
      cf = c;
      of = r == sign;
      af = (r & 0xf) == 0;
      break;
    case kCcDec:
      r = a;
      cf = c;
      of = r == sign - 1;
      af = (r & 0xf) == 0xf;
      break;
    case kCcNeg:
      r = (0 - a) & mask;
      cf = a != 0;
      of = r == sign && a == sign;
      af = (a ^ r) & 0x10;
      break;
    case kCcShl:  // b: the count, 1..31 or 1..63 (0 changes no flags: not recorded)
      r = b < 64 ? (a << b) & mask : 0;
      cf = b <= 64 && b - 1 < 64 && ((a << (b - 1)) & sign);
      of = ((r & sign) != 0) != cf;
      break;
    case kCcShr:
      r = b < 64 ? a >> b : 0;
      cf = b - 1 < 64 && ((a >> (b - 1)) & 1);
      of = b == 1 && (a & sign);
      break;
    case kCcSar: {
      const int64_t s = int64_t(a << (64 - w)) >> (64 - w);
      r = uint64_t(s >> (b < 64 ? b : 63)) & mask;
      cf = (s >> (b - 1 < 64 ? b - 1 : 63)) & 1;
      break;
    }
    case kCcMul:
      r = a;
      cf = of = c;
      break;
    default: return 0;
  }
  return (cf ? kCF : 0) | parity(r) | (af ? kAF : 0) | (r == 0 ? kZF : 0) | ((r & sign) ? kSF : 0) | (of ? kOF : 0);
}

namespace {
// A condition from flags in RFLAGS positions.
bool cond_of_raw(unsigned cc, uint32_t f) {
  const bool sf_ne_of = bool(f & kSF) != bool(f & kOF);
  bool r;
  switch (cc >> 1) {
    case 0: r = f & kOF; break;
    case 1: r = f & kCF; break;
    case 2: r = f & kZF; break;
    case 3: r = f & (kCF | kZF); break;
    case 4: r = f & kSF; break;
    case 5: r = f & kPF; break;
    case 6: r = sf_ne_of; break;
    default: r = (f & kZF) || sf_ne_of; break;
  }
  return cc & 1 ? !r : r;
}
}  // namespace

// The common cases - a compare's or a logic op's conditions - straight from the operands; the
// rest through the whole flag word.
bool eval_cond(unsigned cc, uint32_t op, uint64_t a, uint64_t b, uint64_t c, uint64_t r_kept) {
  const CcKind kind = CcKind(op >> 2);  // (with an inc/dec in the upper half: none of the below)
  if (kind == kCcSub || kind == kCcLogic) {
    const unsigned shift = 64 - (8u << (op & 3));
    // Unsigned order on the operands of the operation's width, signed order on their sign-extension.
    a = (a << shift) >> shift;
    b = (b << shift) >> shift;
    const int64_t sa = int64_t(a << shift) >> shift;
    const int64_t sb = kind == kCcSub ? int64_t(b << shift) >> shift : 0;
    const uint64_t ub = kind == kCcSub ? b : 0;  // logic: the result against zero, CF = OF = 0
    switch (cc) {
      case B: return a < ub;
      case AE: return a >= ub;
      case E: return a == ub;
      case NE: return a != ub;
      case BE: return a <= ub;
      case A: return a > ub;
      case L: return sa < sb;
      case GE: return sa >= sb;
      case LE: return sa <= sb;
      case G: return sa > sb;
      case S: case NS: {
        const bool neg = kind == kCcSub ? int64_t((a - b) << shift) < 0 : sa < 0;
        return (cc == S) == neg;
      }
      case O: case NO:
        if (kind == kCcLogic) return cc == NO;
        break;
    }
  }
  return cond_of_raw(cc, eval_flags(op, a, b, c, r_kept));
}

uint64_t rflags(const State& s) {
  return eval_flags(s.cc_op, s.cc_a, s.cc_b, s.cc_c, s.cc_r) | (s.df ? kDF : 0) | s.rflags_misc | 0x202;
}

void set_rflags(State& s, uint64_t v) {
  s.cc_op = kCcRaw;
  s.cc_a = v & kArithFlags;
  s.cc_b = s.cc_c = 0;
  s.df = (v & kDF) ? 1 : 0;
  // TF, AC and ID as written (user mode may set them; vmkit does not trap on TF or AC)
  s.rflags_misc = uint32_t(v) & ((1u << 8) | (1u << 18) | (1u << 21));
}

// (cc_r, which an op with an inc/dec in its upper half needs, is read from the state: such an op
// reaches these helpers only from the state's form, read at the start of a block before anything
// in it could write cc_r - within a block, the descriptor has the result in IR.)
uint64_t helper_flags(void* state, uint64_t a, uint64_t b, uint64_t c_op, uint32_t) {
  return eval_flags(uint32_t(c_op >> 8), a, b, c_op & 0xff, static_cast<const State*>(state)->cc_r);
}

uint64_t helper_cond(void* state, uint64_t a, uint64_t b, uint64_t c_op, uint32_t cc) {
  return eval_cond(cc, uint32_t(c_op >> 8), a, b, c_op & 0xff, static_cast<const State*>(state)->cc_r);
}

namespace {

Slot i1(Ctx& c, bool v) { return c.b.konst(Type::I1, v); }
Slot not1(Ctx& c, Slot s) { return c.b.binop(Op::xor_, s, i1(c, true)); }
Slot zero_of(Ctx& c, Slot like) { return c.b.konst(c.b.type_of(like), 0); }

// The flags of the descriptor (known, any kind) as an I32 in RFLAGS positions, through the pure
// helper.
Slot eval(Ctx& c, const Flags& f) {
  if (f.kind == kCcRaw) return f.a;
  Slot a = c.zext64(f.a != ir::kNoSlot ? f.a : f.r);
  Slot bb = f.b != ir::kNoSlot ? c.zext64(f.b) : c.c64(0);
  Slot op = c.c64(uint64_t(cc_op(f.kind, f.bytes)) << 8);
  Slot cop = f.c != ir::kNoSlot ? c.b.binop(Op::or_, f.c, op) : op;
  return c.b.callp(Type::I32, H_flags, a, bb, cop);
}

// A condition from flags in RFLAGS positions (an I32).
Slot from_raw(Ctx& c, Slot raw, unsigned cc) {
  ir::Builder& b = c.b;
  auto flag = [&](uint32_t bit) { return b.binop(Op::ne, b.binop(Op::and_, raw, c.c32(bit)), c.c32(0)); };
  auto sf_ne_of = [&] {  // SF != OF: SF is bit 7, OF bit 11
    Slot x = b.binop(Op::xor_, b.binop(Op::lshr, raw, c.c32(4)), raw);
    return b.binop(Op::ne, b.binop(Op::and_, x, c.c32(kSF)), c.c32(0));
  };
  Slot r;
  switch (cc >> 1) {
    case 0: r = flag(kOF); break;
    case 1: r = flag(kCF); break;
    case 2: r = flag(kZF); break;
    case 3: r = flag(kCF | kZF); break;
    case 4: r = flag(kSF); break;
    case 5: r = flag(kPF); break;
    case 6: r = sf_ne_of(); break;
    default: r = b.binop(Op::or_, flag(kZF), sf_ne_of()); break;
  }
  return cc & 1 ? not1(c, r) : r;
}

// CF straight from the operands where that is a shift or a test of one value (eval_flags has the
// same formulas), or kNoSlot: neg (the source is not 0), mul and an inc/dec whose kept CF is known
// (c), and the shifts (count b, 1..63: the bit shifted out last, from the zero- or sign-extended
// source, so a count past a narrow operand's width gives 0 or its sign as the host does).
Slot carry_short_form(Ctx& c, const Flags& f) {
  ir::Builder& b = c.b;
  auto bit0 = [&](Slot v) { return b.binop(Op::ne, b.binop(Op::and_, v, c.c64(1)), c.c64(0)); };
  switch (f.kind) {
    case kCcNeg: return b.binop(Op::ne, f.a, zero_of(c, f.a));
    case kCcMul:
    case kCcInc:
    case kCcDec:
      return f.c != ir::kNoSlot ? b.binop(Op::ne, f.c, c.c64(0)) : ir::kNoSlot;
    case kCcShl: case kCcShr: case kCcSar: {
      if (f.b == ir::kNoSlot) return ir::kNoSlot;
      Slot by = b.binop(Op::sub, c.zext64(f.b), c.c64(1));
      if (f.kind == kCcShr) return bit0(b.binop(Op::lshr, c.zext64(f.a), by));
      if (f.kind == kCcSar) return bit0(b.binop(Op::ashr, c.sext64(f.a), by));
      Slot out = b.binop(Op::shl, c.zext64(f.a), by);  // shl: bit (width - 1) of a << (count - 1)
      return bit0(b.binop(Op::lshr, out, c.c64(f.bytes * 8 - 1)));
    }
    default: return ir::kNoSlot;
  }
}

// The short forms: a condition straight from the operands of a compare, test or arithmetic, or
// kNoSlot where there is none.
Slot short_form(Ctx& c, const Flags& f, unsigned cc) {
  ir::Builder& b = c.b;
  if (f.kind == kCcSub) {
    switch (cc) {
      case B: return b.binop(Op::ltu, f.a, f.b);
      case AE: return b.binop(Op::geu, f.a, f.b);
      case E: return b.binop(Op::eq, f.a, f.b);
      case NE: return b.binop(Op::ne, f.a, f.b);
      case BE: return b.binop(Op::geu, f.b, f.a);
      case A: return b.binop(Op::ltu, f.b, f.a);
      case S: return b.binop(Op::lts, f.r, zero_of(c, f.r));
      case NS: return b.binop(Op::ges, f.r, zero_of(c, f.r));
      case L: return b.binop(Op::lts, f.a, f.b);
      case GE: return b.binop(Op::ges, f.a, f.b);
      case LE: return b.binop(Op::ges, f.b, f.a);
      case G: return b.binop(Op::lts, f.b, f.a);
    }
    return ir::kNoSlot;
  }
  const bool logic = f.kind == kCcLogic;
  // ZF and SF are the result's for every kind but mul (whose SF and ZF Intel leaves undefined)
  if (f.kind != kCcMul && f.r != ir::kNoSlot) {
    Slot zero = zero_of(c, f.r);
    switch (cc) {
      case E: return b.binop(Op::eq, f.r, zero);
      case NE: return b.binop(Op::ne, f.r, zero);
      case S: return b.binop(Op::lts, f.r, zero);
      case NS: return b.binop(Op::ges, f.r, zero);
    }
    if (logic) {  // CF = OF = 0
      switch (cc) {
        case O: case B: return i1(c, false);
        case NO: case AE: return i1(c, true);
        case BE: return b.binop(Op::eq, f.r, zero);
        case A: return b.binop(Op::ne, f.r, zero);
        case L: return b.binop(Op::lts, f.r, zero);
        case GE: return b.binop(Op::ges, f.r, zero);
        case LE: return b.binop(Op::ges, zero, f.r);
        case G: return b.binop(Op::lts, zero, f.r);
      }
    }
    if (f.kind == kCcAdd && (cc == B || cc == AE)) return b.binop(cc == B ? Op::ltu : Op::geu, f.r, f.a);
  }
  if (cc == B || cc == AE) {
    Slot carry = carry_short_form(c, f);
    if (carry != ir::kNoSlot) return cc == B ? carry : not1(c, carry);
  }
  return ir::kNoSlot;
}

// An inc/dec descriptor whose kept CF is not computed yet: compute it now (one pure call on the
// record it comes from), as its c.
void resolve_kept_carry(Ctx& c) {
  Flags& f = c.flags;
  if (!f.known || f.cf_op == ir::kNoSlot) return;
  Slot cop = c.b.binop(Op::or_, f.cf_c, c.b.binop(Op::shl, c.zext64(f.cf_op), c.c64(8)));
  f.c = c.zext64(c.b.callp(Type::I1, H_cond, f.cf_a, f.cf_b, cop, B));
  f.cf_op = f.cf_a = f.cf_b = f.cf_c = ir::kNoSlot;
}

// The flags the block has not set: the state's form, evaluated once (the descriptor becomes Raw).
void load_state_flags(Ctx& c) {
  Slot op = c.zext64(c.b.get(Type::I32, kOffCcOp));
  Slot cop = c.b.binop(Op::or_, c.b.get(Type::I64, kOffCcC), c.b.binop(Op::shl, op, c.c64(8)));
  Slot raw = c.b.callp(Type::I32, H_flags, c.b.get(Type::I64, kOffCcA), c.b.get(Type::I64, kOffCcB), cop);
  c.flags = Flags{true, kCcRaw, 8, raw};
}

}  // namespace

void Ctx::set_flags(CcKind kind, Slot a, Slot b2, Slot c, Slot r) {
  const unsigned bytes = ir::type_bits(b.type_of(r)) / 8;
  flags = Flags{true, kind, bytes, a, b2, c, r};
  b.put(kOffCcOp, c32(cc_op(kind, bytes)));
  // What each kind keeps (state.h): the result for logic/inc/dec/mul, the operands otherwise.
  const bool result_only = kind == kCcLogic || kind == kCcInc || kind == kCcDec || kind == kCcMul;
  b.put(kOffCcA, zext64(result_only ? r : a));
  if (!result_only && b2 != ir::kNoSlot) b.put(kOffCcB, zext64(b2));
  if (c != ir::kNoSlot) b.put(kOffCcC, c);
  if (result_only) flags.a = r;
}

void Ctx::set_flags_keeping_carry(CcKind kind, Slot a, Slot r) {
  if (flags.known) {  // the old CF is at hand
    Slot cf = carry();
    set_flags(kind, a, ir::kNoSlot, zext64(cf), r);
    return;
  }
  // The old flags are the state's: rather than computing their CF (a call, wasted when nothing
  // reads it - the loop counter's `dec; jnz` at the top of a block, typically), leave the record
  // in place and note the inc/dec in cc_op's upper half (replacing an earlier one's).
  const unsigned bytes = ir::type_bits(b.type_of(r)) / 8;
  Slot record_op = b.binop(Op::and_, b.get(Type::I32, kOffCcOp), c32((1u << kKeptCarryShift) - 1));
  b.put(kOffCcOp, b.binop(Op::or_, record_op, c32(cc_op(kind, bytes) << kKeptCarryShift)));
  b.put(kOffCcR, zext64(r));
  flags = Flags{true, kind, bytes, r, ir::kNoSlot, ir::kNoSlot, r, record_op, b.get(Type::I64, kOffCcA),
                b.get(Type::I64, kOffCcB), b.get(Type::I64, kOffCcC)};
}

void Ctx::settle_kept_carry() {
  if (!flags.known || flags.cf_op == ir::kNoSlot) return;
  resolve_kept_carry(*this);
  b.put(kOffCcOp, c32(cc_op(flags.kind, flags.bytes)));  // a plain inc/dec record
  b.put(kOffCcA, zext64(flags.r));
  b.put(kOffCcC, flags.c);
}

void Ctx::set_flags_raw(Slot flags32) {
  Slot v = b.binop(Op::and_, flags32, c32(kArithFlags));
  flags = Flags{true, kCcRaw, 4, v};
  b.put(kOffCcOp, c32(kCcRaw));
  b.put(kOffCcA, zext64(v));
}

Slot Ctx::arith_flags() {
  if (!flags.known) load_state_flags(*this);
  resolve_kept_carry(*this);
  return eval(*this, flags);
}

Slot Ctx::cond(unsigned cc) {
  // A condition read before the block set any flags (the block after a jcc reading the same
  // compare, typically): one pure call for just that condition, which for a compare or a logic op
  // costs a comparison rather than the whole flag word.
  if (!flags.known) {
    Slot op = zext64(b.get(Type::I32, kOffCcOp));
    Slot cop = b.binop(Op::or_, b.get(Type::I64, kOffCcC), b.binop(Op::shl, op, c64(8)));
    return b.callp(Type::I1, H_cond, b.get(Type::I64, kOffCcA), b.get(Type::I64, kOffCcB), cop, uint8_t(cc));
  }
  if (Slot s = short_form(*this, flags, cc); s != ir::kNoSlot) return s;
  resolve_kept_carry(*this);
  return from_raw(*this, eval(*this, flags), cc);
}

}  // namespace vmkit::x64
