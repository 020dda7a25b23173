// The semantics of the IR ops that take more than one host instruction, written once: the
// interpreter uses them inline, and the JIT calls them (as helpers) or emits the same thing.
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace vmkit::ir::semantics {

inline int64_t sext(uint64_t v, unsigned bits) {
  return bits >= 64 ? int64_t(v) : int64_t(v << (64 - bits)) >> (64 - bits);
}

inline uint64_t div_s(uint64_t a, uint64_t b, unsigned w) {
  int64_t x = sext(a, w), y = sext(b, w);
  int64_t min = w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1));
  if (y == 0) return ~0ull;
  if (x == min && y == -1) return uint64_t(x);
  return uint64_t(x / y);
}

inline uint64_t rem_s(uint64_t a, uint64_t b, unsigned w) {
  int64_t x = sext(a, w), y = sext(b, w);
  int64_t min = w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1));
  if (y == 0) return uint64_t(x);
  if (x == min && y == -1) return 0;
  return uint64_t(x % y);
}

inline uint64_t mul_high(Op op, uint64_t a, uint64_t b, unsigned w) {
  __int128 x = op == Op::mulhu ? __int128(a) : __int128(sext(a, w));
  __int128 y = op == Op::mulhs ? __int128(sext(b, w)) : __int128(b);
  if (w < 64) return uint64_t((x * y) >> w);
  if (op == Op::mulhu) return uint64_t((unsigned __int128)a * b >> 64);
  return uint64_t((x * y) >> 64);
}

inline uint64_t rotate(bool left, uint64_t a, uint64_t sh, unsigned w) {
  sh %= w;
  if (sh == 0) return a;
  if (!left) sh = w - sh;
  return (a << sh) | (a >> (w - sh));
}

inline uint64_t byte_swap(uint64_t a, unsigned w) { return __builtin_bswap64(a) >> (64 - w); }

inline uint64_t bit_reverse(uint64_t a, unsigned w) {
  a = ((a >> 1) & 0x5555555555555555ull) | ((a & 0x5555555555555555ull) << 1);
  a = ((a >> 2) & 0x3333333333333333ull) | ((a & 0x3333333333333333ull) << 2);
  a = ((a >> 4) & 0x0f0f0f0f0f0f0f0full) | ((a & 0x0f0f0f0f0f0f0f0full) << 4);
  return __builtin_bswap64(a) >> (64 - w);
}

inline uint64_t or_combine_bytes(uint64_t a, unsigned w) {
  uint64_t r = 0;
  for (unsigned i = 0; i < w; i += 8)
    if ((a >> i) & 0xff) r |= 0xffull << i;
  return r;
}

}  // namespace vmkit::ir::semantics
