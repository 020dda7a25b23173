/* Sockets and event fds, deterministic: loopback only, kernel-chosen ports, no timing in the output.
   socketpair with SCM_RIGHTS passing a pipe, TCP over 127.0.0.1 with a forked client, UDP,
   SO_TYPE, an AF_UNIX path socket, EFAULT on a bad address, epoll on a pipe and an eventfd,
   eventfd semaphore mode, timerfd. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAILED line %d: %s (errno %d)\n", __LINE__, #x, errno); exit(1); } } while (0)

static void socketpair_rights(void) {
  int sv[2], pfd[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(pipe(pfd) == 0);
  CHECK(write(pfd[1], "through the pipe", 16) == 16);
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof u.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
  CHECK(sendmsg(sv[0], &m, 0) == 1);
  close(pfd[0]);

  char got = 0;
  struct iovec riov = {&got, 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ru;
  struct msghdr rm = {0};
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  rm.msg_control = ru.buf;
  rm.msg_controllen = sizeof ru.buf;
  CHECK(recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC) == 1);
  struct cmsghdr* rc = CMSG_FIRSTHDR(&rm);
  CHECK(rc && rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS);
  int received;
  memcpy(&received, CMSG_DATA(rc), sizeof(int));
  char text[32] = {0};
  CHECK(read(received, text, sizeof text - 1) == 16);
  printf("socketpair: byte %c, fd received (%s), cloexec %d: %s\n", got, received >= 0 ? "valid" : "bad",
         (fcntl(received, F_GETFD) & FD_CLOEXEC) != 0, text);

  /* Plain echo over the pair. */
  CHECK(send(sv[0], "ping", 4, 0) == 4);
  char echo[8] = {0};
  CHECK(recv(sv[1], echo, sizeof echo, 0) == 4);
  CHECK(send(sv[1], "pong", 4, 0) == 4);
  CHECK(recv(sv[0], echo, sizeof echo, 0) == 4);
  printf("socketpair echo: %s\n", echo);
  int type = 0;
  socklen_t len = sizeof type;
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0);
  printf("SO_TYPE %d (stream %d), len %u\n", type, SOCK_STREAM, (unsigned)len);
  close(received);
  close(pfd[1]);
  close(sv[0]);
  close(sv[1]);
}

static void tcp_loopback(void) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(ls >= 0);
  int one = 1;
  CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(ls, (struct sockaddr*)&a, sizeof a) == 0);
  CHECK(listen(ls, 4) == 0);
  socklen_t alen = sizeof a;
  CHECK(getsockname(ls, (struct sockaddr*)&a, &alen) == 0);
  printf("tcp: bound to 127.0.0.1, port chosen: %d, len %u\n", ntohs(a.sin_port) != 0, (unsigned)alen);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) != 0) _exit(2);
    const char msg[] = "hello over tcp";
    if (write(c, msg, sizeof msg) != sizeof msg) _exit(3);
    char reply[64] = {0};
    ssize_t n = read(c, reply, sizeof reply - 1);
    if (n <= 0 || strcmp(reply, "HELLO OVER TCP") != 0) _exit(4);
    close(c);
    _exit(0);
  }
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  int s = accept4(ls, (struct sockaddr*)&peer, &plen, SOCK_CLOEXEC);
  CHECK(s >= 0);
  printf("tcp: accepted from %s, family %d\n", inet_ntoa(peer.sin_addr), peer.sin_family);
  char buf[64] = {0};
  size_t got = 0;
  while (got < 15) {
    ssize_t n = read(s, buf + got, sizeof buf - 1 - got);
    CHECK(n > 0);
    got += (size_t)n;
  }
  printf("tcp: server read \"%s\"\n", buf);
  for (size_t i = 0; buf[i]; ++i) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
  CHECK(write(s, buf, 15) == 15);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("tcp: client exit %d\n", WEXITSTATUS(status));
  struct sockaddr_in pn;
  socklen_t pnlen = sizeof pn;
  CHECK(getpeername(s, (struct sockaddr*)&pn, &pnlen) == 0);
  printf("tcp: getpeername family %d\n", pn.sin_family);
  CHECK(shutdown(s, SHUT_RDWR) == 0);
  close(s);
  close(ls);
}

static void udp(void) {
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(a >= 0 && b >= 0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(b, (struct sockaddr*)&sa, sizeof sa) == 0);
  socklen_t l = sizeof sa;
  CHECK(getsockname(b, (struct sockaddr*)&sa, &l) == 0);
  CHECK(sendto(a, "datagram one", 12, 0, (struct sockaddr*)&sa, sizeof sa) == 12);
  CHECK(sendto(a, "two", 3, 0, (struct sockaddr*)&sa, sizeof sa) == 3);
  char buf[32] = {0};
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
  printf("udp: %zd bytes \"%s\" from %s (len %u)\n", n, buf, inet_ntoa(from.sin_addr), (unsigned)fl);
  memset(buf, 0, sizeof buf);
  n = recvfrom(b, buf, sizeof buf, 0, NULL, NULL);
  printf("udp: %zd bytes \"%s\"\n", n, buf);
  int type;
  socklen_t tl = sizeof type;
  CHECK(getsockopt(b, SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
  printf("udp: SO_TYPE is SOCK_DGRAM: %d\n", type == SOCK_DGRAM);
  n = recvfrom(b, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL);
  printf("udp: empty queue with MSG_DONTWAIT: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : "other");
  close(a);
  close(b);
}

static void unix_path(void) {
  char dir[] = "/tmp/vmkit-sockets-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct sockaddr_un un = {0};
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof un.sun_path, "%s/sock", dir);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(ls >= 0);
  CHECK(bind(ls, (struct sockaddr*)&un, sizeof un) == 0);
  CHECK(listen(ls, 1) == 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(c, (struct sockaddr*)&un, sizeof un) == 0);
  int s = accept(ls, NULL, NULL);
  CHECK(s >= 0);
  CHECK(write(c, "unix path", 9) == 9);
  char buf[16] = {0};
  CHECK(read(s, buf, sizeof buf) == 9);
  struct sockaddr_un got;
  socklen_t gl = sizeof got;
  CHECK(getsockname(ls, (struct sockaddr*)&got, &gl) == 0);
  printf("unix: \"%s\", bound name matches: %d\n", buf, strcmp(got.sun_path, un.sun_path) == 0);
  close(c);
  close(s);
  close(ls);
  unlink(un.sun_path);
  rmdir(dir);
}

static void bad_pointers(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  long r = syscall(SYS_bind, s, (void*)16, 16);
  printf("bind with a bad address: %ld %s\n", r, errno == EFAULT ? "EFAULT" : "other");
  r = syscall(SYS_getsockname, s, (void*)16, (void*)24);
  printf("getsockname with a bad length pointer: %ld %s\n", r, errno == EFAULT ? "EFAULT" : "other");
  r = syscall(SYS_sendto, 12345, "x", 1, 0, NULL, 0);
  printf("sendto on a closed fd: %ld %s\n", r, errno == EBADF ? "EBADF" : "other");
  close(s);
}

static void epoll_eventfd_timerfd(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int pfd[2];
  CHECK(ep >= 0 && pipe(pfd) == 0);
  int ev = eventfd(0, EFD_NONBLOCK);
  CHECK(ev >= 0);
  struct epoll_event e = {0};
  e.events = EPOLLIN;
  e.data.u64 = 0x1122334455667788ull;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &e) == 0);
  e.events = EPOLLIN | EPOLLET;
  e.data.u64 = 0xfeedfacecafebeefull;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) == 0);
  struct epoll_event out[4];
  memset(out, 0xab, sizeof out);
  printf("epoll: nothing ready: %d\n", epoll_wait(ep, out, 4, 0));
  CHECK(write(pfd[1], "p", 1) == 1);
  uint64_t add = 5;
  CHECK(write(ev, &add, 8) == 8);
  int n = epoll_wait(ep, out, 4, 1000);
  unsigned seen = 0;
  for (int i = 0; i < n; ++i) {
    if (out[i].data.u64 == 0x1122334455667788ull && out[i].events == EPOLLIN) seen |= 1;
    if (out[i].data.u64 == 0xfeedfacecafebeefull && out[i].events == EPOLLIN) seen |= 2;
  }
  printf("epoll: %d ready, pipe seen %d, eventfd seen %d\n", n, (seen & 1) != 0, (seen & 2) != 0);
  uint64_t v = 0;
  CHECK(read(ev, &v, 8) == 8);
  printf("eventfd: counter %llu, then empty: %zd %s\n", (unsigned long long)v, read(ev, &v, 8),
         errno == EAGAIN ? "EAGAIN" : "other");
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, pfd[0], NULL) == 0);
  n = epoll_wait(ep, out, 4, 0);
  printf("epoll: after DEL of the readable pipe: %d\n", n);

  int sem = eventfd(3, EFD_SEMAPHORE);
  CHECK(read(sem, &v, 8) == 8);
  printf("eventfd semaphore: read %llu\n", (unsigned long long)v);

  int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  CHECK(tf >= 0);
  struct itimerspec its = {{0, 0}, {0, 2000000}};  /* one shot after 2 ms */
  CHECK(timerfd_settime(tf, 0, &its, NULL) == 0);
  e.events = EPOLLIN;
  e.data.u64 = 77;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, tf, &e) == 0);
  n = epoll_wait(ep, out, 4, 5000);
  printf("timerfd: epoll %d, data %llu\n", n, (unsigned long long)out[0].data.u64);
  uint64_t expirations = 0;
  CHECK(read(tf, &expirations, 8) == 8);
  printf("timerfd: fired %d\n", expirations >= 1);
  struct itimerspec cur;
  CHECK(timerfd_gettime(tf, &cur) == 0);
  printf("timerfd: disarmed after a one shot: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
  close(tf);
  close(sem);
  close(ev);
  close(pfd[0]);
  close(pfd[1]);
  close(ep);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  socketpair_rights();
  tcp_loopback();
  udp();
  unix_path();
  bad_pointers();
  epoll_eventfd_timerfd();
  printf("done\n");
  return 0;
}
