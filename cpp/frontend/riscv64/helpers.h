// Helper functions that RISC-V IR blocks call (`call` op) for semantics too rare or too
// arch-specific to be IR ops: CSR access and floating point with RISC-V's NaN, rounding and flag
// rules. One X-macro list per extension file gives the ids; helpers.cpp builds the table.
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace vmkit::rv64 {

enum Helper : uint32_t {
#define HELPER(name) H_##name,
#include "frontend/riscv64/helpers_int.def"
#include "frontend/riscv64/helpers_fp.def"
#undef HELPER
  H_Count
};

#define HELPER(name) uint64_t helper_##name(void* state, uint64_t a, uint64_t b, uint64_t c, uint32_t imm);
#include "frontend/riscv64/helpers_int.def"
#include "frontend/riscv64/helpers_fp.def"
#undef HELPER

const ir::HelperInfo* helper_table();

// helper_check_align's flag for LR, whose misaligned address is a load's exception in system mode.
constexpr uint32_t kAlignLr = 0x80;

}  // namespace vmkit::rv64
