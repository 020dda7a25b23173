// The time guest counters read (RISC-V `time`, AArch64 CNTVCT_EL0, x86 RDTSC): the host's
// CLOCK_MONOTONIC, or a fixed value where runs must be reproducible bit for bit (the execution
// fuzzers compare runs of the same code, which must not see time move between them).
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace vmkit {

namespace detail {
inline std::atomic<int64_t> fixed_guest_clock{-1};
}  // namespace detail

// Nanoseconds of the guest's clock.
inline uint64_t guest_clock_ns() {
  const int64_t fixed = detail::fixed_guest_clock.load(std::memory_order_relaxed);
  if (fixed >= 0) return uint64_t(fixed);
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

// Stops the guest clock at `ns` (a negative value lets it run again).
inline void set_fixed_guest_clock(int64_t ns) { detail::fixed_guest_clock.store(ns, std::memory_order_relaxed); }

}  // namespace vmkit
