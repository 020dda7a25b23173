// Guest threads (clone with CLONE_THREAD), futexes and the scheduler that runs them.
//
// The model: every guest thread of a process runs on ONE host thread, on the process's one Cpu,
// scheduled by vmkit like a uniprocessor kernel would. A thread switch only happens between
// blocks (a Cpu::run budget running out) or at a syscall, so each IR memory operation - and each
// AMO, which the frontend lifts as load/compute/store - is atomic with respect to the other guest
// threads without any host synchronisation, and the block cache needs no locking. A thread off
// the Cpu keeps its registers in GuestThread::regs; switching copies the state after the
// GuestCommon header (whose memory fields are the process's and whose trap is clear after a stop)
// in and out of the Cpu.
//
// With one thread the loop runs the Cpu in the same long slices as a single-threaded process
// always has, so single-threaded guests pay nothing. With more than one runnable thread (or a
// waiter whose deadline must be noticed) each gets kSliceInsns instructions in turn.
//
// Blocking: futex waits, nanosleep and rt_sigsuspend of a thread while others exist do not block
// the host; the thread is marked waiting and the scheduler runs the others. When nothing is
// runnable the scheduler sleeps on the host until the earliest deadline or a host signal.
// Blocking host calls (read on an empty pipe or socket, accept, recv, connect in progress, wait4,
// ppoll/pselect/epoll_pwait) first check readiness with a zero-timeout poll; a call that would
// block parks its thread in an Io wait on the host fds (or the child) it needs. Each time the
// scheduler runs it polls those fds without waiting and, when every thread waits, poll()s them
// together with the earliest deadline; a thread whose fd became ready runs its syscall again, so
// every syscall keeps one straightforward implementation.
#include <fcntl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/errors.h"
#include "core/guest_common.h"
#include "os/linux/guest_process.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {

namespace {

// A single runnable thread runs in long slices, bounded only so that host signals reach a guest
// that makes no syscalls.
constexpr uint64_t kPollInsns = 1ull << 22;
// The time slice when several threads compete: short enough that a thread spinning on a flag
// set by another costs little, long enough that switching is noise.
constexpr uint64_t kSliceInsns = 20000;
// A non-private futex wait in a process with shared mappings may be woken by another (host)
// process, which vmkit cannot see: such waits wake up this often to let the guest re-check.
constexpr int64_t kSharedFutexPollNs = 1'000'000;
constexpr int64_t kNsPerSec = 1'000'000'000;

// futex(2) commands and flags (include/uapi/linux/futex.h).
enum : int {
  kFUTEX_WAIT = 0, kFUTEX_WAKE = 1, kFUTEX_REQUEUE = 3, kFUTEX_CMP_REQUEUE = 4, kFUTEX_WAKE_OP = 5,
  kFUTEX_WAIT_BITSET = 9, kFUTEX_WAKE_BITSET = 10,
  kFUTEX_PRIVATE_FLAG = 128, kFUTEX_CLOCK_REALTIME = 256,
};

int64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  if (::clock_gettime(clock, &ts) != 0) return -1;
  return int64_t(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}
int64_t now_ns() { return clock_ns(CLOCK_MONOTONIC); }

struct timespec to_timespec(int64_t ns) {
  if (ns < 0) ns = 0;
  struct timespec ts;
  ts.tv_sec = time_t(ns / kNsPerSec);
  ts.tv_nsec = long(ns % kNsPerSec);
  return ts;
}

bool valid_timespec(const struct timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec; }

// A deadline on CLOCK_MONOTONIC for a time `ts` that is absolute on `clock` or relative;
// -1 if `clock` cannot be read.
int64_t monotonic_deadline(const struct timespec& ts, bool absolute, clockid_t clock) {
  int64_t now = now_ns();
  int64_t t = int64_t(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
  if (!absolute) return now + t;
  if (clock == CLOCK_MONOTONIC) return t;
  // Another clock (CLOCK_REALTIME): measure the distance now; a later jump of that clock is not
  // followed, which only matters for programs that set the time.
  int64_t clock_now = clock_ns(clock);
  if (clock_now < 0) return -1;
  return now + (t - clock_now);
}

// Every State starts with its GuestCommon header (the Cpu's, not a thread's): a switch copies
// the registers after it.
constexpr size_t kRegsOffset = sizeof(vmkit::GuestCommon);

void save_regs(Process& p, GuestThread& t) {
  t.regs.assign(p.cpu->state(), p.arch->state_size);
  // A reservation does not survive a switch (the kernel clears it on every trap return), so a
  // store-conditional of the interrupted thread fails and retries instead of missing another
  // thread's store.
  p.arch->clear_reservation(t.regs.data());
}

void load_regs(Process& p, const GuestThread& t) {
  std::memcpy(p.cpu->state() + kRegsOffset, t.regs.data() + kRegsOffset, p.arch->state_size - kRegsOffset);
}

bool runnable(const GuestThread& t) { return !t.dead && t.wait == WaitKind::None; }

size_t live_threads(const Process& p) {
  return size_t(std::count_if(p.threads.begin(), p.threads.end(), [](const auto& t) { return !t->dead; }));
}

// Ends a wait with `result` as the syscall's result.
void end_wait(Process& p, GuestThread& t, int64_t result) {
  thread_regs(p, t).set_result(uint64_t(result));
  t.wait = WaitKind::None;
  t.deadline_ns = -1;
  t.wait_fds.clear();
  t.child_wait = false;
}

// Ends an Io wait by running the blocked syscall again (its result register still holds its
// first argument: a parked handler returned kNoResult without touching it).
void resume_blocked_call(Process& p, GuestThread& t) {
  thread_regs(p, t).set_pc(t.syscall_pc);
  t.after_syscall = false;
  t.wait = WaitKind::None;
  t.deadline_ns = -1;
  t.wait_fds.clear();
  t.child_wait = false;
  t.resumed = true;
}

// Marks the current thread waiting (the syscall's result is set when the wait ends).
void begin_wait(Process& p, WaitKind kind, int64_t deadline, int64_t timeout_result) {
  GuestThread& t = *p.cur;
  t.wait = kind;
  t.wait_seq = ++p.wait_counter;
  t.deadline_ns = deadline;
  t.timeout_result = timeout_result;
  t.restart_on_signal = false;
  t.sleep_rem_addr = 0;
  t.syscall_pc = p.regs().pc() - p.arch->syscall_insn_len;
  t.wait_fds.clear();
  t.child_wait = false;
}

// The futex waiters at addr matching bitset, oldest first.
std::vector<GuestThread*> futex_waiters(Process& p, uint64_t addr, uint32_t bitset) {
  std::vector<GuestThread*> w;
  for (auto& t : p.threads)
    if (!t->dead && t->wait == WaitKind::Futex && t->futex_addr == addr && (t->futex_bitset & bitset)) w.push_back(t.get());
  std::sort(w.begin(), w.end(), [](const GuestThread* a, const GuestThread* b) { return a->wait_seq < b->wait_seq; });
  return w;
}

// The 32-bit futex word at addr: -EINVAL if misaligned, -EFAULT if not readable, else the value.
int64_t read_futex_word(Process& p, uint64_t addr) {
  if (addr % 4) return -EINVAL;
  if (!p.mem->accessible(addr, 4, kRead)) return -EFAULT;
  return int64_t(p.mem->read_val<uint32_t>(addr));
}

int64_t futex_wait(Process& p, uint64_t addr, uint32_t expected, uint64_t timeout_addr, bool absolute,
                   clockid_t clock, uint32_t bitset, bool is_private) {
  if (!bitset) return -EINVAL;
  if (addr % 4) return -EINVAL;
  int64_t deadline = -1;
  if (timeout_addr) {
    struct timespec ts;
    if (!p.mem->accessible(timeout_addr, sizeof ts, kRead)) return -EFAULT;
    p.mem->read(timeout_addr, &ts, sizeof ts);
    if (!valid_timespec(ts)) return -EINVAL;
    deadline = monotonic_deadline(ts, absolute, clock);
    if (deadline < 0) return -EINVAL;
  }
  int64_t word = read_futex_word(p, addr);
  if (word < 0) return word;
  if (uint32_t(word) != expected) return -EAGAIN;
  if (deadline >= 0 && now_ns() >= deadline) return -ETIMEDOUT;
  // A signal already pending interrupts the wait before it starts.
  if (guest_signal_deliverable(p)) return -EINTR;
  begin_wait(p, WaitKind::Futex, deadline, -ETIMEDOUT);
  GuestThread& t = *p.cur;
  t.futex_addr = addr;
  t.futex_bitset = bitset;
  // The kernel restarts an untimed wait after an SA_RESTART handler; a timed one returns EINTR.
  t.restart_on_signal = deadline < 0;
  if (!is_private && p.shared_mappings) {
    int64_t poll = now_ns() + kSharedFutexPollNs;
    if (deadline < 0 || poll < deadline) {
      t.deadline_ns = poll;
      t.timeout_result = 0;  // a spurious wake-up: the guest re-checks the word and waits again
    }
  }
  return kNoResult;
}

int64_t futex_requeue(Process& p, uint64_t addr, uint64_t addr2, int64_t nr_wake, int64_t nr_requeue,
                      bool compare, uint32_t cmpval) {
  if (nr_wake < 0 || nr_requeue < 0) return -EINVAL;
  if (addr % 4 || addr2 % 4) return -EINVAL;
  if (compare) {
    int64_t word = read_futex_word(p, addr);
    if (word < 0) return word;
    if (uint32_t(word) != cmpval) return -EAGAIN;
  }
  // The kernel's futex_requeue loop: the first nr_wake waiters wake, the next nr_requeue move;
  // the result counts both.
  int64_t count = 0;
  for (GuestThread* w : futex_waiters(p, addr, ~0u)) {
    if (count - nr_wake >= nr_requeue) break;
    if (++count <= nr_wake)
      end_wait(p, *w, 0);
    else
      w->futex_addr = addr2;
  }
  return count;
}

int64_t futex_wake_op(Process& p, uint64_t addr, uint64_t addr2, int nr_wake, int nr_wake2, uint32_t encoded) {
  if (addr % 4 || addr2 % 4) return -EINVAL;
  // The encoding (FUTEX_OP in futex.h): op:4 (bit 3 = oparg is a shift), cmp:4, oparg:12, cmparg:12.
  unsigned op = (encoded >> 28) & 7;
  unsigned cmp = (encoded >> 24) & 15;
  int32_t oparg = int32_t(encoded << 8) >> 20;
  int32_t cmparg = int32_t(encoded << 20) >> 20;
  if (encoded & (8u << 28)) oparg = int32_t(1u << (uint32_t(oparg) & 31));
  if (op > 4) return -ENOSYS;
  if (!p.mem->accessible(addr2, 4, kRead | kWrite)) return -EFAULT;
  uint32_t old = p.mem->read_val<uint32_t>(addr2);
  uint32_t arg = uint32_t(oparg), nv = 0;
  switch (op) {
    case 0: nv = arg; break;         // FUTEX_OP_SET
    case 1: nv = old + arg; break;   // FUTEX_OP_ADD
    case 2: nv = old | arg; break;   // FUTEX_OP_OR
    case 3: nv = old & ~arg; break;  // FUTEX_OP_ANDN
    case 4: nv = old ^ arg; break;   // FUTEX_OP_XOR
  }
  p.mem->write_val(addr2, nv);
  // Like the kernel, an unknown comparison is reported after the operation was done.
  int32_t o = int32_t(old);
  bool hit;
  switch (cmp) {
    case 0: hit = o == cmparg; break;
    case 1: hit = o != cmparg; break;
    case 2: hit = o < cmparg; break;
    case 3: hit = o <= cmparg; break;
    case 4: hit = o > cmparg; break;
    case 5: hit = o >= cmparg; break;
    default: return -ENOSYS;
  }
  int woken = futex_wake(p, addr, nr_wake);
  if (hit) woken += futex_wake(p, addr2, nr_wake2);
  return woken;
}

// Wakes the waiters whose deadline has passed.
void expire_deadlines(Process& p) {
  int64_t now = -1;
  for (auto& t : p.threads) {
    if (t->dead || t->wait == WaitKind::None || t->deadline_ns < 0) continue;
    if (now < 0) now = now_ns();
    if (now < t->deadline_ns) continue;
    // A timed poll runs again and finds its deadline passed (it then reports what is ready).
    if (t->wait == WaitKind::Io)
      resume_blocked_call(p, *t);
    else
      end_wait(p, *t, t->timeout_result);
  }
}

// True if a child matching t's wait4 can be reaped (or reports a state change) now.
bool child_ready(const GuestThread& t) {
  siginfo_t si;
  si.si_pid = 0;
  if (::waitid(t.child_idtype, t.child_id, &si, t.child_options | WNOHANG | WNOWAIT) != 0)
    return true;  // an error (no such child): the retried wait4 reports it
  return si.si_pid != 0;
}

// The fds the Io waiters need, with each entry's thread; a child waiter is woken here directly
// when its child is ready. Returns true if any thread waits for I/O or a child.
bool collect_io_waits(Process& p, std::vector<struct pollfd>& fds, std::vector<GuestThread*>& owner) {
  fds.clear();
  owner.clear();
  bool any = false;
  for (auto& t : p.threads) {
    if (t->dead || t->wait != WaitKind::Io) continue;
    any = true;
    if (t->child_wait && child_ready(*t)) {
      resume_blocked_call(p, *t);
      continue;
    }
    for (const struct pollfd& f : t->wait_fds) {
      fds.push_back(f);
      owner.push_back(t.get());
    }
  }
  return any;
}

// Polls the Io waiters' fds without waiting and resumes the threads whose fds are ready.
void wake_ready_io(Process& p) {
  std::vector<struct pollfd> fds;
  std::vector<GuestThread*> owner;
  if (!collect_io_waits(p, fds, owner) || fds.empty()) return;
  if (::poll(fds.data(), fds.size(), 0) <= 0) return;
  for (size_t i = 0; i < fds.size(); ++i)
    if (fds[i].revents && owner[i]->wait == WaitKind::Io) resume_blocked_call(p, *owner[i]);
}

// True if the current thread should run in short slices: another thread can run now, or a
// waiter's deadline has to be noticed while this one computes.
bool needs_slice(const Process& p) {
  for (const auto& t : p.threads) {
    if (t.get() == p.cur || t->dead) continue;
    if (t->wait == WaitKind::None || t->deadline_ns >= 0 || t->wait == WaitKind::Io) return true;
  }
  return false;
}

void switch_to(Process& p, GuestThread* next) {
  if (next != p.cur) {
    if (!p.cur->dead) save_regs(p, *p.cur);
    load_regs(p, *next);
    p.cur = next;
  }
  std::erase_if(p.threads, [](const std::unique_ptr<GuestThread>& t) { return t->dead; });
}

void report_deadlock(Process& p) {
  std::vector<const GuestThread*> live;
  for (const auto& t : p.threads)
    if (!t->dead) live.push_back(t.get());
  std::string pcs;
  for (const GuestThread* t : live) pcs += (pcs.empty() ? "" : ", ") + hex(t->syscall_pc);
  if (live.size() == 1)
    p.diag("vmkit: the guest's only thread is blocked forever (deadlock) at pc=" + pcs);
  else
    p.diag("vmkit: all " + std::to_string(live.size()) + " guest threads are blocked (deadlock) at pc=" + pcs);
  // Real Linux would hang here. Nothing can ever wake these threads (no timeout, no signal
  // handler or timer that a host signal could run), so vmkit ends the process as if killed by
  // SIGKILL instead: a guest bug must not hang the caller, and the status says it was killed.
  p.exited = true;
  p.killed_by = gsig::kSIGKILL;
  p.exit_status = 128 + gsig::kSIGKILL;
}

// Picks the next thread to run (round robin, the current one last) and puts it on the Cpu;
// waits on the host while every thread waits. Ends the process on a deadlock.
void schedule(Process& p) {
  for (;;) {
    collect_host_signals(p);
    if (p.exited) return;
    expire_deadlines(p);
    wake_ready_io(p);
    const size_t n = p.threads.size();
    size_t ci = 0;
    while (ci < n && p.threads[ci].get() != p.cur) ++ci;
    GuestThread* next = nullptr;
    for (size_t k = 1; k <= n && !next; ++k) {
      GuestThread* c = p.threads[(ci + k) % n].get();
      if (runnable(*c)) next = c;
    }
    if (next) {
      switch_to(p, next);
      p.yield_requested = false;
      // Signals that arrived while it was off the Cpu (or that ended its wait) run now.
      deliver_pending(p);
      return;
    }
    int64_t earliest = -1;
    bool in_sigsuspend = false;
    for (const auto& t : p.threads) {
      if (t->dead) continue;
      if (t->deadline_ns >= 0 && (earliest < 0 || t->deadline_ns < earliest)) earliest = t->deadline_ns;
      in_sigsuspend |= t->wait == WaitKind::Sigsuspend;
    }
    // Every thread waits: sleep on the host until an Io waiter's fd is ready (its peer may be
    // another process), a host signal (SIGCHLD for a wait4) or the earliest deadline.
    std::vector<struct pollfd> fds;
    std::vector<GuestThread*> owner;
    const bool io_waits = collect_io_waits(p, fds, owner);
    if (std::any_of(p.threads.begin(), p.threads.end(), [](const auto& t) { return runnable(*t); })) continue;
    if (earliest >= 0) {
      struct timespec ts = to_timespec(earliest - now_ns());
      wait_for_host_signal(&ts, fds.data(), fds.size());
    } else if (in_sigsuspend || io_waits || host_signal_could_wake(p)) {
      wait_for_host_signal(nullptr, fds.data(), fds.size());
    } else {
      report_deadlock(p);
      return;
    }
  }
}

}  // namespace

void init_main_thread(Process& p) {
  p.threads.clear();
  auto t = std::make_unique<GuestThread>();
  t->tid = int(::getpid());
  p.cur = t.get();
  p.threads.push_back(std::move(t));
}

GuestRegs thread_regs(Process& p, GuestThread& t) { return &t == p.cur ? p.regs() : GuestRegs(*p.arch, t.regs.data()); }

GuestThread* find_thread(Process& p, int tid) {
  for (auto& t : p.threads)
    if (!t->dead && t->tid == tid) return t.get();
  return nullptr;
}

int64_t clone_thread(Process& p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls) {
  constexpr uint64_t kCLONE_SETTLS = 0x80000, kCLONE_PARENT_SETTID = 0x100000,
                     kCLONE_CHILD_CLEARTID = 0x200000, kCLONE_CHILD_SETTID = 0x01000000;
  auto t = std::make_unique<GuestThread>();
  // Host pid + a counter: never the process id, so a tid cannot be mistaken for it.
  t->tid = int(::getpid()) + ++p.tid_counter;
  // The new thread returns from the same syscall with result 0, on its own stack and TLS.
  t->regs.assign(p.cpu->state(), p.arch->state_size);
  GuestRegs regs(*p.arch, t->regs.data());
  if (stack) regs.set_sp(stack);
  if (flags & kCLONE_SETTLS) regs.set_tls(tls);
  regs.set_result(0);
  regs.clear_reservation();
  // The signal mask is inherited; pending signals and the alternate stack are not.
  t->sig.blocked = p.ts().blocked;
  t->name = p.cur->name;
  t->after_syscall = true;
  // Like the kernel, a failed write of the tid is not an error of clone.
  if ((flags & kCLONE_PARENT_SETTID) && p.mem->accessible(ptid, 4, kWrite)) p.mem->write_val(ptid, int32_t(t->tid));
  if ((flags & kCLONE_CHILD_SETTID) && p.mem->accessible(ctid, 4, kWrite)) p.mem->write_val(ctid, int32_t(t->tid));
  if (flags & kCLONE_CHILD_CLEARTID) t->clear_child_tid = ctid;
  int tid = t->tid;
  p.threads.push_back(std::move(t));
  return tid;
}

void exit_thread(Process& p, int status) {
  GuestThread& t = *p.cur;
  const bool leader = t.tid == int(::getpid());
  if (live_threads(p) <= 1) {
    // The last thread: the process ends. If the main thread left earlier with exit(2), the
    // kernel reports the main thread's code (the zombie group leader's), not this one's.
    p.exited = true;
    p.exit_status = !leader && p.leader_exited ? p.leader_exit_status : status;
    return;
  }
  // CLONE_CHILD_CLEARTID: how pthread_join learns that the thread is gone.
  if (t.clear_child_tid && t.clear_child_tid % 4 == 0 && p.mem->accessible(t.clear_child_tid, 4, kWrite)) {
    p.mem->write_val(t.clear_child_tid, uint32_t(0));
    futex_wake(p, t.clear_child_tid, 1);
  }
  if (leader) {
    p.leader_exited = true;
    p.leader_exit_status = status;
  }
  t.dead = true;
  t.sig.pending.clear();
}

void keep_only_current_thread(Process& p) {
  std::erase_if(p.threads, [&](const std::unique_ptr<GuestThread>& t) { return t.get() != p.cur; });
  p.cur->tid = int(::getpid());
  p.cur->wait = WaitKind::None;
  p.cur->deadline_ns = -1;
  p.leader_exited = false;
  p.yield_requested = false;
}

int futex_wake(Process& p, uint64_t addr, int n, uint32_t bitset) {
  int woken = 0;
  for (GuestThread* w : futex_waiters(p, addr, bitset)) {
    end_wait(p, *w, 0);
    // The kernel's loop wakes at least one waiter even for n <= 0.
    if (++woken >= n) break;
  }
  return woken;
}

int64_t sys_futex(Process& p, const uint64_t (&a)[6]) {
  const int op = int(a[1]);
  const int cmd = op & ~(kFUTEX_PRIVATE_FLAG | kFUTEX_CLOCK_REALTIME);
  const bool is_private = op & kFUTEX_PRIVATE_FLAG;
  const bool realtime = op & kFUTEX_CLOCK_REALTIME;
  if (realtime && cmd != kFUTEX_WAIT && cmd != kFUTEX_WAIT_BITSET) return -ENOSYS;
  const clockid_t clock = realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  const uint64_t addr = a[0];
  switch (cmd) {
    case kFUTEX_WAIT:  // relative timeout
      return futex_wait(p, addr, uint32_t(a[2]), a[3], false, clock, ~0u, is_private);
    case kFUTEX_WAIT_BITSET:  // absolute timeout
      return futex_wait(p, addr, uint32_t(a[2]), a[3], true, clock, uint32_t(a[5]), is_private);
    case kFUTEX_WAKE:
    case kFUTEX_WAKE_BITSET: {
      uint32_t bitset = cmd == kFUTEX_WAKE ? ~0u : uint32_t(a[5]);
      if (!bitset || addr % 4) return -EINVAL;
      return futex_wake(p, addr, int(a[2]), bitset);
    }
    case kFUTEX_REQUEUE:
    case kFUTEX_CMP_REQUEUE:
      // The timeout argument carries nr_requeue (val2).
      return futex_requeue(p, addr, a[4], int32_t(a[2]), int32_t(a[3]), cmd == kFUTEX_CMP_REQUEUE, uint32_t(a[5]));
    case kFUTEX_WAKE_OP:
      return futex_wake_op(p, addr, a[4], int(a[2]), int(a[3]), uint32_t(a[5]));
    default:
      // The priority-inheritance operations; glibc uses them only for PTHREAD_PRIO_INHERIT mutexes.
      return -ENOSYS;
  }
}

int64_t sleep_thread(Process& p, clockid_t clock, bool absolute, const struct timespec& req, uint64_t rem_addr) {
  if (!valid_timespec(req)) return -EINVAL;
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME && clock != CLOCK_TAI)
    return clock < 0 ? -EINVAL : -ENOTSUP;
  int64_t deadline = monotonic_deadline(req, absolute, clock);
  if (deadline < 0) return -EINVAL;
  if (now_ns() >= deadline) return 0;
  if (guest_signal_deliverable(p)) {
    if (!absolute && rem_addr) p.mem->write(rem_addr, &req, sizeof req);
    return -EINTR;
  }
  begin_wait(p, WaitKind::Sleep, deadline, 0);
  p.cur->sleep_rem_addr = absolute ? 0 : rem_addr;
  return kNoResult;
}

int64_t sigsuspend_thread(Process& p, uint64_t mask) {
  ThreadSignals& ts = p.ts();
  ts.saved_mask = ts.blocked;
  ts.restore_mask = true;
  ts.blocked = mask & ~gsig::kUnblockable;
  if (guest_signal_deliverable(p)) return -EINTR;
  begin_wait(p, WaitKind::Sigsuspend, -1, 0);
  return kNoResult;
}

void signal_wakes_thread(Process& p, GuestThread& t) {
  if (t.dead || t.wait == WaitKind::None || !thread_signal_deliverable(p, t)) return;
  GuestRegs regs = thread_regs(p, t);
  if ((t.wait == WaitKind::Futex || t.wait == WaitKind::Io) && t.restart_on_signal && thread_signal_restarts(p, t)) {
    // -ERESTARTSYS: the handler runs, then the syscall again (its first argument is still there).
    regs.set_pc(t.syscall_pc);
    t.after_syscall = false;
    t.wait = WaitKind::None;
    t.deadline_ns = -1;
    t.wait_fds.clear();
    t.child_wait = false;
    return;
  }
  if (t.wait == WaitKind::Sleep && t.sleep_rem_addr) {
    struct timespec rem = to_timespec(t.deadline_ns - now_ns());
    if (p.mem->accessible(t.sleep_rem_addr, sizeof rem, kWrite)) p.mem->write(t.sleep_rem_addr, &rem, sizeof rem);
  }
  end_wait(p, t, -EINTR);
}

int64_t monotonic_now_ns() { return now_ns(); }

int64_t park_on_fds(Process& p, std::vector<struct pollfd> fds, int64_t deadline_ns, bool restartable) {
  begin_wait(p, WaitKind::Io, deadline_ns, 0);
  GuestThread& t = *p.cur;
  t.wait_fds = std::move(fds);
  for (struct pollfd& f : t.wait_fds) f.revents = 0;
  t.restart_on_signal = restartable;
  t.resume_deadline_ns = deadline_ns;
  return kNoResult;
}

int64_t park_on_child(Process& p, idtype_t idtype, id_t id, int options) {
  begin_wait(p, WaitKind::Io, -1, 0);
  GuestThread& t = *p.cur;
  t.child_wait = true;
  t.child_idtype = idtype;
  t.child_id = id;
  t.child_options = options;
  t.restart_on_signal = true;  // wait4 is restarted after an SA_RESTART handler
  t.resume_deadline_ns = -1;
  return kNoResult;
}

int64_t wait_fd_ready(Process& p, int host_fd, short events, bool restartable) {
  if (p.threads.size() <= 1) return 0;
  struct pollfd f{host_fd, events, 0};
  if (::poll(&f, 1, 0) != 0) return 0;  // ready, or an error the call itself reports
  int fl = ::fcntl(host_fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK)) return 0;  // the call returns EAGAIN itself
  if (guest_signal_deliverable(p)) return -EINTR;
  return park_on_fds(p, {f}, -1, restartable);
}

void run_threads(Process& p) {
  while (!p.exited) {
    GuestThread* t = p.cur;
    if (!runnable(*t) || p.yield_requested) {
      schedule(p);
      continue;
    }
    const bool sliced = p.threads.size() > 1 && needs_slice(p);
    Stop s = p.cpu->run(sliced ? kSliceInsns : kPollInsns);
    handle_stop(p, s);
    if (p.exited) break;
    if (runnable(*t)) deliver_pending(p);
    // The slice is used up: the next runnable thread's turn.
    if (s.reason == StopReason::Limit && sliced) p.yield_requested = true;
  }
}

}  // namespace vmkit::linux_user
