// The Linux syscall layer. It speaks asm-generic's numbers, which riscv64 and aarch64 use; an
// x86-64 guest's calls are mapped onto them first (LinuxArch::canonical_syscall), and the few
// x86-64 has alone are nr::legacy_*. The differences between the arches - registers, struct
// sigaction, open flags, MINSIGSTKSZ, x86-64's host-shaped struct stat - come from the LinuxArch. Guest pointers are checked against the guest's mappings (a bad one gives
// -EFAULT, never a host fault); guest fds are translated through the FdTable; structures whose
// asm-generic layout differs from the x86-64 host's (struct stat) are translated field by field,
// the others (timespec, iovec, statx, dirent64, termios, rusage, ...) have the same layout on
// both and are passed through.
#include "os/linux/syscalls.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <unordered_map>

#include "core/errors.h"
#include "os/linux/guest_process.h"
#include "os/linux/net_events.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {

namespace {
const std::unordered_map<uint64_t, const char*>& generic_names() {
  static const std::unordered_map<uint64_t, const char*> names = {
#define SYSCALL_NAME(n, name) {n, #name},
#include "os/linux/syscall_names_riscv64.def"
#undef SYSCALL_NAME
  };
  return names;
}
}  // namespace

const char* generic_syscall_name(uint64_t number) {
  auto it = generic_names().find(number);
  return it == generic_names().end() ? nullptr : it->second;
}

int64_t generic_syscall_number(std::string_view name) {
  static const std::unordered_map<std::string_view, uint64_t> numbers = [] {
    std::unordered_map<std::string_view, uint64_t> m;
    for (const auto& [n, s] : generic_names()) m.emplace(s, n);
    return m;
  }();
  auto it = numbers.find(name);
  return it == numbers.end() ? -1 : int64_t(it->second);
}

namespace {

using Args = const uint64_t (&)[6];
// A handler's result is the value for the result register (a0, x0), or kNoResult
// (guest_process.h) when the handler set the registers itself (rt_sigreturn, a successful
// execve) or blocked the thread.

int64_t host_result(long r) { return r < 0 ? -int64_t(errno) : int64_t(r); }

// Runs a blocking host call again when a host signal interrupted it that the guest does not
// need to see now (SIGCHLD with no guest handler, say), as the kernel would not have woken it.
template <class F>
long retry_eintr(Process& p, F&& call) {
  for (;;) {
    long r = call();
    if (r >= 0 || errno != EINTR || guest_signal_deliverable(p)) return r;
  }
}

// ---- guest memory and fd helpers ---------------------------------------------------------------

// Host fd for a guest fd, or -EBADF.
int hfd(Process& p, uint64_t guest_fd) {
  int g = int(guest_fd);
  int h = p.fds.host(g);
  return h >= 0 ? h : -EBADF;
}

// Host dirfd for a guest *at() dirfd argument (AT_FDCWD passes through).
int hdirfd(Process& p, uint64_t guest_fd) {
  int g = int(guest_fd);
  if (g == AT_FDCWD) return AT_FDCWD;
  return hfd(p, guest_fd);
}

// Where a guest path names a host file: absolute paths are looked up in the sysroot first (as
// qemu's -L does) so a dynamic guest finds its own libraries; /proc/self/exe is the guest program.
std::string host_path(Process& p, const std::string& path, bool lookup_sysroot) {
  if (path == "/proc/self/exe") return p.exe_path;
  if (lookup_sysroot && !p.sysroot.empty() && !path.empty() && path[0] == '/') {
    std::string s = p.sysroot + path;
    struct stat st;
    if (::lstat(s.c_str(), &st) == 0) return s;
  }
  return path;
}

std::string guest_str(Process& p, uint64_t addr) { return p.mem->read_cstr(addr, PATH_MAX); }

// ---- struct translation -------------------------------------------------------------------------

// Writes the guest's struct stat: x86-64's is the host's own; asm-generic's (riscv64, aarch64) is
// 128 bytes with 32-bit st_nlink and st_blksize. -EFAULT, with nothing written, unless the whole
// struct of the guest's size is writable.
int64_t put_stat(Process& p, uint64_t addr, const struct stat& s) {
  if (p.arch->host_struct_layouts) {
    if (!p.mem->accessible(addr, sizeof s, kWrite)) return -EFAULT;
    p.mem->write(addr, &s, sizeof s);
    return 0;
  }
  uint8_t b[128] = {};
  if (!p.mem->accessible(addr, sizeof b, kWrite)) return -EFAULT;
  auto u32 = [&](size_t off, uint32_t v) { std::memcpy(b + off, &v, 4); };
  auto u64 = [&](size_t off, uint64_t v) { std::memcpy(b + off, &v, 8); };
  u64(0, s.st_dev);
  u64(8, s.st_ino);
  u32(16, s.st_mode);
  u32(20, uint32_t(s.st_nlink));
  u32(24, s.st_uid);
  u32(28, s.st_gid);
  u64(32, s.st_rdev);
  u64(48, uint64_t(s.st_size));
  u32(56, uint32_t(s.st_blksize));
  u64(64, uint64_t(s.st_blocks));
  u64(72, uint64_t(s.st_atim.tv_sec));
  u64(80, uint64_t(s.st_atim.tv_nsec));
  u64(88, uint64_t(s.st_mtim.tv_sec));
  u64(96, uint64_t(s.st_mtim.tv_nsec));
  u64(104, uint64_t(s.st_ctim.tv_sec));
  u64(112, uint64_t(s.st_ctim.tv_nsec));
  p.mem->write(addr, b, sizeof b);
  return 0;
}

// Builds host iovecs for a guest iovec array (same layout: base, len); nullopt-like false on EFAULT.
bool guest_iov(Process& p, uint64_t addr, uint64_t count, int perm, std::vector<struct iovec>& out) {
  if (count > IOV_MAX) return false;
  out.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t v[2];
    p.mem->read(addr + 16 * i, v, sizeof v);
    void* h = guest_buf(p, v[0], v[1], perm);
    if (!h) return false;
    out[i].iov_base = h;
    out[i].iov_len = v[1];
  }
  return true;
}

// A write that hit a closed pipe raises SIGPIPE in the writer, as the kernel does.
int64_t write_result(Process& p, long r) {
  if (r < 0 && errno == EPIPE)
    queue_thread_signal(p, *p.cur, PendingSignal{gsig::kSIGPIPE, gsig::kSI_USER, 0, int(::getpid()), int(::getuid())});
  return host_result(r);
}

// ---- memory management --------------------------------------------------------------------------

bool range_free(const GuestMemory& mem, uint64_t addr, uint64_t len) {
  const auto& rs = mem.regions();
  auto it = rs.upper_bound(addr);
  if (it != rs.begin() && std::prev(it)->second.end > addr) return false;
  return it == rs.end() || it->first >= addr + len;
}

int region_perm(const GuestMemory& mem, uint64_t addr) {
  const auto& rs = mem.regions();
  auto it = rs.upper_bound(addr);
  if (it == rs.begin()) return -1;
  --it;
  return it->second.end > addr ? it->second.perm : -1;
}

constexpr uint64_t kMAP_SHARED = 0x01, kMAP_PRIVATE = 0x02, kMAP_SHARED_VALIDATE = 0x03, kMAP_TYPE = 0x0f,
                   kMAP_FIXED = 0x10, kMAP_ANONYMOUS = 0x20, kMAP_FIXED_NOREPLACE = 0x100000;

int64_t sys_mmap(Process& p, Args a) {
  uint64_t addr = a[0], len = a[1], flags = a[3], off = a[5];
  int prot = int(a[2]);
  if (len == 0 || off % GuestMemory::kPageSize || (prot & ~7)) return -EINVAL;
  uint64_t type = flags & kMAP_TYPE;
  if (type != kMAP_SHARED && type != kMAP_PRIVATE && type != kMAP_SHARED_VALIDATE) return -EINVAL;
  if (len > p.mem->size()) return -ENOMEM;
  len = page_up(len);
  bool fixed = flags & (kMAP_FIXED | kMAP_FIXED_NOREPLACE);
  if (fixed) {
    if (addr % GuestMemory::kPageSize) return -EINVAL;
    if (!p.mem->in_range(addr, len)) return -ENOMEM;
    if ((flags & kMAP_FIXED_NOREPLACE) && !(flags & kMAP_FIXED) && !range_free(*p.mem, addr, len)) return -EEXIST;
  } else {
    addr = page_down(addr);
    if (!(addr && p.mem->in_range(addr, len) && range_free(*p.mem, addr, len))) {
      addr = p.mem->find_free(len, p.mmap_base);
      if (!addr) return -ENOMEM;
    }
  }
  int perm = prot & (kRead | kWrite | kExec);
  if (type != kMAP_PRIVATE) p.shared_mappings = true;
  if ((flags & kMAP_ANONYMOUS) && type != kMAP_PRIVATE) {
    // Shared anonymous memory must stay shared with forked children: back it by a memfd.
    int mfd = ::memfd_create("vmkit-shared-anon", MFD_CLOEXEC);
    if (mfd < 0) return -errno;
    if (::ftruncate(mfd, off_t(len)) != 0) {
      int e = errno;
      ::close(mfd);
      return -e;
    }
    try {
      p.mem->map_file(addr, len, perm, mfd, 0, true, "/dev/zero (deleted)");
    } catch (const std::system_error& e) {
      ::close(mfd);
      return -e.code().value();
    }
    ::close(mfd);
  } else if (flags & kMAP_ANONYMOUS) {
    p.mem->map(addr, len, perm, "");
  } else {
    int h = hfd(p, a[4]);
    if (h < 0) return h;
    try {
      p.mem->map_file(addr, len, perm, h, off_t(off), type != kMAP_PRIVATE, "");
    } catch (const std::system_error& e) {
      return -e.code().value();
    }
  }
  if (fixed) p.cpu->invalidate(addr, len);
  return int64_t(addr);
}

int64_t sys_munmap(Process& p, Args a) {
  uint64_t addr = a[0], len = page_up(a[1]);
  if (addr % GuestMemory::kPageSize || len == 0 || !p.mem->in_range(addr, len)) return -EINVAL;
  p.mem->unmap(addr, len);
  p.cpu->invalidate(addr, len);
  return 0;
}

int64_t sys_mprotect(Process& p, Args a) {
  uint64_t addr = a[0], len = page_up(a[1]);
  int prot = int(a[2]);
  if (addr % GuestMemory::kPageSize || (prot & ~(7 | 0x01000000 | 0x02000000))) return -EINVAL;  // GROWSDOWN/UP ignored
  if (len == 0) return 0;
  if (!p.mem->in_range(addr, len) || !p.mem->accessible(addr, len, 0)) return -ENOMEM;
  p.mem->protect(addr, len, prot & 7);
  p.cpu->invalidate(addr, len);
  return 0;
}

int64_t sys_mremap(Process& p, Args a) {
  constexpr uint64_t kMAYMOVE = 1, kFIXED = 2;
  uint64_t old_addr = a[0], old_len = page_up(a[1]), new_len = page_up(a[2]), flags = a[3], new_addr = a[4];
  if (old_addr % GuestMemory::kPageSize || new_len == 0 || (flags & ~(kMAYMOVE | kFIXED))) return -EINVAL;
  if ((flags & kFIXED) && !(flags & kMAYMOVE)) return -EINVAL;
  if (old_len == 0 || !p.mem->in_range(old_addr, old_len) || !p.mem->accessible(old_addr, old_len, 0)) return -EFAULT;
  int perm = region_perm(*p.mem, old_addr);
  if (!(flags & kFIXED)) {
    if (new_len <= old_len) {
      if (new_len < old_len) {
        p.mem->unmap(old_addr + new_len, old_len - new_len);
        p.cpu->invalidate(old_addr + new_len, old_len - new_len);
      }
      return int64_t(old_addr);
    }
    uint64_t tail = old_addr + old_len;
    if (p.mem->in_range(tail, new_len - old_len) && range_free(*p.mem, tail, new_len - old_len)) {
      p.mem->map(tail, new_len - old_len, perm, "");
      return int64_t(old_addr);
    }
    if (!(flags & kMAYMOVE)) return -ENOMEM;
    new_addr = p.mem->find_free(new_len, p.mmap_base);
    if (!new_addr) return -ENOMEM;
  } else {
    if (new_addr % GuestMemory::kPageSize || !p.mem->in_range(new_addr, new_len)) return -EINVAL;
    if (new_addr < old_addr + old_len && old_addr < new_addr + new_len) return -EINVAL;
  }
  // Move: a fresh mapping receives the old contents (file-backed sharing is not preserved).
  p.mem->map(new_addr, new_len, kRead | kWrite, "");
  if (!(perm & kRead)) p.mem->protect(old_addr, old_len, perm | kRead);
  std::memcpy(p.mem->host(new_addr), p.mem->host(old_addr), std::min(old_len, new_len));
  p.mem->protect(new_addr, new_len, perm);
  p.mem->unmap(old_addr, old_len);
  p.cpu->invalidate(old_addr, old_len);
  p.cpu->invalidate(new_addr, new_len);
  return int64_t(new_addr);
}

int64_t sys_brk(Process& p, Args a) {
  uint64_t want = a[0];
  if (want < p.brk_start) return int64_t(p.brk_cur);
  uint64_t cur_end = page_up(p.brk_cur), new_end = page_up(want);
  if (new_end > cur_end) {
    if (!p.mem->in_range(cur_end, new_end - cur_end) || new_end > p.mmap_base ||
        !range_free(*p.mem, cur_end, new_end - cur_end))
      return int64_t(p.brk_cur);
    p.mem->map(cur_end, new_end - cur_end, kRead | kWrite, "[heap]");
  } else if (new_end < cur_end) {
    p.mem->unmap(new_end, cur_end - new_end);
  }
  p.brk_cur = want;
  return int64_t(want);
}

// ---- processes -------------------------------------------------------------------------------

constexpr uint64_t kCLONE_VM = 0x100, kCLONE_SIGHAND = 0x800, kCLONE_VFORK = 0x4000,
                   kCLONE_THREAD = 0x10000, kCLONE_SETTLS = 0x80000, kCLONE_PARENT_SETTID = 0x100000,
                   kCLONE_CHILD_CLEARTID = 0x200000, kCLONE_CHILD_SETTID = 0x01000000;

// Threads (CLONE_THREAD) become guest threads of this process (threads.cpp). fork / vfork: the
// whole emulator forks on the host, so the child is a real process the parent can wait for.
// vfork's "parent waits until the child execs or exits" is kept with a pipe the child holds
// until then.
int64_t do_clone(Process& p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls) {
  // The kernel's copy_process checks: a thread shares the signal handlers, which needs the
  // address space.
  if ((flags & kCLONE_THREAD) && !(flags & kCLONE_SIGHAND)) return -EINVAL;
  if ((flags & kCLONE_SIGHAND) && !(flags & kCLONE_VM)) return -EINVAL;
  if (flags & kCLONE_THREAD) return clone_thread(p, flags, stack, ptid, ctid, tls);
  if ((flags & kCLONE_VM) && !(flags & kCLONE_VFORK)) {
    // A separate process sharing this one's memory cannot be a host fork.
    p.diag("vmkit: clone with CLONE_VM but without CLONE_THREAD or CLONE_VFORK is not supported at pc=" +
           hex(p.regs().pc() - p.arch->syscall_insn_len));
    return -ENOSYS;
  }
  int vfork_pipe[2] = {-1, -1};
  if ((flags & kCLONE_VFORK) && ::pipe2(vfork_pipe, O_CLOEXEC) != 0) return -errno;
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    if (vfork_pipe[0] >= 0) ::close(vfork_pipe[0]), ::close(vfork_pipe[1]);
    return -e;
  }
  if (pid == 0) {
    p.is_fork_child = true;
    // Only the forking thread lives on in the child, as its main thread, with nothing pending.
    keep_only_current_thread(p);
    p.sig.pending.clear();
    p.ts().pending.clear();
    if (vfork_pipe[0] >= 0) {
      ::close(vfork_pipe[0]);
      p.vfork_release_fd = vfork_pipe[1];
    }
    if (stack) p.regs().set_sp(stack);
    if (flags & kCLONE_SETTLS) p.regs().set_tls(tls);
    int32_t tid = int32_t(::getpid());
    if ((flags & kCLONE_CHILD_SETTID) && p.mem->accessible(ctid, 4, kWrite)) p.mem->write_val(ctid, tid);
    if (flags & kCLONE_CHILD_CLEARTID) p.cur->clear_child_tid = ctid;
    // A vfork child's writes must not be seen by the parent here (it has its own copy), which is
    // what programs that follow vfork's rules expect.
    return 0;
  }
  if ((flags & kCLONE_PARENT_SETTID) && p.mem->accessible(ptid, 4, kWrite)) p.mem->write_val(ptid, int32_t(pid));
  if (vfork_pipe[0] >= 0) {
    ::close(vfork_pipe[1]);
    char c;
    while (::read(vfork_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(vfork_pipe[0]);
  }
  return pid;
}

int64_t sys_clone3(Process& p, Args a) {
  uint64_t cl[11] = {};
  if (a[1] < 64) return -EINVAL;
  p.mem->read(a[0], cl, std::min<uint64_t>(a[1], sizeof cl));
  // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, ...
  if ((cl[0] & kCLONE_THREAD) && cl[4]) return -EINVAL;  // a thread sends no exit signal
  if (cl[5] && !cl[6]) return -EINVAL;
  uint64_t stack = cl[5] ? cl[5] + cl[6] : 0;
  return do_clone(p, cl[0], stack, cl[3], cl[2], cl[7]);
}

int64_t sys_wait4(Process& p, Args a) {
  int status = 0;
  struct rusage ru;
  if (p.threads.size() > 1 && !(a[2] & WNOHANG)) {
    // Other threads run while this one waits: reap without blocking, else wait in the scheduler.
    pid_t r = ::wait4(pid_t(int(a[0])), &status, int(a[2]) | WNOHANG, a[3] ? &ru : nullptr);
    if (r == 0) {
      if (guest_signal_deliverable(p)) return -EINTR;
      const int pid = int(a[0]);
      idtype_t idtype = pid < -1 ? P_PGID : pid == -1 ? P_ALL : pid == 0 ? P_PGID : P_PID;
      id_t id = pid < -1 ? id_t(-pid) : pid == 0 ? id_t(::getpgid(0)) : pid > 0 ? id_t(pid) : 0;
      // wait4's options mean the same for waitid, plus "exited" being implied.
      int options = WEXITED | (int(a[2]) & (WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD));
      return park_on_child(p, idtype, id, options);
    }
    if (r < 0) return -errno;
    if (a[1]) p.mem->write_val(a[1], int32_t(status));
    if (a[3]) p.mem->write(a[3], &ru, sizeof ru);
    return r;
  }
  pid_t r = pid_t(retry_eintr(p, [&] { return long(::wait4(pid_t(int(a[0])), &status, int(a[2]), a[3] ? &ru : nullptr)); }));
  if (r < 0) return -errno;
  if (r > 0 && a[1]) p.mem->write_val(a[1], int32_t(status));
  if (r > 0 && a[3]) p.mem->write(a[3], &ru, sizeof ru);  // struct rusage: same layout on riscv64 and aarch64
  return r;
}

std::vector<std::string> guest_strv(Process& p, uint64_t addr) {
  std::vector<std::string> v;
  if (!addr) return v;
  for (uint64_t i = 0;; ++i) {
    uint64_t ptr = p.mem->read_val<uint64_t>(addr + 8 * i);
    if (!ptr) break;
    v.push_back(p.mem->read_cstr(ptr));
    if (v.size() > 65536) throw GuestAccessError(addr, "argument list too long");
  }
  return v;
}

int64_t sys_execve(Process& p, Args a) {
  std::string path = guest_str(p, a[0]);
  std::vector<std::string> argv = guest_strv(p, a[1]);
  std::vector<std::string> env = guest_strv(p, a[2]);
  std::string hp = host_path(p, path, true);
  if (::access(hp.c_str(), X_OK) != 0) return -errno;
  if (is_host_program(hp)) return exec_host_program(p, hp, argv, env);
  try {
    exec_image(p, hp, argv, env);
  } catch (const ElfError&) {
    return -ENOEXEC;
  } catch (const UsageError&) {
    return -EACCES;
  }
  if (p.vfork_release_fd >= 0) {
    ::close(p.vfork_release_fd);
    p.vfork_release_fd = -1;
  }
  return kNoResult;
}

int64_t sys_kill_like(Process& p, int64_t target_pid, int64_t tid, int sig, bool thread) {
  if (sig < 0 || sig > kNumSignals) return -EINVAL;
  const int64_t self = ::getpid();
  const int uid = int(::getuid());
  if (thread) {
    if (tid <= 0 || (target_pid != -1 && target_pid <= 0)) return -EINVAL;
    if (target_pid < 0 || target_pid == self) {
      if (GuestThread* t = find_thread(p, int(tid))) {
        if (sig) queue_thread_signal(p, *t, PendingSignal{sig, gsig::kSI_TKILL, 0, int(self), uid});
        return 0;
      }
      if (target_pid == self) return -ESRCH;
    }
    long r = target_pid < 0 ? ::syscall(SYS_tkill, pid_t(tid), sig) : ::syscall(SYS_tgkill, pid_t(target_pid), pid_t(tid), sig);
    return host_result(r);
  }
  if (target_pid != self && target_pid != 0) return host_result(::kill(pid_t(target_pid), sig));
  if (sig == 0) return 0;
  queue_signal(p, PendingSignal{sig, gsig::kSI_USER, 0, int(self), uid});
  return 0;
}

// ---- signals ---------------------------------------------------------------------------------

// The guest's struct sigaction: {handler, flags, mask}, or {handler, flags, restorer, mask}
// where the arch has sa_restorer.
GuestSigaction read_sigaction(Process& p, uint64_t addr) {
  uint8_t raw[32];
  const size_t n = p.arch->sigaction_size();
  p.mem->read(addr, raw, n);
  GuestSigaction act;
  act.handler = load64(raw);
  act.flags = load64(raw + 8);
  act.restorer = p.arch->has_sa_restorer ? load64(raw + 16) : 0;
  act.mask = load64(raw + n - 8);
  return act;
}

void write_sigaction(Process& p, uint64_t addr, const GuestSigaction& act) {
  uint8_t raw[32];
  const size_t n = p.arch->sigaction_size();
  store64(raw, act.handler);
  store64(raw + 8, act.flags);
  if (p.arch->has_sa_restorer) store64(raw + 16, act.restorer);
  store64(raw + n - 8, act.mask);
  p.mem->write(addr, raw, n);
}

int64_t sys_rt_sigaction(Process& p, Args a) {
  int sig = int(a[0]);
  if (a[3] != 8 || sig < 1 || sig > kNumSignals) return -EINVAL;
  GuestSigaction nact{};
  if (a[1]) {
    if (sig == gsig::kSIGKILL || sig == gsig::kSIGSTOP) return -EINVAL;
    nact = read_sigaction(p, a[1]);
  }
  if (a[2]) write_sigaction(p, a[2], p.sig.actions[sig]);
  if (a[1]) {
    nact.mask &= ~gsig::kUnblockable;
    p.sig.actions[sig] = nact;
    // Setting a signal to be ignored discards it if pending.
    if (nact.handler == gsig::kSIG_IGN || (nact.handler == gsig::kSIG_DFL && (gsig::kDefaultIgnored & gsig::bit(sig))))
    {
      auto same = [sig](const PendingSignal& s) { return s.signo == sig; };
      std::erase_if(p.sig.pending, same);
      for (auto& t : p.threads) std::erase_if(t->sig.pending, same);
    }
  }
  return 0;
}

int64_t sys_rt_sigprocmask(Process& p, Args a) {
  if (a[3] != 8) return -EINVAL;
  uint64_t& blocked = p.ts().blocked;
  uint64_t old = blocked;
  if (a[1]) {
    uint64_t set = p.mem->read_val<uint64_t>(a[1]);
    switch (a[0]) {
      case 0: blocked |= set; break;    // SIG_BLOCK
      case 1: blocked &= ~set; break;   // SIG_UNBLOCK
      case 2: blocked = set; break;     // SIG_SETMASK
      default: return -EINVAL;
    }
    blocked &= ~gsig::kUnblockable;
  }
  if (a[2]) p.mem->write_val(a[2], old);
  return 0;
}

int64_t sys_sigaltstack(Process& p, Args a) {
  ThreadSignals& ts = p.ts();
  uint64_t sp = p.regs().sp();
  bool on = ts.altstack_size && sp - ts.altstack_sp <= ts.altstack_size;
  if (a[1]) {
    uint8_t old[24] = {};
    std::memcpy(old, &ts.altstack_sp, 8);
    int32_t fl = on ? gsig::kSS_ONSTACK : (ts.altstack_size ? ts.altstack_flags : gsig::kSS_DISABLE);
    std::memcpy(old + 8, &fl, 4);
    std::memcpy(old + 16, &ts.altstack_size, 8);
    p.mem->write(a[1], old, sizeof old);
  }
  if (a[0]) {
    uint8_t ss[24];
    p.mem->read(a[0], ss, sizeof ss);
    if (on) return -EPERM;
    uint64_t ss_sp, ss_size;
    int32_t fl;
    std::memcpy(&ss_sp, ss, 8);
    std::memcpy(&fl, ss + 8, 4);
    std::memcpy(&ss_size, ss + 16, 8);
    if (fl & gsig::kSS_DISABLE) {
      ts.altstack_sp = ts.altstack_size = 0;
      ts.altstack_flags = gsig::kSS_DISABLE;
    } else {
      if (fl & ~(gsig::kSS_ONSTACK | int32_t(0x80000000))) return -EINVAL;  // SS_AUTODISARM allowed
      if (ss_size < p.arch->minsigstksz) return -ENOMEM;
      ts.altstack_sp = ss_sp;
      ts.altstack_size = ss_size;
      ts.altstack_flags = 0;
    }
  }
  return 0;
}

// ---- files ------------------------------------------------------------------------------------

int64_t sys_openat(Process& p, Args a) {
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  std::string path = host_path(p, guest_str(p, a[1]), true);
  int flags = int(p.arch->open_flags_to_host(uint32_t(a[2])));
  int h = int(retry_eintr(p, [&] { return long(::openat(dfd, path.c_str(), flags | O_CLOEXEC, mode_t(a[3]))); }));
  if (h < 0) return -errno;
  return p.fds.add(h, flags & O_CLOEXEC);
}

int64_t sys_fstatat(Process& p, Args a) {
  std::string path = guest_str(p, a[1]);
  int flags = int(a[3]);
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  struct stat st;
  if (::fstatat(dfd, host_path(p, path, true).c_str(), &st, flags) != 0) return -errno;
  return put_stat(p, a[2], st);
}

int64_t sys_fstat(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  struct stat st;
  if (::fstat(h, &st) != 0) return -errno;
  return put_stat(p, a[1], st);
}

int64_t sys_statx(Process& p, Args a) {
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  std::string path = host_path(p, guest_str(p, a[1]), true);
  void* buf = guest_buf(p, a[4], 256, kWrite);  // struct statx: same layout everywhere
  if (!buf) return -EFAULT;
  return host_result(::syscall(SYS_statx, dfd, path.c_str(), int(a[2]), unsigned(a[3]), buf));
}

int64_t sys_readlinkat(Process& p, Args a) {
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  std::string path = guest_str(p, a[1]);
  if (int64_t(a[3]) <= 0) return -EINVAL;
  void* buf = guest_buf(p, a[2], a[3], kWrite);
  if (!buf) return -EFAULT;
  if (path == "/proc/self/exe" || path == "/proc/" + std::to_string(::getpid()) + "/exe") {
    char real[PATH_MAX];
    std::string target = ::realpath(p.exe_path.c_str(), real) ? std::string(real) : p.exe_path;
    size_t n = std::min<size_t>(target.size(), a[3]);
    std::memcpy(buf, target.data(), n);
    return int64_t(n);
  }
  return host_result(::readlinkat(dfd, host_path(p, path, true).c_str(), static_cast<char*>(buf), a[3]));
}

int64_t sys_rw(Process& p, Args a, bool is_write, bool positional) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  void* buf = guest_buf(p, a[1], a[2], is_write ? kRead : kWrite);
  if (!buf) return -EFAULT;
  if (int64_t w = wait_fd_ready(p, h, is_write ? POLLOUT : POLLIN, true)) return w;
  if (is_write) {
    long r = retry_eintr(p, [&] { return long(positional ? ::pwrite(h, buf, a[2], off_t(a[3])) : ::write(h, buf, a[2])); });
    return write_result(p, r);
  }
  return host_result(retry_eintr(p, [&] { return long(positional ? ::pread(h, buf, a[2], off_t(a[3])) : ::read(h, buf, a[2])); }));
}

int64_t sys_rwv(Process& p, Args a, bool is_write) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  if (a[2] > IOV_MAX) return -EINVAL;
  std::vector<struct iovec> iov;
  if (!guest_iov(p, a[1], a[2], is_write ? kRead : kWrite, iov)) return -EFAULT;
  if (int64_t w = wait_fd_ready(p, h, is_write ? POLLOUT : POLLIN, true)) return w;
  if (is_write) return write_result(p, retry_eintr(p, [&] { return long(::writev(h, iov.data(), int(iov.size()))); }));
  return host_result(retry_eintr(p, [&] { return long(::readv(h, iov.data(), int(iov.size()))); }));
}

int64_t sys_ioctl(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  uint64_t req = a[1];
  size_t size = 0;
  int perm = kWrite;
  switch (req) {
    case TCGETS: size = 36; break;  // struct termios (kernel, asm-generic): same on x86-64
    case TCSETS: case TCSETSW: case TCSETSF: size = 36; perm = kRead; break;
    case TIOCGWINSZ: size = 8; break;
    case TIOCSWINSZ: size = 8; perm = kRead; break;
    case FIONREAD: size = 4; break;
    case TIOCGPGRP: case TIOCGSID: size = 4; break;
    case TIOCSPGRP: size = 4; perm = kRead; break;
    case FIONBIO: size = 4; perm = kRead; break;
    case FIOCLEX: p.fds.set_cloexec(int(a[0]), true); return 0;
    case FIONCLEX: p.fds.set_cloexec(int(a[0]), false); return 0;
    default: return -ENOTTY;
  }
  void* buf = guest_buf(p, a[2], size, perm);
  if (!buf) return -EFAULT;
  return host_result(::ioctl(h, req, buf));
}

int64_t sys_fcntl(Process& p, Args a) {
  int g = int(a[0]);
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  int cmd = int(a[1]);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      if (int64_t(a[2]) < 0 || int64_t(a[2]) >= p.fds.max_fds()) return -EINVAL;
      int nh = ::fcntl(h, F_DUPFD_CLOEXEC, 3);
      if (nh < 0) return -errno;
      return p.fds.add(nh, cmd == F_DUPFD_CLOEXEC, int(a[2]));
    }
    case F_GETFD: return p.fds.cloexec(g) ? FD_CLOEXEC : 0;
    case F_SETFD: p.fds.set_cloexec(g, a[2] & FD_CLOEXEC); return 0;
    case F_GETFL: {
      int fl = ::fcntl(h, F_GETFL);
      return fl < 0 ? -errno : int64_t(p.arch->open_flags_to_guest(uint32_t(fl)));
    }
    case F_SETFL: return host_result(::fcntl(h, F_SETFL, int(p.arch->open_flags_to_host(uint32_t(a[2])))));
    case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_GETOWN: case F_SETOWN:
      return host_result(::fcntl(h, cmd, int(a[2])));
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW: {
      void* buf = guest_buf(p, a[2], sizeof(struct flock), kRead | (cmd == F_GETLK || cmd == F_OFD_GETLK ? kWrite : 0));
      if (!buf) return -EFAULT;  // struct flock: same 32-byte layout on riscv64 and aarch64
      return host_result(::fcntl(h, cmd, buf));
    }
    default: return -EINVAL;
  }
}

int64_t sys_dup3(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  int target = int(a[1]);
  if (a[2] & ~uint64_t(O_CLOEXEC)) return -EINVAL;
  if (target == int(a[0])) return -EINVAL;
  if (target < 0 || target >= p.fds.max_fds()) return -EBADF;
  int nh = ::fcntl(h, F_DUPFD_CLOEXEC, 3);
  if (nh < 0) return -errno;
  p.fds.put(target, nh, a[2] & O_CLOEXEC);
  return target;
}

int64_t sys_pipe2(Process& p, Args a) {
  if (!p.mem->accessible(a[0], 8, kWrite)) return -EFAULT;
  int hp[2];
  // (O_DIRECT, a packet-mode pipe, is one of the flags whose value is arch-specific)
  if (::pipe2(hp, int(p.arch->open_flags_to_host(uint32_t(a[1]))) | O_CLOEXEC) != 0) return -errno;
  bool ce = a[1] & O_CLOEXEC;
  int g0 = p.fds.add(hp[0], ce);
  if (g0 < 0) {
    ::close(hp[1]);
    return g0;
  }
  int g1 = p.fds.add(hp[1], ce);
  if (g1 < 0) {
    p.fds.close(g0);
    return g1;
  }
  int32_t out[2] = {g0, g1};
  p.mem->write(a[0], out, sizeof out);
  return 0;
}

int64_t sys_getdents64(Process& p, Args a) {
  int h = hfd(p, a[0]);
  if (h < 0) return h;
  void* buf = guest_buf(p, a[1], a[2], kWrite);
  if (!buf) return -EFAULT;
  return host_result(::syscall(SYS_getdents64, h, buf, unsigned(a[2])));
}

// poll on guest fds, with a host-side timeout (nullptr: none); the caller applies any sigmask.
int64_t poll_guest_fds(Process& p, uint64_t fds_addr, uint64_t n, const struct timespec* timeout) {
  if (n > uint64_t(p.fds.max_fds())) return -EINVAL;
  std::vector<struct pollfd> fds(n);
  if (n) p.mem->read(fds_addr, fds.data(), n * sizeof(struct pollfd));
  std::vector<int> guest(n);
  for (uint64_t i = 0; i < n; ++i) {
    guest[i] = fds[i].fd;
    // A negative fd is skipped by poll; an fd that is not open reports POLLNVAL.
    if (fds[i].fd >= 0) {
      int h = p.fds.host(fds[i].fd);
      fds[i].fd = h >= 0 ? h : INT_MAX;
    }
  }
  int r;
  if (p.threads.size() > 1) {
    // Other threads run while this one waits (threads.cpp): look without waiting, else park.
    int64_t deadline = p.cur->resumed ? p.cur->resume_deadline_ns : timeout ? wait_deadline(*timeout) : -1;
    if (deadline == -2) return -EINVAL;
    struct timespec zero{};
    r = ::ppoll(fds.data(), n, &zero, nullptr);
    if (r < 0) return -errno;
    if (r == 0 && (deadline < 0 || monotonic_now_ns() < deadline)) {
      if (guest_signal_deliverable(p)) return -EINTR;
      return park_on_fds(p, std::move(fds), deadline, false);
    }
  } else {
    r = int(retry_eintr(p, [&] { return long(::ppoll(fds.data(), n, timeout, nullptr)); }));
    if (r < 0) return -errno;
  }
  for (uint64_t i = 0; i < n; ++i) fds[i].fd = guest[i];
  if (n) p.mem->write(fds_addr, fds.data(), n * sizeof(struct pollfd));
  return r;
}

int64_t sys_ppoll(Process& p, Args a) {
  if (a[1] > uint64_t(p.fds.max_fds())) return -EINVAL;
  struct timespec ts;
  if (a[2]) p.mem->read(a[2], &ts, sizeof ts);
  if (a[3]) {
    if (int64_t e = apply_wait_sigmask(p, a[3], a[4])) return e;
  }
  return poll_guest_fds(p, a[0], a[1], a[2] ? &ts : nullptr);
}

// select through host poll: guest fd_sets name guest fds, which map to arbitrary host fds.
// a[0..3] are select's first four arguments; the timeout is host-side (nullptr: none) and the
// caller applies any sigmask.
int64_t select_guest_fds(Process& p, Args a, const struct timespec* timeout) {
  int64_t n = int64_t(a[0]);
  if (n < 0 || n > p.fds.max_fds()) return -EINVAL;
  const size_t words = size_t(n + 63) / 64;
  std::vector<uint64_t> sets[3];
  for (int k = 0; k < 3; ++k) {
    sets[k].assign(words, 0);
    if (a[1 + k] && words) p.mem->read(a[1 + k], sets[k].data(), words * 8);
  }
  std::vector<struct pollfd> pfds;
  std::vector<int> guest_fd;
  for (int fd = 0; fd < n; ++fd) {
    short ev = 0;
    uint64_t m = 1ull << (fd % 64);
    if (sets[0][size_t(fd) / 64] & m) ev |= POLLIN;
    if (sets[1][size_t(fd) / 64] & m) ev |= POLLOUT;
    if (sets[2][size_t(fd) / 64] & m) ev |= POLLPRI;
    if (!ev) continue;
    int h = p.fds.host(fd);
    if (h < 0) return -EBADF;
    pfds.push_back({h, ev, 0});
    guest_fd.push_back(fd);
  }
  int r;
  if (p.threads.size() > 1) {
    int64_t deadline = p.cur->resumed ? p.cur->resume_deadline_ns : timeout ? wait_deadline(*timeout) : -1;
    if (deadline == -2) return -EINVAL;
    struct timespec zero{};
    r = ::ppoll(pfds.data(), pfds.size(), &zero, nullptr);
    if (r < 0) return -errno;
    if (r == 0 && (deadline < 0 || monotonic_now_ns() < deadline)) {
      if (guest_signal_deliverable(p)) return -EINTR;
      return park_on_fds(p, pfds, deadline, false);
    }
  } else {
    r = int(retry_eintr(p, [&] { return long(::ppoll(pfds.data(), pfds.size(), timeout, nullptr)); }));
    if (r < 0) return -errno;
  }
  for (auto& set : sets) std::fill(set.begin(), set.end(), 0);
  int64_t count = 0;
  for (size_t i = 0; i < pfds.size(); ++i) {
    int fd = guest_fd[i];
    uint64_t m = 1ull << (fd % 64);
    short re = pfds[i].revents;
    bool hit[3] = {(pfds[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR)),
                   (pfds[i].events & POLLOUT) && (re & (POLLOUT | POLLERR)),
                   (pfds[i].events & POLLPRI) && (re & POLLPRI)};
    for (int k = 0; k < 3; ++k)
      if (hit[k]) {
        sets[k][size_t(fd) / 64] |= m;
        ++count;
      }
  }
  for (int k = 0; k < 3; ++k)
    if (a[1 + k] && words) p.mem->write(a[1 + k], sets[k].data(), words * 8);
  return count;
}

int64_t sys_pselect6(Process& p, Args a) {
  int64_t n = int64_t(a[0]);
  if (n < 0 || n > p.fds.max_fds()) return -EINVAL;
  struct timespec ts;
  if (a[4]) p.mem->read(a[4], &ts, sizeof ts);
  if (a[5]) {
    // A pointer to {const sigset_t* set; size_t size}.
    uint64_t mask_arg[2];
    p.mem->read(a[5], mask_arg, sizeof mask_arg);
    if (mask_arg[0]) {
      if (int64_t e = apply_wait_sigmask(p, mask_arg[0], mask_arg[1])) return e;
    }
  }
  return select_guest_fds(p, a, a[4] ? &ts : nullptr);
}

// Extended attributes (ls -l asks for ACLs and SELinux labels): the host's, of the file the guest
// names (path forms: 5..6, 8..9, 11..12, 14..15 follow or not the last symlink; f forms: fds).
int64_t sys_xattr(Process& p, uint64_t number, Args a) {
  using nr::fgetxattr, nr::flistxattr, nr::fremovexattr, nr::fsetxattr;
  const bool by_fd = number == fsetxattr || number == fgetxattr || number == flistxattr || number == fremovexattr;
  const bool nofollow = number == nr::lsetxattr || number == nr::lgetxattr || number == nr::llistxattr ||
                        number == nr::lremovexattr;
  int fd = -1;
  std::string path;
  if (by_fd) {
    fd = hfd(p, a[0]);
    if (fd < 0) return fd;
  } else {
    path = host_path(p, guest_str(p, a[0]), true);
  }
  const char* file = path.c_str();
  switch (number) {
    case nr::getxattr: case nr::lgetxattr: case nr::fgetxattr: {
      const std::string name = guest_str(p, a[1]);
      void* buf = a[3] ? guest_buf(p, a[2], a[3], kWrite) : nullptr;
      if (a[3] && !buf) return -EFAULT;
      return host_result(by_fd ? ::fgetxattr(fd, name.c_str(), buf, a[3])
                         : nofollow ? ::lgetxattr(file, name.c_str(), buf, a[3])
                                    : ::getxattr(file, name.c_str(), buf, a[3]));
    }
    case nr::listxattr: case nr::llistxattr: case nr::flistxattr: {
      char* buf = a[2] ? static_cast<char*>(guest_buf(p, a[1], a[2], kWrite)) : nullptr;
      if (a[2] && !buf) return -EFAULT;
      return host_result(by_fd ? ::flistxattr(fd, buf, a[2]) : nofollow ? ::llistxattr(file, buf, a[2]) : ::listxattr(file, buf, a[2]));
    }
    case nr::setxattr: case nr::lsetxattr: case nr::fsetxattr: {
      const std::string name = guest_str(p, a[1]);
      std::vector<uint8_t> value(a[3]);
      if (a[3]) p.mem->read(a[2], value.data(), value.size());
      const int flags = int(a[4]);
      return host_result(by_fd ? ::fsetxattr(fd, name.c_str(), value.data(), value.size(), flags)
                         : nofollow ? ::lsetxattr(file, name.c_str(), value.data(), value.size(), flags)
                                    : ::setxattr(file, name.c_str(), value.data(), value.size(), flags));
    }
    default: {  // removexattr
      const std::string name = guest_str(p, a[1]);
      return host_result(by_fd ? ::fremovexattr(fd, name.c_str())
                         : nofollow ? ::lremovexattr(file, name.c_str()) : ::removexattr(file, name.c_str()));
    }
  }
}

// ---- calls only x86-64 has (nr::legacy_*) -----------------------------------------------------
// The host is x86-64 too, so where a call has no asm-generic twin its host version does the
// work once fds and paths are translated.

constexpr uint64_t kArchSetGs = 0x1001, kArchSetFs = 0x1002, kArchGetFs = 0x1003, kArchGetGs = 0x1004,
                   kArchGetCpuid = 0x1011, kArchSetCpuid = 0x1012;

// The highest user address plus one (the kernel's TASK_SIZE_MAX with 4-level paging): a segment
// base at or above it is refused.
constexpr uint64_t kTaskSizeMax = 0x7ffffffff000ull;

int64_t sys_arch_prctl(Process& p, Args a) {
  GuestRegs regs = p.regs();
  switch (a[0]) {
    case kArchSetFs:
    case kArchSetGs:
      if (a[1] >= kTaskSizeMax) return -EPERM;
      regs.set(a[0] == kArchSetFs ? p.arch->off_tls : p.arch->off_gs_base, a[1]);
      return 0;
    case kArchGetFs:
    case kArchGetGs:
      p.mem->write_val(a[1], regs.get(a[0] == kArchGetFs ? p.arch->off_tls : p.arch->off_gs_base));
      return 0;
    case kArchGetCpuid: return 1;  // cpuid is allowed (never faults)
    case kArchSetCpuid: return a[1] ? 0 : -ENODEV;  // vmkit cannot make cpuid fault
  }
  return -EINVAL;
}

// select: the remaining time is written back to the guest's timeval, as Linux does.
int64_t sys_select(Process& p, Args a) {
  int64_t n = int64_t(a[0]);
  if (n < 0 || n > p.fds.max_fds()) return -EINVAL;
  if (!a[4]) return select_guest_fds(p, a, nullptr);
  struct timeval tv;
  p.mem->read(a[4], &tv, sizeof tv);
  if (tv.tv_sec < 0 || tv.tv_usec < 0) return -EINVAL;
  // (an over-long tv_usec carries into seconds, as the kernel's poll_select_set_timeout does)
  const int64_t total_ns = int64_t(tv.tv_sec) * 1'000'000'000 + int64_t(tv.tv_usec) * 1000;
  struct timespec ts {time_t(total_ns / 1'000'000'000), long(total_ns % 1'000'000'000)};
  const int64_t start = monotonic_now_ns();
  int64_t r = select_guest_fds(p, a, &ts);
  if (r == kNoResult) return r;
  const int64_t left = std::max<int64_t>(0, total_ns - (monotonic_now_ns() - start));
  struct timeval rem {time_t(left / 1'000'000'000), suseconds_t(left % 1'000'000'000 / 1000)};
  p.mem->write(a[4], &rem, sizeof rem);
  return r;
}

// utime, utimes and futimesat read their times from the guest and run on the host.
int64_t sys_utimes_like(Process& p, uint64_t number, Args a) {
  const bool at = number == nr::legacy_futimesat;
  int dfd = at ? hdirfd(p, a[0]) : AT_FDCWD;
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  const uint64_t path_addr = at ? a[1] : a[0], times_addr = at ? a[2] : a[1];
  std::string path = host_path(p, guest_str(p, path_addr), false);
  if (number == nr::legacy_utime) {
    struct utimbuf {
      int64_t actime, modtime;
    } ub;
    if (times_addr) p.mem->read(times_addr, &ub, sizeof ub);
    return host_result(::syscall(SYS_utime, path.c_str(), times_addr ? &ub : nullptr));
  }
  struct timeval tv[2];
  if (times_addr) p.mem->read(times_addr, tv, sizeof tv);
  return host_result(::syscall(SYS_futimesat, dfd, path.c_str(), times_addr ? tv : nullptr));
}

int64_t sys_legacy(Process& p, uint64_t number, Args a) {
  switch (number) {
    case nr::legacy_dup2: {
      int h = hfd(p, a[0]);
      if (h < 0) return h;
      if (a[0] == a[1]) return int64_t(int32_t(a[0]));  // dup2(fd, fd) only checks fd
      const uint64_t args[6] = {a[0], a[1], 0, 0, 0, 0};
      return sys_dup3(p, args);
    }
    case nr::legacy_poll: {
      const int32_t ms = int32_t(a[2]);
      struct timespec ts {time_t(ms / 1000), long(ms % 1000) * 1'000'000};
      return poll_guest_fds(p, a[0], a[1], ms < 0 ? nullptr : &ts);
    }
    case nr::legacy_select: return sys_select(p, a);
    case nr::legacy_time: {
      const int64_t t = int64_t(::time(nullptr));
      if (a[0]) p.mem->write_val(a[0], t);
      return t;
    }
    case nr::legacy_alarm: return int64_t(::alarm(unsigned(a[0])));  // SIGALRM is forwarded
    case nr::legacy_pause: return sigsuspend(p, p.ts().blocked);
    case nr::legacy_getdents: {
      // struct linux_dirent (d_type in each record's last byte) is the host's as well.
      int h = hfd(p, a[0]);
      if (h < 0) return h;
      void* buf = guest_buf(p, a[1], a[2], kWrite);
      if (!buf) return -EFAULT;
      return host_result(::syscall(SYS_getdents, h, buf, unsigned(a[2])));
    }
    case nr::legacy_utime:
    case nr::legacy_utimes:
    case nr::legacy_futimesat: return sys_utimes_like(p, number, a);
    case nr::legacy_epoll_create: {
      if (int32_t(a[0]) <= 0) return -EINVAL;
      const uint64_t args[6] = {0, 0, 0, 0, 0, 0};
      int64_t r = -ENOSYS;
      handle_event_syscall(p, nr::epoll_create1, args, r);
      return r;
    }
    case nr::legacy_arch_prctl: return sys_arch_prctl(p, a);
    case nr::legacy_no_permission: return -EPERM;
  }
  return -ENOSYS;
}

int64_t sys_sendfile(Process& p, Args a) {
  int out = hfd(p, a[0]), in = hfd(p, a[1]);
  if (out < 0) return out;
  if (in < 0) return in;
  off_t off = 0;
  if (a[2]) off = off_t(p.mem->read_val<int64_t>(a[2]));
  long r = ::sendfile(out, in, a[2] ? &off : nullptr, a[3]);
  if (r >= 0 && a[2]) p.mem->write_val(a[2], int64_t(off));
  return write_result(p, r);
}

int64_t sys_utimensat(Process& p, Args a) {
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  struct timespec ts[2];
  if (a[2]) p.mem->read(a[2], ts, sizeof ts);
  std::string path;
  if (a[1]) path = host_path(p, guest_str(p, a[1]), false);
  return host_result(::syscall(SYS_utimensat, dfd, a[1] ? path.c_str() : nullptr, a[2] ? ts : nullptr, int(a[3])));
}

// *at() calls that take (dirfd, path, ...) with plain integer arguments.
int64_t sys_faccessat(Process& p, Args a, int flags) {
  int dfd = hdirfd(p, a[0]);
  if (dfd < 0 && dfd != AT_FDCWD) return dfd;
  return host_result(::faccessat(dfd, host_path(p, guest_str(p, a[1]), true).c_str(), int(a[2]), flags));
}

int64_t sys_getcwd(Process& p, Args a) {
  char buf[PATH_MAX];
  if (!::getcwd(buf, sizeof buf)) return -errno;
  size_t n = std::strlen(buf) + 1;
  if (n > a[1]) return -ERANGE;
  void* out = guest_buf(p, a[0], n, kWrite);
  if (!out) return -EFAULT;
  std::memcpy(out, buf, n);
  return int64_t(n);
}

int64_t sys_uname(Process& p, Args a) {
  struct utsname u;
  if (::uname(&u) != 0) return -errno;
  std::memset(u.machine, 0, sizeof u.machine);
  std::strncpy(u.machine, p.arch->uname_machine, sizeof u.machine - 1);
  if (!p.mem->accessible(a[0], sizeof u, kWrite)) return -EFAULT;
  p.mem->write(a[0], &u, sizeof u);  // 6 fields of 65 bytes, same everywhere
  return 0;
}

// Copies a host result structure of the same layout as the guest's into guest memory.
template <class T, class F>
int64_t out_struct(Process& p, uint64_t addr, F&& call) {
  T v{};
  long r = call(&v);
  if (r < 0) return -errno;
  if (addr) {
    if (!p.mem->accessible(addr, sizeof v, kWrite)) return -EFAULT;
    p.mem->write(addr, &v, sizeof v);
  }
  return r;
}

int64_t sys_prlimit64(Process& p, Args a) {
  if (a[0] != 0 && int64_t(a[0]) != ::getpid()) return -EPERM;
  struct rlimit nl;
  if (a[2]) p.mem->read(a[2], &nl, sizeof nl);
  if (a[3] && !p.mem->accessible(a[3], sizeof(struct rlimit), kWrite)) return -EFAULT;
  struct rlimit old;
  if (::prlimit(0, __rlimit_resource(a[1]), a[2] ? &nl : nullptr, &old) != 0) return -errno;
  if (a[3]) p.mem->write(a[3], &old, sizeof old);
  return 0;
}

int64_t sys_prctl(Process& p, Args a) {
  switch (a[0]) {
    case PR_SET_NAME: {
      std::string name = p.mem->read_cstr(a[1], 16);
      p.cur->name = name.substr(0, 15);
      return 0;
    }
    case PR_GET_NAME: {
      char buf[16] = {};
      std::memcpy(buf, p.cur->name.data(), std::min<size_t>(p.cur->name.size(), 15));
      if (!p.mem->accessible(a[1], 16, kWrite)) return -EFAULT;
      p.mem->write(a[1], buf, 16);
      return 0;
    }
    case PR_GET_DUMPABLE: return 1;
    case PR_SET_DUMPABLE: return a[1] <= 1 ? 0 : -EINVAL;
    default: return -EINVAL;
  }
}

bool restartable(uint64_t number) {
  switch (number) {
    case nr::read: case nr::write: case nr::readv: case nr::writev: case nr::pread64: case nr::pwrite64:
    case nr::wait4: case nr::openat: case nr::ioctl: case nr::fcntl: case nr::sendfile: case nr::futex:
      return true;
  }
  return socket_call_restartable(number);
}

}  // namespace

// ---- dispatch -------------------------------------------------------------------------------------

// The syscall trace (ProcessOptions::strace): "pid name(args) = result", the arguments in hex
// except file names, which are shown as strings (read before the call: execve replaces them).
namespace {
int path_argument(uint64_t number) {
  switch (number) {
    case nr::execve: case nr::chdir: return 0;
    case nr::openat: case nr::newfstatat: case nr::statx: case nr::readlinkat: case nr::faccessat:
    case nr::faccessat2: case nr::mkdirat: case nr::unlinkat: case nr::fchmodat: case nr::fchownat:
    case nr::utimensat: case nr::renameat: case nr::renameat2: return 1;
    default: return -1;
  }
}

// The call as the guest made it; one the arch rewrote onto an asm-generic call (x86-64's open onto
// openat) shows that call's arguments, as "open [openat](-100,...)".
std::string trace_call(Process& p, uint64_t guest_number, const CanonicalSyscall& call) {
  std::string line = std::to_string(::getpid()) + " " + p.arch->syscall_name(guest_number);
  const char* generic = generic_syscall_name(call.number);
  if (call.known && generic && std::strcmp(generic, p.arch->syscall_name(guest_number)) != 0)
    line += std::string(" [") + generic + "]";
  line += "(";
  const uint64_t* a = call.args;
  int path = call.known ? path_argument(call.number) : -1;
  for (int i = 0; i < 6; ++i) {
    if (i) line += ",";
    if (i == path) {
      try {
        line += "\"" + p.mem->read_cstr(a[i], 256) + "\"";
        continue;
      } catch (const GuestAccessError&) {
      }
    }
    // Small values (fds, flags, lengths, AT_FDCWD = -100) read best in decimal.
    int64_t v = int64_t(a[i]);
    line += v >= -4096 && v < 65536 ? std::to_string(v) : hex(a[i]);
  }
  return line + ")";
}

std::string trace_result(int64_t r) {
  if (r < 0 && r >= -4095) return " = -1 errno=" + std::to_string(-r) + " (" + std::strerror(int(-r)) + ")";
  return " = " + (r >= 0 && r < 65536 ? std::to_string(r) : hex(uint64_t(r)));
}
}  // namespace

void handle_syscall(Process& p) {
  GuestRegs regs = p.regs();
  // The guest's number and arguments, and the call as this layer handles it (asm-generic).
  const uint64_t guest_number = regs.syscall_nr();
  const uint64_t guest_args[6] = {regs.arg(0), regs.arg(1), regs.arg(2), regs.arg(3), regs.arg(4), regs.arg(5)};
  const CanonicalSyscall call = p.arch->canonical_syscall(guest_number, guest_args);
  const uint64_t number = call.number;
  const uint64_t (&a)[6] = call.args;
  const uint64_t syscall_pc = regs.pc() - p.arch->syscall_insn_len;
  // The riscv-specific calls (asm-generic leaves 244..259 to each arch) exist on riscv64 only.
  const bool riscv = p.arch->elf_machine == EM_RISCV;
  int64_t r = -ENOSYS;
  bool known = call.known;
  std::string trace;
  if (p.opts.strace) {
    trace = trace_call(p, guest_number, call);
    // These do not return to the caller when they succeed: show the call now.
    if (number == nr::exit || number == nr::exit_group || number == nr::execve || number == nr::rt_sigreturn)
      p.diag_write(trace);
  }
  try {
    switch (known ? number : ~uint64_t(0)) {
      case nr::read: r = sys_rw(p, a, false, false); break;
      case nr::write: r = sys_rw(p, a, true, false); break;
      case nr::pread64: r = sys_rw(p, a, false, true); break;
      case nr::pwrite64: r = sys_rw(p, a, true, true); break;
      case nr::readv: r = sys_rwv(p, a, false); break;
      case nr::writev: r = sys_rwv(p, a, true); break;
      case nr::openat: r = sys_openat(p, a); break;
      case nr::close: r = p.fds.close(int(a[0])); break;
      case nr::lseek: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::lseek(h, off_t(a[1]), int(a[2]))); break; }
      case nr::fstat: r = sys_fstat(p, a); break;
      case nr::newfstatat: r = sys_fstatat(p, a); break;
      case nr::statx: r = sys_statx(p, a); break;
      case nr::getdents64: r = sys_getdents64(p, a); break;
      case nr::readlinkat: r = sys_readlinkat(p, a); break;
      case nr::ioctl: r = sys_ioctl(p, a); break;
      case nr::fcntl: r = sys_fcntl(p, a); break;
      case nr::dup: {
        int h = hfd(p, a[0]);
        if (h < 0) { r = h; break; }
        int nh = ::fcntl(h, F_DUPFD_CLOEXEC, 3);
        r = nh < 0 ? -errno : p.fds.add(nh, false);
        break;
      }
      case nr::dup3: r = sys_dup3(p, a); break;
      case nr::pipe2: r = sys_pipe2(p, a); break;
      case nr::ppoll: r = sys_ppoll(p, a); break;
      case nr::pselect6: r = sys_pselect6(p, a); break;
      case nr::getitimer:
        r = out_struct<struct itimerval>(p, a[1], [&](struct itimerval* v) { return long(::getitimer(__itimer_which(a[0]), v)); });
        break;
      case nr::setitimer: {
        // ITIMER_REAL's SIGALRM reaches the guest through the host signal forwarding.
        struct itimerval nv;
        p.mem->read(a[1], &nv, sizeof nv);
        r = out_struct<struct itimerval>(p, a[2], [&](struct itimerval* old) { return long(::setitimer(__itimer_which(a[0]), &nv, old)); });
        break;
      }
      case nr::sendfile: r = sys_sendfile(p, a); break;
      case nr::ftruncate: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::ftruncate(h, off_t(a[1]))); break; }
      case nr::truncate: r = host_result(::truncate(host_path(p, guest_str(p, a[0]), false).c_str(), off_t(a[1]))); break;
      case nr::fsync: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::fsync(h)); break; }
      case nr::fdatasync: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::fdatasync(h)); break; }
      case nr::sync: ::sync(); r = 0; break;
      case nr::fchmod: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::fchmod(h, mode_t(a[1]))); break; }
      case nr::fchown: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::fchown(h, uid_t(a[1]), gid_t(a[2]))); break; }
      case nr::fchdir: { int h = hfd(p, a[0]); r = h < 0 ? h : host_result(::fchdir(h)); break; }
      case nr::fstatfs: {
        int h = hfd(p, a[0]);
        r = h < 0 ? h : out_struct<struct statfs>(p, a[1], [&](struct statfs* s) { return long(::fstatfs(h, s)); });
        break;
      }
      case nr::statfs: {
        std::string path = host_path(p, guest_str(p, a[0]), true);
        r = out_struct<struct statfs>(p, a[1], [&](struct statfs* s) { return long(::statfs(path.c_str(), s)); });
        break;
      }
      case nr::faccessat: r = sys_faccessat(p, a, 0); break;
      case nr::faccessat2: r = sys_faccessat(p, a, int(a[3])); break;
      case nr::chdir: r = host_result(::chdir(host_path(p, guest_str(p, a[0]), false).c_str())); break;
      case nr::getcwd: r = sys_getcwd(p, a); break;
      case nr::mkdirat:
      case nr::unlinkat:
      case nr::fchmodat:
      case nr::fchownat: {
        int dfd = hdirfd(p, a[0]);
        if (dfd < 0 && dfd != AT_FDCWD) { r = dfd; break; }
        std::string path = host_path(p, guest_str(p, a[1]), false);
        if (number == nr::mkdirat) r = host_result(::mkdirat(dfd, path.c_str(), mode_t(a[2])));
        else if (number == nr::unlinkat) r = host_result(::unlinkat(dfd, path.c_str(), int(a[2])));
        else if (number == nr::fchmodat) r = host_result(::fchmodat(dfd, path.c_str(), mode_t(a[2]), 0));
        else r = host_result(::fchownat(dfd, path.c_str(), uid_t(a[2]), gid_t(a[3]), int(a[4])));
        break;
      }
      case nr::renameat:
      case nr::renameat2:
      case nr::linkat: {
        int d1 = hdirfd(p, a[0]), d2 = hdirfd(p, a[2]);
        if (d1 < 0 && d1 != AT_FDCWD) { r = d1; break; }
        if (d2 < 0 && d2 != AT_FDCWD) { r = d2; break; }
        std::string p1 = guest_str(p, a[1]), p2 = guest_str(p, a[3]);
        if (number == nr::linkat) r = host_result(::linkat(d1, p1.c_str(), d2, p2.c_str(), int(a[4])));
        else r = host_result(::syscall(SYS_renameat2, d1, p1.c_str(), d2, p2.c_str(), number == nr::renameat ? 0u : unsigned(a[4])));
        break;
      }
      case nr::symlinkat: {
        int dfd = hdirfd(p, a[1]);
        if (dfd < 0 && dfd != AT_FDCWD) { r = dfd; break; }
        r = host_result(::symlinkat(guest_str(p, a[0]).c_str(), dfd, guest_str(p, a[2]).c_str()));
        break;
      }
      case nr::utimensat: r = sys_utimensat(p, a); break;
      case nr::umask: r = ::umask(mode_t(a[0])); break;

      case nr::brk: r = sys_brk(p, a); break;
      case nr::mmap: r = sys_mmap(p, a); break;
      case nr::munmap: r = sys_munmap(p, a); break;
      case nr::mprotect: r = sys_mprotect(p, a); break;
      case nr::mremap: r = sys_mremap(p, a); break;
      case nr::madvise: r = 0; break;  // advice only; MADV_DONTNEED on private anon is not emulated
      case nr::mincore: {
        // Every mapped guest page counts as resident (vmkit's memory is one host reservation); an
        // unmapped one in the range is ENOMEM, a misaligned start EINVAL, as the kernel says.
        if (a[0] % GuestMemory::kPageSize) { r = -EINVAL; break; }
        const uint64_t pages = (a[1] + GuestMemory::kPageSize - 1) / GuestMemory::kPageSize;
        r = 0;
        for (uint64_t i = 0; i < pages && r == 0; ++i)
          if (!p.mem->accessible(a[0] + i * GuestMemory::kPageSize, 1, 0)) r = -ENOMEM;
        if (r == 0 && pages) {
          void* out = guest_buf(p, a[2], pages, kWrite);
          if (!out) { r = -EFAULT; break; }
          std::memset(out, 1, pages);
        }
        break;
      }
      case nr::fadvise64: {  // (posix_fadvise returns the error number itself)
        int h = hfd(p, a[0]);
        r = h < 0 ? h : -int64_t(::posix_fadvise(h, off_t(a[1]), off_t(a[2]), int(a[3])));
        break;
      }
      case nr::setxattr: case nr::lsetxattr: case nr::fsetxattr: case nr::getxattr: case nr::lgetxattr:
      case nr::fgetxattr: case nr::listxattr: case nr::llistxattr: case nr::flistxattr: case nr::removexattr:
      case nr::lremovexattr: case nr::fremovexattr:
        r = sys_xattr(p, number, a);
        break;
      case nr::riscv_flush_icache:
        if (!riscv) { known = false; break; }
        p.cpu->invalidate();
        r = 0;
        break;
      case nr::membarrier: r = a[0] == 0 ? 0 : -EINVAL; break;  // MEMBARRIER_CMD_QUERY: none needed

      case nr::exit:
        exit_thread(p, int(a[0] & 0xff));
        return;
      case nr::exit_group:
        p.exited = true;
        p.exit_status = int(a[0] & 0xff);
        return;
      case nr::set_tid_address: p.cur->clear_child_tid = a[0]; r = p.cur->tid; break;
      case nr::set_robust_list: r = a[1] == 24 ? 0 : -EINVAL; break;
      case nr::futex: r = sys_futex(p, a); break;
      case nr::getpid: r = ::getpid(); break;
      case nr::gettid: r = p.cur->tid; break;
      case nr::getppid: r = ::getppid(); break;
      case nr::getuid: r = ::getuid(); break;
      case nr::geteuid: r = ::geteuid(); break;
      case nr::getgid: r = ::getgid(); break;
      case nr::getegid: r = ::getegid(); break;
      case nr::setpgid: r = host_result(::setpgid(pid_t(a[0]), pid_t(a[1]))); break;
      case nr::getpgid: r = host_result(::getpgid(pid_t(a[0]))); break;
      case nr::getsid: r = host_result(::getsid(pid_t(a[0]))); break;
      case nr::setsid: r = host_result(::setsid()); break;
      case nr::uname: r = sys_uname(p, a); break;
      case nr::prctl: r = sys_prctl(p, a); break;
      case nr::prlimit64: r = sys_prlimit64(p, a); break;
      case nr::getrlimit: {
        uint64_t args[6] = {0, a[0], 0, a[1], 0, 0};
        r = sys_prlimit64(p, args);
        break;
      }
      case nr::getrusage:
        r = out_struct<struct rusage>(p, a[1], [&](struct rusage* u) { return long(::getrusage(int(a[0]), u)); });
        break;
      case nr::times: {
        struct tms t;
        clock_t c = ::times(&t);
        if (a[0]) {
          if (!p.mem->accessible(a[0], sizeof t, kWrite)) { r = -EFAULT; break; }
          p.mem->write(a[0], &t, sizeof t);
        }
        r = int64_t(c);
        break;
      }
      case nr::sysinfo:
        r = out_struct<struct sysinfo>(p, a[0], [&](struct sysinfo* s) { return long(::sysinfo(s)); });
        break;
      case nr::sched_yield:
        // Let the other guest threads run before this one continues.
        p.yield_requested = p.threads.size() > 1;
        r = 0;
        break;
      case nr::sched_getaffinity: {
        if (a[1] == 0 || a[1] % 8) { r = -EINVAL; break; }
        void* buf = guest_buf(p, a[2], a[1], kWrite);
        r = buf ? host_result(::syscall(SYS_sched_getaffinity, 0, size_t(a[1]), buf)) : -EFAULT;
        break;
      }
      case nr::getrandom: {
        void* buf = guest_buf(p, a[0], a[1], kWrite);
        r = buf ? host_result(::getrandom(buf, a[1], unsigned(a[2]))) : -EFAULT;
        break;
      }
      case nr::clock_gettime:
      case nr::clock_getres: {
        struct timespec ts;
        long rc = number == nr::clock_gettime ? ::clock_gettime(clockid_t(a[0]), &ts) : ::clock_getres(clockid_t(a[0]), &ts);
        if (rc != 0) { r = -errno; break; }
        if (a[1]) p.mem->write(a[1], &ts, sizeof ts);
        r = 0;
        break;
      }
      case nr::gettimeofday: {
        struct timeval tv;
        ::gettimeofday(&tv, nullptr);
        if (a[0]) p.mem->write(a[0], &tv, sizeof tv);
        if (a[1]) p.mem->write(a[1], std::array<int32_t, 2>{0, 0}.data(), 8);
        r = 0;
        break;
      }
      case nr::nanosleep:
      case nr::clock_nanosleep: {
        const bool clk = number == nr::clock_nanosleep;
        struct timespec req, rem{};
        p.mem->read(clk ? a[2] : a[0], &req, sizeof req);
        uint64_t rem_addr = clk ? a[3] : a[1];
        if (p.threads.size() > 1) {
          // Sleeping on the host would stop every guest thread: wait in the scheduler instead.
          r = sleep_thread(p, clk ? clockid_t(a[0]) : CLOCK_MONOTONIC, clk && (a[1] & TIMER_ABSTIME), req, rem_addr);
          break;
        }
        long rc;
        for (;;) {
          rc = clk ? -::clock_nanosleep(clockid_t(a[0]), int(a[1]), &req, &rem) : (::nanosleep(&req, &rem) ? -errno : 0);
          if (rc != -EINTR || guest_signal_deliverable(p)) break;
          // Sleep on for what is left (an absolute clock_nanosleep simply waits again).
          if (!(clk && (a[1] & TIMER_ABSTIME))) req = rem;
        }
        if (rc == -EINTR && rem_addr) p.mem->write(rem_addr, &rem, sizeof rem);
        r = rc;
        break;
      }

      // riscv64 and aarch64 pass (flags, newsp, parent_tid, tls, child_tid).
      case nr::clone: r = do_clone(p, a[0], a[1], a[2], a[4], a[3]); break;
      case nr::clone3: r = sys_clone3(p, a); break;
      case nr::wait4: r = sys_wait4(p, a); break;
      case nr::execve: r = sys_execve(p, a); break;

      case nr::rt_sigaction: r = sys_rt_sigaction(p, a); break;
      case nr::rt_sigprocmask: r = sys_rt_sigprocmask(p, a); break;
      case nr::rt_sigpending: {
        uint64_t set = 0;
        for (const PendingSignal& s : p.sig.pending) set |= gsig::bit(s.signo) & p.ts().blocked;
        for (const PendingSignal& s : p.ts().pending) set |= gsig::bit(s.signo) & p.ts().blocked;
        p.mem->write_val(a[0], set);
        r = 0;
        break;
      }
      case nr::rt_sigreturn: sigreturn(p); return;
      case nr::rt_sigsuspend: {
        if (a[1] != 8) { r = -EINVAL; break; }
        r = sigsuspend(p, p.mem->read_val<uint64_t>(a[0]));
        break;
      }
      case nr::sigaltstack: r = sys_sigaltstack(p, a); break;
      case nr::kill: r = sys_kill_like(p, int64_t(int32_t(a[0])), 0, int(a[1]), false); break;
      case nr::tkill: r = sys_kill_like(p, -1, int64_t(int32_t(a[0])), int(a[1]), true); break;
      case nr::tgkill: r = sys_kill_like(p, int64_t(int32_t(a[0])), int64_t(int32_t(a[1])), int(a[2]), true); break;

      // Not provided by this kernel model; the C library falls back quietly (qemu answers the same).
      case nr::rseq: r = -ENOSYS; break;
      case nr::riscv_hwprobe: known = riscv; break;
      default:
        if (!known) break;
        if (number >= nr::legacy_base && number < nr::legacy_end) r = sys_legacy(p, number, a);
        else known = handle_socket_syscall(p, number, a, r) || handle_event_syscall(p, number, a, r);
        break;
    }
  } catch (const GuestAccessError&) {
    r = -EFAULT;
  }
  // A call that ran again after an Io wait (threads.cpp) is finished, or parked anew.
  p.cur->resumed = false;
  if (p.opts.strace && r != kNoResult && number != nr::exit && number != nr::exit_group)
    p.diag_write(trace + trace_result(r));
  if (r == kNoResult) return;
  // Interrupted by a signal whose handler asked for SA_RESTART (or by one that needs no handler):
  // re-execute the syscall once the handler returns, as the kernel's -ERESTARTSYS does.
  if (r == -EINTR && restartable(number) && deliverable_signal_restarts(p)) {
    p.regs().set_pc(syscall_pc);
    return;
  }
  if (!known) {
    std::string msg = "vmkit: unsupported syscall " + std::to_string(guest_number) + " (" +
                      p.arch->syscall_name(guest_number) + ") at pc=" + hex(syscall_pc);
    if (p.opts.strict) throw UnsupportedSyscallError(msg);
    if (p.reported_syscalls.insert(guest_number).second) p.diag(msg);
  }
  if (!p.exited) p.regs().set_result(uint64_t(r));
}

}  // namespace vmkit::linux_user
