// What Linux user mode needs to know about a guest architecture: its ABI (syscall and TLS
// registers, auxv values, open flags, struct sigaction, the signal frame) and its register file,
// reached through byte offsets so that the rest of os/linux never names an arch's State type.
// One descriptor per architecture (arch_riscv64.cpp, arch_aarch64.cpp, arch_x86_64.cpp), chosen
// from the ELF's e_machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace vmkit {
class Frontend;
}

namespace vmkit::linux_user {

// The rt_sigframe layout of the asm-generic architectures (riscv64, aarch64): siginfo_t (128
// bytes), then struct ucontext with uc_stack at +16, uc_sigmask at +40 and uc_mcontext (16-byte
// aligned) at +176. x86-64 has its own (LinuxArch::frame_info and the other offsets).
constexpr uint64_t kFrameInfo = 0, kFrameUc = 128;
constexpr uint64_t kUcStack = 16, kUcSigmask = 40, kUcMcontext = 176;
constexpr uint64_t kFrameMcontext = kFrameUc + kUcMcontext;

// Why a signal frame is being built, for the parts of the machine context that describe the
// cause (x86-64's trapno, err and cr2; arm64's fault_address).
struct SignalCause {
  int signo = 0;
  int code = 0;           // si_code
  uint64_t addr = 0;      // si_addr of a fault
  bool fault = false;     // a synchronous fault (si_addr meaningful)
  bool write = false;     // a memory fault by a store
  bool present = false;   // a memory fault on a page mapped with some access (not PROT_NONE)
};

// A syscall as the shared syscall layer handles it: its asm-generic number (nr:: in syscalls.h)
// and arguments, or one of the calls only some architectures have (nr::legacy_*).
struct CanonicalSyscall {
  uint64_t number = 0;
  uint64_t args[6] = {};
  bool known = true;  // false: the guest's number names no syscall vmkit implements
};

class LinuxArch {
 public:
  virtual ~LinuxArch() = default;

  // Identity.
  const char* name = "";           // the vmkit arch name ("riscv64"), as frontend/registry.h knows it
  uint16_t elf_machine = 0;        // EM_RISCV / EM_AARCH64
  const char* uname_machine = "";  // uname(2)'s machine field
  const char* platform = nullptr;  // AT_PLATFORM's string (nullptr: the kernel gives none)
  // Where the cross C library lives (the default sysroot) and the Debian package that has it.
  const char* default_sysroot = "";
  const char* sysroot_package = "";

  // The register file: the State's size and the byte offsets of the 64-bit registers the ABI uses.
  size_t state_size = 0;
  uint32_t off_pc = 0, off_sp = 0;
  uint32_t off_syscall_nr = 0;   // riscv64 a7, aarch64 x8
  uint32_t off_args[6] = {};     // riscv64 a0..a5, aarch64 x0..x5
  uint32_t off_result = 0;       // riscv64 a0, aarch64 x0
  uint32_t off_link = 0;         // riscv64 ra, aarch64 x30
  uint32_t off_tls = 0;          // riscv64 tp, aarch64 TPIDR_EL0 (CLONE_SETTLS)
  unsigned syscall_insn_len = 4; // ecall / svc: pc after a syscall is this far past it

  // The initial stack's auxv.
  uint64_t hwcap = 0, hwcap2 = 0;
  uint64_t aux_minsigstksz = 0;  // AT_MINSIGSTKSZ (0: not given)

  // Signals.
  uint32_t trampoline[2] = {};   // the rt_sigreturn trampoline (standing in for the vDSO's)
  bool has_sa_restorer = false;  // struct sigaction has sa_restorer (SA_RESTORER): 32 bytes, else 24
  // x86-64: a handler without SA_RESTORER cannot return (no vDSO trampoline), so the kernel
  // refuses to deliver to it and forces SIGSEGV.
  bool requires_sa_restorer = false;
  uint64_t minsigstksz = 0;      // sigaltstack's MINSIGSTKSZ
  uint64_t sigframe_size = 0;    // struct rt_sigframe
  uint64_t frame_record_size = 0;  // what the kernel puts above it (aarch64's frame record, x86's fpstate)
  uint64_t red_zone = 0;         // bytes below sp a signal frame must not touch (x86-64: 128)
  // The frame's siginfo and ucontext, and uc_sigmask within the ucontext (uc_stack is at +16 on
  // every arch).
  uint64_t frame_info = kFrameInfo, frame_uc = kFrameUc, uc_sigmask = kUcSigmask;
  // x86-64: the handler's return address (pretcode) is the frame's first word, so rt_sigreturn
  // finds the frame 8 bytes below the sp it is called with (the handler's ret popped it).
  bool return_address_in_frame = false;
  // si_code of an illegal instruction's SIGILL (the kernels differ: ILL_ILLOPC, x86 ILL_ILLOPN).
  int ill_code = 1;
  // A breakpoint instruction's SIGTRAP: its si_code, and whether pc is after the instruction
  // (x86's int3 is a trap: rip points past it) or at it.
  int breakpoint_code = 1;  // TRAP_BRKPT
  bool breakpoint_reports_next_pc = false;

  size_t sigaction_size() const { return has_sa_restorer ? 32 : 24; }
  // Where a signal frame goes for stack pointer sp (red zone already skipped; the frame record,
  // if any, right above it).
  virtual uint64_t sigframe_address(uint64_t sp) const { return (sp - sigframe_size - frame_record_size) & ~uint64_t(15); }
  // The guest's syscall as the shared layer handles it (identity for the asm-generic arches).
  virtual CanonicalSyscall canonical_syscall(uint64_t number, const uint64_t (&args)[6]) const {
    CanonicalSyscall c{number, {}, true};
    std::memcpy(c.args, args, sizeof c.args);
    return c;
  }
  // The guest's name for its syscall number, for diagnostics ("unknown" if none).
  virtual const char* syscall_name(uint64_t number) const = 0;
  // struct stat is the host's (x86-64) rather than asm-generic's, and so is struct epoll_event.
  bool host_struct_layouts = false;
  uint32_t off_gs_base = 0;  // x86-64 arch_prctl (off_tls is fs_base there)
  // x86-64's legacy vsyscall page: a call to one of its three entries (every 0x400 bytes) runs
  // that syscall and returns to the caller, as the kernel's and qemu's emulation do (0: no page).
  uint64_t vsyscall_base = 0;
  uint64_t vsyscall_numbers[3] = {};  // the guest's syscall numbers of the entries

  virtual std::unique_ptr<Frontend> make_frontend() const = 0;
  // The registers at the program's entry (the rest of the state is zero): sp, pc and whatever
  // the kernel's start_thread sets.
  virtual void init_registers(uint8_t* state, uint64_t entry, uint64_t sp) const = 0;
  // What the syscall instruction does to registers besides entering the kernel (x86-64's rcx and
  // r11), with pc already past it.
  virtual void syscall_entry(uint8_t* /*state*/, uint64_t /*next_pc*/) const {}
  // Forgets a load-reserved/exclusive reservation: a trap into the kernel (signal delivery,
  // sigreturn, a thread switch) clears it, so a pending store-conditional fails.
  virtual void clear_reservation(uint8_t* state) const = 0;
  // The length of the instruction whose first 16 bits are `first` (for fault reports; x86-64's
  // diagnostics use the frontend's disassembly instead).
  virtual unsigned insn_length(uint16_t first) const = 0;
  // open(2) flags between the guest's values and the host's (x86-64).
  virtual uint32_t open_flags_to_host(uint32_t guest) const { return guest; }
  virtual uint32_t open_flags_to_guest(uint32_t host) const { return host; }

  // The signal frame's machine context: save_context writes the registers of `state` into
  // `frame` (sigframe_size + frame_record_size bytes at guest address frame_addr, the siginfo and
  // the rest of the ucontext already there), with what `cause` says about the signal.
  // enter_handler then points the registers at the handler for the frame at guest address
  // frame_addr: its arguments (signo, &info, &uc), the stack, and the return address `restorer`.
  // restore_context loads them back in rt_sigreturn from the frame (sigframe_size +
  // frame_record_size bytes) at frame_addr; false if the frame is malformed (the kernel then
  // forces SIGSEGV), leaving `state` unchanged.
  virtual void save_context(const uint8_t* state, uint8_t* frame, uint64_t frame_addr, const SignalCause& cause) const = 0;
  virtual void enter_handler(uint8_t* state, uint64_t frame_addr, int signo, uint64_t handler, uint64_t restorer) const = 0;
  virtual bool restore_context(uint8_t* state, const uint8_t* frame, uint64_t frame_addr) const = 0;
};

const LinuxArch& riscv64_linux();
const LinuxArch& aarch64_linux();
const LinuxArch& x86_64_linux();
// The descriptor for an ELF e_machine, nullptr if vmkit does not run that machine.
const LinuxArch* linux_arch_for_machine(uint16_t e_machine);
// "riscv64, aarch64 or x86_64" and "EM_RISCV, EM_AARCH64 or EM_X86_64", for error messages.
std::string supported_arch_names();
std::string supported_machine_names();

// 64-bit little-endian fields of a byte buffer (guest states and signal frames).
inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// One thread's register file (on the Cpu, or saved while the thread is off it), read and
// written through its arch's offsets.
class GuestRegs {
 public:
  GuestRegs(const LinuxArch& arch, uint8_t* state) : arch_(&arch), state_(state) {}
  uint64_t get(uint32_t off) const { return load64(state_ + off); }
  void set(uint32_t off, uint64_t v) { store64(state_ + off, v); }
  uint64_t pc() const { return get(arch_->off_pc); }
  void set_pc(uint64_t v) { set(arch_->off_pc, v); }
  uint64_t sp() const { return get(arch_->off_sp); }
  void set_sp(uint64_t v) { set(arch_->off_sp, v); }
  uint64_t syscall_nr() const { return get(arch_->off_syscall_nr); }
  uint64_t arg(unsigned i) const { return get(arch_->off_args[i]); }
  void set_result(uint64_t v) { set(arch_->off_result, v); }
  void set_tls(uint64_t v) { set(arch_->off_tls, v); }
  void clear_reservation() { arch_->clear_reservation(state_); }
  uint8_t* data() const { return state_; }
  const LinuxArch& arch() const { return *arch_; }

 private:
  const LinuxArch* arch_;
  uint8_t* state_;
};

// A register file's bytes kept off the Cpu, 16-byte aligned (the states' vector registers are).
class StateBuffer {
 public:
  void assign(const uint8_t* bytes, size_t n) {
    chunks_.assign((n + 15) / 16, Chunk{});
    std::memcpy(data(), bytes, n);
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(chunks_.data()); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(chunks_.data()); }
  size_t size() const { return chunks_.size() * 16; }

 private:
  struct alignas(16) Chunk {
    uint8_t bytes[16];
  };
  std::vector<Chunk> chunks_;
};

}  // namespace vmkit::linux_user
