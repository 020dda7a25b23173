// The Linux arch descriptors (os/linux/arch.h) on their own: the ABI values, the open-flag
// translation, and the signal frames - setup then restore gives back the interrupted state, with
// the layout the kernel uses (arm64: sigcontext, fpsimd_context, end record, frame record).
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "frontend/aarch64/state.h"
#include "frontend/riscv64/state.h"
#include "os/linux/arch.h"

namespace vmkit::linux_user {
namespace {

std::vector<uint8_t> frame_for(const LinuxArch& arch) {
  return std::vector<uint8_t>(arch.sigframe_size + arch.frame_record_size, 0);
}

uint8_t* bytes(void* s) { return static_cast<uint8_t*>(s); }
const uint8_t* bytes(const void* s) { return static_cast<const uint8_t*>(s); }

a64::State random_a64_state(uint64_t seed) {
  std::mt19937_64 rng(seed);
  a64::State st{};
  for (auto& x : st.x) x = rng();
  st.x[a64::kSp] &= ~uint64_t(15);
  st.pc = rng() & ~uint64_t(3);
  a64::set_nzcv(st, 0xa0000000u);  // N and C
  st.fpcr = 0x03c00000u;           // RMode, FZ, DN: every field the frame must carry
  st.fpsr = 0x0800009fu;           // QC and the cumulative exception bits
  st.tpidr_el0 = rng();
  for (auto& v : st.v) v[0] = rng(), v[1] = rng();
  return st;
}

void expect_same_a64_registers(const a64::State& a, const a64::State& b) {
  for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(a.x[i], b.x[i]) << "x" << i;
  EXPECT_EQ(a.pc, b.pc);
  EXPECT_EQ(a64::nzcv(a), a64::nzcv(b));
  EXPECT_EQ(a.fpcr, b.fpcr);
  EXPECT_EQ(a.fpsr, b.fpsr);
  for (unsigned i = 0; i < 32; ++i) {
    EXPECT_EQ(a.v[i][0], b.v[i][0]) << "v" << i << ".lo";
    EXPECT_EQ(a.v[i][1], b.v[i][1]) << "v" << i << ".hi";
  }
}

TEST(LinuxArch, ChosenByElfMachine) {
  EXPECT_EQ(linux_arch_for_machine(EM_RISCV), &riscv64_linux());
  EXPECT_EQ(linux_arch_for_machine(EM_AARCH64), &aarch64_linux());
  EXPECT_EQ(linux_arch_for_machine(EM_X86_64), &x86_64_linux());
  EXPECT_EQ(linux_arch_for_machine(EM_PPC64), nullptr);
  EXPECT_EQ(linux_arch_for_machine(EM_386), nullptr);
  EXPECT_EQ(supported_arch_names(), "riscv64, aarch64 or x86_64");
}

TEST(LinuxArch, Aarch64AbiValues) {
  const LinuxArch& a = aarch64_linux();
  EXPECT_STREQ(a.name, "aarch64");
  EXPECT_STREQ(a.uname_machine, "aarch64");
  EXPECT_STREQ(a.platform, "aarch64");
  EXPECT_STREQ(a.default_sysroot, "/usr/aarch64-linux-gnu");
  EXPECT_EQ(a.state_size, sizeof(a64::State));
  EXPECT_EQ(a.off_syscall_nr, a64::off_x(8));
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(a.off_args[i], a64::off_x(i));
  EXPECT_EQ(a.off_result, a64::off_x(0));
  EXPECT_EQ(a.off_link, a64::off_x(30));
  EXPECT_EQ(a.off_sp, a64::kOffSp);
  EXPECT_EQ(a.off_tls, a64::kOffTpidr);
  EXPECT_EQ(a.hwcap, 0x103u) << "HWCAP_FP | HWCAP_ASIMD | HWCAP_ATOMICS: no CPUID, SVE or MTE";
  EXPECT_EQ(a.hwcap2, 0u);
  EXPECT_EQ(a.trampoline[0], 0xd2801168u);  // mov x8, #139
  EXPECT_EQ(a.trampoline[1], 0xd4000001u);  // svc #0
  EXPECT_TRUE(a.has_sa_restorer);
  EXPECT_EQ(a.sigaction_size(), 32u);
  EXPECT_EQ(a.minsigstksz, 5120u);
  EXPECT_EQ(a.sigframe_size, 4688u);
  EXPECT_EQ(a.insn_length(0x0000), 4u);
  EXPECT_EQ(a.insn_length(0xffff), 4u);
}

TEST(LinuxArch, Riscv64AbiValues) {
  const LinuxArch& r = riscv64_linux();
  EXPECT_STREQ(r.uname_machine, "riscv64");
  EXPECT_EQ(r.platform, nullptr);
  EXPECT_EQ(r.off_syscall_nr, rv64::off_x(17));
  EXPECT_EQ(r.off_result, rv64::off_x(10));
  EXPECT_EQ(r.off_tls, rv64::off_x(4));
  EXPECT_EQ(r.sigaction_size(), 24u);
  EXPECT_EQ(r.minsigstksz, 2048u);
  EXPECT_EQ(r.aux_minsigstksz, 0u);
  EXPECT_EQ(r.insn_length(0x4501), 2u);  // c.li
  EXPECT_EQ(r.insn_length(0x0513), 4u);  // addi
}

TEST(LinuxArch, Aarch64OpenFlagsTranslateBothWays) {
  const LinuxArch& a = aarch64_linux();
  // arm64's values (arch/arm64/include/uapi/asm/fcntl.h) against the x86-64 host's.
  EXPECT_EQ(a.open_flags_to_host(040000), uint32_t(O_DIRECTORY));
  EXPECT_EQ(a.open_flags_to_host(0100000), uint32_t(O_NOFOLLOW));
  EXPECT_EQ(a.open_flags_to_host(0200000), uint32_t(O_DIRECT));
  EXPECT_EQ(a.open_flags_to_host(0400000), 0100000u);  // the host kernel's O_LARGEFILE
  EXPECT_EQ(a.open_flags_to_guest(uint32_t(O_DIRECTORY)), 040000u);
  EXPECT_EQ(a.open_flags_to_guest(uint32_t(O_NOFOLLOW)), 0100000u);
  EXPECT_EQ(a.open_flags_to_guest(uint32_t(O_DIRECT)), 0200000u);
  EXPECT_EQ(a.open_flags_to_guest(0100000u), 0400000u);
  // The flags whose values agree pass through untouched, alone and mixed with the others.
  const uint32_t same = O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |
                        O_DSYNC | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | 020000000 /* __O_TMPFILE */;
  EXPECT_EQ(a.open_flags_to_host(same), same);
  EXPECT_EQ(a.open_flags_to_guest(same), same);
  EXPECT_EQ(a.open_flags_to_host(same | 040000 | 0400000), same | O_DIRECTORY | 0100000u);
  for (uint32_t combo = 0; combo < 16; ++combo) {
    uint32_t guest = same;
    for (unsigned b = 0; b < 4; ++b)
      if (combo & (1u << b)) guest |= 040000u << b;
    EXPECT_EQ(a.open_flags_to_guest(a.open_flags_to_host(guest)), guest) << std::oct << guest;
  }
  // O_TMPFILE is __O_TMPFILE | O_DIRECTORY on both.
  EXPECT_EQ(a.open_flags_to_host(020000000 | 040000), uint32_t(O_TMPFILE));
}

TEST(LinuxArch, Riscv64OpenFlagsAreTheHosts) {
  const LinuxArch& r = riscv64_linux();
  for (uint32_t f : {uint32_t(O_DIRECTORY), uint32_t(O_NOFOLLOW), uint32_t(O_DIRECT), 0100000u, uint32_t(O_CREAT | O_CLOEXEC)}) {
    EXPECT_EQ(r.open_flags_to_host(f), f);
    EXPECT_EQ(r.open_flags_to_guest(f), f);
  }
}

TEST(LinuxArch, Aarch64SigframeGoesBelowItsFrameRecord) {
  const LinuxArch& a = aarch64_linux();
  // The kernel's get_sigframe: record = round_down(sp - 16, 16), frame = record - sizeof(rt_sigframe).
  for (uint64_t sp : {0x7ffff000ull, 0x7ffff008ull, 0x7fffeff1ull, 0x40000010ull}) {
    const uint64_t record = (sp - 16) & ~uint64_t(15);
    EXPECT_EQ(a.sigframe_address(sp), record - 4688) << std::hex << sp;
  }
}

TEST(LinuxArch, Aarch64SigframeLayoutAndRoundTrip) {
  const LinuxArch& a = aarch64_linux();
  const a64::State orig = random_a64_state(1);
  a64::State st = orig;
  st.excl_size = 8;  // a reservation: delivery clears it
  std::vector<uint8_t> frame = frame_for(a);
  a.save_context(bytes(&st), frame.data(), 0x7fff0000, SignalCause{SIGSEGV, 1, 0xdead000, true, false});
  const uint64_t frame_addr = 0x7fff0000;

  // struct sigcontext at 128 + 176: fault_address, regs[31], sp, pc, pstate, __reserved.
  EXPECT_EQ(load64(&frame[304]), 0xdead000u);
  for (unsigned i = 0; i < 31; ++i) EXPECT_EQ(load64(&frame[312 + 8 * i]), orig.x[i]) << "x" << i;
  EXPECT_EQ(load64(&frame[304 + 256]), orig.x[a64::kSp]);
  EXPECT_EQ(load64(&frame[304 + 264]), orig.pc);
  EXPECT_EQ(load64(&frame[304 + 272]), 0xa0000000u) << "pstate: EL0t with NZCV";
  // fpsimd_context first in __reserved (at 592), then the zero end record.
  EXPECT_EQ(load32(&frame[592]), 0x46508001u);
  EXPECT_EQ(load32(&frame[596]), 528u);
  EXPECT_EQ(load32(&frame[600]), orig.fpsr);
  EXPECT_EQ(load32(&frame[604]), orig.fpcr);
  EXPECT_EQ(load64(&frame[608 + 16 * 7]), orig.v[7][0]);
  EXPECT_EQ(load64(&frame[608 + 16 * 7 + 8]), orig.v[7][1]);
  EXPECT_EQ(load64(&frame[592 + 528]), 0u);
  // The frame record above the 4688-byte rt_sigframe: the interrupted fp and lr.
  EXPECT_EQ(load64(&frame[4688]), orig.x[29]);
  EXPECT_EQ(load64(&frame[4696]), orig.x[30]);

  a.enter_handler(bytes(&st), frame_addr, 10, 0x400800, 0x400900);
  a.clear_reservation(bytes(&st));
  EXPECT_EQ(st.x[0], 10u);
  EXPECT_EQ(st.x[1], frame_addr);
  EXPECT_EQ(st.x[2], frame_addr + 128);
  EXPECT_EQ(st.x[29], frame_addr + 4688);
  EXPECT_EQ(st.x[30], 0x400900u);
  EXPECT_EQ(st.x[a64::kSp], frame_addr);
  EXPECT_EQ(st.pc, 0x400800u);
  EXPECT_EQ(st.excl_size, 0u);

  // The handler changes everything it may; rt_sigreturn brings the interrupted state back.
  a64::State scribbled = random_a64_state(2);
  scribbled.excl_size = 4;
  ASSERT_TRUE(a.restore_context(bytes(&scribbled), frame.data(), frame_addr));
  expect_same_a64_registers(scribbled, orig);
  EXPECT_EQ(scribbled.tpidr_el0, random_a64_state(2).tpidr_el0) << "TPIDR_EL0 is not part of the frame";
}

TEST(LinuxArch, Aarch64SigreturnRejectsMalformedFrames) {
  const LinuxArch& a = aarch64_linux();
  const a64::State orig = random_a64_state(3);
  std::vector<uint8_t> good = frame_for(a);
  a.save_context(bytes(&orig), good.data(), 0, SignalCause{});
  auto rejected = [&](std::vector<uint8_t> frame, uint64_t addr) {
    a64::State st = random_a64_state(4);
    const a64::State before = st;
    bool ok = a.restore_context(bytes(&st), frame.data(), addr);
    if (!ok) expect_same_a64_registers(st, before);  // untouched
    return !ok;
  };
  EXPECT_FALSE(rejected(good, 0x1000));
  EXPECT_TRUE(rejected(good, 0x1008)) << "sp not 16-byte aligned";
  auto f = good;
  store32(&f[592], 0);  // no fpsimd_context: the list ends at once
  store32(&f[596], 0);
  EXPECT_TRUE(rejected(f, 0x1000));
  f = good;
  store32(&f[596], 512);  // fpsimd_context of the wrong size
  EXPECT_TRUE(rejected(f, 0x1000));
  f = good;
  store32(&f[592], 0x53564501);  // an SVE record: vmkit never writes one
  EXPECT_TRUE(rejected(f, 0x1000));
  f = good;
  store32(&f[592 + 528 + 4], 16);  // an end record with a size
  EXPECT_TRUE(rejected(f, 0x1000));
  // An esr_context record (what the kernel adds for faults) before the fpsimd one is fine.
  f = good;
  std::memmove(&f[592 + 16], &good[592], 528 + 8);
  store32(&f[592], 0x45535201);
  store32(&f[596], 16);
  store64(&f[600], 0x92000047);
  EXPECT_FALSE(rejected(f, 0x1000));
}

TEST(LinuxArch, Riscv64SigframeRoundTrip) {
  const LinuxArch& r = riscv64_linux();
  std::mt19937_64 rng(5);
  rv64::State orig{};
  for (unsigned i = 1; i < 32; ++i) orig.x[i] = rng();
  for (auto& f : orig.f) f = rng();
  orig.pc = 0x10078;
  orig.fflags = 0x15;
  orig.frm = 3;
  orig.res_addr = 0x2000;
  rv64::State st = orig;
  std::vector<uint8_t> frame = frame_for(r);
  r.save_context(bytes(&st), frame.data(), 0, SignalCause{});
  EXPECT_EQ(load64(&frame[304]), orig.pc);         // sc_regs.pc
  EXPECT_EQ(load64(&frame[304 + 8 * 10]), orig.x[10]);
  EXPECT_EQ(load32(&frame[304 + 512]), (3u << 5) | 0x15u);  // fcsr
  r.enter_handler(bytes(&st), 0x7fff0000, 11, 0x10200, 0x3000);
  r.clear_reservation(bytes(&st));
  EXPECT_EQ(st.x[10], 11u);
  EXPECT_EQ(st.x[11], 0x7fff0000u);
  EXPECT_EQ(st.x[12], 0x7fff0000u + 128);
  EXPECT_EQ(st.x[1], 0x3000u);
  EXPECT_EQ(st.x[2], 0x7fff0000u);
  EXPECT_EQ(st.pc, 0x10200u);
  EXPECT_EQ(st.res_addr, rv64::kNoReservation);
  for (unsigned i = 1; i < 32; ++i) st.x[i] = ~orig.x[i];
  st.fflags = st.frm = 0;
  ASSERT_TRUE(r.restore_context(bytes(&st), frame.data(), 0x7fff0000));
  for (unsigned i = 1; i < 32; ++i) EXPECT_EQ(st.x[i], orig.x[i]) << "x" << i;
  for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(st.f[i], orig.f[i]) << "f" << i;
  EXPECT_EQ(st.pc, orig.pc);
  EXPECT_EQ(st.fflags, orig.fflags);
  EXPECT_EQ(st.frm, orig.frm);
}

TEST(LinuxArch, StateBufferIsAlignedAndKeepsTheBytes) {
  StateBuffer b;
  const a64::State st = random_a64_state(6);
  b.assign(reinterpret_cast<const uint8_t*>(&st), sizeof st);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 16, 0u);
  EXPECT_GE(b.size(), sizeof st);
  EXPECT_EQ(std::memcmp(b.data(), &st, sizeof st), 0);
  GuestRegs regs(aarch64_linux(), b.data());
  EXPECT_EQ(regs.sp(), st.x[a64::kSp]);
  EXPECT_EQ(regs.arg(3), st.x[3]);
  regs.set_tls(0x1234);
  regs.set_result(7);
  EXPECT_EQ(reinterpret_cast<const a64::State*>(b.data())->tpidr_el0, 0x1234u);
  EXPECT_EQ(reinterpret_cast<const a64::State*>(b.data())->x[0], 7u);
}

}  // namespace
}  // namespace vmkit::linux_user
