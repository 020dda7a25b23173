// The x86-64 Linux descriptor (os/linux/arch_x86_64.cpp) on its own: the ABI values, the mapping
// of x86-64's syscall numbers onto the asm-generic ones the syscall layer speaks (with the
// argument rewrites of the legacy calls), and the x86-64 rt_sigframe - its placement, its layout
// checked against the host's own struct definitions (the host is x86-64: glibc's ucontext_t,
// mcontext_t gregs and struct _libc_fpstate are the kernel's layout), the trap fields, the round
// trip through rt_sigreturn and the registers a handler starts with.
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"
#include "linux_test_util.h"
#include "os/linux/arch.h"
#include "os/linux/syscalls.h"

namespace vmkit::linux_user {
namespace {

static_assert(sizeof(struct _libc_fpstate) == 512, "the host's fpstate is the 512-byte fxsave image");

const LinuxArch& X() { return x86_64_linux(); }

uint8_t* bytes(void* s) { return static_cast<uint8_t*>(s); }
const uint8_t* bytes(const void* s) { return static_cast<const uint8_t*>(s); }

std::vector<uint8_t> frame_for(const LinuxArch& arch) {
  return std::vector<uint8_t>(arch.sigframe_size + arch.frame_record_size, 0);
}

// The frame's struct ucontext is at +8 (after pretcode); the host's ucontext_t has the kernel's
// layout up to uc_sigmask (glibc's sigset_t is longer, the kernel's is 8 bytes).
constexpr size_t kUc = 8;
size_t greg_off(int reg) { return kUc + offsetof(ucontext_t, uc_mcontext.gregs) + 8 * size_t(reg); }
uint64_t greg(const std::vector<uint8_t>& f, int reg) { return load64(&f[greg_off(reg)]); }
void set_greg(std::vector<uint8_t>& f, int reg, uint64_t v) { store64(&f[greg_off(reg)], v); }
const size_t kFpregsPtr = kUc + offsetof(ucontext_t, uc_mcontext.fpregs);
const size_t kSigmask = kUc + offsetof(ucontext_t, uc_sigmask);
constexpr size_t kFpstate = 456;

struct _libc_fpstate fpstate_of(const std::vector<uint8_t>& f) {
  struct _libc_fpstate fp;
  std::memcpy(&fp, &f[kFpstate], sizeof fp);
  return fp;
}

// The host's gregs index of each x86-64 general register.
struct GregOf {
  int reg;
  unsigned gpr;
};
constexpr GregOf kGregs[] = {
    {REG_R8, x64::R8},   {REG_R9, x64::R9},   {REG_R10, x64::R10}, {REG_R11, x64::R11},
    {REG_R12, x64::R12}, {REG_R13, x64::R13}, {REG_R14, x64::R14}, {REG_R15, x64::R15},
    {REG_RDI, x64::RDI}, {REG_RSI, x64::RSI}, {REG_RBP, x64::RBP}, {REG_RBX, x64::RBX},
    {REG_RDX, x64::RDX}, {REG_RAX, x64::RAX}, {REG_RCX, x64::RCX}, {REG_RSP, x64::RSP},
};

constexpr uint64_t kCF = x64::kCF, kPF = x64::kPF, kAF = x64::kAF, kZF = x64::kZF, kSF = x64::kSF,
                   kDF = x64::kDF, kOF = x64::kOF, kTF = 1u << 8, kIF = 1u << 9, kRF = 1u << 16,
                   kAC = 1u << 18, kID = 1u << 21;

// A register file with every field the frame carries set to something recognisable: random
// general registers, xmm, fip/fdp; an MXCSR and FCW away from their reset values; TOP = 5 and the
// x87 registers holding a normal, a zero, a NaN, a denormal and a normal, the other three empty
// (with contents all the same: fxsave keeps them), the full tag word consistent with that.
x64::State random_x64_state(uint64_t seed) {
  std::mt19937_64 rng(seed);
  x64::State st{};
  for (auto& r : st.r) r = rng();
  st.rip = rng() & 0x7fffffffffffull;
  x64::set_rflags(st, kCF | kZF | kSF | kOF | kDF | kAC);
  st.fs_base = rng();
  st.gs_base = rng();
  st.mxcsr = 0x1f80 ^ (uint32_t(rng()) & 0x7e7f);  // flags, DAZ, some masks, RC, FZ
  st.fcw = uint16_t(0x037f ^ 0x0e00);             // RC and PC changed (every exception masked)
  st.fsw = uint16_t((5u << 11) | 0x4121);         // TOP 5, C3, C0, PE/IE flags
  st.fop = uint16_t(rng() & 0x7ff);
  st.fip = rng();
  st.fdp = rng();
  const uint16_t tags[8] = {0, 1, 2, 2, 0, 3, 3, 3};
  for (unsigned i = 0; i < 8; ++i) st.fpr[i].mant = rng(), st.fpr[i].exp = uint16_t(rng() & 0x7ffe);
  st.fpr[0].mant |= 1ull << 63;
  st.fpr[0].exp = 0x3fff;
  st.fpr[1].mant = 0, st.fpr[1].exp = 0x8000;  // -0.0
  st.fpr[2].mant = 0xc000000000000001ull, st.fpr[2].exp = 0x7fff;  // a quiet NaN
  st.fpr[3].mant = 0x00000000deadbeefull, st.fpr[3].exp = 0;       // a denormal
  st.fpr[4].mant |= 1ull << 63;
  st.fpr[4].exp = 0xc003;
  st.ftw = 0;
  for (unsigned i = 0; i < 8; ++i) st.ftw |= uint16_t(tags[i] << (2 * i));
  for (auto& v : st.xmm) v[0] = rng(), v[1] = rng();
  return st;
}

void expect_same_registers(const x64::State& a, const x64::State& b) {
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(a.r[i], b.r[i]) << "r" << i;
  EXPECT_EQ(a.rip, b.rip);
  EXPECT_EQ(x64::rflags(a), x64::rflags(b));
  EXPECT_EQ(a.mxcsr, b.mxcsr);
  EXPECT_EQ(a.fcw, b.fcw);
  EXPECT_EQ(a.fsw, b.fsw);
  EXPECT_EQ(a.ftw, b.ftw);
  EXPECT_EQ(a.fop, b.fop);
  EXPECT_EQ(a.fip, b.fip);
  EXPECT_EQ(a.fdp, b.fdp);
  for (unsigned i = 0; i < 8; ++i) {
    EXPECT_EQ(a.fpr[i].mant, b.fpr[i].mant) << "R" << i;
    EXPECT_EQ(a.fpr[i].exp, b.fpr[i].exp) << "R" << i;
  }
  for (unsigned i = 0; i < 16; ++i) {
    EXPECT_EQ(a.xmm[i][0], b.xmm[i][0]) << "xmm" << i;
    EXPECT_EQ(a.xmm[i][1], b.xmm[i][1]) << "xmm" << i;
  }
  EXPECT_EQ(a.fs_base, b.fs_base);
  EXPECT_EQ(a.gs_base, b.gs_base);
}

CanonicalSyscall canon(uint64_t number, std::initializer_list<uint64_t> args) {
  uint64_t a[6] = {};
  size_t i = 0;
  for (uint64_t v : args) a[i++] = v;
  return X().canonical_syscall(number, a);
}

void expect_args(const CanonicalSyscall& c, std::initializer_list<uint64_t> want, const char* what) {
  size_t i = 0;
  for (uint64_t v : want) {
    EXPECT_EQ(c.args[i], v) << what << " argument " << i;
    ++i;
  }
}

constexpr uint64_t kP = 0x7fff1000, kQ = 0x7fff2000;  // stand-ins for guest pointers
constexpr uint64_t kFdCwd = uint64_t(int64_t(AT_FDCWD));

// ---- ABI values --------------------------------------------------------------------------------

TEST(LinuxX86_64Arch, AbiValues) {
  const LinuxArch& a = X();
  EXPECT_STREQ(a.name, "x86_64");
  EXPECT_EQ(a.elf_machine, EM_X86_64);
  EXPECT_EQ(linux_arch_for_machine(EM_X86_64), &a);
  EXPECT_STREQ(a.uname_machine, "x86_64");
  ASSERT_NE(a.platform, nullptr);
  EXPECT_STREQ(a.platform, "x86_64");
  EXPECT_STREQ(a.default_sysroot, "") << "the host's own C library: no sysroot redirection";
  EXPECT_EQ(a.state_size, sizeof(x64::State));
  EXPECT_EQ(a.off_pc, x64::kOffRip);
  EXPECT_EQ(a.off_sp, x64::off_r(x64::RSP));
  EXPECT_EQ(a.off_syscall_nr, x64::off_r(x64::RAX));
  EXPECT_EQ(a.off_result, x64::off_r(x64::RAX));
  const unsigned args[6] = {x64::RDI, x64::RSI, x64::RDX, x64::R10, x64::R8, x64::R9};
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(a.off_args[i], x64::off_r(args[i])) << "argument " << i;
  EXPECT_EQ(a.off_tls, x64::kOffFsBase);
  EXPECT_EQ(a.off_gs_base, x64::kOffGsBase);
  EXPECT_EQ(a.syscall_insn_len, 2u) << "0f 05";
  EXPECT_EQ(a.hwcap, uint64_t(x64::cpuid(1, 0).edx)) << "AT_HWCAP is CPUID.1:EDX";
  EXPECT_NE(a.hwcap & (1u << 25), 0u) << "SSE";
  EXPECT_NE(a.hwcap & (1u << 26), 0u) << "SSE2";
  EXPECT_NE(a.hwcap & (1u << 24), 0u) << "FXSR";
  EXPECT_EQ(a.hwcap2, 0u);
  EXPECT_TRUE(a.has_sa_restorer);
  EXPECT_TRUE(a.requires_sa_restorer);
  EXPECT_EQ(a.sigaction_size(), 32u);
  EXPECT_EQ(a.minsigstksz, 2048u);
  EXPECT_EQ(a.red_zone, 128u);
  EXPECT_EQ(a.sigframe_size, 440u) << "struct rt_sigframe: pretcode, ucontext (304), siginfo (128)";
  EXPECT_EQ(a.frame_record_size, 16u + 512u) << "the alignment gap and the fxsave image above it";
  EXPECT_EQ(a.frame_uc, 8u);
  EXPECT_EQ(a.uc_sigmask, offsetof(ucontext_t, uc_sigmask));
  EXPECT_EQ(a.uc_sigmask, 296u);
  EXPECT_EQ(a.frame_info, 8u + 296u + 8u) << "siginfo right after the kernel's 8-byte uc_sigmask";
  EXPECT_EQ(a.frame_info + sizeof(siginfo_t), a.sigframe_size);
  EXPECT_TRUE(a.return_address_in_frame);
  EXPECT_EQ(a.ill_code, ILL_ILLOPN);
  EXPECT_EQ(a.breakpoint_code, SI_KERNEL);
  EXPECT_TRUE(a.breakpoint_reports_next_pc);
  EXPECT_TRUE(a.host_struct_layouts);
  EXPECT_EQ(a.vsyscall_base, 0xffffffffff600000ull);
  EXPECT_EQ(a.vsyscall_numbers[0], 96u) << "gettimeofday";
  EXPECT_EQ(a.vsyscall_numbers[1], 201u) << "time";
  EXPECT_EQ(a.vsyscall_numbers[2], 309u) << "getcpu";
  // The trampoline: mov eax, 15; syscall; nop.
  const uint8_t want[8] = {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x90};
  EXPECT_EQ(std::memcmp(a.trampoline, want, 8), 0);
  // Open flags are the host's.
  for (uint32_t f : {uint32_t(O_DIRECTORY), uint32_t(O_NOFOLLOW), uint32_t(O_DIRECT), uint32_t(O_LARGEFILE),
                     uint32_t(O_CREAT | O_CLOEXEC | O_TRUNC | O_WRONLY)}) {
    EXPECT_EQ(a.open_flags_to_host(f), f);
    EXPECT_EQ(a.open_flags_to_guest(f), f);
  }
}

// ---- syscall numbers ---------------------------------------------------------------------------

TEST(LinuxX86_64Arch, CallsWithAnAsmGenericTwinMapByNameWithTheirArguments) {
  struct {
    uint64_t x86, generic;
    const char* name;
  } const same[] = {
      {0, 63, "read"},         {1, 64, "write"},          {3, 57, "close"},       {5, 80, "fstat"},
      {8, 62, "lseek"},        {9, 222, "mmap"},          {13, 134, "rt_sigaction"}, {15, 139, "rt_sigreturn"},
      {39, 172, "getpid"},     {59, 221, "execve"},       {60, 93, "exit"},       {62, 129, "kill"},
      {63, 160, "uname"},      {186, 178, "gettid"},      {217, 61, "getdents64"}, {231, 94, "exit_group"},
      {257, 56, "openat"},     {262, 79, "newfstatat"},   {302, 261, "prlimit64"}, {316, 276, "renameat2"},
      {318, 278, "getrandom"}, {435, 435, "clone3"},      {439, 439, "faccessat2"},
  };
  for (const auto& c : same) {
    SCOPED_TRACE(c.name);
    const uint64_t args[6] = {11, kP, 33, 44, 55, 66};
    const CanonicalSyscall r = X().canonical_syscall(c.x86, args);
    EXPECT_TRUE(r.known);
    EXPECT_EQ(r.number, c.generic);
    for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(r.args[i], args[i]) << "argument " << i;
    EXPECT_STREQ(X().syscall_name(c.x86), c.name);
  }
}

TEST(LinuxX86_64Arch, LegacyPathCallsBecomeTheirAtForms) {
  CanonicalSyscall c = canon(2, {kP, O_RDWR | O_CREAT, 0640});  // open
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.number, nr::openat);
  expect_args(c, {kFdCwd, kP, O_RDWR | O_CREAT, 0640}, "open");
  c = canon(85, {kP, 0600});  // creat
  EXPECT_EQ(c.number, nr::openat);
  expect_args(c, {kFdCwd, kP, O_CREAT | O_WRONLY | O_TRUNC, 0600}, "creat");
  c = canon(4, {kP, kQ});  // stat
  EXPECT_EQ(c.number, nr::newfstatat);
  expect_args(c, {kFdCwd, kP, kQ, 0}, "stat");
  c = canon(6, {kP, kQ});  // lstat
  EXPECT_EQ(c.number, nr::newfstatat);
  expect_args(c, {kFdCwd, kP, kQ, AT_SYMLINK_NOFOLLOW}, "lstat");
  c = canon(21, {kP, R_OK | W_OK});  // access
  EXPECT_EQ(c.number, nr::faccessat);
  expect_args(c, {kFdCwd, kP, R_OK | W_OK}, "access");
  c = canon(89, {kP, kQ, 99});  // readlink
  EXPECT_EQ(c.number, nr::readlinkat);
  expect_args(c, {kFdCwd, kP, kQ, 99}, "readlink");
  c = canon(87, {kP});  // unlink
  EXPECT_EQ(c.number, nr::unlinkat);
  expect_args(c, {kFdCwd, kP, 0}, "unlink");
  c = canon(84, {kP});  // rmdir
  EXPECT_EQ(c.number, nr::unlinkat);
  expect_args(c, {kFdCwd, kP, AT_REMOVEDIR}, "rmdir");
  c = canon(83, {kP, 0750});  // mkdir
  EXPECT_EQ(c.number, nr::mkdirat);
  expect_args(c, {kFdCwd, kP, 0750}, "mkdir");
  c = canon(82, {kP, kQ});  // rename
  EXPECT_EQ(c.number, nr::renameat);
  expect_args(c, {kFdCwd, kP, kFdCwd, kQ}, "rename");
  c = canon(86, {kP, kQ});  // link
  EXPECT_EQ(c.number, nr::linkat);
  expect_args(c, {kFdCwd, kP, kFdCwd, kQ, 0}, "link");
  c = canon(88, {kP, kQ});  // symlink(target, linkpath) -> symlinkat(target, AT_FDCWD, linkpath)
  EXPECT_EQ(c.number, nr::symlinkat);
  expect_args(c, {kP, kFdCwd, kQ}, "symlink");
  c = canon(90, {kP, 0711});  // chmod
  EXPECT_EQ(c.number, nr::fchmodat);
  expect_args(c, {kFdCwd, kP, 0711}, "chmod");
  c = canon(94, {kP, 12, 34});  // lchown
  EXPECT_EQ(c.number, nr::fchownat);
  expect_args(c, {kFdCwd, kP, 12, 34, AT_SYMLINK_NOFOLLOW}, "lchown");
  c = canon(22, {kP});  // pipe
  EXPECT_EQ(c.number, nr::pipe2);
  expect_args(c, {kP, 0}, "pipe");
  c = canon(232, {5, kP, 16, 1000});  // epoll_wait -> epoll_pwait(..., NULL, 8)
  EXPECT_EQ(c.number, nr::epoll_pwait);
  expect_args(c, {5, kP, 16, 1000, 0, 8}, "epoll_wait");
  c = canon(111, {});  // getpgrp -> getpgid(0)
  EXPECT_EQ(c.number, nr::getpgid);
  expect_args(c, {0}, "getpgrp");
}

TEST(LinuxX86_64Arch, CloneForkAndVforkBecomeAsmGenericClone) {
  // x86-64's clone is (flags, newsp, parent_tid, child_tid, tls); asm-generic's (the
  // CLONE_BACKWARDS order riscv64 and aarch64 use) is (flags, newsp, parent_tid, tls, child_tid).
  const uint64_t flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SETTLS |
                         CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  CanonicalSyscall c = canon(56, {flags, 0x7000f000, 0x601000 /* ptid */, 0x602000 /* ctid */, 0x603000 /* tls */});
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.number, nr::clone);
  expect_args(c, {flags, 0x7000f000, 0x601000, 0x603000, 0x602000}, "clone");
  c = canon(57, {7, 7, 7, 7, 7});  // fork: its arguments are ignored
  EXPECT_EQ(c.number, nr::clone);
  expect_args(c, {SIGCHLD, 0, 0, 0, 0}, "fork");
  c = canon(58, {7, 7, 7, 7, 7});  // vfork
  EXPECT_EQ(c.number, nr::clone);
  expect_args(c, {CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0}, "vfork");
}

TEST(LinuxX86_64Arch, CallsOnlyX86_64HasBecomeLegacyNumbers) {
  struct {
    uint64_t x86, legacy;
    const char* name;
  } const cases[] = {
      {33, nr::legacy_dup2, "dup2"},        {7, nr::legacy_poll, "poll"},
      {23, nr::legacy_select, "select"},    {201, nr::legacy_time, "time"},
      {37, nr::legacy_alarm, "alarm"},      {34, nr::legacy_pause, "pause"},
      {78, nr::legacy_getdents, "getdents"}, {132, nr::legacy_utime, "utime"},
      {235, nr::legacy_utimes, "utimes"},   {261, nr::legacy_futimesat, "futimesat"},
      {213, nr::legacy_epoll_create, "epoll_create"}, {158, nr::legacy_arch_prctl, "arch_prctl"},
      {172, nr::legacy_no_permission, "iopl"}, {173, nr::legacy_no_permission, "ioperm"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    const CanonicalSyscall c = canon(k.x86, {3, 10, 200, 4, 5, 6});
    EXPECT_TRUE(c.known);
    EXPECT_EQ(c.number, k.legacy);
    EXPECT_GE(c.number, uint64_t(nr::legacy_base));
    EXPECT_LT(c.number, uint64_t(nr::legacy_end));
    EXPECT_STREQ(X().syscall_name(k.x86), k.name);
  }
  // The arguments that matter pass in order.
  expect_args(canon(33, {3, 10}), {3, 10}, "dup2");
  expect_args(canon(7, {kP, 2, uint64_t(-1)}), {kP, 2, uint64_t(-1)}, "poll");
  expect_args(canon(158, {0x1002, kP}), {0x1002, kP}, "arch_prctl");
  expect_args(canon(78, {4, kP, 4096}), {4, kP, 4096}, "getdents");
}

TEST(LinuxX86_64Arch, UnknownNumbersStayUnknown) {
  for (uint64_t n : {335ull, 400ull, 511ull, 512ull, 1000ull, 1ull << 40, ~0ull}) {
    const CanonicalSyscall c = canon(n, {1, 2, 3, 4, 5, 6});
    EXPECT_FALSE(c.known) << n;
    EXPECT_EQ(c.number, n) << "the guest's number is kept for the report";
    expect_args(c, {1, 2, 3, 4, 5, 6}, "unknown");
    EXPECT_STREQ(X().syscall_name(n), "unknown") << n;
  }
  // Named calls with no asm-generic twin vmkit implements: named, but not known.
  for (uint64_t n : {134ull /* uselib */, 154ull /* modify_ldt */, 156ull /* _sysctl */, 174ull /* create_module */}) {
    EXPECT_FALSE(canon(n, {}).known) << n;
    EXPECT_STRNE(X().syscall_name(n), "unknown") << n;
  }
  EXPECT_STREQ(X().syscall_name(154), "modify_ldt");
  EXPECT_STREQ(X().syscall_name(0), "read");
  EXPECT_STREQ(X().syscall_name(2), "open");
  EXPECT_STREQ(X().syscall_name(56), "clone");
  EXPECT_STREQ(X().syscall_name(158), "arch_prctl");
  EXPECT_STREQ(X().syscall_name(334), "rseq");
  EXPECT_STREQ(X().syscall_name(435), "clone3");
}

// x86-64's renameat (264) is a live syscall - glibc's renameat() makes it on x86-64 - although
// the riscv64 table, whose names vmkit's generic numbers come from, has none (aarch64's 38 is
// what nr::renameat implements): the x86-64 table maps it explicitly.
TEST(LinuxX86_64Arch, RenameatIsKnown) {
  const CanonicalSyscall c = canon(264, {5, kP, 6, kQ});
  EXPECT_STREQ(X().syscall_name(264), "renameat");
  EXPECT_TRUE(c.known) << "renameat (264) must map onto asm-generic renameat (38)";
  EXPECT_EQ(c.number, nr::renameat);
  expect_args(c, {5, kP, 6, kQ}, "renameat");
}

// ---- the signal frame ----------------------------------------------------------------------------

TEST(LinuxX86_64Arch, SigframeGoesBelowA64ByteAlignedFpstate) {
  const LinuxArch& a = X();
  // get_sigframe: fpstate = round_down(sp - 512, 64); frame = round_down(fpstate - 440, 16) - 8.
  for (uint64_t sp : {0x7ffff000ull, 0x7fffeff8ull, 0x7fffefc1ull, 0x7fffef80ull, 0x40000010ull, 0x7fffffffe0c8ull}) {
    SCOPED_TRACE(std::to_string(sp));
    const uint64_t fpstate = (sp - 512) & ~uint64_t(63);
    const uint64_t frame = a.sigframe_address(sp);
    EXPECT_EQ(frame, ((fpstate - 440) & ~uint64_t(15)) - 8);
    EXPECT_EQ(frame + kFpstate, fpstate);
    EXPECT_EQ((frame + kFpstate) % 64, 0u);
    EXPECT_EQ((frame + 8) % 16, 0u) << "as after a call: the handler's rsp + 8 is 16-byte aligned";
    EXPECT_LE(frame + a.sigframe_size + a.frame_record_size, sp);
    EXPECT_GT(frame + a.sigframe_size + a.frame_record_size + 64, sp) << "no more room used than alignment needs";
  }
}

TEST(LinuxX86_64Arch, SaveContextWritesTheKernelsSigcontextAndFxsaveImage) {
  const LinuxArch& a = X();
  const x64::State orig = random_x64_state(1);
  std::vector<uint8_t> frame = frame_for(a);
  const uint64_t frame_addr = 0x7ffe0000 - 8;
  store64(&frame[kSigmask], 0x0000000100004200ull);  // setup_frame puts uc_sigmask there first
  a.save_context(bytes(&orig), frame.data(), frame_addr, SignalCause{SIGUSR1, SI_USER, 0, false, false});

  EXPECT_EQ(load64(&frame[kUc + offsetof(ucontext_t, uc_flags)]), 6u) << "UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS";
  for (const GregOf& g : kGregs) EXPECT_EQ(greg(frame, g.reg), orig.r[g.gpr]) << "gregs[" << g.reg << "]";
  EXPECT_EQ(greg(frame, REG_RIP), orig.rip);
  EXPECT_EQ(greg(frame, REG_EFL), x64::rflags(orig));
  EXPECT_EQ(greg(frame, REG_EFL), kCF | kZF | kSF | kOF | kDF | kAC | kIF | 2u);
  EXPECT_EQ(greg(frame, REG_CSGSFS), 0x33u | (0x2bull << 48)) << "cs = __USER_CS, gs = fs = 0, ss = __USER_DS";
  EXPECT_EQ(greg(frame, REG_ERR), 0u);
  EXPECT_EQ(greg(frame, REG_TRAPNO), 0u);
  EXPECT_EQ(greg(frame, REG_OLDMASK), 0x0000000100004200ull) << "oldmask: the first word of uc_sigmask";
  EXPECT_EQ(greg(frame, REG_CR2), 0u);
  EXPECT_EQ(load64(&frame[kFpregsPtr]), frame_addr + kFpstate) << "fpregs points at the fpstate above the frame";
  EXPECT_EQ(load64(&frame[kSigmask]), 0x0000000100004200ull) << "uc_sigmask untouched";
  // The reserved words after the fpregs pointer stay zero.
  for (size_t off = kFpregsPtr + 8; off < kSigmask; ++off) EXPECT_EQ(frame[off], 0u) << off;

  const struct _libc_fpstate fp = fpstate_of(frame);
  EXPECT_EQ(fp.cwd, orig.fcw);
  EXPECT_EQ(fp.swd, orig.fsw);
  EXPECT_EQ(fp.ftw, 0x1fu) << "abridged tags: R0..R4 in use, R5..R7 empty";
  EXPECT_EQ(fp.fop, orig.fop);
  EXPECT_EQ(fp.rip, orig.fip);
  EXPECT_EQ(fp.rdp, orig.fdp);
  EXPECT_EQ(fp.mxcsr, orig.mxcsr);
  EXPECT_EQ(fp.mxcr_mask, 0xffffu);
  for (unsigned i = 0; i < 8; ++i) {  // ST(i) = R[(TOP + i) & 7], TOP = 5
    const auto& r = orig.fpr[(5 + i) & 7];
    uint64_t mant;
    std::memcpy(&mant, fp._st[i].significand, 8);
    EXPECT_EQ(mant, r.mant) << "ST(" << i << ")";
    EXPECT_EQ(fp._st[i].exponent, r.exp) << "ST(" << i << ")";
  }
  for (unsigned i = 0; i < 16; ++i) {
    uint64_t lo, hi;
    std::memcpy(&lo, &fp._xmm[i].element[0], 8);
    std::memcpy(&hi, &fp._xmm[i].element[2], 8);
    EXPECT_EQ(lo, orig.xmm[i][0]) << "xmm" << i;
    EXPECT_EQ(hi, orig.xmm[i][1]) << "xmm" << i;
  }
  // sw_reserved (464..511) holds no FP_XSTATE_MAGIC1: a plain fxsave frame.
  for (size_t off = 464; off < 512; ++off) EXPECT_EQ(frame[kFpstate + off], 0u) << off;
  // pretcode and siginfo are setup_frame's, not save_context's.
  EXPECT_EQ(load64(&frame[0]), 0u);
  for (size_t off = a.frame_info; off < a.sigframe_size; ++off) ASSERT_EQ(frame[off], 0u) << off;
}

struct TrapFields {
  uint64_t trapno, err, cr2;
};
TrapFields trap_fields(const SignalCause& cause, uint64_t rip = 0x401000) {
  x64::State st = random_x64_state(2);
  st.rip = rip;
  std::vector<uint8_t> frame = frame_for(X());
  X().save_context(bytes(&st), frame.data(), 0x7ffe0000 - 8, cause);
  return {greg(frame, REG_TRAPNO), greg(frame, REG_ERR), greg(frame, REG_CR2)};
}

void expect_trap(const SignalCause& cause, TrapFields want, const char* what, uint64_t rip = 0x401000) {
  const TrapFields got = trap_fields(cause, rip);
  EXPECT_EQ(got.trapno, want.trapno) << what << ": trapno";
  EXPECT_EQ(got.err, want.err) << what << ": err";
  EXPECT_EQ(got.cr2, want.cr2) << what << ": cr2";
}

TEST(LinuxX86_64Arch, TrapnoErrAndCr2DescribeTheFault) {
  // Page faults (#PF, 14): err = the page-fault error code (P = 1 protection, W = 2, U = 4,
  // I = 16 instruction fetch), cr2 = the address.
  expect_trap({SIGSEGV, SEGV_MAPERR, 0xdead000, true, false}, {14, 4, 0xdead000}, "read, unmapped");
  expect_trap({SIGSEGV, SEGV_MAPERR, 0xdead008, true, true}, {14, 6, 0xdead008}, "write, unmapped");
  expect_trap({SIGSEGV, SEGV_ACCERR, 0x400018, true, true, true}, {14, 7, 0x400018}, "write, protected");
  expect_trap({SIGSEGV, SEGV_MAPERR, 0x500000, true, false}, {14, 4 | 16, 0x500000}, "fetch, unmapped", 0x500000);
  expect_trap({SIGSEGV, SEGV_ACCERR, 0x600000, true, false, true}, {14, 1 | 4 | 16, 0x600000}, "fetch, not executable",
              0x600000);
  // #GP (13): SIGSEGV with SI_KERNEL, no address, error code 0.
  expect_trap({SIGSEGV, SI_KERNEL, 0, true, false}, {13, 0, 0}, "#GP");
  // #DE (0) for integer division, #XM (19) for SSE exceptions, #UD (6), #BP (3), #AC (17).
  expect_trap({SIGFPE, FPE_INTDIV, 0x401000, true, false}, {0, 0, 0}, "#DE");
  expect_trap({SIGFPE, FPE_FLTDIV, 0x401000, true, false}, {19, 0, 0}, "#XM");
  expect_trap({SIGILL, ILL_ILLOPN, 0x401000, true, false}, {6, 0, 0}, "#UD");
  expect_trap({SIGTRAP, SI_KERNEL, 0, true, false}, {3, 0, 0}, "int3");
  expect_trap({SIGBUS, BUS_ADRALN, 0x401003, true, false}, {17, 0, 0}, "#AC");
  // A signal that is not a fault describes no trap.
  expect_trap({SIGUSR1, SI_USER, 0, false, false}, {0, 0, 0}, "kill");
  expect_trap({SIGSEGV, SI_USER, 0, false, false}, {0, 0, 0}, "kill(SIGSEGV)");
}

// A read that faults with SEGV_ACCERR on x86-64 can only be a read of a PROT_NONE page, and the
// kernel keeps PROT_NONE PTEs not-present (_PAGE_PROTNONE without _PAGE_PRESENT), so the error
// code in sigcontext.err has P = 0: err = X86_PF_USER = 4 (a write to it: 6); the process layer
// says so through SignalCause::present. (Checked on the x86-64 host: a read of a PROT_NONE page
// gives SEGV_ACCERR, trapno 14, err 4; a write to it err 6; a write to a touched read-only page
// err 7.)
TEST(LinuxX86_64Arch, ReadOfANoAccessPageReportsNotPresentInErr) {
  expect_trap({SIGSEGV, SEGV_ACCERR, 0x400010, true, false, false}, {14, 4, 0x400010}, "read, PROT_NONE page");
  expect_trap({SIGSEGV, SEGV_ACCERR, 0x400010, true, true, false}, {14, 6, 0x400010}, "write, PROT_NONE page");
}

TEST(LinuxX86_64Arch, RestoreContextGivesBackTheInterruptedState) {
  const LinuxArch& a = X();
  const uint64_t frame_addr = 0x7ffe1000 - 8;
  const x64::State orig = random_x64_state(3);
  std::vector<uint8_t> frame = frame_for(a);
  a.save_context(bytes(&orig), frame.data(), frame_addr, SignalCause{SIGUSR1, SI_USER, 0, false, false});

  // The handler ran and changed everything; fs_base and gs_base are not in the frame.
  x64::State st = random_x64_state(4);
  x64::set_rflags(st, kPF | kAF | kID | kTF);
  ASSERT_TRUE(a.restore_context(bytes(&st), frame.data(), frame_addr));
  x64::State want = orig;
  want.fs_base = random_x64_state(4).fs_base;
  want.gs_base = random_x64_state(4).gs_base;
  // RFLAGS: the FIX_EFLAGS bits (AC OF DF TF SF ZF AF PF CF RF) from the frame, ID from before.
  x64::set_rflags(want, kCF | kZF | kSF | kOF | kDF | kAC | kID);
  expect_same_registers(st, want);
  EXPECT_EQ(x64::rflags(st), kCF | kZF | kSF | kOF | kDF | kAC | kID | kIF | 2u);
  EXPECT_EQ(st.df, 1u);
}

TEST(LinuxX86_64Arch, RestoreContextTakesOnlyFixEflagsBitsAndTheHandlersEdits) {
  const LinuxArch& a = X();
  const uint64_t frame_addr = 0x7ffe1000 - 8;
  const x64::State orig = random_x64_state(5);
  std::vector<uint8_t> frame = frame_for(a);
  a.save_context(bytes(&orig), frame.data(), frame_addr, SignalCause{});
  // A handler edits its ucontext (as a debugger or a JIT does): the new values come back.
  set_greg(frame, REG_RIP, 0x402000);
  set_greg(frame, REG_RBX, 0x1234);
  set_greg(frame, REG_RSP, 0x7ffe2000);
  // Every RFLAGS bit set in the frame: only the FIX_EFLAGS ones (0x50dd5) are taken; IF, IOPL,
  // NT, VM, VIF/VIP and ID are not the program's to set.
  set_greg(frame, REG_EFL, 0x3fffff);
  struct _libc_fpstate fp = fpstate_of(frame);
  fp.mxcsr = 0x9fc0;  // FZ, DAZ, all masked
  fp.cwd = 0x0272;
  fp._xmm[3].element[1] = 0xabcdef01;
  std::memcpy(&frame[kFpstate], &fp, sizeof fp);

  x64::State st = random_x64_state(6);
  x64::set_rflags(st, 0);
  ASSERT_TRUE(a.restore_context(bytes(&st), frame.data(), frame_addr));
  EXPECT_EQ(st.rip, 0x402000u);
  EXPECT_EQ(st.r[x64::RBX], 0x1234u);
  EXPECT_EQ(st.r[x64::RSP], 0x7ffe2000u);
  EXPECT_EQ(st.r[x64::R12], orig.r[x64::R12]);
  EXPECT_EQ(x64::rflags(st) & ~uint64_t(kIF | 2u), 0x50dd5u & ~kRF) << std::hex << x64::rflags(st);
  EXPECT_EQ(x64::rflags(st) & kID, 0u) << "ID is not restored";
  EXPECT_EQ(st.mxcsr, 0x9fc0u);
  EXPECT_EQ(st.fcw, 0x0272u);
  EXPECT_EQ(uint32_t(st.xmm[3][0] >> 32), 0xabcdef01u);
  EXPECT_EQ(st.xmm[3][1], orig.xmm[3][1]);
}

TEST(LinuxX86_64Arch, RestoreContextRefusesAMovedFpstateAndResetsTheFpuForANullOne) {
  const LinuxArch& a = X();
  const uint64_t frame_addr = 0x7ffe1000 - 8;
  const x64::State orig = random_x64_state(7);
  std::vector<uint8_t> frame = frame_for(a);
  a.save_context(bytes(&orig), frame.data(), frame_addr, SignalCause{});

  // fpregs pointing somewhere else: vmkit refuses the frame (the caller forces SIGSEGV) and
  // leaves the state alone.
  for (uint64_t moved : {frame_addr + kFpstate + 64, frame_addr + kFpstate - 64, uint64_t(0x1000)}) {
    std::vector<uint8_t> f = frame;
    store64(&f[kFpregsPtr], moved);
    x64::State st = random_x64_state(8);
    const x64::State before = st;
    EXPECT_FALSE(a.restore_context(bytes(&st), f.data(), frame_addr)) << std::hex << moved;
    expect_same_registers(st, before);
  }
  // The same frame restored at a different address: the pointer no longer matches.
  {
    x64::State st = random_x64_state(8);
    EXPECT_FALSE(a.restore_context(bytes(&st), frame.data(), frame_addr + 64));
  }

  // fpregs = NULL: the registers come back, the FPU and SSE state is the init state (the
  // kernel's fpu__clear_user_states).
  std::vector<uint8_t> f = frame;
  store64(&f[kFpregsPtr], 0);
  x64::State st = random_x64_state(9);
  ASSERT_TRUE(a.restore_context(bytes(&st), f.data(), frame_addr));
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(st.r[i], orig.r[i]) << "r" << i;
  EXPECT_EQ(st.rip, orig.rip);
  EXPECT_EQ(st.fcw, 0x037fu);
  EXPECT_EQ(st.fsw, 0u);
  EXPECT_EQ(st.ftw, 0xffffu) << "all x87 registers empty";
  EXPECT_EQ(st.mxcsr, 0x1f80u);
  for (unsigned i = 0; i < 16; ++i) EXPECT_TRUE(st.xmm[i][0] == 0 && st.xmm[i][1] == 0) << "xmm" << i;
}

TEST(LinuxX86_64Arch, EnterHandlerSetsTheAbisFunctionEntry) {
  const LinuxArch& a = X();
  const uint64_t frame_addr = a.sigframe_address(0x7fff0000 - 128);
  const x64::State orig = random_x64_state(10);
  x64::State st = orig;
  x64::set_rflags(st, kCF | kDF | kTF | kAC | kZF);
  a.enter_handler(bytes(&st), frame_addr, SIGUSR2, 0x401234, 0x405678);
  EXPECT_EQ(st.r[x64::RDI], uint64_t(SIGUSR2));
  EXPECT_EQ(st.r[x64::RSI], frame_addr + a.frame_info) << "&frame->info";
  EXPECT_EQ(st.r[x64::RDX], frame_addr + 8) << "&frame->uc";
  EXPECT_EQ(st.r[x64::RAX], 0u);
  EXPECT_EQ(st.r[x64::RSP], frame_addr) << "[rsp] is pretcode";
  EXPECT_EQ(st.rip, 0x401234u);
  EXPECT_EQ((st.r[x64::RSP] + 8) % 16, 0u);
  // Untouched: the callee-saved registers and the others the kernel does not set.
  for (unsigned r : {x64::RBX, x64::RBP, x64::RCX, x64::R8, x64::R9, x64::R10, x64::R11, x64::R12, x64::R13,
                     x64::R14, x64::R15})
    EXPECT_EQ(st.r[r], orig.r[r]) << "r" << r;
  EXPECT_EQ(st.fs_base, orig.fs_base);
  EXPECT_EQ(st.gs_base, orig.gs_base);
  // DF, TF and RF cleared; the arithmetic flags and AC kept.
  EXPECT_EQ(x64::rflags(st), kCF | kZF | kAC | kIF | 2u);
  EXPECT_EQ(st.df, 0u);
  // The FPU in its init state, the vector registers zero.
  expect_x64_fpu_init_state(st);
}

TEST(LinuxX86_64Arch, InitRegistersAndSyscallEntry) {
  const LinuxArch& a = X();
  x64::State st{};
  a.init_registers(bytes(&st), 0x401000, 0x7ffffffde000);
  EXPECT_EQ(st.rip, 0x401000u);
  EXPECT_EQ(st.r[x64::RSP], 0x7ffffffde000u);
  EXPECT_EQ(x64::rflags(st), 0x202u);
  EXPECT_EQ(st.mxcsr, 0x1f80u);
  EXPECT_EQ(st.fcw, 0x037fu);
  EXPECT_EQ(st.ftw, 0xffffu);
  EXPECT_EQ(st.fs_base, 0u);
  EXPECT_EQ(st.gs_base, 0u);
  // syscall: rcx = the next rip, r11 = RFLAGS (RF clear).
  x64::set_rflags(st, kCF | kOF | kDF | kAC);
  st.rip = 0x401002;
  a.syscall_entry(bytes(&st), 0x401002);
  EXPECT_EQ(st.r[x64::RCX], 0x401002u);
  EXPECT_EQ(st.r[x64::R11], kCF | kOF | kDF | kAC | kIF | 2u);
  EXPECT_EQ(x64::rflags(st), kCF | kOF | kDF | kAC | kIF | 2u) << "RFLAGS itself unchanged";
}

}  // namespace
}  // namespace vmkit::linux_user
