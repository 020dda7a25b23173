// Runs short A64 sequences, written as assembly text (LLVM's assembler) or as words, through the
// real frontend, optimiser, verifier and interpreter (or tier 1 under VMKIT_TEST_ENGINE=jit), so
// instruction tests check lifted semantics end to end.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "codetools/assembler.h"
#include "core/cpu.h"
#include "frontend/aarch64/frontend.h"
#include "frontend/aarch64/state.h"
#include "mmu/guest_memory.h"

namespace vmkit::a64::test {

constexpr uint64_t kCode = 0x10000;  // code page(s)
constexpr uint64_t kData = 0x40000;  // 64 KiB of read/write data
constexpr uint32_t kSvc0 = 0xd4000001;

struct A64Machine {
  std::unique_ptr<Frontend> fe = make_frontend();
  GuestMemory mem{1ull << 24};
  std::unique_ptr<Cpu> cpu;

  A64Machine() {
    mem.map(kCode, 0x10000, kRead | kExec, "code");
    mem.map(kData, 0x10000, kRead | kWrite, "data");
    cpu = std::make_unique<Cpu>(*fe, mem);
    cpu->verify_ir = true;
    // The suite runs once per engine (scripts/test.sh): VMKIT_TEST_ENGINE=jit compiles every block
    // with tier 1, so each instruction test also checks the JIT against the same expectations.
    if (const char* e = std::getenv("VMKIT_TEST_ENGINE"); e && std::string(e) == "jit") cpu->engine = Engine::Jit;
  }
  State& st() { return cpu->state_as<State>(); }
  uint64_t& x(unsigned i) { return st().x[i]; }
  uint64_t& sp() { return st().x[kSp]; }
  uint32_t nzcv() { return a64::nzcv(st()); }
  void set_nzcv(uint32_t v) { a64::set_nzcv(st(), v); }
  // The 128-bit register v<i> as (low, high) halves.
  uint64_t& vlo(unsigned i) { return st().v[i][0]; }
  uint64_t& vhi(unsigned i) { return st().v[i][1]; }

  // Writes the words at kCode followed by svc #0, runs from kCode, returns the stop (normally
  // the Syscall stop at the trailing svc).
  Stop run(const std::vector<uint32_t>& words) {
    std::vector<uint32_t> code = words;
    code.push_back(kSvc0);
    mem.debug_write(kCode, code.data(), 4 * code.size());
    cpu->set_pc(kCode);
    return cpu->run(100000);
  }
  Stop run(std::initializer_list<uint32_t> words) { return run(std::vector<uint32_t>(words)); }
  // Assembles `text` (lines separated by newlines or ';') at kCode.
  static std::vector<uint32_t> assemble(const std::string& text) {
    std::vector<uint8_t> bytes = vmkit::assemble("aarch64", text, kCode);
    std::vector<uint32_t> words(bytes.size() / 4);
    std::memcpy(words.data(), bytes.data(), 4 * words.size());
    return words;
  }
  Stop run(const std::string& text) { return run(assemble(text)); }
  Stop run(const char* text) { return run(std::string(text)); }
  // Runs the code and expects to reach the trailing svc.
  void exec(const std::string& text) { exec_words(assemble(text)); }
  void exec_words(const std::vector<uint32_t>& words) {
    Stop s = run(words);
    ASSERT_EQ(s.reason, StopReason::Syscall) << "stopped with " << stop_reason_name(s.reason) << " at pc 0x"
                                             << std::hex << s.pc;
    ASSERT_EQ(s.pc, kCode + 4 * words.size());
  }
};

// Runs a single word that must be unallocated or reserved: the stop is an illegal instruction at
// kCode with the word in it, and the registers are untouched.
inline void expect_illegal(uint32_t word) {
  A64Machine m;
  m.x(0) = 0x1234;
  Stop s = m.run({word});
  EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << word;
  EXPECT_EQ(s.pc, kCode) << std::hex << word;
  EXPECT_EQ(s.insn, word);
  EXPECT_EQ(m.x(0), 0x1234u) << std::hex << word;
}

// Sets the 128-bit register v<r> from its halves.
inline void set_v(A64Machine& m, unsigned r, uint64_t lo, uint64_t hi) {
  m.vlo(r) = lo;
  m.vhi(r) = hi;
}

// Checks both halves of v<r>.
#define EXPECT_V(m, r, lo, hi)                                   \
  do {                                                           \
    EXPECT_EQ((m).vlo(r), uint64_t(lo)) << "v" << (r) << ".lo"; \
    EXPECT_EQ((m).vhi(r), uint64_t(hi)) << "v" << (r) << ".hi"; \
  } while (0)

// Whether a single word stops as an illegal instruction.
inline bool illegal_word(uint32_t w) {
  A64Machine m;
  return m.run({w}).reason == StopReason::IllegalInsn;
}

// NZCV values (bits 31..28).
constexpr uint32_t N = 1u << 31, Z = 1u << 30, C = 1u << 29, V = 1u << 28;

}  // namespace vmkit::a64::test
