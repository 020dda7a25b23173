// The RV64GC user-level register file as the IR sees it: get/put address these fields by offset.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/guest_common.h"
#include "frontend/riscv64/priv.h"

namespace vmkit::rv64 {

struct State {
  GuestCommon common;
  uint64_t x[32];        // x0 is kept 0: the lifter never writes it
  uint64_t f[32];        // raw bits; single-precision values are NaN-boxed (upper 32 bits all 1)
  uint64_t pc;
  uint64_t res_addr;     // LR/SC reservation: address, or kNoReservation
  uint64_t res_value;    // value loaded by the LR that made the reservation
  uint32_t fflags;       // accrued exceptions NV DZ OF UF NX (bits 4..0)
  uint32_t frm;          // dynamic rounding mode (0..4 valid)
  uint64_t instret;      // user mode: what rdinstret and rdcycle read (see helpers_int.cpp)
  PrivState sys;         // system mode only: privilege level and the M/S CSRs
};

constexpr uint64_t kNoReservation = ~0ull;

constexpr uint32_t off_x(unsigned i) { return uint32_t(offsetof(State, x) + 8 * i); }
constexpr uint32_t off_f(unsigned i) { return uint32_t(offsetof(State, f) + 8 * i); }
constexpr uint32_t kOffPc = offsetof(State, pc);
constexpr uint32_t kOffResAddr = offsetof(State, res_addr);
constexpr uint32_t kOffResValue = offsetof(State, res_value);
constexpr uint32_t kOffFflags = offsetof(State, fflags);
constexpr uint32_t kOffFrm = offsetof(State, frm);
constexpr uint32_t kOffInstret = offsetof(State, instret);

}  // namespace vmkit::rv64
