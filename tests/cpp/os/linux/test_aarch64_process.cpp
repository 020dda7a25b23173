// aarch64 Linux user mode end to end, with a hand-made static ELF whose code is only `svc #0`
// and branches back to it: a syscall hook plays a script, one step per syscall, that checks the
// previous syscall's effect and sets the registers for the next (x8 and x0..x5). This exercises
// the process layer - initial stack and registers, the syscall registers, flag translation,
// sigaction with sa_restorer, the signal frame, rt_sigreturn - without the A64 lifters.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "frontend/aarch64/state.h"
#include "linux_test_util.h"

namespace vmkit::linux_user {
namespace {

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kEntry = kBase + 0x100;    // svc #0; b .-4
constexpr uint64_t kHandler = kEntry + 8;     // svc #0; b .-4
constexpr uint64_t kBrk = kEntry + 16;        // brk #0
constexpr uint64_t kUdf = kEntry + 20;        // 0x00000000: udf #0 (the rest of the file is zeros)
constexpr uint32_t kCode[] = {0xd4000001, 0x17ffffff, 0xd4000001, 0x17ffffff, 0xd4200000};

constexpr uint64_t kSIGUSR1 = 10, kSA_SIGINFO = 4, kSA_RESTORER = 0x04000000;
constexpr uint64_t kArm64O_DIRECTORY = 040000, kArm64O_NOFOLLOW = 0100000, kArm64O_DIRECT = 0200000,
                   kArm64O_LARGEFILE = 0400000;
constexpr int64_t kAT_FDCWD = -100;

// The program: kCode at kEntry in a static ET_EXEC for EM_AARCH64.
std::vector<uint8_t> a64_program() {
  const auto* code = reinterpret_cast<const uint8_t*>(kCode);
  return static_program(EM_AARCH64, kBase, kEntry, {code, code + sizeof kCode});
}

using Step = SyscallStep<a64::State>;

// Runs prog under the script; its stdout goes to *out (when given).
ProcessResult run_script(const std::string& prog, std::vector<Step> steps, std::string* out = nullptr,
                         bool then_run_freely = false) {
  return run_syscall_script<a64::State>(prog, {nullptr, std::move(steps), 0, then_run_freely, {}}, out);
}

// Sets up the next syscall.
void call(a64::State& st, uint64_t nr, std::vector<uint64_t> args = {}) {
  st.x[8] = nr;
  for (size_t i = 0; i < args.size(); ++i) st.x[i] = args[i];
}

int64_t result(const a64::State& st) { return int64_t(st.x[0]); }

// Scratch memory for syscall arguments: the stack below sp (the guest never touches it).
uint64_t scratch(const a64::State& st, unsigned slot) { return st.x[a64::kSp] - 1024 * (slot + 1); }
uint64_t put_str(a64::State& st, GuestMemory& m, unsigned slot, const std::string& s) {
  uint64_t a = scratch(st, slot);
  m.write(a, s.c_str(), s.size() + 1);
  return a;
}

TEST(LinuxAarch64, StartsWithTheKernelsInitialStackAndRegisters) {
  Sandbox box(a64_program());
  ProcessResult r = run_script(box.prog, {[&](a64::State& st, GuestMemory& m) {
    EXPECT_EQ(st.pc, kEntry);
    const uint64_t sp = st.x[a64::kSp];
    EXPECT_EQ(sp % 16, 0u);
    for (unsigned i = 0; i < 31; ++i) EXPECT_EQ(st.x[i], 0u) << "x" << i;
    EXPECT_EQ(st.tpidr_el0, 0u);
    EXPECT_EQ(a64::nzcv(st), 0u);
    EXPECT_EQ(st.fpcr, 0u);
    EXPECT_EQ(st.fpsr, 0u);
    std::map<uint64_t, uint64_t> aux = expect_script_initial_stack(m, sp, box.prog);
    EXPECT_EQ(aux[AT_HWCAP], 0x103u) << "HWCAP_FP | HWCAP_ASIMD | HWCAP_ATOMICS";
    EXPECT_EQ(aux.count(26), 1u);  // AT_HWCAP2
    EXPECT_EQ(aux[26], 0u);
    EXPECT_EQ(aux[AT_ENTRY], kEntry);
    EXPECT_EQ(aux[AT_PHDR], kBase + sizeof(Elf64_Ehdr));
    EXPECT_EQ(aux[AT_PHNUM], 1u);
    EXPECT_EQ(aux[AT_PAGESZ], 4096u);
    EXPECT_EQ(aux[AT_BASE], 0u) << "static: no interpreter";
    ASSERT_EQ(aux.count(AT_PLATFORM), 1u);
    EXPECT_EQ(m.read_cstr(aux[AT_PLATFORM]), "aarch64");
    EXPECT_EQ(aux[51], 4720u) << "AT_MINSIGSTKSZ: the frame, its record and alignment";
    EXPECT_EQ(aux[25] % 16, 0u);  // AT_RANDOM
    EXPECT_EQ(m.read_cstr(aux[31]), box.prog);  // AT_EXECFN
    call(st, 94, {42});  // exit_group(42)
  }});
  EXPECT_EQ(r.exit_status, 42);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.stopped);
}

TEST(LinuxAarch64, SyscallsTakeX8AndX0ToX5AndTranslateArm64Flags) {
  Sandbox box(a64_program());
  int dir_fd = -1;
  uint64_t old_act = 0;
  ProcessResult r = run_script(box.prog, {
      [&](a64::State& st, GuestMemory&) { call(st, 160, {scratch(st, 0)}); },  // uname
      [&](a64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        EXPECT_EQ(m.read_cstr(scratch(st, 0)), "Linux");
        EXPECT_EQ(m.read_cstr(scratch(st, 0) + 4 * 65), "aarch64");
        // openat(AT_FDCWD, dir, O_RDONLY | arm64 O_DIRECTORY)
        call(st, 56, {uint64_t(kAT_FDCWD), put_str(st, m, 1, box.dir + "/subdir"), kArm64O_DIRECTORY, 0});
      },
      [&](a64::State& st, GuestMemory&) {
        ASSERT_GE(result(st), 3) << "opendir's openat";
        dir_fd = int(result(st));
        call(st, 25, {uint64_t(dir_fd), 3 /* F_GETFL */});  // fcntl
      },
      [&](a64::State& st, GuestMemory& m) {
        const uint64_t fl = st.x[0];
        EXPECT_TRUE(fl & kArm64O_DIRECTORY) << std::oct << fl;
        EXPECT_TRUE(fl & kArm64O_LARGEFILE) << std::oct << fl;
        EXPECT_FALSE(fl & (kArm64O_DIRECT | kArm64O_NOFOLLOW)) << std::oct << fl;
        // O_DIRECTORY on a regular file fails as on arm64 (on the host's value, O_DIRECT, it would not)
        call(st, 56, {uint64_t(kAT_FDCWD), put_str(st, m, 1, box.dir + "/file"), kArm64O_DIRECTORY, 0});
      },
      [&](a64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOTDIR);
        call(st, 56, {uint64_t(kAT_FDCWD), put_str(st, m, 1, box.dir + "/link"), kArm64O_NOFOLLOW, 0});
      },
      [&](a64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), -ELOOP) << "arm64 O_NOFOLLOW on a symlink";
        call(st, 258, {0, 0, 0, 0, 0});  // riscv_hwprobe: not an aarch64 syscall
      },
      [&](a64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOSYS);
        // sigaltstack with 4096 bytes: less than arm64's MINSIGSTKSZ (5120)
        uint64_t ss[3] = {scratch(st, 20), 0, 4096};
        m.write(scratch(st, 2), ss, sizeof ss);
        call(st, 132, {scratch(st, 2), 0});
      },
      [&](a64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), -ENOMEM);
        uint64_t ss[3] = {scratch(st, 20), 0, 5120};
        m.write(scratch(st, 2), ss, sizeof ss);
        call(st, 132, {scratch(st, 2), 0});
      },
      [&](a64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        // rt_sigaction(SIGUSR1, {handler, flags, restorer, mask}, NULL, 8): arm64's 32 bytes
        uint64_t act[4] = {kHandler, kSA_SIGINFO | kSA_RESTORER, 0x400abc, 1u << 11};
        m.write(scratch(st, 3), act, sizeof act);
        old_act = scratch(st, 4);
        uint64_t poison[5] = {~0ull, ~0ull, ~0ull, ~0ull, 0x5a5a};
        m.write(old_act, poison, sizeof poison);
        call(st, 134, {kSIGUSR1, scratch(st, 3), 0, 8});
      },
      [&](a64::State& st, GuestMemory&) {
        EXPECT_EQ(result(st), 0);
        call(st, 134, {kSIGUSR1, 0, old_act, 8});
      },
      [&](a64::State& st, GuestMemory& m) {
        EXPECT_EQ(result(st), 0);
        uint64_t got[5];
        m.read(old_act, got, sizeof got);
        EXPECT_EQ(got[0], kHandler);
        EXPECT_EQ(got[1], kSA_SIGINFO | kSA_RESTORER);
        EXPECT_EQ(got[2], 0x400abcu) << "sa_restorer";
        EXPECT_EQ(got[3], 1u << 11) << "sa_mask";
        EXPECT_EQ(got[4], 0x5a5au) << "only 32 bytes written";
        call(st, 59, {scratch(st, 5), kArm64O_DIRECT});  // pipe2(fds, O_DIRECT): a packet-mode pipe
      },
      [&](a64::State& st, GuestMemory& m) {
        ASSERT_EQ(result(st), 0);
        call(st, 25, {uint64_t(m.read_val<int32_t>(scratch(st, 5) + 4)), 3 /* F_GETFL */});
      },
      [&](a64::State& st, GuestMemory&) {
        EXPECT_EQ(st.x[0] & (kArm64O_DIRECT | kArm64O_DIRECTORY), kArm64O_DIRECT) << std::oct << st.x[0];
        EXPECT_EQ(st.x[0] & 3, 1u) << "O_WRONLY";
        call(st, 94, {0});
      },
  });
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.signal, 0);
  EXPECT_NE(r.diagnostics.find("unsupported syscall 258 (unknown)"), std::string::npos) << r.diagnostics;
}

TEST(LinuxAarch64, SignalFrameAndSigreturnRestoreTheInterruptedState) {
  Sandbox box(a64_program());
  a64::State interrupted{};
  ProcessResult r = run_script(box.prog, {
      [&](a64::State& st, GuestMemory& m) {
        uint64_t act[4] = {kHandler, kSA_SIGINFO, 0, 0};  // no SA_RESTORER: the vDSO-style trampoline
        m.write(scratch(st, 3), act, sizeof act);
        call(st, 134, {kSIGUSR1, scratch(st, 3), 0, 8});
      },
      [&](a64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.x[19] = 0x1919;
        st.x[29] = 0x2929;
        st.x[30] = 0x3030;
        st.v[5][0] = 0x55;
        st.v[5][1] = 0x66;
        a64::set_nzcv(st, 0x60000000);
        st.fpsr = 0x10;
        st.fpcr = 0x00c00000;
        st.excl_size = 8;
        call(st, 129, {uint64_t(::getpid()), kSIGUSR1});  // kill(getpid(), SIGUSR1)
        interrupted = st;
      },
      [&](a64::State& st, GuestMemory& m) {
        // In the handler: x0 = signo, x1 = &info, x2 = &uc, x29 = the frame record, x30 = return.
        const uint64_t frame = st.x[a64::kSp];
        EXPECT_EQ(st.pc, kHandler);
        EXPECT_EQ(frame, ((interrupted.x[a64::kSp] - 16) & ~uint64_t(15)) - 4688);
        EXPECT_EQ(st.x[0], kSIGUSR1);
        EXPECT_EQ(st.x[1], frame);
        EXPECT_EQ(st.x[2], frame + 128);
        EXPECT_EQ(st.x[29], frame + 4688);
        EXPECT_EQ(st.excl_size, 0u) << "delivery clears the exclusive monitor";
        EXPECT_EQ(m.read_val<uint32_t>(st.x[30]), 0xd2801168u) << "the trampoline: mov x8, #139";
        EXPECT_EQ(m.read_val<uint32_t>(st.x[30] + 4), 0xd4000001u) << "svc #0";
        EXPECT_EQ(m.read_val<int32_t>(frame), int32_t(kSIGUSR1));  // si_signo
        EXPECT_EQ(m.read_val<int32_t>(frame + 8), 0);              // SI_USER
        EXPECT_EQ(m.read_val<int32_t>(frame + 16), ::getpid());    // si_pid
        EXPECT_EQ(m.read_val<uint64_t>(frame + 128 + 40), 0u) << "uc_sigmask: the mask before the handler";
        const uint64_t sc = frame + 128 + 176;
        EXPECT_EQ(m.read_val<uint64_t>(sc + 8 + 8 * 19), 0x1919u);
        EXPECT_EQ(m.read_val<uint64_t>(sc + 8 + 8 * 8), 129u);
        EXPECT_EQ(m.read_val<uint64_t>(sc + 8), 0u) << "x0: kill's result";
        EXPECT_EQ(m.read_val<uint64_t>(sc + 256), interrupted.x[a64::kSp]);
        EXPECT_EQ(m.read_val<uint64_t>(sc + 264), kEntry + 4) << "pc: after the svc";
        EXPECT_EQ(m.read_val<uint64_t>(sc + 272), 0x60000000u);
        EXPECT_EQ(m.read_val<uint32_t>(sc + 288), 0x46508001u);
        EXPECT_EQ(m.read_val<uint32_t>(sc + 288 + 8), 0x10u);        // fpsr
        EXPECT_EQ(m.read_val<uint32_t>(sc + 288 + 12), 0x00c00000u); // fpcr
        EXPECT_EQ(m.read_val<uint64_t>(sc + 288 + 16 + 16 * 5 + 8), 0x66u);
        EXPECT_EQ(m.read_val<uint64_t>(frame + 4688), 0x2929u);
        EXPECT_EQ(m.read_val<uint64_t>(frame + 4696), 0x3030u);
        // The handler clobbers registers, then returns through rt_sigreturn.
        st.x[19] = 0;
        st.v[5][1] = 0;
        a64::set_nzcv(st, 0);
        st.fpsr = 0;
        call(st, 139);
      },
      [&](a64::State& st, GuestMemory&) {
        EXPECT_EQ(st.pc, kEntry) << "back after the kill, then around the loop";
        EXPECT_EQ(st.x[a64::kSp], interrupted.x[a64::kSp]);
        EXPECT_EQ(st.x[0], 0u);
        EXPECT_EQ(st.x[8], 129u);
        EXPECT_EQ(st.x[19], 0x1919u);
        EXPECT_EQ(st.x[29], 0x2929u);
        EXPECT_EQ(st.x[30], 0x3030u);
        EXPECT_EQ(st.v[5][0], 0x55u);
        EXPECT_EQ(st.v[5][1], 0x66u);
        EXPECT_EQ(a64::nzcv(st), 0x60000000u);
        EXPECT_EQ(st.fpsr, 0x10u);
        EXPECT_EQ(st.fpcr, 0x00c00000u);
        call(st, 94, {7});
      },
  });
  EXPECT_EQ(r.exit_status, 7);
  EXPECT_EQ(r.signal, 0);
}

TEST(LinuxAarch64, BreakpointKillsWithSigtrapNamingTheA64Instruction) {
  Sandbox box(a64_program());
  ProcessResult r = run_script(box.prog, {[&](a64::State& st, GuestMemory&) { st.pc = kBrk; }});
  EXPECT_EQ(r.signal, 5);
  EXPECT_NE(r.diagnostics.find("killed by SIGTRAP at pc=0x400110 (insn 0xd4200000)"), std::string::npos) << r.diagnostics;
}

// As the arm64 kernel does it (do_el0_undef): SIGILL with ILL_ILLOPC and si_addr = the
// instruction. (qemu-aarch64 7.2 reports ILL_ILLOPN.)
TEST(LinuxAarch64, UndefinedInstructionRaisesSigillIllOpcAtItsAddress) {
  Sandbox box(a64_program());
  constexpr uint64_t kSIGILL = 4;
  ProcessResult r = run_script(box.prog, {
      [&](a64::State& st, GuestMemory& m) {
        uint64_t act[4] = {kHandler, kSA_SIGINFO, 0, 0};
        m.write(scratch(st, 3), act, sizeof act);
        call(st, 134, {kSIGILL, scratch(st, 3), 0, 8});
      },
      [&](a64::State& st, GuestMemory&) {
        ASSERT_EQ(result(st), 0);
        st.pc = kUdf;  // (after a harmless getpid)
        call(st, 172);
      },
      [&](a64::State& st, GuestMemory& m) {
        const uint64_t frame = st.x[a64::kSp];
        EXPECT_EQ(st.pc, kHandler);
        EXPECT_EQ(m.read_val<int32_t>(frame), int32_t(kSIGILL));
        EXPECT_EQ(m.read_val<int32_t>(frame + 8), 1) << "ILL_ILLOPC";
        EXPECT_EQ(m.read_val<uint64_t>(frame + 16), kUdf) << "si_addr";
        EXPECT_EQ(m.read_val<uint64_t>(frame + 128 + 176 + 264), kUdf) << "the saved pc";
        call(st, 94, {9});
      },
  });
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_EQ(r.signal, 0);
  // Unhandled, it kills the process, and the diagnostic names the pc and the word.
  r = run_script(box.prog, {[&](a64::State& st, GuestMemory&) {
    st.pc = kUdf;
    call(st, 172);
  }});
  EXPECT_EQ(r.signal, 4);
  EXPECT_NE(r.diagnostics.find("pc=0x400114"), std::string::npos) << r.diagnostics;
  EXPECT_NE(r.diagnostics.find("0x00000000"), std::string::npos) << r.diagnostics;
}

TEST(LinuxAarch64, ProgramArchFollowsTheElfAndScriptInterpreters) {
  Sandbox box(a64_program());
  EXPECT_EQ(program_arch(box.prog), "aarch64");
  std::ofstream(box.dir + "/script") << "#!" << box.prog << " -x\necho\n";
  EXPECT_EQ(program_arch(box.dir + "/script"), "aarch64");
  EXPECT_EQ(program_arch(box.dir + "/file"), "") << "not a program";
  EXPECT_EQ(program_arch(box.dir + "/missing"), "");
  auto x86 = a64_program();
  reinterpret_cast<Elf64_Ehdr*>(x86.data())->e_machine = EM_X86_64;
  std::ofstream(box.dir + "/x86", std::ios::binary).write(reinterpret_cast<const char*>(x86.data()), std::streamsize(x86.size()));
  EXPECT_EQ(program_arch(box.dir + "/x86"), "x86_64");
  auto i386 = a64_program();
  reinterpret_cast<Elf64_Ehdr*>(i386.data())->e_machine = EM_386;
  std::ofstream(box.dir + "/i386", std::ios::binary).write(reinterpret_cast<const char*>(i386.data()), std::streamsize(i386.size()));
  EXPECT_EQ(program_arch(box.dir + "/i386"), "");
}

// execve may start a program of the other architecture (binfmt_misc with qemu-user would): the
// new image gets its own frontend and registers.
TEST(LinuxAarch64, ExecveCanStartARiscv64Program) {
  if (std::system("command -v riscv64-linux-gnu-gcc >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "riscv64-linux-gnu-gcc is not installed";
  Sandbox box(a64_program());
  const std::string rv = box.dir + "/rv";
  std::ofstream(rv + ".c") << "#include <stdio.h>\n#include <sys/utsname.h>\nint main(int c, char** v) {"
                              " struct utsname u; uname(&u); printf(\"%s %s %d\\n\", u.machine, v[1], c); return 5; }\n";
  ASSERT_EQ(std::system(("riscv64-linux-gnu-gcc -static -O2 -o " + rv + " " + rv + ".c").c_str()), 0);
  std::string out;
  ProcessResult r = run_script(box.prog, {[&](a64::State& st, GuestMemory& m) {
    // execve(rv, {rv, "from-a64", NULL}, {NULL})
    const uint64_t path = put_str(st, m, 1, rv), arg = put_str(st, m, 2, "from-a64");
    const uint64_t argv[3] = {path, arg, 0}, envp[1] = {0};
    m.write(scratch(st, 3), argv, sizeof argv);
    m.write(scratch(st, 4), envp, sizeof envp);
    call(st, 221, {path, scratch(st, 3), scratch(st, 4)});
  }}, &out, true);
  EXPECT_EQ(r.exit_status, 5) << r.diagnostics;
  EXPECT_EQ(out, "riscv64 from-a64 2\n");
}

}  // namespace
}  // namespace vmkit::linux_user
