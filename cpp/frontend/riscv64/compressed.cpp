// RV64C: expands each 16-bit encoding to the 32-bit instruction it stands for, so the 32-bit
// lifters handle both (with Ctx::len == 2, so links and fall-throughs use pc + 2). Reserved
// encodings expand to 0, which no table matches: the frontend reports an illegal instruction.
// Encodings that the spec calls HINTs (e.g. c.addi with rd = x0, c.slli with shamt 0) expand to
// their base instruction, whose effect is the architectural no-op the spec requires.
#include <cstdint>

#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

// Bits [hi:lo] of c, as an unsigned field.
constexpr uint32_t bits(uint32_t c, unsigned hi, unsigned lo) { return (c >> lo) & ((1u << (hi - lo + 1)) - 1); }
// Sign-extends the low `width` bits of v.
constexpr int32_t sext(uint32_t v, unsigned width) { return int32_t(v << (32 - width)) >> (32 - width); }

// 32-bit encoders of the formats the expansions produce.
constexpr uint32_t enc_i(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned opc) {
  return (uint32_t(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t enc_s(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned opc) {
  uint32_t u = uint32_t(imm);
  return (bits(u, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (bits(u, 4, 0) << 7) | opc;
}
constexpr uint32_t enc_r(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd, unsigned opc) {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t enc_b(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3) {
  uint32_t u = uint32_t(imm);
  return (bits(u, 12, 12) << 31) | (bits(u, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
         (bits(u, 4, 1) << 8) | (bits(u, 11, 11) << 7) | 0x63;
}
constexpr uint32_t enc_j(int32_t imm, unsigned rd) {
  uint32_t u = uint32_t(imm);
  return (bits(u, 20, 20) << 31) | (bits(u, 10, 1) << 21) | (bits(u, 11, 11) << 20) | (bits(u, 19, 12) << 12) |
         (rd << 7) | 0x6f;
}

constexpr unsigned kSp = 2, kRa = 1;
constexpr unsigned kOpLoad = 0x03, kOpLoadFp = 0x07, kOpStore = 0x23, kOpStoreFp = 0x27;
constexpr unsigned kOpImm = 0x13, kOpImm32 = 0x1b, kOp = 0x33, kOp32 = 0x3b, kOpJalr = 0x67;

// The 3-bit register fields of CIW/CL/CS/CA/CB formats name x8..x15 (f8..f15).
unsigned rp(uint32_t field) { return field + 8; }

// Offsets of the load/store forms (scaled, unsigned).
uint32_t cl_w_offset(uint32_t c) { return (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2) | (bits(c, 5, 5) << 6); }
uint32_t cl_d_offset(uint32_t c) { return (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6); }
uint32_t ci_lwsp_offset(uint32_t c) { return (bits(c, 12, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6); }
uint32_t ci_ldsp_offset(uint32_t c) { return (bits(c, 12, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6); }
uint32_t css_swsp_offset(uint32_t c) { return (bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6); }
uint32_t css_sdsp_offset(uint32_t c) { return (bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6); }

// The 6-bit immediate of CI instructions (imm[5] at bit 12, imm[4:0] at bits 6..2).
uint32_t ci_imm6(uint32_t c) { return (bits(c, 12, 12) << 5) | bits(c, 6, 2); }

uint32_t expand_q0(uint32_t c) {
  unsigned rd_p = rp(bits(c, 4, 2)), rs1_p = rp(bits(c, 9, 7));
  switch (bits(c, 15, 13)) {
    case 0: {  // c.addi4spn (nzuimm = 0 is reserved; this also makes 0x0000 illegal)
      uint32_t imm = (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bits(c, 6, 6) << 2) | (bits(c, 5, 5) << 3);
      if (imm == 0) return 0;
      return enc_i(int32_t(imm), kSp, 0, rd_p, kOpImm);
    }
    case 1: return enc_i(int32_t(cl_d_offset(c)), rs1_p, 3, rd_p, kOpLoadFp);  // c.fld
    case 2: return enc_i(int32_t(cl_w_offset(c)), rs1_p, 2, rd_p, kOpLoad);    // c.lw
    case 3: return enc_i(int32_t(cl_d_offset(c)), rs1_p, 3, rd_p, kOpLoad);    // c.ld
    case 4: return 0;                                                          // reserved (Zcb not supported)
    case 5: return enc_s(int32_t(cl_d_offset(c)), rd_p, rs1_p, 3, kOpStoreFp);  // c.fsd
    case 6: return enc_s(int32_t(cl_w_offset(c)), rd_p, rs1_p, 2, kOpStore);    // c.sw
    default: return enc_s(int32_t(cl_d_offset(c)), rd_p, rs1_p, 3, kOpStore);   // c.sd
  }
}

uint32_t expand_q1(uint32_t c) {
  unsigned rd = bits(c, 11, 7);
  int32_t imm6 = sext(ci_imm6(c), 6);
  switch (bits(c, 15, 13)) {
    case 0: return enc_i(imm6, rd, 0, rd, kOpImm);  // c.addi (c.nop when rd = 0)
    case 1:                                         // c.addiw (rd = 0 reserved)
      if (rd == 0) return 0;
      return enc_i(imm6, rd, 0, rd, kOpImm32);
    case 2: return enc_i(imm6, 0, 0, rd, kOpImm);  // c.li
    case 3:
      if (rd == kSp) {  // c.addi16sp: nzimm[9|4|6|8:7|5]
        uint32_t u = (bits(c, 12, 12) << 9) | (bits(c, 6, 6) << 4) | (bits(c, 5, 5) << 6) | (bits(c, 4, 3) << 7) |
                     (bits(c, 2, 2) << 5);
        if (u == 0) return 0;
        return enc_i(sext(u, 10), kSp, 0, kSp, kOpImm);
      } else {  // c.lui: nzimm[17:12]; zero is reserved
        if (ci_imm6(c) == 0) return 0;
        return (uint32_t(imm6) << 12) | (rd << 7) | 0x37;  // lui with imm[31:12] = sext(nzimm)
      }
    case 4: {
      unsigned r = rp(bits(c, 9, 7)), r2 = rp(bits(c, 4, 2));
      uint32_t shamt = ci_imm6(c);
      switch (bits(c, 11, 10)) {
        case 0: return enc_i(int32_t(shamt), r, 5, r, kOpImm);            // c.srli
        case 1: return enc_i(int32_t(shamt | 0x400), r, 5, r, kOpImm);   // c.srai (funct6 010000)
        case 2: return enc_i(imm6, r, 7, r, kOpImm);                      // c.andi
        default:
          if (bits(c, 12, 12) == 0) {
            switch (bits(c, 6, 5)) {
              case 0: return enc_r(0x20, r2, r, 0, r, kOp);  // c.sub
              case 1: return enc_r(0x00, r2, r, 4, r, kOp);  // c.xor
              case 2: return enc_r(0x00, r2, r, 6, r, kOp);  // c.or
              default: return enc_r(0x00, r2, r, 7, r, kOp);  // c.and
            }
          }
          switch (bits(c, 6, 5)) {
            case 0: return enc_r(0x20, r2, r, 0, r, kOp32);  // c.subw
            case 1: return enc_r(0x00, r2, r, 0, r, kOp32);  // c.addw
            default: return 0;                              // reserved (Zcb not supported)
          }
      }
    }
    case 5: {  // c.j: offset[11|4|9:8|10|6|7|3:1|5]
      uint32_t u = (bits(c, 12, 12) << 11) | (bits(c, 11, 11) << 4) | (bits(c, 10, 9) << 8) | (bits(c, 8, 8) << 10) |
                   (bits(c, 7, 7) << 6) | (bits(c, 6, 6) << 7) | (bits(c, 5, 3) << 1) | (bits(c, 2, 2) << 5);
      return enc_j(sext(u, 12), 0);
    }
    default: {  // c.beqz / c.bnez: offset[8|4:3] at 12..10, [7:6|2:1|5] at 6..2
      uint32_t u = (bits(c, 12, 12) << 8) | (bits(c, 11, 10) << 3) | (bits(c, 6, 5) << 6) | (bits(c, 4, 3) << 1) |
                   (bits(c, 2, 2) << 5);
      unsigned f3 = bits(c, 15, 13) == 6 ? 0 : 1;
      return enc_b(sext(u, 9), 0, rp(bits(c, 9, 7)), f3);
    }
  }
}

uint32_t expand_q2(uint32_t c) {
  unsigned rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);
  switch (bits(c, 15, 13)) {
    case 0: return enc_i(int32_t(ci_imm6(c)), rd, 1, rd, kOpImm);                 // c.slli
    case 1: return enc_i(int32_t(ci_ldsp_offset(c)), kSp, 3, rd, kOpLoadFp);      // c.fldsp
    case 2:                                                                     // c.lwsp (rd = 0 reserved)
      if (rd == 0) return 0;
      return enc_i(int32_t(ci_lwsp_offset(c)), kSp, 2, rd, kOpLoad);
    case 3:  // c.ldsp (rd = 0 reserved)
      if (rd == 0) return 0;
      return enc_i(int32_t(ci_ldsp_offset(c)), kSp, 3, rd, kOpLoad);
    case 4:
      if (bits(c, 12, 12) == 0) {
        if (rs2 == 0) {  // c.jr (rs1 = 0 reserved)
          if (rd == 0) return 0;
          return enc_i(0, rd, 0, 0, kOpJalr);
        }
        return enc_r(0, rs2, 0, 0, rd, kOp);  // c.mv: add rd, x0, rs2
      }
      if (rs2 == 0) {
        if (rd == 0) return 0x00100073;         // c.ebreak
        return enc_i(0, rd, 0, kRa, kOpJalr);  // c.jalr: link in ra = pc + 2
      }
      return enc_r(0, rs2, rd, 0, rd, kOp);  // c.add
    case 5: return enc_s(int32_t(css_sdsp_offset(c)), rs2, kSp, 3, kOpStoreFp);  // c.fsdsp
    case 6: return enc_s(int32_t(css_swsp_offset(c)), rs2, kSp, 2, kOpStore);    // c.swsp
    default: return enc_s(int32_t(css_sdsp_offset(c)), rs2, kSp, 3, kOpStore);   // c.sdsp
  }
}

}  // namespace

uint32_t expand_compressed(uint16_t insn) {
  uint32_t c = insn;
  switch (c & 3) {
    case 0: return expand_q0(c);
    case 1: return expand_q1(c);
    case 2: return expand_q2(c);
    default: return 0;  // not a compressed encoding
  }
}

}  // namespace vmkit::rv64
