// The x86-64 Linux ABI (arch/x86 in the kernel; qemu's linux-user/x86_64): rax = syscall number
// and result, rdi rsi rdx r10 r8 r9 the arguments, syscall leaving rcx = the next rip and r11 =
// rflags; TLS in fs_base (arch_prctl); x86-64's own syscall numbers, mapped onto vmkit's
// asm-generic ones; the host's struct stat and epoll_event; the x86-64 rt_sigframe with its
// fxsave-format fpstate; and the legacy vsyscall page, emulated as qemu-user and the kernel do.
// There is no vDSO (qemu-x86_64 gives none either), so glibc makes real clock_gettime calls.
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>

#include <string_view>
#include <unordered_map>

#include "frontend/x86_64/frontend.h"
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"
#include "os/linux/arch.h"
#include "os/linux/syscalls.h"

namespace vmkit::linux_user {

namespace {

using x64::off_r;

// struct rt_sigframe (arch/x86/include/asm/sigframe.h): {char* pretcode; struct ucontext uc;
// struct siginfo info;}, and the fpstate (the 512-byte fxsave image, 64-byte aligned) above it.
constexpr uint64_t kFrameUcX86 = 8;
constexpr uint64_t kUcFlags = 0;
constexpr uint64_t kUcMcontextX86 = 40;  // struct sigcontext, 256 bytes
constexpr uint64_t kUcSigmaskX86 = 296;
constexpr uint64_t kFrameInfoX86 = 312;
constexpr uint64_t kSigframeSizeX86 = 440;
constexpr uint64_t kSc = kFrameUcX86 + kUcMcontextX86;
// struct sigcontext: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, cs/gs/fs/ss,
// err, trapno, oldmask, cr2, fpstate, reserved[8].
constexpr uint64_t kScR8 = kSc + 0, kScRdi = kSc + 64, kScRsi = kSc + 72, kScRbp = kSc + 80, kScRbx = kSc + 88,
                   kScRdx = kSc + 96, kScRax = kSc + 104, kScRcx = kSc + 112, kScRsp = kSc + 120, kScRip = kSc + 128,
                   kScEflags = kSc + 136, kScCs = kSc + 144, kScErr = kSc + 152,
                   kScTrapno = kSc + 160, kScOldmask = kSc + 168, kScCr2 = kSc + 176, kScFpstate = kSc + 184;
// The fpstate is 64-byte aligned and the frame 16-byte aligned minus 8 (as after a call) below
// it, which puts it at a fixed distance from the frame: 456 bytes (440 rounded to 16, plus 8).
constexpr uint64_t kFpstateOffset = 456;
constexpr uint64_t kUserCs = 0x33, kUserSs = 0x2b;
constexpr uint64_t kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;
// The RFLAGS bits sigreturn takes from the frame (FIX_EFLAGS: AC OF DF TF SF ZF AF PF CF RF).
constexpr uint64_t kFixEflags = 0x50dd5;
// Exception vectors for sigcontext.trapno.
constexpr uint64_t kTrapDe = 0, kTrapBp = 3, kTrapUd = 6, kTrapGp = 13, kTrapPf = 14, kTrapAc = 17, kTrapXm = 19;
// Page-fault error code bits (sigcontext.err): a protection violation (the page was present),
// a write, from user mode, an instruction fetch.
constexpr uint64_t kPfProt = 1, kPfWrite = 2, kPfUser = 4, kPfInstr = 16;

x64::State& state_of(uint8_t* s) { return *reinterpret_cast<x64::State*>(s); }
const x64::State& state_of(const uint8_t* s) { return *reinterpret_cast<const x64::State*>(s); }

// The registers in sigcontext order from r8, as {sigcontext offset, x64 register}.
struct ScReg {
  uint64_t off;
  unsigned reg;
};
constexpr ScReg kScRegs[] = {
    {kScR8, x64::R8},        {kScR8 + 8, x64::R9},    {kScR8 + 16, x64::R10}, {kScR8 + 24, x64::R11},
    {kScR8 + 32, x64::R12},  {kScR8 + 40, x64::R13},  {kScR8 + 48, x64::R14}, {kScR8 + 56, x64::R15},
    {kScRdi, x64::RDI},      {kScRsi, x64::RSI},      {kScRbp, x64::RBP},     {kScRbx, x64::RBX},
    {kScRdx, x64::RDX},      {kScRax, x64::RAX},      {kScRcx, x64::RCX},     {kScRsp, x64::RSP},
};

// ---- syscall numbers -------------------------------------------------------------------------

// How a canonical argument is made: from the guest's argument `guest`, or the constant `value`.
struct ArgSource {
  int8_t guest;
  int64_t value;
};
constexpr ArgSource G(int8_t i) { return {i, 0}; }
constexpr ArgSource K(int64_t v) { return {-1, v}; }

// x86-64 calls that asm-generic has only in another form: the call they become, and how its
// arguments are made. (The others map by name onto the asm-generic call of the same name.)
struct Rewrite {
  std::string_view name;
  uint64_t target;
  ArgSource args[6];
};
constexpr int64_t kFdCwd = AT_FDCWD;
const Rewrite kRewrites[] = {
    {"open", nr::openat, {K(kFdCwd), G(0), G(1), G(2)}},
    {"creat", nr::openat, {K(kFdCwd), G(0), K(O_CREAT | O_WRONLY | O_TRUNC), G(1)}},
    {"stat", nr::newfstatat, {K(kFdCwd), G(0), G(1), K(0)}},
    {"lstat", nr::newfstatat, {K(kFdCwd), G(0), G(1), K(AT_SYMLINK_NOFOLLOW)}},
    {"access", nr::faccessat, {K(kFdCwd), G(0), G(1)}},
    {"readlink", nr::readlinkat, {K(kFdCwd), G(0), G(1), G(2)}},
    {"unlink", nr::unlinkat, {K(kFdCwd), G(0), K(0)}},
    {"rmdir", nr::unlinkat, {K(kFdCwd), G(0), K(AT_REMOVEDIR)}},
    {"mkdir", nr::mkdirat, {K(kFdCwd), G(0), G(1)}},
    {"rename", nr::renameat, {K(kFdCwd), G(0), K(kFdCwd), G(1)}},
    {"link", nr::linkat, {K(kFdCwd), G(0), K(kFdCwd), G(1), K(0)}},
    {"symlink", nr::symlinkat, {G(0), K(kFdCwd), G(1)}},
    {"chmod", nr::fchmodat, {K(kFdCwd), G(0), G(1)}},
    {"chown", nr::fchownat, {K(kFdCwd), G(0), G(1), G(2), K(0)}},
    {"lchown", nr::fchownat, {K(kFdCwd), G(0), G(1), G(2), K(AT_SYMLINK_NOFOLLOW)}},
    {"pipe", nr::pipe2, {G(0), K(0)}},
    // (asm-generic has renameat, but riscv64 - whose table vmkit's generic names come from - does not)
    {"renameat", nr::renameat, {G(0), G(1), G(2), G(3)}},
    {"epoll_wait", nr::epoll_pwait, {G(0), G(1), G(2), G(3), K(0), K(8)}},
    {"eventfd", nr::eventfd2, {G(0), K(0)}},
    {"signalfd", nr::signalfd4, {G(0), G(1), G(2), K(0)}},
    {"inotify_init", nr::inotify_init1, {K(0)}},
    {"getpgrp", nr::getpgid, {K(0)}},
    // asm-generic's clone is (flags, newsp, parent_tid, tls, child_tid); x86-64 swaps the last two.
    {"clone", nr::clone, {G(0), G(1), G(2), G(4), G(3)}},
    {"fork", nr::clone, {K(SIGCHLD), K(0), K(0), K(0), K(0)}},
    {"vfork", nr::clone, {K(CLONE_VM | CLONE_VFORK | SIGCHLD), K(0), K(0), K(0), K(0)}},
    {"dup2", nr::legacy_dup2, {G(0), G(1)}},
    {"poll", nr::legacy_poll, {G(0), G(1), G(2)}},
    {"select", nr::legacy_select, {G(0), G(1), G(2), G(3), G(4)}},
    {"time", nr::legacy_time, {G(0)}},
    {"alarm", nr::legacy_alarm, {G(0)}},
    {"pause", nr::legacy_pause, {}},
    {"getdents", nr::legacy_getdents, {G(0), G(1), G(2)}},
    {"utime", nr::legacy_utime, {G(0), G(1)}},
    {"utimes", nr::legacy_utimes, {G(0), G(1)}},
    {"futimesat", nr::legacy_futimesat, {G(0), G(1), G(2)}},
    {"epoll_create", nr::legacy_epoll_create, {G(0)}},
    {"arch_prctl", nr::legacy_arch_prctl, {G(0), G(1)}},
    {"iopl", nr::legacy_no_permission, {}},
    {"ioperm", nr::legacy_no_permission, {}},
};

struct SyscallEntry {
  const char* name = nullptr;
  uint64_t target = 0;
  bool known = false;
  const Rewrite* rewrite = nullptr;  // null: the arguments pass unchanged
};

constexpr size_t kSyscallSlots = 512;

// The x86-64 table, joined with asm-generic's by name.
const std::vector<SyscallEntry>& syscall_table() {
  static const std::vector<SyscallEntry> table = [] {
    std::vector<SyscallEntry> t(kSyscallSlots);
#define SYSCALL_NAME(n, call) t[n].name = #call;
#include "os/linux/syscall_names_x86_64.def"
#undef SYSCALL_NAME
    for (SyscallEntry& e : t) {
      if (!e.name) continue;
      for (const Rewrite& r : kRewrites)
        if (r.name == e.name) e.rewrite = &r;
      if (e.rewrite) {
        e.target = e.rewrite->target;
        e.known = true;
      } else if (int64_t g = generic_syscall_number(e.name); g >= 0) {
        e.target = uint64_t(g);
        e.known = true;
      }
    }
    return t;
  }();
  return table;
}

class X86_64Linux final : public LinuxArch {
 public:
  X86_64Linux() {
    name = "x86_64";
    elf_machine = EM_X86_64;
    uname_machine = "x86_64";
    platform = "x86_64";
    // The guest's C library is the host's own (the same ABI): paths are not redirected.
    default_sysroot = "";
    sysroot_package = "libc6";
    state_size = sizeof(x64::State);
    off_pc = x64::kOffRip;
    off_sp = off_r(x64::RSP);
    off_syscall_nr = off_r(x64::RAX);
    const unsigned args[6] = {x64::RDI, x64::RSI, x64::RDX, x64::R10, x64::R8, x64::R9};
    for (unsigned i = 0; i < 6; ++i) off_args[i] = off_r(args[i]);
    off_result = off_r(x64::RAX);
    off_link = off_r(x64::RSP);  // (the return address is on the stack; nothing uses this on x86)
    off_tls = x64::kOffFsBase;
    off_gs_base = x64::kOffGsBase;
    syscall_insn_len = 2;
    // AT_HWCAP is CPUID.1:EDX on x86; glibc reads CPUID itself for everything else.
    hwcap = x64::cpuid(1, 0).edx;
    // mov eax, 15 (rt_sigreturn); syscall; nop. glibc always installs its own restorer
    // (__restore_rt, the same code); this copy is only ever reached by a hook that jumps to it.
    trampoline[0] = 0x00000fb8u;
    trampoline[1] = 0x90050f00u;
    has_sa_restorer = true;
    requires_sa_restorer = true;
    minsigstksz = 2048;
    sigframe_size = kSigframeSizeX86;
    frame_record_size = kFpstateOffset - kSigframeSizeX86 + x64::kFxsaveBytes;
    red_zone = 128;
    frame_info = kFrameInfoX86;
    frame_uc = kFrameUcX86;
    uc_sigmask = kUcSigmaskX86;
    return_address_in_frame = true;
    ill_code = 2;           // ILL_ILLOPN (do_error_trap for #UD)
    breakpoint_code = 0x80;  // SI_KERNEL (do_int3_user sends a plain SIGTRAP)
    breakpoint_reports_next_pc = true;
    host_struct_layouts = true;
    vsyscall_base = 0xffffffffff600000ull;
    vsyscall_numbers[0] = 96;   // gettimeofday
    vsyscall_numbers[1] = 201;  // time
    vsyscall_numbers[2] = 309;  // getcpu
    // The kernel's signal frame size for AT_MINSIGSTKSZ: frame, fpstate and alignment.
    aux_minsigstksz = kFpstateOffset + x64::kFxsaveBytes + 64;
  }

  std::unique_ptr<Frontend> make_frontend() const override { return x64::make_frontend(); }

  // start_thread: rip and rsp set, every other register 0, RFLAGS 0x202 (IF and the fixed bit,
  // which rflags() adds), segments flat, FPU and MXCSR in their init state.
  void init_registers(uint8_t* s, uint64_t entry, uint64_t sp) const override {
    x64::State& st = state_of(s);
    st.r[x64::RSP] = sp;
    st.rip = entry;
    x64::set_rflags(st, 0);
    st.fs_base = st.gs_base = 0;
    x64::reset_fpu(st);
  }

  void clear_reservation(uint8_t*) const override {}  // (x86 has no load-reserved)

  // The syscall instruction itself leaves rcx = the next rip and r11 = rflags (the kernel's
  // sysret path restores rflags from r11 and keeps rcx as it is).
  void syscall_entry(uint8_t* s, uint64_t next_pc) const override {
    x64::State& st = state_of(s);
    st.r[x64::RCX] = next_pc;
    st.r[x64::R11] = x64::rflags(st) & ~uint64_t(1u << 16);
  }

  unsigned insn_length(uint16_t) const override { return 4; }  // (diagnostics disassemble instead)

  const char* syscall_name(uint64_t number) const override {
    const auto& t = syscall_table();
    return number < t.size() && t[number].name ? t[number].name : "unknown";
  }

  CanonicalSyscall canonical_syscall(uint64_t number, const uint64_t (&args)[6]) const override {
    CanonicalSyscall c;
    const auto& t = syscall_table();
    if (number >= t.size() || !t[number].known) {
      c.number = number;
      c.known = false;
      std::memcpy(c.args, args, sizeof c.args);
      return c;
    }
    const SyscallEntry& e = t[number];
    c.number = e.target;
    if (!e.rewrite) {
      std::memcpy(c.args, args, sizeof c.args);
    } else {
      for (unsigned i = 0; i < 6; ++i) {
        const ArgSource& a = e.rewrite->args[i];
        c.args[i] = a.guest >= 0 ? args[a.guest] : uint64_t(a.value);
      }
    }
    return c;
  }

  // The fpstate sits right above the 440-byte frame (see kFpstateOffset).
  uint64_t sigframe_address(uint64_t sp) const override {
    const uint64_t fpstate = (sp - x64::kFxsaveBytes) & ~uint64_t(63);
    return fpstate - kFpstateOffset;
  }

  void save_context(const uint8_t* s, uint8_t* frame, uint64_t frame_addr, const SignalCause& cause) const override {
    const x64::State& st = state_of(s);
    store64(frame + kFrameUcX86 + kUcFlags, kUcSigcontextSs | kUcStrictRestoreSs);
    for (const ScReg& r : kScRegs) store64(frame + r.off, st.r[r.reg]);
    store64(frame + kScRip, st.rip);
    store64(frame + kScEflags, x64::rflags(st));
    store64(frame + kScCs, kUserCs | kUserSs << 48);  // cs, gs = 0, fs = 0, ss (at +150)
    uint64_t trapno = 0, err = 0, cr2 = 0;
    if (cause.fault) {
      switch (cause.signo) {
        case SIGSEGV:
          if (cause.code == 0x80) {  // SI_KERNEL: #GP
            trapno = kTrapGp;
          } else {
            trapno = kTrapPf;
            cr2 = cause.addr;
            err = kPfUser | (cause.present ? kPfProt : 0) | (cause.write ? kPfWrite : 0) |
                  (cause.addr == st.rip ? kPfInstr : 0);
          }
          break;
        case SIGFPE: trapno = cause.code == FPE_INTDIV ? kTrapDe : kTrapXm; break;
        case SIGILL: trapno = kTrapUd; break;
        case SIGTRAP: trapno = kTrapBp; break;
        case SIGBUS: trapno = kTrapAc; break;
      }
    }
    store64(frame + kScErr, err);
    store64(frame + kScTrapno, trapno);
    store64(frame + kScOldmask, load64(frame + kFrameUcX86 + kUcSigmaskX86));
    store64(frame + kScCr2, cr2);
    store64(frame + kScFpstate, frame_addr + kFpstateOffset);
    // fxsave format: bytes 464..511 (sw_reserved) stay zero, so no XSAVE data is announced.
    x64::fxsave_image(st, frame + kFpstateOffset);
  }

  void enter_handler(uint8_t* s, uint64_t frame_addr, int signo, uint64_t handler, uint64_t) const override {
    x64::State& st = state_of(s);
    st.r[x64::RDI] = uint64_t(signo);
    st.r[x64::RSI] = frame_addr + kFrameInfoX86;
    st.r[x64::RDX] = frame_addr + kFrameUcX86;
    st.r[x64::RAX] = 0;  // (no vector registers used for the varargs-compatible call)
    st.r[x64::RSP] = frame_addr;  // [rsp] is pretcode, the restorer
    st.rip = handler;
    // The ABI's function entry: DF clear (TF and RF too), and the FPU in its init state, XMM zero.
    x64::set_rflags(st, x64::rflags(st) & ~uint64_t(x64::kDF | (1u << 8) | (1u << 16)));
    x64::reset_fpu(st);
    std::memset(st.xmm, 0, sizeof st.xmm);
  }

  // restore_sigcontext: the registers, the FIX_EFLAGS bits, and the fpstate the frame points to
  // (vmkit reads it where it wrote it; a handler that moved the pointer elsewhere gets SIGSEGV,
  // and a null one resets the FPU, as the kernel does).
  bool restore_context(uint8_t* s, const uint8_t* frame, uint64_t frame_addr) const override {
    const uint64_t fpstate = load64(frame + kScFpstate);
    if (fpstate && fpstate != frame_addr + kFpstateOffset) return false;
    x64::State& st = state_of(s);
    x64::State next = st;
    if (fpstate) {
      if (!x64::fxrstor_image(next, frame + kFpstateOffset)) {
        // (the kernel masks reserved MXCSR bits rather than failing)
        uint8_t image[x64::kFxsaveBytes];
        std::memcpy(image, frame + kFpstateOffset, sizeof image);
        const uint32_t mxcsr = load32(image + 24) & x64::kMxcsrMask;
        store32(image + 24, mxcsr);
        x64::fxrstor_image(next, image);
      }
    } else {
      x64::reset_fpu(next);
      std::memset(next.xmm, 0, sizeof next.xmm);
    }
    for (const ScReg& r : kScRegs) next.r[r.reg] = load64(frame + r.off);
    next.rip = load64(frame + kScRip);
    x64::set_rflags(next, (x64::rflags(st) & ~kFixEflags) | (load64(frame + kScEflags) & kFixEflags));
    st = next;
    return true;
  }
};

}  // namespace

const LinuxArch& x86_64_linux() {
  static const X86_64Linux arch;
  return arch;
}

}  // namespace vmkit::linux_user
