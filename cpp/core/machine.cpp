#include "core/machine.h"

#include <signal.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "core/errors.h"
#include "core/guest_common.h"
#include "frontend/registry.h"
#include "mmu/snapshot.h"

namespace vmkit {

const char* run_end_name(RunEnd e) {
  switch (e) {
    case RunEnd::Until: return "until";
    case RunEnd::Count: return "count";
    case RunEnd::Timeout: return "timeout";
    case RunEnd::Stopped: return "stopped";
    case RunEnd::MemFault: return "mem_fault";
    case RunEnd::InvalidInsn: return "invalid_insn";
    case RunEnd::Exception: return "exception";
  }
  return "?";
}

namespace {
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

Machine::Machine(const std::string& arch, uint64_t address_space)
    : arch_(arch), fe_(make_frontend(arch)), mem_(address_space), cpu_(std::make_unique<Cpu>(*fe_, mem_)) {
  runtime_.code = &Machine::on_code;
  runtime_.mem = &Machine::on_mem;
  runtime_.owner = this;
  instrumenter_.m = this;
  cpu_->hooks = &runtime_;
  cpu_->instrumenter = &instrumenter_;
}

Machine::~Machine() = default;

// ---- registers ---------------------------------------------------------------------------------

const RegInfo& Machine::reg_info(const std::string& name) const {
  for (const RegInfo& r : fe_->registers())
    if (r.name == name) return r;
  throw UsageError("unknown " + arch_ + " register '" + name + "': use an architectural name such as "
                   "'a0', 'x10', 'sp', 'pc', 'f0', 'fa0', 'fflags' or 'frm'");
}

uint64_t Machine::reg_read(const RegInfo& r) const {
  uint64_t v = 0;
  std::memcpy(&v, cpu_->state() + r.offset, ir::type_bits(r.type) / 8);
  return v;
}

void Machine::reg_write(const RegInfo& r, uint64_t value) {
  if (r.name == "zero" || r.name == "x0") return;  // hardwired to 0, as in the hardware
  unsigned bytes = ir::type_bits(r.type) / 8;
  if (bytes < 8 && (value >> (8 * bytes)) != 0)
    throw UsageError("value " + hex(value) + " does not fit the " + std::to_string(8 * bytes) +
                     "-bit register '" + r.name + "'");
  std::memcpy(cpu_->state() + r.offset, &value, bytes);
}

std::vector<uint8_t> Machine::save_context() const {
  const uint8_t* s = cpu_->state();
  // The common header holds host pointers (memory base): not part of a context.
  return std::vector<uint8_t>(s + sizeof(GuestCommon), s + fe_->arch().state_size);
}

void Machine::restore_context(const std::vector<uint8_t>& ctx) {
  size_t want = fe_->arch().state_size - sizeof(GuestCommon);
  if (ctx.size() != want)
    throw UsageError("context of " + std::to_string(ctx.size()) + " bytes does not belong to a " + arch_ +
                     " machine (" + std::to_string(want) + " bytes): restore a context saved from one");
  std::memcpy(cpu_->state() + sizeof(GuestCommon), ctx.data(), want);
}

// ---- snapshots ---------------------------------------------------------------------------------

MachineSnapshot::~MachineSnapshot() = default;

std::unique_ptr<MachineSnapshot> Machine::snapshot() {
  if (running_) throw UsageError("snapshot() from a hook is not supported: stop the run and take it after run() returns");
  auto s = std::make_unique<MachineSnapshot>();
  s->context = save_context();
  s->memory = mem_.snapshot();
  return s;
}

uint64_t Machine::restore(MachineSnapshot& snap) {
  if (running_) throw UsageError("restore() from a hook is not supported: stop the run and restore after run() returns");
  if (!snap.memory || snap.memory->memory() != &mem_)
    throw UsageError("this snapshot belongs to another machine: restore it there");
  RestoreReport rep = mem_.restore(*snap.memory);
  // Code that changed since the snapshot must be translated again.
  for (const auto& [addr, len] : rep.code_ranges) cpu_->invalidate(addr, len);
  restore_context(snap.context);
  return rep.pages_copied;
}

// ---- memory ------------------------------------------------------------------------------------

void Machine::mem_write(uint64_t addr, const void* data, size_t n) {
  mem_.write(addr, data, n);
  if (n) cpu_->invalidate(addr, n);
}

void Machine::mem_map(uint64_t addr, uint64_t len, int perm) {
  mem_.map_new(addr, len, perm, "");
  cpu_->invalidate(addr, len);
}

void Machine::mem_unmap(uint64_t addr, uint64_t len) {
  mem_.unmap_checked(addr, len);
  cpu_->invalidate(addr, len);
}

void Machine::mem_protect(uint64_t addr, uint64_t len, int perm) {
  mem_.protect_checked(addr, len, perm);
  cpu_->invalidate(addr, len);
}

// ---- hooks -------------------------------------------------------------------------------------

bool Machine::covers(uint32_t types, uint64_t begin, uint64_t end) const {
  if (!(hook_types_ & types)) return false;
  for (const auto& h : hooks_)
    if (!h->removed && (h->types & types) && h->begin < end && begin < h->end) return true;
  return false;
}

void Machine::Instrumenter::on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) {
  if (first && m->covers(kHookBlock, pc, pc + 1)) b.hook(ir::HookKind::Block, pc, 0);
  if (m->covers(kHookCode | kHookMemFetch, pc, pc + 1)) b.hook(ir::HookKind::Code, pc, length);
}

void Machine::update_mem_range() {
  bool had = runtime_.has_mem_hooks();
  runtime_.mem_lo = 1;
  runtime_.mem_hi = 0;
  for (const auto& h : hooks_) {
    if (h->removed || !(h->types & (kHookMemRead | kHookMemWrite))) continue;
    if (runtime_.mem_lo > runtime_.mem_hi) {
      runtime_.mem_lo = h->begin;
      runtime_.mem_hi = h->end - 1;
    } else {
      runtime_.mem_lo = std::min(runtime_.mem_lo, h->begin);
      runtime_.mem_hi = std::max(runtime_.mem_hi, h->end - 1);
    }
  }
  // Blocks lowered without memory checks must be lowered again (the reverse is harmless: the
  // checks find an empty range).
  if (!had && runtime_.has_mem_hooks()) cpu_->invalidate();
}

uint64_t Machine::add_hook(uint32_t types, uint64_t begin, uint64_t end, HookCallback fn) {
  if (types == 0 || (types & ~uint32_t(kHookAll)))
    throw UsageError("unknown hook type mask " + hex(types));
  if (end <= begin)
    throw UsageError("hook range [" + hex(begin) + ", " + hex(end) + ") is empty: end must be greater than begin");
  if (!fn) throw UsageError("hook callback is empty");
  uint64_t id = next_hook_id_++;
  hooks_.push_back(std::make_unique<Hook>(Hook{id, types, begin, end, std::move(fn)}));
  hook_types_ |= types;
  if (types & (kHookCode | kHookBlock | kHookMemFetch)) cpu_->invalidate(begin, end - begin);
  if (types & (kHookMemRead | kHookMemWrite)) update_mem_range();
  return id;
}

void Machine::remove_hook(uint64_t id) {
  auto it = std::find_if(hooks_.begin(), hooks_.end(), [&](const auto& h) { return h->id == id && !h->removed; });
  if (it == hooks_.end()) throw UsageError("hook " + std::to_string(id) + " is not installed (already removed?)");
  uint32_t types = (*it)->types;
  uint64_t begin = (*it)->begin, end = (*it)->end;
  // While hooks run, the list must not change under call_hooks: mark now, erase later.
  (*it)->removed = true;
  if (hook_depth_ == 0) hooks_.erase(it);
  hook_types_ = 0;
  for (const auto& h : hooks_)
    if (!h->removed) hook_types_ |= h->types;
  if (types & (kHookCode | kHookBlock | kHookMemFetch)) cpu_->invalidate(begin, end - begin);
  if (types & (kHookMemRead | kHookMemWrite)) update_mem_range();
}

int Machine::call_hooks(HookType type, uint64_t addr, uint32_t size, uint64_t value, uint64_t range_addr) {
  if (!(hook_types_ & type)) return 0;
  int result = 0;
  ++hook_depth_;
  struct Depth {
    Machine* m;
    ~Depth() {
      if (--m->hook_depth_ == 0)
        std::erase_if(m->hooks_, [](const auto& h) { return h->removed; });
    }
  } depth{this};
  // Hooks added by a hook run from the next event on (indexes stay valid: hooks_ only grows
  // while hooks run, and a removed Hook lives on, marked, until they are done).
  const size_t n = hooks_.size();
  HookEvent ev{type, addr, size, value};
  for (size_t i = 0; i < n; ++i) {
    Hook& h = *hooks_[i];
    if (h.removed || !(h.types & type)) continue;
    bool in_range = size && (type & (kHookMemRead | kHookMemWrite))
                        ? (range_addr < h.end && h.begin < range_addr + size)
                        : (range_addr >= h.begin && range_addr < h.end);
    if (!in_range) continue;
    result |= h.fn(*this, ev);
    if (pending_error_) break;
  }
  return result;
}

bool Machine::past_deadline() {
  if (!has_deadline_) return false;
  if (timed_out_) return true;
  if (std::chrono::steady_clock::now() >= deadline_) timed_out_ = true;
  return timed_out_;
}

HookAction Machine::on_code(HookRuntime* rt, ir::HookKind kind, uint64_t pc, uint32_t size) {
  Machine* m = static_cast<Machine*>(rt->owner);
  if (m->completing_) return HookAction::Continue;
  m->cpu_->set_pc(pc);
  int stop = 0;
  if (kind == ir::HookKind::Block) {
    stop = m->call_hooks(kHookBlock, pc, size, 0, pc);
  } else {
    stop = m->call_hooks(kHookCode, pc, size, 0, pc);
    if ((m->hook_types_ & kHookMemFetch) && !m->pending_error_) {
      uint32_t bytes = 0;
      m->mem_.fetch(pc, &bytes, std::min<uint32_t>(size, 4));
      stop |= m->call_hooks(kHookMemFetch, pc, size, bytes, pc);
    }
  }
  if (stop) m->stop();
  // The deadline is checked every 256 hook calls: a clock read costs more than a hook's dispatch.
  bool late = m->has_deadline_ && (++m->deadline_tick_ & 255) == 0 && m->past_deadline();
  if (m->stop_requested_.load(std::memory_order_relaxed) || m->pending_error_ || late || m->cpu_->pc() != pc)
    return HookAction::Leave;
  return HookAction::Continue;
}

HookAction Machine::on_mem(HookRuntime* rt, MemAccess access, uint64_t pc, uint64_t addr, uint32_t size,
                           uint64_t value) {
  Machine* m = static_cast<Machine*>(rt->owner);
  if (m->completing_ && rt->access_index <= m->stopped_access_index_) return HookAction::Continue;
  m->cpu_->set_pc(pc);
  int stop = m->call_hooks(access == MemAccess::Write ? kHookMemWrite : kHookMemRead, addr, size, value, addr);
  if (m->completing_) return HookAction::Continue;  // the run stops after this instruction anyway
  if (stop) m->stop();
  if (m->stop_requested_.load(std::memory_order_relaxed) || m->pending_error_) {
    // Leave before the instruction completes; run() completes it, skipping the hook calls it
    // already made (rt->access_index counts them).
    m->insn_incomplete_ = m->cpu_->pc() == pc && !m->pending_error_ && !m->completing_;
    m->stopped_access_index_ = rt->access_index;
    return HookAction::Leave;
  }
  if (m->cpu_->pc() != pc) return HookAction::Leave;  // the hook sent the run elsewhere
  return HookAction::Continue;
}

// ---- running -----------------------------------------------------------------------------------

namespace {
// RISC-V exception causes (privileged spec, mcause) for what the CPU reports.
constexpr uint32_t kCauseIllegalInsn = 2, kCauseBreakpoint = 3, kCauseLoadMisaligned = 4,
                   kCauseStoreMisaligned = 6, kCauseEcallU = 8;
}  // namespace

bool Machine::handle_fault(const Stop& s, RunResult& r) {
  bool fetch = s.reason == StopReason::FetchFault;
  MemAccess access = fetch ? MemAccess::Fetch : s.write ? MemAccess::Write : MemAccess::Read;
  uint64_t addr = s.size ? s.access_addr : s.addr;
  uint32_t size = fetch ? 2 : s.size;
  bool unmapped = !mem_.accessible(s.addr, 1, 0);  // the faulting byte; perm 0: mapped at all
  uint32_t type = fetch ? (unmapped ? kHookFetchUnmapped : kHookFetchProt)
                  : s.write ? (unmapped ? kHookWriteUnmapped : kHookWriteProt)
                            : (unmapped ? kHookReadUnmapped : kHookReadProt);
  r.fault_access = access;
  r.fault_unmapped = unmapped;
  r.fault_address = addr;
  r.fault_size = size;
  r.fault_value = s.value;
  if (!(hook_types_ & type)) return false;
  int handled = call_hooks(HookType(type), addr, size, s.value, addr);
  if (pending_error_) return false;
  if (!handled) return false;
  // Retry only if the hook really made the access possible; else report the fault (no endless
  // retry loop).
  int need = fetch ? kExec : s.write ? kWrite : kRead;
  return mem_.accessible(addr, std::max<uint32_t>(size, 1), need);
}

bool Machine::handle_exception(const Stop& s, RunResult& r) {
  switch (s.reason) {
    case StopReason::Syscall: r.cause = kCauseEcallU; break;  // user-level code: no privilege modes yet
    case StopReason::Breakpoint: r.cause = kCauseBreakpoint; break;
    default:  // a helper's trap: SIGILL (bad rounding mode), SIGBUS (misaligned atomic)
      r.cause = s.signo == SIGBUS ? (s.write ? kCauseStoreMisaligned : kCauseLoadMisaligned) : kCauseIllegalInsn;
      break;
  }
  if (!(hook_types_ & kHookInterrupt)) return false;
  // Like a trap handler returning past the instruction: the hook sees pc at it; unless it moves
  // pc, execution goes on after it.
  uint64_t len = s.insn_len ? s.insn_len : 4;
  call_hooks(kHookInterrupt, s.pc, 0, r.cause, s.pc);
  if (pending_error_) return false;
  if (cpu_->pc() == s.pc) cpu_->set_pc(s.pc + len);
  return true;
}

bool Machine::handle_invalid(const Stop& s, RunResult& r) {
  r.fault_address = s.pc;
  r.fault_size = s.insn_len;
  r.fault_value = s.insn;
  r.cause = kCauseIllegalInsn;
  if (!(hook_types_ & kHookInvalidInsn)) return false;
  int handled = call_hooks(kHookInvalidInsn, s.pc, s.insn_len, s.insn, s.pc);
  if (pending_error_ || !handled) return false;
  // The hook fixed things: it moved pc or rewrote the instruction (drop its translation).
  cpu_->invalidate(s.pc, s.insn_len ? s.insn_len : 4);
  return true;
}

RunResult Machine::run(uint64_t begin, const RunOptions& opt) {
  if (running_) throw UsageError("run() called from a hook while the machine is running: use stop() and run again after it returns");
  if (opt.timeout < 0) throw UsageError("timeout must be >= 0 seconds");
  running_ = true;
  stop_requested_.store(false);
  pending_error_ = nullptr;
  timed_out_ = false;
  insn_incomplete_ = false;
  completing_ = false;
  has_deadline_ = opt.timeout > 0;
  if (has_deadline_)
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(opt.timeout));
  struct Cleanup {
    Machine* m;
    std::optional<uint64_t> until;
    ~Cleanup() {
      if (until) m->cpu_->remove_stop_point(*until);
      m->running_ = false;
    }
  } cleanup{this, opt.until};
  if (opt.until) cpu_->add_stop_point(*opt.until);
  cpu_->set_pc(begin);

  RunResult r;
  const uint64_t start_insns = cpu_->stats().insns_executed;
  auto executed = [&] { return cpu_->stats().insns_executed - start_insns; };
  // Without a deadline or a count, runs in large slices anyway so that stop() from another thread
  // is seen.
  constexpr uint64_t kSlice = 1u << 22;
  for (;;) {
    uint64_t slice = kSlice;
    if (opt.count) {
      uint64_t done = executed();
      if (done >= opt.count) { r.reason = RunEnd::Count; break; }
      slice = std::min(slice, opt.count - done);
    }
    if (stop_requested_.load(std::memory_order_relaxed)) { r.reason = RunEnd::Stopped; break; }
    if (past_deadline()) { r.reason = RunEnd::Timeout; break; }
    Stop s = cpu_->run(slice);
    if (pending_error_) break;
    bool go_on = false;
    switch (s.reason) {
      case StopReason::Limit:
        go_on = true;
        break;
      case StopReason::StopPoint:
        r.reason = RunEnd::Until;
        break;
      case StopReason::Hooked:
        if (insn_incomplete_) {
          // Finish the instruction a memory hook stopped in, without its hooks firing again.
          insn_incomplete_ = false;
          completing_ = true;
          cpu_->run(1);
          completing_ = false;
        }
        if (pending_error_) break;
        if (timed_out_) { r.reason = RunEnd::Timeout; break; }
        go_on = !stop_requested_.load(std::memory_order_relaxed);  // else a hook moved pc: go on there
        r.reason = RunEnd::Stopped;
        break;
      case StopReason::MemFault:
      case StopReason::FetchFault:
        go_on = handle_fault(s, r);
        r.reason = RunEnd::MemFault;
        break;
      case StopReason::IllegalInsn:
        go_on = handle_invalid(s, r);
        r.reason = RunEnd::InvalidInsn;
        break;
      case StopReason::Syscall:
      case StopReason::Breakpoint:
      case StopReason::Trap:
        go_on = handle_exception(s, r);
        r.reason = RunEnd::Exception;
        break;
    }
    if (pending_error_ || !go_on) break;
    r = RunResult{};
  }
  r.pc = cpu_->pc();
  r.insns = executed();
  if (pending_error_) {
    std::exception_ptr e = pending_error_;
    pending_error_ = nullptr;
    std::rethrow_exception(e);
  }
  return r;
}

}  // namespace vmkit
