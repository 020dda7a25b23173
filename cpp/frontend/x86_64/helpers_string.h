// The immediate of helper_rep_string (helpers_string.cpp), shared with its lifter
// (lift_string.cpp): bits 1..0 log2 of the element size, 4..2 the instruction (StringKind),
// 6..5 the repetition (RepMode), 7 32-bit addressing (0x67).
#pragma once

#include <cstdint>

namespace vmkit::x64 {

enum StringKind : uint32_t { kMovs, kStos, kLods, kScas, kCmps };
enum RepMode : uint32_t { kRepNone, kRep, kRepE, kRepNe };
constexpr unsigned kRepKindShift = 2, kRepModeShift = 5;
constexpr uint32_t kRepAddr32 = 0x80;

}  // namespace vmkit::x64
