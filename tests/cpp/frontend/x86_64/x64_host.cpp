// The host-comparison harnesses of the x86-64 instruction tests (expect_like_host, declared in
// x64_test_util.h, and the SSE one of x64_sse_test_util.h): the same instructions run on the host
// CPU, the reference, and in vmkit.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <xmmintrin.h>

#include <array>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <map>
#include <sstream>

#include "x64_sse_test_util.h"
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

}  // namespace

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

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

// ---- the SSE harness (x64_sse_test_util.h) ------------------------------------------------------

namespace {

// Loads the SseState at [rdi] (RFLAGS, then MXCSR last; the host's MXCSR saved at [rsp]), runs
// the text, stores the state back and restores the host's MXCSR.
const char* const kSsePrologue =
    "sub rsp, 8\nstmxcsr dword ptr [rsp]\n"
    "movdqu xmm0, [rdi]\nmovdqu xmm1, [rdi + 16]\nmovdqu xmm2, [rdi + 32]\nmovdqu xmm3, [rdi + 48]\n"
    "mov rax, [rdi + 64]\nmov rcx, [rdi + 72]\nmov rdx, [rdi + 80]\nlea rsi, [rdi + 112]\n"
    "push qword ptr [rdi + 88]\npopfq\nldmxcsr dword ptr [rdi + 96]\n";
const char* const kSseEpilogue =
    "\nstmxcsr dword ptr [rdi + 96]\npushfq\npop qword ptr [rdi + 88]\nldmxcsr dword ptr [rsp]\nadd rsp, 8\n"
    "movdqu [rdi], xmm0\nmovdqu [rdi + 16], xmm1\nmovdqu [rdi + 32], xmm2\nmovdqu [rdi + 48], xmm3\n"
    "mov [rdi + 64], rax\nmov [rdi + 72], rcx\nmov [rdi + 80], rdx\nret\n";

using SseHostFn = void (*)(SseState*);

// A signal the host took inside the text: the registers as its signal frame holds them.
struct HostFault {
  int signo = 0, code = 0;
  uint64_t offset = 0;  // of the faulting instruction in the text
  uint32_t mxcsr = 0;
  uint64_t x[4][2] = {};
};

sigjmp_buf g_fault_jump;
HostFault g_fault;
uint64_t g_text_start;

void on_host_fault(int signo, siginfo_t* info, void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
  g_fault.signo = signo;
  g_fault.code = info->si_code;
  g_fault.offset = uint64_t(uc->uc_mcontext.gregs[REG_RIP]) - g_text_start;
  g_fault.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  for (unsigned n = 0; n < 4; ++n) std::memcpy(g_fault.x[n], uc->uc_mcontext.fpregs->_xmm[n].element, 16);
  siglongjmp(g_fault_jump, 1);
}

// Runs the text natively from `s` (updated unless it faulted); `faulted` (and `fault`) say
// whether it trapped. False if there was no executable memory for it.
bool run_sse_on_host(const std::string& text, SseState& s, bool& faulted, HostFault& fault) {
  static const size_t prologue_bytes = X64Machine::assemble(kSsePrologue).size();
  auto fn = reinterpret_cast<SseHostFn>(host_executable(kSsePrologue + text + kSseEpilogue));
  if (!fn) {
    ADD_FAILURE() << "no executable memory for the host code";
    return false;
  }
  g_text_start = reinterpret_cast<uint64_t>(fn) + prologue_bytes;
  struct sigaction sa = {}, old_fpe, old_segv;
  sa.sa_sigaction = on_host_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGFPE, &sa, &old_fpe);
  sigaction(SIGSEGV, &sa, &old_segv);
  const unsigned host_csr = _mm_getcsr();
  volatile bool trapped = false;
  if (sigsetjmp(g_fault_jump, 1) == 0) fn(&s);
  else trapped = true;
  _mm_setcsr(host_csr);  // (a longjmp out of the handler leaves the handler's MXCSR)
  sigaction(SIGFPE, &old_fpe, nullptr);
  sigaction(SIGSEGV, &old_segv, nullptr);
  faulted = trapped;
  if (faulted) fault = g_fault;
  return true;
}

constexpr uint64_t kSseArea = kData + 0x100;               // rsi in vmkit (16-byte aligned)
constexpr uint64_t kUntouchedXmm = 0x5a5a000000000000ull;  // xmm4..15: this | register number
constexpr uint64_t kUntouchedGpr = 0x3c3c3c3c00000000ull;  // other GPRs: this | register number

uint64_t untouched_xmm(unsigned n, unsigned half) { return kUntouchedXmm | n << 4 | half; }

struct SseVmRun {
  Stop stop;
  SseState out;
  size_t code_bytes;
  std::string changed;  // the registers outside the compared ones that changed
};

// Runs the text in vmkit from `in`.
SseVmRun run_sse_in_vmkit(const std::string& text, const SseState& in) {
  // One machine for all runs (a new one per run costs more than the run): everything a run reads
  // is set here; the code is rewritten (throwing its translations away) only for a new text.
  static X64Machine m;
  static std::string loaded;
  static size_t code_bytes = 0;
  if (text != loaded) {
    std::vector<uint8_t> code = X64Machine::assemble(text);
    code_bytes = code.size();
    code.insert(code.end(), kUd2, kUd2 + 2);
    m.mem.debug_write(kCode, code.data(), code.size());
    loaded = text;
  }
  State& s = m.st();
  for (unsigned n = 0; n < 16; ++n)
    for (unsigned h = 0; h < 2; ++h) s.xmm[n][h] = n < 4 ? in.x[n][h] : untouched_xmm(n, h);
  for (unsigned r = 0; r < 16; ++r) s.r[r] = kUntouchedGpr | r;
  s.r[RAX] = in.rax;
  s.r[RCX] = in.rcx;
  s.r[RDX] = in.rdx;
  s.r[RSI] = kSseArea;
  s.r[RSP] = kData + 0x8000;
  set_rflags(s, (in.rflags & kArithFlags) | 0x202);
  s.mxcsr = in.mxcsr;
  m.mem.debug_write(kSseArea, in.mem, sizeof in.mem);
  m.cpu->set_pc(kCode);
  SseVmRun run{m.cpu->run(100000), in, code_bytes, ""};
  SseState& out = run.out;
  for (unsigned n = 0; n < 4; ++n)
    for (unsigned h = 0; h < 2; ++h) out.x[n][h] = s.xmm[n][h];
  out.rax = s.r[RAX];
  out.rcx = s.r[RCX];
  out.rdx = s.r[RDX];
  out.rflags = m.flags();
  out.mxcsr = s.mxcsr;
  m.mem.debug_read(kSseArea, out.mem, sizeof out.mem);
  std::ostringstream changed;
  for (unsigned n = 4; n < 16; ++n)
    for (unsigned h = 0; h < 2; ++h)
      if (s.xmm[n][h] != untouched_xmm(n, h)) changed << " xmm" << n << (h ? ".hi" : ".lo") << "=" << hex(s.xmm[n][h]);
  for (unsigned r = 0; r < 16; ++r) {
    const uint64_t want = r == RSP ? kData + 0x8000 : r == RSI ? kSseArea : kUntouchedGpr | r;
    if (r != RAX && r != RCX && r != RDX && s.r[r] != want) changed << " " << kRegNames[r] << "=" << hex(s.r[r]);
  }
  run.changed = changed.str();
  return run;
}

void diff_xmm(std::ostringstream& diff, const uint64_t (&vm)[4][2], const uint64_t (&host)[4][2]) {
  for (unsigned n = 0; n < 4; ++n)
    for (unsigned h = 0; h < 2; ++h)
      if (vm[n][h] != host[n][h])
        diff << " xmm" << n << (h ? ".hi " : ".lo ") << hex(vm[n][h]) << " (host " << hex(host[n][h]) << ")";
}

}  // namespace

bool expect_sse_like_host(const std::string& text, const SseState& in, uint32_t flags_mask, unsigned* faults) {
  SseState host = in;
  host.rflags = (in.rflags & kArithFlags) | 0x202;
  bool host_faulted = false;
  HostFault fault;
  if (!run_sse_on_host(text, host, host_faulted, fault)) return false;
  const SseVmRun vm = run_sse_in_vmkit(text, in);
  std::ostringstream diff;
  if (host_faulted) {
    if (faults) ++*faults;
    else diff << " (the host trapped, which this case does not expect)";
    if (vm.stop.reason != StopReason::Trap || vm.stop.signo != fault.signo || vm.stop.code != fault.code ||
        vm.stop.pc != kCode + fault.offset)
      diff << " stop " << stop_reason_name(vm.stop.reason) << " signal " << vm.stop.signo << " code " << vm.stop.code
           << " at +" << vm.stop.pc - kCode << " (host: signal " << fault.signo << " code " << fault.code << " at +"
           << fault.offset << ")";
    diff_xmm(diff, vm.out.x, fault.x);
    if (vm.out.mxcsr != fault.mxcsr) diff << " mxcsr " << hex(vm.out.mxcsr) << " (host " << hex(fault.mxcsr) << ")";
  } else {
    if (vm.stop.reason != StopReason::IllegalInsn || vm.stop.pc != kCode + vm.code_bytes)
      diff << " stopped with " << stop_reason_name(vm.stop.reason) << " signal " << vm.stop.signo << " code "
           << vm.stop.code << " at +" << vm.stop.pc - kCode << " (the host ran through)";
    diff_xmm(diff, vm.out.x, host.x);
    if (vm.out.rax != host.rax) diff << " rax " << hex(vm.out.rax) << " (host " << hex(host.rax) << ")";
    if (vm.out.rcx != host.rcx) diff << " rcx " << hex(vm.out.rcx) << " (host " << hex(host.rcx) << ")";
    if (vm.out.rdx != host.rdx) diff << " rdx " << hex(vm.out.rdx) << " (host " << hex(host.rdx) << ")";
    if ((vm.out.rflags ^ host.rflags) & flags_mask)
      diff << " flags " << hex(vm.out.rflags & flags_mask) << " (host " << hex(host.rflags & flags_mask) << ")";
    if (vm.out.mxcsr != host.mxcsr) diff << " mxcsr " << hex(vm.out.mxcsr) << " (host " << hex(host.mxcsr) << ")";
    for (size_t i = 0; i < sizeof host.mem; ++i)
      if (vm.out.mem[i] != host.mem[i]) {
        diff << " mem[" << i << "] " << hex(vm.out.mem[i]) << " (host " << hex(host.mem[i]) << ")";
        break;
      }
  }
  if (!vm.changed.empty()) diff << " changed" << vm.changed;
  if (diff.str().empty()) return true;
  std::ostringstream from;
  for (unsigned n = 0; n < 4; ++n) from << " xmm" << n << "=" << hex(in.x[n][1]) << ":" << hex(in.x[n][0]);
  ADD_FAILURE() << "`" << text << "` from" << from.str() << " rax=" << hex(in.rax) << " rcx=" << hex(in.rcx)
                << " rdx=" << hex(in.rdx) << " flags=" << hex(in.rflags & kArithFlags) << " mxcsr=" << hex(in.mxcsr)
                << ":" << diff.str();
  return false;
}

SseState sse_state_of(const V128& a, const V128& b, const V128& c, const V128& d, uint32_t mxcsr) {
  SseState s{};
  const V128 xs[4] = {a, b, c, d};
  for (unsigned n = 0; n < 4; ++n) {
    s.x[n][0] = xs[n].lo;
    s.x[n][1] = xs[n].hi;
  }
  s.rax = a.hi ^ b.lo;
  s.rcx = b.hi + a.lo;
  s.rdx = a.lo - b.hi;
  s.mxcsr = mxcsr;
  const V128 area[4] = {b, a, b, a};
  std::memcpy(s.mem, area, sizeof area);
  return s;
}

void expect_sse_pairs_like_host(const std::string& text, std::span<const V128> patterns, const V128& c, const V128& d,
                                uint32_t flags_mask, uint32_t mxcsr) {
  int failures = 0;
  for (const V128& a : patterns)
    for (const V128& b : patterns)
      if (!expect_sse_like_host(text, sse_state_of(a, b, c, d, mxcsr), flags_mask) && ++failures == 3) return;
}

void expect_alignment_fault(const std::string& text) {
  X64Machine m;
  for (unsigned h = 0; h < 2; ++h) {
    m.st().xmm[0][h] = 0x1111 + h;
    m.st().xmm[1][h] = 0x2222 + h;
  }
  const uint64_t kBefore[4] = {0xa0, 0xa1, 0xa2, 0xa3};
  m.mem.debug_write(kData, kBefore, sizeof kBefore);
  m.r(RSI) = kData + 8;
  Stop s = m.run(text);
  EXPECT_EQ(s.reason, StopReason::Trap) << text;
  EXPECT_EQ(s.pc, kCode) << text;
  EXPECT_EQ(s.signo, SIGSEGV) << text;
  for (unsigned h = 0; h < 2; ++h) {
    EXPECT_EQ(m.st().xmm[0][h], 0x1111u + h) << text;
    EXPECT_EQ(m.st().xmm[1][h], 0x2222u + h) << text;
  }
  uint64_t after[4];
  m.mem.debug_read(kData, after, sizeof after);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(after[i], kBefore[i]) << text << ": memory written";
}

}  // namespace vmkit::x64::test
