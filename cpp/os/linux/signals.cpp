// Signal delivery: builds the rt_sigframe the kernel builds (so handlers that inspect their
// ucontext, or longjmp out, behave as on real Linux) and restores it in rt_sigreturn. The parts
// every arch shares (siginfo, uc_stack, uc_sigmask, masks and actions) are here; the machine
// context is the arch's (LinuxArch::save_context / restore_context).
#include "os/linux/signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/errors.h"
#include "os/linux/guest_process.h"

namespace vmkit::linux_user {

using namespace gsig;

const char* signal_name(int signo) {
  static const char* const names[] = {
      "SIG0",    "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS"};
  if (signo >= 0 && signo < 32) return names[signo];
  if (signo >= 32 && signo <= kNumSignals) return "SIGRT";
  return "SIG?";
}

namespace {

std::string insn_text(uint32_t insn, uint8_t len) {
  char buf[16];
  if (len == 2)
    std::snprintf(buf, sizeof buf, "0x%04x", insn & 0xffff);
  else
    std::snprintf(buf, sizeof buf, "0x%08x", insn);
  return buf;
}

// The instruction at pc as the guest sees it (for diagnostics of asynchronous deaths).
void fetch_insn(Process& p, uint64_t pc, uint32_t& insn, uint8_t& len) {
  uint16_t lo = 0;
  insn = 0;
  len = 0;
  if (!p.mem->fetch(pc, &lo, 2)) return;
  const unsigned n = p.arch->insn_length(lo);
  if (n == 2) {
    insn = lo;
    len = 2;
    return;
  }
  uint32_t w;
  if (p.mem->fetch(pc, &w, 4)) {
    insn = w;
    len = 4;
  }
}

// The instruction for a death report: the frontend's disassembly where it has one (x86-64:
// "ud2 (0f 0b)", since its instructions have no fixed length), else the word.
std::string describe_insn(Process& p, uint64_t pc, uint32_t insn, uint8_t len) {
  const std::string text = p.fe->describe_insn(*p.mem, pc);
  if (!text.empty()) return text;
  return len ? insn_text(insn, len) : std::string("unreadable");
}

bool is_fault(const PendingSignal& s) {
  return s.code > 0 && (s.signo == kSIGSEGV || s.signo == kSIGBUS || s.signo == kSIGILL || s.signo == kSIGFPE || s.signo == kSIGTRAP);
}

void kill_process(Process& p, const PendingSignal& s, uint64_t pc, uint32_t insn, uint8_t len) {
  std::string line = std::string("vmkit: guest killed by ") + signal_name(s.signo);
  if (s.signo > 31) line += std::to_string(s.signo);
  line += " at pc=" + hex(pc);
  // (x86's int3 reports the pc after it; the instruction to name is the int3)
  const uint64_t insn_pc = s.signo == kSIGTRAP && p.arch->breakpoint_reports_next_pc && len ? pc - len : pc;
  line += (s.signo == kSIGILL ? " (illegal instruction " : " (insn ") + describe_insn(p, insn_pc, insn, len) + ")";
  if (s.signo == kSIGSEGV || s.signo == kSIGBUS || s.signo == kSIGFPE) line += ", fault address " + hex(s.addr);
  // A writer killed by SIGPIPE is the routine end of a pipeline (`yes | head`); shells and the
  // kernel say nothing about it, and a line per pipeline would bury the reports that matter.
  if (s.signo != kSIGPIPE) p.diag(line);
  p.exited = true;
  p.killed_by = s.signo;
  p.exit_status = 128 + s.signo;
}

bool default_ignored(int signo) { return signo <= 64 && (kDefaultIgnored & bit(signo)); }

// Runs the guest handler for s: pushes the frame, points the registers at the handler.
// Returns false if the frame could not be written (the caller then kills with SIGSEGV).
bool setup_frame(Process& p, const PendingSignal& s) {
  GuestSigaction& act = p.sig.actions[s.signo];
  ThreadSignals& ts = p.ts();
  const LinuxArch& arch = *p.arch;
  GuestRegs regs = p.regs();
  // The kernel skips the red zone first, then decides on the alternate stack.
  uint64_t sp = regs.sp() - arch.red_zone;
  bool on_alt = ts.altstack_size && sp - ts.altstack_sp <= ts.altstack_size;
  if ((act.flags & kSA_ONSTACK) && ts.altstack_size && !(ts.altstack_flags & kSS_DISABLE) && !on_alt)
    sp = ts.altstack_sp + ts.altstack_size;
  // Where the handler returns: its own sa_restorer where the arch has one (aarch64's glibc sets
  // none, so the vDSO's trampoline - here vmkit's - is the usual one). x86-64 has no other way
  // back, so there a handler without one is not run.
  const bool own_restorer = arch.has_sa_restorer && (act.flags & kSA_RESTORER);
  if (arch.requires_sa_restorer && !own_restorer) return false;
  const uint64_t restorer = own_restorer ? act.restorer : p.sigreturn_trampoline;
  const uint64_t frame = arch.sigframe_address(sp);
  const uint64_t frame_bytes = arch.sigframe_size + arch.frame_record_size;
  // (guest_buf prepares the frame's pages for the write: translated code, snapshot pages)
  void* frame_host = guest_buf(p, frame, frame_bytes, kWrite);
  if (!frame_host) return false;

  std::vector<uint8_t> frame_buf(frame_bytes, 0);
  uint8_t* buf = frame_buf.data();
  auto put32 = [&](uint64_t off, uint32_t v) { store32(buf + off, v); };
  auto put64 = [&](uint64_t off, uint64_t v) { store64(buf + off, v); };
  // siginfo_t: si_signo, si_errno, si_code, then the union at 16.
  const uint64_t info = arch.frame_info;
  put32(info + 0, uint32_t(s.signo));
  put32(info + 8, uint32_t(s.code));
  const bool fault = is_fault(s);
  if (fault) {
    put64(info + 16, s.addr);
  } else {
    put32(info + 16, uint32_t(s.pid));
    put32(info + 20, uint32_t(s.uid));
    if (s.signo == kSIGCHLD) put32(info + 24, uint32_t(s.status));
  }
  const uint64_t uc = arch.frame_uc;
  put64(uc + kUcStack + 0, ts.altstack_sp);
  put32(uc + kUcStack + 8, uint32_t(on_alt ? kSS_ONSTACK : (ts.altstack_size ? ts.altstack_flags : kSS_DISABLE)));
  put64(uc + kUcStack + 16, ts.altstack_size);
  // After rt_sigsuspend the frame keeps the mask from before the call, so sigreturn restores it.
  put64(uc + arch.uc_sigmask, ts.restore_mask ? ts.saved_mask : ts.blocked);
  ts.restore_mask = false;
  if (arch.return_address_in_frame) put64(0, restorer);
  arch.save_context(regs.data(), buf, frame, SignalCause{s.signo, s.code, s.addr, fault, s.write, s.present});
  std::memcpy(frame_host, buf, frame_bytes);

  arch.enter_handler(regs.data(), frame, s.signo, act.handler, restorer);
  // A reservation (LR, load-exclusive) does not survive a trap into the kernel.
  regs.clear_reservation();
  ts.blocked |= act.mask;
  if (!(act.flags & kSA_NODEFER)) ts.blocked |= bit(s.signo);
  ts.blocked &= ~kUnblockable;
  if (act.flags & kSA_RESETHAND) act = GuestSigaction{};
  return true;
}

void deliver(Process& p, const PendingSignal& s, uint64_t pc, uint32_t insn, uint8_t len) {
  const GuestSigaction& act = p.sig.actions[s.signo];
  if (s.signo == kSIGKILL || act.handler == kSIG_DFL) {
    if (s.signo != kSIGKILL && default_ignored(s.signo)) return;
    kill_process(p, s, pc, insn, len);
    return;
  }
  if (act.handler == kSIG_IGN) return;
  if (!setup_frame(p, s)) {
    // The kernel's force_sigsegv: a frame that cannot be built (unwritable stack; x86-64: no
    // SA_RESTORER) becomes a SIGSEGV, which a SIGSEGV handler may still catch - unless SIGSEGV's
    // own frame was the one that failed, which resets it to the default and so kills.
    GuestSigaction& segv = p.sig.actions[kSIGSEGV];
    if (s.signo == kSIGSEGV || segv.handler == kSIG_IGN) segv = GuestSigaction{};
    p.ts().blocked &= ~bit(kSIGSEGV);
    deliver(p, PendingSignal{kSIGSEGV, kSI_KERNEL, 0}, pc, insn, len);
  }
}

}  // namespace

namespace {

// Signals the kernel would discard when sent: ignored ones (SIGKILL never is).
bool discarded_when_sent(Process& p, int signo) {
  const GuestSigaction& act = p.sig.actions[signo];
  return signo != kSIGKILL && (act.handler == kSIG_IGN || (act.handler == kSIG_DFL && default_ignored(signo)));
}

bool queued_in(const std::deque<PendingSignal>& q, int signo) {
  for (const PendingSignal& s : q)
    if (s.signo == signo) return true;
  return false;
}

bool blocks(const GuestThread& t, int signo) { return signo != kSIGKILL && (t.sig.blocked & bit(signo)); }

}  // namespace

void queue_thread_signal(Process& p, GuestThread& t, const PendingSignal& s) {
  if (s.signo < 1 || s.signo > kNumSignals || discarded_when_sent(p, s.signo)) return;
  // Standard signals do not queue twice.
  if (s.signo < 32 && queued_in(t.sig.pending, s.signo)) return;
  t.sig.pending.push_back(s);
  signal_wakes_thread(p, t);
}

void queue_signal(Process& p, const PendingSignal& s) {
  if (s.signo < 1 || s.signo > kNumSignals || discarded_when_sent(p, s.signo)) return;
  if (s.signo < 32 && queued_in(p.sig.pending, s.signo)) return;
  // Like the kernel's complete_signal: the main thread if it can take the signal, else the first
  // thread that does not block it. The threads list is in creation order, main thread first.
  for (auto& t : p.threads) {
    if (t->dead || blocks(*t, s.signo)) continue;
    if (s.signo < 32 && queued_in(t->sig.pending, s.signo)) return;
    queue_thread_signal(p, *t, s);
    return;
  }
  p.sig.pending.push_back(s);
}

void force_signal(Process& p, const PendingSignal& s, uint64_t pc, uint32_t insn, uint8_t insn_len) {
  GuestSigaction& act = p.sig.actions[s.signo];
  // force_sig_fault: a blocked or ignored synchronous fault gets the default action.
  if ((p.ts().blocked & bit(s.signo)) || act.handler == kSIG_IGN) {
    act = GuestSigaction{};
    p.ts().blocked &= ~bit(s.signo);
  }
  deliver(p, s, pc, insn, insn_len);
}

void deliver_pending(Process& p) {
  collect_host_signals(p);
  while (!p.exited) {
    // The thread's own signals first, then the process-wide ones it does not block.
    GuestThread& t = *p.cur;
    std::deque<PendingSignal>* queue = &t.sig.pending;
    auto it = queue->begin();
    while (it != queue->end() && blocks(t, it->signo)) ++it;
    if (it == queue->end()) {
      queue = &p.sig.pending;
      it = queue->begin();
      while (it != queue->end() && blocks(t, it->signo)) ++it;
      if (it == queue->end()) break;
    }
    PendingSignal s = *it;
    queue->erase(it);
    uint32_t insn;
    uint8_t len;
    // A signal arriving as a syscall returns is reported at that syscall; otherwise at the next
    // instruction the guest would have run.
    const uint64_t next = p.regs().pc(), back = p.arch->syscall_insn_len;
    uint64_t pc = t.after_syscall && next >= back ? next - back : next;
    fetch_insn(p, pc, insn, len);
    deliver(p, s, pc, insn, len);
  }
  // rt_sigsuspend returned without running a handler: its temporary mask ends here.
  if (!p.exited && p.ts().restore_mask) {
    p.ts().blocked = p.ts().saved_mask;
    p.ts().restore_mask = false;
  }
}

// ---- host signals --------------------------------------------------------------------------------

namespace {

constexpr int kForwarded[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};
std::atomic<uint64_t> g_host_pending{0};
// The last siginfo per forwarded signal (standard signals do not queue, so one is enough).
siginfo_t g_host_info[kNumSignals + 1];
struct sigaction g_saved[kNumSignals + 1];

void on_host_signal(int sig, siginfo_t* info, void*) {
  g_host_info[sig] = *info;
  g_host_pending.fetch_or(bit(sig));
}

const PendingSignal* first_deliverable(Process& p, GuestThread& t) {
  for (const PendingSignal& s : t.sig.pending)
    if (!blocks(t, s.signo)) return &s;
  for (const PendingSignal& s : p.sig.pending)
    if (!blocks(t, s.signo)) return &s;
  return nullptr;
}

bool restarts(Process& p, const PendingSignal* s) {
  if (!s) return true;
  const GuestSigaction& act = p.sig.actions[s->signo];
  return act.handler > kSIG_IGN && (act.flags & kSA_RESTART);
}

}  // namespace

HostSignalForwarding::HostSignalForwarding() {
  struct sigaction sa {};
  sa.sa_sigaction = on_host_signal;
  // No SA_RESTART: a blocking host call must return EINTR so the guest can see the signal.
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) ::sigaction(sig, &sa, &g_saved[sig]);
}

HostSignalForwarding::~HostSignalForwarding() {
  for (int sig : kForwarded) ::sigaction(sig, &g_saved[sig], nullptr);
}

void collect_host_signals(Process& p) {
  uint64_t bits = g_host_pending.exchange(0);
  for (int sig = 1; bits && sig <= kNumSignals; ++sig) {
    if (!(bits & bit(sig))) continue;
    bits &= ~bit(sig);
    const siginfo_t& si = g_host_info[sig];
    PendingSignal s{sig, si.si_code, 0, si.si_pid, int(si.si_uid)};
    if (sig == kSIGCHLD) s.status = si.si_status;
    queue_signal(p, s);
  }
}

bool guest_signal_deliverable(Process& p) {
  collect_host_signals(p);
  return first_deliverable(p, *p.cur) != nullptr;
}

bool deliverable_signal_restarts(Process& p) { return restarts(p, first_deliverable(p, *p.cur)); }

bool thread_signal_deliverable(Process& p, GuestThread& t) { return first_deliverable(p, t) != nullptr; }

bool thread_signal_restarts(Process& p, GuestThread& t) { return restarts(p, first_deliverable(p, t)); }

void wait_for_host_signal(const struct timespec* timeout, struct pollfd* fds, size_t nfds) {
  // Block the forwarded signals while checking, then wait with them unblocked (atomically, in
  // ppoll), so a signal arriving between the check and the wait is not lost.
  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (int sig : kForwarded) sigaddset(&fwd, sig);
  ::sigprocmask(SIG_BLOCK, &fwd, &old);
  if (g_host_pending.load() == 0) {
    sigset_t wait_mask = old;
    for (int sig : kForwarded) sigdelset(&wait_mask, sig);
    ::ppoll(fds, nfds, timeout, &wait_mask);
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

bool host_signal_could_wake(Process& p) {
  for (int sig : kForwarded)
    if (p.sig.actions[sig].handler > kSIG_IGN) return true;
  struct itimerval it;
  if (::getitimer(ITIMER_REAL, &it) == 0 && (it.it_value.tv_sec || it.it_value.tv_usec)) return true;
  return false;
}

int64_t sigsuspend(Process& p, uint64_t mask) {
  if (p.threads.size() > 1) return sigsuspend_thread(p, mask);
  ThreadSignals& ts = p.ts();
  ts.saved_mask = ts.blocked;
  ts.restore_mask = true;
  ts.blocked = mask & ~kUnblockable;
  // Block the forwarded host signals while checking, then wait with them unblocked, so a signal
  // arriving between the check and the wait is not lost.
  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (int sig : kForwarded) sigaddset(&fwd, sig);
  ::sigprocmask(SIG_BLOCK, &fwd, &old);
  while (!guest_signal_deliverable(p)) {
    sigset_t wait_mask = old;
    for (int sig : kForwarded) sigdelset(&wait_mask, sig);
    ::sigsuspend(&wait_mask);
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return -EINTR;
}

void sigreturn(Process& p) {
  const LinuxArch& arch = *p.arch;
  GuestRegs regs = p.regs();
  // (x86-64: the handler's ret popped the frame's first word, its return address)
  const uint64_t frame = regs.sp() - (arch.return_address_in_frame ? 8 : 0);
  std::vector<uint8_t> buf(arch.sigframe_size + arch.frame_record_size);
  // The kernel's badframe: an unreadable or malformed frame is a SIGSEGV at the sigreturn.
  const bool readable = p.mem->accessible(frame, buf.size(), kRead);
  if (readable) std::memcpy(buf.data(), p.mem->host(frame), buf.size());
  if (!readable || !arch.restore_context(regs.data(), buf.data(), frame)) {
    uint32_t insn;
    uint8_t len;
    fetch_insn(p, regs.pc(), insn, len);
    force_signal(p, PendingSignal{kSIGSEGV, kSI_USER, 0}, regs.pc(), insn, len);
    return;
  }
  p.ts().blocked = load64(buf.data() + arch.frame_uc + arch.uc_sigmask) & ~kUnblockable;
  regs.clear_reservation();
  p.cur->after_syscall = false;  // pc is the interrupted instruction now, not one past a syscall
}

}  // namespace vmkit::linux_user
