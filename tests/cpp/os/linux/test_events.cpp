// Blocking calls with guest threads: all guest threads share one host thread, so a read on an
// empty pipe, accept, recv, epoll_pwait, ppoll or wait4 of one thread must wait in vmkit's
// scheduler while the others run (under the old code these programs hung). Each program runs
// in a forked host process with a time limit, so a regression fails the test instead of hanging
// the suite; output and exit status are compared with qemu-riscv64.
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "linux_test_util.h"

namespace vmkit::linux_user {
namespace {

struct LimitedRun {
  bool timed_out = false;
  int exit_status = -1;
  std::string out;
};

// run_vm in a child process, killed after `seconds`.
LimitedRun run_vm_limited(const std::string& bin, int seconds = 20) {
  std::string result_file = GuestPrograms::get().dir() + "/limited.out";
  pid_t pid = ::fork();
  if (pid == 0) {
    VmRun v = run_vm(bin);
    FILE* f = std::fopen(result_file.c_str(), "w");
    if (f) {
      std::fprintf(f, "%d\n", v.result.exit_status);
      std::fwrite(v.out.data(), 1, v.out.size(), f);
      std::fclose(f);
    }
    ::_exit(0);
  }
  LimitedRun r;
  for (int waited_ms = 0;; waited_ms += 10) {
    int st;
    if (::waitpid(pid, &st, WNOHANG) == pid) break;
    if (waited_ms > seconds * 1000) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      r.timed_out = true;
      return r;
    }
    struct timespec ts{0, 10'000'000};
    ::nanosleep(&ts, nullptr);
  }
  std::ifstream in(result_file);
  std::string first;
  std::getline(in, first);
  r.exit_status = first.empty() ? -1 : std::stoi(first);
  std::stringstream ss;
  ss << in.rdbuf();
  r.out = ss.str();
  return r;
}

void expect_threads_like_qemu(const std::string& bin, const std::string& want) {
  LimitedRun v = run_vm_limited(bin);
  ASSERT_FALSE(v.timed_out) << "the guest hung: a blocking call stalled the other threads";
  EXPECT_EQ(v.out, want);
  EXPECT_EQ(v.exit_status, 0);
  if (GuestPrograms::get().have_qemu()) {
    QemuRun q = run_qemu(bin);
    EXPECT_EQ(q.out, v.out);
    EXPECT_EQ(q.status, v.exit_status);
  }
}

TEST(LinuxEvents, ThreadBlockedInPipeReadLetsAnotherComputeAndWrite) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("e_pipe", R"SRC(
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static int fds[2];
static void* reader(void* arg) {
  char buf[32] = {0};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);  /* blocks until main has computed */
  printf("reader got %zd: %s\n", n, buf);
  return arg;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (pipe(fds)) return 1;
  pthread_t t;
  pthread_create(&t, NULL, reader, NULL);
  usleep(20000);  /* let the reader block first */
  unsigned long sum = 0;
  for (unsigned long i = 0; i < 3000000; ++i) sum += i % 7;
  printf("main computed %lu\n", sum);
  write(fds[1], "result ready", 12);
  pthread_join(t, NULL);
  printf("joined\n");
  return 0;
}
)SRC");
  ASSERT_FALSE(bin.empty());
  unsigned long sum = 0;
  for (unsigned long i = 0; i < 3000000; ++i) sum += i % 7;
  expect_threads_like_qemu(bin, "main computed " + std::to_string(sum) + "\nreader got 12: result ready\njoined\n");
}

TEST(LinuxEvents, AcceptInOneThreadWhileAnotherConnectsAndEchoes) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("e_accept", R"SRC(
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static int ls;
static struct sockaddr_in addr;
static void* server(void* arg) {
  int s = accept(ls, NULL, NULL);  /* blocks until the client thread connects */
  char buf[64] = {0};
  ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  printf("server: %zd \"%s\"\n", n, buf);
  send(s, "ack", 3, 0);
  close(s);
  return arg;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ls = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr*)&addr, sizeof addr) || listen(ls, 1)) return 1;
  socklen_t l = sizeof addr;
  getsockname(ls, (struct sockaddr*)&addr, &l);
  pthread_t t;
  pthread_create(&t, NULL, server, NULL);
  usleep(20000);  /* the server blocks in accept first */
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr*)&addr, sizeof addr)) return 2;
  usleep(20000);  /* and then in recv */
  send(c, "hello server", 12, 0);
  char buf[8] = {0};
  ssize_t n = recv(c, buf, sizeof buf - 1, 0);
  pthread_join(t, NULL);
  printf("client: %zd \"%s\"\n", n, buf);
  return 0;
}
)SRC");
  ASSERT_FALSE(bin.empty());
  expect_threads_like_qemu(bin, "server: 12 \"hello server\"\nclient: 3 \"ack\"\n");
}

TEST(LinuxEvents, EpollPpollTimeoutsAndWait4InThreads) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("e_epoll", R"SRC(
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static int ep, efd;
static volatile int spins_done;
static void* waiter(void* arg) {
  struct epoll_event e;
  int n = epoll_wait(ep, &e, 1, -1);  /* until main writes the eventfd */
  printf("epoll waiter: %d event(s), data %llx, events %x\n", n, (unsigned long long)e.data.u64, e.events);
  return arg;
}
static void* spinner(void* arg) {
  for (volatile long i = 0; i < 2000000; ++i) {}
  spins_done = 1;
  return arg;
}
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ep = epoll_create1(0);
  efd = eventfd(0, 0);
  struct epoll_event e = {EPOLLIN, {.u64 = 0xabcdef0123456789ull}};
  epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
  pthread_t t, s;
  pthread_create(&t, NULL, waiter, NULL);
  usleep(20000);
  uint64_t one = 1;
  write(efd, &one, 8);
  pthread_join(t, NULL);

  /* A timed ppoll on an empty pipe in main while a thread computes: times out, the thread ran. */
  int p[2];
  pipe(p);
  pthread_create(&s, NULL, spinner, NULL);
  struct pollfd pf = {p[0], POLLIN, 0};
  double t0 = now();
  int r = poll(&pf, 1, 50);
  double waited = now() - t0;
  pthread_join(s, NULL);
  printf("poll timeout: %d, waited enough: %d, spinner done: %d\n", r, waited >= 0.045, spins_done);
  struct epoll_event none;
  t0 = now();
  r = epoll_wait(ep, &none, 1, 30);  /* the eventfd still reads 1: ready at once */
  printf("epoll ready without waiting: %d\n", r);
  read(efd, &one, 8);
  r = epoll_wait(ep, &none, 1, 30);
  printf("epoll timeout: %d, waited enough: %d\n", r, now() - t0 >= 0.025);

  /* wait4 in a thread while main keeps running. */
  pid_t child = fork();
  if (child == 0) { usleep(30000); _exit(7); }
  pthread_create(&s, NULL, spinner, NULL);
  int status;
  pid_t w = waitpid(child, &status, 0);
  pthread_join(s, NULL);
  printf("waitpid: right child %d, status %d\n", w == child, WEXITSTATUS(status));
  return 0;
}
)SRC");
  ASSERT_FALSE(bin.empty());
  expect_threads_like_qemu(bin,
                           "epoll waiter: 1 event(s), data abcdef0123456789, events 1\n"
                           "poll timeout: 0, waited enough: 1, spinner done: 1\n"
                           "epoll ready without waiting: 1\n"
                           "epoll timeout: 0, waited enough: 1\n"
                           "waitpid: right child 1, status 7\n");
}

}  // namespace
}  // namespace vmkit::linux_user
