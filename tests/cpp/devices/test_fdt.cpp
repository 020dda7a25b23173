// The virt board's device tree: read back with libfdt (every node the kernel needs, phandles that
// resolve, the fixed-size /chosen), the description's consistency checks, and, when Debian's
// device-tree-compiler is installed, the text `dtc` decompiles it to.
#include <gtest/gtest.h>
#include <libfdt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "devices/fdt.h"

namespace vmkit::devices {
namespace {

VirtBoardDescription typical_board() {
  VirtBoardDescription b;
  b.ram_size = 512ull << 20;
  b.bootargs = "console=ttyS0 earlycon";
  b.initrd = PhysRange{0x88200000, 0x88300000};
  for (uint8_t i = 0; i < 64; ++i) b.rng_seed[i] = i;
  b.virtio_mmio = {virt_virtio_mmio_slot(0), virt_virtio_mmio_slot(1)};
  return b;
}

// Read-side helpers over a finished blob; a missing node or property fails the test.
class Tree {
 public:
  explicit Tree(std::vector<uint8_t> blob) : blob_(std::move(blob)) {}
  const void* fdt() const { return blob_.data(); }

  int node(const std::string& path) const {
    const int off = fdt_path_offset(fdt(), path.c_str());
    EXPECT_GE(off, 0) << path << ": " << fdt_strerror(off);
    return off;
  }
  bool has_node(const std::string& path) const { return fdt_path_offset(fdt(), path.c_str()) >= 0; }
  // The raw bytes of a property (empty vector for an empty property; fails when absent).
  std::vector<uint8_t> prop(const std::string& path, const char* name) const {
    int len = 0;
    const void* p = fdt_getprop(fdt(), node(path), name, &len);
    EXPECT_NE(p, nullptr) << path << " has no " << name;
    if (!p) return {};
    auto b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + len);
  }
  bool has_prop(const std::string& path, const char* name) const {
    return fdt_getprop(fdt(), node(path), name, nullptr) != nullptr;
  }
  std::string str(const std::string& path, const char* name) const {
    std::vector<uint8_t> p = prop(path, name);
    EXPECT_FALSE(p.empty());
    EXPECT_EQ(p.empty() ? 0 : p.back(), 0) << name << " is not NUL-terminated";
    return p.empty() ? "" : std::string(p.begin(), p.end() - 1);
  }
  std::vector<std::string> strings(const std::string& path, const char* name) const {
    std::vector<std::string> out;
    std::string cur;
    for (uint8_t c : prop(path, name)) {
      if (c) {
        cur.push_back(static_cast<char>(c));
      } else {
        out.push_back(cur);
        cur.clear();
      }
    }
    return out;
  }
  std::vector<uint32_t> cells(const std::string& path, const char* name) const {
    std::vector<uint8_t> p = prop(path, name);
    EXPECT_EQ(p.size() % 4, 0u);
    std::vector<uint32_t> out;
    for (size_t i = 0; i + 4 <= p.size(); i += 4) {
      out.push_back(uint32_t{p[i]} << 24 | uint32_t{p[i + 1]} << 16 | uint32_t{p[i + 2]} << 8 | p[i + 3]);
    }
    return out;
  }
  uint32_t u32(const std::string& path, const char* name) const {
    std::vector<uint32_t> c = cells(path, name);
    EXPECT_EQ(c.size(), 1u) << path << " " << name;
    return c.empty() ? 0 : c[0];
  }
  uint64_t u64(const std::string& path, const char* name) const {
    std::vector<uint32_t> c = cells(path, name);
    EXPECT_EQ(c.size(), 2u) << path << " " << name;
    return c.size() == 2 ? uint64_t{c[0]} << 32 | c[1] : 0;
  }
  // The path of the node a phandle names ("" when none does).
  std::string path_of(uint32_t phandle) const {
    const int off = fdt_node_offset_by_phandle(fdt(), phandle);
    if (off < 0) return "";
    char buf[256];
    return fdt_get_path(fdt(), off, buf, sizeof buf) == 0 ? buf : "";
  }

 private:
  std::vector<uint8_t> blob_;
};

std::vector<uint32_t> reg_cells(uint64_t base, uint64_t size) {
  return {static_cast<uint32_t>(base >> 32), static_cast<uint32_t>(base), static_cast<uint32_t>(size >> 32),
          static_cast<uint32_t>(size)};
}

TEST(Fdt, BlobIsValidAndDescribesMemoryAndChosen) {
  std::vector<uint8_t> blob = build_virt_fdt(typical_board());
  ASSERT_EQ(fdt_check_header(blob.data()), 0);
  EXPECT_EQ(fdt_totalsize(blob.data()), blob.size());
  EXPECT_EQ(fdt_version(blob.data()), 17u);
  Tree t(blob);
  EXPECT_EQ(t.u32("/", "#address-cells"), 2u);
  EXPECT_EQ(t.u32("/", "#size-cells"), 2u);
  EXPECT_EQ(t.str("/", "compatible"), "riscv-virtio");
  EXPECT_EQ(t.str("/", "model"), "vmkit,riscv-virt");

  EXPECT_EQ(t.str("/chosen", "bootargs"), "console=ttyS0 earlycon");
  EXPECT_EQ(t.str("/chosen", "stdout-path"), "/soc/serial@10000000");
  EXPECT_EQ(t.u64("/chosen", "linux,initrd-start"), 0x88200000u);
  EXPECT_EQ(t.u64("/chosen", "linux,initrd-end"), 0x88300000u);
  std::vector<uint8_t> seed = t.prop("/chosen", "rng-seed");
  ASSERT_EQ(seed.size(), 64u);
  for (uint8_t i = 0; i < 64; ++i) EXPECT_EQ(seed[i], i);
  // stdout-path names a node that exists.
  t.node(t.str("/chosen", "stdout-path"));

  EXPECT_EQ(t.str("/memory@80000000", "device_type"), "memory");
  EXPECT_EQ(t.cells("/memory@80000000", "reg"), reg_cells(0x80000000, 512ull << 20));
}

TEST(Fdt, HartAdvertisesExactlyVmkitsIsa) {
  Tree t(build_virt_fdt(typical_board()));
  EXPECT_EQ(t.u32("/cpus", "timebase-frequency"), 10'000'000u);
  EXPECT_EQ(t.u32("/cpus", "#address-cells"), 1u);
  EXPECT_EQ(t.u32("/cpus", "#size-cells"), 0u);
  const std::string cpu = "/cpus/cpu@0";
  EXPECT_EQ(t.str(cpu, "device_type"), "cpu");
  EXPECT_EQ(t.u32(cpu, "reg"), 0u);
  EXPECT_EQ(t.str(cpu, "status"), "okay");
  EXPECT_EQ(t.str(cpu, "compatible"), "riscv");
  EXPECT_EQ(t.str(cpu, "mmu-type"), "riscv,sv48");
  EXPECT_EQ(t.str(cpu, "riscv,isa"), "rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc");
  EXPECT_EQ(t.str(cpu, "riscv,isa-base"), "rv64i");
  EXPECT_EQ(t.strings(cpu, "riscv,isa-extensions"),
            (std::vector<std::string>{"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei", "zihintpause",
                                      "zba", "zbb", "zbs", "sstc"}));
  const std::string intc = cpu + "/interrupt-controller";
  EXPECT_EQ(t.str(intc, "compatible"), "riscv,cpu-intc");
  EXPECT_EQ(t.u32(intc, "#interrupt-cells"), 1u);
  EXPECT_TRUE(t.prop(intc, "interrupt-controller").empty());
  EXPECT_EQ(t.path_of(t.u32("/cpus/cpu-map/cluster0/core0", "cpu")), cpu);

  VirtBoardDescription sv39 = typical_board();
  sv39.mmu_type = "riscv,sv39";
  EXPECT_EQ(Tree(build_virt_fdt(sv39)).str(cpu, "mmu-type"), "riscv,sv39");
}

// riscv,isa and riscv,isa-extensions are two spellings of one set: the defaults must agree.
TEST(Fdt, DefaultIsaStringMatchesTheExtensionList) {
  VirtBoardDescription b;
  std::string rebuilt = "rv64";
  bool multi_letter = false;
  for (const std::string& ext : b.isa_extensions) {
    if (ext.size() == 1) {
      EXPECT_FALSE(multi_letter) << "single-letter extension " << ext << " after multi-letter ones";
      rebuilt += ext;
    } else {
      rebuilt += "_" + ext;
      multi_letter = true;
    }
  }
  EXPECT_EQ(rebuilt, b.isa);
}

TEST(Fdt, InterruptWiringResolvesThroughPhandles) {
  Tree t(build_virt_fdt(typical_board()));
  const uint32_t intc = t.u32("/cpus/cpu@0/interrupt-controller", "phandle");
  EXPECT_EQ(t.path_of(intc), "/cpus/cpu@0/interrupt-controller");

  EXPECT_EQ(t.strings("/soc/clint@2000000", "compatible"),
            (std::vector<std::string>{"sifive,clint0", "riscv,clint0"}));
  EXPECT_EQ(t.cells("/soc/clint@2000000", "reg"), reg_cells(0x2000000, 0x10000));
  EXPECT_EQ(t.cells("/soc/clint@2000000", "interrupts-extended"), (std::vector<uint32_t>{intc, 3, intc, 7}));

  const std::string plic = "/soc/plic@c000000";
  EXPECT_EQ(t.strings(plic, "compatible"), (std::vector<std::string>{"sifive,plic-1.0.0", "riscv,plic0"}));
  EXPECT_EQ(t.cells(plic, "reg"), reg_cells(0xc000000, 0x600000));
  EXPECT_EQ(t.u32(plic, "riscv,ndev"), 95u);
  EXPECT_EQ(t.u32(plic, "#interrupt-cells"), 1u);
  EXPECT_EQ(t.u32(plic, "#address-cells"), 0u);
  EXPECT_TRUE(t.has_prop(plic, "interrupt-controller"));
  // Context 0 is the hart's machine external interrupt, context 1 its supervisor one.
  EXPECT_EQ(t.cells(plic, "interrupts-extended"), (std::vector<uint32_t>{intc, 11, intc, 9}));
  const uint32_t plic_phandle = t.u32(plic, "phandle");
  EXPECT_EQ(t.path_of(plic_phandle), plic);

  const std::string uart = "/soc/serial@10000000";
  EXPECT_EQ(t.str(uart, "compatible"), "ns16550a");
  EXPECT_EQ(t.cells(uart, "reg"), reg_cells(0x10000000, 0x100));
  EXPECT_EQ(t.u32(uart, "clock-frequency"), 3686400u);
  EXPECT_EQ(t.u32(uart, "interrupts"), 10u);
  EXPECT_EQ(t.u32(uart, "interrupt-parent"), plic_phandle);

  for (unsigned i = 0; i < 2; ++i) {
    const std::string node = "/soc/virtio_mmio@1000" + std::to_string(i + 1) + "000";
    EXPECT_EQ(t.str(node, "compatible"), "virtio,mmio");
    EXPECT_EQ(t.cells(node, "reg"), reg_cells(0x10001000 + 0x1000 * i, 0x1000));
    EXPECT_EQ(t.u32(node, "interrupts"), 1 + i);
    EXPECT_EQ(t.u32(node, "interrupt-parent"), plic_phandle);
  }
  EXPECT_FALSE(t.has_node("/soc/virtio_mmio@10003000"));  // only the configured transports
  EXPECT_FALSE(t.has_node("/soc/rtc@101000"));             // off by default

  EXPECT_EQ(t.str("/soc", "compatible"), "simple-bus");
  EXPECT_TRUE(t.prop("/soc", "ranges").empty());
}

TEST(Fdt, PowerOffAndRebootGoThroughTheSifiveTestSyscon) {
  Tree t(build_virt_fdt(typical_board()));
  const std::string test = "/soc/test@100000";
  EXPECT_EQ(t.strings(test, "compatible"), (std::vector<std::string>{"sifive,test1", "sifive,test0", "syscon"}));
  EXPECT_EQ(t.cells(test, "reg"), reg_cells(0x100000, 0x1000));
  EXPECT_EQ(t.str("/poweroff", "compatible"), "syscon-poweroff");
  EXPECT_EQ(t.path_of(t.u32("/poweroff", "regmap")), test);
  EXPECT_EQ(t.u32("/poweroff", "offset"), 0u);
  EXPECT_EQ(t.u32("/poweroff", "value"), 0x5555u);
  EXPECT_EQ(t.str("/reboot", "compatible"), "syscon-reboot");
  EXPECT_EQ(t.path_of(t.u32("/reboot", "regmap")), test);
  EXPECT_EQ(t.u32("/reboot", "value"), 0x7777u);
}

TEST(Fdt, OptionalPartsAppearOnlyWhenConfigured) {
  VirtBoardDescription b = typical_board();
  b.bootargs.clear();
  b.initrd.reset();
  b.rtc = true;
  b.virtio_mmio.clear();
  for (unsigned i = 0; i < virt::kVirtioMmioSlots; ++i) b.virtio_mmio.push_back(virt_virtio_mmio_slot(i));
  Tree t(build_virt_fdt(b));
  EXPECT_FALSE(t.has_prop("/chosen", "bootargs"));
  EXPECT_FALSE(t.has_prop("/chosen", "linux,initrd-start"));
  EXPECT_FALSE(t.has_prop("/chosen", "linux,initrd-end"));
  EXPECT_EQ(t.str("/soc/rtc@101000", "compatible"), "google,goldfish-rtc");
  EXPECT_EQ(t.u32("/soc/rtc@101000", "interrupts"), 11u);
  EXPECT_EQ(t.u32("/soc/virtio_mmio@10008000", "interrupts"), 8u);

  // Device-tree order is probe order: the transports appear as listed.
  VirtBoardDescription reversed = typical_board();
  reversed.virtio_mmio = {virt_virtio_mmio_slot(3), virt_virtio_mmio_slot(0)};
  Tree r(build_virt_fdt(reversed));
  const int soc = r.node("/soc");
  std::vector<std::string> names;
  int child;
  fdt_for_each_subnode(child, r.fdt(), soc) {
    std::string name = fdt_get_name(r.fdt(), child, nullptr);
    if (name.rfind("virtio_mmio@", 0) == 0) names.push_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"virtio_mmio@10004000", "virtio_mmio@10001000"}));
}

TEST(Fdt, TwoHartsGetTheirOwnControllersAndContexts) {
  VirtBoardDescription b = typical_board();
  b.harts = 2;
  Tree t(build_virt_fdt(b));
  const uint32_t intc0 = t.u32("/cpus/cpu@0/interrupt-controller", "phandle");
  const uint32_t intc1 = t.u32("/cpus/cpu@1/interrupt-controller", "phandle");
  EXPECT_NE(intc0, intc1);
  EXPECT_EQ(t.u32("/cpus/cpu@1", "reg"), 1u);
  EXPECT_EQ(t.cells("/soc/plic@c000000", "interrupts-extended"),
            (std::vector<uint32_t>{intc0, 11, intc0, 9, intc1, 11, intc1, 9}));
  EXPECT_EQ(t.cells("/soc/clint@2000000", "interrupts-extended"),
            (std::vector<uint32_t>{intc0, 3, intc0, 7, intc1, 3, intc1, 7}));
  EXPECT_EQ(t.path_of(t.u32("/cpus/cpu-map/cluster0/core1", "cpu")), "/cpus/cpu@1");
}

// The loader sizes the DTB before it knows where the initrd goes: the final blob must be the same size.
TEST(Fdt, SizeDoesNotDependOnTheInitrdAddresses) {
  VirtBoardDescription a = typical_board(), b = typical_board();
  a.initrd = PhysRange{0x80000000, 0x80000000};
  b.initrd = PhysRange{0x9f000000, 0x9fdfffff};
  EXPECT_EQ(build_virt_fdt(a).size(), build_virt_fdt(b).size());
}

void expect_usage_error(const VirtBoardDescription& b, const std::string& expected) {
  try {
    build_virt_fdt(b);
    ADD_FAILURE() << "no error, expected: " << expected;
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
}

TEST(Fdt, InconsistentDescriptionsAreRejected) {
  VirtBoardDescription b = typical_board();
  b.mmu_type = "riscv,sv57";
  expect_usage_error(b, "mmu type 'riscv,sv57' is not one vmkit implements: use riscv,sv39 or riscv,sv48");

  b = typical_board();
  b.harts = 0;
  expect_usage_error(b, "the board needs at least one hart");

  b = typical_board();
  b.virtio_mmio.push_back({0x10000000, 7});
  expect_usage_error(b, "UART at 0x10000000 overlaps virtio-mmio at 0x10000000");

  b = typical_board();
  b.virtio_mmio.push_back({0x10005000, 10});
  expect_usage_error(b, "PLIC source 10 is given to two devices");

  b = typical_board();
  b.virtio_mmio.push_back({0x10005000, 96});
  expect_usage_error(b, "PLIC source 96 is out of range (1..95)");

  b = typical_board();
  b.initrd = PhysRange{0xa0000000, 0xa0001000};
  expect_usage_error(b, "initrd 0xa0000000..0xa0001000 is not inside RAM 0x80000000..0xa0000000");

  EXPECT_THROW(virt_virtio_mmio_slot(8), UsageError);
}

TEST(Fdt, RandomSeedsDiffer) { EXPECT_NE(random_rng_seed(), random_rng_seed()); }

// Runs a shell command, returning its standard output; `status` gets the exit status.
std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

TEST(Fdt, DtcDecompilesItToTheExpectedSource) {
  int status = 0;
  run("command -v dtc >/dev/null 2>&1", status);
  if (status != 0) GTEST_SKIP() << "dtc is not installed (Debian: apt install device-tree-compiler)";

  const std::string path =
      std::filesystem::temp_directory_path() / ("vmkit_fdt_" + std::to_string(::getpid()) + ".dtb");
  std::vector<uint8_t> blob = build_virt_fdt(typical_board());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(blob.data()), blob.size());
  // Warnings (dtc's style checks) go to a file so they can be shown; they do not fail the test.
  const std::string dts = run("dtc -I dtb -O dts -o - " + path + " 2>" + path + ".err", status);
  std::string warnings = run("cat " + path + ".err", status);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".err");
  ASSERT_FALSE(dts.empty()) << warnings;

  for (const char* line : {
           "compatible = \"riscv-virtio\";",
           "bootargs = \"console=ttyS0 earlycon\";",
           "stdout-path = \"/soc/serial@10000000\";",
           "linux,initrd-start = <0x00 0x88200000>;",
           "linux,initrd-end = <0x00 0x88300000>;",
           "memory@80000000 {",
           "reg = <0x00 0x80000000 0x00 0x20000000>;",
           "timebase-frequency = <0x989680>;",
           "riscv,isa = \"rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc\";",
           "riscv,isa-extensions = \"i\\0m\\0a\\0f\\0d\\0c\\0zicntr\\0zicsr\\0zifencei\\0zihintpause\\0zba"
           "\\0zbb\\0zbs\\0sstc\";",
           "mmu-type = \"riscv,sv48\";",
           "compatible = \"riscv,cpu-intc\";",
           "compatible = \"sifive,clint0\\0riscv,clint0\";",
           "compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";",
           "riscv,ndev = <0x5f>;",
           "compatible = \"ns16550a\";",
           "clock-frequency = \"\\08@\";",  // 0x00384000, which dtc guesses is a string (as for qemu's)
           "compatible = \"sifive,test1\\0sifive,test0\\0syscon\";",
           "compatible = \"syscon-poweroff\";",
           "value = <0x5555>;",
           "virtio_mmio@10001000 {",
           "compatible = \"virtio,mmio\";",
       }) {
    EXPECT_NE(dts.find(line), std::string::npos) << "missing: " << line << "\n" << dts;
  }
  EXPECT_EQ(dts.find("rtc@"), std::string::npos);
}

}  // namespace
}  // namespace vmkit::devices
