// The FXSAVE image (state.h): the one layout of the x87/SSE state that fxsave/fxrstor and Linux's
// signal frames share.
#include <cstring>

#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

// Image offsets (SDM Vol. 1 Table 10-2, 64-bit format).
constexpr unsigned kFcw = 0, kFsw = 2, kFtwAbridged = 4, kFop = 6, kFip = 8, kFdp = 16, kMxcsr = 24,
                   kMxcsrMaskOff = 28, kSt = 32, kXmm = 160;

unsigned top(const State& s) { return (s.fsw >> 11) & 7; }

// The full tag of a physical register from its contents (SDM Vol. 1 §8.1.7): 0 valid, 1 zero,
// 2 special (NaN, infinity, denormal, unsupported), 3 empty.
uint16_t tag_of(const State::X87Reg& r) {
  const uint16_t exp = r.exp & 0x7fff;
  if (exp == 0x7fff) return 2;
  if (exp == 0) return r.mant == 0 ? 1 : 2;
  return (r.mant >> 63) ? 0 : 2;
}

template <class T>
void put(uint8_t* out, unsigned off, T v) {
  std::memcpy(out + off, &v, sizeof v);
}
template <class T>
T get(const uint8_t* in, unsigned off) {
  T v;
  std::memcpy(&v, in + off, sizeof v);
  return v;
}

}  // namespace

void fxsave_image(const State& s, uint8_t* out) {
  std::memset(out, 0, 416);
  put<uint16_t>(out, kFcw, s.fcw);
  put<uint16_t>(out, kFsw, s.fsw);
  uint8_t abridged = 0;  // bit i: physical register i is not empty
  for (unsigned i = 0; i < 8; ++i)
    if (((s.ftw >> (2 * i)) & 3) != 3) abridged |= uint8_t(1u << i);
  out[kFtwAbridged] = abridged;
  put<uint16_t>(out, kFop, s.fop);
  put<uint64_t>(out, kFip, s.fip);
  put<uint64_t>(out, kFdp, s.fdp);
  put<uint32_t>(out, kMxcsr, s.mxcsr);
  put<uint32_t>(out, kMxcsrMaskOff, kMxcsrMask);
  for (unsigned i = 0; i < 8; ++i) {  // ST(i), in stack order
    const State::X87Reg& r = s.fpr[(top(s) + i) & 7];
    put<uint64_t>(out, kSt + 16 * i, r.mant);
    put<uint16_t>(out, kSt + 16 * i + 8, r.exp);
  }
  std::memcpy(out + kXmm, s.xmm, sizeof s.xmm);
}

bool fxrstor_image(State& s, const uint8_t* in) {
  const uint32_t mxcsr = get<uint32_t>(in, kMxcsr);
  if (mxcsr & ~kMxcsrMask) return false;
  // (normalised as fldcw and fldenv leave them: the host's fxrstor does the same)
  s.fcw = loaded_fcw(get<uint16_t>(in, kFcw));
  s.fsw = with_error_summary(get<uint16_t>(in, kFsw), s.fcw);
  s.fop = get<uint16_t>(in, kFop) & 0x7ff;
  s.fip = get<uint64_t>(in, kFip);
  s.fdp = get<uint64_t>(in, kFdp);
  s.mxcsr = mxcsr;
  for (unsigned i = 0; i < 8; ++i) {
    State::X87Reg& r = s.fpr[(top(s) + i) & 7];
    r.mant = get<uint64_t>(in, kSt + 16 * i);
    r.exp = get<uint16_t>(in, kSt + 16 * i + 8);
  }
  // The full tag word: empty where the abridged bit is clear, else classified from the contents.
  const uint8_t abridged = in[kFtwAbridged];
  uint16_t ftw = 0;
  for (unsigned i = 0; i < 8; ++i)
    ftw |= uint16_t((abridged >> i & 1 ? tag_of(s.fpr[i]) : 3) << (2 * i));
  s.ftw = ftw;
  std::memcpy(s.xmm, in + kXmm, sizeof s.xmm);
  return true;
}

uint16_t loaded_fcw(uint16_t v) { return uint16_t((v & 0x1f3f) | 0x0040); }

uint16_t with_error_summary(uint16_t fsw, uint16_t fcw) {
  fsw &= uint16_t(~0x8080u);
  return (fsw & ~fcw & 0x3f) ? uint16_t(fsw | 0x8080) : fsw;
}

void reset_fpu(State& s) {
  s.fcw = 0x037f;
  s.fsw = 0;
  s.ftw = 0xffff;
  s.fop = 0;
  s.fip = s.fdp = 0;
  s.mxcsr = 0x1f80;
}

}  // namespace vmkit::x64
