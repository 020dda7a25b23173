/* POSIX threads (glibc's NPTL on clone + futex): create/join with results, mutexes (default,
 * recursive, trylock), condition variables (signal and broadcast), read-write locks, barriers,
 * semaphores, pthread_once, spinlocks, thread-local storage, C11 atomics across threads,
 * detached threads, pthread_exit, thread-directed signals and cancellation. Every printed value
 * is independent of the scheduling, so the output is deterministic. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 6

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long shared_counter;

static void* count_with_mutex(void* arg) {
  long n = (long)arg;
  for (long i = 0; i < n; ++i) {
    pthread_mutex_lock(&lock);
    ++shared_counter;
    pthread_mutex_unlock(&lock);
  }
  return (void*)(n * 2);
}

static void mutexes(void) {
  printf("== mutex\n");
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i) pthread_create(&t[i], NULL, count_with_mutex, (void*)(1000 * (i + 1)));
  long results = 0;
  for (int i = 0; i < NTHREADS; ++i) {
    void* r;
    pthread_join(t[i], &r);
    results += (long)r;
  }
  printf("counter %ld, sum of results %ld\n", shared_counter, results);

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_t rec;
  pthread_mutex_init(&rec, &attr);
  printf("recursive lock twice: %d %d\n", pthread_mutex_lock(&rec), pthread_mutex_lock(&rec));
  pthread_mutex_unlock(&rec);
  pthread_mutex_unlock(&rec);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_t chk;
  pthread_mutex_init(&chk, &attr);
  pthread_mutex_lock(&chk);
  printf("errorcheck relock: %s, trylock: %s\n", pthread_mutex_lock(&chk) == EDEADLK ? "EDEADLK" : "?",
         pthread_mutex_trylock(&chk) == EBUSY ? "EBUSY" : "?");
  pthread_mutex_unlock(&chk);
}

/* Condition variables: workers wait for a start flag (broadcast), then hand results back one at a
 * time (signal). */
static pthread_cond_t start_cv = PTHREAD_COND_INITIALIZER, result_cv = PTHREAD_COND_INITIALIZER;
static int started, results_ready;
static long result_sum;

static void* cv_worker(void* arg) {
  pthread_mutex_lock(&lock);
  while (!started) pthread_cond_wait(&start_cv, &lock);
  result_sum += (long)arg * (long)arg;
  ++results_ready;
  pthread_cond_signal(&result_cv);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void condvars(void) {
  printf("== condition variables\n");
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i) pthread_create(&t[i], NULL, cv_worker, (void*)(i + 1));
  pthread_mutex_lock(&lock);
  started = 1;
  pthread_cond_broadcast(&start_cv);
  while (results_ready < NTHREADS) pthread_cond_wait(&result_cv, &lock);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < NTHREADS; ++i) pthread_join(t[i], NULL);
  printf("results %d, sum of squares %ld\n", results_ready, result_sum);

  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += 5 * 1000 * 1000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&lock);
  int r = pthread_cond_timedwait(&start_cv, &lock, &deadline);
  pthread_mutex_unlock(&lock);
  printf("timedwait with nobody signalling: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : strerror(r));
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long table[8];

static void* rw_writer(void* arg) {
  for (int round = 0; round < 200; ++round) {
    pthread_rwlock_wrlock(&rw);
    for (int i = 0; i < 8; ++i) table[i] += (long)arg;
    pthread_rwlock_unlock(&rw);
  }
  return NULL;
}

static void* rw_reader(void* arg) {
  (void)arg;
  long torn = 0;
  for (int round = 0; round < 200; ++round) {
    pthread_rwlock_rdlock(&rw);
    for (int i = 1; i < 8; ++i) torn += table[i] != table[0];
    pthread_rwlock_unlock(&rw);
  }
  return (void*)torn;
}

static void rwlocks(void) {
  printf("== rwlock\n");
  pthread_t w[2], r[2];
  for (long i = 0; i < 2; ++i) pthread_create(&w[i], NULL, rw_writer, (void*)(i + 1));
  for (int i = 0; i < 2; ++i) pthread_create(&r[i], NULL, rw_reader, NULL);
  long torn = 0;
  for (int i = 0; i < 2; ++i) {
    void* v;
    pthread_join(w[i], NULL);
    pthread_join(r[i], &v);
    torn += (long)v;
  }
  printf("table[0] %ld table[7] %ld, torn reads %ld\n", table[0], table[7], torn);
}

static pthread_barrier_t barrier;
static _Atomic int arrived[3];
static _Atomic int barrier_ok = 1;
static sem_t sem;
static _Atomic long sem_taken;

static void* barrier_worker(void* arg) {
  for (int phase = 0; phase < 3; ++phase) {
    atomic_fetch_add(&arrived[phase], 1);
    int r = pthread_barrier_wait(&barrier);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD) atomic_store(&barrier_ok, 0);
    if (atomic_load(&arrived[phase]) != NTHREADS) atomic_store(&barrier_ok, 0);
  }
  for (int i = 0; i < 10; ++i) {
    sem_wait(&sem);
    atomic_fetch_add(&sem_taken, 1);
  }
  return arg;
}

static void barriers_and_semaphores(void) {
  printf("== barrier and semaphore\n");
  pthread_barrier_init(&barrier, NULL, NTHREADS);
  sem_init(&sem, 0, 0);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; ++i) pthread_create(&t[i], NULL, barrier_worker, NULL);
  for (int i = 0; i < 10 * NTHREADS; ++i) sem_post(&sem);
  for (int i = 0; i < NTHREADS; ++i) pthread_join(t[i], NULL);
  int left = -1;
  sem_getvalue(&sem, &left);
  printf("barrier ok %d, semaphore taken %ld, left %d, trywait: %s\n", atomic_load(&barrier_ok),
         atomic_load(&sem_taken), left, sem_trywait(&sem) == -1 && errno == EAGAIN ? "EAGAIN" : "?");
  pthread_barrier_destroy(&barrier);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int once_runs;
static void init_once(void) { atomic_fetch_add(&once_runs, 1); }
static __thread int tls_slot = 100;
static __thread char tls_name[16] = "main";
static pthread_spinlock_t spin;
static long spin_counter;
static _Atomic long atomic_counter;
static _Atomic int cas_counter;

static void* misc_worker(void* arg) {
  long id = (long)arg;
  pthread_once(&once, init_once);
  tls_slot += (int)id;
  snprintf(tls_name, sizeof tls_name, "worker%ld", id);
  for (int i = 0; i < 5000; ++i) {
    pthread_spin_lock(&spin);
    ++spin_counter;
    pthread_spin_unlock(&spin);
    atomic_fetch_add(&atomic_counter, id);
    int old = atomic_load(&cas_counter);
    while (!atomic_compare_exchange_weak(&cas_counter, &old, old + 1)) {
    }
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%s:%d", tls_name, tls_slot);
  return (void*)(long)(strcmp(buf, "") ? tls_slot : -1);
}

static void once_tls_atomics(void) {
  printf("== once, tls, spinlock, atomics\n");
  pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; ++i) pthread_create(&t[i], NULL, misc_worker, (void*)(i + 1));
  long tls_sum = 0;
  for (int i = 0; i < NTHREADS; ++i) {
    void* r;
    pthread_join(t[i], &r);
    tls_sum += (long)r;
  }
  printf("once ran %d time(s); tls sum %ld, main's tls %d %s\n", atomic_load(&once_runs), tls_sum, tls_slot, tls_name);
  printf("spin %ld, fetch_add %ld, cas %d\n", spin_counter, atomic_load(&atomic_counter), atomic_load(&cas_counter));
}

static sem_t detached_done;
static void* detached_worker(void* arg) {
  sem_post(&detached_done);
  pthread_exit(arg);
}
static void* exiting_worker(void* arg) {
  if (arg) pthread_exit((void*)1234);
  return NULL;
}

static void detach_and_exit(void) {
  printf("== detach and pthread_exit\n");
  sem_init(&detached_done, 0, 0);
  for (int i = 0; i < 3; ++i) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, detached_worker, NULL);
    pthread_attr_destroy(&attr);
  }
  for (int i = 0; i < 3; ++i) sem_wait(&detached_done);
  pthread_t t;
  void* r;
  pthread_create(&t, NULL, exiting_worker, (void*)1);
  pthread_join(t, &r);
  printf("detached threads finished; pthread_exit value %ld\n", (long)r);
}

static _Atomic long handled_in;
static _Atomic long target_tid;
static _Atomic int stop_spinning;
static void on_usr2(int sig) {
  (void)sig;
  atomic_store(&handled_in, syscall(SYS_gettid));
}
static void* signal_target(void* arg) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
  atomic_store(&target_tid, syscall(SYS_gettid));
  while (!atomic_load(&stop_spinning)) sched_yield();
  return arg;
}
static void* cancel_target(void* arg) {
  sem_t* s = arg;
  for (;;) sem_wait(s); /* a cancellation point that blocks in futex */
  return NULL;
}

static void signals_and_cancel(void) {
  printf("== thread signals and cancellation\n");
  signal(SIGUSR2, on_usr2);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, NULL); /* only the target thread (which unblocks it) may take it */
  pthread_t t;
  pthread_create(&t, NULL, signal_target, NULL);
  while (!atomic_load(&target_tid)) sched_yield();
  pthread_kill(t, SIGUSR2);
  while (!atomic_load(&handled_in)) sched_yield();
  atomic_store(&stop_spinning, 1);
  pthread_join(t, NULL);
  pthread_sigmask(SIG_UNBLOCK, &block, NULL);
  printf("pthread_kill handled in the target: %d\n", atomic_load(&handled_in) == atomic_load(&target_tid));

  sem_t never;
  sem_init(&never, 0, 0);
  pthread_create(&t, NULL, cancel_target, &never);
  struct timespec ts = {0, 2 * 1000 * 1000};
  nanosleep(&ts, NULL);
  pthread_cancel(t);
  void* r;
  pthread_join(t, &r);
  printf("cancelled: %d\n", r == PTHREAD_CANCELED);
}

int main(void) {
  mutexes();
  condvars();
  rwlocks();
  barriers_and_semaphores();
  once_tls_atomics();
  detach_and_exit();
  signals_and_cancel();
  return 0;
}
