// Translated blocks, keyed by guest pc. Each entry owns its IR and the interpreter's frame (the
// slot array with constants filled in once, at translation time). Direct successors are linked
// so the execution loop can go from block to block without a lookup; links carry the cache's
// epoch and die when any translation is invalidated.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace vmkit {

// The interpreter's form of one IR inst: the handler's address resolved once (threaded code),
// so dispatch is a single indirect jump. Indices match ir.insts one to one.
struct ThreadedInst {
  const void* handler;
  ir::Slot dst, a, b, c;
  uint32_t aux;
  ir::Op op;
  ir::Type type;
  uint8_t sub;
  uint8_t pad;
};

struct CachedBlock {
  ir::Block ir;
  // The interpreter's form, built on the block's first run. It may drop IR insts that fold into
  // a neighbour (see interpreter.cpp, lower()), so code_ir_index maps each entry back to its
  // IR inst, for precise guest state at faults.
  std::vector<ThreadedInst> code;
  std::vector<uint32_t> code_ir_index;
  uint32_t ir_index(size_t code_index) const {
    return code_index < code_ir_index.size() ? code_ir_index[code_index] : uint32_t(ir.insts.size());
  }
  std::vector<uint64_t> frame;  // slot values: constants preset, temps written while running
  uint64_t executions = 0;
  // What the translation depends on besides its pc: 0 in user mode; in system mode the physical
  // page it was read from (see SystemCore::code_key). The cache is keyed by (pc, context).
  uint64_t context = 0;
  // System mode: the physical pages its code came from (kNoPage: none), so a write to one of them
  // drops it (BlockCache::invalidate_physical_page).
  static constexpr uint64_t kNoPage = ~0ull;
  uint64_t physical_pages[2] = {kNoPage, kNoPage};
  // Direct successors (jmp target / br taken, br fallthrough), valid while link_epoch matches.
  CachedBlock* link[2] = {nullptr, nullptr};
  uint64_t link_epoch = 0;
  uint32_t guest_insns = 0;
  bool valid = true;
  // Tier 1: the compiled form (a jit::BlockFn), or why there is none. jit_body is where compiled
  // blocks chained into this one jump (past the function's prologue).
  void* jit = nullptr;
  void* jit_body = nullptr;
  bool jit_failed = false;  // the JIT declined it (it runs interpreted)
  // Its compiled code loops on itself: it adds its runs to `executions` when it leaves, from the
  // budget it took since JitContext::loop_entry_left, rather than on every iteration.
  bool jit_self_loop = false;
  uint32_t compile_ns = 0;  // how long tier 1 took for it
  uint64_t executions_at_collection = 0;  // executions when the code collector last looked
  uint32_t jit_size = 0;    // bytes of compiled code at jit
  // Direct exits of compiled code (successor k of link[]): the offset in `jit` of the rel32 of
  // the jump that leaves through exit k (0: the block has no such jump), the offset of the exit
  // stub it jumps to while unlinked (the stub returns to the execution loop), and the compiled
  // block it is patched to jump into instead (nullptr: unlinked).
  uint32_t jit_exit_site[2] = {0, 0};
  uint32_t jit_exit_stub[2] = {0, 0};
  CachedBlock* jit_exit_target[2] = {nullptr, nullptr};
  // The (block, exit) pairs whose jumps are patched into this block's compiled code.
  std::vector<std::pair<CachedBlock*, uint8_t>> jit_incoming;
  // Patches exit k's jump to enter `to`'s compiled code directly (both must be compiled).
  void link_compiled(unsigned k, CachedBlock& to);
  // Unpatches every jump into this block and out of it (before its code or the block goes away).
  void unlink_compiled();
  // Forgets all compiled links without patching (every block's code is being discarded).
  void forget_compiled_links() {
    jit_exit_site[0] = jit_exit_site[1] = 0;
    jit_exit_target[0] = jit_exit_target[1] = nullptr;
    jit_incoming.clear();
  }
  // Where a host fault inside the compiled code can come from: each guest memory access in it,
  // with the host registers (x86 numbering) that hold its guest address and, for a store, the
  // value (a fault report reads them from the signal context), in code order.
  struct JitAccess {
    uint32_t offset;    // of the access instruction in `jit`
    uint32_t position;  // its inst in `code`
    uint8_t addr_reg;
    uint8_t value_reg;
    uint16_t pending_count = 0;  // guest-register writes not yet done there:
    uint32_t pending_first = 0;  // jit_pending[pending_first, +pending_count)
  };
  // A guest-register write that compiled code has not done yet at an access (tier 1 defers them
  // to where something reads the guest state): a fault there does it, from where the value is.
  struct JitPending {
    enum Where : uint8_t { Reg, Const, Stack, Frame };
    uint32_t offset;  // in the guest state
    uint8_t bytes;
    Where where;
    uint8_t reg;      // Reg: x86 register number
    uint64_t value;   // Const: the value; Stack: byte offset from rsp; Frame: slot
  };
  std::vector<JitAccess> jit_faults;
  std::vector<JitPending> jit_pending;
  // The access at host address `rip` in the compiled code, or nullptr.
  const JitAccess* jit_access_at(uintptr_t rip) const {
    uintptr_t start = reinterpret_cast<uintptr_t>(jit);
    if (!jit || rip < start || rip >= start + jit_size) return nullptr;
    uint32_t off = uint32_t(rip - start);
    for (const auto& a : jit_faults)
      if (a.offset == off) return &a;
    return nullptr;
  }
};

class BlockCache {
 public:
  CachedBlock* find(uint64_t pc, uint64_t context = 0) {
    Fast& f = fast_[hash(pc)];
    if (f.pc == pc && f.block && f.block->context == context) return f.block;
    auto it = map_.find(Key{pc, context});
    if (it == map_.end()) return nullptr;
    f = {pc, it->second.get()};
    return f.block;
  }
  // Adds b under (b->ir.pc, b->context), replacing the block there.
  CachedBlock* insert(std::unique_ptr<CachedBlock> b);
  // Removes blocks whose code overlaps [addr, addr+len). Removed blocks stay alive until
  // collect() so that a block that invalidates itself can finish running.
  size_t invalidate(uint64_t addr, uint64_t len);
  // System mode: removes the blocks whose code came from the physical page at page_paddr.
  size_t invalidate_physical_page(uint64_t page_paddr);
  // Keeps a block that is not in the cache (run once) alive until collect(), like removed ones.
  CachedBlock* retire(std::unique_ptr<CachedBlock> b) {
    graveyard_.push_back(std::move(b));
    return graveyard_.back().get();
  }
  void collect() {
    for (auto& b : graveyard_) retired_executions_ += b->executions;
    graveyard_.clear();
  }
  // Executions of every block this cache has held (the removed ones included).
  uint64_t total_executions() const;
  uint64_t epoch() const { return epoch_; }
  size_t size() const { return map_.size(); }
  template <class F> void for_each(F&& f) const {
    for (auto& [key, b] : map_) f(*b);
  }
  template <class F> void for_each(F&& f) {
    for (auto& [key, b] : map_) f(*b);
  }

  // The direct-mapped table find() tries first; compiled code probes it for computed targets.
  static constexpr size_t kFastSize = 16384;
  static size_t hash(uint64_t pc) { return (pc >> 1) & (kFastSize - 1); }
  struct Fast {
    uint64_t pc = ~0ull;
    CachedBlock* block = nullptr;
  };
  const Fast* fast_table() const { return fast_; }

 private:
  struct Key {
    uint64_t pc, context;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.pc ^ (k.context * 0x9e3779b97f4a7c15ull)); }
  };
  // Takes b out of the map's bookkeeping (the page index) and into the graveyard.
  void retire_removed(std::unique_ptr<CachedBlock> b);
  void index_pages(CachedBlock* b);
  void unindex_pages(CachedBlock* b);

  Fast fast_[kFastSize];
  std::unordered_map<Key, std::unique_ptr<CachedBlock>, KeyHash> map_;
  // System mode: physical page -> the blocks read from it.
  std::unordered_map<uint64_t, std::vector<CachedBlock*>> by_page_;
  std::vector<std::unique_ptr<CachedBlock>> graveyard_;
  uint64_t epoch_ = 1;
  uint64_t retired_executions_ = 0;
};

}  // namespace vmkit
