// x86-64 shifts, rotates, shld/shrd.
#include "frontend/x86_64/lift.h"

namespace vmkit::x64 {

namespace {
const InsnDesc kInsns[] = {
    {ZYDIS_MNEMONIC_INVALID, [](Ctx&) { return false; }},
};
}  // namespace

InsnTable shift_insns() { return {kInsns, 0}; }

}  // namespace vmkit::x64
