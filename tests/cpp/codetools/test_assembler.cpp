// vmkit::assemble against encodings checked with riscv64-linux-gnu-as (-march=rv64gc_zba_zbb_zbs
// -mno-relax, linked with ld -Ttext=ADDR) and by hand against the ISA manuals' formats.
#include "codetools/assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace vmkit {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> b) { return std::vector<uint8_t>(b); }

// Little-endian words, in order, as objdump prints them: 16-bit for compressed instructions.
std::vector<uint8_t> le(std::initializer_list<std::pair<uint32_t, int>> words) {
  std::vector<uint8_t> out;
  for (auto [w, size] : words)
    for (int i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return out;
}

std::string error_of(const std::string& arch, const std::string& text, uint64_t addr = 0) {
  try {
    assemble(arch, text, addr);
  } catch (const AssemblyError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an AssemblyError for: " << text;
  return "";
}

TEST(Assembler, Riscv64KnownEncodings) {
  // Each word checked field by field, e.g. add a0,a1,a2 = funct7 0 | rs2 12<<20 | rs1 11<<15 |
  // rd 10<<7 | 0x33 = 0x00c58533; sh2add only differs in funct7 0x10 and funct3 4.
  auto code = assemble("riscv64",
                       "addi a0, a0, 1\n"       // compressible: c.addi
                       "add a0, a1, a2\n"       // not compressible (three distinct registers)
                       "lui t0, 0x12345\n"
                       "ld a5, 8(sp)\n"         // c.ldsp
                       "sd ra, -16(sp)\n"       // negative offset: no c.sdsp
                       "mul a0, a1, a2\n"
                       "sh2add a0, a1, a2\n"
                       "clz a0, a1\n"
                       "bseti a0, a1, 5\n"
                       "fadd.d fa0, fa1, fa2\n"
                       "amoadd.w a0, a1, (a2)\n",
                       0x1000);
  EXPECT_EQ(code, le({{0x0505, 2},
                      {0x00c58533, 4},
                      {0x123452b7, 4},
                      {0x67a2, 2},
                      {0xfe113823, 4},
                      {0x02c58533, 4},
                      {0x20c5c533, 4},
                      {0x60059513, 4},
                      {0x28559513, 4},
                      {0x02c5f553, 4},
                      {0x00b6252f, 4}}));
}

TEST(Assembler, Riscv64LabelsForwardBackwardAndCalls) {
  // GNU as + ld -Ttext=0x1000 --no-relax produce exactly these bytes.
  const char* src =
      "start:\n"
      "  beq a0, a1, fwd\n"   // forward, 32-bit branch
      "  addi a0, a0, -1\n"
      "  j start\n"           // backward: c.j
      "fwd:\n"
      "  bnez a0, start\n"    // backward: c.bnez
      "  call fn\n"           // auipc+jalr resolved locally (no relaxation)
      "  ret\n"
      "fn:\n"
      "  li a0, 42\n"
      "  ret\n";
  auto expected = bytes({0x63, 0x04, 0xb5, 0x00, 0x7d, 0x15, 0xed, 0xbf, 0x65, 0xfd, 0x97, 0x00, 0x00,
                         0x00, 0xe7, 0x80, 0xa0, 0x00, 0x82, 0x80, 0x13, 0x05, 0xa0, 0x02, 0x82, 0x80});
  EXPECT_EQ(assemble("riscv64", src, 0x1000), expected);
  // Position-independent: local references do not depend on the base address.
  EXPECT_EQ(assemble("riscv64", src, 0x7fff0000), expected);
}

TEST(Assembler, Riscv64AbsoluteReferencesUseTheBaseAddress) {
  // .equ symbols are absolute: `la` (auipc+addi) must reach them from where the code lives.
  // (LLVM wants `la`'s operand to be a symbol, so the .equ comes after the use, as in GNU code.)
  auto at = [](uint64_t base) { return assemble("riscv64", "la a0, target\n.equ target, 0x12345678\n", base); };
  auto decode = [](const std::vector<uint8_t>& c, uint64_t base) {
    uint32_t auipc = c[0] | c[1] << 8 | c[2] << 16 | uint32_t(c[3]) << 24;
    uint32_t addi = c[4] | c[5] << 8 | c[6] << 16 | uint32_t(c[7]) << 24;
    EXPECT_EQ(auipc & 0xfff, 0x517u);  // auipc a0
    EXPECT_EQ(addi & 0xfffff, 0x50513u);  // addi a0, a0
    int64_t hi = static_cast<int32_t>(auipc & 0xfffff000);
    int64_t lo = static_cast<int32_t>(addi) >> 20;
    return base + hi + lo;
  };
  EXPECT_EQ(decode(at(0x1000), 0x1000), 0x12345678u);
  EXPECT_EQ(decode(at(0x12340800), 0x12340800), 0x12345678u);  // low part negative after rounding

  // .quad of a label is the label's absolute address.
  auto q = assemble("riscv64", "nop\nnop\nhere: .quad here\n", 0x400000);
  ASSERT_EQ(q.size(), 4u + 8u);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{q[4 + i]} << (8 * i);
  EXPECT_EQ(v, 0x400004u);
}

TEST(Assembler, Riscv64CompressedSelection) {
  // Compressed forms exist only for some register/immediate combinations.
  EXPECT_EQ(assemble("riscv64", "mv a0, a1", 0).size(), 2u);      // c.mv
  EXPECT_EQ(assemble("riscv64", "addi a0, a0, 100", 0).size(), 4u);  // imm > 31: no c.addi
  EXPECT_EQ(assemble("riscv64", "ld s0, 0(s1)", 0).size(), 2u);   // c.ld (x8..x15)
  EXPECT_EQ(assemble("riscv64", "ld t0, 0(t1)", 0).size(), 4u);   // t0/t1 outside x8..x15
  EXPECT_EQ(assemble("riscv64", "ret", 0), le({{0x8082, 2}}));
  // Explicitly uncompressed when the program asks for it.
  EXPECT_EQ(assemble("riscv64", ".option norvc\nret", 0), le({{0x00008067, 4}}));
}

TEST(Assembler, ErrorsCarryLlvmDiagnosticWithLine) {
  std::string e = error_of("riscv64", "nop\nnop\naddi a0, a0, notanumber_or_reg x\n");
  EXPECT_NE(e.find("<asm>:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("error"), std::string::npos) << e;

  e = error_of("riscv64", "nop\nfrobnicate a0\n");
  EXPECT_NE(e.find("<asm>:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("frobnicate"), std::string::npos) << e;  // the source line is quoted

  e = error_of("riscv64", "addi a0, a0, 5000\n");  // immediate out of range
  EXPECT_NE(e.find("<asm>:1:"), std::string::npos) << e;

  e = error_of("riscv64", "beq a0, a1, far\n.zero 8192\nfar: nop\n");  // branch beyond ±4 KiB
  EXPECT_NE(e.find("error"), std::string::npos) << e;
}

TEST(Assembler, LlvmFatalErrorBecomesAnException) {
  // LLVM 14 reports this through report_fatal_error (which would exit the process) rather than
  // a diagnostic; the process must survive and the assembler must keep working afterwards.
  std::string e;
  {
#if defined(__SANITIZE_ADDRESS__)
    // By design this path leaks LLVM's objects (and LLVM's own frames, built without exception
    // cleanups, leak their locals while the exception unwinds through them).
    __lsan::ScopedDisabler leaks_expected;
#endif
    e = error_of("riscv64", ".uleb128 undefined_a - undefined_b\n");
  }
  EXPECT_NE(e.find("uleb128"), std::string::npos) << e;
  EXPECT_EQ(assemble("riscv64", "ret", 0), le({{0x8082, 2}}));
}

TEST(Assembler, UndefinedSymbolIsNamed) {
  std::string e = error_of("riscv64", "call printf\nj exit_now\n");
  EXPECT_NE(e.find("'printf'"), std::string::npos) << e;
  EXPECT_NE(e.find("'exit_now'"), std::string::npos) << e;
  EXPECT_NE(e.find("undefined symbol"), std::string::npos) << e;
}

TEST(Assembler, DataOutsideTextIsAnError) {
  std::string e = error_of("riscv64", "la a0, msg\n.section .rodata\nmsg: .asciz \"hi\"\n");
  EXPECT_NE(e.find(".rodata"), std::string::npos) << e;
}

TEST(Assembler, UnknownArchIsUsageErrorListingArchs) {
  try {
    assemble("mips", "nop", 0);
    FAIL() << "expected UsageError";
  } catch (const AssemblyError&) {
    FAIL() << "an unknown arch is not an assembly error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("riscv64"), std::string::npos) << e.what();
  }
  auto archs = assembler_archs();
  EXPECT_NE(std::find(archs.begin(), archs.end(), "riscv64"), archs.end());
}

TEST(Assembler, EmptyAndDirectiveOnlyInput) {
  EXPECT_TRUE(assemble("riscv64", "", 0).empty());
  EXPECT_TRUE(assemble("riscv64", "# just a comment\n.equ x, 1\n", 0).empty());
}

TEST(Assembler, X86_64AbsoluteCallTarget) {
  auto archs = assembler_archs();
  if (std::find(archs.begin(), archs.end(), "x86_64") == archs.end()) GTEST_SKIP() << "LLVM lacks X86";
  // call rel32: the displacement is target - (address of the next instruction).
  EXPECT_EQ(assemble("x86_64", ".att_syntax\ncall 0x2000", 0x1000), bytes({0xe8, 0xfb, 0x0f, 0x00, 0x00}));
  EXPECT_EQ(assemble("x86_64", ".att_syntax\nmovabsq $here, %rax\nhere: ret", 0x401000),
            bytes({0x48, 0xb8, 0x0a, 0x10, 0x40, 0, 0, 0, 0, 0, 0xc3}));  // R_X86_64_64 to a label
  EXPECT_EQ(assemble("x86_64", ".intel_syntax noprefix\nmov rax, rbx\nret", 0), bytes({0x48, 0x89, 0xd8, 0xc3}));
  EXPECT_EQ(assemble("x86_64", "mov rax, rbx\nret", 0), bytes({0x48, 0x89, 0xd8, 0xc3}));  // Intel by default
  EXPECT_EQ(assemble("x86_64", ".att_syntax\nmovq %rbx, %rax\nret", 0), bytes({0x48, 0x89, 0xd8, 0xc3}));
}

TEST(Assembler, Aarch64Basics) {
  auto archs = assembler_archs();
  if (std::find(archs.begin(), archs.end(), "aarch64") == archs.end()) GTEST_SKIP() << "LLVM lacks AArch64";
  // ret = 0xd65f03c0; b . -4 (backward, resolved locally) = 0x17ffffff.
  EXPECT_EQ(assemble("aarch64", "ret", 0), le({{0xd65f03c0, 4}}));
  EXPECT_EQ(assemble("aarch64", "top: nop\nb top\n", 0), le({{0xd503201f, 4}, {0x17ffffff, 4}}));
  // ldr x0, [x1] = 0xf9400020
  EXPECT_EQ(assemble("aarch64", "ldr x0, [x1]", 0), le({{0xf9400020, 4}}));
}

TEST(Assembler, ConcurrentUseIsSafe) {
  // Initialisation and assembly from several threads at once (each call has its own LLVM objects).
  std::vector<std::thread> threads;
  std::vector<std::vector<uint8_t>> results(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&results, i] { results[i] = assemble("riscv64", "add a0, a1, a2", 0); });
  for (auto& t : threads) t.join();
  for (auto& r : results) EXPECT_EQ(r, le({{0x00c58533, 4}}));
}

}  // namespace
}  // namespace vmkit
