// The host-comparison harness of the SSE tests (test_sse.cpp, test_sse4.cpp, test_sse_fp.cpp):
// the same Intel-syntax text runs natively and in vmkit from the same xmm0..xmm3, rax, rcx, rdx,
// arithmetic flags, MXCSR and a 16-byte aligned 64-byte data area at rsi (x64_host.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "x64_test_util.h"

namespace vmkit::x64::test {

// What a case reads and writes; the offsets are the host wrapper's.
struct alignas(16) SseState {
  uint64_t x[4][2] = {};          // xmm0..xmm3: [0] low half, [1] high                 @0
  uint64_t rax = 0, rcx = 0, rdx = 0;  //                                              @64 @72 @80
  uint64_t rflags = 0;            // the arithmetic flags, before and after the text    @88
  uint32_t mxcsr = 0x1f80;        //                                                    @96
  alignas(16) uint8_t mem[64] = {};  // at rsi                                          @112
};
static_assert(offsetof(SseState, rax) == 64 && offsetof(SseState, rflags) == 88 && offsetof(SseState, mxcsr) == 96 &&
              offsetof(SseState, mem) == 112);

struct V128 {
  uint64_t lo, hi;
};

// Integer edge values: zero, all ones, the sign bit of every byte/word/dword/qword lane (and of
// the qword alone), lane maxima, alternating bits, ascending bytes and two near copies (equal in
// all but a few lanes), small lane values and mixes of byte edges.
inline constexpr V128 kSseIntPatterns[] = {
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
    {0x8000000000000000ull, 0x0000000000000000ull},
    {0x0123456789abcdefull, 0xfedcba9876543210ull},
};

// Runs `text` on the host and in vmkit from `in`. Where the host takes a signal (#XM, #GP), vmkit
// must stop at the same instruction with the same signal and si_code, with xmm0..3 and MXCSR as
// the host's signal frame holds them; such a case counts in *faults, and without `faults` it is a
// failure. Otherwise vmkit must reach the end with the same xmm0..3, rax, rcx, rdx, MXCSR, area
// and the flags in `flags_mask`, and no other register changed. True if all matched.
bool expect_sse_like_host(const std::string& text, const SseState& in, uint32_t flags_mask = 0,
                          unsigned* faults = nullptr);

// xmm0 = a, xmm1 = b, xmm2 = c, xmm3 = d, rax/rcx/rdx mixed from a and b, the area b a b a (so
// [rsi] is b and [rsi + 16] is a).
SseState sse_state_of(const V128& a, const V128& b, const V128& c, const V128& d, uint32_t mxcsr = 0x1f80);

// Every pair (a, b) of `patterns` as sse_state_of(a, b, c, d, mxcsr), stopping at the first
// three failures.
void expect_sse_pairs_like_host(const std::string& text, std::span<const V128> patterns, const V128& c, const V128& d,
                                uint32_t flags_mask = 0, uint32_t mxcsr = 0x1f80);

// `text` in vmkit with rsi 8 bytes past a 16-byte boundary: a #GP (SIGSEGV) at the instruction,
// with xmm0, xmm1 and the memory as before.
void expect_alignment_fault(const std::string& text);

}  // namespace vmkit::x64::test
