// Entry points of the socket layer (sockets.cpp) and of the event fds (events.cpp: epoll,
// eventfd, timerfd), plus the small guest-memory helpers they share (internal to os/linux).
#pragma once

#include <cerrno>
#include <cstdint>

#include "os/linux/guest_process.h"

namespace vmkit::linux_user {

// The asm-generic numbers (riscv64 and aarch64) of the calls these files implement.
namespace nr_net {
enum : uint64_t {
  eventfd2 = 19, epoll_create1 = 20, epoll_ctl = 21, epoll_pwait = 22, timerfd_create = 85,
  timerfd_settime = 86, timerfd_gettime = 87, socket = 198, socketpair = 199, bind = 200,
  listen = 201, accept = 202, connect = 203, getsockname = 204, getpeername = 205, sendto = 206,
  recvfrom = 207, setsockopt = 208, getsockopt = 209, shutdown = 210, sendmsg = 211, recvmsg = 212,
  accept4 = 242, recvmmsg = 243, sendmmsg = 269, epoll_pwait2 = 441,
};
}  // namespace nr_net

// Handles `number` if it is a socket call: stores the result (or kNoResult) in `result` and
// returns true; returns false for any other number.
bool handle_socket_syscall(Process& p, uint64_t number, const uint64_t (&a)[6], int64_t& result);
// The same for epoll, eventfd and timerfd.
bool handle_event_syscall(Process& p, uint64_t number, const uint64_t (&a)[6], int64_t& result);
// Socket calls that the kernel restarts after an SA_RESTART handler (-ERESTARTSYS).
bool socket_call_restartable(uint64_t number);

// ppoll / pselect6 / epoll_pwait: the guest's signal mask `addr` (sigsetsize `size`) is in effect
// for the wait, as rt_sigsuspend's is: a handler's frame saves the old mask, which comes back
// when the call returns. Returns 0, -EINVAL (size) or -EFAULT.
int64_t apply_wait_sigmask(Process& p, uint64_t addr, uint64_t size);
// The CLOCK_MONOTONIC deadline of a relative timeout, -2 if `ts` is invalid.
int64_t wait_deadline(const struct timespec& ts);

// Shared helpers of the two files.
namespace netio {

inline int64_t host_result(long r) { return r < 0 ? -int64_t(errno) : int64_t(r); }

// Host fd for a guest fd, or -EBADF.
inline int hfd(Process& p, uint64_t guest_fd) {
  int h = p.fds.host(int(guest_fd));
  return h >= 0 ? h : -EBADF;
}

// Runs a blocking host call again when a host signal interrupted it that the guest need not see
// now (as syscalls.cpp does for its calls).
template <class F>
long retry_eintr(Process& p, F&& call) {
  for (;;) {
    long r = call();
    if (r >= 0 || errno != EINTR || guest_signal_deliverable(p)) return r;
  }
}

}  // namespace netio
}  // namespace vmkit::linux_user
