// The x86-64 frontend: decodes instructions with Zydis and lifts each through the mnemonic
// tables of lift.h.
#pragma once

#include <memory>
#include <string>

#include "frontend/frontend.h"

namespace vmkit::x64 {

std::unique_ptr<Frontend> make_frontend();

}  // namespace vmkit::x64
