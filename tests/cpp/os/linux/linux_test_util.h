// Helpers shared by the Linux user-mode end-to-end tests: compiling guest programs at test time
// (riscv64 by default; aarch64 with kAarch64Tools), running them under vmkit with stdout
// captured, and under qemu-user for reference; hand-made ELF images, a sandbox directory with a
// program in it, and runs driven by a script of syscall steps. (The functions are inline: each
// test file uses some of them.)
#pragma once

#include <elf.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/errors.h"
#include "core/hooks.h"
#include "frontend/x86_64/state.h"
#include "mmu/guest_memory.h"
#include "os/linux/process.h"

namespace vmkit::linux_user {
// Each test file gets its own copy (and its own temporary directory).
namespace {


inline bool have_tool(const char* name) {
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

inline std::string slurp_fd(int fd) {
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
inline VmRun run_vm(const std::string& bin, std::vector<std::string> args = {}, std::vector<std::string> env = {},
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

inline QemuRun run_qemu(const std::string& bin, const std::vector<std::string>& args = {}, const std::string& env = "",
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

inline std::string build(const std::string& name, const std::string& src, const std::string& flags = "-static -O2",
                  const GuestTools& tools = kRiscv64Tools) {
  std::string err;
  std::string bin = GuestPrograms::get().compile(name, src, err, flags, tools);
  EXPECT_FALSE(bin.empty()) << "cross compilation of " << name << " failed:\n" << err;
  return bin;
}

// ---- hand-made programs ---------------------------------------------------------------------------

// A program header of a hand-made ELF.
struct ElfSegment {
  uint32_t type = PT_LOAD;
  uint32_t flags = PF_R;
  uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0;
};

// A little-endian ELF64 header (`cls` as given) for `machine` with its program headers right
// after it, in a file of `size` bytes (zeros elsewhere).
inline std::vector<uint8_t> make_elf_image(uint16_t machine, uint64_t entry, const std::vector<ElfSegment>& segs,
                                           size_t size, uint16_t type = ET_EXEC, uint8_t cls = ELFCLASS64) {
  std::vector<uint8_t> f(size, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = cls;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_entry = entry;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = uint16_t(segs.size());
  std::memcpy(f.data(), &eh, sizeof eh);
  for (size_t i = 0; i < segs.size(); ++i) {
    Elf64_Phdr ph{};
    ph.p_type = segs[i].type;
    ph.p_flags = segs[i].flags;
    ph.p_offset = segs[i].offset;
    ph.p_vaddr = ph.p_paddr = segs[i].vaddr;
    ph.p_filesz = segs[i].filesz;
    ph.p_memsz = segs[i].memsz;
    ph.p_align = 0x1000;
    std::memcpy(f.data() + sizeof eh + i * sizeof ph, &ph, sizeof ph);
  }
  return f;
}

// A static ET_EXEC for `machine` of `size` bytes: one R+X PT_LOAD of the whole file at `base`,
// `code` at `entry`.
inline std::vector<uint8_t> static_program(uint16_t machine, uint64_t base, uint64_t entry,
                                           const std::vector<uint8_t>& code, size_t size = 0x200) {
  std::vector<uint8_t> f =
      make_elf_image(machine, entry, {ElfSegment{PT_LOAD, PF_R | PF_X, 0, base, size, size}}, size);
  std::memcpy(f.data() + (entry - base), code.data(), code.size());
  return f;
}

// A temporary directory with `program` (executable) as prog, a file, a directory and a symlink
// to the file.
struct Sandbox {
  std::string dir, prog;
  explicit Sandbox(const std::vector<uint8_t>& program) {
    char tmpl[] = "/tmp/vmkit-sandbox-XXXXXX";
    dir = mkdtemp(tmpl);
    prog = dir + "/prog";
    std::ofstream(prog, std::ios::binary)
        .write(reinterpret_cast<const char*>(program.data()), std::streamsize(program.size()));
    ::chmod(prog.c_str(), 0755);
    std::ofstream(dir + "/file") << "data\n";
    ::mkdir((dir + "/subdir").c_str(), 0755);
    if (::symlink((dir + "/file").c_str(), (dir + "/link").c_str()) != 0) ADD_FAILURE() << "symlink";
  }
  ~Sandbox() { std::system(("rm -rf " + dir).c_str()); }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  std::string operator/(const std::string& name) const { return dir + "/" + name; }
};

// The x87 and SSE state a new x86-64 process and a signal handler start with: the FPU as after
// fninit, MXCSR's default, every vector register zero.
inline void expect_x64_fpu_init_state(const x64::State& st) {
  EXPECT_EQ(st.mxcsr, 0x1f80u);
  EXPECT_EQ(st.fcw, 0x037fu);
  EXPECT_EQ(st.fsw, 0u);
  EXPECT_EQ(st.ftw, 0xffffu);
  for (unsigned i = 0; i < 16; ++i) EXPECT_TRUE(st.xmm[i][0] == 0 && st.xmm[i][1] == 0) << "xmm" << i;
}

// ---- runs driven by a script of syscall steps ------------------------------------------------

// One step per syscall: checks the previous syscall's effect and sets the registers for the next.
template <class State>
using SyscallStep = std::function<void(State&, GuestMemory&)>;

template <class State>
struct SyscallScript {
  HookSet* hooks = nullptr;
  std::vector<SyscallStep<State>> steps;
  size_t next = 0;
  bool then_run_freely = false;                 // the last step execs another program: let its syscalls run
  std::function<void(const State&)> at_start;  // called at the first syscall, before its step
};

template <class State>
int on_script_syscall(uint32_t, uint64_t, uint32_t, uint64_t, void* user) {
  auto& s = *static_cast<SyscallScript<State>*>(user);
  Cpu& cpu = *s.hooks->cpu();
  if (s.next == 0 && s.at_start) s.at_start(cpu.state_as<State>());
  if (s.next == s.steps.size() && s.then_run_freely) return 0;
  if (s.next == s.steps.size()) {
    ADD_FAILURE() << "the guest made more syscalls than the script has steps";
    s.hooks->stop();
    return 1;
  }
  s.steps[s.next++](cpu.state_as<State>(), cpu.memory());
  return 0;
}

// Runs prog (argv prog one, environment A=b, under the engine VMKIT_TEST_ENGINE names) with a
// syscall hook playing `script`'s steps; its stdout goes to *out (when given).
template <class State>
ProcessResult run_syscall_script(const std::string& prog, SyscallScript<State> script, std::string* out = nullptr) {
  HookSet hooks;
  script.hooks = &hooks;
  hooks.add(kHookSyscall, 0, ~0ull, on_script_syscall<State>, &script);
  hooks.begin_run(0);
  FILE* stdout_file = std::tmpfile();
  ProcessOptions o;
  o.path = prog;
  o.argv = {prog, "one"};
  o.env = {"A=b"};
  o.diag_fd = -1;
  o.stdout_fd = fileno(stdout_file);
  o.hooks = &hooks;
  if (const char* e = std::getenv("VMKIT_TEST_ENGINE"); e && std::string(e) == "jit") o.engine = "jit";
  ProcessResult r;
  try {
    r = run_process(o);
  } catch (...) {
    std::fclose(stdout_file);
    throw;
  }
  if (out) *out = slurp_fd(fileno(stdout_file));
  std::fclose(stdout_file);
  EXPECT_EQ(script.next, script.steps.size()) << "the guest ended before the script did";
  return r;
}

// The stack at `sp` as a run_syscall_script program starts: argc, argv[] (prog one), NULL, envp[]
// (A=b), NULL; returns the auxiliary vector after them.
inline std::map<uint64_t, uint64_t> expect_script_initial_stack(GuestMemory& m, uint64_t sp, const std::string& prog) {
  EXPECT_EQ(m.read_val<uint64_t>(sp), 2u);
  EXPECT_EQ(m.read_cstr(m.read_val<uint64_t>(sp + 8)), prog);
  EXPECT_EQ(m.read_cstr(m.read_val<uint64_t>(sp + 16)), "one");
  EXPECT_EQ(m.read_val<uint64_t>(sp + 24), 0u);
  EXPECT_EQ(m.read_cstr(m.read_val<uint64_t>(sp + 32)), "A=b");
  EXPECT_EQ(m.read_val<uint64_t>(sp + 40), 0u);
  std::map<uint64_t, uint64_t> aux;
  for (uint64_t a = sp + 48;; a += 16) {
    uint64_t type = m.read_val<uint64_t>(a);
    if (type == AT_NULL) break;
    aux[type] = m.read_val<uint64_t>(a + 8);
  }
  return aux;
}

}  // namespace
}  // namespace vmkit::linux_user
