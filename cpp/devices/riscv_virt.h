// The RISC-V `virt` board of system mode: one RV64GC hart (rv64::System) with RAM at 0x80000000,
// a CLINT, a PLIC, an NS16550A UART and the sifive_test power-off device at qemu virt's addresses,
// up to eight virtio-mmio devices (disks, a console), a device tree describing them, and the loop
// that runs the hart in slices, fires its timers, sleeps while it waits for an interrupt, and stops
// on power-off.
//
// Time: mtime counts the host's monotonic clock at 10 MHz, or (Clock::Virtual) guest
// instructions, so that a run is deterministic: a WFI then jumps time to the next timer deadline
// instead of sleeping (qemu's -icount sleep=off).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "devices/bus.h"
#include "devices/clint.h"
#include "devices/device.h"
#include "devices/fdt.h"
#include "devices/net_backend.h"
#include "devices/virtio_net.h"
#include "devices/plic.h"
#include "devices/sifive_test.h"
#include "devices/uart16550.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "frontend/riscv64/system.h"
#include "mmu/phys_memory.h"

namespace vmkit::devices {

struct RiscvVirtConfig {
  uint64_t memory = 512ull << 20;
  enum class Clock : uint8_t { Host, Virtual } clock = Clock::Host;
  // Clock::Virtual: guest instructions per mtime tick (10 per 100 ns tick: a 100 MIPS machine).
  uint64_t insns_per_tick = 10;
  rv64::SatpMode mmu = rv64::SatpMode::Sv48;
  Engine engine = Engine::Interp;
};

enum class SystemRunEnd : uint8_t {
  PowerOff,  // the guest powered the machine off (sifive_test, or SBI system_reset shutdown)
  Reset,     // the guest asked for a reboot
  Limit,     // the instruction budget of run() was used up
  Timeout,   // the wall-clock budget of run() was used up
  Stopped,   // stop() from another thread, or the console matched what it was waiting for
  Idle,      // Clock::Virtual: the hart waits for an interrupt that nothing can raise
};
const char* system_run_end_name(SystemRunEnd e);

class RiscvVirtMachine {
 public:
  explicit RiscvVirtMachine(const RiscvVirtConfig& config);
  ~RiscvVirtMachine();
  RiscvVirtMachine(const RiscvVirtMachine&) = delete;
  RiscvVirtMachine& operator=(const RiscvVirtMachine&) = delete;

  // Bare metal: the hart restarts at `pc` in `priv` (M-mode, as at power-on, by default) with
  // the CSRs at their reset values. RAM keeps its contents. At kResetVector (the boot ROM, as on
  // qemu's virt) the hart jumps to the start of RAM with a0 = hart id and a1 = the device tree,
  // which the reset places at the end of RAM.
  void reset(uint64_t pc, rv64::Priv priv = rv64::Priv::Machine);
  static constexpr uint64_t kResetVector = 0x1000;
  // Linux: loads the kernel Image (and initrd) as qemu virt does, builds the device tree with
  // `append` as the command line, and starts the kernel in S-mode under native SBI. Every problem
  // with the files is a BootError, raised before anything is changed.
  // With `firmware` (a fw_dynamic image such as Debian's OpenSBI
  // /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin), the firmware is loaded at the start
  // of RAM and the hart starts in M-mode at the reset vector, which hands it the device tree and
  // the kernel's address (fw_dynamic_info); the firmware then answers SBI calls itself.
  void load_kernel(const std::string& kernel, const std::string& initrd, const std::string& append,
                   const std::string& firmware = "");

  // Virtio devices. Each takes the next free virtio-mmio slot (0..7, PLIC source 1 + slot) and is
  // in the device tree from then on; the kernel numbers disks in the order they were added (the
  // first is vda). Add them before load_kernel (UsageError after it, or when all slots are used).
  // add_disk: an image file, BootError if it cannot be used (see VirtioBlk).
  void add_disk(const std::string& path, bool readonly = false);
  // add_virtio_console: one at most (the guest's /dev/hvc0). Its output joins the console output
  // (console_output, on_console_output); virtio_console_input() is its input.
  void add_virtio_console();
  void virtio_console_input(const std::string& bytes);
  // add_virtio_net: a network card (the guest's eth0) whose frames go to and come from the host:
  // with `responder`, ARP and ping for 10.0.2.2 are answered here (ArpIcmpResponder, so the
  // guest has a peer with no host network); every other frame the guest sends waits in a queue
  // for take_net_frames(), and net_receive() hands the guest a frame (any thread).
  void add_virtio_net(const MacAddress& mac, bool responder);
  std::vector<std::vector<uint8_t>> take_net_frames();
  void net_receive(const uint8_t* frame, size_t len);
  VirtioNet* virtio_net() { return virtio_net_; }
  // Any other virtio device: maps it on the next slot and adds it to the device tree.
  void add_virtio(std::unique_ptr<VirtioDevice> device);
  // The transports in slot order, and their devices.
  size_t virtio_count() const { return virtio_.size(); }
  VirtioMmio& virtio(size_t slot) { return *virtio_.at(slot).transport; }
  VirtioConsole* virtio_console() { return virtio_console_; }

  // Runs until power-off, the budgets (max_insns guest instructions, timeout_seconds of wall
  // time; 0 = none), stop(), or a console match (see wait_for_output).
  SystemRunEnd run(uint64_t max_insns, double timeout_seconds);
  // Makes a running run() return Stopped soon (thread-safe).
  void stop();
  // run() also returns Stopped as soon as the console output contains `text` after position
  // `from` (an empty text turns this off); console_match_end() is where the match ends.
  void wait_for_output(const std::string& text, size_t from);
  size_t console_match_end() const { return match_end_; }

  // The console: the UART's output (and native SBI's debug console), and input to it.
  std::string console_output() const;
  size_t console_size() const;
  void console_input(const std::string& bytes);
  // Also called with every byte the guest writes to the console (the CLI's stdout).
  std::function<void(const uint8_t*, size_t)> on_console_output;

  Cpu& cpu() { return *cpu_; }
  rv64::State& state() { return cpu_->state_as<rv64::State>(); }
  rv64::System& hart() { return *hart_; }
  PhysicalMemory& ram() { return ram_; }
  Bus& bus() { return bus_; }
  Uart16550& uart() { return *uart_; }
  Clint& clint() { return *clint_; }
  Plic& plic() { return *plic_; }
  const std::vector<uint8_t>& dtb() const { return dtb_; }
  const RiscvVirtConfig& config() const { return config_; }
  uint64_t mtime() const { return clint_->mtime(); }
  uint64_t instructions() const { return cpu_->stats().insns_executed; }
  // "on", "off" (after power-off) or "reset" (after a reboot request).
  const char* power_state() const;
  uint64_t idle_sleeps() const { return idle_sleeps_; }
  double idle_seconds() const { return idle_seconds_; }  // host clock: time slept in WFI

 private:
  class Clock;
  class ClintTime;
  void console_bytes(const uint8_t* data, size_t n);
  void power_request(SifiveTest::PowerRequest r);
  bool output_matched() const;
  // Sleeps (or, on the virtual clock, skips time) until the hart has an interrupt to look at.
  bool wait_for_interrupt(std::chrono::steady_clock::time_point deadline, bool has_deadline);
  uint64_t next_timer_deadline() const;
  VirtBoardDescription board_description() const;
  void require_virtio_slot(const char* what) const;  // UsageError if no device may be added now
  bool virtio_host_work();
  VirtioNet* virtio_net_ = nullptr;
  std::unique_ptr<ArpIcmpResponder> net_responder_;
  std::mutex net_mu_;
  std::vector<std::vector<uint8_t>> net_out_;  // frames the guest sent, for take_net_frames  // some virtio device's poll() would deliver host input now

  RiscvVirtConfig config_;
  PhysicalMemory ram_;
  Bus bus_;
  HartLines lines_;
  const Cpu* cpu_view_ = nullptr;  // for the virtual clock (set once cpu_ exists)
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Clint> clint_;
  std::unique_ptr<ClintTime> hart_time_;
  std::unique_ptr<Plic> plic_;
  std::unique_ptr<Uart16550> uart_;
  std::unique_ptr<SifiveTest> test_;
  struct VirtioSlotDevices {
    std::unique_ptr<VirtioDevice> device;
    std::unique_ptr<VirtioMmio> transport;
  };
  std::vector<VirtioSlotDevices> virtio_;  // slot i is virtio_[i]
  VirtioConsole* virtio_console_ = nullptr;
  bool kernel_loaded_ = false;
  std::unique_ptr<Frontend> frontend_;
  std::unique_ptr<Cpu> cpu_;
  std::unique_ptr<rv64::System> hart_;
  std::vector<uint8_t> dtb_;
  enum class Power : uint8_t { On, Off, Reset };
  std::atomic<Power> power_{Power::On};
  std::atomic<bool> stop_{false};
  mutable std::mutex console_mu_;
  std::string console_;
  std::string match_text_;
  size_t match_from_ = 0;
  size_t match_end_ = 0;
  uint64_t idle_sleeps_ = 0;
  double idle_seconds_ = 0;
};

}  // namespace vmkit::devices
