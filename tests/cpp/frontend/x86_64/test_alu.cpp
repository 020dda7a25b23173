// Data movement and the ALU group, with partial registers and the lazily kept flags.
#include <sys/mman.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

#include "x64_test_util.h"

namespace vmkit::x64::test {


namespace {

TEST(X64Alu, PartialRegisterWritesFollowX86Rules) {
  X64Machine m;
  m.r(RAX) = 0x1122334455667788ull;
  m.r(RBX) = 0x1122334455667788ull;
  m.r(RCX) = 0x1122334455667788ull;
  m.r(RDX) = 0x1122334455667788ull;
  m.exec("mov eax, 0x99; mov bx, 0x99; mov cl, 0x99; mov dh, 0x99");
  EXPECT_EQ(m.r(RAX), 0x99u) << "a 32-bit write zero-extends";
  EXPECT_EQ(m.r(RBX), 0x1122334455660099ull) << "16 bits merge";
  EXPECT_EQ(m.r(RCX), 0x1122334455667799ull) << "8 bits merge";
  EXPECT_EQ(m.r(RDX), 0x1122334455669988ull) << "dh is bits 15..8";
}

TEST(X64Alu, CompareAndBranchUseTheOperands) {
  X64Machine m;
  m.r(RAX) = uint64_t(-5);
  m.r(RBX) = 3;
  m.exec("cmp rax, rbx; jl 1f; mov ecx, 1; 1: cmp rax, rbx; jb 2f; mov edx, 1; 2: nop");
  EXPECT_EQ(m.r(RCX), 0u) << "-5 < 3 signed";
  EXPECT_EQ(m.r(RDX), 1u) << "not below unsigned";
}

TEST(X64Alu, FlagsOfAddAndSubAtEveryWidth) {
  X64Machine m;
  m.r(RAX) = 0x7f;
  m.exec("add al, 1");
  EXPECT_EQ(m.flags(), kOF | kSF | kAF) << "0x7f + 1 = 0x80: signed overflow, half carry, odd parity";
  m.r(RAX) = 0xffffffff;
  m.exec("add eax, 1");
  EXPECT_EQ(m.flags(), kCF | kZF | kPF | kAF);
  EXPECT_EQ(m.r(RAX), 0u);
  m.r(RAX) = 0;
  m.exec("sub rax, 1");
  EXPECT_EQ(m.flags(), kCF | kSF | kPF | kAF);
}

TEST(X64Alu, CallAndRetUseTheStack) {
  X64Machine m;
  const uint64_t sp = m.r(RSP);
  m.exec("call 1f; jmp 2f; 1: mov eax, 7; ret; 2: nop");
  EXPECT_EQ(m.r(RAX), 7u);
  EXPECT_EQ(m.r(RSP), sp);
}

TEST(X64Alu, RipRelativeAndScaledAddresses) {
  X64Machine m;
  m.r(RSI) = kData;
  m.r(RDI) = 3;
  m.exec("lea rax, [rip + 0x10]; lea rbx, [rsi + rdi*8 + 0x20]; mov qword ptr [rsi + rdi*8], rbx; mov rcx, [rsi + 24]");
  EXPECT_EQ(m.r(RAX), kCode + 7 + 0x10);
  EXPECT_EQ(m.r(RBX), kData + 24 + 0x20);
  EXPECT_EQ(m.r(RCX), kData + 24 + 0x20);
}

TEST(X64Alu, AnUnliftedInstructionStopsWithItsBytes) {
  X64Machine m;
  std::vector<uint8_t> code = X64Machine::assemble("vaddps ymm0, ymm1, ymm2");
  Stop s = m.run_bytes(code);
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.pc, kCode);
  uint32_t first4 = 0;
  std::memcpy(&first4, code.data(), 4);
  EXPECT_EQ(s.insn, first4);
}


// ---- compared with the host ---------------------------------------------------------------

using Regs = std::array<uint64_t, 16>;

// Distinct values in every register, so a write to the wrong part of one shows.
Regs patterned() {
  Regs r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = 0x0101010101010101ull * (0x10 + 0x11 * i) ^ 0x8040201008040201ull;
  return r;
}

// Edge values of every width: 0, 1, the sign boundaries, all ones, and a mixed pattern.
const uint64_t kEdges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff,
                           0x7fffffffffffffff, 0x8000000000000000, ~0ull, 0x0123456789abcdef};

// Runs every text over edge values in rax and rbx (and rcx = rbx) with CF clear and set.
void sweep(const std::vector<std::string>& texts, uint32_t flags_mask) {
  unsigned failures = 0;
  for (const std::string& t : texts)
    for (uint64_t a : kEdges)
      for (uint64_t b : kEdges)
        for (uint32_t f : {0u, kCF | kZF | kOF}) {
          Regs r = patterned();
          r[RAX] = a;
          r[RBX] = b;
          r[RCX] = b;
          if (!expect_like_host(t, r, f, flags_mask, -1, {}) && ++failures > 10) return;
        }
}

// Every width's register forms, the high-byte registers, and the immediate encodings (imm8
// sign-extended to 16/32/64 bits, imm32 sign-extended to 64).
std::vector<std::string> alu_forms(const std::string& op) {
  return {op + " al, bl",   op + " ah, bl",        op + " bh, ah",        op + " ax, bx",       op + " eax, ebx",
          op + " rax, rbx", op + " al, 0x85",      op + " ax, -2",        op + " ax, 0x1234",   op + " eax, -1",
          op + " eax, 0x7f", op + " eax, 0x89abcdef", op + " rax, -1", op + " rax, 0x7f", op + " rax, -0x12345678",
          op + " rbx, 0x12345678", op + " cx, -0x80", op + " bl, -1"};
}

TEST(X64Alu, ArithmeticMatchesTheHost) {
  for (const char* op : {"add", "sub", "cmp", "adc", "sbb"}) sweep(alu_forms(op), kArithFlags);
}

TEST(X64Alu, LogicMatchesTheHost) {
  for (const char* op : {"and", "or", "xor", "test"}) sweep(alu_forms(op), kArithFlags & ~kAF);  // AF undefined
}

TEST(X64Alu, IncDecNegNotMatchTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"inc", "dec", "neg", "not"})
    for (const char* reg : {"al", "ah", "bx", "ebx", "rax"}) texts.push_back(std::string(op) + " " + reg);
  sweep(texts, kArithFlags);
}

TEST(X64Alu, MemoryOperandsMatchTheHost) {
  std::vector<uint8_t> data(kAreaBytes);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 37 + 0x81);
  unsigned failures = 0;
  for (const char* text :
       {"add qword ptr [rsi + 8], rbx", "sub rbx, qword ptr [rsi - 16]", "adc dword ptr [rsi], ebx", "sbb word ptr [rsi + 2], -3",
        "and byte ptr [rsi + 1], 0x85", "or bh, byte ptr [rsi + 3]", "xor qword ptr [rsi], -0x5555", "cmp dword ptr [rsi], -1",
        "test byte ptr [rsi + 7], bl", "inc word ptr [rsi]", "dec qword ptr [rsi - 8]", "neg dword ptr [rsi + 4]",
        "not byte ptr [rsi + 5]", "mov rax, qword ptr [rsi + 3]", "mov word ptr [rsi - 1], bx", "mov qword ptr [rsi], -2",
        "mov byte ptr [rsi + rcx*4 - 3], 0x7f", "movzx eax, byte ptr [rsi]", "movzx rax, word ptr [rsi + 1]",
        "movsx eax, byte ptr [rsi + 3]", "movsx rax, word ptr [rsi + 3]", "movsxd rax, dword ptr [rsi + 1]",
        "movsx ax, byte ptr [rsi + 3]", "xchg qword ptr [rsi], rbx", "xchg bl, byte ptr [rsi + 1]", "xchg word ptr [rsi + 2], bx"}) {
    const std::string t = text;
    const bool logic = t.rfind("and", 0) == 0 || t.rfind("or", 0) == 0 || t.rfind("xor", 0) == 0 || t.rfind("test", 0) == 0;
    for (uint64_t b : {0x0ull, 0x1ull, 0x8000000000000080ull, ~0ull})
      for (uint32_t f : {0u, kCF}) {
        Regs r = patterned();
        r[RBX] = b;
        r[RCX] = b & 0x1f;  // the scaled index
        if (!expect_like_host(text, r, f, logic ? kArithFlags & ~kAF : kArithFlags, RSI, data) && ++failures > 10) return;
      }
  }
}

TEST(X64Alu, MovesAndExtensionsMatchTheHost) {
  sweep({"mov al, bl", "mov ah, bl", "mov bx, ax", "mov eax, ebx", "mov rax, rbx", "mov eax, 0x89abcdef",
         "mov rax, -5", "movabs rax, 0x123456789abcdef0", "mov ax, 0x8001", "mov bh, 0x80",
         "movzx eax, bl", "movzx eax, bh", "movzx rax, bx", "movzx ax, bl", "movsx eax, bl", "movsx eax, bh",
         "movsx rax, bx", "movsx ax, bl", "movsx eax, bx", "movsxd rax, ebx", ".byte 0x63, 0xc3 // movsxd eax, ebx",
         "xchg rax, rbx", "xchg eax, ebx", "xchg ax, bx", "xchg al, bh", "xchg ah, bl", ".byte 0x87, 0xc0",
         "bswap eax", "bswap rax", "bswap r9d", "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo",
         "lea eax, [rbx + rax*2 + 0x10]", "lea ax, [rbx + rax*4 - 1]", "lea eax, [ebx + eax*8 + 0x7ffffff0]",
         "lea rax, [ebx + eax + 0x10]", "lea eax, [rbx + rcx]", "lea r10, [rax + rbx*8 - 0x80]"},
        kArithFlags);
}

TEST(X64Alu, CarryFlagInstructionsMatchTheHost) {
  sweep({"clc", "stc", "cmc", "add eax, ebx; cmc", "sub al, bl; stc", "cmp rax, rbx; clc; cmc",
         "adc eax, ebx; adc eax, ebx"},
        kArithFlags);
}

TEST(X64Alu, NopFormsDoNothing) {
  sweep({"nop", "nop dword ptr [rax + rax*1 + 0]", "nop word ptr [rbx + 0x1234]", "xchg ax, ax", "endbr64", "pause",
         ".byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00"},
        kArithFlags);
}

TEST(X64Alu, Bmi1MatchesTheHost) {
  // The flags the SDM defines: andn SF ZF (CF OF 0); bextr ZF (CF OF 0); blsi/blsmsk/blsr SF ZF CF (OF 0).
  sweep({"andn eax, ebx, ecx", "andn rax, rbx, rax", "andn r8, rax, rbx"}, kArithFlags & ~(kAF | kPF));
  sweep({"blsi eax, ebx", "blsi rax, rbx", "blsmsk eax, ebx", "blsmsk rax, rbx", "blsr eax, ebx", "blsr rax, rbx",
         "blsr r12, rax"},
        kArithFlags & ~(kAF | kPF));
  unsigned failures = 0;
  for (const char* text : {"bextr eax, ebx, ecx", "bextr rax, rbx, rcx", "bextr rax, qword ptr [rsi], rcx"})
    for (uint64_t v : kEdges)
      for (unsigned start : {0u, 1u, 4u, 31u, 32u, 33u, 63u, 64u, 200u})
        for (unsigned len : {0u, 1u, 8u, 31u, 32u, 33u, 63u, 64u, 65u, 255u}) {
          Regs r = patterned();
          r[RBX] = v;
          r[RCX] = 0xabcd0000ull | (len << 8) | start;  // bits above 15 are ignored
          std::vector<uint8_t> data(kAreaBytes);
          std::memcpy(&data[kAreaBytes / 2], &v, 8);
          if (!expect_like_host(text, r, kCF | kOF, kZF | kCF | kOF, RSI, data) && ++failures > 10) return;
        }
}

// The flags of a block's setter reach an instruction of a later block (through the state) the
// same as within the block.
TEST(X64Alu, FlagsCrossBlocks) {
  sweep({"add al, bl; jmp 1f; 1: adc eax, ebx", "inc bl; jmp 1f; 1: sbb rax, rbx", "neg ebx; jmp 1f; 1: cmc",
         "dec ax; jmp 1f; 1: inc rbx", "blsi eax, ebx; jmp 1f; 1: adc eax, 0"},
        kArithFlags & ~(kAF | kPF));
}

TEST(X64Alu, MoffsAndAbsoluteMoves) {
  X64Machine m;
  const uint64_t v = 0x1122334455667788ull;
  m.mem.debug_write(kData + 0x100, &v, 8);
  m.r(RBX) = 0xaaaaaaaaaaaaaaaaull;
  m.exec("movabs rax, qword ptr [0x40100]; movabs al, byte ptr [0x40107]; movabs qword ptr [0x40200], rax;"
         " movabs eax, dword ptr [0x40104]; mov ebx, dword ptr [0x40100]");
  uint64_t stored = 0;
  m.mem.debug_read(kData + 0x200, &stored, 8);
  EXPECT_EQ(stored, 0x1122334455667711ull);
  EXPECT_EQ(m.r(RAX), 0x11223344ull) << "a 32-bit load zero-extends";
  EXPECT_EQ(m.r(RBX), 0x55667788ull);
}

// A store that faults leaves the registers and flags as they were: xchg's load has run, its
// register write must wait for the store.
TEST(X64Alu, FaultingReadModifyWriteLeavesRegisters) {
  X64Machine m;
  m.r(RAX) = 5;
  m.r(RSI) = kCode;  // readable, not writable
  Stop s = m.run("cmp eax, 7; xchg qword ptr [rsi], rax");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.r(RAX), 5u);
  EXPECT_EQ(m.flags(), kCF | kSF | kAF) << "5 - 7 = 0xfffffffe";
  s = m.run("cmp eax, 7; add qword ptr [rsi], 1");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.flags(), kCF | kSF | kAF) << "the add's flags are not set";
}

}  // namespace
}  // namespace vmkit::x64::test
