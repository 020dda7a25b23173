// User hooks on a running CPU, shared by bare machines (core/machine.h) and Linux processes
// (os/linux): the list of hooks with their ranges, the instrumentation that compiles hook calls
// into the translations of hooked code (see HookRuntime), and what happens around them: stop
// requests, errors raised by a hook, deadlines, and the fault / exception / invalid-instruction /
// syscall hooks the owner's run loop asks about.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/hook_runtime.h"

namespace vmkit {

// Hook types, as bits: one hook may cover several (e.g. every unmapped access).
enum HookType : uint32_t {
  kHookCode = 1u << 0,             // before each instruction in range: (pc, size)
  kHookBlock = 1u << 1,            // before each block that starts in range: (pc, size in bytes)
  kHookMemRead = 1u << 2,          // after a load from the range: (addr, size, value read)
  kHookMemWrite = 1u << 3,         // before a store to the range: (addr, size, value)
  kHookMemFetch = 1u << 4,         // before executing an instruction in range: (pc, size, bytes)
  kHookReadUnmapped = 1u << 5,     // faults: (addr, size, value); the callback returns nonzero
  kHookWriteUnmapped = 1u << 6,    //   if it made the access possible (mapped or re-protected
  kHookFetchUnmapped = 1u << 7,    //   memory): the instruction is then retried
  kHookReadProt = 1u << 8,
  kHookWriteProt = 1u << 9,
  kHookFetchProt = 1u << 10,
  kHookInterrupt = 1u << 11,       // bare machines: ecall, ebreak and other synchronous
                                   //   exceptions: (pc, 0, cause)
  kHookInvalidInsn = 1u << 12,     // an undecodable instruction: (pc, length, bytes); nonzero =
                                   //   handled (the hook moved pc or rewrote the code): go on
  kHookSyscall = 1u << 13,         // Linux processes: before a syscall: (pc, 0, number); nonzero =
                                   //   the hook did it (its result is in the return register)
  kHookAll = (1u << 14) - 1,
};
constexpr uint32_t kHookMemAccess = kHookMemRead | kHookMemWrite | kHookMemFetch;
constexpr uint32_t kHookMemFault = kHookReadUnmapped | kHookWriteUnmapped | kHookFetchUnmapped |
                                   kHookReadProt | kHookWriteProt | kHookFetchProt;

// A hook: a plain C function, so that native hooks (from ctypes or a compiled extension) are
// called directly; Python hooks go through a trampoline with `user` pointing at their callable.
// Returns nonzero to stop the run (fault, invalid-instruction and syscall hooks: see HookType).
using HookFn = int (*)(uint32_t type, uint64_t address, uint32_t size, uint64_t value, void* user);

// What a fault looked like, for the owner's report when no hook handled it.
struct FaultInfo {
  MemAccess access = MemAccess::Read;
  bool unmapped = false;
  uint64_t address = 0;
  uint32_t size = 0;
  uint64_t value = 0;
};

class HookSet {
 public:
  HookSet();
  HookSet(const HookSet&) = delete;
  HookSet& operator=(const HookSet&) = delete;

  // Instruments `cpu` (its new translations call these hooks; old ones are dropped) and makes it
  // the CPU that hooks act on. A Linux process re-attaches after execve.
  void attach(Cpu& cpu);
  void detach() { cpu_ = nullptr; }  // the CPU is going away
  Cpu* cpu() const { return cpu_; }

  // [begin, end) with end > begin; UsageError otherwise.
  uint64_t add(uint32_t types, uint64_t begin, uint64_t end, HookFn fn, void* user);
  void remove(uint64_t id);  // UsageError if unknown
  uint32_t types() const { return types_; }
  bool empty() const { return types_ == 0; }

  // Runs the hooks of `type` that cover range_addr (memory hooks: that overlap
  // [range_addr, range_addr+size)); returns the OR of their results.
  int call(HookType type, uint64_t addr, uint32_t size, uint64_t value, uint64_t range_addr);

  // A fault the CPU reported (MemFault / FetchFault): describes it in `info`, runs the matching
  // fault hooks; true if one handled it and the access is now possible (retry the instruction).
  bool handle_fault(const Stop& s, FaultInfo& info);

  // Run control. begin_run resets the stop request, errors and the deadline (seconds; 0: none).
  void begin_run(double timeout);
  void stop() { stop_requested_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const { return stop_requested_.load(std::memory_order_relaxed); }
  // A hook failed (e.g. a Python exception): the run stops; the owner rethrows take_error().
  void fail(std::exception_ptr e) {
    error_ = e;
    stop();
  }
  bool failed() const { return error_ != nullptr; }
  std::exception_ptr take_error() {
    std::exception_ptr e = error_;
    error_ = nullptr;
    return e;
  }
  bool past_deadline();
  bool timed_out() const { return timed_out_; }
  // After a Cpu stop with reason Hooked: if a memory hook stopped inside an instruction, runs the
  // rest of it (without repeating the hook calls it made), so runs stop between instructions.
  void complete_stopped_insn();

 private:
  struct Hook {
    uint64_t id;
    uint32_t types;
    uint64_t begin, end;
    HookFn fn;
    void* user;
    bool removed = false;
  };
  struct Instrumenter : ir::Instrumenter {
    HookSet* hooks;
    void on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) override;
    bool ends_block_before(uint64_t) const override { return false; }
  };
  static HookAction on_code(HookRuntime* rt, ir::HookKind kind, uint64_t pc, uint32_t size);
  static HookAction on_mem(HookRuntime* rt, MemAccess access, uint64_t pc, uint64_t addr, uint32_t size,
                           uint64_t value);
  bool covers(uint32_t types, uint64_t begin, uint64_t end) const;
  void update_mem_range();
  void invalidate(uint64_t begin, uint64_t end);

  Cpu* cpu_ = nullptr;
  HookRuntime runtime_;  // what translated code calls (owner = this)
  Instrumenter instrumenter_;
  // unique_ptr: a hook runs from its Hook while other hooks may be added (the vector may move).
  std::vector<std::unique_ptr<Hook>> hooks_;
  uint64_t next_id_ = 1;
  uint32_t types_ = 0;  // union of the types of live hooks
  int depth_ = 0;       // > 0 while hooks run (removal then only marks)
  bool removed_pending_ = false;  // hooks were marked removed while hooks ran

  std::atomic<bool> stop_requested_{false};
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point deadline_{};
  bool has_deadline_ = false;
  bool timed_out_ = false;
  uint32_t deadline_tick_ = 0;
  // A memory hook stopped the run inside an instruction (see complete_stopped_insn).
  bool insn_incomplete_ = false;
  uint32_t stopped_access_index_ = 0;  // the access whose hook stopped it
  bool completing_ = false;            // completing it: no code hooks, no repeated memory hooks
};

}  // namespace vmkit
