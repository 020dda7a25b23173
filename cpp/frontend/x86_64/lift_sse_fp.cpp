#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {
const InsnDesc kInsns[] = {{ZYDIS_MNEMONIC_INVALID, nullptr}};
}  // namespace

InsnTable sse_fp_insns() { return {kInsns, 0}; }

}  // namespace vmkit::x64
