// vmkit-run: the `vmkit run` command as a native program, so running a guest program costs no
// Python start-up (qemu-user starts in a few milliseconds; Python with vmkit imported takes tens).
//
//   vmkit-run [-L SYSROOT] [-0 ARGV0] [-E NAME=VALUE]... [-U NAME]... [--strict]
//             [--engine interp|jit|auto] [--strace] PROGRAM [ARGS...]
//
// Behaves like qemu-riscv64 or qemu-aarch64 (by the program's ELF machine): the guest's
// stdin/stdout/stderr are this process's, the exit status is the guest's, and a guest killed by
// a signal kills this process with the same signal. The Python command line (`vmkit run`,
// python/vmkit/cli.py) runs this program.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"
#include "os/linux/process.h"

extern char** environ;

namespace {

constexpr const char* kUsage =
    "usage: vmkit run [-h] [-L SYSROOT] [-0 ARGV0] [-E NAME=VALUE] [-U NAME] [--strict]\n"
    "                 [--engine {interp,jit,auto}] [--strace] program ...\n";

constexpr const char* kHelp =
    "\n"
    "Run a Linux program of another architecture (like qemu-user).\n"
    "\n"
    "positional arguments:\n"
    "  program               the guest program\n"
    "  args                  its arguments\n"
    "\n"
    "options:\n"
    "  -h, --help            show this help message and exit\n"
    "  -L SYSROOT            where the guest's dynamic linker and libraries live\n"
    "                        (e.g. /usr/aarch64-linux-gnu; default: $QEMU_LD_PREFIX,\n"
    "                        else /usr/ARCH-linux-gnu for the program's ARCH)\n"
    "  -0 ARGV0              argv[0] to pass to the program\n"
    "  -E NAME=VALUE         set an environment variable for the guest (repeatable),\n"
    "                        like qemu-user's -E\n"
    "  -U NAME               remove an environment variable from the guest's (repeatable)\n"
    "  --strict              stop with an error on an unsupported syscall\n"
    "  --engine {interp,jit,auto}\n"
    "                        interp: the interpreter; jit: compile every block to host\n"
    "                        code; auto: compile hot blocks\n"
    "  --strace, -strace     log every syscall with its arguments and result on stderr,\n"
    "                        like qemu-user's -strace\n";

// A usage error, reported as argparse does (the Python command line's conventions): status 2.
[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "%svmkit run: error: %s\n", kUsage, what.c_str());
  std::exit(2);
}

// End this process the way the guest ended: killed by the same signal (as qemu-user does),
// without a core dump of the host process.
[[noreturn]] void die_of_signal(int signo) {
  std::fflush(nullptr);
  struct rlimit no_core = {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(signo, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::kill(::getpid(), signo);
  ::_exit(128 + signo);  // only if the signal did not end us (it is ignored)
}

// Sets NAME=VALUE in env, replacing an existing NAME.
void set_env(std::vector<std::string>& env, const std::string& assignment) {
  std::string_view name = std::string_view(assignment).substr(0, assignment.find('='));
  for (auto& e : env)
    if (e.size() > name.size() && e[name.size()] == '=' && std::string_view(e).substr(0, name.size()) == name) {
      e = assignment;
      return;
    }
  env.push_back(assignment);
}

void unset_env(std::vector<std::string>& env, const std::string& name) {
  std::erase_if(env, [&](const std::string& e) {
    return e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  namespace lu = vmkit::linux_user;
  lu::ProcessOptions opts;
  for (char** e = environ; e && *e; ++e) opts.env.emplace_back(*e);
  std::string argv0;
  bool have_argv0 = false;
  if (const char* prefix = std::getenv("QEMU_LD_PREFIX")) opts.sysroot = prefix;
  std::vector<std::string> set_vars, unset_vars;  // in order, as given

  int i = 1;
  // An option's value: the rest of this argument (-Lpath, --engine=jit) or the next one.
  auto value = [&](const char* opt, size_t skip) -> std::string {
    if (argv[i][skip] != '\0') return argv[i] + skip + (argv[i][skip] == '=' ? 1 : 0);
    if (i + 1 >= argc) usage_error(std::string("argument ") + opt + ": expected one argument");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;  // the program
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a.substr(0, 2) == "-L") {
      opts.sysroot = value("-L", 2);
    } else if (a.substr(0, 2) == "-0") {
      argv0 = value("-0", 2);
      have_argv0 = true;
    } else if (a.substr(0, 2) == "-E") {
      set_vars.push_back(value("-E", 2));
    } else if (a.substr(0, 2) == "-U") {
      unset_vars.push_back(value("-U", 2));
    } else if (a == "--strict") {
      opts.strict = true;
    } else if (a == "--strace" || a == "-strace") {
      opts.strace = true;
    } else if (a.substr(0, 8) == "--engine") {
      opts.engine = value("--engine", 8);
      if (opts.engine != "interp" && opts.engine != "jit" && opts.engine != "auto")
        usage_error("argument --engine: invalid choice: '" + opts.engine + "' (choose from 'interp', 'jit', 'auto')");
    } else {
      usage_error("unrecognized arguments: " + std::string(a));
    }
  }
  if (i >= argc) usage_error("the following arguments are required: program, args");
  for (const std::string& s : set_vars) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "vmkit: -E wants NAME=VALUE, not '%s'\n", s.c_str());
      return 1;
    }
    set_env(opts.env, s);
  }
  for (const std::string& name : unset_vars) unset_env(opts.env, name);

  opts.path = argv[i];
  opts.argv.push_back(have_argv0 ? argv0 : opts.path);
  for (int k = i + 1; k < argc; ++k) opts.argv.emplace_back(argv[k]);
  opts.diag_fd = 2;  // vmkit's own reports go with the guest's stderr, as qemu-user's do

  lu::ProcessResult r;
  try {
    r = lu::run_process(opts);
  } catch (const vmkit::VmkitError& e) {
    std::fprintf(stderr, "vmkit: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmkit: internal error: %s\n", e.what());
    return 70;  // EX_SOFTWARE
  }
  if (r.signal) die_of_signal(r.signal);
  return r.exit_status;
}
