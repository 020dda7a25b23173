// M extension: multiply and divide. The IR's mul/div/rem ops already have RISC-V's total
// semantics (x/0 = -1 or all ones, x%0 = x, MIN/-1 = MIN, MIN%-1 = 0), so each instruction is
// one op; the W forms compute on i32 and sign-extend the 32-bit result into rd.
#include <cstdint>

#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

using ir::Op;

template <Op O>
bool lift_m(Ctx& c, uint32_t i) {
  c.set_x(rd(i), c.b.binop(O, c.x(rs1(i)), c.x(rs2(i))));
  return true;
}

template <Op O>
bool lift_m_w(Ctx& c, uint32_t i) {
  c.set_x_sext32(rd(i), c.b.binop(O, c.x32(rs1(i)), c.x32(rs2(i))));
  return true;
}

constexpr uint32_t kF7 = 0xfe00707f;  // opcode + funct3 + funct7 (funct7 = 0000001)

const InsnDesc kInsns[] = {
    {"mul", kF7, 0x02000033, lift_m<Op::mul>},
    {"mulh", kF7, 0x02001033, lift_m<Op::mulhs>},
    {"mulhsu", kF7, 0x02002033, lift_m<Op::mulhsu>},
    {"mulhu", kF7, 0x02003033, lift_m<Op::mulhu>},
    {"div", kF7, 0x02004033, lift_m<Op::divs>},
    {"divu", kF7, 0x02005033, lift_m<Op::divu>},
    {"rem", kF7, 0x02006033, lift_m<Op::rems>},
    {"remu", kF7, 0x02007033, lift_m<Op::remu>},
    {"mulw", kF7, 0x0200003b, lift_m_w<Op::mul>},
    {"divw", kF7, 0x0200403b, lift_m_w<Op::divs>},
    {"divuw", kF7, 0x0200503b, lift_m_w<Op::divu>},
    {"remw", kF7, 0x0200603b, lift_m_w<Op::rems>},
    {"remuw", kF7, 0x0200703b, lift_m_w<Op::remu>},
};

}  // namespace

InsnTable muldiv_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::rv64
