// Loads and stores: every addressing mode, size and signedness; pairs; literals; the SIMD&FP
// register forms; exclusives; acquire/release; the LSE atomics; precise faults.
#include <csignal>
#include <cstdint>

#include "a64_test_util.h"

namespace vmkit::a64::test {
namespace {

// Memory at kData + off holds byte pattern(off) before each test that calls fill().
uint8_t pattern(uint64_t off) { return uint8_t(off * 37 + 0x81); }
// The little-endian value of n pattern bytes at kData + off.
uint64_t pat(uint64_t off, unsigned n) {
  uint64_t v = 0;
  for (unsigned k = 0; k < n; ++k) v |= uint64_t(pattern(off + k)) << (8 * k);
  return v;
}
int64_t spat(uint64_t off, unsigned n) { return int64_t(pat(off, n) << (64 - 8 * n)) >> (64 - 8 * n); }

void fill(A64Machine& m, uint64_t len = 0x1000) {
  std::vector<uint8_t> bytes(len);
  for (uint64_t k = 0; k < len; ++k) bytes[k] = pattern(k);
  m.mem.write(kData, bytes.data(), len);
}

uint64_t mem(A64Machine& m, uint64_t addr, unsigned n = 8) {
  uint64_t v = 0;
  m.mem.read(addr, &v, n);
  return v;
}
void set_mem(A64Machine& m, uint64_t addr, uint64_t v, unsigned n = 8) { m.mem.write(addr, &v, n); }

// The single instruction of `text` with its Rn field replaced: the writeback forms with Rn == Rt
// (CONSTRAINED UNPREDICTABLE) that LLVM refuses to assemble.
uint32_t with_rn(const std::string& text, unsigned n) {
  uint32_t w = A64Machine::assemble(text).at(0);
  return (w & ~(31u << 5)) | n << 5;
}
uint32_t one(const std::string& text) { return A64Machine::assemble(text).at(0); }

constexpr uint64_t kOnes = ~0ull;
constexpr uint64_t kStoreVal = 0x1122334455667788ull;

TEST(A64LoadStore, UnsignedOffsetEverySizeAndSign) {
  A64Machine m;
  fill(m, 0x8000);
  m.x(1) = kData;
  for (unsigned r : {0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) m.x(r) = kOnes;  // zero-extension shows
  m.sp() = kData + 0x800;
  m.exec("ldrb w0, [x1, #1]; ldrh w2, [x1, #2]; ldr w3, [x1, #4]; ldr x4, [x1, #8];"
         "ldrsb w5, [x1, #1]; ldrsb x6, [x1, #1]; ldrsh w7, [x1, #2]; ldrsh x8, [x1, #2]; ldrsw x9, [x1, #4];"
         "ldr x10, [x1, #32760]; ldrb w11, [x1, #4095]; ldr x12, [sp, #16]");
  EXPECT_EQ(m.x(0), pat(1, 1));
  EXPECT_EQ(m.x(2), pat(2, 2));
  EXPECT_EQ(m.x(3), pat(4, 4));
  EXPECT_EQ(m.x(4), pat(8, 8));
  EXPECT_EQ(m.x(5), uint64_t(uint32_t(spat(1, 1))));  // sign-extended to 32 bits, upper half zero
  EXPECT_EQ(m.x(6), uint64_t(spat(1, 1)));
  EXPECT_EQ(m.x(7), uint64_t(uint32_t(spat(2, 2))));
  EXPECT_EQ(m.x(8), uint64_t(spat(2, 2)));
  EXPECT_EQ(m.x(9), uint64_t(spat(4, 4)));
  EXPECT_EQ(m.x(10), pat(32760, 8));
  EXPECT_EQ(m.x(11), pat(4095, 1));
  EXPECT_EQ(m.x(12), pat(0x810, 8));
  // The pattern has both signs where it matters.
  EXPECT_LT(spat(1, 1), 0);
  EXPECT_LT(spat(2, 2), 0);
  EXPECT_LT(spat(4, 4), 0);
}

TEST(A64LoadStore, UnsignedOffsetStoresWriteTheirSizeOnly) {
  A64Machine m;
  fill(m);
  m.x(1) = kData;
  m.x(20) = kStoreVal;
  m.exec("strb w20, [x1, #1]; strh w20, [x1, #4]; str w20, [x1, #8]; str x20, [x1, #16]; str xzr, [x1, #24];"
         "str wzr, [x1, #32]");
  EXPECT_EQ(mem(m, kData), (pat(0, 8) & ~0xffff0000ff00ull) | 0x778800008800ull);
  EXPECT_EQ(mem(m, kData + 4, 4), (pat(4, 4) & ~0xffffull) | 0x7788);
  EXPECT_EQ(mem(m, kData + 8), (pat(8, 8) & ~0xffffffffull) | 0x55667788);
  EXPECT_EQ(mem(m, kData + 16), kStoreVal);
  EXPECT_EQ(mem(m, kData + 24), 0u);
  EXPECT_EQ(mem(m, kData + 32), pat(32, 8) & ~0xffffffffull);
}

TEST(A64LoadStore, UnscaledOffsetsAndUnalignedAddresses) {
  A64Machine m;
  fill(m);
  m.x(1) = kData + 0x200;
  m.x(7) = kData + 3;
  m.x(20) = kStoreVal;
  for (unsigned r : {0, 2, 3, 4, 5, 6}) m.x(r) = kOnes;
  m.exec("ldur x0, [x1, #-256]; ldur w2, [x1, #-15]; ldursb x3, [x1, #-13]; ldursh w4, [x1, #-11];"
         "ldursw x5, [x1, #255]; ldurh w6, [x1, #1]; ldr x8, [x7]; ldr w9, [x7, #4];"
         "stur x20, [x1, #-3]; sturh w20, [x1, #9]; sturb w20, [x1, #255]; stur w20, [x1, #19]");
  EXPECT_EQ(m.x(0), pat(0x100, 8));
  EXPECT_EQ(m.x(2), pat(0x200 - 15, 4));
  EXPECT_EQ(m.x(3), uint64_t(spat(0x200 - 13, 1)));
  EXPECT_EQ(m.x(4), uint64_t(uint32_t(spat(0x200 - 11, 2))));
  EXPECT_EQ(m.x(5), uint64_t(spat(0x200 + 255, 4)));
  EXPECT_EQ(m.x(6), pat(0x201, 2));
  EXPECT_EQ(m.x(8), pat(3, 8));
  EXPECT_EQ(m.x(9), pat(7, 4));
  EXPECT_EQ(mem(m, kData + 0x200 - 3), kStoreVal);
  EXPECT_EQ(mem(m, kData + 0x209, 2), 0x7788u);
  EXPECT_EQ(mem(m, kData + 0x2ff, 1), 0x88u);
  EXPECT_EQ(mem(m, kData + 0x213, 4), 0x55667788u);
  EXPECT_EQ(mem(m, kData + 0x217, 1), pat(0x217, 1));  // just past the word: untouched
}

TEST(A64LoadStore, PreAndPostIndexEverySize) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x400;
  for (unsigned r = 1; r <= 27; r += 2) m.x(r) = b;  // the bases: x1, x3, ..., x27
  m.x(28) = kStoreVal;
  m.sp() = kData + 0x800;
  m.x(29) = 0xabcdef;
  m.exec("ldrb w0, [x1], #1; ldrh w2, [x3, #2]!; ldr w4, [x5], #-4; ldr x6, [x7, #8]!;"
         "ldrsb x8, [x9, #-1]!; ldrsh w10, [x11], #2; ldrsw x12, [x13, #-256]!; ldrsb w14, [x15, #255]!;"
         "ldrsh x16, [x17], #-2;"
         "strb w28, [x19], #1; strh w28, [x21, #-10]!; str w28, [x23], #4; str x28, [x25, #-8]!;"
         "str x29, [sp, #-16]!; ldr x30, [sp], #16");
  EXPECT_EQ(m.x(0), pat(0x400, 1));
  EXPECT_EQ(m.x(1), b + 1);
  EXPECT_EQ(m.x(2), pat(0x402, 2));
  EXPECT_EQ(m.x(3), b + 2);
  EXPECT_EQ(m.x(4), pat(0x400, 4));
  EXPECT_EQ(m.x(5), b - 4);
  EXPECT_EQ(m.x(6), pat(0x408, 8));
  EXPECT_EQ(m.x(7), b + 8);
  EXPECT_EQ(m.x(8), uint64_t(spat(0x3ff, 1)));
  EXPECT_EQ(m.x(9), b - 1);
  EXPECT_EQ(m.x(10), uint64_t(uint32_t(spat(0x400, 2))));
  EXPECT_EQ(m.x(11), b + 2);
  EXPECT_EQ(m.x(12), uint64_t(spat(0x300, 4)));
  EXPECT_EQ(m.x(13), b - 256);
  EXPECT_EQ(m.x(14), uint64_t(uint32_t(spat(0x4ff, 1))));
  EXPECT_EQ(m.x(15), b + 255);
  EXPECT_EQ(m.x(16), uint64_t(spat(0x400, 2)));
  EXPECT_EQ(m.x(17), b - 2);
  // The stores wrote kData + 0x400 (byte, then word over it), 0x3f6 (half) and 0x3f8 (x).
  EXPECT_EQ(m.x(19), b + 1);
  EXPECT_EQ(m.x(21), b - 10);
  EXPECT_EQ(m.x(23), b + 4);
  EXPECT_EQ(m.x(25), b - 8);
  EXPECT_EQ(mem(m, b, 4), 0x55667788u);
  EXPECT_EQ(mem(m, b - 10, 2), 0x7788u);
  EXPECT_EQ(mem(m, b - 8), kStoreVal);
  EXPECT_EQ(m.x(30), 0xabcdefu);
  EXPECT_EQ(m.sp(), kData + 0x800);
  EXPECT_EQ(mem(m, kData + 0x7f0), 0xabcdefu);
}

TEST(A64LoadStore, RegisterOffsetExtendsAndShifts) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x400;
  m.x(1) = b;
  m.x(2) = 3;
  m.x(3) = 0xffffffff;             // w3 = -1
  m.x(4) = 0xffffffff00000002ull;  // uxtw/sxtw read only w4 = 2
  m.x(5) = uint64_t(-2);
  m.x(20) = kStoreVal;
  m.sp() = b;
  for (unsigned r = 0; r <= 15; ++r)
    if (r < 1 || r > 5) m.x(r) = kOnes;
  m.exec("ldr x0, [x1, x2, lsl #3]; ldr x6, [x1, x2]; ldrb w7, [x1, x2, lsl #0]; ldrb w8, [x1, x2];"
         "ldrh w9, [x1, w3, sxtw #1]; ldr w10, [x1, w4, uxtw #2]; ldr w11, [x1, w3, sxtw];"
         "ldrsw x12, [x1, x5, sxtx #2]; ldrsb w13, [x1, x5, sxtx]; ldrsh x14, [sp, w4, sxtw];"
         "ldr x15, [x1, w4, uxtw];"
         "str x20, [x1, x5, lsl #3]; strh w20, [x1, w3, sxtw #1]; strb w20, [x1, w4, uxtw]");
  EXPECT_EQ(m.x(0), pat(0x418, 8));
  EXPECT_EQ(m.x(6), pat(0x403, 8));
  EXPECT_EQ(m.x(7), pat(0x403, 1));
  EXPECT_EQ(m.x(8), pat(0x403, 1));
  EXPECT_EQ(m.x(9), pat(0x3fe, 2));
  EXPECT_EQ(m.x(10), pat(0x408, 4));
  EXPECT_EQ(m.x(11), pat(0x3ff, 4));
  EXPECT_EQ(m.x(12), uint64_t(spat(0x3f8, 4)));
  EXPECT_EQ(m.x(13), uint64_t(uint32_t(spat(0x3fe, 1))));
  EXPECT_EQ(m.x(14), uint64_t(spat(0x402, 2)));
  EXPECT_EQ(m.x(15), pat(0x402, 8));
  EXPECT_EQ(mem(m, b - 16), kStoreVal);
  EXPECT_EQ(mem(m, b - 2, 2), 0x7788u);
  EXPECT_EQ(mem(m, b + 2, 1), 0x88u);
}

TEST(A64LoadStore, RegisterOffsetReservedOptionsAreUndefined) {
  const uint32_t base = one("ldr x0, [x1, w2, uxtw]");
  for (uint32_t option : {0u, 1u, 4u, 5u}) {
    A64Machine m;
    const uint32_t w = (base & ~(7u << 13)) | option << 13;
    Stop s = m.run({w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << option;
    EXPECT_EQ(s.insn, w);
  }
}

TEST(A64LoadStore, LiteralLoads) {
  A64Machine m;
  m.x(3) = kOnes;
  m.exec("b 1f; 0: .quad 0x0123456789abcdef;"
         "1: ldr x0, 2f; ldr w1, 3f; ldrsw x2, 3f; ldr w3, 4f; ldr x7, 0b; prfm pldl1keep, 2f;"
         "ldr s4, 2f; ldr d5, 2f; ldr q6, 5f; b 6f;"
         "2: .quad 0x8877665544332211; 3: .word 0x80000001; 4: .word 0xfedcba98;"
         "5: .quad 0x1111111111111111; .quad 0x2222222222222222; 6: nop");
  EXPECT_EQ(m.x(0), 0x8877665544332211ull);
  EXPECT_EQ(m.x(1), 0x80000001u);
  EXPECT_EQ(m.x(2), 0xffffffff80000001ull);
  EXPECT_EQ(m.x(3), 0xfedcba98u);
  EXPECT_EQ(m.x(7), 0x0123456789abcdefull);
  EXPECT_EQ(m.vlo(4), 0x44332211u);
  EXPECT_EQ(m.vhi(4), 0u);
  EXPECT_EQ(m.vlo(5), 0x8877665544332211ull);
  EXPECT_EQ(m.vlo(6), 0x1111111111111111ull);
  EXPECT_EQ(m.vhi(6), 0x2222222222222222ull);
}

TEST(A64LoadStore, LiteralReservedOpcIsUndefined) {
  A64Machine m;
  const uint32_t w = 0xdc000040;  // V = 1, opc = 11
  Stop s = m.run({w});
  EXPECT_EQ(s.reason, StopReason::IllegalInsn);
  EXPECT_EQ(s.insn, w);
}

TEST(A64LoadStore, UnprivilegedFormsAreOrdinaryAtEl0) {
  A64Machine m;
  fill(m);
  m.x(1) = kData + 0x100;
  m.x(20) = kStoreVal;
  for (unsigned r : {0, 2, 3, 4, 5, 6}) m.x(r) = kOnes;
  m.exec("ldtr x0, [x1, #8]; ldtrb w2, [x1, #-1]; ldtrsh x3, [x1]; ldtrsw x4, [x1, #4]; ldtrsb w5, [x1, #1];"
         "ldtrh w6, [x1, #255]; ldtr w7, [x1, #-256];"
         "sttr x20, [x1, #16]; sttrb w20, [x1, #32]; sttrh w20, [x1, #34]; sttr w20, [x1, #36]");
  EXPECT_EQ(m.x(0), pat(0x108, 8));
  EXPECT_EQ(m.x(2), pat(0xff, 1));
  EXPECT_EQ(m.x(3), uint64_t(spat(0x100, 2)));
  EXPECT_EQ(m.x(4), uint64_t(spat(0x104, 4)));
  EXPECT_EQ(m.x(5), uint64_t(uint32_t(spat(0x101, 1))));
  EXPECT_EQ(m.x(6), pat(0x1ff, 2));
  EXPECT_EQ(m.x(7), pat(0, 4));
  EXPECT_EQ(mem(m, kData + 0x110), kStoreVal);
  EXPECT_EQ(mem(m, kData + 0x120), 0x5566778877880088ull | (pat(0x121, 1) << 8));
}

TEST(A64LoadStore, PrefetchesAreNoOpsEvenUnmapped) {
  A64Machine m;
  m.x(1) = 0x900000;
  m.x(2) = 5;
  m.exec("prfm pldl1keep, [x1]; prfm pstl2strm, [x1, #32760]; prfum pldl3keep, [x1, #-1];"
         "prfm plil1keep, [x1, x2, lsl #3]; prfm pldl1strm, [x1, w2, sxtw]; prfm #0x1f, [x1]");
  EXPECT_EQ(m.x(1), 0x900000u);
  EXPECT_EQ(m.x(2), 5u);
}

TEST(A64LoadStore, ReservedSingleRegisterFormsAreUndefined) {
  const uint32_t words[] = {
      0xf8800420,  // prfm post-index (size 11, opc 10)
      0xf8800c20,  // prfm pre-index
      0xf8800820,  // prfm unprivileged
      0xb8c00020,  // ldursw into w (size 10, opc 11)
      0xf8c00020,  // size 11, opc 11 (unscaled)
      0xf9c00020,  // size 11, opc 11 (unsigned offset)
      0x7cc00020,  // SIMD size 01, opc 11
      0xfc800020,  // SIMD size 11, opc 10
      0x3c400820,  // SIMD unprivileged
      0xf8a00420,  // ldraa (PAC, not implemented)
  };
  for (uint32_t w : words) {
    A64Machine m;
    Stop s = m.run({w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << w;
    EXPECT_EQ(s.insn, w);
  }
}

TEST(A64LoadStorePair, EveryFormAndSize) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x400;
  m.x(1) = b;
  for (unsigned r : {11, 14, 15, 16, 17, 18}) m.x(r) = b;
  m.x(20) = kStoreVal;
  m.x(21) = 0x99aabbccddeeff00ull;
  for (unsigned r : {0, 2, 5, 6, 12, 13}) m.x(r) = kOnes;
  m.exec("ldp w0, w2, [x1]; ldp x3, x4, [x1, #504]; ldpsw x5, x6, [x1, #-256]; ldnp x7, x8, [x1, #-512];"
         "ldp x9, x10, [x11], #16; ldp w12, w13, [x14, #-8]!;"
         "stp w20, w21, [x15, #-256]; stp x20, x21, [x16, #0x110]!; stnp x21, x20, [x17, #0x120];"
         "stp x21, x21, [x18], #-32; ldnp w22, w23, [x1, #252]; stnp w21, w20, [x1, #-248]");
  EXPECT_EQ(m.x(0), pat(0x400, 4));
  EXPECT_EQ(m.x(2), pat(0x404, 4));
  EXPECT_EQ(m.x(3), pat(0x400 + 504, 8));
  EXPECT_EQ(m.x(4), pat(0x400 + 512, 8));
  EXPECT_EQ(m.x(5), uint64_t(spat(0x300, 4)));
  EXPECT_EQ(m.x(6), uint64_t(spat(0x304, 4)));
  EXPECT_EQ(m.x(7), pat(0x200, 8));
  EXPECT_EQ(m.x(8), pat(0x208, 8));
  EXPECT_EQ(m.x(9), pat(0x400, 8));
  EXPECT_EQ(m.x(10), pat(0x408, 8));
  EXPECT_EQ(m.x(11), b + 16);
  EXPECT_EQ(m.x(12), pat(0x3f8, 4));
  EXPECT_EQ(m.x(13), pat(0x3fc, 4));
  EXPECT_EQ(m.x(14), b - 8);
  EXPECT_EQ(m.x(22), pat(0x4fc, 4));
  EXPECT_EQ(m.x(23), pat(0x500, 4));
  EXPECT_EQ(mem(m, b - 0x100), 0xddeeff0055667788ull);
  EXPECT_EQ(mem(m, b + 0x110), kStoreVal);
  EXPECT_EQ(mem(m, b + 0x118), 0x99aabbccddeeff00ull);
  EXPECT_EQ(m.x(16), b + 0x110);
  EXPECT_EQ(mem(m, b + 0x120), 0x99aabbccddeeff00ull);
  EXPECT_EQ(mem(m, b + 0x128), kStoreVal);
  EXPECT_EQ(m.x(17), b);
  EXPECT_EQ(mem(m, b), 0x99aabbccddeeff00ull);
  EXPECT_EQ(mem(m, b + 8), 0x99aabbccddeeff00ull);
  EXPECT_EQ(m.x(18), b - 32);
  EXPECT_EQ(mem(m, b - 0xf8), 0x55667788ddeeff00ull);
}

TEST(A64LoadStorePair, SpBaseWithWriteback) {
  A64Machine m;
  m.sp() = kData + 0x1000;
  m.x(29) = 0x2929;
  m.x(30) = 0x3030;
  m.exec("stp x29, x30, [sp, #-16]!; stp xzr, x29, [sp, #-32]!; ldp x1, x2, [sp, #16]; ldp x3, x4, [sp], #32;"
         "ldp x5, x6, [sp], #16");
  EXPECT_EQ(mem(m, kData + 0xff0), 0x2929u);
  EXPECT_EQ(mem(m, kData + 0xff8), 0x3030u);
  EXPECT_EQ(mem(m, kData + 0xfd0), 0u);
  EXPECT_EQ(mem(m, kData + 0xfd8), 0x2929u);
  EXPECT_EQ(m.x(1), 0u);
  EXPECT_EQ(m.x(3), 0u);
  EXPECT_EQ(m.x(4), 0x2929u);
  EXPECT_EQ(m.x(5), 0x2929u);
  EXPECT_EQ(m.x(6), 0x3030u);
  EXPECT_EQ(m.sp(), kData + 0x1000);
}

TEST(A64LoadStorePair, ReservedFormsAreUndefined) {
  const uint32_t words[] = {
      0x69000440,  // stgp (opc 01 store: MTE, not ours)
      0x68400440,  // ldnp with opc 01 (no ldnpsw)
      0xe9400440,  // opc 11 (general)
      0xed400440,  // opc 11 (SIMD&FP)
  };
  for (uint32_t w : words) {
    A64Machine m;
    Stop s = m.run({w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << w;
  }
}

// Rn == Rt with writeback: as qemu (unicorn): the written-back address wins over the loaded
// value; a store stores the register's old value.
TEST(A64LoadStore, WritebackToTheTransferRegisterAsQemu) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x100;
  m.x(0) = b;
  m.x(2) = b;
  m.x(3) = b;
  m.x(5) = b;
  m.x(7) = b;
  m.exec_words({with_rn("ldr x0, [x9], #8", 0), with_rn("ldrb w2, [x9, #8]!", 2), with_rn("str x3, [x9, #16]!", 3),
                with_rn("ldp x4, x5, [x9, #32]!", 5), with_rn("stp x7, x8, [x9], #-16", 7)});
  EXPECT_EQ(m.x(0), b + 8);
  EXPECT_EQ(m.x(2), b + 8);
  EXPECT_EQ(m.x(3), b + 16);
  EXPECT_EQ(mem(m, b + 16), b);
  EXPECT_EQ(m.x(4), pat(0x120, 8));
  EXPECT_EQ(m.x(5), b + 32);
  EXPECT_EQ(m.x(7), b - 16);
  EXPECT_EQ(mem(m, b), b);
}

TEST(A64LoadStorePair, SameDestinationKeepsWhatQemuKeeps) {
  A64Machine m;
  fill(m);
  m.x(2) = kData + 0x100;
  const uint32_t ldp = 0xa9400441;   // ldp x1, x1, [x2]
  const uint32_t ldxp = 0xc87f0441;  // ldxp x1, x1, [x2]
  m.exec_words({ldp});
  EXPECT_EQ(m.x(1), pat(0x100, 8));  // the first element
  A64Machine n;
  fill(n);
  n.x(2) = kData + 0x100;
  n.exec_words({ldxp});
  EXPECT_EQ(n.x(1), pat(0x108, 8));  // the second element
}

TEST(A64LoadStoreSimd, SingleRegisterLoadsZeroTheRest) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x200;
  m.x(1) = b;
  m.x(2) = b;
  m.x(3) = b;
  m.x(4) = 3;
  for (unsigned v = 0; v < 12; ++v) m.vlo(v) = m.vhi(v) = 0xdeadbeefdeadbeefull;
  m.exec("ldr b0, [x1, #1]; ldr h1, [x1, #2]; ldr s2, [x1, #4]; ldr d3, [x1, #8]; ldr q4, [x1, #16];"
         "ldur q5, [x1, #-1]; ldr d6, [x2], #8; ldr q7, [x3, #16]!; ldr s8, [x1, x4, lsl #2]; ldr q9, [x1, x4, lsl #4];"
         "ldur h10, [x1, #-3]; ldr b11, [x1, x4]");
  const struct { unsigned v; uint64_t off; unsigned n; } expect[] = {
      {0, 0x201, 1}, {1, 0x202, 2}, {2, 0x204, 4}, {3, 0x208, 8}, {6, 0x200, 8}, {8, 0x20c, 4}, {10, 0x1fd, 2},
      {11, 0x203, 1}};
  for (auto e : expect) {
    EXPECT_EQ(m.vlo(e.v), pat(e.off, e.n)) << "v" << e.v;
    EXPECT_EQ(m.vhi(e.v), 0u) << "v" << e.v;
  }
  EXPECT_EQ(m.vlo(4), pat(0x210, 8));
  EXPECT_EQ(m.vhi(4), pat(0x218, 8));
  EXPECT_EQ(m.vlo(5), pat(0x1ff, 8));
  EXPECT_EQ(m.vhi(5), pat(0x207, 8));
  EXPECT_EQ(m.vlo(7), pat(0x210, 8));
  EXPECT_EQ(m.vhi(7), pat(0x218, 8));
  EXPECT_EQ(m.vlo(9), pat(0x230, 8));
  EXPECT_EQ(m.vhi(9), pat(0x238, 8));
  EXPECT_EQ(m.x(2), b + 8);
  EXPECT_EQ(m.x(3), b + 16);
}

TEST(A64LoadStoreSimd, SingleRegisterStores) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x200;
  m.x(5) = b;
  m.x(6) = b + 0x80;
  m.vlo(10) = 0x0706050403020100ull;
  m.vhi(10) = 0x0f0e0d0c0b0a0908ull;
  m.exec("str b10, [x5]; str h10, [x5, #2]; str s10, [x5, #4]; str d10, [x5, #8]; str q10, [x5, #16];"
         "stur q10, [x5, #33]; str q10, [x6, #-16]!; stur s10, [x5, #-4]");
  EXPECT_EQ(mem(m, b), 0x0302010001000000ull | (pat(0x201, 1) << 8));
  EXPECT_EQ(mem(m, b + 8), 0x0706050403020100ull);
  EXPECT_EQ(mem(m, b + 16), 0x0706050403020100ull);
  EXPECT_EQ(mem(m, b + 24), 0x0f0e0d0c0b0a0908ull);
  EXPECT_EQ(mem(m, b + 32, 1), pat(0x220, 1));
  EXPECT_EQ(mem(m, b + 33), 0x0706050403020100ull);
  EXPECT_EQ(mem(m, b + 41), 0x0f0e0d0c0b0a0908ull);
  EXPECT_EQ(mem(m, b + 49, 1), pat(0x231, 1));
  EXPECT_EQ(m.x(6), b + 0x70);
  EXPECT_EQ(mem(m, b + 0x70), 0x0706050403020100ull);
  EXPECT_EQ(mem(m, b + 0x78), 0x0f0e0d0c0b0a0908ull);
  EXPECT_EQ(mem(m, b - 4, 4), 0x03020100u);
}

TEST(A64LoadStoreSimd, Pairs) {
  A64Machine m;
  fill(m);
  const uint64_t b = kData + 0x400;
  m.x(1) = b;
  m.x(6) = b + 0x100;
  m.x(7) = b;
  for (unsigned v = 11; v < 22; ++v) m.vlo(v) = m.vhi(v) = kOnes;
  m.vlo(10) = 0x1010101010101010ull;
  m.vhi(10) = 0x1111111111111111ull;
  m.vlo(19) = 0x1919191919191919ull;
  m.vhi(19) = 0x2020202020202020ull;
  m.exec("ldp s11, s12, [x1]; ldp d13, d14, [x1, #-8]; ldp q15, q16, [x1, #32]; ldnp q17, q18, [x1, #-1024];"
         "ldp q20, q21, [x7], #32; stp q10, q19, [x6, #-32]!; stp s10, s19, [x6, #64]; stnp d19, d10, [x6, #80];"
         "stp q19, q10, [x6, #1008]");
  EXPECT_EQ(m.vlo(11), pat(0x400, 4));
  EXPECT_EQ(m.vhi(11), 0u);
  EXPECT_EQ(m.vlo(12), pat(0x404, 4));
  EXPECT_EQ(m.vhi(12), 0u);
  EXPECT_EQ(m.vlo(13), pat(0x3f8, 8));
  EXPECT_EQ(m.vhi(13), 0u);
  EXPECT_EQ(m.vlo(14), pat(0x400, 8));
  EXPECT_EQ(m.vhi(14), 0u);
  EXPECT_EQ(m.vlo(15), pat(0x420, 8));
  EXPECT_EQ(m.vhi(15), pat(0x428, 8));
  EXPECT_EQ(m.vlo(16), pat(0x430, 8));
  EXPECT_EQ(m.vhi(16), pat(0x438, 8));
  EXPECT_EQ(m.vlo(17), pat(0x0, 8));
  EXPECT_EQ(m.vhi(18), pat(0x18, 8));
  EXPECT_EQ(m.vlo(20), pat(0x400, 8));
  EXPECT_EQ(m.vhi(21), pat(0x418, 8));
  EXPECT_EQ(m.x(7), b + 32);
  const uint64_t s = b + 0xe0;
  EXPECT_EQ(m.x(6), s);
  EXPECT_EQ(mem(m, s), 0x1010101010101010ull);
  EXPECT_EQ(mem(m, s + 8), 0x1111111111111111ull);
  EXPECT_EQ(mem(m, s + 16), 0x1919191919191919ull);
  EXPECT_EQ(mem(m, s + 24), 0x2020202020202020ull);
  EXPECT_EQ(mem(m, s + 64), 0x1919191910101010ull);
  EXPECT_EQ(mem(m, s + 80), 0x1919191919191919ull);
  EXPECT_EQ(mem(m, s + 88), 0x1010101010101010ull);
  EXPECT_EQ(mem(m, s + 1008), 0x1919191919191919ull);
  EXPECT_EQ(mem(m, s + 1024), 0x1010101010101010ull);
  EXPECT_EQ(mem(m, s + 1032), 0x1111111111111111ull);
}

// ---- precise faults --------------------------------------------------------------------------

TEST(A64LoadStoreFault, UnmappedLoadLeavesEveryRegister) {
  struct Case { const char* text; uint64_t base; };
  const uint64_t edge = kData + 0x10000 - 8;  // the last 8 bytes of the data mapping
  const Case cases[] = {
      {"ldr x0, [x1, #8]!", 0x900000},
      {"ldr x0, [x1], #8", 0x900000},
      {"ldrsw x0, [x1, x2, lsl #2]", 0x900000},
      {"ldp x0, x2, [x1], #16", edge},         // first element mapped, second not
      {"ldp x0, x2, [x1, #-16]!", edge + 16},  // the same through pre-index
      {"ldr q0, [x1], #16", edge},            // the high half unmapped
      {"ldp q0, q2, [x1, #-16]!", edge + 8},  // the second register unmapped
      {"ldr x0, [x1, #4]", edge},              // one access straddling the end
      {"ldxr x0, [x1]", 0x900000},
      {"ldaxp x0, x2, [x1]", 0x900000},
      {"ldadd x2, x0, [x1]", 0x900000},
      {"casp x2, x3, x4, x5, [x1]", 0x900000},
  };
  for (const Case& k : cases) {
    A64Machine m;
    m.x(0) = 0x1111;
    m.x(1) = k.base;
    m.x(2) = 0x2222;
    m.vlo(0) = 0x3333;
    m.vhi(0) = 0x4444;
    m.vlo(2) = 0x5555;
    Stop s = m.run(std::string("nop; ") + k.text);
    EXPECT_EQ(s.reason, StopReason::MemFault) << k.text;
    EXPECT_EQ(s.pc, kCode + 4) << k.text;
    EXPECT_FALSE(s.write) << k.text;
    EXPECT_EQ(m.x(0), 0x1111u) << k.text;
    EXPECT_EQ(m.x(1), k.base) << k.text;
    EXPECT_EQ(m.x(2), 0x2222u) << k.text;
    EXPECT_EQ(m.vlo(0), 0x3333u) << k.text;
    EXPECT_EQ(m.vhi(0), 0x4444u) << k.text;
    EXPECT_EQ(m.vlo(2), 0x5555u) << k.text;
    EXPECT_EQ(m.st().excl_size, 0u) << k.text;
  }
}

TEST(A64LoadStoreFault, StoreToReadOnlyLeavesTheBase) {
  for (const char* text : {"str x0, [x1], #8", "stp x0, x0, [x1, #16]!", "str q0, [x1, #-16]!", "swp x2, x0, [x1]"}) {
    A64Machine m;
    m.x(0) = 0x1111;
    m.x(1) = kCode + 0x800;  // code is mapped read + exec
    m.x(2) = 0x2222;
    Stop s = m.run(text);
    EXPECT_EQ(s.reason, StopReason::MemFault) << text;
    EXPECT_TRUE(s.write) << text;
    EXPECT_EQ(m.x(1), kCode + 0x800) << text;
    EXPECT_EQ(m.x(0), 0x1111u) << text;
  }
}

// ---- exclusives -----------------------------------------------------------------------------

TEST(A64Exclusive, LoadStoreExclusiveEverySize) {
  struct Case { const char* text; unsigned bytes; };
  const Case cases[] = {
      {"ldxrb w0, [x1]; stxrb w3, w2, [x1]", 1}, {"ldaxrh w0, [x1]; stlxrh w3, w2, [x1]", 2},
      {"ldxr w0, [x1]; stlxr w3, w2, [x1]", 4},  {"ldaxr x0, [x1]; stxr w3, x2, [x1]", 8},
  };
  for (const Case& k : cases) {
    A64Machine m;
    set_mem(m, kData + 8, 0x8877665544332211ull);
    m.x(0) = kOnes;
    m.x(1) = kData + 8;
    m.x(2) = kStoreVal;
    m.x(3) = kOnes;
    m.exec(k.text);
    const uint64_t mask = k.bytes == 8 ? kOnes : (1ull << (8 * k.bytes)) - 1;
    EXPECT_EQ(m.x(0), 0x8877665544332211ull & mask) << k.text;
    EXPECT_EQ(m.x(3), 0u) << k.text;
    EXPECT_EQ(mem(m, kData + 8), (0x8877665544332211ull & ~mask) | (kStoreVal & mask)) << k.text;
    EXPECT_EQ(m.st().excl_size, 0u) << k.text;
  }
}

TEST(A64Exclusive, ReservationStateAfterLoad) {
  A64Machine m;
  set_mem(m, kData + 16, 0xabcd);
  m.x(1) = kData + 16;
  m.exec("ldaxrh w0, [x1]");
  EXPECT_EQ(m.st().excl_size, 2u);
  EXPECT_EQ(m.st().excl_addr, kData + 16);
  EXPECT_EQ(m.st().excl_value[0], 0xabcdu);
}

TEST(A64Exclusive, StoreFailsWithoutReservation) {
  A64Machine m;
  set_mem(m, kData, 5);
  m.x(1) = kData;
  m.x(2) = 9;
  m.exec("stxr w3, x2, [x1]; ldxr x4, [x1]; clrex; stxr w5, x2, [x1]; ldxr w6, [x1]; stxr w7, x2, [x1]");
  EXPECT_EQ(m.x(3), 1u);
  EXPECT_EQ(m.x(5), 1u);  // clrex dropped the reservation
  // Reserved 4 bytes, stored 8: CONSTRAINED UNPREDICTABLE; vmkit's helper requires the reserved
  // size (qemu checks the address only, and would store).
  EXPECT_EQ(m.x(7), 1u);
  EXPECT_EQ(mem(m, kData), 5u);
}

TEST(A64Exclusive, StoreFailsAfterMemoryChanged) {
  A64Machine m;
  set_mem(m, kData, 5);
  m.x(1) = kData;
  m.x(2) = 9;
  m.x(8) = 6;
  m.exec("ldxr x4, [x1]; str x8, [x1]; stxr w3, x2, [x1]; ldxr x4, [x1]; stxr w5, x2, [x1]");
  EXPECT_EQ(m.x(3), 1u);
  EXPECT_EQ(m.x(5), 0u);
  EXPECT_EQ(mem(m, kData), 9u);
}

TEST(A64Exclusive, SpAsBaseAndZrAsStatus) {
  A64Machine m;
  m.sp() = kData + 0x100;
  set_mem(m, kData + 0x100, 5);
  m.x(2) = 7;
  m.x(3) = 2;
  m.x(6) = 4;
  m.exec("ldaxr x0, [sp]; stlxr w1, x2, [sp]; ldxr x4, [sp]; stxr wzr, x3, [sp]; ldadd x3, x5, [sp];"
         "cas x6, xzr, [sp]");
  EXPECT_EQ(m.x(0), 5u);
  EXPECT_EQ(m.x(1), 0u);
  EXPECT_EQ(m.x(4), 7u);
  EXPECT_EQ(m.x(5), 2u);  // the stxr succeeded; ldadd left 4
  EXPECT_EQ(m.x(6), 4u);  // and cas replaced it with zr
  EXPECT_EQ(mem(m, kData + 0x100), 0u);
  EXPECT_EQ(m.sp(), kData + 0x100);
}

TEST(A64Exclusive, Pairs) {
  A64Machine m;
  set_mem(m, kData, 0x1111111122222222ull);
  set_mem(m, kData + 8, 0x3333333344444444ull);
  m.x(1) = kData;
  m.x(5) = kStoreVal;
  m.x(6) = 0x99aabbccddeeff00ull;
  for (unsigned r : {2, 3, 4, 7, 8, 9}) m.x(r) = kOnes;
  m.exec("ldxp w2, w3, [x1]; stxp w4, w5, w6, [x1]; ldaxp x7, x8, [x1]; stlxp w9, x6, x5, [x1];"
         "stxp w10, x6, x5, [x1]");
  EXPECT_EQ(m.x(2), 0x22222222u);
  EXPECT_EQ(m.x(3), 0x11111111u);
  EXPECT_EQ(m.x(4), 0u);
  EXPECT_EQ(m.x(7), 0xddeeff0055667788ull);
  EXPECT_EQ(m.x(8), 0x3333333344444444ull);
  EXPECT_EQ(m.x(9), 0u);
  EXPECT_EQ(m.x(10), 1u);
  EXPECT_EQ(mem(m, kData), 0x99aabbccddeeff00ull);
  EXPECT_EQ(mem(m, kData + 8), kStoreVal);
}

TEST(A64Exclusive, MisalignmentRaisesSigbus) {
  struct Case { const char* text; uint64_t addr; };
  const Case cases[] = {
      {"ldxr x0, [x1]", kData + 4},   {"ldaxrh w0, [x1]", kData + 1}, {"stxr w0, w2, [x1]", kData + 2},
      {"ldxp x0, x2, [x1]", kData + 8}, {"stlxp w0, w2, w3, [x1]", kData + 4}, {"ldar w0, [x1]", kData + 2},
      {"stlrh w2, [x1]", kData + 3},  {"ldapr x0, [x1]", kData + 4},  {"ldlar x0, [x1]", kData + 1},
      {"ldaddh w2, w0, [x1]", kData + 1}, {"cas x0, x2, [x1]", kData + 4}, {"caspal w2, w3, w4, w5, [x1]", kData + 4},
      {"swph w2, w0, [x1]", 0x900001},  // unmapped too: the alignment check comes first
  };
  for (const Case& k : cases) {
    A64Machine m;
    m.x(0) = 0x77;
    m.x(1) = k.addr;
    m.x(2) = 0x55;
    Stop s = m.run(std::string("nop; ") + k.text);
    EXPECT_EQ(s.reason, StopReason::Trap) << k.text;
    EXPECT_EQ(s.signo, SIGBUS) << k.text;
    EXPECT_EQ(s.code, 1) << k.text;  // BUS_ADRALN
    EXPECT_EQ(s.addr, k.addr) << k.text;
    EXPECT_EQ(s.pc, kCode + 4) << k.text;
    EXPECT_EQ(m.x(0), 0x77u) << k.text;
    EXPECT_EQ(m.x(1), k.addr) << k.text;
    EXPECT_EQ(mem(m, kData), 0u) << k.text;
    EXPECT_EQ(mem(m, kData + 8), 0u) << k.text;
  }
}

// ---- acquire / release ----------------------------------------------------------------------

TEST(A64Ordered, LoadAcquireStoreReleaseEverySize) {
  A64Machine m;
  fill(m);
  m.x(1) = kData + 0x40;
  m.x(20) = kStoreVal;
  for (unsigned r = 2; r <= 9; ++r) m.x(r) = kOnes;
  m.exec("ldarb w2, [x1]; ldarh w3, [x1]; ldar w4, [x1]; ldar x5, [x1]; ldaprb w6, [x1]; ldaprh w7, [x1];"
         "ldapr w8, [x1]; ldapr x9, [x1]; ldlar x10, [x1]; ldlarb w11, [x1]");
  EXPECT_EQ(m.x(2), pat(0x40, 1));
  EXPECT_EQ(m.x(3), pat(0x40, 2));
  EXPECT_EQ(m.x(4), pat(0x40, 4));
  EXPECT_EQ(m.x(5), pat(0x40, 8));
  EXPECT_EQ(m.x(6), pat(0x40, 1));
  EXPECT_EQ(m.x(7), pat(0x40, 2));
  EXPECT_EQ(m.x(8), pat(0x40, 4));
  EXPECT_EQ(m.x(9), pat(0x40, 8));
  EXPECT_EQ(m.x(10), pat(0x40, 8));
  EXPECT_EQ(m.x(11), pat(0x40, 1));
}

TEST(A64Ordered, StoreReleaseEverySize) {
  A64Machine m;
  fill(m);
  m.x(1) = kData + 0x40;
  m.x(2) = kData + 0x48;
  m.x(3) = kData + 0x50;
  m.x(4) = kData + 0x58;
  m.x(5) = kData + 0x60;
  m.x(20) = kStoreVal;
  m.exec("stlrb w20, [x1]; stlrh w20, [x2]; stlr w20, [x3]; stlr x20, [x4]; stllr x20, [x5]; stllrb wzr, [x5]");
  EXPECT_EQ(mem(m, kData + 0x40), (pat(0x40, 8) & ~0xffull) | 0x88);
  EXPECT_EQ(mem(m, kData + 0x48), (pat(0x48, 8) & ~0xffffull) | 0x7788);
  EXPECT_EQ(mem(m, kData + 0x50), (pat(0x50, 8) & ~0xffffffffull) | 0x55667788);
  EXPECT_EQ(mem(m, kData + 0x58), kStoreVal);
  EXPECT_EQ(mem(m, kData + 0x60), kStoreVal & ~0xffull);
}

// ---- LSE atomics ----------------------------------------------------------------------------

struct AtomicCase {
  const char* text;  // operates on [x1] with source x2 / w2, old value into x0 / w0
  unsigned bytes;
  uint64_t before, src, after, old;
};

void run_atomic(const AtomicCase& k) {
  A64Machine m;
  set_mem(m, kData, 0xa5a5a5a5a5a5a5a5ull);
  set_mem(m, kData, k.before, k.bytes);
  m.x(0) = kOnes;
  m.x(1) = kData;
  m.x(2) = k.src;
  m.exec(k.text);
  const uint64_t mask = k.bytes == 8 ? kOnes : (1ull << (8 * k.bytes)) - 1;
  EXPECT_EQ(mem(m, kData, k.bytes), k.after) << k.text;
  EXPECT_EQ(mem(m, kData) & ~mask, 0xa5a5a5a5a5a5a5a5ull & ~mask) << k.text << ": bytes past the access";
  EXPECT_EQ(m.x(0), k.old) << k.text;
  EXPECT_EQ(m.x(2), k.src) << k.text;
}

TEST(A64Atomic, ArithmeticAndLogicalOps) {
  const AtomicCase cases[] = {
      {"ldadd w2, w0, [x1]", 4, 0xfffffffe, 0x3, 0x1, 0xfffffffe},
      {"ldaddal x2, x0, [x1]", 8, 0xfffffffffffffffeull, 0x3, 0x1, 0xfffffffffffffffeull},
      {"ldaddb w2, w0, [x1]", 1, 0xff, 0x102, 0x01, 0xff},
      {"ldaddlh w2, w0, [x1]", 2, 0xfffe, 0x10003, 0x0001, 0xfffe},
      {"ldclr w2, w0, [x1]", 4, 0xf0f0f0f0, 0x3c3c3c3c, 0xc0c0c0c0, 0xf0f0f0f0},
      {"ldclra x2, x0, [x1]", 8, 0xf0f0f0f0f0f0f0f0ull, 0xff, 0xf0f0f0f0f0f0f000ull, 0xf0f0f0f0f0f0f0f0ull},
      {"ldeorl w2, w0, [x1]", 4, 0xffff0000, 0x0ff00ff0, 0xf00f0ff0, 0xffff0000},
      {"ldeorh w2, w0, [x1]", 2, 0xff00, 0x0ff0, 0xf0f0, 0xff00},
      {"ldset x2, x0, [x1]", 8, 0x8000000000000000ull, 1, 0x8000000000000001ull, 0x8000000000000000ull},
      {"ldsetalb w2, w0, [x1]", 1, 0x80, 0x01, 0x81, 0x80},
      {"swp x2, x0, [x1]", 8, 0x1234, 0xfedcba9876543210ull, 0xfedcba9876543210ull, 0x1234},
      {"swpal w2, w0, [x1]", 4, 0x80000000, 0x1234, 0x1234, 0x80000000},
      {"swpb w2, w0, [x1]", 1, 0xfe, 0x1ff, 0xff, 0xfe},
      {"swplh w2, w0, [x1]", 2, 0x8001, 0x7, 0x7, 0x8001},
  };
  for (const AtomicCase& k : cases) run_atomic(k);
}

// Signed min/max compare SInt() of the access-size values (Arm pseudocode). unicorn 2.1.4 gets
// the sub-64-bit signed cases wrong (its qemu compares zero-extended values as 64-bit signed).
TEST(A64Atomic, MinMaxAtTheSignBoundary) {
  const AtomicCase cases[] = {
      // 32-bit: 0x7fffffff against 0x80000000 (INT_MIN, or the larger unsigned)
      {"ldsmax w2, w0, [x1]", 4, 0x7fffffff, 0x80000000, 0x7fffffff, 0x7fffffff},
      {"ldsmin w2, w0, [x1]", 4, 0x7fffffff, 0x80000000, 0x80000000, 0x7fffffff},
      {"ldumax w2, w0, [x1]", 4, 0x7fffffff, 0x80000000, 0x80000000, 0x7fffffff},
      {"ldumin w2, w0, [x1]", 4, 0x7fffffff, 0x80000000, 0x7fffffff, 0x7fffffff},
      // old value negative: returned zero-extended, not sign-extended
      {"ldsmaxa w2, w0, [x1]", 4, 0x80000000, 0x7fffffff, 0x7fffffff, 0x80000000},
      // 64-bit
      {"ldsmax x2, x0, [x1]", 8, 0x8000000000000000ull, 1, 1, 0x8000000000000000ull},
      {"ldsminl x2, x0, [x1]", 8, 0x8000000000000000ull, 1, 0x8000000000000000ull, 0x8000000000000000ull},
      {"ldumaxal x2, x0, [x1]", 8, 0x8000000000000000ull, 1, 0x8000000000000000ull, 0x8000000000000000ull},
      {"ldumin x2, x0, [x1]", 8, 0x8000000000000000ull, 1, 1, 0x8000000000000000ull},
      // bytes and halves: compared at the access size (the upper bits of w2 are ignored)
      {"ldsmaxb w2, w0, [x1]", 1, 0x7f, 0x180, 0x7f, 0x7f},
      {"ldsminb w2, w0, [x1]", 1, 0x7f, 0x180, 0x80, 0x7f},
      {"ldsmaxb w2, w0, [x1]", 1, 0x80, 0x7f, 0x7f, 0x80},
      {"ldumaxb w2, w0, [x1]", 1, 0x7f, 0x180, 0x80, 0x7f},
      {"lduminb w2, w0, [x1]", 1, 0x80, 0x17f, 0x7f, 0x80},
      {"ldsmaxh w2, w0, [x1]", 2, 0x8000, 0xffff7fff, 0x7fff, 0x8000},
      {"ldsminh w2, w0, [x1]", 2, 0x7fff, 0x8000, 0x8000, 0x7fff},
      {"ldumaxh w2, w0, [x1]", 2, 0x7fff, 0x8000, 0x8000, 0x7fff},
      {"lduminalh w2, w0, [x1]", 2, 0x8000, 0x17fff, 0x7fff, 0x8000},
  };
  for (const AtomicCase& k : cases) run_atomic(k);
}

TEST(A64Atomic, StoreAliasesDiscardTheOldValue) {
  A64Machine m;
  set_mem(m, kData, 40);
  m.x(1) = kData;
  m.x(2) = 2;
  m.exec("stadd x2, [x1]; staddl x2, [x1]; stsmaxb w2, [x1]; steor w2, [x1]");
  EXPECT_EQ(mem(m, kData), 46u);
}

TEST(A64Atomic, RtEqualsRsReadsTheSourceFirst) {
  A64Machine m;
  set_mem(m, kData, 40);
  m.x(1) = kData;
  m.x(2) = 2;
  m.exec("ldadd x2, x2, [x1]");
  EXPECT_EQ(m.x(2), 40u);
  EXPECT_EQ(mem(m, kData), 42u);
}

TEST(A64Atomic, CompareAndSwap) {
  struct Case { const char* text; unsigned bytes; uint64_t before, expected, desired, after, old; };
  const Case cases[] = {
      {"cas w0, w2, [x1]", 4, 0x80000000, 0x80000000, 0x1234, 0x1234, 0x80000000},
      {"casa w0, w2, [x1]", 4, 0x80000000, 0x80000001, 0x1234, 0x80000000, 0x80000000},
      {"casal x0, x2, [x1]", 8, 0x8000000000000000ull, 0x8000000000000000ull, 7, 7, 0x8000000000000000ull},
      {"casl x0, x2, [x1]", 8, 0x8000000000000000ull, 0, 7, 0x8000000000000000ull, 0x8000000000000000ull},
      // bytes and halves: only the low bits of Ws are compared
      {"casb w0, w2, [x1]", 1, 0x80, 0xffffff80, 0x1ff, 0xff, 0x80},
      {"casalb w0, w2, [x1]", 1, 0x80, 0x81, 0x1ff, 0x80, 0x80},
      {"casah w0, w2, [x1]", 2, 0xfffe, 0x1fffe, 0x5, 0x5, 0xfffe},
      {"caslh w0, w2, [x1]", 2, 0xfffe, 0xfffd, 0x5, 0xfffe, 0xfffe},
  };
  for (const Case& k : cases) {
    A64Machine m;
    set_mem(m, kData, 0xa5a5a5a5a5a5a5a5ull);
    set_mem(m, kData, k.before, k.bytes);
    m.x(0) = k.expected;
    m.x(1) = kData;
    m.x(2) = k.desired;
    m.exec(k.text);
    const uint64_t mask = k.bytes == 8 ? kOnes : (1ull << (8 * k.bytes)) - 1;
    EXPECT_EQ(mem(m, kData, k.bytes), k.after) << k.text;
    EXPECT_EQ(mem(m, kData) & ~mask, 0xa5a5a5a5a5a5a5a5ull & ~mask) << k.text;
    EXPECT_EQ(m.x(0), k.old) << k.text;
  }
}

// A failing CAS stores the old value back (see lift_ldst.cpp): on a read-only page it faults as a
// write, and Rs keeps its value.
TEST(A64Atomic, FailingCasOnReadOnlyMemoryFaultsAsAWrite) {
  A64Machine m;
  m.x(0) = 0x1234;  // not what the code page holds
  m.x(1) = kCode + 0x800;
  Stop s = m.run("cas x0, x2, [x1]");
  EXPECT_EQ(s.reason, StopReason::MemFault);
  EXPECT_TRUE(s.write);
  EXPECT_EQ(m.x(0), 0x1234u);
}

TEST(A64Atomic, CompareAndSwapPair) {
  A64Machine m;
  set_mem(m, kData, 0x1111111122222222ull);
  set_mem(m, kData + 8, 0x3333333344444444ull);
  m.x(1) = kData;
  // W pair, success: (w2, w3) = memory; (w4, w5) stored
  m.x(2) = 0x22222222;
  m.x(3) = 0x11111111;
  m.x(4) = 0xaaaaaaaa;
  m.x(5) = 0xbbbbbbbb;
  // X pair, failure (second element differs)
  m.x(6) = 0x3333333344444444ull;  // [x1] now holds the first pair's store
  m.x(7) = 0;
  m.x(8) = 1;
  m.x(9) = 2;
  m.exec("casp w2, w3, w4, w5, [x1]; caspal x6, x7, x8, x9, [x1]");
  EXPECT_EQ(m.x(2), 0x22222222u);
  EXPECT_EQ(m.x(3), 0x11111111u);
  EXPECT_EQ(mem(m, kData), 0xbbbbbbbbaaaaaaaaull);
  EXPECT_EQ(m.x(6), 0xbbbbbbbbaaaaaaaaull);
  EXPECT_EQ(m.x(7), 0x3333333344444444ull);
  EXPECT_EQ(mem(m, kData + 8), 0x3333333344444444ull);

  // X pair, success
  m.x(10) = 0xbbbbbbbbaaaaaaaaull;
  m.x(11) = 0x3333333344444444ull;
  m.x(12) = 5;
  m.x(13) = 6;
  m.exec("caspa x10, x11, x12, x13, [x1]");
  EXPECT_EQ(mem(m, kData), 5u);
  EXPECT_EQ(mem(m, kData + 8), 6u);
  EXPECT_EQ(m.x(10), 0xbbbbbbbbaaaaaaaaull);
  EXPECT_EQ(m.x(11), 0x3333333344444444ull);
}

TEST(A64Atomic, ReservedEncodingsAreUndefined) {
  const uint32_t casp = one("casp x2, x3, x4, x5, [x1]");
  const uint32_t words[] = {
      casp | 1u << 16,   // odd Rs
      casp | 1u,         // odd Rt
      0x3c200020,        // atomic op with V = 1
      0xf8201020 | 1u << 15,  // o3 = 1, opc = 001 (ld64b space, not ours)
      0xb8bfc020 & ~(1u << 23),  // ldapr without A
  };
  for (uint32_t w : words) {
    A64Machine m;
    Stop s = m.run({w});
    EXPECT_EQ(s.reason, StopReason::IllegalInsn) << std::hex << w;
    EXPECT_EQ(s.insn, w);
  }
}

}  // namespace
}  // namespace vmkit::a64::test
