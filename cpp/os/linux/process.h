// Linux user mode: run one guest program (riscv64 or aarch64, like qemu-riscv64 and qemu-aarch64)
// to completion.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmkit {
class HookSet;
}

namespace vmkit::linux_user {

struct ProcessOptions {
  std::string path;               // the program on the host file system
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value" strings, the guest's whole environment
  std::string sysroot;            // where PT_INTERP paths are looked up (empty: defaults)
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;  // host fds behind guest fds 0/1/2
  bool strict = false;            // unsupported syscall: throw instead of returning -ENOSYS
  int diag_fd = 2;                // where vmkit's own reports go (-1: nowhere)
  bool strace = false;            // write a line per syscall to diag_fd, like qemu-user's -strace
  // User hooks (code, block, memory, memory faults, syscalls), attached to the process's CPU.
  // A hook's stop() or failure ends the process (ProcessResult::stopped); the caller rethrows
  // hooks->take_error().
  HookSet* hooks = nullptr;
  std::string engine = "auto";  // "interp", "jit" or "auto" (see Engine)
};

struct ProcessResult {
  int exit_status = 0;     // exit code, or 128+signo if killed (as a shell reports it)
  int signal = 0;          // the signal that killed the guest, 0 if it exited
  uint64_t insns = 0;      // guest instructions executed
  std::string diagnostics; // everything written to diag_fd
  bool stopped = false;    // a hook stopped the process (or failed) before it exited
};

// Throws ElfError / UsageError for a program that cannot be loaded, UnsupportedSyscallError in
// strict mode. A forked guest child never returns from here: it ends the host child process.
ProcessResult run_process(const ProcessOptions& opts);

// The architecture ("riscv64", "aarch64") of the program at `path` - for a #! script, of its
// interpreter, looked up under `sysroot` (or $QEMU_LD_PREFIX) first, as a run would - or "" if
// it is not a program vmkit runs (run_process then reports why).
std::string program_arch(const std::string& path, const std::string& sysroot = "");

}  // namespace vmkit::linux_user
