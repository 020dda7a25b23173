#include "core/cpu.h"

#include <signal.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

#include "core/errors.h"
#include "core/guest_common.h"
#include "core/system_core.h"
#include "mmu/softmmu.h"
#include "interp/interpreter.h"
#include "ir/passes.h"
#include "jit/jit.h"

namespace vmkit {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Syscall: return "syscall";
    case StopReason::Breakpoint: return "breakpoint";
    case StopReason::IllegalInsn: return "illegal_instruction";
    case StopReason::FetchFault: return "fetch_fault";
    case StopReason::MemFault: return "memory_fault";
    case StopReason::Trap: return "trap";
    case StopReason::Limit: return "limit";
    case StopReason::Hooked: return "hooked";
    case StopReason::StopPoint: return "stop_point";
    case StopReason::System: return "system";
  }
  return "?";
}

const char* engine_name(Engine e) {
  switch (e) {
    case Engine::Interp: return "interp";
    case Engine::Jit: return "jit";
    case Engine::Auto: return "auto";
  }
  return "?";
}

Engine parse_engine(const std::string& name) {
  if (name == "interp") return Engine::Interp;
  if (name == "jit") return Engine::Jit;
  if (name == "auto") return Engine::Auto;
  throw UsageError("unknown engine '" + name + "': use 'interp', 'jit' or 'auto'");
}

// ---- Host fault recovery -----------------------------------------------------------------------
// A guest load or store to a PROT_NONE page of the reservation raises SIGSEGV in the host. If the
// faulting address lies in the guest range of the CPU running on this thread, the handler jumps
// back into Cpu::run, which reports a precise guest fault. Any other fault is passed on to the
// handler that was installed before vmkit's (or the default action).

namespace {
thread_local Cpu* tl_running_cpu = nullptr;
struct sigaction g_prev_segv, g_prev_bus;
std::once_flag g_handler_once;
}  // namespace

struct FaultRecovery {
  // Compiled code's spill area (at its rsp), which sanitizers know nothing about.
  __attribute__((no_sanitize("address"))) static void copy_spill_area(uint64_t* to, const uint64_t* from) {
    for (size_t k = 0; k < jit::kSpillAreaBytes / 8; ++k) to[k] = from[k];
  }
  static void handler(int sig, siginfo_t* info, void* uctx) {
    // A first write to a copy-on-write protected page of a snapshotted guest memory (by guest
    // code or any host code), or host code writing a page of translated code: made writable, so
    // the store re-executes.
    auto* uc = static_cast<ucontext_t*>(uctx);
    const bool write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    Cpu* cpu = tl_running_cpu;
    // Guest code runs on this thread unless a hook called out to host code (Python, say).
    const bool guest_code = cpu && cpu->host_callbacks == 0;
    if (GuestMemory::handle_protection_fault(info->si_addr, write, guest_code)) return;
    if (guest_code && cpu->mem_) {
      uint8_t* addr = static_cast<uint8_t*>(info->si_addr);
      uint8_t* base = cpu->mem_->base();
      if (addr >= base && addr < base + cpu->mem_->size()) {
        cpu->fault_addr_ = uint64_t(addr - base);
        cpu->fault_write_ = write;
        cpu->fault_rip_ = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
        // Compiled code keeps guest addresses and store values in registers: keep them all.
        static constexpr int kGregOf[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                            REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
        for (int r = 0; r < 16; ++r) cpu->fault_regs_[r] = uint64_t(uc->uc_mcontext.gregs[kGregOf[r]]);
        if (cpu->code_cache_ && cpu->code_cache_->contains(reinterpret_cast<const void*>(cpu->fault_rip_)))
          copy_spill_area(cpu->fault_spills_, reinterpret_cast<const uint64_t*>(cpu->fault_regs_[4]));
        siglongjmp(cpu->fault_jmp_, 1);
      }
    }
    const struct sigaction& prev = sig == SIGBUS ? g_prev_bus : g_prev_segv;
    if (prev.sa_flags & SA_SIGINFO) {
      prev.sa_sigaction(sig, info, uctx);
    } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
      prev.sa_handler(sig);
    } else {
      // Re-raise with the default action: returning re-executes the faulting access.
      signal(sig, SIG_DFL);
    }
  }
  static void install() {
    std::call_once(g_handler_once, [] {
      struct sigaction sa;
      std::memset(&sa, 0, sizeof sa);
      sa.sa_sigaction = handler;
      // SA_NODEFER: we leave the handler with siglongjmp without restoring the signal mask.
      sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGSEGV, &sa, &g_prev_segv);
      sigaction(SIGBUS, &sa, &g_prev_bus);
    });
  }
};

// ---- Cpu ---------------------------------------------------------------------------------------

Cpu::Cpu(const Frontend& fe, GuestMemory& mem)
    : fe_(fe), mem_(&mem), state_(fe.arch().state_size), pc_offset_(fe.pc_offset()) {
  auto* common = reinterpret_cast<GuestCommon*>(state_.data());
  common->mem_base = mem.base();
  common->mem_size = mem.size();
  fe.reset_state(state_.data());
  shaper_.cpu = this;
  FaultRecovery::install();
  mem_->add_code_watcher(this);
}

Cpu::Cpu(const Frontend& fe) : fe_(fe), state_(fe.arch().state_size), pc_offset_(fe.pc_offset()) {
  fe.reset_state(state_.data());
  shaper_.cpu = this;
  FaultRecovery::install();
}

void Cpu::attach_system(SystemCore& sys) {
  sys_ = &sys;
  sys.mmu().ram().on_code_written = [this](uint64_t page) { physical_page_written(page); };
}

void Cpu::detach_system() {
  if (sys_) sys_->mmu().ram().on_code_written = nullptr;
  sys_ = nullptr;
}

Cpu::~Cpu() {
  if (mem_) mem_->remove_code_watcher(this);
  detach_system();
}

const CodeSource& Cpu::code_source() const {
  if (sys_) return sys_->code();
  return *mem_;
}

void Cpu::physical_page_written(uint64_t page_paddr) {
  size_t n = cache_.invalidate_physical_page(page_paddr) + single_cache_.invalidate_physical_page(page_paddr);
  if (n) ++stats_.invalidations;
}

uint64_t Cpu::pc() const {
  uint64_t v;
  std::memcpy(&v, state_.data() + pc_offset_, 8);
  return v;
}

void Cpu::set_pc(uint64_t pc) { std::memcpy(state_.data() + pc_offset_, &pc, 8); }

const RegInfo& Cpu::register_named(const std::string& name) const {
  for (const RegInfo& r : fe_.registers())
    if (r.name == name) return r;
  throw UsageError("unknown " + std::string(fe_.arch().name) + " register '" + name +
                   "': use an architectural name such as " + fe_.register_examples());
}

void Cpu::read_register(const RegInfo& r, void* out) const {
  if (r.hardwired_zero) {
    std::memset(out, 0, r.size());
  } else if (r.read) {
    uint64_t v = r.read(state_.data());
    std::memcpy(out, &v, r.size());
  } else {
    std::memcpy(out, state_.data() + r.offset, r.size());
  }
}

void Cpu::write_register(const RegInfo& r, const void* in) {
  if (r.hardwired_zero) return;
  if (r.write) {
    uint64_t v = 0;
    std::memcpy(&v, in, r.size());
    return r.write(state_.data(), v);
  }
  if (r.write_bytes > r.size()) std::memset(state_.data() + r.offset, 0, r.write_bytes);
  std::memcpy(state_.data() + r.offset, in, r.size());
}

uint64_t Cpu::read_register(const RegInfo& r) const {
  if (r.size() > 8)
    throw UsageError("register '" + r.name + "' is " + std::to_string(8 * r.size()) + " bits wide: read its bytes");
  uint64_t v = 0;
  read_register(r, &v);
  return v;
}

void Cpu::write_register(const RegInfo& r, uint64_t value) {
  unsigned bytes = r.size();
  if (bytes > 8)
    throw UsageError("register '" + r.name + "' is " + std::to_string(8 * bytes) + " bits wide: write its bytes");
  if (bytes < 8 && (value >> (8 * bytes)) != 0)
    throw UsageError("value " + std::to_string(value) + " does not fit the " + std::to_string(8 * bytes) +
                     "-bit register '" + r.name + "'");
  write_register(r, &value);
}

void Cpu::BlockShaper::on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) {
  if (cpu->instrumenter) cpu->instrumenter->on_insn(b, pc, length, first);
}

bool Cpu::BlockShaper::ends_block_before(uint64_t pc) const {
  if (cpu->sys_ && (pc & SoftMmu::kPageMask) != block_page) return true;
  return cpu->stop_points_.count(pc) || (cpu->instrumenter && cpu->instrumenter->ends_block_before(pc));
}

ir::Block Cpu::translate(uint64_t pc) const { return translate(pc, max_block_insns); }

ir::Block Cpu::translate(uint64_t pc, unsigned max_insns) const {
  ir::Block b;
  b.pc = b.end_pc = pc;
  b.arch = &fe_.arch();
  if (stop_points_.count(pc)) {
    // Not a translation of guest code: the block that stops the run here. It covers one byte so
    // that invalidating the stop point's address removes it.
    b.end_pc = pc + 1;
    ir::Builder(b).exit(ir::ExitKind::StopPoint, pc);
    return b;
  }
  ir::Builder builder(b, &shaper_);
  if (sys_) {
    shaper_.block_page = pc & SoftMmu::kPageMask;
    sys_->code().begin(pc);
  }
  fe_.translate(pc, code_source(), builder, max_insns);
  return b;
}

void Cpu::add_stop_point(uint64_t pc) {
  if (stop_points_.insert(pc).second) invalidate(pc, 1);
}

void Cpu::remove_stop_point(uint64_t pc) {
  if (stop_points_.erase(pc)) invalidate(pc, 1);
}

CachedBlock* Cpu::lookup(uint64_t pc) { return lookup_in(cache_, pc, max_block_insns); }

CachedBlock* Cpu::lookup_single(uint64_t pc) { return lookup_in(single_cache_, pc, 1); }

CachedBlock* Cpu::lookup_in(BlockCache& cache, uint64_t pc, unsigned max_insns) {
  uint64_t context = 0;
  if (sys_ && !sys_->code_key(pc, context)) {
    // Not fetchable now: the translation is the fetch fault, kept for this run only.
    std::unique_ptr<CachedBlock> cb(make_block(pc, max_insns));
    cb->valid = false;  // (nothing may link to it: it dies at the end of the run)
    return cache.retire(std::move(cb));
  }
  if (CachedBlock* b = cache.find(pc, context)) return b;
  std::unique_ptr<CachedBlock> cb(make_block(pc, max_insns));
  if (sys_) {
    MmuCodeSource& code = sys_->code();
    // An instruction straddling the page end makes the block depend on a second page its key
    // does not name: run it once and translate again next time.
    if (code.straddles || code.pages.empty()) {
      cb->valid = false;
      return cache.retire(std::move(cb));
    }
    cb->context = context;
    for (size_t i = 0; i < code.pages.size() && i < 2; ++i) cb->physical_pages[i] = code.pages[i];
    PhysicalMemory& ram = sys_->mmu().ram();
    for (uint64_t page : code.pages)
      if (ram.mark_code(page)) sys_->mmu().protect_code_page(page);
  }
  return cache.insert(std::move(cb));
}

// A freshly lifted block, optimised and checked as configured, ready to run.
std::unique_ptr<CachedBlock> Cpu::prepared_block(ir::Block ir) const {
  auto cb = std::make_unique<CachedBlock>();
  cb->ir = std::move(ir);
  if (optimize_ir) ir::optimize(cb->ir);
  if (verify_ir) {
    std::string err = ir::verify(cb->ir);
    if (!err.empty()) throw std::logic_error("IR verifier rejected the block at pc " + std::to_string(cb->ir.pc) + ": " + err + "\n" + ir::print(cb->ir));
  }
  cb->frame = cb->ir.slot_init;
  cb->guest_insns = uint32_t(cb->ir.marks.size());
  return cb;
}

CachedBlock* Cpu::make_block(uint64_t pc, unsigned max_insns) {
  auto cb = prepared_block(translate(pc, max_insns));
  if (mem_ && !cb->ir.marks.empty()) mem_->mark_code(cb->ir.pc, cb->ir.end_pc - cb->ir.pc);
  ++stats_.blocks_translated;
  return cb.release();
}

// The instruction at pc alone, to run once after its store into translated code faulted (see
// run()): translated without marking its page as code (that would protect the page again and
// the store would fault forever), without instrumentation (its code and block hooks ran before
// the fault) and never compiled; it is dropped with the run's other dead blocks.
CachedBlock* Cpu::replay_block(uint64_t pc) {
  ir::Block b;
  b.pc = b.end_pc = pc;
  b.arch = &fe_.arch();
  ir::Builder builder(b);  // (no shaper: no hooks, no stop points)
  if (sys_) sys_->code().begin(pc);
  fe_.translate(pc, code_source(), builder, 1);
  auto cb = prepared_block(std::move(b));
  cb->valid = false;
  cb->jit_failed = true;
  return cache_.retire(std::move(cb));
}

void Cpu::invalidate(uint64_t addr, uint64_t len) {
  size_t n = cache_.invalidate(addr, len);
  n += single_cache_.invalidate(addr, len);
  if (n) ++stats_.invalidations;
}

namespace {
// Fills the stop's instruction bytes from the block's instruction marks; returns how many guest
// instructions of the block come before the one containing inst_index (they completed).
uint32_t describe_insn(Stop& s, const ir::Block& b, size_t inst_index) {
  const ir::InsnMark* mark = nullptr;
  uint32_t before = 0;
  for (const auto& m : b.marks) {
    if (m.first_inst > inst_index) break;
    if (mark) ++before;
    mark = &m;
  }
  if (mark) {
    s.pc = mark->pc;
    s.insn = mark->bytes;
    s.insn_len = mark->length;
  }
  return before;
}

// A memory fault at `inst`: the access's address, size, and for a store the value (the address
// the host reported may lie inside an access that crosses into a bad page). The interpreter has
// the operands in the block's frame; compiled code passes them.
void describe_access(Stop& s, const ThreadedInst& inst, uint64_t addr, uint64_t value) {
  if (inst.op != ir::Op::load && inst.op != ir::Op::loads && inst.op != ir::Op::store) return;
  s.access_addr = addr;
  s.size = uint8_t(inst.sub / 8);
  if (inst.op == ir::Op::store) s.value = value & (inst.sub >= 64 ? ~0ull : (1ull << inst.sub) - 1);
}
void describe_access(Stop& s, const CachedBlock& b, const ThreadedInst& inst) {
  describe_access(s, inst, b.frame[inst.a], inst.b != ir::kNoSlot ? b.frame[inst.b] : 0);
}
}  // namespace

// Adds what the interpreter reported through running_.progress (blocks it finished while
// chaining) to this run's count and the statistics.
void Cpu::take_progress() {
  executed_ += running_.progress.insns;
  running_.progress = ChainProgress{};
}

uint64_t Cpu::blocks_executed() const { return cache_.total_executions() + single_cache_.total_executions(); }

// Compiled code that was running when a host fault hit: the block whose code holds the faulting
// host instruction, else (a fault inside a helper it called) the one that recorded its position
// before the call. Its own instructions do not count as executed (it did not finish).
CachedBlock* Cpu::take_compiled_progress(const jit::JitContext& ctx, uintptr_t rip) {
  CachedBlock* found = ctx.block;
  bool in_code = false;
  auto probe = [&](CachedBlock& x) {
    if (x.jit && rip >= reinterpret_cast<uintptr_t>(x.jit) && rip < reinterpret_cast<uintptr_t>(x.jit) + x.jit_size) {
      found = &x;
      in_code = true;
    }
  };
  cache_.for_each(probe);
  single_cache_.for_each(probe);
  // Compiled code keeps the budget in rbp (x86 register 5), and stores it before calls.
  uint64_t left = in_code ? fault_regs_[5] : ctx.insns_left;
  running_.progress.insns += running_.jit_budget - left - found->guest_insns;
  if (found->jit_self_loop) found->executions += (ctx.loop_entry_left - left) / found->guest_insns;
  --found->executions;
  return found;
}

Stop Cpu::finish(Stop s, uint64_t completed_in_block) {
  executed_ += completed_in_block;
  stats_.insns_executed += executed_;
  executed_ = 0;
  set_pc(s.pc);
  cache_.collect();
  single_cache_.collect();
  return s;
}

Stop Cpu::run(uint64_t max_insns) {
  Cpu* volatile outer = tl_running_cpu;
  tl_running_cpu = this;
  struct Restore {
    Cpu* prev;
    ~Restore() { tl_running_cpu = prev; }
  } restore{outer};
  executed_ = 0;
  running_.progress = ChainProgress{};
  if (mem_) mem_->drop_stale_code();

  for (;;) {
    if (sigsetjmp(fault_jmp_, 0)) {
      // A host fault inside guest memory while running running_.block at running_.inst.
      if (hooks) hooks->replayed_accesses = 0;
      const CachedBlock* b = running_.jit ? take_compiled_progress(*running_.jit, fault_rip_) : running_.block;
      take_progress();
      const ThreadedInst* inst = running_.inst;
      const CachedBlock::JitAccess* access = nullptr;
      if (running_.jit) {
        // A guest access in compiled code (found by the host pc), else a helper the code called
        // (the code stored its position before the call).
        access = b->jit_access_at(fault_rip_);
        inst = &b->code[access ? access->position : running_.jit->code_index];
        if (access) do_pending_writes(*b, *access);
      }
      running_.jit = nullptr;
      size_t code_index = size_t(inst - b->code.data());
      Stop s{StopReason::MemFault};
      uint32_t before = describe_insn(s, b->ir, b->ir_index(code_index));
      s.addr = fault_addr_;
      s.write = fault_write_;
      if (access) describe_access(s, *inst, fault_regs_[access->addr_reg], fault_regs_[access->value_reg]);
      else describe_access(s, *b, *inst);
      uint32_t access_index = 0;
      locate_access(*b, code_index, &access_index);
      if (resume_after_code_write(s, before, access_index)) {
        if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, s.pc}, 0);
        continue;
      }
      return finish(s, before);
    }
    if (max_insns == 0) return finish(Stop{StopReason::Limit, pc()}, 0);
    return run_blocks(max_insns);
  }
}

// The guest-register writes compiled code had not done yet at a faulting access (see
// CachedBlock::JitPending), from where their values were: the guest state is then exact.
void Cpu::do_pending_writes(const CachedBlock& b, const CachedBlock::JitAccess& a) {
  for (uint32_t k = 0; k < a.pending_count; ++k) {
    const CachedBlock::JitPending& p = b.jit_pending[a.pending_first + k];
    uint64_t v = p.value;
    switch (p.where) {
      case CachedBlock::JitPending::Reg: v = fault_regs_[p.reg]; break;
      case CachedBlock::JitPending::Const: break;
      case CachedBlock::JitPending::Stack: v = fault_spills_[p.value / 8]; break;
      case CachedBlock::JitPending::Frame: v = b.frame[p.value]; break;
    }
    std::memcpy(state_.data() + p.offset, &v, p.bytes);
  }
}

// Self-modifying code: pages holding translations are host read-only (GuestMemory::mark_code), so
// a guest store into one faults before writing anything. That is not a guest fault if the guest
// may write there: the page's translations go (prepare_write tells this Cpu through
// code_written), the page gets its write permission back, and the storing instruction runs again
// from its start, once, untranslated (replay_block). The instructions before it completed.
bool Cpu::resume_after_code_write(const Stop& s, uint32_t completed_in_block, uint32_t access_index) {
  uint64_t page = page_down(s.addr);
  if (!mem_ || !s.write || !mem_->holds_code(page) || !mem_->accessible(page, 1, kWrite)) return false;
  executed_ += completed_in_block;
  set_pc(s.pc);
  mem_->prepare_write(page, GuestMemory::kPageSize);
  ++stats_.code_write_faults;
  replay_next_ = true;
  // The accesses before the store made their memory hook calls, and so did the store itself if
  // it is in the hooked range (write hooks run before the store).
  replay_accesses_ = access_index;
  if (hooks && s.size && hooks->mem_hooked(s.access_addr, s.size)) ++replay_accesses_;
  return true;
}

// Tier 1 for b (on its first run with engine Jit, once hot with Auto). A full code cache is
// flushed whole: every block then runs interpreted until it is compiled again.
void Cpu::compile(CachedBlock& b, const InterpEnv& env) {
  if (!code_cache_) code_cache_ = std::make_unique<jit::CodeCache>(jit_cache_bytes);
  prepare_block(b, env);  // compiled code reports positions in the threaded form
  auto t0 = std::chrono::steady_clock::now();
  bool ok = jit::compile_block(b, *code_cache_, hooks, sys_ != nullptr);
  if (!ok) {
    collect_code();
    ok = jit::compile_block(b, *code_cache_, hooks, sys_ != nullptr);
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats_.compile_seconds += took;
  if (ok) write_perf_map(b);
  b.compile_ns = uint32_t(std::min(took * 1e9, 4e9));
  if (ok) {
    ++stats_.blocks_compiled;
  } else {
    b.jit_failed = true;
    ++stats_.jit_declined;
  }
}

// With VMKIT_PERF_MAP=1, every compiled block is listed in /tmp/perf-<pid>.map (the format Linux
// perf reads for JIT code), named by its guest address, so `perf report` can attribute host time
// to guest blocks.
void Cpu::write_perf_map(const CachedBlock& b) {
  static const bool enabled = [] {
    const char* e = std::getenv("VMKIT_PERF_MAP");
    return e && *e && *e != '0';
  }();
  if (!enabled) return;
  static FILE* map = [] {
    char path[64];
    std::snprintf(path, sizeof path, "/tmp/perf-%d.map", int(::getpid()));
    return std::fopen(path, "a");
  }();
  if (!map) return;
  std::fprintf(map, "%lx %x vmkit_block_%llx\n", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(b.jit)),
               b.jit_size, static_cast<unsigned long long>(b.ir.pc));
  std::fflush(map);
  // VMKIT_PERF_MAP=dump also writes each block's host code to /tmp/vmkit-jit-<pid>/<guest pc>-<guest insns>.bin
  // (for `objdump -D -b binary -m i386:x86-64`).
  static const bool dump = std::string_view(std::getenv("VMKIT_PERF_MAP")) == "dump";
  if (!dump) return;
  char path[96];
  std::snprintf(path, sizeof path, "/tmp/vmkit-jit-%d", int(::getpid()));
  ::mkdir(path, 0755);
  std::snprintf(path, sizeof path, "/tmp/vmkit-jit-%d/%llx-%u.bin", int(::getpid()), static_cast<unsigned long long>(b.ir.pc), b.guest_insns);
  if (FILE* f = std::fopen(path, "wb")) {
    std::fwrite(b.jit, 1, b.jit_size, f);
    std::fclose(f);
  }
}

// The code cache is full. The collector keeps the blocks that ran most since the last collection
// (recompiled into the emptied cache, up to half of it) and drops the rest: they run interpreted
// until they are hot again. Chains into dropped code die with it, because chaining reads the next
// block's jit_body. The pause is measured.
void Cpu::collect_code() {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<CachedBlock*> compiled;
  auto gather = [&](CachedBlock& x) {
    if (x.jit) compiled.push_back(&x);
  };
  cache_.for_each(gather);
  single_cache_.for_each(gather);
  auto heat = [](const CachedBlock* x) { return x->executions - x->executions_at_collection; };
  std::sort(compiled.begin(), compiled.end(), [&](auto* x, auto* y) { return heat(x) > heat(y); });
  for (CachedBlock* x : compiled) {
    x->jit = x->jit_body = nullptr;
    x->forget_compiled_links();
    x->executions_at_collection = x->executions;
  }
  code_cache_->flush();
  size_t kept = 0;
  for (CachedBlock* x : compiled) {
    if (code_cache_->used() >= code_cache_->capacity() / 2 ||
        !jit::compile_block(*x, *code_cache_, hooks, sys_ != nullptr))
      break;
    ++kept;
  }
  ++stats_.code_cache_flushes;
  if (adaptive_threshold) jit_threshold = std::min(std::max<uint64_t>(jit_threshold, 1) * 2, kMaxAdaptiveThreshold);
  stats_.blocks_evicted += compiled.size() - kept;
  double pause = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats_.flush_pause_max_seconds = std::max(stats_.flush_pause_max_seconds, pause);
}

std::vector<BlockStat> Cpu::block_stats() const {
  std::vector<BlockStat> out;
  cache_.for_each([&](const CachedBlock& b) {
    out.push_back({b.ir.pc, b.ir.end_pc, b.guest_insns, b.executions, b.jit != nullptr, b.compile_ns});
  });
  return out;
}

// System mode: compiled code going to another page or to a computed target asks here for the
// compiled block the loop would run at pc now. Only a block already translated for pc's current
// physical page qualifies (nothing is translated from here), so every translation check the loop
// makes is made here too.
void* Cpu::system_lookup(jit::JitContext* ctx, uint64_t pc) {
  Cpu* cpu = static_cast<Cpu*>(ctx->owner);
  uint64_t key;
  if (!cpu->sys_->code_key(pc, key)) return nullptr;
  CachedBlock* b = cpu->cache_.find(pc, key);
  return b ? b->jit_body : nullptr;
}

BlockOutcome Cpu::run_compiled(CachedBlock& b, jit::JitContext& ctx, uint64_t budget) {
  ctx.insns_left = running_.jit_budget = budget;
  if (ctx.mmu) {
    ctx.dtlb = ctx.mmu->data_table();  // the regime may have changed since the last block
    ctx.mmu_accesses = 0;
  }
  ctx.block = &b;
  running_.jit = &ctx;
  uint32_t kind = reinterpret_cast<jit::BlockFn>(b.jit)(&ctx, b.frame.data());
  running_.jit = nullptr;
  if (ctx.mmu) ctx.mmu->stats.hits += ctx.mmu_accesses;
  // The blocks chained through finished (and counted themselves in executions); the last one,
  // ctx.block, is accounted by the execution loop like any block it runs (or has not started).
  running_.progress.insns += budget - ctx.insns_left;
  if (kind != BlockOutcome::Resume) {
    running_.progress.insns -= ctx.block->guest_insns;
    --ctx.block->executions;
  }
  BlockOutcome out{};
  out.kind = static_cast<BlockOutcome::Kind>(kind);
  out.block = ctx.block;
  out.succ = int8_t(ctx.succ);
  out.exit_kind = ctx.exit_kind;
  out.write = ctx.write;
  out.inst = ctx.code_index;
  out.detail = ctx.detail;
  out.pc = ctx.next_pc;
  out.addr = ctx.addr;
  out.value = ctx.value;
  out.from_jit = true;
  return out;
}

Stop Cpu::run_blocks(uint64_t max_insns) {
  auto* common = reinterpret_cast<GuestCommon*>(state_.data());
  InterpEnv env{state_.data(), mem_ ? mem_->base() : nullptr, mem_ ? mem_->size() : 0, &running_.inst};
  if (sys_) {
    env.mmu = &sys_->mmu();
    sys_->retired = stats_.insns_executed;
    sys_->check_interrupts();
  }
  env.cache = &cache_;
  env.running_block = &running_.block;
  env.progress = &running_.progress;
  env.hooks = hooks;
  common->hooks = hooks;
  if (engine == Engine::Auto) env.jit_threshold = jit_threshold;
  else if (engine == Engine::Jit) env.jit_threshold = 0;
  if (!jit_ctx_) jit_ctx_ = std::make_unique<jit::JitContext>();
  jit::JitContext& ctx = *jit_ctx_;
  ctx = jit::JitContext{};
  ctx.state = state_.data();
  ctx.mem_base = mem_ ? mem_->base() : nullptr;
  ctx.mem_limit = mem_ ? mem_->size() - jit::kMaxAccess : 0;
  ctx.hooks = hooks;
  ctx.fast_table = cache_.fast_table();
  if (sys_) {
    ctx.mmu = &sys_->mmu();
    ctx.system_lookup = &Cpu::system_lookup;
    ctx.owner = this;
  }
  // System mode: hands a guest event to the SystemCore (the instructions before it completed),
  // which leaves pc where execution goes on; false when the run must stop.
  auto deliver = [&](SystemEvent ev, uint64_t insn_pc, uint64_t detail, uint64_t addr) {
    sys_->retired = stats_.insns_executed + executed_;
    return sys_->on_event(ev, insn_pc, detail, addr);
  };
  uint64_t pc = this->pc();
  CachedBlock* b = replay_next_ ? replay_block(pc) : lookup(pc);
  // The exit the last block left through, to be patched into b's compiled code once b has some.
  CachedBlock* link_from = nullptr;
  CachedBlock* link_to = nullptr;
  unsigned link_exit = 0;
  for (;;) {
    // Never run past the budget: a block longer than what is left runs one instruction at a time.
    if (b->guest_insns > max_insns - executed_) b = lookup_single(b->ir.pc);
    running_.block = b;
    env.budget = max_insns - executed_;
    if (!b->jit && !b->jit_failed && engine != Engine::Interp &&
        (engine == Engine::Jit || b->executions >= jit_threshold))
      compile(*b, env);
    if (link_from && b == link_to && b->jit && link_from->valid && b->valid) link_from->link_compiled(link_exit, *b);
    link_from = nullptr;
    BlockOutcome out;
    if (replay_next_) {
      // The replayed instruction alone (budget 0: no chaining), with its first accesses' memory
      // hook calls not repeated.
      replay_next_ = false;
      if (hooks) hooks->replayed_accesses = replay_accesses_;
      env.budget = 0;
      out = interpret(*b, env);
      if (hooks) hooks->replayed_accesses = 0;
    } else {
      out = b->jit ? run_compiled(*b, ctx, env.budget) : interpret(*b, env);
    }
    // The interpreter may have chained through several blocks: account for the finished ones
    // and continue with the one the outcome is about.
    b = out.block;
    take_progress();
    switch (out.kind) {
      case BlockOutcome::Next:
        break;
      case BlockOutcome::Resume:
        if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, b->ir.pc}, 0);
        continue;
      case BlockOutcome::Exit: {
        auto kind = static_cast<ir::ExitKind>(out.exit_kind);
        if (sys_ && kind != ir::ExitKind::StopPoint) {
          // System mode: a guest event for the privileged architecture, which leaves pc where
          // execution goes on. Instructions that complete by exiting (a CSR write, WFI, fence.i,
          // an xRET) count as executed; a trapping one (ecall, ebreak, illegal, fetch fault) not.
          Stop at{};
          uint32_t before = describe_insn(at, b->ir, b->ir_index(out.inst));
          SystemEvent ev;
          uint64_t insn_pc = at.pc, addr = 0;
          bool completes = false;
          switch (kind) {
            case ir::ExitKind::Syscall: ev = SystemEvent::Ecall; break;
            case ir::ExitKind::Breakpoint: ev = SystemEvent::Breakpoint; break;
            case ir::ExitKind::IllegalInsn: ev = SystemEvent::IllegalInsn; break;
            case ir::ExitKind::FetchFault: ev = SystemEvent::FetchFault; insn_pc = b->ir.pc; addr = out.pc; break;
            case ir::ExitKind::Xret: ev = SystemEvent::Xret; completes = true; break;
            case ir::ExitKind::Wfi: ev = SystemEvent::Wfi; insn_pc = out.pc; completes = true; break;
            default: ev = SystemEvent::Resync; insn_pc = out.pc; completes = true; break;  // Resync, FlushICache
          }
          executed_ += before + (completes ? 1 : 0);
          if (!deliver(ev, insn_pc, out.detail, addr)) return finish(Stop{StopReason::System, this->pc()}, 0);
          if (!b->valid) {
            cache_.collect();
            single_cache_.collect();
          }
          if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, this->pc()}, 0);
          b = lookup(this->pc());
          continue;
        }
        if (kind == ir::ExitKind::FlushICache) {
          // Executed every instruction of the block up to and including fence.i.
          executed_ += b->guest_insns;
          invalidate();
          cache_.collect();
          single_cache_.collect();
          pc = out.pc;
          b = lookup(pc);
          continue;
        }
        Stop s{};
        uint32_t before = describe_insn(s, b->ir, b->ir_index(out.inst));
        const uint64_t insn_pc = s.pc;
        s.pc = out.pc;
        switch (kind) {
          case ir::ExitKind::Syscall: s.reason = StopReason::Syscall; break;
          case ir::ExitKind::Breakpoint: s.reason = StopReason::Breakpoint; break;
          case ir::ExitKind::IllegalInsn: s.reason = StopReason::IllegalInsn; s.insn = out.detail; break;
          case ir::ExitKind::StopPoint: s.reason = StopReason::StopPoint; s.insn_len = 0; break;
          case ir::ExitKind::FetchFault:
            // Always a block's first instruction; the exit's pc operand is the missing address.
            s.reason = StopReason::FetchFault; s.addr = out.pc; s.pc = b->ir.pc; s.insn_len = 0; break;
          case ir::ExitKind::Xret:
          case ir::ExitKind::Wfi:
            // Privileged instructions outside system mode: what a U-mode hart makes of them.
            s.reason = StopReason::IllegalInsn; s.pc = insn_pc; s.insn = out.detail; break;
          default: s.reason = StopReason::Trap; break;
        }
        return finish(s, before);
      }
      case BlockOutcome::Hooked: {
        Stop s{StopReason::Hooked};
        uint32_t before = describe_insn(s, b->ir, b->ir_index(out.inst));
        s.pc = this->pc();  // where the hooks left it (they may have changed it)
        return finish(s, before);
      }
      case BlockOutcome::Trap:
        if (common->trap.pending == kPendingHookLeave) {
          // A helper's memory hook asked to leave: like Hooked (the helper's instruction undone).
          common->trap = PendingTrap{};
          Stop s{StopReason::Hooked};
          uint32_t before = describe_insn(s, b->ir, b->ir_index(out.inst));
          s.pc = this->pc();
          return finish(s, before);
        }
        if (sys_ && common->trap.pending == kPendingArchTrap) {
          // An exception raised by a helper or the software MMU, for the guest's handler.
          Stop at{};
          executed_ += describe_insn(at, b->ir, b->ir_index(out.inst));
          PendingTrap t = common->trap;
          common->trap = PendingTrap{};
          if (!deliver(SystemEvent::ArchTrap, at.pc, uint32_t(t.signo), t.addr))
            return finish(Stop{StopReason::System, this->pc()}, 0);
          if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, this->pc()}, 0);
          b = lookup(this->pc());
          continue;
        }
        if (sys_ && common->trap.pending == kPendingStop) {
          // The instruction completed (a device write that stops the machine): stop after it.
          Stop at{};
          executed_ += describe_insn(at, b->ir, b->ir_index(out.inst)) + 1;
          common->trap = PendingTrap{};
          return finish(Stop{StopReason::System, at.pc + at.insn_len}, 0);
        }
        if (sys_ && common->trap.pending == kPendingCodeWrite) {
          // A store into a physical page holding translations, stopped before it wrote: the
          // page's translations go, and the storing instruction runs again alone (as in user
          // mode's resume_after_code_write).
          Stop at{};
          executed_ += describe_insn(at, b->ir, b->ir_index(out.inst));
          uint64_t page = common->trap.addr;
          common->trap = PendingTrap{};
          ++stats_.code_write_faults;
          set_pc(at.pc);
          sys_->mmu().ram().code_written(page);
          cache_.collect();
          single_cache_.collect();
          if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, at.pc}, 0);
          replay_next_ = true;
          replay_accesses_ = 0;
          b = replay_block(at.pc);
          continue;
        }
        [[fallthrough]];
      case BlockOutcome::MemFault: {
        Stop s{};
        uint32_t before = describe_insn(s, b->ir, b->ir_index(out.inst));
        if (out.kind == BlockOutcome::MemFault) {
          s.reason = StopReason::MemFault;
          s.addr = out.addr;
          s.write = out.write;
          if (out.from_jit) describe_access(s, b->code[out.inst], out.addr, out.value);
          else describe_access(s, *b, b->code[out.inst]);
        } else {
          s.reason = StopReason::Trap;
          s.signo = common->trap.signo;
          s.code = common->trap.code;
          s.addr = common->trap.addr ? common->trap.addr : s.pc;
          common->trap = PendingTrap{};
        }
        return finish(s, before);
      }
    }
    ++b->executions;
    executed_ += b->guest_insns;
    pc = out.pc;
    if (executed_ >= max_insns) return finish(Stop{StopReason::Limit, pc}, 0);
    CachedBlock* next = nullptr;
    uint64_t epoch = cache_.epoch();
    // System mode links only within a virtual page (qemu's rule): a block was entered through a
    // checked translation, and the mapping of its own page cannot change while it runs, so the
    // link stays right; a target on another page needs its translation checked each time.
    const bool linkable = !sys_ || ((pc ^ b->ir.pc) & SoftMmu::kPageMask) == 0;
    if (out.succ >= 0 && b->link_epoch == epoch) next = b->link[out.succ];
    if (!next) {
      next = lookup(pc);
      if (out.succ >= 0 && b->valid && next->valid && linkable) {
        if (b->link_epoch != cache_.epoch()) {
          b->link[0] = b->link[1] = nullptr;
          b->link_epoch = cache_.epoch();
        }
        b->link[out.succ] = next;
      }
    }
    if (out.succ >= 0 && b->jit && linkable) {
      link_from = b;
      link_to = next;
      link_exit = unsigned(out.succ);
    }
    // (A block that is not kept, like one straddling a page, is itself in the graveyard.)
    if (!b->valid && next->valid) {
      cache_.collect();
      single_cache_.collect();
    }
    b = next;
  }
}

}  // namespace vmkit
