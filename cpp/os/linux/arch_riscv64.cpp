// The riscv64 Linux ABI (arch/riscv in the kernel): a7 = syscall number, a0..a5 arguments and
// a0 the result, tp the thread pointer, and the riscv rt_sigframe.
#include <elf.h>

#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "os/linux/arch.h"
#include "os/linux/syscalls.h"

namespace vmkit::linux_user {

namespace {

using rv64::off_x;

// struct sigcontext (arch/riscv/include/uapi/asm/sigcontext.h) inside the frame: sc_regs
// {pc, x1..x31}, then __riscv_d_ext_state {f[32], fcsr}.
constexpr uint64_t kMcRegs = kFrameMcontext;
constexpr uint64_t kMcFp = kFrameMcontext + 256;
constexpr uint64_t kMcFcsr = kMcFp + 256;

constexpr uint64_t hwcap_letter(char ext) { return 1ull << (ext - 'A'); }

rv64::State& state_of(uint8_t* s) { return *reinterpret_cast<rv64::State*>(s); }
const rv64::State& state_of(const uint8_t* s) { return *reinterpret_cast<const rv64::State*>(s); }

class Riscv64Linux final : public LinuxArch {
 public:
  Riscv64Linux() {
    name = "riscv64";
    elf_machine = EM_RISCV;
    uname_machine = "riscv64";
    default_sysroot = "/usr/riscv64-linux-gnu";
    sysroot_package = "libc6-riscv64-cross";
    state_size = sizeof(rv64::State);
    off_pc = rv64::kOffPc;
    off_sp = off_x(2);
    off_syscall_nr = off_x(17);
    for (unsigned i = 0; i < 6; ++i) off_args[i] = off_x(10 + i);
    off_result = off_x(10);
    off_link = off_x(1);
    off_tls = off_x(4);
    hwcap = hwcap_letter('I') | hwcap_letter('M') | hwcap_letter('A') | hwcap_letter('F') | hwcap_letter('D') |
            hwcap_letter('C');
    trampoline[0] = 0x08b00893u;  // li a7, 139 (rt_sigreturn)
    trampoline[1] = 0x00000073u;  // ecall
    minsigstksz = 2048;
    sigframe_size = 1088;
  }

  std::unique_ptr<Frontend> make_frontend() const override { return rv64::make_frontend(); }

  void init_registers(uint8_t* s, uint64_t entry, uint64_t sp) const override {
    rv64::State& st = state_of(s);
    st.res_addr = rv64::kNoReservation;
    st.x[2] = sp;
    st.pc = entry;
  }

  const char* syscall_name(uint64_t number) const override {
    const char* s = generic_syscall_name(number);
    return s ? s : "unknown";
  }

  void clear_reservation(uint8_t* s) const override { state_of(s).res_addr = rv64::kNoReservation; }

  // The C extension: a 16-bit instruction unless the low two bits are 11.
  unsigned insn_length(uint16_t first) const override { return (first & 3) == 3 ? 4 : 2; }

  void save_context(const uint8_t* s, uint8_t* frame, uint64_t, const SignalCause&) const override {
    const rv64::State& st = state_of(s);
    store64(frame + kMcRegs, st.pc);
    for (unsigned i = 1; i < 32; ++i) store64(frame + kMcRegs + 8 * i, st.x[i]);
    for (unsigned i = 0; i < 32; ++i) store64(frame + kMcFp + 8 * i, st.f[i]);
    store32(frame + kMcFcsr, (st.frm << 5) | (st.fflags & 0x1f));
  }

  void enter_handler(uint8_t* s, uint64_t frame_addr, int signo, uint64_t handler, uint64_t restorer) const override {
    rv64::State& st = state_of(s);
    st.x[1] = restorer;
    st.x[2] = frame_addr;
    st.x[10] = uint64_t(signo);
    st.x[11] = frame_addr + kFrameInfo;
    st.x[12] = frame_addr + kFrameUc;
    st.pc = handler;
  }

  bool restore_context(uint8_t* s, const uint8_t* frame, uint64_t) const override {
    rv64::State& st = state_of(s);
    st.pc = load64(frame + kMcRegs);
    for (unsigned i = 1; i < 32; ++i) st.x[i] = load64(frame + kMcRegs + 8 * i);
    for (unsigned i = 0; i < 32; ++i) st.f[i] = load64(frame + kMcFp + 8 * i);
    uint32_t fcsr = load32(frame + kMcFcsr);
    st.fflags = fcsr & 0x1f;
    st.frm = (fcsr >> 5) & 7;
    return true;
  }
};

}  // namespace

const LinuxArch& riscv64_linux() {
  static const Riscv64Linux arch;
  return arch;
}

}  // namespace vmkit::linux_user
