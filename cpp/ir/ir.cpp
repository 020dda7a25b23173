#include "ir/ir.h"

#include <cinttypes>
#include <cstdio>
#include <stdexcept>

namespace vmkit::ir {

namespace {
// "and_" -> "and": the underscore only dodges C++'s alternative tokens.
constexpr const char* printable_name(const char* n) {
  if (n[0] == 'a' && n[1] == 'n' && n[2] == 'd' && n[3] == '_') return "and";
  if (n[0] == 'o' && n[1] == 'r' && n[2] == '_') return "or";
  if (n[0] == 'x' && n[1] == 'o' && n[2] == 'r' && n[3] == '_') return "xor";
  if (n[0] == 'n' && n[1] == 'o' && n[2] == 't' && n[3] == '_') return "not";
  return n;
}
constexpr OpInfo kOps[] = {
#define OP(name, nsrc, dst, shape, flags)                                              \
  {printable_name(#name), nsrc, dst != 0, Shape::shape, static_cast<uint8_t>([] {                     \
     using namespace OpFlag;                                                            \
     return flags;                                                                      \
   }())},
#include "ir/ops.def"
#undef OP
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == static_cast<size_t>(Op::Count));
}  // namespace

const OpInfo& op_info(Op op) { return kOps[static_cast<size_t>(op)]; }

const char* type_name(Type t) {
  switch (t) {
    case Type::None: return "none";
    case Type::I1: return "i1";
    case Type::I8: return "i8";
    case Type::I16: return "i16";
    case Type::I32: return "i32";
    case Type::I64: return "i64";
    case Type::F32: return "f32";
    case Type::F64: return "f64";
  }
  return "?";
}

const char* exit_kind_name(ExitKind k) {
  switch (k) {
    case ExitKind::Syscall: return "syscall";
    case ExitKind::Breakpoint: return "breakpoint";
    case ExitKind::IllegalInsn: return "illegal";
    case ExitKind::FetchFault: return "fetch_fault";
    case ExitKind::FlushICache: return "flush_icache";
    case ExitKind::Trap: return "trap";
    case ExitKind::StopPoint: return "stop_point";
    case ExitKind::Xret: return "xret";
    case ExitKind::Wfi: return "wfi";
    case ExitKind::Resync: return "resync";
  }
  return "?";
}

uint64_t Block::pc_of_inst(size_t i) const {
  uint64_t pc = this->pc;
  for (const auto& m : marks) {
    if (m.first_inst > i) break;
    pc = m.pc;
  }
  return pc;
}

// ---- Builder ---------------------------------------------------------------------------------

Slot Builder::konst(Type t, uint64_t v) {
  v &= type_mask(t);
  for (size_t i = 0; i < b_.slot_types.size(); ++i)
    if (b_.slot_is_const[i] && b_.slot_types[i] == t && b_.slot_init[i] == v) return Slot(i);
  Slot s = temp(t);
  b_.slot_is_const[s] = true;
  b_.slot_init[s] = v;
  return s;
}

Slot Builder::temp(Type t) {
  if (b_.slot_types.size() >= kNoSlot) throw std::length_error("IR block has too many slots");
  b_.slot_types.push_back(t);
  b_.slot_init.push_back(0);
  b_.slot_is_const.push_back(false);
  return Slot(b_.slot_types.size() - 1);
}

void Builder::begin_insn(uint64_t pc, uint8_t length, uint32_t bytes) {
  b_.marks.push_back({static_cast<uint32_t>(b_.insts.size()), pc, length, bytes});
  b_.end_pc = pc + length;
  // length 0: not an instruction (a fetch fault's placeholder), nothing to instrument
  if (instr_ && length) instr_->on_insn(*this, pc, length, b_.marks.size() == 1);
}

const char* hook_kind_name(HookKind k) {
  switch (k) {
    case HookKind::Code: return "code";
    case HookKind::Block: return "block";
  }
  return "?";
}

void Builder::hook(HookKind kind, uint64_t pc, uint32_t length) {
  Slot p = konst(Type::I64, pc);
  Inst& i = emit(Op::hook, Type::None);
  i.a = p;
  i.sub = static_cast<uint8_t>(kind);
  i.aux = length;
}

Inst& Builder::emit(Op op, Type t) {
  Inst i{};
  i.op = op;
  i.type = t;
  b_.insts.push_back(i);
  return b_.insts.back();
}

Slot Builder::get(Type t, uint32_t offset) {
  Slot d = temp(t);
  Inst& i = emit(Op::get, t);
  i.dst = d;
  i.aux = offset;
  return d;
}

void Builder::put(uint32_t offset, Slot v) {
  Inst& i = emit(Op::put, type_of(v));
  i.a = v;
  i.aux = offset;
}

Slot Builder::binop(Op op, Slot a, Slot b) {
  Type t = op_info(op).shape == Shape::Compare ? Type::I1 : type_of(a);
  Slot d = temp(t);
  Inst& i = emit(op, t);
  i.dst = d;
  i.a = a;
  i.b = b;
  if (t == Type::I1) i.sub = static_cast<uint8_t>(type_of(a));  // compares: operand type
  return d;
}

Slot Builder::unop(Op op, Slot a) {
  Slot d = temp(type_of(a));
  Inst& i = emit(op, type_of(a));
  i.dst = d;
  i.a = a;
  return d;
}

Slot Builder::select(Slot cond, Slot a, Slot b) {
  Slot d = temp(type_of(a));
  Inst& i = emit(Op::select, type_of(a));
  i.dst = d;
  i.a = cond;
  i.b = a;
  i.c = b;
  return d;
}

Slot Builder::convert(Op op, Type to, Slot a) {
  Slot d = temp(to);
  Inst& i = emit(op, to);
  i.dst = d;
  i.a = a;
  i.sub = static_cast<uint8_t>(type_of(a));
  return d;
}

Slot Builder::load(Type t, Slot addr, unsigned width_bits) {
  Slot d = temp(t);
  Inst& i = emit(Op::load, t);
  i.dst = d;
  i.a = addr;
  i.sub = static_cast<uint8_t>(width_bits ? width_bits : type_bits(t));
  return d;
}

Slot Builder::loads(Type t, Slot addr, unsigned width_bits) {
  Slot d = temp(t);
  Inst& i = emit(Op::loads, t);
  i.dst = d;
  i.a = addr;
  i.sub = static_cast<uint8_t>(width_bits);
  return d;
}

void Builder::store(Slot addr, Slot value, unsigned width_bits) {
  Inst& i = emit(Op::store, type_of(value));
  i.a = addr;
  i.b = value;
  i.sub = static_cast<uint8_t>(width_bits ? width_bits : type_bits(type_of(value)));
}

void Builder::fence(uint32_t kind) { emit(Op::fence, Type::None).aux = kind; }

Slot Builder::call(Type result, uint32_t helper, Slot a, Slot b, Slot c, unsigned imm) {
  return call_op(Op::call, result, helper, a, b, c, imm);
}

Slot Builder::callp(Type result, uint32_t helper, Slot a, Slot b, Slot c, unsigned imm) {
  return call_op(Op::callp, result, helper, a, b, c, imm);
}

Slot Builder::call_op(Op op, Type result, uint32_t helper, Slot a, Slot b, Slot c, unsigned imm) {
  if (imm > 0xff) throw std::logic_error("helper " + std::to_string(helper) + ": immediate " + std::to_string(imm) + " does not fit its 8 bits");
  Slot d = temp(result);
  Inst& i = emit(op, result);
  i.dst = d;
  i.a = a;
  i.b = b;
  i.c = c;
  i.sub = uint8_t(imm);
  i.aux = helper;
  return d;
}

void Builder::jmp(uint64_t target) {
  Slot t = konst(Type::I64, target);
  emit(Op::jmp, Type::None).a = t;
}

void Builder::br(Slot cond, uint64_t taken, uint64_t fallthrough) {
  Slot t = konst(Type::I64, taken), f = konst(Type::I64, fallthrough);
  Inst& i = emit(Op::br, Type::None);
  i.a = cond;
  i.b = t;
  i.c = f;
}

void Builder::jmpi(Slot target) { emit(Op::jmpi, Type::None).a = target; }

void Builder::exit(ExitKind kind, uint64_t pc, uint32_t detail) {
  Slot p = konst(Type::I64, pc);
  Inst& i = emit(Op::exit, Type::None);
  i.a = p;
  i.sub = static_cast<uint8_t>(kind);
  i.aux = detail;
}

// ---- Verifier --------------------------------------------------------------------------------

std::string verify(const Block& b) {
  char buf[256];
  auto fail = [&](size_t idx, const char* what) {
    std::snprintf(buf, sizeof buf, "inst %zu (%s): %s", idx,
                  idx < b.insts.size() ? op_info(b.insts[idx].op).name : "-", what);
    return std::string(buf);
  };
  if (b.insts.empty()) return "block has no instructions";
  size_t n = b.num_slots();
  if (b.slot_init.size() != n || b.slot_is_const.size() != n) return "slot tables disagree in size";
  std::vector<bool> defined(n);
  for (size_t s = 0; s < n; ++s) defined[s] = b.slot_is_const[s];
  for (size_t idx = 0; idx < b.insts.size(); ++idx) {
    const Inst& in = b.insts[idx];
    if (static_cast<size_t>(in.op) >= static_cast<size_t>(Op::Count)) return fail(idx, "bad opcode");
    const OpInfo& info = op_info(in.op);
    bool last = idx + 1 == b.insts.size();
    if ((info.flags & OpFlag::Term) && !last) return fail(idx, "terminator before the end");
    if (!(info.flags & OpFlag::Term) && last) return fail(idx, "block does not end in a terminator");
    const Slot srcs[3] = {in.a, in.b, in.c};
    for (unsigned k = 0; k < 3; ++k) {
      const bool is_call = info.shape == Shape::Call;
      bool used = k < info.nsrc && !(is_call && srcs[k] == kNoSlot);
      if (!used) {
        if (srcs[k] != kNoSlot && !is_call) return fail(idx, "operand given beyond nsrc");
        continue;
      }
      if (srcs[k] >= n) return fail(idx, "operand out of range");
      if (!defined[srcs[k]]) return fail(idx, "operand used before its definition");
    }
    auto T = [&](Slot s) { return b.slot_types[s]; };
    switch (info.shape) {
      case Shape::StateRead:
      case Shape::StateWrite: {
        Type t = info.shape == Shape::StateRead ? in.type : T(in.a);
        if (info.shape == Shape::StateWrite && t != in.type) return fail(idx, "put type mismatch");
        unsigned bytes = type_bits(t) / 8;
        if (bytes == 0 || in.aux % bytes) return fail(idx, "state access misaligned or untyped");
        if (b.arch && in.aux + bytes > b.arch->state_size) return fail(idx, "state offset out of range");
        break;
      }
      case Shape::Same:
        if (!is_int(in.type)) return fail(idx, "integer op on non-integer type");
        if (T(in.a) != in.type || (info.nsrc > 1 && T(in.b) != in.type))
          return fail(idx, "operand types differ from result type");
        break;
      case Shape::Shift:
        if (!is_int(in.type) || T(in.a) != in.type || !is_int(T(in.b))) return fail(idx, "bad shift types");
        break;
      case Shape::Compare:
        if (in.type != Type::I1 || T(in.a) != T(in.b) || in.sub != uint8_t(T(in.a))) return fail(idx, "bad compare types");
        break;
      case Shape::Select:
        if (T(in.a) != Type::I1 || T(in.b) != in.type || T(in.c) != in.type) return fail(idx, "bad select types");
        break;
      case Shape::Convert: {
        Type from = static_cast<Type>(in.sub);
        if (T(in.a) != from || !is_int(from) || !is_int(in.type)) return fail(idx, "bad conversion types");
        bool widen = type_bits(in.type) > type_bits(from);
        if ((in.op == Op::trunc) == widen || type_bits(in.type) == type_bits(from))
          return fail(idx, "conversion goes the wrong way");
        break;
      }
      case Shape::Load:
        if (T(in.a) != Type::I64) return fail(idx, "address must be i64");
        if (!(in.sub == 8 || in.sub == 16 || in.sub == 32 || in.sub == 64) || in.sub > type_bits(in.type))
          return fail(idx, "bad load width");
        if (!is_int(in.type) || in.type == Type::I1) return fail(idx, "bad load type");
        break;
      case Shape::Store:
        if (T(in.a) != Type::I64) return fail(idx, "address must be i64");
        if (T(in.b) != in.type || !is_int(in.type) || in.type == Type::I1) return fail(idx, "bad store type");
        if (!(in.sub == 8 || in.sub == 16 || in.sub == 32 || in.sub == 64) || in.sub > type_bits(in.type))
          return fail(idx, "bad store width");
        break;
      case Shape::Call:
        if (!b.arch || in.aux >= b.arch->num_helpers) return fail(idx, "unknown helper");
        break;
      case Shape::Hook:
        if (T(in.a) != Type::I64 || !b.slot_is_const[in.a]) return fail(idx, "hook pc must be a constant i64");
        if (in.sub > static_cast<uint8_t>(HookKind::Block)) return fail(idx, "unknown hook kind");
        break;
      case Shape::Jump:
        if (T(in.a) != Type::I64) return fail(idx, "jump target must be i64");
        if (in.op == Op::jmp && !b.slot_is_const[in.a]) return fail(idx, "jmp target must be constant");
        break;
      case Shape::Branch:
        if (T(in.a) != Type::I1 || !b.slot_is_const[in.b] || !b.slot_is_const[in.c])
          return fail(idx, "br needs an i1 condition and constant targets");
        break;
      case Shape::None:
        break;
    }
    if (info.has_dst) {
      if (in.dst >= n) return fail(idx, "destination out of range");
      if (defined[in.dst]) return fail(idx, "slot defined twice");
      if (b.slot_types[in.dst] != in.type) return fail(idx, "destination type differs");
      defined[in.dst] = true;
    } else if (in.dst != kNoSlot) {
      return fail(idx, "op has no destination");
    }
  }
  return "";
}

// ---- Printer ---------------------------------------------------------------------------------

namespace {
std::string slot_text(const Block& b, Slot s) {
  char buf[48];
  if (b.slot_is_const[s]) {
    uint64_t v = b.slot_init[s];
    if (v < 10) std::snprintf(buf, sizeof buf, "%" PRIu64, v);
    else std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  } else {
    std::snprintf(buf, sizeof buf, "t%u", s);
  }
  return buf;
}

std::string state_text(const Block& b, uint32_t off) {
  if (b.arch && b.arch->state_name) return b.arch->state_name(off);
  char buf[32];
  std::snprintf(buf, sizeof buf, "state[%u]", off);
  return buf;
}
}  // namespace

std::string print(const Block& b) {
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "block 0x%" PRIx64 " .. 0x%" PRIx64 " (%zu guest insns, %zu ops)\n",
                b.pc, b.end_pc, b.marks.size(), b.insts.size());
  out += buf;
  size_t mark = 0;
  for (size_t idx = 0; idx < b.insts.size(); ++idx) {
    while (mark < b.marks.size() && b.marks[mark].first_inst == idx) {
      const InsnMark& m = b.marks[mark++];
      std::snprintf(buf, sizeof buf, "  0x%" PRIx64 ":  [%0*x]\n", m.pc, m.length * 2, m.bytes);
      out += buf;
    }
    const Inst& in = b.insts[idx];
    const OpInfo& info = op_info(in.op);
    std::string line = "    ";
    if (info.has_dst) line += "t" + std::to_string(in.dst) + ":" + type_name(in.type) + " = ";
    line += info.name;
    if (!info.has_dst && in.type != Type::None) line += std::string(".") + type_name(in.type);
    std::vector<std::string> args;
    switch (in.op) {
      case Op::get: args.push_back(state_text(b, in.aux)); break;
      case Op::put: args.push_back(state_text(b, in.aux)); break;
      case Op::zext: case Op::sext: case Op::trunc:
        args.push_back(std::string(type_name(static_cast<Type>(in.sub)))); break;
      case Op::load: case Op::loads: case Op::store:
        if (in.sub != type_bits(in.type)) args.push_back("i" + std::to_string(in.sub));
        break;
      case Op::call: case Op::callp:
        args.push_back(b.arch && in.aux < b.arch->num_helpers ? b.arch->helpers[in.aux].name : "helper?");
        break;
      case Op::exit: args.push_back(exit_kind_name(static_cast<ExitKind>(in.sub))); break;
      case Op::fence: args.push_back(std::to_string(in.aux)); break;
      case Op::hook: args.push_back(hook_kind_name(static_cast<HookKind>(in.sub))); break;
      default: break;
    }
    const Slot srcs[3] = {in.a, in.b, in.c};
    for (unsigned k = 0; k < info.nsrc; ++k)
      if (srcs[k] != kNoSlot) args.push_back(slot_text(b, srcs[k]));
    if (info.shape == Shape::Call && in.sub) args.push_back("imm=" + std::to_string(in.sub));
    if (in.op == Op::exit && in.aux) {
      std::snprintf(buf, sizeof buf, "detail=0x%x", in.aux);
      args.push_back(buf);
    }
    if (in.op == Op::hook && in.aux) args.push_back("len=" + std::to_string(in.aux));
    for (size_t k = 0; k < args.size(); ++k) line += (k ? ", " : " ") + args[k];
    out += line + "\n";
  }
  return out;
}

}  // namespace vmkit::ir
