// Core micro-benchmarks (Google Benchmark): how long the RISC-V frontend, the optimiser and the
// tier-1 compiler take per block of real code, and how fast the interpreter and compiled code run
// a hot loop. Real code = the blocks
// reachable from the entry of Debian's riscv64 busybox (VMKIT_BENCH_ELF, or the one
// scripts/guest_busybox.sh provides).
//
//   cmake -S . -B build/bench -G Ninja -DVMKIT_BUILD_PYTHON=OFF -DVMKIT_BUILD_BENCH=ON
//   ninja -C build/bench vmkit_bench && build/bench/vmkit_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "interp/interpreter.h"
#include "ir/passes.h"
#include "jit/jit.h"
#include "mmu/guest_memory.h"
#include "os/linux/elf_loader.h"

namespace {

using namespace vmkit;

std::string busybox_path() {
  if (const char* p = std::getenv("VMKIT_BENCH_ELF")) return p;
  std::string cmd = "bash " VMKIT_SOURCE_DIR "/scripts/guest_busybox.sh";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) throw std::runtime_error("cannot run " + cmd);
  char buf[4096] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  ::pclose(f);
  std::string path(buf, n);
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  if (path.empty()) throw std::runtime_error("set VMKIT_BENCH_ELF to a riscv64 ELF program");
  return path;
}

// Guest memory with busybox loaded, and the start addresses of blocks reachable from its entry
// through direct branches (what a run would translate first).
struct RealCode {
  std::unique_ptr<Frontend> fe = rv64::make_frontend();
  GuestMemory mem;
  std::unique_ptr<Cpu> cpu;
  std::vector<uint64_t> blocks;
  uint64_t guest_insns = 0;

  RealCode() {
    linux_user::ElfImage img = linux_user::parse_elf(busybox_path());
    linux_user::LoadedImage li = linux_user::load_elf(img, mem, linux_user::kPieBase);
    cpu = std::make_unique<Cpu>(*fe, mem);
    std::set<uint64_t> seen;
    std::deque<uint64_t> todo{li.entry};
    while (!todo.empty() && blocks.size() < 4000) {
      uint64_t pc = todo.front();
      todo.pop_front();
      if (!seen.insert(pc).second) continue;
      ir::Block b = cpu->translate(pc);
      blocks.push_back(pc);
      guest_insns += b.marks.size();
      const ir::Inst& t = b.terminator();
      auto follow = [&](ir::Slot s) {
        if (s != ir::kNoSlot && b.slot_is_const[s]) todo.push_back(b.slot_init[s]);
      };
      if (t.op == ir::Op::jmp) follow(t.a);
      if (t.op == ir::Op::br) follow(t.b), follow(t.c);
      // Calls return to the next instruction: translate it too.
      if (t.op == ir::Op::jmp || t.op == ir::Op::jmpi) todo.push_back(b.end_pc);
    }
  }
  static RealCode& get() {
    static RealCode code;
    return code;
  }
};

// Decode + lift one block (the frontend alone).
void BM_LiftBlock(benchmark::State& state) {
  RealCode& c = RealCode::get();
  size_t i = 0;
  for (auto _ : state) {
    ir::Block b = c.cpu->translate(c.blocks[i]);
    benchmark::DoNotOptimize(b.insts.data());
    if (++i == c.blocks.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["guest_insns_per_block"] = double(c.guest_insns) / double(c.blocks.size());
  state.counters["blocks_in_set"] = double(c.blocks.size());
}
BENCHMARK(BM_LiftBlock);

// Decode + lift + optimise + verify: what the execution loop pays for a new block.
void BM_TranslateAndOptimizeBlock(benchmark::State& state) {
  RealCode& c = RealCode::get();
  size_t i = 0;
  uint64_t insns = 0;
  for (auto _ : state) {
    ir::Block b = c.cpu->translate(c.blocks[i]);
    ir::optimize(b);
    insns += b.marks.size();
    benchmark::DoNotOptimize(b.insts.data());
    if (++i == c.blocks.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["ns_per_guest_insn"] =
      benchmark::Counter(double(insns), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TranslateAndOptimizeBlock);

// Translates, optimises and compiles the block at pc into b (what the execution loop pays when a
// block becomes hot; the threaded form the JIT reports positions in is built too).
void compile_real_block(RealCode& c, uint64_t pc, jit::CodeCache& cache, const InterpEnv& env, CachedBlock& b) {
  b.ir = c.cpu->translate(pc);
  ir::optimize(b.ir);
  b.frame = b.ir.slot_init;
  b.guest_insns = uint32_t(b.ir.marks.size());
  prepare_block(b, env);
  if (!jit::compile_block(b, cache, nullptr)) {
    cache.flush();
    jit::compile_block(b, cache, nullptr);
  }
}

// Tier 1: one block of real code to x86-64 after another.
void BM_CompileBlock(benchmark::State& state) {
  RealCode& c = RealCode::get();
  jit::CodeCache cache(size_t(256) << 20);
  InterpEnv env{};
  size_t i = 0;
  uint64_t insns = 0;
  for (auto _ : state) {
    CachedBlock b;
    compile_real_block(c, c.blocks[i], cache, env, b);
    insns += b.guest_insns;
    benchmark::DoNotOptimize(b.jit);
    if (++i == c.blocks.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["ns_per_guest_insn"] =
      benchmark::Counter(double(insns), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CompileBlock);

// The same, block by block over the whole set, for the distribution the mean hides: median and
// 90th percentile of the time per block and per guest instruction (each block timed on its own).
void BM_CompileBlockDistribution(benchmark::State& state) {
  RealCode& c = RealCode::get();
  jit::CodeCache cache(size_t(256) << 20);
  InterpEnv env{};
  std::vector<double> per_block, per_insn;
  for (auto _ : state) {
    for (uint64_t pc : c.blocks) {
      auto t0 = std::chrono::steady_clock::now();
      CachedBlock b;
      compile_real_block(c, pc, cache, env, b);
      double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      benchmark::DoNotOptimize(b.jit);
      per_block.push_back(ns);
      per_insn.push_back(ns / std::max<uint32_t>(b.guest_insns, 1));
    }
  }
  auto quantile = [](std::vector<double> v, double q) {
    std::nth_element(v.begin(), v.begin() + long(q * double(v.size() - 1)), v.end());
    return v[size_t(q * double(v.size() - 1))];
  };
  state.counters["median_us_per_block"] = quantile(per_block, 0.5) / 1e3;
  state.counters["p90_us_per_block"] = quantile(per_block, 0.9) / 1e3;
  state.counters["median_ns_per_guest_insn"] = quantile(per_insn, 0.5);
  state.counters["p90_ns_per_guest_insn"] = quantile(per_insn, 0.9);
  state.counters["blocks"] = double(c.blocks.size());
}
BENCHMARK(BM_CompileBlockDistribution)->Iterations(3)->Unit(benchmark::kMillisecond);

// The interpreter, and tier 1, on a hot loop (a CRC-32 bit loop, 8 instructions per iteration,
// all in one block): guest instructions per second.
void crc_loop(benchmark::State& state, Engine engine) {
  auto fe = rv64::make_frontend();
  GuestMemory mem(1ull << 24);
  mem.map(0x10000, 0x1000, kRead | kWrite, "code");
  // loop: andi a5,a4,1; negw a5,a5; srliw a4,a4,1; and a5,a5,a2; xor a4,a5,a4;
  //       addiw a3,a3,-1; bnez a3,loop; ecall
  const uint32_t code[] = {0x00177793, 0x40f007bb, 0x0017571b, 0x00c7f7b3,
                           0x00e7c733, 0xfff6869b, 0xfe0696e3, 0x00000073};
  std::memcpy(mem.host(0x10000), code, sizeof code);
  mem.protect(0x10000, 0x1000, kRead | kExec);
  Cpu cpu(*fe, mem);
  cpu.engine = engine;
  auto& st = cpu.state_as<rv64::State>();
  const uint64_t iters = 1 << 20;
  uint64_t insns = 0;
  for (auto _ : state) {
    st.x[12] = 0xedb88320;
    st.x[13] = iters;
    st.x[14] = 0x12345678;
    cpu.set_pc(0x10000);
    Stop s = cpu.run();
    if (s.reason != StopReason::Syscall) state.SkipWithError("loop did not reach its ecall");
    insns += iters * 7;
  }
  state.counters["guest_insns_per_s"] = benchmark::Counter(double(insns), benchmark::Counter::kIsRate);
}
void BM_InterpretCrcLoop(benchmark::State& state) { crc_loop(state, Engine::Interp); }
void BM_CompiledCrcLoop(benchmark::State& state) { crc_loop(state, Engine::Jit); }
BENCHMARK(BM_InterpretCrcLoop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompiledCrcLoop)->Unit(benchmark::kMillisecond);

}  // namespace
