// x87 arithmetic, loads, stores, compares, transcendentals and register moves: each instruction
// run on the host CPU and in vmkit from the same complete x87 state (fxrstor64 of one image: the
// registers, TOP, tags, condition codes and the control word's precision, rounding and masks),
// compared through the fxsave64 image and fnstenv of the state after it, the memory it stores and
// RFLAGS (fcomi, fcmovcc). FOP, FIP and FDP are cleared before the comparison (the AMD host saves
// them only while an exception is pending). Then, in vmkit alone: specific results (stack
// overflow/underflow give the QNaN indefinite), #MF at the next x87 instruction after an unmasked
// exception with the state unchanged, and page faults of memory operands with nothing changed.
#include <array>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

// 80-bit values (mantissa with its explicit integer bit, sign and exponent).
struct X87Value {
  uint64_t mant;
  uint16_t exp;
};
constexpr uint64_t kInt = 0x8000000000000000ull;
constexpr X87Value kOne{kInt, 0x3fff}, kZero{0, 0}, kNegZero{0, 0x8000}, kPi{0xc90fdaa22168c235ull, 0x4000},
    kTwoAndHalf{0xa000000000000000ull, 0x4000}, kMinusThird{0xaaaaaaaaaaaaaaabull, 0xbffd},
    kDenormal{0x0000000663278e62ull, 0}, kBig{0xd1ba8323fe558c61ull, 0x73e3}, kNegInf{kInt, 0xffff},
    kInf{kInt, 0x7fff}, kQnan{0xc000000000000000ull, 0x7fff}, kSnan{0xa000000000000000ull, 0xffff},
    kUnnormal{0x4000000000000000ull, 0x3fff}, kPseudoDenormal{kInt, 0}, kSmallestNormal{kInt, 1},
    kMax{~0ull, 0x7ffe}, kNegMax{~0ull, 0xfffe}, kTiny{0xc000000000000000ull, 0x0001}, kThree{0xc000000000000000ull, 0x4000},
    kE20{0xad78ebc5ac620000ull, 0x4041}, kEMinus20{0xbce5086492111aeaull, 0x3fbd}, kMinusSevenAndThreeQuarters{0xf800000000000000ull, 0xc001},
    kMinusThreeAndHalf{0xe000000000000000ull, 0xc000}, kTenBillion{0x9502f90000000000ull, 0x4020},
    kFractional{0xc0e6cd916872b021ull, 0x400c}, kMinusHalf{kInt, 0xbffe}, kTwoPow63{kInt, 0x403e},
    kNearlyOne{0xffffffffffffffffull, 0x3ffe}, kTwoFiftyFiveAndHalf{0xff80000000000000ull, 0x4006};

// ST(0) up to ST(n - 1) valid (the first n values), the rest empty; TOP and control as given.
struct Stack {
  std::vector<X87Value> values;
  unsigned top;
};

const std::vector<Stack>& stacks() {
  static const std::vector<Stack> s = {
      {{kPi, kTwoAndHalf, kMinusThird, kDenormal, kBig, kZero, kNegInf}, 5},                   // one free register
      {{kNegZero, kQnan, kSnan, kInf, kUnnormal, kPseudoDenormal, kDenormal, kSmallestNormal}, 0},  // full
      {{kMinusSevenAndThreeQuarters}, 3},                                                        // ST(1) empty
      {{}, 2},                                                                                   // empty
      {{kMax, kTiny, kThree, kNegMax, kEMinus20, kE20}, 7},
      {{kTwoAndHalf, kMinusThreeAndHalf, kTenBillion, kFractional, kMinusHalf, kTwoPow63, kNearlyOne, kTwoFiftyFiveAndHalf}, 1},
      {{kOne, kThree, kMinusHalf, kPi, kE20}, 6},
  };
  return s;
}

// Control words: precision 64/24/53, the four rounding modes, and exceptions unmasked (for single
// instructions only: an exception one leaves pending would trap at the next on the host).
constexpr uint16_t kFcwDefault = 0x037f;
const std::vector<uint16_t> kMaskedControlWords = {0x037f, 0x007f, 0x027f, 0x077f, 0x0b7f, 0x0f7f};
const std::vector<uint16_t> kControlWords = {0x037f, 0x007f, 0x027f, 0x077f, 0x0b7f, 0x0f7f, 0x0360, 0x0340, 0x0c72};

// The data area (rsi at its middle): the fxrstor64 image at -512 (its bytes 416..511, -96..-1,
// are scratch and hold the memory operands), fxsave64 of the result at 0, its fnstenv at 416.
constexpr int kImageIn = -512;
constexpr int kM32 = -96, kM64 = -88, kM80 = -80, kMi16 = -64, kMi32 = -60, kMi64 = -56, kBcd = -48, kStore = -32;

std::string mem(const char* size, int off) { return std::string(size) + " ptr [rsi - " + std::to_string(-off) + "]"; }

// Memory operands: ordinary values, then special ones (SNaN, denormal, pseudo-NaN, the most
// negative integers, invalid BCD digits).
struct MemValues {
  uint32_t m32;
  uint64_t m64;
  X87Value m80;
  uint16_t i16;
  uint32_t i32;
  uint64_t i64;
  X87Value bcd;  // (10 bytes: 9 of digits, a sign byte)
};
const std::vector<MemValues> kMemValues = {
    {0x40400000u, 0xbfb999999999999aull, kMinusThird, uint16_t(-7), 100000, (1ull << 62) + 1,
     {0x0000001234567890ull, 0x8000}},
    {0x7fa00000u, 0x000b8157268fdafaull, {0x4000000000000000ull, 0x7fff}, 0x8000, 0x80000000u, 0x8000000000000000ull,
     {0x99999999999999faull, 0x0099}},
    {0x00000001u, 0x7ff0000000000000ull, kDenormal, 0, 0xffffffffu, 0x7fffffffffffffffull, {0x0000000000000000ull, 0x0080}},
};

void put_value(uint8_t* p, const X87Value& v) {
  std::memcpy(p, &v.mant, 8);
  std::memcpy(p + 8, &v.exp, 2);
}

std::vector<uint8_t> area_of(const Stack& s, uint16_t fcw, uint16_t cc, const MemValues& mv) {
  std::vector<uint8_t> a(kAreaBytes);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(0xa5 ^ i);
  uint8_t* mid = a.data() + kAreaBytes / 2;
  uint8_t* img = mid + kImageIn;
  std::memset(img, 0, 416);
  const uint16_t fsw = uint16_t(s.top << 11 | cc);
  std::memcpy(img + 0, &fcw, 2);
  std::memcpy(img + 2, &fsw, 2);
  for (unsigned i = 0; i < s.values.size(); ++i) img[4] |= uint8_t(1u << ((s.top + i) & 7));
  const uint32_t mxcsr = 0x1f80;
  std::memcpy(img + 24, &mxcsr, 4);
  for (unsigned i = 0; i < 8; ++i) put_value(img + 32 + 16 * i, i < s.values.size() ? s.values[i] : kZero);
  std::memcpy(mid + kM32, &mv.m32, 4);
  std::memcpy(mid + kM64, &mv.m64, 8);
  put_value(mid + kM80, mv.m80);
  std::memcpy(mid + kMi16, &mv.i16, 2);
  std::memcpy(mid + kMi32, &mv.i32, 4);
  std::memcpy(mid + kMi64, &mv.i64, 8);
  put_value(mid + kBcd, mv.bcd);
  return a;
}

// Every text from every stack, control word and set of memory operands (and each flags value
// given), compared with the host; stops after 10 failures.
void sweep(const std::vector<std::string>& texts, const std::vector<uint16_t>& cws = kControlWords,
           const std::vector<uint32_t>& flag_values = {0}) {
  unsigned failures = 0;
  unsigned n = 0;
  for (const std::string& t : texts)
    for (size_t si = 0; si < stacks().size(); ++si)
      for (uint16_t cw : t.find(';') == std::string::npos ? cws : kMaskedControlWords)
        for (uint32_t fl : flag_values) {
          const MemValues& mv = kMemValues[(n++) % kMemValues.size()];
          const uint16_t cc = (si & 1) ? 0x4500 : 0x0200;  // C3 C2 C0, or C1
          if (!expect_like_host(x87_probe(t, true), filler_regs(), fl, kArithFlags, RSI,
                                area_of(stacks()[si], cw, cc, mv)) &&
              ++failures >= 10)
            return;
        }
}

// The st(i) forms of an instruction: `name st, st(i)` / `name st(i), st` / `name st(i)`.
std::vector<std::string> with_registers(const std::string& pattern) {
  std::vector<std::string> v;
  for (const char* i : {"0", "1", "3", "7"}) {
    std::string t = pattern;
    for (size_t at; (at = t.find('#')) != std::string::npos;) t.replace(at, 1, i);
    v.push_back(t);
  }
  return v;
}

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> lists) {
  std::vector<std::string> out;
  for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
  return out;
}

TEST(X64X87Arith, LoadsAndStoresMatchTheHost) {
  sweep(concat({{"fld " + mem("dword", kM32), "fld " + mem("qword", kM64), "fld " + mem("tbyte", kM80),
                 "fild " + mem("word", kMi16), "fild " + mem("dword", kMi32), "fild " + mem("qword", kMi64),
                 "fbld " + mem("tbyte", kBcd), "fst " + mem("dword", kStore), "fst " + mem("qword", kStore),
                 "fstp " + mem("dword", kStore), "fstp " + mem("qword", kStore), "fstp " + mem("tbyte", kStore),
                 "fist " + mem("word", kStore), "fist " + mem("dword", kStore), "fistp " + mem("word", kStore),
                 "fistp " + mem("dword", kStore), "fistp " + mem("qword", kStore), "fisttp " + mem("word", kStore),
                 "fisttp " + mem("dword", kStore), "fisttp " + mem("qword", kStore), "fbstp " + mem("tbyte", kStore),
                 "fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2",
                 "fld " + mem("tbyte", kM80) + "; fstp " + mem("tbyte", kStore),
                 "fld " + mem("dword", kM32) + "; fld " + mem("qword", kM64) + "; fld1"},
                with_registers("fld st(#)"), with_registers("fst st(#)"), with_registers("fstp st(#)"),
                with_registers("fxch st(#)"), with_registers("ffree st(#)")}));
}

TEST(X64X87Arith, BasicArithmeticMatchesTheHost) {
  std::vector<std::string> texts;
  for (const char* op : {"fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr"}) {
    const std::string o = op;
    texts.push_back(o + " " + mem("dword", kM32));
    texts.push_back(o + " " + mem("qword", kM64));
    texts.push_back("fi" + o.substr(1) + " " + mem("word", kMi16));
    texts.push_back("fi" + o.substr(1) + " " + mem("dword", kMi32));
    for (const std::string& t : concat({with_registers(o + " st, st(#)"), with_registers(o + " st(#), st"),
                                        with_registers(o + "p st(#), st")}))
      texts.push_back(t);
  }
  sweep(texts);
}

TEST(X64X87Arith, UnaryAndTranscendentalMatchTheHost) {
  sweep({"fabs", "fchs", "fsqrt", "frndint", "fscale", "fprem", "fprem1", "fxtract", "f2xm1", "fyl2x", "fyl2xp1",
         "fptan", "fpatan", "fsin", "fcos", "fsincos", "fincstp", "fdecstp", "fnop", "fxam", "ftst",
         "fprem; fprem; fprem", "fld1; fadd st, st(1); fsqrt; fstp " + mem("tbyte", kStore)});
}

TEST(X64X87Arith, ComparesMatchTheHost) {
  sweep(concat({{"fcom " + mem("dword", kM32), "fcom " + mem("qword", kM64), "fcomp " + mem("dword", kM32),
                 "fcomp " + mem("qword", kM64), "ficom " + mem("word", kMi16), "ficom " + mem("dword", kMi32),
                 "ficomp " + mem("word", kMi16), "ficomp " + mem("dword", kMi32), "fcompp", "fucompp"},
                with_registers("fcom st(#)"), with_registers("fcomp st(#)"), with_registers("fucom st(#)"),
                with_registers("fucomp st(#)")}));
  // The i forms set ZF PF CF (and clear OF SF AF), from flags that had all of them set.
  sweep(concat({with_registers("fcomi st, st(#)"), with_registers("fcomip st, st(#)"),
                with_registers("fucomi st, st(#)"), with_registers("fucomip st, st(#)")}),
        kControlWords, {0, kArithFlags});
}

TEST(X64X87Arith, FcmovMatchesTheHost) {
  std::vector<std::string> texts;
  for (const char* cc : {"b", "e", "be", "u", "nb", "ne", "nbe", "nu"})
    for (const std::string& t : with_registers(std::string("fcmov") + cc + " st, st(#)")) texts.push_back(t);
  sweep(texts, {kFcwDefault, 0x0340}, {0, kCF, kZF, kPF, kCF | kZF | kPF, kSF | kOF});
}

TEST(X64X87Arith, SaveAndRestoreMatchTheHost) {
  // fnsave's FIP/FDP/FOP (offsets 12..23 of its image) are cleared like the others.
  const std::string clear = "\nmov qword ptr [rsi - 500], 0\nmov dword ptr [rsi - 492], 0\n";
  sweep({"fnsave [rsi - 512]" + clear + "frstor [rsi - 512]", "fnsave [rsi - 512]" + clear + "fld1"});
}

// ---- vmkit alone --------------------------------------------------------------------------------

struct Machine : X64Machine {
  Machine() {
    reset_fpu(st());
    r(RSI) = kData;
  }
  unsigned top() { return st().fsw >> 11 & 7; }
  const State::X87Reg& at(unsigned i) { return st().fpr[(top() + i) & 7]; }
  bool empty(unsigned i) { return (st().ftw >> (2 * ((top() + i) & 7)) & 3) == 3; }
};

constexpr uint64_t kIndefiniteMant = 0xc000000000000000ull;
constexpr uint16_t kIndefiniteExp = 0xffff;
constexpr uint16_t kIE = 1, kZE = 4, kSF = 0x40, kC1 = 0x200, kES = 0x80;

TEST(X64X87Arith, SimpleResultsAndTags) {
  Machine m;
  m.exec("fld1; fld1; faddp st(1), st; fldpi; fmul st, st(1)");
  EXPECT_EQ(m.top(), 6u);
  EXPECT_EQ(m.at(0).mant, 0xc90fdaa22168c235ull) << "2 pi, rounded to nearest";
  EXPECT_EQ(m.at(0).exp, 0x4001);
  EXPECT_EQ(m.at(1).mant, kInt);
  EXPECT_EQ(m.at(1).exp, 0x4000) << "2";
  EXPECT_FALSE(m.empty(0));
  EXPECT_FALSE(m.empty(1));
  EXPECT_TRUE(m.empty(2));
  EXPECT_EQ(m.st().fsw & 0x3f, 0) << "fldpi and doubling are exact";

  // fistp of 2 pi (6.28...) rounds to 6 and pops; fisttp of 2 truncates to 2.
  m.exec("fistp dword ptr [rsi]; fisttp word ptr [rsi + 4]");
  uint8_t out[6];
  m.mem.debug_read(kData, out, 6);
  EXPECT_EQ(out[0] | out[1] << 8 | out[2] << 16 | out[3] << 24, 6);
  EXPECT_EQ(out[4] | out[5] << 8, 2);
  EXPECT_EQ(m.st().ftw, 0xffff) << "both popped";
  EXPECT_EQ(m.top(), 0u);
}

TEST(X64X87Arith, CompareFlags) {
  Machine m;
  const float three = 3.0f, nan = __builtin_nanf("");
  m.mem.debug_write(kData, &three, 4);
  m.mem.debug_write(kData + 4, &nan, 4);
  m.exec("stc; fld dword ptr [rsi]; fld1; fcomi st, st(1)");
  EXPECT_EQ(m.flags(), kCF) << "1 < 3";
  m.exec("fxch st(1); fucomi st, st(1)");
  EXPECT_EQ(m.flags(), 0u) << "3 > 1";
  m.exec("fld st(0); fucomip st, st(1)");
  EXPECT_EQ(m.flags(), kZF) << "equal";
  m.exec("fld dword ptr [rsi + 4]; fucomip st, st(1)");
  EXPECT_EQ(m.flags(), kZF | kPF | kCF) << "unordered";
  EXPECT_EQ(m.st().fsw & kIE, 0) << "fucomi of a QNaN is not invalid";
  m.exec("fld dword ptr [rsi + 4]; fcomip st, st(1)");
  EXPECT_EQ(m.flags(), kZF | kPF | kCF);
  EXPECT_EQ(m.st().fsw & kIE, kIE) << "fcomi of a QNaN is";
  EXPECT_EQ(m.top(), 6u) << "two left";
}

// Pushing onto a full stack and reading an empty register: IE and SF, C1 1 for overflow and 0 for
// underflow, the QNaN indefinite written (masked).
TEST(X64X87Arith, StackOverflowAndUnderflow) {
  Machine m;
  m.exec("fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fldz");
  EXPECT_EQ(m.st().fsw & (kIE | kSF | kC1), kIE | kSF | kC1);
  EXPECT_EQ(m.top(), 7u) << "TOP moved";
  EXPECT_EQ(m.at(0).mant, kIndefiniteMant);
  EXPECT_EQ(m.at(0).exp, kIndefiniteExp);
  for (unsigned i = 0; i < 8; ++i) EXPECT_FALSE(m.empty(i)) << "ST(" << i << ")";

  Machine u;
  u.exec("fld1; fadd st, st(1)");
  EXPECT_EQ(u.st().fsw & (kIE | kSF | kC1), kIE | kSF);
  EXPECT_EQ(u.at(0).mant, kIndefiniteMant);
  EXPECT_EQ(u.at(0).exp, kIndefiniteExp);
  u.exec("fnclex; fstp st(0); fstp qword ptr [rsi]");
  uint64_t stored = 0;
  u.mem.debug_read(kData, &stored, 8);
  EXPECT_EQ(stored, 0xfff8000000000000ull) << "the double indefinite stored";
  EXPECT_EQ(u.st().fsw & (kIE | kSF | kC1), kIE | kSF);
}

// An unmasked exception: the instruction sets its flag and ES (the destination untouched), the
// next x87 instruction raises #MF (SIGFPE) before doing anything.
TEST(X64X87Arith, UnmaskedExceptionTrapsAtTheNextInstruction) {
  struct Case {
    const char* setup;  // run first, leaves the exception pending
    const char* next;   // traps
    uint16_t fcw;
    uint16_t flag;
    int code;
  };
  const Case cases[] = {
      {"fldz; fldz; fdiv st, st(1)", "fld1", 0x037e, kIE, 7},
      {"fld1; fldz; fdivp st(1), st", "fstp qword ptr [rsi + 16]", 0x037b, kZE, 3},
      {"fld1; fsqrt; fchs; fsqrt", "fadd st, st(0)", 0x037e, kIE, 7},
      {"fld1; fldz; fdivp st(1), st", "fcomi st, st(1)", 0x037b, kZE, 3},
      {"fldz; fldz; fdiv st, st(1)", "fistp dword ptr [rsi + 16]", 0x037e, kIE, 7},
  };
  for (const Case& k : cases) {
    Machine m;
    m.st().fcw = k.fcw;
    m.exec(k.setup);
    const State before = m.st();
    EXPECT_EQ(before.fsw & (k.flag | kES), k.flag | kES) << k.setup;
    std::vector<uint8_t> mem_before(32), mem_after(32);
    m.mem.debug_read(kData, mem_before.data(), 32);
    const uint64_t flags_before = m.flags();
    Stop s = m.run(k.next);
    EXPECT_EQ(s.reason, StopReason::Trap) << k.next;
    EXPECT_EQ(s.signo, SIGFPE) << k.next;
    EXPECT_EQ(s.code, k.code) << k.next;
    EXPECT_EQ(s.pc, kCode) << k.next;
    EXPECT_EQ(m.st().fsw, before.fsw) << k.next;
    EXPECT_EQ(m.st().ftw, before.ftw) << k.next;
    EXPECT_EQ(std::memcmp(m.st().fpr, before.fpr, sizeof before.fpr), 0) << k.next;
    EXPECT_EQ(m.flags(), flags_before) << k.next;
    m.mem.debug_read(kData, mem_after.data(), 32);
    EXPECT_EQ(mem_after, mem_before) << k.next;
  }
  // The unmasked 0/0 left ST(0) as it was (0); fnclex clears it and the next one runs.
  Machine m;
  m.st().fcw = 0x037e;
  m.exec("fldz; fldz; fdiv st, st(1); fnclex; fld1");
  EXPECT_EQ(m.at(1).mant, 0u) << "0/0 not written";
  EXPECT_EQ(m.at(1).exp, 0);
  EXPECT_EQ(m.st().fsw & 0x3f, 0);
}

// A memory operand on an unmapped page (or half of it): the fault leaves registers, TOP, tags,
// status and memory unchanged.
TEST(X64X87Arith, PageFaultsChangeNothing) {
  constexpr uint64_t kDataEnd = kData + 0x10000;
  for (const char* text : {"fld tbyte ptr [rdi]", "fstp tbyte ptr [rdi]", "fadd qword ptr [rdi]", "fbstp tbyte ptr [rdi]",
                           "fistp qword ptr [rdi]", "fnsave [rdi]", "frstor [rdi]", "fild word ptr [rdi + 4]"}) {
    Machine m;
    m.exec("fld1; fldpi");
    m.r(RDI) = kDataEnd - 4;
    const State before = m.st();
    std::vector<uint8_t> tail_before(4), tail_after(4);
    m.mem.debug_read(kDataEnd - 4, tail_before.data(), 4);
    Stop s = m.run(text);
    EXPECT_EQ(s.reason, StopReason::MemFault) << text;
    EXPECT_EQ(s.addr, kDataEnd) << text;
    EXPECT_EQ(s.pc, kCode) << text;
    EXPECT_EQ(m.st().fsw, before.fsw) << text;
    EXPECT_EQ(m.st().ftw, before.ftw) << text;
    EXPECT_EQ(m.st().fop, before.fop) << text;
    EXPECT_EQ(m.st().fip, before.fip) << text;
    EXPECT_EQ(std::memcmp(m.st().fpr, before.fpr, sizeof before.fpr), 0) << text;
    m.mem.debug_read(kDataEnd - 4, tail_after.data(), 4);
    EXPECT_EQ(tail_after, tail_before) << text;
  }
}

}  // namespace

}  // namespace vmkit::x64::test
