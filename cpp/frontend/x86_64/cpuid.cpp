// CPUID as vmkit presents it to x86-64 guests: exactly what the lifters implement. glibc picks
// its code paths (ifuncs) from these bits, so a bit set here for something not lifted would send
// programs into instructions vmkit cannot run.
#include <cstring>

#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"

namespace vmkit::x64 {

namespace {

// Leaf 1 EDX: the x86-64 baseline glibc requires of dynamically linked programs (its "ISA level"
// check): FPU, TSC (rdtsc), CX8 (cmpxchg8b), CMOV, CLFSH, MMX, FXSR (fxsave/fxrstor), SSE, SSE2.
// FPU is part of that baseline although vmkit lifts only the x87's control and status
// instructions (what glibc and gcc's code use outside long double).
constexpr uint32_t kFpu = 1u << 0, kTsc = 1u << 4, kCx8 = 1u << 8, kCmov = 1u << 15, kClfsh = 1u << 19,
                   kMmx = 1u << 23, kFxsr = 1u << 24, kSse = 1u << 25, kSse2 = 1u << 26;
constexpr uint32_t kLeaf1Edx = kFpu | kTsc | kCx8 | kCmov | kClfsh | kMmx | kFxsr | kSse | kSse2;
// SSE3, SSSE3, CX16 (cmpxchg16b), SSE4.1, SSE4.2, POPCNT.
constexpr uint32_t kLeaf1Ecx = (1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23);
constexpr uint32_t kLeaf7Ebx = (1u << 3);   // BMI1 (tzcnt; andn/bextr/blsi... with it)
constexpr uint32_t kExt1Ecx = (1u << 0) | (1u << 5);  // LAHF/SAHF in 64-bit mode, LZCNT (ABM)
// SYSCALL, NX, LM, and AMD's copies of the leaf-1 bits it has in this leaf (FPU, TSC, CX8, CMOV,
// MMX, FXSR).
constexpr uint32_t kExt1Edx = (1u << 11) | (1u << 20) | (1u << 29) | kFpu | kTsc | kCx8 | kCmov | kMmx | kFxsr;

uint32_t chars(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}

}  // namespace

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf) {
  switch (leaf) {
    case 0: return {7, chars("Auth"), chars("cAMD"), chars("enti")};  // "AuthenticAMD": ebx edx ecx
    case 1: return {0x00060fb1, 8u << 8, kLeaf1Ecx, kLeaf1Edx};        // family 0xf (qemu64's), CLFLUSH 64 B
    case 7: return {0, subleaf == 0 ? kLeaf7Ebx : 0, 0, 0};
    case 0x80000000: return {0x80000008, 0, 0, 0};
    case 0x80000001: return {0, 0, kExt1Ecx, kExt1Edx};
    case 0x80000002: return {chars("vmki"), chars("t x8"), chars("6-64"), 0};
    case 0x80000008: return {0x3028, 0, 0, 0};  // 48-bit virtual, 40-bit physical addresses
  }
  return {0, 0, 0, 0};
}

bool cpuid_has_tzcnt() { return cpuid(7, 0).ebx & (1u << 3); }
bool cpuid_has_lzcnt() { return cpuid(0x80000001, 0).ecx & (1u << 5); }

uint64_t helper_cpuid(void* state, uint64_t leaf, uint64_t subleaf, uint64_t, uint32_t) {
  State& s = *static_cast<State*>(state);
  const CpuidResult r = cpuid(uint32_t(leaf), uint32_t(subleaf));
  s.r[RAX] = r.eax;
  s.r[RBX] = r.ebx;
  s.r[RCX] = r.ecx;
  s.r[RDX] = r.edx;
  return 0;
}

}  // namespace vmkit::x64
