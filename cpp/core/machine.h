// A bare machine: one guest CPU and its memory with no operating system, driven by a script the
// way Unicorn is: map memory, write code, add hooks, run between addresses or for a count, stop
// from a hook, resume. Hooks are compiled into the translations of the ranges they cover (see
// HookRuntime); code outside every hooked range runs as fast as with no hooks at all.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/hook_runtime.h"
#include "frontend/frontend.h"
#include "mmu/guest_memory.h"

namespace vmkit {

class Machine;
class MemorySnapshot;

// Registers and memory (contents, mappings, permissions) at one moment; memory is copied on write
// (see mmu/snapshot.h), so restoring the latest snapshot costs time in proportion to the pages
// written since.
struct MachineSnapshot {
  std::vector<uint8_t> context;
  std::unique_ptr<MemorySnapshot> memory;
  ~MachineSnapshot();
};

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
  kHookInterrupt = 1u << 11,       // ecall, ebreak and other synchronous exceptions: (pc, cause)
  kHookInvalidInsn = 1u << 12,     // an undecodable instruction: (pc, length, bytes); nonzero =
                                   //   handled (the hook moved pc or rewrote the code): go on
  kHookAll = (1u << 13) - 1,
};
constexpr uint32_t kHookMemAccess = kHookMemRead | kHookMemWrite | kHookMemFetch;
constexpr uint32_t kHookMemFault = kHookReadUnmapped | kHookWriteUnmapped | kHookFetchUnmapped |
                                   kHookReadProt | kHookWriteProt | kHookFetchProt;

struct HookEvent {
  HookType type;     // the one bit that fired
  uint64_t address;  // see HookType
  uint32_t size;
  uint64_t value;
};

// The return value is read for faults and invalid instructions (nonzero: handled, retry or go
// on); for the other types nonzero stops the run, like Machine::stop().
using HookCallback = std::function<int(Machine&, const HookEvent&)>;

// Why run() returned.
enum class RunEnd {
  Until,        // reached `until` (not executed)
  Count,        // executed `count` instructions
  Timeout,      // `timeout` passed
  Stopped,      // stop() (from a hook or another thread)
  MemFault,     // an access no hook handled: fault_* say which
  InvalidInsn,  // an undecodable instruction no hook handled
  Exception,    // ecall / ebreak / a trap with no interrupt hook: cause says which
};
const char* run_end_name(RunEnd e);

struct RunResult {
  RunEnd reason = RunEnd::Stopped;
  uint64_t pc = 0;       // where execution stopped (the instruction not executed)
  uint64_t insns = 0;    // instructions executed by this run
  // MemFault: the access; InvalidInsn: the instruction bytes in fault_value, length in size
  MemAccess fault_access = MemAccess::Read;
  bool fault_unmapped = false;  // MemFault: unmapped (else a protection violation)
  uint64_t fault_address = 0;
  uint32_t fault_size = 0;
  uint64_t fault_value = 0;
  uint32_t cause = 0;    // Exception: the RISC-V exception cause (8 = ecall from U, 3 = ebreak, ...)
};

struct RunOptions {
  std::optional<uint64_t> until;
  uint64_t count = 0;    // 0: no limit
  double timeout = 0;    // seconds; 0: none
};

class Machine {
 public:
  explicit Machine(const std::string& arch, uint64_t address_space = GuestMemory::kDefaultSize);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  const std::string& arch() const { return arch_; }
  const Frontend& frontend() const { return *fe_; }
  GuestMemory& memory() { return mem_; }
  Cpu& cpu() { return *cpu_; }

  // Registers by architectural name; values are raw bits (FP registers too).
  const RegInfo& reg_info(const std::string& name) const;  // UsageError for an unknown name
  uint64_t reg_read(const RegInfo& r) const;
  void reg_write(const RegInfo& r, uint64_t value);
  uint64_t pc() const { return cpu_->pc(); }
  void set_pc(uint64_t pc) { cpu_->set_pc(pc); }
  // The whole register file (the guest state, for context save/restore).
  std::vector<uint8_t> save_context() const;
  void restore_context(const std::vector<uint8_t>& ctx);  // UsageError for a wrong size

  std::unique_ptr<MachineSnapshot> snapshot();
  // Returns the number of pages copied back. UsageError for a snapshot of another machine.
  uint64_t restore(MachineSnapshot& snap);

  // Host-side memory access that keeps translations coherent: writes to code that already ran
  // drop its translations; map/unmap/protect too.
  void mem_write(uint64_t addr, const void* data, size_t n);
  void mem_map(uint64_t addr, uint64_t len, int perm);      // checked: UsageError
  void mem_unmap(uint64_t addr, uint64_t len);
  void mem_protect(uint64_t addr, uint64_t len, int perm);

  // Hooks: [begin, end) with end > begin (a range check happens in the core).
  uint64_t add_hook(uint32_t types, uint64_t begin, uint64_t end, HookCallback fn);
  void remove_hook(uint64_t id);  // UsageError if unknown

  RunResult run(uint64_t begin, const RunOptions& opt);
  // Stops the current run at the next instruction boundary the run sees: at once from a hook; from
  // another thread, within a bounded number of instructions.
  void stop() { stop_requested_.store(true, std::memory_order_relaxed); }
  bool running() const { return running_; }
  // A hook raised (e.g. a Python exception): the run stops and run() rethrows it.
  void fail(std::exception_ptr e) { pending_error_ = e; stop(); }

  // Drops every translation of [addr, addr+len) (after changing code through a memory view).
  void invalidate(uint64_t addr, uint64_t len) { cpu_->invalidate(addr, len); }
  ir::Block translate(uint64_t pc) const { return cpu_->translate(pc); }

 private:
  struct Hook {
    uint64_t id;
    uint32_t types;
    uint64_t begin, end;
    HookCallback fn;
    bool removed = false;
  };
  struct Instrumenter : ir::Instrumenter {
    Machine* m;
    void on_insn(ir::Builder& b, uint64_t pc, uint8_t length, bool first) override;
    bool ends_block_before(uint64_t) const override { return false; }
  };
  static HookAction on_code(HookRuntime* rt, ir::HookKind kind, uint64_t pc, uint32_t size);
  static HookAction on_mem(HookRuntime* rt, MemAccess access, uint64_t pc, uint64_t addr, uint32_t size,
                           uint64_t value);
  bool covers(uint32_t types, uint64_t begin, uint64_t end) const;
  // Runs the hooks of `type` that cover [addr, addr+size); returns the OR of their results.
  int call_hooks(HookType type, uint64_t addr, uint32_t size, uint64_t value, uint64_t range_addr);
  void update_mem_range();
  bool past_deadline();
  // A stop that ran a fault/interrupt/invalid hook: true to go on running.
  bool handle_fault(const Stop& s, RunResult& r);
  bool handle_exception(const Stop& s, RunResult& r);
  bool handle_invalid(const Stop& s, RunResult& r);

  std::string arch_;
  std::unique_ptr<Frontend> fe_;
  GuestMemory mem_;
  std::unique_ptr<Cpu> cpu_;
  HookRuntime runtime_;  // what translated code calls (owner = this)
  Instrumenter instrumenter_;
  // unique_ptr: a hook runs from its Hook while other hooks may be added (the vector may move).
  std::vector<std::unique_ptr<Hook>> hooks_;
  uint64_t next_hook_id_ = 1;
  uint32_t hook_types_ = 0;  // union of the types of live hooks
  int hook_depth_ = 0;       // > 0 while hooks run (removal then only marks)

  std::atomic<bool> stop_requested_{false};
  bool running_ = false;
  std::exception_ptr pending_error_;
  std::chrono::steady_clock::time_point deadline_{};
  bool has_deadline_ = false;
  bool timed_out_ = false;
  uint32_t deadline_tick_ = 0;
  // A memory hook stopped the run inside an instruction: it is completed before run() returns,
  // with the memory hook calls it already made not repeated (see on_mem).
  bool insn_incomplete_ = false;
  uint32_t stopped_access_index_ = 0;  // the access whose hook stopped it
  bool completing_ = false;            // completing it: no code hooks, no repeated memory hooks
};

}  // namespace vmkit
