// Sockets: every call passes through to the host with guest fds translated by the FdTable (new
// host fds enter it; SOCK_CLOEXEC / MSG_CMSG_CLOEXEC set the table's close-on-exec flag, host fds
// are always close-on-exec so that vmkit's own children never inherit them). The guests
// (riscv64, aarch64) and x86-64 share the layouts of struct sockaddr*, msghdr, mmsghdr, iovec,
// cmsghdr, ucred, linger and timeval, so buffers pass as they are, except for SCM_RIGHTS control
// messages, whose fd numbers are translated guest->host when sending and host->guest (entering
// the table) when receiving. Every guest pointer is checked first: a bad one is -EFAULT.
//
// While other guest threads exist, a call that would block (accept, connect in progress, recv*,
// send*) parks the thread in the scheduler (threads.cpp) instead of blocking the host thread.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "os/linux/net_events.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {

using namespace netio;

namespace {

using Args = const uint64_t (&)[6];

constexpr uint64_t kMsghdrSize = 56;   // name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad)
constexpr uint64_t kMmsghdrSize = 64;  // msghdr, then unsigned msg_len (+pad)
constexpr uint64_t kMaxSockaddr = sizeof(struct sockaddr_storage);
constexpr uint64_t kMaxControl = 1 << 20;  // the kernel's optmem-like bound on control data

// The socket calls that wait: with MSG_DONTWAIT (or a non-blocking socket) they never park.
int64_t wait_unless_dontwait(Process& p, int h, short events, uint64_t msg_flags) {
  if (msg_flags & MSG_DONTWAIT) return 0;
  return wait_fd_ready(p, h, events, true);
}

// Reads a guest `socklen_t*` whose pointee bounds the buffer at `addr`: -EFAULT / -EINVAL, else
// the length.
int64_t read_addrlen(Process& p, uint64_t len_addr) {
  if (!p.mem->accessible(len_addr, 4, kRead | kWrite)) return -EFAULT;
  int32_t len = p.mem->read_val<int32_t>(len_addr);
  return len < 0 ? -EINVAL : len;
}

// Copies a host socket address out the way the kernel's move_addr_to_user does: at most the
// guest's buffer length, and the full length into *len_addr.
int64_t put_addr(Process& p, uint64_t addr, uint64_t len_addr, const struct sockaddr_storage& sa, socklen_t len) {
  int64_t room = read_addrlen(p, len_addr);
  if (room < 0) return room;
  uint64_t n = std::min<uint64_t>(uint64_t(room), len);
  if (n) {
    void* dst = guest_buf(p, addr, n, kWrite);
    if (!dst) return -EFAULT;
    std::memcpy(dst, &sa, n);
  }
  p.mem->write_val(len_addr, int32_t(len));
  return 0;
}

// The host sends with MSG_NOSIGNAL (a host SIGPIPE would hit vmkit); the guest's SIGPIPE is
// raised here, in the guest, unless it asked for MSG_NOSIGNAL itself.
int64_t send_result(Process& p, long r, int flags) {
  if (r >= 0) return r;
  const int err = errno;
  if (err == EPIPE && !(flags & MSG_NOSIGNAL))
    queue_thread_signal(p, *p.cur, PendingSignal{gsig::kSIGPIPE, gsig::kSI_USER, 0, int(::getpid()), int(::getuid())});
  return -int64_t(err);
}

int64_t sys_socket(Process& p, Args a) {
  int type = int(a[1]);
  int h = ::socket(int(a[0]), type | SOCK_CLOEXEC, int(a[2]));
  if (h < 0) return -errno;
  return p.fds.add(h, type & SOCK_CLOEXEC);
}

int64_t sys_socketpair(Process& p, Args a) {
  if (!p.mem->accessible(a[3], 8, kWrite)) return -EFAULT;
  int type = int(a[1]);
  int hv[2];
  if (::socketpair(int(a[0]), type | SOCK_CLOEXEC, int(a[2]), hv) != 0) return -errno;
  int g0 = p.fds.add(hv[0], type & SOCK_CLOEXEC);
  if (g0 < 0) {
    ::close(hv[1]);
    return g0;
  }
  int g1 = p.fds.add(hv[1], type & SOCK_CLOEXEC);
  if (g1 < 0) {
    p.fds.close(g0);
    return g1;
  }
  int32_t out[2] = {g0, g1};
  p.mem->write(a[3], out, sizeof out);
  return 0;
}

// bind / connect: (fd, const struct sockaddr*, socklen_t).
int64_t sys_bind_connect(Process& p, Args a, bool is_connect) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  uint64_t len = uint32_t(a[2]);
  if (int32_t(a[2]) < 0 || len > kMaxSockaddr) return -EINVAL;
  const void* sa = guest_buf(p, a[1], len, kRead);
  if (!sa) return -EFAULT;
  auto* addr = static_cast<const struct sockaddr*>(sa);
  if (!is_connect) return host_result(::bind(h, addr, socklen_t(len)));
  int fl = p.threads.size() > 1 ? ::fcntl(h, F_GETFL) : -1;
  if (fl < 0 || (fl & O_NONBLOCK)) {
    // One thread (a blocking connect may block the host), or a non-blocking socket.
    long r = retry_eintr(p, [&] { return long(::connect(h, addr, socklen_t(len))); });
    return host_result(r);
  }
  // Other threads run meanwhile: start the connection without waiting, then wait in the
  // scheduler until the socket is writable and ask connect again, which then reports the outcome
  // (0 through EISCONN, or the connection's error), as the kernel's inet_stream_connect does.
  const bool resumed = p.cur->resumed;
  ::fcntl(h, F_SETFL, fl | O_NONBLOCK);
  long r = ::connect(h, addr, socklen_t(len));
  int err = errno;
  ::fcntl(h, F_SETFL, fl);
  if (r == 0) return 0;
  if (resumed && err == EISCONN) return 0;
  if (err == EINPROGRESS || err == EALREADY || err == EAGAIN) {
    if (guest_signal_deliverable(p)) return -EINTR;
    return park_on_fds(p, {{h, POLLOUT, 0}}, -1, true);
  }
  return -err;
}

int64_t sys_accept(Process& p, Args a, int flags) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  if (a[1] && read_addrlen(p, a[2]) < 0) return read_addrlen(p, a[2]);
  if (int64_t w = wait_fd_ready(p, h, POLLIN, true)) return w;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  int nh = int(retry_eintr(p, [&] { return long(::accept4(h, reinterpret_cast<struct sockaddr*>(&sa), &len, flags | SOCK_CLOEXEC)); }));
  if (nh < 0) return -errno;
  if (a[1]) {
    if (int64_t e = put_addr(p, a[1], a[2], sa, len)) {
      ::close(nh);
      return e;
    }
  }
  return p.fds.add(nh, flags & SOCK_CLOEXEC);
}

int64_t sys_sockname(Process& p, Args a, bool peer) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  int64_t room = read_addrlen(p, a[2]);
  if (room < 0) return room;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  auto* sp = reinterpret_cast<struct sockaddr*>(&sa);
  if ((peer ? ::getpeername(h, sp, &len) : ::getsockname(h, sp, &len)) != 0) return -errno;
  return put_addr(p, a[1], a[2], sa, len);
}

int64_t sys_sendto(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  const void* buf = guest_buf(p, a[1], a[2], kRead);
  if (!buf) return -EFAULT;
  const int flags = int(a[3]);
  const struct sockaddr* to = nullptr;
  uint64_t tolen = 0;
  if (a[4]) {
    tolen = uint32_t(a[5]);
    if (int32_t(a[5]) < 0 || tolen > kMaxSockaddr) return -EINVAL;
    to = static_cast<const struct sockaddr*>(guest_buf(p, a[4], tolen, kRead));
    if (!to) return -EFAULT;
  }
  if (int64_t w = wait_unless_dontwait(p, h, POLLOUT, uint64_t(flags))) return w;
  long r = retry_eintr(p, [&] { return long(::sendto(h, buf, a[2], flags | MSG_NOSIGNAL, to, socklen_t(tolen))); });
  return send_result(p, r, flags);
}

int64_t sys_recvfrom(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  void* buf = guest_buf(p, a[1], a[2], kWrite);
  if (!buf) return -EFAULT;
  const int flags = int(a[3]);
  if (a[4]) {
    int64_t room = read_addrlen(p, a[5]);
    if (room < 0) return room;
  }
  if (int64_t w = wait_unless_dontwait(p, h, POLLIN, uint64_t(flags))) return w;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  long r = retry_eintr(p, [&] {
    len = sizeof sa;
    return long(::recvfrom(h, buf, a[2], flags, a[4] ? reinterpret_cast<struct sockaddr*>(&sa) : nullptr, a[4] ? &len : nullptr));
  });
  if (r < 0) return -errno;
  if (a[4]) {
    // A connected stream socket reports no address (len 0), which the guest sees as such.
    if (int64_t e = put_addr(p, a[4], a[5], sa, len)) return e;
  }
  return r;
}

int64_t sys_setsockopt(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  if (int32_t(a[4]) < 0) return -EINVAL;
  const void* val = guest_buf(p, a[3], uint32_t(a[4]), kRead);
  if (!val) return -EFAULT;
  return host_result(::setsockopt(h, int(a[1]), int(a[2]), a[3] ? val : nullptr, socklen_t(uint32_t(a[4]))));
}

int64_t sys_getsockopt(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  int64_t room = read_addrlen(p, a[4]);
  if (room < 0) return room;
  void* val = guest_buf(p, a[3], uint64_t(room), kWrite);
  if (!val) return -EFAULT;
  socklen_t len = socklen_t(room);
  if (::getsockopt(h, int(a[1]), int(a[2]), val, &len) != 0) return -errno;
  p.mem->write_val(a[4], int32_t(len));
  return 0;
}

// ---- sendmsg / recvmsg -------------------------------------------------------------------------

// A guest struct msghdr turned into a host one whose buffers point into guest memory, except the
// control data, which is copied (its SCM_RIGHTS fds differ between guest and host).
struct HostMsg {
  struct msghdr msg {};
  std::vector<struct iovec> iov;
  std::vector<uint8_t> control;
  uint64_t guest_control = 0, guest_controllen = 0;
};

int64_t read_msghdr(Process& p, uint64_t addr, bool receiving, HostMsg& m) {
  uint8_t raw[kMsghdrSize];
  if (!p.mem->accessible(addr, sizeof raw, receiving ? kRead | kWrite : kRead)) return -EFAULT;
  p.mem->read(addr, raw, sizeof raw);
  uint64_t name, iov, iovlen, control, controllen;
  uint32_t namelen;
  std::memcpy(&name, raw + 0, 8);
  std::memcpy(&namelen, raw + 8, 4);
  std::memcpy(&iov, raw + 16, 8);
  std::memcpy(&iovlen, raw + 24, 8);
  std::memcpy(&control, raw + 32, 8);
  std::memcpy(&controllen, raw + 40, 8);
  if (iovlen > IOV_MAX) return -EMSGSIZE;
  if (name) {
    if (int32_t(namelen) < 0) return -EINVAL;
    if (!receiving && namelen > kMaxSockaddr) return -EINVAL;
    if (receiving) namelen = uint32_t(std::min<uint64_t>(namelen, kMaxSockaddr));
    m.msg.msg_name = guest_buf(p, name, namelen, receiving ? kWrite : kRead);
    if (!m.msg.msg_name) return -EFAULT;
    m.msg.msg_namelen = namelen;
  }
  m.iov.resize(iovlen);
  if (iovlen && !p.mem->accessible(iov, 16 * iovlen, kRead)) return -EFAULT;
  for (uint64_t i = 0; i < iovlen; ++i) {
    uint64_t v[2];
    p.mem->read(iov + 16 * i, v, sizeof v);
    if (int64_t(v[1]) < 0) return -EINVAL;
    void* h = guest_buf(p, v[0], v[1], receiving ? kWrite : kRead);
    if (!h) return -EFAULT;
    m.iov[i] = {h, v[1]};
  }
  m.msg.msg_iov = m.iov.empty() ? nullptr : m.iov.data();
  m.msg.msg_iovlen = m.iov.size();
  if (control && controllen) {
    if (controllen > kMaxControl) return -ENOBUFS;
    if (!p.mem->accessible(control, controllen, receiving ? kWrite : kRead)) return -EFAULT;
    m.control.resize(controllen);
    if (!receiving) p.mem->read(control, m.control.data(), controllen);
    m.msg.msg_control = m.control.data();
    m.msg.msg_controllen = controllen;
    m.guest_control = control;
    m.guest_controllen = controllen;
  }
  return 0;
}

// Sending: SCM_RIGHTS carries guest fds; the host needs its own numbers.
int64_t control_to_host(Process& p, HostMsg& m) {
  if (m.control.empty()) return 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m.msg); c; c = CMSG_NXTHDR(&m.msg, c)) {
    if (c->cmsg_len < sizeof(struct cmsghdr)) return -EINVAL;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
    for (size_t i = 0; i < n; ++i) {
      int h = p.fds.host(fds[i]);
      if (h < 0) return -EBADF;
      fds[i] = h;
    }
  }
  return 0;
}

// Receiving: the host fds in SCM_RIGHTS enter the guest table; the control data, the name
// length, msg_flags and controllen go back to the guest msghdr at `addr`.
void finish_recvmsg(Process& p, uint64_t addr, HostMsg& m, bool cmsg_cloexec) {
  uint64_t controllen = 0;
  if (!m.control.empty()) {
    controllen = m.msg.msg_controllen;
    for (struct cmsghdr* c = controllen ? CMSG_FIRSTHDR(&m.msg) : nullptr; c; c = CMSG_NXTHDR(&m.msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
      for (size_t i = 0; i < n; ++i) {
        int g = p.fds.add(fds[i], cmsg_cloexec);  // closes the host fd when the table is full
        if (g < 0) {
          // As the kernel's scm_detach_fds: the fds that did not fit are dropped and reported.
          m.msg.msg_flags |= MSG_CTRUNC;
          for (size_t k = i + 1; k < n; ++k) ::close(fds[k]);
          c->cmsg_len = CMSG_LEN(i * sizeof(int));
          break;
        }
        fds[i] = g;
      }
    }
    if (controllen) p.mem->write(m.guest_control, m.control.data(), controllen);
  }
  p.mem->write_val(addr + 8, uint32_t(m.msg.msg_name ? m.msg.msg_namelen : 0));
  p.mem->write_val(addr + 40, controllen);
  p.mem->write_val(addr + 48, int32_t(m.msg.msg_flags));
}

// One sendmsg: returns bytes sent or -errno (SIGPIPE raised as for sendto).
int64_t send_one(Process& p, int h, uint64_t msg_addr, int flags) {
  HostMsg m;
  if (int64_t e = read_msghdr(p, msg_addr, false, m)) return e;
  if (int64_t e = control_to_host(p, m)) return e;
  long r = retry_eintr(p, [&] { return long(::sendmsg(h, &m.msg, flags | MSG_NOSIGNAL)); });
  return send_result(p, r, flags);
}

int64_t recv_one(Process& p, int h, uint64_t msg_addr, int flags) {
  HostMsg m;
  if (int64_t e = read_msghdr(p, msg_addr, true, m)) return e;
  const uint32_t room = m.msg.msg_namelen;
  long r = retry_eintr(p, [&] {
    m.msg.msg_namelen = room;
    return long(::recvmsg(h, &m.msg, flags | MSG_CMSG_CLOEXEC));
  });
  if (r < 0) return -errno;
  // The kernel echoes MSG_CMSG_CLOEXEC in msg_flags: only if the guest asked for it.
  if (!(flags & MSG_CMSG_CLOEXEC)) m.msg.msg_flags &= ~MSG_CMSG_CLOEXEC;
  finish_recvmsg(p, msg_addr, m, flags & MSG_CMSG_CLOEXEC);
  return r;
}

int64_t sys_sendmsg(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  if (int64_t w = wait_unless_dontwait(p, h, POLLOUT, a[2])) return w;
  return send_one(p, h, a[1], int(a[2]));
}

int64_t sys_recvmsg(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  if (int64_t w = wait_unless_dontwait(p, h, POLLIN, a[2])) return w;
  return recv_one(p, h, a[1], int(a[2]));
}

// sendmmsg / recvmmsg: one message at a time; msg_len of each struct mmsghdr gets its count. An
// error after the first message ends the batch with the count so far, as in the kernel.
int64_t sys_mmsg(Process& p, Args a, bool receiving) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  uint64_t vlen = std::min<uint64_t>(uint32_t(a[2]), 1024);  // UIO_MAXIOV
  int flags = int(a[3]);
  if (vlen && !p.mem->accessible(a[1], vlen * kMmsghdrSize, kRead | kWrite)) return -EFAULT;
  int64_t deadline = -1;
  if (receiving && a[4]) {
    struct timespec ts;
    if (!p.mem->accessible(a[4], sizeof ts, kRead | kWrite)) return -EFAULT;
    p.mem->read(a[4], &ts, sizeof ts);
    deadline = wait_deadline(ts);
    if (deadline == -2) return -EINVAL;
  }
  if (vlen && !(flags & MSG_DONTWAIT)) {
    if (int64_t w = wait_fd_ready(p, h, receiving ? POLLIN : POLLOUT, true)) return w;
  }
  uint64_t done = 0;
  int64_t first_error = 0;
  for (; done < vlen; ++done) {
    uint64_t entry = a[1] + done * kMmsghdrSize;
    int f = flags & ~MSG_WAITFORONE;
    // After the first message, recvmmsg with MSG_WAITFORONE takes only what is already queued;
    // other threads must not be stalled by a later message either.
    if (receiving && done && ((flags & MSG_WAITFORONE) || p.threads.size() > 1)) f |= MSG_DONTWAIT;
    if (!receiving && done && p.threads.size() > 1) f |= MSG_DONTWAIT;
    int64_t r = receiving ? recv_one(p, h, entry, f) : send_one(p, h, entry, f);
    if (r < 0) {
      first_error = r;
      break;
    }
    p.mem->write_val(entry + kMsghdrSize, uint32_t(r));
    if (receiving && deadline >= 0 && monotonic_now_ns() >= deadline) {
      ++done;
      break;
    }
  }
  if (done == 0 && first_error) return first_error;
  return int64_t(done);
}

}  // namespace

bool socket_call_restartable(uint64_t number) {
  switch (number) {
    case nr_net::accept: case nr_net::accept4: case nr_net::connect: case nr_net::sendto:
    case nr_net::recvfrom: case nr_net::sendmsg: case nr_net::recvmsg: case nr_net::sendmmsg:
      return true;
    default:
      return false;
  }
}

bool handle_socket_syscall(Process& p, uint64_t number, Args a, int64_t& r) {
  switch (number) {
    case nr_net::socket: r = sys_socket(p, a); return true;
    case nr_net::socketpair: r = sys_socketpair(p, a); return true;
    case nr_net::bind: r = sys_bind_connect(p, a, false); return true;
    case nr_net::connect: r = sys_bind_connect(p, a, true); return true;
    case nr_net::listen: {
      int h = hfd(p, a[0]);
      r = h < 0 ? h : host_result(::listen(h, int(a[1])));
      return true;
    }
    case nr_net::accept: r = sys_accept(p, a, 0); return true;
    case nr_net::accept4: r = sys_accept(p, a, int(a[3])); return true;
    case nr_net::getsockname: r = sys_sockname(p, a, false); return true;
    case nr_net::getpeername: r = sys_sockname(p, a, true); return true;
    case nr_net::sendto: r = sys_sendto(p, a); return true;
    case nr_net::recvfrom: r = sys_recvfrom(p, a); return true;
    case nr_net::setsockopt: r = sys_setsockopt(p, a); return true;
    case nr_net::getsockopt: r = sys_getsockopt(p, a); return true;
    case nr_net::shutdown: {
      int h = hfd(p, a[0]);
      r = h < 0 ? h : host_result(::shutdown(h, int(a[1])));
      return true;
    }
    case nr_net::sendmsg: r = sys_sendmsg(p, a); return true;
    case nr_net::recvmsg: r = sys_recvmsg(p, a); return true;
    case nr_net::sendmmsg: r = sys_mmsg(p, a, false); return true;
    case nr_net::recvmmsg: r = sys_mmsg(p, a, true); return true;
    default: return false;
  }
}

}  // namespace vmkit::linux_user
