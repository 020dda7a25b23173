// SSE/SSE2 moves and integer operations (lift_sse.cpp) against the host CPU: the same Intel-syntax
// text runs natively and in vmkit from the same xmm0..xmm3, rax, rcx and a 64-byte aligned data
// area at rsi, on edge values (zero, all ones, the sign bit of each lane width, alternating and
// mixed patterns); both halves of xmm0..xmm3, rax, rcx and the area must match, and every other
// register must be left as it was. Then the 16-byte alignment faults and the declined MMX forms.
#include <sys/mman.h>

#include <array>
#include <cinttypes>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "x64_test_util.h"

namespace vmkit::x64::test {

namespace {

// What a case reads and writes.
struct alignas(16) SseState {
  uint64_t x[4][2];  // xmm0..xmm3: [0] low half, [1] high
  uint64_t rax, rcx;
  uint8_t mem[64];  // at rsi; 16-byte aligned
};
static_assert(offsetof(SseState, mem) % 16 == 0);

struct V128 {
  uint64_t lo, hi;
};

// Zero, all ones, the sign bit of every byte/word/dword/qword lane, lane-maximal positives,
// alternating bits, ascending bytes and a near copy of them (equal in all but a few lanes), small
// lane values and a mix of byte edges.
const V128 kPatterns[] = {
    {0, 0},
    {~0ull, ~0ull},
    {0x8080808080808080ull, 0x8080808080808080ull},
    {0x8000800080008000ull, 0x8000800080008000ull},
    {0x8000000080000000ull, 0x8000000080000000ull},
    {0x8000000000000000ull, 0x0000000000000000ull},
    {0x7f7f7f7f7f7f7f7full, 0x7fff7fff7fffffffull},
    {0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull},
    {0x0123456789abcdefull, 0xfedcba9876543210ull},
    {0x0123456789ab00efull, 0xfedcba9876543210ull},
    {0x0001000100010001ull, 0x00000001ffffffffull},
    {0x807f01fe80017fffull, 0x00ff7f80fe0181ffull},
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// ---- the host side ---------------------------------------------------------------------------

using HostFn = void (*)(SseState*);

// rdi points at an SseState: xmm0..3, rax and rcx are loaded from it and rsi set to its area;
// after the text they are stored back.
std::string host_wrapped(const std::string& text) {
  std::ostringstream s;
  for (unsigned i = 0; i < 4; ++i) s << "movdqu xmm" << i << ", [rdi + " << 16 * i << "]\n";
  s << "mov rax, [rdi + 64]\nmov rcx, [rdi + 72]\nlea rsi, [rdi + " << offsetof(SseState, mem) << "]\n";
  s << text << "\n";
  for (unsigned i = 0; i < 4; ++i) s << "movdqu [rdi + " << 16 * i << "], xmm" << i << "\n";
  s << "mov [rdi + 64], rax\nmov [rdi + 72], rcx\nret\n";
  return s.str();
}

HostFn host_code(const std::string& text) { return reinterpret_cast<HostFn>(host_executable(host_wrapped(text))); }

// ---- the vmkit side --------------------------------------------------------------------------

constexpr uint64_t kArea = kData + 0x100;  // rsi in vmkit (16-byte aligned)
constexpr uint64_t kUntouchedXmm = 0x5a5a000000000000ull;   // xmm4..15: this | register number
constexpr uint64_t kUntouchedGpr = 0x3c3c3c3c00000000ull;   // other GPRs: this | register number

uint64_t untouched_xmm(unsigned n, unsigned half) { return kUntouchedXmm | n << 4 | half; }

// Runs `text` in vmkit from `in`; `out` gets the result; false (with a failure added) if the run
// did not reach the end or touched a register it should not have.
bool run_in_vmkit(const std::string& text, const SseState& in, SseState& out) {
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
  s.r[RSI] = kArea;
  s.r[RSP] = kData + 0x8000;
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
  m.mem.debug_read(kArea, out.mem, sizeof out.mem);
  std::ostringstream bad;
  for (unsigned n = 4; n < 16; ++n)
    for (unsigned h = 0; h < 2; ++h)
      if (s.xmm[n][h] != untouched_xmm(n, h)) bad << " xmm" << n << (h ? ".hi" : ".lo") << "=" << hex(s.xmm[n][h]);
  for (unsigned r = 0; r < 16; ++r) {
    const uint64_t want = r == RSP ? kData + 0x8000 : r == RSI ? kArea : kUntouchedGpr | r;
    if (r != RAX && r != RCX && s.r[r] != want) bad << " r" << r << "=" << hex(s.r[r]);
  }
  if (!bad.str().empty()) ADD_FAILURE() << text << ": changed" << bad.str();
  return bad.str().empty();
}

// Runs `text` on the host and in vmkit from `in` and expects the same xmm0..3, rax, rcx and area.
bool expect_sse_like_host(const std::string& text, const SseState& in) {
  SseState host = in, vm{};
  HostFn fn = host_code(text);
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
  for (size_t i = 0; i < sizeof in.mem; ++i)
    if (host.mem[i] != vm.mem[i]) {
      diff << " mem[" << i << "] " << hex(vm.mem[i]) << " (host " << hex(host.mem[i]) << ")";
      break;
    }
  if (diff.str().empty()) return true;
  std::ostringstream from;
  for (unsigned n = 0; n < 4; ++n) from << " xmm" << n << "=" << hex(in.x[n][1]) << ":" << hex(in.x[n][0]);
  ADD_FAILURE() << "`" << text << "` from" << from.str() << " rax=" << hex(in.rax) << " rcx=" << hex(in.rcx) << ":"
                << diff.str();
  return false;
}

// A state with xmm0 = a, xmm1 = b, the other two and the GPRs from further patterns, and the area
// holding b then a then b, a (so [rsi] is b and [rsi + 16] is a).
SseState state_of(const V128& a, const V128& b) {
  SseState s{};
  const V128 xs[4] = {a, b, kPatterns[8], kPatterns[11]};
  for (unsigned n = 0; n < 4; ++n) {
    s.x[n][0] = xs[n].lo;
    s.x[n][1] = xs[n].hi;
  }
  s.rax = a.hi ^ b.lo;
  s.rcx = b.hi + a.lo;
  const V128 area[4] = {b, a, b, a};
  std::memcpy(s.mem, area, sizeof area);
  return s;
}

// Every pair of patterns (as xmm0, xmm1 and the area), stopping at the first few failures.
void expect_all_pairs_like_host(const std::string& text) {
  int failures = 0;
  for (const V128& a : kPatterns)
    for (const V128& b : kPatterns)
      if (!expect_sse_like_host(text, state_of(a, b)) && ++failures == 3) return;
}

// ---- the cases -------------------------------------------------------------------------------

TEST(X64Sse, MovesLikeHost) {
  const char* const kMoves[] = {
      "movd eax, xmm1", "movd xmm0, ecx", "movd xmm0, dword ptr [rsi + 4]", "movd dword ptr [rsi + 4], xmm1",
      "movq rax, xmm1", "movq xmm0, rcx", "movq xmm0, qword ptr [rsi + 8]", "movq qword ptr [rsi + 8], xmm1",
      "movq xmm0, xmm1", "movq xmm2, xmm2",
      "movdqa xmm0, xmm1", "movdqa xmm0, xmmword ptr [rsi + 16]", "movdqa xmmword ptr [rsi + 16], xmm1",
      "movdqu xmm0, xmmword ptr [rsi + 3]", "movdqu xmmword ptr [rsi + 5], xmm1", "movdqu xmm3, xmm0",
      "movaps xmm0, xmm1", "movaps xmm0, xmmword ptr [rsi + 32]", "movaps xmmword ptr [rsi + 32], xmm1",
      "movups xmm0, xmmword ptr [rsi + 7]", "movups xmmword ptr [rsi + 9], xmm1",
      "movapd xmm0, xmm1", "movapd xmm0, xmmword ptr [rsi]", "movapd xmmword ptr [rsi + 16], xmm1",
      "movupd xmm0, xmmword ptr [rsi + 1]", "movupd xmmword ptr [rsi + 15], xmm1",
      "movss xmm0, xmm1", "movss xmm0, dword ptr [rsi + 4]", "movss dword ptr [rsi + 12], xmm1",
      "movsd xmm0, xmm1", "movsd xmm0, qword ptr [rsi + 8]", "movsd qword ptr [rsi + 16], xmm1",
      "movlps xmm0, qword ptr [rsi + 8]", "movlps qword ptr [rsi + 4], xmm1",
      "movhps xmm0, qword ptr [rsi + 8]", "movhps qword ptr [rsi + 4], xmm1",
      "movlpd xmm0, qword ptr [rsi + 24]", "movlpd qword ptr [rsi + 2], xmm1",
      "movhpd xmm0, qword ptr [rsi + 24]", "movhpd qword ptr [rsi + 2], xmm1",
      "movhlps xmm0, xmm1", "movlhps xmm0, xmm1",
      "movntdq xmmword ptr [rsi + 16], xmm1", "movntps xmmword ptr [rsi + 32], xmm1",
      "movntpd xmmword ptr [rsi], xmm1",
      "movnti dword ptr [rsi + 4], ecx", "movnti qword ptr [rsi + 8], rcx",
      // a chain through several registers in one block
      "movdqa xmm2, xmm0; movq rax, xmm2; movd xmm3, eax; movhps qword ptr [rsi + 40], xmm1; movq xmm0, xmm3",
  };
  for (const char* text : kMoves) expect_all_pairs_like_host(text);
}

TEST(X64Sse, LogicLikeHost) {
  for (const char* mn : {"pxor", "por", "pand", "pandn", "xorps", "xorpd", "orps", "orpd", "andps", "andpd",
                         "andnps", "andnpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
  }
  // The zeroing idiom, on the same register.
  expect_all_pairs_like_host("pxor xmm1, xmm1");
}

TEST(X64Sse, LaneArithmeticLikeHost) {
  for (const char* mn : {"paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
  }
}

TEST(X64Sse, CompareMinMaxLikeHost) {
  for (const char* mn : {"pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "pminub", "pmaxub",
                         "pminsw", "pmaxsw"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, SaturatingAverageMultiplyLikeHost) {
  for (const char* mn : {"paddusb", "paddusw", "psubusb", "psubusw", "pavgb", "pavgw", "pmuludq"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, SignedSaturatingMultiplyPackLikeHost) {
  for (const char* mn : {"paddsb", "paddsw", "psubsb", "psubsw", "pmullw", "pmulhw", "pmulhuw", "pmaddwd", "psadbw",
                         "packsswb", "packssdw", "packuswb"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

TEST(X64Sse, PmovmskbLikeHost) {
  for (const char* text : {"pmovmskb eax, xmm0", "pmovmskb ecx, xmm1", "pmovmskb rax, xmm1",
                           // strlen's idiom: compare with zero, gather, in one block
                           "pxor xmm2, xmm2; pcmpeqb xmm2, xmm0; pmovmskb eax, xmm2; pcmpeqb xmm3, xmm1; pmovmskb ecx, xmm3",
                           "movmskps eax, xmm0", "movmskps rcx, xmm1", "movmskpd eax, xmm1", "movmskpd ecx, xmm0"})
    expect_all_pairs_like_host(text);
}

TEST(X64Sse, WordInsertExtractLikeHost) {
  for (unsigned k : {0u, 1u, 3u, 4u, 6u, 7u, 9u}) {
    const std::string imm = std::to_string(k);
    expect_all_pairs_like_host("pextrw eax, xmm1, " + imm);
    expect_all_pairs_like_host("pextrw rcx, xmm0, " + imm);
    expect_all_pairs_like_host("pinsrw xmm0, ecx, " + imm);
    expect_all_pairs_like_host("pinsrw xmm1, word ptr [rsi + 6], " + imm);
  }
}

TEST(X64Sse, ShiftsByImmediateLikeHost) {
  const unsigned kCounts[] = {0, 1, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0x80, 0xff};
  for (const char* mn : {"psrlw", "psrld", "psrlq", "psllw", "pslld", "psllq", "psraw", "psrad"})
    for (unsigned n : kCounts) expect_all_pairs_like_host(std::string(mn) + " xmm0, " + std::to_string(n));
  for (const char* mn : {"psrldq", "pslldq"})
    for (unsigned n : {0u, 1u, 3u, 7u, 8u, 9u, 12u, 15u, 16u, 17u, 0xffu})
      expect_all_pairs_like_host(std::string(mn) + " xmm1, " + std::to_string(n));
}

// The count in xmm2's (or memory's) low 64 bits: every count of kCounts, and ones with high bits
// set (out of range however small their low bits).
TEST(X64Sse, ShiftsByRegisterLikeHost) {
  const uint64_t kCounts[] = {0, 1, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff, 0x100000001ull, ~0ull};
  for (const char* mn : {"psrlw", "psrld", "psrlq", "psllw", "pslld", "psllq", "psraw", "psrad"})
    for (uint64_t n : kCounts) {
      int failures = 0;
      for (const V128& a : kPatterns) {
        SseState s = state_of(a, {n, 0x55});
        s.x[2][0] = n;
        s.x[2][1] = ~0ull;
        if (!expect_sse_like_host(std::string(mn) + " xmm0, xmm2", s) && ++failures == 3) break;
        if (!expect_sse_like_host(std::string(mn) + " xmm0, xmmword ptr [rsi]", s) && ++failures == 3) break;
      }
    }
}

TEST(X64Sse, ShufflesLikeHost) {
  for (unsigned sel : {0x00u, 0x1bu, 0xe4u, 0x4eu, 0xffu, 0x55u, 0xaau, 0x39u, 0x93u}) {
    expect_all_pairs_like_host("pshufd xmm0, xmm1, " + std::to_string(sel));
    expect_all_pairs_like_host("pshufd xmm1, xmm1, " + std::to_string(sel));
    expect_all_pairs_like_host("pshufd xmm0, xmmword ptr [rsi + 16], " + std::to_string(sel));
  }
  for (unsigned sel : {0x00u, 0x1bu, 0xe4u, 0x4eu, 0xffu, 0x93u, 0x01u, 0x02u, 0x03u}) {
    for (const char* mn : {"pshuflw", "pshufhw", "shufps", "shufpd"}) {
      expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1, " + std::to_string(sel));
      expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16], " + std::to_string(sel));
    }
  }
  for (const char* mn : {"punpcklbw", "punpcklwd", "punpckldq", "punpcklqdq", "punpckhbw", "punpckhwd",
                         "punpckhdq", "punpckhqdq", "unpcklps", "unpckhps", "unpcklpd", "unpckhpd"}) {
    expect_all_pairs_like_host(std::string(mn) + " xmm0, xmm1");
    expect_all_pairs_like_host(std::string(mn) + " xmm1, xmmword ptr [rsi + 16]");
    expect_all_pairs_like_host(std::string(mn) + " xmm2, xmm2");
  }
}

// ---- faults and declined forms ---------------------------------------------------------------

// `text` at kCode with rsi 8 bytes past a 16-byte boundary: a #GP (SIGSEGV) at the instruction,
// with xmm0, xmm1 and the memory as before.
void expect_alignment_fault(const std::string& text) {
  X64Machine m;
  for (unsigned h = 0; h < 2; ++h) {
    m.st().xmm[0][h] = 0x1111 + h;
    m.st().xmm[1][h] = 0x2222 + h;
  }
  const uint64_t kBefore[4] = {0xa0, 0xa1, 0xa2, 0xa3};
  m.mem.debug_write(kData, kBefore, sizeof kBefore);
  m.r(RSI) = kData + 8;
  Stop s = m.run(text);
  EXPECT_EQ(s.reason, StopReason::Trap) << text;
  EXPECT_EQ(s.pc, kCode) << text;
  EXPECT_EQ(s.signo, SIGSEGV) << text;
  for (unsigned h = 0; h < 2; ++h) {
    EXPECT_EQ(m.st().xmm[0][h], 0x1111u + h) << text;
    EXPECT_EQ(m.st().xmm[1][h], 0x2222u + h) << text;
  }
  uint64_t after[4];
  m.mem.debug_read(kData, after, sizeof after);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(after[i], kBefore[i]) << text << ": memory written";
}

TEST(X64Sse, AlignedFormsFaultOnMisalignedMemory) {
  for (const char* text : {"movdqa xmm0, xmmword ptr [rsi]", "movdqa xmmword ptr [rsi], xmm1",
                           "movaps xmm0, xmmword ptr [rsi]", "movapd xmmword ptr [rsi], xmm1",
                           "movntdq xmmword ptr [rsi], xmm1", "pxor xmm0, xmmword ptr [rsi]",
                           "pcmpeqb xmm0, xmmword ptr [rsi]", "paddb xmm0, xmmword ptr [rsi]",
                           "paddsw xmm0, xmmword ptr [rsi]", "pmaddwd xmm0, xmmword ptr [rsi]",
                           "packsswb xmm0, xmmword ptr [rsi]",
                           "pshufd xmm0, xmmword ptr [rsi], 0x1b", "punpcklbw xmm0, xmmword ptr [rsi]",
                           "psrlw xmm0, xmmword ptr [rsi]", "shufps xmm0, xmmword ptr [rsi], 0"})
    expect_alignment_fault(text);
}

TEST(X64Sse, UnalignedMovesAndScalarsAcceptAnyAddress) {
  X64Machine m;
  const uint8_t bytes[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  m.mem.debug_write(kData, bytes, sizeof bytes);
  m.r(RSI) = kData + 1;
  m.exec("movdqu xmm0, xmmword ptr [rsi]; movups xmm1, xmmword ptr [rsi + 2]; movq xmm2, qword ptr [rsi + 4]");
  EXPECT_EQ(m.st().xmm[0][0], 0x0908070605040302ull);
  EXPECT_EQ(m.st().xmm[0][1], 0x11100f0e0d0c0b0aull);
  EXPECT_EQ(m.st().xmm[1][0], 0x0b0a090807060504ull);
  EXPECT_EQ(m.st().xmm[2][0], 0x0d0c0b0a09080706ull);
  EXPECT_EQ(m.st().xmm[2][1], 0u);
}

// movsd is both the SSE2 scalar move and the string instruction: each form goes to its lifter.
TEST(X64Sse, MovsdStringAndScalarFormsBothLift) {
  X64Machine m;
  const uint64_t src[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
  m.mem.debug_write(kData, src, sizeof src);
  m.r(RSI) = kData;
  m.r(RDI) = kData + 0x100;
  m.st().xmm[3][1] = 0x77;
  m.exec("movsd; movsd xmm3, qword ptr [rsi - 4]");
  uint32_t copied = 0;
  m.mem.debug_read(kData + 0x100, &copied, 4);
  EXPECT_EQ(copied, 0x55667788u);
  EXPECT_EQ(m.r(RSI), kData + 4);
  EXPECT_EQ(m.st().xmm[3][0], 0x1122334455667788ull);
  EXPECT_EQ(m.st().xmm[3][1], 0u) << "a load clears the high half";
}

}  // namespace
}  // namespace vmkit::x64::test
