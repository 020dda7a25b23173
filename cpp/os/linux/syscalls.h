// The Linux syscall layer: numbers, names and the dispatcher (syscalls.cpp).
#pragma once

#include <cstdint>

#include "os/linux/arch.h"

namespace vmkit::linux_user {

// The syscall's name on `arch` for diagnostics ("unknown" if the number is unknown).
const char* syscall_name(uint64_t nr, const LinuxArch& arch);

// The syscall numbers vmkit implements (asm-generic numbering: riscv64 and aarch64 share it; the
// riscv_* ones exist on riscv64 only).
namespace nr {
enum : uint64_t {
  getcwd = 17, dup = 23, dup3 = 24, fcntl = 25, ioctl = 29, mkdirat = 34, unlinkat = 35,
  symlinkat = 36, linkat = 37, renameat = 38, statfs = 43, fstatfs = 44, truncate = 45,
  ftruncate = 46, faccessat = 48, chdir = 49, fchdir = 50, fchmod = 52, fchmodat = 53,
  fchownat = 54, fchown = 55, openat = 56, close = 57, pipe2 = 59, getdents64 = 61, lseek = 62,
  read = 63, write = 64, readv = 65, writev = 66, pread64 = 67, pwrite64 = 68, sendfile = 71,
  pselect6 = 72, ppoll = 73, readlinkat = 78, newfstatat = 79, fstat = 80, sync = 81, fsync = 82,
  fdatasync = 83, utimensat = 88, exit = 93, exit_group = 94, set_tid_address = 96, futex = 98,
  set_robust_list = 99, nanosleep = 101, getitimer = 102, setitimer = 103, clock_gettime = 113, clock_getres = 114,
  clock_nanosleep = 115, sched_getaffinity = 123, sched_yield = 124, kill = 129, tkill = 130,
  tgkill = 131, sigaltstack = 132, rt_sigaction = 134, rt_sigprocmask = 135, rt_sigsuspend = 133, rt_sigpending = 136,
  rt_sigreturn = 139, setpgid = 154, getpgid = 155, getsid = 156, setsid = 157, times = 153,
  uname = 160, getrlimit = 163, getrusage = 165, umask = 166, prctl = 167, gettimeofday = 169,
  getpid = 172, getppid = 173, getuid = 174, geteuid = 175, getgid = 176, getegid = 177,
  gettid = 178, sysinfo = 179, brk = 214, munmap = 215, mremap = 216, clone = 220, execve = 221,
  mmap = 222, mprotect = 226, madvise = 233, riscv_hwprobe = 258, riscv_flush_icache = 259,
  wait4 = 260, prlimit64 = 261, renameat2 = 276, getrandom = 278, membarrier = 283, rseq = 293,
  statx = 291, clone3 = 435, faccessat2 = 439,
};
}  // namespace nr

}  // namespace vmkit::linux_user
