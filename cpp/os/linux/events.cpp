// Event fds: epoll, eventfd and timerfd pass through to the host's, with the guest fd table in
// front. struct itimerspec has the same layout on every guest and the x86-64 host; struct
// epoll_event does not (x86-64 packs it into 12 bytes, the asm-generic guests have {u32 events;
// 4 bytes padding; u64 data}), so it is translated both ways. The guest's data field is opaque
// and kept as is.
//
// signalfd4 is not implemented: its reads must return the guest's pending signals (which live in
// vmkit, not in the host kernel), so it would need an fd whose readiness vmkit drives; until then
// it is reported as an unsupported syscall (-ENOSYS), which glibc users see as a clean failure.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include <climits>
#include <cstring>
#include <vector>

#include "os/linux/net_events.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {

using namespace netio;

namespace {

using Args = const uint64_t (&)[6];

constexpr int64_t kNsPerSec = 1'000'000'000;
// struct epoll_event in guest memory: {u32 events, u64 data} at offset 4 (x86-64, packed) or 8.
struct GuestEpollLayout {
  uint64_t size, data;
  explicit GuestEpollLayout(const Process& p)
      : size(p.arch->host_struct_layouts ? 12 : 16), data(p.arch->host_struct_layouts ? 4 : 8) {}
};
constexpr uint64_t kMaxGuestEpollEventSize = 16;

int64_t sys_eventfd2(Process& p, Args a) {
  int flags = int(a[1]);
  if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) return -EINVAL;
  int h = ::eventfd(unsigned(a[0]), flags | EFD_CLOEXEC);
  if (h < 0) return -errno;
  return p.fds.add(h, flags & EFD_CLOEXEC);
}

int64_t sys_epoll_create1(Process& p, Args a) {
  int flags = int(a[0]);
  if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
  int h = ::epoll_create1(EPOLL_CLOEXEC);
  if (h < 0) return -errno;
  return p.fds.add(h, flags & EPOLL_CLOEXEC);
}

int64_t sys_epoll_ctl(Process& p, Args a) {
  int ep = hfd(p, a[0]);
  if (ep < 0) return ep;
  int target = hfd(p, a[2]);
  if (target < 0) return target;
  const int op = int(a[1]);
  struct epoll_event ev {};
  if (op != EPOLL_CTL_DEL) {
    const GuestEpollLayout layout(p);
    uint8_t guest_ev[kMaxGuestEpollEventSize];
    if (!p.mem->accessible(a[3], layout.size, kRead)) return -EFAULT;
    p.mem->read(a[3], guest_ev, layout.size);
    std::memcpy(&ev.events, guest_ev, 4);
    std::memcpy(&ev.data.u64, guest_ev + layout.data, 8);
  }
  return host_result(::epoll_ctl(ep, op, target, &ev));
}

// epoll_pwait (timeout in ms, negative = none) and epoll_pwait2 (a timespec, NULL = none).
int64_t sys_epoll_wait(Process& p, Args a, bool timespec_timeout) {
  int ep = hfd(p, a[0]);
  if (ep < 0) return ep;
  const int64_t maxevents = int64_t(int32_t(a[2]));
  const GuestEpollLayout layout(p);
  if (maxevents <= 0 || maxevents > INT_MAX / int64_t(layout.size)) return -EINVAL;
  void* out = guest_buf(p, a[1], uint64_t(maxevents) * layout.size, kWrite);
  if (!out) return -EFAULT;
  // The timeout as a relative time in ns, -1 for none.
  int64_t timeout_ns = -1;
  if (timespec_timeout) {
    if (a[3]) {
      struct timespec ts;
      if (!p.mem->accessible(a[3], sizeof ts, kRead)) return -EFAULT;
      p.mem->read(a[3], &ts, sizeof ts);
      if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNsPerSec) return -EINVAL;
      timeout_ns = int64_t(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
    }
  } else if (int32_t(a[3]) >= 0) {
    timeout_ns = int64_t(int32_t(a[3])) * 1'000'000;
  }
  if (a[4]) {
    if (int64_t e = apply_wait_sigmask(p, a[4], a[5])) return e;
  }
  std::vector<struct epoll_event> events(static_cast<size_t>(maxevents));
  long n;
  if (p.threads.size() > 1) {
    // Other threads run while this one waits (threads.cpp): look without waiting, else park on
    // the epoll fd, which polls readable when one of its fds has an event.
    int64_t deadline = p.cur->resumed ? p.cur->resume_deadline_ns
                       : timeout_ns >= 0 ? monotonic_now_ns() + timeout_ns : -1;
    n = ::epoll_wait(ep, events.data(), int(maxevents), 0);
    if (n < 0) return -errno;
    if (n == 0 && (deadline < 0 || monotonic_now_ns() < deadline)) {
      if (guest_signal_deliverable(p)) return -EINTR;
      return park_on_fds(p, {{ep, POLLIN, 0}}, deadline, false);
    }
  } else {
    // A host signal the guest need not see restarts the wait with the time that is left.
    const int64_t deadline = timeout_ns >= 0 ? monotonic_now_ns() + timeout_ns : -1;
    for (;;) {
      struct timespec left {};
      if (deadline >= 0) {
        int64_t rem = std::max<int64_t>(0, deadline - monotonic_now_ns());
        left.tv_sec = time_t(rem / kNsPerSec);
        left.tv_nsec = long(rem % kNsPerSec);
      }
      n = ::epoll_pwait2(ep, events.data(), int(maxevents), deadline >= 0 ? &left : nullptr, nullptr);
      if (n >= 0 || errno != EINTR || guest_signal_deliverable(p)) break;
    }
    if (n < 0) return -errno;
  }
  uint8_t* dst = static_cast<uint8_t*>(out);
  for (long i = 0; i < n; ++i) {
    uint8_t guest_ev[kMaxGuestEpollEventSize] = {};
    std::memcpy(guest_ev, &events[size_t(i)].events, 4);
    std::memcpy(guest_ev + layout.data, &events[size_t(i)].data.u64, 8);
    std::memcpy(dst + i * layout.size, guest_ev, layout.size);
  }
  return n;
}

int64_t sys_timerfd_create(Process& p, Args a) {
  int flags = int(a[1]);
  if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) return -EINVAL;
  int h = ::timerfd_create(clockid_t(a[0]), flags | TFD_CLOEXEC);
  if (h < 0) return -errno;
  return p.fds.add(h, flags & TFD_CLOEXEC);
}

int64_t sys_timerfd_settime(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  struct itimerspec nv, old {};
  if (!p.mem->accessible(a[2], sizeof nv, kRead)) return -EFAULT;
  p.mem->read(a[2], &nv, sizeof nv);
  if (a[3] && !p.mem->accessible(a[3], sizeof old, kWrite)) return -EFAULT;
  if (::timerfd_settime(h, int(a[1]), &nv, a[3] ? &old : nullptr) != 0) return -errno;
  if (a[3]) p.mem->write(a[3], &old, sizeof old);
  return 0;
}

int64_t sys_timerfd_gettime(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  struct itimerspec cur;
  if (::timerfd_gettime(h, &cur) != 0) return -errno;
  if (!p.mem->accessible(a[1], sizeof cur, kWrite)) return -EFAULT;
  p.mem->write(a[1], &cur, sizeof cur);
  return 0;
}

}  // namespace

int64_t wait_deadline(const struct timespec& ts) {
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNsPerSec) return -2;
  return monotonic_now_ns() + int64_t(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

int64_t apply_wait_sigmask(Process& p, uint64_t addr, uint64_t size) {
  if (size != 8) return -EINVAL;
  if (!p.mem->accessible(addr, 8, kRead)) return -EFAULT;
  uint64_t mask = p.mem->read_val<uint64_t>(addr);
  ThreadSignals& ts = p.ts();
  // A call that runs again after a wait keeps the mask saved by its first attempt.
  if (!ts.restore_mask) ts.saved_mask = ts.blocked;
  ts.restore_mask = true;
  ts.blocked = mask & ~gsig::kUnblockable;
  return 0;
}

bool handle_event_syscall(Process& p, uint64_t number, Args a, int64_t& r) {
  switch (number) {
    case nr_net::eventfd2: r = sys_eventfd2(p, a); return true;
    case nr_net::epoll_create1: r = sys_epoll_create1(p, a); return true;
    case nr_net::epoll_ctl: r = sys_epoll_ctl(p, a); return true;
    case nr_net::epoll_pwait: r = sys_epoll_wait(p, a, false); return true;
    case nr_net::epoll_pwait2: r = sys_epoll_wait(p, a, true); return true;
    case nr_net::timerfd_create: r = sys_timerfd_create(p, a); return true;
    case nr_net::timerfd_settime: r = sys_timerfd_settime(p, a); return true;
    case nr_net::timerfd_gettime: r = sys_timerfd_gettime(p, a); return true;
    default: return false;
  }
}

}  // namespace vmkit::linux_user
