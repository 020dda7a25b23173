#include "devices/fdt.h"

#include <libfdt.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "core/errors.h"

namespace vmkit::devices {

VirtioMmioSlot virt_virtio_mmio_slot(unsigned index) {
  if (index >= virt::kVirtioMmioSlots)
    throw UsageError("virtio-mmio slot " + std::to_string(index) + " does not exist: the virt board has " +
                     std::to_string(virt::kVirtioMmioSlots) + " (0.." +
                     std::to_string(virt::kVirtioMmioSlots - 1) + ")");
  return {virt::kVirtioMmioBase + index * virt::kVirtioMmioSize, virt::kVirtioMmioFirstIrq + index};
}

std::array<uint8_t, 64> random_rng_seed() {
  std::random_device rd;
  std::array<uint8_t, 64> seed;
  for (size_t i = 0; i < seed.size(); i += 4) {
    const uint32_t r = rd();
    for (size_t j = 0; j < 4; ++j) seed[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return seed;
}

namespace {

// Thrown inside a build attempt when the buffer is full: the builder retries with a bigger one.
struct OutOfSpace {};

// libfdt's sequential-write calls, checked. Names and values are written in the order given, so
// the blob reads like the tree in plan §4.
class FdtWriter {
 public:
  explicit FdtWriter(std::vector<uint8_t>& buf) : buf_(buf) {
    check(fdt_create(buf_.data(), static_cast<int>(buf_.size())), "fdt_create");
    check(fdt_finish_reservemap(fdt()), "fdt_finish_reservemap");
  }

  void begin(const std::string& name) { check(fdt_begin_node(fdt(), name.c_str()), "fdt_begin_node"); }
  void end() { check(fdt_end_node(fdt()), "fdt_end_node"); }
  void finish() { check(fdt_finish(fdt()), "fdt_finish"); }

  void empty(const char* name) { check(fdt_property(fdt(), name, nullptr, 0), name); }
  void string(const char* name, const std::string& value) {
    check(fdt_property_string(fdt(), name, value.c_str()), name);
  }
  // A string list ("a\0b\0"), as compatible and riscv,isa-extensions are.
  void strings(const char* name, const std::vector<std::string>& values) {
    std::string packed;
    for (const std::string& v : values) packed.append(v).push_back('\0');
    check(fdt_property(fdt(), name, packed.data(), static_cast<int>(packed.size())), name);
  }
  void u32(const char* name, uint32_t value) { check(fdt_property_u32(fdt(), name, value), name); }
  void u64(const char* name, uint64_t value) { check(fdt_property_u64(fdt(), name, value), name); }
  // Big-endian 32-bit cells: reg, interrupts-extended, ...
  void cells(const char* name, const std::vector<uint32_t>& values) {
    std::vector<fdt32_t> be;
    for (uint32_t v : values) be.push_back(cpu_to_fdt32(v));
    check(fdt_property(fdt(), name, be.data(), static_cast<int>(be.size() * sizeof(fdt32_t))), name);
  }
  void bytes(const char* name, const uint8_t* data, size_t size) {
    check(fdt_property(fdt(), name, data, static_cast<int>(size)), name);
  }
  // reg = <address size> with #address-cells = #size-cells = 2.
  void reg(uint64_t base, uint64_t size) {
    cells("reg", {hi(base), lo(base), hi(size), lo(size)});
  }

  static uint32_t hi(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
  static uint32_t lo(uint64_t v) { return static_cast<uint32_t>(v); }

 private:
  void* fdt() { return buf_.data(); }
  static void check(int err, const char* what) {
    if (err == -FDT_ERR_NOSPACE) throw OutOfSpace{};
    // Anything else is a bug in this file (a call out of order), not the user's doing.
    if (err < 0) throw std::logic_error(std::string("libfdt: ") + what + ": " + fdt_strerror(err));
  }

  std::vector<uint8_t>& buf_;
};

std::string unit_name(const char* node, uint64_t base) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s@%llx", node, static_cast<unsigned long long>(base));
  return buf;
}

// The checks build_virt_fdt documents: what would otherwise make a tree the kernel misreads.
void validate(const VirtBoardDescription& b) {
  if (b.harts == 0) throw UsageError("the board needs at least one hart");
  if (b.mmu_type != "riscv,sv39" && b.mmu_type != "riscv,sv48")
    throw UsageError("mmu type '" + b.mmu_type + "' is not one vmkit implements: use riscv,sv39 or riscv,sv48");
  if (b.ram_size == 0 || b.ram_base + b.ram_size < b.ram_base) throw UsageError("RAM size must be non-zero");

  struct Region {
    const char* what;
    uint64_t base, size;
  };
  std::vector<Region> regions = {{"RAM", b.ram_base, b.ram_size},
                                 {"CLINT", b.clint_base, virt::kClintSize},
                                 {"PLIC", b.plic_base, virt::kPlicSize},
                                 {"UART", b.uart_base, virt::kUartSize},
                                 {"sifive_test", b.test_base, virt::kTestSize}};
  if (b.rtc) regions.push_back({"goldfish RTC", b.rtc_base, virt::kRtcSize});
  for (const VirtioMmioSlot& s : b.virtio_mmio) regions.push_back({"virtio-mmio", s.base, virt::kVirtioMmioSize});
  std::sort(regions.begin(), regions.end(), [](const Region& x, const Region& y) { return x.base < y.base; });
  for (size_t i = 1; i < regions.size(); ++i) {
    if (regions[i - 1].base + regions[i - 1].size > regions[i].base)
      throw UsageError(std::string(regions[i - 1].what) + " at " + hex(regions[i - 1].base) + " overlaps " +
                       regions[i].what + " at " + hex(regions[i].base));
  }

  std::vector<uint32_t> irqs = {b.uart_irq};
  if (b.rtc) irqs.push_back(b.rtc_irq);
  for (const VirtioMmioSlot& s : b.virtio_mmio) irqs.push_back(s.irq);
  for (size_t i = 0; i < irqs.size(); ++i) {
    if (irqs[i] == 0 || irqs[i] > b.plic_sources)
      throw UsageError("PLIC source " + std::to_string(irqs[i]) + " is out of range (1.." +
                       std::to_string(b.plic_sources) + ")");
    if (std::count(irqs.begin(), irqs.end(), irqs[i]) > 1)
      throw UsageError("PLIC source " + std::to_string(irqs[i]) + " is given to two devices");
  }

  if (b.initrd) {
    const uint64_t ram_end = b.ram_base + b.ram_size;
    if (b.initrd->end < b.initrd->start || b.initrd->start < b.ram_base || b.initrd->end > ram_end)
      throw UsageError("initrd " + hex(b.initrd->start) + ".." + hex(b.initrd->end) + " is not inside RAM " +
                       hex(b.ram_base) + ".." + hex(ram_end));
  }
}

void write_tree(FdtWriter& w, const VirtBoardDescription& b) {
  // Phandles, numbered as qemu does: the cpus first, then each hart's interrupt controller, then
  // the PLIC and sifive_test (the syscon the power-off and reboot nodes point at).
  auto cpu_phandle = [&](unsigned hart) { return 1 + hart; };
  auto intc_phandle = [&](unsigned hart) { return 1 + b.harts + hart; };
  const uint32_t plic_phandle = 1 + 2 * b.harts;
  const uint32_t test_phandle = plic_phandle + 1;
  const std::string uart_node = unit_name("serial", b.uart_base);

  w.begin("");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.string("compatible", "riscv-virtio");
  w.string("model", "vmkit,riscv-virt");

  w.begin("chosen");
  if (!b.bootargs.empty()) w.string("bootargs", b.bootargs);
  w.string("stdout-path", "/soc/" + uart_node);
  if (b.initrd) {
    w.u64("linux,initrd-start", b.initrd->start);
    w.u64("linux,initrd-end", b.initrd->end);
  }
  w.bytes("rng-seed", b.rng_seed.data(), b.rng_seed.size());
  w.end();

  w.begin(unit_name("memory", b.ram_base));
  w.string("device_type", "memory");
  w.reg(b.ram_base, b.ram_size);
  w.end();

  // Power-off and reboot write a magic value to sifive_test through the syscon regmap (the kernel
  // has POWER_RESET_SYSCON(_POWEROFF)=y). At the root, as qemu has them.
  w.begin("poweroff");
  w.string("compatible", "syscon-poweroff");
  w.u32("regmap", test_phandle);
  w.u32("offset", 0);
  w.u32("value", b.poweroff_value);
  w.end();
  w.begin("reboot");
  w.string("compatible", "syscon-reboot");
  w.u32("regmap", test_phandle);
  w.u32("offset", 0);
  w.u32("value", b.reboot_value);
  w.end();

  w.begin("cpus");
  w.u32("#address-cells", 1);
  w.u32("#size-cells", 0);
  w.u32("timebase-frequency", b.timebase_frequency);
  for (unsigned hart = 0; hart < b.harts; ++hart) {
    w.begin(unit_name("cpu", hart));
    w.u32("phandle", cpu_phandle(hart));
    w.string("device_type", "cpu");
    w.u32("reg", hart);
    w.string("status", "okay");
    w.string("compatible", "riscv");
    w.string("riscv,isa", b.isa);
    w.string("riscv,isa-base", b.isa.substr(0, 4) + "i");  // "rv64i"
    w.strings("riscv,isa-extensions", b.isa_extensions);
    w.string("mmu-type", b.mmu_type);
    w.begin("interrupt-controller");
    w.u32("#interrupt-cells", 1);
    w.empty("interrupt-controller");
    w.string("compatible", "riscv,cpu-intc");
    w.u32("phandle", intc_phandle(hart));
    w.end();
    w.end();
  }
  w.begin("cpu-map");
  w.begin("cluster0");
  for (unsigned hart = 0; hart < b.harts; ++hart) {
    w.begin("core" + std::to_string(hart));
    w.u32("cpu", cpu_phandle(hart));
    w.end();
  }
  w.end();
  w.end();
  w.end();  // cpus

  w.begin("soc");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.string("compatible", "simple-bus");
  w.empty("ranges");

  // The CLINT raises each hart's machine software (3) and timer (7) interrupts.
  w.begin(unit_name("clint", b.clint_base));
  w.strings("compatible", {"sifive,clint0", "riscv,clint0"});
  w.reg(b.clint_base, virt::kClintSize);
  std::vector<uint32_t> clint_irqs;
  for (unsigned hart = 0; hart < b.harts; ++hart) {
    clint_irqs.insert(clint_irqs.end(), {intc_phandle(hart), 3, intc_phandle(hart), 7});
  }
  w.cells("interrupts-extended", clint_irqs);
  w.end();

  // PLIC contexts, two per hart: 2h = machine external (11), 2h+1 = supervisor external (9).
  w.begin(unit_name("plic", b.plic_base));
  w.u32("phandle", plic_phandle);
  w.u32("riscv,ndev", b.plic_sources);
  w.reg(b.plic_base, virt::kPlicSize);
  std::vector<uint32_t> plic_contexts;
  for (unsigned hart = 0; hart < b.harts; ++hart) {
    plic_contexts.insert(plic_contexts.end(), {intc_phandle(hart), 11, intc_phandle(hart), 9});
  }
  w.cells("interrupts-extended", plic_contexts);
  w.empty("interrupt-controller");
  w.strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
  w.u32("#address-cells", 0);
  w.u32("#interrupt-cells", 1);
  w.end();

  w.begin(uart_node);
  w.u32("interrupts", b.uart_irq);
  w.u32("interrupt-parent", plic_phandle);
  w.u32("clock-frequency", b.uart_clock);
  w.reg(b.uart_base, virt::kUartSize);
  w.string("compatible", "ns16550a");
  w.end();

  w.begin(unit_name("test", b.test_base));
  w.u32("phandle", test_phandle);
  w.reg(b.test_base, virt::kTestSize);
  w.strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
  w.end();

  if (b.rtc) {
    w.begin(unit_name("rtc", b.rtc_base));
    w.u32("interrupts", b.rtc_irq);
    w.u32("interrupt-parent", plic_phandle);
    w.reg(b.rtc_base, virt::kRtcSize);
    w.string("compatible", "google,goldfish-rtc");
    w.end();
  }

  for (const VirtioMmioSlot& slot : b.virtio_mmio) {
    w.begin(unit_name("virtio_mmio", slot.base));
    w.u32("interrupts", slot.irq);
    w.u32("interrupt-parent", plic_phandle);
    w.reg(slot.base, virt::kVirtioMmioSize);
    w.string("compatible", "virtio,mmio");
    w.end();
  }
  w.end();  // soc

  w.end();  // root
  w.finish();
}

}  // namespace

std::vector<uint8_t> build_virt_fdt(const VirtBoardDescription& board) {
  validate(board);
  // The tree is a few KiB; start there and double until it fits.
  for (size_t size = 8192;; size *= 2) {
    std::vector<uint8_t> buf(size);
    try {
      FdtWriter w(buf);
      write_tree(w, board);
    } catch (const OutOfSpace&) {
      if (size >= (1u << 24)) throw std::logic_error("device tree larger than 16 MiB");
      continue;
    }
    buf.resize(fdt_totalsize(buf.data()));
    return buf;
  }
}

}  // namespace vmkit::devices
