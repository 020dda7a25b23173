#include "devices/riscv_virt.h"

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "devices/fdt.h"
#include "devices/riscv_boot.h"
#include "frontend/registry.h"

namespace vmkit::devices {

const char* system_run_end_name(SystemRunEnd e) {
  switch (e) {
    case SystemRunEnd::PowerOff: return "power_off";
    case SystemRunEnd::Reset: return "reset";
    case SystemRunEnd::Limit: return "limit";
    case SystemRunEnd::Timeout: return "timeout";
    case SystemRunEnd::Stopped: return "stopped";
    case SystemRunEnd::Idle: return "idle";
  }
  return "?";
}

// mtime's source: the host's monotonic clock since the machine was made, or the guest
// instructions executed plus the time skipped while idle.
class RiscvVirtMachine::Clock final : public TimeSource {
 public:
  Clock(const RiscvVirtConfig& config, const Cpu* const& cpu) : config_(config), cpu_(cpu) {}
  uint64_t ticks() const override {
    if (config_.clock == RiscvVirtConfig::Clock::Host) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
      return uint64_t(ns) / (1'000'000'000 / kFrequency);
    }
    return (cpu_ ? cpu_->stats().insns_executed : 0) / config_.insns_per_tick + skipped_;
  }
  void skip_to(uint64_t tick) {
    uint64_t now = ticks();
    if (tick > now) skipped_ += tick - now;
  }

 private:
  const RiscvVirtConfig& config_;
  const Cpu* const& cpu_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  uint64_t skipped_ = 0;
};

// The hart's `time` CSR reads the CLINT's mtime, which includes what guest writes to mtime did.
class RiscvVirtMachine::ClintTime final : public TimeSource {
 public:
  explicit ClintTime(const Clint& clint) : clint_(clint) {}
  uint64_t ticks() const override { return clint_.mtime(); }

 private:
  const Clint& clint_;
};

namespace {
// The boot ROM (qemu virt's "mrom": 0x1000, 0xf000 bytes) and the reset vector qemu puts there:
//   auipc t0, 0; addi a2, t0, 40; csrr a0, mhartid; ld a1, 32(t0); ld t0, 24(t0); jr t0
// then the start address (+24), the device tree's address (+32) and, at +40 (a2), the
// fw_dynamic_info firmware like OpenSBI's fw_dynamic reads: where the next stage is and its mode.
constexpr uint64_t kRomSize = 0xf000;
constexpr uint64_t kFwDynamicMagic = 0x4942534f;  // "OSBI"
constexpr uint64_t kFwDynamicVersion = 2;
std::vector<uint8_t> reset_vector_rom(uint64_t start, uint64_t fdt, uint64_t next_addr, uint64_t next_mode) {
  const uint32_t code[] = {0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283, 0x00028067};
  const uint64_t data[] = {start, fdt, kFwDynamicMagic, kFwDynamicVersion, next_addr, next_mode, 0, 0};
  std::vector<uint8_t> rom(sizeof code + sizeof data);
  std::memcpy(rom.data(), code, sizeof code);
  std::memcpy(rom.data() + sizeof code, data, sizeof data);
  return rom;
}

// How many instructions the hart runs between looks at its timers and devices: short enough for
// interrupt latency well under a millisecond, long enough that the look costs nothing.
constexpr uint64_t kSlice = 1 << 16;
}  // namespace

RiscvVirtMachine::RiscvVirtMachine(const RiscvVirtConfig& config)
    : config_(config), ram_(virt::kRamBase, config.memory) {
  if (config.insns_per_tick == 0) throw UsageError("insns_per_tick must be at least 1");
  clock_ = std::make_unique<Clock>(config_, cpu_view_);
  clint_ = std::make_unique<Clint>(lines_, *clock_);
  hart_time_ = std::make_unique<ClintTime>(*clint_);
  plic_ = std::make_unique<Plic>(lines_);
  uart_ = std::make_unique<Uart16550>(plic_->source(virt::kUartIrq));
  test_ = std::make_unique<SifiveTest>();
  ram_.add_rom(kResetVector, reset_vector_rom(virt::kRamBase, 0, 0, 0), kRomSize);
  bus_.map(virt::kTestBase, virt::kTestSize, *test_, "sifive_test");
  bus_.map(virt::kClintBase, virt::kClintSize, *clint_, "clint");
  bus_.map(virt::kPlicBase, virt::kPlicSize, *plic_, "plic");
  bus_.map(virt::kUartBase, virt::kUartSize, *uart_, "uart16550");
  uart_->on_transmit = [this](uint8_t c) { console_bytes(&c, 1); };
  uart_->on_input = [this] { lines_.kick(); };
  test_->on_request = [this](PowerRequest r, int) {
    power_ = r == PowerRequest::Reset ? Power::Reset : Power::Off;
    hart_->mmu().stop_after_write = true;
  };

  frontend_ = make_frontend("riscv64");
  cpu_ = std::make_unique<Cpu>(*frontend_);
  cpu_view_ = cpu_.get();
  cpu_->engine = config.engine;
  rv64::System::Config hc;
  hc.max_satp_mode = config.mmu;
  hart_ = std::make_unique<rv64::System>(state(), ram_, bus_, lines_, *hart_time_, hc);
  hart_->console_write = [this](const uint8_t* p, size_t n) { console_bytes(p, n); };
  hart_->on_power = [this](rv64::System::Halt h) {
    power_ = h == rv64::System::Halt::Reset ? Power::Reset : Power::Off;
  };
  cpu_->attach_system(*hart_);
  dtb_ = build_virt_fdt(board_description());
}

RiscvVirtMachine::~RiscvVirtMachine() {
  // The hart points into the CPU's state, and the CPU at the hart's memory: untie them first.
  cpu_->detach_system();
  hart_.reset();
  cpu_.reset();
}

VirtBoardDescription RiscvVirtMachine::board_description() const {
  VirtBoardDescription d;
  d.ram_base = ram_.ram_base();
  d.ram_size = ram_.ram_size();
  d.mmu_type = config_.mmu == rv64::SatpMode::Sv48 ? "riscv,sv48" : "riscv,sv39";
  // A deterministic machine gets a fixed seed; the host clock's gets a random one, as under qemu.
  if (config_.clock == RiscvVirtConfig::Clock::Host) d.rng_seed = random_rng_seed();
  for (size_t i = 0; i < virtio_.size(); ++i) d.virtio_mmio.push_back(virt_virtio_mmio_slot(unsigned(i)));
  return d;
}

void RiscvVirtMachine::require_virtio_slot(const char* what) const {
  if (kernel_loaded_)
    throw UsageError(std::string("cannot add a ") + what +
                     " after load_kernel: the kernel's device tree would not list it; add devices first");
  if (virtio_.size() >= virt::kVirtioMmioSlots)
    throw UsageError(std::string("cannot add a ") + what + ": the virt board's " +
                     std::to_string(virt::kVirtioMmioSlots) + " virtio-mmio slots are all used");
}

void RiscvVirtMachine::add_virtio(std::unique_ptr<VirtioDevice> device) {
  require_virtio_slot(device->name());
  const VirtioMmioSlot slot = virt_virtio_mmio_slot(unsigned(virtio_.size()));
  auto transport = std::make_unique<VirtioMmio>(ram_, plic_->source(slot.irq), *device);
  bus_.map(slot.base, virt::kVirtioMmioSize, *transport, device->name());
  virtio_.push_back({std::move(device), std::move(transport)});
  dtb_ = build_virt_fdt(board_description());
}

void RiscvVirtMachine::add_disk(const std::string& path, bool readonly) {
  require_virtio_slot("disk");  // before the image is opened
  add_virtio(std::make_unique<VirtioBlk>(path, readonly));
}

void RiscvVirtMachine::add_virtio_console() {
  require_virtio_slot("virtio console");
  if (virtio_console_) throw UsageError("the machine has a virtio console already: it takes one");
  auto console = std::make_unique<VirtioConsole>();
  VirtioConsole* c = console.get();
  c->on_output = [this](const uint8_t* p, size_t n) { console_bytes(p, n); };
  c->on_input = [this] { lines_.kick(); };
  add_virtio(std::move(console));
  virtio_console_ = c;
}

void RiscvVirtMachine::add_virtio_net(const MacAddress& mac, bool responder) {
  require_virtio_slot("network card");
  if (virtio_net_) throw UsageError("the machine has a network card already: it takes one");
  auto net = std::make_unique<VirtioNet>(mac);
  VirtioNet* n = net.get();
  n->on_input = [this] { lines_.kick(); };  // a frame from another thread wakes a hart in WFI
  if (responder) net_responder_ = std::make_unique<ArpIcmpResponder>();
  n->on_transmit = [this, n](const uint8_t* frame, size_t len) {
    if (net_responder_) {
      auto replies = net_responder_->respond(frame, len);
      if (!replies.empty()) {
        for (auto& r : replies) n->receive(std::move(r));
        return;
      }
    }
    std::lock_guard<std::mutex> lock(net_mu_);
    // Bounded like the device's own receive queue: a script that never reads loses the oldest.
    if (net_out_.size() >= 1024) net_out_.erase(net_out_.begin());
    net_out_.emplace_back(frame, frame + len);
  };
  add_virtio(std::move(net));
  virtio_net_ = n;
}

std::vector<std::vector<uint8_t>> RiscvVirtMachine::take_net_frames() {
  std::lock_guard<std::mutex> lock(net_mu_);
  return std::exchange(net_out_, {});
}

void RiscvVirtMachine::net_receive(const uint8_t* frame, size_t len) {
  if (!virtio_net_) throw UsageError("the machine has no network card: add_virtio_net() first");
  virtio_net_->receive(frame, len);
}

void RiscvVirtMachine::virtio_console_input(const std::string& bytes) {
  if (!virtio_console_) throw UsageError("the machine has no virtio console: add_virtio_console() first");
  virtio_console_->receive(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

bool RiscvVirtMachine::virtio_host_work() {
  for (VirtioSlotDevices& v : virtio_)
    if (v.transport->has_host_work()) return true;
  return false;
}

void RiscvVirtMachine::reset(uint64_t pc, rv64::Priv priv) {
  bus_.reset_devices();
  lines_.set(mip::kMsip, false);
  hart_->reset(pc, priv);
  // A program started in M-mode is the firmware: it answers S-mode's ecalls itself.
  hart_->set_native_sbi(priv != rv64::Priv::Machine);
  power_ = Power::On;
}

void RiscvVirtMachine::load_kernel(const std::string& kernel_path, const std::string& initrd_path,
                                   const std::string& append, const std::string& firmware_path) {
  // Everything is read and checked before the machine changes.
  KernelImage kernel = load_kernel_image(kernel_path);
  std::vector<uint8_t> firmware;
  if (!firmware_path.empty()) {
    firmware = read_boot_file(firmware_path, "firmware");
    if (firmware.size() > kernel.text_offset)
      throw BootError("firmware '" + firmware_path + "' is " + format_size(firmware.size()) +
                      ": it must fit below the kernel, in the first " + format_size(kernel.text_offset) +
                      " of RAM (a fw_dynamic image such as OpenSBI's fw_dynamic.bin)");
  }
  std::vector<uint8_t> initrd;
  if (!initrd_path.empty()) initrd = read_boot_file(initrd_path, "initrd");
  VirtBoardDescription d = board_description();
  d.bootargs = append;
  if (!initrd.empty()) d.initrd = PhysRange{ram_.ram_base(), ram_.ram_base()};  // placeholder, same size
  size_t dtb_size = build_virt_fdt(d).size();
  BootLayout layout = plan_boot(kernel, ram_.ram_base(), ram_.ram_size(), initrd.size(), dtb_size);
  if (!initrd.empty()) d.initrd = PhysRange{layout.initrd_start, layout.initrd_end};
  dtb_ = build_virt_fdt(d);

  ram_.write(layout.kernel_start, kernel.bytes.data(), kernel.bytes.size());
  if (!initrd.empty()) ram_.write(layout.initrd_start, initrd.data(), initrd.size());
  ram_.write(layout.dtb_start, dtb_.data(), dtb_.size());
  if (!firmware.empty()) {
    // Firmware at the start of RAM, entered from the reset vector in M-mode; it starts the kernel
    // in S-mode (next_mode 1) and answers its SBI calls.
    ram_.write(ram_.ram_base(), firmware.data(), firmware.size());
    ram_.load_rom(kResetVector, reset_vector_rom(ram_.ram_base(), layout.dtb_start, layout.kernel_start, 1));
    reset(kResetVector, rv64::Priv::Machine);
  } else {
    reset(layout.kernel_start, rv64::Priv::Machine);
    hart_->set_native_sbi(true);
    hart_->enter_supervisor(layout.kernel_start, 0, layout.dtb_start);
  }
  kernel_loaded_ = true;
}

void RiscvVirtMachine::console_bytes(const uint8_t* data, size_t n) {
  {
    std::lock_guard<std::mutex> lock(console_mu_);
    console_.append(reinterpret_cast<const char*>(data), n);
  }
  if (on_console_output) on_console_output(data, n);
}

std::string RiscvVirtMachine::console_output() const {
  std::lock_guard<std::mutex> lock(console_mu_);
  return console_;
}

size_t RiscvVirtMachine::console_size() const {
  std::lock_guard<std::mutex> lock(console_mu_);
  return console_.size();
}

void RiscvVirtMachine::console_input(const std::string& bytes) {
  uart_->receive(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void RiscvVirtMachine::wait_for_output(const std::string& text, size_t from) {
  match_text_ = text;
  match_from_ = from;
}

bool RiscvVirtMachine::output_matched() const {
  if (match_text_.empty()) return false;
  std::lock_guard<std::mutex> lock(console_mu_);
  if (match_from_ > console_.size()) return false;
  size_t at = console_.find(match_text_, match_from_);
  if (at == std::string::npos) return false;
  const_cast<RiscvVirtMachine*>(this)->match_end_ = at + match_text_.size();
  return true;
}

void RiscvVirtMachine::stop() {
  stop_ = true;
  lines_.kick();
}

const char* RiscvVirtMachine::power_state() const {
  switch (power_.load()) {
    case Power::On: return "on";
    case Power::Off: return "off";
    case Power::Reset: return "reset";
  }
  return "?";
}

uint64_t RiscvVirtMachine::next_timer_deadline() const {
  return std::min(clint_->next_deadline_ticks(), hart_->stimer_deadline());
}

bool RiscvVirtMachine::wait_for_interrupt(std::chrono::steady_clock::time_point deadline, bool has_deadline) {
  ++idle_sleeps_;
  const uint64_t wake = next_timer_deadline();
  if (config_.clock == RiscvVirtConfig::Clock::Virtual) {
    // Nothing runs while the hart waits, so time may jump straight to its next timer. Without
    // one, only host input can wake it.
    if (wake != ~0ull) {
      clock_->skip_to(wake);
      return true;
    }
    return uart_->has_deliverable_input() || virtio_host_work();
  }
  uint64_t seen = lines_.events();
  // (Input the UART cannot take now, its FIFO full, is no reason to stay awake.)
  if (uart_->has_deliverable_input() || virtio_host_work() || stop_) return true;
  auto until = deadline;
  if (wake != ~0ull) {
    uint64_t now = clock_->ticks();
    auto timer = std::chrono::steady_clock::now() +
                 std::chrono::nanoseconds((wake > now ? wake - now : 0) * (1'000'000'000 / TimeSource::kFrequency));
    if (!has_deadline || timer < until) until = timer;
  } else if (!has_deadline) {
    until = std::chrono::steady_clock::now() + std::chrono::seconds(1);  // look at stop() now and then
  }
  auto slept_from = std::chrono::steady_clock::now();
  lines_.wait_until(seen, until);
  idle_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - slept_from).count();
  return true;
}

SystemRunEnd RiscvVirtMachine::run(uint64_t max_insns, double timeout_seconds) {
  stop_ = false;
  const bool has_deadline = timeout_seconds > 0;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::nanoseconds(int64_t(has_deadline ? timeout_seconds * 1e9 : 0));
  const uint64_t start = cpu_->stats().insns_executed;
  for (;;) {
    if (power_ == Power::Off) return SystemRunEnd::PowerOff;
    if (power_ == Power::Reset) return SystemRunEnd::Reset;
    if (stop_ || output_matched()) return SystemRunEnd::Stopped;
    if (has_deadline && std::chrono::steady_clock::now() >= deadline) return SystemRunEnd::Timeout;
    uint64_t done = cpu_->stats().insns_executed - start;
    if (max_insns && done >= max_insns) return SystemRunEnd::Limit;
    uint64_t slice = kSlice;
    if (max_insns) slice = std::min(slice, max_insns - done);
    if (config_.clock == RiscvVirtConfig::Clock::Virtual) {
      // Stop at the next timer deadline exactly, so a virtual-time interrupt arrives on time.
      uint64_t wake = next_timer_deadline(), now = clock_->ticks();
      if (wake != ~0ull && wake > now) slice = std::min(slice, std::max<uint64_t>(1, (wake - now) * config_.insns_per_tick));
    }
    clint_->update();
    uart_->poll();
    for (VirtioSlotDevices& v : virtio_) v.transport->poll();
    Stop s = cpu_->run(slice);
    clint_->update();
    if (s.reason == StopReason::System && hart_->halt == rv64::System::Halt::Idle) {
      hart_->clear_halt();
      if (!wait_for_interrupt(deadline, has_deadline)) return SystemRunEnd::Idle;
      continue;
    }
    if (s.reason == StopReason::System) {
      hart_->clear_halt();  // power requests are in power_
      continue;
    }
    if (s.reason != StopReason::Limit)
      throw std::logic_error(std::string("system mode: the CPU stopped for ") + stop_reason_name(s.reason) +
                             " at " + hex(s.pc));
  }
}

}  // namespace vmkit::devices
