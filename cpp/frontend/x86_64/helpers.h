// Helper functions that x86-64 IR blocks call (`call` and `callp` ops) for semantics too rare or
// too arch-specific to be IR ops: flag evaluation, division with its #DE, CPUID, RDTSC. One
// X-macro list per group gives the ids; helpers.cpp builds the table.
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace vmkit::x64 {

enum Helper : uint32_t {
#define HELPER(name) H_##name,
#include "frontend/x86_64/helpers_int.def"
#include "frontend/x86_64/helpers_sse_fp.def"
#include "frontend/x86_64/helpers_sse4.def"
#include "frontend/x86_64/helpers_x87.def"
#undef HELPER
  H_Count
};

#define HELPER(name) uint64_t helper_##name(void* state, uint64_t a, uint64_t b, uint64_t c, uint32_t imm);
#include "frontend/x86_64/helpers_int.def"
#include "frontend/x86_64/helpers_sse_fp.def"
#include "frontend/x86_64/helpers_sse4.def"
#include "frontend/x86_64/helpers_x87.def"
#undef HELPER

const ir::HelperInfo* helper_table();

// CPUID as vmkit's x86-64 reports it (leaf eax, subleaf ecx): what is implemented, nothing more.
struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
CpuidResult cpuid(uint32_t leaf, uint32_t subleaf);
// Whether the decoder treats F3 0F BC/BD as TZCNT/LZCNT (BMI1/ABM advertised) or as BSF/BSR.
bool cpuid_has_tzcnt();
bool cpuid_has_lzcnt();

}  // namespace vmkit::x64
