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


Machine::Machine(const std::string& arch, uint64_t address_space)
    : arch_(arch), fe_(make_frontend(arch)), mem_(address_space), cpu_(std::make_unique<Cpu>(*fe_, mem_)) {
  hooks_.attach(*cpu_);
}

Machine::~Machine() = default;

// ---- registers ---------------------------------------------------------------------------------

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

void Machine::mem_read(uint64_t addr, void* out, size_t n) { mem_.debug_read(addr, out, n); }

void Machine::mem_write(uint64_t addr, const void* data, size_t n) {
  mem_.debug_write(addr, data, n);
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

// ---- running -----------------------------------------------------------------------------------

bool Machine::handle_exception(const Stop& s, RunResult& r) {
  switch (s.reason) {
    case StopReason::Syscall: r.cause = fe_->exception_cause(GuestException::Syscall); break;
    case StopReason::Breakpoint: r.cause = fe_->exception_cause(GuestException::Breakpoint); break;
    default:  // a helper's trap: SIGILL (bad rounding mode), SIGBUS (misaligned atomic), SIGFPE
              // (x86 #DE, #XM), SIGSEGV (x86 #GP)
      r.cause = fe_->exception_cause(s.signo == SIGBUS    ? (s.write ? GuestException::StoreMisaligned
                                                                     : GuestException::LoadMisaligned)
                                     : s.signo == SIGFPE  ? (s.code == FPE_INTDIV ? GuestException::DivideError
                                                                                  : GuestException::FloatingPointError)
                                     : s.signo == SIGSEGV ? GuestException::GeneralProtection
                                                          : GuestException::IllegalInsn);
      break;
  }
  if (!(hooks_.types() & kHookInterrupt)) return false;
  // Like a trap handler returning past the instruction: the hook sees pc at it; unless it moves
  // pc, execution goes on after it.
  uint64_t len = s.insn_len ? s.insn_len : 4;
  hooks_.call(kHookInterrupt, s.pc, 0, r.cause, s.pc);
  if (hooks_.failed()) return false;
  if (cpu_->pc() == s.pc) cpu_->set_pc(s.pc + len);
  return true;
}

bool Machine::handle_invalid(const Stop& s, RunResult& r) {
  r.fault.address = s.pc;
  r.fault.size = s.insn_len;
  r.fault.value = s.insn;
  r.cause = fe_->exception_cause(GuestException::IllegalInsn);
  r.insn_text = fe_->describe_insn(mem_, s.pc);
  if (!(hooks_.types() & kHookInvalidInsn)) return false;
  int handled = hooks_.call(kHookInvalidInsn, s.pc, s.insn_len, s.insn, s.pc);
  if (hooks_.failed() || !handled) return false;
  // The hook fixed things: it moved pc or rewrote the instruction (drop its translation).
  cpu_->invalidate(s.pc, s.insn_len ? s.insn_len : 4);
  return true;
}

RunResult Machine::run(uint64_t begin, const RunOptions& opt) {
  if (running_) throw UsageError("run() called from a hook while the machine is running: use stop() and run again after it returns");
  if (opt.timeout < 0) throw UsageError("timeout must be >= 0 seconds");
  running_ = true;
  hooks_.begin_run(opt.timeout);
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
    if (hooks_.stop_requested()) { r.reason = RunEnd::Stopped; break; }
    if (hooks_.past_deadline()) { r.reason = RunEnd::Timeout; break; }
    Stop s = cpu_->run(slice);
    if (hooks_.failed()) break;
    bool go_on = false;
    switch (s.reason) {
      case StopReason::Limit:
        go_on = true;
        break;
      case StopReason::StopPoint:
        r.reason = RunEnd::Until;
        break;
      case StopReason::System:  // (a bare machine has no system core)
        break;
      case StopReason::Hooked:
        hooks_.complete_stopped_insn();
        if (hooks_.failed()) break;
        if (hooks_.timed_out()) { r.reason = RunEnd::Timeout; break; }
        go_on = !hooks_.stop_requested();  // else a hook moved pc: go on there
        r.reason = RunEnd::Stopped;
        break;
      case StopReason::MemFault:
      case StopReason::FetchFault:
        go_on = hooks_.handle_fault(s, r.fault);
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
    if (hooks_.failed() || !go_on) break;
    r = RunResult{};
  }
  r.pc = cpu_->pc();
  r.insns = executed();
  if (hooks_.failed()) std::rethrow_exception(hooks_.take_error());
  return r;
}

}  // namespace vmkit
