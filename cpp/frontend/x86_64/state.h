// The x86-64 user-level register file as the IR sees it: get/put address these fields by offset.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/guest_common.h"

namespace vmkit::x64 {

// How the arithmetic flags (CF PF AF ZF SF OF) are kept (see lift.h): the last flag-setting
// operation's kind and operands, evaluated only when a flag is read. cc_op = kind * 4 + log2 of
// the operand size in bytes (0..3).
enum CcKind : uint32_t {
  kCcRaw = 0,  // cc_a holds the flags in their RFLAGS positions
  kCcAdd,      // cc_a + cc_b
  kCcSub,      // cc_a - cc_b (and cmp)
  kCcAdc,      // cc_a + cc_b + cc_c (carry in)
  kCcSbb,      // cc_a - cc_b - cc_c (borrow in)
  kCcLogic,    // cc_a is the result; CF = OF = 0, AF = 0
  kCcInc,      // cc_a is the result; cc_c the CF before (kept)
  kCcDec,      // the same for dec
  kCcNeg,      // cc_a is the source
  kCcShl,      // cc_a the source, cc_b the count (1..width-1 or more, not 0)
  kCcShr,
  kCcSar,
  kCcMul,      // cc_a the low half of the result, cc_c = 1 if the high half is significant (CF = OF)
  kCcKinds
};
// An inc or dec lifted where the CF it keeps was not known (at the start of a block) leaves the
// record in place and says so in cc_op's upper half: cc_op(kCcInc or kCcDec, width) << 16, its
// result in State::cc_r. CF is then the record's, computed only if something reads it; a later
// such inc/dec just replaces the upper half.
constexpr unsigned kKeptCarryShift = 16;
constexpr uint32_t cc_op(CcKind k, unsigned bytes) {
  return uint32_t(k) * 4 + (bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3);
}

// RFLAGS bits.
constexpr uint32_t kCF = 1u << 0, kPF = 1u << 2, kAF = 1u << 4, kZF = 1u << 6, kSF = 1u << 7,
                   kDF = 1u << 10, kOF = 1u << 11;
constexpr uint32_t kArithFlags = kCF | kPF | kAF | kZF | kSF | kOF;

struct State {
  GuestCommon common;
  uint64_t r[16];        // rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (the encoding's order)
  uint64_t rip;
  uint64_t cc_a, cc_b, cc_c;  // lazy arithmetic flags (operands zero-extended)
  uint32_t cc_op;
  uint64_t cc_r;              // the result of an inc/dec recorded in cc_op's upper half
  uint32_t df;           // the direction flag, 0 or 1
  uint32_t rflags_misc;  // the other writable RFLAGS bits as popf left them (AC, ID, TF)
  uint32_t mxcsr;
  uint64_t fs_base, gs_base;
  uint16_t fcw, fsw, ftw, fop;  // x87 control, status (TOP in bits 11..13), tag word (full form), last opcode
  uint64_t fip, fdp;
  // The x87 data registers R0..R7 by physical number (ST(i) is R[(TOP + i) & 7]); MMX register
  // mm_i is R_i's mantissa, with its exponent set to all ones when written by an MMX instruction.
  struct X87Reg {
    uint64_t mant;
    uint16_t exp;  // sign and exponent
    uint16_t pad[3];
  } fpr[8];
  alignas(16) uint64_t xmm[16][2];  // [0] low 64 bits, [1] high
};

enum Gpr : unsigned { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

constexpr uint32_t off_r(unsigned i) { return uint32_t(offsetof(State, r) + 8 * i); }
constexpr uint32_t off_xmm(unsigned i, unsigned half = 0) { return uint32_t(offsetof(State, xmm) + 16 * i + 8 * half); }
constexpr uint32_t kOffRip = offsetof(State, rip);
constexpr uint32_t kOffCcA = offsetof(State, cc_a);
constexpr uint32_t kOffCcB = offsetof(State, cc_b);
constexpr uint32_t kOffCcC = offsetof(State, cc_c);
constexpr uint32_t kOffCcOp = offsetof(State, cc_op);
constexpr uint32_t kOffCcR = offsetof(State, cc_r);
constexpr uint32_t kOffDf = offsetof(State, df);
constexpr uint32_t kOffRflagsMisc = offsetof(State, rflags_misc);
constexpr uint32_t kOffMxcsr = offsetof(State, mxcsr);
constexpr uint32_t kOffFsBase = offsetof(State, fs_base);
constexpr uint32_t kOffGsBase = offsetof(State, gs_base);
constexpr uint32_t kOffFcw = offsetof(State, fcw);
constexpr uint32_t kOffFsw = offsetof(State, fsw);
constexpr uint32_t kOffFtw = offsetof(State, ftw);
constexpr uint32_t off_fpr_mant(unsigned i) { return uint32_t(offsetof(State, fpr) + 16 * i); }
constexpr uint32_t off_fpr_exp(unsigned i) { return uint32_t(offsetof(State, fpr) + 16 * i + 8); }

// The arithmetic flags of a lazy form (RFLAGS positions), and RFLAGS as a program sees it (pushfq,
// Python): those, DF, the kept misc bits and the always-one bit 1 (and IF, as in user mode).
// (r: cc_r, for an op with an inc/dec in its upper half)
uint32_t eval_flags(uint32_t op, uint64_t a, uint64_t b, uint64_t c, uint64_t r = 0);
// Whether condition cc (the low nibble of jcc's opcode) holds for that lazy form.
bool eval_cond(unsigned cc, uint32_t op, uint64_t a, uint64_t b, uint64_t c, uint64_t r = 0);
uint64_t rflags(const State& s);
void set_rflags(State& s, uint64_t v);

// The 512-byte FXSAVE image of the x87, MMX and SSE state (SDM Vol. 1 §10.5.1), as fxsave64 and
// Linux's signal frames (without XSAVE) hold it (fxsave.cpp). Bytes 416..511 are left alone.
constexpr unsigned kFxsaveBytes = 512;
constexpr uint32_t kMxcsrMask = 0xffff;  // the MXCSR bits vmkit implements (FZ, DAZ, masks, RC, flags)
void fxsave_image(const State& s, uint8_t* out);
// Loads an image, FCW and FSW normalised as the hardware's fxrstor leaves them; false (nothing
// loaded) if its MXCSR sets a bit outside kMxcsrMask (#GP).
bool fxrstor_image(State& s, const uint8_t* in);
// What fldcw, fldenv and fxrstor keep of a control word: bits 7 and 13..15 read as 0, bit 6 as 1
// (the host's behaviour); and a status word with its error summary (ES, B) recomputed for a
// control word: set exactly when an exception flag is unmasked.
uint16_t loaded_fcw(uint16_t v);
uint16_t with_error_summary(uint16_t fsw, uint16_t fcw);
// The x87 state after FNINIT, and MXCSR as at reset: what a signal handler starts with.
void reset_fpu(State& s);

}  // namespace vmkit::x64
