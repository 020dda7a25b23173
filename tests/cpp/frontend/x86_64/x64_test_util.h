// Runs short x86-64 sequences, written as Intel-syntax assembly (LLVM's assembler), through the
// real frontend (Zydis), optimiser, verifier and interpreter (or tier 1 under
// VMKIT_TEST_ENGINE=jit), and compares with the host CPU where a test runs the same instructions
// natively: the host is the reference.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codetools/assembler.h"
#include "core/cpu.h"
#include "frontend/x86_64/frontend.h"
#include "frontend/x86_64/state.h"
#include "mmu/guest_memory.h"

namespace vmkit::x64::test {

constexpr uint64_t kCode = 0x10000;  // code page(s)
constexpr uint64_t kData = 0x40000;  // 64 KiB of read/write data
constexpr uint8_t kUd2[2] = {0x0f, 0x0b};

struct X64Machine {
  std::unique_ptr<Frontend> fe = make_frontend();
  GuestMemory mem{1ull << 24};
  std::unique_ptr<Cpu> cpu;

  X64Machine() {
    mem.map(kCode, 0x10000, kRead | kExec, "code");
    mem.map(kData, 0x10000, kRead | kWrite, "data");
    cpu = std::make_unique<Cpu>(*fe, mem);
    cpu->verify_ir = true;
    // The suite runs once per engine (scripts/test.sh): VMKIT_TEST_ENGINE=jit compiles every block
    // with tier 1, so each instruction test also checks the JIT against the same expectations.
    if (const char* e = std::getenv("VMKIT_TEST_ENGINE"); e && std::string(e) == "jit") cpu->engine = Engine::Jit;
    st().mxcsr = 0x1f80;
    st().r[RSP] = kData + 0x8000;
  }
  State& st() { return cpu->state_as<State>(); }
  uint64_t& r(unsigned i) { return st().r[i]; }
  uint64_t flags() { return rflags(st()) & kArithFlags; }

  static std::vector<uint8_t> assemble(const std::string& text) { return vmkit::assemble("x86_64", text, kCode); }
  // Writes the code at kCode followed by ud2, runs from kCode, returns the stop (normally the
  // illegal-instruction stop at the trailing ud2).
  Stop run_bytes(std::vector<uint8_t> code) {
    code.insert(code.end(), kUd2, kUd2 + 2);
    mem.debug_write(kCode, code.data(), code.size());
    cpu->set_pc(kCode);
    return cpu->run(100000);
  }
  Stop run(const std::string& text) { return run_bytes(assemble(text)); }
  // Runs the code and expects to reach the trailing ud2.
  void exec(const std::string& text) {
    std::vector<uint8_t> code = assemble(text);
    Stop s = run_bytes(code);
    ASSERT_EQ(s.reason, StopReason::IllegalInsn) << "stopped with " << stop_reason_name(s.reason) << " at pc 0x"
                                                 << std::hex << s.pc;
    ASSERT_EQ(s.pc, kCode + code.size()) << "stopped early";
  }
};

// `text` (a whole function, Intel syntax) assembled for the host into an executable pool, once
// per text; nullptr if the pool is full (x64_host.cpp).
void* host_executable(const std::string& text);

constexpr size_t kAreaBytes = 1024;  // expect_like_host's data area; the base register points at its middle

// Runs `text` on the host CPU and in vmkit from the same registers (rsp excepted) and arithmetic
// flags, and expects the same registers, data area and the flags in `flags_mask` (the ones the SDM
// defines for the case) afterwards. With base >= 0, that register holds the address of the middle
// of a 1 KiB data area filled from `data` (compared as an offset). Returns whether all matched
// (x64_host.cpp).
bool expect_like_host(const std::string& text, const std::array<uint64_t, 16>& regs, uint32_t flags_in,
                      uint32_t flags_mask, int base, const std::vector<uint8_t>& data);

// "0x" and the value in hex (x64_host.cpp).
std::string hex(uint64_t v);

// A distinct value in every GPR (expect_like_host's registers where a case needs none).
inline std::array<uint64_t, 16> filler_regs() {
  std::array<uint64_t, 16> r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = 0x5a5a5a5a5a5a5a5aull ^ (0x0101010101010101ull * i);
  return r;
}

// The x87 tests' text for expect_like_host with rsi at the middle of the data area: `insns`
// between fxrstor64 of the image at [rsi - 512] and fxsave64 of the result at [rsi] and its
// fnstenv at [rsi + 416], then clearing what the host fills in its own way - the image's FOP, FIP,
// FDP and MXCSR_MASK (AMD writes the first three only while an exception is pending; the host's
// mask has DAZ and more), the environment's FCS and FDS selectors (vmkit keeps none) and, with
// `clear_env_pointers`, its FIP, FOP and FDP too - and leaving the host's x87 and MXCSR as the
// ABI wants them. Neither fxsave64 nor fnstenv waits: a pending exception does not trap here.
inline std::string x87_probe(const std::string& insns, bool clear_env_pointers = false) {
  return "fxrstor64 [rsi - 512]\n" + insns +
         "\nfxsave64 [rsi]\nfnstenv [rsi + 416]\n"
         "mov word ptr [rsi + 6], 0\nmov qword ptr [rsi + 8], 0\nmov qword ptr [rsi + 16], 0\n"
         "mov dword ptr [rsi + 28], 0\n" +
         (clear_env_pointers
              ? "mov qword ptr [rsi + 428], 0\nmov qword ptr [rsi + 436], 0\nmov dword ptr [rsi + 440], 0\n"
              : "mov word ptr [rsi + 432], 0\nmov word ptr [rsi + 440], 0\n") +
         "fninit\nmov dword ptr [rsi + 508], 0x1f80\nldmxcsr [rsi + 508]";
}

}  // namespace vmkit::x64::test
