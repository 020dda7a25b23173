#include "frontend/aarch64/helpers.h"

namespace vmkit::a64 {

namespace {
const ir::HelperInfo kHelpers[] = {
#define HELPER(name) {#name, &helper_##name},
#include "frontend/aarch64/helpers_int.def"
#include "frontend/aarch64/helpers_fp.def"
#undef HELPER
};
static_assert(sizeof(kHelpers) / sizeof(kHelpers[0]) == H_Count);
}  // namespace

const ir::HelperInfo* helper_table() { return kHelpers; }

}  // namespace vmkit::a64
