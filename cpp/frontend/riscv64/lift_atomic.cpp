// A extension: LR/SC and the AMOs. A guest CPU runs on one host thread and nothing else runs its
// instructions concurrently, so an AMO is lifted as load, compute, store, which is atomic with
// respect to that CPU; aq/rl only order memory and are accepted and ignored. SC stores with a
// host compare-and-swap (helper_sc), so "memory still holds the LR value" is checked and the
// store done in one step.
//
// Misaligned LR/AMO addresses raise SIGBUS/BUS_ADRALN, as qemu-riscv64 does (checked with a
// helper before the access, so the check precedes any fault of the access itself).
#include <cstdint>

#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

void check_align(Ctx& c, Slot addr, unsigned bytes) {
  c.b.call(Type::I64, H_check_align, addr, ir::kNoSlot, ir::kNoSlot, uint8_t(bytes));
}

template <unsigned Bits>
bool lift_lr(Ctx& c, uint32_t i) {
  Slot addr = c.x(rs1(i));
  check_align(c, addr, (Bits / 8) | kAlignLr);
  // lr.w sign-extends like lw; the reservation keeps that value and sc.w compares its low half.
  Slot v = Bits == 32 ? c.b.loads(Type::I64, addr, 32) : c.b.load(Type::I64, addr);
  c.b.put(kOffResAddr, addr);
  c.b.put(kOffResValue, v);
  c.set_x(rd(i), v);
  return true;
}

template <unsigned Bits>
bool lift_sc(Ctx& c, uint32_t i) {
  // pc: for memory hooks, which the helper calls itself (see helper_sc).
  Slot failed = c.b.call(Type::I64, H_sc, c.x(rs1(i)), c.x(rs2(i)), c.b.konst(Type::I64, c.pc), uint8_t(Bits));
  c.set_x(rd(i), failed);
  return true;
}

// amoswap: the new value is rs2 itself (the IR op slot is unused).
enum class AmoKind { Swap, Op };

template <unsigned Bits, AmoKind Kind, Op O>
bool lift_amo(Ctx& c, uint32_t i) {
  Slot addr = c.x(rs1(i));
  check_align(c, addr, Bits / 8);
  if constexpr (Bits == 32) {
    // Computed on i32 so min/max compare 32-bit values; rd gets the old value sign-extended.
    Slot src = c.x32(rs2(i));
    Slot old = c.b.load(Type::I32, addr);
    Slot val = Kind == AmoKind::Swap ? src : c.b.binop(O, old, src);
    c.b.store(addr, val);
    c.set_x_sext32(rd(i), old);
  } else {
    Slot src = c.x(rs2(i));
    Slot old = c.b.load(Type::I64, addr);
    Slot val = Kind == AmoKind::Swap ? src : c.b.binop(O, old, src);
    c.b.store(addr, val);
    c.set_x(rd(i), old);
  }
  return true;
}

constexpr uint32_t kLrMask = 0xf9f0707f;   // funct5 + rs2 (must be 0) + funct3 + opcode
constexpr uint32_t kAmoMask = 0xf800707f;  // funct5 + funct3 + opcode; aq/rl free

const InsnDesc kInsns[] = {
    {"lr.w", kLrMask, 0x1000202f, lift_lr<32>},
    {"sc.w", kAmoMask, 0x1800202f, lift_sc<32>},
    {"amoswap.w", kAmoMask, 0x0800202f, lift_amo<32, AmoKind::Swap, Op::add>},
    {"amoadd.w", kAmoMask, 0x0000202f, lift_amo<32, AmoKind::Op, Op::add>},
    {"amoxor.w", kAmoMask, 0x2000202f, lift_amo<32, AmoKind::Op, Op::xor_>},
    {"amoand.w", kAmoMask, 0x6000202f, lift_amo<32, AmoKind::Op, Op::and_>},
    {"amoor.w", kAmoMask, 0x4000202f, lift_amo<32, AmoKind::Op, Op::or_>},
    {"amomin.w", kAmoMask, 0x8000202f, lift_amo<32, AmoKind::Op, Op::mins>},
    {"amomax.w", kAmoMask, 0xa000202f, lift_amo<32, AmoKind::Op, Op::maxs>},
    {"amominu.w", kAmoMask, 0xc000202f, lift_amo<32, AmoKind::Op, Op::minu>},
    {"amomaxu.w", kAmoMask, 0xe000202f, lift_amo<32, AmoKind::Op, Op::maxu>},

    {"lr.d", kLrMask, 0x1000302f, lift_lr<64>},
    {"sc.d", kAmoMask, 0x1800302f, lift_sc<64>},
    {"amoswap.d", kAmoMask, 0x0800302f, lift_amo<64, AmoKind::Swap, Op::add>},
    {"amoadd.d", kAmoMask, 0x0000302f, lift_amo<64, AmoKind::Op, Op::add>},
    {"amoxor.d", kAmoMask, 0x2000302f, lift_amo<64, AmoKind::Op, Op::xor_>},
    {"amoand.d", kAmoMask, 0x6000302f, lift_amo<64, AmoKind::Op, Op::and_>},
    {"amoor.d", kAmoMask, 0x4000302f, lift_amo<64, AmoKind::Op, Op::or_>},
    {"amomin.d", kAmoMask, 0x8000302f, lift_amo<64, AmoKind::Op, Op::mins>},
    {"amomax.d", kAmoMask, 0xa000302f, lift_amo<64, AmoKind::Op, Op::maxs>},
    {"amominu.d", kAmoMask, 0xc000302f, lift_amo<64, AmoKind::Op, Op::minu>},
    {"amomaxu.d", kAmoMask, 0xe000302f, lift_amo<64, AmoKind::Op, Op::maxu>},
};

}  // namespace

InsnTable atomic_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::rv64
