// Helper functions that AArch64 IR blocks call (`call` and `callp` ops) for semantics too rare or
// too arch-specific to be IR ops: NZCV evaluation, system registers, store-exclusive, and later
// floating point with Arm's NaN, rounding and flag rules. One X-macro list per group gives the
// ids; helpers.cpp builds the table.
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace vmkit::a64 {

enum Helper : uint32_t {
#define HELPER(name) H_##name,
#include "frontend/aarch64/helpers_int.def"
#include "frontend/aarch64/helpers_fp.def"
#undef HELPER
  H_Count
};

#define HELPER(name) uint64_t helper_##name(void* state, uint64_t a, uint64_t b, uint64_t c, uint32_t imm);
#include "frontend/aarch64/helpers_int.def"
#include "frontend/aarch64/helpers_fp.def"
#undef HELPER

const ir::HelperInfo* helper_table();

// NZCV (bits 31..28) of a lazily kept flag state (cc_op, cc_a, cc_b: see state.h).
uint32_t eval_nzcv(uint32_t op, uint64_t a, uint64_t b);

// System register encodings user mode reaches: o0:op1:CRn:CRm:op2, MRS/MSR bits 19..5 (op0 is
// 2 + o0: bit 20 is always set).
constexpr uint32_t sysreg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  return (op0 - 2) << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}
constexpr uint32_t kSysNzcv = sysreg(3, 3, 4, 2, 0);
constexpr uint32_t kSysFpcr = sysreg(3, 3, 4, 4, 0);
constexpr uint32_t kSysFpsr = sysreg(3, 3, 4, 4, 1);
constexpr uint32_t kSysTpidrEl0 = sysreg(3, 3, 13, 0, 2);
constexpr uint32_t kSysTpidrroEl0 = sysreg(3, 3, 13, 0, 3);
constexpr uint32_t kSysCtrEl0 = sysreg(3, 3, 0, 0, 1);
constexpr uint32_t kSysDczidEl0 = sysreg(3, 3, 0, 0, 7);
constexpr uint32_t kSysCntfrqEl0 = sysreg(3, 3, 14, 0, 0);
constexpr uint32_t kSysCntvctEl0 = sysreg(3, 3, 14, 0, 2);
constexpr uint32_t kSysMidrEl1 = sysreg(3, 0, 0, 0, 0);

// DC ZVA zeroes blocks of this many bytes (DCZID_EL0 = log2(words) = 4: 64 bytes, as on most cores).
constexpr unsigned kDcZvaBytes = 64;

}  // namespace vmkit::a64
