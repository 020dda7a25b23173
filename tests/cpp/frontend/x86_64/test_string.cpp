// String instructions (movs, stos, lods, scas, cmps with rep/repe/repne, both directions) and
// the atomics (xadd, cmpxchg, cmpxchg8b/16b), against the host CPU; and the precision of a rep
// that faults half way.
#include <array>
#include <csignal>

#include "core/machine.h"
#include "x64_test_util.h"

namespace vmkit::x64::test {
namespace {

// The registers a string instruction uses, and RFLAGS (arithmetic flags and DF) before/after.
struct StrRegs {
  uint64_t rax, rcx, rsi, rdi, flags;
};

// Runs one instruction natively with the given flags (DF included), then clears DF again. The
// 128-byte step keeps pushfq/popfq off the red zone.
#define NATIVE_STR(att)                                                                                 \
  [](StrRegs& r) {                                                                                      \
    asm volatile("sub $128, %%rsp; pushq %[f]; popfq; " att "; pushfq; popq %[f]; cld; add $128, %%rsp" \
                 : "+a"(r.rax), "+c"(r.rcx), "+S"(r.rsi), "+D"(r.rdi), [f] "+r"(r.flags)                \
                 :                                                                                      \
                 : "memory", "cc");                                                                     \
  }

struct StrCase {
  const char* intel;
  void (*native)(StrRegs&);
};

const StrCase kStringCases[] = {
    {"movsb", NATIVE_STR("movsb")},           {"movsw", NATIVE_STR("movsw")},
    {"movsd", NATIVE_STR("movsl")},           {"movsq", NATIVE_STR("movsq")},
    {"rep movsb", NATIVE_STR("rep movsb")},   {"rep movsw", NATIVE_STR("rep movsw")},
    {"rep movsd", NATIVE_STR("rep movsl")},   {"rep movsq", NATIVE_STR("rep movsq")},
    {"stosb", NATIVE_STR("stosb")},           {"stosq", NATIVE_STR("stosq")},
    {"rep stosb", NATIVE_STR("rep stosb")},   {"rep stosw", NATIVE_STR("rep stosw")},
    {"rep stosd", NATIVE_STR("rep stosl")},   {"rep stosq", NATIVE_STR("rep stosq")},
    {"lodsb", NATIVE_STR("lodsb")},           {"lodsw", NATIVE_STR("lodsw")},
    {"lodsd", NATIVE_STR("lodsl")},           {"lodsq", NATIVE_STR("lodsq")},
    {"rep lodsb", NATIVE_STR("rep lodsb")},   {"rep lodsd", NATIVE_STR("rep lodsl")},
    {"scasb", NATIVE_STR("scasb")},           {"scasw", NATIVE_STR("scasw")},
    {"scasd", NATIVE_STR("scasl")},           {"scasq", NATIVE_STR("scasq")},
    {"repe scasb", NATIVE_STR("repe scasb")}, {"repne scasb", NATIVE_STR("repne scasb")},
    {"repe scasd", NATIVE_STR("repe scasl")}, {"repne scasq", NATIVE_STR("repne scasq")},
    {"cmpsb", NATIVE_STR("cmpsb")},           {"cmpsw", NATIVE_STR("cmpsw")},
    {"cmpsd", NATIVE_STR("cmpsl")},           {"cmpsq", NATIVE_STR("cmpsq")},
    {"repe cmpsb", NATIVE_STR("repe cmpsb")}, {"repne cmpsb", NATIVE_STR("repne cmpsb")},
    {"repe cmpsw", NATIVE_STR("repe cmpsw")}, {"repe cmpsq", NATIVE_STR("repe cmpsq")},
    {"repne cmpsd", NATIVE_STR("repne cmpsl")},
};

constexpr size_t kBuf = 0x400;           // each buffer; rsi/rdi start in the middle
constexpr uint64_t kSrc = kData + 0x1000, kDst = kData + 0x2000;
alignas(16) uint8_t g_src[kBuf], g_dst[kBuf];

// Source and destination agree up to byte 24 and then differ (repe stops, repne runs on);
// byte 13 (and only it among the first 24 after the start, both ways) matches al = 0x5a.
void fill(uint8_t* src, uint8_t* dst) {
  for (size_t i = 0; i < kBuf; ++i) {
    src[i] = uint8_t(i * 7 + 1);
    if (src[i] == 0x5a) src[i] = 0x11;
    dst[i] = src[i];
  }
  for (size_t off : {kBuf / 2 + 13, kBuf / 2 - 13}) src[off] = dst[off] = 0x5a;
  for (size_t off : {kBuf / 2 + 24, kBuf / 2 - 25}) dst[off] ^= 0x80;
}

TEST(X64String, EveryFormMatchesTheHost) {
  X64Machine m;
  const uint64_t kInputFlags[] = {0, kCF | kZF | kPF, kSF | kOF | kAF};
  for (const StrCase& k : kStringCases) {
    for (uint64_t df : {0u, 1u}) {
      for (uint64_t count : {0ull, 1ull, 3ull, 40ull}) {
        for (uint64_t in_flags : kInputFlags) {
          const std::string what = std::string(k.intel) + " df=" + std::to_string(df) + " rcx=" + std::to_string(count) +
                                   " flags=" + std::to_string(in_flags);
          std::array<uint8_t, kBuf> src{}, dst{};
          fill(src.data(), dst.data());
          std::memcpy(g_src, src.data(), kBuf);
          std::memcpy(g_dst, dst.data(), kBuf);
          m.mem.debug_write(kSrc, src.data(), kBuf);
          m.mem.debug_write(kDst, dst.data(), kBuf);
          const uint64_t rax = 0x1122334455667700ull | 0x5a;
          StrRegs host{rax, count, uint64_t(g_src) + kBuf / 2, uint64_t(g_dst) + kBuf / 2, in_flags | (df << 10) | 0x202};
          k.native(host);
          m.r(RAX) = rax;
          m.r(RCX) = count;
          m.r(RSI) = kSrc + kBuf / 2;
          m.r(RDI) = kDst + kBuf / 2;
          set_rflags(m.st(), in_flags | (df << 10));
          m.exec(k.intel);
          EXPECT_EQ(m.r(RAX), host.rax) << what;
          EXPECT_EQ(m.r(RCX), host.rcx) << what;
          EXPECT_EQ(m.r(RSI) - kSrc, host.rsi - uint64_t(g_src)) << what;
          EXPECT_EQ(m.r(RDI) - kDst, host.rdi - uint64_t(g_dst)) << what;
          EXPECT_EQ(rflags(m.st()) & (kArithFlags | kDF), host.flags & (kArithFlags | kDF)) << what;
          std::array<uint8_t, kBuf> got{};
          m.mem.debug_read(kDst, got.data(), kBuf);
          EXPECT_EQ(0, std::memcmp(got.data(), g_dst, kBuf)) << what << ": destination memory";
        }
      }
    }
  }
}

TEST(X64String, RepWithZeroCountTouchesNoMemory) {
  X64Machine m;
  m.r(RCX) = 0;
  m.r(RSI) = 0xdead0000;  // unmapped: any access would fault
  m.r(RDI) = 0xbeef0000;
  m.exec("rep movsb; rep stosq; repe cmpsb; repne scasb; rep lodsd");
  EXPECT_EQ(m.r(RSI), 0xdead0000u);
  EXPECT_EQ(m.r(RDI), 0xbeef0000u);
}

TEST(X64String, OverlappingRepMovsbReplicatesAsHardwareDoes) {
  // dst = src + 1, forward: each byte copies the one just written (a pattern fill), not memmove.
  X64Machine m;
  alignas(8) uint8_t host[64] = {0x42};
  for (int i = 1; i < 64; ++i) host[i] = uint8_t(i);
  m.mem.debug_write(kSrc, host, sizeof host);
  StrRegs r{0, 40, uint64_t(host), uint64_t(host) + 1, 0x202};
  NATIVE_STR("rep movsb")(r);
  m.r(RCX) = 40;
  m.r(RSI) = kSrc;
  m.r(RDI) = kSrc + 1;
  m.exec("rep movsb");
  uint8_t got[64];
  m.mem.debug_read(kSrc, got, sizeof got);
  EXPECT_EQ(0, std::memcmp(got, host, sizeof got));
  EXPECT_EQ(got[40], 0x42);
  EXPECT_EQ(got[41], 41);
}

TEST(X64String, AddressSizePrefixUsesAndZeroExtendsEcxEsiEdi) {
  // addr32 rep stosb: ecx counts, edi steps; the 32-bit writes clear the upper halves (checked
  // on the host with a loop: addr32 loop leaves rcx = 0 from 0xaaaaaaaa00000003).
  X64Machine m;
  m.r(RCX) = 0xffffffff00000004ull;
  m.r(RDI) = 0xffffffff00000000ull | kDst;
  m.r(RAX) = 0x77;
  m.exec(".byte 0x67; rep stosb");
  EXPECT_EQ(m.r(RCX), 0u);
  EXPECT_EQ(m.r(RDI), kDst + 4);
  uint8_t got[5];
  m.mem.debug_read(kDst, got, 5);
  EXPECT_EQ(got[3], 0x77);
  EXPECT_EQ(got[4], 0);
}

// A rep movsb whose destination runs into an unmapped page (kData's 64 KiB end at 0x50000)
// stops with a fault at the first element there, with rsi/rdi/rcx describing the remaining work
// and the elements before it stored; so does one whose source runs out, and one going down.
TEST(X64String, RepMovsbFaultsPreciselyMidway) {
  const uint64_t end = kData + 0x10000;
  for (bool down : {false, true}) {
    for (bool bad_dst : {true, false}) {
      X64Machine m;
      const uint64_t good = kData + 0x3000;
      const uint64_t edge = down ? kData : end;  // where the mapping ends going this way
      const uint64_t start = down ? edge + 4 : edge - 5;
      // going down from kData + 4: elements at +4..+0 are mapped, kData - 1 is not
      uint8_t pattern[16];
      for (int i = 0; i < 16; ++i) pattern[i] = uint8_t(0xa0 + i);
      if (down) {
        m.mem.debug_write(bad_dst ? good - 8 : kData, pattern, 16);
        set_rflags(m.st(), kDF);
      } else {
        m.mem.debug_write(bad_dst ? good : end - 16, pattern, 16);
      }
      m.r(RCX) = 20;
      m.r(RSI) = bad_dst ? (down ? good + 4 : good) : start;
      m.r(RDI) = bad_dst ? start : (down ? good + 4 : good);
      const std::vector<uint8_t> code = X64Machine::assemble("rep movsb");
      Stop s = m.run_bytes(code);
      const std::string what = std::string(down ? "down" : "up") + (bad_dst ? " destination" : " source");
      ASSERT_EQ(s.reason, StopReason::MemFault) << what;
      EXPECT_EQ(s.pc, kCode) << what;
      EXPECT_EQ(s.addr, down ? edge - 1 : edge) << what;
      EXPECT_EQ(s.write, bad_dst) << what;
      const uint64_t done = 5;  // elements before the edge
      EXPECT_EQ(m.r(RCX), 20 - done) << what;
      const uint64_t moved = down ? uint64_t(0) - done : done;
      EXPECT_EQ(m.r(RSI), (bad_dst ? (down ? good + 4 : good) : start) + moved) << what;
      EXPECT_EQ(m.r(RDI), (bad_dst ? start : (down ? good + 4 : good)) + moved) << what;
      if (bad_dst) {  // the five elements before the edge were stored
        uint8_t got[5], want[5];
        m.mem.debug_read(down ? edge : edge - 5, got, 5);
        m.mem.debug_read(down ? good : good, want, 5);
        EXPECT_EQ(0, std::memcmp(got, want, 5)) << what;
      }
    }
  }
}

TEST(X64String, MemoryHooksSeeEveryElementOfARep) {
  Machine vm("x86_64", 1ull << 24);
  vm.mem_map(kCode, 0x1000, kRead | kExec);
  vm.mem_map(kData, 0x10000, kRead | kWrite);
  std::vector<uint8_t> code = X64Machine::assemble("rep movsw; repne scasb");
  vm.mem_write(kCode, code.data(), code.size());
  struct Seen {
    std::vector<std::pair<uint64_t, uint32_t>> reads, writes;
  } seen;
  vm.add_hook(kHookMemRead, kData, kData + 0x10000,
              [](uint32_t, uint64_t a, uint32_t size, uint64_t, void* u) {
                static_cast<Seen*>(u)->reads.push_back({a, size});
                return 0;
              },
              &seen);
  vm.add_hook(kHookMemWrite, kData, kData + 0x10000,
              [](uint32_t, uint64_t a, uint32_t size, uint64_t, void* u) {
                static_cast<Seen*>(u)->writes.push_back({a, size});
                return 0;
              },
              &seen);
  const uint8_t text[8] = {1, 2, 3, 0, 5, 6, 7, 8};
  vm.mem_write(kSrc, text, 8);
  vm.reg_write(vm.reg_info("rcx"), 3);
  vm.reg_write(vm.reg_info("rsi"), kSrc);
  vm.reg_write(vm.reg_info("rdi"), kDst);
  RunOptions o;
  o.until = kCode + 3;  // after rep movsw
  ASSERT_EQ(vm.run(kCode, o).reason, RunEnd::Until);
  using Acc = std::vector<std::pair<uint64_t, uint32_t>>;
  EXPECT_EQ(seen.reads, (Acc{{kSrc, 2}, {kSrc + 2, 2}, {kSrc + 4, 2}}));
  EXPECT_EQ(seen.writes, (Acc{{kDst, 2}, {kDst + 2, 2}, {kDst + 4, 2}}));
  // repne scasb for al = 0 over the copied "1 2 3 0 5 6": four reads, stops at the zero
  seen.reads.clear();
  vm.reg_write(vm.reg_info("rcx"), 100);
  vm.reg_write(vm.reg_info("rax"), 0);
  vm.reg_write(vm.reg_info("rdi"), kDst);
  o.until = kCode + code.size();
  ASSERT_EQ(vm.run(kCode + 3, o).reason, RunEnd::Until);
  EXPECT_EQ(seen.reads, (Acc{{kDst, 1}, {kDst + 1, 1}, {kDst + 2, 1}, {kDst + 3, 1}}));
  EXPECT_EQ(vm.reg_read(vm.reg_info("rcx")), 96u);
  EXPECT_EQ(vm.reg_read(vm.reg_info("rdi")), kDst + 4);
}

// ---- atomics -------------------------------------------------------------------------------

TEST(X64Atomic, CmpxchgMatchesTheHost) {
  // 32-bit register destination on the host: failure writes eax (zero-extended) and leaves the
  // destination, success leaves rax's upper half.
  const struct {
    uint64_t acc, dst;
  } cases[] = {{0xffffffff00000001ull, 0xeeeeeeee00000002ull}, {0xffffffff00000002ull, 0xeeeeeeee00000002ull},
               {0x80, 0x7f}, {0, 0}};
  for (const auto& k : cases) {
    uint64_t hrax = k.acc, hdst = k.dst, hf = 0;
    asm volatile("cmpxchg %k3, %k1; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+a"(hrax), "+r"(hdst), "=r"(hf) : "r"(0x1234ull) : "cc");
    X64Machine m;
    m.r(RAX) = k.acc;
    m.r(RBX) = k.dst;
    m.r(RCX) = 0x1234;
    m.exec("cmpxchg ebx, ecx");
    EXPECT_EQ(m.r(RAX), hrax);
    EXPECT_EQ(m.r(RBX), hdst);
    EXPECT_EQ(m.flags(), hf & kArithFlags);
    // the same in memory (64- and 8-bit too): memory takes src on success, keeps its value else
    for (unsigned bits : {8u, 32u, 64u}) {
      uint64_t mem = k.dst, hacc = k.acc, flags = 0;
      if (bits == 8) asm volatile("lock cmpxchg %b3, %1; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+a"(hacc), "+m"(mem), "=r"(flags) : "r"(0x34ull) : "cc");
      if (bits == 32) {
        uint32_t low = uint32_t(mem);
        asm volatile("lock cmpxchg %k3, %1; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+a"(hacc), "+m"(low), "=r"(flags) : "r"(0x1234ull) : "cc");
        mem = (mem & ~0xffffffffull) | low;
      }
      if (bits == 64) asm volatile("lock cmpxchg %3, %1; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+a"(hacc), "+m"(mem), "=r"(flags) : "r"(0x1234ull) : "cc");
      X64Machine g;
      g.mem.debug_write(kData, &k.dst, 8);
      g.r(RAX) = k.acc;
      g.r(RBX) = kData;
      g.r(RCX) = 0x1234;
      g.exec(bits == 8 ? "lock cmpxchg byte ptr [rbx], cl" : bits == 32 ? "lock cmpxchg dword ptr [rbx], ecx" : "lock cmpxchg qword ptr [rbx], rcx");
      uint64_t got = 0;
      g.mem.debug_read(kData, &got, 8);
      EXPECT_EQ(got, mem) << bits;
      EXPECT_EQ(g.r(RAX), hacc) << bits;
      EXPECT_EQ(g.flags(), flags & kArithFlags) << bits;
    }
  }
}

TEST(X64Atomic, XaddMatchesTheHost) {
  for (uint64_t a : {0xffffffff00000005ull, 0x7fffffffffffffffull, 0xffull}) {
    for (unsigned bits : {8u, 32u, 64u}) {
      uint64_t d = a, s = 0x1ffffffffull, f = 0;
      if (bits == 8) asm volatile("xadd %b1, %b0; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+r"(d), "+r"(s), "=r"(f) :: "cc");
      if (bits == 32) asm volatile("xadd %k1, %k0; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+r"(d), "+r"(s), "=r"(f) :: "cc");
      if (bits == 64) asm volatile("xadd %1, %0; lea -128(%%rsp), %%rsp; pushfq; popq %2; add $128, %%rsp" : "+r"(d), "+r"(s), "=r"(f) :: "cc");
      X64Machine m;
      m.r(RAX) = a;
      m.r(RBX) = 0x1ffffffffull;
      m.exec(bits == 8 ? "xadd al, bl" : bits == 32 ? "xadd eax, ebx" : "xadd rax, rbx");
      EXPECT_EQ(m.r(RAX), d) << bits;
      EXPECT_EQ(m.r(RBX), s) << bits;
      EXPECT_EQ(m.flags(), f & kArithFlags) << bits;
      // memory destination, locked
      X64Machine g;
      g.mem.debug_write(kData, &a, 8);
      g.r(RBX) = 0x1ffffffffull;
      g.r(RSI) = kData;
      g.exec(bits == 8 ? "lock xadd byte ptr [rsi], bl" : bits == 32 ? "lock xadd dword ptr [rsi], ebx" : "lock xadd qword ptr [rsi], rbx");
      uint64_t got = 0;
      g.mem.debug_read(kData, &got, 8);
      const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
      EXPECT_EQ(got, (a & ~mask) | (d & mask)) << bits;
      EXPECT_EQ(g.r(RBX), s) << bits;
      EXPECT_EQ(g.flags(), f & kArithFlags) << bits;
    }
  }
  X64Machine m;
  m.r(RAX) = 3;
  m.exec("xadd rax, rax");
  EXPECT_EQ(m.r(RAX), 6u) << "the sum is written last";
}

TEST(X64Atomic, Cmpxchg8bAnd16bMatchTheHost) {
  for (bool equal : {true, false}) {
    alignas(16) uint64_t mem[2] = {0x1111111122222222ull, 0x3333333344444444ull};
    uint64_t a = 0xaaaaaaaa22222222ull, d = equal ? 0xdddddddd11111111ull : 0xdddddddd11111110ull;
    const uint64_t b = 0xbbbbbbbb55555555ull, c = 0xcccccccc66666666ull;
    uint64_t flags = 0;
    asm volatile("stc; cmpxchg8b %0; lea -128(%%rsp), %%rsp; pushfq; popq %3; add $128, %%rsp" : "+m"(mem[0]), "+a"(a), "+d"(d), "=r"(flags) : "b"(b), "c"(c) : "cc");
    X64Machine m;
    const uint64_t init[2] = {0x1111111122222222ull, 0x3333333344444444ull};
    m.mem.debug_write(kData, init, 16);
    m.r(RAX) = 0xaaaaaaaa22222222ull;
    m.r(RDX) = equal ? 0xdddddddd11111111ull : 0xdddddddd11111110ull;
    m.r(RBX) = b;
    m.r(RCX) = c;
    m.r(RSI) = kData;
    m.exec("stc; lock cmpxchg8b qword ptr [rsi]");
    uint64_t got[2];
    m.mem.debug_read(kData, got, 16);
    EXPECT_EQ(got[0], mem[0]) << equal;
    EXPECT_EQ(m.r(RAX), a) << equal;
    EXPECT_EQ(m.r(RDX), d) << equal;
    EXPECT_EQ(m.flags() & (kZF | kCF), flags & (kZF | kCF)) << "ZF set by the compare, CF kept";

    alignas(16) unsigned __int128 wide;
    std::memcpy(&wide, init, 16);
    uint64_t a16 = init[0], d16 = equal ? init[1] : 5;
    asm volatile("lock cmpxchg16b %0; lea -128(%%rsp), %%rsp; pushfq; popq %3; add $128, %%rsp" : "+m"(wide), "+a"(a16), "+d"(d16), "=r"(flags) : "b"(b), "c"(c) : "cc");
    uint64_t mem16[2];
    std::memcpy(mem16, &wide, 16);
    X64Machine g;
    g.mem.debug_write(kData, init, 16);
    g.r(RAX) = init[0];
    g.r(RDX) = equal ? init[1] : 5;
    g.r(RBX) = b;
    g.r(RCX) = c;
    g.r(RSI) = kData;
    g.exec("lock cmpxchg16b xmmword ptr [rsi]");
    g.mem.debug_read(kData, got, 16);
    EXPECT_EQ(got[0], mem16[0]) << equal;
    EXPECT_EQ(got[1], mem16[1]) << equal;
    EXPECT_EQ(g.r(RAX), a16) << equal;
    EXPECT_EQ(g.r(RDX), d16) << equal;
    EXPECT_EQ(g.flags() & kZF, flags & kZF);
  }
}

TEST(X64Atomic, Cmpxchg16bNeedsAlignment) {
  X64Machine m;
  m.r(RSI) = kData + 8;
  m.r(RAX) = 7;
  Stop s = m.run("cmpxchg16b xmmword ptr [rsi]");
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(s.signo, SIGSEGV);
  EXPECT_EQ(m.r(RAX), 7u) << "nothing written";
}

}  // namespace
}  // namespace vmkit::x64::test
