// What every memory-mapped device model implements, and the lines devices drive. Devices are plain
// C++ objects called on the guest CPU's thread when the guest touches their registers (through
// the Bus); host-facing back ends on other threads (console input, network, disk completion) only
// queue work and raise interrupt lines, which are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace vmkit::devices {

class Device {
 public:
  virtual ~Device() = default;
  // A short name for diagnostics and statistics ("uart16550", "plic", ...).
  virtual const char* name() const = 0;
  // A guest access of `size` bytes (1, 2, 4 or 8) at `offset` inside the device's region. false:
  // the device does not decode it (a width or offset it rejects): the CPU raises an access fault.
  // Reads of unimplemented but decoded registers return 0 and writes to them are ignored, as real
  // hardware does; only what the device cannot decode at all is an access fault.
  virtual bool read(uint64_t offset, unsigned size, uint64_t& value) = 0;
  virtual bool write(uint64_t offset, unsigned size, uint64_t value) = 0;
  // Back to the power-on state (machine reset).
  virtual void reset() {}
};

// A level-triggered interrupt input (a PLIC source, say). Thread-safe.
class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void set_level(bool high) = 0;
};

// The interrupt-pending bits devices drive on one hart, numbered as RISC-V's mip (MSIP 3, MTIP 7,
// SEIP 9, MEIP 11; the others are software's). Set and cleared from any thread; the hart reads
// `bits` at block boundaries. A change wakes a hart sleeping in WFI (wait()).
class HartLines {
 public:
  void set(unsigned bit, bool level) {
    uint64_t m = 1ull << bit;
    uint64_t old = level ? bits_.fetch_or(m) : bits_.fetch_and(~m);
    if (((old & m) != 0) != level) kick();
  }
  uint64_t bits() const { return bits_.load(std::memory_order_acquire); }
  // Wakes wait() (an event a sleeping hart must look at: a line changed, input arrived, stop).
  void kick() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++events_;
    }
    cv_.notify_all();
  }
  // Sleeps until kick() or the deadline (a std::chrono time point), whichever comes first. `seen`
  // is the event count the caller last saw (events()); returns at once if a kick happened since.
  template <class TimePoint>
  void wait_until(uint64_t seen, TimePoint deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return events_ != seen; });
  }
  uint64_t events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::atomic<uint64_t> bits_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t events_ = 0;
};

// The machine's timebase: `mtime` ticks at 10 MHz (the device tree's timebase-frequency, as on
// qemu's virt board). The system machine implements it from the host clock or, for
// deterministic runs, from the number of guest instructions executed.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual uint64_t ticks() const = 0;
  static constexpr uint64_t kFrequency = 10'000'000;
};

// mip bit numbers devices drive.
namespace mip {
constexpr unsigned kMsip = 3, kMtip = 7, kSeip = 9, kMeip = 11;
}

}  // namespace vmkit::devices
