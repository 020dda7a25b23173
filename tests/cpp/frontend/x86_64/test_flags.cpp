// The lazily kept arithmetic flags (flags.cpp): eval_flags of every kind and width against the
// host CPU running the same operation (the host is the reference), and RFLAGS as programs and
// Python see it.
#include <random>

#include "x64_test_util.h"

namespace vmkit::x64::test {
namespace {

// The host's flags after `insn` on a (and b, count or carry in), at width W (8..64). The
// operation runs in inline asm; CF is set to `carry_in` first (for adc, sbb, inc, dec).
template <unsigned W>
uint64_t host_flags(const char* op, uint64_t a, uint64_t b, bool carry_in) {
  uint64_t f = 0;
  const std::string name(op);
#define VMKIT_HOST_OP(MNEMONIC, SUFFIX, MOD)                                                                        \
  if (name == MNEMONIC) {                                                                                             \
    __asm__ volatile("bt $0, %[ci]\n" MNEMONIC SUFFIX " %" MOD "[b], %" MOD "[a]\npushfq\npop %[f]"                 \
                     : [a] "+r"(a), [f] "=r"(f)                                                                       \
                     : [b] "r"(b), [ci] "r"(uint64_t(carry_in))                                                       \
                     : "cc");                                                                                         \
    return f;                                                                                                         \
  }
#define VMKIT_HOST_UNARY(MNEMONIC, SUFFIX, MOD)                                                                     \
  if (name == MNEMONIC) {                                                                                             \
    __asm__ volatile("bt $0, %[ci]\n" MNEMONIC SUFFIX " %" MOD "[a]\npushfq\npop %[f]"                              \
                     : [a] "+r"(a), [f] "=r"(f)                                                                       \
                     : [ci] "r"(uint64_t(carry_in))                                                                   \
                     : "cc");                                                                                         \
    return f;                                                                                                         \
  }
#define VMKIT_HOST_SHIFT(MNEMONIC, SUFFIX, MOD)                                                                     \
  if (name == MNEMONIC) {                                                                                             \
    __asm__ volatile(MNEMONIC SUFFIX " %%cl, %" MOD "[a]\npushfq\npop %[f]" : [a] "+r"(a), [f] "=r"(f) : "c"(b) : "cc"); \
    return f;                                                                                                         \
  }
#define VMKIT_HOST_ALL(SUFFIX, MOD)                                                                                   \
  VMKIT_HOST_OP("add", SUFFIX, MOD) VMKIT_HOST_OP("sub", SUFFIX, MOD) VMKIT_HOST_OP("adc", SUFFIX, MOD)             \
  VMKIT_HOST_OP("sbb", SUFFIX, MOD) VMKIT_HOST_OP("and", SUFFIX, MOD) VMKIT_HOST_UNARY("inc", SUFFIX, MOD)          \
  VMKIT_HOST_UNARY("dec", SUFFIX, MOD) VMKIT_HOST_UNARY("neg", SUFFIX, MOD) VMKIT_HOST_SHIFT("shl", SUFFIX, MOD)    \
  VMKIT_HOST_SHIFT("shr", SUFFIX, MOD) VMKIT_HOST_SHIFT("sar", SUFFIX, MOD)
  if constexpr (W == 8) { VMKIT_HOST_ALL("b", "b") }
  if constexpr (W == 16) { VMKIT_HOST_ALL("w", "w") }
  if constexpr (W == 32) { VMKIT_HOST_ALL("l", "k") }
  if constexpr (W == 64) { VMKIT_HOST_ALL("q", "q") }
#undef VMKIT_HOST_ALL
#undef VMKIT_HOST_SHIFT
#undef VMKIT_HOST_UNARY
#undef VMKIT_HOST_OP
  ADD_FAILURE() << "no host operation " << op;
  return 0;
}

struct Case {
  const char* op;
  CcKind kind;
  uint32_t defined;  // the flags the SDM defines for it
};

// What vmkit records for op (state.h): the operands, or the result and the carry kept.
uint32_t vmkit_flags(const Case& k, unsigned w, uint64_t a, uint64_t b, bool carry_in) {
  const uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
  const uint32_t op = cc_op(k.kind, w / 8);
  const std::string name(k.op);
  if (name == "and") return eval_flags(op, a & b & mask, 0, 0);
  if (name == "inc") return eval_flags(op, (a + 1) & mask, 0, carry_in);
  if (name == "dec") return eval_flags(op, (a - 1) & mask, 0, carry_in);
  if (name == "adc" || name == "sbb") return eval_flags(op, a, b, carry_in);
  return eval_flags(op, a, b, 0);
}

template <unsigned W>
void compare_with_host(const Case& k, uint64_t a, uint64_t b, bool carry_in) {
  uint32_t defined = k.defined;
  const std::string name(k.op);
  if (name == "shl" || name == "shr" || name == "sar") {
    b &= W == 64 ? 63 : 31;
    if (b == 0) return;  // no flags change: vmkit records nothing (the lifter's business)
    defined &= ~kAF;
    if (b != 1) defined &= ~kOF;
    if (b > W) defined &= ~kCF;
  }
  const uint32_t host = uint32_t(host_flags<W>(k.op, a, b, carry_in)) & defined;
  const uint32_t mine = vmkit_flags(k, W, a, b, carry_in) & defined;
  EXPECT_EQ(mine, host) << k.op << W << " a=0x" << std::hex << a << " b=0x" << b << " carry=" << carry_in;
}

TEST(X64Flags, EveryKindAndWidthMatchesTheHost) {
  const Case cases[] = {
      {"add", kCcAdd, kArithFlags}, {"sub", kCcSub, kArithFlags}, {"adc", kCcAdc, kArithFlags},
      {"sbb", kCcSbb, kArithFlags}, {"and", kCcLogic, kArithFlags & ~kAF}, {"inc", kCcInc, kArithFlags},
      {"dec", kCcDec, kArithFlags}, {"neg", kCcNeg, kArithFlags}, {"shl", kCcShl, kArithFlags},
      {"shr", kCcShr, kArithFlags}, {"sar", kCcSar, kArithFlags},
  };
  const uint64_t edges[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
                            0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x0f, 0x10};
  std::mt19937_64 rng(42);
  for (const Case& k : cases) {
    for (int n = 0; n < 600; ++n) {
      const uint64_t a = n < 289 ? edges[n % 17] : rng(), b = n < 289 ? edges[n / 17 % 17] : rng();
      const bool carry = n & 1;
      compare_with_host<8>(k, a, b, carry);
      compare_with_host<16>(k, a, b, carry);
      compare_with_host<32>(k, a, b, carry);
      compare_with_host<64>(k, a, b, carry);
      if (HasFailure()) return;
    }
  }
}

// The per-condition evaluation (blocks that read a condition before setting flags) against the
// conditions of the whole flag word, for every kind, width and condition.
TEST(X64Flags, EvalCondAgreesWithTheFlagWord) {
  auto holds = [](unsigned cc, uint32_t f) {
    const bool sf_ne_of = bool(f & kSF) != bool(f & kOF);
    const bool r[8] = {bool(f & kOF), bool(f & kCF), bool(f & kZF), bool(f & (kCF | kZF)),
                       bool(f & kSF), bool(f & kPF), sf_ne_of, bool(f & kZF) || sf_ne_of};
    return (cc & 1) ? !r[cc >> 1] : r[cc >> 1];
  };
  const uint64_t edges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                            0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
  std::mt19937_64 rng(7);
  for (uint32_t kind = kCcRaw; kind < kCcKinds; ++kind) {
    for (unsigned bytes : {1u, 2u, 4u, 8u}) {
      const uint32_t op = cc_op(CcKind(kind), bytes);
      for (int n = 0; n < 400; ++n) {
        uint64_t a = n < 196 ? edges[n % 14] : rng(), b = n < 196 ? edges[n / 14] : rng();
        if (kind >= kCcShl && kind <= kCcSar) b = 1 + b % (bytes * 8 - 1);  // counts as recorded
        const uint64_t c = n & 1;
        const uint32_t word = eval_flags(op, a, b, c);
        for (unsigned cc = 0; cc < 16; ++cc)
          ASSERT_EQ(eval_cond(cc, op, a, b, c), holds(cc, word))
              << "kind " << kind << " bytes " << bytes << " cc " << cc << std::hex << " a=0x" << a << " b=0x" << b;
      }
    }
  }
}

// inc and dec keep CF. At the start of a block they keep the state's record of it rather than its
// value (a chain of them passes the first record on), and whatever reads CF later - in the same
// block, the next one, through pushf, adc or a shift by a variable count - must see the CF the
// instruction before them left, as the host does.
TEST(X64Flags, IncDecKeepTheCarryAcrossBlocks) {
  const char* const cases[] = {
      // a compare's CF through inc (block start), dec (chained) and a jcc/setb/adc in later blocks
      "cmp rax, rbx\njmp 1f\n1: inc rcx\njmp 2f\n2: dec rdx\njmp 3f\n3: setb r8b\nadc r9, r10\njb 4f\nnop\n4:",
      // an add's CF (width-dependent) kept by a 16-bit dec, read by pushfq
      "add ax, bx\njmp 1f\n1: dec si\npushfq\npop r11",
      // inc then a shift by cl in the same block: when cl & 63 is 0 the shift changes nothing
      "sub eax, ebx\njmp 1f\n1: inc rdx\nshl rsi, cl\njmp 2f\n2: setb r8b\nsetz r9b\nsbb r10, r10",
      // a logic op (CF 0) and a raw one (popf) as the kept records
      "test rax, rbx\njmp 1f\n1: dec rcx\njmp 2f\n2: cmc\nsetb r8b",
      "and rax, 0x8d5\npush rax\npopfq\njmp 1f\n1: inc rbx\ninc rbx\njmp 2f\n2: dec rcx\nsetb r8b\nsetc r9b",
  };
  std::mt19937_64 rng(11);
  const uint64_t edges[] = {0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, ~0ull, 0x8000000000000000ull};
  for (const char* text : cases) {
    for (int n = 0; n < 60; ++n) {
      std::array<uint64_t, 16> regs = filler_regs();
      for (unsigned r : {RAX, RBX, RCX, RDX, RSI}) regs[r] = n < 40 ? edges[rng() % 9] : rng();
      if (n % 3 == 0) regs[RCX] = 0;  // a count of 0 for the shift, a zero for the others
      const uint32_t flags_in = uint32_t(rng()) & kArithFlags;
      ASSERT_TRUE(expect_like_host(text, regs, flags_in, kArithFlags & ~kAF, -1, {})) << text;
    }
  }
}

TEST(X64Flags, RflagsReadsAndWritesEveryWritableBit) {
  X64Machine m;
  set_rflags(m.st(), kArithFlags | kDF | (1u << 21) | (1u << 8));
  EXPECT_EQ(rflags(m.st()), uint64_t(kArithFlags | kDF | (1u << 21) | (1u << 8) | 0x202));
  set_rflags(m.st(), 0);
  EXPECT_EQ(rflags(m.st()), 0x202u) << "bit 1 and IF read as one";
  // after an instruction, the lazy form evaluates to the same flags the host computes
  m.r(RAX) = 0x7fffffffffffffffull;
  m.exec("add rax, 1");
  EXPECT_EQ(rflags(m.st()) & kArithFlags, host_flags<64>("add", 0x7fffffffffffffffull, 1, false) & kArithFlags);
}

}  // namespace
}  // namespace vmkit::x64::test
