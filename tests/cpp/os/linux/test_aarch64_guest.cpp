// An aarch64 guest program compiled at test time with aarch64-linux-gnu-gcc runs under vmkit and
// under qemu-aarch64 (-cpu cortex-a76: FP, AdvSIMD and LSE, like the HWCAP vmkit advertises),
// whose stdout and exit status are the reference: what is arm64's own - the signal frame
// (ucontext, fpsimd record, frame record), registers kept across a handler, sigaltstack, the O_*
// flag values, uname and auxv. (The arch-neutral programs of tests/guest run for every
// architecture in tests/python/test_linux_guests.py.)
#include <fstream>

#include "linux_test_util.h"

namespace vmkit::linux_user {
namespace {

#define REQUIRE_AARCH64_GCC()                                                                   \
  if (!have_tool(kAarch64Tools.gcc))                                                            \
  GTEST_SKIP() << "aarch64-linux-gnu-gcc is not installed (apt-get install gcc-aarch64-linux-gnu)"

bool have_qemu_aarch64() { return have_tool(kAarch64Tools.qemu); }

// Everything up to the last line, and the last line.
std::pair<std::string, std::string> split_last_line(const std::string& out) {
  size_t end = out.size() && out.back() == '\n' ? out.size() - 1 : out.size();
  size_t start = out.rfind('\n', end ? end - 1 : 0);
  start = start == std::string::npos ? 0 : start + 1;
  return {out.substr(0, start), out.substr(start, end - start)};
}

constexpr const char* kSignalsSource = R"C(#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jump;
static volatile int usr1_hits;
static char altstack[65536];

static void on_segv_skip(int sig, siginfo_t* si, void* ctx) {
  ucontext_t* uc = ctx;
  struct _aarch64_ctx* head = (struct _aarch64_ctx*)uc->uc_mcontext.__reserved;
  printf("segv sig=%d code=%d addr=%#lx fault_address=%#llx record=%#x/%u\n", sig, si->si_code,
         (unsigned long)si->si_addr, (unsigned long long)uc->uc_mcontext.fault_address, head->magic, head->size);
  uc->uc_mcontext.regs[0] = 1234;  // the load's result
  uc->uc_mcontext.pc += 4;         // past the faulting ldr
}

static void on_segv_jump(int sig) { siglongjmp(jump, sig); }

static void on_usr1_clobber(int sig, siginfo_t* si, void* ctx) {
  char here;
  int on_alt = &here >= altstack && &here < altstack + sizeof altstack;
  usr1_hits++;
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);  // undone by sigreturn
  // Clobber what the interrupted code keeps in registers across the svc.
  asm volatile("movi v16.16b, #0x55\n cmp xzr, xzr\n mov x19, #99" ::: "v16", "x19", "cc");
  printf("usr1 on_alt=%d code=%d\n", on_alt, si->si_code);
}

int main(int argc, char** argv) {
  struct utsname u;
  uname(&u);
  printf("machine=%s hwcap&3=%lu platform=%s\n", u.machine, getauxval(AT_HWCAP) & 3,
         (const char*)getauxval(AT_PLATFORM));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv_skip;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  long v;
  asm volatile("mov x1, #16\n mov x0, #7\n ldr x0, [x1]\n mov %0, x0" : "=r"(v) : : "x0", "x1", "memory");
  printf("after skipped load v=%ld\n", v);

  signal(SIGSEGV, on_segv_jump);
  int r = sigsetjmp(jump, 1);
  if (r == 0) *(volatile int*)8 = 1;
  printf("longjmp from handler r=%d\n", r);

  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  printf("sigaltstack=%d\n", sigaltstack(&ss, NULL));
  sa.sa_sigaction = on_usr1_clobber;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  uint64_t lo, hi, x19, flags;
  asm volatile(
      "mov x9, #0x1234\n fmov d16, x9\n mov x9, #0x5678\n mov v16.d[1], x9\n"
      "mov x19, #7\n cmp x19, #8\n"
      "mov x0, %4\n mov x1, #10\n mov x8, #129\n svc #0\n"
      "fmov %0, d16\n mov %1, v16.d[1]\n mov %2, x19\n mrs %3, nzcv\n"
      : "=r"(lo), "=r"(hi), "=r"(x19), "=r"(flags)
      : "r"((long)getpid())
      : "x0", "x1", "x8", "x9", "x19", "v16", "memory", "cc");
  printf("after usr1 hits=%d v16=%#lx:%#lx x19=%lu nzcv=%#lx\n", usr1_hits, (unsigned long)hi, (unsigned long)lo,
         (unsigned long)x19, (unsigned long)flags);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("mask restored=%d\n", !sigismember(&now, SIGUSR2));

  const char* dir = argc > 1 ? argv[1] : "/tmp";
  DIR* d = opendir(dir);
  int n = 0;
  while (d && readdir(d)) n++;
  printf("opendir=%d entries>=2:%d\n", d != NULL, n >= 2);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  int fl = fcntl(fd, F_GETFL);
  printf("dir fl has O_DIRECTORY=%d O_LARGEFILE=%d O_DIRECT=%d\n", !!(fl & O_DIRECTORY), !!(fl & O_LARGEFILE), !!(fl & O_DIRECT));
  char path[4096];
  snprintf(path, sizeof path, "%s/link", dir);
  errno = 0;
  printf("nofollow=%d errno=%d\n", open(path, O_RDONLY | O_NOFOLLOW), errno);
  snprintf(path, sizeof path, "%s/file", dir);
  errno = 0;
  printf("file as dir=%d errno=%d\n", open(path, O_RDONLY | O_DIRECTORY), errno);
  // Last: the kernel's arm64 MINSIGSTKSZ is 5120 (qemu 7.2 accepts less).
  stack_t small = {.ss_sp = altstack, .ss_size = 4096, .ss_flags = 0};
  errno = 0;
  printf("small sigaltstack=%d errno=%d\n", sigaltstack(&small, NULL), errno);
  return 0;
}
)C";

TEST(LinuxAarch64Guest, SignalFrameRegistersFlagsAndAuxvMatchQemu) {
  REQUIRE_AARCH64_GCC();
  const std::string dir = GuestPrograms::get().dir() + "/a64_sig_dir";
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/file") << "x\n";
  ::symlink((dir + "/file").c_str(), (dir + "/link").c_str());
  for (const char* flags : {"-static -O2", "-O2"}) {
    SCOPED_TRACE(flags);
    std::string bin = build(std::string("a64_signals") + (flags[1] == 's' ? "_static" : "_dynamic"), kSignalsSource,
                            flags, kAarch64Tools);
    ASSERT_FALSE(bin.empty());
    VmRun v = run_vm(bin, {dir});
    EXPECT_EQ(v.result.exit_status, 0) << v.out << v.result.diagnostics;
    EXPECT_EQ(v.result.signal, 0);
    EXPECT_NE(v.out.find("record=0x46508001/528"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("after usr1 hits=1 v16=0x5678:0x1234 x19=7 nzcv=0x80000000"), std::string::npos) << v.out;
    auto [body, last] = split_last_line(v.out);
    // The kernel's MINSIGSTKSZ for arm64 is 5120 (qemu 7.2 accepts less: not compared).
    EXPECT_EQ(last, "small sigaltstack=-1 errno=12");
    if (have_qemu_aarch64()) {
      QemuRun q = run_qemu(bin, {dir}, "", kAarch64Tools);
      EXPECT_EQ(q.status, v.result.exit_status);
      EXPECT_EQ(split_last_line(q.out).first, body);
    }
  }
}

}  // namespace
}  // namespace vmkit::linux_user
