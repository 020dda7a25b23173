#include "core/hooks.h"

#include <algorithm>
#include <cstdio>

#include "core/errors.h"

namespace vmkit {

HookSet::HookSet() {
  runtime_.code = &HookSet::on_code;
  runtime_.mem = &HookSet::on_mem;
  runtime_.owner = this;
  instrumenter_.hooks = this;
}

void HookSet::attach(Cpu& cpu) {
  cpu_ = &cpu;
  cpu.hooks = &runtime_;
  cpu.instrumenter = &instrumenter_;
  cpu.invalidate();
}

void HookSet::invalidate(uint64_t begin, uint64_t end) {
  if (cpu_) cpu_->invalidate(begin, end - begin);
}

bool HookSet::covers(uint32_t types, uint64_t begin, uint64_t end) const {
  if (!(types_ & types)) return false;
  for (const auto& h : hooks_)
    if (!h->removed && (h->types & types) && h->begin < end && begin < h->end) return true;
  return false;
}

void HookSet::Instrumenter::on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) {
  if (first && hooks->covers(kHookBlock, pc, pc + 1)) b.hook(ir::HookKind::Block, pc, 0);
  if (hooks->covers(kHookCode | kHookMemFetch, pc, pc + 1)) b.hook(ir::HookKind::Code, pc, length);
}

void HookSet::update_mem_range() {
  bool had = runtime_.has_mem_hooks();
  const uint64_t old_lo = runtime_.mem_lo, old_hi = runtime_.mem_hi;
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
  // Blocks lowered without memory checks must be lowered again, and compiled blocks hold the
  // range itself (an emptied range is harmless to the interpreter's checks).
  if (cpu_ && (runtime_.mem_lo != old_lo || runtime_.mem_hi != old_hi) && (had || runtime_.has_mem_hooks()))
    cpu_->invalidate();
}

uint64_t HookSet::add(uint32_t types, uint64_t begin, uint64_t end, HookFn fn, void* user) {
  if (types == 0 || (types & ~uint32_t(kHookAll))) throw UsageError("unknown hook type mask " + hex(types));
  if (end <= begin)
    throw UsageError("hook range [" + hex(begin) + ", " + hex(end) + ") is empty: end must be greater than begin");
  if (!fn) throw UsageError("hook function is NULL");
  uint64_t id = next_id_++;
  hooks_.push_back(std::make_unique<Hook>(Hook{id, types, begin, end, fn, user}));
  types_ |= types;
  if (types & (kHookCode | kHookBlock | kHookMemFetch)) invalidate(begin, end);
  if (types & (kHookMemRead | kHookMemWrite)) update_mem_range();
  return id;
}

void HookSet::remove(uint64_t id) {
  auto it = std::find_if(hooks_.begin(), hooks_.end(), [&](const auto& h) { return h->id == id && !h->removed; });
  if (it == hooks_.end()) throw UsageError("hook " + std::to_string(id) + " is not installed (already removed?)");
  uint32_t types = (*it)->types;
  uint64_t begin = (*it)->begin, end = (*it)->end;
  // While hooks run, the list must not change under call(): mark now, erase when they are done.
  (*it)->removed = true;
  if (depth_ == 0) hooks_.erase(it);
  else removed_pending_ = true;
  types_ = 0;
  for (const auto& h : hooks_)
    if (!h->removed) types_ |= h->types;
  if (types & (kHookCode | kHookBlock | kHookMemFetch)) invalidate(begin, end);
  if (types & (kHookMemRead | kHookMemWrite)) update_mem_range();
}

int HookSet::call(HookType type, uint64_t addr, uint32_t size, uint64_t value, uint64_t range_addr) {
  if (!(types_ & type)) return 0;
  int result = 0;
  ++depth_;
  if (cpu_) ++cpu_->host_callbacks;
  // Hooks added by a hook run from the next event on (indexes stay valid: hooks_ only grows
  // while hooks run, and a removed Hook lives on, marked, until they are done). Hook functions
  // do not throw: the Python trampoline turns exceptions into fail().
  const size_t n = hooks_.size();
  const bool overlap = size && (type & (kHookMemRead | kHookMemWrite));
  for (size_t i = 0; i < n; ++i) {
    Hook& h = *hooks_[i];
    if (h.removed || !(h.types & type)) continue;
    bool in_range = overlap ? (range_addr < h.end && h.begin < range_addr + size)
                            : (range_addr >= h.begin && range_addr < h.end);
    if (!in_range) continue;
    result |= h.fn(type, addr, size, value, h.user);
    if (error_) break;
  }
  if (cpu_) {
    --cpu_->host_callbacks;
    // Code a hook changed through a memory view (not through mem_write): drop its translations.
    cpu_->memory().drop_stale_code();
  }
  if (--depth_ == 0 && removed_pending_) {
    removed_pending_ = false;
    std::erase_if(hooks_, [](const auto& h) { return h->removed; });
  }
  return result;
}

void HookSet::begin_run(double timeout) {
  stop_requested_.store(false);
  error_ = nullptr;
  timed_out_ = false;
  insn_incomplete_ = false;
  completing_ = false;
  has_deadline_ = timeout > 0;
  if (has_deadline_)
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout));
}

bool HookSet::past_deadline() {
  if (!has_deadline_) return false;
  if (timed_out_) return true;
  if (std::chrono::steady_clock::now() >= deadline_) timed_out_ = true;
  return timed_out_;
}

HookAction HookSet::on_code(HookRuntime* rt, ir::HookKind kind, uint64_t pc, uint32_t size) {
  HookSet* hs = static_cast<HookSet*>(rt->owner);
  if (hs->completing_) return HookAction::Continue;
  Cpu* cpu = hs->cpu_;
  cpu->set_pc(pc);
  int stop = 0;
  if (kind == ir::HookKind::Block) {
    stop = hs->call(kHookBlock, pc, size, 0, pc);
  } else {
    stop = hs->call(kHookCode, pc, size, 0, pc);
    if ((hs->types_ & kHookMemFetch) && !hs->error_) {
      uint32_t bytes = 0;
      cpu->memory().fetch(pc, &bytes, std::min<uint32_t>(size, 4));
      stop |= hs->call(kHookMemFetch, pc, size, bytes, pc);
    }
  }
  if (stop) hs->stop();
  // The deadline is checked every 256 hook calls: a clock read costs more than a hook's dispatch.
  bool late = hs->has_deadline_ && (++hs->deadline_tick_ & 255) == 0 && hs->past_deadline();
  if (hs->stop_requested() || hs->error_ || late || cpu->pc() != pc) return HookAction::Leave;
  return HookAction::Continue;
}

HookAction HookSet::on_mem(HookRuntime* rt, MemAccess access, uint64_t pc, uint64_t addr, uint32_t size,
                           uint64_t value) {
  HookSet* hs = static_cast<HookSet*>(rt->owner);
  if (rt->access_index < rt->replayed_accesses) return HookAction::Continue;
  hs->cpu_->set_pc(pc);
  int stop = hs->call(access == MemAccess::Write ? kHookMemWrite : kHookMemRead, addr, size, value, addr);
  if (hs->completing_) return HookAction::Continue;  // the run stops after this instruction anyway
  if (stop) hs->stop();
  if (hs->stop_requested() || hs->error_) {
    // Leave before the instruction completes; complete_stopped_insn() runs the rest of it,
    // skipping the hook calls it already made (rt->access_index counts them).
    hs->insn_incomplete_ = hs->cpu_->pc() == pc && !hs->error_;
    hs->stopped_access_index_ = rt->access_index;
    return HookAction::Leave;
  }
  if (hs->cpu_->pc() != pc) return HookAction::Leave;  // the hook sent the run elsewhere
  return HookAction::Continue;
}

void HookSet::complete_stopped_insn() {
  if (!insn_incomplete_ || !cpu_) return;
  insn_incomplete_ = false;
  completing_ = true;
  runtime_.replayed_accesses = stopped_access_index_ + 1;
  cpu_->run(1);
  runtime_.replayed_accesses = 0;
  completing_ = false;
}

bool HookSet::handle_fault(const Stop& s, FaultInfo& info) {
  bool fetch = s.reason == StopReason::FetchFault;
  GuestMemory& mem = cpu_->memory();
  info.access = fetch ? MemAccess::Fetch : s.write ? MemAccess::Write : MemAccess::Read;
  info.address = s.size ? s.access_addr : s.addr;
  info.size = fetch ? 2 : s.size;
  info.value = s.value;
  info.unmapped = !mem.accessible(s.addr, 1, 0);  // the faulting byte; perm 0: mapped at all
  uint32_t type = fetch ? (info.unmapped ? kHookFetchUnmapped : kHookFetchProt)
                  : s.write ? (info.unmapped ? kHookWriteUnmapped : kHookWriteProt)
                            : (info.unmapped ? kHookReadUnmapped : kHookReadProt);
  if (!(types_ & type)) return false;
  int handled = call(HookType(type), info.address, info.size, info.value, info.address);
  if (error_ || !handled) return false;
  // Retry only if the hook really made the access possible; else report the fault (no endless
  // retry loop).
  int need = fetch ? kExec : s.write ? kWrite : kRead;
  return mem.accessible(info.address, std::max<uint32_t>(info.size, 1), need);
}

}  // namespace vmkit
