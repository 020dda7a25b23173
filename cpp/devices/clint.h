// The SiFive CLINT ("sifive,clint0") of qemu's virt board for one hart, as qemu 7.2 builds it from
// hw/intc/riscv_aclint.c: an ACLINT SWI block (msip) at 0x0 and an ACLINT MTIMER block (mtimecmp,
// mtime) at 0x4000, together 0x10000 bytes.
//
//   0x0000  msip      4-byte accesses; bit 0 drives the hart's MSIP
//   0x4000  mtimecmp  4- or 8-byte accesses (the two halves separately with 4)
//   0xbff8  mtime     4- or 8-byte accesses; reads the TimeSource, writes move an offset
//
// Accesses must be naturally aligned (qemu's regions reject the others). The rest of the SWI block
// [0, 0x4000) and of the MTIMER block [0x4000, 0xc000) reads 0 and ignores writes; [0xc000, 0x10000)
// decodes nothing, as in qemu where no region is mapped there.
//
// CPU thread only. MTIP is a comparison against a running clock, so it is recomputed when mtimecmp
// or mtime is written and whenever the machine calls update() (block boundaries, slice ends).
#pragma once

#include <cstdint>

#include "devices/device.h"

namespace vmkit::devices {

class Clint : public Device {
 public:
  static constexpr uint64_t kSize = 0x10000;
  static constexpr uint64_t kMsipOffset = 0x0;
  static constexpr uint64_t kMtimecmpOffset = 0x4000;
  static constexpr uint64_t kMtimeOffset = 0xbff8;

  Clint(HartLines& hart, const TimeSource& time);
  Clint(const Clint&) = delete;
  Clint& operator=(const Clint&) = delete;

  const char* name() const override { return "clint"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  // mtime back to 0, mtimecmp 0, msip clear (see clint.cpp for why these values).
  void reset() override;

  // Recomputes MTIP (mtime >= mtimecmp) on the hart.
  void update();

  // The guest's mtime: the TimeSource plus the offset guest writes to mtime introduced. The `time`
  // CSR (rdtime) must read this, so that it agrees with the memory-mapped mtime.
  uint64_t mtime() const { return time_.ticks() + time_delta_; }
  uint64_t mtimecmp() const { return mtimecmp_; }
  bool msip() const { return msip_; }

  // When MTIP will next rise, in TimeSource ticks (what a hart sleeping in WFI waits for):
  // mtimecmp converted to the TimeSource's scale, or UINT64_MAX if MTIP is already high (no rise to
  // wait for; a pending-and-enabled interrupt does not let the hart sleep anyway).
  uint64_t next_deadline_ticks() const;

 private:
  static constexpr uint64_t kSwiEnd = 0x4000;     // SWI block [0, 0x4000)
  static constexpr uint64_t kMtimerEnd = 0xc000;  // MTIMER block [0x4000, 0xc000)

  void set_mtimecmp(uint64_t value);
  void set_mtime(uint64_t value);

  HartLines& hart_;
  const TimeSource& time_;
  uint64_t mtimecmp_ = 0;
  uint64_t time_delta_ = 0;  // mtime - TimeSource ticks, modulo 2^64
  bool msip_ = false;
};

}  // namespace vmkit::devices
