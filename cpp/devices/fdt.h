// The flattened device tree that tells the guest kernel what the RISC-V `virt` board holds (plan §4):
// memory, the hart with its ISA, the CLINT, PLIC, UART, sifive_test (with syscon power-off and
// reboot), the virtio-mmio transports in use and, optionally, a goldfish RTC. Node names,
// compatibles and properties follow qemu 7.2's `virt` (its dumpdtb), so the kernel takes the same
// driver paths it does under qemu. Built with libfdt's sequential-write API; no CPU involvement.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmkit::devices {

// qemu virt's physical map (plan §2.2): the board and the device tree take their addresses from here.
namespace virt {
constexpr uint64_t kTestBase = 0x0010'0000, kTestSize = 0x1000;  // sifive_test (power-off, reboot)
constexpr uint64_t kRtcBase = 0x0010'1000, kRtcSize = 0x1000;    // goldfish RTC
constexpr uint64_t kClintBase = 0x0200'0000, kClintSize = 0x1'0000;
constexpr uint64_t kPlicBase = 0x0c00'0000, kPlicSize = 0x60'0000;
constexpr uint64_t kUartBase = 0x1000'0000, kUartSize = 0x100;
constexpr uint64_t kVirtioMmioBase = 0x1000'1000, kVirtioMmioSize = 0x1000;  // slot i at + i * size
constexpr unsigned kVirtioMmioSlots = 8;
constexpr uint64_t kRamBase = 0x8000'0000;
constexpr uint32_t kUartIrq = 10, kRtcIrq = 11, kVirtioMmioFirstIrq = 1;  // PLIC sources
constexpr uint32_t kPlicSources = 95;  // riscv,ndev: sources 1..95
constexpr uint32_t kUartClock = 3'686'400;
constexpr uint32_t kPowerOffValue = 0x5555, kRebootValue = 0x7777;  // written to sifive_test
}  // namespace virt

// A virtio-mmio transport: its register window (virt::kVirtioMmioSize bytes) and PLIC source.
struct VirtioMmioSlot {
  uint64_t base = 0;
  uint32_t irq = 0;
};

// Slot i of qemu virt's eight virtio-mmio transports (base 0x10001000 + 0x1000 i, PLIC source 1 + i).
VirtioMmioSlot virt_virtio_mmio_slot(unsigned index);

struct PhysRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
};

// Everything the device tree says. The defaults are qemu virt's layout with vmkit's ISA; the board
// fills in RAM, bootargs, the initrd, the virtio transports it populated and the seed.
struct VirtBoardDescription {
  uint64_t ram_base = virt::kRamBase;
  uint64_t ram_size = 512ull << 20;
  unsigned harts = 1;

  // /chosen. `initrd` is where the loader put the initrd (plan_boot): its properties have a fixed
  // size, so a blob built with a placeholder range inside RAM ({ram_base, ram_base}) has the size
  // of the final one.
  std::string bootargs;  // no bootargs property when empty
  std::optional<PhysRange> initrd;
  // Seeds the kernel's RNG at boot (as qemu does, "random: crng init done" at 0.0): fill it with
  // random_rng_seed() for host-clock runs, or a fixed value for deterministic ones.
  std::array<uint8_t, 64> rng_seed{};

  // The hart. mmu-type caps the satp modes the kernel tries (it probes Sv57, Sv48, Sv39). The ISA
  // is exactly what vmkit implements: advertising more (h, v, zbc, zicbom, svpbmt ...) makes the
  // kernel patch in instructions vmkit cannot run; zihpm is left out (no hpmcounters).
  // `isa_extensions` is riscv,isa-extensions (without it the kernel falls back to parsing the
  // deprecated riscv,isa string); the two must describe the same set.
  std::string mmu_type = "riscv,sv48";  // or "riscv,sv39"
  std::string isa = "rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc";
  std::vector<std::string> isa_extensions = {"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei",
                                             "zihintpause", "zba", "zbb", "zbs", "sstc"};
  uint32_t timebase_frequency = 10'000'000;  // mtime's rate (TimeSource::kFrequency)

  uint64_t clint_base = virt::kClintBase;
  uint64_t plic_base = virt::kPlicBase;
  uint32_t plic_sources = virt::kPlicSources;
  uint64_t uart_base = virt::kUartBase;
  uint32_t uart_irq = virt::kUartIrq;
  uint32_t uart_clock = virt::kUartClock;
  uint64_t test_base = virt::kTestBase;
  uint32_t poweroff_value = virt::kPowerOffValue;
  uint32_t reboot_value = virt::kRebootValue;
  bool rtc = false;  // goldfish RTC (the kernel has RTC_DRV_GOLDFISH=y)
  uint64_t rtc_base = virt::kRtcBase;
  uint32_t rtc_irq = virt::kRtcIrq;
  // The populated virtio-mmio transports, in the order the kernel should probe them (it numbers
  // the devices in device-tree order: the first disk here becomes vda). Usually
  // virt_virtio_mmio_slot(0..n-1).
  std::vector<VirtioMmioSlot> virtio_mmio;
};

// The device tree blob (DTB, version 17) for `board`. Throws vmkit::UsageError when the description
// is inconsistent: no hart, an mmu_type other than riscv,sv39/sv48, overlapping regions, a PLIC
// source out of range or used twice, an initrd outside RAM.
std::vector<uint8_t> build_virt_fdt(const VirtBoardDescription& board);

// 64 bytes from the host's random device, for VirtBoardDescription::rng_seed.
std::array<uint8_t, 64> random_rng_seed();

}  // namespace vmkit::devices
