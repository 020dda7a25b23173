// The state of one running guest process, shared by the loader, the syscall layer and the signal
// code (internal to os/linux).
#pragma once

#include <poll.h>
#include <sys/wait.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "frontend/frontend.h"
#include "mmu/guest_memory.h"
#include "os/linux/arch.h"
#include "os/linux/fd_table.h"
#include "os/linux/process.h"

namespace vmkit::linux_user {

constexpr int kNumSignals = 64;  // signals 1..64


// A signal's action, as rt_sigaction sets it (the guest's struct sigaction is 24 bytes on riscv64,
// 32 with sa_restorer on aarch64: LinuxArch::sigaction_size).
struct GuestSigaction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1, else a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;  // with SA_RESTORER (aarch64): where the handler returns to
  uint64_t mask = 0;
};

// A signal waiting for delivery with the siginfo fields that matter.
struct PendingSignal {
  int signo = 0;
  int code = 0;       // si_code
  uint64_t addr = 0;  // si_addr for faults
  int pid = 0, uid = 0;  // sender for SI_USER / SI_TKILL / SIGCHLD
  int status = 0;        // SIGCHLD: exit code or signal
  bool write = false;    // SIGSEGV from a memory access: by a store (x86-64's sigcontext err)
  bool present = false;  // ... on a page mapped with some access (Linux keeps PROT_NONE ones absent)
};

// Signal state shared by every thread of the process (CLONE_SIGHAND: one table of actions).
struct SignalState {
  std::array<GuestSigaction, kNumSignals + 1> actions{};
  // Process-directed signals that every thread blocked when they arrived: the first thread that
  // unblocks them takes them (the kernel's shared_pending).
  std::deque<PendingSignal> pending;
};

// Signal state that belongs to one thread.
struct ThreadSignals {
  uint64_t blocked = 0;  // bit (signo-1)
  std::deque<PendingSignal> pending;  // directed at this thread (tgkill, faults, SIGPIPE, routed kills)
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = 2;  // SS_DISABLE
  // rt_sigsuspend: the mask to restore once a handler returns (the frame saves it, not the
  // temporary mask), valid while restore_mask is set.
  bool restore_mask = false;
  uint64_t saved_mask = 0;
};

// Why a guest thread is not runnable (threads.cpp).
enum class WaitKind {
  None,        // runnable
  Futex,       // FUTEX_WAIT*: until a wake, its deadline or a signal
  Sleep,       // nanosleep while other threads run: until its deadline or a signal
  Sigsuspend,  // rt_sigsuspend while other threads run: until a deliverable signal
  Io,          // a blocking host call while other threads run: until one of wait_fds is ready, a
               // child to wait for has changed state, the deadline or a signal; then the syscall
               // runs again (GuestThread::resumed tells the handler it is a retry)
};

// One guest thread. All threads share the Process's memory, fds and signal actions; they run on
// the process's one Cpu, one at a time (threads.cpp explains the model). The thread on the Cpu
// has its registers there; the others keep them in `regs`.
struct GuestThread {
  int tid = 0;
  ThreadSignals sig;
  uint64_t clear_child_tid = 0;  // set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit
  std::string name;              // prctl(PR_SET_NAME)
  bool after_syscall = false;    // its last stop was a syscall (pc is past it)
  bool dead = false;             // exited; removed by the scheduler
  StateBuffer regs;              // registers while off the Cpu (the GuestCommon header unused)

  WaitKind wait = WaitKind::None;
  uint64_t wait_seq = 0;          // FIFO order among futex waiters
  uint64_t futex_addr = 0;
  uint32_t futex_bitset = 0;
  int64_t deadline_ns = -1;       // CLOCK_MONOTONIC deadline of the wait, -1 = none
  int64_t timeout_result = 0;     // the result when the deadline passes (-ETIMEDOUT, or 0)
  bool restart_on_signal = false; // an interrupting handler with SA_RESTART re-runs the syscall
  uint64_t sleep_rem_addr = 0;    // nanosleep: where the unslept time goes when interrupted
  uint64_t syscall_pc = 0;          // the blocking syscall
  // WaitKind::Io: the host fds and events that end the wait, and the children a wait4 waits for
  // (child_wait set: waitid(child_idtype, child_id, child_options | WNOHANG | WNOWAIT)).
  std::vector<struct pollfd> wait_fds;
  bool child_wait = false;
  idtype_t child_idtype = P_ALL;
  id_t child_id = 0;
  int child_options = 0;
  // Set while the syscall runs again after an Io wait ended (ready fd, child or deadline); cleared
  // when the syscall returns. resume_deadline_ns is the deadline the first attempt computed, so a
  // timed poll does not start its timeout again.
  bool resumed = false;
  int64_t resume_deadline_ns = -1;
};

struct Process {
  ProcessOptions opts;
  const LinuxArch* arch = nullptr;  // the running image's (set by exec_image)
  std::unique_ptr<Frontend> fe;
  std::unique_ptr<GuestMemory> mem;
  std::unique_ptr<Cpu> cpu;
  FdTable fds;
  SignalState sig;
  // Live threads in creation order (the main thread first until it exits); `cur` is on the Cpu.
  std::vector<std::unique_ptr<GuestThread>> threads;
  GuestThread* cur = nullptr;
  int tid_counter = 0;            // new thread ids are host pid + this
  uint64_t wait_counter = 0;
  bool leader_exited = false;     // the main thread left with exit(2) while others ran on
  int leader_exit_status = 0;
  bool yield_requested = false;   // sched_yield: switch threads at the next opportunity
  bool shared_mappings = false;   // MAP_SHARED memory exists: another process may wake a futex

  std::string exe_path;        // the running program (for /proc/self/exe)
  std::string sysroot;         // where absolute guest paths are looked up first (empty: nowhere)
  bool sysroot_from_arch = false;  // none was given: sysroot is the running arch's default
  int vfork_release_fd = -1;   // vfork child: closing it lets the waiting parent continue
  uint64_t brk_start = 0, brk_cur = 0;
  uint64_t mmap_base = 0;      // mmaps without a hint are placed below this
  uint64_t sigreturn_trampoline = 0;
  uint64_t insns_before_exec = 0;  // instructions run by images replaced by execve

  bool exited = false;
  bool stopped_by_hook = false;  // ended by a hook's stop() or failure, not by the guest
  int exit_status = 0;
  int killed_by = 0;
  bool is_fork_child = false;
  std::set<uint64_t> reported_syscalls;
  std::string diagnostics;

  // The registers of the thread on the Cpu.
  GuestRegs regs() { return GuestRegs(*arch, cpu->state()); }
  ThreadSignals& ts() { return cur->sig; }
  // Writes one line of vmkit's own report to diag_fd and keeps it for ProcessResult.
  void diag(const std::string& line);
  // Writes a line to diag_fd only (the syscall trace: too much to keep).
  void diag_write(const std::string& line) const;
  uint64_t insns() const { return insns_before_exec + (cpu ? cpu->stats().insns_executed : 0); }
};

// Host pointer to a guest buffer the guest may access with `perm`, or nullptr (-> -EFAULT). A
// buffer the host (or the kernel, in a syscall) will write is prepared for it first: translated
// code there is dropped and copy-on-write pages are saved (GuestMemory::prepare_write), so the
// write neither meets a write-protected page nor goes unseen.
inline void* guest_buf(Process& p, uint64_t addr, uint64_t len, int perm) {
  if (len == 0) return p.mem->host(0);  // never dereferenced: a zero-length transfer
  if (!p.mem->accessible(addr, len, perm)) return nullptr;
  if (perm & kWrite) p.mem->prepare_write(addr, len);
  return p.mem->host(addr);
}

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

// Handles the syscall instruction before the current pc (the caller advanced pc past it).
void handle_syscall(Process& p);
// Turns a Cpu stop of the current thread into a syscall or a signal (process.cpp).
void handle_stop(Process& p, const Stop& s);

// Signals (signals.cpp).
// A process-directed signal (kill, host-forwarded): goes to the first thread that does not block
// it, else waits in the shared queue.
void queue_signal(Process& p, const PendingSignal& s);
// A thread-directed signal (tgkill, SIGPIPE).
void queue_thread_signal(Process& p, GuestThread& t, const PendingSignal& s);
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
// True if a pending signal would interrupt thread t now.
bool thread_signal_deliverable(Process& p, GuestThread& t);
// True if the first signal deliverable to t has a handler with SA_RESTART.
bool thread_signal_restarts(Process& p, GuestThread& t);
// rt_sigsuspend: waits with `mask` blocked until a deliverable signal is pending; returns -EINTR
// (or kNoResult-style blocking through threads.cpp when other threads can run meanwhile).
int64_t sigsuspend(Process& p, uint64_t mask);
// Waits on the host until a forwarded host signal arrives, one of `fds` (host fds) is ready or
// `timeout` passes (nullptr: no limit).
void wait_for_host_signal(const struct timespec* timeout, struct pollfd* fds = nullptr, size_t nfds = 0);
// True if a host signal could still change what the guest does: a forwarded signal has a guest
// handler, or an interval timer is armed that will raise SIGALRM.
bool host_signal_could_wake(Process& p);

// Threads (threads.cpp).
// A syscall handler's result when it has set the registers itself (or blocked the thread).
constexpr int64_t kNoResult = INT64_MIN;
// Makes the initial thread (tid = host pid) the current one.
void init_main_thread(Process& p);
// The registers of t, wherever they are now.
GuestRegs thread_regs(Process& p, GuestThread& t);
GuestThread* find_thread(Process& p, int tid);
// clone/clone3 with CLONE_VM|CLONE_THREAD: returns the new tid or -errno.
int64_t clone_thread(Process& p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls);
// exit(2): ends the calling thread (the process if it is the last one).
void exit_thread(Process& p, int status);
// fork child / execve: only the calling thread survives, with the process id as its tid.
void keep_only_current_thread(Process& p);
// futex(2).
int64_t sys_futex(Process& p, const uint64_t (&a)[6]);
// Wakes up to n futex waiters at addr whose bitset intersects `bitset`; returns how many.
int futex_wake(Process& p, uint64_t addr, int n, uint32_t bitset = ~0u);
// nanosleep/clock_nanosleep while other threads exist: a timed wait (kNoResult) or -errno.
int64_t sleep_thread(Process& p, clockid_t clock, bool absolute, const struct timespec& req, uint64_t rem_addr);
// rt_sigsuspend while other threads exist.
int64_t sigsuspend_thread(Process& p, uint64_t mask);
// A signal became pending for t: a waiting t that can take it stops waiting (EINTR or restart).
void signal_wakes_thread(Process& p, GuestThread& t);
// Blocking host calls while other guest threads exist: the calling thread waits in the scheduler
// instead of blocking the one host thread (threads.cpp).
// Returns 0 when the caller may make its host call now (the only thread: it blocks the host as
// always; or host_fd is ready for `events`, or is in non-blocking mode), -EINTR when a signal is
// deliverable, or kNoResult after parking the thread until host_fd is ready (the syscall then runs
// again). `restartable`: an SA_RESTART handler re-runs the call instead of -EINTR.
int64_t wait_fd_ready(Process& p, int host_fd, short events, bool restartable);
// Parks the current thread until one of `fds` is ready, `deadline_ns` (CLOCK_MONOTONIC, -1 none)
// passes, or a signal interrupts it (-EINTR); returns kNoResult. The syscall runs again with
// GuestThread::resumed and resume_deadline_ns = deadline_ns.
int64_t park_on_fds(Process& p, std::vector<struct pollfd> fds, int64_t deadline_ns, bool restartable);
// Parks the current thread until a child matching (idtype, id) can be reaped with `options`.
int64_t park_on_child(Process& p, idtype_t idtype, id_t id, int options);
// CLOCK_MONOTONIC now, in ns.
int64_t monotonic_now_ns();
// Runs the guest until the process ends: the scheduler loop.
void run_threads(Process& p);


}  // namespace vmkit::linux_user
