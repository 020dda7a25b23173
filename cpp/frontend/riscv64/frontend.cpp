#include "frontend/riscv64/frontend.h"

#include <array>
#include <string>
#include <vector>

#include "frontend/riscv64/helpers.h"
#include "frontend/riscv64/lift.h"

namespace vmkit::rv64 {

namespace {

const char* const kGprNames[32] = {"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
                                   "s0",   "s1", "a0", "a1", "a2", "a3", "a4", "a5",
                                   "a6",   "a7", "s2", "s3", "s4", "s5", "s6", "s7",
                                   "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
const char* const kFprNames[32] = {"ft0", "ft1", "ft2",  "ft3",  "ft4", "ft5", "ft6",  "ft7",
                                   "fs0", "fs1", "fa0",  "fa1",  "fa2", "fa3", "fa4",  "fa5",
                                   "fa6", "fa7", "fs2",  "fs3",  "fs4", "fs5", "fs6",  "fs7",
                                   "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

// The decoder: every extension's table, bucketed by the major opcode (bits 6..2) so a lookup
// scans only the handful of entries that share it.
struct Decoder {
  std::array<std::vector<const InsnDesc*>, 32> buckets;
  Decoder() {
    for (InsnTable t : {base_insns(), muldiv_insns(), atomic_insns(), bitmanip_insns(), fp_insns()}) {
      for (unsigned i = 0; i < t.count; ++i) {
        const InsnDesc& d = t.insns[i];
        // Entries must fix the opcode bits (all of them do: mask covers bits 6..0).
        buckets[(d.match >> 2) & 31].push_back(&d);
      }
    }
  }
};
const Decoder& decoder() {
  static const Decoder d;
  return d;
}

std::string state_name(uint32_t off) {
  if (off >= off_x(0) && off < off_x(32) && (off - off_x(0)) % 8 == 0) return kGprNames[(off - off_x(0)) / 8];
  if (off >= off_f(0) && off < off_f(32) && (off - off_f(0)) % 8 == 0) return kFprNames[(off - off_f(0)) / 8];
  switch (off) {
    case kOffPc: return "pc";
    case kOffResAddr: return "res_addr";
    case kOffResValue: return "res_value";
    case kOffFflags: return "fflags";
    case kOffFrm: return "frm";
    case kOffInstret: return "instret";
  }
  return "state+" + std::to_string(off);
}

class Rv64Frontend final : public Frontend {
 public:
  Rv64Frontend() {
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({kGprNames[i], off_x(i), ir::Type::I64});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"x" + std::to_string(i), off_x(i), ir::Type::I64});
    regs_[0].hardwired_zero = regs_[32].hardwired_zero = true;  // zero, x0
    regs_.push_back({"fp", off_x(8), ir::Type::I64});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({kFprNames[i], off_f(i), ir::Type::F64});
    for (unsigned i = 0; i < 32; ++i) regs_.push_back({"f" + std::to_string(i), off_f(i), ir::Type::F64});
    regs_.push_back({"pc", kOffPc, ir::Type::I64});
    regs_.push_back({"fflags", kOffFflags, ir::Type::I32});
    regs_.push_back({"frm", kOffFrm, ir::Type::I32});
    info_ = ir::ArchInfo{"riscv64", sizeof(State), &state_name, helper_table(), H_Count};
  }

  const ir::ArchInfo& arch() const override { return info_; }
  const std::vector<RegInfo>& registers() const override { return regs_; }
  uint32_t pc_offset() const override { return kOffPc; }
  // The privileged spec's mcause values (user-level code: an ecall is from U mode).
  uint32_t exception_cause(GuestException e) const override {
    switch (e) {
      case GuestException::Syscall: return 8;
      case GuestException::Breakpoint: return 3;
      case GuestException::IllegalInsn: return 2;
      case GuestException::LoadMisaligned: return 4;
      case GuestException::StoreMisaligned: return 6;
      case GuestException::FloatingPointError:
      case GuestException::DivideError:        // (RISC-V division does not trap)
      case GuestException::GeneralProtection: return 2;
    }
    return 2;
  }
  const char* register_examples() const override {
    return "'a0', 'x10', 'sp', 'pc', 'f0', 'fa0', 'fflags' or 'frm'";
  }

  void translate(uint64_t pc, const CodeSource& code, ir::Builder& b, unsigned max_insns) const override {
    ir::Block& blk = b.block();
    for (unsigned n = 0;; ++n) {
      if (n == max_insns || (n > 0 && b.ends_block_before(pc))) {
        b.jmp(pc);
        return;
      }
      uint16_t lo;
      if (!code.fetch(pc, &lo, 2)) return end_on_fetch_fault(b, pc, n, pc);
      uint32_t insn = lo;
      unsigned len = 2;
      uint32_t expanded;
      if ((lo & 3) == 3) {
        uint16_t hi;
        if (!code.fetch(pc + 2, &hi, 2)) return end_on_fetch_fault(b, pc, n, pc + 2);
        insn |= uint32_t(hi) << 16;
        len = 4;
        expanded = insn;
      } else {
        expanded = expand_compressed(lo);
      }
      b.begin_insn(pc, uint8_t(len), insn);
      size_t insts_before = blk.insts.size();
      const InsnDesc* d = expanded ? decode(expanded) : nullptr;
      Ctx c{b, pc, len};
      if (!d || !d->lift(c, expanded)) {
        // Undecodable or a reserved form: drop anything the lifter emitted, then report it.
        blk.insts.resize(insts_before);
        b.exit(ir::ExitKind::IllegalInsn, pc, insn);
      }
      pc += len;
      blk.end_pc = pc;
      if (b.terminated()) return;
    }
  }

 private:
  // The instruction at pc cannot be fetched (fully). As the block's first instruction that is a
  // fetch fault at the missing address; otherwise the block ends before it, and the next block
  // reports the fault with exact state.
  static void end_on_fetch_fault(ir::Builder& b, uint64_t pc, unsigned n, uint64_t missing) {
    if (n > 0) return b.jmp(pc);
    b.begin_insn(pc, 0, 0);
    b.exit(ir::ExitKind::FetchFault, missing);
  }

  std::vector<RegInfo> regs_;
  ir::ArchInfo info_;
};

}  // namespace

const InsnDesc* decode(uint32_t insn) {
  if ((insn & 3) != 3) return nullptr;
  for (const InsnDesc* d : decoder().buckets[(insn >> 2) & 31])
    if ((insn & d->mask) == d->match) return d;
  return nullptr;
}

std::unique_ptr<Frontend> make_frontend() { return std::make_unique<Rv64Frontend>(); }

}  // namespace vmkit::rv64
