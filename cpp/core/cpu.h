// The execution loop for one guest CPU: looks blocks up in the block cache (translating on a
// miss), runs them with the interpreter, follows direct successors without returning, and stops
// only for what its caller must handle (a syscall, a breakpoint, a fault, a trap, a budget).
#pragma once

#include <csetjmp>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/block_cache.h"
#include "interp/interpreter.h"
#include "jit/jit.h"
#include "frontend/frontend.h"
#include "mmu/guest_memory.h"

namespace vmkit {

namespace jit {
struct JitContext;
class CodeCache;
}  // namespace jit

enum class StopReason {
  Syscall,      // pc = the syscall instruction
  Breakpoint,   // pc = the breakpoint instruction
  IllegalInsn,  // pc = the instruction; insn/insn_len = its bytes
  FetchFault,   // pc = addr = the address that could not be fetched
  MemFault,     // pc = the faulting instruction; addr = the data address; write = store?
  Trap,         // a helper raised signo/code at pc (addr = si_addr)
  Limit,        // the instruction budget of run() was used up; pc = next instruction
  Hooked,       // a hook asked to leave (see HookAction); pc = the guest state's pc
  StopPoint,    // reached a stop point (see add_stop_point); pc = it, not started
  System,       // system mode: the SystemCore asked to stop (WFI with nothing to do, power-off)
};
const char* stop_reason_name(StopReason r);

struct Stop {
  StopReason reason;
  uint64_t pc = 0;
  uint64_t addr = 0;
  uint32_t insn = 0;
  uint8_t insn_len = 0;
  bool write = false;
  // MemFault by a load or store op: the access (addr is the first byte that faulted, which lies
  // inside it); size 0: the fault happened inside a helper.
  uint64_t access_addr = 0;
  uint8_t size = 0;
  uint64_t value = 0;  // a store's value
  int signo = 0;
  int code = 0;
};

struct CpuStats {
  uint64_t blocks_translated = 0;
  uint64_t insns_executed = 0;
  uint64_t invalidations = 0;
  uint64_t code_write_faults = 0;  // guest stores into pages holding translations (see run)
  uint64_t blocks_compiled = 0;  // tier 1
  uint64_t jit_declined = 0;     // blocks tier 1 left to the interpreter
  uint64_t code_cache_flushes = 0;  // collections: the code cache filled up (see collect_code)
  uint64_t blocks_evicted = 0;      // compiled blocks the collections dropped
  double compile_seconds = 0;
  double flush_pause_max_seconds = 0;  // the longest pause a collection caused
};

// One translated block, for statistics (Cpu::block_stats).
struct BlockStat {
  uint64_t pc, end_pc;
  uint32_t guest_insns;
  uint64_t executions;
  bool compiled;        // tier 1
  uint32_t compile_ns;  // time tier 1 took for it
};

// Which tier runs guest code: the interpreter only, the JIT for every block it can compile, or
// the interpreter until a block has run jit_threshold times, then the JIT.
enum class Engine { Interp, Jit, Auto };
const char* engine_name(Engine e);
Engine parse_engine(const std::string& name);  // UsageError naming the engines otherwise

class SystemCore;

class Cpu final : GuestMemory::CodeWatcher {
 public:
  // User mode (and bare machines): guest addresses are offsets into `mem`.
  Cpu(const Frontend& fe, GuestMemory& mem);
  // System mode: memory is reached through the software MMU of a SystemCore, which is built on
  // this Cpu's state and given with attach_system before the first run.
  explicit Cpu(const Frontend& fe);
  void attach_system(SystemCore& sys);
  void detach_system();  // before the SystemCore goes away
  SystemCore* system() const { return sys_; }
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  const Frontend& frontend() const { return fe_; }
  GuestMemory& memory() { return *mem_; }  // user mode only
  uint8_t* state() { return state_.data(); }
  template <class S> S& state_as() { return *reinterpret_cast<S*>(state_.data()); }
  uint64_t pc() const;
  void set_pc(uint64_t pc);
  // Registers by architectural name (for scripts): UsageError for an unknown name or a value too
  // wide for the register; writes to a hardwired zero register are ignored, as in the hardware.
  // The uint64_t forms are for registers of up to 8 bytes; the byte forms take r.size() bytes
  // (128-bit vector registers too).
  const RegInfo& register_named(const std::string& name) const;
  uint64_t read_register(const RegInfo& r) const;
  void write_register(const RegInfo& r, uint64_t value);
  void read_register(const RegInfo& r, void* out) const;
  void write_register(const RegInfo& r, const void* in);

  // Runs from pc() until something needs the caller (see StopReason). On return, the guest state
  // is exact: every instruction before stop.pc has completed, none after it has started. Runs at
  // most max_insns instructions, exactly that many if nothing stops it earlier (blocks that do not
  // fit in what is left run as one-instruction translations).
  Stop run(uint64_t max_insns = ~0ull);

  // Drops translations of guest code in [addr, addr+len) (all of them with the defaults).
  void invalidate(uint64_t addr = 0, uint64_t len = ~0ull);

  // Stop points: run() stops with StopPoint before executing the instruction at such an address
  // (blocks are translated to end before it).
  void add_stop_point(uint64_t pc);
  void remove_stop_point(uint64_t pc);
  const std::set<uint64_t>& stop_points() const { return stop_points_; }

  // Instrumentation: `instrumenter` sees every instruction as it is translated and may insert
  // hook ops; they call `hooks`. Changing either affects new translations only (invalidate).
  ir::Instrumenter* instrumenter = nullptr;
  HookRuntime* hooks = nullptr;

  // Translates (without running) the block at pc, for inspection.
  ir::Block translate(uint64_t pc) const;

  const CpuStats& stats() const { return stats_; }
  // Blocks run so far, counted per block (interpreted, compiled and chained alike).
  uint64_t blocks_executed() const;
  size_t cached_blocks() const { return cache_.size(); }
  unsigned max_block_insns = 64;
  Engine engine = Engine::Interp;
  uint64_t jit_threshold = 64;
  // Adaptive (the default until jit_threshold is set): every time the code cache fills up, the
  // threshold doubles (up to kMaxAdaptiveThreshold), so a program whose hot code does not fit
  // compiles only its hotter blocks instead of recompiling over and over.
  bool adaptive_threshold = true;
  static constexpr uint64_t kMaxAdaptiveThreshold = 4096;
  // Bytes of executable memory tier 1 may use (taken when the first block is compiled).
  size_t jit_cache_bytes = size_t(64) << 20;
  std::vector<BlockStat> block_stats() const;
  // Check every translated block with ir::verify (tests turn this on).
  bool verify_ir = false;
  // Run the block optimiser (ir/passes.h) on each new translation.
  bool optimize_ir = true;

  // Interpreter entry points use these while a block runs (for precise faults).
  struct Running {
    CachedBlock* block = nullptr;
    const ThreadedInst* inst = nullptr;
    const jit::JitContext* jit = nullptr;  // running compiled code: its position is jit->code_index
    uint64_t jit_budget = 0;               // jit->insns_left when it was entered
    ChainProgress progress;  // blocks the interpreter finished while chaining (see InterpEnv)
  };
  Running running_;
  // Hooks running host code (nonzero while they do, set by their dispatcher): host faults on
  // this thread are then not the guest's.
  unsigned host_callbacks = 0;

 private:
  friend struct FaultRecovery;
  struct BlockShaper : ir::Instrumenter {
    Cpu* cpu;
    uint64_t block_page = 0;  // system mode: blocks stay inside the virtual page they start in
    void on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) override;
    bool ends_block_before(uint64_t pc) const override;
  };
  ir::Block translate(uint64_t pc, unsigned max_insns) const;
  CachedBlock* lookup(uint64_t pc);
  CachedBlock* lookup_single(uint64_t pc);
  CachedBlock* lookup_in(BlockCache& cache, uint64_t pc, unsigned max_insns);
  CachedBlock* make_block(uint64_t pc, unsigned max_insns);
  std::unique_ptr<CachedBlock> prepared_block(ir::Block ir) const;
  CachedBlock* replay_block(uint64_t pc);
  bool resume_after_code_write(const Stop& s, uint32_t completed_in_block, uint32_t access_index);
  void code_written(uint64_t addr, uint64_t len) override { invalidate(addr, len); }
  // System mode: the physical page was written (a store, DMA, a loader): its blocks go.
  void physical_page_written(uint64_t page_paddr);
  // System mode: a guest event for the SystemCore at a block's end (see run_blocks).
  const CodeSource& code_source() const;
  void compile(CachedBlock& b, const InterpEnv& env);
  void collect_code();
  void write_perf_map(const CachedBlock& b);
  BlockOutcome run_compiled(CachedBlock& b, jit::JitContext& ctx, uint64_t budget);
  static void* system_lookup(jit::JitContext* ctx, uint64_t pc);
  Stop run_blocks(uint64_t max_insns);
  void take_progress();
  CachedBlock* take_compiled_progress(const jit::JitContext& ctx, uintptr_t rip);
  Stop finish(Stop s, uint64_t completed_in_block);

  const Frontend& fe_;
  GuestMemory* mem_ = nullptr;  // user mode
  SystemCore* sys_ = nullptr;   // system mode
  std::vector<uint8_t> state_;
  const uint32_t pc_offset_;  // fe_.pc_offset(), read by every hook call
  BlockCache cache_;
  BlockCache single_cache_;  // one-instruction translations, for the end of a budget
  std::unique_ptr<jit::CodeCache> code_cache_;
  // Compiled code's context: a member, not a local of run_blocks, because the fault path reads it
  // after siglongjmp has left run_blocks' frame.
  std::unique_ptr<jit::JitContext> jit_ctx_;
  std::set<uint64_t> stop_points_;
  mutable BlockShaper shaper_;
  CpuStats stats_;
  uint64_t executed_ = 0;  // guest instructions completed in the current run()
  // After a store into translated code: run the storing instruction again, once (see run()),
  // without repeating the memory hook calls of its first `replay_accesses` accesses.
  bool replay_next_ = false;
  uint32_t replay_accesses_ = 0;
  sigjmp_buf fault_jmp_;
  uint64_t fault_addr_ = 0;
  bool fault_write_ = false;
  uintptr_t fault_rip_ = 0;  // the host instruction that faulted (placed in compiled code)
  uint64_t fault_regs_[16] = {};  // the host's general registers then (x86 numbering)
  // Compiled code's spill area then (the fault path runs on that stack and would overwrite it).
  uint64_t fault_spills_[jit::kSpillAreaBytes / 8] = {};
  void do_pending_writes(const CachedBlock& b, const CachedBlock::JitAccess& a);
};

}  // namespace vmkit
