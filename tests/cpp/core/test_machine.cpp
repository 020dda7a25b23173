// vmkit::Machine and its HookSet: hooks compiled into translations, stop points, exact counts,
// fault hooks that map memory, and a memory hook that stops inside an instruction.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "../frontend/riscv64/rv64_test_util.h"
#include "core/errors.h"
#include "core/machine.h"

namespace vmkit {
namespace {

using rv64::test::addi;
using rv64::test::b_type;
using rv64::test::i_type;
using rv64::test::s_type;

constexpr uint64_t kBase = 0x10000, kData = 0x20000;

inline uint32_t ld(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x03); }
inline uint32_t sd(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 3, 0x23); }
inline uint32_t lui(unsigned rd, uint32_t imm20) { return (imm20 << 12) | (rd << 7) | 0x37; }

struct Fixture {
  Machine m{"riscv64", 1ull << 24};
  explicit Fixture(const std::vector<uint32_t>& code) {
    m.mem_map(kBase, 0x1000, kRead | kWrite | kExec);
    m.mem_map(kData, 0x1000, kRead | kWrite);
    m.mem_write(kBase, code.data(), code.size() * 4);
  }
  uint64_t x(unsigned i) { return m.reg_read(m.reg_info("x" + std::to_string(i))); }
  void set_x(unsigned i, uint64_t v) { m.reg_write(m.reg_info("x" + std::to_string(i)), v); }
};

// a0 += 1, a1 -= 1 until a1 == 0: 3 instructions per iteration, then a final addi.
const std::vector<uint32_t> kLoop = {addi(10, 10, 1), addi(11, 11, -1), b_type(-8, 0, 11, 1), addi(12, 0, 7)};

struct Recorder {
  std::vector<std::pair<uint64_t, uint32_t>> events;
  uint64_t stop_at = 0;
  Machine* m = nullptr;
  static int code(uint32_t, uint64_t address, uint32_t size, uint64_t, void* user) {
    auto* r = static_cast<Recorder*>(user);
    r->events.push_back({address, size});
    return r->events.size() == r->stop_at;
  }
};

TEST(Machine, CodeHookOnARangeSeesOnlyThatRangeAndCanStop) {
  Fixture f(kLoop);
  f.set_x(11, 5);
  Recorder rec;
  rec.stop_at = 3;
  f.m.add_hook(kHookCode, kBase + 4, kBase + 8, &Recorder::code, &rec);
  RunOptions o;
  o.until = kBase + 12;
  RunResult r = f.m.run(kBase, o);
  // Stopped before the third execution of the hooked instruction: 3 iterations of a0 += 1 and
  // two of a1 -= 1 have run.
  EXPECT_EQ(r.reason, RunEnd::Stopped);
  EXPECT_EQ(r.pc, kBase + 4);
  EXPECT_EQ(f.x(10), 3u);
  EXPECT_EQ(f.x(11), 3u);
  ASSERT_EQ(rec.events.size(), 3u);
  for (auto& e : rec.events) EXPECT_EQ(e, (std::pair<uint64_t, uint32_t>{kBase + 4, 4}));
  // Resumable: the rest runs to `until`, the hook sees the remaining 3 executions.
  r = f.m.run(r.pc, o);
  EXPECT_EQ(r.reason, RunEnd::Until);
  EXPECT_EQ(f.x(11), 0u);
  EXPECT_EQ(f.x(12), 0u);  // `until` itself was not executed
  EXPECT_EQ(rec.events.size(), 6u);
}

TEST(Machine, CountIsExactAndUntilInsideABlockStopsThere) {
  Fixture f(kLoop);
  f.set_x(11, 100);
  RunOptions o;
  o.count = 10;
  RunResult r = f.m.run(kBase, o);
  EXPECT_EQ(r.reason, RunEnd::Count);
  EXPECT_EQ(r.insns, 10u);
  EXPECT_EQ(r.pc, kBase + 4);  // 3 full iterations + the first instruction of the 4th
  EXPECT_EQ(f.x(10), 4u);
  RunOptions u;
  u.until = kBase + 8;  // the branch, inside the loop's block
  r = f.m.run(r.pc, u);
  EXPECT_EQ(r.reason, RunEnd::Until);
  EXPECT_EQ(r.insns, 1u);
}

TEST(Machine, UnmappedFaultHookMapsMemoryAndTheLoadIsRetried) {
  Fixture f({lui(5, 0x80), ld(10, 5, 8), addi(11, 0, 1)});
  struct Mapper {
    Machine* m;
    int calls = 0;
    static int fault(uint32_t type, uint64_t address, uint32_t size, uint64_t, void* user) {
      auto* self = static_cast<Mapper*>(user);
      ++self->calls;
      EXPECT_EQ(type, kHookReadUnmapped);
      EXPECT_EQ(address, 0x80008u);
      EXPECT_EQ(size, 8u);
      self->m->mem_map(address & ~0xfffull, 0x1000, kRead | kWrite);
      uint64_t v = 0x1234;
      self->m->mem_write(address, &v, 8);
      return 1;
    }
  } mapper{&f.m};
  f.m.add_hook(kHookMemFault, 0, ~0ull, &Mapper::fault, &mapper);
  RunOptions o;
  o.until = kBase + 12;
  RunResult r = f.m.run(kBase, o);
  EXPECT_EQ(r.reason, RunEnd::Until);
  EXPECT_EQ(mapper.calls, 1);
  EXPECT_EQ(f.x(10), 0x1234u);
  EXPECT_EQ(f.x(11), 1u);
}

TEST(Machine, WriteHookThatStopsLetsTheStoreCompleteOnce) {
  // Two stores; the hook on the data page stops at the first: the run ends after it, with the
  // value stored, and resuming does not report it again.
  Fixture f({lui(5, 0x20), addi(6, 0, 9), sd(6, 5, 0), sd(6, 5, 8), addi(12, 0, 1)});
  struct Writes {
    std::vector<uint64_t> addrs;
    static int hook(uint32_t, uint64_t address, uint32_t, uint64_t, void* user) {
      static_cast<Writes*>(user)->addrs.push_back(address);
      return static_cast<Writes*>(user)->addrs.size() == 1;
    }
  } w;
  f.m.add_hook(kHookMemWrite, kData, kData + 0x1000, &Writes::hook, &w);
  RunOptions o;
  o.until = kBase + 20;
  RunResult r = f.m.run(kBase, o);
  EXPECT_EQ(r.reason, RunEnd::Stopped);
  EXPECT_EQ(r.pc, kBase + 12);
  uint64_t v = 0;
  f.m.memory().read(kData, &v, 8);
  EXPECT_EQ(v, 9u);
  r = f.m.run(r.pc, o);
  EXPECT_EQ(r.reason, RunEnd::Until);
  EXPECT_EQ(w.addrs, (std::vector<uint64_t>{kData, kData + 8}));
}

inline uint32_t sw(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 2, 0x23); }

// A block that rewrites its own third instruction before reaching it (0x00: store; 0x04: a0 += 2;
// 0x08: a0 += 1, replaced by a0 += 100).
std::vector<uint32_t> self_patching_block() { return {sw(15, 16, 0), addi(10, 10, 2), addi(10, 10, 1)}; }

TEST(Machine, HooksRunOnceForAStoreIntoTranslatedCode) {
  // The store faults on the write-protected code page after its write hook ran, and runs again:
  // neither its code hook nor its write hook may be called twice, and the new instruction runs.
  for (Engine engine : {Engine::Interp, Engine::Jit}) {
    Fixture f(self_patching_block());
    f.m.cpu().engine = engine;
    f.m.cpu().invalidate();
    f.set_x(15, addi(10, 10, 100));
    f.set_x(16, kBase + 8);
    Recorder code;
    std::vector<uint64_t> writes;
    f.m.add_hook(kHookCode, kBase, kBase + 12, &Recorder::code, &code);
    f.m.add_hook(kHookMemWrite, kBase, kBase + 0x1000,
                 [](uint32_t, uint64_t address, uint32_t, uint64_t, void* user) {
                   static_cast<std::vector<uint64_t>*>(user)->push_back(address);
                   return 0;
                 }, &writes);
    RunOptions o;
    o.until = kBase + 12;
    RunResult r = f.m.run(kBase, o);
    EXPECT_EQ(r.reason, RunEnd::Until) << engine_name(engine);
    EXPECT_EQ(f.x(10), 102u) << engine_name(engine);
    EXPECT_EQ(writes, (std::vector<uint64_t>{kBase + 8})) << engine_name(engine);
    std::vector<std::pair<uint64_t, uint32_t>> expected = {{kBase, 4}, {kBase + 4, 4}, {kBase + 8, 4}};
    EXPECT_EQ(code.events, expected) << engine_name(engine);
    EXPECT_EQ(f.m.cpu().stats().code_write_faults, 1u) << engine_name(engine);
  }
}

TEST(Machine, AHookMayRewriteCodeThroughARawPointer) {
  // Host code writing a write-protected code page without mem_write (what a Python memory view
  // does) is let through by the fault handler; the translations of the page go when the hook
  // returns, so the block after the hook's sees the new instruction. (The block running the hook
  // finishes as translated.)
  Fixture f({addi(10, 10, 1), addi(11, 11, 1), rv64::test::j_type(8, 0), 0x00000013, addi(10, 10, 1)});
  RunOptions o;
  o.until = kBase + 0x14;
  ASSERT_EQ(f.m.run(kBase, o).reason, RunEnd::Until);  // every block translated: the page is protected
  ASSERT_EQ(f.x(10), 2u);
  struct Patch {
    Machine* m;
    static int hook(uint32_t, uint64_t, uint32_t, uint64_t, void* user) {
      uint32_t insn = addi(10, 10, 50);
      std::memcpy(static_cast<Patch*>(user)->m->memory().host(kBase + 0x10), &insn, 4);
      return 0;
    }
  } patch{&f.m};
  f.m.add_hook(kHookCode, kBase + 4, kBase + 8, &Patch::hook, &patch);
  f.set_x(10, 0);
  RunResult r = f.m.run(kBase, o);
  EXPECT_EQ(r.reason, RunEnd::Until);
  EXPECT_EQ(f.x(10), 51u);
  uint32_t now = 0;
  f.m.mem_read(kBase + 0x10, &now, 4);
  EXPECT_EQ(now, addi(10, 10, 50));
}

TEST(Machine, MemoryHooksInALoopSeeAndChangeExactRegisters) {
  // One block that loops on itself (tier 1 keeps its registers in host registers through the
  // loop): a read hook sees a0 as each iteration left it, and a register it writes (t0, the
  // counter) takes effect at once, under either engine.
  for (Engine engine : {Engine::Interp, Engine::Jit}) {
    Fixture f({ld(7, 6, 0), addi(10, 10, 1), addi(5, 5, -1), b_type(-12, 0, 5, 1)});
    f.m.cpu().engine = engine;
    f.set_x(5, 100);
    f.set_x(6, kData);
    struct Seen {
      Fixture* f;
      std::vector<uint64_t> a0;
      static int hook(uint32_t, uint64_t, uint32_t, uint64_t, void* user) {
        auto* s = static_cast<Seen*>(user);
        s->a0.push_back(s->f->x(10));
        if (s->a0.size() == 10) s->f->set_x(5, 1);  // this is the last iteration
        return 0;
      }
    } seen{&f, {}};
    f.m.add_hook(kHookMemRead, kData, kData + 0x1000, &Seen::hook, &seen);
    RunOptions o;
    o.until = kBase + 16;
    RunResult r = f.m.run(kBase, o);
    EXPECT_EQ(r.reason, RunEnd::Until) << engine_name(engine);
    std::vector<uint64_t> expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    EXPECT_EQ(seen.a0, expected) << engine_name(engine);
    EXPECT_EQ(f.x(10), 10u) << engine_name(engine);
    EXPECT_EQ(f.x(5), 0u) << engine_name(engine);
  }
}

TEST(Machine, AMemoryHookElsewhereLeavesALoopsResultsAlone) {
  // A loop that loads, adds and stores (one block that loops on itself) with a memory hook on a
  // range it never touches: the same memory and registers as without the hook.
  const std::vector<uint32_t> loop = {
      ld(7, 6, 0),                        // t2 = *t1
      i_type(0, 7, 0, 7, 0x13) | 0,       // (nop-like: addi t2, t2, 0)
      sd(7, 6, 8),                        // t1[1] = t2
      addi(6, 6, 16),                     // t1 += 16
      i_type(0x7ff, 6, 7, 6, 0x13),       // andi t1, t1, 0x7ff
      lui(28, 0x20),                      // t3 = 0x20000 (kData)
      0x01c36333,                         // or t1, t1, t3
      addi(5, 5, -1),                     // t0 -= 1
      b_type(-32, 0, 5, 1),               // bnez t0, loop
  };
  for (Engine engine : {Engine::Interp, Engine::Jit}) {
    uint64_t results[2][3] = {};
    for (int hooked = 0; hooked < 2; ++hooked) {
      Fixture f(loop);
      f.m.cpu().engine = engine;
      f.set_x(5, 500);
      f.set_x(6, kData);
      uint64_t v = 3;
      f.m.mem_write(kData, &v, 8);
      int calls = 0;
      if (hooked)
        f.m.add_hook(kHookMemRead | kHookMemWrite, kData + 0x800, kData + 0x1000,
                     [](uint32_t, uint64_t, uint32_t, uint64_t, void* user) { return ++*static_cast<int*>(user), 0; },
                     &calls);
      RunOptions o;
      o.until = kBase + 36;
      ASSERT_EQ(f.m.run(kBase, o).reason, RunEnd::Until) << engine_name(engine);
      EXPECT_EQ(calls, 0);
      f.m.mem_read(kData + 8, &results[hooked][0], 8);
      results[hooked][1] = f.x(6);
      results[hooked][2] = f.x(7);
    }
    EXPECT_EQ(std::vector<uint64_t>(results[0], results[0] + 3), std::vector<uint64_t>(results[1], results[1] + 3))
        << engine_name(engine);
  }
}

TEST(Machine, HookOpsAppearOnlyInHookedTranslationsAndGoWithTheHook) {
  Fixture f(kLoop);
  auto count_hooks = [&] {
    ir::Block b = f.m.translate(kBase);
    int n = 0;
    for (const auto& in : b.insts) n += in.op == ir::Op::hook;
    return n;
  };
  EXPECT_EQ(count_hooks(), 0);
  Recorder rec;
  uint64_t id = f.m.add_hook(kHookCode, kBase + 4, kBase + 8, &Recorder::code, &rec);
  EXPECT_EQ(count_hooks(), 1);
  uint64_t id2 = f.m.add_hook(kHookBlock, kBase, kBase + 1, &Recorder::code, &rec);
  EXPECT_EQ(count_hooks(), 2);
  f.m.remove_hook(id);
  f.m.remove_hook(id2);
  EXPECT_EQ(count_hooks(), 0);
  EXPECT_THROW(f.m.remove_hook(id), UsageError);
  EXPECT_THROW(f.m.add_hook(kHookCode, 10, 10, &Recorder::code, &rec), UsageError);
}

TEST(Machine, SnapshotRestoresRegistersAndMemory) {
  Fixture f({lui(5, 0x20), addi(6, 0, 9), sd(6, 5, 0), addi(10, 10, 1)});
  auto snap = f.m.snapshot();
  RunOptions o;
  o.until = kBase + 16;
  for (int i = 0; i < 3; ++i) {
    f.m.run(kBase, o);
    EXPECT_EQ(f.x(10), 1u);
    f.m.restore(*snap);
    EXPECT_EQ(f.x(10), 0u);
    EXPECT_EQ(f.x(6), 0u);
    uint64_t v = 1;
    f.m.memory().read(kData, &v, 8);
    EXPECT_EQ(v, 0u);
  }
}

}  // namespace
}  // namespace vmkit
