// Tier 1 for x86-64 hosts: one pass over a block's IR, emitting host code with Xbyak (Debian's
// libxbyak-dev: a header-only x86 assembler made for JITs, the one Dynarmic's backend uses; it
// encodes an instruction in a few nanoseconds, so writing our own encoder would buy nothing).
//
// Each op reads its operands where they are (a cache register, a spill slot, an immediate) and
// leaves its result in one of the cache registers (r8-r11, rsi, rdi, r15, r13; blocks are
// straight-line code, so which temporary each holds is known at every point), in place of its
// first operand when that dies there. Temporaries live in registers only, and are spilled only
// when their register is needed or a call would clobber it while they are still to be used.
// Guest-register writes wait until something reads the guest state (see "Deferred guest-register
// writes"). A fault report reads the access's address and value, and the values of the writes
// not yet done, from where the fault table says they are (the signal context has the registers).
// Stores are not checked for translated code: pages holding translations are write-protected
// (GuestMemory::mark_code).
//
// Blocks end in direct jumps (jmp, or jcc for a taken branch) that first go to an exit stub; the
// execution loop patches them to jump into the successor's code once both are compiled
// (CachedBlock::link_compiled), so hot code runs from block to block without returning. Each block
// takes its instructions from the budget in rbp on entry. A block that branches back to itself
// loops inside its code (plan_self_loop).
//
// Fixed registers inside compiled code:
//   rbx = JitContext*   r12 = guest state   r14 = guest memory base   rbp = instructions left in
//   the budget (JitContext::insns_left, written back on the way out and before calls)
//   rsp = a spill area for temporaries (the entry reserves it; chained blocks share it, each for
//   its own temporaries)
//   r15 and r13 are cache registers too, except r13 in blocks with more temporaries than the
//   spill area has room for, which spill to their frame (the slot array) through r13 instead.
#include <cstddef>
#include <type_traits>
#include <functional>
#include <vector>

#include <xbyak/xbyak.h>

#include "core/guest_common.h"
#include "interp/interpreter.h"
#include "ir/semantics.h"
#include "jit/jit.h"
#include "mmu/softmmu.h"

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
uint64_t call_bitrev(uint64_t a, uint64_t, uint64_t w) { return ir::semantics::bit_reverse(a, unsigned(w)); }

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
constexpr int kCtxMemLimit = offsetof(JitContext, mem_limit);
constexpr int kCtxHooks = offsetof(JitContext, hooks);
constexpr int kCtxNextPc = offsetof(JitContext, next_pc);
constexpr int kCtxAddr = offsetof(JitContext, addr);
constexpr int kCtxValue = offsetof(JitContext, value);
constexpr int kCtxCodeIndex = offsetof(JitContext, code_index);
constexpr int kCtxDetail = offsetof(JitContext, detail);
constexpr int kCtxSucc = offsetof(JitContext, succ);
constexpr int kCtxExitKind = offsetof(JitContext, exit_kind);
constexpr int kCtxWrite = offsetof(JitContext, write);
constexpr int kCtxFastTable = offsetof(JitContext, fast_table);
constexpr int kCtxInsnsLeft = offsetof(JitContext, insns_left);
constexpr int kCtxLoopEntryLeft = offsetof(JitContext, loop_entry_left);
constexpr int kCtxBlock = offsetof(JitContext, block);
constexpr int kCtxMmu = offsetof(JitContext, mmu);
constexpr int kCtxDtlb = offsetof(JitContext, dtlb);
constexpr int kCtxMmuAccesses = offsetof(JitContext, mmu_accesses);
constexpr int kCtxCallResult = offsetof(JitContext, call_result);
constexpr int kCtxSystemLookup = offsetof(JitContext, system_lookup);

// System mode's slow paths (a fast-table miss): the software MMU's full path. They return 0, with
// a load's value in ctx->value, or 1 with a trap pending in the guest state (a page or access
// fault, a store into translated code, a device write that stops the machine). The access is
// taken back from ctx->mmu_accesses: the MMU counts it as a miss.
uint32_t call_mmu_load(JitContext* ctx, uint64_t va, uint32_t bytes) {
  --ctx->mmu_accesses;
  uint64_t v;
  if (!ctx->mmu->load_slow(va, bytes, v)) return 1;
  ctx->value = v;
  return 0;
}
uint32_t call_mmu_store(JitContext* ctx, uint64_t va, uint64_t value, uint32_t bytes) {
  --ctx->mmu_accesses;
  return ctx->mmu->store_slow(va, bytes, value) ? 0 : 1;
}

class BlockCompiler : public CodeGenerator {
 public:
  // Code is assembled into `buf` (plain memory, reused from block to block: no allocation or
  // page protection per compile) and copied into the code cache.
  BlockCompiler(CachedBlock& b, const HookRuntime* hooks, uint8_t* buf, size_t size, bool system)
      : CodeGenerator(size, buf), cb_(b), b_(b.ir), mem_hooks_(hooks && hooks->has_mem_hooks()),
        mem_lo_(hooks ? hooks->mem_lo : 1), mem_hi_(hooks ? hooks->mem_hi : 0), system_(system) {}
  size_t body_offset() const { return size_t(body_.getAddress() - getCode()); }

  void compile() {
    stack_spills_ = b_.num_slots() <= kSpillSlots;
    analyse();
    for (size_t i = 0; i < b_.insts.size(); ++i) mem_ops_ += !skip_[i] && is_memory_op(b_.insts[i].op);
    push(rbp);
    push(rbx);
    push(r12);
    push(r13);
    push(r14);
    push(r15);
    sub(rsp, kStackReserve);  // spill area; 16-byte aligned for calls
    mov(rbx, rdi);
    mov(r12, qword[rbx + kCtxState]);
    mov(r14, qword[rbx + (system_ ? kCtxDtlb : kCtxMemBase)]);
    mov(rbp, qword[rbx + kCtxInsnsLeft]);
    // Blocks chained into this one enter here, with the fixed registers set: take this block's
    // instructions from the budget (or return Resume if they do not fit) and count the execution.
    L(body_);
    if (self_exit_ >= 0) mov(qword[rbx + kCtxLoopEntryLeft], rbp);
    sub(rbp, cb_.guest_insns);
    jb(resume_, T_NEAR);
    cold_.push_back([this] {
      L(resume_);
      add(rbp, cb_.guest_insns);
      mov(rax, b_.pc);
      mov(qword[rbx + kCtxNextPc], rax);
      leave(BlockOutcome::Resume);
    });
    if (self_exit_ < 0) {
      mov(rax, reinterpret_cast<uint64_t>(&cb_.executions));
      add(qword[rax], 1);
    }
    if (system_ && mem_ops_) add(qword[rbx + kCtxMmuAccesses], mem_ops_);
    // A block that branches back to itself: the guest registers it keeps in pinned registers
    // are read once, and the edge back comes in below (see plan_self_loop).
    for (const Pinned& p : pinned_) mov(cache_reg(p.reg), qword[r12 + int(p.offset)]);
    if (self_exit_ >= 0) align_code(32);  // the loop's hot code starts a fetch block
    L(loop_head_);
    for (size_t i = 0; i < b_.insts.size(); ++i) {
      cur_ = uint32_t(i);
      if (!skip_[i]) emit(uint32_t(i));
    }
    // Cold paths (faults, traps, hook exits, ways out of loops) after the hot code.
    for (auto& c : cold_) c();
    L(epilogue_);
    mov(qword[rbx + kCtxInsnsLeft], rbp);
    add(rsp, kStackReserve);
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
  static bool is_memory_op(Op op) { return op == Op::load || op == Op::loads || op == Op::store; }
  uint64_t const_value(Slot s) const { return b_.slot_init[s]; }
  // Where a temporary is spilled: slot s of the spill area on the stack, or, in blocks with more
  // slots than it has, of the block's frame. r13 then points at the frame from the first use on
  // (the hot code is straight-line, so that point comes before every later one; cold paths never
  // spill).
  Address slot(Slot s) {
    if (stack_spills_) return qword[rsp + int(s) * 8];
    if (!frame_set_) {
      mov(r13, reinterpret_cast<uint64_t>(cb_.frame.data()));
      frame_set_ = true;
    }
    return qword[r13 + int(s) * 8];
  }
  bool frame_set_ = false;
  static constexpr size_t kSpillSlots = kSpillAreaBytes / 8;
  static constexpr int kStackReserve = kSpillAreaBytes + 8;  // + 8: 16-byte alignment at calls
  bool stack_spills_ = true;

  void load(const Reg64& r, Slot s) {
    if (int p = pinned_reg_of(s); p >= 0) {
      if (cache_reg(unsigned(p)) != r) mov(r, cache_reg(unsigned(p)));
      return;
    }
    if (is_const(s)) {
      uint64_t v = const_value(s);
      if (v == 0) xor_(r.cvt32(), r.cvt32());
      else if (v <= 0xffffffffull) mov(r.cvt32(), uint32_t(v));
      else mov(r, v);
      return;
    }
    for (unsigned k = 0; k < cache_regs(); ++k)
      if (cached_[k] == s) {
        if (cache_reg(k) != r) mov(r, cache_reg(k));
        return;
      }
    mov(r, slot(s));
  }
  void store(Slot d, const Reg64& r) {
    unsigned k = pick_reg(ir::kNoSlot, ir::kNoSlot);
    mov(cache_reg(k), r);
    cached_[k] = d;
  }
  // A cache register for a new result: one that holds nothing still needed, else one whose value
  // is home, else one spilled; never one holding `keep1`/`keep2` (operands still to be read).
  unsigned pick_reg(Slot keep1, Slot keep2) {
    auto usable = [&](unsigned j) { return cached_[j] == ir::kNoSlot || (cached_[j] != keep1 && cached_[j] != keep2); };
    unsigned k = cache_regs();
    for (unsigned j = 0; j < cache_regs() && k == cache_regs(); ++j)
      if (usable(j) && !live(cached_[j])) k = j;
    // One whose value only a deferred put still needs: do that put now (the store the put would
    // have cost anyway) rather than spill the value and read it back.
    for (unsigned j = 0; j < cache_regs() && k == cache_regs(); ++j) {
      unsigned c = (next_cache_ + j) % cache_regs();
      Slot v = cached_[c];
      if (!usable(c) || v == ir::kNoSlot || natural_last_use_[v] > cur_) continue;
      settle_pending([v](const PendingPut& p) { return p.slot == v; });
      last_use_[v] = cur_;
      k = c;
    }
    for (unsigned j = 0; j < cache_regs() && k == cache_regs(); ++j) {
      unsigned c = (next_cache_ + j) % cache_regs();
      if (usable(c) && cached_[c] != ir::kNoSlot && home_[cached_[c]]) k = c;
    }
    for (unsigned j = 0; j < cache_regs() && k == cache_regs(); ++j) {
      unsigned c = (next_cache_ + j) % cache_regs();
      if (usable(c)) k = c;
    }
    spill(k);
    next_cache_ = k + 1;
    return k;
  }
  // Whether v is a sign-extended 32-bit immediate of a 64-bit x86 instruction.
  static bool fits_imm32(uint64_t v) { return int64_t(v) == int64_t(int32_t(uint32_t(v))); }
  // A register holding s: its cache register if it has one, else `scratch` loaded with it.
  Reg64 use(Slot s, const Reg64& scratch) {
    if (!is_const(s)) {
      int k = reg_of(s);
      if (k >= 0) return cache_reg(unsigned(k));
    }
    load(scratch, s);
    return scratch;
  }
  // The cache register k (from pick_reg) now holds d.
  void defined(unsigned k, Slot d) {
    if (k < cache_regs()) {
      cached_[k] = d;
      return;
    }
    for (Pinned& p : pinned_)  // a pinned register, computed in place (dest_for)
      if (p.reg == k) p.holds = d;
  }
  // The register for the result of an op over a (and b): a's own register when a dies here
  // (two-address x86 ops then need no copy), else a free one (pick_reg).
  unsigned dest_for(Slot a, Slot b) {
    // A loop-carried register's next value computed from its current one, which dies here: in
    // the pinned register itself (the edge back then has nothing to move; defined() records it).
    for (const Pinned& p : pinned_)
      if (p.in_place && p.holds == p.get && a == p.get && a != b && p.next == insts_[cur_].dst && last_use_[a] <= cur_)
        return p.reg;
    if (a != ir::kNoSlot && !is_const(a) && a != b && last_use_[a] <= cur_) {
      int k = cached_reg_of(a);
      if (k >= 0) return unsigned(k);  // (defined() then records the result there)
    }
    return pick_reg(a, b);
  }
  // The register (cache index) holding s, pinned or cached, or -1.
  int reg_of(Slot s) const {
    int p = pinned_reg_of(s);
    return p >= 0 ? p : cached_reg_of(s);
  }
  int pinned_reg_of(Slot s) const {
    for (const Pinned& p : pinned_)
      if (s != ir::kNoSlot && s == p.holds) return int(p.reg);
    return -1;
  }
  int cached_reg_of(Slot s) const {
    for (unsigned k = 0; k < cache_regs(); ++k)
      if (cached_[k] == s) return int(k);
    return -1;
  }

  // A compare at 32 or 64 bits, straight from the operands' registers (or against an immediate;
  // a signed or equality compare with 0 is a test) into the result's register.
  void compare_in_place(const ir::Inst& in) {
    const unsigned w = ir::type_bits(IrType(in.sub));
    unsigned k = dest_for(in.a, in.b);  // first: choosing it may write pending puts (through rax)
    const Reg64& d = cache_reg(k);
    Reg64 ra = use(in.a, rax);
    auto sized = [&](const Reg64& r) { return w == 32 ? Reg(r.cvt32()) : Reg(r); };
    const bool imm = is_const(in.b) && (w == 32 || fits_imm32(const_value(in.b)));
    if (imm && const_value(in.b) == 0 && in.op != Op::ltu && in.op != Op::geu) {
      test(sized(ra), sized(ra));  // (SF is the sign and OF is 0, as after cmp with 0)
    } else if (imm) {
      cmp(sized(ra), uint32_t(const_value(in.b)));
    } else {
      cmp(sized(ra), sized(use(in.b, rcx)));
    }
    switch (in.op) {
      case Op::eq: sete(d.cvt8()); break;
      case Op::ne: setne(d.cvt8()); break;
      case Op::lts: setl(d.cvt8()); break;
      case Op::ltu: setb(d.cvt8()); break;
      case Op::ges: setge(d.cvt8()); break;
      default: setae(d.cvt8()); break;
    }
    movzx(d.cvt32(), d.cvt8());
    defined(k, in.dst);
  }

  // add/sub/and/or/xor/mul at 32 or 64 bits, computed straight into the result's cache
  // register from the operands' registers (or an immediate, or the frame).
  void alu_in_place(const ir::Inst& in, unsigned w) {
    unsigned k = dest_for(in.a, in.b);
    const Reg64& d64 = cache_reg(k);
    load(d64, in.a);
    // at 32 bits, the 32-bit forms: they read only the operands' low halves and zero-extend
    const Reg d = w == 32 ? Reg(d64.cvt32()) : Reg(d64);
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
    auto sized = [&](const Reg64& r) { return w == 32 ? Reg(r.cvt32()) : Reg(r); };
    int rb = reg_of(in.b);
    if (is_const(in.b) && (w == 32 || fits_imm32(const_value(in.b)))) {
      apply(uint32_t(const_value(in.b)));  // (at 32 bits every constant is an immediate)
    } else if (rb >= 0) {
      apply(sized(cache_reg(unsigned(rb))));
    } else {
      load(rcx, in.b);
      apply(sized(rcx));
    }
    defined(k, in.dst);
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
    for (unsigned k = 0; k < cache_regs(); ++k) {
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

  // Where each temporary is last used; which truncations cost nothing; the self loop; how long
  // deferred puts keep their values.
  void analyse() {
    const size_t ns = b_.num_slots(), n = b_.insts.size();
    last_use_.assign(ns, 0);
    home_.assign(ns + 1, 0);  // (spilled; [ns]: kNoSlot's entry would be out of range, kept 0)
    std::vector<uint32_t> def(ns, UINT32_MAX), uses(ns, 0);
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst& in = b_.insts[i];
      for (Slot s : {in.a, in.b, in.c})
        if (s != ir::kNoSlot) {
          last_use_[s] = i;
          ++uses[s];
        }
      if (in.dst != ir::kNoSlot) def[in.dst] = i;
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
    // A truncation to 32 bits whose every use reads only the low 32 bits of that operand costs
    // nothing: its uses read the source instead (insts_ has them rewritten, the trunc is skipped).
    insts_ = b_.insts;
    skip_.assign(n, 0);
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst t = insts_[i];
      if (t.op != Op::trunc || ir::type_bits(t.type) != 32 || b_.slot_is_const[t.a]) continue;
      bool ok = true;
      for (uint32_t j = i + 1; j < n && ok; ++j) {
        const ir::Inst& u = insts_[j];
        const Slot ops[3] = {u.a, u.b, u.c};
        for (unsigned p = 0; p < 3; ++p)
          if (ops[p] == t.dst && !reads_low32(u, p)) ok = false;
      }
      if (!ok) continue;
      for (uint32_t j = i + 1; j < n; ++j)
        for (Slot* s : {&insts_[j].a, &insts_[j].b, &insts_[j].c})
          if (*s == t.dst) *s = t.a;
      last_use_[t.a] = std::max(last_use_[t.a], last_use_[t.dst]);
      skip_[i] = 1;
    }
    plan_self_loop();
    defer_puts_ = !mem_hooks_;
    natural_last_use_ = last_use_;
    if (defer_puts_) extend_pending_lifetimes();
  }

  // A block whose branch goes back to its own start (a hot inner loop, typically) loops inside
  // its compiled code: the edge back takes the budget and counts the execution like a block
  // entry. Up to kMaxPinned of the guest registers it writes live in pinned registers all through
  // the loop (those it carries, read then written, first; then those it only writes): read once
  // before the loop, written by a move instead of a store (put_pinned), and to the guest state
  // only on the ways out (store_pins). So an iteration has no store-to-load round trip through
  // the guest state and fewer stores. Guest state stays exact at faults: a pinned register holds
  // its guest register's value at every access (a next value computed in place is only where no
  // access comes before its put), and the fault table points there (pending_now). Not for
  // blocks that call out (calls clobber the registers); the memory hooks' slow path writes them
  // to the guest state before the hooks run and reads them back after.
  static constexpr unsigned kMaxPinned = 4;
  void plan_self_loop() {
    const uint32_t n = uint32_t(insts_.size());
    const ir::Inst& term = insts_[n - 1];
    int k = -1;
    if (term.op == Op::jmp && const_value(term.a) == b_.pc) {
      k = 0;
    } else if (term.op == Op::br) {
      bool taken = const_value(term.b) == b_.pc, fall = const_value(term.c) == b_.pc;
      if (taken != fall) k = taken ? 0 : 1;
    }
    if (k < 0) return;
    struct Access { uint32_t offset, bytes, index; bool is_get; Slot slot; };
    std::vector<Access> state;
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst& in = insts_[i];
      switch (in.op) {
        case Op::call: case Op::callp: case Op::hook: case Op::mulhsu: case Op::orcb: case Op::bitrev:
          return;  // emitted as calls
        case Op::mulhs: case Op::mulhu: case Op::divs: case Op::divu: case Op::rems: case Op::remu:
          if (ir::type_bits(in.type) < 32) return;  // (calls at 8 and 16 bits)
          break;
        case Op::get: state.push_back({in.aux, ir::type_bits(in.type) / 8, i, true, in.dst}); break;
        case Op::put: state.push_back({in.aux, ir::type_bits(in.type) / 8, i, false, in.a}); break;
        default: break;
      }
    }
    // Candidates, carried registers first: 8-byte guest registers that the block reads at most
    // once, before writing them, and touches with no access of another shape (a narrower or
    // overlapping one).
    // A register the loop only writes saves a store per iteration but holds a host register all
    // through: only where the temporaries leave one free (else they would spill instead).
    size_t carried = 0;
    const size_t spare = (stack_spills_ ? 8 : 7) > max_live() ? (stack_spills_ ? 8 : 7) - max_live() : 0;
    for (int pass = 0; pass < 2; ++pass)
      for (const Access& g : state) {
        if (pinned_.size() == kMaxPinned || (pass == 1 && pinned_.size() >= carried + spare)) break;
        if (g.bytes != 8 || (pass == 0) != g.is_get) continue;
        bool ok = true, written = false, seen = false;
        Slot next = ir::kNoSlot;
        uint32_t last_put = 0;
        for (const Access& a : state) {
          if (a.offset + a.bytes <= g.offset || a.offset >= g.offset + 8) continue;
          if (a.offset != g.offset || a.bytes != 8 || (a.is_get && (pass == 1 || a.index != g.index))) ok = false;
          if (!a.is_get) {
            if (a.index < g.index) ok = false;
            written = true;
            next = a.slot;  // the last write wins
            last_put = a.index;
          }
        }
        for (const Pinned& p : pinned_) seen |= p.offset == g.offset;
        if (!ok || !written || seen) continue;
        Pinned p{g.is_get ? g.slot : ir::kNoSlot, g.offset, next};
        p.holds = p.get;
        // The next value may be computed in the pinned register itself only if nothing between
        // its definition and the put can fault (the register must hold the guest register's
        // value at every access).
        for (uint32_t i = 0; i < last_put && !is_const(next); ++i)
          if (insts_[i].dst == next) {
            p.in_place = true;
            for (uint32_t j = i + 1; j < last_put; ++j)
              if (insts_[j].op == Op::load || insts_[j].op == Op::loads || insts_[j].op == Op::store) p.in_place = false;
          }
        if (g.is_get) skip_[g.index] = 1;
        carried += g.is_get;
        pinned_.push_back(p);
      }
    npinned_ = unsigned(pinned_.size());
    for (unsigned j = 0; j < npinned_; ++j) pinned_[j].reg = cache_regs() + j;
    self_exit_ = k;
  }

  // The most temporaries live at once (defined, and used later), from last_use_.
  size_t max_live() const {
    const uint32_t n = uint32_t(insts_.size());
    std::vector<int> delta(n + 1, 0);
    for (uint32_t i = 0; i < n; ++i) {
      Slot d = insts_[i].dst;
      if (skip_[i] || d == ir::kNoSlot || is_const(d) || last_use_[d] <= i) continue;
      ++delta[i];
      --delta[last_use_[d]];
    }
    size_t best = 0;
    int live = 0;
    for (uint32_t i = 0; i < n; ++i) best = std::max(best, size_t(live += delta[i]));
    return best;
  }

  // The edge back to the loop's start (see plan_self_loop), at the block's branch: budget and
  // count, then to the top. (The pinned registers already hold the next iteration's values.)
  void loop_back() {
    if (self_exit_ < 0) return;
    L(loop_back_);
    sub(rbp, cb_.guest_insns);
    jb(loop_resume_, T_NEAR);
    jmp(loop_head_, T_NEAR);
    cold_.push_back([this] {
      L(loop_resume_);  // not enough budget for another iteration: leave with the state written
      store_pins();
      jmp(resume_, T_NEAR);
    });
  }
  // The pinned registers to the guest state, on the ways out of a block that loops on itself.
  void store_pins() {
    for (const Pinned& p : pinned_) store_state(p.offset, 8, cache_reg(p.reg));
  }
  struct Pinned {
    Slot get;         // the get's slot (kNoSlot for a register the loop only writes)
    uint32_t offset;  // in the guest state
    Slot next;        // the value the block writes there last (the next iteration's)
    unsigned reg = 0;      // cache register index
    Slot holds = ir::kNoSlot;  // the slot whose value the register has now
    bool in_place = false;     // `next` may be computed in the register (see plan_self_loop)
  };
  std::vector<Pinned> pinned_;
  unsigned npinned_ = 0;
  Label loop_back_;
  int self_exit_ = -1;  // the successor that is the block itself
  Label loop_head_;
  Label resume_;
  Label loop_resume_;
  // Whether inst u's result depends only on the low 32 bits of its operand p (0 = a, 1 = b,
  // 2 = c) as this compiler emits it.
  static bool reads_low32(const ir::Inst& u, unsigned p) {
    const unsigned w = ir::type_bits(u.type);
    switch (u.op) {
      case Op::add: case Op::sub: case Op::mul: case Op::and_: case Op::or_: case Op::xor_:
      case Op::andn: case Op::orn: case Op::xnor:
        return w <= 32;  // computed in 32-bit forms or masked to w bits
      case Op::trunc: return true;
      case Op::sext: return ir::type_bits(IrType(u.sub)) <= 32;
      case Op::put: return w <= 32;
      case Op::store: return p == 1 && u.sub <= 32;
      case Op::shl: case Op::lshr: case Op::ashr: case Op::rotl: case Op::rotr:
        return p == 1 || w <= 32;  // the count is taken modulo the width
      case Op::eq: case Op::ne: case Op::lts: case Op::ltu: case Op::ges: case Op::geu:
        return ir::type_bits(IrType(u.sub)) <= 32;  // compared at 32 bits (narrower: extended first)
      default: return false;
    }
  }
  std::vector<ir::Inst> insts_;  // the block's insts with aliased truncations resolved
  std::vector<uint8_t> skip_;    // insts that emit nothing
  std::vector<uint32_t> last_use_;
  std::vector<uint32_t> natural_last_use_;  // last_use_ before deferred puts extended it
  std::vector<uint8_t> home_;  // spilled: the value is in its slot() (IR slots are defined once)
  uint32_t fused_compare_ = UINT32_MAX;  // IR index of the compare the br does itself
  uint32_t cur_ = 0;
  // Registers that hold temporaries: r8-r11, rsi, rdi, r15 and (with stack spills) r13.
  static constexpr unsigned kMaxCacheRegs = 8;
  // (the last npinned_ of them are pinned instead, see plan_self_loop)
  // System mode keeps r15 for the fast-table check (see mmu_entry), so it has one fewer.
  unsigned cache_regs() const { return (stack_spills_ ? 8 : 7) - (system_ ? 1 : 0) - npinned_; }
  const Reg64& cache_reg(unsigned k) const {
    if (system_ && k >= 6) return r13;
    switch (k) {
      case 0: return r8;
      case 1: return r9;
      case 2: return r10;
      case 3: return r11;
      case 4: return rsi;
      case 5: return rdi;
      case 6: return r15;
      default: return r13;
    }
  }
  Slot cached_[kMaxCacheRegs] = {ir::kNoSlot, ir::kNoSlot, ir::kNoSlot, ir::kNoSlot,
                                 ir::kNoSlot, ir::kNoSlot, ir::kNoSlot, ir::kNoSlot};
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

  // Pads with (multi-byte) nops to a multiple of `to` bytes from the block's start, which the
  // code cache places at a multiple of CodeCache::kAlign.
  void align_code(size_t to) {
    if (size_t pad = (to - getSize() % to) % to) nop(pad);
  }

  // ---- Deferred guest-register writes ----
  // A put is not done where it stands: it waits (pending_) until something reads those guest
  // bytes (a get), replaces them (a later put of the same bytes drops it), or may look at the
  // whole guest state (calls, hooks, the block's exits), and is done there. So a guest register
  // a block writes several times is stored once. Every access that may fault records where each
  // pending value is (register, constant, spill slot: JitPending in the fault table), and the
  // fault path does those writes: guest state at a fault stays exact. The analysis keeps each
  // pending value alive until its put is done (extend_pending_lifetimes). Not with memory hooks
  // (their slow path would have to do the writes first).
  struct PendingPut {
    uint32_t offset;
    uint8_t bytes;
    Slot slot;
  };
  std::vector<PendingPut> pending_;
  bool defer_puts_ = true;

  // r's low `bytes` bytes to the guest state at offset.
  void store_state(uint32_t offset, unsigned bytes, const Reg64& r) {
    switch (bytes) {
      case 8: mov(qword[r12 + int(offset)], r); break;
      case 4: mov(dword[r12 + int(offset)], r.cvt32()); break;
      case 2: mov(word[r12 + int(offset)], r.cvt16()); break;
      default: mov(byte[r12 + int(offset)], r.cvt8()); break;
    }
  }
  void put_now(uint32_t offset, unsigned bytes, Slot s) { store_state(offset, bytes, use(s, rax)); }
  // Removes the pending puts `pick` selects, doing each one unless `replaced` says a new put of
  // the same bytes makes it unnecessary.
  template <class Pick, class Replaced = bool (*)(const PendingPut&)>
  void settle_pending(Pick pick, Replaced replaced = [](const PendingPut&) { return false; }) {
    for (size_t j = 0; j < pending_.size();) {
      const PendingPut p = pending_[j];
      if (!pick(p)) {
        ++j;
        continue;
      }
      if (!replaced(p)) put_now(p.offset, p.bytes, p.slot);
      pending_.erase(pending_.begin() + long(j));
    }
  }
  void flush_pending() {
    settle_pending([](const PendingPut&) { return true; });
  }
  // Before an access to guest bytes [offset, offset+bytes): the pending writes there are done
  // (or, for a put of exactly the same bytes with drop_same, dropped: it replaces them).
  void flush_overlapping(uint32_t offset, unsigned bytes, bool drop_same = false) {
    settle_pending([&](const PendingPut& p) { return p.offset < offset + bytes && offset < p.offset + p.bytes; },
                   [&](const PendingPut& p) { return drop_same && p.offset == offset && p.bytes == bytes; });
  }
  // A block that loops on itself keeps some guest registers in pinned registers all through
  // (plan_self_loop): a put there is a move, and the register always has the guest register's
  // value, so the fault table points there.
  Pinned* pinned_at(uint32_t offset) {
    for (Pinned& p : pinned_)
      if (p.offset == offset) return &p;
    return nullptr;
  }
  void put_pinned(Pinned& p, Slot v) {
    if (p.holds == v) return;  // computed in place
    const Reg64& r = cache_reg(p.reg);
    if (live(p.holds) && cached_reg_of(p.holds) < 0) {
      // the old value is still needed: to a cache register first
      unsigned k = pick_reg(v, ir::kNoSlot);
      mov(cache_reg(k), r);
      cached_[k] = p.holds;
    }
    load(r, v);
    p.holds = v;
  }
  // Where every guest-register write not yet done is now: the pinned registers and pending_.
  std::vector<CachedBlock::JitPending> pending_now() const {
    std::vector<CachedBlock::JitPending> out;
    for (const Pinned& p : pinned_)
      out.push_back({p.offset, 8, CachedBlock::JitPending::Reg, uint8_t(cache_reg(p.reg).getIdx()), 0});
    for (const PendingPut& p : pending_) out.push_back(where(p));
    return out;
  }
  // Where a pending value is now (see JitPending).
  CachedBlock::JitPending where(const PendingPut& p) const {
    CachedBlock::JitPending w{p.offset, p.bytes, CachedBlock::JitPending::Const, 0, 0};
    if (is_const(p.slot)) {
      w.value = const_value(p.slot);
    } else if (int k = reg_of(p.slot); k >= 0) {
      w.where = CachedBlock::JitPending::Reg;
      w.reg = uint8_t(cache_reg(unsigned(k)).getIdx());
    } else {
      // spilled (it is live until its put is done, so spill() wrote it home)
      w.where = stack_spills_ ? CachedBlock::JitPending::Stack : CachedBlock::JitPending::Frame;
      w.value = stack_spills_ ? uint64_t(p.slot) * 8 : p.slot;
    }
    return w;
  }
  // A pending write from a cold path that leaves the block (rax is free there).
  void put_from(const CachedBlock::JitPending& p) {
    Reg64 r = rax;
    switch (p.where) {
      case CachedBlock::JitPending::Reg: r = Reg64(p.reg); break;
      case CachedBlock::JitPending::Const: mov(rax, p.value); break;
      case CachedBlock::JitPending::Stack: mov(rax, qword[rsp + int(p.value)]); break;
      case CachedBlock::JitPending::Frame: mov(rax, qword[r13 + int(p.value) * 8]); break;
    }
    store_state(p.offset, p.bytes, r);
  }
  // A put's value stays available until the put is done: its slot lives until the next inst that
  // reads or writes those guest bytes or ends the pending (call, hook, terminator).
  void extend_pending_lifetimes() {
    const uint32_t n = uint32_t(insts_.size());
    for (uint32_t i = 0; i < n; ++i) {
      const ir::Inst& p = insts_[i];
      if (p.op != Op::put || skip_[i] || is_const(p.a) || pinned_at(p.aux)) continue;  // (a move)
      const uint32_t lo = p.aux, hi = p.aux + ir::type_bits(p.type) / 8;
      uint32_t end = n - 1;
      for (uint32_t j = i + 1; j < n; ++j) {
        const ir::Inst& u = insts_[j];
        if (skip_[j]) continue;
        bool state_access = u.op == Op::get || u.op == Op::put;
        uint32_t ulo = u.aux, uhi = u.aux + ir::type_bits(u.type) / 8;
        bool ends = u.op == Op::call || u.op == Op::hook || u.op == Op::jmp || u.op == Op::br ||
                    u.op == Op::jmpi || u.op == Op::exit || (state_access && ulo < hi && lo < uhi);
        if (ends) {
          end = j;
          break;
        }
      }
      last_use_[p.a] = std::max(last_use_[p.a], end);
    }
  }

  // The block's threaded-form position of IR inst i (what the execution loop's paths expect).
  uint32_t code_index(uint32_t i) const { return code_index_of(cb_, i); }
  // Before a call (rax is free): where this block is and the budget, for a fault inside the
  // callee.
  void mark_position(uint32_t i) {
    mov(dword[rbx + kCtxCodeIndex], code_index(i));
    mov(qword[rbx + kCtxInsnsLeft], rbp);
    set_block(rax);
  }
  void set_block(const Reg64& scratch) {
    mov(scratch, reinterpret_cast<uint64_t>(&cb_));
    mov(qword[rbx + kCtxBlock], scratch);
  }

  // Leave with exit code `kind` (a BlockOutcome::Kind) about this block.
  // A block that loops on itself counts its runs on the way out (count_loop_runs), except where
  // its way out already did.
  void leave(uint32_t kind, bool count_runs = true) {
    if (count_runs) count_loop_runs();
    set_block(rdx);
    mov(eax, kind);
    jmp(epilogue_, T_NEAR);
  }

  // For a block that loops on itself (plan_self_loop): executions += the budget taken since it
  // was entered / its instructions, an exact division (by the odd part's inverse modulo 2^64,
  // after shifting out the power of two). Clobbers rax and rdx.
  void count_loop_runs() {
    if (self_exit_ < 0) return;
    uint64_t n = cb_.guest_insns, shift = 0;
    while (!(n & 1)) {
      n >>= 1;
      ++shift;
    }
    uint64_t inverse = n;  // Newton's iteration: each step doubles the correct low bits
    for (int k = 0; k < 6; ++k) inverse *= 2 - n * inverse;
    mov(rax, qword[rbx + kCtxLoopEntryLeft]);
    sub(rax, rbp);
    if (shift) shr(rax, int(shift));
    if (n != 1) {
      mov(rdx, inverse);
      imul(rax, rdx);
    }
    mov(rdx, reinterpret_cast<uint64_t>(&cb_.executions));
    add(qword[rdx], rax);
  }

  // Calls the helper of a call/callp: fn(state, a, b, c, imm), absent operands 0; result in rax.
  // The cache registers are clobbered (the caller spilled what it needs).
  void call_helper(const ir::Inst& in) {
    // operands first (rsi, rdi and r8 may hold them)
    if (in.a != ir::kNoSlot) load(rax, in.a); else xor_(eax, eax);
    if (in.b != ir::kNoSlot) load(rdx, in.b); else xor_(edx, edx);
    if (in.c != ir::kNoSlot) load(rcx, in.c); else xor_(ecx, ecx);
    mov(rsi, rax);
    mov(rdi, r12);
    mov(r8d, uint32_t(in.sub));
    mov(rax, reinterpret_cast<uint64_t>(b_.arch->helpers[in.aux].fn));
    call(rax);
    forget_cache();
  }

  // Calls fn(a, b, w) for the ops done in C; result in rax.
  void call3(uint64_t (*fn)(uint64_t, uint64_t, uint64_t), Slot a, Slot bslot, unsigned w) {
    spill_live();
    load(rax, a);  // (through scratch registers: rdi and rsi may hold the other operand)
    load(rcx, bslot);
    mov(rdi, rax);
    mov(rsi, rcx);
    mov(edx, w);
    mov(rax, reinterpret_cast<uint64_t>(fn));
    call(rax);
    forget_cache();
  }

  // The address check of a load or store of `bytes` at guest address `addr` (a register): beyond
  // the guest range is a fault reported here; holes inside it fault in the host (SIGSEGV) at the
  // access, placed through the block's fault table (record_access). The fast path is one
  // compare with the range's size less kMaxAccess (JitContext::mem_limit: a load from the context,
  // which is always in L1, costs less than the register it would otherwise take); the rare
  // addresses in the last kMaxAccess bytes take the cold path, which checks exactly.
  void check_address(uint32_t i, unsigned bytes, bool write, const Reg64& addr, const Reg64& value) {
    cmp(addr, qword[rbx + kCtxMemLimit]);
    auto cold = std::make_shared<Label>();
    auto back = std::make_shared<Label>();
    ja(*cold, T_NEAR);
    L(*back);
    uint32_t ci = code_index(i);
    std::vector<CachedBlock::JitPending> pending = pending_now();  // where those values are here
    cold_.push_back([this, cold, back, write, ci, bytes, addr, value, pending] {
      L(*cold);
      mov(rdx, qword[rbx + kCtxMemLimit]);
      add(rdx, kMaxAccess - int(bytes));
      cmp(addr, rdx);
      jbe(*back, T_NEAR);
      mov(dword[rbx + kCtxCodeIndex], ci);
      mov(qword[rbx + kCtxAddr], addr);
      if (write) mov(qword[rbx + kCtxValue], value);
      mov(byte[rbx + kCtxWrite], write ? 1 : 0);
      for (const CachedBlock::JitPending& p : pending) put_from(p);  // (addr may be rax: after it)
      leave(BlockOutcome::MemFault);
    });
  }
  // The next instruction is IR inst i's guest memory access, with its address (and the value, for
  // a store) in these registers: a host fault there is that access.
  void record_access(uint32_t i, const Reg64& addr, const Reg64& value) {
    CachedBlock::JitAccess a{uint32_t(getSize()), code_index(i), uint8_t(addr.getIdx()), uint8_t(value.getIdx())};
    a.pending_first = uint32_t(pending_table_.size());
    std::vector<CachedBlock::JitPending> now = pending_now();
    a.pending_count = uint16_t(now.size());
    pending_table_.insert(pending_table_.end(), now.begin(), now.end());
    faults_.push_back(a);
  }
 public:
  std::vector<CachedBlock::JitAccess> faults_;
  std::vector<CachedBlock::JitPending> pending_table_;
  uint32_t exit_site_[2] = {0, 0};  // see CachedBlock::jit_exit_site
  bool self_loop() const { return self_exit_ >= 0; }
  uint32_t exit_stub_[2] = {0, 0};
 private:

  // mulhs / mulhu at 64 bits (x86's one-operand multiply leaves the high half in rdx) or 32 (the
  // whole product fits in 64 bits).
  void multiply_high(const ir::Inst& in, unsigned w) {
    load(rax, in.a);
    load(rcx, in.b);
    if (w == 64) {
      if (in.op == Op::mulhs) imul(rcx);
      else mul(rcx);
      store(in.dst, rdx);
      return;
    }
    if (in.op == Op::mulhs) {  // (unsigned: the operands are zero-extended already)
      movsxd(rax, eax);
      movsxd(rcx, ecx);
    }
    imul(rax, rcx);
    shr(rax, 32);
    store(in.dst, rax);
  }
  // divs / divu / rems / remu at 64 or 32 bits with x86's div and idiv, after the two cases where
  // the IR defines a result and x86 faults: a zero divisor (quotient all ones, remainder the
  // dividend) and, signed, MIN / -1 (quotient MIN, remainder 0; handled for any dividend by -1:
  // the quotient is the negated dividend, the remainder 0). 32-bit operands arrive zero-extended
  // (these ops are not among reads_low32's, so no free truncation feeds them), and every path
  // writes the result with a 32-bit instruction, which zero-extends it.
  void divide(const ir::Inst& in, unsigned w) {
    const bool is_signed = in.op == Op::divs || in.op == Op::rems;
    const bool quotient = in.op == Op::divs || in.op == Op::divu;
    const Reg a = w == 64 ? Reg(rax) : Reg(eax), b = w == 64 ? Reg(rcx) : Reg(ecx);
    const Reg result = quotient ? a : (w == 64 ? Reg(rdx) : Reg(edx));
    load(rax, in.a);
    load(rcx, in.b);
    auto zero = std::make_shared<Label>(), minus_one = std::make_shared<Label>(), done = std::make_shared<Label>();
    test(b, b);
    jz(*zero, T_NEAR);
    if (is_signed) {
      cmp(b, -1);
      je(*minus_one, T_NEAR);
      if (w == 64) cqo();
      else cdq();
      idiv(b);
    } else {
      xor_(edx, edx);
      div(b);
    }
    L(*done);
    store(in.dst, quotient ? rax : rdx);
    cold_.push_back([this, zero, minus_one, done, quotient, is_signed, a, result] {
      L(*zero);
      if (quotient) mov(result, -1);  // all ones at the width (a 32-bit mov zero-extends)
      else mov(result, a);
      jmp(*done, T_NEAR);
      if (!is_signed) return;
      L(*minus_one);
      if (quotient) {
        neg(a);
      } else {
        xor_(edx, edx);
      }
      jmp(*done, T_NEAR);
    });
  }

  // d = the `bytes`-byte value at `src`, zero- or sign-extended to 64 bits.
  void load_from(const Reg64& d, const RegExp& src, unsigned bytes, bool is_signed) {
    switch (bytes) {
      case 8: mov(d, qword[src]); break;
      case 4: is_signed ? movsxd(d, dword[src]) : mov(d.cvt32(), dword[src]); break;
      case 2: is_signed ? movsx(d, word[src]) : movzx(d.cvt32(), word[src]); break;
      default: is_signed ? movsx(d, byte[src]) : movzx(d.cvt32(), byte[src]); break;
    }
  }

  void emit(uint32_t i) {
    const ir::Inst& in = insts_[i];
    const unsigned w = ir::type_bits(in.type);
    switch (in.op) {
      case Op::get: {
        flush_overlapping(in.aux, w / 8);
        unsigned k = pick_reg(ir::kNoSlot, ir::kNoSlot);
        const Reg64& d = cache_reg(k);
        switch (w) {
          case 64: mov(d, qword[r12 + int(in.aux)]); break;
          case 32: mov(d.cvt32(), dword[r12 + int(in.aux)]); break;
          case 16: movzx(d.cvt32(), word[r12 + int(in.aux)]); break;
          default: movzx(d.cvt32(), byte[r12 + int(in.aux)]); break;
        }
        defined(k, in.dst);
        return;
      }
      case Op::put:
        if (Pinned* p = pinned_at(in.aux)) {
          put_pinned(*p, in.a);
          return;
        }
        flush_overlapping(in.aux, w / 8, /*drop_same=*/true);
        if (defer_puts_) pending_.push_back({in.aux, uint8_t(w / 8), in.a});
        else put_now(in.aux, w / 8, in.a);
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
      case Op::mulhs: case Op::mulhu:
        if (w == 64 || w == 32) {
          multiply_high(in, w);
          return;
        }
        call3(in.op == Op::mulhs ? call_mulhs : call_mulhu, in.a, in.b, w);
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::mulhsu: call3(call_mulhsu, in.a, in.b, w); mask(rax, in.type); store(in.dst, rax); return;
      case Op::divs: case Op::divu: case Op::rems: case Op::remu:
        if (w == 64 || w == 32) {
          divide(in, w);
          return;
        }
        call3(in.op == Op::divs ? call_divs : in.op == Op::divu ? call_divu : in.op == Op::rems ? call_rems : call_remu,
              in.a, in.b, w);
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      case Op::orcb: call3(call_orcb, in.a, in.a, w); store(in.dst, rax); return;
      case Op::bitrev: call3(call_bitrev, in.a, in.a, w); store(in.dst, rax); return;
      case Op::shl: case Op::lshr: case Op::ashr: case Op::rotl: case Op::rotr:
        if ((w == 64 || w == 32) && is_const(in.b)) {
          // by a constant: in place in the result's register (x86 takes the count modulo the
          // width, as the IR does)
          Reg64 r = use(in.a, rax);
          unsigned k = dest_for(in.a, ir::kNoSlot);
          const Reg64& d64 = cache_reg(k);
          const Reg d = w == 64 ? Reg(d64) : Reg(d64.cvt32());
          int n = int(const_value(in.b) & (w - 1));
          if (w == 64) {
            if (d64 != r) mov(d64, r);
          } else if (d64 != r || n == 0) {
            mov(d64.cvt32(), r.cvt32());  // (also zero-extends what a free truncation left above)
          }
          if (n) {
            switch (in.op) {
              case Op::shl: shl(d, n); break;
              case Op::lshr: shr(d, n); break;
              case Op::ashr: sar(d, n); break;
              case Op::rotl: rol(d, n); break;
              default: ror(d, n); break;
            }
          }
          defined(k, in.dst);
          return;
        }
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
        bsr(rdx, rcx);
        mov(eax, w - 1);
        sub(rax, rdx);
        test(rcx, rcx);
        mov(edx, w);
        cmovz(rax, rdx);
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
        if (ir::type_bits(IrType(in.sub)) >= 32) return compare_in_place(in);
        load(rax, in.a);
        load(rcx, in.b);
        unsigned sw = ir::type_bits(IrType(in.sub));
        if (sw == 32) {
          cmp(eax, ecx);
        } else {
          if (in.op == Op::lts || in.op == Op::ges) {
            sext(rax, sw);
            sext(rcx, sw);
          }
          cmp(rax, rcx);
        }
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
      case Op::select: {
        // The condition and the taken value into scratch registers first (choosing the result's
        // register may give away theirs: pick_reg keeps only two operands), then the value if not
        // taken into the result's register (its own, when it dies here), and a conditional move.
        load(rdx, in.a);
        load(rcx, in.b);
        unsigned k = dest_for(in.c, ir::kNoSlot);
        const Reg64& d = cache_reg(k);
        load(d, in.c);
        test(edx, edx);  // (an I1: 0 or 1)
        cmovnz(d, rcx);
        defined(k, in.dst);
        return;
      }
      case Op::zext: case Op::sext: case Op::trunc: {
        // straight from the operand's register into the result's
        Reg64 r = use(in.a, rax);
        unsigned k = dest_for(in.a, ir::kNoSlot);
        const Reg64& d = cache_reg(k);
        if (in.op == Op::sext) {
          switch (ir::type_bits(IrType(in.sub))) {
            case 32: movsxd(d, r.cvt32()); break;
            case 16: movsx(d, r.cvt16()); break;
            case 8: movsx(d, r.cvt8()); break;
            default: mov(d, r); sext(d, ir::type_bits(IrType(in.sub))); break;
          }
          mask(d, in.type);
        } else if (in.op == Op::trunc) {
          switch (w) {
            case 32: mov(d.cvt32(), r.cvt32()); break;
            case 16: movzx(d.cvt32(), r.cvt16()); break;
            case 8: movzx(d.cvt32(), r.cvt8()); break;
            default: mov(d, r); mask(d, in.type); break;
          }
        } else if (d != r) {
          mov(d, r);  // zero-extended already
        }
        defined(k, in.dst);
        return;
      }
      case Op::load: case Op::loads: {
        // from the address's register into the result's
        unsigned bytes = in.sub / 8u;
        Reg64 ra = use(in.a, rax);
        if (system_) return system_load(i, in, bytes, ra);
        check_address(i, bytes, false, ra, ra);
        // (with memory hooks the address is still needed after the load: not its register)
        unsigned k = mem_hooks_ ? pick_reg(in.a, ir::kNoSlot) : dest_for(in.a, ir::kNoSlot);
        const Reg64& d = cache_reg(k);
        record_access(i, ra, ra);
        load_from(d, r14 + ra, bytes, in.op == Op::loads);
        if (in.op == Op::loads) mask(d, in.type);
        mem_hook_check(i, bytes, MemAccess::Read, ra, d);
        defined(k, in.dst);
        return;
      }
      case Op::store: {
        unsigned bytes = in.sub / 8u;
        Reg64 ra = use(in.a, rax);
        Reg64 rv = use(in.b, rcx);
        if (system_) return system_store(i, bytes, ra, rv);
        check_address(i, bytes, true, ra, rv);
        if (mem_hooks_) {
          mem_hook_check(i, bytes, MemAccess::Write, ra, rv);  // before the store, like the interpreter
        }
        record_access(i, ra, rv);
        switch (bytes) {
          case 8: mov(qword[r14 + ra], rv); break;
          case 4: mov(dword[r14 + ra], rv.cvt32()); break;
          case 2: mov(word[r14 + ra], rv.cvt16()); break;
          default: mov(byte[r14 + ra], rv.cvt8()); break;
        }
        return;
      }
      case Op::fence:
        mfence();
        return;
      case Op::call: {
        flush_pending();
        spill_live();
        mark_position(i);
        call_helper(in);
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
      case Op::callp: {
        // A pure helper: no guest state to write back first, no trap to check after; only the
        // cache registers it clobbers (caller-saved) to save.
        spill_live();
        call_helper(in);
        mask(rax, in.type);
        store(in.dst, rax);
        return;
      }
      case Op::hook: {
        flush_pending();
        spill_live();
        mark_position(i);
        uint32_t size = in.aux ? in.aux : uint32_t(b_.end_pc - b_.pc);
        load(rdx, in.a);  // first: rdi and rsi may hold it
        mov(rdi, qword[rbx + kCtxHooks]);
        mov(esi, uint32_t(in.sub));
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
        flush_pending();
        exit_jump(0, in.a, Op::Count);
        loop_back();
        return;
      case Op::br: {
        flush_pending();
        Op cond = Op::ne;  // (after a test: nonzero)
        if (fused_compare_ != UINT32_MAX) {
          // the compare that decides the branch, done here: jump on its flags
          const ir::Inst& c = insts_[fused_compare_];
          unsigned sw = ir::type_bits(IrType(c.sub));
          Reg64 ra = use(c.a, rdx);
          // against a constant: an immediate (any at 32 bits; at 64 if it fits)
          const bool imm = is_const(c.b) && (sw == 32 || (sw == 64 && fits_imm32(const_value(c.b))));
          Reg64 rb = imm ? rcx : use(c.b, rcx);
          if (imm) {
            if (sw == 32) cmp(ra.cvt32(), uint32_t(const_value(c.b)));
            else cmp(ra, uint32_t(const_value(c.b)));
          } else if (sw == 32) {
            cmp(ra.cvt32(), rb.cvt32());
          } else if ((c.op == Op::lts || c.op == Op::ges) && sw < 64) {
            mov(rdx, ra);
            mov(rcx, rb);
            sext(rdx, sw);
            sext(rcx, sw);
            cmp(rdx, rcx);
          } else {
            cmp(ra, rb);  // narrower values are zero-extended: equal to a compare at their width
          }
          cond = c.op;
        } else {
          Reg64 r = use(in.a, rdx);
          test(r, r);
        }
        if (self_exit_ == 0) {
          // the taken side loops: leave on the opposite condition (a cold path), and fall
          // through to the edge back (one taken jump per iteration)
          exit_jump(1, in.c, opposite(cond));
        } else {
          exit_jump(0, in.b, cond);
          exit_jump(1, in.c, Op::Count);
        }
        loop_back();
        return;
      }
      case Op::jmpi:
        flush_pending();
        load(rax, in.a);
        if (system_) {
          // System mode: a computed target's translation must be checked (its page's mapping may
          // differ from when it was found): system_chain does.
          mov(dword[rbx + kCtxSucc], -1);
          system_chain();
          return;
        }
        chain_computed();
        return;
      case Op::exit:
        flush_pending();
        mov(dword[rbx + kCtxCodeIndex], code_index(i));
        load(rax, in.a);
        mov(qword[rbx + kCtxNextPc], rax);
        mov(dword[rbx + kCtxDetail], in.aux);
        mov(byte[rbx + kCtxExitKind], in.sub);
        leave(BlockOutcome::Exit);
        return;
      case Op::Count:
        break;
    }
  }

  // The stub a direct exit (successor k, guest target pc) jumps to while it is not linked: it
  // returns Next to the execution loop, which links it (CachedBlock::link_compiled patches the
  // jump's rel32, recorded in exit_site_, to enter the successor's code directly).
  std::shared_ptr<Label> direct_exit(unsigned k, uint64_t target) {
    auto stub = std::make_shared<Label>();
    // System mode links only within the block's virtual page; a jump to another page continues
    // through a checked lookup (system_chain) instead of back in the loop.
    const bool other_page = system_ && ((target ^ b_.pc) & SoftMmu::kPageMask) != 0;
    cold_.push_back([this, stub, k, target, other_page] {
      L(*stub);
      exit_stub_[k] = uint32_t(getSize());
      mov(dword[rbx + kCtxSucc], k);
      mov(rax, target);
      if (other_page) return system_chain(false);
      mov(qword[rbx + kCtxNextPc], rax);
      leave(BlockOutcome::Next, false);  // (a looping block counted its runs before the jump here)
    });
    return stub;
  }
  // System mode: continues at pc (rax; ctx->succ set) in the block the execution loop would run
  // there now, if it has compiled code, through JitContext::system_lookup (which checks the
  // translation of pc's page), else back to the loop with Next. The target checks the budget.
  void system_chain(bool count_runs = true) {
    mov(qword[rbx + kCtxNextPc], rax);
    mov(rsi, rax);
    mov(rdi, rbx);
    call(qword[rbx + kCtxSystemLookup]);
    test(rax, rax);
    auto out = std::make_shared<Label>();
    jz(*out, T_NEAR);
    jmp(rax);  // (a block ending in a computed jump never loops on itself: no runs to count)
    L(*out);
    leave(BlockOutcome::Next, count_runs);
  }

  // Jumps to successor k (target t, a constant: the verifier sees to it) through a patchable
  // jump (see direct_exit) if `cond` holds for the flags set just before (a compare op; Op::ne
  // after a test: nonzero), always for Op::Count.
  void exit_jump(unsigned k, Slot t, Op cond) {
    if (int(k) == self_exit_) {
      // the edge back of a block that loops on itself: emitted right after the branch (loop_back)
      if (cond != Op::Count) jump_if(cond, loop_back_);
      return;
    }
    if (self_exit_ < 0) {
      jump_if(cond, *direct_exit(k, const_value(t)));
      exit_site_[k] = uint32_t(getSize()) - 4;
      return;
    }
    // leaving a block that loops on itself: its pinned registers to the guest state, count its
    // runs, then the (patchable) jump
    auto stub = direct_exit(k, const_value(t));
    if (cond == Op::Count) {
      store_pins();
      count_loop_runs();
      jmp(*stub, T_NEAR);
      exit_site_[k] = uint32_t(getSize()) - 4;
      return;
    }
    auto out = std::make_shared<Label>();
    jump_if(cond, *out);
    cold_.push_back([this, out, stub, k] {
      L(*out);
      store_pins();
      count_loop_runs();
      jmp(*stub, T_NEAR);
      exit_site_[k] = uint32_t(getSize()) - 4;
    });
  }
  static Op opposite(Op cond) {
    switch (cond) {
      case Op::eq: return Op::ne;
      case Op::ne: return Op::eq;
      case Op::lts: return Op::ges;
      case Op::ges: return Op::lts;
      case Op::ltu: return Op::geu;
      default: return Op::ltu;  // geu
    }
  }
  // A jump with a rel32 operand, conditional on the flags as `cond` (see exit_jump) says.
  void jump_if(Op cond, const Label& to) {
    switch (cond) {
      case Op::eq: je(to, T_NEAR); break;
      case Op::ne: jne(to, T_NEAR); break;
      case Op::lts: jl(to, T_NEAR); break;
      case Op::ltu: jb(to, T_NEAR); break;
      case Op::ges: jge(to, T_NEAR); break;
      case Op::geu: jae(to, T_NEAR); break;
      default: jmp(to, T_NEAR); break;
    }
  }


  // System mode: the fast-table check of an access of `bytes` at guest virtual address `addr`
  // (softmmu.h): rdx = the entry for addr in the current regime's table (r14), r15 = addr with
  // its page offset cleared except the bits that make it misaligned, compared with the entry's tag
  // for the access; a mismatch (another page, misaligned, a device or code page) jumps to `miss`.
  // On a hit rdx ends up holding the entry's addend: the host address is rdx + addr.
  void mmu_entry(const Reg64& addr, unsigned bytes, int tag_offset, Label& miss) {
    mov(rdx, addr);
    shr(rdx, 12);
    and_(edx, uint32_t(SoftMmu::kEntries - 1));
    shl(edx, 5);
    static_assert(sizeof(SoftMmu::Entry) == 32);
    add(rdx, r14);
    mov(r15, addr);
    and_(r15, int32_t(SoftMmu::kPageMask | (bytes - 1)));
    cmp(r15, qword[rdx + tag_offset]);
    jne(miss, T_NEAR);
    mov(rdx, qword[rdx + int(offsetof(SoftMmu::Entry, addend))]);
  }
  // A call from a cold path that keeps every register (the hot code's cache registers and pinned
  // guest registers stay as they are); its 32-bit result is left in JitContext::call_result. rdi
  // is the JitContext; set_args loads the others, reading registers through load_saved (an
  // argument register may hold another argument).
  template <class SetArgs>
  void call_preserving(const void* fn, SetArgs set_args) {
    static const Reg64 saved[] = {rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11};  // caller-saved
    constexpr int n = int(std::size(saved));
    for (const Reg64& r : saved) push(r);
    sub(rsp, 8);  // 16-byte alignment for the call
    auto load_saved = [&](const Reg64& dst, const Reg64& r) {
      for (int k = 0; k < n; ++k)
        if (saved[k] == r) {
          mov(dst, qword[rsp + 8 + 8 * (n - 1 - k)]);
          return;
        }
      mov(dst, r);
    };
    set_args(load_saved);
    mov(rdi, rbx);
    mov(rax, reinterpret_cast<uint64_t>(fn));
    call(rax);
    add(rsp, 8);
    mov(dword[rbx + kCtxCallResult], eax);
    for (int k = n - 1; k >= 0; --k) pop(saved[k]);
  }
  // A trap from a slow path: the guest-register writes not done yet are done (the state is then
  // exact at the access's instruction), and the block ends with Trap there. The block's later
  // accesses, counted on entry, did not happen.
  void leave_trap(uint32_t i, const std::vector<CachedBlock::JitPending>& pending) {
    for (const CachedBlock::JitPending& p : pending) put_from(p);
    uint32_t later = 0;
    for (size_t k = i + 1; k < b_.insts.size(); ++k) later += !skip_[k] && is_memory_op(b_.insts[k].op);
    if (later) sub(qword[rbx + kCtxMmuAccesses], later);
    mov(dword[rbx + kCtxCodeIndex], code_index(i));
    leave(BlockOutcome::Trap);
  }
  void system_load(uint32_t i, const ir::Inst& in, unsigned bytes, const Reg64& ra) {
    auto miss = std::make_shared<Label>();
    auto done = std::make_shared<Label>();
    unsigned k = dest_for(in.a, ir::kNoSlot);
    const Reg64& d = cache_reg(k);
    const bool is_signed = in.op == Op::loads;
    mmu_entry(ra, bytes, int(offsetof(SoftMmu::Entry, tag_read)), *miss);
    load_from(d, rdx + ra, bytes, is_signed);
    L(*done);
    if (is_signed) mask(d, in.type);
    std::vector<CachedBlock::JitPending> pending = pending_now();
    cold_.push_back([this, miss, done, i, bytes, ra, d, is_signed, pending] {
      L(*miss);
      call_preserving(reinterpret_cast<const void*>(&call_mmu_load), [&](auto load_saved) {
        load_saved(rsi, ra);
        mov(edx, bytes);
      });
      cmp(dword[rbx + kCtxCallResult], 0);
      auto trap = std::make_shared<Label>();
      jnz(*trap, T_NEAR);
      // the value, extended as the load would
      load_from(d, rbx + int(kCtxValue), bytes, is_signed);
      jmp(*done, T_NEAR);
      L(*trap);
      leave_trap(i, pending);
    });
    defined(k, in.dst);
  }
  void system_store(uint32_t i, unsigned bytes, const Reg64& ra, const Reg64& rv) {
    auto miss = std::make_shared<Label>();
    auto done = std::make_shared<Label>();
    mmu_entry(ra, bytes, int(offsetof(SoftMmu::Entry, tag_write)), *miss);
    switch (bytes) {
      case 8: mov(qword[rdx + ra], rv); break;
      case 4: mov(dword[rdx + ra], rv.cvt32()); break;
      case 2: mov(word[rdx + ra], rv.cvt16()); break;
      default: mov(byte[rdx + ra], rv.cvt8()); break;
    }
    L(*done);
    std::vector<CachedBlock::JitPending> pending = pending_now();
    uint64_t m = bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    cold_.push_back([this, miss, done, i, bytes, ra, rv, m, pending] {
      L(*miss);
      call_preserving(reinterpret_cast<const void*>(&call_mmu_store), [&](auto load_saved) {
        load_saved(rsi, ra);
        load_saved(rdx, rv);
        mov(rax, m);
        and_(rdx, rax);
        mov(ecx, bytes);
      });
      cmp(dword[rbx + kCtxCallResult], 0);
      jz(*done, T_NEAR);
      leave_trap(i, pending);
    });
  }

  // A computed target (rax): found through the block cache's direct-mapped table (which is
  // cleared whenever translations are dropped) and entered if it has compiled code (which checks
  // the budget itself), else back to the execution loop.
  void chain_computed() {
    auto out = std::make_shared<Label>();
    mov(rdx, rax);
    shr(rdx, 1);
    and_(edx, uint32_t(BlockCache::kFastSize - 1));
    shl(rdx, 4);
    static_assert(sizeof(BlockCache::Fast) == 16);
    add(rdx, qword[rbx + kCtxFastTable]);
    cmp(rax, qword[rdx]);
    jne(*out, T_NEAR);
    mov(rdx, qword[rdx + 8]);
    test(rdx, rdx);
    jz(*out, T_NEAR);
    mov(rcx, qword[rdx + off_body_]);
    test(rcx, rcx);
    jz(*out, T_NEAR);
    jmp(rcx);
    cold_.push_back([this, out] {
      L(*out);
      mov(qword[rbx + kCtxNextPc], rax);
      mov(dword[rbx + kCtxSucc], -1);
      leave(BlockOutcome::Next);
    });
  }

  // With memory hooks: an access at `addr` of `bytes` that overlaps the hooked range calls them
  // (with `value`), from a cold path that saves every register the call may clobber, so the hot
  // code keeps all its registers. A hook that asks to leave ends the block with Hooked at the
  // access (not performed if a store).
  void mem_hook_check(uint32_t i, unsigned bytes, MemAccess access, Reg64 addr, Reg64 value) {
    if (!mem_hooks_) return;
    auto slow = std::make_shared<Label>();
    auto back = std::make_shared<Label>();
    // The range is the one at compile time (the hook set drops translations when it changes).
    // [a, a+bytes) overlaps [lo, hi] iff base <= a <= hi, base = lo-bytes+1 (0 if below): one
    // unsigned compare of a - base when the numbers fit in immediates.
    const uint64_t base = mem_lo_ + 1 >= bytes ? mem_lo_ + 1 - bytes : 0;
    if (base < 0x80000000ull && mem_hi_ - base < 0x80000000ull) {
      lea(rdx, ptr[addr - int(base)]);
      cmp(rdx, uint32_t(mem_hi_ - base));
      jbe(*slow, T_NEAR);
    } else {
      mov(rdx, mem_hi_);
      cmp(addr, rdx);
      ja(*back, T_NEAR);
      mov(rdx, base);
      cmp(addr, rdx);
      jae(*slow, T_NEAR);
    }
    L(*back);
    uint32_t ci = code_index(i);
    uint64_t m = bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    cold_.push_back([this, slow, back, ci, bytes, access, addr, value, m] {
      L(*slow);
      call_preserving(reinterpret_cast<const void*>(&call_mem_hooks), [&](auto load_saved) {
        store_pins();  // the hooks see the guest state and may change it
        set_block(rdi);
        mov(qword[rbx + kCtxInsnsLeft], rbp);
        load_saved(rcx, addr);
        load_saved(r9, value);
        mov(rax, m);
        and_(r9, rax);
        mov(esi, ci);
        mov(edx, uint32_t(access));
        mov(r8d, bytes);
      });
      for (const Pinned& p : pinned_) mov(cache_reg(p.reg), qword[r12 + int(p.offset)]);
      cmp(dword[rbx + kCtxCallResult], 0);
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
  Label body_;
  Label epilogue_;
  std::vector<std::function<void()>> cold_;
  bool system_ = false;
  uint32_t mem_ops_ = 0;  // loads and stores in the block (system mode's access count)
};

}  // namespace

bool compile_block(CachedBlock& b, CodeCache& cache, const HookRuntime* hooks, bool system) {
  static thread_local std::vector<uint8_t> buf(size_t(1) << 18);
  BlockCompiler c(b, hooks, buf.data(), buf.size(), system);
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
  b.jit_pending = std::move(c.pending_table_);
  b.jit_self_loop = c.self_loop();
  for (unsigned k = 0; k < 2; ++k) {
    b.jit_exit_site[k] = c.exit_site_[k];
    b.jit_exit_stub[k] = c.exit_stub_[k];
    b.jit_exit_target[k] = nullptr;
  }
  return true;
}

}  // namespace vmkit::jit
