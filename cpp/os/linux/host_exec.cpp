// execve of programs the host runs natively. Under qemu-user a guest's execve goes to the host
// kernel, so a guest shell that finds a host tool on PATH (busybox sh running `tar`, say) runs
// it natively. vmkit does the same: the host program is started in a child process set up as
// the guest process would be for an exec (fds, ignored signals, signal mask), and the guest then
// ends with that program's status - so it also works when the guest runs inside the caller's
// process (vmkit.linux.run), which a real exec would replace.
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "os/linux/guest_process.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {

namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#else
#error "vmkit's user mode knows the host ELF machine of x86-64 and AArch64 hosts only"
#endif

bool is_host_elf(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  ssize_t n = ::read(fd, &eh, sizeof eh);
  ::close(fd);
  return n == ssize_t(sizeof eh) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
         eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == kHostMachine;
}

// In the forked child: becomes the host program or reports errno on `report_fd`.
[[noreturn]] void become_host_program(const Process& p, const std::string& path, char* const* argv,
                                      char* const* envp, int report_fd) {
  // Guest fd g must be host fd g in the new program. Move every source, and the report pipe,
  // out of the way first (above all targets), then place them, so nothing is overwritten
  // before it is copied.
  std::vector<std::pair<int, int>> plan;  // guest fd, temporary host fd
  const int top = p.fds.end();
  report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, top);
  if (report_fd < 0) ::_exit(127);  // cannot even report: the parent sees a start, then 127
  for (int g = 0; g < top; ++g) {
    if (!p.fds.is_open(g) || p.fds.cloexec(g)) continue;
    int tmp = ::fcntl(p.fds.host(g), F_DUPFD_CLOEXEC, top);
    if (tmp < 0) goto fail;
    plan.push_back({g, tmp});
  }
  for (int g = 0; g < top; ++g) ::close(g);  // nothing but the guest's fds may reach the program
  for (auto [g, tmp] : plan)
    if (::dup2(tmp, g) < 0) goto fail;
  // The temporaries and any other host fd of vmkit's, all but the report pipe.
  if (report_fd > top) ::close_range(unsigned(top), unsigned(report_fd) - 1, 0);
  ::close_range(unsigned(report_fd) + 1, ~0u, 0);
  // Signals: what the guest ignores stays ignored, everything else is default; guest mask.
  for (int s = 1; s <= kNumSignals; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::signal(s, p.sig.actions[s].handler == gsig::kSIG_IGN ? SIG_IGN : SIG_DFL);
  }
  {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s = 1; s <= kNumSignals; ++s)
      if (p.cur->sig.blocked & (1ull << (s - 1))) sigaddset(&mask, s);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  }
  ::execve(path.c_str(), argv, envp);
fail:
  int err = errno;
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

bool is_host_program(const std::string& path) {
  std::string interp, arg;
  if (read_shebang(path, interp, arg)) return is_host_elf(interp);
  return is_host_elf(path);
}

int64_t exec_host_program(Process& p, const std::string& path, const std::vector<std::string>& argv,
                          const std::vector<std::string>& env) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cargv.push_back(nullptr);
  cenv.push_back(nullptr);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return -errno;
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return -err;
  }
  if (pid == 0) become_host_program(p, path, cargv.data(), cenv.data(), report[1]);
  ::close(report[1]);
  int err = 0;
  ssize_t n;
  do n = ::read(report[0], &err, sizeof err); while (n < 0 && errno == EINTR);
  ::close(report[0]);
  int status = 0;
  if (n == ssize_t(sizeof err)) {
    // The program could not be started: execve fails in the guest, which goes on.
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return -err;
  }
  // Started: from the guest's point of view its process is now that program.
  if (p.vfork_release_fd >= 0) {
    ::close(p.vfork_release_fd);
    p.vfork_release_fd = -1;
  }
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  p.exited = true;
  if (WIFSIGNALED(status)) {
    p.killed_by = WTERMSIG(status);
    p.exit_status = 128 + p.killed_by;
  } else {
    p.exit_status = WEXITSTATUS(status);
  }
  return 0;
}

}  // namespace vmkit::linux_user
