// Guest threads in Linux user mode: glibc pthreads programs (create/join, mutexes, condition
// variables, barriers, TLS, atomics, detach, pthread_exit, sleeping threads, thread-directed
// signals, raw futex operations) run under vmkit with the stdout and exit status qemu-riscv64
// gives on the same binary; a guest deadlock ends with vmkit's report instead of a hang.
#include "linux_test_util.h"

namespace vmkit::linux_user {
namespace {

// Runs `bin` under vmkit, checks it against the expected output and status, and against qemu
// when it is installed.
void expect_like_qemu(const std::string& bin, const std::string& want_out, int want_status) {
  VmRun v = run_vm(bin);
  EXPECT_EQ(v.out, want_out);
  EXPECT_EQ(v.result.exit_status, want_status);
  EXPECT_EQ(v.result.signal, 0);
  EXPECT_EQ(v.result.diagnostics, "");
  if (GuestPrograms::get().have_qemu()) {
    QemuRun q = run_qemu(bin);
    EXPECT_EQ(q.out, v.out);
    EXPECT_EQ(q.status, v.result.exit_status);
  }
}

TEST(LinuxThreads, CreateAndJoinSixteenThreadsWithReturnValues) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_join", R"(
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static long tids[16];
static void* work(void* arg) {
  long i = (long)arg, sum = 0;
  for (long k = 0; k <= i * 1000; ++k) sum += k;
  tids[i] = syscall(SYS_gettid);
  return (void*)(sum ^ i);
}
int main(void) {
  pthread_t th[16];
  for (long i = 0; i < 16; ++i)
    if (pthread_create(&th[i], NULL, work, (void*)i) != 0) return 1;
  int distinct = 1;
  for (long i = 0; i < 16; ++i) {
    void* r;
    pthread_join(th[i], &r);
    printf("%ld: %ld\n", i, (long)r);
  }
  for (int i = 0; i < 16; ++i) {
    if (tids[i] == getpid()) distinct = 0;
    for (int j = 0; j < i; ++j) if (tids[i] == tids[j]) distinct = 0;
  }
  printf("tids distinct from each other and the pid: %d\n", distinct);
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  std::string want;
  for (long i = 0; i < 16; ++i) {
    long sum = 0;
    for (long k = 0; k <= i * 1000; ++k) sum += k;
    want += std::to_string(i) + ": " + std::to_string(sum ^ i) + "\n";
  }
  want += "tids distinct from each other and the pid: 1\n";
  expect_like_qemu(bin, want, 0);
}

TEST(LinuxThreads, MutexCounterCondvarQueueBarrierAndTls) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_sync", R"(
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void* add(void* a) {
  for (int i = 0; i < 10000; ++i) { pthread_mutex_lock(&m); long c = counter; for (volatile int d = 0; d < 3; ++d) {} counter = c + 1; pthread_mutex_unlock(&m); }
  return a;
}
/* A bounded queue: 2 producers, 2 consumers, 1000 items. */
#define CAP 4
static int q[CAP], qn, qh;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long consumed_sum; static int consumed;
static void* produce(void* a) {
  long base = (long)a;
  for (int i = 0; i < 500; ++i) {
    pthread_mutex_lock(&m);
    while (qn == CAP) pthread_cond_wait(&not_full, &m);
    q[(qh + qn++) % CAP] = (int)(base + i);
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&m);
  }
  return 0;
}
static void* consume(void* a) {
  for (;;) {
    pthread_mutex_lock(&m);
    while (qn == 0 && consumed < 1000) pthread_cond_wait(&not_empty, &m);
    if (consumed == 1000) { pthread_cond_broadcast(&not_empty); pthread_mutex_unlock(&m); return a; }
    consumed_sum += q[qh]; qh = (qh + 1) % CAP; --qn; ++consumed;
    if (consumed == 1000) pthread_cond_broadcast(&not_empty);
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&m);
  }
}
static pthread_barrier_t bar;
static _Atomic int phase_count[3];
static int phase_ok = 1;
static void* phases(void* a) {
  for (int p = 0; p < 3; ++p) {
    atomic_fetch_add(&phase_count[p], 1);
    pthread_barrier_wait(&bar);
    if (atomic_load(&phase_count[p]) != 5) phase_ok = 0;  /* everyone arrived before anyone left */
    pthread_barrier_wait(&bar);
  }
  return a;
}
static __thread long tls_value = 7;
static long tls_seen[4];
static void* tls(void* a) {
  long i = (long)a;
  tls_value += i * 100;
  for (volatile int k = 0; k < 100000; ++k) {}
  tls_seen[i] = tls_value;
  return a;
}
static _Atomic long atom;
static void* atomics(void* a) { for (int i = 0; i < 20000; ++i) atomic_fetch_add(&atom, 3); return a; }
int main(void) {
  pthread_t t[8];
  for (int i = 0; i < 8; ++i) pthread_create(&t[i], 0, add, 0);
  for (int i = 0; i < 8; ++i) pthread_join(t[i], 0);
  printf("counter %ld\n", counter);
  pthread_create(&t[0], 0, produce, (void*)0L); pthread_create(&t[1], 0, produce, (void*)1000L);
  pthread_create(&t[2], 0, consume, 0); pthread_create(&t[3], 0, consume, 0);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], 0);
  printf("consumed %d sum %ld\n", consumed, consumed_sum);
  pthread_barrier_init(&bar, 0, 5);
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], 0, phases, 0);
  phases(0);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], 0);
  printf("barrier phases ok %d\n", phase_ok);
  for (long i = 0; i < 4; ++i) pthread_create(&t[i], 0, tls, (void*)i);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], 0);
  printf("tls %ld %ld %ld %ld main %ld\n", tls_seen[0], tls_seen[1], tls_seen[2], tls_seen[3], tls_value);
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], 0, atomics, 0);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], 0);
  printf("atomic %ld\n", atomic_load(&atom));
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  long sum = 0;
  for (int i = 0; i < 500; ++i) sum += i + 1000 + i;
  expect_like_qemu(bin,
                   "counter 80000\nconsumed 1000 sum " + std::to_string(sum) +
                       "\nbarrier phases ok 1\ntls 7 107 207 307 main 7\natomic 240000\n",
                   0);
}

TEST(LinuxThreads, DetachPthreadExitAndSleepingThreadLetsOthersRun) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_detach_sleep", R"(
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>
static sem_t done;
static void* detached(void* a) {
  sem_post(&done);
  pthread_exit((void*)5);
  return 0;
}
static void* exits_early(void* a) { pthread_exit((void*)42); }
static _Atomic long ticks;
static _Atomic int sleeper_done;
static long during_sleep;
static void* sleeper(void* a) {
  long before = atomic_load(&ticks);
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, 0);
  during_sleep = atomic_load(&ticks) - before;
  atomic_store(&sleeper_done, 1);
  return 0;
}
static void* ticker(void* a) {
  while (!atomic_load(&sleeper_done)) atomic_fetch_add(&ticks, 1);
  return 0;
}
int main(void) {
  sem_init(&done, 0, 0);
  pthread_t t;
  pthread_create(&t, 0, detached, 0);
  pthread_detach(t);
  sem_wait(&done);
  void* r;
  pthread_create(&t, 0, exits_early, 0);
  pthread_join(t, &r);
  printf("pthread_exit value %ld\n", (long)r);
  pthread_t s, k;
  pthread_create(&s, 0, sleeper, 0);
  pthread_create(&k, 0, ticker, 0);
  pthread_join(s, 0);
  pthread_join(k, 0);
  printf("others ran during the sleep: %s\n", during_sleep > 0 ? "yes" : "no");
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  expect_like_qemu(bin, "pthread_exit value 42\nothers ran during the sleep: yes\n", 0);
}

TEST(LinuxThreads, MainThreadPthreadExitThenAnotherThreadExitsWithStatus) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_main_exit", R"(
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static pthread_t main_thread;
static void* last(void* a) {
  /* The main thread is gone once joining it fails or returns; wait for that. */
  pthread_join(main_thread, 0);
  printf("main thread has exited, last thread ends the process\n");
  fflush(stdout);
  exit(5);
}
int main(void) {
  main_thread = pthread_self();
  pthread_t t;
  pthread_create(&t, 0, last, 0);
  printf("main calls pthread_exit\n");
  fflush(stdout);
  pthread_exit(0);
}
)");
  ASSERT_FALSE(bin.empty());
  expect_like_qemu(bin, "main calls pthread_exit\nmain thread has exited, last thread ends the process\n", 5);
}

TEST(LinuxThreads, TgkillReachesTheTargetThreadInSigsuspend) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_tgkill", R"(
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/syscall.h>
static volatile long handler_tid;
static _Atomic long worker_tid;
static volatile sig_atomic_t got;
static void on_usr1(int s) { handler_tid = syscall(SYS_gettid); got = 1; }
static void* worker(void* a) {
  sigset_t block, empty;
  sigemptyset(&block); sigaddset(&block, SIGUSR1); sigemptyset(&empty);
  pthread_sigmask(SIG_BLOCK, &block, 0);
  atomic_store(&worker_tid, syscall(SYS_gettid));
  while (!got) sigsuspend(&empty);
  return 0;
}
int main(void) {
  signal(SIGUSR1, on_usr1);
  pthread_t t;
  pthread_create(&t, 0, worker, 0);
  while (!atomic_load(&worker_tid)) sched_yield();
  pthread_kill(t, SIGUSR1);
  pthread_join(t, 0);
  printf("handler ran in the target thread: %d, not in main: %d\n",
         handler_tid == atomic_load(&worker_tid), handler_tid != syscall(SYS_gettid));
  /* A process-directed signal with the main thread blocking it goes to another thread. */
  sigset_t block;
  sigemptyset(&block); sigaddset(&block, SIGUSR1);
  got = 0; handler_tid = 0; atomic_store(&worker_tid, 0);
  pthread_sigmask(SIG_BLOCK, &block, 0);
  pthread_create(&t, 0, worker, 0);
  while (!atomic_load(&worker_tid)) sched_yield();
  kill(getpid(), SIGUSR1);
  pthread_join(t, 0);
  printf("kill went to the thread that does not block it: %d\n", handler_tid == atomic_load(&worker_tid));
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  expect_like_qemu(bin,
                   "handler ran in the target thread: 1, not in main: 1\n"
                   "kill went to the thread that does not block it: 1\n",
                   0);
}

TEST(LinuxThreads, RawFutexOperationsMatchQemu) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_futex", R"(
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static long fx(uint32_t* a, int op, uint32_t v, const void* ts_or_n2, uint32_t* a2, uint32_t v3) {
  long r = syscall(SYS_futex, a, op, v, ts_or_n2, a2, v3);
  return r < 0 ? -errno : r;
}
static _Atomic uint32_t w1, w2;
static _Atomic int waiting;
static void* waiter(void* a) {
  atomic_fetch_add(&waiting, 1);
  long r = fx((uint32_t*)a, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
  (void)r;
  return 0;
}
static void wait_for_waiters(int n) {
  while (atomic_load(&waiting) < n) sched_yield();
  for (int i = 0; i < 50; ++i) sched_yield();  /* let them reach the futex */
}
int main(void) {
  struct timespec rel = {0, 20 * 1000 * 1000};
  printf("wait wrong value: %ld\n", fx((uint32_t*)&w1, FUTEX_WAIT_PRIVATE, 1, 0, 0, 0));
  printf("wait timeout: %ld\n", fx((uint32_t*)&w1, FUTEX_WAIT_PRIVATE, 0, &rel, 0, 0));
  struct timespec abs;
  clock_gettime(CLOCK_REALTIME, &abs);
  abs.tv_nsec += 10 * 1000 * 1000;
  if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
  printf("wait_bitset realtime timeout: %ld\n",
         fx((uint32_t*)&w1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs, 0, FUTEX_BITSET_MATCH_ANY));
  printf("wake nobody: %ld\n", fx((uint32_t*)&w1, FUTEX_WAKE_PRIVATE, 5, 0, 0, 0));
  printf("bad bitset: %ld\n", fx((uint32_t*)&w1, FUTEX_WAKE_BITSET_PRIVATE, 1, 0, 0, 0));
  printf("unaligned: %ld\n", fx((uint32_t*)((char*)&w1 + 1), FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));

  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], 0, waiter, (void*)&w1);
  wait_for_waiters(4);
  printf("cmp_requeue wrong value: %ld\n", fx((uint32_t*)&w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void*)2L, (uint32_t*)&w2, 9));
  /* wake 1, move 2 to w2, leave 1 on w1 */
  printf("cmp_requeue: %ld\n", fx((uint32_t*)&w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void*)2L, (uint32_t*)&w2, 0));
  printf("wake w2: %ld\n", fx((uint32_t*)&w2, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0));
  /* WAKE_OP: w2 += 1 (old 0), wake up to 1 on w1, and on w2 if old == 0 (nobody there). */
  printf("wake_op: %ld w2=%u\n",
         fx((uint32_t*)&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, (uint32_t*)&w2, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)),
         atomic_load(&w2));
  printf("wake_op shift/or: %ld w2=%u\n",
         fx((uint32_t*)&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, (uint32_t*)&w2,
            FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GT, 5)),
         atomic_load(&w2));
  for (int i = 0; i < 4; ++i) pthread_join(t[i], 0);
  printf("all joined\n");
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  expect_like_qemu(bin,
                   "wait wrong value: -11\nwait timeout: -110\nwait_bitset realtime timeout: -110\n"
                   "wake nobody: 0\nbad bitset: -22\nunaligned: -22\n"
                   "cmp_requeue wrong value: -11\ncmp_requeue: 3\nwake w2: 2\n"
                   "wake_op: 1 w2=1\nwake_op shift/or: 0 w2=17\nall joined\n",
                   0);
}

TEST(LinuxThreads, GuestDeadlockIsReportedAndEndsTheProcess) {
  REQUIRE_CROSS_GCC();
  // Two threads each hold one mutex and wait for the other's: Linux (and qemu) would hang.
  std::string bin = build("t_deadlock", R"(
#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static void* other(void* x) {
  pthread_mutex_lock(&b);
  pthread_barrier_wait(&bar);
  pthread_mutex_lock(&a);
  return x;
}
int main(void) {
  pthread_barrier_init(&bar, 0, 2);
  pthread_t t;
  pthread_create(&t, 0, other, 0);
  pthread_mutex_lock(&a);
  pthread_barrier_wait(&bar);
  printf("both hold one lock\n");
  fflush(stdout);
  pthread_mutex_lock(&b);
  return 0;
}
)");
  ASSERT_FALSE(bin.empty());
  VmRun v = run_vm(bin);
  EXPECT_EQ(v.out, "both hold one lock\n");
  EXPECT_EQ(v.result.signal, 9);
  EXPECT_EQ(v.result.exit_status, 137);
  EXPECT_NE(v.result.diagnostics.find("vmkit: all 2 guest threads are blocked (deadlock) at pc=0x"), std::string::npos)
      << v.result.diagnostics;

  // A default mutex locked twice by its only thread.
  std::string self = build("t_selflock", R"(
#include <pthread.h>
int main(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&m);
  pthread_mutex_lock(&m);
  return 0;
}
)");
  ASSERT_FALSE(self.empty());
  VmRun s = run_vm(self);
  EXPECT_EQ(s.result.signal, 9);
  EXPECT_NE(s.result.diagnostics.find("vmkit: the guest's only thread is blocked forever (deadlock) at pc=0x"), std::string::npos)
      << s.result.diagnostics;
}

TEST(LinuxThreads, ForkFromAThreadedProcessKeepsOnlyTheCallingThread) {
  REQUIRE_CROSS_GCC();
  std::string bin = build("t_fork", R"(
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/syscall.h>
static _Atomic int stop;
static void* spinner(void* a) { while (!atomic_load(&stop)) sched_yield(); return a; }
static void* forker(void* a) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* The only thread of the child; its tid is the child's pid. */
    printf("child: tid is pid %d\n", (int)syscall(SYS_gettid) == (int)getpid());
    fflush(stdout);
    _exit(7);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("parent: child exited %d\n", WEXITSTATUS(st));
  return a;
}
int main(void) {
  pthread_t s, f;
  pthread_create(&s, 0, spinner, 0);
  pthread_create(&f, 0, forker, 0);
  pthread_join(f, 0);
  atomic_store(&stop, 1);
  pthread_join(s, 0);
  return 3;
}
)");
  ASSERT_FALSE(bin.empty());
  expect_like_qemu(bin, "child: tid is pid 1\nparent: child exited 7\n", 3);
}

}  // namespace
}  // namespace vmkit::linux_user
