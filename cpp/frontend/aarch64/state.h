// The AArch64 user-level register file as the IR sees it: get/put address these fields by offset.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/guest_common.h"

namespace vmkit::a64 {

// How NZCV is kept (see flags.h): the last flag-setting operation's kind and operands, evaluated
// only when a condition is read.
enum CcOp : uint32_t {
  kCcRaw = 0,  // cc_a holds NZCV in bits 31..28 (its architectural place)
  kCcAdd32, kCcAdd64,  // cc_a + cc_b
  kCcSub32, kCcSub64,  // cc_a - cc_b
  kCcLogic32, kCcLogic64,  // cc_a is the result; C = V = 0
  kCcCount
};

struct State {
  GuestCommon common;
  uint64_t x[32];        // x[31] is sp: register number 31 means sp or xzr by instruction
  uint64_t pc;
  uint64_t cc_a, cc_b;   // NZCV operands (32-bit kinds keep them zero-extended)
  uint32_t cc_op;        // CcOp
  uint32_t fpcr;
  uint32_t fpsr;
  uint32_t excl_size;    // bytes reserved by the last load-exclusive (0: no reservation)
  uint64_t excl_addr;    // its address
  uint64_t excl_value[2];  // the values it loaded (the second for a pair)
  uint64_t tpidr_el0;
  alignas(16) uint64_t v[32][2];  // SIMD/FP registers: [0] low 64 bits, [1] high 64 bits
};

constexpr unsigned kSp = 31;

constexpr uint32_t off_x(unsigned i) { return uint32_t(offsetof(State, x) + 8 * i); }
constexpr uint32_t off_v(unsigned i, unsigned half = 0) { return uint32_t(offsetof(State, v) + 16 * i + 8 * half); }
constexpr uint32_t kOffSp = off_x(kSp);
constexpr uint32_t kOffPc = offsetof(State, pc);
constexpr uint32_t kOffCcA = offsetof(State, cc_a);
constexpr uint32_t kOffCcB = offsetof(State, cc_b);
constexpr uint32_t kOffCcOp = offsetof(State, cc_op);
constexpr uint32_t kOffFpcr = offsetof(State, fpcr);
constexpr uint32_t kOffFpsr = offsetof(State, fpsr);
constexpr uint32_t kOffExclSize = offsetof(State, excl_size);
constexpr uint32_t kOffExclAddr = offsetof(State, excl_addr);
constexpr uint32_t kOffExclValue = offsetof(State, excl_value);
constexpr uint32_t kOffTpidr = offsetof(State, tpidr_el0);

// NZCV of a state, evaluated from its lazy form (bits 31..28); and setting it (raw).
uint32_t nzcv(const State& s);
inline void set_nzcv(State& s, uint32_t v) {
  s.cc_op = kCcRaw;
  s.cc_a = v & 0xf0000000u;
  s.cc_b = 0;
}

}  // namespace vmkit::a64
