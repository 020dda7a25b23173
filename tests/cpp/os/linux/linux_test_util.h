// Helpers shared by the Linux user-mode end-to-end tests: compiling guest programs at test time
// (riscv64 by default; aarch64 with kAarch64Tools), running them under vmkit with stdout
// captured, and under qemu-user for reference.
#pragma once

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "os/linux/process.h"

namespace vmkit::linux_user {
// Each test file gets its own copy (and its own temporary directory).
namespace {


bool have_tool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A guest architecture's cross compiler and qemu-user command.
struct GuestTools {
  const char* gcc;
  const char* qemu;       // the program (have_tool checks it)
  const char* qemu_args;  // its options
};
constexpr GuestTools kRiscv64Tools{"riscv64-linux-gnu-gcc", "qemu-riscv64", ""};
// A plain Cortex-A72 (FP and AdvSIMD), so glibc takes the same paths under qemu as under vmkit,
// which advertises no SVE, MTE or LSE.
constexpr GuestTools kAarch64Tools{"aarch64-linux-gnu-gcc", "qemu-aarch64",
                                   "-cpu cortex-a76 -L /usr/aarch64-linux-gnu"};

// One temp directory per test binary run; programs are compiled once per source.
class GuestPrograms {
 public:
  static GuestPrograms& get() {
    static GuestPrograms g;
    return g;
  }
  bool have_gcc() const { return have_gcc_; }
  bool have_qemu() const { return have_qemu_; }
  const std::string& dir() const { return dir_; }

  // Compiles `source` statically; returns the binary path ("" with the compiler output in err).
  std::string compile(const std::string& name, const std::string& source, std::string& err,
                      const std::string& flags = "-static -O2", const GuestTools& tools = kRiscv64Tools) {
    auto it = built_.find(name);
    if (it != built_.end()) return it->second;
    std::string src = dir_ + "/" + name + ".c", bin = dir_ + "/" + name, log = dir_ + "/" + name + ".log";
    std::ofstream(src) << source;
    std::string cmd = std::string(tools.gcc) + " " + flags + " -o " + bin + " " + src + " >" + log + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      err = ss.str();
      return "";
    }
    built_[name] = bin;
    return bin;
  }

 private:
  GuestPrograms() {
    have_gcc_ = have_tool("riscv64-linux-gnu-gcc");
    have_qemu_ = have_tool("qemu-riscv64");
    char tmpl[] = "/tmp/vmkit-linux-test-XXXXXX";
    if (mkdtemp(tmpl)) dir_ = tmpl;
  }
  ~GuestPrograms() {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  bool have_gcc_ = false, have_qemu_ = false;
  std::string dir_;
  std::map<std::string, std::string> built_;
};

#define REQUIRE_CROSS_GCC()                                                                     \
  if (!GuestPrograms::get().have_gcc())                                                         \
  GTEST_SKIP() << "riscv64-linux-gnu-gcc is not installed (apt-get install gcc-riscv64-linux-gnu)"

std::string slurp_fd(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  return out;
}

struct VmRun {
  ProcessResult result;
  std::string out;
};

// Runs under vmkit with stdout captured in a temp file (as python/vmkit/linux.py does).
VmRun run_vm(const std::string& bin, std::vector<std::string> args = {}, std::vector<std::string> env = {},
             bool strict = false) {
  FILE* out = std::tmpfile();
  int devnull = ::open("/dev/null", O_WRONLY);
  ProcessOptions o;
  o.path = bin;
  o.argv = {bin};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = env;
  o.stdout_fd = fileno(out);
  o.stderr_fd = devnull;
  o.diag_fd = devnull;  // the result carries the diagnostics; keep the test log clean
  o.strict = strict;
  VmRun r;
  try {
    r.result = run_process(o);
  } catch (...) {
    std::fclose(out);
    ::close(devnull);
    throw;
  }
  r.out = slurp_fd(fileno(out));
  std::fclose(out);
  ::close(devnull);
  return r;
}

struct QemuRun {
  int status = -1;  // as the shell reports it
  std::string out;
};

QemuRun run_qemu(const std::string& bin, const std::vector<std::string>& args = {}, const std::string& env = "",
                 const GuestTools& tools = kRiscv64Tools) {
  std::string outfile = GuestPrograms::get().dir() + "/qemu.out";
  std::string cmd = "env -i " + env + " " + tools.qemu + " " + tools.qemu_args + " " + bin;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >" + outfile + " 2>/dev/null";
  QemuRun q;
  int st = std::system(cmd.c_str());
  q.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream in(outfile);
  std::stringstream ss;
  ss << in.rdbuf();
  q.out = ss.str();
  return q;
}

std::string build(const std::string& name, const std::string& src, const std::string& flags = "-static -O2",
                  const GuestTools& tools = kRiscv64Tools) {
  std::string err;
  std::string bin = GuestPrograms::get().compile(name, src, err, flags, tools);
  EXPECT_FALSE(bin.empty()) << "cross compilation of " << name << " failed:\n" << err;
  return bin;
}

}  // namespace
}  // namespace vmkit::linux_user
