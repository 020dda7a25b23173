// A64 loads and stores.
#include "frontend/aarch64/lift.h"

namespace vmkit::a64 {

namespace {
const InsnDesc kInsns[] = {
    {"(none)", 0xffffffff, 0x00000000, [](Ctx&, uint32_t) { return false; }},
};
}  // namespace

InsnTable ldst_insns() { return {kInsns, 0}; }

}  // namespace vmkit::a64
