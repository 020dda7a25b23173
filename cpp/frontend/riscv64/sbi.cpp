// Native SBI (RISC-V Supervisor Binary Interface 2.0): the calls a supervisor makes with ecall,
// answered in place of M-mode firmware. What Linux uses: BASE to probe, TIME (set_timer), IPI,
// RFENCE, HSM (hart status), SRST (power-off and reboot) and DBCN (the debug console behind
// earlycon=sbi). The legacy v0.1 calls a small kernel or test may still make (set_timer,
// console_putchar, console_getchar, shutdown) are answered too. Everything else (PMU, SUSP, CPPC,
// FWFT, STA, ...) is SBI_ERR_NOT_SUPPORTED, which the kernel takes as "extension absent".
#include "frontend/riscv64/system.h"

namespace vmkit::rv64 {

namespace {
namespace ext {
constexpr uint64_t kLegacySetTimer = 0x00, kLegacyPutchar = 0x01, kLegacyGetchar = 0x02, kLegacyShutdown = 0x08;
constexpr uint64_t kBase = 0x10, kTime = 0x54494d45, kIpi = 0x735049, kRfence = 0x52464e43, kHsm = 0x48534d;
constexpr uint64_t kSrst = 0x53525354, kDbcn = 0x4442434e;
}  // namespace ext
constexpr int64_t kSuccess = 0, kErrNotSupported = -2, kErrInvalidParam = -3, kErrAlreadyAvailable = -6;
constexpr uint64_t kSpecVersion = 2ull << 24;       // 2.0
constexpr uint64_t kImplementationId = 0x766d6b74;  // "vmkt": not a registered SBI implementation
constexpr uint64_t kImplementationVersion = 1;
constexpr unsigned kA0 = 10, kA1 = 11, kA2 = 12, kA3 = 13, kA4 = 14, kA6 = 16, kA7 = 17;

bool extension_present(uint64_t id) {
  switch (id) {
    case ext::kBase: case ext::kTime: case ext::kIpi: case ext::kRfence: case ext::kHsm:
    case ext::kSrst: case ext::kDbcn: case ext::kLegacySetTimer: case ext::kLegacyPutchar:
    case ext::kLegacyGetchar: case ext::kLegacyShutdown:
      return true;
  }
  return false;
}

// Whether hart 0 (the only one) is in a hart mask (mask_base = -1 means every hart).
bool includes_hart0(uint64_t mask, uint64_t mask_base) { return mask_base == ~0ull || (mask_base == 0 && (mask & 1)); }
}  // namespace

bool System::sbi_call() {
  uint64_t* x = state_.x;
  const uint64_t eid = x[kA7], fid = x[kA6];
  int64_t error = kSuccess;
  uint64_t value = 0;
  bool go_on = true;
  auto power = [&](Halt h) {
    halt = h;
    if (on_power) on_power(h);
    go_on = false;
  };
  switch (eid) {
    case ext::kLegacySetTimer:
      state_.sys.stimecmp = x[kA0];
      state_.sys.menvcfg |= 1ull << 63;  // the timer is Sstc's comparator either way
      x[kA0] = 0;
      return true;
    case ext::kLegacyPutchar: {
      uint8_t c = uint8_t(x[kA0]);
      if (console_write) console_write(&c, 1);
      x[kA0] = 0;
      return true;
    }
    case ext::kLegacyGetchar:
      x[kA0] = ~0ull;  // nothing to read: the console's input goes to the UART
      return true;
    case ext::kLegacyShutdown:
      power(Halt::PowerOff);
      return false;
    case ext::kBase:
      switch (fid) {
        case 0: value = kSpecVersion; break;
        case 1: value = kImplementationId; break;
        case 2: value = kImplementationVersion; break;
        case 3: value = extension_present(x[kA0]) ? 1 : 0; break;
        case 4: case 5: case 6: value = 0; break;  // mvendorid, marchid, mimpid
        default: error = kErrNotSupported;
      }
      break;
    case ext::kTime:
      if (fid == 0) state_.sys.stimecmp = x[kA0];
      else error = kErrNotSupported;
      break;
    case ext::kIpi:
      if (fid == 0) {
        if (includes_hart0(x[kA0], x[kA1])) state_.sys.mip |= 1ull << irq::kSsi;
      } else {
        error = kErrNotSupported;
      }
      break;
    case ext::kRfence: {
      // One hart: a remote fence is a local one. fence.i needs nothing (code is tracked by
      // physical page); sfence.vma flushes the range (all of it when size is -1 or large).
      const uint64_t start = x[kA2], size = x[kA3];
      if (fid == 0) break;
      if (fid != 1 && fid != 2) {
        error = kErrNotSupported;
        break;
      }
      if (!includes_hart0(x[kA0], x[kA1])) break;
      const bool with_asid = fid == 2;
      if ((start == 0 && size == 0) || size == ~0ull || size > (64ull << 12)) {
        sfence_vma(false, 0, with_asid, x[kA4]);
      } else {
        for (uint64_t va = start & ~0xfffull; va < start + size; va += 4096) sfence_vma(true, va, with_asid, x[kA4]);
      }
      break;
    }
    case ext::kHsm:
      switch (fid) {
        case 0: error = x[kA0] == 0 ? kErrAlreadyAvailable : kErrInvalidParam; break;  // hart_start
        case 2: if (x[kA0] == 0) value = 0; else error = kErrInvalidParam; break;         // status: STARTED
        default: error = kErrNotSupported;
      }
      break;
    case ext::kSrst:
      // system_reset(type, reason): type 0 is shutdown, 1 cold and 2 warm reboot. It does not
      // return on success; the machine stops.
      if (fid == 0 && x[kA0] <= 2) {
        power(x[kA0] == 0 ? Halt::PowerOff : Halt::Reset);
      } else {
        error = kErrInvalidParam;
      }
      break;
    case ext::kDbcn:
      switch (fid) {
        case 0: {  // console_write(num_bytes, base_lo, base_hi): a physical buffer
          const uint64_t n = x[kA0], pa = x[kA1] | (x[kA2] << 32);
          uint8_t* p = ram_.host(pa, n);
          if (!p) {
            error = kErrInvalidParam;
            break;
          }
          if (console_write) console_write(p, n);
          value = n;
          break;
        }
        case 1: value = 0; break;  // console_read: no bytes (input goes to the UART)
        case 2: {
          uint8_t c = uint8_t(x[kA0]);
          if (console_write) console_write(&c, 1);
          break;
        }
        default: error = kErrNotSupported;
      }
      break;
    default:
      error = kErrNotSupported;
  }
  x[kA0] = uint64_t(error);
  x[kA1] = value;
  return go_on;
}

}  // namespace vmkit::rv64
