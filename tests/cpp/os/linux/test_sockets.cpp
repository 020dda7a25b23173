// Sockets in Linux user mode: the guest program tests/guest/sockets.c (socketpair with SCM_RIGHTS,
// TCP and UDP over loopback, an AF_UNIX path socket, socket options, EFAULT on bad pointers,
// epoll / eventfd / timerfd) and smaller programs for the corners (fd translation of several
// SCM_RIGHTS fds, mmsg batches, bad pointers in msghdr) run under vmkit with the stdout and exit
// status of qemu-riscv64.
#include <fstream>

#include "linux_test_util.h"

namespace vmkit::linux_user {
namespace {

std::string read_source(const std::string& relative_to_this_file) {
  std::string here = __FILE__;
  std::string path = here.substr(0, here.rfind('/') + 1) + relative_to_this_file;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_like_qemu(const std::string& bin, const std::string& must_contain) {
  VmRun v = run_vm(bin);
  EXPECT_EQ(v.result.exit_status, 0) << v.out << v.result.diagnostics;
  EXPECT_EQ(v.result.signal, 0);
  EXPECT_EQ(v.result.diagnostics, "");
  EXPECT_NE(v.out.find(must_contain), std::string::npos) << v.out;
  EXPECT_EQ(v.out.find("FAILED"), std::string::npos) << v.out;
  if (GuestPrograms::get().have_qemu()) {
    QemuRun q = run_qemu(bin);
    EXPECT_EQ(q.out, v.out);
    EXPECT_EQ(q.status, v.result.exit_status);
  }
}

TEST(LinuxSockets, GuestProgramSocketsMatchesQemu) {
  REQUIRE_CROSS_GCC();
  std::string src = read_source("../../../guest/sockets.c");
  ASSERT_FALSE(src.empty());
  std::string bin = build("s_guest", src);
  ASSERT_FALSE(bin.empty());
  VmRun v = run_vm(bin);
  // The lines that prove each part worked, independent of qemu.
  for (const char* line : {"socketpair: byte x, fd received (valid), cloexec 1: through the pipe\n",
                           "SO_TYPE 1 (stream 1), len 4\n", "tcp: server read \"hello over tcp\"\n",
                           "tcp: client exit 0\n", "udp: 12 bytes \"datagram one\" from 127.0.0.1 (len 16)\n",
                           "unix: \"unix path\", bound name matches: 1\n", "bind with a bad address: -1 EFAULT\n",
                           "epoll: 2 ready, pipe seen 1, eventfd seen 1\n", "timerfd: fired 1\n", "done\n"})
    EXPECT_NE(v.out.find(line), std::string::npos) << "missing: " << line << "in:\n" << v.out;
  expect_like_qemu(bin, "done\n");
}

TEST(LinuxSockets, ScmRightsTranslatesSeveralFdsBothWaysAndMmsgBatches) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("s_rights", R"SRC(
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) return 1;
  /* Three pipes' read ends go across; the guest fd numbers differ from vmkit's host ones. */
  int r[3], w[3];
  for (int i = 0; i < 3; ++i) {
    int p[2];
    if (pipe(p)) return 2;
    r[i] = p[0]; w[i] = p[1];
    char c = 'A' + i;
    write(w[i], &c, 1);
  }
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr a; } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {0};
  m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  memcpy(CMSG_DATA(c), r, sizeof r);
  if (sendmsg(sv[0], &m, 0) != 1) return 3;
  for (int i = 0; i < 3; ++i) close(r[i]);
  /* A bad guest fd in SCM_RIGHTS is EBADF. */
  int bad = 999;
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  c->cmsg_len = CMSG_LEN(sizeof(int));
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  printf("bad fd in SCM_RIGHTS: %zd %s\n", sendmsg(sv[0], &m, 0), errno == EBADF ? "EBADF" : strerror(errno));

  union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr a; } ru;
  struct msghdr rm = {0};
  rm.msg_iov = &iov; rm.msg_iovlen = 1; rm.msg_control = ru.buf; rm.msg_controllen = sizeof ru.buf;
  if (recvmsg(sv[1], &rm, 0) != 1) return 4;
  struct cmsghdr* rc = CMSG_FIRSTHDR(&rm);
  int got[3];
  memcpy(got, CMSG_DATA(rc), sizeof got);
  printf("received %zu fds, controllen %zu, flags %d:", (rc->cmsg_len - CMSG_LEN(0)) / sizeof(int), (size_t)rm.msg_controllen, rm.msg_flags);
  for (int i = 0; i < 3; ++i) {
    char ch = '?';
    read(got[i], &ch, 1);
    printf(" %c(cloexec %d)", ch, (fcntl(got[i], F_GETFD) & FD_CLOEXEC) != 0);
  }
  printf("\n");

  /* sendmmsg / recvmmsg: three datagrams in one call each. */
  char a0[] = "one", a1[] = "two!", a2[] = "three";
  struct iovec siov[3] = {{a0, 3}, {a1, 4}, {a2, 5}};
  struct mmsghdr sm[3];
  memset(sm, 0, sizeof sm);
  for (int i = 0; i < 3; ++i) { sm[i].msg_hdr.msg_iov = &siov[i]; sm[i].msg_hdr.msg_iovlen = 1; }
  printf("sendmmsg: %d\n", sendmmsg(sv[0], sm, 3, 0));
  char b[3][8];
  memset(b, 0, sizeof b);
  struct iovec riov[3] = {{b[0], 8}, {b[1], 8}, {b[2], 8}};
  struct mmsghdr rmm[3];
  memset(rmm, 0, sizeof rmm);
  for (int i = 0; i < 3; ++i) { rmm[i].msg_hdr.msg_iov = &riov[i]; rmm[i].msg_hdr.msg_iovlen = 1; }
  int n = recvmmsg(sv[1], rmm, 3, 0, NULL);
  printf("recvmmsg: %d:", n);
  for (int i = 0; i < n; ++i) printf(" %s/%u", b[i], rmm[i].msg_len);
  printf("\n");

  /* Bad pointers inside a msghdr and for the msghdr itself. */
  struct msghdr badm = {0};
  struct iovec biov = {(void*)16, 4};
  badm.msg_iov = &biov; badm.msg_iovlen = 1;
  printf("sendmsg with a bad iov base: %ld %s\n", syscall(SYS_sendmsg, sv[0], &badm, 0), errno == EFAULT ? "EFAULT" : strerror(errno));
  printf("recvmsg with a bad msghdr: %ld %s\n", syscall(SYS_recvmsg, sv[1], (void*)32, 0), errno == EFAULT ? "EFAULT" : strerror(errno));
  int v = 1;
  printf("setsockopt with a bad value: %ld %s\n", syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_PASSCRED, (void*)8, sizeof v), errno == EFAULT ? "EFAULT" : strerror(errno));
  socklen_t len = sizeof v;
  printf("getsockopt SO_PASSCRED: %d %d\n", getsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &v, &len), v);
  return 0;
}
)SRC");
  ASSERT_FALSE(bin.empty());
  VmRun v = run_vm(bin);
  EXPECT_EQ(v.out,
            "bad fd in SCM_RIGHTS: -1 EBADF\n"
            "received 3 fds, controllen 32, flags 0: A(cloexec 0) B(cloexec 0) C(cloexec 0)\n"
            "sendmmsg: 3\n"
            "recvmmsg: 3: one/3 two!/4 three/5\n"
            "sendmsg with a bad iov base: -1 EFAULT\n"
            "recvmsg with a bad msghdr: -1 EFAULT\n"
            "setsockopt with a bad value: -1 EFAULT\n"
            "getsockopt SO_PASSCRED: 0 0\n");
  expect_like_qemu(bin, "recvmmsg: 3");
}

}  // namespace
}  // namespace vmkit::linux_user
