// RISC-V system mode: the privileged architecture of one hart (M, S and U modes, the CSRs,
// traps, interrupts with delegation, xRET, WFI, SFENCE.VMA, Sstc), its address translation
// (Sv39/Sv48 through the second-level TLB and the page walker, feeding the software MMU), and a
// native SBI that stands in for M-mode firmware when none is loaded (sbi.cpp).
//
// Native SBI, not OpenSBI, by default: the kernel needs a dozen small calls (timer, IPI, remote
// fences, hart state, reset, debug console), which cost no M-mode round trips when they are
// answered here, need no firmware package at run time, and leave the device tree we generate as it
// is. M-mode itself is fully implemented, so firmware can run instead (Config::native_sbi off).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/system_core.h"
#include "devices/device.h"
#include "frontend/riscv64/state.h"
#include "mmu/riscv_walk.h"
#include "mmu/softmmu.h"
#include "mmu/tlb.h"

namespace vmkit::devices {
class Bus;
}

namespace vmkit::rv64 {

// Translation regimes of the software MMU's fast tables (SoftMmu "modes").
enum MmuMode : unsigned {
  kModeDirect = 0,      // M-mode, or satp.MODE = Bare: virtual = physical
  kModeSupervisor = 1,  // S-mode, SUM clear
  kModeSupervisorSum = 2,
  kModeUser = 3,
};

class System final : public SystemCore, public AddressTranslator, public PhysicalMemoryAccess {
 public:
  struct Config {
    SatpMode max_satp_mode = SatpMode::Sv48;  // the largest mode satp accepts (the DT's mmu-type)
    bool native_sbi = true;                   // ecall from S is answered here, not by M-mode code
  };
  // Why the hart stopped running (after on_event returned false, or between runs).
  enum class Halt : uint8_t { None, Idle, PowerOff, Reset };

  System(State& state, PhysicalMemory& ram, devices::Bus& bus, devices::HartLines& lines,
         const devices::TimeSource& time, Config config);
  ~System() override;

  // SystemCore.
  SoftMmu& mmu() override { return *mmu_; }
  MmuCodeSource& code() override { return code_; }
  bool code_key(uint64_t pc, uint64_t& key) override;
  bool on_event(SystemEvent event, uint64_t pc, uint64_t detail, uint64_t addr) override;
  void check_interrupts() override;

  // AddressTranslator.
  PageTranslation translate(uint64_t va, MmuAccess access, unsigned mode) override;
  uint32_t access_fault_cause(MmuAccess access) const override;
  // PhysicalMemoryAccess (page-table entries for the walker): RAM only.
  bool read64(uint64_t paddr, uint64_t& value) override;
  bool cas64(uint64_t paddr, uint64_t expected, uint64_t desired) override;

  // CSR instructions (helpers_int.cpp): false = illegal instruction.
  bool csr_read(uint32_t csr, uint64_t& value);
  bool csr_write(uint32_t csr, uint64_t value);
  // A CSR as M-mode reads it, whatever the current privilege (for debuggers and scripts).
  bool debug_csr_read(uint32_t csr, uint64_t& value);
  // SFENCE.VMA with rs1/rs2 (x0 given as has_* false): false = illegal instruction.
  bool sfence_vma(bool has_va, uint64_t va, bool has_asid, uint64_t asid);

  // Puts the hart in its reset state at `pc` in `priv` (the machine's boot code uses it).
  void reset(uint64_t pc, Priv priv);
  // The state native SBI leaves the kernel in: S-mode at pc, a0 = hart id, a1 = device tree,
  // exceptions and interrupts a kernel handles delegated to S, counters and Sstc enabled.
  void enter_supervisor(uint64_t pc, uint64_t hartid, uint64_t dtb);
  Priv priv() const { return Priv(state_.sys.priv); }
  uint64_t mip() const;  // the effective mip: software bits, device lines, Sstc's STIP
  uint64_t time() const { return time_.ticks(); }
  // The earliest mtime tick at which Sstc's timer fires (UINT64_MAX: not armed).
  uint64_t stimer_deadline() const;

  Halt halt = Halt::None;
  void clear_halt() { halt = Halt::None; }
  // Native SBI's debug console and legacy console (DBCN, putchar): bytes to the machine's console.
  std::function<void(const uint8_t*, size_t)> console_write;
  // SRST system_reset and the legacy shutdown: the machine's power control.
  std::function<void(Halt)> on_power;

  L2Tlb& tlb() { return tlb_; }
  const Config& config() const { return config_; }
  // Firmware in M-mode (a bare-metal program, OpenSBI) answers ecalls from S itself.
  void set_native_sbi(bool on) { config_.native_sbi = on; }

 private:
  void take_trap(uint64_t cause, uint64_t tval, uint64_t epc, bool interrupt);
  bool xret(uint64_t pc, uint32_t insn);
  // Recomputes the MMU's regimes from priv, MPRV/MPP, SUM and satp.
  void update_modes();
  bool counter_enabled(uint32_t csr) const;
  void set_pc(uint64_t pc) { state_.pc = pc; }
  bool sbi_call();  // sbi.cpp: false = the run must stop (power-off, reset)
  SatpMode satp_mode() const { return SatpMode((state_.sys.satp >> 60) & 0xf); }
  bool paging() const { return (state_.sys.satp >> 60) != 0; }
  uint16_t asid() const { return uint16_t(state_.sys.satp >> 44); }

  State& state_;
  PhysicalMemory& ram_;
  devices::HartLines& lines_;
  const devices::TimeSource& time_;
  Config config_;
  L2Tlb tlb_;
  std::unique_ptr<SoftMmu> mmu_;
  MmuCodeSource code_;
};

}  // namespace vmkit::rv64
