// Data movement and the ALU group, with partial registers and the lazily kept flags.
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

}  // namespace
}  // namespace vmkit::x64::test
