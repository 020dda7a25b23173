#include "frontend/x86_64/frontend.h"

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {

const char* const kGpr64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kGpr32[16] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
const char* const kGpr16[16] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
const char* const kGpr8[16] = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                               "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};

// The lifters by mnemonic, from every group's table. A mnemonic may have lifters in two groups
// (Zydis calls the string instruction and the SSE2 scalar double move both MOVSD, and likewise
// CMPSD): each declines the forms that are not its own, and the next is tried.
struct Lifters {
  std::array<std::vector<LiftFn>, ZYDIS_MNEMONIC_MAX_VALUE + 1> by_mnemonic{};
  Lifters() {
    for (InsnTable t : {alu_insns(), shift_insns(), muldiv_insns(), bits_insns(), branch_insns(), string_insns(), sse_insns(), sse4_insns(), sse_fp_insns(), x87_insns()})
      for (unsigned i = 0; i < t.count; ++i) by_mnemonic[t.insns[i].mnemonic].push_back(t.insns[i].lift);
  }
};
const Lifters& lifters() {
  static const Lifters l;
  return l;
}

std::string state_name(uint32_t off) {
  if (off >= off_r(0) && off < off_r(16) && (off - off_r(0)) % 8 == 0) return kGpr64[(off - off_r(0)) / 8];
  if (off >= off_xmm(0) && off < off_xmm(16) && (off - off_xmm(0)) % 8 == 0) {
    unsigned i = (off - off_xmm(0)) / 16;
    return "xmm" + std::to_string(i) + ((off - off_xmm(0)) % 16 ? ".hi" : ".lo");
  }
  switch (off) {
    case kOffRip: return "rip";
    case kOffCcA: return "cc_a";
    case kOffCcB: return "cc_b";
    case kOffCcC: return "cc_c";
    case kOffCcOp: return "cc_op";
    case kOffCcR: return "cc_r";
    case kOffDf: return "df";
    case kOffRflagsMisc: return "rflags_misc";
    case kOffMxcsr: return "mxcsr";
    case kOffFsBase: return "fs_base";
    case kOffGsBase: return "gs_base";
  }
  return "state+" + std::to_string(off);
}

uint64_t read_rflags(const void* s) { return rflags(*static_cast<const State*>(s)); }
void write_rflags(void* s, uint64_t v) { set_rflags(*static_cast<State*>(s), v); }

class X64Frontend final : public Frontend {
 public:
  X64Frontend() {
    ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    // F3 0F BC/BD are TZCNT/LZCNT only where CPUID says so (else the prefix is ignored: BSF/BSR).
    ZydisDecoderEnableMode(&decoder_, ZYDIS_DECODER_MODE_TZCNT, cpuid_has_tzcnt());
    ZydisDecoderEnableMode(&decoder_, ZYDIS_DECODER_MODE_LZCNT, cpuid_has_lzcnt());
    ZydisFormatterInit(&formatter_, ZYDIS_FORMATTER_STYLE_INTEL);
    using ir::Type;
    for (unsigned i = 0; i < 16; ++i) regs_.push_back({kGpr64[i], off_r(i), Type::I64});
    for (unsigned i = 0; i < 16; ++i) {
      RegInfo r{kGpr32[i], off_r(i), Type::I32};
      r.write_bytes = 8;  // a 32-bit write clears the upper half
      regs_.push_back(r);
    }
    for (unsigned i = 0; i < 16; ++i) regs_.push_back({kGpr16[i], off_r(i), Type::I16});
    for (unsigned i = 0; i < 16; ++i) regs_.push_back({kGpr8[i], off_r(i), Type::I8});
    const char* const high[4] = {"ah", "ch", "dh", "bh"};
    for (unsigned i = 0; i < 4; ++i) regs_.push_back({high[i], off_r(i) + 1, Type::I8});
    regs_.push_back({"rip", kOffRip, Type::I64});
    regs_.push_back({"pc", kOffRip, Type::I64});
    for (const char* name : {"rflags", "eflags"}) {
      RegInfo f{name, 0, Type::I64};
      f.read = &read_rflags;
      f.write = &write_rflags;
      regs_.push_back(f);
    }
    for (unsigned i = 0; i < 16; ++i) {
      RegInfo x{"xmm" + std::to_string(i), off_xmm(i), Type::I64};
      x.bytes = 16;
      regs_.push_back(x);
    }
    regs_.push_back({"mxcsr", kOffMxcsr, Type::I32});
    regs_.push_back({"fs_base", kOffFsBase, Type::I64});
    regs_.push_back({"gs_base", kOffGsBase, Type::I64});
    info_ = ir::ArchInfo{"x86_64", sizeof(State), &state_name, helper_table(), H_Count};
  }

  const ir::ArchInfo& arch() const override { return info_; }
  const std::vector<RegInfo>& registers() const override { return regs_; }
  uint32_t pc_offset() const override { return kOffRip; }
  // As after RESET/INIT (SDM Vol. 3 §9.1): MXCSR 0x1f80, FCW 0x037f, all x87 registers empty.
  void reset_state(uint8_t* state) const override {
    reset_fpu(*reinterpret_cast<State*>(state));
  }
  // The exception vectors: #DE 0, #BP 3, #UD 6, #GP 13, #AC 17, #XM 19.
  uint32_t exception_cause(GuestException e) const override {
    switch (e) {
      case GuestException::Syscall: return 0x80;  // (syscall has no vector; unicorn reports it apart)
      case GuestException::Breakpoint: return 3;
      case GuestException::IllegalInsn: return 6;
      case GuestException::LoadMisaligned:
      case GuestException::StoreMisaligned: return 17;
      case GuestException::DivideError: return 0;
      case GuestException::GeneralProtection: return 13;
      case GuestException::FloatingPointError: return 19;  // #XM (an x87 #MF at fwait is reported alike)
    }
    return 6;
  }
  const char* register_examples() const override {
    return "'rax', 'eax', 'ax', 'al', 'ah', 'r8', 'r8d', 'rsp', 'rip', 'rflags', 'xmm0' or 'fs_base'";
  }

  // Zydis' Intel-syntax text, and the bytes.
  std::string describe_insn(const CodeSource& code, uint64_t pc) const override {
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH] = {};
    size_t avail = ZYDIS_MAX_INSTRUCTION_LENGTH;
    while (avail > 0 && !code.fetch(pc, bytes, avail)) --avail;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!avail || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder_, bytes, avail, &insn, ops))) return "";
    char text[256];
    if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter_, &insn, ops, insn.operand_count_visible, text,
                                                      sizeof text, pc, nullptr)))
      return "";
    std::string out = text;
    out += " (";
    static const char* const kHex = "0123456789abcdef";
    for (unsigned i = 0; i < insn.length; ++i) {
      if (i) out += ' ';
      out += kHex[bytes[i] >> 4];
      out += kHex[bytes[i] & 15];
    }
    return out + ")";
  }

  void translate(uint64_t pc, const CodeSource& code, ir::Builder& b, unsigned max_insns) const override {
    ir::Block& blk = b.block();
    Flags flags;  // what this block knows of the arithmetic flags (nothing yet)
    for (unsigned n = 0;; ++n) {
      if (n == max_insns || (n > 0 && b.ends_block_before(pc))) {
        b.jmp(pc);
        return;
      }
      // Up to 15 bytes, fewer where the next page is not executable.
      uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH] = {};
      size_t avail = ZYDIS_MAX_INSTRUCTION_LENGTH;
      while (avail > 0 && !code.fetch(pc, bytes, avail)) --avail;
      Insn in{};
      in.pc = pc;
      ZyanStatus st = avail ? ZydisDecoderDecodeFull(&decoder_, bytes, avail, &in.d, in.ops) : ZYDIS_STATUS_NO_MORE_DATA;
      if (st == ZYDIS_STATUS_NO_MORE_DATA) {
        // It runs into memory that cannot be fetched: as the block's first instruction that is a
        // fetch fault there; otherwise the block ends before it.
        if (n > 0) return b.jmp(pc);
        b.begin_insn(pc, 0, 0);
        return b.exit(ir::ExitKind::FetchFault, pc + avail);
      }
      uint32_t first4 = 0;
      std::memcpy(&first4, bytes, 4);
      const uint8_t len = ZYAN_SUCCESS(st) ? in.d.length : 1;
      size_t insts_before = blk.insts.size();
      b.begin_insn(pc, len, first4);
      // An instrumentation hook may change RFLAGS (regs.rflags = ...): what the block knew is void.
      for (size_t i = insts_before; i < blk.insts.size(); ++i)
        if (blk.insts[i].op == ir::Op::hook) flags = Flags{};
      const size_t lifted_from = blk.insts.size();
      const Flags flags_before = flags;
      Ctx c{b, in, flags};
      bool lifted = false;
      if (ZYAN_SUCCESS(st))
        for (LiftFn lift : lifters().by_mnemonic[in.d.mnemonic]) {
          blk.insts.resize(lifted_from);  // (what a declining lifter emitted)
          flags = flags_before;
          if ((lifted = lift(c))) break;
        }
      if (!lifted) {
        // Undecodable, or a mnemonic or form vmkit does not lift: drop what was emitted, report it.
        blk.insts.resize(lifted_from);
        flags = flags_before;
        b.exit(ir::ExitKind::IllegalInsn, pc, first4);
        blk.end_pc = pc + len;
        return;
      }
      pc += len;
      blk.end_pc = pc;
      if (b.terminated()) return;
    }
  }

 private:
  ZydisDecoder decoder_;
  ZydisFormatter formatter_;
  std::vector<RegInfo> regs_;
  ir::ArchInfo info_;
};

}  // namespace

std::unique_ptr<Frontend> make_frontend() { return std::make_unique<X64Frontend>(); }

}  // namespace vmkit::x64
