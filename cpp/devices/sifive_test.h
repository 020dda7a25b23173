// The sifive_test device of qemu's virt board (hw/misc/sifive_test.c): the "syscon" that Linux's
// syscon-poweroff and syscon-reboot drivers (and OpenSBI) write to power the machine off or reset
// it, and that bare-metal tests use to report pass/fail with an exit code.
//
// A write at offset 0 of 0x5555 powers off (FINISHER_PASS, exit code 0); 0x3333 | code << 16 powers
// off with exit code `code` (FINISHER_FAIL); 0x7777 resets (FINISHER_RESET). Other values and
// offsets are ignored and reads return 0. 2- and 4-byte aligned accesses decode, as in qemu.
//
// The device only records the request; the machine acts on it (stops the run, or resets the board
// and calls reset() here, which clears the request). request() and exit_code() may be read from
// any thread; writes come from the CPU thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "devices/device.h"

namespace vmkit::devices {

enum class PowerRequest : uint8_t { None, PowerOff, Reset };

class SifiveTest : public Device {
 public:
  using PowerRequest = ::vmkit::devices::PowerRequest;  // also spelled SifiveTest::PowerRequest

  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint32_t kFail = 0x3333, kPass = 0x5555, kReset = 0x7777;

  SifiveTest() = default;
  SifiveTest(const SifiveTest&) = delete;
  SifiveTest& operator=(const SifiveTest&) = delete;

  const char* name() const override { return "sifive_test"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override { clear_request(); }

  // Called on the CPU thread when the guest makes a request, after it is recorded.
  std::function<void(PowerRequest, int exit_code)> on_request;

  // The latest request (a later write replaces an earlier one) and its exit code (0 for a pass).
  PowerRequest request() const { return request_.load(std::memory_order_acquire); }
  int exit_code() const { return exit_code_.load(std::memory_order_acquire); }
  void clear_request();

 private:
  std::atomic<PowerRequest> request_{PowerRequest::None};
  std::atomic<int> exit_code_{0};
};

}  // namespace vmkit::devices
