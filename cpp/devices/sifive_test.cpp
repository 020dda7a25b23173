// sifive_test power-off/reset device, as qemu 7.2's hw/misc/sifive_test.c.
#include "devices/sifive_test.h"

namespace vmkit::devices {

bool SifiveTest::read(uint64_t offset, unsigned size, uint64_t& value) {
  if ((size != 2 && size != 4) || (offset & (size - 1)) != 0 || offset >= kSize) return false;
  value = 0;
  return true;
}

bool SifiveTest::write(uint64_t offset, unsigned size, uint64_t value) {
  if ((size != 2 && size != 4) || (offset & (size - 1)) != 0 || offset >= kSize) return false;
  if (offset != 0) return true;
  const uint32_t status = value & 0xffff;
  const int code = static_cast<int>((value >> 16) & 0xffff);
  PowerRequest request = PowerRequest::None;
  int exit_code = 0;
  switch (status) {
    case kFail:
      request = PowerRequest::PowerOff;
      exit_code = code;
      break;
    case kPass:
      request = PowerRequest::PowerOff;
      break;
    case kReset:
      request = PowerRequest::Reset;
      break;
    default:
      return true;  // qemu logs a guest error and carries on
  }
  exit_code_.store(exit_code, std::memory_order_relaxed);
  request_.store(request, std::memory_order_release);
  if (on_request) on_request(request, exit_code);
  return true;
}

void SifiveTest::clear_request() {
  exit_code_.store(0, std::memory_order_relaxed);
  request_.store(PowerRequest::None, std::memory_order_release);
}

}  // namespace vmkit::devices
