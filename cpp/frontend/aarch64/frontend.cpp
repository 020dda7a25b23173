#include "frontend/aarch64/frontend.h"

#include <array>
#include <string>
#include <vector>

#include "frontend/aarch64/helpers.h"
#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {

// The decoder: every group's table, bucketed by op0 (bits 28..25, the A64 top-level encoding
// class). An entry goes into every bucket its mask and match allow, so a lookup scans only the
// entries of one class, in table order.
struct Decoder {
  std::array<std::vector<const InsnDesc*>, 16> buckets;
  Decoder() {
    for (InsnTable t : {branch_sys_insns(), dp_imm_insns(), dp_reg_insns(), ldst_insns(), fp_insns(), simd_insns()}) {
      for (unsigned i = 0; i < t.count; ++i) {
        const InsnDesc& d = t.insns[i];
        const uint32_t m = (d.mask >> 25) & 15, v = (d.match >> 25) & 15;
        for (uint32_t op0 = 0; op0 < 16; ++op0)
          if ((op0 & m) == v) buckets[op0].push_back(&d);
      }
    }
  }
};
const Decoder& decoder() {
  static const Decoder d;
  return d;
}

std::string state_name(uint32_t off) {
  if (off >= off_x(0) && off < off_x(31) && (off - off_x(0)) % 8 == 0) return "x" + std::to_string((off - off_x(0)) / 8);
  if (off >= off_v(0) && off < off_v(32) && (off - off_v(0)) % 8 == 0) {
    unsigned i = (off - off_v(0)) / 16;
    return "v" + std::to_string(i) + ((off - off_v(0)) % 16 ? ".hi" : ".lo");
  }
  switch (off) {
    case kOffSp: return "sp";
    case kOffPc: return "pc";
    case kOffCcA: return "cc_a";
    case kOffCcB: return "cc_b";
    case kOffCcOp: return "cc_op";
    case kOffFpcr: return "fpcr";
    case kOffFpsr: return "fpsr";
    case kOffExclSize: return "excl_size";
    case kOffExclAddr: return "excl_addr";
    case kOffExclValue: return "excl_value";
    case kOffExclValue + 8: return "excl_value.hi";
    case kOffTpidr: return "tpidr_el0";
  }
  return "state+" + std::to_string(off);
}

uint64_t read_nzcv(const void* s) { return nzcv(*static_cast<const State*>(s)); }
void write_nzcv(void* s, uint64_t v) { set_nzcv(*static_cast<State*>(s), uint32_t(v)); }

class A64Frontend final : public Frontend {
 public:
  A64Frontend() {
    using ir::Type;
    for (unsigned i = 0; i < 31; ++i) regs_.push_back({"x" + std::to_string(i), off_x(i), Type::I64});
    for (unsigned i = 0; i < 31; ++i) {
      RegInfo w{"w" + std::to_string(i), off_x(i), Type::I32};
      w.write_bytes = 8;  // writing a W register clears the X register's upper half
      regs_.push_back(w);
    }
    regs_.push_back({"fp", off_x(29), Type::I64});
    regs_.push_back({"lr", off_x(30), Type::I64});
    regs_.push_back({"sp", kOffSp, Type::I64});
    RegInfo wsp{"wsp", kOffSp, Type::I32};
    wsp.write_bytes = 8;
    regs_.push_back(wsp);
    RegInfo xzr{"xzr", 0, Type::I64}, wzr{"wzr", 0, Type::I32};
    xzr.hardwired_zero = wzr.hardwired_zero = true;
    regs_.push_back(xzr);
    regs_.push_back(wzr);
    regs_.push_back({"pc", kOffPc, Type::I64});
    RegInfo flags{"nzcv", 0, Type::I32};
    flags.read = &read_nzcv;
    flags.write = &write_nzcv;
    regs_.push_back(flags);
    // The SIMD and FP registers: v/q as 128-bit values, d/s/h/b as their low bits. (A write of a
    // narrower view leaves the rest of the register as it was; an instruction writing a scalar
    // clears it, which is the lifter's business.)
    for (const char* prefix : {"v", "q"})
      for (unsigned i = 0; i < 32; ++i) {
        RegInfo v{prefix + std::to_string(i), off_v(i), Type::I64};
        v.bytes = 16;
        regs_.push_back(v);
      }
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"d" + std::to_string(i), off_v(i), Type::F64});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"s" + std::to_string(i), off_v(i), Type::F32});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"h" + std::to_string(i), off_v(i), Type::I16});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"b" + std::to_string(i), off_v(i), Type::I8});
    regs_.push_back({"fpcr", kOffFpcr, Type::I32});
    regs_.push_back({"fpsr", kOffFpsr, Type::I32});
    regs_.push_back({"tpidr_el0", kOffTpidr, Type::I64});
    info_ = ir::ArchInfo{"aarch64", sizeof(State), &state_name, helper_table(), H_Count};
  }

  const ir::ArchInfo& arch() const override { return info_; }
  const std::vector<RegInfo>& registers() const override { return regs_; }
  uint32_t pc_offset() const override { return kOffPc; }
  // As unicorn numbers them for ARM64 (qemu's EXCP_*): UDEF 1, SWI 2, DATA_ABORT 4, BKPT 7.
  uint32_t exception_cause(GuestException e) const override {
    switch (e) {
      case GuestException::Syscall: return 2;
      case GuestException::Breakpoint: return 7;
      case GuestException::IllegalInsn: return 1;
      case GuestException::LoadMisaligned:
      case GuestException::StoreMisaligned: return 4;
      case GuestException::FloatingPointError:
      case GuestException::DivideError:        // (A64 division does not trap)
      case GuestException::GeneralProtection: return 1;
    }
    return 1;
  }
  const char* register_examples() const override {
    return "'x0', 'w0', 'sp', 'lr', 'pc', 'nzcv', 'v0', 'd0', 's0', 'fpcr' or 'tpidr_el0'";
  }

  void translate(uint64_t pc, const CodeSource& code, ir::Builder& b, unsigned max_insns) const override {
    ir::Block& blk = b.block();
    Flags flags;  // what this block knows of NZCV (nothing yet)
    for (unsigned n = 0;; ++n) {
      if (n == max_insns || (n > 0 && b.ends_block_before(pc))) {
        b.jmp(pc);
        return;
      }
      uint32_t insn;
      if (!code.fetch(pc, &insn, 4)) {
        // As the block's first instruction that is a fetch fault; otherwise the block ends
        // before it, and the next block reports the fault with exact state.
        if (n > 0) return b.jmp(pc);
        b.begin_insn(pc, 0, 0);
        return b.exit(ir::ExitKind::FetchFault, pc);
      }
      size_t insts_before = blk.insts.size();
      b.begin_insn(pc, 4, insn);
      // An instrumentation hook may change NZCV (regs.nzcv = ...): what the block knew is void.
      for (size_t i = insts_before; i < blk.insts.size(); ++i)
        if (blk.insts[i].op == ir::Op::hook) flags = Flags{};
      size_t lifted_from = blk.insts.size();
      const Flags flags_before = flags;
      const InsnDesc* d = decode(insn);
      Ctx c{b, pc, flags};
      if (!d || !d->lift(c, insn)) {
        // Unallocated or a reserved form: drop anything the lifter emitted, then report it.
        blk.insts.resize(lifted_from);
        flags = flags_before;
        b.exit(ir::ExitKind::IllegalInsn, pc, insn);
      }
      pc += 4;
      blk.end_pc = pc;
      if (b.terminated()) return;
    }
  }

 private:
  std::vector<RegInfo> regs_;
  ir::ArchInfo info_;
};

}  // namespace

const InsnDesc* decode(uint32_t insn) {
  for (const InsnDesc* d : decoder().buckets[(insn >> 25) & 15])
    if ((insn & d->mask) == d->match) return d;
  return nullptr;
}

std::unique_ptr<Frontend> make_frontend() { return std::make_unique<A64Frontend>(); }

}  // namespace vmkit::a64
