// x87 control/status helpers of the x86-64 frontend (lift_x87.cpp): the pending-exception check
// of the waiting instructions (#MF), the 28-byte environment (fnstenv/fldenv) and the 512-byte
// fxsave image (its layout: state.h's fxsave_image). The lifters keep these out of IR because the
// environment and the image hold the x87 registers in stack order (ST(i) is R[(TOP + i) & 7], TOP
// known only at run time) and tags in forms computed from the registers' contents.
//
// x87 arithmetic (helper x87_exec) runs the guest's instruction itself on the host's x87, which
// is the reference: the guest's x87 state is loaded with frstor (its control word as it is:
// precision, rounding and the exception masks), the instruction's two bytes (opcode, ModRM) run
// with a memory operand moved to a host buffer, and fnsave collects the result. Every result bit,
// condition code, exception flag, tag and stack fault is then the hardware's, transcendentals and
// unmasked responses (no store, biased exponents) included. fnsave does not wait and reinitialises
// the x87, so an exception the instruction leaves pending never traps on the host; the guest takes
// #MF at its next waiting instruction.
//
// Invariants of the State fields (state.h) that every writer here keeps:
// - fsw's ES (bit 7) and B (bit 15) are set exactly when an exception flag (bits 0..5) is unmasked
//   in fcw: the hardware recomputes them whenever FCW or FSW is loaded (fldcw, fldenv, fxrstor,
//   and fnstenv's masking), which the host shows.
// - ftw, the full tag word: which registers are empty (11) is what counts; a non-empty register's
//   tag is computed from its contents where a full tag word is stored (fnstenv), as the hardware
//   does, so 00 (what fldenv and MMX instructions keep) and a classified tag mean the same.
#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <utility>

#include "core/hook_runtime.h"
#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

constexpr int32_t kSegvMaperr = 1;   // SEGV_MAPERR: an address outside the guest's memory
constexpr int32_t kSiKernel = 0x80;  // SI_KERNEL: what Linux reports for #GP
// si_code of SIGFPE for an x87 exception (asm-generic/siginfo.h).
constexpr int32_t kFpeFltDiv = 3, kFpeFltOvf = 4, kFpeFltUnd = 5, kFpeFltRes = 6, kFpeFltInv = 7;
constexpr uint64_t kPage = 4096;

// FSW/FCW exception bits: IE DE ZE OE UE PE (the same positions in both words).
constexpr uint16_t kIE = 1, kDE = 2, kZE = 4, kOE = 8, kUE = 16, kExceptions = 0x3f;  // (PE = 32)
constexpr unsigned kFxsaveWritten = 416, kEnvBytes = 28;  // (kFxsaveBytes: state.h)
constexpr unsigned kImageFip = 8, kImageFdp = 16;          // offsets in the fxsave image

State& st(void* s) { return *static_cast<State*>(s); }

// ---- status and tags ----------------------------------------------------------------------------

// The unmasked exception flags of a status word: nonzero means #MF at the next waiting instruction.
uint16_t unmasked_exceptions(uint16_t fsw, uint16_t fcw) { return fsw & ~fcw & kExceptions; }


// Linux's si_code for an x87 #MF (arch/x86/kernel/fpu/core.c, fpu__exception_code): the first of
// invalid operation (and stack fault), divide by zero, overflow, underflow or denormal, precision
// among the unmasked exceptions.
int32_t fpe_code(uint16_t unmasked) {
  if (unmasked & kIE) return kFpeFltInv;
  if (unmasked & kZE) return kFpeFltDiv;
  if (unmasked & kOE) return kFpeFltOvf;
  if (unmasked & (kDE | kUE)) return kFpeFltUnd;
  return kFpeFltRes;
}

// Raises #MF if an unmasked exception is pending; returns whether it did.
bool raise_pending(State& s) {
  const uint16_t unmasked = unmasked_exceptions(s.fsw, s.fcw);
  if (!unmasked) return false;
  s.common.trap.raise(SIGFPE, fpe_code(unmasked), 0);
  return true;
}

bool is_empty(const State& s, unsigned phys) { return ((s.ftw >> (2 * phys)) & 3) == 3; }

// The tag of a non-empty register from its contents: 0 valid, 1 zero, 2 special (NaN, infinity,
// denormal, unnormal; what an MMX write, exponent all ones, leaves).
unsigned content_tag(const State::X87Reg& r) {
  const unsigned exp = r.exp & 0x7fff;
  if (exp == 0x7fff) return 2;
  if (exp == 0) return r.mant == 0 ? 1 : 2;
  return (r.mant >> 63) ? 0 : 2;
}

// The full tag word as fnstenv stores it.
uint16_t full_tag_word(const State& s) {
  uint16_t tw = 0;
  for (unsigned i = 0; i < 8; ++i) tw |= uint16_t((is_empty(s, i) ? 3u : content_tag(s.fpr[i])) << (2 * i));
  return tw;
}

// The tag word fldenv keeps from a loaded one: its empty registers (11); the others' tags are
// computed from their contents whenever a full tag word is stored.
uint16_t tags_from_full(uint16_t full) {
  uint16_t tw = 0;
  for (unsigned i = 0; i < 8; ++i)
    if (((full >> (2 * i)) & 3) == 3) tw |= uint16_t(3u << (2 * i));
  return tw;
}

// ---- guest memory -------------------------------------------------------------------------------

// A range of guest memory that a helper reads or writes whole, as helpers_string.cpp's RepRun
// does: through the host mapping, where a host fault (unmapped or protected page) becomes a
// precise guest fault at the instruction through the Cpu's SIGSEGV handler. Every page of the
// range is probed before the first byte moves, so a fault leaves memory and registers as they
// were. Each piece of up to 8 bytes is reported to memory hooks, numbered from 0 for this
// execution (HookRuntime::access_index), like the accesses of a rep string instruction.
class GuestRange {
 public:
  GuestRange(State& s, uint64_t pc, uint64_t addr, uint64_t len) : s_(s), pc_(pc), addr_(addr), len_(len) {}

  // Each returns false if it did not happen: a trap is pending or a hook asked to leave.
  bool read(uint8_t* out) {
    if (!inside()) return false;
    for (uint64_t p = first_page(); p < addr_ + len_; p += kPage)
      (void)*reinterpret_cast<volatile uint8_t*>(host(std::max(p, addr_)));
    for (uint64_t off = 0; off < len_; off += 8) {
      const unsigned n = piece(off);
      std::memcpy(out + off, host(addr_ + off), n);
      if (!report(MemAccess::Read, off, out + off, n)) return false;
    }
    return true;
  }
  bool write(const uint8_t* in, uint64_t bytes) {
    if (!inside()) return false;
    for (uint64_t p = first_page(); p < addr_ + len_; p += kPage)
      probe_host_write(host(std::max(p, addr_)));
    for (uint64_t off = 0; off < bytes; off += 8) {
      const unsigned n = piece(off, bytes);
      if (!report(MemAccess::Write, off, in + off, n)) return false;
      std::memcpy(host(addr_ + off), in + off, n);
    }
    return true;
  }

 private:
  uint64_t first_page() const { return addr_ & ~(kPage - 1); }
  unsigned piece(uint64_t off, uint64_t end = ~0ull) const {
    const uint64_t limit = std::min(end, len_);
    return unsigned(std::min<uint64_t>(8, limit - off));
  }
  uint8_t* host(uint64_t addr) const { return s_.common.mem_base + addr; }
  bool inside() {
    const uint64_t size = s_.common.mem_size;
    if (len_ <= size && addr_ <= size - len_) return true;
    s_.common.trap.raise(SIGSEGV, kSegvMaperr, addr_ < size ? size : addr_);
    return false;
  }
  bool report(MemAccess access, uint64_t off, const uint8_t* bytes, unsigned n) {
    const uint32_t index = next_access_++;
    HookRuntime* rt = s_.common.hooks;
    if (!rt || !rt->has_mem_hooks() || !rt->mem_hooked(addr_ + off, n)) return true;
    uint64_t v = 0;
    std::memcpy(&v, bytes, n);
    rt->access_index = index;
    if (rt->mem(rt, access, pc_, addr_ + off, n, v) == HookAction::Continue) return true;
    s_.common.trap.pending = kPendingHookLeave;
    return false;
  }

  State& s_;
  uint64_t pc_, addr_, len_;
  uint32_t next_access_ = 0;
};

template <class T>
void put(uint8_t* p, T v) { std::memcpy(p, &v, sizeof v); }
template <class T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool misaligned16(State& s, uint64_t addr) {
  if (!(addr & 15)) return false;
  s.common.trap.raise(SIGSEGV, kSiKernel, 0);
  return true;
}

}  // namespace

// ---- helpers ------------------------------------------------------------------------------------

uint64_t helper_x87_wait(void* state, uint64_t, uint64_t, uint64_t, uint32_t) {
  raise_pending(st(state));
  return 0;
}

// The protected-mode 32-bit environment (64-bit mode's format): FCW, FSW, the full FTW, each in a
// dword whose upper half is all ones; FIP[31:0]; FCS (0) and the opcode; FDP[31:0]; FDS (0).
// Afterwards every exception is masked (which clears ES and B), as fnstenv does.
uint64_t helper_x87_fnstenv(void* state, uint64_t addr, uint64_t pc, uint64_t, uint32_t) {
  State& s = st(state);
  uint8_t env[kEnvBytes];
  put<uint32_t>(env + 0, 0xffff0000u | s.fcw);
  put<uint32_t>(env + 4, 0xffff0000u | s.fsw);
  put<uint32_t>(env + 8, 0xffff0000u | full_tag_word(s));
  put<uint32_t>(env + 12, uint32_t(s.fip));
  put<uint32_t>(env + 16, uint32_t(s.fop & 0x7ff) << 16);
  put<uint32_t>(env + 20, uint32_t(s.fdp));
  put<uint32_t>(env + 24, 0xffff0000u);
  if (!GuestRange(s, pc, addr, kEnvBytes).write(env, kEnvBytes)) return 0;
  s.fcw |= kExceptions;
  s.fsw = with_error_summary(s.fsw, s.fcw);
  return 0;
}

uint64_t helper_x87_fldenv(void* state, uint64_t addr, uint64_t pc, uint64_t, uint32_t) {
  State& s = st(state);
  if (raise_pending(s)) return 0;
  uint8_t env[kEnvBytes];
  if (!GuestRange(s, pc, addr, kEnvBytes).read(env)) return 0;
  s.fcw = loaded_fcw(get<uint16_t>(env + 0));
  s.fsw = with_error_summary(get<uint16_t>(env + 4), s.fcw);
  s.ftw = tags_from_full(get<uint16_t>(env + 8));
  s.fip = get<uint32_t>(env + 12);
  s.fop = get<uint16_t>(env + 18) & 0x7ff;
  s.fdp = get<uint32_t>(env + 20);
  return 0;
}

// fxsave/fxsave64: the image of state.h's fxsave_image (the 64-bit format); without REX.W, FIP and
// FDP are 32-bit, each followed by a selector that vmkit keeps as 0.
uint64_t helper_x87_fxsave(void* state, uint64_t addr, uint64_t pc, uint64_t, uint32_t is64) {
  State& s = st(state);
  if (misaligned16(s, addr)) return 0;
  uint8_t image[kFxsaveBytes];
  fxsave_image(s, image);
  if (!is64) {
    put<uint64_t>(image + kImageFip, uint32_t(s.fip));
    put<uint64_t>(image + kImageFdp, uint32_t(s.fdp));
  }
  // The whole 512 bytes are the operand (probed), the first 416 written.
  GuestRange(s, pc, addr, kFxsaveBytes).write(image, kFxsaveWritten);
  return 0;
}

// fxrstor/fxrstor64: #GP for reserved MXCSR bits with nothing loaded (fxrstor_image normalises FCW
// and FSW as fldcw and fldenv leave them).
uint64_t helper_x87_fxrstor(void* state, uint64_t addr, uint64_t pc, uint64_t, uint32_t is64) {
  State& s = st(state);
  if (misaligned16(s, addr)) return 0;
  uint8_t image[kFxsaveBytes];
  if (!GuestRange(s, pc, addr, kFxsaveBytes).read(image)) return 0;
  if (!fxrstor_image(s, image)) {
    s.common.trap.raise(SIGSEGV, kSiKernel, 0);  // #GP
    return 0;
  }
  if (!is64) {
    s.fip = uint32_t(s.fip);
    s.fdp = uint32_t(s.fdp);
  }
  return 0;
}

// ---- arithmetic on the host's x87 ---------------------------------------------------------------

namespace {

// x87_exec's c: the guest's arithmetic flags (RFLAGS positions, bits 0..11), the instruction's
// FOP (the low 3 bits of the opcode byte D8..DF, then ModRM), the memory operand's size in bytes
// (0: none) and whether it is written (else read).
constexpr unsigned kFopShift = 12, kMemBytesShift = 24;
constexpr uint64_t kFopBits = 0x7ff, kMemWrite = 1ull << 32;
constexpr unsigned kSaveBytes = 108;  // fnsave/frstor's image (the 32-bit format)

#if defined(__x86_64__)

constexpr uint16_t kPE = 32;

// What one host run works on: the x87 state in fnsave's layout (frstor loads the guest's, fnsave
// stores the result); mem is the memory operand (the instruction addresses it as [rdi]); rflags
// carries the guest's arithmetic flags in (fcmovcc reads them) and the host's out (fcomi writes
// them: the guest gets whatever the host did, unmasked invalid operands included).
struct HostRun {
  alignas(16) uint8_t image[kSaveBytes];
  alignas(16) uint8_t mem[kSaveBytes];
  uint64_t rflags;
  uint16_t host_fcw;
};

// fnsave's image (SDM Vol. 1 §8.1.10, the 32-bit format): FCW, FSW, the full tag word, the
// pointers (left 0 here: the guest's are kept in State), ST(0)..ST(7) of 10 bytes each.
constexpr unsigned kSaveFcw = 0, kSaveFsw = 4, kSaveFtw = 8, kSaveSt = 28;

void to_save_image(const State& s, uint8_t* img) {
  std::memset(img, 0, kSaveSt);
  put<uint16_t>(img + kSaveFcw, s.fcw);
  put<uint16_t>(img + kSaveFsw, s.fsw);
  put<uint16_t>(img + kSaveFtw, full_tag_word(s));
  const unsigned top = s.fsw >> 11 & 7;
  for (unsigned i = 0; i < 8; ++i) {
    const State::X87Reg& r = s.fpr[(top + i) & 7];
    put<uint64_t>(img + kSaveSt + 10 * i, r.mant);
    put<uint16_t>(img + kSaveSt + 10 * i + 8, r.exp);
  }
}

void from_save_image(State& s, const uint8_t* img) {
  s.fcw = loaded_fcw(get<uint16_t>(img + kSaveFcw));
  s.fsw = with_error_summary(get<uint16_t>(img + kSaveFsw), s.fcw);
  s.ftw = get<uint16_t>(img + kSaveFtw);
  const unsigned top = s.fsw >> 11 & 7;
  for (unsigned i = 0; i < 8; ++i) {
    State::X87Reg& r = s.fpr[(top + i) & 7];
    r.mant = get<uint64_t>(img + kSaveSt + 10 * i);
    r.exp = get<uint16_t>(img + kSaveSt + 10 * i + 8);
  }
}

// The instruction D8+Op3 ModRM on the host, between loading the guest's state (frstor) and saving
// the result (fnsave, which leaves the x87 as fninit does: empty, as the ABI has it between
// functions), under the guest's arithmetic flags; the host's control word is put back last. The
// flags go through the stack below the red zone, which the compiler may use.
template <unsigned Op3, unsigned ModRm>
void host_insn(HostRun& h) {
  asm volatile(
      "fnstcw %[cw]\n\t"
      "frstor %[image]\n\t"
      "lea -128(%%rsp), %%rsp\n\t"
      "pushq %[flags]\n\t"
      "popfq\n\t"
      ".byte %c[opcode], %c[modrm]\n\t"
      "pushfq\n\t"
      "popq %[flags]\n\t"
      "lea 128(%%rsp), %%rsp\n\t"
      "fnsave %[image]\n\t"
      "fldcw %[cw]"
      : [image] "+m"(h.image), [cw] "=m"(h.host_fcw), [mem] "+m"(h.mem), [flags] "+r"(h.rflags)
      : [opcode] "i"(0xd8 + Op3), [modrm] "i"(ModRm), "D"(h.mem)
      : "cc");
}

using HostFn = void (*)(HostRun&);

// One host function per register form (ModRM 11 xxx yyy: 8 opcodes x 64) and per memory form
// (8 opcodes x 8 reg fields, the operand moved to [rdi]: ModRM 00 reg 111).
constexpr unsigned kRegisterForms = 8 * 64, kMemoryForms = 8 * 8;

template <unsigned N>
constexpr HostFn host_form() {
  if constexpr (N < kRegisterForms)
    return &host_insn<N / 64, 0xc0 | (N % 64)>;
  else
    return &host_insn<(N - kRegisterForms) / 8, ((N - kRegisterForms) % 8) << 3 | 7>;
}

template <size_t... N>
constexpr std::array<HostFn, sizeof...(N)> host_forms(std::index_sequence<N...>) {
  return {host_form<N>()...};
}

const std::array<HostFn, kRegisterForms + kMemoryForms> kHostForms =
    host_forms(std::make_index_sequence<kRegisterForms + kMemoryForms>());

HostFn host_fn(uint32_t fop, bool memory) {
  const unsigned op3 = fop >> 8 & 7, modrm = fop & 0xff;
  return memory ? kHostForms[kRegisterForms + op3 * 8 + (modrm >> 3 & 7)] : kHostForms[op3 * 64 + (modrm & 63)];
}

// fnsave's image as the host stored it, with the guest's instruction and data pointers and opcode
// in place of the host's (as fnstenv stores them).
void put_guest_pointers(const State& s, uint8_t* save) {
  put<uint32_t>(save + 12, uint32_t(s.fip));
  put<uint32_t>(save + 16, uint32_t(s.fop & 0x7ff) << 16);
  put<uint32_t>(save + 20, uint32_t(s.fdp));
  put<uint32_t>(save + 24, 0xffff0000u);
}

#endif  // __x86_64__

}  // namespace

// One x87 instruction on the host (see the top of the file): a = the memory operand's address,
// b = pc, c = the form (see kFopShift) with the arithmetic flags. Returns the arithmetic flags
// after it (fcomi's; the others leave them, fcmovcc reads them).
uint64_t helper_x87_exec(void* state, uint64_t addr, uint64_t pc, uint64_t form, uint32_t) {
  State& s = st(state);
  const uint32_t fop = uint32_t(form >> kFopShift & kFopBits);
  const unsigned bytes = unsigned(form >> kMemBytesShift & 0xff);
  const bool writes = form & kMemWrite;
  const bool is_fnsave = bytes == kSaveBytes && writes;
  if (!is_fnsave && raise_pending(s)) return form & kArithFlags;  // every one waits, except fnsave
#if defined(__x86_64__)
  HostRun h;
  if (bytes && !writes && !GuestRange(s, pc, addr, bytes).read(h.mem)) return form & kArithFlags;
  to_save_image(s, h.image);
  h.rflags = (form & kArithFlags) | 0x2;  // (bit 1 is always set; DF, TF, AC stay clear)
  host_fn(fop, bytes != 0)(h);

  const uint16_t fsw_after = get<uint16_t>(h.image + kSaveFsw);
  // An unmasked exception other than precision stores nothing (SDM Vol. 1 §8.5).
  const bool stored = !(fsw_after & ~s.fcw & kExceptions & ~kPE);
  if (is_fnsave) put_guest_pointers(s, h.mem);
  if (bytes && writes && stored && !GuestRange(s, pc, addr, bytes).write(h.mem, bytes)) return form & kArithFlags;

  const uint64_t fdp = s.fdp;
  from_save_image(s, h.image);
  if (bytes == kSaveBytes) {  // fnsave leaves the pointers 0 (fninit), frstor loads them
    s.fop = writes ? 0 : get<uint16_t>(h.mem + 18) & 0x7ff;
    s.fip = writes ? 0 : get<uint32_t>(h.mem + 12);
    s.fdp = writes ? 0 : get<uint32_t>(h.mem + 20);
    return form & kArithFlags;
  }
  s.fop = uint16_t(fop);
  s.fip = pc;
  s.fdp = bytes ? addr : fdp;
  return h.rflags & kArithFlags;
#else
  (void)addr, (void)pc, (void)fop, (void)bytes, (void)writes;
  s.common.trap.raise(SIGILL, 2, 0);  // no host x87 to run it on: the guest sees #UD (ILL_ILLOPN)
  return form & kArithFlags;
#endif
}

}  // namespace vmkit::x64
