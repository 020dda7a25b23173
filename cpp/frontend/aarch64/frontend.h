// The AArch64 (A64) frontend: decodes instructions through the group tables of lift.h and lifts
// each to IR.
#pragma once

#include <memory>

#include "frontend/frontend.h"

namespace vmkit::a64 {

std::unique_ptr<Frontend> make_frontend();

// The lifter table entry for an encoding, or nullptr if no group claims it (exposed for the
// decoder tests and the fuzz target).
struct InsnDesc;
const InsnDesc* decode(uint32_t insn);

}  // namespace vmkit::a64
