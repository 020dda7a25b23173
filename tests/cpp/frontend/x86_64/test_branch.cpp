// Control flow, the stack, the flags register and system instructions, against the host CPU
// where it can run them.
#include <csignal>

#include "frontend/x86_64/helpers.h"
#include "x64_test_util.h"

namespace vmkit::x64::test {
namespace {

uint64_t load64(X64Machine& m, uint64_t addr) {
  uint64_t v = 0;
  m.mem.debug_read(addr, &v, 8);
  return v;
}

// ---- branches ------------------------------------------------------------------------------

TEST(X64Branch, LoopCountsDownAndLoopeLoopneTestZf) {
  X64Machine m;
  m.r(RCX) = 5;
  m.exec("xor eax, eax; 1: add eax, 2; loop 1b");
  EXPECT_EQ(m.r(RAX), 10u);
  EXPECT_EQ(m.r(RCX), 0u);
  // loope runs while rcx != 0 and ZF: the compare fails at the third element
  m.r(RCX) = 10;
  m.exec("xor ebx, ebx; 1: inc ebx; cmp ebx, 3; loopne 1b");
  EXPECT_EQ(m.r(RBX), 3u);
  EXPECT_EQ(m.r(RCX), 7u);
  m.r(RCX) = 10;
  m.exec("xor ebx, ebx; 1: inc ebx; test ebx, 0; loope 1b");
  EXPECT_EQ(m.r(RBX), 10u) << "test sets ZF every time";
  EXPECT_EQ(m.r(RCX), 0u);
  m.r(RCX) = 10;
  m.exec("xor ebx, ebx; 1: inc ebx; cmp ebx, 1; loope 1b");
  EXPECT_EQ(m.r(RBX), 2u);
  EXPECT_EQ(m.r(RCX), 8u);
}

TEST(X64Branch, AddressSizeLoopAndJecxzUseEcxLikeTheHost) {
  uint64_t host_rcx = 0xaaaaaaaa00000003ull;
  asm volatile("1: .byte 0x67; loop 1b" : "+c"(host_rcx));
  X64Machine m;
  m.r(RCX) = 0xaaaaaaaa00000003ull;
  m.exec("1: .byte 0x67; loop 1b");
  EXPECT_EQ(m.r(RCX), host_rcx) << "ecx counts, and its writes clear the upper half";
  EXPECT_EQ(m.r(RCX), 0u);
  // rcx = 2^32: jecxz sees zero, jrcxz does not
  m.r(RCX) = 1ull << 32;
  m.exec("xor eax, eax; xor ebx, ebx; jecxz 1f; mov eax, 1; 1: jrcxz 2f; mov ebx, 1; 2: nop");
  EXPECT_EQ(m.r(RAX), 0u);
  EXPECT_EQ(m.r(RBX), 1u);
  m.r(RCX) = 0;
  m.exec("xor ebx, ebx; jrcxz 1f; mov ebx, 1; 1: nop");
  EXPECT_EQ(m.r(RBX), 0u);
}

TEST(X64Branch, IndirectCallsJumpsAndRetImm) {
  X64Machine m;
  const uint64_t sp = m.r(RSP);
  // call through a register and through memory, ret 16 drops two pushed words
  m.exec(
      "lea rax, [rip + f]; mov [rsp - 64], rax; push 1; push 2; call rax; mov r8, rbx;"
      "push 3; push 4; call qword ptr [rsp - 48]; lea rdx, [rip + g]; jmp rdx; ud2;"
      "f: mov ebx, 7; ret 16; g: lea rdx, [rip + h]; mov [rsp - 8], rdx; jmp qword ptr [rsp - 8]; ud2; h: nop");
  EXPECT_EQ(m.r(R8), 7u);
  EXPECT_EQ(m.r(RSP), sp);
}

TEST(X64Branch, FarJumpsAreIllegal) {
  X64Machine m;
  m.r(RAX) = kData;
  Stop s = m.run("jmp fword ptr [rax]");
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.pc, kCode);
}

// ---- the stack -----------------------------------------------------------------------------

TEST(X64Stack, PushPopFormsFollowTheSdm) {
  X64Machine m;
  const uint64_t sp = m.r(RSP);
  m.exec("push -1; push 0x7fffffff; pop rbx; pop rcx");
  EXPECT_EQ(m.r(RBX), 0x7fffffffu);
  EXPECT_EQ(m.r(RCX), ~0ull) << "the immediate is sign-extended to 64 bits";
  EXPECT_EQ(m.r(RSP), sp);
  m.exec("push rsp; pop rax");
  EXPECT_EQ(m.r(RAX), sp) << "push rsp pushes the value before the push";
  // pop [rsp + 8]: the address is computed after rsp moved (it lands 16 above the old rsp)
  m.r(RAX) = 0x1234;
  m.exec("push rax; pop qword ptr [rsp + 8]");
  EXPECT_EQ(load64(m, sp + 8), 0x1234u);
  EXPECT_EQ(m.r(RSP), sp);
  // and natively
  uint64_t stack[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t host_sp_after = 0;
  asm volatile(
      "mov %%rsp, %%r11; lea 32(%[s]), %%rsp; pushq $0x1234; popq 8(%%rsp); mov %%rsp, %[after]; mov %%r11, %%rsp"
      : [after] "=r"(host_sp_after)
      : [s] "r"(stack)
      : "r11", "memory");
  EXPECT_EQ(stack[5], 0x1234u) << "host: written at the old rsp + 8";
  EXPECT_EQ(host_sp_after, uint64_t(stack) + 32);
  // pop rsp: rsp takes the popped value
  m.r(RAX) = kData + 0x100;
  m.exec("push rax; pop rsp");
  EXPECT_EQ(m.r(RSP), kData + 0x100);
}

TEST(X64Stack, SixteenBitPushPopMoveByTwo) {
  X64Machine m;
  const uint64_t sp = m.r(RSP);
  m.r(RAX) = 0x1111222233334444ull;
  m.r(RBX) = 0xffffffffffffffffull;
  m.exec("push ax; .byte 0x66, 0x6a, 0xfe; pop bx; pop cx");
  EXPECT_EQ(m.r(RBX), 0xfffffffffffffffeull) << "pop bx merges";
  EXPECT_EQ(m.r(RCX) & 0xffff, 0x4444u);
  EXPECT_EQ(m.r(RSP), sp);
  m.exec("push ax");
  EXPECT_EQ(m.r(RSP), sp - 2);
}

TEST(X64Stack, PushPopOfMemoryAndFaultsLeaveRsp) {
  X64Machine m;
  const uint64_t sp = m.r(RSP);
  m.r(RSI) = kData;
  const uint64_t v = 0xabcdef;
  m.mem.debug_write(kData, &v, 8);
  m.exec("push qword ptr [rsi]; pop qword ptr [rsi + 8]");
  EXPECT_EQ(load64(m, kData + 8), v);
  EXPECT_EQ(m.r(RSP), sp);
  // a pop into unmapped memory faults with rsp unchanged
  m.r(RDI) = 0xdead000;
  Stop s = m.run("pop qword ptr [rdi]");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.r(RSP), sp);
  // a push onto an unmapped stack faults with rsp unchanged
  m.r(RSP) = kData;  // the page below is unmapped
  s = m.run("push rax");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_EQ(m.r(RSP), kData);
}

// enter size, level / leave natively on a buffer stack, and in vmkit on the same layout.
struct EnterResult {
  uint64_t rsp, rbp;
  uint64_t stack[32];
};

// Fixed registers (rdi: the buffer, rsi: rbp on entry, rdx: the result) keep rbp and rsp, which
// the sequence changes, out of the compiler's choice.
#define NATIVE_ENTER(size, level)                                                                                \
  [](uint64_t* stack, uint64_t rbp_in) {                                                                         \
    EnterResult r{};                                                                                             \
    asm volatile("mov %%rsp, %%r11; mov %%rbp, %%r10; lea 256(%%rdi), %%rsp; mov %%rsi, %%rbp; enter $" #size   \
                 ", $" #level "; mov %%rsp, 0(%%rdx); mov %%rbp, 8(%%rdx); mov %%r10, %%rbp; mov %%r11, %%rsp"   \
                 :                                                                                               \
                 : "D"(stack), "S"(rbp_in), "d"(&r)                                                              \
                 : "r10", "r11", "memory");                                                                      \
    return r;                                                                                                    \
  }

TEST(X64Stack, EnterAndLeaveMatchTheHost) {
  struct Case {
    const char* text;
    EnterResult (*native)(uint64_t*, uint64_t);
  } cases[] = {
      {"enter 16, 0", NATIVE_ENTER(16, 0)},
      {"enter 0, 1", NATIVE_ENTER(0, 1)},
      {"enter 8, 3", NATIVE_ENTER(8, 3)},
      {"enter 24, 5", NATIVE_ENTER(24, 5)},
  };
  for (const Case& k : cases) {
    uint64_t host[32];
    for (int i = 0; i < 32; ++i) host[i] = 0x100 + i;
    const uint64_t rbp_in = uint64_t(host) + 30 * 8;  // the enclosing frame's pointers below it
    EnterResult h = k.native(host, rbp_in);
    X64Machine m;
    const uint64_t base = kData + 0x1000;
    uint64_t guest_init[32];
    for (int i = 0; i < 32; ++i) guest_init[i] = 0x100 + i;
    m.mem.debug_write(base, guest_init, sizeof guest_init);
    m.r(RSP) = base + 256;
    m.r(RBP) = base + 30 * 8;
    m.exec(k.text);
    EXPECT_EQ(m.r(RSP) - base, h.rsp - uint64_t(host)) << k.text;
    EXPECT_EQ(m.r(RBP) - base, h.rbp - uint64_t(host)) << k.text;
    uint64_t got[32];
    m.mem.debug_read(base, got, sizeof got);
    for (int i = 0; i < 32; ++i) {
      // saved frame pointers are addresses: compare them relative to the buffer
      const bool is_ptr = host[i] >= uint64_t(host) && host[i] < uint64_t(host) + sizeof host;
      EXPECT_EQ(is_ptr ? got[i] - base : got[i], is_ptr ? host[i] - uint64_t(host) : host[i]) << k.text << " word " << i;
    }
    m.exec("leave");
    EXPECT_EQ(m.r(RBP), base + 30 * 8) << k.text;
    EXPECT_EQ(m.r(RSP), base + 256) << k.text;
  }
}

// ---- the flags register --------------------------------------------------------------------

// Runs `cmp a, b` natively and returns pushfq's value (with DF set if asked).
uint64_t host_flags_after_cmp(uint64_t a, uint64_t b, bool df) {
  uint64_t f;
  // (rsp moves down 128 bytes around pushfq, the compiler may keep data in the red zone; lea
  // leaves the flags)
  if (df) asm volatile("std; cmp %2, %1; lea -128(%%rsp), %%rsp; pushfq; popq %0; add $128, %%rsp; cld" : "=r"(f) : "r"(a), "r"(b) : "cc");
  else asm volatile("cmp %2, %1; lea -128(%%rsp), %%rsp; pushfq; popq %0; add $128, %%rsp" : "=r"(f) : "r"(a), "r"(b) : "cc");
  return f;
}

TEST(X64FlagsRegister, PushfqMatchesTheHost) {
  const uint64_t values[] = {0, 1, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x10};
  for (uint64_t a : values) {
    for (uint64_t b : values) {
      for (bool df : {false, true}) {
        X64Machine m;
        m.r(RAX) = a;
        m.r(RBX) = b;
        m.exec(df ? "std; cmp rax, rbx; pushfq; pop rcx; cld" : "cmp rax, rbx; pushfq; pop rcx");
        EXPECT_EQ(m.r(RCX), host_flags_after_cmp(a, b, df)) << a << " " << b << " df " << df;
      }
    }
  }
  // before any flag setter of the block (the flags come from the state)
  X64Machine m;
  set_rflags(m.st(), kCF | kOF);
  m.exec("pushfq; pop rax");
  EXPECT_EQ(m.r(RAX), kCF | kOF | 0x202u);
}

TEST(X64FlagsRegister, PopfqRoundTripsLikeTheHost) {
  // Every arithmetic flag, DF and ID (bit 21) as the program wrote them; IF stays, bit 1 reads 1.
  const uint64_t written = kArithFlags | kDF | (1u << 21) | 0x8;  // bit 3 is reserved (reads 0)
  uint64_t host;
  asm volatile("sub $128, %%rsp; pushq %1; popfq; pushfq; popq %0; cld; add $128, %%rsp" : "=r"(host) : "r"(written) : "cc");
  X64Machine m;
  m.r(RAX) = written;
  m.exec("push rax; popfq; pushfq; pop rbx");
  EXPECT_EQ(m.r(RBX), host);
  EXPECT_EQ(m.st().df, 1u);
  EXPECT_EQ(m.flags(), kArithFlags);
  // the flags are readable by conditions after popf in the same block
  m.r(RAX) = kZF;
  m.exec("push rax; popfq; setz cl; sete dl; jz 1f; mov ecx, 99; 1: nop");
  EXPECT_EQ(m.r(RCX) & 0xff, 1u);
  // a 16-bit popf keeps ID (above bit 15)
  m.r(RAX) = 1u << 21;
  m.exec("push rax; popfq; mov eax, 1; push ax; .byte 0x66, 0x9d; pushfq; pop rbx");
  EXPECT_EQ(m.r(RBX), (1u << 21) | 0x202u | kCF);
}

TEST(X64FlagsRegister, LahfSahfMatchTheHost) {
  const uint64_t values[] = {0, 1, 0x80, 0x7f, 0xff};
  for (uint64_t a : values) {
    for (uint64_t b : values) {
      uint64_t host_rax = 0x1111111111111111ull;
      asm volatile("cmp %b2, %b1; lahf" : "+a"(host_rax) : "r"(a), "r"(b) : "cc");
      X64Machine m;
      m.r(RAX) = 0x1111111111111111ull;
      m.r(RCX) = a;
      m.r(RDX) = b;
      m.exec("cmp cl, dl; lahf");
      EXPECT_EQ(m.r(RAX), host_rax) << a << " " << b;
    }
  }
  // sahf sets SF ZF AF PF CF from ah, keeps OF
  for (uint64_t ah : {0x00ull, 0xffull, 0xd5ull, 0x2aull}) {
    uint64_t host = 0;
    asm volatile("mov $0x7f, %%cl; add $1, %%cl; mov %b1, %%ah; sahf; lea -128(%%rsp), %%rsp; pushfq; popq %0; add $128, %%rsp" : "=r"(host) : "Q"(ah) : "rax", "rcx", "cc");
    X64Machine m;
    m.r(RAX) = ah << 8;
    m.exec("mov cl, 0x7f; add cl, 1; sahf");
    EXPECT_EQ(m.flags(), host & kArithFlags) << ah;
  }
}

TEST(X64FlagsRegister, CldStdSetDf) {
  X64Machine m;
  m.exec("std");
  EXPECT_EQ(m.st().df, 1u);
  EXPECT_EQ(rflags(m.st()) & kDF, kDF);
  m.exec("cld");
  EXPECT_EQ(m.st().df, 0u);
}

// ---- system --------------------------------------------------------------------------------

TEST(X64System, SyscallInt3Ud2AndHltStop) {
  X64Machine m;
  Stop s = m.run("nop; syscall");
  EXPECT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(s.pc, kCode + 1) << "at the syscall; the OS layer resumes 2 bytes on";
  s = m.run("nop; int3");
  EXPECT_EQ(s.reason, StopReason::Breakpoint);
  EXPECT_EQ(s.pc, kCode + 1);
  s = m.run("nop; ud2");
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.pc, kCode + 1);
  for (const char* privileged : {"hlt", "cli", "in al, dx", "out dx, al", "insb"}) {
    s = m.run(std::string("nop; ") + privileged);
    EXPECT_EQ(s.reason, StopReason::Trap) << privileged;
    EXPECT_EQ(s.signo, SIGSEGV) << privileged << ": #GP";
    EXPECT_EQ(s.pc, kCode + 1) << privileged;
  }
}

TEST(X64System, CpuidReportsItsTableAndWhatItAdvertisesRuns) {
  X64Machine m;
  m.r(RBX) = ~0ull;
  m.exec("xor eax, eax; cpuid");
  EXPECT_EQ(m.r(RAX), cpuid(0, 0).eax);
  char vendor[13] = {};
  std::memcpy(vendor, &m.r(RBX), 4);
  std::memcpy(vendor + 4, &m.r(RDX), 4);
  std::memcpy(vendor + 8, &m.r(RCX), 4);
  EXPECT_STREQ(vendor, "AuthenticAMD");
  m.r(RAX) = 0xffffffff00000007ull;
  m.r(RCX) = 0xffffffff00000000ull;
  m.exec("cpuid");
  EXPECT_EQ(m.r(RBX), cpuid(7, 0).ebx) << "subleaf from ecx; 32-bit results zero-extended";
  m.r(RAX) = 1;
  m.exec("cpuid");
  const uint32_t edx1 = uint32_t(m.r(RDX)), ecx1 = uint32_t(m.r(RCX));
  m.r(RAX) = 0x80000001;
  m.exec("cpuid");
  const uint32_t edx_ext = uint32_t(m.r(RDX)), ecx_ext = uint32_t(m.r(RCX));
  // glibc's baseline checks for these, and each is implemented: run one instruction of each
  EXPECT_TRUE(edx1 & (1u << 8)) << "CX8";
  EXPECT_TRUE(edx1 & (1u << 4)) << "TSC";
  EXPECT_TRUE(edx_ext & (1u << 29)) << "LM";
  EXPECT_TRUE(edx_ext & (1u << 11)) << "SYSCALL";
  m.r(RSI) = kData;
  if (edx1 & (1u << 8)) m.exec("cmpxchg8b qword ptr [rsi]");
  if (ecx1 & (1u << 13)) m.exec("cmpxchg16b xmmword ptr [rsi]");
  if (ecx_ext & 1) m.exec("lahf; sahf");
  if (edx1 & (1u << 4)) m.exec("rdtsc; rdtscp");
}

TEST(X64System, RdtscIsMonotonicAndSplitIntoEdxEax) {
  X64Machine m;
  m.r(RAX) = m.r(RDX) = m.r(RCX) = ~0ull;
  m.exec("rdtsc; mov r8, rax; mov r9, rdx; rdtscp");
  EXPECT_EQ(m.r(R8) >> 32, 0u);
  EXPECT_EQ(m.r(R9) >> 32, 0u);
  const uint64_t first = m.r(R9) << 32 | m.r(R8), second = m.r(RDX) << 32 | m.r(RAX);
  EXPECT_GT(first, 0u);
  EXPECT_GE(second, first);
  EXPECT_EQ(m.r(RCX), 0u) << "rdtscp: IA32_TSC_AUX";
}

TEST(X64System, FencesPrefetchesAndHintsDoNothing) {
  X64Machine m;
  m.r(RAX) = 0xdead0000;  // a prefetch of unmapped memory does not fault
  m.exec("lfence; mfence; sfence; prefetcht0 [rax]; prefetchnta [rax]; prefetchw [rax]; endbr64; pause; mov ebx, 5");
  EXPECT_EQ(m.r(RBX), 5u);
}

}  // namespace
}  // namespace vmkit::x64::test
