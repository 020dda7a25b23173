// Runs short RISC-V instruction sequences through the real frontend, optimiser, verifier and
// interpreter, so instruction tests check lifted semantics end to end.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <initializer_list>
#include <memory>
#include <vector>

#include "core/cpu.h"
#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "mmu/guest_memory.h"

namespace vmkit::rv64::test {

constexpr uint64_t kCode = 0x10000;   // code page(s)
constexpr uint64_t kData = 0x40000;   // 64 KiB of read/write data
constexpr uint32_t kEcall = 0x00000073;

struct Rv64Machine {
  std::unique_ptr<Frontend> fe = make_frontend();
  GuestMemory mem{1ull << 24};
  std::unique_ptr<Cpu> cpu;

  Rv64Machine() {
    mem.map(kCode, 0x10000, kRead | kExec, "code");
    mem.map(kData, 0x10000, kRead | kWrite, "data");
    cpu = std::make_unique<Cpu>(*fe, mem);
    cpu->verify_ir = true;
    // The suite runs once per engine (scripts/test.sh): VMKIT_TEST_ENGINE=jit compiles every block
    // with tier 1, so each instruction test also checks the JIT against the same expectations.
    if (const char* e = std::getenv("VMKIT_TEST_ENGINE"); e && std::string(e) == "jit") cpu->engine = Engine::Jit;
    st().res_addr = kNoReservation;
  }
  State& st() { return cpu->state_as<State>(); }
  uint64_t& x(unsigned i) { return st().x[i]; }
  uint64_t& f(unsigned i) { return st().f[i]; }

  // Writes 32-bit instruction words at kCode followed by ecall, runs from kCode, and returns the
  // stop (normally the Syscall stop at the trailing ecall).
  Stop run(std::initializer_list<uint32_t> words) { return run(std::vector<uint32_t>(words)); }
  Stop run(const std::vector<uint32_t>& words) {
    std::vector<uint8_t> bytes;
    for (uint32_t w : words) for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(w >> (8 * i)));
    return run_bytes(bytes);
  }
  // Same with a raw byte stream (mixes 16- and 32-bit encodings); ecall is appended.
  Stop run_bytes(std::vector<uint8_t> bytes) {
    for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(kEcall >> (8 * i)));
    write_code(bytes.data(), bytes.size());
    cpu->set_pc(kCode);
    return cpu->run(100000);
  }
  // Places code at kCode (the page stays read+execute; a debugger's write, which drops the
  // translations of the code it overwrites).
  void write_code(const void* code, size_t n) { mem.debug_write(kCode, code, n); }
  // Runs words and expects to reach the trailing ecall.
  void exec(std::initializer_list<uint32_t> words) {
    Stop s = run(words);
    ASSERT_EQ(s.reason, StopReason::Syscall) << "stopped with " << stop_reason_name(s.reason) << " at pc 0x"
                                             << std::hex << s.pc;
    ASSERT_EQ(s.pc, kCode + 4 * words.size());
  }
};

// Encoders for the common formats (so tests read like assembly).
inline uint32_t r_type(uint32_t f7, unsigned rs2, unsigned rs1, uint32_t f3, unsigned rd, uint32_t opc) {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
inline uint32_t i_type(int32_t imm, unsigned rs1, uint32_t f3, unsigned rd, uint32_t opc) {
  return (uint32_t(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
inline uint32_t s_type(int32_t imm, unsigned rs2, unsigned rs1, uint32_t f3, uint32_t opc) {
  return (uint32_t((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | opc;
}
inline uint32_t b_type(int32_t imm, unsigned rs2, unsigned rs1, uint32_t f3) {
  uint32_t u = uint32_t(imm);
  return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
         (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
inline uint32_t u_type(uint32_t imm20, unsigned rd, uint32_t opc) { return (imm20 << 12) | (rd << 7) | opc; }
inline uint32_t j_type(int32_t imm, unsigned rd) {
  uint32_t u = uint32_t(imm);
  return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) | (((u >> 12) & 0xff) << 12) |
         (rd << 7) | 0x6f;
}
inline uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 0, rd, 0x13); }

}  // namespace vmkit::rv64::test
