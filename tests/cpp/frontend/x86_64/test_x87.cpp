// x87 control and status (fnstcw, fldcw, fnstsw, fnstenv, fldenv, fninit, fnclex, fwait, the
// waiting forms), emms, and fxsave/fxrstor: compared with the host CPU from the same complete
// x87/SSE state (each text starts with fxrstor64 of one image and ends by saving the state with
// fxsave64 and fnstenv into the compared data area); then the #MF of the waiting instructions,
// and the #GP and page faults of fxsave/fxrstor, which must leave state and memory unchanged.
#include <array>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

// The data area (expect_like_host's, rsi at its middle), offsets from rsi: the texts below write
// fxsave64 of the final state at 0 (416 bytes), its fnstenv at 416 (28 bytes), fnstcw/fnstsw
// results at 444/446, and the fnstenv under test at 480.
constexpr int kImageIn = -512;   // the fxrstor64 image (its bytes 416..511 are scratch: kMemOperand)
constexpr int kMemOperand = -96;
constexpr int kEnvIn = 448;      // fldenv's source
constexpr int kCwIn = 476;       // fldcw's source

// 80-bit values as an image holds them (mantissa, sign and exponent).
struct X87Value {
  uint64_t mant;
  uint16_t exp;
};
constexpr X87Value kOne{0x8000000000000000ull, 0x3fff}, kZero{0, 0}, kNegZero{0, 0x8000},
    kDenormal{1, 0}, kPseudoDenormal{0x8000000000000000ull, 0}, kInf{0x8000000000000000ull, 0x7fff},
    kNan{0xc000000000000000ull, 0xffff}, kUnnormal{0x4000000000000000ull, 0x3fff},
    kPi{0xc90fdaa22168c235ull, 0x4000}, kMmxValue{0x0123456789abcdefull, 0xffff};

// The state an fxrstor64 image sets.
struct Image {
  uint16_t fcw = 0x037f, fsw = 0;
  uint8_t valid = 0;  // abridged tags: bit i set = R_i not empty
  uint16_t fop = 0;
  uint64_t fip = 0, fdp = 0;
  uint32_t mxcsr = 0x1f80;
  std::array<X87Value, 8> st{};  // ST(0)..ST(7)
  bool pending() const { return fsw & ~fcw & 0x3f; }

  void write(uint8_t* out) const {
    std::memset(out, 0, 512);
    std::memcpy(out + 0, &fcw, 2);
    std::memcpy(out + 2, &fsw, 2);
    out[4] = valid;
    std::memcpy(out + 6, &fop, 2);
    std::memcpy(out + 8, &fip, 8);
    std::memcpy(out + 16, &fdp, 8);
    std::memcpy(out + 24, &mxcsr, 4);
    for (unsigned i = 0; i < 8; ++i) {
      std::memcpy(out + 32 + 16 * i, &st[i].mant, 8);
      std::memcpy(out + 40 + 16 * i, &st[i].exp, 2);
    }
    for (unsigned i = 0; i < 256; ++i) out[160 + i] = uint8_t(0x11 * (i / 16) + i);
  }
};

std::vector<Image> images() {
  std::vector<Image> v;
  v.push_back(Image{});  // as after fninit: every register empty
  Image mixed;           // TOP 3, condition codes, masked flags, registers of every tag class
  mixed.fcw = 0x0b7f;
  mixed.fsw = 0x4700 | (3 << 11) | 0x3f | 0x40;
  mixed.valid = 0xb5;
  mixed.fop = 0x5d9;
  mixed.fip = 0x1122334455667788ull;
  mixed.fdp = 0x99aabbccddeeff00ull;
  mixed.mxcsr = 0x3fc0;
  mixed.st = {kOne, kZero, kNegZero, kDenormal, kPseudoDenormal, kInf, kNan, kUnnormal};
  v.push_back(mixed);
  Image full = mixed;  // every register valid, TOP 7, no flags, exceptions unmasked
  full.fcw = 0x1f40;
  full.fsw = 7 << 11;
  full.valid = 0xff;
  full.st = {kPi, kMmxValue, kOne, kZero, kInf, kDenormal, kNan, kPi};
  v.push_back(full);
  Image pending = mixed;  // an unmasked invalid-operation and precision exception pending
  pending.fcw = 0x035e;
  pending.fsw = 0x2821;
  v.push_back(pending);
  Image stack_fault;  // a masked stack fault (SF and IE), TOP 5
  stack_fault.fsw = 0x2841 | 0x0200;
  stack_fault.valid = 0x60;
  stack_fault.st = {kZero, kOne, kOne, kOne, kOne, kOne, kOne, kOne};
  v.push_back(stack_fault);
  return v;
}

// The 28-byte environment fldenv loads (FCS and FDS 0, the upper halves of the words as given).
std::vector<uint8_t> environment(uint16_t fcw, uint16_t fsw, uint16_t ftw, uint32_t fip, uint16_t fop, uint32_t fdp,
                                 uint16_t upper) {
  std::vector<uint8_t> e(28);
  auto word = [&](unsigned off, uint16_t v) { std::memcpy(&e[off], &v, 2); };
  word(0, fcw), word(2, upper), word(4, fsw), word(6, upper), word(8, ftw), word(10, upper);
  std::memcpy(&e[12], &fip, 4);
  word(18, fop);
  std::memcpy(&e[20], &fdp, 4);
  word(26, upper);
  return e;
}

std::vector<uint8_t> area_of(const Image& img, uint16_t cw_in, const std::vector<uint8_t>& env_in) {
  std::vector<uint8_t> a(kAreaBytes);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(0xa5 ^ i);
  uint8_t* mid = a.data() + kAreaBytes / 2;
  img.write(mid + kImageIn);
  for (int i = 0; i < 8; ++i) mid[kMemOperand + i] = uint8_t(0xf0 + 3 * i);
  std::memcpy(mid + kCwIn, &cw_in, 2);
  std::memcpy(mid + kEnvIn, env_in.data(), env_in.size());
  return a;
}

// Clears what the host fills in its own way in an fxsave image at [rsi + at]: FOP, FIP and FDP
// (AMD writes them only while an exception is pending) and MXCSR_MASK (the host's has DAZ and
// more).
std::string clear_host_fields(int at) {
  auto field = [&](const char* size, int off) {
    return std::string("mov ") + size + " ptr [rsi + " + std::to_string(at + off) + "], 0\n";
  };
  return field("word", 6) + field("qword", 8) + field("qword", 16) + field("dword", 28);
}

// Runs each text from each image (the ones a pending exception would make trap on the host
// only where `waits` is false) and compares with the host.
void sweep(const std::vector<std::string>& texts, bool waits, const std::vector<uint16_t>& cws,
           const std::vector<std::vector<uint8_t>>& envs) {
  unsigned failures = 0;
  for (const Image& img : images()) {
    if (waits && img.pending()) continue;
    for (const std::string& t : texts)
      for (uint16_t cw : cws)
        for (const auto& env : envs)
          if (!expect_like_host(x87_probe(t), filler_regs(), 0, kArithFlags, RSI, area_of(img, cw, env)) &&
              ++failures > 10)
            return;
  }
}

const std::vector<uint8_t> kNoEnv(28);

TEST(X64X87, NonWaitingInstructionsMatchTheHost) {
  sweep({"nop", "fnstcw word ptr [rsi + 444]", "fnstsw word ptr [rsi + 446]", "fnstsw ax", "fnstenv [rsi + 480]",
         "fnstenv [rsi + 480]; fnstcw word ptr [rsi + 444]; fnstsw word ptr [rsi + 446]", "fninit", "fnclex",
         "fnclex; fnstsw ax", "fxsave [rsi - 512]\n" + clear_host_fields(-512) + "fnstenv [rsi + 480]"},
        false, {0}, {kNoEnv});
}

TEST(X64X87, FldcwMatchesTheHost) {
  // Control words unmasking the masked flags of some images, reserved bits set, every rounding
  // and precision control.
  sweep({"fldcw word ptr [rsi + 476]", "fldcw word ptr [rsi + 476]; fnstcw word ptr [rsi + 444]; fnstsw ax",
         "fnstcw word ptr [rsi + 444]; fldcw word ptr [rsi + 476]; fnclex; fldcw word ptr [rsi + 444]"},
        true, {0x037f, 0x0000, 0xffff, 0x0c3f, 0x037e, 0x1f40, 0xe0bf, 0x0040}, {kNoEnv});
}

TEST(X64X87, FldenvMatchesTheHost) {
  const std::vector<std::vector<uint8_t>> envs = {
      environment(0x037f, 0x0000, 0xffff, 0, 0, 0, 0xffff),
      environment(0x037f, 0x3a21, 0x5a5a, 0x11223344, 0x07ff, 0x99aabbcc, 0x0000),  // TOP 7, nothing empty
      environment(0x037e, 0x0001, 0x0fff, 0x1000, 0xffff, 0x2000, 0x1234),           // IE pending, ES not given
      environment(0x037f, 0xffff, 0x3cc3, ~0u, 0x0123, ~0u, 0xffff),                  // every status bit, masked
      environment(0xffff, 0x8080, 0x0000, 0, 0, 0, 0),                                 // ES given, nothing pending
      environment(0x0000, 0x4520, 0xaaaa, 5, 6, 7, 0xffff),                            // PE unmasked: pending
  };
  sweep({"fldenv [rsi + 448]", "fldenv [rsi + 448]; fnstsw ax; fnstenv [rsi + 480]"}, true, {0}, envs);
}

TEST(X64X87, WaitingFormsAndEmmsMatchTheHost) {
  sweep({"fwait", "fstcw word ptr [rsi + 444]", "fstsw word ptr [rsi + 446]", "fstsw ax", "fstenv [rsi + 480]",
         "finit", "fclex", "emms", "emms; fnstsw ax"},
        true, {0}, {kNoEnv});
}

// fxsave/fxrstor in both formats: without REX.W, FIP and FDP are 32 bits plus selectors.
TEST(X64X87, FxsaveFormatsMatchTheHost) {
  // Saved over the image's own first bytes (then restored from the copy: the state is unchanged).
  const std::string clear = clear_host_fields(-512);
  sweep({"fxsave [rsi - 512]\n" + clear + "fxrstor [rsi - 512]", "fxsave64 [rsi - 512]\n" + clear + "fxrstor64 [rsi - 512]",
         "fxrstor [rsi - 512]"},
        false, {0}, {kNoEnv});
}

// ---- vmkit alone: what the host cannot show without trapping -----------------------------------

// Loads the environment at kData (fldenv of `fcw`, `fsw`, all registers empty), then runs `text`.
Stop run_after_environment(X64Machine& m, uint16_t fcw, uint16_t fsw, const std::string& text, uint64_t& insn_pc) {
  const std::vector<uint8_t> env = environment(fcw, fsw, 0xffff, 0, 0, 0, 0xffff);
  m.mem.debug_write(kData, env.data(), env.size());
  m.r(RSI) = kData;
  m.r(R8) = 0;
  const std::string before = "fldenv [rsi]; mov r8d, 9";
  insn_pc = kCode + X64Machine::assemble(before).size();
  return m.run(before + "; " + text);
}

// fwait with an exception flag unmasked: SIGFPE with Linux's si_code (arch/x86/kernel/fpu/core.c:
// invalid operation first, then divide by zero, overflow, underflow or denormal, precision), at
// the fwait; a flag that is masked, or SF alone, does nothing.
TEST(X64X87, FwaitRaisesThePendingException) {
  struct Case {
    uint16_t fcw, fsw;
    int code;  // 0: no trap
  };
  const Case cases[] = {
      {0x037e, 0x0001, 7}, {0x037e, 0x0041, 7}, {0x037b, 0x0004, 3}, {0x0377, 0x0008, 4}, {0x036f, 0x0010, 5},
      {0x037d, 0x0002, 5}, {0x035f, 0x0020, 6}, {0x035f, 0x003f, 6}, {0x034f, 0x0030, 5}, {0x0377, 0x000c, 4}, {0x0373, 0x000c, 3},
      {0x0340, 0x003f, 7}, {0x037f, 0x003f, 0}, {0x037e, 0x0040, 0}, {0x0340, 0x0000, 0}, {0x037e, 0x003e, 0},
  };
  for (const Case& k : cases) {
    X64Machine m;
    uint64_t at = 0;
    Stop s = run_after_environment(m, k.fcw, k.fsw, "fwait", at);
    const std::string what = "fcw " + std::to_string(k.fcw) + " fsw " + std::to_string(k.fsw);
    EXPECT_EQ(m.r(R8), 9u) << what;
    if (!k.code) {
      EXPECT_EQ(s.reason, StopReason::IllegalInsn) << what << ": runs on to the ud2";
      continue;
    }
    EXPECT_EQ(s.reason, StopReason::Trap) << what;
    EXPECT_EQ(s.signo, SIGFPE) << what;
    EXPECT_EQ(s.code, k.code) << what;
    EXPECT_EQ(s.pc, at) << what << ": at the fwait";
  }
}

// Every waiting instruction traps before doing anything (fldcw and fldenv before loading, emms
// and the MMX instructions before touching tags, TOP or mm); the non-waiting ones run.
TEST(X64X87, WaitingInstructionsTrapFirstNonWaitingOnesRun) {
  for (const char* text : {"fldcw word ptr [rsi + 64]", "fldenv [rsi + 64]", "emms", "paddb mm0, mm1",
                           "movd mm1, eax", "movq rax, mm1", "fldcw word ptr [0]"}) {
    X64Machine m;
    m.st().fpr[1].mant = 0x77;
    m.r(RAX) = 0x1234;
    uint64_t at = 0;
    Stop s = run_after_environment(m, 0x037e, 0x2001, text, at);
    EXPECT_EQ(s.reason, StopReason::Trap) << text;
    EXPECT_EQ(s.signo, SIGFPE) << text;
    EXPECT_EQ(s.code, 7) << text;
    EXPECT_EQ(s.pc, at) << text;
    EXPECT_EQ(m.st().fcw, 0x037e) << text;
    EXPECT_EQ(m.st().fsw, 0xa081) << text << ": TOP 4 and IE, with ES and B";
    EXPECT_EQ(m.st().ftw, 0xffff) << text;
    EXPECT_EQ(m.st().fpr[1].mant, 0x77u) << text;
    EXPECT_EQ(m.r(RAX), 0x1234u) << text;
  }
  for (const char* text : {"fnstcw word ptr [rsi + 64]", "fnstsw ax", "fnstenv [rsi + 64]", "fnclex; fwait",
                           "fninit; fwait", "fxsave64 [rsi + 64]", "fxsave64 [rsi + 64]; fxrstor64 [rsi + 64]"}) {
    X64Machine m;
    uint64_t at = 0;
    Stop s = run_after_environment(m, 0x037e, 0x2001, text, at);
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << text << ": runs on to the ud2";
  }
}

// A state of every field, saved with fxsave64, clobbered, restored with fxrstor64: the same
// state; the image as the SDM lays it out; the 32-bit forms keep FIP/FDP's low halves.
TEST(X64X87, FxsaveFxrstorRoundTrip) {
  X64Machine m;
  State& s = m.st();
  s.fcw = 0x0a7f;
  s.fsw = 0x3d00 | 0x25;  // TOP 7
  s.ftw = 0x0f33;         // R1, R3, R6, R7 valid (tags 00), the rest empty (11)
  s.fop = 0x7ab;
  s.fip = 0x8877665544332211ull;
  s.fdp = 0x00ffeeddccbbaa99ull;
  s.mxcsr = 0x9fc0;
  for (unsigned i = 0; i < 8; ++i) s.fpr[i] = {0x8000000000000000ull | (0x1111 * i), uint16_t(0x3fff + i), {}};
  for (unsigned i = 0; i < 16; ++i) {
    s.xmm[i][0] = 0x0101010101010101ull * i;
    s.xmm[i][1] = ~s.xmm[i][0];
  }
  const State before = s;
  std::vector<uint8_t> marker(512, 0xcc);
  m.mem.debug_write(kData, marker.data(), marker.size());
  m.r(RSI) = kData;
  m.exec("fxsave64 [rsi]; fninit; pxor xmm3, xmm3");
  EXPECT_EQ(s.fcw, 0x037f);
  EXPECT_EQ(s.xmm[3][0], 0u);
  s.mxcsr = 0x1f80;
  std::vector<uint8_t> img(512);
  m.mem.debug_read(kData, img.data(), img.size());
  auto u16 = [&](unsigned off) { return uint16_t(img[off] | img[off + 1] << 8); };
  auto u64 = [&](unsigned off) {
    uint64_t v;
    std::memcpy(&v, &img[off], 8);
    return v;
  };
  EXPECT_EQ(u16(0), 0x0a7f);
  EXPECT_EQ(u16(2), 0x3d25);
  EXPECT_EQ(img[4], 0xca) << "abridged: R1 R3 R6 R7";
  EXPECT_EQ(img[5], 0);
  EXPECT_EQ(u16(6), 0x7ab);
  EXPECT_EQ(u64(8), before.fip);
  EXPECT_EQ(u64(16), before.fdp);
  EXPECT_EQ(u64(24), 0x0000ffff00009fc0ull) << "MXCSR, MXCSR_MASK";
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned phys = (7 + i) & 7;
    EXPECT_EQ(u64(32 + 16 * i), before.fpr[phys].mant) << "ST(" << i << ")";
    EXPECT_EQ(u16(40 + 16 * i), before.fpr[phys].exp) << "ST(" << i << ")";
    for (unsigned k = 10; k < 16; ++k) EXPECT_EQ(img[32 + 16 * i + k], 0) << "ST(" << i << ") padding";
  }
  EXPECT_EQ(u64(160 + 16 * 5), before.xmm[5][0]);
  EXPECT_EQ(u64(160 + 16 * 15 + 8), before.xmm[15][1]);
  for (unsigned k = 416; k < 512; ++k) ASSERT_EQ(img[k], 0xcc) << "byte " << k << " untouched";

  m.exec("fxrstor64 [rsi]");
  EXPECT_EQ(s.fcw, before.fcw);
  EXPECT_EQ(s.fsw, before.fsw);
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(((s.ftw >> (2 * i)) & 3) == 3, ((before.ftw >> (2 * i)) & 3) == 3) << "R" << i << " empty";
  EXPECT_EQ(s.fop, before.fop);
  EXPECT_EQ(s.fip, before.fip);
  EXPECT_EQ(s.fdp, before.fdp);
  EXPECT_EQ(s.mxcsr, before.mxcsr);
  for (unsigned i = 0; i < 8; ++i) {
    EXPECT_EQ(s.fpr[i].mant, before.fpr[i].mant);
    EXPECT_EQ(s.fpr[i].exp, before.fpr[i].exp);
  }
  EXPECT_EQ(std::memcmp(s.xmm, before.xmm, sizeof s.xmm), 0);

  // The 32-bit forms: FIP and FDP in their low 32 bits, each followed by a selector of 0.
  m.exec("fxsave [rsi]");
  m.mem.debug_read(kData, img.data(), img.size());
  EXPECT_EQ(u64(8), before.fip & 0xffffffffu);
  EXPECT_EQ(u64(16), before.fdp & 0xffffffffu);
  m.mem.debug_write(kData + 8, marker.data(), 16);
  m.exec("fxrstor [rsi]");
  EXPECT_EQ(s.fip, 0xccccccccu) << "32 bits loaded";
  EXPECT_EQ(s.fdp, 0xccccccccu);
}

// fxsave/fxrstor on an address that is not 16-byte aligned, and fxrstor of an MXCSR with a
// reserved bit: #GP (SIGSEGV, SI_KERNEL, no address), nothing written or loaded.
TEST(X64X87, GeneralProtectionFaults) {
  struct Case {
    const char* text;
    uint64_t rsi;
    uint32_t mxcsr;  // in the image at kData
  };
  const Case cases[] = {{"fxsave64 [rsi]", kData + 8, 0x1f80},    {"fxsave [rsi]", kData + 1, 0x1f80},
                        {"fxrstor64 [rsi]", kData + 4, 0x1f80},   {"fxrstor [rsi]", kData + 15, 0x1f80},
                        {"fxrstor64 [rsi]", kData, 0x11f80},      {"fxrstor [rsi]", kData, 0x80000000}};
  for (const Case& k : cases) {
    X64Machine m;
    std::vector<uint8_t> img(544, 0);
    img[0] = 0x7f;  // FCW 0x007f in an image that would change it
    std::memcpy(&img[24 + (k.rsi - kData)], &k.mxcsr, 4);
    m.mem.debug_write(kData, img.data(), img.size());
    m.r(RSI) = k.rsi;
    m.st().xmm[0][0] = 0x1234;
    const std::vector<uint8_t> before = X64Machine::assemble("mov r8d, 9");
    Stop s = m.run(std::string("mov r8d, 9; ") + k.text);
    EXPECT_EQ(s.reason, StopReason::Trap) << k.text;
    EXPECT_EQ(s.signo, SIGSEGV) << k.text;
    EXPECT_EQ(s.code, 0x80) << k.text << ": SI_KERNEL";
    EXPECT_EQ(s.pc, kCode + before.size()) << k.text;
    EXPECT_EQ(m.r(R8), 9u);
    EXPECT_EQ(m.st().fcw, 0x037f) << k.text << ": nothing loaded";
    EXPECT_EQ(m.st().xmm[0][0], 0x1234u) << k.text;
    EXPECT_EQ(m.st().mxcsr, 0x1f80u) << k.text;
    std::vector<uint8_t> after(img.size());
    m.mem.debug_read(kData, after.data(), after.size());
    EXPECT_EQ(after, img) << k.text << ": nothing written";
  }
}

// A page fault part-way through the operand (its second page unmapped, or read-only): the
// instruction faults with nothing written to the first page and nothing loaded; the one before
// it completed.
TEST(X64X87, PageFaultsLeaveStateAndMemoryUnchanged) {
  constexpr uint64_t kDataEnd = kData + 0x10000;  // unmapped from here
  struct Case {
    const char* text;
    uint64_t rsi;
    uint64_t fault;
  };
  const Case cases[] = {
      {"fxsave64 [rsi]", kDataEnd - 256, kDataEnd},  {"fxsave [rsi]", kDataEnd - 16, kDataEnd},
      {"fxrstor64 [rsi]", kDataEnd - 96, kDataEnd},  {"fnstenv [rsi]", kDataEnd - 20, kDataEnd},
      {"fldenv [rsi]", kDataEnd - 4, kDataEnd},      {"fxsave64 [rsi]", kCode + 0x2000, kCode + 0x2000},
      {"fnstenv [rsi]", kDataEnd, kDataEnd},         {"fxsave64 [rsi]", 0x800000, 0x800000},
  };
  for (const Case& k : cases) {
    X64Machine m;
    std::vector<uint8_t> fill(256, 0x5c);
    m.mem.debug_write(kDataEnd - 256, fill.data(), fill.size());
    m.r(RSI) = k.rsi;
    m.r(R8) = 0;
    m.st().fcw = 0x0360;  // exceptions unmasked (fnstenv would mask them), nothing pending
    m.st().fpr[3].mant = 0x42;
    const std::vector<uint8_t> before = X64Machine::assemble("mov r8d, 9");
    Stop s = m.run(std::string("mov r8d, 9; ") + k.text);
    EXPECT_EQ(s.reason, StopReason::MemFault) << k.text;
    EXPECT_EQ(s.pc, kCode + before.size()) << k.text;
    EXPECT_EQ(s.addr, k.fault) << k.text;
    EXPECT_EQ(m.r(R8), 9u) << k.text;
    EXPECT_EQ(m.st().fcw, 0x0360) << k.text;
    EXPECT_EQ(m.st().fsw, 0u) << k.text;
    EXPECT_EQ(m.st().ftw, 0xffff) << k.text;
    EXPECT_EQ(m.st().fpr[3].mant, 0x42u) << k.text;
    std::vector<uint8_t> after(fill.size());
    m.mem.debug_read(kDataEnd - 256, after.data(), after.size());
    EXPECT_EQ(after, fill) << k.text << ": nothing written";
  }
}

}  // namespace
}  // namespace vmkit::x64::test
