// A64 branches, exception generation, hints, barriers and the system instructions user mode
// reaches (MRS/MSR, DC ZVA and the cache maintenance a JIT or glibc may issue).
#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {

using ir::Op;
using ir::Slot;
using ir::Type;

uint64_t target(const Ctx& c, uint32_t insn, unsigned hi, unsigned lo) {
  return c.pc + uint64_t(sext(uint64_t(bits(insn, hi, lo)) << 2, hi - lo + 3));
}

bool lift_b(Ctx& c, uint32_t i) {
  if (bit(i, 31)) c.set_reg(30, c.c64(c.next_pc()));  // bl
  c.b.jmp(target(c, i, 25, 0));
  return true;
}

bool lift_b_cond(Ctx& c, uint32_t i) {
  unsigned cc = bits(i, 3, 0);
  if (cc >= AL) {
    c.b.jmp(target(c, i, 23, 5));
    return true;
  }
  c.b.br(c.cond(cc), target(c, i, 23, 5), c.next_pc());
  return true;
}

bool lift_cbz(Ctx& c, uint32_t i) {  // cbz, cbnz
  Slot v = c.reg(sf(i), rd(i));
  Slot zero = c.konst(sf(i), 0);
  c.b.br(c.b.binop(bit(i, 24) ? Op::ne : Op::eq, v, zero), target(c, i, 23, 5), c.next_pc());
  return true;
}

bool lift_tbz(Ctx& c, uint32_t i) {  // tbz, tbnz
  unsigned n = (bit(i, 31) << 5) | bits(i, 23, 19);
  Slot set = c.b.binop(Op::and_, c.x(rd(i)), c.c64(1ull << n));
  c.b.br(c.b.binop(bit(i, 24) ? Op::ne : Op::eq, set, c.c64(0)), target(c, i, 18, 5), c.next_pc());
  return true;
}

bool lift_br(Ctx& c, uint32_t i) {  // br, blr, ret
  Slot to = c.x(rn(i));
  if (bits(i, 22, 21) == 1) c.set_reg(30, c.c64(c.next_pc()));  // blr (the target read first)
  c.b.jmpi(to);
  return true;
}

bool lift_svc(Ctx& c, uint32_t) {
  c.b.exit(ir::ExitKind::Syscall, c.pc);
  return true;
}

bool lift_brk(Ctx& c, uint32_t i) {
  c.b.exit(ir::ExitKind::Breakpoint, c.pc, i);
  return true;
}

// Hints (nop, yield, wfe, wfi, sev, sevl, the pointer authentication and BTI hints, ...): none
// has an effect vmkit models. PAC and BTI live in the hint space so that code built for them
// runs on cores without them; vmkit is such a core (it does not advertise them).
bool lift_nop(Ctx&, uint32_t) { return true; }

bool lift_clrex(Ctx& c, uint32_t) {
  c.b.put(kOffExclSize, c.c32(0));
  return true;
}

bool lift_barrier(Ctx& c, uint32_t) {  // dsb, dmb
  c.b.fence(0);
  return true;
}

// MRS: the registers Linux lets EL0 read. Constant ones are lifted as constants; an unknown or
// privileged register is an undefined instruction (SIGILL, as the kernel gives).
bool lift_mrs(Ctx& c, uint32_t i) {
  const uint32_t reg = bits(i, 19, 5);
  Slot v;
  switch (reg) {
    case kSysNzcv: v = c.b.convert(Op::zext, Type::I64, c.nzcv()); break;
    case kSysFpcr: v = c.b.convert(Op::zext, Type::I64, c.b.get(Type::I32, kOffFpcr)); break;
    case kSysFpsr: v = c.b.convert(Op::zext, Type::I64, c.b.get(Type::I32, kOffFpsr)); break;
    case kSysTpidrEl0: v = c.b.get(Type::I64, kOffTpidr); break;
    case kSysTpidrroEl0: v = c.c64(0); break;  // Linux keeps it 0 for user threads
    case kSysCtrEl0:
    case kSysDczidEl0:
    case kSysCntfrqEl0: v = c.c64(helper_sysreg_read(nullptr, reg, 0, 0, 0)); break;
    case kSysCntvctEl0: v = c.b.call(Type::I64, H_sysreg_read, c.c64(reg)); break;
    default: return false;
  }
  c.set_reg(rd(i), v);
  return true;
}

// The FPCR bits AArch64 defines (AHP, DN, FZ, RMode, FZ16); trap enables read as zero (no
// trapping of FP exceptions, as on most cores). FPSR: QC and the cumulative exception bits.
constexpr uint32_t kFpcrMask = 0x07c80000;
constexpr uint32_t kFpsrMask = 0x0800009f;

bool lift_msr(Ctx& c, uint32_t i) {
  Slot v = c.x(rd(i));
  switch (bits(i, 19, 5)) {
    case kSysNzcv:
      c.set_flags_raw(c.b.binop(Op::and_, c.b.convert(Op::trunc, Type::I32, v), c.c32(0xf0000000u)));
      return true;
    case kSysFpcr:
      c.b.put(kOffFpcr, c.b.binop(Op::and_, c.b.convert(Op::trunc, Type::I32, v), c.c32(kFpcrMask)));
      return true;
    case kSysFpsr:
      c.b.put(kOffFpsr, c.b.binop(Op::and_, c.b.convert(Op::trunc, Type::I32, v), c.c32(kFpsrMask)));
      return true;
    case kSysTpidrEl0: c.b.put(kOffTpidr, v); return true;
    default: return false;
  }
}

// SYS with op1 = 3, CRn = 7: the cache maintenance EL0 may issue. DC ZVA zeroes the naturally
// aligned 64-byte block (one page: it faults whole or not at all); the cleans and the
// instruction-cache invalidate have nothing to do here (vmkit sees guest stores into code by page
// protection, see GuestMemory::mark_code).
bool lift_sys_cache(Ctx& c, uint32_t i) {
  const unsigned crm = bits(i, 11, 8), op2 = bits(i, 7, 5);
  if (op2 != 1) return false;
  switch (crm) {
    case 4: {  // dc zva
      Slot base = c.b.binop(Op::and_, c.x(rd(i)), c.c64(~uint64_t(kDcZvaBytes - 1)));
      for (unsigned off = 0; off < kDcZvaBytes; off += 8)
        c.b.store(off ? c.b.binop(Op::add, base, c.c64(off)) : base, c.c64(0));
      return true;
    }
    case 5:   // ic ivau
    case 10:  // dc cvac
    case 11:  // dc cvau
    case 12:  // dc cvap
    case 13:  // dc cvadp
    case 14:  // dc civac
      return true;
    default: return false;
  }
}

const InsnDesc kInsns[] = {
    {"b/bl", 0x7c000000, 0x14000000, lift_b},
    {"b.cond", 0xff000010, 0x54000000, lift_b_cond},
    {"cbz/cbnz", 0x7e000000, 0x34000000, lift_cbz},
    {"tbz/tbnz", 0x7e000000, 0x36000000, lift_tbz},
    {"br", 0xfffffc1f, 0xd61f0000, lift_br},
    {"blr", 0xfffffc1f, 0xd63f0000, lift_br},
    {"ret", 0xfffffc1f, 0xd65f0000, lift_br},
    {"svc", 0xffe0001f, 0xd4000001, lift_svc},
    {"brk", 0xffe0001f, 0xd4200000, lift_brk},
    {"hint", 0xfffff01f, 0xd503201f, lift_nop},
    {"clrex", 0xfffff0ff, 0xd503305f, lift_clrex},
    {"dsb", 0xfffff0ff, 0xd503309f, lift_barrier},
    {"dmb", 0xfffff0ff, 0xd50330bf, lift_barrier},
    {"isb", 0xfffff0ff, 0xd50330df, lift_nop},  // (instructions are refetched: stores into code end their block)
    {"mrs", 0xfff00000, 0xd5300000, lift_mrs},
    {"msr", 0xfff00000, 0xd5100000, lift_msr},
    {"sys dc/ic", 0xfffff000, 0xd50b7000, lift_sys_cache},
};

}  // namespace

InsnTable branch_sys_insns() { return {kInsns, sizeof(kInsns) / sizeof(kInsns[0])}; }

}  // namespace vmkit::a64
