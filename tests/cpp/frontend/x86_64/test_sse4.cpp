// SSSE3, SSE4.1 and SSE4.2 (lift_sse4.cpp, helpers_sse4.cpp) against the host CPU: the same
// Intel-syntax text runs natively and in vmkit from the same xmm0..xmm3, rax, rcx, rdx, MXCSR
// and a 16-byte aligned 64-byte data area at rsi, on edge values; xmm0..3, the three GPRs, MXCSR,
// the area and (for the flag-setting instructions) the arithmetic flags must match, and every other
// register must be left as it was. Then the 16-byte alignment faults, the unaligned forms and CPUID.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/x86_64/helpers.h"
#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

// What a case reads and writes.
struct alignas(16) Sse4State {
  uint64_t x[4][2];  // xmm0..xmm3: [0] low half, [1] high
  uint64_t rax, rcx, rdx;
  uint32_t mxcsr;
  uint32_t flags;   // the arithmetic flags after the text
  uint8_t mem[64];  // at rsi; 16-byte aligned
};
static_assert(offsetof(Sse4State, rax) == 64 && offsetof(Sse4State, mxcsr) == 88 && offsetof(Sse4State, flags) == 92);
static_assert(offsetof(Sse4State, mem) == 96);

struct V128 {
  uint64_t lo, hi;
};

// Integer edge values: zero, all ones, each lane width's sign bits, lane maxima, alternating
// bits, ascending bytes and a near copy, small values and a mix of byte edges.
const V128 kIntPatterns[] = {
    {0, 0},
    {~0ull, ~0ull},
    {0x8080808080808080ull, 0x8080808080808080ull},
    {0x8000800080008000ull, 0x8000800080008000ull},
    {0x8000000080000000ull, 0x8000000080000000ull},
    {0x8000000000000000ull, 0x0000000000000001ull},
    {0x7f7f7f7f7f7f7f7full, 0x7fff7fff7fffffffull},
    {0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull},
    {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull},
    {0x0123456789ab00efull, 0xfedcba9876543210ull},
    {0x0001000100010001ull, 0x00000001ffffffffull},
    {0x807f01fe80017fffull, 0x00ff7f80fe0181ffull},
    {0x8f0e8d0c0b8a0988ull, 0x03820180077f0584ull},
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// ---- the host side ---------------------------------------------------------------------------

using HostFn = void (*)(Sse4State*);

// rdi points at a Sse4State: xmm0..3, rax, rcx, rdx and MXCSR are loaded from it and rsi set to
// its area; after the text they and the flags are stored back (the host's MXCSR restored).
std::string host_wrapped(const std::string& text) {
  std::ostringstream s;
  for (unsigned i = 0; i < 4; ++i) s << "movdqu xmm" << i << ", [rdi + " << 16 * i << "]\n";
  s << "mov rax, [rdi + 64]\nmov rcx, [rdi + 72]\nmov rdx, [rdi + 80]\n";
  s << "sub rsp, 8\nstmxcsr [rsp]\nldmxcsr [rdi + 88]\nlea rsi, [rdi + 96]\n";
  s << text << "\n";
  s << "pushfq\npop r8\nmov [rdi + 92], r8d\nstmxcsr [rdi + 88]\nldmxcsr [rsp]\nadd rsp, 8\n";
  for (unsigned i = 0; i < 4; ++i) s << "movdqu [rdi + " << 16 * i << "], xmm" << i << "\n";
  s << "mov [rdi + 64], rax\nmov [rdi + 72], rcx\nmov [rdi + 80], rdx\nret\n";
  return s.str();
}

// ---- the vmkit side --------------------------------------------------------------------------

constexpr uint64_t kArea = kData + 0x100;  // rsi in vmkit (16-byte aligned)
constexpr uint64_t kUntouchedXmm = 0x5a5a000000000000ull;
constexpr uint64_t kUntouchedGpr = 0x3c3c3c3c00000000ull;
uint64_t untouched_xmm(unsigned n, unsigned half) { return kUntouchedXmm | n << 4 | half; }

// Runs `text` in vmkit from `in`; false (with a failure added) if the run did not reach the end or
// touched a register it should not have.
bool run_in_vmkit(const std::string& text, const Sse4State& in, Sse4State& out) {
  static X64Machine m;
  static std::map<std::string, std::vector<uint8_t>> cache;
  auto it = cache.find(text);
  if (it == cache.end()) it = cache.emplace(text, X64Machine::assemble(text)).first;
  State& s = m.st();
  for (unsigned n = 0; n < 16; ++n)
    for (unsigned h = 0; h < 2; ++h) s.xmm[n][h] = n < 4 ? in.x[n][h] : untouched_xmm(n, h);
  for (unsigned r = 0; r < 16; ++r) s.r[r] = kUntouchedGpr | r;
  s.r[RAX] = in.rax;
  s.r[RCX] = in.rcx;
  s.r[RDX] = in.rdx;
  s.r[RSI] = kArea;
  s.r[RSP] = kData + 0x8000;
  s.mxcsr = in.mxcsr;
  m.mem.debug_write(kArea, in.mem, sizeof in.mem);
  Stop stop = m.run_bytes(it->second);
  if (stop.reason != StopReason::IllegalInsn || stop.pc != kCode + it->second.size()) {
    ADD_FAILURE() << text << ": stopped with " << stop_reason_name(stop.reason) << " at pc 0x" << std::hex << stop.pc;
    return false;
  }
  out = in;
  for (unsigned n = 0; n < 4; ++n)
    for (unsigned h = 0; h < 2; ++h) out.x[n][h] = s.xmm[n][h];
  out.rax = s.r[RAX];
  out.rcx = s.r[RCX];
  out.rdx = s.r[RDX];
  out.mxcsr = s.mxcsr;
  out.flags = uint32_t(rflags(s) & kArithFlags);
  m.mem.debug_read(kArea, out.mem, sizeof out.mem);
  std::ostringstream bad;
  for (unsigned n = 4; n < 16; ++n)
    for (unsigned h = 0; h < 2; ++h)
      if (s.xmm[n][h] != untouched_xmm(n, h)) bad << " xmm" << n << (h ? ".hi" : ".lo") << "=" << hex(s.xmm[n][h]);
  for (unsigned r = 0; r < 16; ++r) {
    const uint64_t want = r == RSP ? kData + 0x8000 : r == RSI ? kArea : kUntouchedGpr | r;
    if (r != RAX && r != RCX && r != RDX && s.r[r] != want) bad << " r" << r << "=" << hex(s.r[r]);
  }
  if (!bad.str().empty()) ADD_FAILURE() << text << ": changed" << bad.str();
  return bad.str().empty();
}

// Runs `text` on the host and in vmkit from `in`; expects the same xmm0..3, rax, rcx, rdx, MXCSR,
// area and the flags in `flags_mask`.
bool expect_like_host(const std::string& text, const Sse4State& in, uint32_t flags_mask = 0) {
  Sse4State host = in, vm{};
  HostFn fn = reinterpret_cast<HostFn>(host_executable(host_wrapped(text)));
  if (!fn) {
    ADD_FAILURE() << "no executable memory for the host code";
    return false;
  }
  fn(&host);
  if (!run_in_vmkit(text, in, vm)) return false;
  std::ostringstream diff;
  for (unsigned n = 0; n < 4; ++n)
    for (unsigned h = 0; h < 2; ++h)
      if (host.x[n][h] != vm.x[n][h])
        diff << " xmm" << n << (h ? ".hi " : ".lo ") << hex(vm.x[n][h]) << " (host " << hex(host.x[n][h]) << ")";
  if (host.rax != vm.rax) diff << " rax " << hex(vm.rax) << " (host " << hex(host.rax) << ")";
  if (host.rcx != vm.rcx) diff << " rcx " << hex(vm.rcx) << " (host " << hex(host.rcx) << ")";
  if (host.rdx != vm.rdx) diff << " rdx " << hex(vm.rdx) << " (host " << hex(host.rdx) << ")";
  if (host.mxcsr != vm.mxcsr) diff << " mxcsr " << hex(vm.mxcsr) << " (host " << hex(host.mxcsr) << ")";
  if ((host.flags ^ vm.flags) & flags_mask)
    diff << " flags " << hex(vm.flags & flags_mask) << " (host " << hex(host.flags & flags_mask) << ")";
  for (size_t i = 0; i < sizeof in.mem; ++i)
    if (host.mem[i] != vm.mem[i]) {
      diff << " mem[" << i << "] " << hex(vm.mem[i]) << " (host " << hex(host.mem[i]) << ")";
      break;
    }
  if (diff.str().empty()) return true;
  std::ostringstream from;
  for (unsigned n = 0; n < 4; ++n) from << " xmm" << n << "=" << hex(in.x[n][1]) << ":" << hex(in.x[n][0]);
  ADD_FAILURE() << "`" << text << "` from" << from.str() << " rax=" << hex(in.rax) << " rcx=" << hex(in.rcx)
                << " rdx=" << hex(in.rdx) << " mxcsr=" << hex(in.mxcsr) << ":" << diff.str();
  return false;
}

// xmm0 = a, xmm1 = b, xmm2/xmm3 further values, rax/rcx/rdx from them, the area b a b a.
Sse4State state_of(const V128& a, const V128& b, uint32_t mxcsr = 0x1f80) {
  Sse4State s{};
  const V128 xs[4] = {a, b, kIntPatterns[9], kIntPatterns[12]};
  for (unsigned n = 0; n < 4; ++n) {
    s.x[n][0] = xs[n].lo;
    s.x[n][1] = xs[n].hi;
  }
  s.rax = a.hi ^ b.lo;
  s.rcx = b.hi + a.lo;
  s.rdx = a.lo - b.hi;
  s.mxcsr = mxcsr;
  const V128 area[4] = {b, a, b, a};
  std::memcpy(s.mem, area, sizeof area);
  return s;
}

// Every pair of `patterns` (as xmm0, xmm1 and the area), stopping at the first few failures.
template <size_t N>
void expect_pairs_like_host(const std::string& text, const V128 (&patterns)[N], uint32_t flags_mask = 0,
                            uint32_t mxcsr = 0x1f80) {
  int failures = 0;
  for (const V128& a : patterns)
    for (const V128& b : patterns)
      if (!expect_like_host(text, state_of(a, b, mxcsr), flags_mask) && ++failures == 3) return;
}
void expect_all_pairs_like_host(const std::string& text, uint32_t flags_mask = 0) {
  expect_pairs_like_host(text, kIntPatterns, flags_mask);
}

// The usual three forms of `mn`: xmm0, xmm1; xmm1, [rsi + 16]; xmm2, xmm2 (with `suffix`, e.g.
// an immediate).
void expect_forms_like_host(const std::string& mn, const std::string& suffix = "", uint32_t flags_mask = 0) {
  expect_all_pairs_like_host(mn + " xmm0, xmm1" + suffix, flags_mask);
  expect_all_pairs_like_host(mn + " xmm1, xmmword ptr [rsi + 16]" + suffix, flags_mask);
  expect_all_pairs_like_host(mn + " xmm2, xmm2" + suffix, flags_mask);
}

// The MMX form of `mn` on mm0 (from xmm0's low half) and mm1 (from xmm1's) or an unaligned m64,
// the result back in xmm0.
void expect_mmx_forms_like_host(const std::string& mn, const std::string& suffix = "") {
  for (const char* src : {"mm1", "qword ptr [rsi + 3]"})
    expect_all_pairs_like_host("movdq2q mm0, xmm0; movdq2q mm1, xmm1; " + mn + " mm0, " + src + suffix +
                               "; movq2dq xmm0, mm0; emms");
}

// ---- SSSE3 -------------------------------------------------------------------------------------

TEST(X64Sse4, Ssse3LikeHost) {
  for (const char* mn : {"pshufb", "phaddw", "phaddd", "phaddsw", "phsubw", "phsubd", "phsubsw", "pmaddubsw",
                         "pmulhrsw", "psignb", "psignw", "psignd", "pabsb", "pabsw", "pabsd"}) {
    expect_forms_like_host(mn);
    expect_mmx_forms_like_host(mn);
  }
  for (unsigned n : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 23u, 24u, 31u, 32u, 33u, 255u}) {
    expect_forms_like_host("palignr", ", " + std::to_string(n));
    expect_mmx_forms_like_host("palignr", ", " + std::to_string(n));
  }
}

// ---- SSE4.1 integer ------------------------------------------------------------------------------

TEST(X64Sse4, MinMaxMultiplyCompareLikeHost) {
  for (const char* mn : {"pminsb", "pminsd", "pminuw", "pminud", "pmaxsb", "pmaxsd", "pmaxuw", "pmaxud", "pmulld",
                         "pmuldq", "pcmpeqq", "pcmpgtq", "packusdw", "phminposuw", "movntdqa"}) {
    if (std::string(mn) == "movntdqa") {
      expect_all_pairs_like_host("movntdqa xmm1, xmmword ptr [rsi + 16]");
      continue;
    }
    expect_forms_like_host(mn);
  }
}

TEST(X64Sse4, ExtendLikeHost) {
  for (const char* kind : {"zx", "sx"})
    for (const char* w : {"bw", "bd", "bq", "wd", "wq", "dq"}) {
      const std::string mn = std::string("pmov") + kind + w;
      const unsigned from = w[0] == 'b' ? 8 : w[0] == 'w' ? 16 : 32, to = w[1] == 'w' ? 16 : w[1] == 'd' ? 32 : 64;
      const unsigned bits = from * (128 / to);
      const char* size = bits == 16 ? "word" : bits == 32 ? "dword" : "qword";
      expect_all_pairs_like_host(mn + " xmm0, xmm1");
      expect_all_pairs_like_host(mn + " xmm2, xmm2");
      for (const char* at : {"[rsi + 16]", "[rsi + 5]", "[rsi + 31]"})
        expect_all_pairs_like_host(mn + " xmm1, " + size + " ptr " + at);
    }
}

TEST(X64Sse4, InsertExtractLikeHost) {
  for (unsigned k : {0u, 1u, 2u, 3u, 5u, 7u, 8u, 15u, 16u, 17u, 0xffu}) {
    const std::string imm = ", " + std::to_string(k);
    for (const char* text : {"pinsrb xmm0, ecx", "pinsrb xmm1, byte ptr [rsi + 7]", "pinsrd xmm0, ecx",
                             "pinsrd xmm1, dword ptr [rsi + 5]", "pinsrq xmm0, rcx", "pinsrq xmm1, qword ptr [rsi + 3]",
                             "pextrb eax, xmm1", "pextrb rcx, xmm0", "pextrb byte ptr [rsi + 9], xmm1",
                             "pextrw word ptr [rsi + 9], xmm1", "pextrd eax, xmm1", "pextrd dword ptr [rsi + 9], xmm0",
                             "pextrq rax, xmm1", "pextrq qword ptr [rsi + 9], xmm0", "extractps eax, xmm1",
                             "extractps dword ptr [rsi + 9], xmm0"})
      expect_all_pairs_like_host(text + imm);
  }
  for (unsigned k : {0x00u, 0x10u, 0x20u, 0x30u, 0x40u, 0x80u, 0xc0u, 0x0fu, 0x05u, 0x1au, 0x72u, 0xe9u, 0xffu}) {
    expect_all_pairs_like_host("insertps xmm0, xmm1, " + std::to_string(k));
    expect_all_pairs_like_host("insertps xmm1, dword ptr [rsi + 6], " + std::to_string(k));
  }
}

TEST(X64Sse4, PtestLikeHost) {
  // A flag-setting instruction first, so the host's flags before ptest are not all clear.
  expect_forms_like_host("cmp rax, rcx; ptest", "", kArithFlags);
  expect_all_pairs_like_host("ptest xmm3, xmm0", kArithFlags);
}

TEST(X64Sse4, BlendsLikeHost) {
  for (unsigned k : {0x00u, 0xffu, 0x01u, 0x80u, 0x55u, 0xaau, 0x0fu, 0xf0u, 0x3cu, 0x02u})
    for (const char* mn : {"pblendw", "blendps", "blendpd"}) expect_forms_like_host(mn, ", " + std::to_string(k));
  for (const char* mn : {"pblendvb", "blendvps", "blendvpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmm2, xmm0");
    expect_all_pairs_like_host(std::string(mn) + " xmm3, xmmword ptr [rsi + 16], xmm0");
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1, xmm0");
  }
}

TEST(X64Sse4, MpsadbwLikeHost) {
  for (unsigned k = 0; k < 8; ++k) expect_forms_like_host("mpsadbw", ", " + std::to_string(k));
  expect_forms_like_host("mpsadbw", ", 0xf8");
}

// ---- SSE4.1 floating point ---------------------------------------------------------------------

// Halves of doubles, and of float pairs: halves and ties (0.5, 1.5, 2.5, -2.5), near-integers,
// -0, infinities, quiet and signalling NaNs, denormals, values beyond 2^52 / 2^23 and the
// largest finite ones.
const V128 kFpPatterns[] = {
    {0x3ff8000000000000ull, 0xc004000000000000ull},  // 1.5, -2.5
    {0x3fe0000000000000ull, 0xbfe0000000000000ull},  // 0.5, -0.5
    {0x4004000000000000ull, 0x3fefffffffffffffull},  // 2.5, 0.999..
    {0x8000000000000000ull, 0x7ff0000000000000ull},  // -0, +inf
    {0x7ff8000000000001ull, 0x7ff0000000000001ull},  // qNaN, sNaN
    {0x000fffffffffffffull, 0x8000000000000001ull},  // denormals
    {0x4330000000000001ull, 0x7fefffffffffffffull},  // 2^52 + 1, DBL_MAX
    {0x3fc000003f000000ull, 0xbfc00000c0200000ull},  // floats 0.5, 1.5, -2.5, -1.5
    {0x7f8000017fc00000ull, 0x00000001807fffffull},  // floats qNaN, sNaN, denormals
    {0x4b0000014effffffull, 0x3f7fffffcf000000ull},  // floats 2^23 + 1, large, 0.99.., -2^31
    {0x4010000040490fdbull, 0xc0490fdb3eaaaaabull},  // floats pi, 2.25, -pi, 1/3
    {0x400921fb54442d18ull, 0xbfd5555555555555ull},  // pi, -1/3
};

TEST(X64Sse4, RoundLikeHost) {
  // Every imm8 under every MXCSR rounding control, and with DAZ and FTZ; with precision unmasked,
  // the forms whose imm8 bit 3 suppresses it (the others trap: RoundUnmaskedPrecisionTraps).
  const char* const kForms[] = {"roundps xmm0, xmm1", "roundpd xmm0, xmm1", "roundss xmm0, xmm1", "roundsd xmm0, xmm1",
                                "roundps xmm1, xmmword ptr [rsi + 16]", "roundpd xmm1, xmmword ptr [rsi + 16]",
                                "roundss xmm1, dword ptr [rsi + 5]", "roundsd xmm1, qword ptr [rsi + 3]"};
  for (uint32_t mxcsr : {0x1f80u, 0x3f80u, 0x5f80u, 0x7f80u, 0x9fc0u, 0x0f80u})
    for (unsigned k = 0; k < 16; ++k) {
      if (mxcsr == 0x0f80u && !(k & 8)) continue;
      for (const char* text : kForms) expect_pairs_like_host(text + (", " + std::to_string(k)), kFpPatterns, 0, mxcsr);
    }
}

TEST(X64Sse4, DotProductLikeHost) {
  for (unsigned k = 0; k < 256; k += 7) {
    expect_pairs_like_host("dpps xmm0, xmm1, " + std::to_string(k), kFpPatterns);
    expect_pairs_like_host("dppd xmm0, xmm1, " + std::to_string(k), kFpPatterns);
  }
  for (unsigned k : {0xffu, 0xf1u, 0x71u, 0x33u, 0x31u}) {
    expect_pairs_like_host("dpps xmm1, xmmword ptr [rsi + 16], " + std::to_string(k), kFpPatterns);
    expect_pairs_like_host("dppd xmm1, xmmword ptr [rsi + 16], " + std::to_string(k), kFpPatterns, 0, 0x7f80);
  }
}

// An unmasked precision exception: #XM (SIGFPE) at the instruction, xmm0 and MXCSR's flags as
// the host leaves them (the flag set, the register unchanged), or no trap with imm8 bit 3.
TEST(X64Sse4, RoundUnmaskedPrecisionTraps) {
  X64Machine m;
  m.st().mxcsr = 0x1f80 & ~0x1000u;  // PM clear
  m.st().xmm[0][0] = 0x1234;
  m.st().xmm[1][0] = 0x3ff8000000000000ull;  // 1.5
  Stop s = m.run("roundsd xmm0, xmm1, 0");
  EXPECT_EQ(s.reason, StopReason::Trap);
  EXPECT_EQ(s.signo, SIGFPE);
  EXPECT_EQ(s.pc, kCode);
  EXPECT_EQ(m.st().xmm[0][0], 0x1234u);
  EXPECT_EQ(m.st().mxcsr & 0x3f, 0x20u);
  m.st().mxcsr = 0x1f80 & ~0x1000u;
  m.exec("roundsd xmm0, xmm1, 8");
  EXPECT_EQ(m.st().xmm[0][0], 0x4000000000000000ull);  // 2.0 (nearest even)
  EXPECT_EQ(m.st().mxcsr & 0x3f, 0u);
}

// ---- SSE4.2 --------------------------------------------------------------------------------------

// Text: NUL-terminated strings at different places, repeated and overlapping characters, ranges
// as pairs (a-z, 0-9), words with zero words, and no terminator at all.
V128 text128(const char* s) {
  V128 v{0, 0};
  std::memcpy(&v, s, std::min<size_t>(std::strlen(s), 16));
  return v;
}
const V128 kStrPatterns[] = {
    text128("hello, world!"), text128("world"), text128("az09AZ"), text128("lo"), text128("o"),
    text128("abcdefghijklmnop"), text128("ababababababababa"), text128("bab"), text128(""), text128("hello, world!!!x"),
    {0x0000006c00650068ull, 0x006f006c006cff00ull},   // words "hel", then after a zero word more
    {0x8180ff7f01000000ull, 0x00000000000000ffull},   // signed-byte edges after a zero
    {0x7fff8000ffff0001ull, 0x0000000100020003ull},   // word edges, no zero word in the low half
    {0x0101010101010101ull, 0x0101010101010101ull},
};

TEST(X64Sse4, StringCompareImmediatesLikeHost) {
  constexpr uint32_t kFlags = kCF | kZF | kSF | kOF | kAF | kPF;
  for (unsigned imm = 0; imm < 128; ++imm) {
    const std::string i = ", " + std::to_string(imm);
    for (const char* mn : {"pcmpistri", "pcmpistrm", "pcmpestri", "pcmpestrm"}) {
      int failures = 0;
      for (const V128& a : kStrPatterns)
        for (const V128& b : kStrPatterns) {
          Sse4State s = state_of(a, b);
          s.rax = 5 + (a.lo & 7);  // explicit lengths of different sizes
          s.rdx = 13 - (b.lo & 15);
          if (!expect_like_host(std::string(mn) + " xmm0, xmm1" + i, s, kFlags) && ++failures == 3) break;
        }
    }
  }
}

TEST(X64Sse4, StringCompareLengthsAndFormsLikeHost) {
  constexpr uint32_t kFlags = kArithFlags;
  const uint64_t kLengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 100, uint64_t(-1), uint64_t(-8), uint64_t(-9),
                               uint64_t(-16), uint64_t(-17), 0x80000000ull, 0x7fffffffull, 0x100000003ull,
                               0xffffffff00000002ull, 0x8000000000000000ull};
  for (unsigned imm : {0x00u, 0x01u, 0x04u, 0x0cu, 0x19u, 0x38u, 0x4du, 0x45u, 0x7eu, 0x0bu})
    for (uint64_t la : kLengths)
      for (uint64_t lb : kLengths) {
        Sse4State s = state_of(kStrPatterns[0], kStrPatterns[1]);
        s.rax = la;
        s.rdx = lb;
        const std::string i = ", " + std::to_string(imm);
        expect_like_host("pcmpestri xmm0, xmm1" + i, s, kFlags);
        expect_like_host("pcmpestrm xmm1, xmm0" + i, s, kFlags);
        // REX.W: the lengths are rax and rdx in full (66 REX.W 0F 3A 61/60 /r with xmm0, xmm1).
        expect_like_host(".byte 0x66, 0x48, 0x0f, 0x3a, 0x61, 0xc1, " + std::to_string(imm), s, kFlags);
        expect_like_host(".byte 0x66, 0x48, 0x0f, 0x3a, 0x60, 0xc1, " + std::to_string(imm), s, kFlags);
      }
  // Memory sources need no alignment.
  for (const char* text : {"pcmpistri xmm0, xmmword ptr [rsi + 3], 0x0c", "pcmpistrm xmm0, xmmword ptr [rsi + 1], 0x40",
                           "pcmpestri xmm1, xmmword ptr [rsi + 17], 0x18", "pcmpestrm xmm1, xmmword ptr [rsi + 9], 0x04"})
    expect_pairs_like_host(text, kStrPatterns, kFlags);
}

TEST(X64Sse4, Crc32LikeHost) {
  for (const char* text : {"crc32 eax, cl", "crc32 eax, ch", "crc32 eax, cx", "crc32 eax, ecx", "crc32 rax, cl",
                           "crc32 rax, rcx", "crc32 ecx, byte ptr [rsi + 3]", "crc32 ecx, word ptr [rsi + 5]",
                           "crc32 ecx, dword ptr [rsi + 7]", "crc32 rcx, qword ptr [rsi + 9]", "crc32 rdx, byte ptr [rsi]",
                           // a chain, as a checksum loop does it
                           "crc32 rax, qword ptr [rsi]; crc32 rax, qword ptr [rsi + 8]; crc32 eax, byte ptr [rsi + 16]"})
    expect_all_pairs_like_host(text);
}

// ---- faults, unaligned forms, CPUID ---------------------------------------------------------------

// `text` with rsi 8 bytes past a 16-byte boundary: a #GP (SIGSEGV) at the instruction, xmm0 and
// xmm1 as before.
void expect_alignment_fault(const std::string& text) {
  X64Machine m;
  for (unsigned h = 0; h < 2; ++h) {
    m.st().xmm[0][h] = 0x1111 + h;
    m.st().xmm[1][h] = 0x2222 + h;
  }
  m.r(RSI) = kData + 8;
  Stop s = m.run(text);
  EXPECT_EQ(s.reason, StopReason::Trap) << text;
  EXPECT_EQ(s.pc, kCode) << text;
  EXPECT_EQ(s.signo, SIGSEGV) << text;
  for (unsigned h = 0; h < 2; ++h) {
    EXPECT_EQ(m.st().xmm[0][h], 0x1111u + h) << text;
    EXPECT_EQ(m.st().xmm[1][h], 0x2222u + h) << text;
  }
}

// The forms the host faults on (checked natively), and that it does not.
TEST(X64Sse4, AlignedFormsFaultOnMisalignedMemory) {
  for (const char* text :
       {"pshufb xmm0, xmmword ptr [rsi]", "palignr xmm0, xmmword ptr [rsi], 3", "pabsb xmm0, xmmword ptr [rsi]",
        "pminsb xmm0, xmmword ptr [rsi]", "pcmpgtq xmm0, xmmword ptr [rsi]", "ptest xmm0, xmmword ptr [rsi]",
        "movntdqa xmm0, xmmword ptr [rsi]", "mpsadbw xmm0, xmmword ptr [rsi], 0", "phminposuw xmm0, xmmword ptr [rsi]",
        "roundps xmm0, xmmword ptr [rsi], 0", "dpps xmm0, xmmword ptr [rsi], 0xff",
        "pblendvb xmm0, xmmword ptr [rsi], xmm0", "blendps xmm0, xmmword ptr [rsi], 1"})
    expect_alignment_fault(text);
}

TEST(X64Sse4, NarrowAndStringFormsAcceptAnyAddress) {
  X64Machine m;
  uint8_t bytes[48];
  for (unsigned i = 0; i < sizeof bytes; ++i) bytes[i] = uint8_t(i + 1);
  m.mem.debug_write(kData, bytes, sizeof bytes);
  m.r(RSI) = kData + 1;
  m.st().xmm[3][0] = 0x0403;  // the needle "\x03\x04"
  m.st().xmm[3][1] = 0;
  m.exec("pmovzxbw xmm0, qword ptr [rsi]; roundss xmm1, dword ptr [rsi + 8], 0; insertps xmm2, dword ptr [rsi + 3], 0x30;"
         "pcmpistri xmm3, xmmword ptr [rsi], 0x0c");
  EXPECT_EQ(m.st().xmm[0][0], 0x0005000400030002ull);
  EXPECT_EQ(m.st().xmm[0][1], 0x0009000800070006ull);
  EXPECT_EQ(m.st().xmm[2][1] >> 32, 0x08070605u);
  EXPECT_EQ(m.r(RCX), 1u) << "the needle 03 04 starts at byte 1 of 02 03 04 ...";
}

TEST(X64Sse4, CpuidAdvertisesSsse3Sse41Sse42) {
  const CpuidResult r = cpuid(1, 0);
  EXPECT_TRUE(r.ecx & (1u << 9)) << "SSSE3";
  EXPECT_TRUE(r.ecx & (1u << 19)) << "SSE4.1";
  EXPECT_TRUE(r.ecx & (1u << 20)) << "SSE4.2";
  EXPECT_TRUE(r.ecx & (1u << 23)) << "POPCNT";
  EXPECT_FALSE(r.ecx & (1u << 28)) << "no AVX";
}

}  // namespace
}  // namespace vmkit::x64::test
