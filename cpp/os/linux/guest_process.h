// The state of one running guest process, shared by the loader, the syscall layer and the signal
// code (internal to os/linux).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "frontend/frontend.h"
#include "frontend/riscv64/state.h"
#include "mmu/guest_memory.h"
#include "os/linux/fd_table.h"
#include "os/linux/process.h"

namespace vmkit::linux_user {

constexpr int kNumSignals = 64;  // signals 1..64

// The guest's `struct sigaction` as rt_sigaction passes it on riscv64 (asm-generic, no restorer).
struct GuestSigaction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1, else a guest address
  uint64_t flags = 0;
  uint64_t mask = 0;
};
static_assert(sizeof(GuestSigaction) == 24);

// A signal waiting for delivery with the siginfo fields that matter.
struct PendingSignal {
  int signo = 0;
  int code = 0;       // si_code
  uint64_t addr = 0;  // si_addr for faults
  int pid = 0, uid = 0;  // sender for SI_USER / SI_TKILL / SIGCHLD
  int status = 0;        // SIGCHLD: exit code or signal
};

struct SignalState {
  std::array<GuestSigaction, kNumSignals + 1> actions{};
  uint64_t blocked = 0;  // bit (signo-1)
  std::deque<PendingSignal> pending;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = 2;  // SS_DISABLE
  // rt_sigsuspend: the mask to restore once a handler returns (the frame saves it, not the
  // temporary mask), valid while restore_mask is set.
  bool restore_mask = false;
  uint64_t saved_mask = 0;
};

struct Process {
  ProcessOptions opts;
  std::unique_ptr<Frontend> fe;
  std::unique_ptr<GuestMemory> mem;
  std::unique_ptr<Cpu> cpu;
  FdTable fds;
  SignalState sig;

  std::string exe_path;        // the running program (for /proc/self/exe)
  std::string sysroot;         // where absolute guest paths are looked up first (empty: nowhere)
  std::string thread_name;     // prctl(PR_SET_NAME)
  int vfork_release_fd = -1;   // vfork child: closing it lets the waiting parent continue
  uint64_t brk_start = 0, brk_cur = 0;
  uint64_t mmap_base = 0;      // mmaps without a hint are placed below this
  uint64_t sigreturn_trampoline = 0;
  uint64_t clear_child_tid = 0;
  uint64_t insns_before_exec = 0;  // instructions run by images replaced by execve

  bool after_syscall = false;  // the last stop was an ecall (pc is past it)
  bool exited = false;
  int exit_status = 0;
  int killed_by = 0;
  bool is_fork_child = false;
  std::set<uint64_t> reported_syscalls;
  std::string diagnostics;

  rv64::State& st() { return cpu->state_as<rv64::State>(); }
  uint64_t& x(unsigned i) { return st().x[i]; }
  // Writes one line of vmkit's own report to diag_fd and keeps it for ProcessResult.
  void diag(const std::string& line);
  uint64_t insns() const { return insns_before_exec + (cpu ? cpu->stats().insns_executed : 0); }
};

// Loads `path` (an ELF or a #! script) into a fresh address space with a new initial stack and
// registers; on success the old image is gone. Throws ElfError / UsageError and leaves the
// process untouched on failure.
void exec_image(Process& p, const std::string& path, const std::vector<std::string>& argv,
                const std::vector<std::string>& env);

// "#!interp [arg]" at the start of a file: returns true and fills interp/arg.
bool read_shebang(const std::string& path, std::string& interp, std::string& arg);

// True if the host can run `path` itself: an ELF for the host's own machine, or a #! script
// whose interpreter is one (host_exec.cpp).
bool is_host_program(const std::string& path);
// execve of a host program, the way qemu-user's execve hands it to the host kernel: the program
// runs natively in place of the guest, with the guest's open fds, ignored signals and signal
// mask. Returns -errno if it could not be started (the guest goes on), else ends the guest with
// the program's exit status or signal.
int64_t exec_host_program(Process& p, const std::string& path, const std::vector<std::string>& argv,
                          const std::vector<std::string>& env);

// Handles the ecall at the current pc (advances pc past it).
void handle_syscall(Process& p);

// Signals (signals.cpp).
void queue_signal(Process& p, const PendingSignal& s);
// A synchronous fault: delivered now (forced to the default action if blocked or ignored).
void force_signal(Process& p, const PendingSignal& s, uint64_t pc, uint32_t insn, uint8_t insn_len);
// Delivers the deliverable pending signals (after a syscall returns).
void deliver_pending(Process& p);
// rt_sigreturn: restores registers and mask from the frame at sp.
void sigreturn(Process& p);
const char* signal_name(int signo);

// Host signals that the guest can see (SIGCHLD from its forked children, SIGINT, SIGTERM, ...)
// are caught while the guest runs and turned into guest signals. Installed by run_process for
// the duration of the run; the previous host handlers are restored afterwards.
class HostSignalForwarding {
 public:
  HostSignalForwarding();
  ~HostSignalForwarding();
  HostSignalForwarding(const HostSignalForwarding&) = delete;
  HostSignalForwarding& operator=(const HostSignalForwarding&) = delete;
};
// Moves host signals caught so far into the guest's pending queue.
void collect_host_signals(Process& p);
// True if a pending signal would now interrupt the guest (a handler to run or a fatal default):
// a blocking host call interrupted by EINTR is retried when this is false.
bool guest_signal_deliverable(Process& p);
// True if the first deliverable pending signal's handler asked for SA_RESTART.
bool deliverable_signal_restarts(Process& p);
// rt_sigsuspend: waits with `mask` blocked until a deliverable signal is pending; returns -EINTR.
int64_t sigsuspend(Process& p, uint64_t mask);

std::string hex(uint64_t v);

}  // namespace vmkit::linux_user
