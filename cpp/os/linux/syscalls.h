// The Linux syscall layer: numbers, names and the dispatcher (syscalls.cpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "os/linux/arch.h"

namespace vmkit::linux_user {

// The asm-generic syscall table (riscv64's, which aarch64 shares but for a few): the name of a
// number (nullptr if none), and the number of a name (-1 if none).
const char* generic_syscall_name(uint64_t nr);
int64_t generic_syscall_number(std::string_view name);

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
  eventfd2 = 19, epoll_create1 = 20, epoll_pwait = 22, inotify_init1 = 26, signalfd4 = 74,
  setxattr = 5, lsetxattr = 6, fsetxattr = 7, getxattr = 8, lgetxattr = 9, fgetxattr = 10, listxattr = 11,
  llistxattr = 12, flistxattr = 13, removexattr = 14, lremovexattr = 15, fremovexattr = 16, fadvise64 = 223, mincore = 232,
};
// Calls that x86-64 has and asm-generic does not (LinuxArch::canonical_syscall maps the guest's
// number to these when no argument rewrite onto an asm-generic call does it).
enum : uint64_t {
  legacy_base = 1000,
  legacy_dup2 = legacy_base,  // dup2(fd, fd) checks fd; dup3 would fail
  legacy_poll,                // timeout in ms
  legacy_select,              // struct timeval, updated
  legacy_time,
  legacy_alarm,
  legacy_pause,
  legacy_getdents,            // struct linux_dirent
  legacy_utime,               // struct utimbuf
  legacy_utimes,              // struct timeval[2]
  legacy_futimesat,
  legacy_epoll_create,        // size must be positive
  legacy_arch_prctl,
  legacy_no_permission,       // iopl, ioperm: -EPERM for an unprivileged process
  legacy_end,
};
}  // namespace nr

}  // namespace vmkit::linux_user
