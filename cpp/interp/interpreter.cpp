#include "interp/interpreter.h"

#include <bit>
#include <cstring>

#include "core/guest_common.h"

namespace vmkit {

using ir::Inst;
using ir::Op;
using ir::Type;
using ir::Slot;

namespace {

inline int64_t sext(uint64_t v, unsigned bits) {
  return bits >= 64 ? int64_t(v) : int64_t(v << (64 - bits)) >> (64 - bits);
}

uint64_t div_s(uint64_t a, uint64_t b, unsigned w) {
  int64_t x = sext(a, w), y = sext(b, w);
  int64_t min = w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1));
  if (y == 0) return ~0ull;
  if (x == min && y == -1) return uint64_t(x);
  return uint64_t(x / y);
}

uint64_t rem_s(uint64_t a, uint64_t b, unsigned w) {
  int64_t x = sext(a, w), y = sext(b, w);
  int64_t min = w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1));
  if (y == 0) return uint64_t(x);
  if (x == min && y == -1) return 0;
  return uint64_t(x % y);
}

uint64_t mul_high(Op op, uint64_t a, uint64_t b, unsigned w) {
  __int128 x = op == Op::mulhu ? __int128(a) : __int128(sext(a, w));
  __int128 y = op == Op::mulhs ? __int128(sext(b, w)) : __int128(b);
  if (w < 64) return uint64_t((x * y) >> w);
  if (op == Op::mulhu) return uint64_t((unsigned __int128)a * b >> 64);
  return uint64_t((x * y) >> 64);
}

uint64_t rotate(bool left, uint64_t a, uint64_t sh, unsigned w) {
  sh %= w;
  if (sh == 0) return a;
  if (!left) sh = w - sh;
  return (a << sh) | (a >> (w - sh));
}

uint64_t byte_swap(uint64_t a, unsigned w) { return __builtin_bswap64(a) >> (64 - w); }

uint64_t or_combine_bytes(uint64_t a, unsigned w) {
  uint64_t r = 0;
  for (unsigned i = 0; i < w; i += 8)
    if ((a >> i) & 0xff) r |= 0xffull << i;
  return r;
}

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

// Builds b.code, the interpreter's threaded form of b.ir, with two peepholes that matter for
// RISC-V's W instructions (trunc i64->i32, op.i32, sext i32->i64):
//  - a trunc to i32 whose every user reads only the low 32 bits is dropped (users read the
//    wider source);
//  - an i32 op whose result feeds sext to i64, and is otherwise read only in its low 32 bits,
//    computes the sign-extended value itself and the sext is dropped.
// Memory access handlers by kind (load, loads, store) and log2 of the width in bytes.
struct MemHandlers {
  void* by_width[3][4];
};

void lower(CachedBlock& b, void* const* table, void* const* fused_sext, const MemHandlers& mem) {
  const std::vector<Inst>& insts = b.ir.insts;
  const size_t n = insts.size(), ns = b.ir.num_slots();
  std::vector<uint8_t> low32_users_only(ns, 1);
  std::vector<uint32_t> def(ns, UINT32_MAX);
  for (size_t i = 0; i < n; ++i) {
    const Inst& in = insts[i];
    const Slot ops[3] = {in.a, in.b, in.c};
    for (int pos = 0; pos < 3; ++pos)
      if (ops[pos] != ir::kNoSlot && !reads_low32_only(in, pos)) low32_users_only[ops[pos]] = 0;
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
      if (x.type == Type::I32 && fused_sext[unsigned(x.op)] && !drop[j] && low32_users_only[x.dst]) {
        fused[j] = 1;
        alias[in.dst] = x.dst;
        drop[i] = 1;
      }
    }
  }
  b.code.clear();
  b.code_ir_index.clear();
  b.code.reserve(n);
  b.code_ir_index.reserve(n);
  auto A = [&](Slot s) { return s == ir::kNoSlot ? s : alias[s]; };
  for (size_t i = 0; i < n; ++i) {
    if (drop[i]) continue;
    const Inst& in = insts[i];
    const void* h = fused[i] ? fused_sext[unsigned(in.op)] : table[unsigned(in.type) << 6 | unsigned(in.op)];
    if (in.op == Op::load || in.op == Op::loads || in.op == Op::store) {
      // The width is fixed per inst: pick the handler for it now rather than at every run.
      unsigned kind = in.op == Op::load ? 0 : in.op == Op::loads ? 1 : 2;
      unsigned lg = in.sub == 8 ? 0 : in.sub == 16 ? 1 : in.sub == 32 ? 2 : 3;
      if (mem.by_width[kind][lg] && !(kind == 1 && in.type != Type::I64)) h = mem.by_width[kind][lg];
    }
    b.code.push_back({h, in.dst, A(in.a), A(in.b), A(in.c), in.aux, in.op, in.type, in.sub, 0});
    b.code_ir_index.push_back(uint32_t(i));
  }
}

}  // namespace

BlockOutcome interpret(CachedBlock& entry, const InterpEnv& env, uint32_t start) {
  // Labels indexed by (type << 6 | op): every op has a generic label; the hottest op/type pairs
  // have specialised ones. The generic table comes from ops.def, so a new op that lacks an
  // implementation here fails to compile.
  constexpr unsigned kOpBits = 6;
  static_assert(static_cast<unsigned>(Op::Count) <= (1u << kOpBits));
  static void* table[8 << kOpBits];
  // i32 ops whose result is sign-extended to i64 right away (RISC-V's W instructions): one
  // handler computes both (see lower()).
  static void* fused_sext[1 << kOpBits];
  static MemHandlers mem_handlers;
  static bool ready = false;
  if (__builtin_expect(!ready, 0)) {
    void* generic[] = {
#define OP(name, nsrc, dst, shape, flags) &&L_##name,
#include "ir/ops.def"
#undef OP
    };
    for (unsigned t = 0; t < 8; ++t)
      for (unsigned o = 0; o < static_cast<unsigned>(Op::Count); ++o) table[t << kOpBits | o] = generic[o];
    auto at = [](Type t, Op o) -> void*& { return table[unsigned(t) << kOpBits | unsigned(o)]; };
    at(Type::I64, Op::get) = &&L_get_i64;
    at(Type::I64, Op::put) = &&L_put_i64;
    mem_handlers = MemHandlers{{{&&L_load8, &&L_load16, &&L_load32, &&L_load64},
                                {&&L_loads8_i64, &&L_loads16_i64, &&L_loads32_i64, nullptr},
                                {&&L_store8, &&L_store16, &&L_store32, &&L_store64}}};
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
    auto fuse = [](Op o) -> void*& { return fused_sext[unsigned(o)]; };
    fuse(Op::add) = &&L_add_sx;   fuse(Op::sub) = &&L_sub_sx;   fuse(Op::mul) = &&L_mul_sx;
    fuse(Op::shl) = &&L_shl_sx;   fuse(Op::lshr) = &&L_lshr_sx; fuse(Op::ashr) = &&L_ashr_sx;
    fuse(Op::rotr) = &&L_rotr_sx; fuse(Op::rotl) = &&L_rotl_sx;
    fuse(Op::divs) = &&L_divs_sx; fuse(Op::divu) = &&L_divu_sx;
    fuse(Op::rems) = &&L_rems_sx; fuse(Op::remu) = &&L_remu_sx;
    ready = true;
  }
  auto prepare = [](CachedBlock& b) {
    if (__builtin_expect(b.code_ir_index.empty(), 0)) lower(b, table, fused_sext, mem_handlers);
  };

  CachedBlock* cb = &entry;
  prepare(*cb);
  uint64_t* v = cb->frame.data();
  const ThreadedInst* first = cb->code.data();
  const ThreadedInst* ip = first + start;
  uint8_t* const st = env.state;
  uint8_t* const mem = env.mem_base;
  const uint64_t mem_size = env.mem_size;
  BlockOutcome out{};
  uint64_t chained_insns = 0, chained_blocks = 0;
  CachedBlock* next;

// Every early return reports where it happened (the block it was chained into) and how much ran.
#define FINISH(o) ((o).block = cb, (o).chained_insns = chained_insns, (o).chained_blocks = chained_blocks, (o))
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
#define AFTER_STORE(addr, bytes)                                                         \
  do {                                                                                   \
    if (__builtin_expect(env.code_pages[(addr) >> 12] | env.code_pages[((addr) + (bytes) - 1) >> 12], 0)) { \
      out.kind = BlockOutcome::CodeWrite;                                                \
      out.addr = addr;                                                                   \
      out.size = bytes;                                                                  \
      out.inst = uint32_t(ip - first);                                                   \
      return FINISH(out);                                                                \
    }                                                                                    \
  } while (0)

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
#define WIDTH_OPS(T, U, S, BITS)                                                        \
  L_add_##T: D = U(A + B); NEXT();                                                      \
  L_sub_##T: D = U(A - B); NEXT();                                                      \
  L_mul_##T: D = U(A * B); NEXT();                                                      \
  L_and_##T: D = U(A & B); NEXT();                                                         \
  L_or_##T: D = U(A | B); NEXT();                                                          \
  L_xor_##T: D = U(A ^ B); NEXT();                                                         \
  L_shl_##T: D = U(U(A) << (B & (BITS - 1))); NEXT();                                   \
  L_lshr_##T: D = U(A) >> (B & (BITS - 1)); NEXT();                                     \
  L_ashr_##T: D = U(S(U(A)) >> (B & (BITS - 1))); NEXT();                               \
  L_rotr_##T: { unsigned sh = unsigned(B & (BITS - 1));                                 \
    D = sh ? U((U(A) >> sh) | (U(A) << (BITS - sh))) : A; NEXT(); }                    \
  L_rotl_##T: { unsigned sh = unsigned(B & (BITS - 1));                                 \
    D = sh ? U((U(A) << sh) | (U(A) >> (BITS - sh))) : A; NEXT(); }                    \
  L_sext_##T: D = U(uint64_t(sext(A, ir::type_bits(Type(ip->sub))))); NEXT();           \
  L_select_##T: D = A ? B : C; NEXT();
  WIDTH_OPS(I32, uint32_t, int32_t, 32)
// i32 op then sext to i64, fused (lower() picks these); operands are read in their low 32 bits.
#define SX(expr) uint64_t(int64_t(int32_t(uint32_t(expr))))
  L_add_sx: D = SX(A + B); NEXT();
  L_sub_sx: D = SX(A - B); NEXT();
  L_mul_sx: D = SX(A * B); NEXT();
  L_shl_sx: D = SX(uint32_t(A) << (B & 31)); NEXT();
  L_lshr_sx: D = SX(uint32_t(A) >> (B & 31)); NEXT();
  L_ashr_sx: D = SX(int32_t(uint32_t(A)) >> (B & 31)); NEXT();
  L_rotr_sx: D = SX(rotate(false, uint32_t(A), B, 32)); NEXT();
  L_rotl_sx: D = SX(rotate(true, uint32_t(A), B, 32)); NEXT();
  L_divs_sx: D = SX(div_s(uint32_t(A), uint32_t(B), 32)); NEXT();
  L_divu_sx: D = SX(uint32_t(B) == 0 ? ~0u : uint32_t(A) / uint32_t(B)); NEXT();
  L_rems_sx: D = SX(rem_s(uint32_t(A), uint32_t(B), 32)); NEXT();
  L_remu_sx: D = SX(uint32_t(B) == 0 ? uint32_t(A) : uint32_t(A) % uint32_t(B)); NEXT();
#undef SX
  WIDTH_OPS(I64, uint64_t, int64_t, 64)
#undef WIDTH_OPS
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
// Width-specialised memory access (picked by lower()); loads8..32 sign-extend to i64.
#define LOAD_HANDLER(label, T, RESULT)       \
  label: {                                    \
    uint64_t addr = A;                        \
    CHECK_ADDR(addr, sizeof(T), false);       \
    T x;                                      \
    std::memcpy(&x, mem + addr, sizeof(T));   \
    D = RESULT;                               \
    NEXT();                                   \
  }
  LOAD_HANDLER(L_load8, uint8_t, x)
  LOAD_HANDLER(L_load16, uint16_t, x)
  LOAD_HANDLER(L_load32, uint32_t, x)
  LOAD_HANDLER(L_load64, uint64_t, x)
  LOAD_HANDLER(L_loads8_i64, int8_t, uint64_t(int64_t(x)))
  LOAD_HANDLER(L_loads16_i64, int16_t, uint64_t(int64_t(x)))
  LOAD_HANDLER(L_loads32_i64, int32_t, uint64_t(int64_t(x)))
#undef LOAD_HANDLER
#define STORE_HANDLER(label, T)               \
  label: {                                    \
    uint64_t addr = A;                        \
    CHECK_ADDR(addr, sizeof(T), true);        \
    T x = T(B);                               \
    std::memcpy(mem + addr, &x, sizeof(T));   \
    AFTER_STORE(addr, sizeof(T));             \
    NEXT();                                   \
  }
  STORE_HANDLER(L_store8, uint8_t)
  STORE_HANDLER(L_store16, uint16_t)
  STORE_HANDLER(L_store32, uint32_t)
  STORE_HANDLER(L_store64, uint64_t)
#undef STORE_HANDLER
L_load: {
  uint64_t addr = A;
  unsigned bytes = ip->sub / 8u;
  CHECK_ADDR(addr, bytes, false);
  D = load_bytes(mem + addr, ip->sub);
  NEXT();
}
L_loads: {
  uint64_t addr = A;
  unsigned bytes = ip->sub / 8u;
  CHECK_ADDR(addr, bytes, false);
  D = uint64_t(sext(load_bytes(mem + addr, ip->sub), ip->sub)) & M;
  NEXT();
}
L_store: {
  uint64_t addr = A;
  unsigned bytes = ip->sub / 8u;
  CHECK_ADDR(addr, bytes, true);
  store_bytes(mem + addr, B, ip->sub);
  AFTER_STORE(addr, bytes);
  NEXT();
}
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
L_jmpi:
  out.succ = -1;
  out.pc = A;
  if (env.cache && (next = env.cache->find(out.pc))) goto L_chain;
  goto L_next;
L_chain:
  // Go on into `next` without returning to the execution loop, if the budget allows.
  if (chained_insns + cb->guest_insns < env.budget) {
    chained_insns += cb->guest_insns;
    ++chained_blocks;
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
  out.chained_insns = chained_insns;
  out.chained_blocks = chained_blocks;
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
#undef AFTER_STORE
#undef FINISH
}

}  // namespace vmkit
