#include "frontend/x86_64/helpers.h"

namespace vmkit::x64 {

namespace {
const ir::HelperInfo kHelpers[] = {
#define HELPER(name) {#name, &helper_##name},
#include "frontend/x86_64/helpers_int.def"
#include "frontend/x86_64/helpers_sse_fp.def"
#include "frontend/x86_64/helpers_sse4.def"
#include "frontend/x86_64/helpers_x87.def"
#undef HELPER
};
static_assert(sizeof(kHelpers) / sizeof(kHelpers[0]) == H_Count);
}  // namespace

const ir::HelperInfo* helper_table() { return kHelpers; }

}  // namespace vmkit::x64
