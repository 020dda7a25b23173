// Tier 1 for x86-64 hosts: one pass over a block's IR, emitting host code with Xbyak (Debian's
// libxbyak-dev: a header-only x86 assembler made for JITs, the one Dynarmic's backend uses; it
// encodes an instruction in a few nanoseconds, so writing our own encoder would buy nothing).
//
// Each op loads its operands into scratch registers, computes, and leaves its result in one of a
// few host registers (blocks are straight-line code, so which temporary each holds is known at
// every point). A temporary is also written to its home in the block's frame only where something
// may read it from there: the operands of loads and stores (fault reports read them), and values
// still needed after a store (a store into translated code resumes the block in the interpreter,
// which reads the frame). Others live in registers only, and are written home (spilled) when their
// register is needed or a call would clobber it while they are still to be used.
//
// Fixed registers inside compiled code:
//   rbx = JitContext*   r12 = guest state   r13 = frame (slot array)
//   r14 = guest memory base   r15 = guest memory size   rbp = code page map
#include <cstddef>
#include <type_traits>
#include <functional>
#include <vector>

#include <xbyak/xbyak.h>

#include "core/guest_common.h"
#include "interp/interpreter.h"
#include "ir/semantics.h"
#include "jit/jit.h"

namespace vmkit::jit {

namespace {

using namespace Xbyak;
using namespace Xbyak::util;
using ir::Op;
using ir::Slot;
using IrType = ir::Type;  // (Xbyak's CodeGenerator has a Type of its own)

// C functions for the ops emitted as calls (rare or long in x86 code), with the interpreter's
// semantics (ir/semantics.h).
uint64_t call_divs(uint64_t a, uint64_t b, uint64_t w) { return ir::semantics::div_s(a, b, unsigned(w)); }
uint64_t call_rems(uint64_t a, uint64_t b, uint64_t w) { return ir::semantics::rem_s(a, b, unsigned(w)); }
uint64_t call_divu(uint64_t a, uint64_t b, uint64_t w) {
  uint64_t m = w >= 64 ? ~0ull : (1ull << w) - 1;
  return b == 0 ? m : a / b;
}
uint64_t call_remu(uint64_t a, uint64_t b, uint64_t) { return b == 0 ? a : a % b; }
uint64_t call_mulhs(uint64_t a, uint64_t b, uint64_t w) { return ir::semantics::mul_high(Op::mulhs, a, b, unsigned(w)); }
uint64_t call_mulhu(uint64_t a, uint64_t b, uint64_t w) { return ir::semantics::mul_high(Op::mulhu, a, b, unsigned(w)); }
uint64_t call_mulhsu(uint64_t a, uint64_t b, uint64_t w) { return ir::semantics::mul_high(Op::mulhsu, a, b, unsigned(w)); }
uint64_t call_orcb(uint64_t a, uint64_t, uint64_t w) { return ir::semantics::or_combine_bytes(a, unsigned(w)); }

// A guest load or store that overlaps the memory hooks' range (the slow path of compiled loads
// and stores while memory hooks exist): runs the hooks as the interpreter's checked handlers do.
uint32_t call_mem_hooks(JitContext* ctx, uint32_t code_index, uint32_t access, uint64_t addr, uint32_t size,
                        uint64_t value) {
  HookRuntime* rt = ctx->hooks;
  uint64_t pc = locate_access(*ctx->block, code_index, &rt->access_index);
  return uint32_t(rt->mem(rt, MemAccess(access), pc, addr, size, value));
}

constexpr int kCtxState = offsetof(JitContext, state);
constexpr int kCtxMemBase = offsetof(JitContext, mem_base);
constexpr int kCtxMemSize = offsetof(JitContext, mem_size);
constexpr int kCtxCodePages = offsetof(JitContext, code_pages);
constexpr int kCtxHooks = offsetof(JitContext, hooks);
constexpr int kCtxNextPc = offsetof(JitContext, next_pc);
constexpr int kCtxAddr = offsetof(JitContext, addr);
constexpr int kCtxCodeIndex = offsetof(JitContext, code_index);
constexpr int kCtxSize = offsetof(JitContext, size);
constexpr int kCtxDetail = offsetof(JitContext, detail);
constexpr int kCtxSucc = offsetof(JitContext, succ);
constexpr int kCtxExitKind = offsetof(JitContext, exit_kind);
constexpr int kCtxWrite = offsetof(JitContext, write);
constexpr int kCtxCacheEpoch = offsetof(JitContext, cache_epoch);
constexpr int kCtxFastTable = offsetof(JitContext, fast_table);
constexpr int kCtxProgress = offsetof(JitContext, progress);
constexpr int kCtxBudget = offsetof(JitContext, budget);
constexpr int kCtxBlock = offsetof(JitContext, block);
constexpr int kProgressInsns = offsetof(ChainProgress, insns);
constexpr int kProgressBlocks = offsetof(ChainProgress, blocks);

class BlockCompiler : public CodeGenerator {
 public:
  // Code is assembled into `buf` (plain memory, reused from block to block: no allocation or
  // page protection per compile) and copied into the code cache.
  BlockCompiler(CachedBlock& b, const HookRuntime* hooks, uint8_t* buf, size_t size)
      : CodeGenerator(size, buf), cb_(b), b_(b.ir), mem_hooks_(hooks && hooks->has_mem_hooks()),
        mem_lo_(hooks ? hooks->mem_lo : 1), mem_hi_(hooks ? hooks->mem_hi : 0) {}
  size_t body_offset() const { return size_t(body_.getAddress() - getCode()); }

  void compile() {
    analyse();
    push(rbp);
    push(rbx);
    push(r12);
    push(r13);
    push(r14);
    push(r15);
    sub(rsp, 8);  // 16-byte aligned for calls
    mov(rbx, rdi);
    mov(r12, qword[rbx + kCtxState]);
    mov(r14, qword[rbx + kCtxMemBase]);
    mov(r15, qword[rbx + kCtxMemSize]);
    mov(rbp, qword[rbx + kCtxCodePages]);
    // Blocks chained into this one enter here, with the fixed registers set.
    L(body_);
    mov(r13, reinterpret_cast<uint64_t>(cb_.frame.data()));
    mov(rax, reinterpret_cast<uint64_t>(&cb_));
    mov(qword[rbx + kCtxBlock], rax);
    for (size_t i = 0; i < b_.insts.size(); ++i) {
      cur_ = uint32_t(i);
      emit(uint32_t(i));
    }
    // Cold paths (faults, code writes, traps, hook exits) after the hot code.
    for (auto& c : cold_) c();
    L(epilogue_);
    add(rsp, 8);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(r12);
    pop(rbx);
    pop(rbp);
    ret();
  }

 private:
  bool is_const(Slot s) const { return b_.slot_is_const[s]; }
  uint64_t const_value(Slot s) const { return b_.slot_init[s]; }
  Address slot(Slot s) { return qword[r13 + int(s) * 8]; }

  void load(const Reg64& r, Slot s) {
    if (is_const(s)) {
      uint64_t v = const_value(s);
      if (v == 0) xor_(r.cvt32(), r.cvt32());
      else if (v <= 0xffffffffull) mov(r.cvt32(), uint32_t(v));
      else mov(r, v);
      return;
    }
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (cached_[k] == s) {
        mov(r, cache_reg(k));
        return;
      }
    mov(r, slot(s));
  }
  void store(Slot d, const Reg64& r) {
    if (home_[d]) mov(slot(d), r);
    unsigned k = pick_reg(ir::kNoSlot, ir::kNoSlot);
    mov(cache_reg(k), r);
    cached_[k] = d;
  }
  // A cache register for a new result: one that holds nothing still needed, else one whose value
  // is home, else one spilled; never one holding `keep1`/`keep2` (operands still to be read).
  unsigned pick_reg(Slot keep1, Slot keep2) {
    auto usable = [&](unsigned j) { return cached_[j] == ir::kNoSlot || (cached_[j] != keep1 && cached_[j] != keep2); };
    unsigned k = kCacheRegs;
    for (unsigned j = 0; j < kCacheRegs && k == kCacheRegs; ++j)
      if (usable(j) && !live(cached_[j])) k = j;
    for (unsigned j = 0; j < kCacheRegs && k == kCacheRegs; ++j) {
      unsigned c = (next_cache_ + j) % kCacheRegs;
      if (usable(c) && cached_[c] != ir::kNoSlot && home_[cached_[c]]) k = c;
    }
    for (unsigned j = 0; j < kCacheRegs && k == kCacheRegs; ++j) {
      unsigned c = (next_cache_ + j) % kCacheRegs;
      if (usable(c)) k = c;
    }
    spill(k);
    next_cache_ = k + 1;
    return k;
  }
  int cached_reg_of(Slot s) const {
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (cached_[k] == s) return int(k);
    return -1;
  }

  // add/sub/and/or/xor/mul at 32 or 64 bits, computed straight into the result's cache
  // register from the operands' registers (or an immediate, or the frame).
  void alu_in_place(const ir::Inst& in, unsigned w) {
    unsigned k = pick_reg(in.a, in.b);
    const Reg64& d = cache_reg(k);
    load(d, in.a);
    // src: a register or a (sign-extended) 32-bit immediate
    auto apply = [&](const auto& src) {
      switch (in.op) {
        case Op::add: add(d, src); break;
        case Op::sub: sub(d, src); break;
        case Op::and_: and_(d, src); break;
        case Op::or_: or_(d, src); break;
        case Op::xor_: xor_(d, src); break;
        default:  // mul
          if constexpr (std::is_same_v<std::decay_t<decltype(src)>, uint32_t>) imul(d, d, int(src));
          else imul(d, src);
          break;
      }
    };
    int rb = cached_reg_of(in.b);
    if (is_const(in.b) && int64_t(const_value(in.b)) == int64_t(int32_t(uint32_t(const_value(in.b))))) {
      apply(uint32_t(const_value(in.b)));
    } else if (rb >= 0) {
      apply(cache_reg(unsigned(rb)));
    } else {
      load(rcx, in.b);
      apply(rcx);
    }
    if (w == 32) mov(d.cvt32(), d.cvt32());
    if (home_[in.dst]) mov(slot(in.dst), d);
    cached_[k] = in.dst;
  }
  bool live(Slot s) const { return s != ir::kNoSlot && last_use_[s] > cur_; }
  // Writes register k's temporary home if it lives only there and is still needed.
  void spill(unsigned k) {
    Slot s = cached_[k];
    if (s != ir::kNoSlot && !home_[s] && live(s)) {
      mov(slot(s), cache_reg(k));
      home_[s] = 1;  // from here on it is home
    }
    cached_[k] = ir::kNoSlot;
  }
  // Before a call (which clobbers the cache registers, caller-saved): values needed later go home.
  void spill_live() {
    for (unsigned k = 0; k < kCacheRegs; ++k) {
      Slot s = cached_[k];
      if (s != ir::kNoSlot && !home_[s] && last_use_[s] > cur_) {
        mov(slot(s), cache_reg(k));
        home_[s] = 1;
      }
    }
  }
  void forget_cache() {
    for (auto& c : cached_) c = ir::kNoSlot;
  }

  // Where each temporary is last used, and which need a home in the frame (see the file comment).
  void analyse() {
    const size_t ns = b_.num_slots(), n = b_.insts.size();
    last_use_.assign(ns, 0);
    home_.assign(ns + 1, 0);  // [ns]: kNoSlot's entry would be out of range; kept 0
    std::vector<uint32_t> def(ns, UINT32_MAX), uses(ns, 0);
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst& in = b_.insts[i];
      for (Slot s : {in.a, in.b, in.c})
        if (s != ir::kNoSlot) {
          last_use_[s] = i;
          ++uses[s];
        }
      if (in.dst != ir::kNoSlot) def[in.dst] = i;
      if (in.op == Op::load || in.op == Op::loads || in.op == Op::store) {
        home_[in.a] = 1;
        if (in.op == Op::store) home_[in.b] = 1;
        // the threaded form's operands (what fault reports read) may be other slots
        const ThreadedInst& t = cb_.code[code_index_of(cb_, i)];
        if (t.a != ir::kNoSlot) home_[t.a] = 1;
        if (in.op == Op::store && t.b != ir::kNoSlot) home_[t.b] = 1;
      }
    }
    // A compare used only by the block's br is done by the br (compare and jump, no flag value):
    // its operands then live until the br.
    const ir::Inst& term = b_.insts[n - 1];
    if (term.op == Op::br && !b_.slot_is_const[term.a] && uses[term.a] == 1 && def[term.a] != UINT32_MAX) {
      const ir::Inst& c = b_.insts[def[term.a]];
      if (c.op == Op::eq || c.op == Op::ne || c.op == Op::lts || c.op == Op::ltu || c.op == Op::ges || c.op == Op::geu) {
        fused_compare_ = def[term.a];
        last_use_[c.a] = last_use_[c.b] = uint32_t(n - 1);
      }
    }
    // After a store into translated code the interpreter runs the rest of the block from the
    // threaded form, whose operands can be other slots than the IR's (merged truncations): every
    // temporary it may read there needs a home.
    for (uint32_t i = 0; i < n; ++i) {
      if (b_.insts[i].op != Op::store) continue;
      for (size_t s = 0; s < ns; ++s)
        if (!b_.slot_is_const[s] && def[s] < i && last_use_[s] > i) home_[s] = 1;
      for (size_t j = code_index_of(cb_, i) + 1; j < cb_.code.size(); ++j) {
        const ThreadedInst& t = cb_.code[j];
        for (Slot s : {t.dst, t.a, t.b, t.c})
          if (s != ir::kNoSlot && s < ns && !b_.slot_is_const[s] && def[s] < i) home_[s] = 1;
      }
    }
  }
  std::vector<uint32_t> last_use_;
  std::vector<uint8_t> home_;
  uint32_t fused_compare_ = UINT32_MAX;  // IR index of the compare the br does itself
  uint32_t cur_ = 0;
  static constexpr unsigned kCacheRegs = 4;
  const Reg64& cache_reg(unsigned k) const {
    switch (k) {
      case 0: return r8;
      case 1: return r9;
      case 2: return r10;
      default: return r11;
    }
  }
  Slot cached_[kCacheRegs] = {ir::kNoSlot, ir::kNoSlot, ir::kNoSlot, ir::kNoSlot};
  unsigned next_cache_ = 0;

  // Keeps the low bits of type t (values narrower than 64 bits are zero-extended in their slot).
  void mask(const Reg64& r, IrType t) {
    switch (ir::type_bits(t)) {
      case 64: break;
      case 32: mov(r.cvt32(), r.cvt32()); break;
      case 16: movzx(r.cvt32(), r.cvt16()); break;
      case 8: movzx(r.cvt32(), r.cvt8()); break;
      case 1: and_(r.cvt32(), 1); break;
      default: break;
    }
  }
  // Sign-extends the low `bits` of r to 64 bits.
  void sext(const Reg64& r, unsigned bits) {
    switch (bits) {
      case 64: break;
      case 32: movsxd(r, r.cvt32()); break;
      case 16: movsx(r, r.cvt16()); break;
      case 8: movsx(r, r.cvt8()); break;
      case 1: shl(r, 63); sar(r, 63); break;
      default: break;
    }
  }

  // The block's threaded-form position of IR inst i (what the execution loop's paths expect).
  uint32_t code_index(uint32_t i) const { return code_index_of(cb_, i); }
  void mark_position(uint32_t i) { mov(dword[rbx + kCtxCodeIndex], code_index(i)); }

  // Leave with exit code `kind` (a BlockOutcome::Kind) from a cold path.
  void leave(uint32_t kind) {
    mov(eax, kind);
    jmp(epilogue_, T_NEAR);
  }

  // Calls fn(a, b, w) for the ops done in C; result in rax.
  void call3(uint64_t (*fn)(uint64_t, uint64_t, uint64_t), Slot a, Slot bslot, unsigned w) {
    spill_live();
    load(rdi, a);
    load(rsi, bslot);
    mov(edx, w);
    mov(rax, reinterpret_cast<uint64_t>(fn));
    call(rax);
    forget_cache();
  }

  // The address check of a load or store of `bytes` at rax: beyond the guest range is a fault
  // reported here; holes inside it fault in the host (SIGSEGV) at the position marked.
  // No position is stored on this path: a host fault in the access is placed through the
  // block's fault table (see record_access), the cold paths store it themselves.
  void check_address(uint32_t i, unsigned bytes, bool write) {
    lea(rdx, ptr[r15 - int(bytes)]);
    cmp(rax, rdx);
    auto fault = std::make_shared<Label>();
    ja(*fault, T_NEAR);
    uint32_t ci = code_index(i);
    cold_.push_back([this, fault, write, ci] {
      L(*fault);
      mov(dword[rbx + kCtxCodeIndex], ci);
      mov(qword[rbx + kCtxAddr], rax);
      mov(byte[rbx + kCtxWrite], write ? 1 : 0);
      leave(BlockOutcome::MemFault);
    });
  }
  // The next instruction is IR inst i's guest memory access: a host fault there is that access.
  void record_access(uint32_t i) { faults_.push_back({uint32_t(getSize()), code_index(i)}); }
 public:
  std::vector<std::pair<uint32_t, uint32_t>> faults_;  // (host code offset, threaded-form position)
 private:

  void emit(uint32_t i) {
    const ir::Inst& in = b_.insts[i];
    const unsigned w = ir::type_bits(in.type);
    switch (in.op) {
      case Op::get:
        switch (w) {
          case 64: mov(rax, qword[r12 + int(in.aux)]); break;
          case 32: mov(eax, dword[r12 + int(in.aux)]); break;
          case 16: movzx(eax, word[r12 + int(in.aux)]); break;
          default: movzx(eax, byte[r12 + int(in.aux)]); break;
        }
        store(in.dst, rax);
        return;
      case Op::put:
        load(rax, in.a);
        switch (w) {
          case 64: mov(qword[r12 + int(in.aux)], rax); break;
          case 32: mov(dword[r12 + int(in.aux)], eax); break;
          case 16: mov(word[r12 + int(in.aux)], ax); break;
          default: mov(byte[r12 + int(in.aux)], al); break;
        }
        return;
      case Op::add: case Op::sub: case Op::mul: case Op::and_: case Op::or_: case Op::xor_:
      case Op::andn: case Op::orn: case Op::xnor:
        if ((w == 64 || w == 32) && in.op != Op::andn && in.op != Op::orn && in.op != Op::xnor) {
          alu_in_place(in, w);
          return;
        }
        load(rax, in.a);
        load(rcx, in.b);
        switch (in.op) {
          case Op::add: add(rax, rcx); break;
          case Op::sub: sub(rax, rcx); break;
          case Op::mul: imul(rax, rcx); break;
          case Op::and_: and_(rax, rcx); break;
          case Op::or_: or_(rax, rcx); break;
          case Op::xor_: xor_(rax, rcx); break;
          case Op::andn: not_(rcx); and_(rax, rcx); break;
          case Op::orn: not_(rcx); or_(rax, rcx); break;
          default: xor_(rax, rcx); not_(rax); break;  // xnor
        }
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::mulhs: call3(call_mulhs, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::mulhu: call3(call_mulhu, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::mulhsu: call3(call_mulhsu, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::divs: call3(call_divs, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::divu: call3(call_divu, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::rems: call3(call_rems, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::remu: call3(call_remu, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::orcb: call3(call_orcb, in.a, in.a, w); store(in.dst, rax); return;
      case Op::shl: case Op::lshr: case Op::ashr: case Op::rotl: case Op::rotr:
        load(rax, in.a);
        load(rcx, in.b);
        if (w == 64 || w == 32) {
          const Reg& r = w == 64 ? static_cast<const Reg&>(rax) : static_cast<const Reg&>(eax);
          // x86 takes the count modulo 64 (32 for 32-bit operands): the IR's rule for these widths
          switch (in.op) {
            case Op::shl: shl(r, cl); break;
            case Op::lshr: shr(r, cl); break;
            case Op::ashr: sar(r, cl); break;
            case Op::rotl: rol(r, cl); break;
            default: ror(r, cl); break;
          }
        } else {
          and_(ecx, w - 1);
          switch (in.op) {
            case Op::shl: shl(rax, cl); break;
            case Op::lshr: shr(rax, cl); break;
            case Op::ashr: sext(rax, w); sar(rax, cl); break;
            case Op::rotl: w == 16 ? rol(ax, cl) : rol(al, cl); break;
            default: w == 16 ? ror(ax, cl) : ror(al, cl); break;
          }
        }
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::mins: case Op::maxs: case Op::minu: case Op::maxu: {
        load(rax, in.a);
        load(rcx, in.b);
        bool is_signed = in.op == Op::mins || in.op == Op::maxs;
        if (is_signed) {
          sext(rax, w);
          sext(rcx, w);
        }
        cmp(rax, rcx);
        // rax = a; take b when b is the answer
        switch (in.op) {
          case Op::mins: cmovg(rax, rcx); break;
          case Op::maxs: cmovl(rax, rcx); break;
          case Op::minu: cmova(rax, rcx); break;
          default: cmovb(rax, rcx); break;
        }
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      }
      case Op::neg: load(rax, in.a); neg(rax); mask(rax, in.type); store(in.dst, rax); return;
      case Op::not_: load(rax, in.a); not_(rax); mask(rax, in.type); store(in.dst, rax); return;
      case Op::popcnt: load(rax, in.a); popcnt(rax, rax); store(in.dst, rax); return;
      case Op::clz: {
        // clz(0) = w, else (w - 1) - bsr(a) (a is zero-extended)
        load(rcx, in.a);
        mov(eax, w);
        bsr(rdx, rcx);
        mov(esi, w - 1);
        sub(rsi, rdx);
        test(rcx, rcx);
        cmovnz(rax, rsi);
        store(in.dst, rax);
        return;
      }
      case Op::ctz:
        load(rcx, in.a);
        mov(eax, w);
        bsf(rdx, rcx);
        test(rcx, rcx);
        cmovnz(rax, rdx);
        store(in.dst, rax);
        return;
      case Op::bswap:
        load(rax, in.a);
        bswap(rax);
        if (w < 64) shr(rax, 64 - w);
        store(in.dst, rax);
        return;
      case Op::eq: case Op::ne: case Op::lts: case Op::ltu: case Op::ges: case Op::geu: {
        if (i == fused_compare_) return;  // the br does it
        load(rax, in.a);
        load(rcx, in.b);
        unsigned sw = ir::type_bits(IrType(in.sub));
        if (in.op == Op::lts || in.op == Op::ges) {
          sext(rax, sw);
          sext(rcx, sw);
        }
        cmp(rax, rcx);
        switch (in.op) {
          case Op::eq: sete(al); break;
          case Op::ne: setne(al); break;
          case Op::lts: setl(al); break;
          case Op::ltu: setb(al); break;
          case Op::ges: setge(al); break;
          default: setae(al); break;
        }
        movzx(eax, al);
        store(in.dst, rax);
        return;
      }
      case Op::select:
        load(rdx, in.a);
        load(rax, in.c);
        load(rcx, in.b);
        test(rdx, rdx);
        cmovnz(rax, rcx);
        store(in.dst, rax);
        return;
      case Op::zext:
        load(rax, in.a);
        store(in.dst, rax);
        return;
      case Op::sext:
        load(rax, in.a);
        sext(rax, ir::type_bits(IrType(in.sub)));
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::trunc:
        load(rax, in.a);
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::load: case Op::loads: {
        unsigned bytes = in.sub / 8u;
        load(rax, in.a);
        check_address(i, bytes, false);
        if (mem_hooks_) mov(rsi, rax);  // the address, for the read hooks after the load
        record_access(i);
        if (in.op == Op::load) {
          switch (bytes) {
            case 8: mov(rax, qword[r14 + rax]); break;
            case 4: mov(eax, dword[r14 + rax]); break;
            case 2: movzx(eax, word[r14 + rax]); break;
            default: movzx(eax, byte[r14 + rax]); break;
          }
        } else {
          switch (bytes) {
            case 8: mov(rax, qword[r14 + rax]); break;
            case 4: movsxd(rax, dword[r14 + rax]); break;
            case 2: movsx(rax, word[r14 + rax]); break;
            default: movsx(rax, byte[r14 + rax]); break;
          }
          mask(rax, in.type);
        }
        mem_hook_check(i, bytes, MemAccess::Read, rax);
        store(in.dst, rax);
        return;
      }
      case Op::store: {
        unsigned bytes = in.sub / 8u;
        load(rax, in.a);
        load(rcx, in.b);
        check_address(i, bytes, true);
        if (mem_hooks_) {
          mov(rsi, rax);
          mem_hook_check(i, bytes, MemAccess::Write, rcx);  // before the store, like the interpreter
        }
        record_access(i);
        switch (bytes) {
          case 8: mov(qword[r14 + rax], rcx); break;
          case 4: mov(dword[r14 + rax], ecx); break;
          case 2: mov(word[r14 + rax], cx); break;
          default: mov(byte[r14 + rax], cl); break;
        }
        // A store into a page that holds translations: stop after it (see BlockOutcome::CodeWrite).
        mov(rdx, rax);
        shr(rdx, 12);
        movzx(esi, byte[rbp + rdx]);
        lea(rdx, ptr[rax + int(bytes) - 1]);
        shr(rdx, 12);
        or_(sil, byte[rbp + rdx]);
        auto hit = std::make_shared<Label>();
        jnz(*hit, T_NEAR);
        uint32_t ci = code_index(i);
        cold_.push_back([this, hit, bytes, ci] {
          L(*hit);
          mov(dword[rbx + kCtxCodeIndex], ci);
          mov(qword[rbx + kCtxAddr], rax);
          mov(dword[rbx + kCtxSize], bytes);
          leave(BlockOutcome::CodeWrite);
        });
        return;
      }
      case Op::fence:
        mfence();
        return;
      case Op::call: {
        spill_live();
        mark_position(i);
        const ir::HelperInfo& h = b_.arch->helpers[in.aux];
        mov(rdi, r12);
        if (in.a != ir::kNoSlot) load(rsi, in.a); else xor_(esi, esi);
        if (in.b != ir::kNoSlot) load(rdx, in.b); else xor_(edx, edx);
        if (in.c != ir::kNoSlot) load(rcx, in.c); else xor_(ecx, ecx);
        mov(r8d, uint32_t(in.sub));
        mov(rax, reinterpret_cast<uint64_t>(h.fn));
        call(rax);
        forget_cache();
        cmp(dword[r12 + int(offsetof(GuestCommon, trap) + offsetof(PendingTrap, pending))], 0);
        auto trap = std::make_shared<Label>();
        jne(*trap, T_NEAR);
        cold_.push_back([this, trap] {
          L(*trap);
          leave(BlockOutcome::Trap);
        });
        if (in.dst != ir::kNoSlot) {
          mask(rax, in.type);
          store(in.dst, rax);
        }
        return;
      }
      case Op::hook: {
        spill_live();
        mark_position(i);
        uint32_t size = in.aux ? in.aux : uint32_t(b_.end_pc - b_.pc);
        mov(rdi, qword[rbx + kCtxHooks]);
        mov(esi, uint32_t(in.sub));
        load(rdx, in.a);
        mov(ecx, size);
        call(qword[rdi + int(offsetof(HookRuntime, code))]);
        forget_cache();
        test(eax, eax);
        auto hooked = std::make_shared<Label>();
        jnz(*hooked, T_NEAR);
        cold_.push_back([this, hooked] {
          L(*hooked);
          leave(BlockOutcome::Hooked);
        });
        return;
      }
      case Op::jmp:
        load(rax, in.a);
        xor_(esi, esi);
        chain();
        return;
      case Op::br: {
        if (fused_compare_ != UINT32_MAX) {
          // compare, then pick the target without a flag value: rax = next pc, esi = successor
          const ir::Inst& c = b_.insts[fused_compare_];
          load(rdx, c.a);
          load(rcx, c.b);
          if (c.op == Op::lts || c.op == Op::ges) {
            unsigned sw = ir::type_bits(IrType(c.sub));
            sext(rdx, sw);
            sext(rcx, sw);
          }
          load(rax, in.c);  // fallthrough (mov: the flags of the cmp below survive)
          load(rdi, in.b);  // taken
          mov(esi, 1);
          mov(r8d, 0);
          cmp(rdx, rcx);
          switch (c.op) {
            case Op::eq: cmove(rax, rdi); cmove(esi, r8d); break;
            case Op::ne: cmovne(rax, rdi); cmovne(esi, r8d); break;
            case Op::lts: cmovl(rax, rdi); cmovl(esi, r8d); break;
            case Op::ltu: cmovb(rax, rdi); cmovb(esi, r8d); break;
            case Op::ges: cmovge(rax, rdi); cmovge(esi, r8d); break;
            default: cmovae(rax, rdi); cmovae(esi, r8d); break;
          }
          chain();
          return;
        }
        load(rdx, in.a);
        load(rax, in.b);
        load(rcx, in.c);
        xor_(esi, esi);
        mov(edi, 1);
        test(rdx, rdx);
        cmovz(rax, rcx);
        cmovz(esi, edi);
        chain();
        return;
      }
      case Op::jmpi:
        load(rax, in.a);
        chain_computed();
        return;
      case Op::exit:
        mark_position(i);
        load(rax, in.a);
        mov(qword[rbx + kCtxNextPc], rax);
        mov(dword[rbx + kCtxDetail], in.aux);
        mov(byte[rbx + kCtxExitKind], in.sub);
        mov(eax, uint32_t(BlockOutcome::Exit));
        jmp(epilogue_, T_NEAR);
        return;
      case Op::Count:
        break;
    }
  }

  // End of block with rax = next pc, esi = successor index (0/1): go straight into the linked
  // successor's compiled code if the link is current and the budget has room, else return Next.
  void chain() {
    mov(qword[rbx + kCtxNextPc], rax);
    mov(dword[rbx + kCtxSucc], esi);
    Label out;
    mov(rdi, reinterpret_cast<uint64_t>(&cb_.link[0]));
    mov(rdx, qword[rdi + rsi * 8]);
    test(rdx, rdx);
    jz(out, T_NEAR);
    mov(rdi, reinterpret_cast<uint64_t>(&cb_.link_epoch));
    mov(rcx, qword[rdi]);
    mov(rdi, qword[rbx + kCtxCacheEpoch]);
    cmp(rcx, qword[rdi]);
    jne(out, T_NEAR);
    enter_next(out);
  }

  // A computed target (rax): found through the block cache's direct-mapped table (which is
  // cleared whenever translations are dropped), entered like a linked successor.
  void chain_computed() {
    mov(qword[rbx + kCtxNextPc], rax);
    mov(dword[rbx + kCtxSucc], -1);
    Label out;
    mov(rdx, rax);
    shr(rdx, 1);
    and_(edx, uint32_t(BlockCache::kFastSize - 1));
    shl(rdx, 4);
    static_assert(sizeof(BlockCache::Fast) == 16);
    add(rdx, qword[rbx + kCtxFastTable]);
    cmp(rax, qword[rdx]);
    jne(out, T_NEAR);
    mov(rdx, qword[rdx + 8]);
    test(rdx, rdx);
    jz(out, T_NEAR);
    enter_next(out);
  }

  // rdx = the next block: jump into its compiled code if it has some and the budget has room
  // (counting this block as finished), else leave through `out` with Next.
  void enter_next(Label& out) {
    mov(rcx, qword[rdx + off_body_]);
    test(rcx, rcx);
    jz(out, T_NEAR);
    mov(rdi, qword[rbx + kCtxProgress]);
    mov(r8, qword[rdi + kProgressInsns]);
    add(r8, cb_.guest_insns);
    mov(r9d, dword[rdx + off_guest_insns_]);
    add(r9, r8);
    cmp(r9, qword[rbx + kCtxBudget]);
    ja(out, T_NEAR);
    mov(qword[rdi + kProgressInsns], r8);
    add(qword[rdi + kProgressBlocks], 1);
    mov(rdi, reinterpret_cast<uint64_t>(&cb_.executions));
    add(qword[rdi], 1);
    jmp(rcx);
    L(out);
    mov(eax, uint32_t(BlockOutcome::Next));
    jmp(epilogue_, T_NEAR);
  }

  // With memory hooks: an access at rsi (address) of `bytes` that overlaps the hooked range calls
  // them (value in `value`, a register the cold path preserves with the others it may clobber).
  // A hook that asks to leave ends the block with Hooked at the access (not performed if a store).
  void mem_hook_check(uint32_t i, unsigned bytes, MemAccess access, const Reg64& value) {
    if (!mem_hooks_) return;
    auto slow = std::make_shared<Label>();
    auto back = std::make_shared<Label>();
    // The range is the one at compile time (the hook set drops translations when it changes):
    // as immediates when they fit, which keeps the check to two compares on the fast path.
    if (mem_hi_ < 0x80000000ull) {
      cmp(rsi, uint32_t(mem_hi_));
      ja(*back, T_NEAR);
      lea(rdx, ptr[rsi + int(bytes) - 1]);
      cmp(rdx, uint32_t(mem_lo_));
      jae(*slow, T_NEAR);
    } else {
      mov(rdi, qword[rbx + kCtxHooks]);
      lea(rdx, ptr[rsi + int(bytes) - 1]);
      cmp(rdx, qword[rdi + int(offsetof(HookRuntime, mem_lo))]);
      jb(*back, T_NEAR);
      cmp(rsi, qword[rdi + int(offsetof(HookRuntime, mem_hi))]);
      jbe(*slow, T_NEAR);
    }
    L(*back);
    uint32_t ci = code_index(i);
    uint64_t m = bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    cold_.push_back([this, slow, back, ci, bytes, access, &value, m] {
      L(*slow);
      // caller-saved registers that hold live values: the access's operands and the cache
      push(rax);
      push(rcx);
      push(r8);
      push(r9);
      push(r10);
      push(r11);
      push(rsi);
      sub(rsp, 8);  // 16-byte alignment for the call
      mov(rdi, rbx);
      mov(r9, value);
      mov(rax, m);
      and_(r9, rax);
      mov(rcx, rsi);
      mov(esi, ci);
      mov(edx, uint32_t(access));
      mov(r8d, bytes);
      mov(rax, reinterpret_cast<uint64_t>(&call_mem_hooks));
      call(rax);
      add(rsp, 8);
      pop(rsi);
      pop(r11);
      pop(r10);
      pop(r9);
      pop(r8);
      pop(rcx);
      test(eax, eax);
      pop(rax);
      jz(*back, T_NEAR);
      mov(dword[rbx + kCtxCodeIndex], ci);
      leave(BlockOutcome::Hooked);
    });
  }

  CachedBlock& cb_;
  const ir::Block& b_;
  const bool mem_hooks_;
  const uint64_t mem_lo_, mem_hi_;
  // Offsets of CachedBlock fields the chaining code reads in the next block (CachedBlock is not
  // standard-layout, so offsetof is not available; every instance has the same layout).
  const int off_body_ = int(reinterpret_cast<const char*>(&cb_.jit_body) - reinterpret_cast<const char*>(&cb_));
  const int off_guest_insns_ = int(reinterpret_cast<const char*>(&cb_.guest_insns) - reinterpret_cast<const char*>(&cb_));
  Label body_;
  Label epilogue_;
  std::vector<std::function<void()>> cold_;
};

}  // namespace

bool compile_block(CachedBlock& b, CodeCache& cache, const HookRuntime* hooks) {
  static thread_local std::vector<uint8_t> buf(size_t(1) << 18);
  BlockCompiler c(b, hooks, buf.data(), buf.size());
  try {
    c.compile();
  } catch (const Xbyak::Error&) {
    return false;  // more code than the buffer holds: the block stays interpreted
  }
  auto* p = static_cast<uint8_t*>(cache.add(c.getCode(), c.getSize()));
  if (!p) return false;
  b.jit = p;
  b.jit_body = p + c.body_offset();
  b.jit_size = uint32_t(c.getSize());
  b.jit_faults = std::move(c.faults_);
  return true;
}

}  // namespace vmkit::jit
