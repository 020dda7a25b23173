// The host-comparison harness of the x86-64 instruction tests (expect_like_host, declared in
// x64_test_util.h): the same instructions run on the host CPU, the reference, and in vmkit.
#include <sys/mman.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

// What the host's trampoline loads and stores: the 16 GPRs (rsp is neither) and RFLAGS.
struct HostRegs {
  uint64_t r[16];
  uint64_t flags;
};
using HostFn = void (*)(HostRegs*);

const char* const kRegNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// The code around `text` on the host: rdi points at a HostRegs; every GPR but rsp is loaded from
// it, and the arithmetic flags; after the text, all are stored back.
std::string host_wrapped(const std::string& text) {
  std::ostringstream s;
  s << "push rbx; push rbp; push r12; push r13; push r14; push r15; push rdi\n"
    << "push qword ptr [rdi + 128]; popfq\n";
  for (unsigned i = 0; i < 16; ++i)
    if (i != RSP && i != RDI) s << "mov " << kRegNames[i] << ", [rdi + " << 8 * i << "]\n";
  s << "mov rdi, [rdi + 56]\n" << text << "\n";
  s << "pushfq; push rdi; mov rdi, [rsp + 16]; pop qword ptr [rdi + 56]; pop qword ptr [rdi + 128]\n";
  for (unsigned i = 0; i < 16; ++i)
    if (i != RSP && i != RDI) s << "mov [rdi + " << 8 * i << "], " << kRegNames[i] << "\n";
  s << "pop rdi; pop r15; pop r14; pop r13; pop r12; pop rbp; pop rbx; ret\n";
  return s.str();
}

HostFn host_code(const std::string& text) { return reinterpret_cast<HostFn>(host_executable(host_wrapped(text))); }

struct RunResult {
  std::array<uint64_t, 16> r;
  uint32_t flags;
  std::vector<uint8_t> area;
};

RunResult run_on_host(const std::string& text, std::array<uint64_t, 16> regs, uint32_t flags_in, int base,
                      std::vector<uint8_t> area) {
  HostRegs h{};
  area.resize(kAreaBytes);
  if (base >= 0) regs[base] = reinterpret_cast<uint64_t>(area.data() + kAreaBytes / 2);
  for (unsigned i = 0; i < 16; ++i) h.r[i] = regs[i];
  h.flags = (flags_in & kArithFlags) | 0x202;
  HostFn fn = host_code(text);
  if (!fn) {
    ADD_FAILURE() << "no executable memory for the host code";
    return {};
  }
  fn(&h);
  RunResult out{{}, uint32_t(h.flags) & kArithFlags, area};
  for (unsigned i = 0; i < 16; ++i) out.r[i] = h.r[i];
  if (base >= 0) out.r[base] -= reinterpret_cast<uint64_t>(area.data() + kAreaBytes / 2);
  return out;
}

RunResult run_in_vmkit(const std::string& text, std::array<uint64_t, 16> regs, uint32_t flags_in, int base,
                       std::vector<uint8_t> area) {
  static std::map<std::string, std::vector<uint8_t>> cache;
  auto it = cache.find(text);
  if (it == cache.end()) it = cache.emplace(text, X64Machine::assemble(text)).first;
  // One machine for all runs (a new one per run costs more than the run): everything a run reads
  // is set here, and rewriting the code invalidates its translations.
  static X64Machine m;
  area.resize(kAreaBytes);
  m.mem.debug_write(kData, area.data(), area.size());
  if (base >= 0) regs[base] = kData + kAreaBytes / 2;
  for (unsigned i = 0; i < 16; ++i) m.r(i) = i == RSP ? kData + 0x8000 : regs[i];
  set_rflags(m.st(), (flags_in & kArithFlags) | 0x202);
  Stop s = m.run_bytes(it->second);
  EXPECT_TRUE(s.reason == StopReason::IllegalInsn && s.pc == kCode + it->second.size())
      << text << ": stopped with " << stop_reason_name(s.reason) << " at pc 0x" << std::hex << s.pc;
  RunResult out{{}, uint32_t(m.flags()), std::vector<uint8_t>(kAreaBytes)};
  for (unsigned i = 0; i < 16; ++i) out.r[i] = m.r(i);
  if (base >= 0) out.r[base] -= kData + kAreaBytes / 2;
  m.mem.debug_read(kData, out.area.data(), kAreaBytes);
  return out;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

// Runs `text` on the host CPU and in vmkit from the same registers (rsp excepted) and arithmetic
// flags, and expects the same registers, data area and the flags in `flags_mask` (the ones the SDM
// defines for the case) afterwards. With base >= 0, that register holds the address of the middle
// of a 1 KiB data area filled from `data` (compared as an offset). Returns whether all matched.
bool expect_like_host(const std::string& text, const std::array<uint64_t, 16>& regs, uint32_t flags_in,
                      uint32_t flags_mask, int base, const std::vector<uint8_t>& data) {
  const RunResult host = run_on_host(text, regs, flags_in, base, data);
  const RunResult vm = run_in_vmkit(text, regs, flags_in, base, data);
  std::ostringstream diff;
  for (unsigned i = 0; i < 16; ++i)
    if (i != RSP && host.r[i] != vm.r[i]) diff << " " << kRegNames[i] << " " << hex(vm.r[i]) << " (host " << hex(host.r[i]) << ")";
  if ((host.flags ^ vm.flags) & flags_mask)
    diff << " flags " << hex(vm.flags & flags_mask) << " (host " << hex(host.flags & flags_mask) << ")";
  for (size_t i = 0; i < kAreaBytes; ++i)
    if (host.area[i] != vm.area[i]) {
      diff << " data[" << int(i) - int(kAreaBytes / 2) << "] " << hex(vm.area[i]) << " (host " << hex(host.area[i]) << ")";
      break;
    }
  if (diff.str().empty()) return true;
  std::ostringstream in;
  for (unsigned i = 0; i < 16; ++i)
    if (regs[i] && int(i) != base) in << " " << kRegNames[i] << "=" << hex(regs[i]);
  ADD_FAILURE() << "`" << text << "` from" << in.str() << " flags=" << hex(flags_in) << ":" << diff.str();
  return false;
}

void* host_executable(const std::string& text) {
  static std::map<std::string, void*> cache;
  static uint8_t* pool = nullptr;
  static size_t used = 0;
  constexpr size_t kPool = 4 << 20;
  if (auto it = cache.find(text); it != cache.end()) return it->second;
  if (!pool) {
    void* p = mmap(nullptr, kPool, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    pool = static_cast<uint8_t*>(p);
  }
  uint8_t* at = pool + used;
  std::vector<uint8_t> code = vmkit::assemble("x86_64", text, reinterpret_cast<uint64_t>(at));
  if (used + code.size() > kPool) return nullptr;
  std::memcpy(at, code.data(), code.size());
  used += (code.size() + 63) & ~size_t(63);
  return cache[text] = at;
}

}  // namespace vmkit::x64::test
