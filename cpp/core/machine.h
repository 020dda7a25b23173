// A bare machine: one guest CPU and its memory with no operating system, driven by a script the
// way Unicorn is: map memory, write code, add hooks, run between addresses or for a count, stop
// from a hook, resume. Hooks are compiled into the translations of the ranges they cover (see
// HookRuntime); code outside every hooked range runs as fast as with no hooks at all.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/hooks.h"
#include "frontend/frontend.h"
#include "mmu/guest_memory.h"

namespace vmkit {

class MemorySnapshot;

// Registers and memory (contents, mappings, permissions) at one moment; memory is copied on write
// (see mmu/snapshot.h), so restoring the latest snapshot costs time in proportion to the pages
// written since.
struct MachineSnapshot {
  std::vector<uint8_t> context;
  std::unique_ptr<MemorySnapshot> memory;
  ~MachineSnapshot();
};

// Why run() returned.
enum class RunEnd {
  Until,        // reached `until` (not executed)
  Count,        // executed `count` instructions
  Timeout,      // `timeout` passed
  Stopped,      // stop() (from a hook or another thread)
  MemFault,     // an access no hook handled: `fault` says which
  InvalidInsn,  // an undecodable instruction no hook handled
  Exception,    // ecall / ebreak / a trap with no interrupt hook: cause says which
};
const char* run_end_name(RunEnd e);

struct RunResult {
  RunEnd reason = RunEnd::Stopped;
  uint64_t pc = 0;       // where execution stopped (the instruction not executed)
  uint64_t insns = 0;    // instructions executed by this run
  // MemFault: the access; InvalidInsn: address, length (size) and bytes (value) of the instruction
  FaultInfo fault;
  uint32_t cause = 0;    // Exception, InvalidInsn: the architecture's number (Frontend::exception_cause)
  std::string insn_text;  // InvalidInsn: the instruction as text, where the frontend can say (x86-64)
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
  const RegInfo& reg_info(const std::string& name) const { return cpu_->register_named(name); }
  uint64_t reg_read(const RegInfo& r) const { return cpu_->read_register(r); }
  void reg_write(const RegInfo& r, uint64_t value) { cpu_->write_register(r, value); }
  uint64_t pc() const { return cpu_->pc(); }
  void set_pc(uint64_t pc) { cpu_->set_pc(pc); }
  // The whole register file (the guest state, for context save/restore).
  std::vector<uint8_t> save_context() const;
  void restore_context(const std::vector<uint8_t>& ctx);  // UsageError for a wrong size

  std::unique_ptr<MachineSnapshot> snapshot();
  // Returns the number of pages copied back. UsageError for a snapshot of another machine.
  uint64_t restore(MachineSnapshot& snap);

  // Host-side memory access, like Unicorn's: any mapped memory, whatever the guest may do with it
  // (scripts load code into read-only or execute-only memory); GuestAccessError where unmapped.
  // Keeps translations coherent: writes to code that already ran drop its translations;
  // map/unmap/protect too.
  void mem_read(uint64_t addr, void* out, size_t n);
  void mem_write(uint64_t addr, const void* data, size_t n);
  void mem_map(uint64_t addr, uint64_t len, int perm);      // checked: UsageError
  void mem_unmap(uint64_t addr, uint64_t len);
  void mem_protect(uint64_t addr, uint64_t len, int perm);

  // Hooks ([begin, end), see HookType); the interrupt and invalid-instruction hooks are this
  // class's, the rest HookSet's.
  HookSet& hooks() { return hooks_; }
  uint64_t add_hook(uint32_t types, uint64_t begin, uint64_t end, HookFn fn, void* user) {
    return hooks_.add(types, begin, end, fn, user);
  }
  void remove_hook(uint64_t id) { hooks_.remove(id); }

  RunResult run(uint64_t begin, const RunOptions& opt);
  // Stops the current run at the next instruction boundary the run sees: at once from a hook; from
  // another thread, within a bounded number of instructions.
  void stop() { hooks_.stop(); }
  bool running() const { return running_; }
  // A hook raised (e.g. a Python exception): the run stops and run() rethrows it.
  void fail(std::exception_ptr e) { hooks_.fail(e); }

  // Drops every translation of [addr, addr+len) (after changing code through a memory view).
  void invalidate(uint64_t addr, uint64_t len) { cpu_->invalidate(addr, len); }
  ir::Block translate(uint64_t pc) const { return cpu_->translate(pc); }

 private:
  // A stop that ran an interrupt / invalid-instruction hook: true to go on running.
  bool handle_exception(const Stop& s, RunResult& r);
  bool handle_invalid(const Stop& s, RunResult& r);

  std::string arch_;
  std::unique_ptr<Frontend> fe_;
  GuestMemory mem_;
  std::unique_ptr<Cpu> cpu_;
  HookSet hooks_;
  bool running_ = false;
};

}  // namespace vmkit
