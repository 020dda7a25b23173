// libFuzzer target for executing RISC-V code: the input becomes code (registers are derived from
// it); the code runs three times - once from blocks as lifted, once after the optimiser and the
// interpreter's merges (what vmkit normally runs), once compiled by the tier-1 JIT - and all runs
// must stop the same way with the same registers and memory. Any crash, sanitizer report, hang or
// difference is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/cpu.h"
#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "mmu/guest_memory.h"

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kCode = 0x10000;  // code page (r-x), the input's tail
constexpr uint64_t kData = 0x20000;  // two data pages (rw-), pointed at by some registers
constexpr unsigned kMaxStops = 64;   // syscalls skipped before giving up on a run
constexpr uint64_t kBudget = 4000;   // guest instructions per run() call

struct Machine {
  std::unique_ptr<vmkit::Frontend> fe = vmkit::rv64::make_frontend();
  vmkit::GuestMemory mem{1ull << 20};
  std::unique_ptr<vmkit::Cpu> cpu;
  Machine(bool optimize, vmkit::Engine engine) {
    mem.map(kCode, kPage, vmkit::kRead | vmkit::kWrite);
    mem.map(kData, 2 * kPage, vmkit::kRead | vmkit::kWrite);
    cpu = std::make_unique<vmkit::Cpu>(*fe, mem);
    cpu->optimize_ir = optimize;
    cpu->verify_ir = true;
    cpu->engine = engine;
  }
  void load(const uint8_t* code, const uint64_t* regs) {
    mem.protect(kCode, kPage, vmkit::kRead | vmkit::kWrite);
    std::memcpy(mem.host(kCode), code, kPage);
    mem.protect(kCode, kPage, vmkit::kRead | vmkit::kExec);
    std::memset(mem.host(kData), 0x5a, 2 * kPage);
    cpu->invalidate();
    auto& st = cpu->state_as<vmkit::rv64::State>();
    for (unsigned i = 1; i < 32; ++i) st.x[i] = regs[i];
    for (unsigned i = 0; i < 32; ++i) st.f[i] = regs[i] ^ 0xfff0000000000000ull;
    st.pc = kCode;
    st.res_addr = vmkit::rv64::kNoReservation;
    st.res_value = 0;
    st.fflags = 0;
    st.frm = unsigned(regs[0] & 7);
  }
  // Runs until a stop other than a syscall (or the limits); returns the final stop.
  vmkit::Stop run() {
    vmkit::Stop s{};
    for (unsigned n = 0; n < kMaxStops; ++n) {
      s = cpu->run(kBudget);
      if (s.reason != vmkit::StopReason::Syscall) return s;
      cpu->set_pc(s.pc + 4);  // ecall is 4 bytes; a7 etc. stay as they are
    }
    return s;
  }
};

[[noreturn]] void fail(const char* runs, const char* what) {
  std::fprintf(stderr, "difference between %s runs: %s\n", runs, what);
  std::abort();
}

// Both machines ran the same input: they must have stopped alike with the same state.
void compare(const char* runs, Machine& x, Machine& y, const vmkit::Stop& a, const vmkit::Stop& b) {
  if (a.reason != b.reason || a.pc != b.pc || a.addr != b.addr || a.signo != b.signo) fail(runs, "stop");
  const auto& sa = x.cpu->state_as<vmkit::rv64::State>();
  const auto& sb = y.cpu->state_as<vmkit::rv64::State>();
  if (std::memcmp(sa.x, sb.x, sizeof sa.x) != 0) fail(runs, "integer registers");
  if (std::memcmp(sa.f, sb.f, sizeof sa.f) != 0) fail(runs, "floating-point registers");
  if (sa.fflags != sb.fflags || sa.frm != sb.frm) fail(runs, "fcsr");
  if (sa.res_addr != sb.res_addr) fail(runs, "reservation");
  if (std::memcmp(x.mem.host(kData), y.mem.host(kData), 2 * kPage) != 0) fail(runs, "memory");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Machine plain(false, vmkit::Engine::Interp), fast(true, vmkit::Engine::Interp),
      jit(true, vmkit::Engine::Jit);
  // The input is the code, at the end of the code page (zero halfwords before it are illegal).
  // Registers come from a generator seeded by the input, a few of them pointers into the data
  // pages, so every input runs with varied operands without spending bytes on them.
  uint64_t seed = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 0x100000001b3ull;
  uint64_t regs[32];
  for (auto& r : regs) {
    seed += 0x9e3779b97f4a7c15ull;  // splitmix64
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    r = z ^ (z >> 31);
  }
  for (unsigned r : {2u, 8u, 10u, 11u}) regs[r] = kData + (regs[r] & (kPage - 8));
  if (size > kPage) size = kPage;
  uint8_t code[kPage] = {};
  std::memcpy(code + kPage - size, data, size);
  plain.load(code, regs);
  fast.load(code, regs);
  jit.load(code, regs);
  plain.cpu->set_pc(kCode + kPage - ((size + 1) & ~size_t(1)));
  fast.cpu->set_pc(plain.cpu->pc());
  jit.cpu->set_pc(plain.cpu->pc());

  vmkit::Stop a = plain.run(), b = fast.run(), c = jit.run();
  compare("lifted and optimised", plain, fast, a, b);
  compare("interpreted and compiled", fast, jit, b, c);
  return 0;
}
