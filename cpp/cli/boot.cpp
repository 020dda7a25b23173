// vmkit-boot: the `vmkit boot` command as a native program (no Python start-up in boot timings).
//
//   vmkit-boot --kernel IMAGE [--initrd FILE] [--append CMDLINE] [--memory SIZE]
//              [--disk IMG]... [--bios FW_DYNAMIC] [--clock host|virtual] [--engine interp|jit|auto]
//              [--timeout SECONDS] [--stats] [--stats-json FILE]
//
// Boots a RISC-V Linux kernel on vmkit's virt board in system mode. The guest's console (the
// UART) is this process's stdout, and stdin is its input. The exit status is 0 when the guest
// powers the machine off, 1 for a boot error, 3 on timeout. Each --disk is a virtio-blk disk backed
// by the image file (writable), vda first.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "devices/riscv_boot.h"
#include "devices/riscv_virt.h"

namespace {

constexpr const char* kUsage =
    "usage: vmkit boot [-h] --kernel IMAGE [--initrd FILE] [--append CMDLINE] [--memory SIZE]\n"
    "                  [--disk IMG]... [--bios FW_DYNAMIC] [--clock {host,virtual}]\n"
    "                  [--engine {interp,jit,auto}]\n"
    "                  [--timeout SECONDS] [--stats] [--stats-json FILE]\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "%svmkit boot: error: %s\n", kUsage, what.c_str());
  std::exit(2);
}

// The run's figures for scripts (bench/boot.py): instructions, translations, and the address
// translation statistics of the fast tables and of the second-level TLB.
void write_stats_json(const std::string& path, vmkit::devices::RiscvVirtMachine& m, vmkit::devices::SystemRunEnd end,
                      double seconds) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "vmkit boot: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return;
  }
  const vmkit::SoftMmuStats& ms = m.hart().mmu().stats;
  const vmkit::CpuStats& cs = m.cpu().stats();
  auto table = [](const vmkit::TlbStats& t) {
    return "{\"lookups\": " + std::to_string(t.lookups) + ", \"hits\": " + std::to_string(t.hits) +
           ", \"misses\": " + std::to_string(t.misses) + ", \"flushes_all\": " + std::to_string(t.flushes_all) +
           ", \"flushes_asid\": " + std::to_string(t.flushes_asid) + ", \"flushes_page\": " +
           std::to_string(t.flushes_page) + "}";
  };
  std::fprintf(f,
               "{\"end\": \"%s\", \"seconds\": %.6f, \"insns\": %llu, \"blocks_translated\": %llu, "
               "\"blocks_compiled\": %llu, \"code_write_faults\": %llu, \"fast_hits\": %llu, \"fast_misses\": %llu, "
               "\"fetch_hits\": %llu, \"fetch_misses\": %llu, \"idle_seconds\": %.6f, \"itlb\": %s, \"dtlb\": %s}\n",
               vmkit::devices::system_run_end_name(end), seconds, (unsigned long long)cs.insns_executed,
               (unsigned long long)cs.blocks_translated, (unsigned long long)cs.blocks_compiled,
               (unsigned long long)cs.code_write_faults, (unsigned long long)ms.hits, (unsigned long long)ms.misses,
               (unsigned long long)ms.fetch_hits, (unsigned long long)ms.fetch_misses, m.idle_seconds(),
               table(m.hart().tlb().stats(vmkit::TlbKind::Instruction)).c_str(),
               table(m.hart().tlb().stats(vmkit::TlbKind::Data)).c_str());
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vmkit;
  std::string kernel, initrd, bios, append = "console=ttyS0", memory = "512M", clock = "host", engine = "auto";
  std::vector<std::string> disks;
  double timeout = 0;
  bool stats = false;
  std::string stats_json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error("argument " + a + ": expected one argument");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--kernel") {
      kernel = value();
    } else if (a == "--initrd") {
      initrd = value();
    } else if (a == "--bios") {
      bios = value();
    } else if (a == "--append") {
      append = value();
    } else if (a == "--disk") {
      disks.push_back(value());
    } else if (a == "--memory") {
      memory = value();
    } else if (a == "--clock") {
      clock = value();
      if (clock != "host" && clock != "virtual") usage_error("argument --clock: invalid choice: '" + clock + "'");
    } else if (a == "--engine") {
      engine = value();
      if (engine != "interp" && engine != "jit" && engine != "auto")
        usage_error("argument --engine: invalid choice: '" + engine + "' (choose from 'interp', 'jit', 'auto')");
    } else if (a == "--timeout") {
      timeout = std::atof(value().c_str());
    } else if (a == "--stats") {
      stats = true;
    } else if (a == "--stats-json") {
      stats_json = value();
    } else {
      usage_error("unrecognized argument: " + a);
    }
  }
  if (kernel.empty()) usage_error("the following arguments are required: --kernel");
  try {
    devices::RiscvVirtConfig config;
    config.memory = devices::parse_memory_size(memory);
    config.engine = parse_engine(engine);
    config.clock = clock == "virtual" ? devices::RiscvVirtConfig::Clock::Virtual : devices::RiscvVirtConfig::Clock::Host;
    devices::RiscvVirtMachine m(config);
    m.on_console_output = [](const uint8_t* p, size_t n) {
      std::fwrite(p, 1, n, stdout);
      std::fflush(stdout);
    };
    for (const std::string& disk : disks) m.add_disk(disk);
    m.load_kernel(kernel, initrd, append, bios);
    // Console input: stdin's bytes go to the UART from a reader thread.
    std::thread([&m] {
      char buf[256];
      for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n <= 0) return;
        m.console_input(std::string(buf, size_t(n)));
      }
    }).detach();
    auto t0 = std::chrono::steady_clock::now();
    devices::SystemRunEnd end = m.run(0, timeout);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!stats_json.empty()) write_stats_json(stats_json, m, end, secs);
    if (stats) {
      const SoftMmuStats& ms = m.hart().mmu().stats;
      const CpuStats& cs = m.cpu().stats();
      std::fprintf(stderr,
                   "vmkit boot: %s after %.3f s, %llu instructions, %llu blocks translated, %llu invalidations, "
                   "%llu code writes\nvmkit boot: mmu hits %llu misses %llu fills %llu faults %llu device r/w %llu/%llu "
                   "flushes %llu page flushes %llu; itlb hits %llu misses %llu\n",
                   devices::system_run_end_name(end), secs, (unsigned long long)cs.insns_executed,
                   (unsigned long long)cs.blocks_translated, (unsigned long long)cs.invalidations,
                   (unsigned long long)cs.code_write_faults, (unsigned long long)ms.hits, (unsigned long long)ms.misses,
                   (unsigned long long)ms.fills, (unsigned long long)ms.faults, (unsigned long long)ms.device_reads,
                   (unsigned long long)ms.device_writes, (unsigned long long)ms.flushes,
                   (unsigned long long)ms.page_flushes, (unsigned long long)ms.fetch_hits,
                   (unsigned long long)ms.fetch_misses);
      std::fprintf(stderr, "vmkit boot: idle %llu times, %.3f s asleep\n", (unsigned long long)m.idle_sleeps(),
                   m.idle_seconds());
    }
    std::fflush(stdout);
    if (end == devices::SystemRunEnd::PowerOff) return 0;
    if (end == devices::SystemRunEnd::Timeout) {
      std::fprintf(stderr, "vmkit boot: timed out after %.1f s\n", timeout);
      return 3;
    }
    std::fprintf(stderr, "vmkit boot: the machine stopped: %s\n", devices::system_run_end_name(end));
    return 1;
  } catch (const VmkitError& e) {
    std::fprintf(stderr, "vmkit boot: %s\n", e.what());
    return 1;
  }
}
