// Starting a guest program (loading, the initial stack the kernel builds) and the run loop that
// turns CPU stops into syscalls and signals.
#include "os/linux/process.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/errors.h"
#include "core/hooks.h"
#include "os/linux/elf_loader.h"
#include "os/linux/guest_process.h"
#include "os/linux/signals.h"

namespace vmkit::linux_user {


void Process::diag(const std::string& line) {
  diagnostics += line + "\n";
  diag_write(line);
}

void Process::diag_write(const std::string& line) const {
  std::string text = line + "\n";
  if (opts.diag_fd < 0) return;
  const char* d = text.data();
  size_t left = text.size();
  while (left) {
    ssize_t n = ::write(opts.diag_fd, d, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // diagnostics are best effort: a closed diag fd must not stop the guest
    d += n;
    left -= size_t(n);
  }
}

// "#!interp [arg]" at the start of a file: returns true and fills interp/arg.
bool read_shebang(const std::string& path, std::string& interp, std::string& arg) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return false;
  std::string line(buf + 2, size_t(n - 2));
  line = line.substr(0, line.find('\n'));
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) return false;
  size_t e = line.find_first_of(" \t", b);
  interp = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
  arg.clear();
  if (e != std::string::npos) {
    size_t ab = line.find_first_not_of(" \t", e);
    if (ab != std::string::npos) {
      size_t ae = line.find_last_not_of(" \t\r");
      arg = line.substr(ab, ae - ab + 1);
    }
  }
  return true;
}

namespace {

constexpr uint64_t kStackSize = 8ull << 20;
// Like the kernel's mmap_base: leave room below the stack for it to grow (gap >= 128 MiB).
constexpr uint64_t kStackGap = 128ull << 20;
constexpr int kMaxScriptDepth = 4;

// The arch's Debian cross sysroot if it is installed, else none.
std::string default_sysroot(const LinuxArch& arch) {
  return ::access((std::string(arch.default_sysroot) + "/lib").c_str(), R_OK) == 0 ? arch.default_sysroot : "";
}

// AT_* values (include/uapi/linux/auxvec.h) that <elf.h> may lack.
constexpr uint64_t kAT_RANDOM = 25, kAT_EXECFN = 31, kAT_HWCAP2 = 26, kAT_SECURE = 23, kAT_PLATFORM = 15,
                   kAT_MINSIGSTKSZ = 51;

// Builds the initial stack: argc, argv[], 0, envp[], 0, auxv pairs, AT_NULL, with the strings and
// AT_RANDOM bytes above them, as fs/binfmt_elf.c create_elf_tables does. Returns sp.
uint64_t build_stack(GuestMemory& mem, uint64_t top, const LinuxArch& arch, const std::vector<std::string>& argv,
                     const std::vector<std::string>& env, const std::string& execfn,
                     const LoadedImage& main, uint64_t interp_base) {
  uint64_t sp = top - 8;
  auto push_str = [&](const std::string& s) {
    sp -= s.size() + 1;
    mem.write(sp, s.c_str(), s.size() + 1);
    return sp;
  };
  uint64_t execfn_addr = push_str(execfn);
  std::vector<uint64_t> env_ptrs, arg_ptrs;
  for (auto it = env.rbegin(); it != env.rend(); ++it) env_ptrs.insert(env_ptrs.begin(), push_str(*it));
  for (auto it = argv.rbegin(); it != argv.rend(); ++it) arg_ptrs.insert(arg_ptrs.begin(), push_str(*it));
  const uint64_t platform_addr = arch.platform ? push_str(arch.platform) : 0;
  uint8_t rnd[16];
  if (::getrandom(rnd, sizeof rnd, 0) != ssize_t(sizeof rnd))
    for (auto& b : rnd) b = uint8_t(std::rand());
  sp = (sp - sizeof rnd) & ~uint64_t(15);
  uint64_t random_addr = sp;
  mem.write(sp, rnd, sizeof rnd);

  std::vector<uint64_t> auxv = {
      AT_PHDR, main.phdr, AT_PHENT, main.phent, AT_PHNUM, main.phnum, AT_PAGESZ, GuestMemory::kPageSize,
      AT_BASE, interp_base, AT_FLAGS, 0, AT_ENTRY, main.entry, AT_UID, uint64_t(::getuid()),
      AT_EUID, uint64_t(::geteuid()), AT_GID, uint64_t(::getgid()), AT_EGID, uint64_t(::getegid()),
      kAT_SECURE, 0, kAT_RANDOM, random_addr, AT_HWCAP, arch.hwcap, kAT_HWCAP2, arch.hwcap2, AT_CLKTCK, 100,
      kAT_EXECFN, execfn_addr};
  if (arch.platform) auxv.insert(auxv.end(), {kAT_PLATFORM, platform_addr});
  if (arch.aux_minsigstksz) auxv.insert(auxv.end(), {kAT_MINSIGSTKSZ, arch.aux_minsigstksz});
  auxv.insert(auxv.end(), {AT_NULL, 0});
  std::vector<uint64_t> words;
  words.push_back(argv.size());
  words.insert(words.end(), arg_ptrs.begin(), arg_ptrs.end());
  words.push_back(0);
  words.insert(words.end(), env_ptrs.begin(), env_ptrs.end());
  words.push_back(0);
  words.insert(words.end(), auxv.begin(), auxv.end());
  sp = (sp - words.size() * 8) & ~uint64_t(15);
  mem.write(sp, words.data(), words.size() * 8);
  return sp;
}

void exec_elf(Process& p, const std::string& path, const std::vector<std::string>& argv,
              const std::vector<std::string>& env, const std::string& execfn) {
  ElfImage img = parse_elf(path);
  const LinuxArch& arch = *img.arch;
  ElfImage interp;
  if (!img.interp.empty()) {
    interp = parse_elf(find_interpreter(img.interp, p.opts.sysroot, arch));
    if (!interp.interp.empty()) throw ElfError("interpreter '" + interp.path + "' itself asks for an interpreter; it is not a dynamic linker");
    if (interp.arch != img.arch)
      throw ElfError("interpreter '" + interp.path + "' is for " + interp.arch->name + ", but '" + path + "' is for " +
                     arch.name);
  }
  auto mem = std::make_unique<GuestMemory>();
  LoadedImage main = load_elf(img, *mem, kPieBase);
  const uint64_t top = mem->size();
  const uint64_t stack_bottom = top - kStackSize;
  mem->map(stack_bottom, kStackSize, kRead | kWrite | (img.exec_stack ? kExec : 0), "[stack]");
  const uint64_t mmap_base = stack_bottom - kStackGap;

  // The signal return trampoline, standing in for the vDSO's __vdso_rt_sigreturn (riscv64:
  // li a7, 139; ecall. aarch64: mov x8, #139; svc #0).
  uint64_t tramp = mem->find_free(GuestMemory::kPageSize, mmap_base);
  if (!tramp) throw ElfError("no room in the guest address space for the signal trampoline");
  mem->map(tramp, GuestMemory::kPageSize, kRead | kWrite, "[vdso]");
  mem->write(tramp, arch.trampoline, sizeof arch.trampoline);
  mem->protect(tramp, GuestMemory::kPageSize, kRead | kExec);

  uint64_t entry = main.entry, interp_base = 0;
  if (!img.interp.empty()) {
    uint64_t span = interp.max_vaddr - interp.min_vaddr;
    uint64_t base = mem->find_free(span, tramp);
    if (!base) throw ElfError("no room in the guest address space for interpreter '" + interp.path + "'");
    LoadedImage li = load_elf(interp, *mem, base);
    interp_base = li.load_bias + interp.min_vaddr;
    entry = li.entry;
  }
  uint64_t sp = build_stack(*mem, top, arch, argv, env, execfn, main, interp_base);

  // Commit: nothing below can fail, so a failed execve leaves the old image running.
  if (p.cpu) p.insns_before_exec += p.cpu->stats().insns_executed;
  p.cpu.reset();
  p.mem = std::move(mem);
  // An execve may start a program of another architecture (as binfmt_misc and qemu-user would):
  // only the calling thread survives, and its registers are made anew below.
  if (p.arch != &arch) {
    p.fe = arch.make_frontend();
    p.arch = &arch;
    if (p.sysroot_from_arch) p.sysroot = default_sysroot(arch);
  }
  p.cpu = std::make_unique<Cpu>(*p.fe, *p.mem);
  p.cpu->engine = parse_engine(p.opts.engine);
  if (p.opts.hooks) p.opts.hooks->attach(*p.cpu);
  arch.init_registers(p.cpu->state(), entry, sp);
  p.brk_start = p.brk_cur = page_up(main.end);
  p.mmap_base = tramp;
  p.sigreturn_trampoline = tramp;
  p.exe_path = path;
  // execve keeps ignored signals ignored and resets handled ones to the default.
  for (auto& a : p.sig.actions) {
    if (a.handler != gsig::kSIG_IGN) a.handler = gsig::kSIG_DFL;
    a.flags = 0;
    a.mask = 0;
  }
  // Only the calling thread survives an execve; it becomes the main thread.
  keep_only_current_thread(p);
  p.ts().altstack_sp = p.ts().altstack_size = 0;
  p.ts().altstack_flags = gsig::kSS_DISABLE;
  p.cur->clear_child_tid = 0;
  p.cur->after_syscall = false;
}

}  // namespace

namespace {

// The LinuxArch of the program at path (through #! lines), nullptr if vmkit does not run it.
const LinuxArch* program_linux_arch(const std::string& path, const std::string& sysroot) {
  std::string root = sysroot;
  if (root.empty())
    if (const char* e = std::getenv("QEMU_LD_PREFIX")) root = e;
  std::string file = path;
  for (int depth = 0; depth <= kMaxScriptDepth; ++depth) {
    std::string interp, arg;
    if (!read_shebang(file, interp, arg)) break;
    file = !root.empty() && ::access((root + interp).c_str(), R_OK) == 0 ? root + interp : interp;
  }
  Elf64_Ehdr eh;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  const bool complete = ::read(fd, &eh, sizeof eh) == ssize_t(sizeof eh);
  ::close(fd);
  if (!complete || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) return nullptr;
  return linux_arch_for_machine(eh.e_machine);
}

}  // namespace

std::string program_arch(const std::string& path, const std::string& sysroot) {
  const LinuxArch* arch = program_linux_arch(path, sysroot);
  return arch ? arch->name : "";
}

void exec_image(Process& p, const std::string& path, const std::vector<std::string>& argv,
                const std::vector<std::string>& env) {
  std::string file = path;
  std::vector<std::string> args = argv;
  for (int depth = 0;; ++depth) {
    std::string interp, arg;
    if (!read_shebang(file, interp, arg)) break;
    if (depth == kMaxScriptDepth) throw ElfError("'" + path + "': too many levels of #! interpreters");
    // The kernel's binfmt_script: interp [arg] script args[1:].
    std::vector<std::string> next = {interp};
    if (!arg.empty()) next.push_back(arg);
    next.push_back(file);
    if (args.size() > 1) next.insert(next.end(), args.begin() + 1, args.end());
    args = std::move(next);
    std::string host_interp = interp;
    if (!p.sysroot.empty() && ::access((p.sysroot + interp).c_str(), R_OK) == 0) host_interp = p.sysroot + interp;
    file = host_interp;
  }
  exec_elf(p, file, args, env, path);
  p.fds.close_on_exec();
}

namespace {

// While the guest runs, a write to a closed pipe must become EPIPE (and a guest SIGPIPE), not
// kill vmkit's own process.
struct IgnoreSigpipe {
  struct sigaction old {};
  IgnoreSigpipe() {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGPIPE, &sa, &old);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old, nullptr); }
};

}  // namespace

namespace {
// A hook asked to stop (or failed): the process ends here, as the caller's run() reports.
bool stopped_by_hooks(Process& p) {
  HookSet* h = p.opts.hooks;
  if (!h || !(h->stop_requested() || h->failed())) return false;
  p.exited = true;
  p.stopped_by_hook = true;
  return true;
}
}  // namespace

namespace {
// A call into x86-64's vsyscall page (old static binaries call time() there): the entry's syscall
// with the caller's arguments, then a return to the caller. false: not an entry (the fetch then
// faults, as it does on Linux for any other address of the page).
bool emulate_vsyscall(Process& p, uint64_t addr) {
  const LinuxArch& arch = *p.arch;
  if (!arch.vsyscall_base || addr < arch.vsyscall_base || addr - arch.vsyscall_base >= 3 * 0x400 ||
      (addr - arch.vsyscall_base) % 0x400)
    return false;
  GuestRegs regs = p.regs();
  if (!p.mem->accessible(regs.sp(), 8, kRead)) return false;
  const uint64_t ret = p.mem->read_val<uint64_t>(regs.sp());
  regs.set(arch.off_syscall_nr, arch.vsyscall_numbers[(addr - arch.vsyscall_base) / 0x400]);
  regs.set_sp(regs.sp() + 8);
  regs.set_pc(ret);
  handle_syscall(p);
  return true;
}
}  // namespace

void handle_stop(Process& p, const Stop& s) {
  using namespace gsig;
  p.cur->after_syscall = s.reason == StopReason::Syscall;
  HookSet* hooks = p.opts.hooks;
  switch (s.reason) {
    case StopReason::Limit:
    case StopReason::StopPoint:  // (the process sets none)
    case StopReason::System:     // (user mode has no system core)
      stopped_by_hooks(p);       // stop() from another thread
      return;
    case StopReason::Hooked:     // a hook left the block: resume where it left pc, or stop
      hooks->complete_stopped_insn();
      stopped_by_hooks(p);
      return;
    case StopReason::Syscall:
      if (hooks && (hooks->types() & kHookSyscall)) {
        // The hook sees pc at the syscall and the syscall's registers; it may change them, or do
        // the syscall itself (its result already in the result register).
        int done = hooks->call(kHookSyscall, s.pc, 0, p.regs().syscall_nr(), s.pc);
        if (stopped_by_hooks(p)) return;
        if (done) {
          p.cur->after_syscall = false;
          if (p.regs().pc() == s.pc) p.regs().set_pc(s.pc + p.arch->syscall_insn_len);
          return;
        }
        if (p.regs().pc() != s.pc) return;  // the hook moved pc: no syscall
      }
      p.regs().set_pc(s.pc + p.arch->syscall_insn_len);
      p.arch->syscall_entry(p.regs().data(), s.pc + p.arch->syscall_insn_len);
      handle_syscall(p);
      return;
    case StopReason::IllegalInsn:
      force_signal(p, PendingSignal{kSIGILL, p.arch->ill_code, s.pc}, s.pc, s.insn, s.insn_len);
      return;
    case StopReason::Breakpoint:
      // x86's int3 is a trap: the handler sees rip past it (and si_code SI_KERNEL, no address).
      if (p.arch->breakpoint_reports_next_pc) {
        p.regs().set_pc(s.pc + s.insn_len);
        force_signal(p, PendingSignal{kSIGTRAP, p.arch->breakpoint_code, 0}, s.pc + s.insn_len, s.insn, s.insn_len);
        return;
      }
      force_signal(p, PendingSignal{kSIGTRAP, p.arch->breakpoint_code, s.pc}, s.pc, s.insn, s.insn_len);
      return;
    case StopReason::MemFault: {
      FaultInfo fault;
      if (hooks && hooks->handle_fault(s, fault)) return;  // a hook mapped memory: retry
      if (stopped_by_hooks(p)) return;
      bool mapped = p.mem->accessible(page_down(s.addr), 1, 0);
      PendingSignal sig{kSIGSEGV, mapped ? kSEGV_ACCERR : kSEGV_MAPERR, s.addr};
      sig.write = s.write;
      sig.present = mapped && p.mem->accessible(page_down(s.addr), 1, kRead);
      force_signal(p, sig, s.pc, s.insn, s.insn_len);
      return;
    }
    case StopReason::FetchFault: {
      FaultInfo fault;
      if (hooks && hooks->handle_fault(s, fault)) return;
      if (stopped_by_hooks(p)) return;
      if (emulate_vsyscall(p, s.addr)) return;
      bool mapped = p.mem->accessible(page_down(s.addr), 1, 0);
      force_signal(p, PendingSignal{kSIGSEGV, mapped ? kSEGV_ACCERR : kSEGV_MAPERR, s.addr}, s.addr, 0, 0);
      return;
    }
    case StopReason::Trap:
      // x86's #GP (SIGSEGV, SI_KERNEL) reports no address.
      force_signal(p, PendingSignal{s.signo, s.code, s.signo == kSIGSEGV && s.code == kSI_KERNEL ? 0 : s.addr}, s.pc,
                   s.insn, s.insn_len);
      return;
  }
}

namespace {

// A forked guest child ends its host process the way the guest ended, so the parent's wait4
// sees the same status the kernel would report.
[[noreturn]] void end_fork_child(const Process& p) {
  if (p.killed_by) {
    struct rlimit no_core {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(p.killed_by, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, p.killed_by);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), p.killed_by);
  }
  ::_exit(p.exit_status & 0xff);
}

}  // namespace

ProcessResult run_process(const ProcessOptions& opts) {
  struct DetachHooks {
    HookSet* h;
    ~DetachHooks() {
      if (h) h->detach();
    }
  } detach_hooks{opts.hooks};
  Process p;
  p.opts = opts;
  // Absolute guest paths are looked up here first (like qemu -L), so a dynamic program finds its
  // libraries; the Debian cross sysroot of the program's architecture is the default when it is
  // installed.
  if (!opts.sysroot.empty()) {
    p.sysroot = opts.sysroot;
  } else if (const char* e = std::getenv("QEMU_LD_PREFIX"); e && *e) {
    p.sysroot = e;
  } else {
    // Set now so that a script's #! interpreter is looked up there too; exec_image then keeps it
    // following the architecture of the ELF it loads (an execve may change it).
    p.sysroot_from_arch = true;
    if (const LinuxArch* arch = program_linux_arch(opts.path, "")) p.sysroot = default_sysroot(*arch);
  }
  const int std_fds[3] = {opts.stdin_fd, opts.stdout_fd, opts.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (std_fds[i] < 0) continue;
    int h = ::fcntl(std_fds[i], F_DUPFD_CLOEXEC, 3);
    if (h >= 0) p.fds.put(i, h, false);
  }
  std::vector<std::string> argv = opts.argv.empty() ? std::vector<std::string>{opts.path} : opts.argv;
  init_main_thread(p);
  exec_image(p, opts.path, argv, opts.env);

  IgnoreSigpipe ignore_sigpipe;
  HostSignalForwarding forward_host_signals;
  try {
    run_threads(p);
  } catch (const std::exception& e) {
    // A forked child must never return into the caller's code (it would run the caller twice).
    if (p.is_fork_child) {
      p.diag(std::string("vmkit: forked guest child stopped: ") + e.what());
      ::_exit(127);
    }
    throw;
  }
  if (p.is_fork_child) end_fork_child(p);
  ProcessResult r;
  r.exit_status = p.exit_status;
  r.signal = p.killed_by;
  r.insns = p.insns();
  r.diagnostics = p.diagnostics;
  r.stopped = p.stopped_by_hook;
  return r;
}

}  // namespace vmkit::linux_user
