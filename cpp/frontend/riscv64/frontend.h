// The RV64GC frontend: decodes RISC-V instructions (compressed ones expanded first) through the
// extension tables of lift.h and lifts each to IR.
#pragma once

#include <memory>

#include "frontend/frontend.h"

namespace vmkit::rv64 {

std::unique_ptr<Frontend> make_frontend();

// The lifter table entry for a 32-bit encoding, or nullptr if no extension claims it
// (exposed for the decoder tests and the fuzz target).
struct InsnDesc;
const InsnDesc* decode(uint32_t insn);

}  // namespace vmkit::rv64
