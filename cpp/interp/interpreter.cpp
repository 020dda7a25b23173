#include "interp/interpreter.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/guest_common.h"
#include "ir/semantics.h"
#include "mmu/softmmu.h"

namespace vmkit {

using ir::Inst;
using ir::Op;
using ir::Type;
using ir::Slot;
using namespace ir::semantics;

namespace {

inline uint64_t load_bytes(const uint8_t* p, unsigned bits) {
  switch (bits) {
    case 8: return *p;
    case 16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case 32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    default: { uint64_t v; std::memcpy(&v, p, 8); return v; }
  }
}

inline void store_bytes(uint8_t* p, uint64_t v, unsigned bits) {
  switch (bits) {
    case 8: *p = uint8_t(v); break;
    case 16: { uint16_t x = uint16_t(v); std::memcpy(p, &x, 2); break; }
    case 32: { uint32_t x = uint32_t(v); std::memcpy(p, &x, 4); break; }
    default: std::memcpy(p, &v, 8); break;
  }
}


// True if `user` reads its operand number `pos` only in the low 32 bits, so that operand may
// hold a wider value than its IR type says (the width-specialised i32 handlers truncate inputs).
bool reads_low32_only(const Inst& u, int pos) {
  switch (u.op) {
    case Op::add: case Op::sub: case Op::mul: case Op::and_: case Op::or_: case Op::xor_:
    case Op::shl: case Op::lshr: case Op::ashr: case Op::rotl: case Op::rotr:
      // i32 handlers truncate both operands; every shift amount is taken modulo the width
      return u.type == Type::I32 || (pos == 1 && (u.op == Op::shl || u.op == Op::lshr || u.op == Op::ashr ||
                                                  u.op == Op::rotl || u.op == Op::rotr));
    case Op::sext: return Type(u.sub) == Type::I32 && u.type == Type::I64;
    case Op::trunc: return u.type == Type::I32 || u.type == Type::I16 || u.type == Type::I8;
    case Op::store: return pos == 1 && u.sub <= 32;
    case Op::put: return u.type == Type::I32;
    default: return false;
  }
}

// The handler addresses lower() chooses from (labels inside interpret()).
struct Handlers {
  void* generic[8 << 6];           // by (type << 6 | op)
  void* fused_sext[1 << 6];        // i32 op + sext to i64, by op
  void* mem[3][4];                 // load / loads(i64) / store, by log2 of the width in bytes
  void* mem_hooked[3][4];          // the same, checking the memory hooks' range
  void* generic_hooked[3];         // load / loads / store of other types, checking that range
  void* mem_mmu[3][4];             // system mode: through the software MMU's fast table
  void* generic_mmu[3];
  void* compare_branch[1 << 6];    // compare + br, by the compare's op
  std::unordered_map<const void*, void*> with_put;  // handler -> same handler + put.i64 of D
};

// Builds b.code, the interpreter's threaded form of b.ir. Each dispatch costs an unpredictable
// indirect jump, so lower() merges insts where it can:
//  - a trunc to i32 whose every user reads only the low 32 bits is dropped (users read the
//    wider source);
//  - an i32 op whose result feeds sext to i64, and is otherwise read only in its low 32 bits,
//    computes the sign-extended value itself and the sext is dropped (RISC-V's W instructions);
//  - loads and stores get the handler for their width (one that checks the memory hooks' range
//    if there are memory hooks);
//  - a compare used only by the block's br is evaluated by the branch;
//  - a put.i64 right after the inst that computes its value is done by that inst's handler.
// Merged insts keep the IR's order of effects, so guest state at a fault is exactly as in the IR.
void lower(CachedBlock& b, const Handlers& h, bool mem_hooks, bool mmu) {
  const std::vector<Inst>& insts = b.ir.insts;
  const size_t n = insts.size(), ns = b.ir.num_slots();
  std::vector<uint8_t> low32_users_only(ns, 1);
  std::vector<uint32_t> def(ns, UINT32_MAX), uses(ns, 0);
  for (size_t i = 0; i < n; ++i) {
    const Inst& in = insts[i];
    const Slot ops[3] = {in.a, in.b, in.c};
    for (int pos = 0; pos < 3; ++pos) {
      if (ops[pos] == ir::kNoSlot) continue;
      ++uses[ops[pos]];
      if (!reads_low32_only(in, pos)) low32_users_only[ops[pos]] = 0;
    }
    if (in.dst != ir::kNoSlot) def[in.dst] = uint32_t(i);
  }
  std::vector<Slot> alias(ns);
  for (size_t s = 0; s < ns; ++s) alias[s] = Slot(s);
  std::vector<uint8_t> drop(n), fused(n);
  for (size_t i = 0; i < n; ++i) {
    const Inst& in = insts[i];
    if (in.op == Op::trunc && in.type == Type::I32 && b.ir.slot_types[in.a] == Type::I64 && low32_users_only[in.dst]) {
      alias[in.dst] = alias[in.a];
      drop[i] = 1;
    } else if (in.op == Op::sext && in.type == Type::I64 && Type(in.sub) == Type::I32 && def[in.a] != UINT32_MAX) {
      uint32_t j = def[in.a];
      const Inst& x = insts[j];
      if (x.type == Type::I32 && h.fused_sext[unsigned(x.op)] && !drop[j] && low32_users_only[x.dst]) {
        fused[j] = 1;
        alias[in.dst] = x.dst;
        drop[i] = 1;
      }
    }
  }
  auto A = [&](Slot s) { return s == ir::kNoSlot ? s : alias[s]; };
  std::vector<ThreadedInst> code;
  std::vector<uint32_t> index;
  code.reserve(n);
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (drop[i]) continue;
    const Inst& in = insts[i];
    ThreadedInst t{fused[i] ? h.fused_sext[unsigned(in.op)] : h.generic[unsigned(in.type) << 6 | unsigned(in.op)],
                   in.dst, A(in.a), A(in.b), A(in.c), in.aux, in.op, in.type, in.sub, 0};
    if (in.op == Op::load || in.op == Op::loads || in.op == Op::store) {
      unsigned kind = in.op == Op::load ? 0 : in.op == Op::loads ? 1 : 2;
      unsigned lg = in.sub == 8 ? 0 : in.sub == 16 ? 1 : in.sub == 32 ? 2 : 3;
      if (mmu) {
        if (in.sub > 64) throw std::logic_error("system mode: a " + std::to_string(in.sub) + "-bit memory access has no software-MMU path");
        t.handler = h.mem_mmu[kind][lg] && !(kind == 1 && in.type != Type::I64) ? h.mem_mmu[kind][lg] : h.generic_mmu[kind];
      } else {
        auto& table = mem_hooks ? h.mem_hooked : h.mem;
        if (table[kind][lg] && !(kind == 1 && in.type != Type::I64)) t.handler = table[kind][lg];
        else if (mem_hooks) t.handler = h.generic_hooked[kind];
      }
    } else if (in.op == Op::br && !b.ir.slot_is_const[in.a] && def[in.a] != UINT32_MAX && uses[in.a] == 1) {
      // br on a compare used nowhere else: the branch evaluates it (taken target moves to dst).
      const Inst& cmp = insts[def[in.a]];
      if (void* fused_br = h.compare_branch[unsigned(cmp.op)]) {
        size_t k = def[in.a];
        for (size_t c = code.size(); c-- > 0;) {
          if (index[c] != k) continue;
          code.erase(code.begin() + long(c));
          index.erase(index.begin() + long(c));
          t = ThreadedInst{fused_br, A(in.b), A(cmp.a), A(cmp.b), A(in.c), 0, in.op, in.type, cmp.sub, 0};
          break;
        }
      }
    } else if (in.op == Op::put && in.type == Type::I64 && !code.empty() && code.back().dst == t.a) {
      // put of the value the previous kept inst just computed (only pure insts were dropped in
      // between): that inst's handler stores it too.
      auto it = h.with_put.find(code.back().handler);
      if (it != h.with_put.end()) {
        code.back().handler = it->second;
        code.back().aux = in.aux;
        continue;
      }
    }
    code.push_back(t);
    index.push_back(uint32_t(i));
  }
  b.code = std::move(code);
  b.code_ir_index = std::move(index);
}

}  // namespace

// Handlers that also have a twin doing `put.i64 state[aux] = D` afterwards (lower() merges a
// put into the inst that computes its value). FUSABLE_HANDLERS lists them once: it defines the
// labels here and registers the pairs at start-up.
#define SX(expr) uint64_t(int64_t(int32_t(uint32_t(expr))))
#define ROT(U, BITS, L, R)                                                  \
  { unsigned sh = unsigned(B & (BITS - 1));                                 \
    D = sh ? U((U(A) L sh) | (U(A) R (BITS - sh))) : U(A); }
#define WIDTH_HANDLERS(H, T, U, S, BITS)                                    \
  H(L_add_##T, D = U(A + B))                                                \
  H(L_sub_##T, D = U(A - B))                                                \
  H(L_mul_##T, D = U(A * B))                                                \
  H(L_and_##T, D = U(A & B))                                                \
  H(L_or_##T, D = U(A | B))                                                 \
  H(L_xor_##T, D = U(A ^ B))                                                \
  H(L_shl_##T, D = U(U(A) << (B & (BITS - 1))))                             \
  H(L_lshr_##T, D = U(A) >> (B & (BITS - 1)))                               \
  H(L_ashr_##T, D = U(S(U(A)) >> (B & (BITS - 1))))                         \
  H(L_rotr_##T, ROT(U, BITS, >>, <<))                                       \
  H(L_rotl_##T, ROT(U, BITS, <<, >>))                                       \
  H(L_sext_##T, D = U(uint64_t(sext(A, ir::type_bits(Type(ip->sub))))))     \
  H(L_select_##T, D = A ? B : C)
// i32 op then sext to i64 (lower() picks these); operands are read in their low 32 bits.
// Loads by width; loads8..32 sign-extend to i64.
#define FUSABLE_HANDLERS(H)                                                 \
  WIDTH_HANDLERS(H, I32, uint32_t, int32_t, 32)                             \
  WIDTH_HANDLERS(H, I64, uint64_t, int64_t, 64)                             \
  H(L_add_sx, D = SX(A + B))                                                \
  H(L_sub_sx, D = SX(A - B))                                                \
  H(L_mul_sx, D = SX(A * B))                                                \
  H(L_shl_sx, D = SX(uint32_t(A) << (B & 31)))                              \
  H(L_lshr_sx, D = SX(uint32_t(A) >> (B & 31)))                             \
  H(L_ashr_sx, D = SX(int32_t(uint32_t(A)) >> (B & 31)))                    \
  H(L_rotr_sx, D = SX(rotate(false, uint32_t(A), B, 32)))                   \
  H(L_rotl_sx, D = SX(rotate(true, uint32_t(A), B, 32)))                    \
  H(L_divs_sx, D = SX(div_s(uint32_t(A), uint32_t(B), 32)))                 \
  H(L_divu_sx, D = SX(uint32_t(B) == 0 ? ~0u : uint32_t(A) / uint32_t(B)))  \
  H(L_rems_sx, D = SX(rem_s(uint32_t(A), uint32_t(B), 32)))                 \
  H(L_remu_sx, D = SX(uint32_t(B) == 0 ? uint32_t(A) : uint32_t(A) % uint32_t(B))) \
  H(L_load8, LOAD(uint8_t, x))                                              \
  H(L_load16, LOAD(uint16_t, x))                                            \
  H(L_load32, LOAD(uint32_t, x))                                            \
  H(L_load64, LOAD(uint64_t, x))                                            \
  H(L_loads8_i64, LOAD(int8_t, uint64_t(int64_t(x))))                       \
  H(L_loads16_i64, LOAD(int16_t, uint64_t(int64_t(x))))                     \
  H(L_loads32_i64, LOAD(int32_t, uint64_t(int64_t(x))))                    \
  H(L_load8_h, LOAD(uint8_t, x); READ_HOOK(addr, 1, D))                     \
  H(L_load16_h, LOAD(uint16_t, x); READ_HOOK(addr, 2, D))                   \
  H(L_load32_h, LOAD(uint32_t, x); READ_HOOK(addr, 4, D))                   \
  H(L_load64_h, LOAD(uint64_t, x); READ_HOOK(addr, 8, D))                   \
  H(L_loads8_i64_h, LOAD(int8_t, uint64_t(int64_t(x))); READ_HOOK(addr, 1, uint8_t(D)))    \
  H(L_loads16_i64_h, LOAD(int16_t, uint64_t(int64_t(x))); READ_HOOK(addr, 2, uint16_t(D))) \
  H(L_loads32_i64_h, LOAD(int32_t, uint64_t(int64_t(x))); READ_HOOK(addr, 4, uint32_t(D)))
// (LOAD leaves `addr` in scope for the READ_HOOK after it.)
#define LOAD(T, RESULT)                       \
  uint64_t addr = A;                          \
  CHECK_ADDR(addr, sizeof(T), false);         \
  {                                           \
    T x;                                      \
    std::memcpy(&x, mem + addr, sizeof(T));   \
    D = RESULT;                               \
  }

// prepare_only: lower the block (see prepare_block) without running it.
static BlockOutcome run_block(CachedBlock& entry, const InterpEnv& env, bool prepare_only) {
  // Labels indexed by (type << 6 | op): every op has a generic label; the hottest op/type pairs
  // have specialised ones. The generic table comes from ops.def, so a new op that lacks an
  // implementation here fails to compile.
  constexpr unsigned kOpBits = 6;
  static_assert(static_cast<unsigned>(Op::Count) <= (1u << kOpBits));
  static Handlers h;
  static bool ready = false;
  if (__builtin_expect(!ready, 0)) {
    void* generic[] = {
#define OP(name, nsrc, dst, shape, flags) &&L_##name,
#include "ir/ops.def"
#undef OP
    };
    for (unsigned t = 0; t < 8; ++t)
      for (unsigned o = 0; o < static_cast<unsigned>(Op::Count); ++o) h.generic[t << kOpBits | o] = generic[o];
    auto at = [](Type t, Op o) -> void*& { return h.generic[unsigned(t) << kOpBits | unsigned(o)]; };
    at(Type::I64, Op::get) = &&L_get_i64;
    at(Type::I64, Op::put) = &&L_put_i64;
    // Integer ops at 32 and 64 bits (what RISC-V code is made of) get labels with the width
    // known at compile time: no mask or modulo computed at run time.
#define REGISTER_WIDTH_OPS(T)                                                         \
    at(Type::T, Op::add) = &&L_add_##T;   at(Type::T, Op::sub) = &&L_sub_##T;       \
    at(Type::T, Op::and_) = &&L_and_##T;  at(Type::T, Op::or_) = &&L_or_##T;        \
    at(Type::T, Op::xor_) = &&L_xor_##T;  at(Type::T, Op::shl) = &&L_shl_##T;       \
    at(Type::T, Op::lshr) = &&L_lshr_##T; at(Type::T, Op::ashr) = &&L_ashr_##T;     \
    at(Type::T, Op::rotr) = &&L_rotr_##T; at(Type::T, Op::rotl) = &&L_rotl_##T;     \
    at(Type::T, Op::mul) = &&L_mul_##T;   at(Type::T, Op::sext) = &&L_sext_##T;     \
    at(Type::T, Op::select) = &&L_select_##T;
    REGISTER_WIDTH_OPS(I32)
    REGISTER_WIDTH_OPS(I64)
#undef REGISTER_WIDTH_OPS
    auto fuse = [](Op o) -> void*& { return h.fused_sext[unsigned(o)]; };
    fuse(Op::add) = &&L_add_sx;   fuse(Op::sub) = &&L_sub_sx;   fuse(Op::mul) = &&L_mul_sx;
    fuse(Op::shl) = &&L_shl_sx;   fuse(Op::lshr) = &&L_lshr_sx; fuse(Op::ashr) = &&L_ashr_sx;
    fuse(Op::rotr) = &&L_rotr_sx; fuse(Op::rotl) = &&L_rotl_sx;
    fuse(Op::divs) = &&L_divs_sx; fuse(Op::divu) = &&L_divu_sx;
    fuse(Op::rems) = &&L_rems_sx; fuse(Op::remu) = &&L_remu_sx;
    void* mem[3][4] = {{&&L_load8, &&L_load16, &&L_load32, &&L_load64},
                       {&&L_loads8_i64, &&L_loads16_i64, &&L_loads32_i64, nullptr},
                       {&&L_store8, &&L_store16, &&L_store32, &&L_store64}};
    std::memcpy(h.mem, mem, sizeof mem);
    void* mem_hooked[3][4] = {{&&L_load8_h, &&L_load16_h, &&L_load32_h, &&L_load64_h},
                              {&&L_loads8_i64_h, &&L_loads16_i64_h, &&L_loads32_i64_h, nullptr},
                              {&&L_store8_h, &&L_store16_h, &&L_store32_h, &&L_store64_h}};
    std::memcpy(h.mem_hooked, mem_hooked, sizeof mem_hooked);
    h.generic_hooked[0] = &&L_load_h;
    h.generic_hooked[1] = &&L_loads_h;
    h.generic_hooked[2] = &&L_store_h;
    void* mem_mmu[3][4] = {{&&L_load8_mmu, &&L_load16_mmu, &&L_load32_mmu, &&L_load64_mmu},
                           {&&L_loads8_i64_mmu, &&L_loads16_i64_mmu, &&L_loads32_i64_mmu, nullptr},
                           {&&L_store8_mmu, &&L_store16_mmu, &&L_store32_mmu, &&L_store64_mmu}};
    std::memcpy(h.mem_mmu, mem_mmu, sizeof mem_mmu);
    h.generic_mmu[0] = &&L_load_mmu;
    h.generic_mmu[1] = &&L_loads_mmu;
    h.generic_mmu[2] = &&L_store_mmu;
    auto branch = [](Op o) -> void*& { return h.compare_branch[unsigned(o)]; };
    branch(Op::eq) = &&L_br_eq;   branch(Op::ne) = &&L_br_ne;   branch(Op::lts) = &&L_br_lts;
    branch(Op::ltu) = &&L_br_ltu; branch(Op::ges) = &&L_br_ges; branch(Op::geu) = &&L_br_geu;
#define REGISTER_PUT_TWIN(label, ...) h.with_put[&&label] = &&label##_put;
    FUSABLE_HANDLERS(REGISTER_PUT_TWIN)
#undef REGISTER_PUT_TWIN
    ready = true;
  }
  auto prepare = [&env](CachedBlock& b) {
    if (__builtin_expect(b.code_ir_index.empty(), 0))
      lower(b, h, env.hooks && env.hooks->has_mem_hooks(), env.mmu != nullptr);
  };

  CachedBlock* cb = &entry;
  prepare(*cb);
  if (prepare_only) return BlockOutcome{};
  uint64_t* v = cb->frame.data();
  const ThreadedInst* first = cb->code.data();
  const ThreadedInst* ip = first;
  uint8_t* const st = env.state;
  uint8_t* const mem = env.mem_base;
  const uint64_t mem_size = env.mem_size;
  SoftMmu* const mmu = env.mmu;
  BlockOutcome out{};
  CachedBlock* next;

// Every early return reports where it happened (the block it was chained into) and how much ran.
#define FINISH(o) ((o).block = cb, (o))
#define DISPATCH() goto* ip->handler
#define NEXT() \
  do {         \
    ++ip;      \
    DISPATCH(); \
  } while (0)
#define A v[ip->a]
#define B v[ip->b]
#define C v[ip->c]
#define D v[ip->dst]
#define W ir::type_bits(ip->type)
#define M ir::type_mask(ip->type)
// The address check covers the guest range; holes inside it are PROT_NONE host pages, whose
// faults the execution loop's SIGSEGV handler turns into guest faults at *env.running.
#define CHECK_ADDR(addr, bytes, is_write)                          \
  do {                                                             \
    *env.running = ip;                                             \
    if (__builtin_expect((addr) > mem_size - (bytes), 0)) {        \
      out.kind = BlockOutcome::MemFault;                           \
      out.write = is_write;                                        \
      out.addr = addr;                                             \
      out.inst = uint32_t(ip - first);                             \
      return FINISH(out);                                          \
    }                                                              \
  } while (0)
// Memory hooks (handlers chosen by lower() when there are any): an access that overlaps the
// hooked range calls the owner, reads after the load with the value read, writes before the store
// with the value to be written. Leave: the instruction stops before completing (see Hooked).
#define MEM_HOOK(access, addr, bytes, value)                                                     \
  do {                                                                                           \
    HookRuntime* rt = env.hooks;                                                                 \
    if (__builtin_expect(rt->mem_hooked((addr), (bytes)), 0)) {                                  \
      uint64_t insn_pc = locate_access(*cb, size_t(ip - first), &rt->access_index);               \
      if (rt->mem(rt, access, insn_pc, addr, bytes, value) != HookAction::Continue) {            \
        out.kind = BlockOutcome::Hooked;                                                         \
        out.inst = uint32_t(ip - first);                                                         \
        return FINISH(out);                                                                      \
      }                                                                                          \
    }                                                                                            \
  } while (0)
#define READ_HOOK(addr, bytes, value) MEM_HOOK(MemAccess::Read, addr, bytes, value)
#define NO_HOOK(addr, bytes, value) ((void)0)
#define WRITE_HOOK(addr, bytes, value) MEM_HOOK(MemAccess::Write, addr, bytes, value)

  DISPATCH();

L_get_i64:
  std::memcpy(&D, st + ip->aux, 8);
  NEXT();
L_get: {
  D = load_bytes(st + ip->aux, W < 8 ? 8 : W);
  NEXT();
}
L_put_i64:
  std::memcpy(st + ip->aux, &A, 8);
  NEXT();
L_put:
  store_bytes(st + ip->aux, A, W < 8 ? 8 : W);
  NEXT();
// Width-specialised integer ops (see REGISTER_WIDTH_OPS); uint32_t/uint64_t arithmetic keeps
// results zero-extended in their 64-bit slot, as the IR requires.
#define DEFINE_HANDLER(label, ...)  \
  label : { __VA_ARGS__; }          \
  NEXT();                           \
  label##_put : { __VA_ARGS__; }    \
  std::memcpy(st + ip->aux, &D, 8); \
  NEXT();
  FUSABLE_HANDLERS(DEFINE_HANDLER)
#undef DEFINE_HANDLER
L_add: D = (A + B) & M; NEXT();
L_sub: D = (A - B) & M; NEXT();
L_mul: D = (A * B) & M; NEXT();
L_mulhs:
L_mulhu:
L_mulhsu: D = mul_high(ip->op, A, B, W) & M; NEXT();
L_divs: D = div_s(A, B, W) & M; NEXT();
L_divu: D = B == 0 ? M : A / B; NEXT();
L_rems: D = rem_s(A, B, W) & M; NEXT();
L_remu: D = B == 0 ? A : A % B; NEXT();
L_and_: D = A & B; NEXT();
L_or_: D = A | B; NEXT();
L_xor_: D = A ^ B; NEXT();
L_andn: D = A & ~B & M; NEXT();
L_orn: D = (A | ~B) & M; NEXT();
L_xnor: D = ~(A ^ B) & M; NEXT();
L_shl: D = (A << (B & (W - 1))) & M; NEXT();
L_lshr: D = A >> (B & (W - 1)); NEXT();
L_ashr: D = uint64_t(sext(A, W) >> (B & (W - 1))) & M; NEXT();
L_rotl: D = rotate(true, A, B, W) & M; NEXT();
L_rotr: D = rotate(false, A, B, W) & M; NEXT();
L_mins: D = sext(A, W) < sext(B, W) ? A : B; NEXT();
L_minu: D = A < B ? A : B; NEXT();
L_maxs: D = sext(A, W) > sext(B, W) ? A : B; NEXT();
L_maxu: D = A > B ? A : B; NEXT();
L_neg: D = (0 - A) & M; NEXT();
L_not_: D = ~A & M; NEXT();
L_clz: D = A == 0 ? W : unsigned(std::countl_zero(A)) - (64 - W); NEXT();
L_ctz: D = A == 0 ? W : unsigned(std::countr_zero(A)); NEXT();
L_popcnt: D = unsigned(std::popcount(A)); NEXT();
L_bswap: D = byte_swap(A, W); NEXT();
L_orcb: D = or_combine_bytes(A, W); NEXT();
L_bitrev: D = bit_reverse(A, W); NEXT();
L_eq: D = A == B; NEXT();
L_ne: D = A != B; NEXT();
L_lts: { unsigned w = ir::type_bits(Type(ip->sub)); D = sext(A, w) < sext(B, w); NEXT(); }
L_ltu: D = A < B; NEXT();
L_ges: { unsigned w = ir::type_bits(Type(ip->sub)); D = sext(A, w) >= sext(B, w); NEXT(); }
L_geu: D = A >= B; NEXT();
L_select: D = A ? B : C; NEXT();
L_zext: D = A; NEXT();
L_sext: D = uint64_t(sext(A, ir::type_bits(Type(ip->sub)))) & M; NEXT();
L_trunc: D = A & M; NEXT();
// Stores by width; the _h twins (memory hooks present) call the write hooks before storing.
#define STORE_HANDLER(label, T, HOOK)         \
  label: {                                    \
    uint64_t addr = A;                        \
    CHECK_ADDR(addr, sizeof(T), true);        \
    T x = T(B);                               \
    HOOK(addr, sizeof(T), x);                 \
    std::memcpy(mem + addr, &x, sizeof(T));   \
    NEXT();                                   \
  }
  STORE_HANDLER(L_store8, uint8_t, NO_HOOK)
  STORE_HANDLER(L_store16, uint16_t, NO_HOOK)
  STORE_HANDLER(L_store32, uint32_t, NO_HOOK)
  STORE_HANDLER(L_store64, uint64_t, NO_HOOK)
  STORE_HANDLER(L_store8_h, uint8_t, WRITE_HOOK)
  STORE_HANDLER(L_store16_h, uint16_t, WRITE_HOOK)
  STORE_HANDLER(L_store32_h, uint32_t, WRITE_HOOK)
  STORE_HANDLER(L_store64_h, uint64_t, WRITE_HOOK)
#undef STORE_HANDLER
// Loads and stores of any width (the _h twins call the memory hooks, reads with the raw bits).
#define GENERIC_MEMORY_HANDLERS(SUFFIX, READ, WRITE)                       \
  L_load##SUFFIX : {                                                       \
    uint64_t addr = A;                                                     \
    unsigned bytes = ip->sub / 8u;                                         \
    CHECK_ADDR(addr, bytes, false);                                        \
    D = load_bytes(mem + addr, ip->sub);                                   \
    READ(addr, bytes, D);                                                  \
    NEXT();                                                                \
  }                                                                        \
  L_loads##SUFFIX : {                                                      \
    uint64_t addr = A;                                                     \
    unsigned bytes = ip->sub / 8u;                                         \
    CHECK_ADDR(addr, bytes, false);                                        \
    uint64_t raw = load_bytes(mem + addr, ip->sub);                        \
    D = uint64_t(sext(raw, ip->sub)) & M;                                  \
    READ(addr, bytes, raw);                                                \
    NEXT();                                                                \
  }                                                                        \
  L_store##SUFFIX : {                                                      \
    uint64_t addr = A;                                                     \
    unsigned bytes = ip->sub / 8u;                                         \
    CHECK_ADDR(addr, bytes, true);                                         \
    WRITE(addr, bytes, B & (ip->sub >= 64 ? ~0ull : (1ull << ip->sub) - 1)); \
    store_bytes(mem + addr, B, ip->sub);                                   \
    NEXT();                                                                \
  }
  GENERIC_MEMORY_HANDLERS(, NO_HOOK, NO_HOOK)
  GENERIC_MEMORY_HANDLERS(_h, READ_HOOK, WRITE_HOOK)
#undef GENERIC_MEMORY_HANDLERS
// System mode: the software MMU's fast path inline (one compare against the entry's tag, see
// softmmu.h), its slow path on a miss; a fault leaves the block with the trap the MMU raised.
#define MMU_TRAP()                      \
  do {                                  \
    out.kind = BlockOutcome::Trap;      \
    out.inst = uint32_t(ip - first);    \
    return FINISH(out);                 \
  } while (0)
#define MMU_LOAD_HANDLER(label, T, RESULT)                                               \
  label: {                                                                               \
    uint64_t addr = A;                                                                   \
    const SoftMmu::Entry& e = mmu->data_table()[SoftMmu::index(addr)];                   \
    T x;                                                                                 \
    if (__builtin_expect(SoftMmu::tag_of(addr, sizeof(T)) == e.tag_read, 1)) {           \
      ++mmu->stats.hits;                                                                 \
      std::memcpy(&x, reinterpret_cast<const void*>(addr + e.addend), sizeof(T));        \
    } else {                                                                             \
      uint64_t raw;                                                                      \
      *env.running = ip;                                                                 \
      if (!mmu->load_slow(addr, sizeof(T), raw)) MMU_TRAP();                             \
      x = T(raw);                                                                        \
    }                                                                                    \
    D = RESULT;                                                                          \
    NEXT();                                                                              \
  }
  MMU_LOAD_HANDLER(L_load8_mmu, uint8_t, x)
  MMU_LOAD_HANDLER(L_load16_mmu, uint16_t, x)
  MMU_LOAD_HANDLER(L_load32_mmu, uint32_t, x)
  MMU_LOAD_HANDLER(L_load64_mmu, uint64_t, x)
  MMU_LOAD_HANDLER(L_loads8_i64_mmu, int8_t, uint64_t(int64_t(x)))
  MMU_LOAD_HANDLER(L_loads16_i64_mmu, int16_t, uint64_t(int64_t(x)))
  MMU_LOAD_HANDLER(L_loads32_i64_mmu, int32_t, uint64_t(int64_t(x)))
#define MMU_STORE_HANDLER(label, T)                                                      \
  label: {                                                                               \
    uint64_t addr = A;                                                                   \
    const SoftMmu::Entry& e = mmu->data_table()[SoftMmu::index(addr)];                   \
    T x = T(B);                                                                          \
    if (__builtin_expect(SoftMmu::tag_of(addr, sizeof(T)) == e.tag_write, 1)) {          \
      ++mmu->stats.hits;                                                                 \
      std::memcpy(reinterpret_cast<void*>(addr + e.addend), &x, sizeof(T));              \
    } else {                                                                             \
      *env.running = ip;                                                                 \
      if (!mmu->store_slow(addr, sizeof(T), x)) MMU_TRAP();                              \
    }                                                                                    \
    NEXT();                                                                              \
  }
  MMU_STORE_HANDLER(L_store8_mmu, uint8_t)
  MMU_STORE_HANDLER(L_store16_mmu, uint16_t)
  MMU_STORE_HANDLER(L_store32_mmu, uint32_t)
  MMU_STORE_HANDLER(L_store64_mmu, uint64_t)
L_load_mmu: {
  uint64_t raw;
  *env.running = ip;
  if (!mmu->load(A, ip->sub / 8u, raw)) MMU_TRAP();
  D = raw;
  NEXT();
}
L_loads_mmu: {
  uint64_t raw;
  *env.running = ip;
  if (!mmu->load(A, ip->sub / 8u, raw)) MMU_TRAP();
  D = uint64_t(sext(raw, ip->sub)) & M;
  NEXT();
}
L_store_mmu: {
  *env.running = ip;
  if (!mmu->store(A, ip->sub / 8u, B & (ip->sub >= 64 ? ~0ull : (1ull << ip->sub) - 1))) MMU_TRAP();
  NEXT();
}
#undef MMU_LOAD_HANDLER
#undef MMU_STORE_HANDLER
#undef MMU_TRAP
L_fence:
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  NEXT();
L_call: {
  *env.running = ip;
  auto* common = reinterpret_cast<GuestCommon*>(st);
  const ir::HelperInfo& h = cb->ir.arch->helpers[ip->aux];
  uint64_t r = h.fn(st, ip->a == ir::kNoSlot ? 0 : A, ip->b == ir::kNoSlot ? 0 : B,
                    ip->c == ir::kNoSlot ? 0 : C, ip->sub);
  if (__builtin_expect(common->trap.pending, 0)) {
    out.kind = BlockOutcome::Trap;
    out.inst = uint32_t(ip - first);
    return FINISH(out);
  }
  D = r & M;
  NEXT();
}
L_callp: {
  const ir::HelperInfo& h = cb->ir.arch->helpers[ip->aux];
  D = h.fn(st, ip->a == ir::kNoSlot ? 0 : A, ip->b == ir::kNoSlot ? 0 : B, ip->c == ir::kNoSlot ? 0 : C, ip->sub) & M;
  NEXT();
}
L_hook: {
  *env.running = ip;
  HookRuntime* rt = env.hooks;
  uint32_t size = ip->aux ? ip->aux : uint32_t(cb->ir.end_pc - cb->ir.pc);
  if (rt && rt->code(rt, ir::HookKind(ip->sub), A, size) != HookAction::Continue) {
    out.kind = BlockOutcome::Hooked;
    out.inst = uint32_t(ip - first);
    return FINISH(out);
  }
  NEXT();
}
L_jmp:
  out.succ = 0;
  out.pc = A;
  if (env.cache && cb->link_epoch == env.cache->epoch() && (next = cb->link[0])) goto L_chain;
  goto L_next;
L_br:
  if (A) {
    out.succ = 0;
    out.pc = B;
  } else {
    out.succ = 1;
    out.pc = C;
  }
  if (env.cache && cb->link_epoch == env.cache->epoch() && (next = cb->link[out.succ])) goto L_chain;
  goto L_next;
// br on a compare, fused by lower(): a, b = the compare's operands (their type in sub),
// dst = taken target, c = fallthrough target.
#define COMPARE_BRANCH(label, cond)                                                        \
  label : {                                                                                \
    [[maybe_unused]] unsigned w = ir::type_bits(Type(ip->sub));                            \
    if (cond) {                                                                            \
      out.succ = 0;                                                                        \
      out.pc = D;                                                                          \
    } else {                                                                               \
      out.succ = 1;                                                                        \
      out.pc = C;                                                                          \
    }                                                                                      \
    if (env.cache && cb->link_epoch == env.cache->epoch() && (next = cb->link[out.succ]))  \
      goto L_chain;                                                                        \
    goto L_next;                                                                           \
  }
  COMPARE_BRANCH(L_br_eq, A == B)
  COMPARE_BRANCH(L_br_ne, A != B)
  COMPARE_BRANCH(L_br_lts, sext(A, w) < sext(B, w))
  COMPARE_BRANCH(L_br_ltu, A < B)
  COMPARE_BRANCH(L_br_ges, sext(A, w) >= sext(B, w))
  COMPARE_BRANCH(L_br_geu, A >= B)
#undef COMPARE_BRANCH
L_jmpi:
  out.succ = -1;
  out.pc = A;
  if (env.cache && !mmu && (next = env.cache->find(out.pc))) goto L_chain;
  goto L_next;
L_chain:
  // Go on into `next` without returning to the execution loop, if it fits in the budget.
  if (env.progress->insns + cb->guest_insns + next->guest_insns <= env.budget && !next->jit &&
      (next->executions < env.jit_threshold || next->jit_failed)) {
    env.progress->insns += cb->guest_insns;
    ++cb->executions;
    cb = next;
    *env.running_block = cb;
    prepare(*cb);
    v = cb->frame.data();
    first = cb->code.data();
    ip = first;
    DISPATCH();
  }
L_next:
  out.kind = BlockOutcome::Next;
  out.block = cb;
  return FINISH(out);
L_exit:
  out.kind = BlockOutcome::Exit;
  out.exit_kind = ip->sub;
  out.pc = A;
  out.detail = ip->aux;
  out.inst = uint32_t(ip - first);
  return FINISH(out);
#undef DISPATCH
#undef NEXT
#undef A
#undef B
#undef C
#undef D
#undef W
#undef M
#undef CHECK_ADDR
#undef MEM_HOOK
#undef READ_HOOK
#undef WRITE_HOOK
#undef NO_HOOK
#undef FINISH
#undef FUSABLE_HANDLERS
#undef WIDTH_HANDLERS
#undef LOAD
#undef SX
#undef ROT
}

// The guest instruction containing code[code_index] (a memory access), and which of that
// instruction's memory accesses it is (for memory hooks; a slow path).
uint64_t locate_access(const CachedBlock& b, size_t code_index, uint32_t* access_index) {
  uint32_t ir_i = b.ir_index(code_index);
  const ir::InsnMark* mark = nullptr;
  for (const auto& m : b.ir.marks) {
    if (m.first_inst > ir_i) break;
    mark = &m;
  }
  uint32_t n = 0;
  for (uint32_t i = mark ? mark->first_inst : 0; i < ir_i; ++i) {
    Op op = b.ir.insts[i].op;
    n += op == Op::load || op == Op::loads || op == Op::store;
  }
  *access_index = n;
  return mark ? mark->pc : b.ir.pc;
}

BlockOutcome interpret(CachedBlock& b, const InterpEnv& env) { return run_block(b, env, false); }

void prepare_block(CachedBlock& b, const InterpEnv& env) { run_block(b, env, true); }

uint32_t code_index_of(const CachedBlock& b, uint32_t ir_index) {
  auto it = std::lower_bound(b.code_ir_index.begin(), b.code_ir_index.end(), ir_index);
  return uint32_t(it - b.code_ir_index.begin());
}

}  // namespace vmkit
