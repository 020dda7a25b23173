// SiFive CLINT for one hart, following qemu 7.2's riscv_aclint.c register by register.
#include "devices/clint.h"

namespace vmkit::devices {

Clint::Clint(HartLines& hart, const TimeSource& time) : hart_(hart), time_(time) { reset(); }

void Clint::reset() {
  // qemu creates the MTIMER with mtimecmp = 0 (riscv_aclint_mtimer_create) and its reset only
  // writes mtime = 0 (the ACLINT spec leaves mtimecmp unknown after reset), so after reset MTIP is
  // pending until firmware or the kernel's SBI layer programs mtimecmp, exactly as under qemu.
  mtimecmp_ = 0;
  time_delta_ = 0 - time_.ticks();
  msip_ = false;
  hart_.set(mip::kMsip, false);
  update();
}

void Clint::update() { hart_.set(mip::kMtip, mtime() >= mtimecmp_); }

uint64_t Clint::next_deadline_ticks() const {
  const uint64_t now = mtime();
  if (now >= mtimecmp_) return UINT64_MAX;
  const uint64_t remaining = mtimecmp_ - now;
  const uint64_t ticks = time_.ticks();
  return remaining > UINT64_MAX - ticks ? UINT64_MAX : ticks + remaining;
}

void Clint::set_mtimecmp(uint64_t value) {
  mtimecmp_ = value;
  update();
}

void Clint::set_mtime(uint64_t value) {
  time_delta_ = value - time_.ticks();
  update();  // qemu re-arms every hart's comparison after an mtime write
}

bool Clint::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (offset < kSwiEnd) {
    if (size != 4 || (offset & 3) != 0) return false;
    value = offset == kMsipOffset && msip_ ? 1 : 0;
    return true;
  }
  if (offset < kMtimerEnd) {
    if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) return false;
    uint64_t reg = 0;
    uint64_t base = 0;
    if (offset - kMtimecmpOffset < 8) {
      reg = mtimecmp_;
      base = kMtimecmpOffset;
    } else if (offset - kMtimeOffset < 8) {
      reg = mtime();
      base = kMtimeOffset;
    } else {
      value = 0;
      return true;
    }
    // A 4-byte access reads the half it addresses; an 8-byte one (aligned, so at base) the whole.
    if (size == 8) value = reg;
    else value = offset == base ? reg & 0xffffffffu : reg >> 32;
    return true;
  }
  return false;
}

bool Clint::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset < kSwiEnd) {
    if (size != 4 || (offset & 3) != 0) return false;
    if (offset == kMsipOffset) {
      msip_ = (value & 1) != 0;
      hart_.set(mip::kMsip, msip_);
    }
    return true;
  }
  if (offset < kMtimerEnd) {
    if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) return false;
    const bool is_mtimecmp = offset - kMtimecmpOffset < 8;
    const bool is_mtime = offset - kMtimeOffset < 8;
    if (!is_mtimecmp && !is_mtime) return true;
    const uint64_t base = is_mtimecmp ? kMtimecmpOffset : kMtimeOffset;
    const uint64_t old = is_mtimecmp ? mtimecmp_ : mtime();
    uint64_t now = value;
    if (size == 4) {
      const uint64_t half = value & 0xffffffffu;
      now = offset == base ? (old & ~0xffffffffull) | half : (half << 32) | (old & 0xffffffffu);
    }
    // qemu 7.2 merged a 4-byte mtime write with the *raw* clock's other half (fixed in later
    // releases); this merges with the guest-visible mtime, which is what the guest expects.
    if (is_mtimecmp) set_mtimecmp(now);
    else set_mtime(now);
    return true;
  }
  return false;
}

}  // namespace vmkit::devices
