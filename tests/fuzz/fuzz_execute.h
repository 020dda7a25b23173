// The execution fuzz target shared by every guest architecture: the input becomes code (registers
// are derived from it); the code runs three times - once from blocks as lifted, once after the
// optimiser and the interpreter's merges (what vmkit normally runs), once compiled by the tier-1
// JIT - and all runs must stop the same way with the same guest state and memory. Any crash,
// sanitizer report, hang or difference is a bug.
//
// Arch (see fuzz_rv64_execute.cc, fuzz_a64_execute.cc, fuzz_x64_execute.cc) gives: make_frontend();
// kAlign, the instruction alignment; kSyscallBytes, the syscall instruction's length;
// kPointerRegs, registers pointed into the data pages; init(state, regs), the rest of the initial
// state; and kStateBegin, where the compared architectural state starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/cpu.h"
#include "core/guest_clock.h"
#include "core/guest_common.h"
#include "mmu/guest_memory.h"

namespace vmkit::fuzz {

constexpr uint64_t kExecPage = 0x1000;
constexpr uint64_t kCode = 0x10000;  // code page (r-x), the input's tail
constexpr uint64_t kData = 0x20000;  // two data pages (rw-), pointed at by some registers
constexpr unsigned kMaxStops = 64;   // syscalls skipped before giving up on a run
constexpr uint64_t kBudget = 4000;   // guest instructions per run() call

template <class Arch>
struct FuzzMachine {
  std::unique_ptr<Frontend> fe = Arch::make_frontend();
  GuestMemory mem{1ull << 20};
  std::unique_ptr<Cpu> cpu;
  FuzzMachine(bool optimize, Engine engine) {
    mem.map(kCode, kExecPage, kRead | kWrite);
    mem.map(kData, 2 * kExecPage, kRead | kWrite);
    cpu = std::make_unique<Cpu>(*fe, mem);
    cpu->optimize_ir = optimize;
    cpu->verify_ir = true;
    cpu->engine = engine;
  }
  void load(const uint8_t* code, const uint64_t* regs, uint64_t pc) {
    mem.protect(kCode, kExecPage, kRead | kWrite);
    std::memcpy(mem.host(kCode), code, kExecPage);
    mem.protect(kCode, kExecPage, kRead | kExec);
    std::memset(mem.host(kData), 0x5a, 2 * kExecPage);
    cpu->invalidate();
    Arch::init(cpu->state(), regs);
    cpu->set_pc(pc);
  }
  // Runs until a stop other than a syscall (or the limits); returns the final stop.
  Stop run() {
    Stop s{};
    for (unsigned n = 0; n < kMaxStops; ++n) {
      s = cpu->run(kBudget);
      if (s.reason != StopReason::Syscall) return s;
      cpu->set_pc(s.pc + Arch::kSyscallBytes);
    }
    return s;
  }
};

[[noreturn]] inline void fail_runs(const char* runs, const char* what) {
  std::fprintf(stderr, "difference between %s runs: %s\n", runs, what);
  std::abort();
}

// Both machines ran the same input: they must have stopped alike with the same state.
template <class Arch>
void compare(const char* runs, FuzzMachine<Arch>& x, FuzzMachine<Arch>& y, const Stop& a, const Stop& b) {
  if (a.reason != b.reason || a.pc != b.pc || a.addr != b.addr || a.signo != b.signo) fail_runs(runs, "stop");
  const size_t n = x.fe->arch().state_size - Arch::kStateBegin;
  if (std::memcmp(x.cpu->state() + Arch::kStateBegin, y.cpu->state() + Arch::kStateBegin, n) != 0)
    fail_runs(runs, "guest state");
  if (std::memcmp(x.mem.host(kData), y.mem.host(kData), 2 * kExecPage) != 0) fail_runs(runs, "memory");
}

template <class Arch>
int fuzz_execute(const uint8_t* data, size_t size) {
  static FuzzMachine<Arch> plain(false, Engine::Interp), fast(true, Engine::Interp), jit(true, Engine::Jit);
  set_fixed_guest_clock(123456789);  // (time must not move between the three runs: rdtsc, rdtime ...)
  // The input is the code, at the end of the code page (zero words before it are illegal).
  // Registers come from a generator seeded by the input, a few of them pointers into the data
  // pages, so every input runs with varied operands without spending bytes on them.
  uint64_t seed = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 0x100000001b3ull;
  uint64_t regs[64];
  for (auto& r : regs) {
    seed += 0x9e3779b97f4a7c15ull;  // splitmix64
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    r = z ^ (z >> 31);
  }
  for (unsigned r : Arch::kPointerRegs) regs[r] = kData + (regs[r] & (kExecPage - 16));
  if (size > kExecPage) size = kExecPage;
  uint8_t code[kExecPage] = {};
  std::memcpy(code + kExecPage - size, data, size);
  const uint64_t pc = kCode + kExecPage - (size + Arch::kAlign - 1) / Arch::kAlign * Arch::kAlign;
  plain.load(code, regs, pc);
  fast.load(code, regs, pc);
  jit.load(code, regs, pc);

  Stop a = plain.run(), b = fast.run(), c = jit.run();
  compare("lifted and optimised", plain, fast, a, b);
  compare("interpreted and compiled", fast, jit, b, c);
  return 0;
}

}  // namespace vmkit::fuzz
