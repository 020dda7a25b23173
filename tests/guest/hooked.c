// A guest for Linux-mode hooks (tests/python/test_linux_hooks.py): makes a few syscalls whose
// results a hook changes, and runs a loop whose instructions a code hook counts.
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noinline)) long work(long n) {
  long s = 0;
  for (long i = 0; i < n; ++i) s += i * 3 + 1;
  return s;
}

int main(void) {
  char buf[64];
  long pid = syscall(SYS_getpid);
  long uid = syscall(SYS_getuid);
  sink = work(1000);
  // The real pid differs from run to run: print it only when a hook made it 4242.
  snprintf(buf, sizeof buf, "pid=%s uid=%ld work=%ld\n", pid == 4242 ? "4242" : "real", uid, (long)sink);
  write(1, buf, strlen(buf));
  write(1, "done\n", 5);
  return 0;
}
