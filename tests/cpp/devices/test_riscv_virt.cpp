// The RISC-V virt board in system mode, driven by bare-metal programs (assembled by vmkit's
// assembler, run from RAM at 0x80000000): privilege levels, traps, Sv39 translation, timer
// interrupts, WFI, the UART and power-off. Each test checks what the guest observed (registers,
// memory, the console), so a wrong CSR, trap or translation rule makes it fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "codetools/assembler.h"
#include "devices/riscv_virt.h"

namespace vmkit::devices {
namespace {

constexpr uint64_t kRam = 0x80000000;

// A machine on the virtual clock (deterministic) with `program` at the start of RAM, started there
// in M-mode.
std::unique_ptr<RiscvVirtMachine> machine_with(const std::string& program, uint64_t memory = 64ull << 20) {
  RiscvVirtConfig c;
  c.memory = memory;
  c.clock = RiscvVirtConfig::Clock::Virtual;
  c.mmu = rv64::SatpMode::Sv39;
  // The suite runs once per engine (scripts/test.sh): VMKIT_TEST_ENGINE=jit compiles every block.
  if (const char* e = std::getenv("VMKIT_TEST_ENGINE"); e && std::string(e) == "jit") c.engine = Engine::Jit;
  auto m = std::make_unique<RiscvVirtMachine>(c);
  std::vector<uint8_t> code = assemble("riscv64", program, kRam);
  m->ram().write(kRam, code.data(), code.size());
  m->reset(kRam);
  return m;
}

// Prints the byte in register `r` on the UART (its THR at 0x10000000).
std::string putc_reg(const std::string& r) { return "  li t6, 0x10000000\n  sb " + r + ", 0(t6)\n"; }
// Powers the board off through sifive_test (the write stops the run at once).
#define POWER_OFF "  li t6, 0x100000\n  li t5, 0x5555\n  sw t5, 0(t6)\n"
const char* kPowerOff = POWER_OFF "1: j 1b\n";

TEST(RiscvVirt, UartOutputAndPowerOff) {
  auto m = machine_with("  li a0, 'o'\n" + putc_reg("a0") + "  li a0, 'k'\n" + putc_reg("a0") + kPowerOff);
  EXPECT_EQ(m->run(1'000'000, 0), SystemRunEnd::PowerOff);
  EXPECT_EQ(m->console_output(), "ok");
  EXPECT_STREQ(m->power_state(), "off");
}

}  // namespace
}  // namespace vmkit::devices

namespace vmkit::devices {
namespace {

uint64_t ram64(RiscvVirtMachine& m, uint64_t pa) {
  uint64_t v;
  m.ram().read(pa, &v, 8);
  return v;
}
void put64(RiscvVirtMachine& m, uint64_t pa, uint64_t v) { m.ram().write(pa, &v, 8); }

// Sv39 tables built by the test: RAM's first GiB identity-mapped as one S-mode gigapage, and the
// user page at VA 0x40000000 -> PA kUserPage (U, RWX); 0x40001000 is left unmapped.
constexpr uint64_t kRoot = kRam + 0x10000, kL1 = kRam + 0x11000, kL0 = kRam + 0x12000, kUserPage = kRam + 0x20000;
constexpr uint64_t kV = 1, kR = 2, kW = 4, kX = 8, kU = 16, kA = 64, kD = 128;
uint64_t pte(uint64_t pa, uint64_t flags) { return (pa >> 12) << 10 | flags; }
void build_sv39_tables(RiscvVirtMachine& m) {
  put64(m, kRoot + 8 * 2, pte(kRam, kV | kR | kW | kX | kA | kD));
  put64(m, kRoot + 8 * 1, pte(kL1, kV));
  put64(m, kL1 + 8 * 0, pte(kL0, kV));
  put64(m, kL0 + 8 * 0, pte(kUserPage, kV | kR | kW | kX | kU | kA | kD));
}

// M-mode sets up delegation and Sv39, drops to S, which drops to U at 0x40000000. U takes four
// page faults and an ecall, all delegated to S, whose handler logs scause/stval/sepc/sstatus at
// 0x80030000 and skips the instruction; at the ecall S itself ecalls, which goes to M, which logs
// mcause/mepc/mstatus and powers off.
const char* kPrivilegeProgram = R"(
  .option norvc
  la t0, m_trap
  csrw mtvec, t0
  la t0, s_trap
  csrw stvec, t0
  li t0, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15)
  csrw medeleg, t0
  li t0, 0x8000000000080010
  csrw satp, t0
  sfence.vma
  li t0, 0x1800
  csrc mstatus, t0
  li t0, 0x0800
  csrs mstatus, t0
  la t0, s_entry
  csrw mepc, t0
  li s1, 0x80030000
  mret
s_entry:
  li t0, 0x100
  csrc sstatus, t0
  li t0, 0x40000000
  csrw sepc, t0
  sret
s_trap:
  csrr t0, scause
  sd t0, 0(s1)
  csrr t0, stval
  sd t0, 8(s1)
  csrr t0, sepc
  sd t0, 16(s1)
  csrr t0, sstatus
  sd t0, 24(s1)
  addi s1, s1, 32
  csrr t0, scause
  li t1, 8
  bne t0, t1, 1f
s_ecall:
  ecall
1:
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
m_trap:
  csrr t0, mcause
  sd t0, 0(s1)
  csrr t0, mepc
  sd t0, 8(s1)
  csrr t0, mstatus
  sd t0, 16(s1)
)" POWER_OFF R"(2: j 2b
)";

const char* kUserProgram = R"(
  .option norvc
  lui a0, 0x40001
  ld a1, 0(a0)
  sd a1, 8(a0)
  lui a2, 0x80
  slli a2, a2, 12
  ld a3, 0(a2)
  amoadd.w a4, a1, (a0)
  ecall
)";

TEST(RiscvVirt, TrapsAcrossMachineSupervisorAndUserWithSv39) {
  auto m = machine_with(kPrivilegeProgram);
  build_sv39_tables(*m);
  std::vector<uint8_t> user = assemble("riscv64", kUserProgram, 0x40000000);
  m->ram().write(kUserPage, user.data(), user.size());
  ASSERT_EQ(m->run(1'000'000, 0), SystemRunEnd::PowerOff);
  const uint64_t results = kRam + 0x30000;
  struct STrap { uint64_t cause, tval, epc; };
  // The AMO to the unmapped page is a store/AMO page fault (15), not the load fault its read
  // would give.
  const STrap expected[] = {{13, 0x40001000, 0x40000004}, {15, 0x40001008, 0x40000008},
                            {13, 0x80000000, 0x40000014}, {15, 0x40001000, 0x40000018},
                            {8, 0, 0x4000001c}};
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE("S-mode trap " + std::to_string(i));
    EXPECT_EQ(ram64(*m, results + 32 * i), expected[i].cause);
    EXPECT_EQ(ram64(*m, results + 32 * i + 8), expected[i].tval);
    EXPECT_EQ(ram64(*m, results + 32 * i + 16), expected[i].epc);
    uint64_t sstatus = ram64(*m, results + 32 * i + 24);
    EXPECT_EQ(sstatus & 0x100, 0u) << "SPP: the trap came from U";
    EXPECT_EQ(sstatus & 0x2, 0u) << "SIE cleared on entry";
  }
  // The ecall from S went to M (not delegated): mcause 9, mepc at that ecall, MPP = S.
  EXPECT_EQ(ram64(*m, results + 160), 9u);
  uint32_t insn = 0;
  m->ram().read(ram64(*m, results + 168), &insn, 4);
  EXPECT_EQ(insn, 0x00000073u) << "mepc points at the ecall";
  EXPECT_EQ((ram64(*m, results + 176) >> 11) & 3, 1u);
  // The walker set A and D only where the PTEs lacked them: they were preset, so unchanged.
  EXPECT_EQ(ram64(*m, kL0), pte(kUserPage, kV | kR | kW | kX | kU | kA | kD));
  EXPECT_GT(m->hart().tlb().stats(TlbKind::Data).lookups, 0u);
}

}  // namespace
}  // namespace vmkit::devices

namespace vmkit::devices {
namespace {

// The CLINT's machine timer: mtimecmp = mtime + 1000 ticks, MTIE and MIE set, then WFI. On the
// virtual clock the wait skips straight to the deadline; the handler logs mcause and mtime.
TEST(RiscvVirt, MachineTimerInterruptWakesWfi) {
  auto m = machine_with(R"(
  la t0, trap
  csrw mtvec, t0
  li t1, 0x200bff8
  ld t2, 0(t1)
  addi t2, t2, 1000
  li t1, 0x2004000
  sd t2, 0(t1)
  li s2, 0x80030000
  sd t2, 16(s2)
  li t0, 0x80
  csrs mie, t0
  csrsi mstatus, 8
1:
  wfi
  j 1b
  .balign 4
trap:
  csrr t0, mcause
  sd t0, 0(s2)
  li t1, 0x200bff8
  ld t2, 0(t1)
  sd t2, 8(s2)
)" POWER_OFF R"(2: j 2b
)");
  ASSERT_EQ(m->run(10'000'000, 0), SystemRunEnd::PowerOff);
  EXPECT_EQ(ram64(*m, kRam + 0x30000), (1ull << 63) | 7);
  const uint64_t deadline = ram64(*m, kRam + 0x30010), taken_at = ram64(*m, kRam + 0x30008);
  EXPECT_GE(taken_at, deadline);
  EXPECT_LT(taken_at, deadline + 10) << "the interrupt arrives at the deadline, not a slice later";
  EXPECT_GE(m->idle_sleeps(), 1u);
}

// Sstc: S-mode arms stimecmp itself (menvcfg.STCE, delegated STI) and waits with WFI while SIE
// is clear: WFI still wakes (mie & mip), and the interrupt is taken once SIE is set.
TEST(RiscvVirt, SupervisorSstcTimerAfterWfiWithInterruptsMasked) {
  auto m = machine_with(R"(
  .option norvc
  li t0, 1
  slli t0, t0, 63
  csrs menvcfg, t0
  li t0, 2
  csrs mcounteren, t0
  li t0, 0x20
  csrw mideleg, t0
  la t0, s_trap
  csrw stvec, t0
  li t0, 0x1800
  csrc mstatus, t0
  li t0, 0x0800
  csrs mstatus, t0
  la t0, s_entry
  csrw mepc, t0
  li s2, 0x80030000
  mret
s_entry:
  rdtime t1
  addi t1, t1, 500
  sd t1, 16(s2)
  csrw stimecmp, t1
  li t0, 0x20
  csrs sie, t0
  wfi
  rdtime t1
  sd t1, 24(s2)
  csrsi sstatus, 2
  nop
  j .
s_trap:
  csrr t0, scause
  sd t0, 0(s2)
  csrr t0, sip
  sd t0, 8(s2)
  li t0, -1
  csrw stimecmp, t0
  csrr t0, sip
  sd t0, 32(s2)
)" POWER_OFF R"(2: j 2b
)");
  ASSERT_EQ(m->run(10'000'000, 0), SystemRunEnd::PowerOff);
  EXPECT_EQ(ram64(*m, kRam + 0x30000), (1ull << 63) | 5) << "a supervisor timer interrupt";
  EXPECT_EQ(ram64(*m, kRam + 0x30008) & 0x20, 0x20u) << "STIP pending in the handler";
  EXPECT_EQ(ram64(*m, kRam + 0x30020) & 0x20, 0u) << "STIP clears when stimecmp moves past time";
  EXPECT_GE(ram64(*m, kRam + 0x30018), ram64(*m, kRam + 0x30010)) << "WFI returned at the deadline";
}

// From U, reading a machine CSR is an illegal instruction (delegated to S here, scause 2), and so
// are sret and wfi.
TEST(RiscvVirt, PrivilegedInstructionsFromUserAreIllegal) {
  auto m = machine_with(R"(
  .option norvc
  la t0, s_trap
  csrw stvec, t0
  li t0, 4
  csrw medeleg, t0
  li t0, 0x1800
  csrc mstatus, t0
  la t0, user
  csrw mepc, t0
  li s1, 0x80030000
  mret
user:
  csrr a0, mstatus
  sret
  wfi
  csrr a0, cycle
)" POWER_OFF R"(s_trap:
  csrr t0, scause
  sd t0, 0(s1)
  csrr t0, sepc
  sd t0, 8(s1)
  addi s1, s1, 16
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
)");
  ASSERT_EQ(m->run(1'000'000, 0), SystemRunEnd::PowerOff);
  // csrr mstatus, sret, wfi and (mcounteren = 0) cycle: four illegal instructions in U.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ram64(*m, kRam + 0x30000 + 16 * i), 2u) << i;
  EXPECT_EQ(ram64(*m, kRam + 0x30008 + 16) - ram64(*m, kRam + 0x30008), 4u);
}

// Code that patches an instruction it already ran (through the same physical page): the next
// run of that instruction sees the new bits, in the same block and in a later one.
TEST(RiscvVirt, SelfModifyingCodeIsRetranslated) {
  auto m = machine_with(R"(
  .option norvc
  li s2, 0x80030000
  li s3, 0
again:
  jal ra, patched
  sd a0, 0(s2)
  addi s2, s2, 8
  addi s3, s3, 1
  la t0, patched
  lw t1, 0(t0)
  li t2, 0x100000
  add t1, t1, t2
  sw t1, 0(t0)
  li t2, 3
  blt s3, t2, again
)" POWER_OFF R"(patched:
  addi a0, zero, 1
  ret
)");
  ASSERT_EQ(m->run(1'000'000, 0), SystemRunEnd::PowerOff);
  EXPECT_EQ(ram64(*m, kRam + 0x30000), 1u);
  EXPECT_EQ(ram64(*m, kRam + 0x30008), 2u);
  EXPECT_EQ(ram64(*m, kRam + 0x30010), 3u);
  EXPECT_GE(m->cpu().stats().code_write_faults, 2u);
}

// A load from a physical address with nothing behind it is a load access fault (cause 5) with
// the address in mtval; a misaligned load across a page boundary just works.
TEST(RiscvVirt, AccessFaultAndMisalignedAcrossPages) {
  auto m = machine_with(R"(
  .option norvc
  la t0, trap
  csrw mtvec, t0
  li s2, 0x80030000
  li t0, 0x80041ffd
  li t1, 0x1122334455667788
  sd t1, 0(t0)
  ld a1, 0(t0)
  sd a1, 16(s2)
  li t0, 0x30000000
  lw a0, 0(t0)
  j .
  .balign 4
trap:
  csrr t0, mcause
  sd t0, 0(s2)
  csrr t0, mtval
  sd t0, 8(s2)
)" POWER_OFF R"()");
  ASSERT_EQ(m->run(1'000'000, 0), SystemRunEnd::PowerOff);
  EXPECT_EQ(ram64(*m, kRam + 0x30000), 5u);
  EXPECT_EQ(ram64(*m, kRam + 0x30008), 0x30000000u);
  EXPECT_EQ(ram64(*m, kRam + 0x30010), 0x1122334455667788u);
  EXPECT_EQ(ram64(*m, kRam + 0x41ffd), 0x1122334455667788u);
}

}  // namespace
}  // namespace vmkit::devices
