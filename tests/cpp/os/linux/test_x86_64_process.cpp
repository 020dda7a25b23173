// x86-64 Linux user mode end to end, with a hand-made static EM_X86_64 ELF whose code is little
// more than `syscall; jmp back` (0f 05 eb fc): a syscall hook plays a script, one step per
// syscall, that checks the previous syscall's effect and sets the registers for the next (rax and
// rdi rsi rdx r10 r8 r9). A few more instructions - int3, ud2, hlt, calls into the vsyscall page,
// a sigreturn restorer - are reached by a step moving rip. This exercises the process layer for
// x86-64: the initial registers and auxv, syscall's rcx/r11, arch_prctl, the legacy calls x86-64
// has and asm-generic does not (checked against the host), the host's struct stat, the x86-64
// signal frame and rt_sigreturn, the fault reports and the vsyscall emulation.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"
#include "linux_test_util.h"
#include "os/linux/arch.h"

namespace vmkit::linux_user {
namespace {

using x64::RAX, x64::RBX, x64::RCX, x64::RDX, x64::RSP, x64::RBP, x64::RSI, x64::RDI, x64::R8, x64::R9, x64::R10,
    x64::R11, x64::R12, x64::R13, x64::R14, x64::R15;

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kEntry = kBase + 0x100;     // syscall; jmp kEntry
constexpr uint64_t kHandler = kBase + 0x110;   // syscall; jmp kHandler
constexpr uint64_t kInt3 = kBase + 0x120;      // int3; then syscall; jmp back at kInt3 + 1
constexpr uint64_t kUd2 = kBase + 0x130;       // ud2
constexpr uint64_t kHlt = kBase + 0x140;       // hlt
constexpr uint64_t kVsysTime = kBase + 0x150;  // mov rax, 0xffffffffff600400; call rax; syscall; jmp back
constexpr uint64_t kVsysGtod = kBase + 0x170;  // the same with 0xffffffffff600000 (gettimeofday)
constexpr uint64_t kVsysBad = kBase + 0x190;   // the same with 0xffffffffff600100 (not an entry)
constexpr uint64_t kRestorer = kBase + 0x1b0;  // mov eax, 15; syscall (glibc's __restore_rt)
constexpr uint64_t kVsysAfterCall = 12;        // mov rax, imm64 (10 bytes); call rax (2 bytes)

// x86-64 syscall numbers.
constexpr uint64_t kRead = 0, kWrite = 1, kOpen = 2, kClose = 3, kStat = 4, kFstat = 5, kLstat = 6, kPoll = 7,
                   kRtSigaction = 13, kRtSigprocmask = 14, kRtSigreturn = 15, kAccess = 21, kPipe = 22, kDup2 = 33,
                   kGetpid = 39, kKill = 62, kUname = 63, kGetdents = 78, kRename = 82, kMkdir = 83, kRmdir = 84,
                   kUnlink = 87, kReadlink = 89, kArchPrctl = 158, kTime = 201, kExitGroup = 231, kRenameat = 264;
constexpr uint64_t kArchSetGs = 0x1001, kArchSetFs = 0x1002, kArchGetFs = 0x1003, kArchGetGs = 0x1004,
                   kArchGetCpuid = 0x1011;
constexpr uint64_t kSA_SIGINFO = 4, kSA_RESTORER = 0x04000000;
constexpr int64_t kAT_FDCWD = -100;
constexpr uint64_t kAC = 1u << 18;

uint64_t sigbit(int signo) { return 1ull << (signo - 1); }

void put(std::vector<uint8_t>& f, uint64_t addr, std::initializer_list<uint8_t> code) {
  std::memcpy(f.data() + (addr - kBase), code.begin(), code.size());
}
void put_call_abs(std::vector<uint8_t>& f, uint64_t addr, uint64_t target) {
  put(f, addr, {0x48, 0xb8});  // mov rax, imm64
  std::memcpy(f.data() + (addr - kBase) + 2, &target, 8);
  put(f, addr + 10, {0xff, 0xd0});              // call rax
  put(f, addr + 12, {0x0f, 0x05, 0xeb, 0xfc});  // syscall; jmp back
}

// The program: a static ET_EXEC for EM_X86_64 with the code above at its addresses.
std::vector<uint8_t> x64_program() {
  std::vector<uint8_t> f = static_program(EM_X86_64, kBase, kEntry, {0x0f, 0x05, 0xeb, 0xfc});
  put(f, kHandler, {0x0f, 0x05, 0xeb, 0xfc});
  put(f, kInt3, {0xcc, 0x0f, 0x05, 0xeb, 0xfc});
  put(f, kUd2, {0x0f, 0x0b});
  put(f, kHlt, {0xf4});
  put_call_abs(f, kVsysTime, 0xffffffffff600400ull);
  put_call_abs(f, kVsysGtod, 0xffffffffff600000ull);
  put_call_abs(f, kVsysBad, 0xffffffffff600100ull);
  put(f, kRestorer, {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4});
  return f;
}

using Step = SyscallStep<x64::State>;

// Scratch memory for syscall arguments: well below the initial sp (the guest code never touches
// the stack, and signal frames go right below sp), fixed for the whole run.
uint64_t g_scratch = 0;
uint64_t scratch(unsigned slot) { return g_scratch + 1024 * uint64_t(slot); }

// Runs prog under the script.
ProcessResult run_script(const std::string& prog, std::vector<Step> steps) {
  return run_syscall_script<x64::State>(
      prog, {nullptr, std::move(steps), 0, false, [](const x64::State& st) { g_scratch = st.r[RSP] - 0x10000; }});
}

// Sets up the next syscall: rax and rdi rsi rdx r10 r8 r9.
void call(x64::State& st, uint64_t nr, std::vector<uint64_t> args = {}) {
  static const unsigned regs[6] = {RDI, RSI, RDX, R10, R8, R9};
  st.r[RAX] = nr;
  for (size_t i = 0; i < args.size(); ++i) st.r[regs[i]] = args[i];
}

int64_t result(const x64::State& st) { return int64_t(st.r[RAX]); }

uint64_t put_str(GuestMemory& m, unsigned slot, const std::string& s) {
  m.write(scratch(slot), s.c_str(), s.size() + 1);
  return scratch(slot);
}

struct stat host_stat(const std::string& path, bool follow = true) {
  struct stat s{};
  EXPECT_EQ(follow ? ::stat(path.c_str(), &s) : ::lstat(path.c_str(), &s), 0) << path;
  return s;
}

// The guest's struct stat is the host's (x86-64) layout: compare it field by field.
void expect_same_stat(GuestMemory& m, uint64_t addr, const struct stat& want, const char* what) {
  struct stat got;
  m.read(addr, &got, sizeof got);
  EXPECT_EQ(got.st_dev, want.st_dev) << what;
  EXPECT_EQ(got.st_ino, want.st_ino) << what;
  EXPECT_EQ(got.st_mode, want.st_mode) << what;
  EXPECT_EQ(got.st_nlink, want.st_nlink) << what;
  EXPECT_EQ(got.st_uid, want.st_uid) << what;
  EXPECT_EQ(got.st_gid, want.st_gid) << what;
  EXPECT_EQ(got.st_size, want.st_size) << what;
  EXPECT_EQ(got.st_blksize, want.st_blksize) << what;
  EXPECT_EQ(got.st_blocks, want.st_blocks) << what;
  EXPECT_EQ(got.st_mtim.tv_sec, want.st_mtim.tv_sec) << what;
  EXPECT_EQ(got.st_mtim.tv_nsec, want.st_mtim.tv_nsec) << what;
  EXPECT_EQ(got.st_ctim.tv_sec, want.st_ctim.tv_sec) << what;
}

// The frame's ucontext fields through the host's ucontext_t (the kernel's layout on x86-64).
uint64_t uc_greg(GuestMemory& m, uint64_t uc, int reg) {
  return m.read_val<uint64_t>(uc + offsetof(ucontext_t, uc_mcontext.gregs) + 8 * uint64_t(reg));
}
void set_uc_greg(GuestMemory& m, uint64_t uc, int reg, uint64_t v) {
  m.write_val<uint64_t>(uc + offsetof(ucontext_t, uc_mcontext.gregs) + 8 * uint64_t(reg), v);
}
siginfo_t read_siginfo(GuestMemory& m, uint64_t addr) {
  siginfo_t si;
  m.read(addr, &si, sizeof si);
  return si;
}

// rt_sigaction(signo, {handler, flags, restorer, mask}, NULL, 8): x86-64's 32-byte struct.
void sigaction_call(x64::State& st, GuestMemory& m, int signo, uint64_t handler, uint64_t flags, uint64_t restorer,
                    uint64_t mask = 0) {
  const uint64_t act[4] = {handler, flags, restorer, mask};
  m.write(scratch(40), act, sizeof act);
  call(st, kRtSigaction, {uint64_t(signo), scratch(40), 0, 8});
}

// The handler's `ret`: pops pretcode into rip.
void ret(x64::State& st, GuestMemory& m) {
  st.rip = m.read_val<uint64_t>(st.r[RSP]);
  st.r[RSP] += 8;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- start and syscalls --------------------------------------------------------------------------

TEST(LinuxX86_64, StartsWithTheKernelsInitialStackAndRegisters) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {[&](x64::State& st, GuestMemory& m) {
    EXPECT_EQ(st.rip, kEntry);
    const uint64_t sp = st.r[RSP];
    EXPECT_EQ(sp % 16, 0u);
    for (unsigned i = 0; i < 16; ++i) {
      if (i == RSP) continue;
      EXPECT_EQ(st.r[i], 0u) << "r" << i;
    }
    EXPECT_EQ(x64::rflags(st), 0x202u) << "IF and the fixed bit";
    expect_x64_fpu_init_state(st);
    EXPECT_EQ(st.fs_base, 0u);
    EXPECT_EQ(st.gs_base, 0u);
    std::map<uint64_t, uint64_t> aux = expect_script_initial_stack(m, sp, box.prog);
    EXPECT_EQ(aux[AT_HWCAP], uint64_t(x64::cpuid(1, 0).edx)) << "CPUID.1:EDX";
    EXPECT_NE(aux[AT_HWCAP] & (1u << 26), 0u) << "SSE2";
    ASSERT_EQ(aux.count(AT_PLATFORM), 1u);
    EXPECT_EQ(m.read_cstr(aux[AT_PLATFORM]), "x86_64");
    EXPECT_EQ(aux.count(AT_SYSINFO_EHDR), 0u) << "no vDSO";
    EXPECT_EQ(aux[AT_ENTRY], kEntry);
    EXPECT_EQ(aux[AT_PHDR], kBase + sizeof(Elf64_Ehdr));
    EXPECT_EQ(aux[AT_PHNUM], 1u);
    EXPECT_EQ(aux[AT_PAGESZ], 4096u);
    EXPECT_EQ(aux[AT_BASE], 0u) << "static: no interpreter";
    EXPECT_EQ(aux[51], x86_64_linux().aux_minsigstksz) << "AT_MINSIGSTKSZ";
    EXPECT_GE(aux[51], 456u + 512u) << "at least the frame and its fpstate";
    EXPECT_EQ(aux[AT_RANDOM] % 16, 0u);
    EXPECT_EQ(m.read_cstr(aux[AT_EXECFN]), box.prog);
    call(st, kExitGroup, {42});
  }});
  EXPECT_EQ(r.exit_status, 42);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.stopped);
}

TEST(LinuxX86_64, SyscallLeavesRcxAndR11AndKeepsTheOtherRegisters) {
  Sandbox box(x64_program());
  const uint64_t flags = 0x202 | x64::kCF | x64::kZF | x64::kSF | x64::kOF | x64::kDF | kAC;
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory&) {
        for (unsigned i = 0; i < 16; ++i)
          if (i != RSP) st.r[i] = 0x1000 * (i + 1) + i;
        st.xmm[7][0] = 0x7777, st.xmm[7][1] = 0x8888;
        x64::set_rflags(st, flags);
        call(st, kGetpid, {11, 22, 33, 44, 55, 66});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), ::getpid());
        EXPECT_EQ(st.rip, kEntry) << "after the syscall and the jmp back";
        EXPECT_EQ(st.r[RCX], kEntry + 2) << "rcx = the rip after the syscall";
        EXPECT_EQ(st.r[R11], flags) << "r11 = RFLAGS";
        EXPECT_EQ(x64::rflags(st), flags);
        const unsigned args[6] = {RDI, RSI, RDX, R10, R8, R9};
        for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(st.r[args[i]], 11 * (i + 1)) << "argument " << i;
        for (unsigned i : {RBX, RBP, R12, R13, R14, R15}) EXPECT_EQ(st.r[i], 0x1000 * (i + 1) + i) << "r" << i;
        EXPECT_EQ(st.xmm[7][0], 0x7777u);
        EXPECT_EQ(st.xmm[7][1], 0x8888u);
        x64::set_rflags(st, 0x202);
        call(st, kUname, {scratch(0)});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        EXPECT_EQ(st.r[R11], 0x202u);
        EXPECT_EQ(m.read_cstr(scratch(0)), "Linux");
        EXPECT_EQ(m.read_cstr(scratch(0) + 4 * 65), "x86_64");
        call(st, 335, {1, 2, 3});  // an unassigned x86-64 number
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -ENOSYS);
        call(st, 1000);
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -ENOSYS);
        call(st, kExitGroup, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.signal, 0);
  EXPECT_TRUE(contains(r.diagnostics, "unsupported syscall 335 (unknown) at pc=0x400100")) << r.diagnostics;
  EXPECT_TRUE(contains(r.diagnostics, "unsupported syscall 1000 (unknown)")) << r.diagnostics;
}

TEST(LinuxX86_64, ArchPrctlSetsAndGetsFsAndGsBase) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory&) { call(st, kArchPrctl, {kArchSetFs, 0x7f0012345000}); },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(st.fs_base, 0x7f0012345000u);
        EXPECT_EQ(st.gs_base, 0u);
        m.write_val<uint64_t>(scratch(0), ~0ull);
        call(st, kArchPrctl, {kArchGetFs, scratch(0)});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(m.read_val<uint64_t>(scratch(0)), 0x7f0012345000u);
        call(st, kArchPrctl, {kArchSetGs, 0x7f00abcde000});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(st.gs_base, 0x7f00abcde000u);
        EXPECT_EQ(st.fs_base, 0x7f0012345000u);
        m.write_val<uint64_t>(scratch(1), ~0ull);
        call(st, kArchPrctl, {kArchGetGs, scratch(1)});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(m.read_val<uint64_t>(scratch(1)), 0x7f00abcde000u);
        call(st, kArchPrctl, {0x1234, scratch(1)});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EINVAL) << "an unknown code";
        call(st, kArchPrctl, {kArchGetFs, 0x10});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EFAULT) << "GET_FS into unmapped memory";
        call(st, kArchPrctl, {kArchGetCpuid, 0});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 1) << "ARCH_GET_CPUID: cpuid does not fault";
        call(st, kArchPrctl, {kArchSetFs, 0});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(st.fs_base, 0u);
        call(st, kExitGroup, {3});
      },
  });
  EXPECT_EQ(r.exit_status, 3);
}

// The kernel's do_arch_prctl_64 refuses a base at or above TASK_SIZE_MAX (0x7ffffffff000 with
// 4-level paging) for ARCH_SET_FS and ARCH_SET_GS with -EPERM. (Checked on the x86-64 host: both
// calls below fail with EPERM there.)
TEST(LinuxX86_64, ArchPrctlRefusesAKernelAddressBase) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory&) { call(st, kArchPrctl, {kArchSetFs, 0xffff800000000000ull}); },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EPERM) << "ARCH_SET_FS with a kernel address";
        EXPECT_EQ(st.fs_base, 0u) << "fs_base unchanged";
        call(st, kArchPrctl, {kArchSetGs, 0x800000000000ull});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EPERM) << "ARCH_SET_GS with a non-canonical address";
        EXPECT_EQ(st.gs_base, 0u);
        call(st, kExitGroup, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
}

// ---- legacy calls ----------------------------------------------------------------------------------

TEST(LinuxX86_64, LegacyPathCallsActOnTheHostFileSystem) {
  Sandbox box(x64_program());
  const struct stat file_st = host_stat(box / "file");
  int fd = -1;
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) { call(st, kOpen, {put_str(m, 0, box / "file"), O_RDONLY}); },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_GE(result(st), 3);
        fd = int(result(st));
        m.write(scratch(1), std::string(200, '\xee').data(), 200);
        call(st, kFstat, {uint64_t(fd), scratch(1)});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        expect_same_stat(m, scratch(1), file_st, "fstat");
        EXPECT_EQ(m.read_val<uint8_t>(scratch(1) + sizeof(struct stat)), 0xeeu) << "only sizeof(struct stat) written";
        call(st, kStat, {put_str(m, 0, box / "link"), scratch(1)});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        expect_same_stat(m, scratch(1), file_st, "stat follows the link");
        call(st, kLstat, {put_str(m, 0, box / "link"), scratch(1)});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        const struct stat link_st = host_stat(box / "link", false);
        EXPECT_TRUE(S_ISLNK(link_st.st_mode));
        expect_same_stat(m, scratch(1), link_st, "lstat");
        call(st, kStat, {put_str(m, 0, box / "missing"), scratch(1)});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOENT);
        call(st, kOpen, {put_str(m, 0, box / "file"), O_RDONLY | O_DIRECTORY});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOTDIR) << "O_DIRECTORY is the host's value";
        call(st, kOpen, {put_str(m, 0, box / "new"), O_WRONLY | O_CREAT | O_EXCL, 0640});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_GE(result(st), 3);
        const mode_t mask = ::umask(0);
        ::umask(mask);
        const struct stat s = host_stat(box / "new");
        EXPECT_TRUE(S_ISREG(s.st_mode));
        EXPECT_EQ(s.st_mode & 0777, 0640u & ~mask);
        call(st, kClose, {st.r[RAX]});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        call(st, kOpen, {put_str(m, 0, box / "new"), O_WRONLY | O_CREAT | O_EXCL, 0640});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -EEXIST);
        call(st, kAccess, {put_str(m, 0, box / "file"), R_OK});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        call(st, kAccess, {put_str(m, 0, box / "missing"), F_OK});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOENT);
        m.write(scratch(1), std::string(300, 'z').data(), 300);
        call(st, kReadlink, {put_str(m, 0, box / "link"), scratch(1), 256});
      },
      [&](x64::State& st, GuestMemory& m) {
        const std::string target = box / "file";
        ASSERT_EQ(result(st), int64_t(target.size()));
        std::string got(target.size() + 1, '\0');
        m.read(scratch(1), got.data(), got.size());
        EXPECT_EQ(got, target + "z") << "no terminating NUL";
        call(st, kReadlink, {put_str(m, 0, box / "file"), scratch(1), 256});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -EINVAL) << "not a symlink";
        call(st, kMkdir, {put_str(m, 0, box / "newdir"), 0700});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        struct stat s{};
        EXPECT_EQ(::stat((box / "newdir").c_str(), &s), 0);
        EXPECT_TRUE(S_ISDIR(s.st_mode));
        call(st, kMkdir, {put_str(m, 0, box / "newdir"), 0700});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -EEXIST);
        call(st, kRmdir, {put_str(m, 0, box / "file")});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOTDIR) << "rmdir is unlinkat(AT_REMOVEDIR)";
        call(st, kRmdir, {put_str(m, 0, box / "newdir")});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_NE(::access((box / "newdir").c_str(), F_OK), 0);
        call(st, kRename, {put_str(m, 0, box / "new"), put_str(m, 1, box / "renamed")});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_NE(::access((box / "new").c_str(), F_OK), 0);
        EXPECT_EQ(::access((box / "renamed").c_str(), F_OK), 0);
        call(st, kUnlink, {put_str(m, 0, box / "subdir")});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -EISDIR) << "unlink is unlinkat(0)";
        call(st, kUnlink, {put_str(m, 0, box / "renamed")});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0);
        EXPECT_NE(::access((box / "renamed").c_str(), F_OK), 0);
        call(st, kExitGroup, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.signal, 0);
}

// renameat (x86-64 264, what glibc's renameat() calls on x86-64) renames, as the kernel does.
TEST(LinuxX86_64, RenameatWorks) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        call(st, kRenameat, {uint64_t(kAT_FDCWD), put_str(m, 0, box / "file"), uint64_t(kAT_FDCWD),
                             put_str(m, 1, box / "moved")});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0) << "renameat(AT_FDCWD, file, AT_FDCWD, moved)";
        EXPECT_EQ(::access((box / "moved").c_str(), F_OK), 0);
        call(st, kExitGroup, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_FALSE(contains(r.diagnostics, "unsupported syscall 264")) << r.diagnostics;
}

TEST(LinuxX86_64, LegacyFdCallsPipeDup2PollTimeAndGetdents) {
  Sandbox box(x64_program());
  int rfd = -1, wfd = -1, dirfd = -1;
  std::chrono::steady_clock::time_point poll_start;
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        m.write_val<uint64_t>(scratch(0), ~0ull);
        call(st, kPipe, {scratch(0)});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        rfd = m.read_val<int32_t>(scratch(0));
        wfd = m.read_val<int32_t>(scratch(0) + 4);
        EXPECT_GE(rfd, 3);
        EXPECT_GE(wfd, 3);
        EXPECT_NE(rfd, wfd);
        // poll({rfd, POLLIN}, 1, 150 ms) on an empty pipe: times out.
        struct pollfd p{rfd, POLLIN, 0x5a};
        m.write(scratch(1), &p, sizeof p);
        poll_start = std::chrono::steady_clock::now();
        call(st, kPoll, {scratch(1), 1, 150});
      },
      [&](x64::State& st, GuestMemory& m) {
        const auto waited = std::chrono::steady_clock::now() - poll_start;
        EXPECT_EQ(result(st), 0);
        EXPECT_GE(waited, std::chrono::milliseconds(140)) << "the timeout is in milliseconds";
        EXPECT_LT(waited, std::chrono::seconds(5));
        EXPECT_EQ(m.read_val<struct pollfd>(scratch(1)).revents, 0);
        call(st, kDup2, {uint64_t(wfd), 10});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 10);
        call(st, kWrite, {10, put_str(m, 2, "via10"), 5});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 5);
        struct pollfd p{rfd, POLLIN, 0};
        m.write(scratch(1), &p, sizeof p);
        call(st, kPoll, {scratch(1), 1, uint64_t(-1)});  // no timeout: data is there
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 1);
        const struct pollfd p = m.read_val<struct pollfd>(scratch(1));
        EXPECT_EQ(p.fd, rfd) << "the guest's fd written back";
        EXPECT_EQ(p.revents, POLLIN);
        call(st, kRead, {uint64_t(rfd), scratch(3), 64});
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 5);
        EXPECT_EQ(m.read_cstr(scratch(3)).substr(0, 5), "via10");
        call(st, kDup2, {uint64_t(rfd), uint64_t(rfd)});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), rfd) << "dup2(fd, fd) returns fd";
        call(st, kDup2, {50, 50});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EBADF) << "dup2(closed, closed)";
        call(st, kDup2, {50, 51});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -EBADF) << "dup2(closed, other)";
        call(st, kClose, {51});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -EBADF) << "dup2 of a closed fd opened nothing";
        m.write_val<int64_t>(scratch(4), -1);
        call(st, kTime, {scratch(4)});
      },
      [&](x64::State& st, GuestMemory& m) {
        const int64_t now = int64_t(::time(nullptr));
        EXPECT_LE(result(st), now);
        EXPECT_GE(result(st), now - 2);
        EXPECT_EQ(m.read_val<int64_t>(scratch(4)), result(st)) << "*tloc";
        call(st, kTime, {0});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_LE(std::abs(result(st) - int64_t(::time(nullptr))), 2);
        call(st, kOpen, {put_str(m, 0, box.dir), O_RDONLY | O_DIRECTORY});
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_GE(result(st), 3);
        dirfd = int(result(st));
        call(st, kGetdents, {uint64_t(dirfd), scratch(5), 4096});
      },
      [&](x64::State& st, GuestMemory& m) {
        // struct linux_dirent: d_ino, d_off, d_reclen, d_name[], then d_type in the last byte.
        const int64_t n = result(st);
        ASSERT_GT(n, 0);
        std::vector<uint8_t> buf(static_cast<size_t>(n));
        m.read(scratch(5), buf.data(), buf.size());
        std::map<std::string, std::pair<uint64_t, uint8_t>> got;
        for (size_t off = 0; off < buf.size();) {
          uint64_t ino;
          uint16_t reclen;
          std::memcpy(&ino, &buf[off], 8);
          std::memcpy(&reclen, &buf[off + 16], 2);
          ASSERT_GT(reclen, 18u);
          got[reinterpret_cast<const char*>(&buf[off + 18])] = {ino, buf[off + reclen - 1]};
          off += reclen;
        }
        std::map<std::string, std::pair<uint64_t, uint8_t>> want;
        DIR* d = ::opendir(box.dir.c_str());
        ASSERT_NE(d, nullptr);
        while (struct dirent* e = ::readdir(d)) want[e->d_name] = {e->d_ino, e->d_type};
        ::closedir(d);
        EXPECT_EQ(got, want);
        EXPECT_EQ(got.size(), 6u) << ". .. prog file subdir link";
        EXPECT_EQ(got["subdir"].second, DT_DIR);
        EXPECT_EQ(got["link"].second, DT_LNK);
        EXPECT_EQ(got["file"].second, DT_REG);
        call(st, kGetdents, {uint64_t(dirfd), scratch(5), 4096});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0) << "the end of the directory";
        call(st, kGetdents, {uint64_t(rfd), scratch(5), 4096});
      },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -ENOTDIR);
        call(st, kExitGroup, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.signal, 0);
}

// ---- signals -------------------------------------------------------------------------------------

TEST(LinuxX86_64, SignalFrameWithSaRestorerAndSigreturnRestoreTheInterruptedState) {
  Sandbox box(x64_program());
  x64::State interrupted{};
  uint64_t interrupted_flags = 0, frame = 0;
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sigaction_call(st, m, SIGUSR1, kHandler, kSA_SIGINFO | kSA_RESTORER, kRestorer, sigbit(SIGUSR2));
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.r[RBX] = 0x1111, st.r[RBP] = 0x2222, st.r[R12] = 0x1212, st.r[R15] = 0x1515;
        st.xmm[5][0] = 0x55, st.xmm[5][1] = 0x66;
        st.mxcsr = 0x9fc0;  // FZ, DAZ, all masked
        st.fcw = 0x027f;    // 53-bit precision
        x64::set_rflags(st, 0x202 | x64::kCF | x64::kZF | x64::kDF);
        call(st, kKill, {uint64_t(::getpid()), SIGUSR1});
        interrupted = st;
        interrupted_flags = x64::rflags(st);
      },
      [&](x64::State& st, GuestMemory& m) {
        // In the handler: rdi = signo, rsi = &info, rdx = &uc, [rsp] = the restorer.
        frame = st.r[RSP];
        EXPECT_EQ(st.rip, kHandler);
        EXPECT_EQ(frame, x86_64_linux().sigframe_address(interrupted.r[RSP] - 128)) << "below the red zone";
        EXPECT_EQ(((interrupted.r[RSP] - 128 - 512) & ~uint64_t(63)) - 456, frame);
        EXPECT_EQ((frame + 8) % 16, 0u);
        EXPECT_EQ(m.read_val<uint64_t>(frame), kRestorer) << "pretcode";
        EXPECT_EQ(st.r[RDI], uint64_t(SIGUSR1));
        EXPECT_EQ(st.r[RSI], frame + 312);
        EXPECT_EQ(st.r[RDX], frame + 8);
        EXPECT_EQ(st.r[RAX], 0u);
        EXPECT_EQ(st.df, 0u) << "DF clear in the handler";
        EXPECT_EQ(st.mxcsr, 0x1f80u);
        EXPECT_EQ(st.fcw, 0x037fu);
        EXPECT_TRUE(st.xmm[5][0] == 0 && st.xmm[5][1] == 0);
        EXPECT_EQ(st.r[RBX], 0x1111u) << "the other registers as they were";
        const siginfo_t si = read_siginfo(m, st.r[RSI]);
        EXPECT_EQ(si.si_signo, SIGUSR1);
        EXPECT_EQ(si.si_code, SI_USER);
        EXPECT_EQ(si.si_pid, ::getpid());
        EXPECT_EQ(si.si_uid, ::getuid());
        const uint64_t uc = st.r[RDX];
        EXPECT_EQ(m.read_val<uint64_t>(uc + offsetof(ucontext_t, uc_flags)), 6u);
        EXPECT_EQ(m.read_val<int32_t>(uc + offsetof(ucontext_t, uc_stack.ss_flags)), SS_DISABLE);
        EXPECT_EQ(m.read_val<uint64_t>(uc + offsetof(ucontext_t, uc_sigmask)), 0u) << "the mask before the handler";
        EXPECT_EQ(uc_greg(m, uc, REG_RIP), kEntry + 2) << "after the syscall";
        EXPECT_EQ(uc_greg(m, uc, REG_RAX), 0u) << "kill's result";
        EXPECT_EQ(uc_greg(m, uc, REG_RCX), kEntry + 2);
        EXPECT_EQ(uc_greg(m, uc, REG_R11), interrupted_flags);
        EXPECT_EQ(uc_greg(m, uc, REG_RBX), 0x1111u);
        EXPECT_EQ(uc_greg(m, uc, REG_RBP), 0x2222u);
        EXPECT_EQ(uc_greg(m, uc, REG_R15), 0x1515u);
        EXPECT_EQ(uc_greg(m, uc, REG_RDI), uint64_t(::getpid()));
        EXPECT_EQ(uc_greg(m, uc, REG_RSI), uint64_t(SIGUSR1));
        EXPECT_EQ(uc_greg(m, uc, REG_RSP), interrupted.r[RSP]);
        EXPECT_EQ(uc_greg(m, uc, REG_EFL), interrupted_flags);
        EXPECT_EQ(uc_greg(m, uc, REG_TRAPNO), 0u);
        EXPECT_EQ(uc_greg(m, uc, REG_OLDMASK), 0u);
        const uint64_t fpregs = m.read_val<uint64_t>(uc + offsetof(ucontext_t, uc_mcontext.fpregs));
        EXPECT_EQ(fpregs, frame + 456);
        struct _libc_fpstate fp;
        m.read(fpregs, &fp, sizeof fp);
        EXPECT_EQ(fp.mxcsr, 0x9fc0u);
        EXPECT_EQ(fp.cwd, 0x027fu);
        EXPECT_EQ(fp._xmm[5].element[0], 0x55u);
        EXPECT_EQ(fp._xmm[5].element[2], 0x66u);
        // The handler's mask: SIGUSR1 itself and sa_mask's SIGUSR2.
        m.write_val<uint64_t>(scratch(2), ~0ull);
        call(st, kRtSigprocmask, {SIG_BLOCK, 0, scratch(2), 8});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(m.read_val<uint64_t>(scratch(2)), sigbit(SIGUSR1) | sigbit(SIGUSR2));
        // The handler edits its ucontext (rdx was reused for the call above), clobbers
        // registers, then returns with ret.
        set_uc_greg(m, frame + 8, REG_RBX, 0x3333);
        st.r[RBX] = st.r[RBP] = st.r[R12] = st.r[R15] = 0;
        st.xmm[5][0] = st.xmm[5][1] = 0;
        st.mxcsr = 0x1f80;
        x64::set_rflags(st, 0x202);
        ret(st, m);
      },
      [&](x64::State& st, GuestMemory&) {
        // The restorer: mov eax, 15; syscall, with rsp just above pretcode.
        EXPECT_EQ(st.rip, kRestorer + 5);
        EXPECT_EQ(st.r[RAX], kRtSigreturn);
        EXPECT_EQ(st.r[RSP], frame + 8);
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kEntry) << "back after the kill, then around the loop";
        EXPECT_EQ(st.r[RSP], interrupted.r[RSP]);
        EXPECT_EQ(st.r[RAX], 0u) << "kill's result, not rt_sigreturn's";
        EXPECT_EQ(st.r[RBX], 0x3333u) << "the handler's edit of the frame";
        EXPECT_EQ(st.r[RBP], 0x2222u);
        EXPECT_EQ(st.r[R12], 0x1212u);
        EXPECT_EQ(st.r[R15], 0x1515u);
        EXPECT_EQ(st.r[RCX], kEntry + 2) << "the frame's rcx, not the restorer's syscall's";
        EXPECT_EQ(st.r[R11], interrupted_flags);
        EXPECT_EQ(x64::rflags(st), interrupted_flags);
        EXPECT_EQ(st.df, 1u);
        EXPECT_EQ(st.xmm[5][0], 0x55u);
        EXPECT_EQ(st.xmm[5][1], 0x66u);
        EXPECT_EQ(st.mxcsr, 0x9fc0u);
        EXPECT_EQ(st.fcw, 0x027fu);
        m.write_val<uint64_t>(scratch(2), ~0ull);
        call(st, kRtSigprocmask, {SIG_BLOCK, 0, scratch(2), 8});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        EXPECT_EQ(m.read_val<uint64_t>(scratch(2)), 0u) << "sigreturn restored the mask";
        call(st, kExitGroup, {7});
      },
  });
  EXPECT_EQ(r.exit_status, 7);
  EXPECT_EQ(r.signal, 0);
}

// x86-64 has no vDSO trampoline to return through: the kernel's x64_setup_rt_frame fails without
// SA_RESTORER and the process gets SIGSEGV instead (force_sigsegv).
TEST(LinuxX86_64, HandlerWithoutSaRestorerMeansSigsegv) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) { sigaction_call(st, m, SIGUSR1, kHandler, kSA_SIGINFO, 0); },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0) << "rt_sigaction itself accepts it";
        call(st, kKill, {uint64_t(::getpid()), SIGUSR1});
      },
  });
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_status, 128 + SIGSEGV);
  EXPECT_TRUE(contains(r.diagnostics, "killed by SIGSEGV")) << r.diagnostics;
}

// When the frame for a handler without SA_RESTORER cannot be set up, the kernel calls
// force_sigsegv(SIGUSR1), which for a signal other than SIGSEGV is a plain force_sig(SIGSEGV)
// (kernel/signal.c): the SIGSEGV action is NOT reset, so a SIGSEGV handler the program installed
// (with SA_RESTORER) runs, with si_code SI_KERNEL, and the process lives on. (Checked on the
// x86-64 host: the SIGSEGV handler runs with si_code SI_KERNEL.)
TEST(LinuxX86_64, HandlerWithoutSaRestorerRaisesACatchableSigsegv) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sigaction_call(st, m, SIGSEGV, kHandler, kSA_SIGINFO | kSA_RESTORER, kRestorer);
      },
      [&](x64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        sigaction_call(st, m, SIGUSR1, kHandler, kSA_SIGINFO, 0);
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        call(st, kKill, {uint64_t(::getpid()), SIGUSR1});
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kHandler);
        EXPECT_EQ(st.r[RDI], uint64_t(SIGSEGV));
        const siginfo_t si = read_siginfo(m, st.r[RSI]);
        EXPECT_EQ(si.si_signo, SIGSEGV);
        EXPECT_EQ(si.si_code, SI_KERNEL);
        call(st, kExitGroup, {5});
      },
  });
  EXPECT_EQ(r.signal, 0) << r.diagnostics;
  EXPECT_EQ(r.exit_status, 5);
}

// ---- faults ------------------------------------------------------------------------------------

// int3 is a trap: the kernel's do_int3_user sends SIGTRAP with SI_KERNEL (no address) and the
// saved rip is past the int3; sigcontext.trapno is 3.
TEST(LinuxX86_64, Int3RaisesSigtrapReportedAfterIt) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sigaction_call(st, m, SIGTRAP, kHandler, kSA_SIGINFO | kSA_RESTORER, kRestorer);
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.rip = kInt3;  // (no syscall: the step moved rip)
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kHandler);
        EXPECT_EQ(st.r[RDI], uint64_t(SIGTRAP));
        const siginfo_t si = read_siginfo(m, st.r[RSI]);
        EXPECT_EQ(si.si_signo, SIGTRAP);
        EXPECT_EQ(si.si_code, SI_KERNEL);
        EXPECT_EQ(reinterpret_cast<uint64_t>(si.si_addr), 0u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_RIP), kInt3 + 1) << "rip past the int3";
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_TRAPNO), 3u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_ERR), 0u);
        ret(st, m);
      },
      [&](x64::State& st, GuestMemory&) { EXPECT_EQ(st.rip, kRestorer + 5); },
      [&](x64::State& st, GuestMemory&) {
        EXPECT_EQ(st.rip, kInt3 + 1) << "sigreturn resumes after the int3, at its syscall loop";
        call(st, kExitGroup, {9});
      },
  });
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_EQ(r.signal, 0);
  // Unhandled, it kills the process; the report names the pc after the int3.
  r = run_script(box.prog, {[&](x64::State& st, GuestMemory&) { st.rip = kInt3; }});
  EXPECT_EQ(r.signal, SIGTRAP);
  EXPECT_EQ(r.exit_status, 128 + SIGTRAP);
  EXPECT_TRUE(contains(r.diagnostics, "killed by SIGTRAP at pc=0x400121")) << r.diagnostics;
}

// #UD: SIGILL with ILL_ILLOPN (do_error_trap), si_addr and rip at the ud2, trapno 6.
TEST(LinuxX86_64, Ud2RaisesSigillIllOpnAtItsAddress) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sigaction_call(st, m, SIGILL, kHandler, kSA_SIGINFO | kSA_RESTORER, kRestorer);
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.rip = kUd2;
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kHandler);
        const siginfo_t si = read_siginfo(m, st.r[RSI]);
        EXPECT_EQ(si.si_signo, SIGILL);
        EXPECT_EQ(si.si_code, ILL_ILLOPN);
        EXPECT_EQ(reinterpret_cast<uint64_t>(si.si_addr), kUd2);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_RIP), kUd2);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_TRAPNO), 6u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_ERR), 0u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_CR2), 0u);
        call(st, kExitGroup, {9});
      },
  });
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_EQ(r.signal, 0);
  r = run_script(box.prog, {[&](x64::State& st, GuestMemory&) { st.rip = kUd2; }});
  EXPECT_EQ(r.signal, SIGILL);
  EXPECT_TRUE(contains(r.diagnostics, "killed by SIGILL at pc=0x400130")) << r.diagnostics;
  EXPECT_TRUE(contains(r.diagnostics, "ud2 (0f 0b)")) << r.diagnostics;
}

// hlt at user level is #GP: SIGSEGV with SI_KERNEL, no address, trapno 13, rip at the hlt.
TEST(LinuxX86_64, HltRaisesSigsegvAsAGeneralProtectionFault) {
  Sandbox box(x64_program());
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sigaction_call(st, m, SIGSEGV, kHandler, kSA_SIGINFO | kSA_RESTORER, kRestorer);
      },
      [&](x64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.rip = kHlt;
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kHandler);
        const siginfo_t si = read_siginfo(m, st.r[RSI]);
        EXPECT_EQ(si.si_signo, SIGSEGV);
        EXPECT_EQ(si.si_code, SI_KERNEL);
        EXPECT_EQ(reinterpret_cast<uint64_t>(si.si_addr), 0u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_RIP), kHlt);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_TRAPNO), 13u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_ERR), 0u);
        EXPECT_EQ(uc_greg(m, st.r[RDX], REG_CR2), 0u);
        call(st, kExitGroup, {9});
      },
  });
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_EQ(r.signal, 0);
  r = run_script(box.prog, {[&](x64::State& st, GuestMemory&) { st.rip = kHlt; }});
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_TRUE(contains(r.diagnostics, "killed by SIGSEGV at pc=0x400140")) << r.diagnostics;
  EXPECT_TRUE(contains(r.diagnostics, "hlt (f4)")) << r.diagnostics;
}

// ---- the vsyscall page -----------------------------------------------------------------------------

TEST(LinuxX86_64, VsyscallEntriesRunTheirCallAndReturnToTheCaller) {
  Sandbox box(x64_program());
  uint64_t sp = 0;
  ProcessResult r = run_script(box.prog, {
      [&](x64::State& st, GuestMemory& m) {
        sp = st.r[RSP];
        m.write_val<int64_t>(scratch(0), -1);
        st.r[RDI] = scratch(0);
        st.rip = kVsysTime;  // mov rax, 0xffffffffff600400; call rax
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kVsysTime + kVsysAfterCall) << "returned to the caller";
        EXPECT_EQ(st.r[RSP], sp) << "the return address popped";
        EXPECT_EQ(m.read_val<uint64_t>(sp - 8), kVsysTime + kVsysAfterCall) << "call pushed it";
        const int64_t now = int64_t(::time(nullptr));
        EXPECT_LE(int64_t(st.r[RAX]), now);
        EXPECT_GE(int64_t(st.r[RAX]), now - 2);
        EXPECT_EQ(m.read_val<int64_t>(scratch(0)), int64_t(st.r[RAX])) << "*tloc";
        m.write(scratch(1), std::string(16, '\xff').data(), 16);
        st.r[RDI] = scratch(1);
        st.r[RSI] = 0;
        st.rip = kVsysGtod;  // gettimeofday(&tv, NULL) at 0xffffffffff600000
      },
      [&](x64::State& st, GuestMemory& m) {
        EXPECT_EQ(st.rip, kVsysGtod + kVsysAfterCall);
        EXPECT_EQ(st.r[RSP], sp);
        EXPECT_EQ(st.r[RAX], 0u);
        struct timeval tv;
        m.read(scratch(1), &tv, sizeof tv);
        struct timeval now;
        ::gettimeofday(&now, nullptr);
        EXPECT_LE(tv.tv_sec, now.tv_sec);
        EXPECT_GE(tv.tv_sec, now.tv_sec - 2);
        EXPECT_GE(tv.tv_usec, 0);
        EXPECT_LT(tv.tv_usec, 1000000);
        call(st, kExitGroup, {4});
      },
  });
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_EQ(r.signal, 0);
  // Anywhere else in the page is not an entry: SIGSEGV, as under Linux.
  r = run_script(box.prog, {[&](x64::State& st, GuestMemory&) { st.rip = kVsysBad; }});
  EXPECT_EQ(r.signal, SIGSEGV);
}

}  // namespace
}  // namespace vmkit::linux_user
