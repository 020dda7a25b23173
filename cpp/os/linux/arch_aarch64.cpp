// The arm64 Linux ABI (arch/arm64 in the kernel; qemu's linux-user/aarch64): x8 = syscall
// number, x0..x5 arguments and x0 the result, TLS in TPIDR_EL0, struct sigaction with
// sa_restorer, arm64's own O_DIRECTORY/O_NOFOLLOW/O_DIRECT/O_LARGEFILE values, and the arm64
// rt_sigframe (sigcontext with an fpsimd_context record, and a frame record above it).
#include <elf.h>
#include <fcntl.h>
#include <signal.h>

#include "frontend/aarch64/frontend.h"
#include "frontend/aarch64/state.h"
#include "os/linux/arch.h"
#include "os/linux/syscalls.h"

namespace vmkit::linux_user {

namespace {

using a64::off_x;

// struct sigcontext (arch/arm64/include/uapi/asm/sigcontext.h) inside the frame.
constexpr uint64_t kScFaultAddress = kFrameMcontext;
constexpr uint64_t kScRegs = kFrameMcontext + 8;      // regs[31]: x0..x30
constexpr uint64_t kScSp = kFrameMcontext + 256;
constexpr uint64_t kScPc = kFrameMcontext + 264;
constexpr uint64_t kScPstate = kFrameMcontext + 272;
constexpr uint64_t kScReserved = kFrameMcontext + 288;  // __reserved[4096], 16-byte aligned
constexpr uint64_t kReservedSize = 4096;
constexpr uint64_t kSigframeSize = kScReserved + kReservedSize;  // sizeof(struct rt_sigframe)
static_assert(kSigframeSize == 4688 && kScReserved % 16 == 0);

// The records in __reserved: {u32 magic, u32 size} headers. fpsimd_context is {head, fpsr, fpcr,
// __uint128_t vregs[32]}; the list ends with a zero header.
constexpr uint32_t kFpsimdMagic = 0x46508001, kFpsimdSize = 528;
constexpr uint32_t kEsrMagic = 0x45535201;  // esr_context: a fault's syndrome, ignored on return
constexpr uint64_t kFpsimdFpsr = 8, kFpsimdFpcr = 12, kFpsimdVregs = 16;
constexpr uint64_t kRecordHeader = 8;
// The frame record {fp, lr} the kernel puts right above the frame, so that unwinders walking
// x29 from a handler reach the interrupted code.
constexpr uint64_t kFrameRecordSize = 16;

constexpr uint64_t kHWCAP_FP = 1u << 0, kHWCAP_ASIMD = 1u << 1, kHWCAP_ATOMICS = 1u << 8;

// open(2) flags whose arm64 values differ from the host's (x86-64, the asm-generic values): the
// same four bits, permuted. The host's O_LARGEFILE is the kernel's 0100000 (glibc's own
// O_LARGEFILE is 0 on 64-bit hosts; the kernel still reports the bit in F_GETFL).
struct FlagPair {
  uint32_t guest, host;
};
constexpr uint32_t kHostO_LARGEFILE = 0100000;
static_assert(O_DIRECT == 040000 && O_DIRECTORY == 0200000 && O_NOFOLLOW == 0400000,
              "the open flag translation assumes an x86-64 host");
constexpr FlagPair kOpenFlags[] = {
    {040000, O_DIRECTORY},
    {0100000, O_NOFOLLOW},
    {0200000, O_DIRECT},
    {0400000, kHostO_LARGEFILE},
};
constexpr uint32_t kPermutedBits = 040000 | 0100000 | 0200000 | 0400000;

uint32_t translate_open_flags(uint32_t flags, bool to_host) {
  uint32_t out = flags & ~kPermutedBits;
  for (const FlagPair& f : kOpenFlags)
    if (flags & (to_host ? f.guest : f.host)) out |= to_host ? f.host : f.guest;
  return out;
}

a64::State& state_of(uint8_t* s) { return *reinterpret_cast<a64::State*>(s); }
const a64::State& state_of(const uint8_t* s) { return *reinterpret_cast<const a64::State*>(s); }

// The __reserved records of a frame, checked the way the kernel's parse_user_sigframe does:
// 16-byte aligned records inside __reserved, at most one fpsimd_context (of its exact size),
// esr_context ignored, anything else (SVE, ZA, extra) rejected - vmkit never writes them.
// Returns the offset of the fpsimd_context, or 0 if the list is malformed or has none.
uint64_t find_fpsimd_record(const uint8_t* frame) {
  uint64_t fpsimd = 0;
  for (uint64_t off = 0;;) {
    if (kReservedSize - off < kRecordHeader) return 0;
    const uint32_t magic = load32(frame + kScReserved + off), size = load32(frame + kScReserved + off + 4);
    if (size > kReservedSize - off) return 0;
    if (magic == 0) return size == 0 ? fpsimd : 0;
    if (magic == kFpsimdMagic) {
      if (fpsimd || size != kFpsimdSize) return 0;
      fpsimd = kScReserved + off;
    } else if (magic != kEsrMagic) {
      return 0;
    }
    if (size < kRecordHeader || size % 16) return 0;
    off += size;
  }
}

class Aarch64Linux final : public LinuxArch {
 public:
  Aarch64Linux() {
    name = "aarch64";
    elf_machine = EM_AARCH64;
    uname_machine = "aarch64";
    platform = "aarch64";
    default_sysroot = "/usr/aarch64-linux-gnu";
    sysroot_package = "libc6-arm64-cross";
    state_size = sizeof(a64::State);
    off_pc = a64::kOffPc;
    off_sp = a64::kOffSp;
    off_syscall_nr = off_x(8);
    for (unsigned i = 0; i < 6; ++i) off_args[i] = off_x(i);
    off_result = off_x(0);
    off_link = off_x(30);
    off_tls = a64::kOffTpidr;
    // FP, AdvSIMD and the LSE atomics (libgcc's outline atomics then use them instead of
    // exclusive-load/store loops): what vmkit implements. Not SVE or MTE, so glibc's ifuncs stay
    // off them, and not HWCAP_CPUID, so glibc never reads MIDR_EL1.
    hwcap = kHWCAP_FP | kHWCAP_ASIMD | kHWCAP_ATOMICS;
    trampoline[0] = 0xd2801168u;  // mov x8, #139 (rt_sigreturn)
    trampoline[1] = 0xd4000001u;  // svc #0
    has_sa_restorer = true;
    minsigstksz = 5120;
    sigframe_size = kSigframeSize;
    frame_record_size = kFrameRecordSize;
    // The kernel's signal_minsigstksz: the frame, its record and the worst alignment padding.
    aux_minsigstksz = kSigframeSize + kFrameRecordSize + 16;
  }

  std::unique_ptr<Frontend> make_frontend() const override { return a64::make_frontend(); }

  // start_thread: PSTATE EL0t with the flags clear, FPCR/FPSR zero (as qemu-aarch64 starts).
  void init_registers(uint8_t* s, uint64_t entry, uint64_t sp) const override {
    a64::State& st = state_of(s);
    st.x[a64::kSp] = sp;
    st.pc = entry;
    a64::set_nzcv(st, 0);
    st.fpcr = st.fpsr = 0;
    st.tpidr_el0 = 0;
    st.excl_size = 0;
  }

  // asm-generic's table as riscv64 has it, plus renameat and without the riscv calls.
  const char* syscall_name(uint64_t number) const override {
    if (number == nr::renameat) return "renameat";
    if (number == nr::riscv_hwprobe || number == nr::riscv_flush_icache) return "unknown";
    const char* s = generic_syscall_name(number);
    return s ? s : "unknown";
  }

  void clear_reservation(uint8_t* s) const override { state_of(s).excl_size = 0; }

  unsigned insn_length(uint16_t) const override { return 4; }

  uint32_t open_flags_to_host(uint32_t guest) const override { return translate_open_flags(guest, true); }
  uint32_t open_flags_to_guest(uint32_t host) const override { return translate_open_flags(host, false); }

  void save_context(const uint8_t* s, uint8_t* frame, uint64_t, const SignalCause& cause) const override {
    const a64::State& st = state_of(s);
    // fault_address: the faulting address of a SIGSEGV or SIGBUS.
    const bool memory_fault = cause.fault && (cause.signo == SIGSEGV || cause.signo == SIGBUS);
    store64(frame + kScFaultAddress, memory_fault ? cause.addr : 0);
    for (unsigned i = 0; i < 31; ++i) store64(frame + kScRegs + 8 * i, st.x[i]);
    store64(frame + kScSp, st.x[a64::kSp]);
    store64(frame + kScPc, st.pc);
    store64(frame + kScPstate, a64::nzcv(st));  // EL0t: only the flags are set
    uint8_t* fp = frame + kScReserved;
    store32(fp, kFpsimdMagic);
    store32(fp + 4, kFpsimdSize);
    store32(fp + kFpsimdFpsr, st.fpsr);
    store32(fp + kFpsimdFpcr, st.fpcr);
    for (unsigned i = 0; i < 32; ++i) {
      store64(fp + kFpsimdVregs + 16 * i, st.v[i][0]);
      store64(fp + kFpsimdVregs + 16 * i + 8, st.v[i][1]);
    }
    store64(fp + kFpsimdSize, 0);  // the end record
    store64(frame + kSigframeSize, st.x[29]);
    store64(frame + kSigframeSize + 8, st.x[30]);
  }

  void enter_handler(uint8_t* s, uint64_t frame_addr, int signo, uint64_t handler, uint64_t restorer) const override {
    a64::State& st = state_of(s);
    st.x[0] = uint64_t(signo);
    st.x[1] = frame_addr + kFrameInfo;
    st.x[2] = frame_addr + kFrameUc;
    st.x[29] = frame_addr + kSigframeSize;  // the frame record
    st.x[30] = restorer;
    st.x[a64::kSp] = frame_addr;
    st.pc = handler;
  }

  // The kernel's rt_sigreturn wants sp 16-byte aligned and a well-formed record list.
  bool restore_context(uint8_t* s, const uint8_t* frame, uint64_t frame_addr) const override {
    if (frame_addr % 16) return false;
    const uint64_t fpsimd = find_fpsimd_record(frame);
    if (!fpsimd) return false;
    a64::State& st = state_of(s);
    for (unsigned i = 0; i < 31; ++i) st.x[i] = load64(frame + kScRegs + 8 * i);
    st.x[a64::kSp] = load64(frame + kScSp);
    st.pc = load64(frame + kScPc);
    // The kernel keeps a user pstate valid; of its bits only NZCV is guest-visible state here.
    a64::set_nzcv(st, uint32_t(load64(frame + kScPstate)));
    st.fpsr = load32(frame + fpsimd + kFpsimdFpsr);
    st.fpcr = load32(frame + fpsimd + kFpsimdFpcr);
    for (unsigned i = 0; i < 32; ++i) {
      st.v[i][0] = load64(frame + fpsimd + kFpsimdVregs + 16 * i);
      st.v[i][1] = load64(frame + fpsimd + kFpsimdVregs + 16 * i + 8);
    }
    return true;
  }
};

}  // namespace

const LinuxArch& aarch64_linux() {
  static const Aarch64Linux arch;
  return arch;
}

}  // namespace vmkit::linux_user
