// NZCV, computed only where read (see lift.h): flag setters record their operands, conditions
// are evaluated from them.
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

using ir::Op;
using ir::Slot;
using ir::Type;

uint32_t eval_nzcv(uint32_t op, uint64_t a, uint64_t b) {
  auto pack = [](bool n, bool z, bool c, bool v) {
    return uint32_t(n) << 31 | uint32_t(z) << 30 | uint32_t(c) << 29 | uint32_t(v) << 28;
  };
  switch (op) {
    case kCcAdd32: {
      uint32_t x = uint32_t(a), y = uint32_t(b), r = x + y;
      return pack(r >> 31, r == 0, r < x, (~(x ^ y) & (x ^ r)) >> 31);
    }
    case kCcAdd64: {
      uint64_t r = a + b;
      return pack(r >> 63, r == 0, r < a, (~(a ^ b) & (a ^ r)) >> 63);
    }
    case kCcSub32: {
      uint32_t x = uint32_t(a), y = uint32_t(b), r = x - y;
      return pack(r >> 31, r == 0, x >= y, ((x ^ y) & (x ^ r)) >> 31);
    }
    case kCcSub64: {
      uint64_t r = a - b;
      return pack(r >> 63, r == 0, a >= b, ((a ^ b) & (a ^ r)) >> 63);
    }
    case kCcLogic32: return pack(uint32_t(a) >> 31, uint32_t(a) == 0, false, false);
    case kCcLogic64: return pack(a >> 63, a == 0, false, false);
    default: return uint32_t(a) & 0xf0000000u;  // kCcRaw
  }
}

uint32_t nzcv(const State& s) { return eval_nzcv(s.cc_op, s.cc_a, s.cc_b); }

uint64_t helper_nzcv(void*, uint64_t op, uint64_t a, uint64_t b, uint32_t) { return eval_nzcv(uint32_t(op), a, b); }

namespace {

Slot i1(Ctx& c, bool v) { return c.b.konst(Type::I1, v); }
bool is_const(Ctx& c, Slot s) { return c.b.block().slot_is_const[s]; }
Slot not1(Ctx& c, Slot s) { return c.b.binop(Op::xor_, s, i1(c, true)); }
Slot zero_of(Ctx& c, Slot like) { return c.b.konst(c.b.type_of(like), 0); }
Slot to64(Ctx& c, Slot s) { return c.b.type_of(s) == Type::I64 ? s : c.b.convert(Op::zext, Type::I64, s); }

// The four flags of a known descriptor (not Unknown, no guard) as I1s, each computed on first use.
class FlagBits {
 public:
  FlagBits(Ctx& c, const Flags& f) : c_(c), f_(f) {}
  Slot n() { return n_ != ir::kNoSlot ? n_ : n_ = compute(31); }
  Slot z() { return z_ != ir::kNoSlot ? z_ : z_ = compute(30); }
  Slot c() { return c_flag_ != ir::kNoSlot ? c_flag_ : c_flag_ = compute(29); }
  Slot v() { return v_ != ir::kNoSlot ? v_ : v_ = compute(28); }

 private:
  Slot compute(unsigned bitno) {
    ir::Builder& b = c_.b;
    if (f_.kind == Flags::Raw) return b.binop(Op::ne, b.binop(Op::and_, f_.a, c_.c32(1u << bitno)), c_.c32(0));
    Slot zero = zero_of(c_, f_.r);
    switch (bitno) {
      case 31: return b.binop(Op::lts, f_.r, zero);
      case 30: return b.binop(Op::eq, f_.r, zero);
    }
    if (f_.kind == Flags::Logic) return i1(c_, false);
    if (bitno == 29) return f_.kind == Flags::Add ? b.binop(Op::ltu, f_.r, f_.a) : b.binop(Op::geu, f_.a, f_.b);
    // V: the operands' signs agree (add) or differ (sub), and the result's sign differs from a's
    Slot ar = b.binop(Op::xor_, f_.a, f_.r), ab = b.binop(Op::xor_, f_.a, f_.b);
    return b.binop(Op::lts, b.binop(f_.kind == Flags::Add ? Op::andn : Op::and_, ar, ab), zero);
  }
  Ctx& c_;
  const Flags& f_;
  Slot n_ = ir::kNoSlot, z_ = ir::kNoSlot, c_flag_ = ir::kNoSlot, v_ = ir::kNoSlot;
};

// A condition from the flags.
Slot from_flags(Ctx& c, unsigned cc, FlagBits& f) {
  ir::Builder& b = c.b;
  Slot r;
  switch (cc >> 1) {
    case 0: r = f.z(); break;                                                  // EQ / NE
    case 1: r = f.c(); break;                                                  // CS / CC
    case 2: r = f.n(); break;                                                  // MI / PL
    case 3: r = f.v(); break;                                                  // VS / VC
    case 4: r = b.binop(Op::and_, f.c(), not1(c, f.z())); break;               // HI / LS
    case 5: r = b.binop(Op::eq, f.n(), f.v()); break;                          // GE / LT
    case 6: r = b.binop(Op::and_, not1(c, f.z()), b.binop(Op::eq, f.n(), f.v())); break;  // GT / LE
    default: return i1(c, true);                                               // AL / NV
  }
  return cc & 1 ? not1(c, r) : r;
}

// Condition cc of a known descriptor without a guard: for a compare, straight from its operands.
Slot cond_of(Ctx& c, const Flags& f, unsigned cc) {
  ir::Builder& b = c.b;
  if (cc >= AL) return i1(c, true);
  if (f.kind == Flags::Raw && is_const(c, f.a)) {
    uint32_t raw = uint32_t(b.block().slot_init[f.a]);
    bool n = raw >> 31 & 1, z = raw >> 30 & 1, cf = raw >> 29 & 1, v = raw >> 28 & 1;
    bool r[] = {z, cf, n, v, cf && !z, n == v, !z && n == v};
    return i1(c, r[cc >> 1] != (cc & 1));
  }
  if (f.kind == Flags::Raw && cc < HI) {  // one flag: test its bit
    static constexpr uint32_t kBit[] = {1u << 30, 1u << 29, 1u << 31, 1u << 28};  // Z C N V
    return b.binop(cc & 1 ? Op::eq : Op::ne, b.binop(Op::and_, f.a, c.c32(kBit[cc >> 1])), c.c32(0));
  }
  if (f.kind == Flags::Sub) {
    switch (cc) {
      case EQ: return b.binop(Op::eq, f.a, f.b);
      case NE: return b.binop(Op::ne, f.a, f.b);
      case CS: return b.binop(Op::geu, f.a, f.b);
      case CC: return b.binop(Op::ltu, f.a, f.b);
      case HI: return b.binop(Op::ltu, f.b, f.a);
      case LS: return b.binop(Op::geu, f.b, f.a);
      case GE: return b.binop(Op::ges, f.a, f.b);
      case LT: return b.binop(Op::lts, f.a, f.b);
      case GT: return b.binop(Op::lts, f.b, f.a);
      case LE: return b.binop(Op::ges, f.b, f.a);
      case MI: return b.binop(Op::lts, f.r, zero_of(c, f.r));
      case PL: return b.binop(Op::ges, f.r, zero_of(c, f.r));
      default: break;  // VS, VC
    }
  } else if (f.kind == Flags::Logic) {
    Slot zero = zero_of(c, f.r);
    switch (cc) {
      case EQ: return b.binop(Op::eq, f.r, zero);
      case NE: return b.binop(Op::ne, f.r, zero);
      case CS: case VS: case HI: return i1(c, false);
      case CC: case VC: case LS: return i1(c, true);
      case MI: case LT: return b.binop(Op::lts, f.r, zero);
      case PL: case GE: return b.binop(Op::ges, f.r, zero);
      case GT: return b.binop(Op::lts, zero, f.r);
      case LE: return b.binop(Op::ges, zero, f.r);
      default: break;
    }
  } else if (f.kind == Flags::Add) {
    Slot zero = zero_of(c, f.r);
    switch (cc) {
      case EQ: return b.binop(Op::eq, f.r, zero);
      case NE: return b.binop(Op::ne, f.r, zero);
      case CS: return b.binop(Op::ltu, f.r, f.a);
      case CC: return b.binop(Op::geu, f.r, f.a);
      case MI: return b.binop(Op::lts, f.r, zero);
      case PL: return b.binop(Op::ges, f.r, zero);
      default: break;
    }
  }
  FlagBits bits(c, f);
  return from_flags(c, cc, bits);
}

// NZCV (bits 31..28 of an I32) of a known descriptor without a guard.
Slot raw_of(Ctx& c, const Flags& f) {
  if (f.kind == Flags::Raw) return f.a;
  ir::Builder& b = c.b;
  FlagBits bits(c, f);
  const Slot flag[4] = {bits.n(), bits.z(), bits.c(), bits.v()};
  Slot out = c.c32(0);
  for (unsigned k = 0; k < 4; ++k)
    out = b.binop(Op::or_, out, b.binop(Op::shl, b.convert(Op::zext, Type::I32, flag[k]), c.c32(31 - k)));
  return out;
}

// The flags the block has not set: the state's lazy form, evaluated by the pure helper once.
void load_state_flags(Ctx& c) {
  Slot op = c.b.get(Type::I32, kOffCcOp);
  Slot a = c.b.get(Type::I64, kOffCcA), bb = c.b.get(Type::I64, kOffCcB);
  c.flags = Flags{Flags::Raw, c.b.callp(Type::I32, H_nzcv, op, a, bb)};
}

uint32_t cc_op_of(const Flags& f, bool is64) {
  switch (f.kind) {
    case Flags::Add: return is64 ? kCcAdd64 : kCcAdd32;
    case Flags::Sub: return is64 ? kCcSub64 : kCcSub32;
    case Flags::Logic: return is64 ? kCcLogic64 : kCcLogic32;
    default: return kCcRaw;
  }
}

}  // namespace

void Ctx::set_flags(Flags f) {
  flags = f;
  const bool is64 = b.type_of(f.kind == Flags::Raw ? f.a : f.r) == Type::I64;
  b.put(kOffCcOp, c32(cc_op_of(f, is64)));
  if (f.kind == Flags::Logic) {
    b.put(kOffCcA, to64(*this, f.r));
  } else {
    b.put(kOffCcA, to64(*this, f.a));
    if (f.kind != Flags::Raw) b.put(kOffCcB, to64(*this, f.b));
  }
}

void Ctx::set_flags_conditional(unsigned cc, bool sub, Slot a, Slot bb, unsigned nzcv4) {
  Slot holds = cond(cc);
  const bool is64 = b.type_of(a) == Type::I64;
  Flags f{sub ? Flags::Sub : Flags::Add, a, bb, b.binop(sub ? Op::sub : Op::add, a, bb)};
  f.guard = holds;
  f.guard_raw = (nzcv4 & 15) << 28;
  flags = f;
  b.put(kOffCcOp, b.select(holds, c32(cc_op_of(f, is64)), c32(kCcRaw)));
  b.put(kOffCcA, b.select(holds, to64(*this, a), c64(f.guard_raw)));
  b.put(kOffCcB, b.select(holds, to64(*this, bb), c64(0)));
}

Slot Ctx::cond(unsigned cc) {
  if (cc >= AL) return b.konst(Type::I1, 1);
  if (flags.kind == Flags::Unknown) load_state_flags(*this);
  if (flags.guard == ir::kNoSlot) return cond_of(*this, flags, cc);
  Flags primary = flags;
  primary.guard = ir::kNoSlot;
  Flags otherwise{Flags::Raw, c32(flags.guard_raw)};
  return b.select(flags.guard, cond_of(*this, primary, cc), cond_of(*this, otherwise, cc));
}

Slot Ctx::carry() { return cond(CS); }

Slot Ctx::nzcv() {
  if (flags.kind == Flags::Unknown) load_state_flags(*this);
  if (flags.guard == ir::kNoSlot) return raw_of(*this, flags);
  Flags primary = flags;
  primary.guard = ir::kNoSlot;
  return b.select(flags.guard, raw_of(*this, primary), c32(flags.guard_raw));
}

}  // namespace vmkit::a64
