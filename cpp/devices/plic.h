// The SiFive PLIC of qemu 7.2's virt board (hw/intc/sifive_plic.c, hart-config "MS") for one
// hart: 96 sources (source 0 does not exist), 7 priority levels, two contexts: 0 for M mode
// (drives MEIP) and 1 for S mode (drives SEIP).
//
//   0x000000 + 4 * source   priority (WARL: 3 bits, 0 = never interrupts)
//   0x001000 + 4 * word     pending bits (read only)
//   0x002000 + 0x80 * ctx   enable bits, 3 words per context
//   0x200000 + 0x1000 * ctx threshold: only priorities above it interrupt
//   0x200004 + 0x1000 * ctx claim (read) / complete (write)
//
// Only naturally aligned 4-byte accesses decode; other offsets in the region read 0 and ignore
// writes. Sources are level-triggered: a source whose line is high is pending unless it is claimed,
// and claiming takes it out of pending until it is completed; completing a source whose line is
// still high makes it pending again. A context's interrupt line is high while some enabled, pending,
// unclaimed source has a priority above the context's threshold.
//
// Thread-safe: device back ends raise sources from their own threads, the CPU reads registers.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "devices/device.h"

namespace vmkit::devices {

class Plic : public Device {
 public:
  static constexpr uint64_t kSize = 0x600000;
  static constexpr unsigned kSources = 96;  // ids 0..95; 0 is reserved
  static constexpr unsigned kContexts = 2;  // 0: M mode, 1: S mode
  static constexpr uint32_t kMaxPriority = 7;

  static constexpr uint64_t kPriorityBase = 0x0;
  static constexpr uint64_t kPendingBase = 0x1000;
  static constexpr uint64_t kEnableBase = 0x2000;
  static constexpr uint64_t kEnableStride = 0x80;
  static constexpr uint64_t kContextBase = 0x200000;
  static constexpr uint64_t kContextStride = 0x1000;

  explicit Plic(HartLines& hart);
  Plic(const Plic&) = delete;
  Plic& operator=(const Plic&) = delete;

  const char* name() const override { return "plic"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  // Priorities, enables, thresholds, pending and claimed state cleared. The input lines keep their
  // levels (they are other devices' outputs): a line still high is pending again at once.
  void reset() override;

  // The input line of source n (1..kSources-1; UsageError otherwise). Lives as long as the PLIC.
  IrqLine& source(unsigned n);

  // State for diagnostics and tests.
  bool pending(unsigned n) const;
  bool claimed(unsigned n) const;

 private:
  static constexpr unsigned kWords = (kSources + 31) / 32;

  class SourceLine : public IrqLine {
   public:
    void set_level(bool high) override { plic->set_source_level(number, high); }
    Plic* plic = nullptr;
    unsigned number = 0;
  };

  using Bits = std::array<uint32_t, kWords>;
  static bool test(const Bits& b, unsigned n) { return (b[n / 32] >> (n % 32)) & 1; }
  static void assign(Bits& b, unsigned n, bool v) {
    const uint32_t m = 1u << (n % 32);
    b[n / 32] = v ? b[n / 32] | m : b[n / 32] & ~m;
  }

  void set_source_level(unsigned n, bool high);
  // The source a claim by `context` would return: the enabled, pending, unclaimed source with the
  // highest priority above the threshold, the lowest id among equals; 0 if none.
  unsigned best_source(unsigned context) const;
  void update_lines();  // MEIP and SEIP from best_source; with mu_ held
  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);

  HartLines& hart_;
  mutable std::mutex mu_;
  std::array<uint32_t, kSources> priority_{};
  Bits level_{};    // input line levels
  Bits pending_{};
  Bits claimed_{};
  std::array<Bits, kContexts> enable_{};
  std::array<uint32_t, kContexts> threshold_{};
  std::array<SourceLine, kSources> lines_;
};

}  // namespace vmkit::devices
