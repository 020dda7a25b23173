// F and D extension semantics, run end to end (frontend, verifier, optimiser, interpreter) through
// Rv64Machine. Expected values are either hand-computed, computed independently in the test (host
// <cfenv>, or an exact reference rounding for RMM), or observed on qemu-riscv64 7.2 running a
// riscv64-linux-gnu-gcc -static program that executes each instruction with fflags cleared and
// prints the result and fflags (the kQemuObserved table).
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

constexpr uint32_t kRne = 0, kRtz = 1, kRdn = 2, kRup = 3, kRmm = 4, kDyn = 7;
constexpr uint32_t kNV = 16, kDZ = 8, kOF = 4, kUF = 2, kNX = 1;
constexpr uint64_t kBoxedNaN32 = 0xffffffff7fc00000ull;
constexpr uint64_t kNaN64 = 0x7ff8000000000000ull;

uint64_t box(uint32_t v) { return 0xffffffff00000000ull | v; }
uint64_t boxf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return box(u);
}
uint64_t bitsd(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

// OP-FP: funct7 = funct5 << 2 | fmt (0 single, 1 double).
uint32_t fp_op(uint32_t funct5, bool dbl, unsigned rd, unsigned rs1, unsigned rs2, uint32_t rm) {
  return r_type((funct5 << 2) | uint32_t(dbl), rs2, rs1, rm, rd, 0x53);
}
uint32_t fadd(bool dbl, unsigned rd, unsigned rs1, unsigned rs2, uint32_t rm) { return fp_op(0b00000, dbl, rd, rs1, rs2, rm); }
uint32_t fmul(bool dbl, unsigned rd, unsigned rs1, unsigned rs2, uint32_t rm) { return fp_op(0b00010, dbl, rd, rs1, rs2, rm); }
uint32_t fdiv(bool dbl, unsigned rd, unsigned rs1, unsigned rs2, uint32_t rm) { return fp_op(0b00011, dbl, rd, rs1, rs2, rm); }
uint32_t fsqrt(bool dbl, unsigned rd, unsigned rs1, uint32_t rm) { return fp_op(0b01011, dbl, rd, rs1, 0, rm); }
uint32_t fmin(bool dbl, unsigned rd, unsigned rs1, unsigned rs2) { return fp_op(0b00101, dbl, rd, rs1, rs2, 0); }
uint32_t feq(bool dbl, unsigned rd, unsigned rs1, unsigned rs2) { return fp_op(0b10100, dbl, rd, rs1, rs2, 2); }
uint32_t flt(bool dbl, unsigned rd, unsigned rs1, unsigned rs2) { return fp_op(0b10100, dbl, rd, rs1, rs2, 1); }
uint32_t fcvt_w(bool dbl, unsigned rd, unsigned rs1, uint32_t rm) { return fp_op(0b11000, dbl, rd, rs1, 0, rm); }
uint32_t fcvt_wu(bool dbl, unsigned rd, unsigned rs1, uint32_t rm) { return fp_op(0b11000, dbl, rd, rs1, 1, rm); }
uint32_t fmv_x_w(unsigned rd, unsigned rs1) { return fp_op(0b11100, false, rd, rs1, 0, 0); }
uint32_t fmv_w_x(unsigned rd, unsigned rs1) { return fp_op(0b11110, false, rd, rs1, 0, 0); }
uint32_t fsgnjn(bool dbl, unsigned rd, unsigned rs1, unsigned rs2) { return fp_op(0b00100, dbl, rd, rs1, rs2, 1); }
uint32_t fmadd(bool dbl, unsigned rd, unsigned rs1, unsigned rs2, unsigned rs3, uint32_t rm) {
  return (rs3 << 27) | (uint32_t(dbl) << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x43;
}
uint32_t flw(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 2, rd, 0x07); }
uint32_t fld(unsigned rd, unsigned rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x07); }
uint32_t fsw(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 2, 0x27); }
uint32_t fsd(unsigned rs2, unsigned rs1, int32_t imm) { return s_type(imm, rs2, rs1, 3, 0x27); }

// One instruction with operands in f0/f1/f3 (or x10), result in f2 (or x10), fflags cleared first.
struct Outcome {
  uint64_t value;
  uint32_t fflags;
};
enum class Io { FtoF, FtoX, XtoF };
Outcome run_one(Rv64Machine& m, uint32_t insn, Io io, uint64_t a, uint64_t b = 0, uint64_t c = 0, uint32_t frm = 0) {
  m.st().fflags = 0;
  m.st().frm = frm;
  m.f(0) = a;
  m.f(1) = b;
  m.f(3) = c;
  m.f(2) = 0x5555555555555555ull;
  m.x(10) = io == Io::XtoF ? a : 0x5555555555555555ull;
  m.exec({insn});
  return {io == Io::FtoX ? m.x(10) : m.f(2), m.st().fflags};
}

// Observed on qemu-riscv64 (see the header comment). Operands: f0, f1, f3 (x10 for XtoF);
// result: f2 (x10 for FtoX).
struct QemuRow {
  const char* text;
  uint32_t insn;
  Io io;
  uint64_t a, b, c;
  uint64_t expected;
  uint32_t fflags;
};
const QemuRow kQemuObserved[] = {
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffff3f800000, 0xffffffff33800000, 0x0, 0xffffffff3f800000, 0x1},
    {"fadd.s f2, f0, f1, rtz", 0x00101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff33800000, 0x0, 0xffffffff3f800000, 0x1},
    {"fadd.s f2, f0, f1, rdn", 0x00102153, Io::FtoF, 0xffffffff3f800000, 0xffffffff33800000, 0x0, 0xffffffff3f800000, 0x1},
    {"fadd.s f2, f0, f1, rup", 0x00103153, Io::FtoF, 0xffffffff3f800000, 0xffffffff33800000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rmm", 0x00104153, Io::FtoF, 0xffffffff3f800000, 0xffffffff33800000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffffbf800000, 0xffffffffb3800000, 0x0, 0xffffffffbf800000, 0x1},
    {"fadd.s f2, f0, f1, rtz", 0x00101153, Io::FtoF, 0xffffffffbf800000, 0xffffffffb3800000, 0x0, 0xffffffffbf800000, 0x1},
    {"fadd.s f2, f0, f1, rdn", 0x00102153, Io::FtoF, 0xffffffffbf800000, 0xffffffffb3800000, 0x0, 0xffffffffbf800001, 0x1},
    {"fadd.s f2, f0, f1, rup", 0x00103153, Io::FtoF, 0xffffffffbf800000, 0xffffffffb3800000, 0x0, 0xffffffffbf800000, 0x1},
    {"fadd.s f2, f0, f1, rmm", 0x00104153, Io::FtoF, 0xffffffffbf800000, 0xffffffffb3800000, 0x0, 0xffffffffbf800001, 0x1},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffff3f800001, 0xffffffff33800000, 0x0, 0xffffffff3f800002, 0x1},
    {"fadd.s f2, f0, f1, rtz", 0x00101153, Io::FtoF, 0xffffffff3f800001, 0xffffffff33800000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rdn", 0x00102153, Io::FtoF, 0xffffffff3f800001, 0xffffffff33800000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rup", 0x00103153, Io::FtoF, 0xffffffff3f800001, 0xffffffff33800000, 0x0, 0xffffffff3f800002, 0x1},
    {"fadd.s f2, f0, f1, rmm", 0x00104153, Io::FtoF, 0xffffffff3f800001, 0xffffffff33800000, 0x0, 0xffffffff3f800002, 0x1},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffff3f800000, 0xffffffff34400000, 0x0, 0xffffffff3f800002, 0x1},
    {"fadd.s f2, f0, f1, rtz", 0x00101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff34400000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rdn", 0x00102153, Io::FtoF, 0xffffffff3f800000, 0xffffffff34400000, 0x0, 0xffffffff3f800001, 0x1},
    {"fadd.s f2, f0, f1, rup", 0x00103153, Io::FtoF, 0xffffffff3f800000, 0xffffffff34400000, 0x0, 0xffffffff3f800002, 0x1},
    {"fadd.s f2, f0, f1, rmm", 0x00104153, Io::FtoF, 0xffffffff3f800000, 0xffffffff34400000, 0x0, 0xffffffff3f800002, 0x1},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0x0, 0xffffffff3fc00004, 0x1},
    {"fmul.s f2, f0, f1, rtz", 0x10101153, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0x0, 0xffffffff3fc00004, 0x1},
    {"fmul.s f2, f0, f1, rdn", 0x10102153, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0x0, 0xffffffff3fc00004, 0x1},
    {"fmul.s f2, f0, f1, rup", 0x10103153, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0x0, 0xffffffff3fc00005, 0x1},
    {"fmul.s f2, f0, f1, rmm", 0x10104153, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0x0, 0xffffffff3fc00005, 0x1},
    {"fmul.d f2, f0, f1, rne", 0x12100153, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000004, 0x1},
    {"fmul.d f2, f0, f1, rtz", 0x12101153, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000004, 0x1},
    {"fmul.d f2, f0, f1, rdn", 0x12102153, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000004, 0x1},
    {"fmul.d f2, f0, f1, rup", 0x12103153, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000005, 0x1},
    {"fmul.d f2, f0, f1, rmm", 0x12104153, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000005, 0x1},
    {"fadd.d f2, f0, f1, rne", 0x02100153, Io::FtoF, 0x3ff0000000000000, 0x3ca0000000000000, 0x0, 0x3ff0000000000000, 0x1},
    {"fadd.d f2, f0, f1, rtz", 0x02101153, Io::FtoF, 0x3ff0000000000000, 0x3ca0000000000000, 0x0, 0x3ff0000000000000, 0x1},
    {"fadd.d f2, f0, f1, rdn", 0x02102153, Io::FtoF, 0x3ff0000000000000, 0x3ca0000000000000, 0x0, 0x3ff0000000000000, 0x1},
    {"fadd.d f2, f0, f1, rup", 0x02103153, Io::FtoF, 0x3ff0000000000000, 0x3ca0000000000000, 0x0, 0x3ff0000000000001, 0x1},
    {"fadd.d f2, f0, f1, rmm", 0x02104153, Io::FtoF, 0x3ff0000000000000, 0x3ca0000000000000, 0x0, 0x3ff0000000000001, 0x1},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff00000001, 0xffffffff40000000, 0x0, 0xffffffff00000000, 0x3},
    {"fdiv.s f2, f0, f1, rtz", 0x18101153, Io::FtoF, 0xffffffff00000001, 0xffffffff40000000, 0x0, 0xffffffff00000000, 0x3},
    {"fdiv.s f2, f0, f1, rdn", 0x18102153, Io::FtoF, 0xffffffff00000001, 0xffffffff40000000, 0x0, 0xffffffff00000000, 0x3},
    {"fdiv.s f2, f0, f1, rup", 0x18103153, Io::FtoF, 0xffffffff00000001, 0xffffffff40000000, 0x0, 0xffffffff00000001, 0x3},
    {"fdiv.s f2, f0, f1, rmm", 0x18104153, Io::FtoF, 0xffffffff00000001, 0xffffffff40000000, 0x0, 0xffffffff00000001, 0x3},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff00000005, 0xffffffff40000000, 0x0, 0xffffffff00000002, 0x3},
    {"fdiv.s f2, f0, f1, rtz", 0x18101153, Io::FtoF, 0xffffffff00000005, 0xffffffff40000000, 0x0, 0xffffffff00000002, 0x3},
    {"fdiv.s f2, f0, f1, rdn", 0x18102153, Io::FtoF, 0xffffffff00000005, 0xffffffff40000000, 0x0, 0xffffffff00000002, 0x3},
    {"fdiv.s f2, f0, f1, rup", 0x18103153, Io::FtoF, 0xffffffff00000005, 0xffffffff40000000, 0x0, 0xffffffff00000003, 0x3},
    {"fdiv.s f2, f0, f1, rmm", 0x18104153, Io::FtoF, 0xffffffff00000005, 0xffffffff40000000, 0x0, 0xffffffff00000003, 0x3},
    {"fdiv.d f2, f0, f1, rne", 0x1a100153, Io::FtoF, 0x1, 0x4000000000000000, 0x0, 0x0, 0x3},
    {"fdiv.d f2, f0, f1, rtz", 0x1a101153, Io::FtoF, 0x1, 0x4000000000000000, 0x0, 0x0, 0x3},
    {"fdiv.d f2, f0, f1, rdn", 0x1a102153, Io::FtoF, 0x1, 0x4000000000000000, 0x0, 0x0, 0x3},
    {"fdiv.d f2, f0, f1, rup", 0x1a103153, Io::FtoF, 0x1, 0x4000000000000000, 0x0, 0x1, 0x3},
    {"fdiv.d f2, f0, f1, rmm", 0x1a104153, Io::FtoF, 0x1, 0x4000000000000000, 0x0, 0x1, 0x3},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40400000, 0x0, 0xffffffff3eaaaaab, 0x1},
    {"fdiv.s f2, f0, f1, rtz", 0x18101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40400000, 0x0, 0xffffffff3eaaaaaa, 0x1},
    {"fdiv.s f2, f0, f1, rdn", 0x18102153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40400000, 0x0, 0xffffffff3eaaaaaa, 0x1},
    {"fdiv.s f2, f0, f1, rup", 0x18103153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40400000, 0x0, 0xffffffff3eaaaaab, 0x1},
    {"fdiv.s f2, f0, f1, rmm", 0x18104153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40400000, 0x0, 0xffffffff3eaaaaab, 0x1},
    {"fsqrt.s f2, f0, rne", 0x58000153, Io::FtoF, 0xffffffff40000000, 0x0, 0x0, 0xffffffff3fb504f3, 0x1},
    {"fsqrt.s f2, f0, rup", 0x58003153, Io::FtoF, 0xffffffff40000000, 0x0, 0x0, 0xffffffff3fb504f4, 0x1},
    {"fsqrt.s f2, f0, rmm", 0x58004153, Io::FtoF, 0xffffffff40000000, 0x0, 0x0, 0xffffffff3fb504f3, 0x1},
    {"fsqrt.d f2, f0, rmm", 0x5a004153, Io::FtoF, 0x4000000000000000, 0x0, 0x0, 0x3ff6a09e667f3bcd, 0x1},
    {"fsqrt.d f2, f0, rtz", 0x5a001153, Io::FtoF, 0x4000000000000000, 0x0, 0x0, 0x3ff6a09e667f3bcc, 0x1},
    {"fsqrt.s f2, f0, rne", 0x58000153, Io::FtoF, 0xffffffffbf800000, 0x0, 0x0, 0xffffffff7fc00000, 0x10},
    {"fsqrt.d f2, f0, rne", 0x5a000153, Io::FtoF, 0xbff0000000000000, 0x0, 0x0, 0x7ff8000000000000, 0x10},
    {"fsqrt.s f2, f0, rne", 0x58000153, Io::FtoF, 0xffffffff80000000, 0x0, 0x0, 0xffffffff80000000, 0x0},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff7f7fffff, 0xffffffff40000000, 0x0, 0xffffffff7f800000, 0x5},
    {"fmul.s f2, f0, f1, rtz", 0x10101153, Io::FtoF, 0xffffffff7f7fffff, 0xffffffff40000000, 0x0, 0xffffffff7f7fffff, 0x5},
    {"fmul.s f2, f0, f1, rmm", 0x10104153, Io::FtoF, 0xffffffff7f7fffff, 0xffffffff40000000, 0x0, 0xffffffff7f800000, 0x5},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff00800000, 0xffffffff3f000000, 0x0, 0xffffffff00400000, 0x0},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff00800000, 0xffffffff40400000, 0x0, 0xffffffff002aaaab, 0x3},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff3f7ff800, 0xffffffff00800400, 0x0, 0xffffffff00800000, 0x1},
    {"fmul.s f2, f0, f1, rmm", 0x10104153, Io::FtoF, 0xffffffff3f7ff800, 0xffffffff00800400, 0x0, 0xffffffff00800000, 0x1},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff3f7fffff, 0xffffffff00800000, 0x0, 0xffffffff00800000, 0x3},
    {"fmul.d f2, f0, f1, rne", 0x12100153, Io::FtoF, 0x3feffffffc000000, 0x10000004000000, 0x0, 0x10000002000000, 0x1},
    {"fmul.d f2, f0, f1, rmm", 0x12104153, Io::FtoF, 0x3feffffffc000000, 0x10000004000000, 0x0, 0x10000002000000, 0x1},
    {"fmul.s f2, f0, f1, rne", 0x10100153, Io::FtoF, 0xffffffff00000000, 0xffffffff7f800000, 0x0, 0xffffffff7fc00000, 0x10},
    {"fsub.s f2, f0, f1, rne", 0x08100153, Io::FtoF, 0xffffffff7f800000, 0xffffffff7f800000, 0x0, 0xffffffff7fc00000, 0x10},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff3f800000, 0xffffffff00000000, 0x0, 0xffffffff7f800000, 0x8},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffffbf800000, 0xffffffff00000000, 0x0, 0xffffffffff800000, 0x8},
    {"fdiv.s f2, f0, f1, rne", 0x18100153, Io::FtoF, 0xffffffff00000000, 0xffffffff00000000, 0x0, 0xffffffff7fc00000, 0x10},
    {"fdiv.d f2, f0, f1, rne", 0x1a100153, Io::FtoF, 0x3ff0000000000000, 0x0, 0x0, 0x7ff0000000000000, 0x8},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffff7f800001, 0xffffffff3f800000, 0x0, 0xffffffff7fc00000, 0x10},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0xffffffff7fc12345, 0xffffffff3f800000, 0x0, 0xffffffff7fc00000, 0x0},
    {"fadd.s f2, f0, f1, rne", 0x00100153, Io::FtoF, 0x3f800000, 0xffffffff3f800000, 0x0, 0xffffffff7fc00000, 0x0},
    {"fadd.d f2, f0, f1, rne", 0x02100153, Io::FtoF, 0x7ff0000000000001, 0x3ff0000000000000, 0x0, 0x7ff8000000000000, 0x10},
    {"fadd.d f2, f0, f1, rne", 0x02100153, Io::FtoF, 0x7ff8000000012345, 0x3ff0000000000000, 0x0, 0x7ff8000000000000, 0x0},
    {"fsub.s f2, f0, f1, rdn", 0x08102153, Io::FtoF, 0xffffffff3f800000, 0xffffffff3f800000, 0x0, 0xffffffff80000000, 0x0},
    {"fsub.s f2, f0, f1, rne", 0x08100153, Io::FtoF, 0xffffffff3f800000, 0xffffffff3f800000, 0x0, 0xffffffff00000000, 0x0},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffff80000000, 0xffffffff00000000, 0x0, 0xffffffff80000000, 0x0},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffff00000000, 0xffffffff80000000, 0x0, 0xffffffff80000000, 0x0},
    {"fmax.s f2, f0, f1", 0x28101153, Io::FtoF, 0xffffffff80000000, 0xffffffff00000000, 0x0, 0xffffffff00000000, 0x0},
    {"fmax.s f2, f0, f1", 0x28101153, Io::FtoF, 0xffffffff00000000, 0xffffffff80000000, 0x0, 0xffffffff00000000, 0x0},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffff7fc00000, 0xffffffff3f800000, 0x0, 0xffffffff3f800000, 0x0},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffff7f800001, 0xffffffff3f800000, 0x0, 0xffffffff3f800000, 0x10},
    {"fmax.s f2, f0, f1", 0x28101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff7fa00000, 0x0, 0xffffffff3f800000, 0x10},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffff7fc12345, 0xffffffff7fc00001, 0x0, 0xffffffff7fc00000, 0x0},
    {"fmax.s f2, f0, f1", 0x28101153, Io::FtoF, 0xffffffff7f800001, 0xffffffff7f800002, 0x0, 0xffffffff7fc00000, 0x10},
    {"fmax.s f2, f0, f1", 0x28101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff40000000, 0x0, 0xffffffff40000000, 0x0},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0xffffffffc0000000, 0xffffffff40000000, 0x0, 0xffffffffc0000000, 0x0},
    {"fmin.d f2, f0, f1", 0x2a100153, Io::FtoF, 0x8000000000000000, 0x0, 0x0, 0x8000000000000000, 0x0},
    {"fmax.d f2, f0, f1", 0x2a101153, Io::FtoF, 0x8000000000000000, 0x0, 0x0, 0x0, 0x0},
    {"fmax.d f2, f0, f1", 0x2a101153, Io::FtoF, 0x7ff0000000000001, 0x3ff0000000000000, 0x0, 0x3ff0000000000000, 0x10},
    {"fmin.d f2, f0, f1", 0x2a100153, Io::FtoF, 0x7ff8000000000000, 0x7ff0000000000001, 0x0, 0x7ff8000000000000, 0x10},
    {"fmin.s f2, f0, f1", 0x28100153, Io::FtoF, 0x3f800000, 0xffffffff40000000, 0x0, 0xffffffff40000000, 0x0},
    {"fmadd.s f2, f0, f1, f3, rne", 0x18100143, Io::FtoF, 0xffffffff3f800800, 0xffffffff3f800800, 0xffffffffbf801000, 0xffffffff33800000, 0x0},
    {"fmadd.d f2, f0, f1, f3, rne", 0x1a100143, Io::FtoF, 0x3ff0000000000001, 0x3ff0000000000001, 0xbff0000000000002, 0x3970000000000000, 0x0},
    {"fmadd.s f2, f0, f1, f3, rmm", 0x18104143, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0xffffffff00000000, 0xffffffff3fc00005, 0x1},
    {"fmadd.s f2, f0, f1, f3, rne", 0x18100143, Io::FtoF, 0xffffffff3f800003, 0xffffffff3fc00000, 0xffffffff00000000, 0xffffffff3fc00004, 0x1},
    {"fmadd.d f2, f0, f1, f3, rmm", 0x1a104143, Io::FtoF, 0x3ff0000000000003, 0x3ff8000000000000, 0x0, 0x3ff8000000000005, 0x1},
    {"fmadd.s f2, f0, f1, f3, rdn", 0x18102143, Io::FtoF, 0xffffffff3f800000, 0xffffffff3f800000, 0xffffffffbf800000, 0xffffffff80000000, 0x0},
    {"fmsub.s f2, f0, f1, f3, rne", 0x18100147, Io::FtoF, 0xffffffff40000000, 0xffffffff40400000, 0xffffffff3f800000, 0xffffffff40a00000, 0x0},
    {"fnmsub.s f2, f0, f1, f3, rne", 0x1810014b, Io::FtoF, 0xffffffff40000000, 0xffffffff40400000, 0xffffffff3f800000, 0xffffffffc0a00000, 0x0},
    {"fnmadd.s f2, f0, f1, f3, rne", 0x1810014f, Io::FtoF, 0xffffffff40000000, 0xffffffff40400000, 0xffffffff3f800000, 0xffffffffc0e00000, 0x0},
    {"fnmadd.d f2, f0, f1, f3, rne", 0x1a10014f, Io::FtoF, 0x4000000000000000, 0x4008000000000000, 0x3ff0000000000000, 0xc01c000000000000, 0x0},
    {"fmadd.s f2, f0, f1, f3, rne", 0x18100143, Io::FtoF, 0xffffffff7f800000, 0xffffffff00000000, 0xffffffff7fc00000, 0xffffffff7fc00000, 0x10},
    {"fmadd.d f2, f0, f1, f3, rne", 0x1a100143, Io::FtoF, 0x0, 0x7ff0000000000000, 0x7ff8000000000000, 0x7ff8000000000000, 0x10},
    {"fnmsub.s f2, f0, f1, f3, rup", 0x1810314b, Io::FtoF, 0xffffffff3f800001, 0xffffffff3f800001, 0xffffffff3f800000, 0xffffffffb4800000, 0x1},
    {"fnmadd.s f2, f0, f1, f3, rup", 0x1810314f, Io::FtoF, 0xffffffff3f800001, 0xffffffff3f800001, 0xffffffff3f800000, 0xffffffffc0000001, 0x1},
    {"fcvt.w.s a0, f0, rne", 0xc0000553, Io::FtoX, 0xffffffff40200000, 0x0, 0x0, 0x2, 0x1},
    {"fcvt.w.s a0, f0, rmm", 0xc0004553, Io::FtoX, 0xffffffff40200000, 0x0, 0x0, 0x3, 0x1},
    {"fcvt.w.s a0, f0, rne", 0xc0000553, Io::FtoX, 0xffffffffc0200000, 0x0, 0x0, 0xfffffffffffffffe, 0x1},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffffc0200000, 0x0, 0x0, 0xfffffffffffffffe, 0x1},
    {"fcvt.w.s a0, f0, rdn", 0xc0002553, Io::FtoX, 0xffffffffc0200000, 0x0, 0x0, 0xfffffffffffffffd, 0x1},
    {"fcvt.w.s a0, f0, rup", 0xc0003553, Io::FtoX, 0xffffffffc0200000, 0x0, 0x0, 0xfffffffffffffffe, 0x1},
    {"fcvt.w.s a0, f0, rmm", 0xc0004553, Io::FtoX, 0xffffffffc0200000, 0x0, 0x0, 0xfffffffffffffffd, 0x1},
    {"fcvt.w.s a0, f0, rne", 0xc0000553, Io::FtoX, 0xffffffff3fc00000, 0x0, 0x0, 0x2, 0x1},
    {"fcvt.w.s a0, f0, rne", 0xc0000553, Io::FtoX, 0xffffffff40600000, 0x0, 0x0, 0x4, 0x1},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffff7fc00000, 0x0, 0x0, 0x7fffffff, 0x10},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffff7f800000, 0x0, 0x0, 0x7fffffff, 0x10},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffffff800000, 0x0, 0x0, 0xffffffff80000000, 0x10},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffff4f32d05e, 0x0, 0x0, 0x7fffffff, 0x10},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffffcf32d05e, 0x0, 0x0, 0xffffffff80000000, 0x10},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0xffffffffcf000000, 0x0, 0x0, 0xffffffff80000000, 0x0},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffff4f32d05e, 0x0, 0x0, 0xffffffffb2d05e00, 0x0},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffffbf800000, 0x0, 0x0, 0x0, 0x10},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffff4f800000, 0x0, 0x0, 0xffffffffffffffff, 0x10},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffffbf000000, 0x0, 0x0, 0x0, 0x1},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffff7fc00000, 0x0, 0x0, 0xffffffffffffffff, 0x10},
    {"fcvt.wu.s a0, f0, rtz", 0xc0101553, Io::FtoX, 0xffffffffff800000, 0x0, 0x0, 0x0, 0x10},
    {"fcvt.wu.s a0, f0, rne", 0xc0100553, Io::FtoX, 0xffffffffbf000000, 0x0, 0x0, 0x0, 0x1},
    {"fcvt.wu.s a0, f0, rne", 0xc0100553, Io::FtoX, 0xffffffffbf400000, 0x0, 0x0, 0x0, 0x10},
    {"fcvt.l.d a0, f0, rtz", 0xc2201553, Io::FtoX, 0x43e0000000000000, 0x0, 0x0, 0x7fffffffffffffff, 0x10},
    {"fcvt.l.d a0, f0, rtz", 0xc2201553, Io::FtoX, 0xc3e0000000000000, 0x0, 0x0, 0x8000000000000000, 0x0},
    {"fcvt.l.d a0, f0, rtz", 0xc2201553, Io::FtoX, 0x7ff8000000000000, 0x0, 0x0, 0x7fffffffffffffff, 0x10},
    {"fcvt.lu.d a0, f0, rtz", 0xc2301553, Io::FtoX, 0xbff0000000000000, 0x0, 0x0, 0x0, 0x10},
    {"fcvt.lu.d a0, f0, rtz", 0xc2301553, Io::FtoX, 0x43f0000000000000, 0x0, 0x0, 0xffffffffffffffff, 0x10},
    {"fcvt.lu.d a0, f0, rtz", 0xc2301553, Io::FtoX, 0x43e0000000000000, 0x0, 0x0, 0x8000000000000000, 0x0},
    {"fcvt.l.s a0, f0, rtz", 0xc0201553, Io::FtoX, 0xffffffff5f000000, 0x0, 0x0, 0x7fffffffffffffff, 0x10},
    {"fcvt.lu.s a0, f0, rtz", 0xc0301553, Io::FtoX, 0xffffffff5f800000, 0x0, 0x0, 0xffffffffffffffff, 0x10},
    {"fcvt.lu.s a0, f0, rup", 0xc0303553, Io::FtoX, 0xffffffff3dcccccd, 0x0, 0x0, 0x1, 0x1},
    {"fcvt.w.d a0, f0, rtz", 0xc2001553, Io::FtoX, 0x41dfffffffc00000, 0x0, 0x0, 0x7fffffff, 0x0},
    {"fcvt.w.d a0, f0, rne", 0xc2000553, Io::FtoX, 0x41dfffffffe00000, 0x0, 0x0, 0x7fffffff, 0x10},
    {"fcvt.wu.d a0, f0, rtz", 0xc2101553, Io::FtoX, 0x41efffffffe00000, 0x0, 0x0, 0xffffffffffffffff, 0x0},
    {"fcvt.w.s a0, f0, rtz", 0xc0001553, Io::FtoX, 0x3f800000, 0x0, 0x0, 0x7fffffff, 0x10},
    {"fcvt.s.l f2, a0, rne", 0xd0250153, Io::XtoF, 0x1000001, 0x0, 0x0, 0xffffffff4b800000, 0x1},
    {"fcvt.s.l f2, a0, rmm", 0xd0254153, Io::XtoF, 0x1000001, 0x0, 0x0, 0xffffffff4b800001, 0x1},
    {"fcvt.s.l f2, a0, rup", 0xd0253153, Io::XtoF, 0x1000001, 0x0, 0x0, 0xffffffff4b800001, 0x1},
    {"fcvt.s.l f2, a0, rmm", 0xd0254153, Io::XtoF, 0xfffffffffeffffff, 0x0, 0x0, 0xffffffffcb800001, 0x1},
    {"fcvt.s.l f2, a0, rdn", 0xd0252153, Io::XtoF, 0xfffffffffeffffff, 0x0, 0x0, 0xffffffffcb800001, 0x1},
    {"fcvt.d.l f2, a0, rne", 0xd2250153, Io::XtoF, 0x20000000000001, 0x0, 0x0, 0x4340000000000000, 0x1},
    {"fcvt.d.l f2, a0, rmm", 0xd2254153, Io::XtoF, 0x20000000000001, 0x0, 0x0, 0x4340000000000001, 0x1},
    {"fcvt.s.lu f2, a0, rne", 0xd0350153, Io::XtoF, 0xffffffffffffffff, 0x0, 0x0, 0xffffffff5f800000, 0x1},
    {"fcvt.s.lu f2, a0, rtz", 0xd0351153, Io::XtoF, 0xffffffffffffffff, 0x0, 0x0, 0xffffffff5f7fffff, 0x1},
    {"fcvt.d.lu f2, a0, rmm", 0xd2354153, Io::XtoF, 0xffffffffffffffff, 0x0, 0x0, 0x43f0000000000000, 0x1},
    {"fcvt.s.w f2, a0, rne", 0xd0050153, Io::XtoF, 0x12345678ffffffff, 0x0, 0x0, 0xffffffffbf800000, 0x0},
    {"fcvt.s.wu f2, a0, rne", 0xd0150153, Io::XtoF, 0x12345678ffffffff, 0x0, 0x0, 0xffffffff4f800000, 0x1},
    {"fcvt.d.wu f2, a0", 0xd2150153, Io::XtoF, 0x12345678ffffffff, 0x0, 0x0, 0x41efffffffe00000, 0x0},
    {"fcvt.d.w f2, a0", 0xd2050153, Io::XtoF, 0x80000000, 0x0, 0x0, 0xc1e0000000000000, 0x0},
    {"fcvt.s.wu f2, a0, rmm", 0xd0154153, Io::XtoF, 0x1000001, 0x0, 0x0, 0xffffffff4b800001, 0x1},
    {"fcvt.s.d f2, f0, rne", 0x40100153, Io::FtoF, 0x3ff0000010000000, 0x0, 0x0, 0xffffffff3f800000, 0x1},
    {"fcvt.s.d f2, f0, rmm", 0x40104153, Io::FtoF, 0x3ff0000010000000, 0x0, 0x0, 0xffffffff3f800001, 0x1},
    {"fcvt.s.d f2, f0, rup", 0x40103153, Io::FtoF, 0x3ff0000010000000, 0x0, 0x0, 0xffffffff3f800001, 0x1},
    {"fcvt.s.d f2, f0, rne", 0x40100153, Io::FtoF, 0x7ff0000000000001, 0x0, 0x0, 0xffffffff7fc00000, 0x10},
    {"fcvt.s.d f2, f0, rne", 0x40100153, Io::FtoF, 0x47f0000000000000, 0x0, 0x0, 0xffffffff7f800000, 0x5},
    {"fcvt.s.d f2, f0, rmm", 0x40104153, Io::FtoF, 0x47f0000000000000, 0x0, 0x0, 0xffffffff7f800000, 0x5},
    {"fcvt.s.d f2, f0, rtz", 0x40101153, Io::FtoF, 0x47f0000000000000, 0x0, 0x0, 0xffffffff7f7fffff, 0x5},
    {"fcvt.s.d f2, f0, rne", 0x40100153, Io::FtoF, 0x3690000000000000, 0x0, 0x0, 0xffffffff00000000, 0x3},
    {"fcvt.s.d f2, f0, rmm", 0x40104153, Io::FtoF, 0x3690000000000000, 0x0, 0x0, 0xffffffff00000001, 0x3},
    {"fcvt.d.s f2, f0", 0x42000153, Io::FtoF, 0xffffffff7f800001, 0x0, 0x0, 0x7ff8000000000000, 0x10},
    {"fcvt.d.s f2, f0", 0x42000153, Io::FtoF, 0x3f800000, 0x0, 0x0, 0x7ff8000000000000, 0x0},
    {"fcvt.d.s f2, f0", 0x42000153, Io::FtoF, 0xffffffff00000001, 0x0, 0x0, 0x36a0000000000000, 0x0},
    {"feq.s a0, f0, f1", 0xa0102553, Io::FtoX, 0xffffffff7fc00000, 0xffffffff3f800000, 0x0, 0x0, 0x0},
    {"feq.s a0, f0, f1", 0xa0102553, Io::FtoX, 0xffffffff7f800001, 0xffffffff3f800000, 0x0, 0x0, 0x10},
    {"flt.s a0, f0, f1", 0xa0101553, Io::FtoX, 0xffffffff7fc00000, 0xffffffff3f800000, 0x0, 0x0, 0x10},
    {"fle.s a0, f0, f1", 0xa0100553, Io::FtoX, 0xffffffff3f800000, 0xffffffff3f800000, 0x0, 0x1, 0x0},
    {"flt.s a0, f0, f1", 0xa0101553, Io::FtoX, 0xffffffff80000000, 0xffffffff00000000, 0x0, 0x0, 0x0},
    {"feq.s a0, f0, f1", 0xa0102553, Io::FtoX, 0xffffffff80000000, 0xffffffff00000000, 0x0, 0x1, 0x0},
    {"fle.d a0, f0, f1", 0xa2100553, Io::FtoX, 0x7ff8000000000000, 0x0, 0x0, 0x0, 0x10},
    {"flt.d a0, f0, f1", 0xa2101553, Io::FtoX, 0xbff0000000000000, 0x0, 0x0, 0x1, 0x0},
    {"feq.s a0, f0, f1", 0xa0102553, Io::FtoX, 0x3f800000, 0x3f800000, 0x0, 0x0, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffffff800000, 0x0, 0x0, 0x1, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffffbf800000, 0x0, 0x0, 0x2, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff80000001, 0x0, 0x0, 0x4, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff80000000, 0x0, 0x0, 0x8, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff00000000, 0x0, 0x0, 0x10, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff00000001, 0x0, 0x0, 0x20, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff3f800000, 0x0, 0x0, 0x40, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff7f800000, 0x0, 0x0, 0x80, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff7f800001, 0x0, 0x0, 0x100, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0xffffffff7fc00000, 0x0, 0x0, 0x200, 0x0},
    {"fclass.s a0, f0", 0xe0001553, Io::FtoX, 0x3f800000, 0x0, 0x0, 0x200, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0xfff0000000000000, 0x0, 0x0, 0x1, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0xbff0000000000000, 0x0, 0x0, 0x2, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x8000000000000001, 0x0, 0x0, 0x4, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x8000000000000000, 0x0, 0x0, 0x8, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x0, 0x0, 0x0, 0x10, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x1, 0x0, 0x0, 0x20, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x3ff0000000000000, 0x0, 0x0, 0x40, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x7ff0000000000000, 0x0, 0x0, 0x80, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x7ff0000000000001, 0x0, 0x0, 0x100, 0x0},
    {"fclass.d a0, f0", 0xe2001553, Io::FtoX, 0x7ff8000000000000, 0x0, 0x0, 0x200, 0x0},
    {"fsgnj.s f2, f0, f1", 0x20100153, Io::FtoF, 0x3f800000, 0xffffffffbf800000, 0x0, 0xffffffffffc00000, 0x0},
    {"fsgnjn.s f2, f0, f1", 0x20101153, Io::FtoF, 0xffffffff3f800000, 0xffffffff3f800000, 0x0, 0xffffffffbf800000, 0x0},
    {"fsgnjx.s f2, f0, f1", 0x20102153, Io::FtoF, 0xffffffffbf800000, 0xffffffffbf800000, 0x0, 0xffffffff3f800000, 0x0},
    {"fsgnj.s f2, f0, f1", 0x20100153, Io::FtoF, 0xffffffff3f800000, 0xbf800000, 0x0, 0xffffffff3f800000, 0x0},
    {"fsgnjx.s f2, f0, f1", 0x20102153, Io::FtoF, 0xffffffff3f800000, 0xbf800000, 0x0, 0xffffffff3f800000, 0x0},
    {"fsgnjn.d f2, f0, f1", 0x22101153, Io::FtoF, 0x3ff0000000000000, 0x3ff0000000000000, 0x0, 0xbff0000000000000, 0x0},
    {"fsgnjx.d f2, f0, f1", 0x22102153, Io::FtoF, 0xbff0000000000000, 0x8000000000000000, 0x0, 0x3ff0000000000000, 0x0},
    {"fmv.x.w a0, f0", 0xe0000553, Io::FtoX, 0x123456789abcdef0, 0x0, 0x0, 0xffffffff9abcdef0, 0x0},
    {"fmv.x.w a0, f0", 0xe0000553, Io::FtoX, 0x1234567812345678, 0x0, 0x0, 0x12345678, 0x0},
    {"fmv.w.x f2, a0", 0xf0050153, Io::XtoF, 0x1234567887654321, 0x0, 0x0, 0xffffffff87654321, 0x0},
    {"fcvt.d.s f2, f0", 0x42000153, Io::FtoF, 0x3f800000, 0x0, 0x0, 0x7ff8000000000000, 0x0},
};

TEST(Rv64Fp, MatchesQemuObservations) {
  Rv64Machine m;
  for (const QemuRow& row : kQemuObserved) {
    SCOPED_TRACE(row.text);
    Outcome o = run_one(m, row.insn, row.io, row.a, row.b, row.c);
    EXPECT_EQ(o.value, row.expected) << std::hex << "got 0x" << o.value << " want 0x" << row.expected;
    EXPECT_EQ(o.fflags, row.fflags);
  }
}

TEST(Rv64Fp, LoadsBoxAndStoresKeepLowWord) {
  Rv64Machine m;
  m.x(5) = kData;
  uint32_t one = 0x3f800000;
  std::memcpy(m.mem.host(kData), &one, 4);
  uint64_t pattern = 0x1122334455667788ull;
  std::memcpy(m.mem.host(kData + 8), &pattern, 8);
  m.f(6) = 0x00000000cafef00dull;  // not boxed: fsw must store the low word anyway
  m.exec({flw(1, 5, 0), fld(2, 5, 8), fsw(6, 5, 16), fsd(2, 5, 24), fld(7, 5, 16)});
  EXPECT_EQ(m.f(1), 0xffffffff3f800000ull);
  EXPECT_EQ(m.f(2), pattern);
  uint32_t stored_word;
  std::memcpy(&stored_word, m.mem.host(kData + 16), 4);
  EXPECT_EQ(stored_word, 0xcafef00du);
  uint64_t stored_double;
  std::memcpy(&stored_double, m.mem.host(kData + 24), 8);
  EXPECT_EQ(stored_double, pattern);
}

TEST(Rv64Fp, CompressedLoadStoreDouble) {
  Rv64Machine m;
  m.x(8) = kData;
  uint64_t v = bitsd(-2.5);
  std::memcpy(m.mem.host(kData + 8), &v, 8);
  // c.fld f8, 8(x8); c.fsd f8, 16(x8)
  Stop s = m.run_bytes({0x00, 0x24, 0x00, 0xa8});
  ASSERT_EQ(s.reason, StopReason::Syscall);
  EXPECT_EQ(m.f(8), v);
  uint64_t stored;
  std::memcpy(&stored, m.mem.host(kData + 16), 8);
  EXPECT_EQ(stored, v);
}

TEST(Rv64Fp, MovesBoxAndSignExtend) {
  Rv64Machine m;
  m.f(1) = 0x123456789abcdef0ull;  // fmv.x.w ignores the boxing and sign-extends the low word
  m.x(6) = 0x1234567887654321ull;
  m.exec({fmv_x_w(5, 1), fmv_w_x(2, 6), fmv_x_w(0, 1)});
  EXPECT_EQ(m.x(5), 0xffffffff9abcdef0ull);
  EXPECT_EQ(m.f(2), 0xffffffff87654321ull);
  EXPECT_EQ(m.x(0), 0u);
}

TEST(Rv64Fp, ImproperlyBoxedOperandsReadAsCanonicalNaN) {
  Rv64Machine m;
  // Upper half not all ones (one bit missing): the operand is the canonical NaN, so the sum is
  // the canonical NaN without NV (a quiet NaN operand).
  Outcome sum = run_one(m, fadd(false, 2, 0, 1, kRne), Io::FtoF, 0xfffffffe3f800000ull, boxf(1.0f));
  EXPECT_EQ(sum.value, kBoxedNaN32);
  EXPECT_EQ(sum.fflags, 0u);
  // fsgnjn.s takes rs1's magnitude from the canonical NaN too.
  Outcome neg = run_one(m, fsgnjn(false, 2, 0, 1), Io::FtoF, 0x000000003f800000ull, boxf(1.0f));
  EXPECT_EQ(neg.value, 0xffffffffffc00000ull);
  // Double-precision instructions see all 64 bits: the same bits are a subnormal double.
  Outcome d = run_one(m, fadd(true, 2, 0, 1, kRne), Io::FtoF, 0x000000003f800000ull, 0);
  EXPECT_EQ(d.value, 0x000000003f800000ull);
  EXPECT_EQ(d.fflags, 0u);
}

TEST(Rv64Fp, EachStaticRoundingModeOnSinglePrecision) {
  Rv64Machine m;
  // a + b = 1 + 3/4 ulp(1) (above the midpoint) and -(1 + 1/2 ulp) (a tie with the even value
  // nearer zero): every pair of modes differs on one of them.
  const uint64_t one = boxf(1.0f), three_quarter_ulp = boxf(std::ldexp(0.75f, -23));
  const uint64_t minus_one = boxf(-1.0f), minus_half_ulp = boxf(-std::ldexp(1.0f, -24));
  struct Case {
    uint32_t rm;
    uint64_t above_mid, neg_tie;
  } cases[] = {
      {kRne, box(0x3f800001), box(0xbf800000)}, {kRtz, box(0x3f800000), box(0xbf800000)},
      {kRdn, box(0x3f800000), box(0xbf800001)}, {kRup, box(0x3f800001), box(0xbf800000)},
      {kRmm, box(0x3f800001), box(0xbf800001)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rm);
    Outcome up = run_one(m, fadd(false, 2, 0, 1, c.rm), Io::FtoF, one, three_quarter_ulp);
    EXPECT_EQ(up.value, c.above_mid);
    EXPECT_EQ(up.fflags, kNX);
    Outcome tie = run_one(m, fadd(false, 2, 0, 1, c.rm), Io::FtoF, minus_one, minus_half_ulp);
    EXPECT_EQ(tie.value, c.neg_tie);
    EXPECT_EQ(tie.fflags, kNX);
  }
}

TEST(Rv64Fp, RmmBreaksTiesAwayFromZero) {
  Rv64Machine m;
  // 2^53 + 1 is a tie between 2^53 (even) and 2^53 + 2: RNE keeps 2^53, RMM goes up.
  const uint32_t fcvt_d_l_rne = fp_op(0b11010, true, 2, 10, 2, kRne);
  const uint32_t fcvt_d_l_rmm = fp_op(0b11010, true, 2, 10, 2, kRmm);
  EXPECT_EQ(run_one(m, fcvt_d_l_rne, Io::XtoF, (1ull << 53) + 1).value, 0x4340000000000000ull);
  EXPECT_EQ(run_one(m, fcvt_d_l_rmm, Io::XtoF, (1ull << 53) + 1).value, 0x4340000000000001ull);
  // fcvt.w.s of +-2.5: 2 / -2 to even, 3 / -3 to max magnitude.
  EXPECT_EQ(run_one(m, fcvt_w(false, 10, 0, kRne), Io::FtoX, boxf(2.5f)).value, 2u);
  EXPECT_EQ(run_one(m, fcvt_w(false, 10, 0, kRmm), Io::FtoX, boxf(2.5f)).value, 3u);
  EXPECT_EQ(run_one(m, fcvt_w(false, 10, 0, kRmm), Io::FtoX, boxf(-2.5f)).value, uint64_t(-3));
  // Half the smallest subnormal: RNE gives +0, RMM the smallest subnormal; both underflow.
  Outcome rmm = run_one(m, fdiv(true, 2, 0, 1, kRmm), Io::FtoF, 1, bitsd(2.0));
  EXPECT_EQ(rmm.value, 1u);
  EXPECT_EQ(rmm.fflags, kUF | kNX);
}

TEST(Rv64Fp, DynamicRoundingModeComesFromFrm) {
  Rv64Machine m;
  const uint64_t one = boxf(1.0f), half_ulp = boxf(std::ldexp(1.0f, -24));
  EXPECT_EQ(run_one(m, fadd(false, 2, 0, 1, kDyn), Io::FtoF, one, half_ulp, 0, kRne).value, box(0x3f800000));
  EXPECT_EQ(run_one(m, fadd(false, 2, 0, 1, kDyn), Io::FtoF, one, half_ulp, 0, kRmm).value, box(0x3f800001));
  EXPECT_EQ(run_one(m, fadd(false, 2, 0, 1, kDyn), Io::FtoF, one, half_ulp, 0, kRup).value, box(0x3f800001));
  EXPECT_EQ(run_one(m, fcvt_w(true, 10, 0, kDyn), Io::FtoX, bitsd(-1.5), 0, 0, kRdn).value, uint64_t(-2));
}

TEST(Rv64Fp, InvalidDynamicRoundingModeRaisesSigill) {
  for (uint32_t frm : {5u, 6u, 7u}) {
    for (uint32_t insn : {fadd(false, 2, 0, 1, kDyn), fmadd(true, 2, 0, 1, 3, kDyn), fcvt_w(false, 10, 0, kDyn),
                          fsqrt(true, 2, 0, kDyn)}) {
      SCOPED_TRACE(frm);
      Rv64Machine m;
      m.st().frm = frm;
      m.f(2) = 0x1234;
      m.x(10) = 0x5678;
      Stop s = m.run({addi(5, 0, 1), insn});
      ASSERT_EQ(s.reason, StopReason::Trap) << std::hex << insn;
      EXPECT_EQ(s.signo, 4);  // SIGILL
      EXPECT_EQ(s.code, 1);   // ILL_ILLOPC
      EXPECT_EQ(s.pc, kCode + 4);
      EXPECT_EQ(m.x(5), 1u);  // the instruction before completed
      EXPECT_EQ(m.f(2), 0x1234u);  // the trapping one wrote nothing
      EXPECT_EQ(m.x(10), 0x5678u);
      EXPECT_EQ(m.st().fflags, 0u);
    }
  }
  // Instructions without an rm field ignore frm.
  Rv64Machine m;
  EXPECT_EQ(run_one(m, fmin(false, 2, 0, 1), Io::FtoF, boxf(1.0f), boxf(2.0f), 0, 5).value, boxf(1.0f));
}

TEST(Rv64Fp, ReservedStaticRoundingModeIsIllegal) {
  for (uint32_t rm : {5u, 6u}) {
    for (uint32_t insn : {fadd(true, 2, 0, 1, rm), fmadd(false, 2, 0, 1, 3, rm), fcvt_wu(true, 10, 0, rm),
                          fp_op(0b01000, true, 2, 0, 0, rm) /* fcvt.d.s */}) {
      Rv64Machine m;
      Stop s = m.run({insn});
      EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << insn;
      EXPECT_EQ(s.pc, kCode);
    }
  }
}

TEST(Rv64Fp, FlagsAccrueAcrossInstructions) {
  Rv64Machine m;
  m.f(0) = boxf(1.0f);
  m.f(1) = boxf(3.0f);
  m.f(4) = boxf(0.0f);
  m.f(5) = boxf(std::numeric_limits<float>::max());
  m.exec({fdiv(false, 2, 0, 1, kRne), fdiv(false, 3, 0, 4, kRne), fmul(false, 6, 5, 5, kRne)});
  EXPECT_EQ(m.st().fflags, kNX | kDZ | kOF);
  EXPECT_EQ(m.f(3), boxf(std::numeric_limits<float>::infinity()));
  // The quiet compare into x0 still raises NV for a signaling NaN, and flt for a quiet one.
  m.st().fflags = 0;
  m.f(7) = box(0x7f800001);
  m.exec({feq(false, 0, 7, 0)});
  EXPECT_EQ(m.st().fflags, kNV);
  m.st().fflags = 0;
  m.f(7) = box(0x7fc00000);
  m.exec({feq(false, 10, 7, 7), flt(false, 11, 7, 0)});
  EXPECT_EQ(m.st().fflags, kNV);
  EXPECT_EQ(m.x(10), 0u);
  EXPECT_EQ(m.x(11), 0u);
}

TEST(Rv64Fp, FusedMultiplyAddRoundsOnce) {
  Rv64Machine m;
  // (1 + 2^-12)^2 - (1 + 2^-11) = 2^-24 exactly; the product alone rounds (ties to even) to
  // 1 + 2^-11, so an unfused multiply-add would give 0.
  const float a = 1.0f + std::ldexp(1.0f, -12), c = -(1.0f + std::ldexp(1.0f, -11));
  volatile float va = a, vc = c;
  volatile float product = va * va;
  ASSERT_EQ(product + vc, 0.0f);
  Outcome o = run_one(m, fmadd(false, 2, 0, 1, 3, kRne), Io::FtoF, boxf(a), boxf(a), boxf(c));
  EXPECT_EQ(o.value, boxf(std::ldexp(1.0f, -24)));
  EXPECT_EQ(o.fflags, 0u);
}

TEST(Rv64Fp, SqrtOfNegativeIsCanonicalNaN) {
  Rv64Machine m;
  Outcome s = run_one(m, fsqrt(false, 2, 0, kRne), Io::FtoF, boxf(-4.0f));
  EXPECT_EQ(s.value, kBoxedNaN32);
  EXPECT_EQ(s.fflags, kNV);
  Outcome d = run_one(m, fsqrt(true, 2, 0, kRne), Io::FtoF, bitsd(-1e-300));
  EXPECT_EQ(d.value, kNaN64);
  EXPECT_EQ(d.fflags, kNV);
  Outcome z = run_one(m, fsqrt(true, 2, 0, kRne), Io::FtoF, bitsd(-0.0));
  EXPECT_EQ(z.value, bitsd(-0.0));
  EXPECT_EQ(z.fflags, 0u);
}

TEST(Rv64Fp, ConversionToUnsignedWordSignExtends) {
  Rv64Machine m;
  Outcome max = run_one(m, fcvt_wu(true, 10, 0, kRtz), Io::FtoX, bitsd(4294967295.0));
  EXPECT_EQ(max.value, ~0ull);
  EXPECT_EQ(max.fflags, 0u);
  Outcome big = run_one(m, fcvt_wu(false, 10, 0, kRtz), Io::FtoX, boxf(3e9f));
  EXPECT_EQ(big.value, 0xffffffffb2d05e00ull);
  Outcome sat = run_one(m, fcvt_wu(true, 10, 0, kRtz), Io::FtoX, bitsd(1e10));
  EXPECT_EQ(sat.value, ~0ull);
  EXPECT_EQ(sat.fflags, kNV);
  Outcome neg = run_one(m, fcvt_w(true, 10, 0, kRtz), Io::FtoX, bitsd(-1e10));
  EXPECT_EQ(neg.value, 0xffffffff80000000ull);
  EXPECT_EQ(neg.fflags, kNV);
}

TEST(Rv64Fp, HostRoundingModeIsRestored) {
  Rv64Machine m;
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  run_one(m, fdiv(true, 2, 0, 1, kRup), Io::FtoF, bitsd(1.0), bitsd(3.0));
  run_one(m, fdiv(true, 2, 0, 1, kRmm), Io::FtoF, bitsd(1.0), bitsd(3.0));
  run_one(m, fcvt_w(true, 10, 0, kRdn), Io::FtoX, bitsd(1.5));
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
}

#if defined(__x86_64__)
TEST(Rv64Fp, HostFlushToZeroDoesNotLeakIntoGuestArithmetic) {
  // A host process may run with MXCSR's flush-to-zero and denormals-are-zero set (some
  // libraries do); RISC-V has neither, so a subnormal result must stay subnormal, and the
  // host's MXCSR must come back unchanged.
  Rv64Machine m;
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040);  // FTZ | DAZ
  double tiny = std::numeric_limits<double>::min();  // smallest normal
  Outcome r = run_one(m, fmul(true, 2, 0, 1, kRne), Io::FtoF, bitsd(tiny), bitsd(0.25));
  const unsigned after = _mm_getcsr();
  _mm_setcsr(saved);
  EXPECT_EQ(r.value, bitsd(tiny / 4));  // subnormal, exact
  EXPECT_EQ(r.fflags, 0u);              // exact: no UF without NX
  EXPECT_EQ(after & 0xffc0u, (saved | 0x8040) & 0xffc0u);
}
#endif

// ---- randomized checks against independent references -------------------------------------

uint32_t host_flags() {
  int e = std::fetestexcept(FE_ALL_EXCEPT);
  return ((e & FE_INVALID) ? kNV : 0) | ((e & FE_DIVBYZERO) ? kDZ : 0) | ((e & FE_OVERFLOW) ? kOF : 0) |
         ((e & FE_UNDERFLOW) ? kUF : 0) | ((e & FE_INEXACT) ? kNX : 0);
}

// The host's IEEE result of a op b in a directed or nearest-even mode.
template <class F>
Outcome host_reference(int op, F a, F b, int host_mode) {
  volatile F va = a, vb = b;
  std::fesetround(host_mode);
  std::feclearexcept(FE_ALL_EXCEPT);
  volatile F r = op == 0 ? va + vb : op == 1 ? va * vb : op == 2 ? va / vb : std::sqrt(F(va));
  uint32_t flags = host_flags();
  std::fesetround(FE_TONEAREST);
  F result = r;
  uint64_t bits;
  if constexpr (sizeof(F) == 4) {
    bits = std::isnan(result) ? kBoxedNaN32 : boxf(result);
  } else {
    bits = std::isnan(result) ? kNaN64 : bitsd(result);
  }
  return {bits, flags};
}

TEST(Rv64Fp, RandomOperandsMatchHostInEveryIeeeMode) {
  Rv64Machine m;
  std::mt19937_64 rng(12345);
  const uint32_t rms[] = {kRne, kRtz, kRdn, kRup};
  const int host_modes[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
  const uint32_t funct5[] = {0b00000, 0b00010, 0b00011, 0b01011};
  for (int i = 0; i < 400; ++i) {
    int op = i % 4, mode = (i / 4) % 4;
    bool dbl = (i / 16) % 2;
    uint64_t ra = rng(), rb = rng();
    // Mostly ordinary exponents, sometimes raw bits (NaNs, infinities, subnormals, zeros).
    if (i % 5 != 0) {
      ra = (ra & 0x800fffffffffffffull) | (uint64_t(1023 + int(rng() % 200) - 100) << 52);
      rb = (rb & 0x800fffffffffffffull) | (uint64_t(1023 + int(rng() % 200) - 100) << 52);
    }
    Outcome want;
    uint64_t a, b;
    if (dbl) {
      a = ra;
      b = rb;
      double da, db;
      std::memcpy(&da, &a, 8);
      std::memcpy(&db, &b, 8);
      want = host_reference<double>(op, da, db, host_modes[mode]);
    } else {
      float fa = float(std::bit_cast<double>(ra)), fb = float(std::bit_cast<double>(rb));
      if (i % 5 == 0) {
        fa = std::bit_cast<float>(uint32_t(ra));
        fb = std::bit_cast<float>(uint32_t(rb));
      }
      a = boxf(fa);
      b = boxf(fb);
      want = host_reference<float>(op, fa, fb, host_modes[mode]);
    }
    uint32_t insn = fp_op(funct5[op], dbl, 2, 0, op == 3 ? 0 : 1, rms[mode]);
    Outcome got = run_one(m, insn, Io::FtoF, a, b);
    ASSERT_EQ(got.value, want.value) << std::hex << "insn 0x" << insn << " a 0x" << a << " b 0x" << b;
    ASSERT_EQ(got.fflags, want.fflags) << std::hex << "insn 0x" << insn << " a 0x" << a << " b 0x" << b;
  }
}

// Exact RMM rounding of x (exactly representable in long double) to F: quantise to F's precision
// (bounded below by the subnormal quantum) with round() (ties away), then derive the flags.
template <class F>
Outcome rmm_reference(long double x) {
  using L = std::numeric_limits<F>;
  auto to_bits = [](F f) -> uint64_t {
    if constexpr (sizeof(F) == 4) return boxf(f);
    else return bitsd(f);
  };
  if (x == 0) return {to_bits(F(x)), 0};
  const long double mag = std::fabs(x);
  int exp;
  std::frexp(mag, &exp);
  const long double quantum_unbounded = std::ldexp(1.0L, exp - L::digits);
  const long double quantum = std::max(quantum_unbounded, std::ldexp(1.0L, L::min_exponent - L::digits));
  const long double rounded = std::round(mag / quantum) * quantum;
  uint32_t flags = rounded != mag ? kNX : 0;
  const long double rounded_unbounded = std::round(mag / quantum_unbounded) * quantum_unbounded;
  if ((flags & kNX) && rounded_unbounded < std::ldexp(1.0L, L::min_exponent - 1)) flags |= kUF;
  F f;
  if (rounded > L::max()) {
    f = L::infinity();
    flags |= kOF | kNX;
  } else {
    f = F(rounded);
  }
  return {to_bits(x < 0 ? -f : f), flags};
}

// A random value of F with at most `bits` significant bits and a binary exponent in [lo, hi].
template <class F>
F random_short(std::mt19937_64& rng, int bits, int lo, int hi) {
  uint64_t mant = (rng() >> (64 - bits)) | (1ull << (bits - 1));
  F v = F(std::ldexp(static_cast<long double>(mant), lo + int(rng() % uint64_t(hi - lo + 1)) - bits + 1));
  return (rng() & 1) ? -v : v;
}

TEST(Rv64Fp, RmmMatchesExactReference) {
  Rv64Machine m;
  std::mt19937_64 rng(777);
  for (int i = 0; i < 600; ++i) {
    bool dbl = i % 2;
    bool multiply = (i / 2) % 2;
    // Short significands make ties common and keep products/sums exact in long double; the
    // exponent ranges reach overflow and the subnormal range of each format.
    Outcome want, got;
    if (!dbl) {
      float a = random_short<float>(rng, 13, -90, 64), b = random_short<float>(rng, 13, -70, 64);
      if (!multiply) b = std::ldexp(b, std::ilogb(a) - std::ilogb(b) + int(rng() % 40) - 20);
      want = rmm_reference<float>(multiply ? static_cast<long double>(a) * b : static_cast<long double>(a) + b);
      got = run_one(m, multiply ? fmul(false, 2, 0, 1, kRmm) : fadd(false, 2, 0, 1, kRmm), Io::FtoF, boxf(a), boxf(b));
      ASSERT_EQ(got.value, want.value) << std::hexfloat << a << (multiply ? " * " : " + ") << b;
      ASSERT_EQ(got.fflags, want.fflags) << std::hexfloat << a << (multiply ? " * " : " + ") << b;
    } else {
      double a = random_short<double>(rng, 32, -600, 520), b = random_short<double>(rng, 32, -560, 520);
      if (!multiply) b = std::ldexp(b, std::ilogb(a) - std::ilogb(b) + int(rng() % 60) - 30);
      want = rmm_reference<double>(multiply ? static_cast<long double>(a) * b : static_cast<long double>(a) + b);
      got = run_one(m, multiply ? fmul(true, 2, 0, 1, kRmm) : fadd(true, 2, 0, 1, kRmm), Io::FtoF, bitsd(a), bitsd(b));
      ASSERT_EQ(got.value, want.value) << std::hexfloat << a << (multiply ? " * " : " + ") << b;
      ASSERT_EQ(got.fflags, want.fflags) << std::hexfloat << a << (multiply ? " * " : " + ") << b;
    }
  }
}

}  // namespace
}  // namespace vmkit::rv64::test
