// Differential test of tier 1 against the interpreter on random IR blocks: integer ops of every
// width, compares, selects, width changes, guest-state reads and writes, loads and stores. Each
// block runs once interpreted and once compiled, from the same state and memory; the guest state,
// the memory and the next pc must be equal afterwards. A second test makes each block branch back
// to itself a random number of times (a counter in x12), which tier 1 runs as a loop inside the
// block's code with the carried guest registers in host registers.
#include <gtest/gtest.h>

#include <cstdlib>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/block_cache.h"
#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "interp/interpreter.h"
#include "ir/ir.h"
#include "ir/passes.h"
#include "jit/jit.h"
#include "mmu/guest_memory.h"

namespace vmkit {
namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

constexpr uint64_t kData = 0x20000;
constexpr Type kIntTypes[] = {Type::I8, Type::I16, Type::I32, Type::I64};
constexpr Op kBinary[] = {Op::add, Op::sub, Op::mul, Op::mulhs, Op::mulhu, Op::mulhsu, Op::divs, Op::divu,
                          Op::rems, Op::remu, Op::and_, Op::or_, Op::xor_, Op::andn, Op::orn, Op::xnor,
                          Op::mins, Op::minu, Op::maxs, Op::maxu};
constexpr Op kShift[] = {Op::shl, Op::lshr, Op::ashr, Op::rotl, Op::rotr};
constexpr Op kUnary[] = {Op::neg, Op::not_, Op::clz, Op::ctz, Op::popcnt, Op::bswap, Op::orcb, Op::bitrev};

// The blocks' one helper, pure (for callp): mixes its operands and immediate.
uint64_t helper_mix(void*, uint64_t a, uint64_t b, uint64_t c, uint32_t imm) {
  return (a * 0x9e3779b97f4a7c15ull) ^ (b >> (imm & 63)) ^ (c + imm);
}
const ir::HelperInfo kTestHelpers[] = {{"mix", &helper_mix}};
// The riscv64 state (the blocks get and put its registers) with that helper.
const ir::ArchInfo& test_arch() {
  static const auto fe = rv64::make_frontend();
  static const ir::ArchInfo arch{"riscv64", fe->arch().state_size, fe->arch().state_name, kTestHelpers, 1};
  return arch;
}
constexpr Op kCompare[] = {Op::eq, Op::ne, Op::lts, Op::ltu, Op::ges, Op::geu};

struct RandomBlock {
  std::mt19937_64 rng;
  explicit RandomBlock(uint64_t seed) : rng(seed) {}
  bool no_calls = false;  // the last make() used no ops that tier 1 emits as calls
  uint64_t pick(uint64_t n) { return rng() % n; }

  // loop: end with "x12 -= 1; branch back to the block while x12 != 0", and (in half of the
  // blocks) no ops that tier 1 emits as calls, since those keep it from looping in registers.
  ir::Block make(const ir::ArchInfo& arch, bool loop = false) {
    no_calls = loop && pick(2);
    auto is_call = [](Op op) {
      return op == Op::mulhs || op == Op::mulhu || op == Op::mulhsu || op == Op::divs || op == Op::divu ||
             op == Op::rems || op == Op::remu || op == Op::orcb || op == Op::bitrev;
    };
    auto binary = [&] {
      Op op;
      do op = kBinary[pick(std::size(kBinary))]; while (no_calls && is_call(op));
      return op;
    };
    auto unary = [&] {
      Op op;
      do op = kUnary[pick(std::size(kUnary))]; while (no_calls && is_call(op));
      return op;
    };
    ir::Block blk;
    blk.pc = 0x10000;
    blk.arch = &arch;
    ir::Builder b(blk);
    b.begin_insn(0x10000, 4, 0x13);
    std::vector<Slot> pool[8];  // by type
    auto add = [&](Slot s) { pool[unsigned(b.type_of(s))].push_back(s); };
    auto any = [&](Type t) -> Slot {
      auto& p = pool[unsigned(t)];
      if (p.empty() || pick(5) == 0) {
        // small values, the edge cases of division (-1, the minimum), or anything
        uint64_t v = pick(3) == 0 ? pick(8) : pick(6) == 0 ? (pick(2) ? ~0ull : 1ull << (ir::type_bits(t) - 1)) : rng();
        return b.konst(t, v & ir::type_mask(t));
      }
      return p[pick(p.size())];
    };
    for (unsigned r = 1; r < 12; ++r) add(b.get(Type::I64, rv64::off_x(r)));
    const unsigned n = 10 + unsigned(pick(50));
    for (unsigned k = 0; k < n; ++k) {
      Type t = kIntTypes[pick(4)];
      switch (pick(10)) {
        case 0: case 1: add(b.binop(binary(), any(t), any(t))); break;
        case 2: add(b.binop(kShift[pick(std::size(kShift))], any(t), any(kIntTypes[pick(4)]))); break;
        case 3: add(b.unop(unary(), any(t))); break;
        case 4: {
          Slot c = b.binop(kCompare[pick(std::size(kCompare))], any(t), any(t));
          add(c);
          add(b.select(c, any(t), any(t)));
          break;
        }
        case 5: {
          Type to = kIntTypes[pick(4)];
          if (ir::type_bits(to) > ir::type_bits(t)) add(b.convert(pick(2) ? Op::zext : Op::sext, to, any(t)));
          else if (ir::type_bits(to) < ir::type_bits(t)) add(b.convert(Op::trunc, to, any(t)));
          break;
        }
        case 6: b.put(rv64::off_x(1 + unsigned(pick(11))), any(Type::I64)); break;
        case 9:  // a pure helper (a call, for tier 1)
          if (!no_calls) add(b.callp(t, 0, any(Type::I64), any(t), any(kIntTypes[pick(4)]), uint8_t(pick(256))));
          break;
        case 7: {  // a load from the data page
          unsigned width = 8u << pick(4);
          Slot addr = b.binop(Op::add, b.konst(Type::I64, kData),
                              b.binop(Op::and_, any(Type::I64), b.konst(Type::I64, 0xff8)));
          add(pick(2) ? b.load(Type::I64, addr, width) : b.loads(Type::I64, addr, width));
          break;
        }
        default: {  // a store to it
          unsigned width = 8u << pick(4);
          Slot addr = b.binop(Op::add, b.konst(Type::I64, kData),
                              b.binop(Op::and_, any(Type::I64), b.konst(Type::I64, 0xff8)));
          b.store(addr, any(Type::I64), width);
          break;
        }
      }
    }
    for (unsigned r = 1; r < 12; ++r)
      if (pick(2)) b.put(rv64::off_x(r), any(Type::I64));
    if (loop) {
      Slot left = b.binop(Op::sub, b.get(Type::I64, rv64::off_x(12)), b.konst(Type::I64, 1));
      b.put(rv64::off_x(12), left);
      b.br(b.binop(Op::ne, left, b.konst(Type::I64, 0)), 0x10000, 0x10004);
    } else {
      b.jmp(0x10004);
    }
    return blk;
  }
};

struct Side {
  GuestMemory mem{1ull << 20};
  std::vector<uint8_t> state;
  Side() { mem.map(kData, 0x1000, kRead | kWrite); }
};

// Runs random block `seed` (see RandomBlock::make) interpreted and compiled and compares.
void check_random_block(uint64_t seed, bool loop, const ir::ArchInfo& arch, jit::CodeCache& cache) {
  RandomBlock gen(seed);
  ir::Block blk = gen.make(arch, loop);
  ASSERT_EQ(ir::verify(blk), "") << ir::print(blk);
  if (seed % 2) ir::optimize(blk);

  Side a, b;
  std::mt19937_64 init(seed * 7919);
  a.state.resize(arch.state_size);
  for (auto& x : a.state) x = uint8_t(init());
  if (loop) {
    uint64_t iterations = 1 + seed % 20;
    std::memcpy(a.state.data() + rv64::off_x(12), &iterations, 8);
  }
  b.state = a.state;
  for (uint64_t off = 0; off < 0x1000; off += 8) {
    uint64_t v = init();
    std::memcpy(a.mem.host(kData + off), &v, 8);
    std::memcpy(b.mem.host(kData + off), &v, 8);
  }

  CachedBlock interp_block;
  interp_block.ir = blk;
  interp_block.frame = blk.slot_init;
  interp_block.guest_insns = uint32_t(blk.marks.size());
  const ThreadedInst* running = nullptr;
  InterpEnv env{a.state.data(), a.mem.base(), a.mem.size(), &running};
  BlockOutcome want;
  do want = interpret(interp_block, env);
  while (want.kind == BlockOutcome::Next && want.pc == blk.pc);  // the block again, as a loop does

  CachedBlock jit_block;
  jit_block.ir = blk;
  jit_block.frame = blk.slot_init;
  jit_block.guest_insns = interp_block.guest_insns;
  InterpEnv env_b{b.state.data(), b.mem.base(), b.mem.size(), &running};
  prepare_block(jit_block, env_b);
  if (!jit::compile_block(jit_block, cache, nullptr)) {
    cache.flush();
    ASSERT_TRUE(jit::compile_block(jit_block, cache, nullptr));
  }
  jit::JitContext ctx;
  ctx.state = b.state.data();
  ctx.mem_base = b.mem.base();
  ctx.mem_limit = b.mem.size() - jit::kMaxAccess;
  // (a budget that a broken loop runs out of, rather than running forever)
  const uint64_t budget = 1000 * uint64_t(jit_block.guest_insns + 1);
  ctx.insns_left = budget;
  ctx.block = &jit_block;
  uint32_t kind;
  do kind = reinterpret_cast<jit::BlockFn>(jit_block.jit)(&ctx, jit_block.frame.data());
  while (kind == BlockOutcome::Next && ctx.next_pc == blk.pc);  // (when it does not loop inside)

  ASSERT_EQ(kind, uint32_t(want.kind)) << "seed " << seed;
  ASSERT_EQ(ctx.next_pc, want.pc) << "seed " << seed;
  // The guest state after the common header (which holds host pointers) and the memory.
  ASSERT_EQ(0, std::memcmp(a.state.data() + sizeof(GuestCommon), b.state.data() + sizeof(GuestCommon),
                           arch.state_size - sizeof(GuestCommon)))
      << "seed " << seed << "\n" << ir::print(blk);
  ASSERT_EQ(0, std::memcmp(a.mem.host(kData), b.mem.host(kData), 0x1000)) << "seed " << seed << "\n"
                                                                          << ir::print(blk);
  if (loop) {
    // every iteration counted, as the execution loop counts a block's runs
    uint64_t iterations = 1 + seed % 20;
    ASSERT_EQ(ctx.insns_left, budget - iterations * jit_block.guest_insns) << "seed " << seed;
    ASSERT_EQ(jit_block.executions, iterations) << "seed " << seed;
    // without calls, tier 1 runs it as a loop inside its code (the path this test is for)
    if (gen.no_calls) {
      ASSERT_TRUE(jit_block.jit_self_loop) << "seed " << seed;
    }
  }
}

// How many random blocks each test tries: its default, or VMKIT_RANDOM_IR_SEEDS (for long soaks
// after changes to the compiler).
uint64_t seed_count(uint64_t default_count) {
  const char* e = std::getenv("VMKIT_RANDOM_IR_SEEDS");
  return e && std::strtoull(e, nullptr, 10) > 0 ? std::strtoull(e, nullptr, 10) : default_count;
}

TEST(JitRandomIr, CompiledBlocksMatchTheInterpreter) {
  jit::CodeCache cache(size_t(16) << 20);
  for (uint64_t seed = 1, n = seed_count(1500); seed <= n; ++seed) {
    check_random_block(seed, false, test_arch(), cache);
    if (HasFatalFailure()) return;
  }
}

TEST(JitRandomIr, BlocksThatLoopOnThemselvesMatchTheInterpreter) {
  jit::CodeCache cache(size_t(16) << 20);
  for (uint64_t seed = 1, n = seed_count(1000); seed <= n; ++seed) {
    check_random_block(seed, true, test_arch(), cache);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace vmkit
